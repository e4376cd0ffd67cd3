"""in-toto attestations of a bundle: a Statement (v1) over the bundle's files, signed in a DSSE envelope.

``verifier bundle --attestation --sign KEY`` adds ``attestation.intoto.jsonl`` to the bundle: one line
holding a DSSE envelope (payload type ``application/vnd.in-toto+json``) whose payload is an in-toto
Statement v1:

- ``subject``: every file of the bundle's ``run/`` folder (the files the manifest lists), by its
  name in the zip and its sha256 digest;
- ``predicateType``: ``PREDICATE_TYPE``, verifier's own: the predicate is ``{"results": …}``, the
  run's results.json as JSON (verdict, score, gates, every indicator with value, target, status,
  evidence), plus ``verifier_version``, ``run_id`` and ``bundle_format``.

The envelope is signed with the same Ed25519 key as the manifest, through securesystemslib (the
in-toto project's signing library: its DSSE ``Envelope`` and ``CryptoSigner``); the signature's key id
is securesystemslib's default for that key, so any in-toto tooling given the public key (PEM) verifies
it offline: ``securesystemslib.dsse.Envelope.from_dict(json).verify([SSlibKey.from_crypto(pub)], 1)``,
or ``in_toto.models.metadata.Metadata.load(path).verify_signature(key_dict)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from verifier.consistency import Check

#: the member of a bundle that holds the attestation (in-toto's JSON Lines bundle naming)
ATTESTATION = "attestation.intoto.jsonl"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
#: verifier's predicate: the results of an acceptance run (results.json), version 1
PREDICATE_TYPE = "urn:verifier:predicate:acceptance-run:v1"
#: the largest attestation verify reads
MAX_ATTESTATION_BYTES = 512 << 20


def statement(subjects: Mapping[str, str], results: Mapping[str, Any], *, verifier_version: str,
              bundle_format: str) -> dict[str, Any]:
    """The in-toto Statement v1 over ``subjects`` (name -> sha256 hex) with ``results`` as predicate."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": subjects[name]}} for name in sorted(subjects)],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"bundle_format": bundle_format, "verifier_version": verifier_version,
                      "run_id": results.get("run_id"), "results": dict(results)},
    }


def sign_statement(stmt: Mapping[str, Any], private_key: Any) -> bytes:
    """``stmt`` in a DSSE envelope signed with the Ed25519 ``private_key`` (cryptography's): one JSON
    line. Ed25519 signatures are deterministic, so the same statement and key give the same bytes."""

    payload = json.dumps(stmt, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8", "surrogateescape")
    envelope = Envelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    envelope.sign(CryptoSigner(private_key))
    return json.dumps(envelope.to_dict(), sort_keys=True, separators=(",", ":")).encode("ascii") + b"\n"


def key_id(public_key: Any) -> str:
    """securesystemslib's default key id of an Ed25519 public key (what the envelope's signature names)."""

    return SSlibKey.from_crypto(public_key).keyid


def check_attestation(raw: bytes | None, problem: str | None, *, files: Mapping[str, str],
                      results: Any, public_key: Any) -> list[Check]:
    """Checks of a bundle's attestation: a DSSE envelope of an in-toto Statement v1 whose subjects are
    exactly the bundle's run files with their sha256 (``files``: name -> sha256), whose predicate holds
    ``results`` (results.json as parsed), and, given ``public_key``, whose signature is that key's."""

    if raw is None:
        return [Check(False, f"attestation: {problem or 'unreadable'}")]
    try:
        lines = [line for line in raw.decode("utf-8").splitlines() if line.strip()]
        if len(lines) != 1:
            raise ValueError(f"{len(lines)} envelopes, expected one")
        envelope = Envelope.from_dict(json.loads(lines[0]))
        stmt = json.loads(envelope.payload.decode("utf-8", "surrogateescape"))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as err:
        return [Check(False, f"attestation: not a DSSE envelope of a JSON statement ({err})")]
    checks = []
    if envelope.payload_type != PAYLOAD_TYPE:
        checks.append(Check(False, f"attestation: payload type {envelope.payload_type!r}, not {PAYLOAD_TYPE}"))
    if not isinstance(stmt, dict) or stmt.get("_type") != STATEMENT_TYPE or stmt.get("predicateType") != PREDICATE_TYPE:
        return checks + [Check(False, f"attestation: not an in-toto Statement v1 with predicate {PREDICATE_TYPE}")]
    subjects = {}
    for item in stmt.get("subject") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("digest"), dict):
            subjects[item["name"]] = item["digest"].get("sha256")
    if subjects == dict(files):
        checks.append(Check(True, f"attestation: its {len(subjects)} subjects are the bundle's files, "
                                  "each with the sha256 the manifest lists"))
    else:
        differ = sorted(n for n in set(subjects) | set(files) if subjects.get(n) != files.get(n))
        shown = ", ".join(differ[:5]) + (f" and {len(differ) - 5} more" if len(differ) > 5 else "")
        checks.append(Check(False, f"attestation: subjects differ from the bundle's files ({shown})"))
    predicate = stmt.get("predicate")
    if not isinstance(predicate, dict):
        predicate = {}
    if results is not None and predicate.get("results") == results:
        checks.append(Check(True, "attestation: its predicate holds the bundled results.json"))
    else:
        checks.append(Check(False, "attestation: its predicate's results differ from the bundled results.json"))
    if public_key is None:
        checks.append(Check(None, "attestation signature: present, not checked (give --key PUB to check it)"))
        return checks
    key = SSlibKey.from_crypto(public_key)
    try:
        envelope.verify([key], 1)
    except (VerificationError, ValueError) as err:
        checks.append(Check(False, f"attestation signature: NOT a valid DSSE signature by key {key.keyid[:16]}… "
                                   f"({str(err).splitlines()[0] if str(err) else type(err).__name__})"))
    else:
        checks.append(Check(True, f"attestation signature: valid DSSE (Ed25519) signature by key {key.keyid[:16]}…"))
    return checks


def subjects_of(files: list[dict[str, Any]]) -> dict[str, str]:
    """The manifest's file entries as attestation subjects: name -> sha256."""
    return {f["path"]: f["sha256"] for f in files}


def digest(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
