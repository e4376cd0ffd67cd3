"""SARIF 2.1.0: the run's findings located in the delivered code, and robustness failures, for
code-scanning dashboards.

Written against the OASIS SARIF 2.1.0 schema (tests validate every log with it). One SARIF run per
tool, with the tool's version; nothing here knows a probe by name except ``robustness``:

- **any probe's findings located in the code**: a finding with a ``rule``, a ``severity``, a ``file``
  and a ``line`` is a result: rule id, level from the severity (critical and high → error, medium →
  warning, low and info → note), the file and region in the delivered repository (``uriBaseId``
  ``SRCROOT``), the indicator's evidence attached. Well-known ``extra`` keys add to it: the region's
  end and columns (``line_range``, ``end_line`` / ``endline``, ``col_offset`` (0-based), ``column``
  and ``end_column`` (1-based)), ``confidence`` and ``counted`` (whether it counts toward the
  indicator) as properties, ``hashed_secret`` (the SHA-1 of a secret found, never the secret) as
  ``secretSha1``, ``cwe`` (a number, ``"CWE-79: …"`` or a list of them) as a property and a tag of
  its rule, ``test_name`` and ``more_info`` (a URL) as the rule's name and help. A rule is
  tagged with the indicator's characteristic (``security``, ``maintainability`` …). A finding whose
  rule ends in ``-error`` and that has no line (``bandit-error``, ``radon-error``: a file the tool
  could not read) is a tool notification. Findings of other shapes (a failing test without a
  severity, a matrix cell) are left to the JUnit report.

  A probe gets a run when one of its indicators holds such a finding or notification, or says it
  scanned files (``files_scanned`` in its details or measurements: a scan that found nothing is a run
  without results, which lets a dashboard close earlier alerts). The tool is the probe's name when
  the run's environment records a version under it (bandit, radon, semgrep, lizard), else the tool
  the indicator's command runs (``python -m detect_secrets`` → ``detect-secrets``) when the
  environment records that one, else the probe's name with version ``unknown``. Indicators of
  probes that run the same tool share its run.
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
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeGuard
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
#: Where a dashboard links a tool's name (a tool not listed here simply has no link).
_INFORMATION_URIS = {
    "bandit": "https://bandit.readthedocs.io/", "detect-secrets": "https://github.com/Yelp/detect-secrets",
    "lizard": "https://github.com/terryyin/lizard", "radon": "https://radon.readthedocs.io/",
    "semgrep": "https://semgrep.dev/",
}
#: The probe whose findings are HTTP exchanges with the service, not places in the code.
_ROBUSTNESS = "robustness"
_CWE = re.compile(r"CWE-(\d+)", re.IGNORECASE)
_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f-\x9f<>\"{}|\\^`]+")
_PROGRAM_SUFFIX = re.compile(r"\.(?:exe|cmd|bat|py)$", re.IGNORECASE)

#: What a finding is to SARIF: a result, a tool notification, or neither (None).
Kind = Callable[[FindingRecord], "str | None"]


class SarifFormat(OutputFormat):
    """SARIF 2.1.0 log: every probe's findings located in the code, and the robustness probe's
    failures."""

    name = "sarif"
    media_type = "application/sarif+json"
    filename = "findings.sarif"
    description = ("SARIF 2.1.0 log: findings located in the code (bandit, radon, any probe's) and robustness "
                   "failures, one run per tool")

    def render(self, data: RunData) -> bytes:
        """The SARIF log of the run's findings."""
        assert data.result is not None  # a run is needed (``needs_run``)
        indicators = data.result.indicators
        tools = data.result.environment.tools
        runs: dict[str, dict[str, Any]] = {}
        scanners = {i.probe for i in indicators if i.probe != _ROBUSTNESS and _reports_findings(i)}
        by_tool: dict[str, list[IndicatorResult]] = {}
        for probe in sorted(scanners):
            of_probe = [i for i in indicators if i.probe == probe]
            by_tool.setdefault(_tool_of(of_probe, tools), []).extend(of_probe)
        for tool, of_tool in by_tool.items():
            driver = {"name": text(tool), "version": text(tools.get(tool) or "unknown")}
            if tool in _INFORMATION_URIS:
                driver["informationUri"] = _INFORMATION_URIS[tool]
            runs[driver["name"]] = _run(data, of_tool, driver=driver, kind_of=_located,
                                        result_of=_code_result, rule_of=_code_rule)
        robust = [i for i in indicators if i.probe == _ROBUSTNESS]
        if robust:
            runs["verifier-robustness"] = _run(data, robust, driver={
                "name": "verifier-robustness", "version": data.result.verifier_version,
                "fullName": "verifier robustness probe: malformed requests to the service under test"},
                kind_of=lambda finding: "result", result_of=_robustness_result, rule_of=_robustness_rule)
        log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [runs[name] for name in sorted(runs)]}
        return (json.dumps(log, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _located(finding: FindingRecord) -> str | None:
    """``result`` for a finding with rule, severity, file and line; ``notification`` for a tool's
    ``…-error`` without a line; None for any other finding."""
    if finding.rule and finding.rule.endswith("-error") and finding.line is None:
        return "notification"
    if finding.rule and finding.severity and finding.file and isinstance(finding.line, int) and finding.line >= 1:
        return "result"
    return None


def _reports_findings(ind: IndicatorResult) -> bool:
    """Whether the indicator's probe is a scanner SARIF shows: it located a finding, its tool could not
    read a file, or it says how many files it scanned."""
    return ("files_scanned" in ind.details or "files_scanned" in ind.measurements
            or any(_located(f) is not None for f in ind.findings))


def _tool_of(indicators: list[IndicatorResult], tools: Mapping[str, str]) -> str:
    """The tool a probe's indicators ran: the probe's name when the environment records a version
    under it, else the program or ``-m`` module of one of their commands that it records, else the
    probe's name."""
    probe = indicators[0].probe
    if probe in tools:
        return probe
    for ind in indicators:
        for argv in ind.commands:
            for name in _programs(argv):
                if name in tools and name != "verifier":
                    return name
    return probe


def _programs(argv: list[str]) -> Iterable[str]:
    """The names a command line runs: its program (``/usr/bin/semgrep`` → ``semgrep``) and the module
    of ``-m`` (``detect_secrets`` → ``detect-secrets``)."""
    if argv:
        yield _PROGRAM_SUFFIX.sub("", argv[0].replace("\\", "/").rsplit("/", 1)[-1])
    for n, token in enumerate(argv[1:-1], start=1):
        if token == "-m":
            module = argv[n + 1].split(".", 1)[0]
            yield module
            yield module.replace("_", "-")
            return


def uri(path: str) -> str:
    """A relative path as a URI reference: every byte outside unreserved characters and '/'
    percent-encoded (undecodable bytes of a file name as the bytes they were)."""
    return quote(path.encode("utf-8", "surrogateescape"), safe="/")


def _run(data: RunData, indicators: list[IndicatorResult], *, driver: dict[str, Any], kind_of: Kind,
         result_of: Callable[..., dict[str, Any]], rule_of: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """One SARIF run over the findings of ``indicators`` (findings shared by several indicators once):
    ``kind_of`` says which are results and which tool notifications, ``result_of(finding, evidence,
    driver)`` and ``rule_of(finding, indicator)`` write them."""
    results: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, Any]] = {}
    notifications = []
    evidence: dict[str, None] = {}
    invocations = []
    for ind in indicators:
        ev = [e for e in ind.evidence if not e.endswith((".stdout.txt", ".stderr.txt"))] or [
            e for e in ind.evidence if e not in data.files or data.files[e].size > 0]  # a tool's report on stdout
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
            kind = kind_of(finding)
            if kind == "notification":
                notifications.append({"level": "warning", "message": {"text": text(finding.message)},
                                      "locations": [_file_location(finding)] if finding.file else []})
                continue
            if kind != "result":
                continue
            result = result_of(finding, ev, driver)
            key = _fingerprint(driver["name"], finding)
            if key in results:
                results[key]["properties"]["indicators"].append(text(ind.id))
                continue
            rule_id = result["ruleId"]
            if rule_id not in rules:
                rules[rule_id] = rule_of(finding, ind)
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
    """The finding's place in the delivered repository: file, and the region its line and the
    well-known ``extra`` keys give (end line, start and end column)."""
    region: dict[str, Any] = {}
    extra = finding.extra
    if isinstance(finding.line, int) and finding.line >= 1:
        region["startLine"] = finding.line
        end = _end_line(extra)
        if end is not None and end >= finding.line:
            region["endLine"] = end
        col = extra.get("col_offset")
        if _whole(col) and col >= 0:
            region["startColumn"] = col + 1
        elif _whole(extra.get("column")) and extra["column"] >= 1:
            region["startColumn"] = extra["column"]
        end_col = extra.get("end_column")
        if "startColumn" in region and _whole(end_col) and end_col >= 1 and (
                region.get("endLine", finding.line) > finding.line or end_col > region["startColumn"]):
            region["endColumn"] = end_col
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri(finding.file or ""),
                                                                           "uriBaseId": "SRCROOT"}}}
    if region:
        location["physicalLocation"]["region"] = region
    return location


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _end_line(extra: Mapping[str, Any]) -> int | None:
    """The last line of a finding: bandit's ``line_range`` [first, last], else ``end_line`` /
    ``endline``."""
    lines = extra.get("line_range")
    if isinstance(lines, list) and len(lines) == 2 and all(_whole(n) for n in lines):
        return lines[1]
    for key in ("end_line", "endline"):
        if _whole(extra.get(key)):
            return extra[key]
    return None


