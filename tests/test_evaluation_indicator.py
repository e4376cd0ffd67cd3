"""evaluate(): one indicator's measurement against its target."""

from __future__ import annotations

import math
import textwrap

import pytest

from support.spec_fakes import PROBES
from verifier.evaluation import MAX_PARTIAL, evaluate, linear_credit, outcome_from_error
from verifier.probe import Finding, Measurement, ProbeError, ProbeOutcome
from verifier.spec import parse_spec
from verifier.units import parse_target


def _indicator(metric: str, target: str, floor: str | None = None, weight: float = 1.0):
    extra = f"\n    floor: {floor!r}" if floor else ""
    text = textwrap.dedent(f"""\
        project: {{name: x, version: "1.0", owners: [a]}}
        indicators:
          - id: I1
            name: 指标
            characteristic: performance_efficiency
            probe: counter
            metric: {metric}
            target: {target!r}
            weight: {weight}""") + extra + "\n"
    return parse_spec(text, probes=PROBES).indicators[0]


def _outcome(metric: str, value, unit: str, **kwargs) -> ProbeOutcome:
    return ProbeOutcome(measurements=(Measurement(metric, value, unit),), **kwargs)


def test_met_copies_everything_from_the_outcome():
    ind = _indicator("p95_ms", "<= 500 ms", weight=2)
    outcome = ProbeOutcome(
        measurements=(Measurement("p95_ms", 430.0, "ms"), Measurement("rps", 812.5, "rps")),
        findings=(Finding("slow endpoint", file="app.py", line=3, severity="low", rule="GET /",
                          extra={"ms": 900}),),
        evidence=("P1/stats.csv",), commands=(("locust", "--headless"),),
        notes=("rounded",), details={"series": [1, 2]})
    result = evaluate(ind, outcome, started_at="2025-01-01T00:00:00Z", duration_s=3.5)
    assert (result.status, result.credit, result.value, result.unit) == ("met", 1.0, 430.0, "ms")
    assert result.reason == "p95_ms = 430 ms, target <= 500 ms: met"
    assert result.target == "<= 500 ms" and result.weight == 2
    assert result.measurements == {"p95_ms": 430.0, "rps": 812.5}
    assert result.findings[0].file == "app.py" and result.findings[0].extra == {"ms": 900}
    assert result.evidence == ["P1/stats.csv"] and result.commands == [["locust", "--headless"]]
    assert result.notes == ["rounded"] and result.details == {"series": [1, 2]}
    assert result.started_at == "2025-01-01T00:00:00Z" and result.duration_s == 3.5
    assert (result.id, result.name, result.probe, result.metric) == ("I1", "指标", "counter", "p95_ms")


def test_not_met():
    result = evaluate(_indicator("pass_rate", ">= 95%"), _outcome("pass_rate", 90.0, "%"))
    assert (result.status, result.credit) == ("not_met", 0.0)
    assert result.reason == "pass_rate = 90%, target >= 95%: not met"


def test_target_converted_from_the_task_book_unit():
    ind = _indicator("p95_ms", "<= 0.5 s")
    assert evaluate(ind, _outcome("p95_ms", 500.0, "ms")).status == "met"
    assert evaluate(ind, _outcome("p95_ms", 501.0, "ms")).status == "not_met"


def test_measurement_in_another_unit_of_the_family_is_converted():
    result = evaluate(_indicator("p95_ms", "<= 500 ms"), _outcome("p95_ms", 0.43, "s"))
    assert result.status == "met" and result.value == pytest.approx(430.0) and result.unit == "ms"


def test_measurement_in_an_incompatible_unit_is_an_error():
    result = evaluate(_indicator("p95_ms", "<= 500 ms"), _outcome("p95_ms", 3.0, "MB"))
    assert result.status == "error" and result.credit == 0.0 and result.value is None
    assert "cannot be converted" in result.reason


def test_probe_error_is_an_error_even_with_a_value():
    result = evaluate(_indicator("p95_ms", "<= 500 ms"),
                      _outcome("p95_ms", 100.0, "ms", error="locust exited with 1"))
    assert result.status == "error" and result.credit == 0.0
    assert result.value == 100.0
    assert result.reason == "probe error: locust exited with 1"


def test_missing_metric_is_an_error():
    result = evaluate(_indicator("p95_ms", "<= 500 ms"), _outcome("rps", 100.0, "rps"))
    assert result.status == "error" and result.value is None
    assert result.reason == "probe reported no value for metric p95_ms"


