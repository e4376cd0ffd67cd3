"""``radon`` probe (maintainability): cyclomatic complexity and maintainability index.

Runs ``radon cc -j`` and ``radon mi -j`` on an explicit list of files the probe selects itself,
from a neutral working directory and ``HOME`` so that a ``radon.cfg``/``setup.cfg``/``pyproject.toml``
in the delivered repository (or ``~/.radon.cfg``) cannot filter what is counted.

Definitions:

* a *block* is a function or a method. Classes are not blocks here: radon derives a class's
  complexity from its methods, so counting both would count each method twice. Closures are part
  of their enclosing function's complexity (radon's default).
* ``avg_complexity`` / ``max_complexity``: mean / largest cyclomatic complexity over blocks.
* ``share_rank_c_or_worse``: percentage of blocks ranked C (complexity > 10) or worse.
* ``avg_mi`` / ``min_mi``: mean / lowest maintainability index over files (unweighted), radon's
  default formula (multi-line strings counted as comments).
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from verifier.probe import (
    Finding,
    Measurement,
    MetricInfo,
    Phrase,
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
    check_argv_size,
    read_json,
    run_evidence,
    run_tool,
    scrubbed_env,
    source_files,
    tool_failure,
    tool_version,
)

CC_RANKS = ("A", "B", "C", "D", "E", "F")
MI_RANKS = ("A", "B", "C")
_SEVERITY = {"C": "low", "D": "medium", "E": "high", "F": "high"}


class RadonArgs(ProbeArgs):
    """``with:`` arguments of the radon probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    """Files or directories to measure, relative to the repository."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Repository globs left out (``tests/**``, ``migrations/**``)."""
    max_findings: int = Field(50, ge=0, le=10_000)
    """How many of the blocks ranked C or worse become findings (worst first)."""


