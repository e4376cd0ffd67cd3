"""The fixtures' own test suites and static-analysis figures match fixture_expectations.

Each product's pytest suite runs for real in a copy of the fixture (so the fixture tree
gets no caches), and bandit and radon run on the fixtures' code, as the probes will.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from support.fixture_expectations import (
    SAMPLE_BANDIT_ISSUES_INVENTORY_API,
    SAMPLE_FUNCTIONS,
    SAMPLE_RADON_WORST,
    SAMPLE_ROOT,
    SAMPLE_TEST_COUNT,
    SAMPLE_TESTS_PER_FUNCTION,
    WEAK_BANDIT_HIGH,
    WEAK_BANDIT_ISSUES,
    WEAK_BANDIT_LOW,
    WEAK_BANDIT_MEDIUM,
    WEAK_COVERED_FUNCTIONS,
    WEAK_FAILING_TESTS,
    WEAK_FUNCTION_COVERAGE,
    WEAK_FUNCTIONS,
    WEAK_PASSING_TESTS,
    WEAK_RADON_WORST,
    WEAK_ROOT,
    WEAK_UNTESTED_FUNCTIONS,
)

SUITE_TIMEOUT_S = 180
TOOL_TIMEOUT_S = 120

# A pytest plugin, loaded into the product's own pytest run, that records the
# function marker of every collected test.
_MARKER_PLUGIN = textwrap.dedent("""
    import json, os

    def pytest_collection_modifyitems(items):
        out = {item.nodeid: [m.args[0] for m in item.iter_markers("function")] for item in items}
        with open(os.environ["FX_MARKERS_OUT"], "w", encoding="utf-8") as handle:
            json.dump(out, handle)
""")


def _run_suite(root: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, dict[str, str], dict[str, list]]:
    """Run the product's pytest in a copy of ``root``; return (process, outcome by node id, markers)."""
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("docs", "__pycache__", "*.db", "*.db-*"))
    plugin_dir = tmp_path / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / "fx_markers.py").write_text(_MARKER_PLUGIN, encoding="utf-8")
    junit, markers = tmp_path / "junit.xml", tmp_path / "markers.json"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(plugin_dir),
               FX_MARKERS_OUT=str(markers))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "fx_markers", f"--junitxml={junit}"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        nodeid = case.get("classname").replace(".", "/") + ".py::" + case.get("name")
        failed = case.find("failure") is not None or case.find("error") is not None
        outcomes[nodeid] = "failed" if failed else ("skipped" if case.find("skipped") is not None else "passed")
    return proc, outcomes, json.loads(markers.read_text(encoding="utf-8"))


def _tool(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT_S, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


@pytest.mark.slow
def test_sample_suite_passes_and_covers_every_function(tmp_path):
    proc, outcomes, markers = _run_suite(SAMPLE_ROOT, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(outcomes) == SAMPLE_TEST_COUNT
    assert set(outcomes.values()) == {"passed"}
    assert all(len(ids) == 1 for ids in markers.values()), "every test carries exactly one function marker"
    per_function = Counter(ids[0] for ids in markers.values())
    assert dict(per_function) == SAMPLE_TESTS_PER_FUNCTION
    assert set(per_function) == set(SAMPLE_FUNCTIONS)


@pytest.mark.slow
def test_weak_suite_fails_the_expected_tests(tmp_path):
    proc, outcomes, markers = _run_suite(WEAK_ROOT, tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert {n for n, o in outcomes.items() if o == "failed"} == WEAK_FAILING_TESTS
    assert {n for n, o in outcomes.items() if o == "passed"} == WEAK_PASSING_TESTS
    marked = {nodeid: ids[0] for nodeid, ids in markers.items()}
    assert set(WEAK_FUNCTIONS) - set(marked.values()) == WEAK_UNTESTED_FUNCTIONS
    covered = {f for f in WEAK_FUNCTIONS
               if any(marked.get(n) == f for n in WEAK_PASSING_TESTS)
               and not any(marked.get(n) == f for n in WEAK_FAILING_TESTS)}
    assert covered == WEAK_COVERED_FUNCTIONS
    assert len(covered) / len(WEAK_FUNCTIONS) == pytest.approx(WEAK_FUNCTION_COVERAGE)


def test_weak_bandit_findings():
    proc = _tool(["bandit", "-q", "-r", "weak_api", "-f", "json"], WEAK_ROOT)
    assert proc.returncode == 1, proc.stderr  # bandit's 1 means "found issues"
    report = json.loads(proc.stdout)
    found = {(r["test_id"], r["issue_severity"], r["issue_confidence"], r["line_number"])
             for r in report["results"]}
    assert found == WEAK_BANDIT_ISSUES
    assert {r["filename"] for r in report["results"]} == {"weak_api/admin.py"}
    totals = report["metrics"]["_totals"]
    assert (totals["SEVERITY.HIGH"], totals["SEVERITY.MEDIUM"], totals["SEVERITY.LOW"]) == (
        WEAK_BANDIT_HIGH, WEAK_BANDIT_MEDIUM, WEAK_BANDIT_LOW)


def test_sample_bandit_is_clean():
    proc = _tool(["bandit", "-q", "-r", "inventory_api", "-f", "json"], SAMPLE_ROOT)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert len(json.loads(proc.stdout)["results"]) == SAMPLE_BANDIT_ISSUES_INVENTORY_API


def _radon_blocks(root: Path, package: str) -> list[tuple[int, str, str, str]]:
    proc = _tool(["radon", "cc", "-j", package], root)
    assert proc.returncode == 0, proc.stderr
    blocks = []
    for path, entries in json.loads(proc.stdout).items():
        for block in entries:
            blocks.append((block["complexity"], path, block["name"], block["rank"]))
            blocks.extend((m["complexity"], path, m["name"], m["rank"]) for m in block.get("methods", []))
    return blocks


def test_weak_has_a_very_complex_function():
    worst = max(_radon_blocks(WEAK_ROOT, "weak_api"))
    complexity, path, name, rank = worst
    assert (path, name, complexity, rank) == WEAK_RADON_WORST
    assert rank in "DEF"


def test_sample_complexity_stays_low():
    blocks = _radon_blocks(SAMPLE_ROOT, "inventory_api")
    complexity, path, name, rank = max(blocks)
    assert (path, name, complexity) == SAMPLE_RADON_WORST
    assert not [b for b in blocks if b[3] in "CDEF"]
