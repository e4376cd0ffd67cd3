"""Policy gates, the pre-assessment score and the verdict, as pure functions.

Gates (every run reports them): at least 5 indicators; functionality, performance efficiency,
reliability, security and compatibility each covered by a declared indicator; self-developed
code ratio ≥ ``origin.min_ratio``; product version 1.x; and, when the spec declares
``materials``, a complete acceptance dossier.

Score = Σ weight × credit / Σ weight × 100 over the indicators that were measured (``met`` or
``not_met``). Following Scorecard, an indicator in ``error`` is left out of the score, never
scored 0 silently, and ``not_applicable`` ones are left out as well. Errors are then weighed by
what they could change: the score is recomputed with every errored indicator at credit 0
(``lowest``) and at credit 1 (``highest``).

Verdict:
- ``fail`` when a gate fails, or when even ``highest`` is below the pass score (no error could
  change that);
- ``inconclusive`` when a gate could not be decided, or errors leave the outcome open
  (``lowest`` < pass score ≤ ``highest``);
- ``pass`` otherwise: every gate holds and the score (and ``lowest``) reach the pass score.
A partial run (an indicator of the task book not measured: ``--only``, or a run not finished) is
at most ``inconclusive``: it says nothing about the whole task book.

``finalize`` is the one place that applies all of it: ``verifier run`` writes what it returns and
``verify`` (``verifier.consistency``) recomputes it from the run's own data.

This is a pre-assessment: the acceptance panel's score is the official one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.results import Gate, IndicatorResult, MaterialCheck, OriginSummary, Score, Verdict
from verifier.spec import Spec
from verifier.vocabulary import REQUIRED_CHARACTERISTICS, characteristic, dossier_item

MIN_INDICATORS = 5
_EPS = 1e-9



@dataclass(frozen=True)
class Assessment:
    """Score and verdict, with the range the errored indicators leave open."""

    score: Score
    verdict: Verdict
    lowest: float
    """The score if every indicator in error had earned nothing."""
    highest: float
    """The score if every indicator in error had been met."""
    reasons: tuple[dict[str, str], ...]
    """Why this verdict, one line each, as ``{"zh": …, "en": …}``."""


#: the words gates write into their figures, and what they are in Chinese
_NONE, _NOT_MEASURED, _NOT_CHECKED = "none", "not measured", "not checked"
_UNKNOWN, _MISSING = "unknown", "; missing: "
_FIGURE_ZH = {_NONE: "无", _NOT_MEASURED: "未测量", _NOT_CHECKED: "未核查"}


def reason(zh: str, en: str) -> dict[str, str]:
    """One verdict reason in both languages, the shape of ``RunResult.verdict_reasons`` items."""
    return {"zh": zh, "en": en}


def gate_figure(gate: Gate, lang: str) -> str:
    """``gate.figure`` in ``lang``: the words the gates below write translated; tool text is kept as is."""
    figure = gate.figure
    if lang != "zh":
        return figure
    if figure in _FIGURE_ZH:
        return _FIGURE_ZH[figure]
    prefix = f"{_UNKNOWN} ("
    if gate.id == "origin.ratio" and figure.startswith(prefix) and figure.endswith(")"):
        inner = figure[len(prefix):-1]
        return f"未知（{_FIGURE_ZH.get(inner, inner)}）"
    if gate.id == "materials" and _MISSING in figure:
        count, keys = figure.split(_MISSING, 1)
        return f"{count}；缺少：" + "、".join(dossier_item(k).zh for k in keys.split(", "))
    return figure


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def count_gate(spec: Spec) -> Gate:
    """At least 5 key indicators declared (rule 6(二)2)."""
    count = len(spec.indicators)
    return Gate(id="indicators.count", description_zh=f"关键技术/性能指标不少于 {MIN_INDICATORS} 项",
                description_en=f"At least {MIN_INDICATORS} key indicators",
                passed=count >= MIN_INDICATORS,
                figure=f"{count} {'≥' if count >= MIN_INDICATORS else '<'} {MIN_INDICATORS}")


def coverage_gates(spec: Spec) -> list[Gate]:
    """One gate per required characteristic: covered by at least one declared indicator."""
    gates = []
    for key in REQUIRED_CHARACTERISTICS:
        term = characteristic(key)
        ids = [item.id for item in spec.indicators if item.characteristic == key]
        gates.append(Gate(id=f"coverage.{key}", description_zh=f"指标覆盖{term.zh}",
                          description_en=f"An indicator covers {term.en_text}", passed=bool(ids),
                          figure=", ".join(ids) if ids else _NONE))
    return gates


def origin_gate(spec: Spec, origin: OriginSummary | None) -> Gate:
    """Self-developed code ratio ≥ ``origin.min_ratio`` (rule 6(三)2); undecided if unknown."""
    threshold = spec.origin.min_ratio
    ratio = origin.ratio if origin is not None else None
    if ratio is None:
        why = origin.error if origin is not None and origin.error else _NOT_MEASURED
        passed, figure = None, f"{_UNKNOWN} ({why})"
    else:
        passed = ratio >= threshold - _EPS
        figure = f"{_pct(ratio)} {'≥' if passed else '<'} {_pct(threshold)}"
    return Gate(id="origin.ratio", description_zh=f"自研代码率不低于 {_pct(threshold)}",
                description_en=f"Self-developed code ratio at least {_pct(threshold)}",
                passed=passed, figure=figure)


def version_gate(spec: Spec) -> Gate:
    """The product is version 1.x (the policy funds version-1.0 products)."""
    return Gate(id="project.version", description_zh="产品版本为 1.x", description_en="Product version is 1.x",
                passed=spec.project.major == 1, figure=spec.project.version)


def materials_gate(spec: Spec, materials: Sequence[MaterialCheck] | None) -> Gate | None:
    """The acceptance dossier is complete (rule 15.1); None when the spec declares no materials."""
    if spec.materials is None:
        return None
    zh, en = "验收材料齐全", "Acceptance materials complete"
    if materials is None:
        return Gate(id="materials", description_zh=zh, description_en=en, passed=None,
                    figure=_NOT_CHECKED)
    missing = [check.key for check in materials if not check.ok]
    figure = f"{len(materials) - len(missing)}/{len(materials)}"
    if missing:
        figure += _MISSING + ", ".join(missing)
    return Gate(id="materials", description_zh=zh, description_en=en, passed=not missing, figure=figure)


def gates(spec: Spec, *, origin: OriginSummary | None,
          materials: Sequence[MaterialCheck] | None = None) -> list[Gate]:
    """Every policy gate for ``spec``, given the origin summary and the materials checks."""
    out = [count_gate(spec), *coverage_gates(spec), origin_gate(spec, origin), version_gate(spec)]
    dossier = materials_gate(spec, materials)
    if dossier is not None:
        out.append(dossier)
    return out


def _ratio(earned: float, weight: float) -> float:
    return round(earned / weight * 100.0, 2) if weight > 0 else 0.0


def assess(results: Sequence[IndicatorResult], gate_list: Sequence[Gate], *,
           pass_score: float) -> Assessment:
    """Score and verdict from evaluated indicators and gates (see the module doc for the rule)."""
    measured = [r for r in results if r.status in ("met", "not_met")]
    errors = [r for r in results if r.status == "error"]
    weight = sum(r.weight for r in measured)
    earned = sum(r.weight * r.credit for r in measured)
    error_weight = sum(r.weight for r in errors)
    value = _ratio(earned, weight)
    lowest = _ratio(earned, weight + error_weight)
    highest = _ratio(earned + error_weight, weight + error_weight)

    reasons: list[dict[str, str]] = []
    failed = [g for g in gate_list if g.passed is False]
    undecided = [g for g in gate_list if g.passed is None]
    for gate in failed:
        reasons.append(reason(f"门槛“{gate.description_zh}”不满足：{gate_figure(gate, 'zh')}",
                              f"gate {gate.id} ({gate.description_en}) does not hold: {gate.figure}"))
    for gate in undecided:
        reasons.append(reason(f"门槛“{gate.description_zh}”无法判定：{gate_figure(gate, 'zh')}",
                              f"gate {gate.id} ({gate.description_en}) could not be decided: {gate.figure}"))
    if errors:
        ids = ", ".join(r.id for r in errors)
        reasons.append(reason(
            f"{len(errors)} 项指标出错（{ids}），未计入得分：得分可能在 {lowest:g} 至 {highest:g} 之间",
            f"{len(errors)} indicator(s) in error ({ids}), left out of the score: "
            f"it could be anywhere from {lowest:g} to {highest:g}"))
    if not measured and not errors:
        reasons.append(reason("没有测得任何指标", "no indicator was measured"))

    if failed:
        verdict: Verdict = "fail"
    elif highest < pass_score - _EPS:
        verdict = "fail"
        reasons.append(reason(
            f"得分 {value:g} 低于通过分数线 {pass_score:g}"
            + ("，即使出错的指标全部符合也是如此" if errors else ""),
            f"score {value:g} is below the pass score {pass_score:g}"
            + (" even if every indicator in error were met" if errors else "")))
    elif undecided or lowest < pass_score - _EPS:
        verdict = "inconclusive"
    else:
        verdict = "pass"
        reasons.append(reason(f"各项门槛均满足，得分 {value:g} 达到通过分数线 {pass_score:g}",
                              f"every gate holds and the score {value:g} reaches the pass score {pass_score:g}"))
    return Assessment(score=Score(value=value, pass_score=pass_score), verdict=verdict,
                      lowest=lowest, highest=highest, reasons=tuple(reasons))


@dataclass(frozen=True)
class Finalized:
    """What a run records of the rule: gates, score (with its range when there are errors), verdict."""

    gates: tuple[Gate, ...]
    score: Score
    """``lowest`` and ``highest`` are set only when an indicator is in error."""
    verdict: Verdict
    reasons: tuple[dict[str, str], ...]
    """Why this verdict, one line each, as ``{"zh": …, "en": …}``."""
    not_measured: tuple[str, ...]
    """Indicators of the task book with no result (a partial or unfinished run), in spec order."""


def finalize(spec: Spec, results: Sequence[IndicatorResult], *, origin: OriginSummary | None,
             materials: Sequence[MaterialCheck] | None, finished: bool = True) -> Finalized:
    """Gates → score → verdict of a run of ``spec`` (see the module doc): the one rule ``run``
    records and ``verify`` recomputes. ``materials``: the dossier checks (empty or None when not
    checked); ``finished``: False while the run is still going (only the wording changes)."""
    gate_list = gates(spec, origin=origin, materials=materials or None)
    assessment = assess(results, gate_list, pass_score=spec.scoring.pass_score)
    verdict, reasons = assessment.verdict, list(assessment.reasons)
    measured = {r.id for r in results}
    left_out = tuple(ind.id for ind in spec.indicators if ind.id not in measured)
    if left_out:
        zh, en = (("部分运行（--only）", "partial run (--only)") if finished
                  else ("运行尚未完成", "run not finished (yet)"))
        ids, total = ", ".join(left_out), len(spec.indicators)
        reasons.append(reason(f"{zh}：{total} 项指标中 {len(left_out)} 项未测量（{ids}），不对整个任务书下结论",
                              f"{en}: {len(left_out)} of {total} indicators not measured ({ids}); "
                              "no verdict on the whole task book"))
        if verdict == "pass":
            verdict = "inconclusive"
    errors = any(r.status == "error" for r in results)
    score = assessment.score.model_copy(update={"lowest": assessment.lowest if errors else None,
                                                "highest": assessment.highest if errors else None})
    return Finalized(gates=tuple(gate_list), score=score, verdict=verdict, reasons=tuple(reasons),
                     not_measured=left_out)
