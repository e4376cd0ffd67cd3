"""Classification: the origin of every inventoried file, with a reason and the evidence behind it.

Counted (source) files are classified by the first rule that applies (``RULES``):

1. ``declared``  the spec's or the command line's exclude / third_party / generated globs;
2. ``component`` inside a vendored component (see ``verifier.origin.components``) -> third_party;
3. ``notice``    a copyright holder that is not an owner -> third_party ("modified third-party"
   when an owner appears beside it); with no holder named, a license notice that is not the
   owner's own license -> third_party; an owner's notice -> self;
4. ``generated`` scancode's generated-code hints, DO NOT EDIT / @generated markers, protoc output
   (``*_pb2.py``, ``*.pb.go`` …) and lock files -> generated;
5. ``minified``  ``*.min.js``-style names, or very long lines (``MINIFIED_MEAN_LINE`` mean, or a
   ``MINIFIED_MAX_LINE`` line in a web asset) -> third_party; the inventory recognises most of
   them before lexing (``verifier.origin.minified``, ``InventoryEntry.minified``);
6. ``undetected`` the inventory could not read or count it, or detection timed out or failed ->
   unknown (never self);
7. ``default``   none of the above -> self.

Files that are not source code (docs, data, images, binaries) have 0 lines and never move the
ratio; rules 1, 2 and the name-based part of 4 (lock files, ``*_pb2.py``) still name their origin
(``uv.lock`` is generated, a vendored component's LICENSE third-party), any other is ``excluded``
(rule ``not-counted``). Everything here is a pure function of its inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from verifier.globs import glob_covers
from verifier.origin.components import Component, component_of, is_weak_license, license_parts
from verifier.origin.detect import FileDetection
from verifier.origin.minified import MINIFIED_MAX_LINE, MINIFIED_MEAN_LINE, is_web_language, minified_name
from verifier.origin.model import InventoryEntry
from verifier.origin.owners import OwnerMatcher

RULES = ("declared", "component", "notice", "generated", "minified", "undetected", "default")

_GENERATED_NAME = re.compile(
    r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.go|\.pb\.cc|\.pb\.h|\.pb\.swift|_pb\.js|_grpc_pb\.js|"
    r"\.pb\.dart|_pb\.rb|\.g\.dart|\.designer\.cs|_generated\.\w+|\.generated\.\w+)$", re.IGNORECASE)
_LOCK_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
    "pipfile.lock", "cargo.lock", "composer.lock", "gemfile.lock", "go.sum", "uv.lock", "pdm.lock",
    "podfile.lock", "pubspec.lock", "mix.lock", "flake.lock",
})


@dataclass(frozen=True)
class Declared:
    """Globs the owner declared (spec ``origin.*`` or command-line options)."""

    exclude: tuple[str, ...] = ()
    third_party: tuple[str, ...] = ()
    generated: tuple[str, ...] = ()
    source: str = "spec"
    """Where the globs came from, for the reason text (``spec`` / ``option``)."""


@dataclass(frozen=True)
class LineMatch:
    """A run of lines of a file matching known third-party code (snippet knowledge base)."""

    start_line: int
    end_line: int
    lines: int
    """Effective lines of the run, on the inventory's counting rule (see ``verifier.kb.origin_matcher``)."""
    component: str
    version: str | None = None
    license: str | None = None
    matched_file: str | None = None
    matched_start: int | None = None
    matched_end: int | None = None
    purl: str | None = None
    """Package URL of the matched component, when the knowledge base knows it."""
    start_byte: int | None = None
    """Byte offset of the run's first byte in the file (1-based, as SPDX snippets count)."""
    end_byte: int | None = None
    """Byte offset of the run's last byte, its last line break left out (1-based, inclusive)."""


@dataclass(frozen=True)
class FileOrigin:
    """The origin of one inventoried file."""

    path: str
    language: str | None
    lines: int
    """Effective lines (0 for files that are not counted)."""
    is_test: bool
    sha256: str
    kind: str
    origin: str
    """One of ``ORIGINS``."""
    rule: str
    """Which rule decided (``RULES``, ``not-counted`` or ``adjudicated``)."""
    reason: str
    evidence: tuple[str, ...] = ()
    component: str | None = None
    """Path of the component holding the file."""
    matched_lines: int = 0
    """Lines of a ``self`` file found in third-party code (line-level matches); counted third-party."""
    matches: tuple[LineMatch, ...] = ()
    adjudication: Mapping[str, Any] | None = None
    """The manual adjudication that decided the origin, if any."""
    problem: str | None = None
    sha1: str = ""
    """SHA-1 of the content (SPDX requires it of every file)."""
    licenses: tuple[str, ...] | None = None
    """SPDX expressions of the license notices detected in the file; None when detection did not
    look at it (declared, component, not counted or failed), empty when it found none."""
    copyrights: tuple[str, ...] | None = None
    """Copyright statements detected in the file; None / empty as for ``licenses``."""

    @property
    def counted(self) -> bool:
        """Whether the file's lines enter the ratio at all."""
        return self.kind == "source"

    def line_split(self) -> dict[str, int]:
        """This file's lines by origin class, as they enter the ratio (matched lines of a self
        file count as third-party)."""
        if self.origin == "self" and self.matched_lines:
            matched = min(self.matched_lines, self.lines)
            return {"self": self.lines - matched, "third_party": matched}
        return {self.origin: self.lines}

    def with_matches(self, matches: Sequence[LineMatch]) -> FileOrigin:
        """A copy whose ``matches`` move lines of a self file to third-party (at most its
        ``lines``)."""
        return replace(self, matches=tuple(matches),
                       matched_lines=min(self.lines, sum(m.lines for m in matches)))


