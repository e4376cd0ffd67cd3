"""Gates, score and verdict: every branch of the rule in verifier.scoring."""

from __future__ import annotations

import re
import textwrap

import pytest

from support.spec_fakes import PROBES
from verifier.results import Gate, IndicatorResult, MaterialCheck, MaterialFound, OriginSummary
from verifier.scoring import (
    assess,
    count_gate,
    coverage_gates,
    finalize,
    gate_figure,
    gates,
    materials_gate,
    origin_gate,
    ready_to_apply,
    score_reaches,
    version_gate,
)
from verifier.spec import parse_spec
from verifier.vocabulary import REQUIRED_CHARACTERISTICS

FIVE = ["functionality", "performance_efficiency", "reliability", "security", "compatibility"]


def _spec(characteristics=FIVE, version="1.0.0", materials: str = "", min_ratio: float = 0.6):
    items = "\n".join(
        f"  - {{id: I{i}, name: n{i}, characteristic: {c}, probe: counter, metric: files, "
        f"target: '>= 1'}}" for i, c in enumerate(characteristics, 1))
    text = textwrap.dedent(f"""\
        project: {{name: x, version: "{version}", owners: [a]}}
        origin: {{min_ratio: {min_ratio}}}
        """) + (f"indicators:\n{items}\n" if items else "indicators: []\n") + materials
    return parse_spec(text, probes=PROBES)


def _origin(ratio: float | None, error: str | None = None) -> OriginSummary:
    return OriginSummary(ratio=ratio, ratio_without_tests=ratio, threshold=0.6,
                         passed=None if ratio is None else ratio >= 0.6, counting="effective lines",
                         totals={}, error=error)


def _result(status: str, credit: float | None = None, weight: float = 1.0, rid: str = "X"):
    if credit is None:
        credit = 1.0 if status == "met" else 0.0
    return IndicatorResult(id=rid, name=rid, characteristic="security", probe="counter",
                           metric="files", target=">= 1", unit="count", value=None, status=status,
                           credit=credit, weight=weight, reason="r")


def _gate(passed: bool | None) -> Gate:
    return Gate(id="g", description_zh="门", description_en="gate", passed=passed, figure="f")


# ----------------------------------------------------------------------------- gates

def test_count_gate():
    assert count_gate(_spec()).passed is True and count_gate(_spec()).figure == "5 ≥ 5"
    four = count_gate(_spec(FIVE[:4]))
    assert four.passed is False and four.figure == "4 < 5"
    assert count_gate(_spec([])).passed is False


def test_coverage_gates_one_per_required_characteristic():
    spec = _spec(["functionality", "functionality", "security", "maintainability", "usability"])
    result = {g.id: g for g in coverage_gates(spec)}
    assert list(result) == [f"coverage.{c}" for c in REQUIRED_CHARACTERISTICS]
    assert result["coverage.functionality"].passed is True
    assert result["coverage.functionality"].figure == "I1, I2"
    assert result["coverage.security"].figure == "I3"
    for missing in ("performance_efficiency", "reliability", "compatibility"):
        assert result[f"coverage.{missing}"].passed is False
        assert result[f"coverage.{missing}"].figure == "none"
    assert result["coverage.reliability"].description_zh == "指标覆盖可靠性"


def test_origin_gate():
    spec = _spec()
    assert origin_gate(spec, _origin(0.724)).passed is True
    assert origin_gate(spec, _origin(0.724)).figure == "72.4% ≥ 60.0%"
    assert origin_gate(spec, _origin(0.6)).passed is True
    low = origin_gate(spec, _origin(0.59))
    assert low.passed is False and low.figure == "59.0% < 60.0%"
    assert origin_gate(spec, None).passed is None and origin_gate(spec, None).figure == "unknown (not measured)"
    failed = origin_gate(spec, _origin(None, error="scancode crashed"))
    assert failed.passed is None and failed.figure == "unknown (scancode crashed)"
    assert origin_gate(_spec(min_ratio=0.8), _origin(0.724)).passed is False
    assert origin_gate(_spec(min_ratio=0.8), _origin(0.724)).description_en.endswith("80.0%")


