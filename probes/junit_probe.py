"""``junit`` probe (functionality): the declared test command of any runner, measured from the JUnit
XML files it writes.

The command (``mvn -B test``, ``gradle test``, ``npx jest``, ``node --test …``, ``go test … |
go-junit-report``, ``ctest --output-junit …``, ``pytest --junitxml …``) runs under the watchdog with a
scrubbed environment, in ``cwd``. Its reports are read from two places:

* ``{junit_dir}``: an empty folder of the evidence, given to the command as a placeholder (in the
  command or in ``env``); every ``*.xml`` file the command writes under it is read;
* ``reports``: repository globs of the files the runner writes in the tree
  (``target/surefire-reports/TEST-*.xml``, ``build/test-results/test/*.xml``). Only files written
  during this run count (older ones are left out, with a note); each is copied into the evidence.

An exit status outside ``ok_exit_codes`` (default 0 and 1, what most runners return when tests
fail; CTest returns 8), a timeout, a signal, or no JUnit XML at all is a probe error with the output
tail. Reports are parsed with defusedxml under a size limit. The dialects, the outcome rules and the
node ids used for function-list globs are described in ``probes/_junit_xml.py``; counting and the
function-list coverage are the pytest probe's (``probes.pytest_probe.summarize``): ``pass_rate`` =
passed / (passed + failed + errors) x 100, a function item is covered when one of its tests passed
and none failed or errored.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from verifier.probe import (
    Bars,
    MetricInfo,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Table,
)
from verifier.probekit import (
    Deadline,
    EnvValue,
    RepoPath,
    expand_command,
    glob_matches,
    inside_repo,
    interpreter_env,
    placeholders,
    run_evidence,
    run_tool,
    safe_name,
    source_files,
    substitute,
    tool_failure,
    which,
)
from verifier.repo_paths import normalize_repo_path

from ._junit_xml import ClassFiles, merge, read_report
from ._labels import FUNCTION_TEST_LABELS, TESTS_CHART
from ._xml import MAX_XML_BYTES
from .pytest_probe import JUnitCase, _spec_functions, summarize

_KNOWN = ("python", "repo", "junit_dir")

ReportGlob = Annotated[str, AfterValidator(lambda value: normalize_repo_path(value, glob=True))]
"""A repository glob of files the test command writes: checked like any repository glob, but not
expected to match anything before the run (``verifier check`` does not warn about it)."""
#: At most this many report files are read.
MAX_REPORTS = 5000
#: A report written up to this many seconds before the command started still counts (file systems
#: with coarse timestamps).
_CLOCK_SLACK_S = 1.0

class JUnitArgs(ProbeArgs):
    """``with:`` arguments of the junit probe."""

    command: list[str] | str
    """The test command: an argv list, or a string split like a POSIX shell would (run through
    ``/bin/sh -c`` only with ``shell: true``). Placeholders: ``{junit_dir}``, ``{repo}``, ``{python}``."""
    reports: list[ReportGlob] = Field(default_factory=list)
    """Repository globs of the JUnit XML files the command writes in the tree."""
    shell: bool = False
    """Run the command through ``/bin/sh -c`` (placeholder values are shell-quoted)."""
    cwd: RepoPath = "."
    """Working directory, relative to the repository."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Environment variables (on top of a scrubbed environment); placeholders allowed in values."""
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0, 1], min_length=1)
    """Exit statuses that mean the runner ran (with or without failing tests)."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | str) -> list[str] | str:
        try:
            parts = shlex.split(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ValueError(f"command cannot be split: {exc}") from None
        if not parts or not str(parts[0]).strip():
            raise ValueError("command is empty")
        return value

    @model_validator(mode="after")
    def _placeholders_and_reports(self) -> JUnitArgs:
        texts = [self.command] if isinstance(self.command, str) else list(self.command)
        texts += list(self.env.values())
        used = set().union(*(placeholders(t) for t in texts))
        unknown = sorted(used - set(_KNOWN))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                             f"known: {', '.join('{' + k + '}' for k in _KNOWN)} "
                             "(write {{ }} for literal braces)")
        if not self.reports and "junit_dir" not in used:
            raise ValueError("say where the JUnit XML goes: write it into {junit_dir} (in the command "
                             "or env) or declare 'reports' globs")
        return self


class JUnitProbe(Probe):
    """Pass rate of the product's tests, from any runner's JUnit XML, and function-list coverage."""

    name = "junit"
    characteristic = "functionality"
    description = ("Runs the product's declared test command (any runner) and reads the JUnit XML it "
                   "writes: pass rate and share of the function list covered by passing tests.")
    metrics = {
        "pass_rate": MetricInfo("%", "passed / (passed + failed + errors)", "higher"),
        "passed": MetricInfo("count", "tests passed", "higher"),
        "failed": MetricInfo("count", "tests failed"),
        "errors": MetricInfo("count", "tests in error"),
        "skipped": MetricInfo("count", "tests skipped or disabled"),
        "total": MetricInfo("count", "tests reported", "higher"),
        "function_coverage": MetricInfo(
            "%", "function items with a passing test and no failing one", "higher"),
    }
    Args = JUnitArgs

    presentation = Presentation(
        labels={
            **FUNCTION_TEST_LABELS,
            "reports": ("JUnit XML 报告", "JUnit XML reports"),
            "file": ("文件", "File"),
            "origin": ("写入位置", "Written to"),
            "dialect": ("格式", "Dialect"),
            "tests": ("测试用例数", "Tests"),
            "returncode": ("退出码", "Exit status"),
            "duration_s": ("耗时（秒）", "Duration (s)"),
            "duplicates": ("重复报告的用例数", "Test cases reported more than once"),
            "stale_reports": ("本次运行前已存在的报告（未计入）", "Reports older than this run (not counted)"),
        },
        words={"origin": {"junit_dir": ("证据目录 {junit_dir}", "evidence folder {junit_dir}"),
                          "repository": ("被测仓库", "the repository")}},
        tables={"functions": Table(("id", "name", "covered", "passed", "failed", "description")),
                "reports": Table(("file", "origin", "dialect", "tests"))},
        bars={"outcomes": Bars(("passed", "failed", "error", "skipped"))},
        metric_bars=(replace(TESTS_CHART, unless=("outcomes",)),),
    )

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run the test command, read the JUnit XML it wrote, measure."""
        args: JUnitArgs = ctx.args  # type: ignore[assignment]
        cwd = inside_repo(ctx.repo, args.cwd, what="cwd")
        if not cwd.is_dir():
            raise ProbeError(f"cwd {args.cwd!r} is not a directory")
        junit_dir = ctx.evidence_dir / "junit"
        shutil.rmtree(junit_dir, ignore_errors=True)
        junit_dir.mkdir(parents=True)
        values = {"python": sys.executable, "repo": str(ctx.repo.resolve()), "junit_dir": str(junit_dir)}
        argv = expand_command(args.command, values, shell=args.shell)
        env = interpreter_env(sys.executable, {k: substitute(v, values) for k, v in args.env.items()})
        if which(argv[0], env, cwd) is None:
            raise ProbeError(f"test command {argv[0]!r} not found (PATH or relative to {args.cwd})")
        timeout = Deadline(ctx.timeout_s).remaining(what="test command")
        started = time.time()
        run = run_tool(argv, cwd=cwd, timeout_s=timeout, out_dir=ctx.evidence_dir, name="tests",
                       env=env)
        found, stale = _collect(ctx, args.reports, junit_dir, since=started - _CLOCK_SLACK_S)
        evidence = tuple(ctx.rel(copy) for _, copy, _ in found)
        if run.timed_out or run.returncode not in args.ok_exit_codes:
            failure = tool_failure(ctx, run, "test command", timeout, evidence=evidence)
            if not run.timed_out and run.returncode is not None and run.returncode > 0:
                raise ProbeError(f"{failure.reason} (ok_exit_codes: {args.ok_exit_codes})",
                                 tail=failure.tail, evidence=failure.evidence)
            raise failure
        if not found:
            where = [f"{{junit_dir}} ({ctx.rel(junit_dir)})"] if _uses_junit_dir(args) else []
            where += [f"reports {', '.join(args.reports)}"] if args.reports else []
            older = f"; {len(stale)} older file(s) left out: {', '.join(stale[:3])}" if stale else ""
            raise ProbeError(f"the test command exited with status {run.returncode} but wrote no JUnit "
                             f"XML (looked in {' and '.join(where)}{older})", tail=run.tail(),
                             evidence=run_evidence(ctx, run))
        classes = ClassFiles(ctx.repo)
        cases: list[JUnitCase] = []
        reports: list[dict[str, Any]] = []
        for label, copy, origin in found:
            try:
                report = read_report(copy, repo=ctx.repo, cwd=cwd, classes=classes,
                                     what=f"JUnit XML {label}")
            except ProbeError as exc:
                raise ProbeError(exc.reason, tail=run.tail(),
                                 evidence=evidence + run_evidence(ctx, run)) from None
            cases.extend(report.cases)
            reports.append({"file": label, "origin": origin, "dialect": report.dialect,
                            "tests": len(report.cases)})
        merged, duplicates = merge(cases)
        outcome = summarize(merged, functions=_spec_functions(ctx.spec))
        notes = list(outcome.notes)
        if duplicates:
            notes.append(f"{duplicates} test case(s) were reported more than once under the same node "
                         "id and count once, with their worst outcome (reruns, or tests with the same "
                         "name in one suite)")
        if stale:
            notes.append(f"{len(stale)} report file(s) matching {', '.join(args.reports)} are older "
                         f"than this run and were not read: {', '.join(stale[:5])}")
        if run.returncode:
            notes.append(f"the test command exited with status {run.returncode}")
        details = {**outcome.details, "reports": reports, "returncode": run.returncode,
                   "duration_s": round(run.duration_s, 3)}
        if duplicates:
            details["duplicates"] = duplicates
        if stale:
            details["stale_reports"] = len(stale)
        return ProbeOutcome(measurements=outcome.measurements, findings=outcome.findings,
                            notes=tuple(notes), details=details, functions=outcome.functions,
                            evidence=evidence + run_evidence(ctx, run), commands=(run.argv,))


