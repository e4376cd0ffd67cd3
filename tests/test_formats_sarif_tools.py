"""SARIF is generic over probes: any probe's findings with a rule, a severity, a file and a line are
results of a run for its tool, with the tool's version, and nothing in sarif.py names the probe.

The fast test renders findings shaped as the semgrep, detect-secrets and lizard probes write them
(their field names) on the hand-made sample run; the slow one registers a probe from outside verifier
(written here, as a third party would) that runs a real tool (``python -m py_compile``) on a delivery
with a hostile file name, through a real ``verifier run`` and ``verifier report --format sarif``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from support.format_validators import sarif_json
from support.report_sample import build_sample_run
from verifier.formats import RunData, get_format
from verifier.report import load_run
from verifier.results import FindingRecord, IndicatorResult
from verifier.run_files import RunFiles

VERSIONS = {"semgrep": "1.121.0", "detect-secrets": "1.5.0", "lizard": "1.17.10", "pytest": "8.3.4"}


def _indicator(id_: str, probe: str, characteristic: str, findings: list[FindingRecord], **more) -> IndicatorResult:
    return IndicatorResult(id=id_, name=f"{probe} indicator", characteristic=characteristic, probe=probe,
                           metric="count", target="== 0", unit="count", value=float(len(findings)),
                           status="not_met" if findings else "met", credit=0.0, weight=1.0, reason="",
                           findings=findings, **more)


def _render(tmp_path: Path, indicators: list[IndicatorResult]) -> dict:
    run = build_sample_run(tmp_path)
    result = load_run(run)
    result = result.model_copy(update={
        "indicators": indicators,
        "environment": result.environment.model_copy(update={"tools": VERSIONS})})
    return sarif_json(get_format("sarif").render(RunData.from_run(result, RunFiles.from_dir(run))))


def test_findings_of_any_probe_become_results_of_its_tool_with_its_version(tmp_path):
    semgrep = [
        FindingRecord(message="eval of user input", file="web/app.js", line=12, severity="high",
                      rule="js.eval-injection",
                      extra={"column": 5, "end_line": 12, "end_column": 22, "semgrep_severity": "ERROR",
                             "cwe": ["CWE-95: Improper Neutralization of Directives"], "counted": True}),
        FindingRecord(message="same place, one column", file="web/app.js", line=30, severity="medium",
                      rule="js.tiny", extra={"column": 7, "end_line": 30, "end_column": 7}),
        FindingRecord(message="semgrep error: could not parse", file="web/broken.js", severity="info",
                      rule="semgrep-error")]
    secrets = [FindingRecord(message="hard-coded secret (Secret Keyword)", file="conf/<&\"q\"\x01.py", line=3,
                             severity="high", rule="Secret Keyword",
                             extra={"types": ["Secret Keyword"], "hashed_secret": "0" * 40})]
    lizard = [FindingRecord(message="function handle has ccn 22", file="src/Handler.java", line=40,
                            severity="medium", rule="lizard-ccn", extra={"end_line": 98, "ccn": 22}),
              FindingRecord(message="not analysed: unreadable", file="src/Bad.java", severity="info",
                            rule="lizard-error")]
    failing_test = [FindingRecord(message="failed: assert 1 == 2", file="tests/test_a.py", line=8,
                                  rule="tests/test_a.py::test_x")]  # no severity: the JUnit report's
    log = _render(tmp_path, [
        _indicator("S1", "semgrep", "security", semgrep, commands=[["semgrep", "scan", "--config", "r.yml"]]),
        _indicator("S2", "secrets", "security", secrets,
                   commands=[[sys.executable, "-m", "detect_secrets", "scan", "--", "conf"]]),
        _indicator("M1", "lizard", "maintainability", lizard),
        _indicator("M2", "lizard", "maintainability", [], details={"files_scanned": 3}),
        _indicator("F1", "pytest", "functionality", failing_test),
    ])
    runs = {r["tool"]["driver"]["name"]: r for r in log["runs"]}
    assert list(runs) == ["detect-secrets", "lizard", "semgrep"]
    for name, run in runs.items():
        assert run["tool"]["driver"]["version"] == VERSIONS[name]
    # semgrep: region with columns, CWE as a property and a tag, the rule tagged with the characteristic
    first, tiny = sorted(runs["semgrep"]["results"], key=lambda r: r["ruleId"])
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 12, "endLine": 12, "startColumn": 5, "endColumn": 22}
    assert tiny["locations"][0]["physicalLocation"]["region"] == {"startLine": 30, "endLine": 30, "startColumn": 7}
    assert first["level"] == "error" and first["properties"]["cwe"] == "CWE-95" and first["properties"]["counted"]
    rules = runs["semgrep"]["tool"]["driver"]["rules"]
    assert rules[first["ruleIndex"]] == {"id": "js.eval-injection", "properties": {"tags": ["security", "CWE-95"]}}
    notes = runs["semgrep"]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["semgrep error: could not parse"]
    # detect-secrets: the tool of `python -m detect_secrets`; the hostile path percent-encoded
    (secret,) = runs["detect-secrets"]["results"]
    assert secret["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "conf/%3C%26%22q%22%01.py"
    assert secret["properties"]["secretSha1"] == "0" * 40  # the digest detect-secrets made, never the secret
    assert "Secret Keyword" not in json.dumps(secret["properties"])  # other extras stay in results.json
    # lizard: both indicators in one run, the clean one too; the function's span
    assert [i["properties"]["indicator"] for i in runs["lizard"]["invocations"]] == ["M1", "M2"]
    (fn,) = runs["lizard"]["results"]
    assert fn["locations"][0]["physicalLocation"]["region"] == {"startLine": 40, "endLine": 98}
    assert fn["level"] == "warning"
    assert runs["lizard"]["tool"]["driver"]["rules"][0]["properties"]["tags"] == ["maintainability"]


def test_a_clean_scan_is_a_run_without_results_and_other_probes_have_none(tmp_path):
    log = _render(tmp_path, [
        _indicator("M1", "lizard", "maintainability", []),  # nothing says it scanned files
        _indicator("C1", "matrix", "compatibility", [FindingRecord(message="cell failed", rule="cell:py39")]),
        _indicator("S1", "semgrep", "security", [], measurements={"files_scanned": 4.0}),
    ])
    (run,) = log["runs"]  # a dashboard closes semgrep's earlier alerts
    assert run["tool"]["driver"]["name"] == "semgrep" and run["results"] == []
    assert run["invocations"][0]["executionSuccessful"]


PROBE = r'''
"""A third party's probe: Python files that do not compile, by ``python -m py_compile``."""