@pytest.mark.parametrize("version, passed", [("1.0.0", True), ("V1.2", True), ("v1.0-rc1", True),
                                             ("2.0", False), ("0.9.1", False), ("10.0", False)])
def test_version_gate(version, passed):
    gate = version_gate(_spec(version=version))
    assert gate.passed is passed and gate.figure == version


def _check(key: str, ok: bool) -> MaterialCheck:
    found = [MaterialFound(path=f"docs/{key}.pdf", sha256="0" * 64, size=1)] if ok else []
    return MaterialCheck(key=key, label_zh=key, label_en=key, patterns=[f"docs/{key}*.pdf"],
                         required=1, found=found, ok=ok)


def test_materials_gate():
    assert materials_gate(_spec(), None) is None  # not declared: no gate
    declared = _spec(materials="materials:\n  test_report: docs/test-report*.pdf\n")
    assert materials_gate(declared, None).passed is None
    assert materials_gate(declared, None).figure == "not checked"
    ok = materials_gate(declared, [_check("test_report", True), _check("audit_report", True)])
    assert ok.passed is True and ok.figure == "2/2"
    missing = materials_gate(declared, [_check("test_report", True), _check("audit_report", False)])
    assert missing.passed is False and missing.figure == "1/2; missing: audit_report"


def _all_met(spec) -> list[IndicatorResult]:
    return [_result("met", rid=item.id) for item in spec.indicators]


def test_gates_lists_them_all_in_order():
    ids = [g.id for g in gates(_spec(), _all_met(_spec()), origin=_origin(0.7))]
    assert ids == ["indicators.count", *(f"coverage.{c}" for c in REQUIRED_CHARACTERISTICS),
                   "indicators.met", "origin.ratio", "project.version"]
    declared = _spec(materials="materials:\n  test_report: docs/t.pdf\n")
    assert [g.id for g in gates(declared, _all_met(declared), origin=_origin(0.7), materials=[])][-1] == "materials"
    assert all(g.passed for g in gates(_spec(), _all_met(_spec()), origin=_origin(0.7)))


# ----------------------------------------------------------------------------- score and verdict

def test_all_met_passes():
    a = assess([_result("met")] * 5, [_gate(True)], pass_score=70)
    assert (a.verdict, a.score.value, a.lowest, a.highest) == ("pass", 100.0, 100.0, 100.0)
    assert a.score.pass_score == 70 and a.score.maximum == 100
    assert "reaches the pass score" in a.reasons[-1]["en"] and "达到通过分数线" in a.reasons[-1]["zh"]


def test_weighted_score():
    results = [_result("met", weight=3), _result("not_met", weight=1)]
    a = assess(results, [_gate(True)], pass_score=70)
    assert a.score.value == 75.0 and a.verdict == "pass"
    assert assess(results, [_gate(True)], pass_score=80).verdict == "fail"


def test_partial_credit_counts():
    results = [_result("met"), _result("not_met", credit=0.5)]
    assert assess(results, [], pass_score=75).score.value == 75.0
    assert assess(results, [], pass_score=75).verdict == "pass"


def test_score_exactly_at_pass_score_passes():
    results = [_result("met")] * 7 + [_result("not_met")] * 3
    a = assess(results, [], pass_score=70)
    assert a.score.value == 70.0 and a.verdict == "pass"


def test_failed_gate_fails_even_with_full_score():
    a = assess([_result("met")] * 5, [_gate(True), _gate(False)], pass_score=70)
    assert a.verdict == "fail" and a.score.value == 100.0
    assert a.reasons[0] == {"zh": "门槛“门”不满足：f", "en": "gate g (gate) does not hold: f"}


def test_failed_gate_wins_over_errors_and_undecided_gates():
    a = assess([_result("met"), _result("error")], [_gate(None), _gate(False)], pass_score=70)
    assert a.verdict == "fail"


def test_undecided_gate_is_inconclusive():
    a = assess([_result("met")] * 5, [_gate(True), _gate(None)], pass_score=70)
    assert a.verdict == "inconclusive"
    assert "could not be decided" in a.reasons[0]["en"] and "无法判定" in a.reasons[0]["zh"]


