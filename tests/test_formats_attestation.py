"""`verifier bundle --attestation`: an in-toto Statement v1 over the bundle's files in a DSSE envelope,
verified by `verify` and by the in-toto tooling (in-toto's metadata model, securesystemslib's DSSE)
with the public key alone; a tampered attestation fails `verify`."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from support.bundle_runs import PASSING, git_delivery, real_run, spec_text
from verifier.attestation import ATTESTATION, PREDICATE_TYPE, sign_statement
from verifier.signing import load_private_key, load_public_key

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def attested(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A real run's bundle with an attestation, its public key and the run directory."""
    from click.testing import CliRunner

    from verifier.cli import main

    root = tmp_path_factory.mktemp("attested")
    repo = git_delivery(root / "repo", spec_text(PASSING))
    run, _ = real_run(repo / "acceptance.yaml", root / "run")
    runner = CliRunner()
    assert runner.invoke(main, ["keygen", "-o", str(root / "agency")]).exit_code == 0
    made = runner.invoke(main, ["bundle", str(run), "-o", str(root / "b.zip"), "--sign", str(root / "agency.key"),
                                "--attestation"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    return root / "b.zip", root / "agency.pub", run


def _envelope(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as zf:
        lines = zf.read(ATTESTATION).decode("utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_the_in_toto_tooling_verifies_the_attestation_with_the_public_key(attested):
    from in_toto.models.metadata import Envelope as InTotoEnvelope
    from in_toto.models.metadata import Metadata
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    bundle, pub, _ = attested
    key = SSlibKey.from_crypto(load_public_key(pub))
    envelope = Metadata.from_dict(_envelope(bundle))  # in-toto's own reader of DSSE metadata
    assert isinstance(envelope, InTotoEnvelope)
    envelope.verify_signature({**key.to_dict(), "keyid": key.keyid})  # raises when it does not verify
    plain = Envelope.from_dict(_envelope(bundle))
    assert key.keyid in plain.verify([key], 1)
    statement = json.loads(plain.payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    with zipfile.ZipFile(bundle) as zf:
        members = {n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist() if n.startswith("run/")}
        results = json.loads(zf.read("run/results.json"))
    assert {s["name"]: s["digest"]["sha256"] for s in statement["subject"]} == members
    assert statement["predicate"]["results"] == results


def test_verify_checks_the_attestation(attested, cli):
    bundle, pub, _ = attested
    result = cli("verify", bundle, "--key", pub)
    assert result.exit_code == 0, result.output
    assert "OK   attestation: its " in result.output and "OK   attestation signature: valid DSSE" in result.output
    other = cli("keygen", "-o", bundle.parent / "other")
    assert other.exit_code == 0
    wrong = cli("verify", bundle, "--key", bundle.parent / "other.pub")
    assert wrong.exit_code == 1 and "FAIL attestation signature: NOT a valid DSSE signature" in wrong.output


def _rewrite(bundle: Path, out: Path, replace: dict[str, bytes]) -> None:
    """``bundle`` copied to ``out`` with some members' bytes replaced (same names, same order)."""
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info, replace.get(info.filename, src.read(info.filename)))


def test_a_tampered_attestation_fails_verify(attested, cli, tmp_path):
    bundle, pub, _ = attested
    envelope = _envelope(bundle)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["results"]["verdict"] = "fail"  # a statement saying something else
    # 1. the payload edited, the signature kept
    forged = dict(envelope, payload=base64.b64encode(json.dumps(statement).encode()).decode())
    edited = tmp_path / "edited.zip"
    _rewrite(bundle, edited, {ATTESTATION: (json.dumps(forged) + "\n").encode()})
    result = cli("verify", edited, "--key", pub)
    assert result.exit_code == 1
    assert "FAIL attestation: attestation.intoto.jsonl's sha256 differs from the manifest's" in result.output
    assert "FAIL attestation signature: NOT a valid DSSE signature" in result.output
    assert "FAIL attestation: its predicate's results differ from the bundled results.json" in result.output
    # 2. re-signed with another key: the signature does not verify with the agency's key
    cli("keygen", "-o", tmp_path / "mallory")
    resigned = sign_statement(statement, load_private_key(tmp_path / "mallory.key"))
    swapped = tmp_path / "swapped.zip"
    _rewrite(bundle, swapped, {ATTESTATION: resigned})
    result = cli("verify", swapped, "--key", pub)
    assert result.exit_code == 1 and "FAIL attestation signature: NOT a valid DSSE signature" in result.output


def test_an_attestation_needs_a_signing_key(attested, cli, tmp_path):
    _, _, run = attested
    result = cli("bundle", run, "-o", tmp_path / "x.zip", "--attestation")
    assert result.exit_code == 2
    assert "give --sign KEY with --attestation" in result.output
    assert not (tmp_path / "x.zip").exists()