def _level(finding: FindingRecord) -> str:
    return _LEVELS.get(str(finding.severity or "").lower(), "warning")


def _cwes(value: Any) -> list[str]:
    """``CWE-n`` of a finding's ``cwe``: a number, text holding ``CWE-n``, or a list of either."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if _whole(item) and item > 0:
            found.append(f"CWE-{item}")
        elif isinstance(item, str):
            found += [f"CWE-{n}" for n in _CWE.findall(item)]
    return list(dict.fromkeys(found))


def _code_result(finding: FindingRecord, evidence: list[str], driver: Mapping[str, Any]) -> dict[str, Any]:
    """The result of a finding located in the code."""
    extra = finding.extra
    props: dict[str, Any] = {"severity": text(finding.severity or "")}
    if "confidence" in extra:
        props["confidence"] = text(extra.get("confidence") or "")
    if "counted" in extra:
        props["counted"] = bool(extra["counted"])
    cwes = _cwes(extra.get("cwe"))
    if cwes:
        props["cwe"] = ", ".join(cwes)
    digest = extra.get("hashed_secret")
    if isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{40}", digest):
        props["secretSha1"] = digest
    return {"ruleId": text(finding.rule), "level": _level(finding),
            "message": {"text": text(finding.message) or text(f"{driver['name']} finding {finding.rule}")},
            "locations": [_file_location(finding)], "attachments": _attachments(evidence), "properties": props}


def _code_rule(finding: FindingRecord, ind: IndicatorResult) -> dict[str, Any]:
    """The rule of a finding located in the code, from the first finding of it: tagged with the
    indicator's characteristic and the finding's CWEs."""
    extra = finding.extra
    rule: dict[str, Any] = {"id": text(finding.rule)}
    if extra.get("test_name"):
        rule["name"] = text(extra["test_name"])
        rule["shortDescription"] = {"text": text(f"{ind.probe} test {extra['test_name']}")}
    more = extra.get("more_info")
    if isinstance(more, str) and _WEB_URL.fullmatch(more):
        rule["helpUri"] = more
    rule["properties"] = {"tags": [text(ind.characteristic), *_cwes(extra.get("cwe"))]}
    return rule


def _robustness_result(finding: FindingRecord, evidence: list[str], driver: Mapping[str, Any]) -> dict[str, Any]:
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


def _robustness_rule(finding: FindingRecord, ind: IndicatorResult) -> dict[str, Any]:
    kind = text(finding.rule or "robustness")
    return {"id": kind, "name": kind,
            "shortDescription": {"text": text(f"malformed request of kind {kind} must be answered with a 4xx")},
            "properties": {"tags": ["reliability", "robustness"]}}