def test_undecided_gate_with_a_hopeless_score_fails():
    a = assess([_result("not_met")] * 5, [_gate(None)], pass_score=70)
    assert a.verdict == "fail"


def test_errors_are_left_out_of_the_score_not_scored_zero():
    results = [_result("met", rid="A"), _result("met", rid="B"), _result("error", rid="C")]
    a = assess(results, [_gate(True)], pass_score=70)
    assert a.score.value == 100.0                      # measured ones only
    assert (a.lowest, a.highest) == (66.67, 100.0)    # C at 0 / C at 1
    assert a.verdict == "inconclusive"                # C could sink it below 70
    assert "1 indicator(s) in error (C)" in a.reasons[0]["en"]
    assert a.reasons[0]["zh"] == "1 项指标出错（C），未计入得分：得分可能在 66.67 至 100 之间"


def test_errors_that_cannot_change_a_pass():
    results = [_result("met")] * 9 + [_result("error")]
    a = assess(results, [_gate(True)], pass_score=70)
    assert (a.lowest, a.verdict) == (90.0, "pass")


def test_errors_that_cannot_change_a_fail():
    results = [_result("not_met")] * 9 + [_result("error")]
    a = assess(results, [_gate(True)], pass_score=70)
    assert (a.highest, a.verdict) == (10.0, "fail")
    assert "even if every indicator in error were met" in a.reasons[-1]["en"]
    assert "即使出错的指标全部符合" in a.reasons[-1]["zh"]


def test_only_errors_is_inconclusive():
    a = assess([_result("error")] * 5, [_gate(True)], pass_score=70)
    assert (a.score.value, a.lowest, a.highest, a.verdict) == (0.0, 0.0, 100.0, "inconclusive")


def test_not_applicable_is_left_out_entirely():
    results = [_result("met"), _result("not_applicable"), _result("not_applicable")]
    a = assess(results, [], pass_score=70)
    assert (a.score.value, a.lowest, a.highest, a.verdict) == (100.0, 100.0, 100.0, "pass")


def test_nothing_measured_fails():
    a = assess([_result("not_applicable")], [_gate(True)], pass_score=70)
    assert (a.score.value, a.verdict) == (0.0, "fail")
    assert {"zh": "没有测得任何指标", "en": "no indicator was measured"} in a.reasons
    assert assess([], [], pass_score=70).verdict == "fail"


# ----------------------------------------------------------------------------- both languages

def test_every_reason_has_chinese_and_english_text():
    cases = [assess([_result("met")] * 5, [_gate(True)], pass_score=70),
             assess([_result("met"), _result("error")], [_gate(None), _gate(False)], pass_score=70),
             assess([_result("not_met")] * 9 + [_result("error")], [_gate(True)], pass_score=70),
             assess([], [], pass_score=70)]
    for a in cases:
        assert a.reasons
        for r in a.reasons:
            assert set(r) == {"zh", "en"} and r["zh"] != r["en"]
            assert re.search(r"[\u4e00-\u9fff]", r["zh"]), r
            assert not re.search(r"[\u4e00-\u9fff]", r["en"]), r


def _hidden(ratio: float, *origins: str, total: int | None = None) -> OriginSummary:
    """A summary whose delivery held paths of unknown size (``origins``: what their code would be)."""
    unweighed = [{"path": f"d{i}", "reason": "unreadable directory: Permission denied", "origin": o}
                 for i, o in enumerate(origins)]
    return _origin(ratio).model_copy(update={"unweighed": unweighed, "passed": None,
                                             "unweighed_total": total or len(unweighed)})