class RadonProbe(Probe):
    """Cyclomatic complexity and maintainability index measured by radon."""

    name = "radon"
    characteristic = "maintainability"
    description = "Cyclomatic complexity and maintainability index of Python code, measured by radon."
    metrics = {
        "avg_complexity": MetricInfo("score", "mean cyclomatic complexity of functions and methods"),
        "max_complexity": MetricInfo("score", "largest cyclomatic complexity of a function or method"),
        "share_rank_c_or_worse": MetricInfo("%", "share of functions and methods ranked C or worse"),
        "avg_mi": MetricInfo("score", "mean maintainability index of files (0-100)", "higher"),
        "min_mi": MetricInfo("score", "lowest maintainability index of a file (0-100)", "higher"),
        "blocks": MetricInfo("count", "functions and methods measured", "higher"),
    }
    Args = RadonArgs

    presentation = Presentation(
        labels={
            "avg_complexity": ("平均圈复杂度", "Average cyclomatic complexity"),
            "max_complexity": ("最高圈复杂度", "Highest cyclomatic complexity"),
            "share_rank_c_or_worse": ("C 级及更差代码块占比（%）", "Blocks ranked C or worse (%)"),
            "avg_mi": ("平均可维护性指数", "Average maintainability index"),
            "min_mi": ("最低可维护性指数", "Lowest maintainability index"),
            "blocks": ("代码块数", "Blocks"),
            "cc_rank_histogram": ("圈复杂度等级", "Cyclomatic complexity rank"),
            "mi_rank_histogram": ("可维护性指数等级", "Maintainability index rank"),
            "worst_blocks": ("圈复杂度最高的代码块", "Most complex blocks"),
            "lowest_mi_files": ("可维护性指数最低的文件", "Files with the lowest maintainability index"),
            "file": ("文件", "File"),
            "line": ("行号", "Line"),
            "classname": ("类", "Class"),
            "name": ("名称", "Name"),
            "complexity": ("圈复杂度", "Complexity"),
            "rank": ("等级", "Rank"),
            "mi": ("可维护性指数", "Maintainability index"),
            "files_scanned": ("扫描文件数", "Files scanned"),
            "files_unreadable": ("无法读取的文件数", "Unreadable files"),
            "type": ("类型", "Type"),
        },
        tables={"worst_blocks": Table(("file", "line", "classname", "name", "complexity", "rank")),
                "lowest_mi_files": Table(("file", "mi"))},
        words={"type": {"function": ("函数", "function"), "method": ("方法", "method"),
                        "class": ("类", "class")}},
        phrases=(
            Phrase("radon could not analyse {file}: {reason}", "radon 无法分析 {file}：{reason}"),
            Phrase("{count} more block(s) ranked C or worse are in the evidence", "另有 {count} 个 C 级及以下的代码块，见证据文件"),
            Phrase("no functions or methods found: complexity metrics are not applicable",
                   "未发现函数或方法：圈复杂度指标不适用"),
            Phrase("no file could be given a maintainability index", "没有文件能算出可维护性指数"),
            Phrase("not analysed: {reason}", "未分析：{reason}"),
            Phrase("{type} {name} has cyclomatic complexity {complexity} (rank {rank})",
                   "{type} {name} 的圈复杂度为 {complexity}（等级 {rank}）"),
        ),
    )

    #: How radon is started (tests substitute it to simulate a missing, hanging or broken tool).
    command: ClassVar[tuple[str, ...]] = (sys.executable, "-m", "radon")

    def tool_versions(self) -> dict[str, str]:
        """radon's installed version."""
        return tool_version("radon")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run radon cc and mi on the declared paths and summarise them."""
        args: RadonArgs = ctx.args  # type: ignore[assignment]
        files = source_files(ctx.repo, args.paths, exclude=args.exclude)
        if not files:
            raise ProbeError(f"no Python files under {', '.join(args.paths)} "
                             f"(after exclude {args.exclude or 'none'}): nothing to measure")
        root = ctx.repo.resolve()
        absolute = {str(root / f): f for f in files}
        deadline = Deadline(ctx.timeout_s)
        results: dict[str, Any] = {}
        commands: list[tuple[str, ...]] = []
        evidence: list[str] = []
        for kind in ("cc", "mi"):
            argv = [*self.command, kind, "--json", "--", *absolute]
            check_argv_size(argv, what=f"radon {kind}")
            timeout = deadline.remaining(what=f"radon {kind}")
            with tempfile.TemporaryDirectory(prefix="verifier-radon-") as neutral:
                run = run_tool(argv, cwd=neutral, timeout_s=timeout, out_dir=ctx.evidence_dir,
                               name=f"radon-{kind}", env=scrubbed_env({"HOME": neutral}))
            commands.append(run.argv)
            if run.timed_out or run.returncode != 0:
                raise tool_failure(ctx, run, f"radon {kind}", timeout, evidence=evidence)
            data = read_json(run.stdout_path, what=f"radon {kind}", run=run, ctx=ctx)
            if not isinstance(data, dict):
                raise ProbeError(f"radon {kind} JSON is not an object keyed by file", tail=run.tail(),
                                 evidence=run_evidence(ctx, run))
            results[kind] = {absolute.get(k, _relative(k, root)): v for k, v in data.items()}
            evidence.extend(run_evidence(ctx, run))
        outcome = summarize(results["cc"], results["mi"], max_findings=args.max_findings)
        return ProbeOutcome(
            measurements=outcome.measurements, findings=outcome.findings, notes=outcome.notes,
            details={**outcome.details, "files_scanned": len(files)},
            evidence=tuple(evidence), commands=tuple(commands),
        )


def _relative(name: str, root: Path) -> str:
    path = Path(name)
    try:
        return path.resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return name


def _blocks(entries: list[Any], file: str) -> list[dict[str, Any]]:
    blocks = []
    for entry in entries:
        if not isinstance(entry, dict) or "complexity" not in entry:
            raise ProbeError(f"radon cc JSON for {file} has an entry without a complexity")
        if entry.get("type") in ("function", "method"):
            blocks.append({**entry, "file": file})
    return blocks


def summarize(cc: dict[str, Any], mi: dict[str, Any], *, max_findings: int = 50) -> ProbeOutcome:
    """Measurements, findings, notes and chart details from radon's cc and mi JSON, keyed by
    repository-relative file (a pure function)."""
    notes: list[str] = []
    findings: list[Finding] = []
    blocks: list[dict[str, Any]] = []
    unreadable: set[str] = set()
    for file, value in sorted(cc.items()):
        if isinstance(value, dict) and "error" in value:
            unreadable.add(file)
            continue
        if not isinstance(value, list):
            raise ProbeError(f"radon cc JSON for {file} is neither a list of blocks nor an error")
        blocks.extend(_blocks(value, file))
    mi_values: dict[str, float] = {}
    mi_ranks: Counter[str] = Counter()
    for file, value in sorted(mi.items()):
        if not isinstance(value, dict):
            raise ProbeError(f"radon mi JSON for {file} is not an object")
        if "error" in value:
            unreadable.add(file)
            continue
        if not isinstance(value.get("mi"), (int, float)):
            raise ProbeError(f"radon mi JSON for {file} has no numeric 'mi'")
        mi_values[file] = float(value["mi"])
        mi_ranks[str(value.get("rank", "?"))] += 1
    for file in sorted(unreadable):
        reason = (cc.get(file) or mi.get(file) or {}).get("error", "unreadable")
        notes.append(f"radon could not analyse {file}: {reason}")
        findings.append(Finding(message=f"not analysed: {reason}", file=file, severity="info",
                                rule="radon-error"))

    complexities = [float(b["complexity"]) for b in blocks]
    ranks = Counter(str(b.get("rank", "?")) for b in blocks)
    worse = [b for b in blocks if str(b.get("rank")) in CC_RANKS[2:]]
    worse.sort(key=lambda b: (-float(b["complexity"]), b["file"], b.get("lineno", 0)))
    for block in worse[:max_findings]:
        rank = str(block.get("rank"))
        qualified = ".".join(p for p in (block.get("classname"), block.get("name")) if p)
        findings.append(Finding(
            message=f"{block['type']} {qualified} has cyclomatic complexity "
                    f"{int(block['complexity'])} (rank {rank})",
            file=block["file"], line=block.get("lineno"), severity=_SEVERITY.get(rank, "low"),
            rule=f"cc-rank-{rank}",
            extra={"complexity": block["complexity"], "rank": rank, "name": qualified,
                   "type": block["type"], "endline": block.get("endline")},
        ))
    if len(worse) > max_findings:
        notes.append(f"{len(worse) - max_findings} more block(s) ranked C or worse are in the evidence")
    if not blocks:
        notes.append("no functions or methods found: complexity metrics are not applicable")
    if not mi_values:
        notes.append("no file could be given a maintainability index")

    def _round(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    measurements = (
        Measurement("avg_complexity",
                    _round(sum(complexities) / len(complexities)) if complexities else None, "score"),
        Measurement("max_complexity", max(complexities) if complexities else None, "score"),
        Measurement("share_rank_c_or_worse",
                    _round(100.0 * len(worse) / len(blocks)) if blocks else None, "%"),
        Measurement("avg_mi",
                    _round(sum(mi_values.values()) / len(mi_values)) if mi_values else None, "score"),
        Measurement("min_mi", _round(min(mi_values.values())) if mi_values else None, "score"),
        Measurement("blocks", float(len(blocks)), "count"),
    )
    worst = sorted(blocks, key=lambda b: (-float(b["complexity"]), b["file"], b.get("lineno", 0)))
    details = {
        "cc_rank_histogram": {r: ranks.get(r, 0) for r in CC_RANKS},
        "mi_rank_histogram": {r: mi_ranks.get(r, 0) for r in MI_RANKS},
        "worst_blocks": [
            {"file": b["file"], "line": b.get("lineno"), "name": b.get("name"),
             "classname": b.get("classname"), "complexity": b["complexity"], "rank": b.get("rank")}
            for b in worst[:10]
        ],
        "lowest_mi_files": [{"file": f, "mi": round(v, 2)}
                            for f, v in sorted(mi_values.items(), key=lambda kv: kv[1])[:10]],
        "files_unreadable": len(unreadable),
    }
    return ProbeOutcome(measurements=measurements, findings=tuple(findings), notes=tuple(notes),
                        details=details)
