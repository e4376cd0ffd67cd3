"""`verifier init` and `verifier check` through the real CLI group and the installed probes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from verifier.cli import main
from verifier.cli.spec_cmds import template_text
from verifier.probe import available_probes
from verifier.spec import load_spec

GOOD = textwrap.dedent("""\
    project: {name: 示例, version: "1.0.0", applicant: 湖南示例软件有限公司, owners: [湖南示例软件有限公司]}
    indicators:
      - {id: T1, name: 测试通过率, characteristic: functionality, probe: pytest, metric: pass_rate,
         target: ">= 95%"}
      - {id: S1, name: 高危问题, characteristic: security, probe: bandit, metric: high, target: "0 个"}
      - {id: M1, name: 复杂度, characteristic: maintainability, probe: radon, metric: avg_complexity,
         target: "<= 10"}
    scoring: {pass_score: 80}
    """)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_good_spec(runner, tmp_path):
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"{spec}: valid, but 4 policy gates FAIL\n")
    assert "project:    示例 1.0.0 (湖南示例软件有限公司)" in out
    assert "indicators: 3 (functional suitability 1, maintainability 1, security 1)" in out
    assert "pass score: 80" in out
    assert "gate FAIL indicators.count: At least 5 key indicators (3 < 5)" in out
    assert "gate ok   coverage.security: An indicator covers security (S1)" in out
    assert "gate FAIL coverage.reliability" in out
    assert "gate ok   project.version" in out
    assert out.splitlines()[-1] == (
        "gates: 4 of 7 decidable without a run FAIL (indicators.count, "
        "coverage.performance_efficiency, coverage.reliability, coverage.compatibility): "
        "a run cannot pass; --strict exits 1")
    assert result.stderr == ""


def test_check_strict_exits_1_when_a_gate_decidable_from_the_spec_fails(runner, tmp_path):
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec), "--strict"])
    assert result.exit_code == 1 and result.stderr == ""
    assert result.stdout.splitlines()[-1].endswith("): exit 1 (--strict)")
    assert "gate FAIL indicators.count" in result.stdout


def test_check_strict_exits_0_when_the_gates_hold_and_1_on_a_failing_version_gate(runner, tmp_path):
    target = tmp_path / "acceptance.yaml"
    assert runner.invoke(main, ["init", str(target)]).exit_code == 0
    result = runner.invoke(main, ["check", str(target), "--strict"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{target}: OK\n")
    assert result.stdout.splitlines()[-1] == (
        "gates: all 7 decidable without a run hold; the self-developed ratio and whether every "
        "task-book indicator is met are decided by `verifier run`")
    assert ("gate run  indicators.met: Every task-book indicator met (decided by `verifier run`: "
            "7 task-book indicators must meet their targets)") in result.stdout
    target.write_text(target.read_text(encoding="utf-8").replace('version: "1.0.0"', 'version: "2.1.0"'),
                      encoding="utf-8")
    old = runner.invoke(main, ["check", str(target), "--strict"])
    assert old.exit_code == 1 and "gate FAIL project.version: Product version is 1.x (2.1.0)" in old.stdout
    assert runner.invoke(main, ["check", str(target)]).exit_code == 0


def test_check_counts_only_task_book_indicators_for_the_gates(runner, tmp_path):
    """required: false cannot fill the task book: with --strict, the spec whose coverage of
    security rests on an indicator beyond the task book fails before any run."""
    target = tmp_path / "acceptance.yaml"
    assert runner.invoke(main, ["init", str(target)]).exit_code == 0
    text = target.read_text(encoding="utf-8")
    assert runner.invoke(main, ["check", str(target), "--strict"]).exit_code == 0
    optional = text.replace("    metric: high\n", "    metric: high\n    required: false\n")
    assert optional != text
    target.write_text(optional, encoding="utf-8")
    result = runner.invoke(main, ["check", str(target), "--strict"])
    assert result.exit_code == 1, result.output
    assert "gate FAIL coverage.security: An indicator covers security (none)" in result.stdout
    assert "gate ok   indicators.count: At least 5 key indicators (6 ≥ 5)" in result.stdout
    assert ("gate run  indicators.met: Every task-book indicator met (decided by `verifier run`: "
            "6 task-book indicators must meet their targets; beyond the task book, not blocking: SEC-1)"
            ) in result.stdout


def test_check_with_repo_adds_the_dossier_gate(runner):
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "fixtures"
    sample = runner.invoke(main, ["check", str(root / "sample-delivery" / "acceptance.yaml"),
                                  "--repo", str(root / "sample-delivery"), "--strict"])
    assert sample.exit_code == 0, sample.output
    assert "gate ok   materials: Acceptance materials complete (6/6)" in sample.stdout
    weak = runner.invoke(main, ["check", str(root / "weak-delivery" / "acceptance.yaml"),
                                "--repo", str(root / "weak-delivery"), "--strict"])
    assert weak.exit_code == 1
    assert weak.stdout.splitlines()[-1] == (
        "gates: 2 of 8 decidable without a run FAIL (project.version, materials): exit 1 (--strict); "
        "2 warnings on stderr")
    assert len(weak.stderr.splitlines()) == 2


def test_check_bad_spec_is_one_line_and_exit_2(runner, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace("metric: high", "metric: critical"), encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"verifier: error: {spec}:5: indicators[1].metric: "
                               "probe 'bandit' has no metric 'critical'")


def test_check_bad_yaml_exit_2(runner, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("project: {name: x\n", encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "invalid YAML" in result.stderr


def test_check_missing_file_exit_2(runner, tmp_path):
    result = runner.invoke(main, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"verifier: error: {tmp_path / 'nope.yaml'}: no such spec file")


def test_check_with_repo_finds_escaping_symlink(runner, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "src").symlink_to(tmp_path)
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD.replace("probe: bandit,", "probe: bandit, with: {paths: [src]},"),
                    encoding="utf-8")
    assert runner.invoke(main, ["check", str(spec)]).exit_code == 0
    result = runner.invoke(main, ["check", str(spec), "--repo", str(repo)])
    assert result.exit_code == 2
    assert f"{spec}:5: indicators[1].with.paths[0]: 'src' leads out of the repository" in result.stderr


def test_init_writes_the_template_and_refuses_to_overwrite(runner, tmp_path):
    target = tmp_path / "acceptance.yaml"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == template_text()
    target.write_text("mine\n", encoding="utf-8")
    again = runner.invoke(main, ["init", str(target)])
    assert again.exit_code == 2
    assert again.stderr.strip() == f"verifier: error: {target} already exists (use --force to overwrite it)"
    assert target.read_text(encoding="utf-8") == "mine\n"
    forced = runner.invoke(main, ["init", str(target), "--force"])
    assert forced.exit_code == 0 and target.read_text(encoding="utf-8") == template_text()


def test_init_into_a_missing_directory_exit_2(runner, tmp_path):
    result = runner.invoke(main, ["init", str(tmp_path / "no" / "such" / "acceptance.yaml")])
    assert result.exit_code == 2 and "no such directory for the task book" in result.stderr


def test_init_default_name(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(main, ["init"]).exit_code == 0
    assert (tmp_path / "acceptance.yaml").is_file()


def test_init_into_a_directory_writes_acceptance_yaml_there(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["init", "."])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "acceptance.yaml").read_text(encoding="utf-8") == template_text()
    assert result.stdout.startswith("wrote acceptance.yaml:")
    again = runner.invoke(main, ["init", "."])
    assert again.exit_code == 2 and "acceptance.yaml already exists" in again.stderr
    sub = tmp_path / "delivery"
    sub.mkdir()
    assert runner.invoke(main, ["init", str(sub)]).exit_code == 0
    assert (sub / "acceptance.yaml").is_file()


def test_init_into_a_directory_holding_a_directory_named_acceptance_yaml(runner, tmp_path):
    (tmp_path / "acceptance.yaml").mkdir()
    result = runner.invoke(main, ["init", str(tmp_path), "--force"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"verifier: error: {tmp_path / 'acceptance.yaml'} is a directory"


def test_template_is_accepted_by_check(runner, tmp_path):
    target = tmp_path / "acceptance.yaml"
    assert runner.invoke(main, ["init", str(target)]).exit_code == 0
    result = runner.invoke(main, ["check", str(target)])
    assert result.exit_code == 0, result.stderr
    spec = load_spec(target)
    assert len(spec.indicators) >= 5
    assert {"gate FAIL" in line for line in result.stdout.splitlines()} == {False}
    assert {i.probe for i in spec.indicators} <= set(available_probes())


def test_template_comments_are_bilingual():
    text = template_text()
    assert "项目任务书" in text and "Task book" in text
    assert "自研代码率" in text and "self-developed code ratio" in text


@pytest.mark.parametrize("command", ["init", "check"])
def test_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0 and len(result.stdout) > 100
    assert command in runner.invoke(main, ["--help"]).stdout


def test_check_as_a_real_process(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(GOOD.replace('version: "1.0.0"', "version: 1.0"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "verifier", "check", str(spec)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"verifier: error: {spec}:1: project.version: write the version as a quoted string, "
        'e.g. "1.0" (YAML reads an unquoted 1.10 as the number 1.1)']


def test_check_warns_about_a_bare_fraction_on_a_percentage_and_refuses_195(runner, tmp_path):
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD.replace('target: ">= 95%"', 'target: ">= 0.6"'), encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"verifier: warning: {spec}:4: indicators[0].target: target '>= 0.6' means 0.6%: a bare "
        "number is in the metric's unit (%), not a fraction like origin.min_ratio; did you mean "
        '>= 60%? (write ">= 0.6%" if 0.6% is meant)']
    assert result.stdout.splitlines()[-1].endswith("; 1 warning on stderr")
    spec.write_text(GOOD.replace('target: ">= 95%"', 'target: ">= 195%"'), encoding="utf-8")
    refused = runner.invoke(main, ["check", str(spec)])
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"verifier: error: {spec}:4: indicators[0].target: target '>= 195%' can never be met: "
        "a share is at most 100%"]


def test_check_with_repo_refuses_paths_that_do_not_exist(runner, tmp_path):
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD.replace("probe: bandit,", "probe: bandit, with: {paths: [myapp]},"),
                    encoding="utf-8")
    assert runner.invoke(main, ["check", str(spec)]).exit_code == 0       # without --repo: not checked
    result = runner.invoke(main, ["check", str(spec), "--repo", str(repo)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"verifier: error: {spec}:5: indicators[1].with.paths[0]: path 'myapp' does not exist in {repo}"]
    (repo / "myapp").mkdir()
    assert runner.invoke(main, ["check", str(spec), "--repo", str(repo)]).exit_code == 0


def test_check_with_repo_warns_about_a_missing_default_path(runner, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(main, ["check", str(spec), "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [             # the pytest probe's default paths: [tests]
        f"verifier: warning: {spec}:3: indicators[0].with.paths[0]: defaults to 'tests', "
        f"which does not exist in {repo}"]


def test_check_help_describes_the_repository_check(runner):
    text = " ".join(runner.invoke(main, ["check", "--help"]).stdout.split())
    assert "each path it names must exist and stay inside" in text
    assert "--strict" in text and "Exit 1 when a policy gate decidable without a run fails" in text
