"""``bandit`` probe (security): Python security issues by severity, with bandit's JSON as evidence.

bandit runs on an explicit list of files the probe selects itself (``paths`` minus ``exclude``,
never through symlinks, never into virtual environments), so a ``.bandit`` file in the delivered
repository cannot change what is scanned. Every issue is kept in the evidence; the counts apply the
declared confidence floor. bandit's exit status 1 means "issues found", not a failure.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

from pydantic import Field, field_validator

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
    finding_fingerprint,
)
from verifier.probekit import (
    Deadline,
    RepoGlob,
    RepoPath,
    check_argv_size,
    read_json,
    recount_severities,
    run_evidence,
    run_tool,
    source_files,
    tool_failure,
    tool_version,
)

Level = Literal["low", "medium", "high"]
_RANK = {"undefined": 0, "low": 1, "medium": 2, "high": 3}
#: Bandit's exit statuses that mean "it ran": 0 clean, 1 issues found.
_OK_EXIT = (0, 1)


class BanditArgs(ProbeArgs):
    """``with:`` arguments of the bandit probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    """Files or directories to scan, relative to the repository."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Repository globs left out (``tests/**``, ``vendor/**``)."""
    confidence: Level = "medium"
    """Issues below this confidence are kept in the evidence but not counted."""
    severity: Level = "low"
    """Severity floor for ``total`` and ``issues_per_kloc`` (``high``/``medium``/``low`` always
    count their own severity)."""
    skip: list[str] = Field(default_factory=list)
    """bandit test ids not run (``B101`` …)."""
    ignore_nosec: bool = False
    """Scan lines marked ``# nosec`` too (the number of such lines is always reported)."""

    @field_validator("skip")
    @classmethod
    def _test_ids(cls, value: list[str]) -> list[str]:
        for test_id in value:
            if not (len(test_id) == 4 and test_id[0] == "B" and test_id[1:].isdigit()):
                raise ValueError(f"{test_id!r} is not a bandit test id such as 'B101'")
        return value


