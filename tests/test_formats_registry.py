"""The format registry and the formats on the hand-made hostile sample run (tests/support/report_sample.py): a
third-party format registers through the ``verifier.formats`` entry points like the built-in ones;
SARIF and JUnit of the hostile sample validate; what a format cannot render is a one-line error."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from support.format_validators import cyclonedx_json, junit_xml, sarif_json
from support.report_sample import EVIL, build_sample_run
from verifier import formats
from verifier.formats import FormatError, RunData
from verifier.results import Project

THIRD_PARTY = '''
from verifier.formats.interface import OutputFormat, text


class CountFormat(OutputFormat):
    """A one-line summary, as a third party might add one."""

    name = "count"
    media_type = "text/plain"
    filename = "count.txt"
    description = "indicators met"

    def render(self, data):
        met = sum(i.status == "met" for i in data.result.indicators)
        return f"{text(data.project.name)}: {met}/{len(data.result.indicators)}\\n".encode()
'''


@pytest.fixture
def hostile_sample(tmp_path: Path) -> Path:
    return build_sample_run(tmp_path, hostile=True)


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch):
    """A package ``countfmt`` installed on sys.path with a dist-info naming it under verifier.formats."""
    site = tmp_path / "site"
    (site / "countfmt-1.0.dist-info").mkdir(parents=True)
    (site / "countfmt.py").write_text(THIRD_PARTY)
    (site / "countfmt-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: countfmt\nVersion: 1.0\n")
    (site / "countfmt-1.0.dist-info" / "entry_points.txt").write_text("[verifier.formats]\ncount = countfmt:CountFormat\n")
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    formats.available_formats.cache_clear()
    formats._load.cache_clear()
    yield
    formats.available_formats.cache_clear()
    formats._load.cache_clear()
    sys.modules.pop("countfmt", None)


def test_the_built_in_formats_are_registered_as_entry_points():
    assert set(formats.BUILT_IN) <= set(formats.format_names())
    for name in formats.BUILT_IN:
        fmt = formats.get_format(name)
        assert fmt.name == name and fmt.filename and fmt.media_type


def test_a_third_party_format_renders_like_a_built_in_one(third_party, hostile_sample):
    assert "count" in formats.format_names()
    assert formats.render_run(hostile_sample, "count").decode() == f"智能仓储调度系统{EVIL}: 5/7\n"
    assert formats.default_output(hostile_sample, "count") == hostile_sample / "reports" / "count.txt"


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(Exception, match=r"unknown output format 'nope' \(known: .*spdx"):
        formats.get_format("nope")


def test_sarif_and_junit_of_the_hostile_sample_validate(hostile_sample, cli, tmp_path):
    for fmt in ("sarif", "junit", "cyclonedx"):
        result = cli("report", hostile_sample, "--format", fmt)
        assert result.exit_code == 0, result.output
    log = sarif_json((hostile_sample / "reports" / "findings.sarif").read_bytes())
    runs = {r["tool"]["driver"]["name"]: r for r in log["runs"]}
    # no robustness indicator; the hand-made pytest and radon findings carry rule, severity, file and line
    assert list(runs) == ["bandit", "pytest", "radon"]
    bandit = runs["bandit"]
    messages = [r["message"]["text"] for r in bandit["results"]]
    assert f"Possible SQL injection{EVIL}" in messages
    assert {r["level"] for r in bandit["results"]} == {"error", "warning", "note"}
    waived = [r for r in bandit["results"] if r.get("suppressions")]  # the expert's waiver, as SARIF says it
    assert [(r["ruleId"], r["suppressions"][0]["status"], r["properties"]["fingerprint"]) for r in waived] == [
        ("B602", "accepted", "bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60")]
    xml = junit_xml((hostile_sample / "reports" / "junit.xml").read_bytes(), tmp_path)
    cases = {case.name: case for suite in xml for case in suite}
    error = cases["C1 多 Python 版本兼容"]
    assert [type(r).__name__ for r in error.result] == ["Error"]
    assert error.result[0].message == "python3.9 not found on this machine"
    failure = cases["P2 吞吐量"].result[0]
    assert failure.message == "rps = 268.4 rps, target >= 300 rps: not met"
    cyclonedx_json((hostile_sample / "reports" / "sbom.cdx.json").read_bytes())


def test_spdx_of_an_analysis_without_sha1_is_a_one_line_error(hostile_sample, cli):
    result = cli("report", hostile_sample, "--format", "spdx")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no SHA-1" in result.output


def test_a_run_format_refuses_an_origin_scan_alone():
    data = RunData.from_origin({"files": []}, Project(name="p", version="1"), "2026-01-01T00:00:00+00:00")
    with pytest.raises(FormatError, match="renders a run"):
        formats.render("junit", data)
    assert formats.render("cyclonedx", data).startswith(b"{")
