"""``verifier run``: measure every declared indicator, evaluate, score, and write the run directory.

Run directory layout (all writes atomic, so a run killed even with SIGKILL can be resumed)::

    run.json                    identity of the run: id, start, spec hash, repository, command
    spec.yaml                   the spec as it was read
    repository-files.json       the delivered tree as it was at the start: identity and every file's hash
    origin/origin.json          the full origin analysis (per-file table)
    origin/summary.json         its summary (``results.OriginSummary``)
    assets/, runtime/, system/  the agency's assets, the runtime's setup logs, the system record
                                (``verifier.product.prepare``)
    evidence/<indicator>/…      raw tool output per indicator
    state/<indicator>.json      each finished indicator (``results.IndicatorResult``)
    results.json                the canonical results (``results.RunResult``), rewritten as it goes

The runner is I/O glue: probes measure, ``evaluation`` judges, ``scoring`` scores. It never prints;
progress goes to an optional ``RunListener``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from verifier import __version__
from verifier.errors import InputError
from verifier.evaluation import evaluate, finding_record, judge, outcome_from_error
from verifier.evidence import atomic_write_bytes, atomic_write_json
from verifier.materials import check_materials
from verifier.paths import read_file
from verifier.probe import (
    Probe,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    available_probes,
    get_probe,
    with_fingerprints,
)
from verifier.product.prepare import PreparedProduct, prepare_product
from verifier.product.runtime import resolve_runtime
from verifier.repeats import combine, group_repeat, measurement_key, run_status, summarize
from verifier.repository import REPOSITORY_FILES, RepoIdentity, repo_listing
from verifier.results import (
    Environment,
    FunctionCoverage,
    IndicatorResult,
    OriginSummary,
    Project,
    RepeatRun,
    Repository,
    RunResult,
    TestRecord,
)
from verifier.scoring import finalize
from verifier.service import Service, ServiceError
from verifier.spec import Indicator, Spec, load_spec
from verifier.waivers import WaiverFile, apply_waivers, load_waivers, waivers_record

#: Budget of an indicator that declares no ``timeout``.
DEFAULT_TIMEOUT_S = 900.0
#: Beyond its budget, a probe gets this much longer before the runner interrupts it.
_GRACE_S = 30.0
#: Largest run.json, state or summary file a resumed run reads (verifier writes a few KiB).
_MAX_STATE_BYTES = 64 << 20
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


class RunListener(Protocol):
    """Progress callbacks (the CLI shows them; tests may record them)."""

    def stage(self, message: str) -> None:
        """A stage started (origin scan, materials, …)."""

    def indicator_started(self, indicator: Indicator, index: int, total: int) -> None:
        """An indicator is about to be measured."""

    def indicator_finished(self, result: IndicatorResult, index: int, total: int,
                           resumed: bool) -> None:
        """An indicator has a result (``resumed``: kept from an earlier, interrupted run)."""


class _Silent:
    def stage(self, message: str) -> None:
        pass

    def indicator_started(self, indicator: Indicator, index: int, total: int) -> None:
        pass

    def indicator_finished(self, result: IndicatorResult, index: int, total: int,
                           resumed: bool) -> None:
        pass


@dataclass(frozen=True)
class RunOptions:
    """What ``verifier run`` was asked to do."""

    spec_path: Path
    repo: Path | None = None
    """The delivered repository; default: the spec's directory."""
    out_dir: Path | None = None
    """The run directory; default ``runs/<UTC timestamp>``."""
    only: tuple[str, ...] = ()
    """Measure only these indicator ids (the others are left out of the results)."""
    resume: Path | None = None
    """An interrupted run directory whose finished indicators are kept."""
    cache_dir: Path | None = None
    no_cache: bool = False
    jobs: int | None = None
    no_kb: bool = False
    """No snippet matching (else the spec's ``origin.knowledge_base``, by default ``auto``)."""
    command: tuple[str, ...] = ()
    """The command line, recorded in the results."""


