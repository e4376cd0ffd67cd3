"""Origin analysis: inventory of a delivered tree, effective lines per file, classification
(self / third_party / generated / excluded / unknown) with evidence, and the self-developed ratio.

Stages: ``verifier.source`` (prepare the tree) -> ``inventory`` (files, lines) -> ``detect``
(scancode notices, manifests, generated hints; cached) -> ``components`` -> ``classify`` ->
optional line-level matches (snippet knowledge base) -> ``adjudication`` -> ``result`` (``OriginReport``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pygments
import pygount

from verifier.cache import ResultCache, default_cache_dir
from verifier.kb.deps import cdn_assets, declared_dependencies
from verifier.origin.adjudication import Adjudication, apply_adjudications, load_adjudications
from verifier.origin.classify import (
    Declared,
    FileOrigin,
    LineMatch,
    classify,
    classify_file,
    needs_detection,
)
from verifier.origin.components import Component, find_components, owner_licenses
from verifier.origin.detect import (
    DEFAULT_TIMEOUT_S,
    DETECTOR_VERSION,
    HEAD_BYTES,
    HEAD_LINES,
    Detector,
    is_legal_file,
    is_manifest,
    scancode_version,
)
from verifier.origin.inventory import IGNORED_REASON, VCS_REASON, build_inventory
from verifier.origin.model import Inventory, InventoryEntry, SourceInfo
from verifier.origin.owners import OwnerMatcher
from verifier.origin.result import OriginReport, component_totals
from verifier.source import open_source

if TYPE_CHECKING:
    from verifier.spec import Spec

__all__ = ["analyze", "origin_options_from_spec", "OriginReport", "FileOrigin", "LineMatch", "LineMatcher", "Declared",
           "DEFAULT_MIN_RATIO", "NO_OWNERS_WARNING", "detection_cache"]

DEFAULT_MIN_RATIO = 0.60
CACHE_NAMESPACE = "origin-detect"
NO_OWNERS_WARNING = ("NO OWNERS DECLARED: every copyright holder is treated as foreign, so files "
                     "under your own copyright notice count as third-party. Declare project.owners "
                     "in the spec or pass --owner NAME.")

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages ``inventory`` and ``detect``."""


class LineMatcher(Protocol):
    """Finds runs of lines of self-developed files in known third-party code (issue 6's KB)."""

    def match_lines(self, root: Path, files: Sequence[FileOrigin]
                    ) -> Mapping[str, Sequence[LineMatch]]:
        """Matches by file path, for the given (self, counted) files."""


def detection_cache(cache_dir: Path | None) -> ResultCache:
    """The detection result cache in ``cache_dir`` (None: a cache that never hits)."""
    return ResultCache(cache_dir, CACHE_NAMESPACE,
                       f"scancode {scancode_version()}; detector {DETECTOR_VERSION}; "
                       f"head {HEAD_LINES}/{HEAD_BYTES}")


def _tool_versions() -> dict[str, str]:
    return {"pygount": pygount.__version__, "pygments": pygments.__version__}


def origin_options_from_spec(spec: Spec, repo: Path | str) -> dict[str, Any]:
    """``analyze`` keyword arguments from a loaded spec: owners, globs, adjudications, threshold.
    The product's virtualenv, when ``runtime.venv`` puts it in the repository, is excluded like any
    declared exclusion (``runtime.setup`` makes it: an installed runtime, not delivered code)."""
    adjudications = spec.origin.adjudications
    venv = spec.runtime.venv if spec.runtime is not None else None
    runtime = [venv] if venv is not None and not venv.startswith(("/", "{")) and venv != "." else []
    return {"owners": list(spec.project.owners), "exclude": [*spec.origin.exclude, *runtime],
            "third_party": list(spec.origin.third_party),
            "generated": list(spec.origin.generated), "declared_source": "spec",
            "adjudications": Path(repo) / adjudications if adjudications else None,
            "min_ratio": spec.origin.min_ratio}


