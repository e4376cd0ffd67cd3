"""``verifier run`` end to end with the real ``command`` probe: results, errors, timeouts, resume."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import default_signals, write_tree
from support.live_service import context
from support.runner_specs import FIVE, OWN_CODE, command_indicator, task_book
from verifier.builtin_probes.origin_probe import OriginProbe
from verifier.probe import ProbeError
from verifier.results import RunResult
from verifier.runner import Runner, RunOptions


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", {"stock/core.py": OWN_CODE,
                                         "acceptance.yaml": task_book(FIVE)})


def test_run_measures_evaluates_and_writes_results(repo: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--quiet")
    assert result.exit_code == 1, result.output  # S1 and C1 miss their targets: fail
    data = json.loads((out / "results.json").read_text("utf-8"))
    run = RunResult.model_validate(data)
    status = {i.id: i.status for i in run.indicators}
    assert status == {"F1": "met", "P1": "met", "R1": "met", "S1": "not_met", "C1": "not_met"}
    assert {i.id: i.value for i in run.indicators}["P1"] == 120
    assert run.verdict == "fail" and run.score.value == 60
    assert run.finished_at is not None
    # every evidence path is relative to the run dir and exists
    for indicator in run.indicators:
        assert indicator.evidence, indicator.id
        for rel in indicator.evidence:
            assert not rel.startswith("/") and (out / rel).is_file(), rel
        assert indicator.commands and indicator.commands[0][0] == sys.executable
    gates = {g.id: g.passed for g in run.gates}
    assert gates["indicators.count"] is True and gates["project.version"] is True
    assert run.repository.tree_sha256 and len(run.repository.tree_sha256) >= 64
    assert "verdict: fail" in result.output


def test_only_limits_the_run_and_unknown_ids_are_input_errors(repo: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "run"
    ok = cli("run", repo / "acceptance.yaml", "--out", out, "--only", "P1", "--quiet")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert [i.id for i in run.indicators] == ["P1"], ok.output
    bad = cli("run", repo / "acceptance.yaml", "--out", tmp_path / "other", "--only", "NOPE")
    assert bad.exit_code == 2
    assert "NOPE" in bad.output and len(bad.output.strip().splitlines()) == 1


def test_crashing_and_hanging_probes_become_errors(tmp_path: Path, cli) -> None:
    indicators = FIVE[:3] + [
        command_indicator("S1", "security", "import sys; sys.exit(7)", "== 0"),
        command_indicator("C1", "compatibility", "import time; time.sleep(120)", ">= 100", "%", timeout=2),
    ]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(indicators)})
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--quiet")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    by_id = {i.id: i for i in run.indicators}
    assert by_id["S1"].status == "error" and "7" in by_id["S1"].reason
    assert by_id["C1"].status == "error"
    assert "within 2 s" in by_id["C1"].reason  # timed out, killed
    assert run.verdict == "inconclusive" and result.exit_code == 3
    assert run.score.lowest is not None and run.score.highest is not None


def test_existing_run_dir_and_bad_spec_are_input_errors(repo: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "something").write_text("x")
    busy = cli("run", repo / "acceptance.yaml", "--out", out)
    assert busy.exit_code == 2 and "not empty" in busy.output
    (repo / "broken.yaml").write_text("project: [\n")
    broken = cli("run", repo / "broken.yaml", "--out", tmp_path / "r2")
    assert broken.exit_code == 2 and "broken.yaml:" in broken.output
    missing = cli("run", repo / "nope.yaml", "--out", tmp_path / "r3")
    assert missing.exit_code == 2


@pytest.mark.slow
def test_sigkilled_run_resumes_keeping_finished_indicators(tmp_path: Path) -> None:
    slow = ("import os, time\n"
            "time.sleep(60) if os.path.exists('SLOW') else None\n"
            "print(1)")
    indicators = [FIVE[0], command_indicator("P1", "performance_efficiency", slow, "<= 500", "ms"), *FIVE[2:]]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "SLOW": "",
                                         "acceptance.yaml": task_book(indicators)})
    out = tmp_path / "run"
    verifier = Path(sys.executable).with_name("verifier")
    proc = subprocess.Popen([str(verifier), "run", str(repo / "acceptance.yaml"), "--out", str(out),
                             "--quiet", "--no-cache"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not (out / "state" / "F1.json").exists():
            assert proc.poll() is None, "run ended before it could be killed"
            assert time.monotonic() < deadline, "first indicator never finished"
            time.sleep(0.2)
        time.sleep(0.5)  # now inside P1's 60 s sleep
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    first = json.loads((out / "state" / "F1.json").read_text("utf-8"))
    assert not (out / "state" / "P1.json").exists()
    partial = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert partial.finished_at is None  # the interrupted run left valid, unfinished results

    (repo / "SLOW").unlink()
    done = subprocess.run([str(verifier), "run", "--resume", str(out),  # SPEC from run.json
                           "--quiet", "--no-cache"], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # S1 and C1 are not met
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert [i.id for i in run.indicators] == ["F1", "P1", "R1", "S1", "C1"]
    kept = next(i for i in run.indicators if i.id == "F1")
    assert kept.started_at == first["started_at"]  # kept, not measured again
    assert next(i for i in run.indicators if i.id == "P1").status == "met"
    assert run.finished_at is not None


def test_resume_refuses_a_changed_spec(repo: Path, tmp_path: Path, cli) -> None:
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "--only", "F1", "--quiet")
    spec = repo / "acceptance.yaml"
    spec.write_text(spec.read_text("utf-8").replace("测试系统", "另一个系统"), "utf-8")
    again = cli("run", spec, "--resume", out)
    assert again.exit_code == 2 and "changed" in again.output


class _RewritesTheSpec:
    """A listener that replaces the spec file on disk while the run is going on."""

    def __init__(self, spec: Path, text: str) -> None:
        self.spec, self.text = spec, text

    def stage(self, message: str) -> None:
        self.spec.write_text(self.text, "utf-8")

    def indicator_started(self, indicator, index: int, total: int) -> None:
        self.spec.write_text(self.text, "utf-8")

    def indicator_finished(self, result, index: int, total: int, resumed: bool) -> None:
        pass


def test_the_run_records_the_spec_bytes_it_parsed_not_the_file_read_again(repo: Path, tmp_path: Path) -> None:
    spec = repo / "acceptance.yaml"
    parsed = spec.read_bytes()
    runner = Runner(RunOptions(spec_path=spec, out_dir=tmp_path / "run", only=("F1",), no_cache=True,
                                no_kb=True),
                    _RewritesTheSpec(spec, parsed.decode("utf-8").replace("测试系统", "改过的系统 C")))
    # replaced after the parse, before the run directory is opened ...
    spec.write_text(parsed.decode("utf-8").replace("测试系统", "改过的系统 B"), "utf-8")
    result = runner.run()  # ... and again while it runs (the listener)
    out = tmp_path / "run"
    digest = hashlib.sha256(parsed).hexdigest()
    assert "改过的系统 C" in spec.read_text("utf-8")  # the file did change under the run
    assert (out / "spec.yaml").read_bytes() == parsed
    assert json.loads((out / "run.json").read_text("utf-8"))["spec_sha256"] == digest
    assert result.spec_sha256 == digest and result.project.name == "测试系统"
    on_disk = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert on_disk.spec_sha256 == digest == runner.spec.sha256
    assert runner.spec.source == parsed


def test_deadline_interrupts_a_probe_that_ignores_its_timeout() -> None:
    from verifier.runner import ProbeTimeout, _deadline

    with pytest.raises(ProbeTimeout):
        with _deadline(0.3):
            time.sleep(30)  # a probe blocked without a timeout of its own


@pytest.mark.slow
def test_origin_probe_reports_the_runs_ratio(tmp_path: Path, cli) -> None:
    foreign = ("# Copyright (c) 2015 Jane Roe\n# SPDX-License-Identifier: MIT\n"
               + "\n".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(40)))
    origin_indicator = "\n".join([
        "  - id: O1", "    name: 自研代码率", "    characteristic: maintainability",
        "    probe: origin", "    metric: ratio", "    target: '>= 60%'"])
    repo = write_tree(tmp_path / "repo", {"stock/core.py": OWN_CODE, "lib/borrowed.py": foreign,
                                         "acceptance.yaml": task_book([*FIVE, origin_indicator])})
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "--quiet", "--only", "O1")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    (o1,) = run.indicators
    assert run.origin is not None and run.origin.ratio is not None
    assert 0 < run.origin.ratio < 0.6  # 80 foreign lines against 6 own ones
    assert o1.status == "not_met" and o1.value == pytest.approx(run.origin.ratio * 100, abs=1e-3)
    assert "origin/summary.json" in o1.evidence and (out / "origin" / "origin.json").is_file()
    assert {g.id: g.passed for g in run.gates}["origin.ratio"] is False


def test_origin_probe_reads_the_runs_scan_and_never_runs_the_runner(tmp_path: Path) -> None:
    """Outside ``verifier run`` there is no scan to read: the probe says so (it never imports the
    runner to make one, which would be an upward import)."""
    with pytest.raises(ProbeError, match=r"no origin scan in the run directory \(origin/summary.json\)"):
        OriginProbe().run(context(OriginProbe, tmp_path, None, {}))


def test_a_partial_run_never_passes(tmp_path: Path, cli) -> None:
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(FIVE)})
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--quiet", "--only", "F1")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert run.indicators[0].status == "met"
    assert run.verdict == "inconclusive" and result.exit_code == 3
    assert any("partial run" in r["en"] and "部分运行" in r["zh"] for r in run.verdict_reasons)


def test_indicators_sharing_probe_and_arguments_share_one_measurement(tmp_path: Path, cli) -> None:
    code = "import time; print(time.time_ns())"  # a different figure on every run
    twins = [command_indicator("F1", "functionality", code, ">= 0"),
             command_indicator("F2", "functionality", code, ">= 0"), *FIVE[1:]]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(twins)})
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "--quiet")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    f1, f2 = run.indicators[:2]
    assert f1.value == f2.value and f1.evidence == f2.evidence
    assert f2.measured_with == "F1" and f1.measured_with is None


def test_function_coverage_merges_runs_by_node_id() -> None:
    from support import FIXTURES
    from verifier.results import FunctionTests, IndicatorResult
    from verifier.runner import function_coverage
    from verifier.spec import load_spec

    spec = load_spec(FIXTURES / "sample-delivery" / "acceptance.yaml")

    def result(ind_id: str, outcomes: dict[str, str]) -> IndicatorResult:
        return IndicatorResult(id=ind_id, name=ind_id, characteristic="functionality", probe="pytest",
                               metric="pass_rate", target=">= 95%", unit="%", value=100.0,
                               status="met", credit=1.0, weight=1.0, reason="",
                               function_tests=[FunctionTests(id="F-01", outcomes=outcomes)],
                               details={"functions": [{"id": "F-01", "name": "free-form, not read"}]})

    same = {"tests/t.py::a": "passed", "tests/t.py::b": "passed"}
    merged = function_coverage(spec, [result("A", same), result("B", same)])
    f01 = next(f for f in merged if f.id == "F-01")
    assert (f01.passed, f01.failed, f01.covered) == (2, 0, True)  # not doubled
    flaky = function_coverage(spec, [result("A", same), result("B", {"tests/t.py::b": "failed"})])
    f01 = next(f for f in flaky if f.id == "F-01")
    assert (f01.passed, f01.failed, f01.covered) == (1, 1, False)  # failed once counts as failed
    assert next(f for f in merged if f.id == "F-02").covered is False  # no test mapped


@pytest.mark.slow
def test_ctrl_c_stops_the_run_with_exit_130_and_a_resume_hint(tmp_path: Path) -> None:
    slow = "import time; time.sleep(60); print(1)"
    indicators = [FIVE[0], command_indicator("P1", "performance_efficiency", slow, "<= 500", "ms"), *FIVE[2:]]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(indicators)})
    out = tmp_path / "run"
    verifier = Path(sys.executable).with_name("verifier")
    proc = subprocess.Popen([str(verifier), "run", str(repo / "acceptance.yaml"), "--out", str(out),
                             "--quiet", "--no-cache"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=default_signals)
    deadline = time.monotonic() + 120
    while not (out / "state" / "F1.json").exists():
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert f"--resume {out}" in stderr and "Traceback" not in stderr
    assert (out / "state" / "F1.json").exists() and not (out / "state" / "P1.json").exists()


def test_run_prints_the_spec_warnings_that_check_prints(tmp_path: Path, cli) -> None:
    doubtful = [command_indicator("F1", "functionality", "print(100)", ">= 0.95", "%"), *FIVE[1:]]
    repo = write_tree(tmp_path / "repo", {"stock/core.py": OWN_CODE,
                                         "acceptance.yaml": task_book(doubtful)})
    spec = repo / "acceptance.yaml"
    result = cli("run", spec, "--out", tmp_path / "run", "--quiet", "--only", "F1")
    assert result.exit_code == 3, result.output  # a partial run is never more than inconclusive
    warnings = [line for line in result.stderr.splitlines() if line.startswith("verifier: warning:")]
    assert warnings == list(cli("check", spec).stderr.splitlines())
    assert len(warnings) == 1 and "indicators[0].target: target '>= 0.95' means 0.95%" in warnings[0]


def test_function_coverage_from_a_real_pytest_run_survives_a_resume(tmp_path: Path, cli) -> None:
    """The pytest probe's typed function outcomes reach results.json (``function_tests``) and the run's
    function list; a resumed run rebuilds the coverage from the kept state alone."""
    spec = "\n".join([
        "project: {name: 测试系统, version: '1.0.0', applicant: 湖南示例软件有限公司,",
        "          owners: [Hunan Example Software Co., Ltd.]}",
        "functions:",
        "  - {id: F-01, name: 入库, tests: ['tests/test_stock.py::test_add*']}",
        "  - {id: F-02, name: 出库}",
        "  - {id: F-03, name: 盘点}",
        "indicators:",
        "  - {id: F1, name: 通过率, characteristic: functionality, probe: pytest, metric: pass_rate,",
        "     target: '>= 50%', with: {paths: [tests]}}",
        *FIVE[1:],
        "",
    ])
    tests = ("import pytest\nfrom stock.core import add\n\n"
             "def test_add():\n    assert add(1, 2) == 3\n\n"
             "@pytest.mark.function('F-02')\ndef test_remove():\n    assert add(3, -1) == 2\n\n"
             "@pytest.mark.function('F-02')\ndef test_negative():\n    assert add(0, -1) == -1\n")
    repo = write_tree(tmp_path / "repo", {"stock/__init__.py": "", "stock/core.py": OWN_CODE,
                                         "tests/test_stock.py": tests, "acceptance.yaml": spec})
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "--quiet", "--only", "F1")
    data = json.loads((out / "results.json").read_text("utf-8"))
    f1 = data["indicators"][0]
    assert f1["function_tests"] == [
        {"id": "F-01", "outcomes": {"tests/test_stock.py::test_add": "passed"}},
        {"id": "F-02", "outcomes": {"tests/test_stock.py::test_negative": "failed",
                                    "tests/test_stock.py::test_remove": "passed"}},
        {"id": "F-03", "outcomes": {}}]
    first = RunResult.model_validate(data).functions
    assert [(f.id, f.passed, f.failed, f.covered) for f in first] == [
        ("F-01", 1, 0, True), ("F-02", 1, 1, False), ("F-03", 0, 0, False)]
    (out / "results.json").unlink()  # what a resume has: the state files
    cli("run", repo / "acceptance.yaml", "--resume", out, "--quiet", "--only", "F1")
    again = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert again.functions == first
