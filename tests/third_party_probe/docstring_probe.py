"""``docstrings``: the share of Python functions that carry a docstring (a maintainability probe).

A child interpreter parses the selected files with ``ast`` (the delivered code is read, never
imported or run) and writes what it found, file by file, to a JSON evidence file.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import Field

from verifier.probe import (
    Bars,
    Chart,
    Finding,
    Measurement,
    MetricInfo,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Series,
    Table,
)
from verifier.probekit import (
    Deadline,
    RepoGlob,
    RepoPath,
    read_json,
    run_evidence,
    run_tool,
    source_files,
    tool_failure,
)

#: What the child runs: ``python -c SCRIPT OUT FILE...`` (repository-relative files, cwd = repository).
SCRIPT = r"""
import ast, json, sys, time
out, files, start, rows = sys.argv[1], sys.argv[2:], time.monotonic(), []
for rel in files:
    with open(rel, "rb") as handle:
        tree = ast.parse(handle.read(), filename=rel)
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    missing = [[f.name, f.lineno] for f in funcs if ast.get_docstring(f) is None]
    rows.append({"file": rel, "functions": len(funcs), "undocumented": missing,
                 "t": round(time.monotonic() - start, 6)})
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"files": rows}, handle)
"""


class DocstringArgs(ProbeArgs):
    """``with:`` of the docstrings probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    exclude: list[RepoGlob] = Field(default_factory=list)
    strictness: str = "lenient"


class DocstringProbe(Probe):
    """Share of functions with a docstring."""

    name = "docstrings"
    characteristic = "maintainability"
    description = "Share of Python functions with a docstring (ast, in a child interpreter)."
    metrics = {
        "documented_ratio": MetricInfo("%", "functions with a docstring / all functions", "higher"),
        "functions": MetricInfo("count", "functions found", "higher"),
    }
    Args = DocstringArgs
    presentation = Presentation(
        labels={
            "documented_ratio": ("文档字符串覆盖率（%）", "Docstring coverage (%)"),
            "functions": ("函数数", "Functions"),
            "per_file": ("逐文件文档情况", "Docstrings per file"),
            "file": ("源文件", "Source file"),
            "documented": ("有文档的函数", "Documented functions"),
            "state": ("文档状态", "Documentation state"),
            "by_state": ("文件文档状态", "File documentation state"),
            "complete": ("完整", "Complete"),
            "partial": ("部分", "Partial"),
            "none": ("缺失", "Missing"),
            "scan": ("扫描过程", "Scan"),
            "functions_seen": ("已扫描函数", "Functions scanned"),
            "documented_seen": ("已扫描有文档函数", "Documented functions scanned"),
            "strictness": ("判定口径", "Strictness"),
        },
        words={"state": {"complete": ("完整", "complete"), "partial": ("部分", "partial"),
                         "none": ("缺失", "missing")},
               "strictness": {"lenient": ("宽松", "lenient")}},
        tables={"per_file": Table(("file", "state", "documented", "functions"))},
        series={"scan": Series(charts=(Chart(("functions_seen", "documented_seen"),
                                             title=("扫描进度（累计函数数）", "Scan progress (functions, cumulative)")),))},
        bars={"by_state": Bars(("complete", "partial", "none"))},
    )

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Parse the files in a child interpreter and count documented functions."""
        args = ctx.args
        assert isinstance(args, DocstringArgs)
        files = source_files(ctx.repo, args.paths, exclude=args.exclude)
        if not files:
            raise ProbeError(f"no Python file under {', '.join(args.paths)}")
        deadline = Deadline(ctx.timeout_s)
        out = ctx.evidence_dir / "docstrings.json"
        run = run_tool([sys.executable, "-c", SCRIPT, str(out), *files], cwd=ctx.repo,
                       timeout_s=deadline.remaining(what="docstrings"), out_dir=ctx.evidence_dir,
                       name="docstrings")
        if run.timed_out or run.returncode != 0:
            raise tool_failure(ctx, run, "docstring scan", ctx.timeout_s)
        rows = read_json(out, what="docstring scan", run=run, ctx=ctx)["files"]
        return summarize(rows, strictness=args.strictness,
                         evidence=(ctx.rel(out), *run_evidence(ctx, run)), command=run.argv)


def summarize(rows: list[dict[str, Any]], *, strictness: str, evidence: tuple[str, ...] = (),
              command: tuple[str, ...] = ()) -> ProbeOutcome:
    """Measurements, findings and details from the child's per-file rows (a pure function)."""
    per_file, scan, findings = [], [], []
    total = documented = 0
    for row in rows:
        n, missing = row["functions"], row["undocumented"]
        total += n
        documented += n - len(missing)
        state = "complete" if not missing else ("none" if len(missing) == n else "partial")
        per_file.append({"file": row["file"], "functions": n, "documented": n - len(missing), "state": state})
        scan.append({"t": row["t"], "functions_seen": total, "documented_seen": documented})
        findings += [Finding(f"function {name} has no docstring", file=row["file"], line=line,
                             severity="low", rule="missing-docstring") for name, line in missing]
    by_state = {s: sum(f["state"] == s for f in per_file) for s in ("none", "partial", "complete")}
    return ProbeOutcome(
        measurements=(Measurement("documented_ratio", 100.0 * documented / total if total else None, "%"),
                      Measurement("functions", float(total), "count")),
        findings=tuple(findings), evidence=evidence, commands=(command,) if command else (),
        details={"per_file": per_file, "scan": scan, "by_state": by_state, "strictness": strictness})
