"""CycloneDX 1.6 JSON: the delivered product, its components, files and snippet matches.

Made with cyclonedx-python-lib (the CycloneDX project's own model and serializer).

- ``metadata.component`` is the product (type application): name and version from the task book, the
  applicant as supplier, and the origin figures as properties: ``verifier:origin:ratio``,
  ``…:ratio_without_tests``, ``…:threshold``, ``…:passed``, ``…:ratio_rule``, ``…:counting_rule`` and
  ``…:lines:CLASS`` / ``…:files:CLASS`` for each origin class;
- each vendored component is a library component (version, license, purl) holding its files as
  nested file components; the product depends on it;
- every other inventoried file is a file component nested in the product (``metadata.component``'s
  ``components``: the product's assembly, not its dependencies): SHA-1 and SHA-256, its origin class,
  rule and reason as ``verifier:origin:*`` properties, the licenses and copyright statements found in
  it as evidence. (Nested, files stay out of the library's dependency bookkeeping, which is quadratic
  in the top-level components: 5,000 of them took 76 s.)
- each component the snippet knowledge base matched is a library component whose evidence lists
  every matched run as an occurrence (file, first line, the line ranges in ``additionalContext``)
  and its identity found by ``source-code-analysis``; the product depends on it;
- each declared dependency (``verifier.formats.dependencies``) is a library component of scope
  ``required`` (version, license, purl, and ``verifier:dependency:*`` properties: scope direct /
  transitive / unknown, the declaring file, ecosystem, requirement, registry); in ``dependencies``
  the product depends on the direct ones, each locked package on those its lock file says it
  requires, and the product on any that no lock file places (its description says so);
- each asset loaded from a public CDN is a library component of scope ``required`` with its URL as
  a ``distribution`` reference (npm purl where the CDN serves npm packages) and the templates that
  load it as ``verifier:cdn:loaded_by`` properties; the product depends on it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# This module is imported through its entry point only when a CycloneDX document is made (or its file
# name asked), so cyclonedx-python-lib, which loads its whole model, is imported at the top.
from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import (
    Copyright,
    ExternalReference,
    ExternalReferenceType,
    HashAlgorithm,
    HashType,
    Property,
    XsUri,
)
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentScope, ComponentType
from cyclonedx.model.component_evidence import (
    AnalysisTechnique,
    ComponentEvidence,
    Identity,
    IdentityField,
    Method,
    Occurrence,
)
from cyclonedx.model.contact import OrganizationalEntity
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema.schema import SchemaVersion1Dot6
from packageurl import PackageURL

from verifier.formats import dependencies
from verifier.formats.interface import (
    FormatError,
    OutputFormat,
    RunData,
    origin_components,
    origin_files,
    text,
)

_ORIGIN_CLASSES = ("self", "third_party", "generated", "excluded", "unknown")


class CycloneDxFormat(OutputFormat):
    """CycloneDX 1.6 JSON with file-level origin and snippet evidence."""

    name = "cyclonedx"
    media_type = "application/vnd.cyclonedx+json"
    filename = "sbom.cdx.json"
    description = "CycloneDX 1.6 JSON SBOM: product with the origin ratio, components, files, snippet evidence"
    needs_run = False

    def render(self, data: RunData) -> bytes:
        """The CycloneDX 1.6 JSON document of ``data``."""
        bom = _build(data)
        with warnings.catch_warnings():  # a product without dependencies is complete as it is
            warnings.filterwarnings("ignore", message=".*has no defined dependencies", category=UserWarning)
            body = json.loads(JsonV1Dot6(bom).output_as_string())
        # the declared dependencies and CDN assets: each component by the library's own serializer, the
        # graph's entries (ref, dependsOn) written here (the library's bookkeeping is quadratic in
        # top-level components: 2,000 dependencies took 12 s through it, 2 s this way)
        used = _used(data)
        body.setdefault("components", []).extend(json.loads(c.as_json(view_=SchemaVersion1Dot6))
                                                 for c in used.components)
        graph = {entry["ref"]: list(entry.get("dependsOn") or []) for entry in body.get("dependencies") or []}
        graph.setdefault("product", [])
        graph["product"] += used.from_product
        for component in used.components:
            graph.setdefault(component.bom_ref.value, []).extend(used.graph.get(component.bom_ref.value, []))
        body["dependencies"] = [{"ref": ref, **({"dependsOn": sorted(set(refs))} if refs else {})}
                                for ref, refs in sorted(graph.items())]
        return (json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _ref(kind: str, key: str) -> str:
    return f"{kind}-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:20]}"


def _time(stamp: str) -> datetime:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{stamp!r}: not an ISO 8601 time for the document") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _build(data: RunData) -> Any:
    files = origin_files(data)
    project = data.project
    product = Component(
        type=ComponentType.APPLICATION, name=text(project.name), version=text(project.version) or None,
        bom_ref="product", supplier=OrganizationalEntity(name=text(project.applicant)) if project.applicant else None,
        description="The delivered product, as verifier measured it (self-developed code ratio per file)",
        properties=[Property(name=k, value=v) for k, v in _origin_properties(data)])
    tool = Component(type=ComponentType.APPLICATION, name="verifier", version=data.tool_version,
                     bom_ref="tool-verifier")

    def file_component(entry: Mapping[str, Any]) -> Any:
        hashes = []
        if re.fullmatch(r"[0-9a-f]{40}", str(entry.get("sha1") or "")):
            hashes.append(HashType(alg=HashAlgorithm.SHA_1, content=entry["sha1"]))
        if re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256") or "")):
            hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=entry["sha256"]))
        return Component(type=ComponentType.FILE, name=text(entry["path"]), bom_ref=_ref("file", entry["path"]),
                         hashes=hashes, properties=[Property(name=k, value=v) for k, v in _file_properties(entry)],
                         evidence=_file_evidence(entry))

    vendored = []
    in_component: set[str] = set()
    for comp in origin_components(data):
        path = comp.get("path")
        inside = [f for f in files if f.get("component") == path]
        in_component.update(f["path"] for f in inside)
        vendored.append(Component(
            type=ComponentType.LIBRARY, name=text(comp["name"]),
            version=text(comp["version"]) if comp.get("version") else None,
            bom_ref=_ref("component", f"{path}:{comp['name']}"), purl=_purl(comp.get("purl")),
            licenses=_licenses(comp.get("license")),
            description=text(f"vendored component at {path}/: {comp.get('reason', '')}"),
            properties=[Property(name="verifier:origin:path", value=text(path)),
                        Property(name="verifier:origin:lines", value=str(int(comp.get("lines") or 0))),
                        Property(name="verifier:origin:files", value=str(int(comp.get("files") or len(inside))))],
            components=[file_component(f) for f in inside]))
    product.components = [file_component(f) for f in files if f["path"] not in in_component]
    matched = _matched_components(files)
    bom = Bom(components=[*vendored, *matched],
              serial_number=uuid.uuid5(uuid.NAMESPACE_URL, "verifier-cyclonedx:" + _identity(data, files)),
              metadata=BomMetaData(component=product, timestamp=_time(data.created),
                                   tools=ToolRepository(components=[tool])))
    bom.register_dependency(product, [*vendored, *matched])  # the product's dependencies, none or some
    return bom


@dataclass(frozen=True)
class _Used:
    """What the product uses without holding it: the declared dependencies and CDN assets."""

    components: list[Any]
    graph: dict[str, list[str]]
    """bom-ref of a locked package -> bom-refs of what its lock file says it requires."""
    from_product: list[str]
    """bom-refs the product depends on."""


def _used(data: RunData) -> _Used:
    """The declared dependencies and CDN assets as components, and their dependency graph."""

    components = []
    graph: dict[str, list[str]] = {}
    from_product = []
    for dep in dependencies.declared(data):
        e = dep.entry
        props = [("verifier:dependency:scope", dep.scope),
                 ("verifier:dependency:declared_in", text(e.get("declared_in") or "")),
                 ("verifier:dependency:ecosystem", text(e.get("ecosystem") or ""))]
        if e.get("requirement"):
            props.append(("verifier:dependency:requirement", text(e["requirement"])))
        props.append(("verifier:dependency:registry", "false" if e.get("registry") is False else "true"))
        ref = _ref("dependency", dep.key)
        components.append(Component(
            type=ComponentType.LIBRARY, name=text(e["name"]), version=text(e["version"]) if e.get("version") else None,
            bom_ref=ref, purl=_purl(dep.purl), licenses=_licenses(e.get("license")),
            scope=ComponentScope.REQUIRED, description=dep.comment(),
            properties=[Property(name=k, value=v) for k, v in props]))
        if dep.from_product:
            from_product.append(ref)
        for parent in dep.parents:
            graph.setdefault(_ref("dependency", parent), []).append(ref)
    cdn = _cdn_components(data)
    return _Used(components=[*components, *cdn], graph=graph,
                 from_product=[*from_product, *(c.bom_ref.value for c in cdn)])


def _cdn_components(data: RunData) -> list[Any]:
    """The assets loaded from public CDNs, as components with their URL as the distribution."""

    out = []
    for asset in dependencies.cdn_assets(data):
        props = [Property(name="verifier:cdn:host", value=text(asset.host))]
        props += [Property(name="verifier:cdn:loaded_by", value=text(place))
                  for place in asset.places[:dependencies.MAX_PLACES]]
        out.append(Component(
            type=ComponentType.LIBRARY, name=text(asset.package or asset.url),
            version=text(asset.version) if asset.version else None, bom_ref=_ref("cdn", asset.key),
            purl=_purl(asset.purl), scope=ComponentScope.REQUIRED, description=asset.comment(),
            external_references=[ExternalReference(type=ExternalReferenceType.DISTRIBUTION,
                                                   url=XsUri(asset.location))],
            properties=props))
    return out


def _identity(data: RunData, files: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    if data.result is not None:
        digest.update(f"{data.result.run_id}\0{data.result.repository.tree_sha256}\0".encode())
    digest.update(data.created.encode())
    for f in files:
        digest.update(f"{f['path']}\0{f.get('sha256')}\0".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _purl(value: Any) -> Any:
    if not isinstance(value, str) or not value.startswith("pkg:"):
        return None
    try:
        return PackageURL.from_string(value)
    except ValueError:
        return None


def _licenses(expression: Any) -> list[Any]:
    """A license as CycloneDX states it: an SPDX id or expression, else its name as found."""

    if not isinstance(expression, str) or not expression.strip():
        return []
    return [LicenseFactory().make_from_string(text(expression))]


def _origin_properties(data: RunData) -> list[tuple[str, str]]:
    """The product's origin figures as (name, value) properties."""
    origin = data.origin or {}
    summary = data.result.origin if data.result is not None else None
    if not origin and summary is None:
        return []

    def pick(key: str) -> Any:
        return origin[key] if key in origin else getattr(summary, key, None)

    props = []
    for key in ("ratio", "ratio_without_tests", "threshold"):
        value = pick(key)
        props.append((f"verifier:origin:{key}", "n/a" if value is None else f"{float(value):.6f}"))
    passed = pick("passed")
    props.append(("verifier:origin:passed", "n/a" if passed is None else str(bool(passed)).lower()))
    props.append(("verifier:origin:ratio_rule", text(origin.get("ratio_rule") or
                                                     "self lines ÷ (self + third_party + generated + unknown "
                                                     "lines); excluded files do not count")))
    props.append(("verifier:origin:counting_rule", text(pick("counting") or "")))
    if origin.get("test_rule"):
        props.append(("verifier:origin:test_rule", text(origin["test_rule"])))
    totals = pick("totals") or {}
    for cls in _ORIGIN_CLASSES:
        row = totals.get(cls) or {}
        props.append((f"verifier:origin:lines:{cls}", str(int(row.get("lines") or 0))))
        props.append((f"verifier:origin:files:{cls}", str(int(row.get("files") or 0))))
    return props


