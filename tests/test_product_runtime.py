"""The product's runtime (issue 13): ``runtime:`` declares its virtualenv, ``runtime.setup`` makes it
once per run (logged, cached by the files it reads), ``{runtime.python}`` is a placeholder
everywhere, and the pytest, matrix and command probes run the product's interpreter by default.
Bad input — a missing runtime, a failing setup, an undeclared placeholder, an agency asset that
does not exist — is one line naming what and where, exit 2."""

from __future__ import annotations

import json
import platform
import sys
import textwrap
from pathlib import Path

import pytest

from support import write_tree
from verifier.results import RunResult

OWN = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.
"""Stock arithmetic."""


def add(stock, delta):
    """Stock after a movement."""
    return stock + delta
'''
IN_VENV = "import sys, json; print(json.dumps({'venv': int(sys.prefix != sys.base_prefix)}))"
MAKE_VENV = "{python} -m venv --without-pip .venv"


def _spec(runtime: str, indicators: str) -> str:
    head = textwrap.dedent("""\
        project:
          name: 测试系统
          version: '1.0.0'
          owners: [Hunan Example Software Co., Ltd.]
        """)
    return head + textwrap.dedent(runtime) + "indicators:\n" + textwrap.indent(textwrap.dedent(indicators), "  ")


COMMAND = f"""\
- id: F1
  name: 解释器是产品自己的
  characteristic: functionality
  probe: command
  with: {{command: [python, -c, "{IN_VENV}"], json_path: venv, unit: count}}
  metric: value
  target: "== 1"
"""
MATRIX = """\
- id: C1
  name: 时区
  characteristic: compatibility
  probe: matrix
  with:
    command: ["{python}", "-c", "import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)"]
    environments: [{name: shanghai, env: {TZ: Asia/Shanghai}}]
  metric: pass_ratio
  target: "== 100%"
"""
PYTEST = """\
- id: T1
  name: 测试
  characteristic: functionality
  probe: pytest
  metric: pass_rate
  target: ">= 95%"
"""


def _repo(tmp_path: Path, runtime: str, indicators: str = COMMAND, *, spec_in_repo: bool = True) -> Path:
    files = {"stock/core.py": OWN, "tests/test_core.py": "def test_one():\n    assert 1\n",
             "requirements.txt": "# nothing: the standard library only\n"}
    repo = write_tree(tmp_path / "repo", files)
    (repo / "acceptance.yaml").write_text(_spec(runtime, indicators), encoding="utf-8")
    return repo


def _results(out: Path) -> RunResult:
    return RunResult.model_validate_json((out / "results.json").read_text("utf-8"))


def test_setup_makes_the_venv_and_the_probes_run_it(tmp_path, cli):
    runtime = f"""\
        runtime:
          venv: .venv
          setup: ["{MAKE_VENV}"]
        """
    repo = _repo(tmp_path, runtime, COMMAND + MATRIX + PYTEST)
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "-q")
    run = _results(out)
    by_id = {i.id: i for i in run.indicators}
    venv_python = str(repo / ".venv" / "bin" / "python")
    # command: `python` is the product's interpreter (its venv first on PATH)
    assert by_id["F1"].status == "met", (by_id["F1"].reason, result.output)
    # matrix: {python} is the cell's interpreter, the product's by default, and the cell says so
    cell = by_id["C1"].details["cells"][0]
    assert by_id["C1"].status == "met" and by_id["C1"].commands[0][0] == venv_python
    assert (cell["python"], cell["python_version"], cell["variables"]) == (
        ".venv/bin/python", platform.python_version(), "TZ=Asia/Shanghai")
    # pytest: the product's interpreter too — which has no pytest, and the error says so
    assert by_id["T1"].status == "error"
    assert f"{venv_python}: No module named pytest" in by_id["T1"].reason
    # the system under test on record
    sut = run.system_under_test
    assert sut is not None and [(r.name, r.path, r.version) for r in sut.runtimes] == [
        ("python", ".venv/bin/python", platform.python_version())]
    assert sut.packages_from == ".venv/bin/python" and sut.packages == []  # --without-pip: nothing installed
    assert sut.memory_mb and sut.cpu_count >= 1
    assert [(s.command[1:4], s.returncode, s.cached) for s in sut.setup] == [(["-m", "venv", "--without-pip"], 0, False)]
    assert all((out / p).is_file() for p in sut.setup[0].evidence)
    # the tree is on record as it was delivered, before the setup made .venv in it
    listing = json.loads((out / "repository-files.json").read_text())
    assert not [f for f, _, _ in listing["files"] if f.startswith(".venv")]
    assert listing["tree_sha256"] == run.repository.tree_sha256


def test_setup_is_not_run_again_while_its_inputs_are_unchanged(tmp_path, cli):
    runtime = f"""\
        runtime:
          venv: .venv
          setup: ["{MAKE_VENV}"]
          setup_inputs: [requirements.txt]
        """
    repo = _repo(tmp_path, runtime)
    states, own_lines = [], set()
    for n in range(3):
        if n == 2:
            (repo / "requirements.txt").write_text("# changed\n", encoding="utf-8")
        out = tmp_path / f"run{n}"
        cli("run", repo / "acceptance.yaml", "--out", out, "-q")
        run = _results(out)
        assert {i.id: i.status for i in run.indicators} == {"F1": "met"}
        states.append([s.cached for s in run.system_under_test.setup])
        assert (out / "runtime").is_dir() != run.system_under_test.setup[0].cached
        # the venv the first run made is in the tree now: excluded from the ratio, never own code
        venv_files = [f for f in json.loads((out / "origin" / "origin.json").read_text())["files"]
                      if f["path"].startswith(".venv/")]
        assert (n == 0) == (not venv_files) and {f["origin"] for f in venv_files} <= {"excluded"}
        own_lines.add(run.origin.totals["self"]["lines"])
    assert states == [[False], [True], [False]] and len(own_lines) == 1
    stamp = json.loads((repo / ".venv" / ".verifier-setup.json").read_text())
    assert stamp["inputs"] == ["requirements.txt"]


def test_a_failing_setup_is_one_line_exit_2_with_its_log(tmp_path, cli):
    runtime = """\
        runtime:
          venv: .venv
          setup:
            - ["{python}", "-c", "import sys; print('ERROR: no matching distribution for flask', file=sys.stderr); sys.exit(1)"]
        """
    repo = _repo(tmp_path, runtime)
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "-q")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("verifier: error: runtime.setup[1] (")
    assert lines[0].endswith(f"exited with status 1: ERROR: no matching distribution for flask "
                             f"(log: {out.resolve()}/runtime/setup-1.stderr.txt)")
    assert (out / "runtime" / "setup-1.stderr.txt").is_file() and not (out / "results.json").exists()


def test_a_setup_that_does_not_make_the_runtime_is_one_line_exit_2(tmp_path, cli):
    runtime = """\
        runtime:
          venv: .venv
          setup: ["{python} -c pass"]
        """
    repo = _repo(tmp_path, runtime)
    result = cli("run", repo / "acceptance.yaml", "--out", tmp_path / "run", "-q")
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"verifier: error: {repo / 'acceptance.yaml'}: runtime.venv: virtualenv "
                                     f"'.venv' does not exist in {repo.resolve()} after runtime.setup")


def test_a_missing_runtime_nothing_makes_is_refused_before_the_run(tmp_path, cli):
    repo = _repo(tmp_path, "runtime: {venv: .venv}\n")
    spec = repo / "acceptance.yaml"
    checked = cli("check", spec, "--repo", repo)
    assert checked.exit_code == 2
    assert checked.stderr.strip() == (f"verifier: error: {spec}:5: runtime.venv: virtualenv '.venv' does not "
                                      f"exist in {repo} (declare runtime.setup to make it)")
    out = tmp_path / "run"
    ran = cli("run", spec, "--out", out, "-q")
    assert ran.exit_code == 2 and len(ran.stderr.strip().splitlines()) == 1
    assert "runtime.venv: virtualenv '.venv' does not exist" in ran.stderr and not out.exists()


def test_a_runtime_beside_the_task_book_and_a_name_on_path(tmp_path, cli):
    agency = tmp_path / "agency"
    agency.mkdir()
    (agency / "bin").mkdir()
    (agency / "bin" / "python").symlink_to(sys.executable)
    repo = _repo(tmp_path, "runtime: {python: '{spec_dir}/bin/python'}\n")
    spec = agency / "acceptance.yaml"
    spec.write_text((repo / "acceptance.yaml").read_text(), encoding="utf-8")
    assert cli("check", spec, "--repo", repo).exit_code == 0
    (agency / "bin" / "python").unlink()
    missing = cli("check", spec)  # beside the task book: checked without --repo too
    assert missing.exit_code == 2 and "runtime.python: '{spec_dir}/bin/python' does not exist beside the task book" \
        in missing.stderr
    repo2 = _repo(tmp_path / "b", "runtime: {python: no-such-python3.99}\n")
    ran = cli("run", repo2 / "acceptance.yaml", "--out", tmp_path / "r2", "-q")
    assert ran.exit_code == 2 and "runtime.python: 'no-such-python3.99' is not on PATH" in ran.stderr


@pytest.mark.parametrize("runtime, indicators, line, problem", [
    ("runtime: {venv: .venv, setup: [x]}\n",
     COMMAND.replace("[python,", '["{runtime.node}",'), 11,
     r"indicators\[0\]\.with\.command\[0\]: \{runtime\.node\} is used, but the runtime: section declares no node"),
    ("", COMMAND.replace("[python,", '["{runtime.python}",'), 10,
     r"\{runtime\.python\} is used, but the runtime: section declares no venv or python"),
    ("runtime: {venv: ../shared/.venv, setup: [x]}\n", COMMAND, 5,
     r"runtime\.venv: .*escapes the repository \('\.\.'\): for a runtime beside the task book write "
     r"\{spec_dir\}/PATH"),
    ("runtime: {venv: .venv, python: python3}\n", COMMAND, 5, "declare either venv .* or python, not both"),
    ("", COMMAND.replace("[python,", '[python, "{spec_dir}/scripts/missing.py",'), 10,
     r"asset \{spec_dir\}/scripts/missing\.py does not exist beside the task book"),
    ("", COMMAND.replace("[python,", '[python, "{spec_dir}/../elsewhere.py",'), 10,
     r"escapes the task book's directory \('\.\.'\)"),
])
def test_bad_runtime_and_asset_declarations_are_one_line(tmp_path, cli, runtime, indicators, line, problem):
    import re

    repo = _repo(tmp_path, runtime, indicators)
    spec = repo / "acceptance.yaml"
    result = cli("check", spec)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"verifier: error: {spec}:{line}: "), lines
    assert re.search(problem, lines[0]), lines[0]


def test_an_absolute_runtime_is_a_warning(tmp_path, cli):
    repo = _repo(tmp_path, f"runtime: {{python: {sys.executable}}}\n")
    result = cli("check", repo / "acceptance.yaml", "--repo", repo)
    assert result.exit_code == 0
    assert (f"verifier: warning: {repo / 'acceptance.yaml'}:5: runtime.python: '{sys.executable}' is an "
            "absolute path: the task book will not run the same on another machine") in result.stderr
