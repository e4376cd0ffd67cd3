"""Policy gates, the pre-assessment score and the verdict, as pure functions.

Gates (every run reports them): at least 5 task-book indicators; functionality, performance
efficiency, reliability, security and compatibility each covered by a task-book indicator; every
task-book indicator met (任务书目标指标全部达成, ``indicators.met``); self-developed code ratio ≥
``origin.min_ratio``; product version 1.x; and, when the spec declares ``materials``, a complete
acceptance dossier. A task-book indicator is one without ``required: false``: an indicator the
applicant adds beyond the task book is measured, scored and reported, but counts for none of
these gates and blocks nothing.

The task-book gate follows article 15: the applicant applies for acceptance after completing the
task book's target indicators, and the panel scores against the task book. It fails when a
task-book indicator is ``not_met`` (partial credit does not make it met); it cannot be decided when
none is ``not_met`` but one is not shown met: in ``error``, ``not_applicable`` (no figure) or not
measured at all (a partial run).

Score = Σ weight × credit / Σ weight × 100 over the indicators that were measured (``met`` or
``not_met``), task-book or not. Following Scorecard, an indicator in ``error`` is left out of the
score, never scored 0 silently, and ``not_applicable`` ones are left out as well. Errors are then
weighed by what they could change: the score is recomputed with every errored indicator at credit
0 (``lowest``) and at credit 1 (``highest``). The score is the pre-assessment of the panel's score,
whatever the gates say.

Verdict, from two questions (``ready_to_apply`` and ``score_reaches``):
- ready to apply: every gate holds (yes), one fails (no), else one could not be decided (open);
- score ≥ pass score: ``lowest`` reaches it (yes), even ``highest`` does not (no), else open.
``pass`` when both are yes; ``fail`` when either is no; ``inconclusive`` otherwise. So a task-book
indicator not met fails the run whatever its score, and one in error leaves it at most
inconclusive. A partial run (an indicator of the task book not measured: ``--only``, or a run not
finished) is at most ``inconclusive``: it says nothing about the whole task book.

An indicator measured several times (``repeat``) and met in some runs but not in others is
unstable: the verdict's reasons name it, with the runs that met and the median judged.

``finalize`` is the one place that applies all of it: ``verifier run`` writes what it returns and
``verify`` (``verifier.consistency``) recomputes it from the run's own data.

This is a pre-assessment: the acceptance panel's score is the official one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from verifier.results import Gate, IndicatorResult, MaterialCheck, OriginSummary, Score, Verdict, ratio_holds
from verifier.spec import Indicator, Spec
from verifier.units import format_number, format_quantity
from verifier.vocabulary import REQUIRED_CHARACTERISTICS, characteristic, dossier_item

MIN_INDICATORS = 5
#: the id of the gate "every task-book indicator met"
TASK_BOOK_GATE = "indicators.met"
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
#: how the task-book gate's figure names what is short of met, by status (None: no result)
_SHORT = {"not_met": ("not met", "未达成"), "error": ("in error", "出错"),
          "not_applicable": ("no figure", "无测得值"), None: (_NOT_MEASURED, "未测量")}
_SHORT_ZH = dict(_SHORT.values())
#: How the origin gate names paths whose code could not be weighed (``OriginSummary.unweighed``):
#: undecided, and failing whatever they hold (their code is never self-developed, so it can only
#: lower the ratio); zh beside each
_UNWEIGHED = "{ratio} without {count} unreadable path(s) of unknown size: {paths}"
_UNWEIGHED_ZH = "不计 {count} 个无法读取、大小不明的路径时为 {ratio}：{paths}"
_UNWEIGHED_FAIL = "{figure}; {count} unreadable path(s), which can only lower it: {paths}"
_UNWEIGHED_FAIL_ZH = "{figure}；{count} 个无法读取的路径只会使其更低：{paths}"
_UNWEIGHED_RE = re.compile(r"(?P<ratio>\S+) without (?P<count>\d+) unreadable path\(s\) of unknown size: "
                           r"(?P<paths>.*)", re.DOTALL)
_UNWEIGHED_FAIL_RE = re.compile(r"(?P<figure>\S+ < \S+); (?P<count>\d+) unreadable path\(s\), which can "
                                r"only lower it: (?P<paths>.*)", re.DOTALL)
_PATHS_SHOWN = 5
_MET_OF = re.compile(r"^(\d+) of (\d+) met")


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
        if (unweighed := _UNWEIGHED_RE.fullmatch(inner)) is not None:
            return f"未知（{_UNWEIGHED_ZH.format(**unweighed.groupdict())}）"
        return f"未知（{_FIGURE_ZH.get(inner, inner)}）"
    if gate.id == "origin.ratio" and (lowered := _UNWEIGHED_FAIL_RE.fullmatch(figure)) is not None:
        return _UNWEIGHED_FAIL_ZH.format(**lowered.groupdict())
    if gate.id == TASK_BOOK_GATE and (head := _MET_OF.match(figure)):
        words = "|".join(re.escape(en) for en in _SHORT_ZH)
        parts = re.split(f"; ({words}): ", figure[head.end():])
        tail = "".join(f"；{_SHORT_ZH[word]}：{ids}" for word, ids in zip(parts[1::2], parts[2::2]))
        return f"{head.group(2)} 项中 {head.group(1)} 项达成{parts[0]}{tail}"
    if gate.id == "materials" and _MISSING in figure:
        count, keys = figure.split(_MISSING, 1)
        return f"{count}；缺少：" + "、".join(dossier_item(k).zh for k in keys.split(", "))
    return figure


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def task_book_indicators(spec: Spec) -> list[Indicator]:
    """The indicators of the task book itself (not ``required: false``), in spec order."""
    return [item for item in spec.indicators if item.required]


def count_gate(spec: Spec) -> Gate:
    """At least 5 key indicators in the task book (rule 6(二)2); those beyond it do not count."""
    count = len(task_book_indicators(spec))
    return Gate(id="indicators.count", description_zh=f"关键技术/性能指标不少于 {MIN_INDICATORS} 项",
                description_en=f"At least {MIN_INDICATORS} key indicators",
                passed=count >= MIN_INDICATORS,
                figure=f"{count} {'≥' if count >= MIN_INDICATORS else '<'} {MIN_INDICATORS}")


def coverage_gates(spec: Spec) -> list[Gate]:
    """One gate per required characteristic: covered by at least one task-book indicator."""
    gates = []
    for key in REQUIRED_CHARACTERISTICS:
        term = characteristic(key)
        ids = [item.id for item in task_book_indicators(spec) if item.characteristic == key]
        gates.append(Gate(id=f"coverage.{key}", description_zh=f"指标覆盖{term.zh}",
                          description_en=f"An indicator covers {term.en_text}", passed=bool(ids),
                          figure=", ".join(ids) if ids else _NONE))
    return gates


def task_book_gate(spec: Spec, results: Sequence[IndicatorResult]) -> Gate:
    """Every task-book indicator met (article 15): fails when one is not met, undecided when one is
    not shown met (in error, no figure, not measured); the figure names each by id."""
    statuses = {r.id: r.status for r in results}
    required = task_book_indicators(spec)
    short: dict[str | None, list[str]] = {}
    for item in required:
        status = statuses.get(item.id)
        if status != "met":
            short.setdefault(status, []).append(item.id)
    met = len(required) - sum(len(ids) for ids in short.values())
    figure = f"{met} of {len(required)} met" + "".join(
        f"; {_SHORT[status][0]}: {', '.join(short[status])}" for status in _SHORT if status in short)
    passed = False if "not_met" in short else (None if short else True)
    return Gate(id=TASK_BOOK_GATE, description_zh="任务书目标指标全部达成",
                description_en="Every task-book indicator met", passed=passed, figure=figure)


def origin_gate(spec: Spec, origin: OriginSummary | None) -> Gate:
    """Self-developed code ratio ≥ ``origin.min_ratio`` (rule 6(三)2); undecided if unknown, or
    when paths whose code could not be weighed could move it across (``ratio_holds``); the figure
    then names them."""
    threshold = spec.origin.min_ratio
    ratio = origin.ratio if origin is not None else None
    if origin is None or ratio is None:
        why = origin.error if origin is not None and origin.error else _NOT_MEASURED
        passed, figure = None, f"{_UNKNOWN} ({why})"
    else:
        passed = ratio_holds(ratio, threshold, origin.unweighed)
        figure = f"{_pct(ratio)} {'<' if ratio < threshold - _EPS else '≥'} {_pct(threshold)}"
        if origin.unweighed:
            count = max(origin.unweighed_total, len(origin.unweighed))
            paths = ", ".join(item.get("path", "") for item in origin.unweighed[:_PATHS_SHOWN]) \
                + (" …" if count > _PATHS_SHOWN else "")
            figure = (_UNWEIGHED_FAIL.format(figure=figure, count=count, paths=paths) if passed is False
                      else f"{_UNKNOWN} ({_UNWEIGHED.format(ratio=_pct(ratio), count=count, paths=paths)})")
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


def gates(spec: Spec, results: Sequence[IndicatorResult], *, origin: OriginSummary | None,
          materials: Sequence[MaterialCheck] | None = None) -> list[Gate]:
    """Every policy gate for ``spec``, given the indicator results, the origin summary and the
    materials checks."""
    out = [count_gate(spec), *coverage_gates(spec), task_book_gate(spec, results), origin_gate(spec, origin),
           version_gate(spec)]
    dossier = materials_gate(spec, materials)
    if dossier is not None:
        out.append(dossier)
    return out


def _ratio(earned: float, weight: float) -> float:
    return round(earned / weight * 100.0, 2) if weight > 0 else 0.0


def ready_to_apply(gate_list: Sequence[Gate]) -> bool | None:
    """Whether the delivery may apply for acceptance on these gates: False when one fails, None
    when none fails but one could not be decided, True when every one holds."""
    if any(g.passed is False for g in gate_list):
        return False
    return None if any(g.passed is None for g in gate_list) else True


def score_figure(score: Score) -> str:
    """The score as people read it, on the terminal and in every report: the value rounded by
    ``verifier.units.format_number`` (``74.93``), or, when indicators in error leave it open, the
    range they leave (``0 – 100``: a run in which every indicator errored was not scored 0)."""
    if score.lowest is not None and score.highest is not None:
        return f"{format_number(score.lowest)} – {format_number(score.highest)}"
    return format_number(score.value)


def score_reaches(score: Score) -> bool | None:
    """Whether the score reaches the pass score: None when the errors' range straddles it."""
    lowest = score.value if score.lowest is None else score.lowest
    highest = score.value if score.highest is None else score.highest
    return _reaches(lowest, highest, score.pass_score)


