"""SPDX 2.3 JSON: the delivered product as a software bill of materials, down to files and snippets.

Made with spdx-tools (the SPDX project's own library: its model and its JSON converter). The tests
parse every document back with spdx-tools and run its full validation; rendering does not, because
that validation (and the converter's placement of annotations) is quadratic in the number of elements:
1,500 files took 25 s. Annotations are therefore converted one by one with spdx-tools' own converter and
placed on their files here, which keeps a 5,000-file document to seconds.

- the product is the described package (``SPDXRef-Product``): name and version from the task book,
  the applicant as supplier, the self-developed ratio and the counting rule in its comment, the
  repository commit and tree hash as its source information;
- each vendored component is a package (version, declared license, purl) the product CONTAINS, and
  that CONTAINS its files;
- every inventoried file: SHA-1 and SHA-256, the license expressions and copyright statements found
  in it (``NOASSERTION`` where detection did not look), its kind as file type, and its origin class
  (self / third_party / generated / excluded / unknown) with the rule and reason in its comment and
  in an annotation (``origin=…; rule=…; lines=…``);
- each knowledge-base match is a snippet of its file (byte and line range, the matched component's
  license) related to a package for the matched component (version, purl);
- each declared dependency (``verifier.formats.dependencies``) is a package (version, declared license
  or ``NOASSERTION``, purl, a comment saying direct or transitive and the declaring file): the product
  DEPENDS_ON a direct one; the packages its lock file says require a transitive one DEPENDS_ON it;
  one no lock file places is related to the product with a comment saying so;
- each asset loaded from a public CDN is a package downloaded from its URL (npm purl where the CDN
  serves npm packages) that the product DEPENDS_ON;
- a generated file named as protoc output of a ``.proto`` in the tree is GENERATED_FROM it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# This module is imported through its entry point only when an SPDX document is made (or its file
# name asked), so spdx-tools, which loads its license index in about a second, is imported at the top.
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx import model
from spdx_tools.spdx.jsonschema.annotation_converter import AnnotationConverter
from spdx_tools.spdx.jsonschema.document_converter import DocumentConverter
from spdx_tools.spdx.writer.write_utils import convert

from verifier.formats import dependencies
from verifier.formats.interface import (
    FormatError,
    OutputFormat,
    RunData,
    origin_components,
    origin_files,
    text,
)

#: file types by inventory kind
_FILE_TYPES = {"source": "SOURCE", "doc": "DOCUMENTATION", "binary": "BINARY", "data": "TEXT", "other": "OTHER"}
_LICENSE_REF = re.compile(r"^LicenseRef-[\da-zA-Z.-]+$")
_PROTOC = re.compile(r"^(?P<stem>.+?)(?:_pb2|_pb2_grpc|\.pb|_grpc\.pb|\.pb\.gw)\.(?:py|go|cc|h|js|ts)$")


class SpdxFormat(OutputFormat):
    """SPDX 2.3 JSON with file- and snippet-level origin."""

    name = "spdx"
    media_type = "application/spdx+json"
    filename = "sbom.spdx.json"
    description = "SPDX 2.3 JSON SBOM: product, vendored components, every file with its origin, snippets"
    needs_run = False

    def render(self, data: RunData) -> bytes:
        """The SPDX 2.3 JSON document of ``data``."""
        document = _Builder(data).document()
        annotations = document.annotations
        document.annotations = []
        body = convert(document, DocumentConverter())  # what convert(document, None) makes
        by_element: dict[str, list[Any]] = {}
        converter = AnnotationConverter()
        for annotation in annotations:
            by_element.setdefault(annotation.spdx_id, []).append(converter.convert(annotation))
        for element in body.get("files", []):
            if element["SPDXID"] in by_element:
                element["annotations"] = by_element[element["SPDXID"]]
        text_ = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True)
        return (text_ + "\n").encode("utf-8")


def _spdx_id(kind: str, key: str) -> str:
    """A stable SPDX identifier: the kind and a digest of what it names (letters, digits, '-' and '.')."""
    return f"SPDXRef-{kind}-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:20]}"


def _created(stamp: str) -> datetime:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError(f"{stamp!r}: not an ISO 8601 time for the document") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0)


class _Builder:
    """Builds the spdx-tools ``Document`` of one run's data."""

    def __init__(self, data: RunData) -> None:
        self.m = model
        self.data = data
        self.created = _created(data.created)
        self.tool = model.Actor(model.ActorType.TOOL, f"verifier-{data.tool_version}")
        self.extracted: dict[str, Any] = {}
        self.license_notes: list[str] = []

    # ------------------------------------------------------------------ licenses

    def license(self, expression: Any) -> Any:
        """An SPDX license expression as spdx-tools' value; LicenseRef-… symbols declared as extracted
        licensing info; None when ``expression`` is not a usable SPDX expression."""
        if not isinstance(expression, str) or not expression.strip():
            return None
        try:
            info = spdx_licensing.validate(expression)
            if info.errors and not info.invalid_symbols:
                return None
            for symbol in info.invalid_symbols:
                if not _LICENSE_REF.match(symbol):
                    return None
            parsed = spdx_licensing.parse(expression)
        except Exception:  # license_expression raises several kinds on bad text
            return None
        for symbol in info.invalid_symbols:
            self.extracted.setdefault(symbol, self.m.ExtractedLicensingInfo(
                license_id=symbol, license_name=symbol,
                extracted_text=f"License detected by scancode-toolkit as {symbol}; its text is not "
                               "reproduced in this document.",
                comment="scancode-toolkit license key outside the SPDX license list"))
        return parsed

    def licenses(self, expressions: Any) -> list[Any]:
        """The usable expressions of a list (None: NOASSERTION, empty: NONE)."""
        m = self.m
        if expressions is None:
            return [m.SpdxNoAssertion()]
        found = [lic for lic in (self.license(e) for e in expressions) if lic is not None]
        if expressions and not found:
            return [m.SpdxNoAssertion()]
        return found or [m.SpdxNone()]

    # ------------------------------------------------------------------ document

    def document(self) -> Any:
        m, data = self.m, self.data
        files = origin_files(data)
        components = origin_components(data)
        product = self.product(files)
        packages = [product]
        relationships = [m.Relationship("SPDXRef-DOCUMENT", m.RelationshipType.DESCRIBES, product.spdx_id)]
        owner_of: dict[str, str] = {}
        for comp in components:
            path = comp.get("path")
            package = self.component(comp, [f for f in files if f.get("component") == path])
            packages.append(package)
            relationships.append(m.Relationship(product.spdx_id, m.RelationshipType.CONTAINS, package.spdx_id))
            if isinstance(path, str):
                owner_of[path] = package.spdx_id
        spdx_files, annotations, snippets = [], [], []
        matched: dict[tuple[Any, ...], str] = {}
        ids = {f["path"]: _spdx_id("File", f["path"]) for f in files}
        for entry in files:
            spdx_file = self.file(entry, ids[entry["path"]])
            spdx_files.append(spdx_file)
            annotations.append(self.annotation(entry, spdx_file.spdx_id))
            parent = owner_of.get(entry.get("component") or "", product.spdx_id)
            relationships.append(m.Relationship(parent, m.RelationshipType.CONTAINS, spdx_file.spdx_id))
            for n, match in enumerate(entry.get("matches") or []):
                snippet, package = self.snippet(entry, spdx_file.spdx_id, n, match, matched)
                if snippet is None:
                    continue
                snippets.append(snippet)
                if package is not None:
                    packages.append(package)
                relationships.append(m.Relationship(
                    snippet.spdx_id, m.RelationshipType.OTHER, matched[_match_key(match)],
                    comment="a run of lines matching this knowledge-base component (snippet match)"))
        relationships += self.generated_from(files, ids)
        more, related = self.declared_dependencies(product.spdx_id)
        packages += more
        relationships += related
        comment = ("Made by verifier from the run's results.json and origin analysis." if data.result is not None
                   else "Made by verifier from an origin scan (verifier origin).")
        if self.license_notes:
            comment += " " + " ".join(sorted(set(self.license_notes)))
        info = m.CreationInfo(
            spdx_version="SPDX-2.3", spdx_id="SPDXRef-DOCUMENT",
            name=text(f"{data.project.name} {data.project.version}"),
            document_namespace=self.namespace(files), creators=[self.tool], created=self.created,
            creator_comment=comment)
        return m.Document(creation_info=info, packages=packages, files=spdx_files, snippets=snippets,
                          annotations=annotations, relationships=relationships,
                          extracted_licensing_info=[self.extracted[k] for k in sorted(self.extracted)])

    def namespace(self, files: list[dict[str, Any]]) -> str:
        """A unique, deterministic namespace: a UUID from the run id, tree hash and file hashes."""
        digest = hashlib.sha256()
        result = self.data.result
        if result is not None:
            digest.update(f"{result.run_id}\0{result.repository.tree_sha256}\0".encode())
        digest.update(self.data.created.encode())
        for f in files:
            digest.update(f"{f['path']}\0{f.get('sha256')}\0".encode("utf-8", "surrogateescape"))
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'verifier-spdx:' + digest.hexdigest())}"

    def product(self, files: list[dict[str, Any]]) -> Any:
        m, data = self.m, self.data
        project = data.project
        supplier = m.Actor(m.ActorType.ORGANIZATION, text(project.applicant)) if project.applicant else None
        return m.Package(
            spdx_id="SPDXRef-Product", name=text(project.name), version=text(project.version) or None,
            download_location=m.SpdxNoAssertion(), supplier=supplier, files_analyzed=bool(files),
            verification_code=_verification_code(m, files) if files else None,
            license_concluded=m.SpdxNoAssertion(), license_declared=m.SpdxNoAssertion(),
            copyright_text=m.SpdxNoAssertion(), primary_package_purpose=m.PackagePurpose.APPLICATION,
            source_info=self.source_info(), comment=self.ratio_comment(),
            summary="The delivered product, as verifier measured it (self-developed code ratio per file)")

    def source_info(self) -> str | None:
        result, origin = self.data.result, self.data.origin or {}
        if result is not None:
            repo = result.repository
            parts = [f"repository {text(repo.path)}"]
            if repo.commit:
                parts.append(f"git commit {repo.commit}" + (f" (subpath {text(repo.subpath)})" if repo.subpath else "")
                             + (", with uncommitted changes" if repo.dirty else ""))
            if repo.tree_sha256:
                parts.append(f"tree sha256 {repo.tree_sha256} ({repo.tree_hash_mode or 'all-files'})")
            return "; ".join(parts)
        source = origin.get("source") if isinstance(origin.get("source"), dict) else {}
        if not source:
            return None
        parts = [f"{text(source.get('kind'))} {text(source.get('given'))}"]
        if source.get("commit"):
            parts.append(f"git commit {text(source['commit'])}" + (", with uncommitted changes" if source.get("dirty") else ""))
        if source.get("archive_sha256"):
            parts.append(f"archive sha256 {text(source['archive_sha256'])}")
        return "; ".join(parts)

    def ratio_comment(self) -> str:
        origin = self.data.origin or {}
        summary = self.data.result.origin if self.data.result is not None else None
        ratio = origin.get("ratio", summary.ratio if summary is not None else None)
        threshold = origin.get("threshold", summary.threshold if summary is not None else None)
        without = origin.get("ratio_without_tests", summary.ratio_without_tests if summary is not None else None)
        counting = origin.get("counting", summary.counting if summary is not None else "")
        rule = origin.get("ratio_rule") or "self lines ÷ (self + third_party + generated + unknown lines)"
        return (f"Self-developed code ratio (自研代码率): {_pct(ratio)} (threshold {_pct(threshold)}; without test "
                f"code {_pct(without)}). Ratio: {text(rule)}. Counting rule: {text(counting)}")

    def component(self, comp: Mapping[str, Any], files: list[dict[str, Any]]) -> Any:
        m = self.m
        refs = []
        purl = comp.get("purl")
        if isinstance(purl, str) and purl.startswith("pkg:"):
            refs.append(m.ExternalPackageRef(m.ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", text(purl)))
        declared = self.license(comp.get("license"))
        if declared is None and comp.get("license"):
            self.license_notes.append("A component license that is not an SPDX expression is given in the "
                                      "package's license comment.")
        holders = [text(h) for h in comp.get("holders") or [] if isinstance(h, str)]
        return m.Package(
            spdx_id=_spdx_id("Package", f"component:{comp.get('path')}:{comp.get('name')}"),
            name=text(comp["name"]), version=text(comp["version"]) if comp.get("version") else None,
            download_location=m.SpdxNoAssertion(), files_analyzed=bool(files),
            verification_code=_verification_code(m, files) if files else None,
            license_concluded=m.SpdxNoAssertion(),
            license_declared=declared if declared is not None else m.SpdxNoAssertion(),
            license_comment=(f"declared license as found: {text(comp.get('license'))}"
                             if comp.get("license") and declared is None else None),
            copyright_text="\n".join(holders) if holders else m.SpdxNoAssertion(),
            external_references=refs, primary_package_purpose=m.PackagePurpose.LIBRARY,
            comment=text(f"vendored component at {comp.get('path')}/ ({comp.get('lines', 0)} effective lines in "
                         f"{comp.get('files', len(files))} files): {comp.get('reason', '')}"))

    def declared_dependencies(self, product_id: str) -> tuple[list[Any], list[Any]]:
        """Packages for the declared dependencies and CDN assets, and their DEPENDS_ON relationships."""
        m = self.m
        packages, relationships = [], []
        deps = dependencies.declared(self.data)
        ids = {d.key: _spdx_id("Package", f"dependency:{d.key}") for d in deps}
        for dep in deps:
            e = dep.entry
            refs = ([m.ExternalPackageRef(m.ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", dep.purl)]
                    if dep.purl else [])
            declared = self.license(e.get("license"))
            if declared is None and e.get("license"):
                self.license_notes.append("A dependency license that is not an SPDX expression is given in the "
                                          "package's license comment.")
            packages.append(m.Package(
                spdx_id=ids[dep.key], name=text(e["name"]), version=text(e["version"]) if e.get("version") else None,
                download_location=m.SpdxNoAssertion(), files_analyzed=False,
                license_concluded=m.SpdxNoAssertion(),
                license_declared=declared if declared is not None else m.SpdxNoAssertion(),
                license_comment=(f"declared license as found: {text(e.get('license'))}"
                                 if e.get("license") and declared is None else None),
                copyright_text=m.SpdxNoAssertion(), external_references=refs,
                primary_package_purpose=m.PackagePurpose.LIBRARY, comment=dep.comment()))
            if dep.from_product:
                relationships.append(m.Relationship(product_id, m.RelationshipType.DEPENDS_ON, ids[dep.key],
                                                    comment=text(dep.note) or None))
            relationships += [m.Relationship(ids[parent], m.RelationshipType.DEPENDS_ON, ids[dep.key])
                              for parent in dep.parents]
        for asset in dependencies.cdn_assets(self.data):
            spdx_id = _spdx_id("Package", asset.key)
            refs = ([m.ExternalPackageRef(m.ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", asset.purl)]
                    if asset.purl else [])
            packages.append(m.Package(
                spdx_id=spdx_id, name=text(asset.package or asset.url),
                version=text(asset.version) if asset.version else None, download_location=asset.location,
                files_analyzed=False, license_concluded=m.SpdxNoAssertion(), license_declared=m.SpdxNoAssertion(),
                copyright_text=m.SpdxNoAssertion(), external_references=refs,
                primary_package_purpose=m.PackagePurpose.LIBRARY, comment=asset.comment()))
            relationships.append(m.Relationship(product_id, m.RelationshipType.DEPENDS_ON, spdx_id,
                                                comment="loaded by the product's templates from a public CDN"))
        return packages, relationships

    def file(self, entry: Mapping[str, Any], spdx_id: str) -> Any:
        m = self.m
        checksums = []
        if isinstance(entry.get("sha1"), str) and re.fullmatch(r"[0-9a-f]{40}", entry["sha1"]):
            checksums.append(m.Checksum(m.ChecksumAlgorithm.SHA1, entry["sha1"]))
        else:
            raise FormatError(f"{text(entry['path'])}: the origin analysis has no SHA-1 for it (SPDX needs one "
                              "for every file); analyse the tree again with this verifier")
        if isinstance(entry.get("sha256"), str) and re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
            checksums.append(m.Checksum(m.ChecksumAlgorithm.SHA256, entry["sha256"]))
        copyrights = entry.get("copyrights")
        copyright_text = (m.SpdxNoAssertion() if copyrights is None else
                          "\n".join(text(c) for c in copyrights) if copyrights else m.SpdxNone())
        kind = str(entry.get("kind") or "other")
        return m.File(
            name="./" + text(entry["path"]), spdx_id=spdx_id, checksums=checksums,
            file_types=[getattr(m.FileType, _FILE_TYPES.get(kind, "OTHER"))],
            license_concluded=m.SpdxNoAssertion(),
            license_info_in_file=self.licenses(entry.get("licenses")),
            copyright_text=copyright_text, comment=_origin_comment(entry))

    def annotation(self, entry: Mapping[str, Any], spdx_id: str) -> Any:
        m = self.m
        fields = [f"origin={text(entry.get('origin'))}", f"rule={text(entry.get('rule'))}",
                  f"lines={int(entry.get('lines') or 0)}", f"matched_lines={int(entry.get('matched_lines') or 0)}",
                  f"test={'true' if entry.get('is_test') else 'false'}"]
        if entry.get("component"):
            fields.append(f"component={text(entry['component'])}")
        if entry.get("adjudicated"):
            fields.append("adjudicated=true")
        return m.Annotation(spdx_id, m.AnnotationType.OTHER, self.tool, self.created,
                            "verifier origin: " + "; ".join(fields))

    def snippet(self, entry: Mapping[str, Any], file_id: str, n: int, match: Any,
                matched: dict[tuple[str, str], str]) -> tuple[Any, Any]:
        """The snippet of one knowledge-base match, and the matched component's package when it is new."""
        m = self.m
        if not isinstance(match, dict):
            return None, None
        first, last = match.get("start_line"), match.get("end_line")
        start, end = match.get("start_byte"), match.get("end_byte")
        if not (isinstance(first, int) and isinstance(last, int) and isinstance(start, int) and isinstance(end, int)) \
                or min(first, last, start, end) < 1 or first > last or start > end:
            self.license_notes.append("Knowledge-base matches without byte offsets (an origin analysis made before "
                                      "verifier recorded them) are not listed as snippets.")
            return None, None
        key = _match_key(match)
        package = None
        if key not in matched:
            refs = []
            if isinstance(match.get("purl"), str) and match["purl"].startswith("pkg:"):
                refs.append(m.ExternalPackageRef(m.ExternalPackageRefCategory.PACKAGE_MANAGER, "purl",
                                                 text(match["purl"])))
            declared = self.license(match.get("license"))
            package = m.Package(
                spdx_id=_spdx_id("Package", f"kb:{key[0]}:{key[1]}"), name=text(key[0]),
                version=text(key[1]) if key[1] else None, download_location=m.SpdxNoAssertion(),
                files_analyzed=False, license_concluded=m.SpdxNoAssertion(),
                license_declared=declared if declared is not None else m.SpdxNoAssertion(),
                copyright_text=m.SpdxNoAssertion(), external_references=refs,
                primary_package_purpose=m.PackagePurpose.LIBRARY,
                comment="open-source component of the snippet knowledge base (verifier kb) whose code "
                        "matches lines of the delivered files")
            matched[key] = package.spdx_id
        license_in = self.license(match.get("license"))
        return m.Snippet(
            spdx_id=_spdx_id("Snippet", f"{entry['path']}:{n}:{first}-{last}"), file_spdx_id=file_id,
            byte_range=(start, end), line_range=(first, last),
            license_concluded=m.SpdxNoAssertion(),
            license_info_in_snippet=[license_in] if license_in is not None else [m.SpdxNoAssertion()],
            copyright_text=m.SpdxNoAssertion(), name=text(key[0]),
            comment=text(f"lines {first}-{last} ({match.get('lines', 0)} effective lines) match "
                         f"{key[0]} {key[1] or ''} file {match.get('matched_file') or '?'} lines "
                         f"{match.get('matched_start')}-{match.get('matched_end')}: counted third-party")), package

    def generated_from(self, files: list[dict[str, Any]], ids: Mapping[str, str]) -> list[Any]:
        """GENERATED_FROM for generated files named as protoc output of a .proto in the same tree."""
        m = self.m
        protos: dict[str, list[str]] = {}
        for f in files:
            if f["path"].endswith(".proto"):
                protos.setdefault(f["path"].rsplit("/", 1)[-1][:-6], []).append(f["path"])
        out = []
        for f in files:
            if f.get("origin") != "generated":
                continue
            found = _PROTOC.match(f["path"].rsplit("/", 1)[-1])
            candidates = protos.get(found.group("stem"), []) if found else []
            if len(candidates) == 1:
                out.append(m.Relationship(ids[f["path"]], m.RelationshipType.GENERATED_FROM, ids[candidates[0]],
                                          comment="by name: protoc output of this .proto file"))
        return out


def _match_key(match: Mapping[str, Any]) -> tuple[str, str]:
    return str(match.get("component") or "unknown"), str(match.get("version") or "")


def _verification_code(m: Any, files: Iterable[Mapping[str, Any]]) -> Any:
    """SPDX's package verification code: SHA-1 of the sorted SHA-1s of the package's files."""
    sha1s = sorted(str(f.get("sha1") or "") for f in files)
    return m.PackageVerificationCode(hashlib.sha1("".join(sha1s).encode("ascii"), usedforsecurity=False).hexdigest())


def _origin_comment(entry: Mapping[str, Any]) -> str:
    parts = [f"verifier origin: {entry.get('origin')} (rule {entry.get('rule')}): {entry.get('reason') or ''}",
             f"{int(entry.get('lines') or 0)} effective lines"]
    if entry.get("matched_lines"):
        parts.append(f"{entry['matched_lines']} of them matched in open-source code (counted third-party)")
    if entry.get("is_test"):
        parts.append("test code")
    evidence = [e for e in entry.get("evidence") or [] if isinstance(e, str)]
    if evidence:
        parts.append("evidence: " + " | ".join(evidence[:10]))
    return text("; ".join(parts))


def _pct(value: Any) -> str:
    return f"{value * 100:.2f}%" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"
