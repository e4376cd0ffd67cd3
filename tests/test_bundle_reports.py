"""The reports a bundle carries are rendered from its own data and re-rendered by verify: a hand-written
report is never packed, and one packed by a forger's tool fails verification even under a valid signature."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import verifier.bundle.build as bundle_build
import verifier.bundle.verify as bundle_verify
import verifier.run_files as run_files_module
from support import REPO_ROOT
from support.bundle_runs import FAILING, git_delivery, real_run, spec_text
from support.report_sample import build_sample_run
from verifier.bundle import BUNDLE_REPORTS, MANIFEST, build_bundle, verify_bundle
from verifier.cli import main
from verifier.signing import load_public_key, write_keypair

FAKE = b"<!doctype html><html><body><h1>Verdict: PASS</h1><p>Score 98 / 100</p></body></html>\n"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return write_keypair(tmp_path_factory.mktemp("keys") / "agency")


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """A real run of a delivery that fails (score 60), with hand-written PASS reports in its directory."""
    root = tmp_path_factory.mktemp("failing")
    repo = git_delivery(root / "delivery", spec_text(FAILING))
    run, data = real_run(repo / "acceptance.yaml", root / "run")
    assert data["verdict"] == "fail"
    for rel in ("reports/report.zh.html", "reports/report.en.html", "reports/report.en.pdf",
                "reports/summary.html", "report.en.html"):
        (run / rel).parent.mkdir(parents=True, exist_ok=True)
        (run / rel).write_bytes(FAKE)
    return {"repo": repo, "run": run}


def _failed(checks) -> list[str]:
    return [c.what for c in checks if c.ok is False]


def _forged_bundle(run: Path, out: Path, key: Path, monkeypatch, reports: dict[str, bytes],
                   extra: tuple[str, ...] = ()) -> Path:
    """Bundle ``run`` as a forger's tool would: ``reports`` (lang -> bytes) packed instead of the
    rendered ones, and the run's files ``extra`` (report files) packed too; signed with ``key``."""
    real_render = bundle_build.render_bundle_report
    real_is_report = run_files_module.is_report
    with monkeypatch.context() as patch:
        patch.setattr(bundle_build, "render_bundle_report",
                      lambda result, files, lang: reports[lang] if lang in reports else real_render(result, files, lang))
        patch.setattr(bundle_build, "is_report", lambda rel: real_is_report(rel) and rel not in extra)
        patch.setattr(run_files_module, "is_report", lambda rel: real_is_report(rel) and rel not in extra)
        build_bundle(run, out, key_path=key)
    return out


def test_report_files_of_the_run_directory_are_never_packed(failing, keys, tmp_path):
    info = build_bundle(failing["run"], tmp_path / "b.zip", key_path=keys[0])
    assert set(info.left_out) == {"reports/report.zh.html", "reports/report.en.html", "reports/report.en.pdf",
                                  "reports/summary.html", "report.en.html"}
    assert info.rendered == tuple(rel for _, rel in BUNDLE_REPORTS)
    with zipfile.ZipFile(info.path) as zf:
        names = set(zf.namelist())
        reports = {n for n in names if n.startswith("run/report")}
        assert reports == {"run/reports/report.zh.html", "run/reports/report.en.html", "run/reports/sbom.spdx.json",
                           "run/reports/sbom.cdx.json", "run/reports/findings.sarif", "run/reports/junit.xml"}
        reports -= {f"run/{rel}" for rel in info.documents}
        for name in reports:
            html = zf.read(name)
            assert b"Verdict: PASS" not in html and html != FAKE
        assert b"verdict-fail" in zf.read("run/reports/report.en.html")
        assert "run/evidence/S1/command.stdout.txt" in names
    checks = verify_bundle(info.path, public_key=load_public_key(keys[1]), repo=failing["repo"])
    assert _failed(checks) == []
    assert any(c.ok and c.what.startswith("reports: run/reports/report.zh.html, run/reports/report.en.html "
                                           "are byte for byte") for c in checks)


def test_the_cli_says_which_report_files_it_left_out(failing, tmp_path):
    result = CliRunner().invoke(main, ["bundle", str(failing["run"]), "-o", str(tmp_path / "b.zip")])
    assert result.exit_code == 0, result.output
    assert "reports rendered from the run's data: reports/report.zh.html, reports/report.en.html" in result.output
    assert "not packed (a bundle's reports are rendered, never taken from the run directory): report.en.html, " \
           "reports/report.en.html" in result.output


def test_a_hand_written_report_under_a_valid_signature_fails_verify(failing, keys, tmp_path, monkeypatch):
    """The audited case: a failing run, a 'Verdict: PASS' report packed and signed."""
    bundle = _forged_bundle(failing["run"], tmp_path / "forged.zip", keys[0], monkeypatch, {"en": FAKE})
    checks = verify_bundle(bundle, public_key=load_public_key(keys[1]), repo=failing["repo"])
    failed = _failed(checks)
    assert any(c.ok and c.what.startswith("signature: valid") for c in checks)  # signed, hashes intact
    assert failed == ["report run/reports/report.en.html: differs from what the bundled results.json and "
                      "evidence render to (first at line 1: '<!doctype html><html><body><h1>Verdict: PASS</h1>"
                      "<p>Score 9…')"]
    result = CliRunner().invoke(main, ["verify", str(bundle), "--key", str(keys[1])])
    assert result.exit_code == 1
    assert "FAIL report run/reports/report.en.html: differs" in result.output


