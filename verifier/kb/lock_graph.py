"""Which locked package requires which: the dependency edges a lock file records.

``verifier.kb.deps`` reads the packages a lock file lists; these functions read, from the same
parsed file, the packages each of them requires, so that a transitive dependency can be named with
the package that pulls it in (an SBOM's ``DEPENDS_ON``). Each returns a ``Parents`` map:
(canonical name, version) of a required package -> the (name, version) of every locked package
that requires it. Nothing is resolved beyond what the lock file says:

- package-lock.json / npm-shrinkwrap.json: version 2 and 3 by the ``packages`` entries'
  ``dependencies``, ``optionalDependencies`` and ``peerDependencies``, each resolved the way Node
  does (the nearest ``node_modules`` folder up the tree that holds it); version 1 by each entry's
  ``requires`` against its own and its ancestors' ``dependencies``;
- uv.lock and poetry.lock: each package's ``dependencies`` (and uv's optional and dev groups), a
  name resolved to its locked version when the lock holds one version of it (uv writes the version
  when it holds several);
- pnpm-lock.yaml: the ``dependencies`` and ``optionalDependencies`` of ``packages`` and ``snapshots``
  entries (peer suffixes ``(…)`` dropped);
- yarn.lock, classic and Berry: each entry's ``dependencies`` block, matched to the entry whose
  header lists that specifier.

The delivery's own packages (the lock's root, workspace folders, uv's editable or virtual project)
are never parents: what they require is a direct dependency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Parent = tuple[str, "str | None"]
Parents = dict[tuple[str, "str | None"], set[Parent]]


def _add(parents: Parents, key: tuple[str, str | None], parent: Parent) -> None:
    if key[0]:
        parents.setdefault(key, set()).add(parent)


# -- npm -------------------------------------------------------------------------------------------
def _npm_requires(info: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for section in ("dependencies", "optionalDependencies", "peerDependencies"):
        value = info.get(section)
        if isinstance(value, dict):
            names += [str(n) for n in value]
    return names


def package_lock_parents(data: Mapping[str, Any], name_of: Callable[[str, Mapping[str, Any]], Parent]
                         ) -> Parents:
    """The edges of a package-lock.json (``data`` parsed); ``name_of(key, entry)`` is the
    (name, version) ``verifier.kb.deps`` lists for a ``packages`` entry."""
    parents: Parents = {}
    packages = data.get("packages")
    if isinstance(packages, dict):
        entries = {str(k): v for k, v in packages.items() if isinstance(v, dict)}
        for key, info in entries.items():
            if "node_modules/" not in key:  # the root and workspace folders: the delivery itself
                continue
            parent = name_of(key, info)
            for child in _npm_requires(info):
                found = _node_resolve(entries, key, child)
                if found is not None:
                    name, version = name_of(found, entries[found])
                    _add(parents, (name.lower(), version), parent)
        return parents
    if isinstance(data.get("dependencies"), dict):
        _lock_v1(data["dependencies"], [], parents)
    return parents


def _node_resolve(entries: Mapping[str, Any], start: str, child: str) -> str | None:
    """The ``packages`` key Node loads ``child`` from when required by the package at ``start``."""
    base = start
    while True:
        candidate = f"{base}/node_modules/{child}" if base else f"node_modules/{child}"
        if candidate in entries:
            return candidate
        if not base:
            return None
        cut = base.rfind("/node_modules/")
        base = base[:cut] if cut >= 0 else ""


def _lock_v1(deps: Mapping[str, Any], scopes: list[Mapping[str, Any]], parents: Parents) -> None:
    """lockfileVersion 1: ``requires`` resolved against the entry's own, then its ancestors'
    ``dependencies``."""
    chain = [deps, *scopes]
    for name, info in deps.items():
        if not isinstance(info, dict):
            continue
        own = info.get("dependencies")
        own = own if isinstance(own, dict) else {}
        parent = (str(name), str(info.get("version") or "") or None)
        requires = info.get("requires")
        for child in requires if isinstance(requires, dict) else ():
            scope = next((s for s in (own, *chain) if isinstance(s.get(child), dict)), None)
            if scope is not None:
                version = str(scope[child].get("version") or "") or None
                _add(parents, (str(child).lower(), version), parent)
        if own:
            _lock_v1(own, chain, parents)


def pnpm_parents(data: Mapping[str, Any], split: Callable[[str], Parent | None]) -> Parents:
    """The edges of a pnpm-lock.yaml (``data`` parsed); ``split(key)`` is the (name, version) of a
    ``packages`` / ``snapshots`` key, None for one that is not a package."""
    parents: Parents = {}
    for section in ("packages", "snapshots"):
        entries = data.get(section)
        for key, info in (entries.items() if isinstance(entries, dict) else ()):
            parent = split(str(key))
            if parent is None or not isinstance(info, dict):
                continue
            for kind in ("dependencies", "optionalDependencies"):
                deps = info.get(kind)
                for child, version in (deps.items() if isinstance(deps, dict) else ()):
                    version = str(version).split("(", 1)[0]
                    if version.startswith(("link:", "file:")):
                        continue
                    if version.startswith(("/", "npm:")) or "@" in version[1:]:  # an alias: name@version
                        found = split(version.removeprefix("npm:"))
                        if found is None:
                            continue
                        child, version = found
                    _add(parents, (str(child).lower(), version or None), parent)
    return parents


# -- yarn ------------------------------------------------------------------------------------------
_YARN_DEP = re.compile(r'^\s+"?((?:@[^@/"\s]+/)?[^@"\s:]+)"?:?\s+"?([^"]+?)"?\s*$')


def yarn_parents(entries: Iterable[tuple[str, str | None, list[str], list[tuple[str, str]]]]) -> Parents:
    """The edges of a yarn.lock: ``entries`` are (name, version, header specifiers, required
    (name, range) pairs) as ``verifier.kb.deps`` reads them."""
    listed = list(entries)
    by_spec: dict[str, tuple[str, str | None]] = {}
    for name, version, specs, _ in listed:
        for spec in specs:
            by_spec[spec] = (name, version)
    parents: Parents = {}
    for name, version, _, requires in listed:
        for child, wanted in requires:
            found = by_spec.get(f"{child}@{wanted}") or by_spec.get(f"{child}@npm:{wanted}")
            if found is not None:
                _add(parents, (found[0].lower(), found[1]), (name, version))
    return parents


def yarn_dependency_line(line: str) -> tuple[str, str] | None:
    """(name, range) of one line of a yarn.lock entry's ``dependencies`` block."""
    match = _YARN_DEP.match(line)
    return (match.group(1), match.group(2)) if match else None


