"""Targets as task books write them, converted into the metric's unit."""

from __future__ import annotations

import math

import pytest

from verifier.units import (
    TargetError,
    convert,
    format_quantity,
    grade_letter,
    grade_value,
    impossible_share,
    is_known_unit,
    parse_target,
    share_warnings,
    unit_info,
)


@pytest.mark.parametrize("text, unit, op, value", [
    (">= 95%", "%", ">=", 95.0),
    ("<= 500 ms", "ms", "<=", 500.0),
    ("== 0", "count", "==", 0.0),
    ("> 1000 rps", "rps", ">", 1000.0),
    ("<= 0.5 s", "ms", "<=", 500.0),
    ("≥ 95%", "%", ">=", 95.0),
    ("≤500ms", "ms", "<=", 500.0),
    ("0 个", "count", "==", 0.0),
    ("<= 2 per_kloc", "per_kloc", "<=", 2.0),
    ("< 3", "s", "<", 3.0),
    ("<= 2 min", "s", "<=", 120.0),
    ("<= 1500 ms", "s", "<=", 1.5),
    ("> 1,000 req/s", "rps", ">", 1000.0),
    (">= 200 qps", "rps", ">=", 200.0),
    (">= 50 tps", "rps", ">=", 50.0),
    ("<= 512 MB", "MB", "<=", 512.0),
    ("<= 1 GB", "MB", "<=", 1024.0),
    ("<= 2048 KB", "MB", "<=", 2.0),
    ("<= 1.2", "ratio", "<=", 1.2),
    ("<= 120%", "ratio", "<=", 1.2),
    ("<= 1%", "ratio", "<=", 0.01),
    ("<= 0.05 ratio", "%", "<=", 5.0),
    (">= 65 score", "score", ">=", 65.0),
    (">= 65 分", "score", ">=", 65.0),
    ("<= 30 分钟", "s", "<=", 1800.0),
    ("<= 3 项", "count", "<=", 3.0),
    ("== 0 次", "count", "==", 0.0),
    ("=0", "count", "==", 0.0),
    ("＞＝９５％", "%", ">=", 95.0),        # full-width forms
    ("不低于 95%", "%", ">=", 95.0),
    ("不少于1000 rps", "rps", ">=", 1000.0),
    ("不超过 3 秒", "ms", "<=", 3000.0),
    ("不高于 500 毫秒", "ms", "<=", 500.0),
    ("不大于 2 个/千行", "per_kloc", "<=", 2.0),
    ("小于 1%", "%", "<", 1.0),
    ("大于 100", "rps", ">", 100.0),
    ("等于 0 个", "count", "==", 0.0),
    ("95% 以上", "%", ">=", 95.0),
    ("500 ms 以内", "ms", "<=", 500.0),
    ("1e3 rps", "rps", "==", 1000.0),
    (">= -5", "score", ">=", -5.0),
])
def test_parse_target(text, unit, op, value):
    target = parse_target(text, unit)
    assert (target.op, target.unit, target.text) == (op, unit, text)
    assert target.value == pytest.approx(value)


@pytest.mark.parametrize("text, op, value", [(">= B", ">=", 5.0), ("== A", "==", 6.0),
                                             ("<= c", "<=", 4.0), ("B 级以上", ">=", 5.0),
                                             ("F", "==", 1.0)])
def test_grade_targets(text, op, value):
    target = parse_target(text, "grade")
    assert (target.op, target.value) == (op, value)


def test_grade_encoding_round_trips():
    assert [grade_value(g) for g in "ABCDEF"] == [6, 5, 4, 3, 2, 1]
    assert [grade_letter(grade_value(g)) for g in "ABCDEF"] == list("ABCDEF")
    assert grade_letter(9) == "A" and grade_letter(-3) == "F"
    assert parse_target(">= B", "grade").holds(grade_value("A"))
    assert not parse_target(">= B", "grade").holds(grade_value("C"))
    with pytest.raises(TargetError):
        grade_value("G")


@pytest.mark.parametrize("text, unit, message", [
    ("<= 5 MB", "ms", r"unit mismatch: 'MB' is size, the metric is in 'ms' \(time\)"),
    (">= 95%", "ms", "unit mismatch"),
    ("<= 500 ms", "%", "unit mismatch"),
    ("> 10 rps", "count", "unit mismatch"),
    ("<= 2 个", "per_kloc", "unit mismatch"),
    ("<= 5 parsecs", "ms", "unknown unit 'parsecs'"),
    ("about 500", "ms", "not a comparison and a number"),
    ("<=", "ms", "not a comparison and a number"),
    ("", "ms", "empty"),
    ("   ", "ms", "empty"),
    (">= 95% 以上", "%", "two comparisons"),
    (">= 5", "grade", "grade target is a letter"),
    (">= AB", "grade", "grade target is a letter"),
])
def test_bad_targets(text, unit, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text, unit)


def test_target_must_be_text():
    with pytest.raises(TargetError, match="must be a string"):
        parse_target(5, "ms")  # type: ignore[arg-type]


def test_unknown_metric_unit():
    with pytest.raises(TargetError, match="unknown unit 'furlongs'"):
        parse_target("<= 5", "furlongs")
    assert not is_known_unit("furlongs") and is_known_unit("req/s") and is_known_unit("ＭＢ")