def analyze(source_or_path: SourceInfo | str | os.PathLike[str], *, owners: Iterable[str] = (),
            exclude: Iterable[str] = (), third_party: Iterable[str] = (),
            generated: Iterable[str] = (), declared_source: str = "spec",
            adjudications: Path | str | Sequence[Adjudication] | None = None,
            min_ratio: float = DEFAULT_MIN_RATIO, cache_dir: Path | None = None,
            no_cache: bool = False, jobs: int | None = None, progress: Progress | None = None,
            kb: LineMatcher | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
            include_ignored: bool = False) -> OriginReport:
    """Classify every file of a delivered tree and compute the self-developed code ratio.

    ``cache_dir`` defaults to ``default_cache_dir()``; ``no_cache`` disables caching.
    ``adjudications`` is a file path or loaded entries. In a git working tree, files git ignores
    are not scanned unless ``include_ignored`` (a given ``SourceInfo`` decided that already).
    Raises ``InputError`` for unusable input, ``ToolError`` when scancode fails wholesale.
    """
    cache_dir = None if no_cache else Path(cache_dir or default_cache_dir())
    if isinstance(adjudications, (str, os.PathLike)):
        adjudications = load_adjudications(adjudications)
    with contextlib.ExitStack() as stack:
        source = (source_or_path if isinstance(source_or_path, SourceInfo)
                  else stack.enter_context(open_source(source_or_path,
                                                       include_ignored=include_ignored)))
        inventory = build_inventory(
            source, cache=cache_dir, jobs=jobs, timeout_s=timeout_s,
            progress=(lambda done, total: progress("inventory", done, total)) if progress else None)
        matcher = OwnerMatcher(owners)
        declared = Declared(tuple(exclude), tuple(third_party), tuple(generated), declared_source)
        cache = stack.enter_context(detection_cache(cache_dir))
        detector = stack.enter_context(Detector(source.root, cache=cache, jobs=jobs,
                                                timeout_s=timeout_s, progress=progress))
        entries = inventory.entries
        markers = [e for e in entries if is_legal_file(e.path) or is_manifest(e.path)]
        detections = detector.detect(markers)
        own = owner_licenses(entries, detections, matcher)
        components = find_components(entries, detections, matcher, own)
        rest = [e for e in entries if e.path not in detections
                and needs_detection(e, declared, components)]
        detections.update(detector.detect(rest))
        files = classify(entries, detections, declared=declared, components=components,
                         matcher=matcher, own_licenses=own)
        kb_info: dict[str, Any] | None = None
        kb_notes: list[str] = []
        if kb is not None:
            candidates = [f for f in files if f.counted and f.origin == "self"]
            found = kb.match_lines(source.root, candidates)
            files = tuple(f.with_matches(found[f.path]) if found.get(f.path) else f for f in files)
            kb_info = kb.describe() if hasattr(kb, "describe") else None
            kb_notes = kb.notes() if hasattr(kb, "notes") else []
        dependencies, cdn = _dependencies(source.root)
        applied: list = []
        stale: list = []
        if adjudications:
            files, applied, stale = apply_adjudications(files, adjudications)
        stats = detector.stats
        unweighed = _unweighed(inventory, files, declared, components)

    warnings = list(inventory.warnings) + kb_notes
    if not matcher.owners:
        warnings.insert(0, NO_OWNERS_WARNING)
    unknown = [f for f in files if f.origin == "unknown"]
    if unknown:
        warnings.append(f"{len(unknown)} file(s) ({sum(f.lines for f in unknown)} lines) are "
                        "unknown (detection did not finish or the file could not be read); they "
                        "are not counted as self-developed: " + ", ".join(f.path for f in unknown[:5])
                        + (" …" if len(unknown) > 5 else ""))
    if unweighed:
        warnings.append(f"{len(unweighed)} path(s) could not be read and have no size to weigh; "
                        "the code they may hold is not in the ratio, which therefore cannot be "
                        "proven (make them readable and scan again): "
                        + ", ".join(item["path"] for item in unweighed[:5])
                        + (" …" if len(unweighed) > 5 else ""))
    for item in stale:
        target = item.adjudication.path or item.adjudication.sha256
        warnings.append(f"stale adjudication for {target}: {item.reason}; not applied")
    ignored = [s for s in inventory.skipped if s.reason == IGNORED_REASON]
    if ignored:
        warnings.append(f"{len(ignored)} path(s) ignored by git not scanned (e.g. "
                        f"{', '.join(s.path for s in ignored[:3])}); see 'skipped', "
                        "--include-ignored scans them")
    vcs = [s for s in inventory.skipped if s.reason.startswith(VCS_REASON)]
    if vcs:
        warnings.append(f"{len(vcs)} version-control metadata path(s) not scanned ("
                        f"{', '.join(s.path for s in vcs[:3])}{' …' if len(vcs) > 3 else ''}); "
                        "see 'skipped'")
    others = [s for s in inventory.skipped
              if s.reason != IGNORED_REASON and not s.reason.startswith(VCS_REASON)]
    if others:
        warnings.append(f"{len(others)} path(s) not inventoried (links, special files, "
                        "unreadable); see 'skipped'")
    detection = {
        "scope": stats.scope, "scancode_version": stats.scancode_version,
        "files_considered": stats.requested, "cache_hits": stats.cache_hits,
        "notice_cache_hits": stats.notice_cache_hits,
        "prefiltered": stats.prefiltered, "scancode_files": stats.scancode_files,
        "license_scans": stats.license_scans, "copyright_scans": stats.copyright_scans,
        "package_scans": stats.package_scans, "timeouts": stats.timeouts, "errors": stats.errors,
        "index_loaded": stats.index_loaded, "workers": stats.workers,
        "timeout_s": timeout_s, "seconds": round(stats.seconds, 3),
        "cache": str(cache_dir) if cache_dir is not None else None,
        "tools": _tool_versions(),
    }
    return OriginReport(
        source=source, files=tuple(files), components=component_totals(components, files),
        threshold=min_ratio, counting=inventory.counting, test_rule=inventory.test_rule,
        owners=matcher.owners,
        declared={"exclude": list(declared.exclude), "third_party": list(declared.third_party),
                  "generated": list(declared.generated), "from": declared_source},
        adjudications=tuple(applied), stale_adjudications=tuple(s.to_json() for s in stale),
        skipped=inventory.skipped, warnings=tuple(warnings), detection=detection,
        dependencies=dependencies, cdn_assets=cdn, knowledge_base=kb_info, unweighed=unweighed)


