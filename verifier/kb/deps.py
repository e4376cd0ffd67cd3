"""A delivery's declared dependencies, read from its manifests and lock files (never installed,
never run): requirements*.txt, pyproject.toml (PEP 621 and Poetry), poetry.lock, uv.lock,
Pipfile.lock, package.json, package-lock.json (and npm-shrinkwrap.json), yarn.lock (classic and
Berry) and pnpm-lock.yaml.

A lock file gives exact versions and the transitive packages; a manifest gives the direct ones
(pinned with ``==`` / an exact npm version, or a range: then no version). A package in a lock
file is *direct* when a manifest beside it (or the lock's own importer section) names it.
Dependencies that do not come from a registry (git URLs, local paths, workspaces, editable
installs) are listed with ``registry=False`` and never fetched.

The files are the delivery's: each is read only when a regular file (no link) of at most
``MAX_MANIFEST_BYTES``; a file that does not parse is a warning, never an error.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from verifier.kb import lock_graph
from verifier.kb.registries import PackageSpec

#: Largest manifest or lock file read.
MAX_MANIFEST_BYTES = 32 << 20
#: Directories never searched for manifests (installed trees, VCS, caches, virtualenvs).
_SKIP_DIRS = frozenset({"node_modules", ".git", ".hg", ".svn", "__pycache__", ".tox", ".nox",
                        ".venv", "venv", "site-packages", "dist-packages", ".mypy_cache",
                        "bower_components", "vendor", "third_party", ".yarn"})
#: How deep below the repository root manifests are looked for.
_MAX_DEPTH = 6

_PY_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_EXACT_NPM = re.compile(r"^=?v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?)$")


@dataclass(frozen=True)
class Dependency:
    """One declared dependency."""

    ecosystem: str
    """``pypi`` or ``npm``."""
    name: str
    version: str | None
    """Exact version when pinned or locked, else ``None``."""
    direct: bool | None
    """Declared by a manifest (``True``), only in a lock file (``False``), or unknown."""
    declared_in: str
    """The file (relative to the repository) that declares it."""
    license: str | None = None
    """As a lock file records it (package-lock.json does), else ``None``."""
    registry: bool = True
    """Whether it comes from the package registry (and can be fetched)."""
    requirement: str | None = None
    """The range as declared when not exact."""
    required_by: tuple[tuple[str, str | None], ...] = ()
    """(name, version) of each locked package that requires it, as its lock file records
    (``verifier.kb.lock_graph``); empty when no lock file says."""

    @property
    def spec(self) -> PackageSpec:
        """The package to fetch."""
        return PackageSpec(self.ecosystem, self.name, self.version)

    def to_json(self) -> dict:
        """Plain JSON-ready dict."""
        return {"ecosystem": self.ecosystem, "name": self.name, "version": self.version,
                "direct": self.direct, "declared_in": self.declared_in, "license": self.license,
                "registry": self.registry, "requirement": self.requirement,
                "required_by": [{"name": n, "version": v} for n, v in self.required_by]}


def declared_dependencies(repo: str | os.PathLike) -> tuple[list[Dependency], list[str]]:
    """Every dependency the manifests and lock files of ``repo`` declare, one per ecosystem,
    name and version (a locked version wins over a range; direct wins over transitive), sorted;
    and warnings for files that could not be read."""
    root = Path(repo)
    found: list[Dependency] = []
    warnings: list[str] = []
    for path in _manifests(root):
        rel = path.relative_to(root).as_posix()
        reader = _READERS[_kind(path.name)]
        try:
            data = _read(path)
            found += reader(data, rel, path.parent)
        except (ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError,
                tomllib.TOMLDecodeError, RecursionError) as err:
            warnings.append(f"{rel}: not read ({type(err).__name__}: {str(err)[:120]})")
        except OSError as err:
            warnings.append(f"{rel}: not read ({err.strerror or err})")
    return _link_parents(_merge(found)), warnings


def _link_parents(deps: list[Dependency]) -> list[Dependency]:
    """``required_by`` named as the listed dependencies are (a parent's name as its merged entry
    spells it)."""
    listed = {(d.ecosystem, _canonical(d.ecosystem, d.name), d.version): d.name for d in deps}
    out = []
    for dep in deps:
        if dep.required_by:
            names = {(listed.get((dep.ecosystem, _canonical(dep.ecosystem, n), v), n), v)
                     for n, v in dep.required_by}
            dep = replace(dep, required_by=tuple(sorted(names, key=_parent_order)))
        out.append(dep)
    return out


def _parent_order(parent: tuple[str, str | None]) -> tuple[str, str, str]:
    return parent[0].lower(), parent[0], parent[1] or ""


def _with_parents(deps: list[Dependency], parents: lock_graph.Parents) -> list[Dependency]:
    """``deps`` of one lock file with the parents its edges give them."""
    if not parents:
        return deps
    return [replace(d, required_by=tuple(sorted(found, key=_parent_order))) if (
        found := parents.get((_canonical(d.ecosystem, d.name), d.version))) else d for d in deps]


def _merge(found: list[Dependency]) -> list[Dependency]:
    by_name: dict[tuple[str, str], list[Dependency]] = {}
    for dep in found:
        key = _canonical(dep.ecosystem, dep.name)
        by_name.setdefault((dep.ecosystem, key), []).append(dep)
    out: list[Dependency] = []
    for deps in by_name.values():
        direct = any(d.direct for d in deps)
        versions = sorted({d.version for d in deps if d.version})
        if not versions:
            best = next((d for d in deps if d.direct), deps[0])
            out.append(replace(best, direct=direct if any(d.direct is not None for d in deps)
                               else None))
            continue
        for version in versions:
            same = [d for d in deps if d.version == version]
            best = next((d for d in same if d.license), same[0])
            requirement = next((d.requirement for d in deps if d.requirement), None)
            parents = tuple(sorted({p for d in same for p in d.required_by}, key=_parent_order))
            out.append(replace(best, direct=direct, requirement=requirement, required_by=parents))
    return sorted(out, key=lambda d: (d.ecosystem, d.name.lower(), d.version or ""))


def _canonical(ecosystem: str, name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "pypi" else name.lower()


def _kind(name: str) -> str:
    lower = name.lower()
    if lower.startswith("requirements") and lower.endswith((".txt", ".in")):
        return "requirements"
    return lower


def _manifests(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")
                             and depth < _MAX_DEPTH and not (here / d).is_symlink())
        for name in sorted(filenames):
            if _kind(name) in _READERS:
                path = here / name
                if not path.is_symlink() and path.is_file():
                    yield path


def _read(path: Path) -> str:
    with open(path, "rb") as handle:
        data = handle.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"larger than {MAX_MANIFEST_BYTES >> 20} MiB")
    return data.decode("utf-8-sig")


# -- Python --------------------------------------------------------------------------------------
def _pep508(text: str, rel: str, direct: bool | None = True) -> Dependency | None:
    """A ``Dependency`` from one PEP 508 requirement (``None`` for what is not a package)."""
    text = text.split(";", 1)[0].strip()
    if not text or text.startswith(("-", "#")):
        return None
    if "://" in text or text.startswith((".", "/")) or " @ " in text or "@" in text.split()[0]:
        name = re.split(r"[\s@\[]", text, maxsplit=1)[0]
        return Dependency("pypi", name, None, direct, rel, registry=False, requirement=text[:200])
    match = _PY_NAME.match(text)
    if not match:
        return None
    name, rest = match.group(1), match.group(3).strip().strip("()").strip()
    pinned = re.fullmatch(r"===?\s*([A-Za-z0-9.+!_-]+)", rest)
    return Dependency("pypi", name, pinned.group(1) if pinned else None, direct, rel,
                      requirement=None if pinned or not rest else rest[:200])


def _requirements(text: str, rel: str, _: Path) -> list[Dependency]:
    out = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith(("-e", "--editable")):
            out.append(Dependency("pypi", line.split()[-1][:100], None, True, rel, registry=False))
            continue
        line = re.split(r"\s--?[a-z]", line, maxsplit=1)[0].strip()  # per-requirement options
        dep = _pep508(line, rel)
        if dep is not None:
            out.append(dep)
    return out


def _pyproject(text: str, rel: str, _: Path) -> list[Dependency]:
    data = tomllib.loads(text)
    out = []
    project = data.get("project") or {}
    for item in project.get("dependencies") or ():
        if isinstance(item, str) and (dep := _pep508(item, rel)):
            out.append(dep)
    for group in (project.get("optional-dependencies") or {}).values():
        for item in group or ():
            if isinstance(item, str) and (dep := _pep508(item, rel)):
                out.append(dep)
    poetry = (data.get("tool") or {}).get("poetry") or {}
    sections = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    sections += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    for section in sections:
        for name, value in section.items():
            if name.lower() == "python":
                continue
            version = value.get("version") if isinstance(value, dict) else value
            registry = not (isinstance(value, dict) and ({"git", "path", "url"} & set(value)))
            exact = re.fullmatch(r"=?=?\s*(\d[A-Za-z0-9.+!_-]*)", str(version or "").strip())
            out.append(Dependency("pypi", name, exact.group(1) if exact and registry else None,
                                  True, rel, registry=registry,
                                  requirement=None if exact else (str(version)[:200] or None)))
    return out


def _direct_python(folder: Path) -> set[str] | None:
    """Names the manifests beside a lock file declare (``None`` when there are none)."""
    names: set[str] = set()
    seen = False
    for name in ("pyproject.toml", "Pipfile", "requirements.txt"):
        path = folder / name
        if path.is_symlink() or not path.is_file():
            continue
        seen = True
        try:
            text = _read(path)
            if name == "pyproject.toml":
                deps = _pyproject(text, name, folder)
            elif name == "Pipfile":
                data = tomllib.loads(text)
                deps = [Dependency("pypi", n, None, True, name) for section in
                        ("packages", "dev-packages") for n in (data.get(section) or {})]
            else:
                deps = _requirements(text, name, folder)
        except (ValueError, TypeError, OSError, tomllib.TOMLDecodeError):
            continue
        names |= {_canonical("pypi", d.name) for d in deps}
    return names if seen else None


def _python_lock(packages, rel: str, folder: Path, skip_sources=()) -> list[Dependency]:
    def own(item) -> bool:  # the delivery itself (uv's editable or virtual project)
        source = item.get("source")
        return isinstance(source, dict) and bool(set(source) & set(skip_sources))

    parents = lock_graph.python_lock_parents(packages, lambda n: _canonical("pypi", n), own)
    return _with_parents(_python_lock_packages(packages, rel, folder, skip_sources), parents)


def _python_lock_packages(packages, rel: str, folder: Path, skip_sources=()) -> list[Dependency]:
    direct = _direct_python(folder)
    out = []
    for item in packages or ():
        if not isinstance(item, dict) or not item.get("name"):
            continue
        source = item.get("source") or {}
        if isinstance(source, dict) and (set(source) & {"editable", "virtual", "path", "directory",
                                                         "git", "url"}):
            if set(source) & set(skip_sources):
                continue
            out.append(Dependency("pypi", str(item["name"]), None,
                                  None if direct is None else
                                  _canonical("pypi", str(item["name"])) in direct, rel,
                                  registry=False))
            continue
        name = str(item["name"])
        out.append(Dependency("pypi", name, str(item.get("version") or "") or None,
                              None if direct is None else _canonical("pypi", name) in direct, rel))
    return out


def _poetry_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    return _python_lock(tomllib.loads(text).get("package"), rel, folder)


def _uv_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    # the project itself is an editable or virtual source: not a dependency
    return _python_lock(tomllib.loads(text).get("package"), rel, folder,
                        skip_sources=("editable", "virtual"))


def _pipfile_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    data = json.loads(text)
    direct = _direct_python(folder)
    out = []
    for section in ("default", "develop"):
        for name, info in (data.get(section) or {}).items():
            info = info if isinstance(info, dict) else {}
            version = str(info.get("version") or "").lstrip("=") or None
            registry = not ({"git", "path", "file", "editable"} & set(info))
            out.append(Dependency("pypi", name, version if registry else None,
                                  None if direct is None else _canonical("pypi", name) in direct,
                                  rel, registry=registry))
    return out


# -- npm -----------------------------------------------------------------------------------------
def _npm_range(name: str, value: object, rel: str, direct: bool | None) -> Dependency:
    text = str(value or "").strip()
    if text.startswith("npm:"):  # an alias: "npm:real-name@1.2.3"
        real = text[4:]
        at = real.find("@", 1)
        name, text = (real[:at], real[at + 1:]) if at > 0 else (real, "")
    registry = not re.match(r"^(?:[a-z+]+:|\.|/|~/|[^@/]+/[^@/]+$)", text) or text.startswith(
        "npm:")
    exact = _EXACT_NPM.match(text)
    return Dependency("npm", name, exact.group(1) if exact and registry else None, direct, rel,
                      registry=registry, requirement=None if exact else (text[:200] or None))


def _package_json(text: str, rel: str, _: Path) -> list[Dependency]:
    data = json.loads(text)
    out = []
    for section in ("dependencies", "devDependencies", "optionalDependencies",
                    "peerDependencies"):
        deps = data.get(section)
        if isinstance(deps, dict):
            out += [_npm_range(str(n), v, rel, True) for n, v in deps.items()]
    return out


def _direct_npm(folder: Path) -> set[str] | None:
    path = folder / "package.json"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return {d.name.lower() for d in _package_json(_read(path), "package.json", folder)}
    except (ValueError, TypeError, OSError):
        return None


def _package_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return _with_parents(_package_lock_packages(data, rel, folder),
                         lock_graph.package_lock_parents(data, _lock_entry))


def _lock_entry(key: str, info) -> tuple[str, str | None]:
    """(name, version) of a package-lock.json ``packages`` entry, as ``_package_lock`` lists it."""
    name = str(info.get("name") or key.rsplit("node_modules/", 1)[-1])
    return name, (str(info.get("version") or "") or None) if _lock_registry(info) else None


def _lock_registry(info) -> bool:
    return not info.get("link") and not str(info.get("resolved") or "").startswith(("git", "file:"))


def _package_lock_packages(data: dict, rel: str, folder: Path) -> list[Dependency]:
    direct = _direct_npm(folder)
    out = []
    packages = data.get("packages")
    if isinstance(packages, dict):  # lockfileVersion 2 and 3
        for key, info in packages.items():
            if not key or not isinstance(info, dict) or "node_modules/" not in key:
                continue
            name, version = _lock_entry(key, info)
            top = key.count("node_modules/") == 1
            registry = _lock_registry(info)
            out.append(Dependency(
                "npm", name, version,
                (name.lower() in direct and top) if direct is not None else None, rel,
                license=str(info["license"]) if isinstance(info.get("license"), str) else None,
                registry=registry))
        return out

    def walk(deps: dict, top: bool) -> None:  # lockfileVersion 1
        for name, info in deps.items():
            if not isinstance(info, dict):
                continue
            out.append(Dependency("npm", name, str(info.get("version") or "") or None,
                                  (name.lower() in direct and top) if direct is not None
                                  else None, rel))
            if isinstance(info.get("dependencies"), dict):
                walk(info["dependencies"], False)
    if isinstance(data.get("dependencies"), dict):
        walk(data["dependencies"], True)
    return out


_YARN_ENTRY = re.compile(r'^"?((?:@[^@/"\s]+/)?[^@"\s,]+)@')


def _yarn_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    direct = _direct_npm(folder)
    out = []
    entries: list[tuple[str, str | None, list[str], list[tuple[str, str]]]] = []
    name = None
    specs: list[str] = []
    requires: list[tuple[str, str]] = []
    in_deps = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t")):
            match = _YARN_ENTRY.match(line)
            name = match.group(1) if match and not line.startswith("__metadata") else None
            specs = [s.strip().strip('"') for s in line.rstrip().rstrip(":").split(",")]
            requires, in_deps = [], False
            if name and ("@workspace:" in line or "@link:" in line or "@file:" in line
                         or "@portal:" in line):
                out.append(Dependency("npm", name, None, None, rel, registry=False))
                name = None
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent <= 2:
            in_deps = stripped.rstrip(":") in ("dependencies", "optionalDependencies")
        elif in_deps and (found := lock_graph.yarn_dependency_line(line)):
            requires.append(found)  # the list object of the entry read last
        if name and indent <= 2 and stripped.startswith("version"):
            version = stripped[len("version"):].strip().lstrip(":").strip().strip('"')
            out.append(Dependency("npm", name, version or None,
                                  name.lower() in direct if direct is not None else None, rel))
            entries.append((name, version or None, specs, requires))
            name = None
    return _with_parents(out, lock_graph.yarn_parents(entries))


def _pnpm_key(key: str) -> tuple[str, str | None] | None:
    """(name, version) of a pnpm-lock.yaml ``packages`` / ``snapshots`` key; None for pnpm 5's
    ``/name/1.2.3`` form and what is not a package."""
    text_key = str(key).lstrip("/").split("(", 1)[0]
    at = text_key.rfind("@")
    if at <= 0:
        return None
    name, version = text_key[:at], text_key[at + 1:]
    if "/" in version and not name.startswith("@"):  # pnpm 5: /name/1.2.3
        return None
    return name, version or None


def _pnpm_lock(text: str, rel: str, folder: Path) -> list[Dependency]:
    data = yaml.safe_load(text) or {}
    direct: set[str] = set()
    importers = data.get("importers") or {".": data}
    for importer in importers.values():
        for section in ("dependencies", "devDependencies", "optionalDependencies"):
            direct |= {str(n).lower() for n in ((importer or {}).get(section) or {})}
    out = []
    for key in (data.get("packages") or {}):
        found = _pnpm_key(key)
        if found is not None:
            name, version = found
            out.append(Dependency("npm", name, version, name.lower() in direct, rel))
    return _with_parents(out, lock_graph.pnpm_parents(data, _pnpm_key))


_READERS = {
    "requirements": _requirements, "pyproject.toml": _pyproject, "poetry.lock": _poetry_lock,
    "uv.lock": _uv_lock, "pipfile.lock": _pipfile_lock, "package.json": _package_json,
    "package-lock.json": _package_lock, "npm-shrinkwrap.json": _package_lock,
    "yarn.lock": _yarn_lock, "pnpm-lock.yaml": _pnpm_lock,
}


# -- assets loaded from public CDNs ----------------------------------------------------------------
#: Public CDNs and how a package and version read from their paths.
_CDN_HOSTS = {
    "cdn.jsdelivr.net": "jsdelivr", "fastly.jsdelivr.net": "jsdelivr", "unpkg.com": "unpkg",
    "cdnjs.cloudflare.com": "cdnjs", "cdn.bootcdn.net": "cdnjs", "cdn.bootcss.com": "cdnjs",
    "cdn.staticfile.org": "staticfile", "cdn.staticfile.net": "staticfile",
    "lib.baomitu.com": "staticfile", "code.jquery.com": "jquery",
    "ajax.googleapis.com": "google", "stackpath.bootstrapcdn.com": "bootstrapcdn",
    "maxcdn.bootstrapcdn.com": "bootstrapcdn", "cdn.tailwindcss.com": "host",
    "esm.sh": "unpkg", "cdn.skypack.dev": "unpkg", "fonts.googleapis.com": "host",
    "cdn.datatables.net": "host", "cdn.ckeditor.com": "host", "cdn.plot.ly": "host",
}
#: Template files searched for ``<script src>`` and ``<link href>``.
_TEMPLATE_SUFFIXES = (".html", ".htm", ".jinja", ".jinja2", ".j2", ".tpl", ".vue", ".svelte",
                      ".ejs", ".hbs", ".twig", ".jsp", ".php", ".erb", ".cshtml")
_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']((?:https?:)?//[^"'\s>]+)""",
                    re.IGNORECASE)