class ProbeTimeout(BaseException):
    """Raised inside a probe that overran its budget (a BaseException so probes cannot swallow it)."""


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block with ``ProbeTimeout`` after ``seconds`` (main thread, POSIX only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _expired(signum: int, frame: Any) -> None:
        raise ProbeTimeout(f"probe still running after {seconds:g} s; interrupted")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def safe_name(indicator_id: str) -> str:
    """A file-system-safe folder name for an indicator id."""
    return _SAFE_ID.sub("_", indicator_id) or "_"


@dataclass(frozen=True)
class _Run:
    """One run of a probe: what it returned, its evidence folder (relative to the run directory)
    and how long it took."""

    outcome: ProbeOutcome
    evidence: str
    duration_s: float
    unwaived: dict[str, float | None] | None = None
    """The figures as the probe reported them, when waived findings were taken out."""


@dataclass(frozen=True)
class _Measured:
    """A measurement taken for ``indicator_id``: its runs (one unless ``repeat``), shared by every
    indicator with the same probe and arguments."""

    indicator_id: str
    runs: tuple[_Run, ...]
    outcome: ProbeOutcome
    shown: int
    started_at: str
    duration_s: float
    tools: tuple[tuple[str, str], ...] = ()
    """The tools the probe ran and their versions."""


@dataclass
class _RunState:
    run_dir: Path
    run_id: str
    started_at: str
    finished: dict[str, IndicatorResult] = field(default_factory=dict)


class Runner:
    """Carries out one ``verifier run``."""

    def __init__(self, options: RunOptions, listener: RunListener | None = None) -> None:
        self.options = options
        self.listener = listener or _Silent()
        self.spec: Spec = load_spec(options.spec_path, repo=options.repo)
        if self.spec.source is None:  # load_spec keeps the bytes it parsed
            raise TypeError("the spec was not loaded from its file")
        # the bytes that were parsed are the ones hashed and copied: the file is never read again,
        # so a spec changed on disk during the run cannot be recorded as what was run
        self._spec_bytes: bytes = self.spec.source
        self._spec_sha256 = hashlib.sha256(self._spec_bytes).hexdigest()
        self.repo = Path(options.repo or self.spec.base_dir).resolve()
        if not self.repo.is_dir():
            raise InputError(f"{self.repo}: repository is not a directory")
        if self.spec.runtime is not None and not self.spec.runtime.setup:  # nothing will make it: check now
            resolve_runtime(self.spec.runtime, repo=self.repo, spec_dir=self.spec.base_dir.resolve(),
                            spec_file=str(options.spec_path))
        for kb in self.spec.knowledge_bases():  # a bad KB stops the run before it starts
            if isinstance(kb, Path):
                from verifier.kb import KnowledgeBase  # heavy: SQLite and the origin analysis, only with a KB

                KnowledgeBase.open(kb).close()
        unknown = [i for i in options.only if i not in {ind.id for ind in self.spec.indicators}]
        if unknown:
            raise InputError(f"--only {', '.join(unknown)}: no such indicator in {options.spec_path}")
        waivers_path = self.spec.waivers_path()
        self.waivers: WaiverFile | None = (load_waivers(waivers_path, available_probes())
                                           if waivers_path is not None else None)
        self._waivers_copy = "waivers" + (".json" if waivers_path is not None
                                          and waivers_path.suffix.lower() == ".json" else ".yaml")
        self.tool_versions: dict[str, str] = {"verifier": __version__}
        self.run_dir: Path | None = None
        self._repo_record: Repository | None = None
        self._outcomes: dict[tuple[str, str], _Measured] = {}
        self.product: PreparedProduct | None = None

    # ---- the run ------------------------------------------------------------------------------

    def run(self) -> RunResult:
        """Measure, evaluate and score; write the run directory; return the results."""
        state = self._open_run_dir()
        self.run_dir = state.run_dir
        selected = [ind for ind in self.spec.indicators
                    if not self.options.only or ind.id in self.options.only]
        self._repo_record = recorded_repository(self.repo, state.run_dir)  # before anything runs in it
        origin = self._origin(state)
        materials = self._materials(state)
        self.listener.stage("product: assets, runtime setup, system under test")
        self.product = prepare_product(self.spec, self.repo, state.run_dir)
        results: list[IndicatorResult] = []
        for index, indicator in enumerate(selected, 1):
            if indicator.id in state.finished:
                result = state.finished[indicator.id]
                self.listener.indicator_finished(result, index, len(selected), True)
            else:
                self.listener.indicator_started(indicator, index, len(selected))
                result = self._measure_or_reuse(indicator, state.run_dir)
                atomic_write_json(state.run_dir / "state" / f"{safe_name(indicator.id)}.json",
                                  result.model_dump(mode="json"))
                self.listener.indicator_finished(result, index, len(selected), False)
            results.append(result)
            self._write_results(state, results, origin, materials, finished=False)
        return self._write_results(state, results, origin, materials, finished=True)

    # ---- results ------------------------------------------------------------------------------

    def _repository(self) -> Repository:
        if self._repo_record is None:
            self._repo_record = repository_record(self.repo)
        return self._repo_record

    def _write_results(self, state: _RunState, results: list[IndicatorResult],
                       origin: OriginSummary | None, materials: list, *, finished: bool) -> RunResult:
        spec = self.spec
        final = finalize(spec, results, origin=origin, materials=materials, finished=finished)
        result = RunResult(
            verifier_version=__version__, run_id=state.run_id, started_at=state.started_at,
            finished_at=_now() if finished else None,
            spec_path=str(self.options.spec_path), spec_sha256=self._spec_sha256,
            project=Project(name=spec.project.name, version=spec.project.version,
                            applicant=spec.project.applicant, owners=list(spec.project.owners)),
            repository=self._repository(), environment=_environment(self.tool_versions),
            system_under_test=self.product.system if self.product else None,
            assets=self.product.assets if self.product else [], origin=origin, indicators=results, functions=function_coverage(spec, results),
            materials=materials, gates=list(final.gates), score=final.score, verdict=final.verdict,
            verdict_reasons=list(final.reasons), command=list(self.options.command),
            waivers=(waivers_record(self.waivers, self._waivers_copy, results)
                     if self.waivers is not None else None),
        )
        atomic_write_json(state.run_dir / "results.json", result.model_dump(mode="json", by_alias=True))
        return result

    # ---- stages -------------------------------------------------------------------------------

    def _open_run_dir(self) -> _RunState:
        spec_sha = self._spec_sha256
        if self.options.resume is not None:
            return self._resume(self.options.resume, spec_sha)
        started = datetime.now(UTC)
        run_id = started.strftime("%Y%m%dT%H%M%SZ")
        run_dir = (self.options.out_dir or Path("runs") / run_id).resolve()
        if run_dir.exists() and any(run_dir.iterdir()):
            raise InputError(f"{run_dir}: run directory exists and is not empty "
                             "(use --resume to continue it, or choose another --out)")
        run_dir.mkdir(parents=True, exist_ok=True)
        state = _RunState(run_dir, run_id, started.isoformat(timespec="seconds"))
        atomic_write_json(run_dir / "run.json", {
            "run_id": run_id, "started_at": state.started_at, "spec_sha256": spec_sha,
            "spec_path": str(self.options.spec_path.resolve()), "repository": str(self.repo),
            "only": list(self.options.only), "command": list(self.options.command),
        })
        atomic_write_bytes(run_dir / "spec.yaml", self._spec_bytes)
        if self.waivers is not None:  # the expert's judgements are evidence: hashed with the run
            atomic_write_bytes(run_dir / self._waivers_copy, self.waivers.raw)
        return state

    def _resume(self, run_dir: Path, spec_sha: str) -> _RunState:
        run_dir = run_dir.resolve()
        try:
            meta = json.loads(read_file(run_dir / "run.json", what="run record", max_bytes=_MAX_STATE_BYTES))
        except (InputError, ValueError) as err:
            raise InputError(f"{run_dir}: not a verifier run directory (run.json: {err})") from None
        if meta.get("spec_sha256") != spec_sha:
            raise InputError(f"{run_dir}: the spec {self.options.spec_path} changed since this run "
                             "started; start a new run instead of resuming")
        if self.waivers is not None:
            copy = run_dir / self._waivers_copy
            kept = copy.read_bytes() if copy.is_file() and not copy.is_symlink() else None
            if kept != self.waivers.raw:
                raise InputError(f"{run_dir}: the waiver file {self.waivers.source} changed since this run "
                                 "started; start a new run instead of resuming")
        state = _RunState(run_dir, meta["run_id"], meta["started_at"])
        for path in sorted((run_dir / "state").glob("*.json")):
            try:
                result = IndicatorResult.model_validate_json(
                    read_file(path, what="state file", max_bytes=_MAX_STATE_BYTES))
            except (InputError, ValidationError, ValueError):
                continue  # a damaged state file: measure that indicator again
            state.finished[result.id] = result
        return state

    def _origin(self, state: _RunState) -> OriginSummary | None:
        summary_path = state.run_dir / "origin" / "summary.json"
        if summary_path.exists():
            try:
                return OriginSummary.model_validate_json(
                    read_file(summary_path, what="origin summary", max_bytes=_MAX_STATE_BYTES))
            except (InputError, ValidationError, ValueError):
                pass
        self.listener.stage("origin: self-developed code ratio")
        summary = run_origin(self.spec, self.repo, state.run_dir / "origin",
                             cache_dir=self.options.cache_dir, no_cache=self.options.no_cache,
                             jobs=self.options.jobs, tool_versions=self.tool_versions,
                             no_kb=self.options.no_kb)
        atomic_write_json(summary_path, summary.model_dump(mode="json"))
        return summary

    def _materials(self, state: _RunState) -> list:
        if self.spec.materials is None:
            return []
        self.listener.stage("materials: acceptance dossier")
        checks = check_materials(self.spec.materials, self.repo)
        atomic_write_json(state.run_dir / "materials.json", [c.model_dump(mode="json") for c in checks])
        return checks

    def _measure_or_reuse(self, indicator: Indicator, run_dir: Path) -> IndicatorResult:
        """Measure ``indicator`` (as many times as its measurement's ``repeat``), or judge it on the
        runs of an earlier indicator of this run that ran the same probe with the same arguments
        (one load test, several figures; ``verifier.repeats``)."""
        key = measurement_key(indicator)
        earlier = self._outcomes.get(key)
        if earlier is None:
            measured = self._measure(indicator, run_dir, group_repeat(self.spec, indicator))
            self._outcomes[key] = measured
            return self._judged(indicator, measured, started_at=measured.started_at,
                                duration_s=measured.duration_s)
        return self._judged(indicator, earlier, started_at=_now(), duration_s=0.0,
                            measured_with=earlier.indicator_id)

    def _judged(self, indicator: Indicator, measured: _Measured, *, started_at: str, duration_s: float,
                measured_with: str | None = None) -> IndicatorResult:
        """``indicator`` evaluated on a measurement: the median of its runs when it ran more than once."""
        outcome, shown = measured.outcome, measured.shown
        if len(measured.runs) > 1:
            outcome, shown = combine([run.outcome for run in measured.runs],
                                     self._group_metric(indicator, measured))
        result = evaluate(indicator, outcome, partial_credit=self.spec.scoring.partial_credit,
                          started_at=started_at, duration_s=duration_s)
        update: dict[str, Any] = {"repeat": indicator.repeat, "measured_with": measured_with,
                                  "tools": dict(measured.tools)}
        if len(measured.runs) > 1:
            runs = []
            for n, run in enumerate(measured.runs, 1):
                value, _, _ = judge(indicator, run.outcome)
                runs.append(RepeatRun(run=n, value=value, status=run_status(value, run.outcome.error,
                                                                            indicator.parsed_target),
                                      measurements={m.metric: m.value for m in run.outcome.measurements},
                                      evidence=run.evidence, error=run.outcome.error,
                                      duration_s=run.duration_s, unwaived=run.unwaived,
                                      waived=[finding_record(f) for f in run.outcome.findings
                                              if "waiver" in f.extra]))
            update["repeats"] = summarize(runs, shown)
        else:
            update["unwaived"] = measured.runs[0].unwaived
        return result.model_copy(update=update)

    def _group_metric(self, indicator: Indicator, measured: _Measured) -> str:
        """The metric that picks the shown run: that of the indicator that took the measurement."""
        try:
            return self.spec.indicator(measured.indicator_id).metric
        except KeyError:
            return indicator.metric

    def _measure(self, indicator: Indicator, run_dir: Path, repeat: int) -> _Measured:
        """Run ``indicator``'s probe ``repeat`` times (``evidence/<ID>/run-K/`` when more than once;
        a fresh evidence folder: what an interrupted attempt left there is removed first)."""
        started_at, began = _now(), time.monotonic()
        evidence_root = run_dir / "evidence" / safe_name(indicator.id)
        if evidence_root.is_dir() and not evidence_root.is_symlink():
            shutil.rmtree(evidence_root)
        runs = []
        for n in range(1, repeat + 1):
            evidence_dir = evidence_root / f"run-{n}" if repeat > 1 else evidence_root
            run_began = time.monotonic()
            outcome, unwaived = self._measure_once(indicator, run_dir, evidence_dir)
            runs.append(_Run(outcome=outcome, evidence=evidence_dir.relative_to(run_dir).as_posix(),
                             duration_s=round(time.monotonic() - run_began, 3), unwaived=unwaived))
        tools: dict[str, str] = {}
        try:
            tools = _tool_versions(get_probe(indicator.probe)())
        except Exception:  # an unknown or broken probe: its runs already say so
            tools = {}
        return _Measured(indicator_id=indicator.id, runs=tuple(runs), outcome=runs[0].outcome, shown=1,
                         started_at=started_at, duration_s=round(time.monotonic() - began, 3),
                         tools=tuple(sorted(tools.items())))

    def _measure_once(self, indicator: Indicator, run_dir: Path, evidence_dir: Path
                      ) -> tuple[ProbeOutcome, dict[str, float | None] | None]:
        """One run of the probe: its outcome, findings fingerprinted and waivers applied, and its
        figures before waivers (None when nothing was waived)."""
        evidence_dir.mkdir(parents=True, exist_ok=True)
        timeout = indicator.timeout or DEFAULT_TIMEOUT_S
        probe_cls: type[Probe] | None = None
        try:
            probe_cls = get_probe(indicator.probe)
            probe: Probe = probe_cls()
            self.tool_versions.update(_tool_versions(probe))
            outcome = self._run_probe(probe, indicator, run_dir, evidence_dir, timeout)
        except ProbeError as err:
            outcome = outcome_from_error(err)
        except ProbeTimeout as err:
            outcome = ProbeOutcome(error=str(err))
        except Exception as err:  # a probe bug must not stop the run: record it
            outcome = ProbeOutcome(error=f"probe crashed: {type(err).__name__}: {err}")
        outcome = replace(_with_existing_evidence(outcome, evidence_dir, run_dir),
                          findings=with_fingerprints(indicator.probe, outcome.findings))
        if probe_cls is None:
            return outcome, None
        return apply_waivers(probe_cls, outcome, self.waivers)

    def _run_probe(self, probe: Probe, indicator: Indicator, run_dir: Path, evidence_dir: Path,
                   timeout: float) -> ProbeOutcome:
        runtime = self.product.runtime if self.product else None
        ctx = ProbeContext(repo=self.repo, run_dir=run_dir, evidence_dir=evidence_dir,
                           args=indicator.args, spec=self.spec, timeout_s=timeout, runtime=runtime)
        with ExitStack() as stack, _deadline(timeout + _GRACE_S):
            if probe.needs_service:
                if self.spec.service is None:
                    raise ProbeError(f"probe {probe.name!r} needs the system under test running, "
                                     "but the spec has no service: section")
                service = Service(self.spec.service, repo=self.repo, log_dir=evidence_dir / "service",
                                  runtime=runtime, spec_dir=self.spec.base_dir.resolve())
                stack.callback(service.close)
                try:
                    service.start()
                except ServiceError as err:
                    raise ProbeError(f"service did not start: {err}", tail=service.tail()) from None
                ctx.service = service
                outcome = probe.run(ctx)
                if service.setup_commands:  # service.setup ran before its first start: on record too
                    outcome = replace(outcome, commands=(*service.setup_commands, *outcome.commands))
                return outcome
            return probe.run(ctx)


def _with_existing_evidence(outcome: ProbeOutcome, evidence_dir: Path, run_dir: Path) -> ProbeOutcome:
    """Add every file in the indicator's evidence folder that the outcome did not list."""
    listed = set(outcome.evidence)
    extra = sorted(p.relative_to(run_dir).as_posix() for p in evidence_dir.rglob("*")
                   if p.is_file() and p.relative_to(run_dir).as_posix() not in listed)
    if not extra:
        return outcome
    return replace(outcome, evidence=tuple(outcome.evidence) + tuple(extra))


def _tool_versions(probe: Probe) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in probe.tool_versions().items()}
    except Exception:  # a version lookup must never fail a run
        return {}


