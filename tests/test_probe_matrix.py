"""The matrix probe runs a real command once per declared environment."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from verifier.builtin_probes.matrix_probe import MatrixArgs, MatrixProbe
from verifier.probe import ProbeContext, get_probe

SCRIPT = '''
import os, sys, time
mode = sys.argv[1]
print("cell", os.environ.get("CELL"), "db", os.environ.get("DB_URL"), "exe", sys.executable)
if mode == "fail":
    sys.stderr.write("incompatible backend\\n")
    sys.exit(3)
if mode == "hang":
    time.sleep(60)
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "compat").mkdir(parents=True)
    (root / "compat" / "check.py").write_text(SCRIPT)
    return root


def context(tmp_path: Path, repo: Path, timeout: float = 60, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "C1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=MatrixArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("matrix") is MatrixProbe
    assert MatrixProbe.metrics["pass_ratio"].unit == "%"


def test_cells_pass_fail_and_time_out(tmp_path, repo):
    ctx = context(tmp_path, repo, command=["{python}", "compat/check.py", "{mode}"],
                  env={"CELL": "{name}", "DB_URL": "{base_url}"}, cell_timeout=2,
                  environments=[
                      {"name": "sqlite", "base_url": "sqlite:///a.db", "vars": {"mode": "ok"}},
                      {"name": "mysql", "base_url": "mysql://db", "vars": {"mode": "fail"}},
                      {"name": "slow", "base_url": "pg://db", "vars": {"mode": "hang"}},
                  ])
    start = time.monotonic()
    outcome = MatrixProbe().run(ctx)
    assert time.monotonic() - start < 20
    got = values(outcome)
    assert (got["passed"], got["failed"], got["cells"]) == (1, 2, 3)
    assert got["pass_ratio"] == pytest.approx(100 / 3, abs=1e-3)
    assert outcome.error is None
    cells = {c["name"]: c for c in outcome.details["cells"]}
    assert cells["sqlite"]["status"] == "passed"
    assert cells["mysql"]["status"] == "failed" and "status 3" in cells["mysql"]["reason"]
    assert "incompatible backend" in cells["mysql"]["tail"]
    assert cells["slow"]["status"] == "failed" and "did not finish within 2 s" in cells["slow"]["reason"]
    log = (ctx.run_dir / cells["sqlite"]["evidence"][0]).read_text()
    assert "cell sqlite db sqlite:///a.db" in log
    assert cells["mysql"]["command"] == [sys.executable, "compat/check.py", "fail"]
    assert len(outcome.commands) == 3
    assert all((ctx.run_dir / e).is_file() for e in outcome.evidence)
    assert {f.rule for f in outcome.findings} == {"cell:mysql", "cell:slow"}


def test_each_cell_uses_its_interpreter(tmp_path, repo):
    venv = tmp_path / "other-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    ctx = context(tmp_path, repo, command="python compat/check.py ok", environments=[
        {"name": "harness"}, {"name": "venv", "python": str(venv / "bin" / "python")}])
    outcome = MatrixProbe().run(ctx)
    assert values(outcome)["pass_ratio"] == 100.0
    logs = [(ctx.run_dir / c["evidence"][0]).read_text() for c in outcome.details["cells"]]
    assert f"exe {venv / 'bin' / 'python'}" in logs[1]  # bare `python` is the cell's interpreter
    assert str(venv) not in logs[0]


def test_missing_interpreter_is_an_error_and_other_cells_still_run(tmp_path, repo):
    outcome = MatrixProbe().run(context(tmp_path, repo, command=["{python}", "compat/check.py", "ok"],
                                        environments=[{"name": "py-old", "python": "/opt/python2.7/bin/python"},
                                                      {"name": "current"}]))
    assert outcome.error is not None and "py-old" in outcome.error and "does not exist" in outcome.error
    cells = {c["name"]: c["status"] for c in outcome.details["cells"]}
    assert cells == {"py-old": "error", "current": "passed"}
    assert values(outcome)["pass_ratio"] == 50.0


def test_missing_executable_is_an_error(tmp_path, repo):
    outcome = MatrixProbe().run(context(tmp_path, repo, command=["no-such-tool-xyz", "--version"],
                                        environments=[{"name": "a"}]))
    assert "no-such-tool-xyz" in outcome.error


def test_shell_only_when_declared_and_values_are_quoted(tmp_path, repo):
    marker = tmp_path / "pwned"
    hostile = f"x; touch {marker}"
    plain = MatrixProbe().run(context(tmp_path, repo, command="python compat/check.py '{mode}'",
                                      environments=[{"name": "a", "vars": {"mode": hostile}}]))
    assert plain.details["cells"][0]["command"][-1] == hostile  # one argument, no shell
    shelled = MatrixProbe().run(context(tmp_path, repo, shell=True,
                                        command="python compat/check.py {mode} && echo done",
                                        environments=[{"name": "a", "vars": {"mode": hostile}}]))
    assert shelled.details["cells"][0]["command"][:2] == ["/bin/sh", "-c"]
    assert shelled.details["cells"][0]["status"] == "passed"
    assert not marker.exists()


def test_budget_is_shared_between_cells(tmp_path, repo):
    start = time.monotonic()
    outcome = MatrixProbe().run(context(tmp_path, repo, timeout=4,
                                        command=["{python}", "compat/check.py", "hang"],
                                        environments=[{"name": "a"}, {"name": "b"}]))
    assert time.monotonic() - start < 20
    assert values(outcome)["failed"] == 2


@pytest.mark.parametrize("args, message", [
    ({"command": ["x", "{base_url}"], "environments": [{"name": "a", "base_url": "u"}, {"name": "b"}]},
     "environment 'b' does not define {base_url}"),
    ({"command": ["x"], "environments": [{"name": "a"}, {"name": "a"}]}, "unique"),
    ({"command": ["x"], "environments": []}, "at least 1"),
    ({"command": "", "environments": [{"name": "a"}]}, "command is empty"),
    ({"command": ["x"], "environments": [{"name": "a", "interpreter": "y"}]}, "Extra inputs"),
    ({"command": ["x"], "environments": [{"name": "a", "vars": {"python": "y"}}]}, "identifier other"),
    ({"command": ["x"], "cwd": "../up", "environments": [{"name": "a"}]}, "escapes"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        MatrixArgs.model_validate(args)