def test_no_value_is_not_applicable():
    result = evaluate(_indicator("p95_ms", "<= 500 ms"), _outcome("p95_ms", None, "ms"))
    assert (result.status, result.credit, result.value) == ("not_applicable", 0.0, None)
    assert "does not apply" in result.reason


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_value_is_an_error(value):
    result = evaluate(_indicator("p95_ms", "<= 500 ms"), _outcome("p95_ms", value, "ms"))
    assert result.status == "error" and "non-finite" in result.reason


def test_grade_metric():
    ind = _indicator("rank", ">= B")
    assert evaluate(ind, _outcome("rank", 6.0, "grade")).reason == "rank = A, target >= B: met"
    assert evaluate(ind, _outcome("rank", 4.0, "grade")).status == "not_met"


def test_exact_zero_target():
    ind = _indicator("files", "0 个")
    assert evaluate(ind, _outcome("files", 0.0, "count")).status == "met"
    assert evaluate(ind, _outcome("files", 1.0, "count")).status == "not_met"


# ----------------------------------------------------------------------------- partial credit

def test_partial_credit_lower_is_better():
    ind = _indicator("p95_ms", "<= 500 ms", floor="<= 1000 ms")
    assert evaluate(ind, _outcome("p95_ms", 750.0, "ms"), partial_credit=True).credit == 0.5
    result = evaluate(ind, _outcome("p95_ms", 900.0, "ms"), partial_credit=True)
    assert result.status == "not_met" and result.credit == pytest.approx(0.2)
    assert "partial credit 0.20 between floor <= 1000 ms and the target" in result.reason
    assert evaluate(ind, _outcome("p95_ms", 1200.0, "ms"), partial_credit=True).credit == 0.0
    assert evaluate(ind, _outcome("p95_ms", 400.0, "ms"), partial_credit=True).credit == 1.0


def test_partial_credit_higher_is_better():
    ind = _indicator("pass_rate", ">= 95%", floor=">= 80%")
    result = evaluate(ind, _outcome("pass_rate", 90.0, "%"), partial_credit=True)
    assert result.credit == pytest.approx(0.6667, abs=1e-4)
    assert evaluate(ind, _outcome("pass_rate", 80.0, "%"), partial_credit=True).credit == 0.0


def test_partial_credit_off_or_without_floor_gives_nothing():
    with_floor = _indicator("p95_ms", "<= 500 ms", floor="<= 1000 ms")
    assert evaluate(with_floor, _outcome("p95_ms", 750.0, "ms")).credit == 0.0
    without = _indicator("p95_ms", "<= 500 ms")
    assert evaluate(without, _outcome("p95_ms", 750.0, "ms"), partial_credit=True).credit == 0.0


def test_partial_credit_never_reaches_one_when_not_met():
    target, floor = parse_target("> 500", "ms"), parse_target("> 100", "ms")
    assert linear_credit(500.0, target, floor) == MAX_PARTIAL
    assert linear_credit(300.0, target, floor) == 0.5


def test_partial_credit_zero_at_a_strict_floor():
    target = parse_target("<= 500", "ms")
    assert linear_credit(500.1, target, parse_target("< 500.1", "ms")) == 0.0


def test_error_never_earns_partial_credit():
    ind = _indicator("p95_ms", "<= 500 ms", floor="<= 1000 ms")
    result = evaluate(ind, _outcome("p95_ms", 750.0, "ms", error="boom"), partial_credit=True)
    assert (result.status, result.credit) == ("error", 0.0)


# ----------------------------------------------------------------------------- probe errors

def test_outcome_from_probe_error_keeps_reason_tail_and_evidence():
    err = ProbeError("pytest exited with code 4", tail="line1\n\nline2\n" + "\n".join(
        f"l{i}" for i in range(10)), evidence=("T1/stdout.txt",))
    outcome = outcome_from_error(err)
    assert outcome.error == "pytest exited with code 4 | output tail: l5 / l6 / l7 / l8 / l9"
    assert outcome.evidence == ("T1/stdout.txt",) and outcome.measurements == ()
    result = evaluate(_indicator("pass_rate", ">= 95%"), outcome)
    assert result.status == "error" and result.reason.startswith("probe error: pytest exited")
    assert result.evidence == ["T1/stdout.txt"]


def test_outcome_from_probe_error_without_tail_and_long_tail():
    assert outcome_from_error(ProbeError("timed out after 60 s")).error == "timed out after 60 s"
    long_tail = outcome_from_error(ProbeError("x", tail="y" * 5000)).error
    assert long_tail.startswith("x | output tail: …") and len(long_tail) < 700