def _file_properties(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    props = [("verifier:origin:class", text(entry.get("origin"))), ("verifier:origin:rule", text(entry.get("rule"))),
             ("verifier:origin:reason", text(entry.get("reason"))),
             ("verifier:origin:lines", str(int(entry.get("lines") or 0))),
             ("verifier:origin:kind", text(entry.get("kind"))),
             ("verifier:origin:test", "true" if entry.get("is_test") else "false")]
    if entry.get("matched_lines"):
        props.append(("verifier:origin:matched_lines", str(int(entry["matched_lines"]))))
    if entry.get("language"):
        props.append(("verifier:origin:language", text(entry["language"])))
    if entry.get("adjudicated"):
        props.append(("verifier:origin:adjudicated", "true"))
    return props


def _file_evidence(entry: Mapping[str, Any]) -> Any:
    """The licenses and copyright statements found in a file, as component evidence (None without)."""

    licenses = [lic for e in entry.get("licenses") or [] for lic in _licenses(e)]
    copyrights = [Copyright(text=text(c)) for c in entry.get("copyrights") or [] if str(c).strip()]
    if not licenses and not copyrights:
        return None
    return ComponentEvidence(licenses=licenses, copyright=copyrights)


def _matched_components(files: list[dict[str, Any]]) -> list[Any]:
    """One library component per knowledge-base component matched, its matched runs as evidence."""

    runs: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for entry in files:
        for match in entry.get("matches") or []:
            if isinstance(match, dict):
                key = (str(match.get("component") or "unknown"), str(match.get("version") or ""))
                runs.setdefault(key, []).append((entry["path"], match))
    out = []
    for (name, version), found in sorted(runs.items()):
        first = found[0][1]
        purl = _purl(first.get("purl"))
        occurrences = []
        for n, (path, match) in enumerate(found):
            start, end = match.get("start_line"), match.get("end_line")
            occurrences.append(Occurrence(
                bom_ref=_ref("occurrence", f"{name}:{version}:{path}:{n}:{start}"), location=text(path),
                line=start if isinstance(start, int) and start >= 0 else None,
                additional_context=text(f"lines {start}-{end} ({match.get('lines', 0)} effective lines) match "
                                        f"{match.get('matched_file') or '?'} lines {match.get('matched_start')}-"
                                        f"{match.get('matched_end')} of {name} {version}: counted third-party")))
        method = Method(technique=AnalysisTechnique.SOURCE_CODE_ANALYSIS, confidence=Decimal(1),
                        value="verifier kb: winnowing fingerprints of normalized source lines (comments, "
                              "whitespace and case ignored), runs of at least min_match_lines lines")
        identity = Identity(field=IdentityField.PURL if purl is not None else IdentityField.NAME,
                            confidence=Decimal(1), concluded_value=str(purl) if purl is not None else text(name),
                            methods=[method])
        out.append(Component(
            type=ComponentType.LIBRARY, name=text(name), version=text(version) or None,
            bom_ref=_ref("kb", f"{name}:{version}"), purl=purl, licenses=_licenses(first.get("license")),
            description="open-source component whose code matches lines of the delivered files "
                        "(snippet knowledge base)",
            evidence=ComponentEvidence(identity=[identity], occurrences=occurrences)))
    return out
