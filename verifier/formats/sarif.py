"""SARIF 2.1.0: the run's security findings and robustness failures, for code-scanning dashboards.

Written against the OASIS SARIF 2.1.0 schema (tests validate every log with it). One SARIF run per
tool, with the tool's version:

- **bandit** (the ``bandit`` probe): one result per issue (shared by every indicator measured with
  the same bandit run): rule id (``B602`` …), level from bandit's severity (high → error, medium →
  warning, low → note), the file, lines and column in the delivered repository (``uriBaseId``
  ``SRCROOT``), confidence, CWE and whether it counts toward the indicator as properties, bandit's
  JSON report attached. Files bandit could not scan become tool notifications.
- **verifier-robustness** (the ``robustness`` probe): one result per malformed request not answered
  with a 4xx (5xx, timeout, no answer, the service dying: error; anything else: warning), against
  the service (a logical location ``METHOD PATH``), with the request and response as SARIF
  ``webRequest``/``webResponse`` and the exchange log attached (``uriBaseId`` ``RUNDIR``).

Waivers: a finding an expert waived (``verifier.waivers``: its record carries ``extra["waiver"]``,
``status`` accepted, ``justification``, ``reviewer``, ``date``) is written with a SARIF
``suppressions`` entry of kind ``external``; dashboards then show it as suppressed. The finding's
own fingerprint, by which the waiver names it, is the property ``fingerprint``.
An indicator in error is an unsuccessful invocation with its reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from verifier.formats.interface import OutputFormat, RunData, text
from verifier.results import FindingRecord, IndicatorResult

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
_WAIVER_STATES = ("accepted", "underReview", "rejected")
_BASES = {
    "SRCROOT": {"description": {"text": "The root of the delivered repository (the tree verifier measured)."}},
    "RUNDIR": {"description": {"text": "The verifier run directory (or the run/ folder of its bundle)."}},
}


class SarifFormat(OutputFormat):
    """SARIF 2.1.0 log: bandit's findings and the robustness probe's failures."""

    name = "sarif"
    media_type = "application/sarif+json"
    filename = "findings.sarif"
    description = "SARIF 2.1.0 log: security findings (bandit) and robustness failures, one run per tool"

    def render(self, data: RunData) -> bytes:
        """The SARIF log of the run's findings."""
        assert data.result is not None  # a run is needed (``needs_run``)
        indicators = data.result.indicators
        tools = data.result.environment.tools
        runs = []
        bandit = [i for i in indicators if i.probe == "bandit"]
        if bandit:
            runs.append(_run(data, bandit, driver={"name": "bandit", "version": tools.get("bandit") or "unknown",
                                                   "informationUri": "https://bandit.readthedocs.io/"},
                             result_of=_bandit_result, rule_of=_bandit_rule))
        robust = [i for i in indicators if i.probe == "robustness"]
        if robust:
            runs.append(_run(data, robust, driver={
                "name": "verifier-robustness", "version": data.result.verifier_version,
                "fullName": "verifier robustness probe: malformed requests to the service under test"},
                result_of=_robustness_result, rule_of=_robustness_rule))
        log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}
        return (json.dumps(log, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def uri(path: str) -> str:
    """A relative path as a URI reference: every byte outside unreserved characters and '/'
    percent-encoded (undecodable bytes of a file name as the bytes they were)."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _run(data: RunData, indicators: list[IndicatorResult], *, driver: dict[str, Any],
         result_of: Any, rule_of: Any) -> dict[str, Any]:
    """One SARIF run over the findings of ``indicators`` (findings shared by several indicators once)."""
    results: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    notifications = []
    evidence: dict[str, None] = {}
    invocations = []
    for ind in indicators:
        ev = [e for e in ind.evidence if not e.endswith((".stdout.txt", ".stderr.txt"))] or list(ind.evidence)
        evidence.update(dict.fromkeys(ev))
        invocation: dict[str, Any] = {
            "executionSuccessful": ind.status != "error",
            "properties": {"indicator": text(ind.id), "indicatorName": text(ind.name), "status": ind.status,
                           "target": text(ind.target)}}
        if ind.commands:
            invocation["commandLine"] = text(" ".join(ind.commands[0]))
        if ind.status == "error":
            invocation["toolExecutionNotifications"] = [
                {"level": "error", "message": {"text": text(ind.reason.splitlines()[0] if ind.reason else "error")}}]
        invocations.append(invocation)
        for finding in ind.findings:
            if finding.rule == "bandit-error":
                notifications.append({"level": "warning", "message": {"text": text(finding.message)},
                                      "locations": [_file_location(finding)] if finding.file else []})
                continue
            result = result_of(finding, ev)
            key = _fingerprint(driver["name"], finding)
            if key in results:
                results[key]["properties"]["indicators"].append(text(ind.id))
                continue
            rule_id = result["ruleId"]
            if rule_id not in rules:
                rules[rule_id] = rule_of(finding)
            result["partialFingerprints"] = {"verifierFinding/v1": key}
            result["properties"]["indicators"] = [text(ind.id)]
            if finding.fingerprint:
                result["properties"]["fingerprint"] = text(finding.fingerprint)
            waiver = _suppression(finding)
            if waiver is not None:
                result["suppressions"] = [waiver]
            results[key] = result
    rule_ids = sorted(rules)
    ordered = sorted(results.values(), key=lambda r: (r["ruleId"], json.dumps(r.get("locations"), sort_keys=True),
                                                      r["message"]["text"]))
    for result in ordered:
        result["ruleIndex"] = rule_ids.index(result["ruleId"])
    if notifications:
        invocations[0].setdefault("toolExecutionNotifications", []).extend(notifications)
    artifacts = [{"location": {"uri": uri(rel), "uriBaseId": "RUNDIR"},
                  "roles": ["resultFile"], **({"hashes": {"sha-256": data.files[rel].sha256}}
                                              if rel in data.files else {})}
                 for rel in evidence]
    return {"tool": {"driver": {**driver, "rules": [rules[r] for r in rule_ids]}},
            "invocations": invocations, "originalUriBaseIds": _BASES, "artifacts": artifacts,
            "results": ordered, "columnKind": "unicodeCodePoints"}


def _fingerprint(tool: str, finding: FindingRecord) -> str:
    """A stable identity of a finding: tool, rule, file, line and message (hex sha256, 32 digits)."""
    key = json.dumps([tool, finding.rule, finding.file, finding.line, finding.message,
                      finding.extra.get("method"), finding.extra.get("path")], ensure_ascii=True, default=str)
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:32]


def _suppression(finding: FindingRecord) -> dict[str, Any] | None:
    """A SARIF suppression from the finding's waiver (``extra["waiver"]``), None without one."""
    waiver = finding.extra.get("waiver")
    if not isinstance(waiver, Mapping):
        return None
    status = waiver.get("status") if waiver.get("status") in _WAIVER_STATES else "accepted"
    out: dict[str, Any] = {"kind": "external", "status": status}
    if waiver.get("justification"):
        out["justification"] = text(waiver["justification"])
    extra = {k: text(waiver[k]) for k in ("reviewer", "date") if waiver.get(k)}
    if extra:
        out["properties"] = extra
    return out


def _attachments(evidence: list[str]) -> list[dict[str, Any]]:
    return [{"artifactLocation": {"uri": uri(rel), "uriBaseId": "RUNDIR"},
             "description": {"text": text(f"evidence file {rel}")}} for rel in evidence]


def _file_location(finding: FindingRecord) -> dict[str, Any]:
    region: dict[str, Any] = {}
    lines = finding.extra.get("line_range")
    if isinstance(finding.line, int) and finding.line >= 1:
        region["startLine"] = finding.line
        if isinstance(lines, list) and len(lines) == 2 and all(isinstance(n, int) for n in lines) \
                and lines[1] >= finding.line:
            region["endLine"] = lines[1]
        col = finding.extra.get("col_offset")
        if isinstance(col, int) and col >= 0:
            region["startColumn"] = col + 1
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri(finding.file or ""),
                                                                           "uriBaseId": "SRCROOT"}}}
    if region:
        location["physicalLocation"]["region"] = region
    return location