def glob_match(path: str, pattern: str) -> bool:
    """Whether repository-relative ``path`` matches ``pattern`` or lies below a matched directory
    (``verifier.globs``: linear time whatever the pattern)."""
    return glob_covers(path, pattern)


def _declared(entry: InventoryEntry, declared: Declared) -> tuple[str, str] | None:
    for origin, patterns in (("excluded", declared.exclude), ("third_party", declared.third_party),
                             ("generated", declared.generated)):
        for pattern in patterns:
            if glob_match(entry.path, pattern):
                key = {"excluded": "exclude"}.get(origin, origin)
                return origin, f"declared {origin.replace('_', '-')} ({declared.source} " \
                               f"{key}: {pattern})"
    return None


def _notice(det: FileDetection, matcher: OwnerMatcher,
            own_licenses: frozenset[str]) -> tuple[str, str, list[str]] | None:
    """The notice rule: (origin, reason, evidence) or None when the head names nobody."""
    evidence: list[str] = []
    owners: list[str] = []
    foreign: list[str] = []
    for hit in det.holders:
        result = matcher.match(hit.text)
        tag = "" if hit.source == "scancode" else f" ({hit.source})"
        if hit.spill:
            tag += f" (scancode's {hit.spill!r} from line {hit.end_line} left out)"
        if hit.reading:
            tag += f" (scancode read it as {hit.reading!r})"
        if result.foreign:
            foreign.append(hit.text)
            evidence.append(f"line {hit.start_line}: holder {hit.text!r} is not an owner{tag}")
        else:
            evidence.append(f"line {hit.start_line}: holder {hit.text!r} is an owner{tag}")
        owners.extend(result.owners)
    licenses = [h for h in det.licenses if not is_weak_license(h.expression)]
    for lic in det.licenses:
        weak = " (too vague to decide)" if is_weak_license(lic.expression) else ""
        said = " (Chinese notice)" if lic.rule.startswith("cjk-license-notice") else ""
        evidence.append(f"lines {lic.start_line}-{lic.end_line}: license {lic.spdx}{said}{weak}")
    if foreign and owners:
        return ("third_party", f"modified third-party: owner {owners[0]} beside foreign holder "
                f"{foreign[0]}", evidence)
    if foreign:
        return "third_party", f"copyright notice of {foreign[0]}, not an owner", evidence
    if owners:
        return "self", f"owner's copyright notice ({owners[0]})", evidence
    foreign_licenses = sorted({p for h in licenses for p in license_parts(h.spdx)} - own_licenses)
    if foreign_licenses:
        return ("third_party", f"license notice {' AND '.join(foreign_licenses)} with no owner "
                "named, not the owner's own license", evidence)
    if licenses:
        return ("self", f"license notice {licenses[0].spdx} is the owner's own license (root "
                "license file or manifest)", evidence)
    return None


def _generated(entry: InventoryEntry, det: FileDetection | None) -> str | None:
    name = entry.path.rsplit("/", 1)[-1]
    if name.lower() in _LOCK_FILES:
        return f"lock file {name}"
    if _GENERATED_NAME.search(name):
        return f"generated-code file name {name}"
    if det is not None and det.generated is not None:
        return f"line {det.generated.start_line}: generated-code marker {det.generated.text!r}"
    return None


def _minified(entry: InventoryEntry, det: FileDetection | None) -> str | None:
    if entry.minified:  # recognised by the inventory before lexing: not counted by the lexer
        return f"{entry.minified} (not lexed; weighs its {entry.lines} non-blank lines)"
    name = entry.path.rsplit("/", 1)[-1]
    if minified_name(name):
        return f"minified/bundled asset name {name}"
    mean = det.mean_line_length if det is not None else 0.0
    if mean >= MINIFIED_MEAN_LINE:
        return f"mean line length {mean:.0f} ≥ {MINIFIED_MEAN_LINE}: minified or bundled"
    if entry.max_line_length >= MINIFIED_MAX_LINE and is_web_language(entry.language):
        return (f"a {entry.max_line_length}-character line in a {entry.language} file: minified "
                "or bundled")
    return None


