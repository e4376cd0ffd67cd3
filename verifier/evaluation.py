"""Evaluation: one indicator's measurement against its target, as a pure function.

Statuses: ``met`` / ``not_met``; ``error`` when the probe failed or did not report the metric (or
reported it in a unit that cannot be converted, or a value that is not a finite number);
``not_applicable`` when the probe reported the metric with no value (``Measurement.value is None``).

Credit is 1 when met and 0 otherwise; with ``scoring.partial_credit`` and a declared ``floor`` a
target not met earns linear credit between the floor (0) and the target (1), never a full 1.
"""

from __future__ import annotations

import json
import math
from typing import Any

from verifier.probe import Finding, ProbeError, ProbeOutcome
from verifier.results import FindingRecord, FunctionTests, IndicatorResult, Status
from verifier.spec import Indicator
from verifier.units import Target, TargetError, convert, format_quantity

#: Highest credit a target that is not met can earn with partial credit.
MAX_PARTIAL = 0.9999
_TAIL_LINES = 5
_TAIL_CHARS = 600


def outcome_from_error(err: ProbeError) -> ProbeOutcome:
    """The outcome of a probe that raised ``ProbeError``: its reason plus the output tail."""
    reason = " ".join(err.reason.split()) or "probe failed"
    tail = _tail(err.tail)
    return ProbeOutcome(error=f"{reason} | output tail: {tail}" if tail else reason,
                        evidence=tuple(err.evidence))


def declared_arguments(indicator: Indicator) -> dict[str, Any]:
    """The indicator's ``with:`` as the task book declares it, as JSON data (results.json)."""
    data: dict[str, Any] = json.loads(json.dumps(indicator.with_, default=str))
    return data


def finding_record(finding: Finding) -> FindingRecord:
    """A probe's finding as results.json records it."""
    return FindingRecord(message=finding.message, file=finding.file, line=finding.line,
                         severity=finding.severity, rule=finding.rule, extra=dict(finding.extra),
                         fingerprint=finding.fingerprint)


def _tail(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    tail = " / ".join(lines[-_TAIL_LINES:])
    return tail if len(tail) <= _TAIL_CHARS else "…" + tail[-_TAIL_CHARS:]


def linear_credit(value: float, target: Target, floor: Target) -> float:
    """Linear credit of ``value`` between ``floor`` (0) and ``target`` (1), both in one unit."""
    if target.holds(value):
        return 1.0
    if not floor.holds(value) or target.value == floor.value:
        return 0.0
    credit = (value - floor.value) / (target.value - floor.value)
    return round(min(max(credit, 0.0), MAX_PARTIAL), 4)


def evaluate(indicator: Indicator, outcome: ProbeOutcome, *, partial_credit: bool = False,
             started_at: str | None = None, duration_s: float | None = None) -> IndicatorResult:
    """Compare ``outcome``'s figure for the indicator's metric with its target (loaded spec)."""
    target = indicator.parsed_target
    base = {
        "id": indicator.id, "name": indicator.name, "characteristic": indicator.characteristic,
        "probe": indicator.probe, "metric": indicator.metric, "target": indicator.target,
        "unit": indicator.unit, "weight": indicator.weight, "required": indicator.required,
        "arguments": declared_arguments(indicator),
        "evidence": list(outcome.evidence), "commands": [list(c) for c in outcome.commands],
        "findings": [finding_record(f) for f in outcome.findings],
        "notes": list(outcome.notes), "details": dict(outcome.details),
        "measurements": {m.metric: m.value for m in outcome.measurements},
        "function_tests": [FunctionTests(id=f.id, outcomes={t.nodeid: t.outcome for t in f.tests},
                                         descriptions={t.nodeid: t.description for t in f.tests if t.description})
                           for f in outcome.functions],
        "started_at": started_at, "duration_s": duration_s,
    }
    value, status, reason = judge(indicator, outcome)
    credit = 0.0
    if status == "met":
        credit = 1.0
    elif (status == "not_met" and partial_credit and value is not None
          and indicator.parsed_floor is not None):
        credit = linear_credit(value, target, indicator.parsed_floor)
        if credit > 0:
            reason += (f"; partial credit {credit:.2f} between floor "
                       f"{indicator.parsed_floor.describe()} and the target")
    return IndicatorResult(**base, value=value, status=status, credit=credit, reason=reason)


def judge(indicator: Indicator, outcome: ProbeOutcome) -> tuple[float | None, Status, str]:
    """The figure of ``indicator``'s metric in ``outcome`` (converted into the indicator's unit), its
    status against the target and the reason, as ``evaluate`` records them (no credit)."""
    metric, unit, target = indicator.metric, indicator.unit, indicator.parsed_target
    measurement = outcome.measurement(metric)
    value: float | None = None
    if measurement is not None and measurement.value is not None:
        try:
            value = convert(float(measurement.value), measurement.unit, unit)
        except (TargetError, TypeError, ValueError):
            return None, "error", (f"probe reported {metric} in {measurement.unit!r}, which "
                                   f"cannot be converted to the metric's unit {unit!r}")
    if outcome.error:
        return value, "error", f"probe error: {outcome.error}"
    if measurement is None:
        return None, "error", f"probe reported no value for metric {metric}"
    if value is None:
        return None, "not_applicable", f"metric {metric} does not apply to this run (no figure reported)"
    if not math.isfinite(value):
        return None, "error", f"probe reported a non-finite value for {metric}: {value}"
    shown = f"{metric} = {format_quantity(value, unit)}, target {target.describe()}"
    if target.holds(value):
        return value, "met", f"{shown}: met"
    return value, "not_met", f"{shown}: not met"
