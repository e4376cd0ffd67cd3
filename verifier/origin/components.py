"""Vendored components: sub-trees of the delivery that are someone else's software.

A component is the whole sub-tree under

- a conventional vendor directory (``VENDOR_DIRS``: vendor, third_party, node_modules …): each
  directory directly inside it — or the shallowest directory below it that has its own license file
  or manifest — is one component, unless its license/notice holders are all declared owners;
- any other directory (not the root) carrying its own license/notice file (LICENSE, COPYING,
  NOTICE …) or package manifest (package.json, setup.py, pyproject.toml, pom.xml, go.mod,
  Cargo.toml, composer.json …) whose holder is not an owner, or — with no holder named — whose
  license is not the owner's own (the license of the root's license files or manifest).

The outermost component wins: a component inside another is part of it. A component's name and
version come from its manifest when it has one (else the directory name), its license from the
manifest's declared license or its license files.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from verifier.origin.detect import FileDetection, is_legal_file, is_manifest
from verifier.origin.model import InventoryEntry
from verifier.origin.owners import OwnerMatcher

#: Conventional directories of vendored code (case-insensitive).
VENDOR_DIRS = frozenset({
    "vendor", "vendors", "vendored", "_vendor", "third_party", "third-party", "thirdparty",
    "3rdparty", "3rd_party", "3rd-party", "external", "externals", "extern", "node_modules",
    "bower_components", "jspm_packages", "site-packages", "dist-packages", "godeps",
})
#: License expressions that are too vague to say whose license it is.
WEAK_LICENSES = frozenset({
    "unknown-license-reference", "unknown", "free-unknown", "warranty-disclaimer", "generic-cla",
    "other-permissive", "other-copyleft", "proprietary-license", "commercial-license",
    "unknown-spdx", "public-domain-disclaimer", "generic-exception",
})


@dataclass(frozen=True)
class Component:
    """A vendored component: one sub-tree of someone else's software."""

    path: str
    """Its directory, relative POSIX."""
    name: str
    version: str | None
    license: str | None
    """SPDX expression from its manifest or license files; None when none was found."""
    holders: tuple[str, ...]
    reason: str
    evidence: tuple[str, ...]
    fallback: bool = False
    """A vendor-directory grouping without a license file or manifest of its own."""
    purl: str | None = None
    """Package URL of its manifest's package, when it has one."""

    def contains(self, path: str) -> bool:
        """True when ``path`` lies in this component's sub-tree."""
        return path.startswith(self.path + "/")


_WEAK_SPDX = frozenset(f"licenseref-scancode-{k}" for k in WEAK_LICENSES)


def license_parts(spdx: str) -> list[str]:
    """The AND-ed parts of an SPDX expression, vague ones (unknown reference …) left out."""
    text = spdx.strip()
    if not text:
        return []
    parts = [text] if "(" in text else [p.strip() for p in text.split(" AND ")]
    return [p for p in parts if p.lower() not in _WEAK_SPDX
            and not p.lower().startswith("licenseref-scancode-unknown")]


def is_weak_license(expression: str) -> bool:
    """True when every license key of a scancode expression is vague (unknown reference …)."""
    keys = {k for k in expression.replace("(", " ").replace(")", " ").split()
            if k.lower() not in ("and", "or", "with")}
    return bool(keys) and all(k.lower() in WEAK_LICENSES or k.startswith("LicenseRef-scancode-unknown")
                              for k in keys)


def _dir_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


@dataclass(frozen=True)
class _DirFacts:
    holders: tuple[str, ...]
    licenses: tuple[str, ...]
    """SPDX expressions (weak ones left out)."""
    expressions: tuple[str, ...]
    """scancode expressions matching ``licenses``."""
    name: str | None
    version: str | None
    evidence: tuple[str, ...]
    purl: str | None = None


def _facts(files: Sequence[InventoryEntry], detections: Mapping[str, FileDetection]) -> _DirFacts:
    holders: list[str] = []
    licenses: list[str] = []
    expressions: list[str] = []
    evidence: list[str] = []
    name = version = purl = None
    for entry in sorted(files, key=lambda e: e.path):
        det = detections.get(entry.path)
        if det is None:
            continue
        for pkg in det.packages:
            if name is None and pkg.name:
                purl = pkg.purl
            name = name or pkg.name
            version = version or pkg.version
            if pkg.license and not is_weak_license(pkg.expression or ""):
                licenses.extend(license_parts(pkg.license))
                expressions.append(pkg.expression or pkg.license)
            holders.extend(p for p in pkg.parties)
            if pkg.holder:
                holders.append(pkg.holder)
            evidence.append(f"{entry.path}: {pkg.type or 'package'} {pkg.name or '?'} "
                            f"{pkg.version or ''} license {pkg.license or 'not declared'}"
                            + (f", by {', '.join(pkg.parties)}" if pkg.parties else ""))
        if is_legal_file(entry.path):
            for hit in det.licenses:
                if not is_weak_license(hit.expression):
                    licenses.extend(license_parts(hit.spdx))
                    expressions.append(hit.expression)
            holders.extend(h.text for h in det.holders)
            found = sorted({p for h in det.licenses for p in license_parts(h.spdx)})
            evidence.append(f"{entry.path}: license {' AND '.join(found) or 'not recognised'}"
                            + (f", holder {'; '.join(h.text for h in det.holders)}"
                               if det.holders else ""))
    return _DirFacts(tuple(dict.fromkeys(holders)), tuple(dict.fromkeys(licenses)),
                     tuple(dict.fromkeys(expressions)), name, version, tuple(evidence), purl)


