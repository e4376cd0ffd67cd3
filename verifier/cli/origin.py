"""``verifier origin PATH``: the self-developed code ratio of a delivered repository."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from verifier.cli.output import SafeConsole, emit, styled
from verifier.cli.params import InputFile, InputPath, OutputDirectory, OutputFile
from verifier.errors import ExitCode, InputError
from verifier.evidence import atomic_write_bytes
from verifier.formats import render_origin
from verifier.paths import default_file_inside
from verifier.repo_paths import normalize_repo_path
from verifier.results import Project
from verifier.source import open_source
from verifier.spec import DEFAULT_SPEC_NAME, load_spec

_CLASS_LABELS = {
    "self": "self 自研", "third_party": "third_party 第三方", "generated": "generated 生成",
    "excluded": "excluded 排除", "unknown": "unknown 未判定",
}


class _KnowledgeBase(InputFile):
    """``auto``, or a knowledge base file (checked like every input file)."""

    name = "KB|auto"

    def __init__(self) -> None:
        super().__init__("knowledge base")

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        """``"auto"``, or the checked path."""
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        return super().convert(value, param, ctx)


class _Ratio(click.ParamType):
    name = "RATIO"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """``0.6`` or ``60%`` as a fraction in 0..1."""
        text = str(value).strip()
        try:
            number = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        except ValueError:
            self.fail(f"{value!r} is not a ratio (write 0.6 or 60%)", param, ctx)
        if not 0.0 <= number <= 1.0:
            self.fail(f"{value!r} is outside 0..1 (write 0.6 or 60%)", param, ctx)
        return number


@click.command("origin")
@click.argument("path", type=InputPath("directory or archive", path_type=str))
@click.option("--spec", "spec_path", type=InputFile("spec file"),
              help="Task book (acceptance.yaml) giving project.owners and origin.*; default: "
                   "acceptance.yaml at the root of PATH, when there is one (not a symbolic link "
                   "out of PATH).")
@click.option("--no-spec", is_flag=True, help="Do not read acceptance.yaml from PATH.")
@click.option("--owner", "owners", multiple=True, metavar="NAME",
              help="Copyright holder whose code is self-developed (repeatable; added to the "
                   "spec's project.owners).")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Not part of the delivered software (repeatable; added to origin.exclude).")
@click.option("--third-party", "third_party", multiple=True, metavar="GLOB",
              help="Declared third-party code (repeatable; added to origin.third_party).")
@click.option("--generated", multiple=True, metavar="GLOB",
              help="Declared generated code (repeatable; added to origin.generated).")
@click.option("--adjudications", type=InputFile("adjudication file"),
              help="Manual adjudication file (YAML/JSON); overrides origin.adjudications.")
@click.option("--min-ratio", type=_Ratio(), default=None,
              help="Threshold, 0..1 or a percentage (default: origin.min_ratio, else 0.60).")
@click.option("--kb", "kb_paths", multiple=True, type=_KnowledgeBase(),
              help="Snippet knowledge base (verifier kb build), or 'auto': a KB of the "
                   "delivery's declared dependencies fetched from their registries into the "
                   "cache directory. Runs of matching lines in self-developed files count as "
                   "third-party. Repeatable (default: origin.knowledge_base).")
@click.option("--no-kb", is_flag=True, help="No snippet matching, whatever the spec declares.")
@click.option("--min-match-lines", type=click.IntRange(1), default=None,
              help="Shortest matched run, in lines (default: origin.min_match_lines, else 10).")
@click.option("--json", "json_path", type=OutputFile("JSON report", path_type=str, allow_dash=True),
              help="Write the full report (every file with origin, reason, evidence) as JSON to "
                   "FILE ('-' for stdout).")
@click.option("--format", "sbom_format", type=click.Choice(["spdx", "cyclonedx"]), default=None,
              help="Also write the scan as an SBOM: SPDX 2.3 JSON or CycloneDX 1.6 JSON, every file with "
                   "its origin, snippet matches, components (to --output).")
@click.option("-o", "--output", "sbom_path", type=OutputFile("SBOM", path_type=str, allow_dash=True), default=None,
              help="Where --format writes the SBOM ('-' for stdout, the default).")
@click.option("--cache-dir", type=OutputDirectory("cache directory"),
              help="Result cache directory (default: $XDG_CACHE_HOME/verifier, "
                   "~/.cache/verifier).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None,
              help="Worker processes (default: CPU count).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(1, 3600), default=None,
              help="Per-file timeout in seconds of counting and of detection (default 60); a file "
                   "that does not finish is 'unknown'.")
@click.option("--top", type=click.IntRange(0, 1000), default=10, show_default=True,
              help="Components listed in the summary.")
@click.option("--include-ignored", is_flag=True,
              help="In a git working tree, also scan files git ignores (by default they are not "
                   "part of the committed delivery and are listed under 'skipped').")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def origin(path: str, spec_path: Path | None, no_spec: bool, owners: tuple[str, ...],
           exclude: tuple[str, ...], third_party: tuple[str, ...], generated: tuple[str, ...],
           adjudications: Path | None, min_ratio: float | None, kb_paths: tuple[Any, ...],
           no_kb: bool,
           min_match_lines: int | None, json_path: str | None, sbom_format: str | None, sbom_path: str | None,
           cache_dir: Path | None, no_cache: bool, jobs: int | None, timeout_s: float | None,
           top: int, include_ignored: bool, quiet: bool) -> None:
    """Measure the self-developed code ratio (自研代码率) of PATH.

    PATH is a directory, a git working tree or an archive (.zip, .tar, .tar.gz/.tgz, .tar.xz).
    Every source file is classified self / third_party / generated / excluded / unknown with a
    reason and evidence (scancode-toolkit license, copyright, package and generated-code
    detection); ratio = self ÷ (self + third_party + generated + unknown) effective lines.

    \b
    Exit codes: 0 ratio ≥ threshold, 1 below the threshold, 2 usage or input error,
    3 incomplete (scancode failed, or unreadable paths of unknown size could hold any code, so
    no verdict).
    """
    from verifier.origin import (  # heavy: pygount, pygments
        DEFAULT_MIN_RATIO,
        analyze,
        origin_options_from_spec,
    )
    from verifier.origin.detect import DEFAULT_TIMEOUT_S  # heavy: loaded with the origin analysis

    for option, values in (("--exclude", exclude), ("--third-party", third_party),
                           ("--generated", generated)):
        for value in values:
            try:
                normalize_repo_path(value, glob=True)
            except ValueError as err:
                raise InputError(f"origin: {option}: {err}") from None
    if sbom_path is not None and sbom_format is None:
        raise InputError("origin: --output needs --format spdx|cyclonedx")
    if sbom_format is not None and json_path == "-" and (sbom_path or "-") == "-":
        raise InputError("origin: --json - and --format to standard output exclude each other")
    if spec_path is not None and no_spec:
        raise InputError("origin: --spec and --no-spec exclude each other")

    console = SafeConsole(stderr=True)
    with open_source(path, include_ignored=include_ignored) as source:
        options: dict[str, Any] = {"owners": [], "exclude": [], "third_party": [],
                                   "generated": [], "adjudications": None,
                                   "min_ratio": DEFAULT_MIN_RATIO, "declared_source": "option"}
        spec_file = spec_path
        spec = None
        if spec_file is None and not no_spec:
            spec_file = default_file_inside(source.root, DEFAULT_SPEC_NAME, what="spec file")
        if spec_file is not None:
            spec = load_spec(spec_file, repo=source.root)
            options.update(origin_options_from_spec(spec, source.root))
            if exclude or third_party or generated:
                options["declared_source"] = "spec and options"
        options["owners"] = list(dict.fromkeys([*options["owners"], *owners]))
        for key, values in (("exclude", exclude), ("third_party", third_party),
                            ("generated", generated)):
            options[key] = [*options[key], *values]
        if adjudications is not None:
            options["adjudications"] = adjudications
        if min_ratio is not None:
            options["min_ratio"] = min_ratio
        kb = None if no_kb else _knowledge_base(kb_paths, min_match_lines, spec, jobs, cache_dir)
        show = not quiet and console.is_terminal
        with _progress(console, show) as progress:
            report = analyze(source, **options, cache_dir=cache_dir, no_cache=no_cache, jobs=jobs,
                             timeout_s=timeout_s or DEFAULT_TIMEOUT_S, progress=progress, kb=kb)
    data = report.to_json()
    data["spec"] = str(spec_file) if spec_file is not None else None
    if json_path:
        text = json.dumps(data, ensure_ascii=False, indent=2)
        # non-UTF-8 file names are surrogate-escaped: write them as \\udcXX JSON escapes
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        if json_path == "-":
            emit(text + "\n")
        else:
            try:
                Path(json_path).write_text(text + "\n", encoding="utf-8")
            except OSError as err:
                raise InputError(f"{json_path}: cannot write the JSON report: "
                                 f"{err.strerror or err}") from None
    to_stdout = json_path == "-"
    if sbom_format is not None:
        to_stdout = to_stdout or (sbom_path or "-") == "-"
        _write_sbom(data, sbom_format, sbom_path or "-", spec, path)
    out = SafeConsole(file=sys.stderr if to_stdout else sys.stdout, width=_width())
    _render(out, data, top)
    if report.ratio is None:
        hidden = (f"; {len(report.unweighed)} unreadable path(s) could hold some: "
                  + ", ".join(u["path"] for u in report.unweighed[:5]) if report.unweighed else "")
        raise InputError(f"{path}: no source code to measure (no counted lines in any file{hidden})")
    passed = report.passed
    click.get_current_context().exit(int(ExitCode.INCOMPLETE if passed is None
                                         else ExitCode.OK if passed else ExitCode.NOT_MET))


def _write_sbom(data: dict[str, Any], name: str, target: str, spec: Any, path: str) -> None:
    """The scan as an SBOM of format ``name`` to ``target`` ('-': stdout); the product named by the
    task book, else by PATH."""
    if spec is not None:
        project = Project(name=spec.project.name, version=spec.project.version,
                          applicant=spec.project.applicant, owners=list(spec.project.owners))
    else:
        project = Project(name=Path(path).name or path, version="", owners=list(data.get("owners") or []))
    document = render_origin(data, name, project)
    if target == "-":
        emit(document)
        return
    try:
        atomic_write_bytes(Path(target), document)
    except OSError as err:
        raise InputError(f"{target}: cannot write the SBOM: {err.strerror or err}") from None


def _knowledge_base(kb_paths: tuple[Any, ...], min_match_lines: int | None, spec: Any,
                    jobs: int | None, cache_dir: Path | None) -> Any:
    """The snippet matcher from --kb, else from the spec's origin.knowledge_base; None without."""
    entries = list(kb_paths) or (spec.knowledge_bases() if spec is not None else [])
    if not entries:
        return None
    from verifier.kb.origin_matcher import matcher_for  # heavy: SQLite and the origin analysis

    if min_match_lines is None:
        min_match_lines = spec.origin.min_match_lines if spec is not None else 10
    return matcher_for(entries, min_lines=min_match_lines, jobs=jobs, cache_dir=cache_dir)