_MAX_TEMPLATE_BYTES = 4 << 20


@dataclass(frozen=True)
class CdnAsset:
    """A ``<script src>`` or ``<link href>`` to a public CDN in one of the delivery's templates."""

    url: str
    file: str
    """The template (relative to the repository)."""
    line: int
    host: str
    package: str | None
    """The package the CDN serves, where its path says (``vue``, ``bootstrap``)."""
    version: str | None

    def to_json(self) -> dict:
        """Plain JSON-ready dict."""
        return {"url": self.url, "file": self.file, "line": self.line, "host": self.host,
                "package": self.package, "version": self.version}


def cdn_assets(repo: str | os.PathLike) -> list[CdnAsset]:
    """Every asset the delivery's HTML templates load from a known public CDN, in file order."""
    root = Path(repo)
    out: list[CdnAsset] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")
                             and depth < _MAX_DEPTH + 4 and not (here / d).is_symlink())
        for name in sorted(filenames):
            path = here / name
            if not name.lower().endswith(_TEMPLATE_SUFFIXES) or path.is_symlink():
                continue
            try:
                with open(path, "rb") as handle:
                    text = handle.read(_MAX_TEMPLATE_BYTES).decode("utf-8", "replace")
            except OSError:
                continue
            rel = path.relative_to(root).as_posix()
            for match in _ASSET.finditer(text):
                asset = _cdn_asset(match.group(1), rel, text.count("\n", 0, match.start()) + 1)
                if asset is not None:
                    out.append(asset)
    return out