def test_paths_of_unknown_size_leave_the_origin_gate_undecided():
    """An unreadable directory has no size to weigh: what it holds counts as not self-developed
    (like an unreadable file's lines) and could lower the ratio by any amount, so a ratio that
    holds without it is undecided and the gate names it; a ratio below the line fails."""
    spec = _spec()
    for ratio in (0.95, 0.6):
        gate = origin_gate(spec, _hidden(ratio, "unknown"))
        assert gate.passed is None, ratio
        assert gate.figure == f"unknown ({ratio * 100:.1f}% without 1 unreadable path(s) of unknown size: d0)"
    assert gate_figure(origin_gate(spec, _hidden(0.95, "unknown")), "zh") == \
        "未知（不计 1 个无法读取、大小不明的路径时为 95.0%：d0）"
    many = origin_gate(spec, _hidden(0.9, *["unknown"] * 7, total=300))
    assert many.figure.endswith("300 unreadable path(s) of unknown size: d0, d1, d2, d3, d4 …)")
    # below the line, whatever they hold can only lower it: it fails anyway
    lowered = origin_gate(spec, _hidden(0.4, "third_party", "generated"))
    assert lowered.passed is False
    assert lowered.figure == "40.0% < 60.0%; 2 unreadable path(s), which can only lower it: d0, d1"
    assert gate_figure(lowered, "zh") == "40.0% < 60.0%；2 个无法读取的路径只会使其更低：d0, d1"
    assert origin_gate(spec, _hidden(0.9, "third_party")).passed is None  # it could still lower it below
    assert origin_gate(spec, _hidden(0.3, "unknown")).passed is False
    assert origin_gate(spec, _hidden(0.4, "third_party", "unknown")).passed is False
    # the verdict says why, in both languages
    reasons = assess([_result("met")] * 5, [origin_gate(spec, _hidden(0.95, "unknown"))], pass_score=70)
    assert reasons.verdict == "inconclusive"
    assert reasons.reasons[0]["en"].endswith("could not be decided: unknown (95.0% without 1 unreadable "
                                             "path(s) of unknown size: d0)")
    assert reasons.reasons[0]["zh"].endswith("无法判定：未知（不计 1 个无法读取、大小不明的路径时为 95.0%：d0）")


def test_gate_figures_in_chinese_translate_what_scoring_wrote():
    declared = _spec(materials="materials:\n  test_report: docs/t.pdf\n  audit_report: docs/a.pdf\n")
    missing = materials_gate(declared, [_check("test_report", False), _check("audit_report", False)])
    assert gate_figure(missing, "en") == missing.figure == "0/2; missing: test_report, audit_report"
    assert gate_figure(missing, "zh") == "0/2；缺少：产品测试报告、专项审计报告"
    assert gate_figure(materials_gate(declared, None), "zh") == "未核查"
    uncovered = {g.id: g for g in coverage_gates(_spec(["functionality"] * 5))}["coverage.security"]
    assert (uncovered.figure, gate_figure(uncovered, "zh")) == ("none", "无")
    assert gate_figure(origin_gate(_spec(), None), "zh") == "未知（未测量）"
    # tool text inside a figure is evidence: kept as the tool wrote it
    failed = origin_gate(_spec(), _origin(None, error="scancode crashed"))
    assert gate_figure(failed, "zh") == "未知（scancode crashed）"
    assert gate_figure(count_gate(_spec()), "zh") == "5 ≥ 5"
    reasons = assess([_result("met")] * 5, [missing], pass_score=70).reasons
    assert reasons[0]["zh"] == "门槛“验收材料齐全”不满足：0/2；缺少：产品测试报告、专项审计报告"
    assert reasons[0]["en"] == ("gate materials (Acceptance materials complete) does not hold: "
                                "0/2; missing: test_report, audit_report")


# ----------------------------------------------------------------------------- finalize (run and verify)

def _named(status: str, rid: str, credit: float | None = None) -> IndicatorResult:
    return _result(status, credit=credit, rid=rid)


def test_finalize_records_gates_score_and_verdict():
    spec = _spec()
    results = [_named("met", f"I{n}") for n in range(1, 6)]
    final = finalize(spec, results, origin=_origin(0.7), materials=None)
    assert [g.id for g in final.gates] == [g.id for g in gates(spec, results, origin=_origin(0.7))]
    assert (final.verdict, final.score.value, final.score.lowest, final.score.highest) == ("pass", 100.0, None, None)
    assert final.not_measured == ()