def _width() -> int | None:
    return None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "110"))


class _progress:
    """A rich progress bar on stderr, fed by ``analyze(progress=...)``; nothing when not shown."""

    def __init__(self, console: SafeConsole, show: bool) -> None:
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True) if show else None
        self.tasks: dict[str, Any] = {}

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        assert self.bar is not None
        label = {"inventory": "counting lines", "detect": "scancode detection"}.get(stage, stage)
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(label, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _render(console: SafeConsole, data: dict[str, Any], top: int) -> None:
    totals = data["totals"]
    counted = sum(totals[c]["lines"] for c in ("self", "third_party", "generated", "unknown"))
    table = Table(title=f"Origin of {data['source']['given']} (来源分类)", title_justify="left")
    for column, justify in (("class", "left"), ("files", "right"), ("lines", "right"),
                            ("share of counted lines", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for origin_class, label in _CLASS_LABELS.items():
        lines = totals[origin_class]["lines"]
        share = "—" if origin_class == "excluded" or not counted else f"{lines / counted:.1%}"
        table.add_row(label, str(totals[origin_class]["files"]), str(lines), share)
    console.print(table)
    if data["components"] and top:
        comp = Table(title="Components (第三方组件)", title_justify="left")
        for column in ("component", "version", "license", "path", "lines"):
            comp.add_column(column, justify="right" if column == "lines" else "left")
        for item in data["components"][:top]:
            comp.add_row(item["name"], item["version"] or "", item["license"] or "not found",
                         item["path"], str(item["lines"]))
        console.print(comp)
        if len(data["components"]) > top:
            console.print(f"… and {len(data['components']) - top} more components (see --json)")
    if data["adjudications"]:
        console.print(f"Manual adjudications applied: {len(data['adjudications'])} "
                      + ", ".join(f"{a['file']} → {a['origin']}" for a in data["adjudications"][:5]))
    src = data["source"]
    where = src["kind"] + (f" @ {src['commit'][:12]}" + (" (dirty)" if src["dirty"] else "")
                           if src.get("commit") else "")
    console.print(f"Source: {where}; owners: {', '.join(data['owners']) or 'NONE'}")
    for warning in data["warnings"]:
        console.print(styled(("warning:", "bold yellow"), f" {warning}"))
    ratio, threshold = data["ratio"], data["threshold"]
    verdict = (("PASS 达标", "bold green") if data["passed"] else ("FAIL 未达标", "bold red")
               if data["passed"] is False else ("NO RATIO", "bold yellow") if ratio is None
               else ("UNPROVEN 无法证实", "bold yellow"))
    console.print(styled("Self-developed ratio 自研代码率: ", (_pct(ratio), "bold"),
                         f" (threshold {_pct(threshold)}; without test code {_pct(data['ratio_without_tests'])})  ",
                         verdict))