def run_origin(spec: Spec, repo: Path, out_dir: Path, *, cache_dir: Path | None, no_cache: bool,
               jobs: int | None, tool_versions: dict[str, str], no_kb: bool = False
               ) -> OriginSummary:
    """Run the origin analysis for ``spec`` on ``repo``; write ``out_dir/origin.json``; summarise.

    A scan that fails (scancode crashed, …) yields a summary with ``error`` set and no ratio: the
    ratio gate then stays undecided and the run goes on.
    """
    from verifier.origin import analyze, origin_options_from_spec  # heavy: pygount, pygments (0.4 s)

    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        report = analyze(repo, **origin_options_from_spec(spec, repo), cache_dir=cache_dir,
                         no_cache=no_cache, jobs=jobs,
                         kb=None if no_kb else _knowledge_base(spec, cache_dir, jobs))
    except InputError:
        raise
    except Exception as err:
        return OriginSummary(ratio=None, ratio_without_tests=None, threshold=spec.origin.min_ratio,
                             passed=None, counting="", totals={},
                             error=f"origin analysis failed: {type(err).__name__}: {err}")
    atomic_write_json(out_dir / "origin.json", report.to_json())
    tool_versions.update(report.tool_versions())
    return OriginSummary.model_validate(report.summary(files_path="origin/origin.json"))


