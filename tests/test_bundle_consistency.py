"""A forged results.json is caught: bundle refuses to pack it, verify reports it even when the bundle
is validly signed (a signature says who signed, not that the figures agree)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

import verifier.bundle.build as bundle_build
from support.bundle_runs import FAILING, PASSING, git_delivery, indicator, real_run, spec_text
from verifier.bundle import build_bundle, verify_bundle
from verifier.cli import main
from verifier.consistency import check_run
from verifier.errors import InputError
from verifier.signing import load_public_key, write_keypair

#: the audited failing run, with partial credit on C1 (90% against >= 100%, floor 50%: credit 0.8)
#: and a dossier missing a user evaluation: score 76, materials gate fails, verdict fail
INDICATORS = [*FAILING[:4], indicator("C1", "compatibility", 90, ">= 100", "%", floor=">= 50")]
SPEC = spec_text(INDICATORS, materials=True, extra="scoring:\n  partial_credit: true\n")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    private, public = write_keypair(tmp_path_factory.mktemp("keys") / "agency")
    return private, public


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    root = tmp_path_factory.mktemp("consistency")
    repo = git_delivery(root / "delivery", SPEC, {"docs/test-report.pdf": "report\n",
                                                  "docs/user-eval-1.pdf": "one user\n"})
    run, data = real_run(repo / "acceptance.yaml", root / "run")
    return {"repo": repo, "run": run, "results": data}


def test_the_honest_run_recomputes_as_recorded(delivery, keys, tmp_path):
    data = delivery["results"]
    status = {i["id"]: (i["status"], i["credit"]) for i in data["indicators"]}
    assert status["S1"] == ("not_met", 0.0) and status["C1"] == ("not_met", 0.8)
    assert data["score"]["value"] == 76 and data["verdict"] == "fail"
    assert {g["id"]: g["passed"] for g in data["gates"]}["materials"] is False
    spec_bytes = (delivery["run"] / "spec.yaml").read_bytes()
    checks = check_run(data, spec_bytes)
    assert [c.what for c in checks if c.ok is not True] == []
    out = tmp_path / "honest.zip"
    build_bundle(delivery["run"], out, key_path=keys[0])
    checks = verify_bundle(out, public_key=load_public_key(keys[1]), repo=delivery["repo"])
    assert [c.what for c in checks if c.ok is False] == []
    assert any("score 76 and verdict fail (with its reasons) recomputed, as recorded" in c.what for c in checks)


def _forged(delivery, tmp_path: Path, edit: Callable[[dict], None], name: str = "run") -> Path:
    run = tmp_path / name
    shutil.copytree(delivery["run"], run)
    data = json.loads((run / "results.json").read_text("utf-8"))
    edit(data)
    (run / "results.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    return run


def _indicator(data: dict, ind_id: str) -> dict:
    return next(i for i in data["indicators"] if i["id"] == ind_id)


def _forced_bundle(run: Path, out: Path, key: Path, monkeypatch) -> Path:
    """Bundle ``run`` as a tool that does not recompute would (the forger's own build)."""
    with monkeypatch.context() as patch:
        patch.setattr(bundle_build, "_run_consistency", lambda run, result: [])
        build_bundle(run, out, key_path=key)
    return out


def _status_met(data):
    _indicator(data, "S1").update(status="met", credit=1.0)


def _credit(data):
    _indicator(data, "C1")["credit"] = 1.0


def _score(data):
    data["score"]["value"] = 95.0


def _verdict(data):
    data["verdict"] = "pass"


def _gate(data):
    gate = next(g for g in data["gates"] if g["id"] == "materials")
    gate.update(passed=True, figure="2/2")


def _weight(data):
    _indicator(data, "S1")["weight"] = 0.001


def _origin_ratio(data):
    data["origin"]["ratio"] = 0.42


def _material(data):
    next(m for m in data["materials"] if m["key"] == "user_evaluations")["ok"] = True


def _task_book_gate(data):
    gate = next(g for g in data["gates"] if g["id"] == "indicators.met")
    gate.update(passed=True, figure="5 of 5 met")


def _no_task_book_gate(data):
    data["gates"] = [g for g in data["gates"] if g["id"] != "indicators.met"]


def _required(data):
    _indicator(data, "S1")["required"] = False


def _hidden_reason(data):
    data["verdict_reasons"] = [r for r in data["verdict_reasons"]
                               if not r["en"].startswith("task-book indicator S1")]


FORGERIES = {
    "status": (_status_met, ["indicator S1 says met but its value 3 does not meet == 0"]),
    "credit": (_credit, ["indicator C1 says credit 1, recomputed 0.8"]),
    "score": (_score, ["score says 95, recomputed 76"]),
    "verdict": (_verdict, ["verdict says pass, recomputed fail"]),
    "gate": (_gate, ["gate materials says passed (2/2), recomputed failed (1/6; missing: function_list, "
                     "novelty_search, audit_report, user_evaluations, ip_proofs)"]),
    "weight": (_weight, ["indicator S1's weight 0.001 is not the spec's 1.0"]),
    "origin ratio": (_origin_ratio, ["origin ratio says 0.42, its line totals give 1.000000"]),
    "material": (_material, ["material user_evaluations says ok=True with 1 of 2 file(s) found"]),
    "task-book gate": (_task_book_gate, ["gate indicators.met says passed (5 of 5 met), recomputed failed "
                                         "(3 of 5 met; not met: S1, C1)"]),
    "task-book gate removed": (_no_task_book_gate, ["gate indicators.met is missing (recomputed failed: "
                                                    "3 of 5 met; not met: S1, C1)"]),
    "required": (_required, ["indicator S1's required False is not the spec's True"]),
    "hidden reason": (_hidden_reason, ["verdict reason 2 says 'task-book indicator C1 (指标 C1) not met: 90%, "
                                       "target >= 100', recomputed 'task-book indicator S1 (指标 S1) not met: 3, "
                                       "target == 0'"]),
}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_each_forgery_is_caught_by_bundle_and_by_verify(kind, delivery, keys, tmp_path, monkeypatch):
    edit, messages = FORGERIES[kind]
    run = _forged(delivery, tmp_path, edit)
    with pytest.raises(InputError, match="does not agree with the run's own data, not bundled") as caught:
        build_bundle(run, tmp_path / "refused.zip", key_path=keys[0])
    assert not (tmp_path / "refused.zip").exists()
    bundle = _forced_bundle(run, tmp_path / "forged.zip", keys[0], monkeypatch)
    checks = verify_bundle(bundle, public_key=load_public_key(keys[1]), repo=delivery["repo"])
    failed = [c.what for c in checks if c.ok is False]
    assert any(c.ok and c.what.startswith("signature: valid") for c in checks)  # signed, yet caught
    for message in messages:
        assert f"results.json: {message}" in failed, failed
        assert message in str(caught.value)


def test_the_audited_forgery_fails_verify_on_the_command_line(delivery, keys, tmp_path, monkeypatch):
    """Verdict pass, score 95, every indicator met, every gate passed on a failing run, signed."""
    def everything(data):
        data.update(verdict="pass")
        data["score"].update(value=95.0)
        for item in data["indicators"]:
            item.update(status="met", credit=1.0)
        for gate in data["gates"]:
            gate["passed"] = True
        for material in data["materials"]:
            material["ok"] = True

    run = _forged(delivery, tmp_path, everything)
    runner = CliRunner()
    refused = runner.invoke(main, ["bundle", str(run), "-o", str(tmp_path / "b.zip"), "--sign", str(keys[0])])
    assert refused.exit_code == 2 and "not bundled" in refused.output and "Traceback" not in refused.output
    bundle = _forced_bundle(run, tmp_path / "forged.zip", keys[0], monkeypatch)
    result = runner.invoke(main, ["verify", str(bundle), "--key", str(keys[1]), "--repo", str(delivery["repo"])])
    assert result.exit_code == 1, result.output
    for line in ("FAIL results.json: indicator S1 says met but its value 3 does not meet == 0",
                 "FAIL results.json: indicator C1 says met but its value 90% does not meet >= 100%",
                 "FAIL results.json: gate materials says passed",
                 "FAIL results.json: score says 95, recomputed 76",
                 "FAIL results.json: verdict says pass, recomputed fail",
                 "OK   signature: valid"):
        assert line in result.output, result.output


def test_a_partial_run_never_passes_in_the_recomputation(tmp_path, keys, monkeypatch):
    repo = git_delivery(tmp_path / "delivery", spec_text(PASSING))
    run, data = real_run(repo / "acceptance.yaml", tmp_path / "run", "--only", "F1")
    assert data["verdict"] == "inconclusive"
    assert [c.what for c in check_run(data, (run / "spec.yaml").read_bytes()) if c.ok is False] == []
    forged = tmp_path / "forged"
    shutil.copytree(run, forged)
    data["verdict"] = "pass"
    (forged / "results.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    bundle = _forced_bundle(forged, tmp_path / "forged.zip", keys[0], monkeypatch)
    failed = [c.what for c in verify_bundle(bundle) if c.ok is False]
    assert failed == ["results.json: verdict says pass, recomputed inconclusive (4 indicator(s) not measured)"]


def test_a_missing_or_swapped_spec_is_caught(delivery, keys, tmp_path, monkeypatch):
    run = _forged(delivery, tmp_path, lambda data: None)
    (run / "spec.yaml").unlink()
    with pytest.raises(InputError, match="spec.yaml: missing"):
        build_bundle(run, tmp_path / "refused.zip")
    failed = [c.what for c in verify_bundle(_forced_bundle(run, tmp_path / "nospec.zip", keys[0], monkeypatch))
              if c.ok is False]
    assert failed == ["spec.yaml: missing, so the statuses, gates, score and verdict in results.json cannot "
                      "be recomputed"]
    # a looser task book (S1 allows 5 issues) swapped in: its hash is not the run's
    (run / "spec.yaml").write_text(SPEC.replace("target: '== 0'\n  - id: C1", "target: '<= 5'\n  - id: C1"))
    failed = [c.what for c in verify_bundle(_forced_bundle(run, tmp_path / "swapped.zip", keys[0], monkeypatch))
              if c.ok is False]
    assert len(failed) == 1 and failed[0].startswith("spec.yaml: sha256") and "not the spec the run records" in failed[0]


def test_the_manifest_must_agree_with_results_on_verdict_and_score(delivery, tmp_path):
    import zipfile

    from verifier.bundle import MANIFEST

    honest = tmp_path / "honest.zip"
    build_bundle(delivery["run"], honest)
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(honest) as src, zipfile.ZipFile(edited, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == MANIFEST:
                manifest = json.loads(data)
                manifest.update(verdict="pass", score=95.0)
                data = json.dumps(manifest).encode()
            dst.writestr(info, data)
    failed = [c.what for c in verify_bundle(edited) if c.ok is False]
    assert "results.json and the manifest disagree on: verdict, score" in failed
