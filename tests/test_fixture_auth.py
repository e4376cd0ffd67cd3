"""Issue 13's "done when", end to end: the token-protected fixture (``fixtures/auth-delivery``) tested
from the agency's task book beside its own assets (``fixtures/auth-agency``): its own virtualenv
made by ``runtime.setup``, its database migrated by ``service.setup``, its API tested under load,
soak, recovery, integrity and robustness with a login, a locustfile and a script of the agency's,
a task book naming no absolute path; the run reaches a verdict and its bundle verifies against
fresh copies of the delivery and the task book in another directory."""

from __future__ import annotations

import hashlib
import json

import pytest

from support.auth_service import AGENCY, copies
from verifier.results import RunResult
from verifier.spec import spec_data

LIVE = ("PERF-1", "PERF-2", "REL-1", "REL-2", "REL-3", "REL-4")


def _strings(value, key=""):
    """Every string of the spec but HTTP request paths (``path:`` of a request: ``/api/notes``)."""
    if isinstance(value, str):
        if key != "path":
            yield value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)


def test_the_task_book_names_no_absolute_path():
    data = spec_data((AGENCY / "acceptance.yaml").read_text("utf-8"))
    words = [w for s in _strings(data) for w in s.split()]
    assert len(words) > 100 and not [w for w in words if w != "/" and w.startswith(("/", "~", '"/', "'/"))]
    assert "{spec_dir}/locustfile.py" in words and "{runtime.python}" in words


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_auth_fixture_runs_to_a_verdict_and_its_bundle_verifies_elsewhere(tmp_path, cli):
    delivery, agency = copies(tmp_path / "work")
    out = tmp_path / "run"
    result = cli("run", agency / "acceptance.yaml", "--repo", delivery, "--out", out, "-q")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    by_id = {i.id: i for i in run.indicators}
    assert {i.id: i.status for i in run.indicators} == dict.fromkeys(by_id, "met"), [
        (i.id, i.reason) for i in run.indicators if i.status != "met"]
    assert (result.exit_code, run.verdict) == (0, "pass"), result.output

    # runtime.setup made the product's own virtualenv; the record says what it runs on
    sut = run.system_under_test
    assert [(r.name, r.path) for r in sut.runtimes] == [("python", ".venv/bin/python")]
    assert [(s.command, s.returncode, s.cached) for s in sut.setup] == [
        (["python3", "-m", "venv", "--without-pip", ".venv"], 0, False)]
    assert (out / sut.setup[0].evidence[0]).is_file()
    assert (delivery / ".venv" / "bin" / "python").exists()
    venv_python = str(delivery / ".venv" / "bin" / "python")
    assert by_id["FUN-1"].commands[0][0] == venv_python and by_id["COMP-1"].commands[0][0] == venv_python
    assert [c["python"] for c in by_id["COMP-1"].details["cells"]] == [".venv/bin/python"] * 2
    assert by_id["COMP-1"].details["cells"][0]["variables"] == "LC_ALL=C.UTF-8 LANG=zh_CN.UTF-8 TZ=Asia/Shanghai"

    # service.setup migrated each live indicator's fresh database once, before the first start only
    for ind in LIVE:
        assert by_id[ind].commands[0][:4] == [venv_python, "-m", "authapp.migrate", "--db"], ind
    recovery = out / "evidence" / "REL-2" / "service"
    assert (recovery / "service.2.stdout.txt").exists() and sorted(p.name for p in recovery.glob("setup-*")) == [
        "setup-1.stderr.txt", "setup-1.stdout.txt"]

    # every live probe logged in
    for ind in ("PERF-1", "REL-1", "REL-2"):
        assert any("Each simulated user logged in first" in n for n in by_id[ind].notes), ind
    for ind in ("REL-3", "REL-4"):
        logins = (out / "evidence" / ind / "login.jsonl").read_text().splitlines()
        assert logins and all(json.loads(line)["status"] == 200 for line in logins)
    assert by_id["REL-4"].measurements["not_exercised"] == 0 and by_id["REL-4"].measurements["cases"] > 20
    logins = next(e for e in by_id["PERF-1"].details["endpoints"] if e["name"] == "LOGIN POST /api/login")
    assert logins["requests"] == 5 and logins["failures"] == 0  # one per simulated user

    # the agency's assets: hashed and copied into the run, never written into the delivery
    assets = {a.path: a for a in run.assets}
    assert sorted(assets) == ["locustfile.py", "scripts/unit_pass_rate.py"]
    for rel, asset in assets.items():
        assert asset.sha256 == hashlib.sha256((agency / rel).read_bytes()).hexdigest()
        assert (out / asset.copied_to).read_bytes() == (agency / rel).read_bytes()
        assert not (delivery / rel).exists()
    assert any("locustfile is the agency's own" in n for n in by_id["PERF-2"].notes)

    # the bundle verifies against fresh copies elsewhere, with the agency's copy of the task book
    bundle = tmp_path / "run.zip"
    assert cli("bundle", out, "-o", bundle).exit_code == 0
    fresh_delivery, fresh_agency = copies(tmp_path / "elsewhere")
    verified = cli("verify", bundle, "--repo", fresh_delivery, "--spec", fresh_agency / "acceptance.yaml")
    assert verified.exit_code == 0, verified.output
    assert f"OK   task book: {fresh_agency / 'acceptance.yaml'} (--spec) is the spec the run used" in verified.output
    # the copy the run made its virtualenv in is no longer the delivered tree, and verify says why
    changed = cli("verify", bundle, "--repo", delivery)
    assert changed.exit_code == 1
    named = next(line for line in changed.output.splitlines() if line.startswith("FAIL repository files:"))
    assert named.startswith("FAIL repository files: added ") and ".venv/" in named
