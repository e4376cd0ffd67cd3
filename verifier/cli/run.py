"""``verifier run``: measure the declared indicators and write a run directory."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from verifier.cli.output import SafeConsole, say, stdout_console, styled
from verifier.cli.params import InputDirectory, InputFile, OutputDirectory, WritableDirectory
from verifier.errors import ExitCode, InputError
from verifier.paths import default_file_inside, read_file
from verifier.results import IndicatorResult
from verifier.runner import Runner, RunOptions
from verifier.scoring import ready_to_apply, score_figure, score_reaches
from verifier.spec import DEFAULT_SPEC_NAME, Indicator
from verifier.units import format_number, format_quantity

_STATUS_STYLE = {"met": "green", "not_met": "red", "error": "yellow", "not_applicable": "dim"}
_VERDICT_EXIT = {"pass": ExitCode.OK, "fail": ExitCode.NOT_MET, "inconclusive": ExitCode.INCOMPLETE}


def _started_with(run_dir: Path) -> tuple[Path, Path]:
    """The spec and repository an interrupted run was started with (from its run.json)."""
    record = run_dir / "run.json"
    try:
        meta = json.loads(read_file(record, what="run record", max_bytes=1 << 20).decode("utf-8"))
        return Path(meta["spec_path"]), Path(meta["repository"])
    except InputError as err:
        raise InputError(f"{run_dir}: not a verifier run directory ({err}); "
                         "give the SPEC explicitly") from None
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{run_dir}: not a verifier run directory (run.json: {err}); "
                         "give the SPEC explicitly") from None


class _ConsoleListener:
    """Progress per probe on stderr."""

    def __init__(self, console: SafeConsole) -> None:
        self.console = console

    def stage(self, message: str) -> None:
        self.console.print(styled(("•", "bold"), f" {message} …"))

    def indicator_started(self, indicator: Indicator, index: int, total: int) -> None:
        self.console.print(styled((f"[{index}/{total}]", "bold"),
                                  f" {indicator.id} ({indicator.probe}: {indicator.metric}) …"))

    def indicator_finished(self, result: IndicatorResult, index: int, total: int,
                           resumed: bool) -> None:
        style = _STATUS_STYLE.get(result.status, "")
        took = " (kept from the interrupted run)" if resumed else (
            f" in {result.duration_s:.1f} s" if result.duration_s is not None else "")
        self.console.print(styled("      ", (result.status, style), f" {result.reason}{took}{_extras(result)}"),
                           soft_wrap=True)


def _extras(result: IndicatorResult) -> str:
    """What a progress line adds for a repeated measurement, a shared one and waived findings."""
    parts = []
    rep = result.repeats
    if rep is not None:
        spread = (f", {format_quantity(rep.min, result.unit)} – {format_quantity(rep.max, result.unit)}"
                  if rep.min is not None and rep.max is not None else "")
        parts.append(f"median of {len(rep.runs)} runs{spread}" + (", UNSTABLE: met in some runs only"
                                                                   if rep.unstable else ""))
    if result.measured_with:
        parts.append(f"same measurement as {result.measured_with}")
    waived = sum(1 for f in result.findings if isinstance(f.extra.get("waiver"), dict))
    if waived:
        parts.append(f"{waived} finding(s) waived")
    return f" [{'; '.join(parts)}]" if parts else ""


@click.command("run")
@click.argument("spec", type=InputFile("spec file"), required=False)
@click.option("--repo", type=InputDirectory("repository"),
              help="The delivered repository (default: the spec's directory).")
@click.option("--out", "out_dir", type=OutputDirectory("run directory"),
              help="Run directory to create (default: runs/<UTC timestamp>).")
@click.option("--only", multiple=True, metavar="ID", help="Measure only this indicator (repeatable).")
@click.option("--resume", type=WritableDirectory("run directory"),
              help="Continue an interrupted run directory, keeping its finished indicators.")
@click.option("--cache-dir", type=OutputDirectory("cache directory"),
              help="Origin scan cache (default: $XDG_CACHE_HOME/verifier).")
@click.option("--no-cache", is_flag=True, help="Do not read or write the origin scan cache.")
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes for the origin scan.")
@click.option("--no-kb", is_flag=True,
              help="No snippet matching (by default the spec's origin.knowledge_base, else "
                   "'auto': a KB of the delivery's declared dependencies, fetched from their "
                   "registries into the cache directory).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def run_command(spec: Path, repo: Path | None, out_dir: Path | None, only: tuple[str, ...],
                resume: Path | None, cache_dir: Path | None, no_cache: bool, jobs: int | None,
                no_kb: bool, quiet: bool) -> None:
    """Measure every indicator the task book SPEC declares, score them, write a run directory.

    SPEC defaults to acceptance.yaml in the current directory (refused when it is a symbolic
    link out of it); with --resume, to the spec the run was started with.

    \b
    The run directory holds results.json (the canonical results), the raw evidence of every
    probe and the origin analysis; `verifier report` renders it.
    Exit codes: 0 pass, 1 fail, 2 input error, 3 inconclusive (a probe error leaves the verdict open).
    """
    if resume is not None and out_dir is not None:
        raise click.UsageError("--resume and --out are exclusive: --resume continues that directory")
    if resume is not None:  # by default, continue with what the run was started with
        started_spec, started_repo = _started_with(resume)
        spec = spec or started_spec
        repo = repo or started_repo
    if spec is None:
        spec = default_file_inside(Path("."), DEFAULT_SPEC_NAME, what="spec file") \
            or Path(DEFAULT_SPEC_NAME)
    err = SafeConsole(stderr=True, quiet=quiet)
    options = RunOptions(spec_path=spec, repo=repo, out_dir=out_dir, only=only, resume=resume,
                         cache_dir=cache_dir, no_cache=no_cache, jobs=jobs, no_kb=no_kb,
                         command=("verifier", *sys.argv[1:]))
    runner = Runner(options, _ConsoleListener(err))
    for warning in runner.spec.warnings:  # as `verifier check` prints them, even with --quiet
        say(f"verifier: warning: {warning}", err=True)
    try:
        result = runner.run()
    except KeyboardInterrupt:
        where = f" --resume {runner.run_dir}" if runner.run_dir else ""
        say(f"verifier: interrupted; finished indicators are kept: continue with "
            f"verifier run {spec}{where}", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    run_dir = runner.run_dir
    out = stdout_console()
    counts = {s: sum(1 for r in result.indicators if r.status == s) for s in _STATUS_STYLE}
    score = result.score
    open_range = " (open: indicators in error)" if score.lowest is not None and score.highest is not None else ""
    out.print(styled("verdict: ", (result.verdict, "bold"),
                     f"   score {score_figure(score)} / {format_number(score.maximum)}{open_range} "
                     f"(pass {format_number(score.pass_score)})   "
                     + ", ".join(f"{n} {s}" for s, n in counts.items() if n)))
    answer = {True: ("yes", "green"), False: ("no", "red"), None: ("open", "yellow")}
    out.print(styled("  ready to apply (every gate holds): ", answer[ready_to_apply(result.gates)],
                     f"   score ≥ {format_number(result.score.pass_score)}: ", answer[score_reaches(result.score)]))
    for gate in result.gates:
        mark = {True: ("holds", "green"), False: ("fails", "red"), None: ("open", "yellow")}
        out.print(styled(f"  gate {gate.id}: ", mark[gate.passed], f" ({gate.figure})"))
    for reason in result.verdict_reasons:
        out.print(f"  - {reason['en']}", soft_wrap=True)
    out.print(f"pre-assessment only: {result.notice.get('en', '')}", style="dim")
    out.print(f"run directory: {run_dir}")
    sys.exit(int(_VERDICT_EXIT[result.verdict]))
