"""``lizard`` probe (maintainability): cyclomatic complexity, length and parameter count of the
functions of C/C++, Java, C#, JavaScript, TypeScript, Go, Python, Kotlin, Swift, Rust and the other
languages lizard reads, in the shape of the radon probe's figures.

The probe selects the files itself (``paths`` minus ``exclude``, by the file suffixes lizard reads,
never through symlinks, never into version-control, ``node_modules`` or virtual-environment folders)
and leaves out minified and bundled assets by the origin scan's rule (``*.min.js``, very long lines;
they are listed). lizard runs as its own process (``probes/_lizard_driver.py``, through lizard's API:
its CSV output does not escape file names) from a neutral working directory.

Definitions, over every function and method lizard finds:

* ``avg_complexity`` / ``max_complexity``: mean / largest cyclomatic complexity (CCN);
* ``share_complex``: percentage of functions with a CCN above ``ccn`` (default 10, the limit of
  radon's ranks A and B);
* ``avg_length`` / ``max_length``: mean / largest function length in lines of code (lizard's NLOC:
  without blank and comment lines); ``share_long``: percentage longer than ``length`` (default 50);
* ``max_parameters``; ``share_many_parameters``: percentage with more than ``parameters`` (default 5);
* ``share_over_threshold``: percentage over at least one of the three thresholds;
* ``function_count``: how many were measured.

Functions over a threshold become findings, worst first (severity from how far over: up to twice the
threshold low, up to three times medium, beyond high).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from verifier.origin.minified import SAMPLE_BYTES, minified_asset
from verifier.probe import (
    Bars,
    Finding,
    Measurement,
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
    RepoGlob,
    RepoPath,
    read_json,
    run_evidence,
    run_tool,
    scrubbed_env,
    source_files,
    tool_version,
)

from ._pypi_tools import harness_tool_failure

_DRIVER = Path(__file__).with_name("_lizard_driver.py")

#: The file suffixes lizard 1.17+ reads, by its language names (``lizard -l``).
LANGUAGES: dict[str, tuple[str, ...]] = {
    "cpp": (".c", ".cpp", ".cc", ".cxx", ".h", ".hh", ".hpp"),
    "java": (".java",),
    "csharp": (".cs",),
    "javascript": (".js", ".cjs", ".mjs"),
    "python": (".py",),
    "objectivec": (".m", ".mm"),
    "ttcn": (".ttcn", ".ttcnpp"),
    "ruby": (".rb",),
    "php": (".php",),
    "swift": (".swift",),
    "scala": (".scala",),
    "gdscript": (".gd",),
    "go": (".go",),
    "lua": (".lua",),
    "rust": (".rs",),
    "typescript": (".ts",),
    "fortran": (".f70", ".f90", ".f95", ".f03", ".f08", ".f", ".for", ".ftn", ".fpp"),
    "kotlin": (".kt", ".kts"),
    "solidity": (".sol",),
    "erlang": (".erl", ".hrl", ".es", ".escript"),
    "zig": (".zig",),
    "tsx": (".tsx", ".jsx"),
    "vue": (".vue",),
    "perl": (".pl", ".pm"),
    "st": (".st",),
    "r": (".r", ".R"),
    "plsql": (".sql", ".pks", ".pkb", ".pls", ".plb", ".pck"),
}
#: Other names lizard accepts for a language.
_ALIASES = {"c": "cpp", "c++": "cpp", "js": "javascript", "ts": "typescript", "objc": "objectivec",
            "kt": "kotlin", "cs": "csharp", "c#": "csharp"}
_WEB_SUFFIXES = {".js": "javascript", ".cjs": "javascript", ".mjs": "javascript", ".ts": "typescript",
                 ".tsx": "typescript", ".jsx": "javascript", ".vue": "javascript"}
_HISTOGRAM = (("1-5", 1, 5), ("6-10", 6, 10), ("11-20", 11, 20), ("21-50", 21, 50), (">50", 51, None))



class LizardArgs(ProbeArgs):
    """``with:`` arguments of the lizard probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    """Files or directories to measure, relative to the repository."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Repository globs left out (``test/**``, ``vendor/**``, ``**/*.d.ts``)."""
    languages: list[str] = Field(default_factory=list)
    """Only these languages (lizard's names: ``java``, ``javascript``, ``typescript``, ``cpp``, ``go``
    …); default: every language lizard reads."""
    ccn: int = Field(10, ge=1, le=1000)
    """A function with a cyclomatic complexity above this is over the threshold."""
    length: int = Field(50, ge=1, le=100_000)
    """A function with more lines of code than this is over the threshold."""
    parameters: int = Field(5, ge=0, le=1000)
    """A function with more parameters than this is over the threshold."""
    include_minified: bool = False
    """Also measure minified and bundled assets."""
    max_findings: int = Field(50, ge=0, le=10_000)
    """How many of the functions over a threshold become findings (worst first)."""

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        out = []
        for name in value:
            key = _ALIASES.get(name.strip().lower(), name.strip().lower())
            if key not in LANGUAGES:
                raise ValueError(f"unknown language {name!r} (lizard reads: {', '.join(LANGUAGES)})")
            out.append(key)
        return list(dict.fromkeys(out))