def _cdn_asset(url: str, rel: str, line: int) -> CdnAsset | None:
    parts = urlsplit(url if not url.startswith("//") else "https:" + url)
    host = (parts.hostname or "").lower()
    style = _CDN_HOSTS.get(host)
    if style is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    package = version = None
    if style in ("jsdelivr", "unpkg") and segments:
        if style == "jsdelivr" and segments[0] in ("npm", "gh"):
            segments = segments[1:]
        if segments and segments[0].startswith("@") and len(segments) > 1:
            segments = [segments[0] + "/" + segments[1], *segments[2:]]
        if segments:
            name, _, version = segments[0].rpartition("@") if "@" in segments[0][1:] else (
                segments[0], "", "")
            package, version = name or segments[0], version or None
    elif style in ("cdnjs", "staticfile") and segments:
        if segments[:2] == ["ajax", "libs"]:
            segments = segments[2:]
        package = segments[0] if segments else None
        version = segments[1] if len(segments) > 2 else None
    elif style == "jquery" and segments:
        found = re.match(r"^(jquery(?:-ui|-migrate)?)-(\d[\w.]*?)(?:\.min|\.slim|\.js)", segments[-1])
        if found:
            package, version = found.group(1), found.group(2)
    elif style == "google" and len(segments) >= 4 and segments[0] == "ajax":
        package, version = segments[2], segments[3]
    elif style == "bootstrapcdn" and len(segments) >= 2:
        package, version = segments[0], segments[1]
    return CdnAsset(url[:500], rel, line, host, package, version)