def test_finalize_gives_the_score_range_only_with_errors():
    results = [_named("met", f"I{n}") for n in range(1, 5)] + [_named("error", "I5")]
    final = finalize(_spec(), results, origin=_origin(0.7), materials=None)
    assert (final.score.value, final.score.lowest, final.score.highest) == (100.0, 80.0, 100.0)
    assert final.verdict == "inconclusive"  # I5 at 0 still leaves 80 ≥ 70, but I5 is not shown met


@pytest.mark.parametrize("finished, words", [(True, "partial run (--only)"), (False, "run not finished (yet)")])
def test_a_partial_run_is_at_most_inconclusive(finished, words):
    results = [_named("met", f"I{n}") for n in range(1, 4)]
    final = finalize(_spec(), results, origin=_origin(0.7), materials=None, finished=finished)
    assert final.verdict == "inconclusive" and final.not_measured == ("I4", "I5")
    assert final.reasons[-1]["en"] == f"{words}: 2 of 5 indicators not measured (I4, I5); no verdict on the whole task book"
    failing = finalize(_spec(min_ratio=0.9), results, origin=_origin(0.7), materials=None)
    assert failing.verdict == "fail"  # a failed gate stays a fail


# ----------------------------------------------------------------------------- the task book's targets (article 15)

def _task_book(optional: tuple[str, ...] = (), extra: tuple[str, ...] = ()):
    """Five task-book indicators I1..I5 (one per required characteristic), ``optional`` of them
    ``required: false``, plus ``extra`` indicators beyond the task book (usability)."""
    rows = [(f"I{n}", c) for n, c in enumerate(FIVE, 1)] + [(rid, "usability") for rid in extra]
    items = "\n".join(
        f"  - {{id: {rid}, name: 指标{rid}, characteristic: {c}, probe: counter, metric: files, target: '>= 1'"
        + (", required: false" if rid in optional or rid in extra else "") + "}" for rid, c in rows)
    return parse_spec(f'project: {{name: x, version: "1.0.0", owners: [a]}}\nindicators:\n{items}\n', probes=PROBES)


def _run(spec, **statuses: str) -> list[IndicatorResult]:
    """Results for every indicator of ``spec``: met unless ``statuses`` says otherwise."""
    out = []
    for item in spec.indicators:
        status = statuses.get(item.id, "met")
        value = {"met": 3.0, "not_met": 0.0}.get(status)
        out.append(IndicatorResult(id=item.id, name=item.name, characteristic=item.characteristic,
                                   probe="counter", metric="files", target=item.target, unit="count",
                                   value=value, status=status, credit=1.0 if status == "met" else 0.0,
                                   weight=1.0, required=item.required, reason="r"))
    return out


def test_one_task_book_indicator_not_met_fails_whatever_the_score():
    """The reproduction: 4 of 5 met scores 80 ≥ 70 and used to pass."""
    spec = _task_book()
    final = finalize(spec, _run(spec, I4="not_met"), origin=_origin(0.7), materials=None)
    assert (final.score.value, final.verdict) == (80.0, "fail")
    gate = {g.id: g for g in final.gates}["indicators.met"]
    assert (gate.passed, gate.figure) == (False, "4 of 5 met; not met: I4")
    assert gate_figure(gate, "zh") == "5 项中 4 项达成；未达成：I4"
    assert {"zh": "任务书指标 I4“指标I4”未达成：测得 0，目标 >= 1",
            "en": "task-book indicator I4 (指标I4) not met: 0, target >= 1"} in final.reasons
    assert final.reasons[0]["en"] == ("gate indicators.met (Every task-book indicator met) does not hold: "
                                      "4 of 5 met; not met: I4")
    assert ready_to_apply(final.gates) is False and score_reaches(final.score) is True


def test_partial_credit_does_not_make_a_target_met():
    spec = _task_book()
    results = [r.model_copy(update={"credit": 0.9}) if r.id == "I2" else r for r in _run(spec, I2="not_met")]
    final = finalize(spec, results, origin=_origin(0.7), materials=None)
    assert (final.score.value, final.verdict) == (98.0, "fail")