def _zero(entry: InventoryEntry) -> str:
    return "" if entry.kind == "source" else f"; not counted ({entry.kind} file, 0 lines)"


def needs_detection(entry: InventoryEntry, declared: Declared,
                    components: Sequence[Component]) -> bool:
    """Whether a counted file's origin depends on notice/generated detection (rules 3-6)."""
    return (entry.kind == "source" and _declared(entry, declared) is None
            and component_of(entry.path, components) is None)


def classify_file(entry: InventoryEntry, det: FileDetection | None, *, declared: Declared,
                  components: Sequence[Component], matcher: OwnerMatcher,
                  own_licenses: frozenset[str]) -> FileOrigin:
    """The origin of one file by the first rule that applies (module docstring)."""
    base: dict[str, Any] = {"path": entry.path, "language": entry.language, "lines": entry.lines,
                            "is_test": entry.is_test, "sha256": entry.sha256, "sha1": entry.sha1,
                            "kind": entry.kind, "problem": entry.problem}
    component = component_of(entry.path, components)
    hit = _declared(entry, declared)
    if hit is not None:
        return FileOrigin(**base, origin=hit[0], rule="declared", reason=hit[1] + _zero(entry),
                          component=component.path if component is not None else None)
    if entry.kind != "source" and component is None:
        by_name = _generated(entry, None)
        if by_name is not None:
            return FileOrigin(**base, origin="generated", rule="generated",
                              reason=by_name + _zero(entry))
        return FileOrigin(**base, origin="excluded", rule="not-counted",
                          reason=f"not counted: {entry.kind} file"
                                 + (f" ({entry.problem})" if entry.problem else ""))
    if component is not None:
        return FileOrigin(
            **base, origin="third_party", rule="component", component=component.path,
            reason=f"part of component {component.name}"
                   + (f" {component.version}" if component.version else "")
                   + f" ({component.license or 'license not found'}): {component.reason}"
                   + _zero(entry),
            evidence=component.evidence)
    if entry.problem:
        weight = (f"; weighs its {entry.lines} non-blank lines"
                  if entry.lines and "weighs" not in entry.problem else "")
        return FileOrigin(**base, origin="unknown", rule="undetected",
                          reason=f"not counted or read: {entry.problem}{weight}; not counted "
                                 "as self")
    if det is None or det.error:
        why = det.error if det is not None else "no detection result"
        return FileOrigin(**base, origin="unknown", rule="undetected",
                          reason=f"notice detection did not finish ({why}); not counted as self")
    notice = _notice(det, matcher, own_licenses)
    evidence = list(notice[2]) if notice else []
    if notice is not None and notice[0] == "third_party":
        return FileOrigin(**base, origin="third_party", rule="notice", reason=notice[1],
                          evidence=tuple(evidence))
    generated = _generated(entry, det)
    if generated is not None:
        return FileOrigin(**base, origin="generated", rule="generated", reason=generated,
                          evidence=tuple(evidence))
    minified = _minified(entry, det)
    if minified is not None:
        return FileOrigin(**base, origin="third_party", rule="minified", reason=minified,
                          evidence=tuple(evidence))
    if notice is not None:
        return FileOrigin(**base, origin="self", rule="notice", reason=notice[1],
                          evidence=tuple(evidence))
    scope = {"none": "no license or copyright keyword in the head",
             "head": "no notice found in the head", "whole": "no notice found"}[det.scope]
    return FileOrigin(**base, origin="self", rule="default",
                      reason=f"self-developed: {scope}, not generated, not in a component",
                      evidence=tuple(evidence))


def classify(entries: Sequence[InventoryEntry], detections: Mapping[str, FileDetection], *,
             declared: Declared, components: Sequence[Component], matcher: OwnerMatcher,
             own_licenses: frozenset[str]) -> tuple[FileOrigin, ...]:
    """The origin of every entry, in inventory order, with the notices detection found in it."""
    return tuple(_with_notices(classify_file(e, detections.get(e.path), declared=declared,
                                             components=components, matcher=matcher,
                                             own_licenses=own_licenses), detections.get(e.path))
                 for e in entries)


def _with_notices(origin: FileOrigin, det: FileDetection | None) -> FileOrigin:
    """``origin`` with the license expressions and copyright statements ``det`` found (for SBOMs)."""
    if det is None or det.error:
        return origin
    return replace(origin, licenses=tuple(dict.fromkeys(h.spdx for h in det.licenses if h.spdx)),
                   copyrights=tuple(dict.fromkeys(h.text for h in det.copyrights if h.text)))