def _uses_junit_dir(args: JUnitArgs) -> bool:
    texts = [args.command] if isinstance(args.command, str) else list(args.command)
    return any("junit_dir" in placeholders(t) for t in [*texts, *args.env.values()])


def _collect(ctx: ProbeContext, patterns: list[str], junit_dir: Path, *,
             since: float) -> tuple[list[tuple[str, Path, str]], list[str]]:
    """The report files to read, as (label, file in the evidence, where the runner wrote it), and
    the repository files matching ``patterns`` that are older than ``since`` (left out)."""
    found: list[tuple[str, Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(junit_dir, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.endswith(".xml") and path.is_file() and not path.is_symlink():
                found.append((f"{{junit_dir}}/{path.relative_to(junit_dir).as_posix()}", path, "junit_dir"))
    stale: list[str] = []
    if patterns:
        copies = ctx.evidence_dir / "junit-reports"
        shutil.rmtree(copies, ignore_errors=True)
        root = ctx.repo.resolve()
        for index, rel in enumerate(source_files(ctx.repo, ["."], suffixes=(".xml", ".XML"))):
            if not any(glob_matches(rel, p) for p in patterns):
                continue
            source = root / rel
            try:
                info = source.lstat()
            except OSError:
                continue
            if info.st_mtime < since:
                stale.append(rel)
                continue
            if info.st_size > MAX_XML_BYTES:
                raise ProbeError(f"JUnit XML {rel} is {info.st_size} bytes, over the limit of "
                                 f"{MAX_XML_BYTES} bytes")
            copy = copies / f"{index:05d}-{safe_name(rel.replace('/', '--'), limit=150)}"
            copies.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy, follow_symlinks=False)
            found.append((rel, copy, "repository"))
    if len(found) > MAX_REPORTS:
        raise ProbeError(f"{len(found)} JUnit XML files found, more than {MAX_REPORTS}: narrow 'reports'")
    return found, stale