def _knowledge_base(spec: Spec, cache_dir: Path | None, jobs: int | None):
    """The snippet matcher for the KBs the spec declares (``origin.knowledge_base``; ``auto``,
    the KB of the delivery's declared dependencies, when it declares none), or None."""
    from verifier.kb.origin_matcher import matcher_for  # heavy: SQLite and the origin analysis

    entries = spec.knowledge_bases() if spec.origin.knowledge_base is not None else ["auto"]
    return matcher_for(entries, min_lines=spec.origin.min_match_lines, jobs=jobs,
                       cache_dir=cache_dir)


def _environment(tools: dict[str, str]) -> Environment:
    uname = platform.uname()
    return Environment(os=f"{uname.system} {uname.release}", machine=uname.machine,
                       cpu=_cpu_model() or uname.processor or uname.machine,
                       cpu_count=os.cpu_count() or 1, python=platform.python_version(),
                       tools=dict(sorted(tools.items())))


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def repository_record(repo: Path) -> Repository:
    """Path, git commit, subpath within the work tree and dirtiness, and the tree hash with its mode
    (``verifier.repository.repo_identity``: git-tracked files in a git work tree, all files otherwise)."""
    return _record(repo, repo_listing(repo)[0])


def _record(repo: Path, ident: RepoIdentity) -> Repository:
    return Repository(path=str(repo), commit=ident.commit, subpath=ident.subpath, dirty=ident.dirty,
                      tree_sha256=ident.tree_sha256, tree_hash_mode=ident.tree_hash_mode)