def owner_licenses(entries: Sequence[InventoryEntry], detections: Mapping[str, FileDetection],
                   matcher: OwnerMatcher) -> frozenset[str]:
    """The owner's own licenses: those of the root's license files and manifest, unless a foreign
    holder is named there."""
    root_files = [e for e in entries if "/" not in e.path
                  and (is_legal_file(e.path) or is_manifest(e.path))]
    facts = _facts(root_files, detections)
    if any(not matcher.is_owner(h) for h in facts.holders):
        return frozenset()
    return frozenset(facts.licenses)


def find_components(entries: Sequence[InventoryEntry], detections: Mapping[str, FileDetection],
                    matcher: OwnerMatcher, own_licenses: frozenset[str]) -> tuple[Component, ...]:
    """The vendored components of a tree, outermost first by path."""
    markers: dict[str, list[InventoryEntry]] = defaultdict(list)
    for entry in entries:
        if is_legal_file(entry.path) or is_manifest(entry.path):
            markers[_dir_of(entry.path)].append(entry)

    candidates: dict[str, Component] = {}
    for directory in sorted(markers):
        if not directory:
            continue
        facts = _facts(markers[directory], detections)
        foreign = [h for h in facts.holders if not matcher.is_owner(h)]
        owned = [h for h in facts.holders if matcher.is_owner(h)]
        if foreign:
            reason = f"own license/manifest naming a holder that is not an owner: {foreign[0]}"
        elif not owned and facts.licenses and not set(facts.licenses) <= own_licenses:
            reason = (f"own license/manifest with license {' AND '.join(facts.licenses)}, "
                      "no owner named")
        else:
            continue
        candidates[directory] = _component(directory, facts, reason)

    # Files under a conventional vendor directory: the shallowest directory below it with a license
    # file or manifest, else the vendor directory's first-level child (else the vendor dir itself).
    fallback: dict[str, Component] = {}
    for entry in entries:
        parts = entry.path.split("/")[:-1]
        vendor_depth = next((i for i, p in enumerate(parts) if p.lower() in VENDOR_DIRS), None)
        if vendor_depth is None:
            continue
        vendor = "/".join(parts[:vendor_depth + 1])
        directory = "/".join(parts)
        root = next((d for d in _ancestors(directory, stop=vendor) if d in markers),
                    "/".join(parts[:vendor_depth + 2]))
        if root in candidates or root in fallback:
            continue
        facts = _facts(markers.get(root, []), detections)
        if facts.holders and all(matcher.is_owner(h) for h in facts.holders):
            continue
        fallback[root] = _component(root, facts, f"inside the conventional vendor directory "
                                                 f"{vendor}/", fallback=True)

    kept: list[Component] = []
    for path in sorted(candidates, key=lambda p: (p.count("/"), p)):
        if not any(path.startswith(k.path + "/") for k in kept):
            kept.append(candidates[path])
    kept.extend(c for c in fallback.values() if not any(c.path.startswith(k.path + "/") for k in kept))
    return tuple(sorted(kept, key=lambda c: c.path))


def _ancestors(directory: str, *, stop: str) -> list[str]:
    """Directories from just below ``stop`` down to ``directory``, shallowest first."""
    parts = directory.split("/")
    base = len(stop.split("/"))
    return ["/".join(parts[:n]) for n in range(base + 1, len(parts) + 1)]


def _component(path: str, facts: _DirFacts, reason: str, *, fallback: bool = False) -> Component:
    return Component(path=path, name=facts.name or path.rsplit("/", 1)[-1],
                     version=facts.version,
                     license=" AND ".join(facts.licenses) if facts.licenses else None,
                     holders=facts.holders, reason=reason, evidence=facts.evidence,
                     fallback=fallback, purl=facts.purl)


def component_of(path: str, components: Sequence[Component]) -> Component | None:
    """The component whose sub-tree holds ``path``: a component with its own license file or
    manifest first (the outermost), else the innermost vendor-directory grouping."""
    for component in components:
        if not component.fallback and component.contains(path):
            return component
    inner = [c for c in components if c.fallback and c.contains(path)]
    return max(inner, key=lambda c: c.path.count("/")) if inner else None