# -- Python ----------------------------------------------------------------------------------------
def python_lock_parents(packages: Iterable[Any], canonical: Callable[[str], str],
                        skip: Callable[[Mapping[str, Any]], bool]) -> Parents:
    """The edges of a uv.lock or poetry.lock (its ``package`` array); ``skip(item)`` is true for an
    entry that is the delivery itself (uv's editable or virtual project)."""
    items = [p for p in packages or () if isinstance(p, dict) and p.get("name")]
    versions: dict[str, set[str | None]] = {}
    for item in items:
        versions.setdefault(canonical(str(item["name"])), set()).add(str(item.get("version") or "") or None)
    parents: Parents = {}
    for item in items:
        if skip(item):
            continue
        parent = (str(item["name"]), str(item.get("version") or "") or None)
        for child, version in _python_requires(item):
            key = canonical(child)
            locked = versions.get(key, set())
            if version is None and len(locked) == 1:
                version = next(iter(locked))
            if version is not None and version in locked:
                _add(parents, (key, version), parent)
    return parents


def _python_requires(item: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(name, version or None) of what one uv.lock / poetry.lock package requires."""
    found: list[tuple[str, str | None]] = []

    def entries(value: Any) -> None:
        if isinstance(value, dict):  # poetry: name -> constraint
            found.extend((str(n), None) for n in value)
        elif isinstance(value, list):  # uv: [{name, version?, marker?}]
            found.extend((str(d["name"]), str(d["version"]) if d.get("version") else None)
                         for d in value if isinstance(d, dict) and d.get("name"))

    entries(item.get("dependencies"))
    for section in ("optional-dependencies", "dev-dependencies"):
        groups = item.get(section)
        for group in (groups.values() if isinstance(groups, dict) else ()):
            entries(group)
    return found