def recorded_repository(repo: Path, run_dir: Path) -> Repository:
    """The repository record of this run, taken at its start (before any setup writes into the
    tree) and kept in ``repository-files.json`` with every entry of its tree hash, so that ``verify
    --repo`` can name the files that changed; a resumed run keeps the record it started with."""
    path = run_dir / REPOSITORY_FILES
    if path.is_file():
        try:
            data = json.loads(read_file(path, what="repository record", max_bytes=_MAX_STATE_BYTES))
            return Repository.model_validate(data["record"])
        except (InputError, ValidationError, ValueError, KeyError, TypeError):
            pass  # damaged: take it again
    ident, entries = repo_listing(repo)
    record = _record(repo, ident)
    atomic_write_json(path, {"record": record.model_dump(mode="json"), "tree_hash_mode": ident.tree_hash_mode,
                             "tree_sha256": ident.tree_sha256, "files": [list(e) for e in entries]})
    return record


def function_coverage(spec: Spec, results: Sequence[IndicatorResult]) -> list[FunctionCoverage]:
    """The function list with the tests probes mapped to each item (``function_tests``).

    Tests are merged by node id across indicators (two indicators running the same suite count
    each test once); a test that failed or errored in any run counts as failed.
    """
    outcomes: dict[str, dict[str, str]] = {}
    descriptions: dict[str, str] = {}
    for result in results:
        for item in result.function_tests:
            merged = outcomes.setdefault(item.id, {})
            for nodeid, outcome in item.outcomes.items():
                if merged.get(nodeid) != "failed":
                    merged[nodeid] = "failed" if outcome in ("failed", "error") else outcome
            for nodeid, text in item.descriptions.items():
                descriptions.setdefault(nodeid, text)
    out = []
    for fn in spec.functions:
        seen = outcomes.get(fn.id, {})
        passed = sum(1 for o in seen.values() if o == "passed")
        failed = sum(1 for o in seen.values() if o == "failed")
        cases = [TestRecord(nodeid=nodeid, name=nodeid.rsplit("::", 1)[-1], outcome=seen[nodeid],  # type: ignore[arg-type]
                            description=descriptions.get(nodeid, "")) for nodeid in sorted(seen)]
        out.append(FunctionCoverage(id=fn.id, name=fn.name, description=fn.description,
                                    tests=sorted(seen), passed=passed, failed=failed,
                                    covered=passed > 0 and failed == 0, cases=cases))
    return out


def run(options: RunOptions, listener: RunListener | None = None) -> tuple[RunResult, Path]:
    """Carry out ``verifier run``; the results and the run directory."""
    runner = Runner(options, listener)
    result = runner.run()
    assert runner.run_dir is not None
    return result, runner.run_dir