def test_a_subtly_edited_report_fails(failing, keys, tmp_path, monkeypatch):
    """One word of the real rendering changed (the verdict class), nothing else."""
    real = bundle_build.render_bundle_report

    def edited(result, files, lang):
        return real(result, files, lang).replace(b"verdict-fail", b"verdict-pass", 1)

    monkeypatch.setattr(bundle_build, "render_bundle_report", edited)
    bundle = tmp_path / "edited.zip"
    build_bundle(failing["run"], bundle, key_path=keys[0])
    monkeypatch.setattr(bundle_build, "render_bundle_report", real)
    failed = _failed(verify_bundle(bundle, public_key=load_public_key(keys[1])))
    assert len(failed) == 2 and all(f.startswith("report run/reports/report.") and "differs" in f for f in failed)


def test_an_unexpected_or_missing_report_fails(failing, keys, tmp_path, monkeypatch):
    bundle = _forged_bundle(failing["run"], tmp_path / "extra.zip", keys[0], monkeypatch, {},
                            extra=("reports/report.en.pdf", "report.en.html"))
    failed = _failed(verify_bundle(bundle, public_key=load_public_key(keys[1])))
    assert failed[:2] == [f"report run/{rel}: not a report verify can re-render from the bundle's data (a "
                          "report file is never packed from the run directory; its reports are rendered)"
                          for rel in ("report.en.html", "reports/report.en.pdf")]
    # the forger's tool also listed them as evidence in its reports: those differ from the re-rendering
    assert all(f.startswith("report run/reports/report.") and "differs" in f for f in failed[2:])
    # a bundle without its English report (manifest and zip agree, signed)
    with monkeypatch.context() as patch:
        patch.setattr(bundle_build, "BUNDLE_REPORTS", (("zh", "reports/report.zh.html"),))
        build_bundle(failing["run"], tmp_path / "missing.zip", key_path=keys[0])
    failed = _failed(verify_bundle(tmp_path / "missing.zip", public_key=load_public_key(keys[1])))
    assert failed == ["report run/reports/report.en.html: missing; a bundle carries its reports, rendered "
                      "from its data"]


def test_another_verifier_version_is_named_when_a_report_differs(failing, tmp_path, monkeypatch):
    bundle = tmp_path / "b.zip"
    build_bundle(failing["run"], bundle)
    with zipfile.ZipFile(bundle) as zf:
        packer = json.loads(zf.read(MANIFEST))["verifier_version"]
    monkeypatch.setattr(bundle_verify, "__version__", "99.0")
    monkeypatch.setattr(bundle_verify, "render_bundle_report", lambda result, files, lang: b"other template\n")
    failed = _failed(verify_bundle(bundle))
    assert len(failed) == 2
    assert all(f.endswith(f"(packed by verifier {packer}, this is verifier 99.0: verify with the version "
                          "that packed it)") for f in failed)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONHASHSEED", "LC_", "TZ", "LANG"))}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **extra}


def test_bundling_and_verifying_in_different_environments_agree(failing, tmp_path):
    """Reports rendered by one process (hash seed, time zone, locale, directory) re-render to the same
    bytes in another: nothing of the machine or the clock is in them."""
    bundle = tmp_path / "b.zip"
    first = subprocess.run([sys.executable, "-m", "verifier", "bundle", str(failing["run"]), "-o", str(bundle)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path,
                           env=_clean_env(PYTHONHASHSEED="1", TZ="UTC", LC_ALL="C"))
    assert first.returncode == 0, first.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    second = subprocess.run([sys.executable, "-m", "verifier", "verify", str(bundle)], capture_output=True,
                            text=True, timeout=300, cwd=elsewhere,
                            env=_clean_env(PYTHONHASHSEED="4242", TZ="Asia/Shanghai", LC_ALL="C.UTF-8"))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "OK   reports: run/reports/report.zh.html, run/reports/report.en.html are byte for byte" in second.stdout


_RENDER = """
import sys
from pathlib import Path
from verifier.report import render_report
for lang in ("zh", "en"):
    for fmt in ("html", "md"):
        Path(sys.argv[2], f"{lang}.{fmt}").write_bytes(render_report(sys.argv[1], fmt, lang))
"""


def test_rendering_a_rich_run_is_the_same_in_every_process(tmp_path):
    """The hostile sample run (charts, tables, findings, file table, escaped markup) renders to the
    same bytes under different hash seeds, time zones and locales."""
    run = build_sample_run(tmp_path / "sample", hostile=True)
    outputs = []
    for n, (seed, tz, lc) in enumerate((("0", "UTC", "C"), ("123", "America/New_York", "C.UTF-8"))):
        out = tmp_path / f"out{n}"
        out.mkdir()
        done = subprocess.run([sys.executable, "-c", _RENDER, str(run), str(out)], capture_output=True, text=True,
                              timeout=300, env=_clean_env(PYTHONHASHSEED=seed, TZ=tz, LC_ALL=lc))
        assert done.returncode == 0, done.stderr
        outputs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert len(outputs[0]) == 4 and outputs[0] == outputs[1]


def test_a_report_reads_nothing_outside_the_run(tmp_path):
    """The origin file table comes from a file of the run; a results.json pointing elsewhere shows it missing."""
    from verifier.report import build_view, load_run

    run = build_sample_run(tmp_path / "sample")
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps({"files": [{"path": "SECRET-OUTSIDE.py", "lines": 1, "origin": "self"}]}))
    data = json.loads((run / "results.json").read_text("utf-8"))
    data["origin"]["files_path"] = "../outside.json"
    (run / "results.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    view = build_view(load_run(run), run, "en")
    assert view["origin"]["file_groups"] == [] and "../outside.json" in view["origin"]["files_error"]
    assert all(row["path"] != "../outside.json" or row["missing"] for row in view["appendix"])
