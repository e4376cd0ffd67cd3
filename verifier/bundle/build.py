"""Packing a run into a bundle: results, evidence and rendered reports, with a manifest of hashes,
optionally signed — refused when results.json disagrees with what the run's own data recomputes."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verifier import __version__
from verifier.attestation import PREDICATE_TYPE, sign_statement, statement, subjects_of
from verifier.bundle.manifest import (
    ATTESTATION,
    FORMAT,
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    HashingSink,
    entry_of,
    manifest_repository,
    signature_bytes,
    write_canonical,
)
from verifier.bundle.reports import BUNDLE_REPORTS, render_bundle_report
from verifier.consistency import Check, check_run
from verifier.errors import InputError
from verifier.evidence import canonical_json, sha256_file
from verifier.formats.bundled import bundle_documents
from verifier.report import load_run
from verifier.results import RunResult
from verifier.run_files import RunFiles, is_report, run_dir_files
from verifier.signing import fingerprint, load_private_key


@dataclass(frozen=True)
class BundleInfo:
    """What ``build_bundle`` wrote."""

    path: Path
    files: int
    """Number of payload files (everything but the manifest and signature)."""
    sha256: str
    """sha256 of the bundle file."""
    signed_by: str | None
    """Fingerprint of the signing key, when signed."""
    rendered: tuple[str, ...]
    """The reports rendered into the bundle from the run's data (``BUNDLE_REPORTS``)."""
    left_out: tuple[str, ...] = ()
    """Report files found in the run directory and not packed (a bundle's reports are rendered)."""
    documents: tuple[str, ...] = ()
    """The standard documents (SPDX, CycloneDX, SARIF, JUnit) rendered into the bundle from the run's data."""
    attestation: str | None = None
    """The in-toto attestation's member name, when one was added."""


def build_bundle(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 key_path: str | os.PathLike[str] | None = None, attestation: bool = False) -> BundleInfo:
    """Pack ``run_dir`` (results, evidence) and its reports with a manifest into the zip ``out``,
    optionally signed.

    ``InputError`` when results.json disagrees with what the run's own data recomputes (see
    ``verifier.consistency``): a forged verdict, score, status or gate is never packed.

    The reports (``BUNDLE_REPORTS``) are rendered here from the packed results.json and files; report
    files found in the run directory (``verifier.run_files.is_report``) are never packed, so that
    ``verify_bundle`` can re-render each report and compare it byte for byte. Links inside the run
    directory are not packed.
    """
    run = Path(run_dir)
    result = load_run(run)
    wrong = [c.what.removeprefix("results.json: ") for c in _run_consistency(run, result) if c.ok is False]
    if wrong:
        more = f"; and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise InputError(f"{run}: results.json does not agree with the run's own data, not bundled: "
                         f"{'; '.join(wrong[:5])}{more}")
    if attestation and key_path is None:
        raise InputError("an attestation is signed with the bundle's key: give --sign KEY with --attestation")
    key = load_private_key(key_path) if key_path is not None else None
    out_path = Path(out)
    if out_path.resolve().is_relative_to(run.resolve()):
        raise InputError(f"{out_path}: the bundle must be written outside the run directory {run}")
    found = run_dir_files(run)
    left_out = tuple(rel for rel in found if is_report(rel))
    evidence = RunFiles.from_dir(run, [rel for rel in found if not is_report(rel)])
    payload: dict[str, bytes | Path] = {rel: run / rel for rel in evidence.entries}
    for lang, rel in BUNDLE_REPORTS:
        payload[rel] = render_bundle_report(result, evidence, lang)
    documents, _ = bundle_documents(result, evidence)
    payload.update(documents)
    files = []
    for rel in sorted(payload):
        src = payload[rel]
        if isinstance(src, bytes):
            files.append({"path": PAYLOAD + rel, "sha256": hashlib.sha256(src).hexdigest(), "size": len(src)})
        else:
            entry = evidence.entries[rel]
            files.append({"path": PAYLOAD + rel, "sha256": entry.sha256, "size": entry.size})
    tools = {"verifier": __version__, **dict(sorted(result.environment.tools.items()))}
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "verifier_version": __version__,
        "run_id": result.run_id,
        "project": {"name": result.project.name, "version": result.project.version,
                    "applicant": result.project.applicant},
        "verdict": result.verdict,
        "score": result.score.value,
        "spec": {"path": result.spec_path, "sha256": result.spec_sha256},
        "repository": manifest_repository(result.repository),
        "tools": tools,
        "files": files,
    }
    attested = _attestation(run / "results.json", files, key) if attestation else None
    if attested is not None:
        manifest["attestation"] = attested[1]
    manifest_bytes = canonical_json(manifest).encode("utf-8")
    members: list[tuple[str, bytes | Path]] = [(MANIFEST, manifest_bytes)]
    signed_by = None
    if key is not None:
        signed_by = fingerprint(key.public_key())
        members.append((SIGNATURE, signature_bytes(manifest_bytes, key)))
    if attested is not None:
        members.append((ATTESTATION, attested[0]))
    members += [(PAYLOAD + rel, payload[rel]) for rel in sorted(payload)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write_canonical(HashingSink(handle), (entry_of(name, src) for name, src in members))
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return BundleInfo(path=out_path, files=len(files), sha256=sha256_file(out_path), signed_by=signed_by,
                      rendered=tuple(rel for _, rel in BUNDLE_REPORTS), left_out=left_out,
                      documents=tuple(sorted(documents)),
                      attestation=ATTESTATION if attested is not None else None)


def _attestation(results_path: Path, files: list[dict[str, Any]], key: Any) -> tuple[bytes, dict[str, Any]]:
    """The signed in-toto attestation of the bundle's files (``verifier.attestation``) and its manifest entry."""
    try:
        results = json.loads(results_path.read_bytes())
    except (OSError, ValueError) as err:
        raise InputError(f"{results_path}: unreadable for the attestation ({err})") from None
    envelope = sign_statement(statement(subjects_of(files), results, verifier_version=__version__,
                                        bundle_format=FORMAT), key)
    return envelope, {"path": ATTESTATION, "sha256": hashlib.sha256(envelope).hexdigest(),
                      "size": len(envelope), "predicate_type": PREDICATE_TYPE}


def _run_consistency(run: Path, result: RunResult) -> list[Check]:
    """``verifier.consistency.check_run`` on a run directory's results, spec.yaml and origin.json."""
    spec_path = run / "spec.yaml"
    spec_bytes = spec_path.read_bytes() if spec_path.is_file() and not spec_path.is_symlink() else None
    origin_json = None
    files_path = result.origin.files_path if result.origin is not None else None
    if files_path:
        origin_path = run / files_path
        if origin_path.resolve().is_relative_to(run.resolve()) and origin_path.is_file():
            try:
                origin_json = json.loads(origin_path.read_text("utf-8"))
            except (OSError, ValueError):
                origin_json = None
    waivers_bytes = None
    if result.waivers is not None:
        copy = run / result.waivers.path
        if copy.resolve().is_relative_to(run.resolve()) and copy.is_file() and not copy.is_symlink():
            waivers_bytes = copy.read_bytes()
    return check_run(result, spec_bytes, origin_json=origin_json, waivers_bytes=waivers_bytes)