def test_an_indicator_beyond_the_task_book_does_not_block():
    spec = _task_book(extra=("X1",))
    final = finalize(spec, _run(spec, X1="not_met"), origin=_origin(0.7), materials=None)
    assert final.verdict == "pass" and final.score.value == 83.33  # measured and scored: 5 of 6
    gate = {g.id: g for g in final.gates}["indicators.met"]
    assert (gate.passed, gate.figure) == (True, "5 of 5 met")
    assert not any("X1" in r["en"] for r in final.reasons)
    errored = finalize(spec, _run(spec, X1="error"), origin=_origin(0.7), materials=None)
    assert errored.verdict == "pass"  # its error cannot bring 100 below 70, and it blocks nothing


def test_a_task_book_indicator_in_error_is_not_shown_met():
    spec = _task_book()
    final = finalize(spec, _run(spec, I3="error"), origin=_origin(0.7), materials=None)
    assert (final.score.lowest, final.verdict) == (80.0, "inconclusive")
    gate = {g.id: g for g in final.gates}["indicators.met"]
    assert (gate.passed, gate.figure) == (None, "4 of 5 met; in error: I3")
    assert gate_figure(gate, "zh") == "5 项中 4 项达成；出错：I3"
    assert {"zh": "任务书指标 I3“指标I3”出错，未证明达成（目标 >= 1）",
            "en": "task-book indicator I3 (指标I3) in error, so not shown met (target >= 1)"} in final.reasons
    # not met elsewhere decides it: the error cannot undo that
    both = finalize(spec, _run(spec, I3="error", I5="not_met"), origin=_origin(0.7), materials=None)
    assert both.verdict == "fail"
    assert {g.id: g for g in both.gates}["indicators.met"].figure == "3 of 5 met; not met: I5; in error: I3"


def test_a_task_book_indicator_without_a_figure_is_not_shown_met():
    spec = _task_book()
    final = finalize(spec, _run(spec, I1="not_applicable"), origin=_origin(0.7), materials=None)
    assert final.verdict == "inconclusive"
    gate = {g.id: g for g in final.gates}["indicators.met"]
    assert (gate.passed, gate_figure(gate, "zh")) == (None, "5 项中 4 项达成；无测得值：I1")


def test_a_task_book_indicator_not_measured_leaves_the_gate_open():
    spec = _task_book()
    final = finalize(spec, _run(spec)[:4], origin=_origin(0.7), materials=None)
    gate = {g.id: g for g in final.gates}["indicators.met"]
    assert (gate.passed, gate.figure, gate_figure(gate, "zh")) == (None, "4 of 5 met; not measured: I5",
                                                                  "5 项中 4 项达成；未测量：I5")
    assert final.verdict == "inconclusive"


def test_indicators_beyond_the_task_book_count_for_no_gate():
    """Marking indicators required: false cannot empty the task book: the count and coverage gates
    see only the task book's own."""
    spec = _task_book(optional=("I4", "I5"))
    by_id = {g.id: g for g in finalize(spec, _run(spec), origin=_origin(0.7), materials=None).gates}
    assert (by_id["indicators.count"].passed, by_id["indicators.count"].figure) == (False, "3 < 5")
    assert by_id["coverage.security"].passed is False and by_id["coverage.compatibility"].figure == "none"
    assert by_id["indicators.met"].figure == "3 of 3 met"


@pytest.mark.parametrize("gate_state", [True, False, None])
@pytest.mark.parametrize("scores", [(90, 90), (50, 50), (60, 90)])
def test_the_verdict_is_ready_to_apply_and_score_reached(gate_state, scores):
    lowest, highest = scores
    results = [_result("met", weight=lowest), _result("not_met", weight=100 - highest)]
    if highest != lowest:
        results.append(_result("error", weight=highest - lowest))
    a = assess(results, [_gate(gate_state)], pass_score=70)
    score = a.score.model_copy(update={"lowest": a.lowest, "highest": a.highest})
    ready, reaches = ready_to_apply([_gate(gate_state)]), score_reaches(score)
    want = "fail" if False in (ready, reaches) else ("inconclusive" if None in (ready, reaches) else "pass")
    assert a.verdict == want
