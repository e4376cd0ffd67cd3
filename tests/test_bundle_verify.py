"""Bundles and their verification: every kind of tampering is caught, bad input is exit 2."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.bundle_runs import FAILING, git_delivery, real_run, spec_text
from support.bundle_runs import git as _git
from verifier.bundle import MANIFEST, SIGNATURE, build_bundle, verify_bundle
from verifier.cli import main
from verifier.errors import InputError
from verifier.repository import tree_hash
from verifier.signing import load_public_key, write_keypair


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    a = write_keypair(root / "agency")
    b = write_keypair(root / "other")
    return {"a_key": a[0], "a_pub": a[1], "b_key": b[0], "b_pub": b[1]}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A small git repository (the audited failing delivery)."""
    return git_delivery(tmp_path_factory.mktemp("repo") / "delivery", spec_text(FAILING))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, repo):
    """A real run of ``repo``: it records the commit and tree hash."""
    run, _ = real_run(repo / "acceptance.yaml", tmp_path_factory.mktemp("run") / "run")
    return run


@pytest.fixture(scope="module")
def signed_bundle(tmp_path_factory, keys, run_dir):
    out = tmp_path_factory.mktemp("bundle") / "bundle.zip"
    build_bundle(run_dir, out, key_path=keys["a_key"])
    return out


def _failed(checks) -> list[str]:
    return [c.what for c in checks if c.ok is False]


def _copy(src: Path, tmp_path: Path, name: str = "copy.zip") -> Path:
    dst = tmp_path / name
    shutil.copyfile(src, dst)
    return dst


def test_a_fresh_signed_bundle_verifies_with_repo(signed_bundle, keys, repo):
    checks = verify_bundle(signed_bundle, public_key=load_public_key(keys["a_pub"]), repo=repo)
    assert _failed(checks) == []
    text = "\n".join(c.what for c in checks)
    assert "signature: valid" in text and "tree hash" in text and "commit" in text
    with zipfile.ZipFile(signed_bundle) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read(MANIFEST))
    assert names[:2] == [MANIFEST, SIGNATURE]
    assert "run/results.json" in names and "run/reports/report.zh.html" in names
    assert "run/reports/report.en.html" in names and "run/origin/origin.json" in names
    assert "run/spec.yaml" in names
    assert manifest["repository"]["commit"] == _git(repo, "rev-parse", "HEAD")
    assert manifest["repository"]["tree_sha256"] == tree_hash(repo, "git-tracked")
    assert manifest["repository"]["tree_hash_mode"] == "git-tracked"
    assert manifest["spec"]["sha256"] == hashlib.sha256((repo / "acceptance.yaml").read_bytes()).hexdigest()
    assert manifest["verdict"] == "fail" and manifest["score"] == 60
    assert {f["path"] for f in manifest["files"]} == set(names) - {MANIFEST, SIGNATURE}