def _unweighed(inventory: Inventory, files: Sequence[FileOrigin], declared: Declared,
               components: Sequence[Component]) -> tuple[dict[str, str], ...]:
    """The paths whose code could not be weighed, ``{path, reason, origin}``: directories and
    entries the walk could not see into, and unreadable files of unknown size. ``origin`` is what
    their code would be: ``third_party`` or ``generated`` when a declared glob or a component
    covers the path (it could only lower the ratio), else ``unknown`` (it could move it either
    way). Paths a declared ``exclude`` covers do not count whatever they hold and are left out.
    Those that may hold self-developed code come first, so a shortened list still shows them."""
    out: list[dict[str, str]] = []
    for item in inventory.unseen:
        probe = InventoryEntry(path=item.path, size=0, sha256="", kind="source", language=None,
                               lines=0, is_test=False, problem=item.reason)
        origin = classify_file(probe, None, declared=declared, components=components,
                               matcher=OwnerMatcher(()), own_licenses=frozenset()).origin
        out.append({"path": item.path, "reason": item.reason, "origin": origin})
    hidden = {entry.path for entry in inventory.entries if entry.unweighed}
    out += [{"path": f.path, "reason": f.problem or "", "origin": f.origin}
            for f in files if f.path in hidden]
    out = [item for item in out if item["origin"] != "excluded"]
    return tuple(sorted(out, key=lambda item: (item["origin"] != "unknown", item["path"])))


def _dependencies(root: Path) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """The delivery's declared dependencies and CDN assets (``verifier.kb.deps``), as JSON."""
    found, _ = declared_dependencies(root)
    return (tuple(d.to_json() for d in found), tuple(a.to_json() for a in cdn_assets(root)))