class BanditProbe(Probe):
    """Security issues found by bandit, counted by severity at or above a confidence floor."""

    name = "bandit"
    characteristic = "security"
    description = "Python security issues found by bandit (counts by severity, issues per kLOC)."
    metrics = {
        "high": MetricInfo("count", "high-severity issues at or above the confidence floor"),
        "medium": MetricInfo("count", "medium-severity issues at or above the confidence floor"),
        "low": MetricInfo("count", "low-severity issues at or above the confidence floor"),
        "total": MetricInfo("count", "issues at or above both the severity and confidence floors"),
        "issues_per_kloc": MetricInfo("per_kloc", "total issues per 1000 lines (bandit's loc count)"),
        "loc": MetricInfo("count", "lines of code scanned (bandit's count)", "higher"),
    }
    Args = BanditArgs

    presentation = Presentation(
        labels={
            "high": ("高危问题数", "High-severity findings"),
            "medium": ("中危问题数", "Medium-severity findings"),
            "low": ("低危问题数", "Low-severity findings"),
            "total": ("合计", "Total"),
            "issues_per_kloc": ("每千行问题数", "Findings per kLOC"),
            "loc": ("代码行数", "Lines of code"),
            "by_severity": ("问题严重程度", "Severity"),
            "by_test": ("问题所属检查项", "Bandit check"),
            "confidence_floor": ("置信度下限", "Confidence floor"),
            "severity_floor": ("严重程度下限", "Severity floor"),
            "nosec": ("nosec 标注数", "nosec markers"),
            "errors": ("错误", "Errors"),
            "files_scanned": ("扫描文件数", "Files scanned"),
        },
        severity=frozenset({"by_severity", "confidence_floor", "severity_floor", "confidence", "severity"}),
        phrases=(
            Phrase("bandit could not scan {file}: {reason}", "bandit 无法扫描 {file}：{reason}"),
            Phrase("{count} issue(s) below the {confidence} confidence floor are in the evidence but not counted",
                   "{count} 个问题的置信度低于下限（{confidence}），保留在证据中，未计入"),
            Phrase("{count} line(s) marked '# nosec' were not reported by bandit",
                   "{count} 行标有 '# nosec'，bandit 未报告这些行"),
            Phrase("bandit counted no lines of code: issues_per_kloc is not applicable",
                   "bandit 未统计到代码行：issues_per_kloc 不适用"),
            Phrase("not scanned: {reason}", "未扫描：{reason}"),
            Phrase("no Python files under {paths} (after exclude {exclude}): nothing to scan",
                   "{paths} 下（排除 {exclude} 之后）没有 Python 文件：无可扫描"),
            Phrase("bandit JSON has no 'results' list", "bandit 的 JSON 输出没有 'results' 列表"),
            Phrase("bandit JSON has a result that is not an object", "bandit 的 JSON 输出中有一项结果不是对象"),
        ),
    )

    waivable = True

    @classmethod
    def recount(cls, measurements: Mapping[str, float | None],
                waived: Sequence[Finding]) -> dict[str, float | None]:
        """The counts without the waived issues: each leaves its severity's count, and ``total``
        when it counted there (``extra["counted"]``); ``issues_per_kloc`` follows ``total``. An
        issue bandit could not scan (``bandit-error``) counts nowhere."""
        out = recount_severities(measurements, waived, tool_error="bandit-error")
        loc = out.get("loc")
        if out.get("total") is not None and isinstance(loc, (int, float)) and loc > 0:
            out["issues_per_kloc"] = round(float(out["total"] or 0) / (loc / 1000.0), 4)
        return out

    #: How bandit is started (tests substitute it to simulate a missing, hanging or broken tool).
    command: ClassVar[tuple[str, ...]] = (sys.executable, "-m", "bandit")

    def tool_versions(self) -> dict[str, str]:
        """bandit's installed version."""
        return tool_version("bandit")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Scan the declared paths with bandit and count its issues."""
        args: BanditArgs = ctx.args  # type: ignore[assignment]
        files = source_files(ctx.repo, args.paths, exclude=args.exclude, suffixes=(".py", ".pyw"))
        if not files:
            raise ProbeError(f"no Python files under {', '.join(args.paths)} "
                             f"(after exclude {args.exclude or 'none'}): nothing to scan")
        report = ctx.evidence_dir / "bandit.json"
        argv = [*self.command, "--format", "json", "--output", str(report), "--quiet",
                "--severity-level", "all", "--confidence-level", "all"]
        if args.skip:
            argv += ["--skip", ",".join(args.skip)]
        if args.ignore_nosec:
            argv.append("--ignore-nosec")
        argv += ["--", *files]
        check_argv_size(argv, what="bandit")
        timeout = Deadline(ctx.timeout_s).remaining(what="bandit")
        report.unlink(missing_ok=True)
        run = run_tool(argv, cwd=ctx.repo, timeout_s=timeout, out_dir=ctx.evidence_dir, name="bandit")
        if run.timed_out or run.returncode not in _OK_EXIT:
            raise tool_failure(ctx, run, "bandit", timeout,
                               evidence=[ctx.rel(report)] if report.exists() else [])
        data = read_json(report, what="bandit", run=run, ctx=ctx)
        evidence = (ctx.rel(report), *run_evidence(ctx, run))
        outcome = summarize(data, confidence=args.confidence, severity=args.severity)
        return ProbeOutcome(
            measurements=outcome.measurements, findings=outcome.findings, notes=outcome.notes,
            details={**outcome.details, "files_scanned": len(files)},
            evidence=evidence, commands=(run.argv,),
        )


def _level(value: object) -> int:
    return _RANK.get(str(value or "undefined").lower(), 0)


def _repo_path(filename: str) -> str:
    return posixpath.normpath(str(filename).replace("\\", "/")).lstrip("/") if filename else ""


_CODE_LINE = re.compile(r"^(\d+)[ \t]?(.*)$")


def flagged_text(code: object, line_range: object) -> str:
    """The text of the flagged lines in bandit's ``code`` excerpt (``"41 x = 1\n42 …"``, the lines
    around the issue with their numbers), without the numbers: what a finding's fingerprint hashes,
    so that it survives code moving up or down. Empty when the excerpt has none of those lines."""
    if not isinstance(code, str) or not isinstance(line_range, list) or not line_range:
        return ""
    try:
        first, last = int(line_range[0]), int(line_range[-1])
    except (TypeError, ValueError):
        return ""
    lines = []
    for raw in code.splitlines():
        match = _CODE_LINE.match(raw)
        if match and first <= int(match.group(1)) <= last:
            lines.append(match.group(2).strip())
    return "\n".join(lines)


def summarize(data: object, *, confidence: str, severity: str) -> ProbeOutcome:
    """Measurements, findings and notes from bandit's JSON report (a pure function)."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ProbeError("bandit JSON has no 'results' list")
    conf_floor, sev_floor = _RANK[confidence], _RANK[severity]
    totals = (data.get("metrics") or {}).get("_totals") or {}
    loc = totals.get("loc")
    counts: Counter[str] = Counter()
    findings: list[Finding] = []
    below_confidence = 0
    for issue in data["results"]:
        if not isinstance(issue, dict):
            raise ProbeError("bandit JSON has a result that is not an object")
        sev = str(issue.get("issue_severity", "")).lower()
        if _level(issue.get("issue_confidence")) < conf_floor:
            below_confidence += 1
            continue
        counts[sev] += 1
        counted = _level(sev) >= sev_floor
        if counted:
            counts["_total"] += 1
        line_range = issue.get("line_range") or [issue.get("line_number")]
        cwe = issue.get("issue_cwe") or {}
        message = " ".join(str(issue.get("issue_text", "")).split())
        file = _repo_path(issue.get("filename", "")) or None
        findings.append(Finding(
            message=message,
            file=file,
            fingerprint=finding_fingerprint("bandit", issue.get("test_id"), file,
                                            flagged_text(issue.get("code"), line_range) or message),
            line=issue.get("line_number"),
            severity=sev or None,
            rule=issue.get("test_id"),
            extra={
                "test_name": issue.get("test_name"),
                "confidence": str(issue.get("issue_confidence", "")).lower(),
                "line_range": [line_range[0], line_range[-1]] if line_range else None,
                "col_offset": issue.get("col_offset"),
                "cwe": cwe.get("id"),
                "cwe_link": cwe.get("link"),
                "code": issue.get("code"),
                "more_info": issue.get("more_info"),
                "counted": counted,
            },
        ))
    findings.sort(key=lambda f: (-_level(f.severity), f.file or "", f.line or 0, f.rule or ""))
    notes: list[str] = []
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            name = _repo_path(error.get("filename", ""))
            reason = error.get("reason", "unknown reason")
            notes.append(f"bandit could not scan {name}: {reason}")
            findings.append(Finding(message=f"not scanned: {reason}", file=name or None,
                                    severity="info", rule="bandit-error"))
    if below_confidence:
        notes.append(f"{below_confidence} issue(s) below the {confidence} confidence floor are in the "
                     "evidence but not counted")
    nosec = totals.get("nosec") or 0
    if nosec:
        notes.append(f"{nosec} line(s) marked '# nosec' were not reported by bandit")
    total = counts["_total"]
    per_kloc = (total / (loc / 1000.0)) if isinstance(loc, (int, float)) and loc > 0 else None
    if per_kloc is None:
        notes.append("bandit counted no lines of code: issues_per_kloc is not applicable")
    measurements = (
        Measurement("high", float(counts["high"]), "count"),
        Measurement("medium", float(counts["medium"]), "count"),
        Measurement("low", float(counts["low"]), "count"),
        Measurement("total", float(total), "count"),
        Measurement("issues_per_kloc", round(per_kloc, 4) if per_kloc is not None else None,
                    "per_kloc"),
        Measurement("loc", float(loc) if isinstance(loc, (int, float)) else None, "count"),
    )
    by_test = Counter(f.rule for f in findings if f.rule != "bandit-error")
    details = {
        "by_severity": {k: counts[k] for k in ("high", "medium", "low")},
        "by_test": dict(sorted(by_test.items())),
        "confidence_floor": confidence,
        "severity_floor": severity,
        "nosec": nosec,
        "errors": len(data.get("errors") or []),
    }
    return ProbeOutcome(measurements=measurements, findings=tuple(findings), notes=tuple(notes),
                        details=details)