class LizardProbe(Probe):
    """Complexity, length and parameter count of functions in many languages, measured by lizard."""

    name = "lizard"
    characteristic = "maintainability"
    description = ("Cyclomatic complexity, length and parameter count of functions in C/C++, Java, "
                   "C#, JavaScript/TypeScript, Go, Python and more, measured by lizard.")
    metrics = {
        "avg_complexity": MetricInfo("score", "mean cyclomatic complexity of functions"),
        "max_complexity": MetricInfo("score", "largest cyclomatic complexity of a function"),
        "share_complex": MetricInfo("%", "share of functions with a complexity above `ccn`"),
        "avg_length": MetricInfo("count", "mean lines of code of a function"),
        "max_length": MetricInfo("count", "most lines of code of a function"),
        "share_long": MetricInfo("%", "share of functions longer than `length` lines of code"),
        "max_parameters": MetricInfo("count", "most parameters of a function"),
        "share_many_parameters": MetricInfo("%", "share of functions with more than `parameters`"),
        "share_over_threshold": MetricInfo("%", "share of functions over at least one threshold"),
        "function_count": MetricInfo("count", "functions and methods measured", "higher"),
    }
    Args = LizardArgs

    presentation = Presentation(
        labels={
            "avg_complexity": ("平均圈复杂度", "Average cyclomatic complexity"),
            "max_complexity": ("最高圈复杂度", "Highest cyclomatic complexity"),
            "share_complex": ("圈复杂度超限函数占比（%）", "Functions over the complexity limit (%)"),
            "avg_length": ("平均函数长度（代码行）", "Average function length (lines of code)"),
            "max_length": ("最长函数长度（代码行）", "Longest function (lines of code)"),
            "share_long": ("长度超限函数占比（%）", "Functions over the length limit (%)"),
            "max_parameters": ("最多参数个数", "Most parameters"),
            "share_many_parameters": ("参数超限函数占比（%）", "Functions over the parameter limit (%)"),
            "share_over_threshold": ("任一项超限函数占比（%）", "Functions over any limit (%)"),
            "function_count": ("函数数", "Functions"),
            "ccn_histogram": ("圈复杂度", "Cyclomatic complexity"),
            **{label: (label, label) for label, _, _ in _HISTOGRAM},
            "by_language": ("各语言函数数", "Functions by language"),
            "worst_functions": ("圈复杂度最高的函数", "Most complex functions"),
            "minified": ("未分析的压缩/打包文件", "Minified or bundled files left out"),
            "file": ("文件", "File"),
            "line": ("行号", "Line"),
            "name": ("函数", "Function"),
            "language": ("语言", "Language"),
            "ccn": ("圈复杂度", "Complexity"),
            "nloc": ("代码行数", "Lines of code"),
            "parameters": ("参数个数", "Parameters"),
            "reason": ("原因", "Reason"),
            "ccn_threshold": ("圈复杂度上限", "Complexity limit"),
            "length_threshold": ("函数长度上限（代码行）", "Length limit (lines of code)"),
            "parameters_threshold": ("参数个数上限", "Parameter limit"),
            "files_scanned": ("扫描文件数", "Files scanned"),
            "files_unreadable": ("无法读取的文件数", "Unreadable files"),
            "minified_skipped": ("未分析的压缩/打包文件数", "Minified or bundled files left out"),
            "lizard_version": ("lizard 版本", "lizard version"),
        },
        tables={"worst_functions": Table(("file", "line", "name", "language", "ccn", "nloc", "parameters")),
                "minified": Table(("file", "reason"))},
        bars={"ccn_histogram": Bars(tuple(label for label, _, _ in _HISTOGRAM))},
    )

    #: How the driver is started (tests substitute it to simulate a missing, hanging or broken tool).
    command: ClassVar[tuple[str, ...]] = (sys.executable, "-I", str(_DRIVER))

    def tool_versions(self) -> dict[str, str]:
        """lizard's installed version."""
        return tool_version("lizard")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Select the files, run lizard on them, summarise."""
        args: LizardArgs = ctx.args  # type: ignore[assignment]
        languages = args.languages or list(LANGUAGES)
        suffixes = tuple(s for name in languages for s in LANGUAGES[name])
        files = source_files(ctx.repo, args.paths, exclude=args.exclude, suffixes=suffixes)
        root = ctx.repo.resolve()
        minified: list[dict[str, str]] = []
        if not args.include_minified:
            files, minified = _drop_minified(root, files)
        if not files:
            raise ProbeError(f"no source file lizard reads ({', '.join(args.languages) or 'any language'}) "
                             f"under {', '.join(args.paths)} (after exclude {args.exclude or 'none'}"
                             f"{f', {len(minified)} minified' if minified else ''}): nothing to measure")
        out = ctx.evidence_dir / "lizard.json"
        out.unlink(missing_ok=True)
        argv = [*self.command, str(out)]
        stdin = b"".join(os.fsencode(root / f) + b"\0" for f in files)
        timeout = Deadline(ctx.timeout_s).remaining(what="lizard")
        with tempfile.TemporaryDirectory(prefix="verifier-lizard-") as neutral:
            run = run_tool(argv, cwd=neutral, timeout_s=timeout, out_dir=ctx.evidence_dir, name="lizard",
                           env=scrubbed_env({"HOME": neutral}), stdin_data=stdin)
        if run.timed_out or run.returncode != 0:
            raise harness_tool_failure(ctx, run, "lizard", timeout, package="lizard")
        data = read_json(out, what="lizard", run=run, ctx=ctx)
        outcome = summarize(data, root=root, ccn=args.ccn, length=args.length,
                            parameters=args.parameters, max_findings=args.max_findings)
        notes = list(outcome.notes)
        if minified:
            shown = ", ".join(m["file"] for m in minified[:5])
            notes.append(f"{len(minified)} minified or bundled file(s) left out ({shown}"
                         f"{' …' if len(minified) > 5 else ''}); include_minified: true measures them")
        details = {**outcome.details, "files_scanned": len(files), "minified_skipped": len(minified)}
        if minified:
            details["minified"] = minified[:50]
        return ProbeOutcome(measurements=outcome.measurements, findings=outcome.findings,
                            notes=tuple(notes), details=details,
                            evidence=(ctx.rel(out), *run_evidence(ctx, run)), commands=(run.argv,))


def _drop_minified(root: Path, files: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    """``files`` without the minified or bundled web assets, and those left out with the reason."""
    kept: list[str] = []
    dropped: list[dict[str, str]] = []
    for rel in files:
        language = _WEB_SUFFIXES.get(os.path.splitext(rel)[1])
        if language is None:
            kept.append(rel)
            continue
        try:
            with open(root / rel, "rb") as handle:
                sample = handle.read(SAMPLE_BYTES + 1)
        except OSError:
            kept.append(rel)  # lizard reports what it cannot read
            continue
        whole = len(sample) <= SAMPLE_BYTES
        found = minified_asset(os.path.basename(rel), language, sample[:SAMPLE_BYTES], whole=whole)
        if found is None:
            kept.append(rel)
        else:
            dropped.append({"file": rel, "reason": found[0]})
    return kept, dropped


def _relative(name: str, root: Path) -> str:
    try:
        return Path(name).relative_to(root).as_posix()
    except ValueError:
        return name


def _over(value: float, limit: float) -> float:
    """How far ``value`` is over ``limit`` (value / limit; 0 when not over)."""
    if value <= limit:
        return 0.0
    return value / limit if limit > 0 else float("inf")


def _severity(ratio: float) -> str:
    return "low" if ratio <= 2 else "medium" if ratio <= 3 else "high"


def summarize(data: object, *, root: Path, ccn: int = 10, length: int = 50, parameters: int = 5,
              max_findings: int = 50) -> ProbeOutcome:
    """Measurements, findings, notes and details from the driver's JSON (a pure function)."""
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise ProbeError("lizard output has no 'files' list")
    functions: list[dict[str, Any]] = []
    by_language: Counter[str] = Counter()
    for entry in data["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("functions"), list):
            raise ProbeError("lizard output has a file entry without a 'functions' list")
        file = _relative(str(entry.get("file", "")), root)
        for fn in entry["functions"]:
            if not isinstance(fn, dict) or not all(isinstance(fn.get(k), int)
                                                   for k in ("ccn", "nloc", "parameters")):
                raise ProbeError(f"lizard output for {file} has a function without ccn, nloc or parameters")
            functions.append({**fn, "file": file, "language": entry.get("language") or ""})
            by_language[str(entry.get("language") or "?")] += 1
    notes: list[str] = []
    findings: list[Finding] = []
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    for error in errors:
        file = _relative(str(error.get("file", "")), root)
        notes.append(f"lizard could not analyse {file}: {error.get('error', 'unknown reason')}")
        findings.append(Finding(message=f"not analysed: {error.get('error', 'unknown reason')}",
                                file=file, severity="info", rule="lizard-error"))
    over: list[tuple[float, dict[str, Any], dict[str, float]]] = []
    for fn in functions:
        ratios = {"ccn": _over(fn["ccn"], ccn), "length": _over(fn["nloc"], length),
                  "parameters": _over(fn["parameters"], parameters)}
        if any(ratios.values()):
            over.append((max(ratios.values()), fn, ratios))
    over.sort(key=lambda item: (-item[1]["ccn"], -item[0], item[1]["file"], item[1].get("line") or 0))
    for worst, fn, ratios in over[:max_findings]:
        parts = []
        if ratios["ccn"]:
            parts.append(f"cyclomatic complexity {fn['ccn']} (> {ccn})")
        if ratios["length"]:
            parts.append(f"{fn['nloc']} lines of code (> {length})")
        if ratios["parameters"]:
            parts.append(f"{fn['parameters']} parameters (> {parameters})")
        kind = max(ratios, key=lambda k: ratios[k])
        findings.append(Finding(
            message=f"function {fn.get('name')} has {', '.join(parts)}",
            file=fn["file"], line=fn.get("line"), severity=_severity(worst), rule=f"lizard-{kind}",
            extra={"name": fn.get("name"), "long_name": fn.get("long_name"), "language": fn["language"],
                   "ccn": fn["ccn"], "nloc": fn["nloc"], "parameters": fn["parameters"],
                   "end_line": fn.get("end_line"), "tokens": fn.get("tokens")}))
    if len(over) > max_findings:
        notes.append(f"{len(over) - max_findings} more function(s) over a threshold are in the evidence")
    if not functions:
        notes.append("lizard found no functions: the complexity and length metrics are not applicable")
    count = len(functions)

    def share(predicate: Any) -> float | None:
        return round(100.0 * sum(1 for f in functions if predicate(f)) / count, 4) if count else None

    def mean(key: str) -> float | None:
        return round(sum(f[key] for f in functions) / count, 4) if count else None

    def largest(key: str) -> float | None:
        return float(max(f[key] for f in functions)) if count else None

    measurements = (
        Measurement("avg_complexity", mean("ccn"), "score"),
        Measurement("max_complexity", largest("ccn"), "score"),
        Measurement("share_complex", share(lambda f: f["ccn"] > ccn), "%"),
        Measurement("avg_length", mean("nloc"), "count"),
        Measurement("max_length", largest("nloc"), "count"),
        Measurement("share_long", share(lambda f: f["nloc"] > length), "%"),
        Measurement("max_parameters", largest("parameters"), "count"),
        Measurement("share_many_parameters", share(lambda f: f["parameters"] > parameters), "%"),
        Measurement("share_over_threshold", round(100.0 * len(over) / count, 4) if count else None, "%"),
        Measurement("function_count", float(count), "count"),
    )
    histogram = {label: sum(1 for f in functions if f["ccn"] >= low and (high is None or f["ccn"] <= high))
                 for label, low, high in _HISTOGRAM}
    top = sorted(functions, key=lambda f: (-f["ccn"], -f["nloc"], f["file"], f.get("line") or 0))[:10]
    details = {
        "ccn_histogram": histogram,
        "by_language": dict(sorted(by_language.items())),
        "worst_functions": [{"file": f["file"], "line": f.get("line"), "name": f.get("name"),
                             "language": f["language"], "ccn": f["ccn"], "nloc": f["nloc"],
                             "parameters": f["parameters"]} for f in top],
        "ccn_threshold": ccn,
        "length_threshold": length,
        "parameters_threshold": parameters,
        "files_unreadable": len(errors),
        "lizard_version": str(data.get("lizard_version") or ""),
    }
    return ProbeOutcome(measurements=measurements, findings=tuple(findings), notes=tuple(notes),
                        details=details)