@pytest.mark.parametrize("op, threshold, inside, outside", [
    (">=", 95.0, [95.0, 99.0], [94.99]),
    ("<=", 500.0, [500.0, 0.0], [500.01]),
    (">", 1000.0, [1000.5], [1000.0, 10.0]),
    ("<", 1.0, [0.99], [1.0]),
    ("==", 0.0, [0.0, 1e-15], [1e-6, -1.0]),
])
def test_holds(op, threshold, inside, outside):
    target = parse_target(f"{op} {threshold}", "count")
    assert all(target.holds(v) for v in inside)
    assert not any(target.holds(v) for v in outside)
    assert not target.holds(math.nan)


def test_holds_is_robust_to_conversion_rounding():
    target = parse_target(">= 0.7 s", "ms")       # 0.7 * 1000 == 700.0000000000001 in floats
    assert target.holds(700.0)


def test_direction_and_describe():
    assert parse_target(">= 95%", "%").direction == "higher"
    assert parse_target("< 3 s", "ms").direction == "lower"
    assert parse_target("0", "count").direction == "exact"
    assert parse_target("<= 0.5 s", "ms").describe() == "<= 500 ms"
    assert parse_target("≥95%", "%").describe() == ">= 95%"
    assert parse_target(">= B", "grade").describe() == ">= B"
    assert parse_target("0 个", "count").describe() == "== 0"


def test_convert_and_unit_info():
    assert convert(1.5, "s", "ms") == 1500.0
    assert convert(2048, "KB", "MB") == 2.0
    assert convert(5, "ms", "ms") == 5
    assert convert(0.25, "ratio", "%") == pytest.approx(25.0)
    assert unit_info("req/s").symbol == "rps" and unit_info("毫秒").symbol == "ms"
    with pytest.raises(TargetError, match="unit mismatch"):
        convert(1, "s", "MB")
    with pytest.raises(TargetError, match="unknown unit"):
        unit_info("bogus")


@pytest.mark.parametrize("value, unit, shown", [
    (430.0, "ms", "430 ms"), (95.238095, "%", "95.24%"), (3.0, "count", "3"),
    (None, "ms", "n/a"), (5.0, "grade", "B"), (1.25, "ratio", "1.25"), (1234.5, "rps", "1235 rps"), (66.666667, "%", "66.67%"), (29.2352, "rps", "29.24 rps"), (6.02814, "s", "6.028 s"), (0.0123456, "ratio", "0.01235"),
    (math.nan, "ms", "NaN"), (2e20, "count", "2.000e+20"),
])
def test_format_quantity(value, unit, shown):
    assert format_quantity(value, unit) == shown


@pytest.mark.parametrize("text, unit, problem", [
    (">= 195%", "%", "can never be met: a share is at most 100%"),
    ("== 101", "%", "can never be met"),
    ("> 100%", "%", "can never be met"),
    ("< 0", "%", "can never be met: a share is at least 0%"),
    (">= -1%", "%", "is below 0%"),
    ("<= -0.5", "%", "is below 0%"),
    (">= 1001‰", "‰", "at most 1000‰"),
    (">= 2 ratio", "%", "can never be met"),          # 2 ratio = 200%
])
def test_impossible_shares(text, unit, problem):
    assert problem in impossible_share(parse_target(text, unit))


@pytest.mark.parametrize("text, unit", [
    (">= 100%", "%"), ("== 0", "%"), ("<= 150%", "%"), (">= 95%", "%"), ("> 99.9", "%"),
    (">= 195%", "ratio"), ("<= 1.2", "ratio"), (">= 150", "count"), ("< 0", "count"),
])
def test_possible_shares_and_other_units(text, unit):
    assert impossible_share(parse_target(text, unit)) is None


def test_bare_fraction_on_a_percentage_warns_with_the_meant_value():
    (warning,) = share_warnings(parse_target(">= 0.6", "%"))
    assert warning.startswith("target '>= 0.6' means 0.6%: a bare number is in the metric's unit (%)")
    assert "did you mean >= 60%?" in warning and 'write ">= 0.6%" if 0.6% is meant' in warning
    (lower,) = share_warnings(parse_target("<= 0.05", "%"))
    assert "did you mean <= 5%?" in lower
    (one,) = share_warnings(parse_target("<= 1", "%"))      # 100% would be always met: no guess
    assert "means 1%" in one and "did you mean" not in one


@pytest.mark.parametrize("text", [">= 60%", ">= 0.6%", "== 0", ">= 1.5", "<= 0.5 ratio", "不低于 60%"])
def test_no_warning_for_written_units_zero_and_numbers_above_one(text):
    assert share_warnings(parse_target(text, "%")) == []


@pytest.mark.parametrize("text", ["<= 150%", "<= 100%", ">= 0"])
def test_always_met_share_warns(text):
    (warning,) = share_warnings(parse_target(text, "%"))
    assert "is always met" in warning


def test_share_checks_ignore_other_units():
    assert share_warnings(parse_target(">= 0.6", "ratio")) == []
    assert share_warnings(parse_target("<= 0.5", "s")) == []
    assert parse_target(">= 60%", "%").written == "%" and parse_target(">= 60", "%").written is None
