"""JUnit XML: an acceptance run shown by a CI server (Jenkins, GitLab, GitHub test reporters) as a test run.

- one ``testsuite`` per characteristic (functionality, performance efficiency …), in the task
  book's order, with one ``testcase`` per indicator: **met** passes; **not met** is a ``failure``
  whose message gives the value and the target; **error** is an ``error`` with the reason;
  **not applicable** is ``skipped``. The case's ``system-out`` lists the evidence files and its
  properties the probe, metric, unit, value, target, credit and weight;
- one ``testsuite`` "policy gates" with one ``testcase`` per gate (at least 5 indicators, the five
  characteristics covered, ratio ≥ threshold, version 1.x, dossier complete): a gate that fails is a
  ``failure`` with its figure, one that could not be decided an ``error``;
- ``testsuites`` carries the totals, the verdict and the score as properties of the gate suite.

Names and messages are the task book's and the probes' own text, made printable; the XML is written
by ElementTree (escaping every ``<``, ``&`` and quote) with characters XML 1.0 cannot hold shown as
visible escapes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from verifier.formats.interface import OutputFormat, RunData, text
from verifier.results import IndicatorResult, RunResult
from verifier.textsafe import printable

#: characters XML 1.0 cannot carry even as references (``text`` already escapes the C0 controls)
_NOT_XML = re.compile("[\ufffe\uffff]")
_CHARACTERISTICS = ("functionality", "performance_efficiency", "compatibility", "usability", "reliability",
                    "security", "maintainability", "portability")


class JUnitFormat(OutputFormat):
    """JUnit XML: one test case per indicator and per policy gate."""

    name = "junit"
    media_type = "application/xml"
    filename = "junit.xml"
    description = "JUnit XML: one test case per indicator (grouped by characteristic) and per policy gate"

    def render(self, data: RunData) -> bytes:
        """The JUnit XML report of the run."""
        assert data.result is not None  # a run is needed (``needs_run``)
        result = data.result
        root = ET.Element("testsuites", {"name": _x(f"verifier acceptance: {result.project.name} "
                                                     f"{result.project.version}")})
        suites = [_indicator_suite(result, ch, [i for i in result.indicators if i.characteristic == ch])
                  for ch in _order(result)]
        suites.append(_gate_suite(result))
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time = 0.0
        for suite in suites:
            for key in totals:
                totals[key] += int(suite.get(key, "0"))
            time += float(suite.get("time", "0"))
            root.append(suite)
        for key, value in totals.items():
            root.set(key, str(value))
        root.set("time", _seconds(time))
        ET.indent(root)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _x(value: object, *, lines: bool = False) -> str:
    """Text for XML: printable (controls escaped; line breaks kept when ``lines``) and without the two
    non-characters XML forbids."""
    shown = printable("" if value is None else value, keep="\n") if lines else text(value)
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)


def _seconds(value: float | None) -> str:
    return f"{value or 0.0:.3f}"


def _order(result: RunResult) -> list[str]:
    """Characteristics in the canonical order, then any other in the order the task book uses them."""
    seen = list(dict.fromkeys(i.characteristic for i in result.indicators))
    return [c for c in _CHARACTERISTICS if c in seen] + [c for c in seen if c not in _CHARACTERISTICS]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "no value"
    shown = f"{value:.6g}" if isinstance(value, float) else str(value)
    return f"{shown} {unit}".strip()


def _indicator_suite(result: RunResult, characteristic: str, indicators: list[IndicatorResult]) -> ET.Element:
    counts = {"tests": len(indicators), "failures": 0, "errors": 0, "skipped": 0}
    time = sum(i.duration_s or 0.0 for i in indicators)
    starts = sorted(i.started_at for i in indicators if i.started_at)
    suite = ET.Element("testsuite", {"name": _x(characteristic)})
    if starts:
        suite.set("timestamp", _x(starts[0]))
    for ind in indicators:
        case = ET.SubElement(suite, "testcase", {
            "classname": _x(f"verifier.{characteristic}"), "name": _x(f"{ind.id} {ind.name}"),
            "time": _seconds(ind.duration_s)})
        props = ET.SubElement(case, "properties")
        for key, value in (("probe", ind.probe), ("metric", ind.metric), ("unit", ind.unit),
                           ("value", "" if ind.value is None else repr(ind.value)), ("target", ind.target),
                           ("status", ind.status), ("credit", repr(ind.credit)), ("weight", repr(ind.weight))):
            ET.SubElement(props, "property", {"name": key, "value": _x(value)})
        measured = _number(ind.value, ind.unit)
        if ind.status == "not_met":
            counts["failures"] += 1
            ET.SubElement(case, "failure", {"message": _x(f"{ind.metric} = {measured}, target {ind.target}: not met"),
                                            "type": "not_met"}).text = _x(ind.reason, lines=True)
        elif ind.status == "error":
            counts["errors"] += 1
            first = ind.reason.splitlines()[0] if ind.reason else "the probe failed"
            ET.SubElement(case, "error", {"message": _x(first), "type": "error"}).text = _x(ind.reason, lines=True)
        elif ind.status == "not_applicable":
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", {"message": _x(ind.reason or "not applicable")})
        out = [f"{ind.metric} = {measured}, target {ind.target}: {ind.status}"]
        out += [f"evidence: {e}" for e in ind.evidence]
        out += [f"note: {n}" for n in ind.notes]
        ET.SubElement(case, "system-out").text = _x("\n".join(out), lines=True)
    for key, count in counts.items():
        suite.set(key, str(count))
    suite.set("time", _seconds(time))
    return suite


def _gate_suite(result: RunResult) -> ET.Element:
    suite = ET.Element("testsuite", {"name": "policy gates", "tests": str(len(result.gates))})
    props = ET.SubElement(suite, "properties")
    score = result.score
    for key, value in (("verdict", result.verdict), ("score", f"{score.value:g}"),
                       ("pass_score", f"{score.pass_score:g}"), ("run_id", result.run_id)):
        ET.SubElement(props, "property", {"name": key, "value": _x(value)})
    failures = errors = 0
    for gate in result.gates:
        case = ET.SubElement(suite, "testcase", {"classname": "verifier.gates",
                                                 "name": _x(f"{gate.id}: {gate.description_en}"), "time": "0.000"})
        ET.SubElement(case, "system-out").text = _x(f"{gate.description_zh} / {gate.description_en}: {gate.figure}")
        if gate.passed is False:
            failures += 1
            ET.SubElement(case, "failure", {"message": _x(f"gate not met: {gate.figure}"), "type": "gate"})
        elif gate.passed is None:
            errors += 1
            ET.SubElement(case, "error", {"message": _x(f"gate could not be decided: {gate.figure}"),
                                          "type": "undecided"})
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", "0.000")
    return suite