def _level(finding: FindingRecord) -> str:
    return _LEVELS.get(str(finding.severity or "").lower(), "warning")


def _bandit_result(finding: FindingRecord, evidence: list[str]) -> dict[str, Any]:
    extra = finding.extra
    props: dict[str, Any] = {"severity": text(finding.severity or ""), "confidence": text(extra.get("confidence") or ""),
                             "counted": bool(extra.get("counted", True))}
    if isinstance(extra.get("cwe"), int):
        props["cwe"] = f"CWE-{extra['cwe']}"
    result: dict[str, Any] = {"ruleId": text(finding.rule or "bandit"), "level": _level(finding),
                              "message": {"text": text(finding.message) or "bandit issue"},
                              "attachments": _attachments(evidence), "properties": props}
    if finding.file:
        result["locations"] = [_file_location(finding)]
    return result


def _bandit_rule(finding: FindingRecord) -> dict[str, Any]:
    extra = finding.extra
    rule: dict[str, Any] = {"id": text(finding.rule or "bandit")}
    if extra.get("test_name"):
        rule["name"] = text(extra["test_name"])
        rule["shortDescription"] = {"text": text(f"bandit test {extra['test_name']}")}
    more = extra.get("more_info")
    if isinstance(more, str) and more.startswith(("https://", "http://")):
        rule["helpUri"] = more
    if isinstance(extra.get("cwe"), int):
        rule["properties"] = {"tags": ["security", f"CWE-{extra['cwe']}"]}
    return rule


def _robustness_result(finding: FindingRecord, evidence: list[str]) -> dict[str, Any]:
    extra = finding.extra
    method, path = text(extra.get("method") or ""), text(extra.get("path") or "")
    props: dict[str, Any] = {"outcome": text(extra.get("outcome") or ""), "case": text(extra.get("name") or ""),
                             "serviceDied": bool(extra.get("service_died"))}
    if isinstance(extra.get("elapsed_ms"), (int, float)):
        props["elapsedMs"] = extra["elapsed_ms"]
    if extra.get("error"):
        props["error"] = text(extra["error"])
    result: dict[str, Any] = {
        "ruleId": text(finding.rule or "robustness"), "level": _level(finding),
        "message": {"text": text(finding.message) or "malformed request not answered with a 4xx"},
        "locations": [{"logicalLocations": [{"name": text(f"{method} {path}".strip()) or "service",
                                             "kind": "resource"}]}],
        "webRequest": {"protocol": "HTTP", "version": "1.1", "method": method or "GET", "target": path or "/",
                       "body": {"text": text(extra.get("request_excerpt") or "")}},
        "attachments": _attachments(evidence), "properties": props}
    status = extra.get("status")
    if isinstance(status, int) and status > 0:
        result["webResponse"] = {"protocol": "HTTP", "version": "1.1", "statusCode": status,
                                 "body": {"text": text(extra.get("response_excerpt") or "")}}
    else:
        result["webResponse"] = {"noResponseReceived": True}
    return result


def _robustness_rule(finding: FindingRecord) -> dict[str, Any]:
    kind = text(finding.rule or "robustness")
    return {"id": kind, "name": kind,
            "shortDescription": {"text": text(f"malformed request of kind {kind} must be answered with a 4xx")},
            "properties": {"tags": ["reliability", "robustness"]}}
