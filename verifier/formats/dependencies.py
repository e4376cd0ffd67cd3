"""The delivery's declared dependencies and CDN assets as both SBOMs list them.

The origin analysis lists what the delivery's manifests and lock files declare
(``verifier.kb.deps``) and what its templates load from public CDNs. Here each becomes one package
with its identity (a key unique in the document, a purl where one is known) and the packages it is
required by: the locked packages that require it, as its lock file records (``required_by``), or the
product itself, when it is a direct dependency or when no lock file says which package pulls it in
(then with a note saying so). Both SBOMs draw the same graph from this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from packageurl import PackageURL

from verifier.formats.interface import RunData, origin_cdn_assets, origin_dependencies, text

#: Hosts that serve npm packages by name and version (``/npm/name@1.2.3/…`` on jsDelivr).
_NPM_CDNS = {"unpkg.com": "", "esm.sh": "", "cdn.skypack.dev": "", "cdn.jsdelivr.net": "/npm/",
             "fastly.jsdelivr.net": "/npm/"}
#: Most template places listed for one CDN asset.
MAX_PLACES = 20


@dataclass(frozen=True)
class Declared:
    """One declared dependency, ready for an SBOM."""

    key: str
    """Unique in the document: ecosystem, registry name and version."""
    entry: Mapping[str, Any]
    """The origin analysis's entry (name, version, license, declared_in … as found)."""
    purl: str | None
    parents: tuple[str, ...]
    """Keys of the listed dependencies that require it (its lock file's edges)."""
    from_product: bool
    """Whether the product depends on it: it is direct, or nothing says what requires it."""
    note: str
    """Why the product depends on it, when not because it is direct; empty otherwise."""

    @property
    def scope(self) -> str:
        """``direct``, ``transitive`` or ``unknown``."""
        direct: Any = self.entry.get("direct")
        return {True: "direct", False: "transitive"}.get(direct, "unknown")

    def comment(self) -> str:
        """One line on where it is declared and what requires it (printable)."""
        e = self.entry
        parts = [f"{self.scope} {e.get('ecosystem') or ''} dependency declared in {e.get('declared_in') or '?'}"]
        if e.get("requirement"):
            parts.append(f"requirement {e['requirement']}")
        if e.get("registry") is False:
            parts.append("not from the package registry (never fetched)")
        required = [f"{p.get('name')} {p.get('version') or ''}".strip() for p in e.get("required_by") or []
                    if isinstance(p, dict)]
        if required:
            parts.append("required by " + ", ".join(required[:MAX_PLACES])
                         + (f" and {len(required) - MAX_PLACES} more" if len(required) > MAX_PLACES else ""))
        if self.note:
            parts.append(self.note)
        return text("; ".join(parts))


@dataclass(frozen=True)
class CdnAsset:
    """One URL the delivery's templates load from a public CDN (every place that loads it)."""

    url: str
    """As found in the template."""
    host: str
    package: str | None
    version: str | None
    places: tuple[str, ...]
    """``file:line`` of each template that loads it."""
    purl: str | None

    @property
    def key(self) -> str:
        """Unique in the document."""
        return f"cdn:{self.url}"

    @property
    def location(self) -> str:
        """The URL as a URI: characters a URI may not hold (controls, spaces, ``<`` …)
        percent-encoded, ``%`` escapes kept, scheme-relative URLs made https."""
        url = "https:" + self.url if self.url.startswith("//") else self.url
        return quote(url.encode("utf-8", "surrogateescape"), safe="/:?#[]@!$&'()*+,;=%~")

    def comment(self) -> str:
        """Where it is loaded from and by which templates (printable)."""
        shown = ", ".join(self.places[:MAX_PLACES])
        more = f" and {len(self.places) - MAX_PLACES} more" if len(self.places) > MAX_PLACES else ""
        return text(f"loaded from the public CDN {self.host} by {shown}{more}: the product depends on it at run "
                    "time; it adds no lines to the ratio")


def canonical(ecosystem: str, name: str) -> str:
    """A name as its registry compares names (PEP 503 for PyPI, lower case for npm)."""
    return re.sub(r"[-_.]+", "-", name).lower() if ecosystem == "pypi" else name.lower()


def _key(ecosystem: str, name: str, version: Any) -> str:
    return f"{ecosystem}:{canonical(ecosystem, name)}@{version or ''}"


def purl(ecosystem: Any, name: str, version: Any) -> str | None:
    """The package URL of a registry package (PyPI or npm), None when there is none or the name
    cannot be one."""
    if ecosystem not in ("pypi", "npm") or not name:
        return None
    namespace = None
    if ecosystem == "npm" and name.startswith("@") and "/" in name:
        namespace, name = name.split("/", 1)
        namespace = namespace.lower()
    try:
        return PackageURL(type=str(ecosystem), namespace=namespace, name=name,
                          version=str(version) if version else None).to_string()
    except ValueError:  # includes a name that is not UTF-8 (lone surrogates)
        return None


def declared(data: RunData) -> list[Declared]:
    """Every declared dependency of ``data``'s origin analysis, with its parents resolved among them."""
    entries = origin_dependencies(data)
    keys = [_key(str(e.get("ecosystem") or ""), e["name"], e.get("version")) for e in entries]
    listed = set(keys)
    out: list[Declared] = []
    seen: set[str] = set()
    for key, e in zip(keys, entries):
        if key in seen:  # listed once (the analysis merges them; a hand-edited one may not)
            continue
        seen.add(key)
        ecosystem = str(e.get("ecosystem") or "")
        parents = []
        for p in e.get("required_by") or []:
            if isinstance(p, dict) and isinstance(p.get("name"), str):
                parent = _key(ecosystem, p["name"], p.get("version"))
                if parent in listed and parent != key and parent not in parents:
                    parents.append(parent)
        direct = e.get("direct")
        note = ""
        if not direct and not parents:
            note = (f"{e.get('declared_in') or 'its lock file'} does not say which package requires it: related "
                    "to the product" if direct is False else
                    "whether the product requires it directly is not known: related to the product")
        out.append(Declared(
            key=key, entry=e, parents=tuple(parents), from_product=bool(direct) or not parents, note=note,
            purl=purl(ecosystem, e["name"], e.get("version")) if e.get("registry", True) is not False else None))
    return out


def cdn_assets(data: RunData) -> list[CdnAsset]:
    """The CDN assets of ``data``'s origin analysis, one per URL, in the order first found."""
    by_url: dict[str, list[Mapping[str, Any]]] = {}
    for asset in origin_cdn_assets(data):
        by_url.setdefault(asset["url"], []).append(asset)
    out = []
    for url, found in by_url.items():
        first = found[0]
        package = first.get("package") if isinstance(first.get("package"), str) else None
        version = first.get("version") if isinstance(first.get("version"), str) else None
        host = str(first.get("host") or urlsplit(url).hostname or "")
        places = tuple(f"{a.get('file')}:{a.get('line')}" for a in found)
        out.append(CdnAsset(url=url, host=host, package=package, version=version, places=places,
                            purl=_cdn_purl(url, host, package, version)))
    return out


def _cdn_purl(url: str, host: str, package: str | None, version: str | None) -> str | None:
    """An npm purl for a CDN that serves npm packages by name (unpkg, jsDelivr's /npm/, esm.sh)."""
    prefix = _NPM_CDNS.get(host.lower())
    if prefix is None or not package:
        return None
    path = urlsplit(url if not url.startswith("//") else "https:" + url).path
    if prefix and not path.startswith(prefix):
        return None
    return purl("npm", package, version)
