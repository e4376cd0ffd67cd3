"""The Node.js deliveries: their own test suites on node's runner, their task books, and `verifier run`
end to end: fixtures/node-delivery passes every indicator; fixtures/node-weak-delivery fails the
junit, semgrep and robustness indicators (and secrets and lizard), with the findings known in
fixture_expectations."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from support.fixture_expectations import (
    NODE_FUNCTIONS,
    NODE_RATIO,
    NODE_ROOT,
    NODE_TEST_COUNT,
    NODE_TESTS_PER_FUNCTION,
    NODE_WEAK_COVERED_FUNCTIONS,
    NODE_WEAK_FAILING_TESTS,
    NODE_WEAK_ROOT,
    NODE_WEAK_SECRETS,
    NODE_WEAK_SEMGREP,
    NODE_WEAK_TEST_COUNT,
)
from support.format_validators import sarif_json
from verifier.builtin_probes._junit_xml import ClassFiles, read_report
from verifier.scoring import count_gate, coverage_gates
from verifier.spec import REQUIRED_CHARACTERISTICS, load_spec

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

#: The weak build's administration password (src/config.js), which must never appear in a run.
WEAK_SECRET = "Wx7#kP2!" + "mQ9vLr4s"


def _cli(*args: object):
    from click.testing import CliRunner

    from verifier.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _suite(root: Path, tmp_path: Path, tz: str = "UTC") -> dict[str, str]:
    """Run the product's tests with node's runner; outcome by node id (as the junit probe names them)."""
    xml = tmp_path / f"{root.name}-{tz.replace('/', '-')}.xml"
    subprocess.run(["node", "--test", "--test-reporter=junit", f"--test-reporter-destination={xml}", "test/"],
                   cwd=root, capture_output=True, timeout=120, env={"PATH": "/usr/bin:/bin", "TZ": tz})
    report = read_report(xml, repo=root, cwd=root, classes=ClassFiles(root), what=xml.name)
    return {c.nodeid: c.outcome for c in report.cases}


@pytest.mark.parametrize("root", [NODE_ROOT, NODE_WEAK_ROOT], ids=["node", "node-weak"])
def test_task_books_load_and_cover_the_five(root):
    spec = load_spec(root / "acceptance.yaml", repo=root)
    assert count_gate(spec).passed and all(g.passed for g in coverage_gates(spec))
    assert {i.characteristic for i in spec.indicators} >= set(REQUIRED_CHARACTERISTICS)
    assert [f.id for f in spec.functions] == list(NODE_FUNCTIONS)
    assert {i.probe for i in spec.indicators} >= {"junit", "locust", "robustness", "semgrep", "secrets",
                                                   "lizard", "matrix", "origin"}
    assert spec.warnings == ()


def test_node_delivery_suite_passes_in_two_time_zones(tmp_path):
    for tz in ("Asia/Shanghai", "America/New_York"):
        outcomes = _suite(NODE_ROOT, tmp_path, tz)
        assert len(outcomes) == NODE_TEST_COUNT and set(outcomes.values()) == {"passed"}, tz
    per_function = {fid: sum(1 for n in outcomes if n.startswith(f"test::{fid} ")) for fid in NODE_FUNCTIONS}
    assert per_function == NODE_TESTS_PER_FUNCTION


def test_node_weak_suite_fails_the_known_tests(tmp_path):
    outcomes = _suite(NODE_WEAK_ROOT, tmp_path)
    assert len(outcomes) == NODE_WEAK_TEST_COUNT
    assert {n for n, o in outcomes.items() if o == "failed"} == NODE_WEAK_FAILING_TESTS


@pytest.mark.slow
def test_node_delivery_runs_to_a_pass_and_its_bundle_verifies(tmp_path):
    out = tmp_path / "run"
    result = _cli("run", NODE_ROOT / "acceptance.yaml", "--repo", NODE_ROOT, "--out", out, "--quiet",
                  "--no-cache")
    assert result.exit_code == 0, result.output
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert data["verdict"] == "pass"
    statuses = {i["id"]: i["status"] for i in data["indicators"]}
    assert set(statuses.values()) == {"met"}, statuses
    values = {i["id"]: i["value"] for i in data["indicators"]}
    assert values["FUN-1"] == 100.0 and values["FUN-2"] == 100.0
    assert values["SEC-1"] == 0 and values["SEC-2"] == 0 and values["REL-3"] == 0
    assert values["ORIG-1"] == pytest.approx(100 * NODE_RATIO)
    assert {f["id"]: f["covered"] for f in data["functions"]} == dict.fromkeys(NODE_FUNCTIONS, True)
    assert {f["id"]: len(f["tests"]) for f in data["functions"]} == NODE_TESTS_PER_FUNCTION
    assert (out / "evidence" / "FUN-1" / "junit" / "node-test.xml").is_file()
    assert (out / "evidence" / "SEC-1" / "semgrep.sarif").is_file()
    bundle = tmp_path / "node.zip"
    assert _cli("bundle", out, "-o", bundle).exit_code == 0
    verified = _cli("verify", bundle, "--repo", NODE_ROOT)
    assert verified.exit_code == 0, verified.output


@pytest.mark.slow
def test_node_weak_delivery_fails_junit_semgrep_and_robustness(tmp_path):
    out = tmp_path / "run"
    only = [a for i in ("FUN-1", "FUN-2", "REL-4", "SEC-1", "SEC-2", "MAINT-1") for a in ("--only", i)]
    result = _cli("run", NODE_WEAK_ROOT / "acceptance.yaml", "--repo", NODE_WEAK_ROOT, "--out", out, "--quiet",
                  "--no-cache", *only)
    assert result.exit_code == 1, result.output
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert data["verdict"] == "fail"
    by_id = {i["id"]: i for i in data["indicators"]}
    assert {k: by_id[k]["status"] for k in by_id} == dict.fromkeys(
        ("FUN-1", "FUN-2", "REL-4", "SEC-1", "SEC-2", "MAINT-1"), "not_met")
    assert {f["rule"] for f in by_id["FUN-1"]["findings"]} == NODE_WEAK_FAILING_TESTS
    assert by_id["FUN-1"]["value"] == pytest.approx(100 * 4 / 6, abs=1e-3)
    assert {f["id"] for f in data["functions"] if f["covered"]} == NODE_WEAK_COVERED_FUNCTIONS
    assert {(f["rule"], f["file"], f["line"]) for f in by_id["SEC-1"]["findings"]} == NODE_WEAK_SEMGREP
    assert {(f["file"], f["line"], f["rule"]) for f in by_id["SEC-2"]["findings"]} == NODE_WEAK_SECRETS
    assert by_id["REL-4"]["value"] < 100 and any(f["extra"]["status"] == 500 for f in by_id["REL-4"]["findings"])
    # findings of semgrep and detect-secrets go into the run's SARIF, as bandit's do
    sarif_path = tmp_path / "findings.sarif"
    assert _cli("report", out, "--format", "sarif", "-o", sarif_path).exit_code == 0
    log = sarif_json(sarif_path.read_bytes())
    runs = {r["tool"]["driver"]["name"]: r for r in log["runs"]}
    assert set(runs) == {"semgrep", "detect-secrets", "lizard", "verifier-robustness"}  # lizard: its worst functions
    assert {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
            for r in runs["semgrep"]["results"]} == {(rule, line) for rule, _, line in NODE_WEAK_SEMGREP}
    cwe = {t for rule in runs["semgrep"]["tool"]["driver"]["rules"] for t in rule["properties"]["tags"]}
    assert {"CWE-78", "CWE-95"} <= cwe
    assert [r["properties"]["secretSha1"] for r in runs["detect-secrets"]["results"]] == [
        f["extra"]["hashed_secret"] for f in by_id["SEC-2"]["findings"]]
    # each probe's own presentation labels its figures in the report (zh and en)
    zh, en = tmp_path / "report.zh.html", tmp_path / "report.en.html"
    assert _cli("report", out, "--format", "html", "--lang", "zh", "-o", zh).exit_code == 0
    assert _cli("report", out, "--format", "html", "--lang", "en", "-o", en).exit_code == 0
    text = zh.read_text("utf-8")
    for label in ("JUnit XML 报告", "问题所属规则", "凭据类型", "圈复杂度最高的函数", "任一项超限函数占比（%）"):
        assert label in text, label
    assert "Most complex functions" in en.read_text("utf-8")
    # the secret's value is nowhere: not in the run directory, the reports or the SARIF
    for path in [*out.rglob("*"), zh, en, sarif_path]:
        if path.is_file():
            assert WEAK_SECRET.encode() not in path.read_bytes(), path