import platform
import re
import subprocess
import sys

from verifier.probe import Finding, Measurement, MetricInfo, Probe, ProbeOutcome


class CompileProbe(Probe):
    name = "compilecheck"
    characteristic = "maintainability"
    description = "Python files that do not compile (python -m py_compile)."
    metrics = {"failures": MetricInfo("count", "files that do not compile")}

    def tool_versions(self):
        return {"py-compile": platform.python_version()}

    def run(self, ctx):
        findings, commands, log = [], [], []
        files = sorted(p for p in ctx.repo.rglob("*.py"))
        for path in files:
            rel = path.relative_to(ctx.repo).as_posix()
            argv = (sys.executable, "-m", "py_compile", str(path))
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=ctx.evidence_dir)
            commands.append(argv)
            log.append(done.stderr)
            if done.returncode == 0:
                continue
            last = done.stderr.strip().splitlines()[-1]
            found = re.search(r"line (\d+)", done.stderr)
            if found:
                findings.append(Finding(message=last, file=rel, line=int(found.group(1)), severity="high",
                                        rule="E999", extra={"cwe": "CWE-1164", "confidence": "high"}))
            else:
                findings.append(Finding(message=last, file=rel, severity="info", rule="compilecheck-error"))
        out = ctx.evidence_dir / "py_compile.log"
        out.write_text("\n".join(log), encoding="utf-8", errors="backslashreplace")
        failures = sum(f.line is not None for f in findings)
        return ProbeOutcome(measurements=(Measurement("failures", float(failures), "count"),),
                            findings=tuple(findings), commands=tuple(commands), evidence=(ctx.rel(out),),
                            details={"files_scanned": len(files)})
'''

SPEC = """\
project: {name: 编译检查, version: '1.0.0', owners: [Hunan Example Software Co., Ltd.]}
indicators:
  - {id: M1, name: 可编译, characteristic: maintainability, probe: compilecheck, metric: failures, target: '== 0'}
"""


@pytest.mark.slow
def test_a_third_party_probe_reaches_sarif_through_a_real_run(tmp_path):
    site = tmp_path / "site"
    (site / "compilecheck-1.0.dist-info").mkdir(parents=True)
    (site / "compilecheck.py").write_text(PROBE, "utf-8")
    (site / "compilecheck-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: compilecheck\nVersion: 1.0\n")
    (site / "compilecheck-1.0.dist-info" / "entry_points.txt").write_text(
        "[verifier.probes]\ncompilecheck = compilecheck:CompileProbe\n")
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "acceptance.yaml").write_text(SPEC, "utf-8")
    owner = "# Copyright (c) 2026 Hunan Example Software Co., Ltd.\n"
    (repo / "app" / "good.py").write_text(owner + "x = 1\n")
    (repo / "app" / "bad <&\"q\" \x01.py").write_text(owner + "x = 1\ndef broken(:\n    pass\n")
    (repo / "app" / "gone.py").symlink_to(repo / "app" / "missing.py")  # py_compile cannot read it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "NO_COLOR": "1"}

    def verifier(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "verifier", *map(str, args)], env=env, text=True,
                              capture_output=True, timeout=600)

    run = verifier("run", repo / "acceptance.yaml", "--out", tmp_path / "run", "--quiet", "--no-cache")
    assert run.returncode in (0, 1, 3), run.stderr
    done = verifier("report", tmp_path / "run", "--format", "sarif", "-o", tmp_path / "f.sarif")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "f.sarif").read_bytes()
    assert b"\\u0001" not in data and b"\x01" not in data
    log = sarif_json(data)
    (tool,) = log["runs"]
    driver = tool["tool"]["driver"]
    assert driver["name"] == "py-compile" and driver["version"] == platform.python_version()
    (result,) = tool["results"]
    assert result["ruleId"] == "E999" and result["level"] == "error"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/bad%20%3C%26%22q%22%20%01.py", "uriBaseId": "SRCROOT"}
    assert location["region"] == {"startLine": 3}
    assert result["properties"]["cwe"] == "CWE-1164" and result["properties"]["confidence"] == "high"
    assert driver["rules"] == [{"id": "E999", "properties": {"tags": ["maintainability", "CWE-1164"]}}]
    (note,) = tool["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/gone.py"
    assert tool["artifacts"][0]["location"]["uri"] == "evidence/M1/py_compile.log"