def test_one_changed_byte_anywhere_is_caught(signed_bundle, keys, tmp_path):
    data = signed_bundle.read_bytes()
    key = load_public_key(keys["a_pub"])
    # every member's data, every header and the central directory: a spread of offsets plus the tail
    offsets = sorted(set(range(0, len(data), max(1, len(data) // 150))) | set(range(len(data) - 120, len(data))))
    target = tmp_path / "tampered.zip"
    for offset in offsets:
        changed = bytearray(data)
        changed[offset] ^= 0x01
        target.write_bytes(bytes(changed))
        try:
            checks = verify_bundle(target, public_key=key)
        except InputError:
            continue  # caught: not a readable bundle any more
        assert _failed(checks), f"a changed byte at offset {offset} went unnoticed"


def test_a_consistently_edited_manifest_is_caught_by_the_signature(signed_bundle, keys, tmp_path):
    """Rewriting the manifest so it matches edited content defeats hashes, not the signature."""
    out = tmp_path / "forged.zip"
    with zipfile.ZipFile(signed_bundle) as src, zipfile.ZipFile(out, "w") as dst:
        manifest = json.loads(src.read(MANIFEST))
        data = json.loads(src.read("run/results.json"))
        data["verdict"] = "pass"
        results = json.dumps(data, ensure_ascii=False).encode("utf-8")
        for f in manifest["files"]:
            if f["path"] == "run/results.json":
                f["sha256"], f["size"] = hashlib.sha256(results).hexdigest(), len(results)
        for info in src.infolist():
            if info.filename == MANIFEST:
                dst.writestr(info, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
            elif info.filename == "run/results.json":
                dst.writestr(info, results)
            else:
                dst.writestr(info, src.read(info))
    failed = _failed(verify_bundle(out, public_key=load_public_key(keys["a_pub"])))
    assert any(f.startswith("signature: NOT a valid") for f in failed)


def test_a_file_added_is_caught(signed_bundle, tmp_path):
    target = _copy(signed_bundle, tmp_path)
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("run/evidence/extra.txt", "planted")
    failed = _failed(verify_bundle(target))
    assert "file run/evidence/extra.txt: in the bundle, not in the manifest (added)" in failed


def test_a_file_removed_is_caught(signed_bundle, tmp_path):
    target = tmp_path / "removed.zip"
    with zipfile.ZipFile(signed_bundle) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename != "run/evidence/S1/command.stdout.txt":
                dst.writestr(info, src.read(info))
    failed = _failed(verify_bundle(target))
    assert "file run/evidence/S1/command.stdout.txt: listed in the manifest, missing from the bundle" in failed


def test_a_changed_file_with_a_fixed_crc_is_caught(signed_bundle, tmp_path):
    target = tmp_path / "edited.zip"
    with zipfile.ZipFile(signed_bundle) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "run/evidence/F1/command.stdout.txt":
                data = data.replace(b"100", b"101")
            dst.writestr(info, data)
    failed = _failed(verify_bundle(target))
    assert any(f.startswith("file run/evidence/F1/command.stdout.txt: sha256") for f in failed)


def test_the_wrong_key_and_a_swapped_signature_are_caught(signed_bundle, keys, run_dir, tmp_path):
    failed = _failed(verify_bundle(signed_bundle, public_key=load_public_key(keys["b_pub"])))
    assert any(f.startswith("signature: NOT a valid") for f in failed)
    # a signature made by the other key over the same run, swapped in
    other = tmp_path / "other.zip"
    build_bundle(run_dir, other, key_path=keys["b_key"])
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(signed_bundle) as src, zipfile.ZipFile(other) as donor, \
            zipfile.ZipFile(swapped, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, donor.read(SIGNATURE) if info.filename == SIGNATURE else src.read(info))
    for pub in (keys["a_pub"], keys["b_pub"]):
        failed = _failed(verify_bundle(swapped, public_key=load_public_key(pub)))
        assert any(f.startswith("signature: NOT a valid") for f in failed), pub


def test_an_unsigned_bundle_fails_when_a_key_is_required(tmp_path, keys, run_dir):
    out = tmp_path / "unsigned.zip"
    build_bundle(run_dir, out)
    assert _failed(verify_bundle(out)) == []
    assert _failed(verify_bundle(out, public_key=load_public_key(keys["a_pub"]))) == [
        "signature: the bundle is not signed, but a key was given"]


def test_a_changed_repository_is_caught(signed_bundle, repo, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(repo, clone, symlinks=True)
    assert _failed(verify_bundle(signed_bundle, repo=clone)) == []
    (clone / "stock" / "core.py").write_text("def add(stock, delta):\n    return stock - delta\n")
    failed = _failed(verify_bundle(signed_bundle, repo=clone))
    assert len(failed) == 2 and failed[0].startswith("repository tree hash:")
    assert failed[1] == "repository files: changed 1: stock/core.py"  # named, from the run's per-file record
    _git(clone, "commit", "-q", "-am", "change")
    failed = _failed(verify_bundle(signed_bundle, repo=clone))
    assert [f.split(":")[0] for f in failed] == ["repository commit", "repository tree hash", "repository files"]


def test_tree_hash_definition(tmp_path):
    repo = tmp_path / "r"
    (repo / "a" / "b").mkdir(parents=True)
    (repo / "a" / "b" / "x.txt").write_bytes(b"x")
    (repo / "y.txt").write_bytes(b"y")
    first = tree_hash(repo)
    assert len(first) == 64
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref")
    (repo / "empty").mkdir()
    os.utime(repo / "y.txt", (0, 0))
    os.chmod(repo / "y.txt", 0o600)
    assert tree_hash(repo) == first  # .git, empty dirs, mtimes and modes do not count
    (repo / "y.txt").rename(repo / "z.txt")
    assert tree_hash(repo) != first  # names count
    (repo / "z.txt").rename(repo / "y.txt")
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret")
    os.symlink(outside, repo / "link")
    with_link = tree_hash(repo)
    assert with_link != first
    outside.write_bytes(b"changed")  # links are hashed by target text, never followed
    assert tree_hash(repo) == with_link


def test_unsafe_members_are_reported_not_extracted(signed_bundle, tmp_path):
    target = _copy(signed_bundle, tmp_path)
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("../escape.txt", "x")
        link = zipfile.ZipInfo("run/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    failed = _failed(verify_bundle(target))
    assert any("'../escape.txt': unsafe name" in f for f in failed)
    assert any("'run/link': a symbolic link" in f for f in failed)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_cli_exit_codes(signed_bundle, keys, repo, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(signed_bundle), "--key", str(keys["a_pub"]), "--repo", str(repo)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("OK ") >= 6 and "everything checked holds" in ok.output
    bad = runner.invoke(main, ["verify", str(signed_bundle), "--key", str(keys["b_pub"])])
    assert bad.exit_code == 1 and "FAIL signature: NOT a valid" in bad.output
    not_zip = tmp_path / "not.zip"
    not_zip.write_text("hello")
    result = runner.invoke(main, ["verify", str(not_zip)])
    assert result.exit_code == 2 and "not a readable zip" in result.output
    no_manifest = tmp_path / "empty.zip"
    with zipfile.ZipFile(no_manifest, "w") as zf:
        zf.writestr("x.txt", "x")
    result = runner.invoke(main, ["verify", str(no_manifest)])
    assert result.exit_code == 2 and "no manifest.json" in result.output
    bad_key = tmp_path / "bad.pub"
    bad_key.write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    result = runner.invoke(main, ["verify", str(signed_bundle), "--key", str(bad_key)])
    assert result.exit_code == 2 and "bad.pub: not a PEM public key" in result.output
    result = runner.invoke(main, ["verify", str(signed_bundle), "--key", str(keys["a_key"])])
    assert result.exit_code == 2  # a private key is not a public key file
    assert "Traceback" not in result.output


def test_cli_keygen_and_bundle(tmp_path, run_dir):
    runner = CliRunner()
    result = runner.invoke(main, ["keygen", "-o", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" in (tmp_path / "k.key").read_text()
    again = runner.invoke(main, ["keygen", "-o", str(tmp_path / "k")])
    assert again.exit_code == 2 and "already exists" in again.output
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    out = tmp_path / "b.zip"
    result = runner.invoke(main, ["bundle", str(run), "-o", str(out), "--sign", str(tmp_path / "k.key")])
    assert result.exit_code == 0, result.output
    assert "signed by sha256:" in result.output
    result = runner.invoke(main, ["verify", str(out), "--key", str(tmp_path / "k.pub")])
    assert result.exit_code == 0, result.output
    inside = runner.invoke(main, ["bundle", str(run), "-o", str(run / "b.zip")])
    assert inside.exit_code == 2 and "outside the run directory" in inside.output
    missing = runner.invoke(main, ["bundle", str(tmp_path / "nope"), "-o", str(out)])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_size_limits_are_enforced_without_reading(signed_bundle, monkeypatch):
    import verifier.bundle.verify as bundle_verify

    with zipfile.ZipFile(signed_bundle) as zf:
        limit = zf.getinfo(MANIFEST).file_size  # the manifest within the limit, the reports past it
    monkeypatch.setattr(bundle_verify, "LIMITS", dataclasses.replace(bundle_verify.LIMITS, max_member_bytes=limit))
    failed = _failed(verify_bundle(signed_bundle))
    assert any(f.startswith("zip member 'run/reports/report.en.html': declared size") and
               f.endswith(f"exceeds {limit} bytes (limit max_member_bytes)") for f in failed)
    assert any(f.startswith("file run/reports/report.en.html: unreadable") for f in failed)  # never read
    monkeypatch.setattr(bundle_verify, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(InputError, match="manifest.json is larger than 100 bytes"):
        verify_bundle(signed_bundle)


def test_tree_hash_takes_undecodable_names(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "a.txt").write_bytes(b"a")
    before = tree_hash(repo)
    with open(os.path.join(os.fsencode(repo), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    assert tree_hash(repo) != before


def test_members_are_read_under_the_shared_archive_limits(signed_bundle, tmp_path):
    """verify reads the zip through verifier.archive: a deflated bomb member is reported under the shared
    expansion-ratio limit (a check bundles had none of) and never read, a drive-letter name is unsafe."""
    target = _copy(signed_bundle, tmp_path)
    with zipfile.ZipFile(target, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("run/evidence/zeros.bin", bytes(20 << 20))
        zf.writestr("C:/evil.txt", "x")
    failed = _failed(verify_bundle(target))
    assert any(f.startswith("zip member 'run/evidence/zeros.bin': expands 20971520 bytes from ")
               and f.endswith("(more than 200x; limit max_ratio)") for f in failed), failed
    assert "zip member 'C:/evil.txt': unsafe name (absolute path)" in failed
    assert "file run/evidence/zeros.bin: in the bundle, not in the manifest (added)" in failed
