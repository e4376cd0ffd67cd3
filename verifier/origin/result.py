"""The result of an origin analysis (``OriginReport``): per-file origins, components, totals, the
ratio and the verdict.

``OriginReport.to_json()`` is the documented ``verifier origin --json`` output;
``OriginReport.summary()`` fits ``verifier.results.OriginSummary`` (results.json of a run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from verifier.origin.classify import FileOrigin
from verifier.origin.components import Component
from verifier.origin.model import ORIGINS, SkippedPath, SourceInfo
from verifier.results import NOT_SCANNED_LIMIT, ratio_holds

JSON_SCHEMA = "verifier/origin/1"
#: Classes whose lines form the ratio's denominator.
RATIO_CLASSES = ("self", "third_party", "generated", "unknown")


def totals_of(files: Iterable[FileOrigin]) -> dict[str, dict[str, int]]:
    """class -> {"files": n, "lines": n}; lines follow ``FileOrigin.line_split`` (matched lines of
    self files count as third-party)."""
    totals = {origin: {"files": 0, "lines": 0} for origin in ORIGINS}
    for file in files:
        totals[file.origin]["files"] += 1
        for origin, lines in file.line_split().items():
            totals[origin]["lines"] += lines
    return totals


def ratio_of(totals: Mapping[str, Mapping[str, int]]) -> float | None:
    """self ÷ (self + third_party + generated + unknown) lines; None when there are none."""
    denominator = sum(totals[c]["lines"] for c in RATIO_CLASSES)
    if denominator == 0:
        return None
    return totals["self"]["lines"] / denominator


@dataclass(frozen=True)
class ComponentTotal:
    """A component with the lines and files it holds."""

    component: Component
    files: int
    lines: int

    def to_json(self) -> dict[str, Any]:
        """name, version, license, path, lines, files, holders, reason, evidence."""
        c = self.component
        return {"name": c.name, "version": c.version, "license": c.license, "purl": c.purl, "path": c.path,
                "lines": self.lines, "files": self.files, "holders": list(c.holders),
                "reason": c.reason, "evidence": list(c.evidence)}


@dataclass(frozen=True)
class OriginReport:
    """Everything ``verifier origin`` found, and the verdict."""

    source: SourceInfo
    files: tuple[FileOrigin, ...]
    components: tuple[ComponentTotal, ...]
    threshold: float
    counting: str
    test_rule: str
    owners: tuple[str, ...]
    declared: Mapping[str, Any]
    """Globs in force: exclude, third_party, generated and where they came from."""
    adjudications: tuple[Mapping[str, Any], ...] = ()
    """Applied overrides (entry + the origin it replaced)."""
    stale_adjudications: tuple[Mapping[str, Any], ...] = ()
    skipped: tuple[SkippedPath, ...] = ()
    warnings: tuple[str, ...] = ()
    detection: Mapping[str, Any] = field(default_factory=dict)
    """Detection statistics and scope (files scanned, cache hits, scancode version …)."""
    dependencies: tuple[Mapping[str, Any], ...] = ()
    """Declared dependencies (manifests and lock files): name, version, license, direct. They are
    third-party components the product uses; they add no lines to the ratio."""
    cdn_assets: tuple[Mapping[str, Any], ...] = ()
    """Assets its HTML templates load from public CDNs (no lines either)."""
    knowledge_base: Mapping[str, Any] | None = None
    """The snippet knowledge bases matched against (files, the auto KB, whether partial)."""
    unweighed: tuple[Mapping[str, str], ...] = ()
    """Paths whose code could not be weighed (``{path, reason, origin}``; unreadable directories,
    unreadable files of unknown size): while there are any, the ratio cannot be proven."""

    @property
    def totals(self) -> dict[str, dict[str, int]]:
        """Lines and files per class."""
        return totals_of(self.files)

    @property
    def totals_without_tests(self) -> dict[str, dict[str, int]]:
        """Lines and files per class, test code left out."""
        return totals_of(f for f in self.files if not f.is_test)

    @property
    def ratio(self) -> float | None:
        """The self-developed code ratio (0..1), None when no lines are counted."""
        return ratio_of(self.totals)

    @property
    def ratio_without_tests(self) -> float | None:
        """The ratio with test code left out."""
        return ratio_of(self.totals_without_tests)

    @property
    def passed(self) -> bool | None:
        """ratio ≥ threshold; None when there is no ratio or paths that could not be weighed
        could move it across the threshold (``verifier.results.ratio_holds``)."""
        return ratio_holds(self.ratio, self.threshold, self.unweighed)

    def tool_versions(self) -> dict[str, str]:
        """Versions of the tools behind the figures (for the run's environment record)."""
        versions = {"scancode-toolkit": str(self.detection.get("scancode_version") or "")}
        versions.update({k: str(v) for k, v in self.detection.get("tools", {}).items()})
        return {k: v for k, v in versions.items() if v}

    def file(self, path: str) -> FileOrigin | None:
        """The origin of one file by path."""
        return next((f for f in self.files if f.path == path), None)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` output."""
        src = self.source
        return {
            "schema": JSON_SCHEMA,
            "ratio": _round(self.ratio),
            "ratio_without_tests": _round(self.ratio_without_tests),
            "threshold": self.threshold,
            "passed": self.passed,
            "counting": self.counting,
            "test_rule": self.test_rule,
            "ratio_rule": "self lines ÷ (self + third_party + generated + unknown lines); "
                          "excluded files do not count",
            "owners": list(self.owners),
            "declared": dict(self.declared),
            "totals": self.totals,
            "totals_without_tests": self.totals_without_tests,
            "components": [c.to_json() for c in self.components],
            "dependencies": [dict(d) for d in self.dependencies],
            "cdn_assets": [dict(a) for a in self.cdn_assets],
            "knowledge_base": dict(self.knowledge_base) if self.knowledge_base else None,
            "adjudications": [dict(a) for a in self.adjudications],
            "stale_adjudications": [dict(a) for a in self.stale_adjudications],
            "skipped": [asdict(s) for s in self.skipped],
            "unweighed": [dict(u) for u in self.unweighed],
            "warnings": list(self.warnings),
            "source": {"given": src.given, "kind": src.kind, "commit": src.commit,
                       "dirty": src.dirty, "archive_sha256": src.archive_sha256},
            "detection": dict(self.detection),
            "files": [_file_json(f) for f in self.files],
        }

    def summary(self, *, files_path: str | None = None, error: str | None = None) -> dict[str, Any]:
        """The run-level summary, fitting ``verifier.results.OriginSummary``."""
        not_scanned = list(self.skipped)
        shown = not_scanned[:NOT_SCANNED_LIMIT]
        return {
            "ratio": _round(self.ratio),
            "ratio_without_tests": _round(self.ratio_without_tests),
            "threshold": self.threshold,
            "passed": self.passed,
            "counting": self.counting,
            "totals": self.totals,
            "components": [{k: v for k, v in c.to_json().items() if k != "evidence"}
                           for c in self.components],
            "dependencies": [dict(d) for d in self.dependencies],
            "cdn_assets": [dict(a) for a in self.cdn_assets],
            "kb_partial": bool(self.knowledge_base and self.knowledge_base.get("partial")),
            "adjudications": [dict(a) for a in self.adjudications],
            "files_path": files_path,
            "error": error,
            "warnings": list(self.warnings),
            "not_scanned": [{"path": item.path, "reason": item.reason} for item in shown],
            "not_scanned_total": len(not_scanned),
            "unweighed": [dict(u) for u in self.unweighed[:NOT_SCANNED_LIMIT]],
            "unweighed_total": len(self.unweighed),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _file_json(file: FileOrigin) -> dict[str, Any]:
    data: dict[str, Any] = {
        "path": file.path, "language": file.language, "lines": file.lines, "origin": file.origin,
        "rule": file.rule, "reason": file.reason, "evidence": list(file.evidence),
        "is_test": file.is_test, "sha256": file.sha256, "sha1": file.sha1, "kind": file.kind,
        "component": file.component, "matched_lines": file.matched_lines,
    }
    if file.matches:
        data["matches"] = [asdict(m) for m in file.matches]
    if file.problem:
        data["problem"] = file.problem
    if file.licenses is not None:
        data["licenses"] = list(file.licenses)
    if file.copyrights is not None:
        data["copyrights"] = list(file.copyrights)
    if file.adjudication is not None:
        data["adjudicated"] = True
    return data


def component_totals(components: Sequence[Component], files: Sequence[FileOrigin]
                     ) -> tuple[ComponentTotal, ...]:
    """Components with their counted lines and files, largest first."""
    lines: dict[str, int] = {c.path: 0 for c in components}
    count: dict[str, int] = {c.path: 0 for c in components}
    for file in files:
        if file.component in lines:
            count[file.component] += 1
            lines[file.component] += file.lines
    return tuple(sorted((ComponentTotal(c, count[c.path], lines[c.path]) for c in components),
                        key=lambda t: (-t.lines, t.component.path)))