def _reaches(lowest: float, highest: float, pass_score: float) -> bool | None:
    if highest < pass_score - _EPS:
        return False
    return None if lowest < pass_score - _EPS else True


def _shortfall_reasons(results: Sequence[IndicatorResult]) -> list[dict[str, str]]:
    """One line per task-book indicator not shown met: its value and target, or why it has none."""
    out = []
    for r in results:
        if not r.required or r.status == "met":
            continue
        what_zh, what_en = f"任务书指标 {r.id}“{r.name}”", f"task-book indicator {r.id} ({r.name})"
        if r.status == "not_met":
            value = format_quantity(r.value, r.unit)
            out.append(reason(f"{what_zh}未达成：测得 {value}，目标 {r.target}",
                              f"{what_en} not met: {value}, target {r.target}"))
        elif r.status == "error":
            out.append(reason(f"{what_zh}出错，未证明达成（目标 {r.target}）",
                              f"{what_en} in error, so not shown met (target {r.target})"))
        else:
            out.append(reason(f"{what_zh}未得到测得值，未证明达成（目标 {r.target}）",
                              f"{what_en} has no figure, so not shown met (target {r.target})"))
    return out


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
        if gate.id == TASK_BOOK_GATE:
            reasons += _shortfall_reasons(results)
    for gate in undecided:
        reasons.append(reason(f"门槛“{gate.description_zh}”无法判定：{gate_figure(gate, 'zh')}",
                              f"gate {gate.id} ({gate.description_en}) could not be decided: {gate.figure}"))
        if gate.id == TASK_BOOK_GATE:
            reasons += _shortfall_reasons(results)
    for r in results:
        if r.repeats is not None and r.repeats.unstable:
            runs, met = len(r.repeats.runs), sum(x.status == "met" for x in r.repeats.runs)
            median = format_quantity(r.value, r.unit)
            reasons.append(reason(
                f"指标 {r.id}“{r.name}”测量不稳定：{runs} 次测量中 {met} 次达标，按中位数 {median} 判定（目标 {r.target}）",
                f"indicator {r.id} ({r.name}) is unstable: met in {met} of {runs} runs, judged on the median "
                f"{median} (target {r.target})"))
    if errors:
        ids = ", ".join(r.id for r in errors)
        reasons.append(reason(
            f"{len(errors)} 项指标出错（{ids}），未计入得分：得分可能在 {format_number(lowest)} 至 {format_number(highest)} 之间",
            f"{len(errors)} indicator(s) in error ({ids}), left out of the score: "
            f"it could be anywhere from {format_number(lowest)} to {format_number(highest)}"))
    if not measured and not errors:
        reasons.append(reason("没有测得任何指标", "no indicator was measured"))

    ready, reaches = ready_to_apply(gate_list), _reaches(lowest, highest, pass_score)
    if ready is False:
        verdict: Verdict = "fail"
    elif reaches is False:
        verdict = "fail"
        reasons.append(reason(
            f"得分 {format_number(value)} 低于通过分数线 {format_number(pass_score)}"
            + ("，即使出错的指标全部符合也是如此" if errors else ""),
            f"score {format_number(value)} is below the pass score {format_number(pass_score)}"
            + (" even if every indicator in error were met" if errors else "")))
    elif ready is None or reaches is None:
        verdict = "inconclusive"
    else:
        verdict = "pass"
        reasons.append(reason(f"各项门槛均满足，得分 {format_number(value)} 达到通过分数线 {format_number(pass_score)}",
                              f"every gate holds and the score {format_number(value)} reaches the pass score {format_number(pass_score)}"))
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
    gate_list = gates(spec, results, origin=origin, materials=materials or None)
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
