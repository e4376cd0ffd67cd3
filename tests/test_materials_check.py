"""The acceptance-dossier checklist: config forms, counting, hashing, staying inside the repository."""

from __future__ import annotations

import hashlib
import os

import pydantic
import pytest

from verifier.materials import MaterialsConfig, check_materials
from verifier.vocabulary import DOSSIER


def _write(path, data: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_short_and_long_forms_and_defaults():
    cfg = MaterialsConfig.model_validate({
        "test_report": "docs/report*.pdf",
        "ip_proofs": ["docs/ip/*.pdf", "docs/ip/*.jpg"],
        "user_evaluations": {"patterns": ["docs/eval/*.pdf"], "min": 3},
    })
    assert cfg.test_report.patterns == ["docs/report*.pdf"]
    assert cfg.ip_proofs.patterns == ["docs/ip/*.pdf", "docs/ip/*.jpg"]
    assert cfg.user_evaluations.min == 3
    assert cfg.audit_report is None


@pytest.mark.parametrize("bad", [
    {"unknown_item": "x"},
    {"test_report": "/etc/passwd"},
    {"test_report": "../outside/*.pdf"},
    {"test_report": []},
    {"test_report": {"patterns": ["a"], "min": 0}},
])
def test_bad_config_is_rejected(bad):
    with pytest.raises(pydantic.ValidationError):
        MaterialsConfig.model_validate(bad)


def test_counts_hashes_and_missing(tmp_path):
    repo = tmp_path / "repo"
    _write(repo / "docs/acceptance/test-report.pdf", b"report")
    _write(repo / "docs/acceptance/user-eval-1.pdf", b"eval one")
    _write(repo / "docs/acceptance/deep/ip/patent.pdf", b"patent")
    _write(repo / ".git/docs/acceptance/user-eval-9.pdf", b"not delivered")
    cfg = MaterialsConfig.model_validate({
        "test_report": "docs/acceptance/test-report.pdf",
        "user_evaluations": "docs/**/user-eval-*.pdf",
        "ip_proofs": "docs/**/ip/*.pdf",
    })
    checks = {c.key: c for c in check_materials(cfg, repo)}
    assert list(checks) == list(DOSSIER)
    assert checks["test_report"].ok and checks["test_report"].required == 1
    found = checks["test_report"].found[0]
    assert found.sha256 == hashlib.sha256(b"report").hexdigest() and found.size == 6
    # one user evaluation is not enough: the rule asks for at least two
    assert not checks["user_evaluations"].ok and checks["user_evaluations"].required == 2
    assert [f.path for f in checks["user_evaluations"].found] == ["docs/acceptance/user-eval-1.pdf"]
    assert checks["ip_proofs"].ok
    # not declared -> missing, with no patterns
    assert not checks["novelty_search"].ok and checks["novelty_search"].patterns == []
    _write(repo / "docs/acceptance/user-eval-2.pdf", b"eval two")
    assert {c.key: c for c in check_materials(cfg, repo)}["user_evaluations"].ok


def test_links_out_of_the_repository_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    _write(outside / "secret.pdf", b"secret")
    repo = tmp_path / "repo"
    _write(repo / "docs/real.pdf", b"real")
    os.symlink(outside / "secret.pdf", repo / "docs/link.pdf")
    os.symlink(outside, repo / "docs/dir")
    os.symlink(repo / "docs/real.pdf", repo / "docs/inside.pdf")
    cfg = MaterialsConfig.model_validate({"ip_proofs": "docs/**/*.pdf"})
    paths = [f.path for f in {c.key: c for c in check_materials(cfg, repo)}["ip_proofs"].found]
    assert paths == ["docs/inside.pdf", "docs/real.pdf"]
