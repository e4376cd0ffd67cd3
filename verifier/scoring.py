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

This is a pre-assessment: the acceptance panel's score is the official one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from verifier.results import Gate, IndicatorResult, MaterialCheck, OriginSummary, Score, Verdict
from verifier.spec import REQUIRED_CHARACTERISTICS, Spec

MIN_INDICATORS = 5
_EPS = 1e-9

#: GB/T 25000.10 characteristics: Chinese and English names for gates and reports.
CHARACTERISTIC_NAMES: dict[str, tuple[str, str]] = {
    "functionality": ("功能性", "functionality"),
    "performance_efficiency": ("性能效率", "performance efficiency"),
    "compatibility": ("兼容性", "compatibility"),
    "usability": ("易用性", "usability"),
    "reliability": ("可靠性", "reliability"),
    "security": ("安全性", "security"),
    "maintainability": ("维护性", "maintainability"),
    "portability": ("可移植性", "portability"),
}


@dataclass(frozen=True)
class Assessment:
    """Score and verdict, with the range the errored indicators leave open."""

    score: Score
    verdict: Verdict
    lowest: float
    """The score if every indicator in error had earned nothing."""
    highest: float
    """The score if every indicator in error had been met."""
    reasons: tuple[str, ...]
    """Why this verdict, one line each (English)."""


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
    for characteristic in REQUIRED_CHARACTERISTICS:
        zh, en = CHARACTERISTIC_NAMES[characteristic]
        ids = [item.id for item in spec.indicators if item.characteristic == characteristic]
        gates.append(Gate(id=f"coverage.{characteristic}", description_zh=f"指标覆盖{zh}",
                          description_en=f"An indicator covers {en}", passed=bool(ids),
                          figure=", ".join(ids) if ids else "none"))
    return gates


def origin_gate(spec: Spec, origin: OriginSummary | None) -> Gate:
    """Self-developed code ratio ≥ ``origin.min_ratio`` (rule 6(三)2); undecided if unknown."""
    threshold = spec.origin.min_ratio
    ratio = origin.ratio if origin is not None else None
    if ratio is None:
        why = origin.error if origin is not None and origin.error else "not measured"
        passed, figure = None, f"unknown ({why})"
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
                    figure="not checked")
    missing = [check.key for check in materials if not check.ok]
    figure = f"{len(materials) - len(missing)}/{len(materials)}"
    if missing:
        figure += f"; missing: {', '.join(missing)}"
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

    reasons: list[str] = []
    failed = [g for g in gate_list if g.passed is False]
    undecided = [g for g in gate_list if g.passed is None]
    for gate in failed:
        reasons.append(f"gate {gate.id} does not hold: {gate.figure}")
    for gate in undecided:
        reasons.append(f"gate {gate.id} could not be decided: {gate.figure}")
    if errors:
        ids = ", ".join(r.id for r in errors)
        reasons.append(f"{len(errors)} indicator(s) in error ({ids}), left out of the score: "
                       f"it could be anywhere from {lowest:g} to {highest:g}")
    if not measured and not errors:
        reasons.append("no indicator was measured")

    if failed:
        verdict: Verdict = "fail"
    elif highest < pass_score - _EPS:
        verdict = "fail"
        reasons.append(f"score {value:g} is below the pass score {pass_score:g}"
                       + (" even if every indicator in error were met" if errors else ""))
    elif undecided or lowest < pass_score - _EPS:
        verdict = "inconclusive"
    else:
        verdict = "pass"
        reasons.append(f"every gate holds and the score {value:g} reaches the pass score {pass_score:g}")
    return Assessment(score=Score(value=value, pass_score=pass_score), verdict=verdict,
                      lowest=lowest, highest=highest, reasons=tuple(reasons))
