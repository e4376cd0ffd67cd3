"""Whether a run's ``results.json`` agrees with what its own data lets anyone recompute.

A signature proves who signed a bundle, and the hashes that nothing changed since: neither proves the
figures are consistent. Someone who edits ``results.json`` (a verdict, a score, a status, a gate)
before bundling and signing leaves hashes and signature intact. ``check_run`` recomputes, with the
same pure functions the runner uses, everything that follows from the recorded data and the task
book (``spec.yaml``, whose sha256 must be the one the run records):

- each indicator's declared fields (name, characteristic, probe, metric, target, unit, weight,
  required, repeat, arguments) from the spec, and its status and credit from its recorded value
  (``verifier.evaluation.evaluate``, so targets, units and partial credit apply exactly as in the
  run); an ``error`` earns no credit;
- a repeated measurement (``repeat: N``): as many runs as the spec asks for, each run's judgement,
  min, max, spread, instability and the value as the median of the runs (``verifier.repeats``); a
  shared measurement names an earlier indicator with the same probe and arguments;
- waivers (``verifier.waivers``): the run's copy of the waiver file against its recorded sha256,
  each waived finding against its entry, each waived figure recounted by its probe from the figures
  before waivers, no finding a waiver names left counted, and the applied and stale lists;
- the origin summary's ratio from its own line totals (and, given ``origin.json``, that file's
  ratio, threshold and totals), and each material's ``ok`` from what was found and required;
- every policy gate (among them "every task-book indicator met"), the score, its error range and
  the verdict with its reasons, by ``verifier.scoring.finalize`` over the recomputed statuses, the
  origin summary and materials: the function the runner itself records them with (so a partial
  run never passes here either, nor a run with a task-book indicator not met).

Not recomputable from the run alone: the measured values themselves (raw tool output is kept as
evidence and hashed, not re-parsed), which indicators errored, the origin classification of each
file, and which materials exist. A fully consistent forgery of those stays possible; the on-site
checks (``verify --repo``, re-running) are what answer it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from verifier.errors import InputError
from verifier.evaluation import declared_arguments, evaluate
from verifier.origin.result import RATIO_CLASSES, ratio_of
from verifier.probe import Measurement, ProbeOutcome, available_probes
from verifier.repeats import check_repeats, group_repeat, measurement_key
from verifier.results import (
    Gate,
    IndicatorResult,
    MaterialCheck,
    OriginSummary,
    RunResult,
    Score,
    ratio_holds,
)
from verifier.scoring import finalize
from verifier.spec import Spec, parse_spec
from verifier.units import format_quantity
from verifier.waivers import check_waivers

#: tolerances when comparing recorded figures with recomputed ones
_CREDIT_TOL = 1e-6
_SCORE_TOL = 0.005
_RATIO_TOL = 1e-6


@dataclass(frozen=True)
class Check:
    """One verification statement and whether it holds (None: not checked, for information)."""

    ok: bool | None
    what: str


def load_run_spec(spec_bytes: bytes, name: str = "spec.yaml") -> Spec:
    """The task book a run copied (``spec.yaml`` bytes), validated against the installed probes.

    ``InputError`` when it is not UTF-8 or not a valid spec here (``SpecError`` names the line).
    """
    try:
        text = spec_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text") from None
    spec = parse_spec(text, file=name)
    spec._sha256 = hashlib.sha256(spec_bytes).hexdigest()
    return spec


def check_run(results: Any, spec_bytes: bytes | None, *, origin_json: Any = None,
              waivers_bytes: bytes | None = None, where: str = "results.json",
              spec_name: str = "spec.yaml") -> list[Check]:
    """Recompute what ``results`` (parsed ``results.json``) follows from; a failed check per mismatch.

    ``spec_bytes`` is the run's ``spec.yaml`` (None when missing: nothing can be recomputed);
    ``origin_json`` the parsed ``origin/origin.json`` when the run has one; ``waivers_bytes`` the
    run's copy of its waiver file, when it records one.
    """
    try:
        result = results if isinstance(results, RunResult) else RunResult.model_validate(results)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ()))
        return [Check(False, f"{where}: not a valid results file ({loc}: {first.get('msg')})")]
    if spec_bytes is None:
        return [Check(False, f"{spec_name}: missing, so the statuses, gates, score and verdict in {where} "
                             "cannot be recomputed")]
    digest = hashlib.sha256(spec_bytes).hexdigest()
    if digest != result.spec_sha256:
        return [Check(False, f"{spec_name}: sha256 {digest[:16]}… is not the spec the run records "
                             f"({result.spec_sha256[:16]}…); nothing recomputed")]
    try:
        spec = load_run_spec(spec_bytes, spec_name)
    except InputError as err:
        return [Check(False, f"{spec_name}: cannot be loaded here ({err}); nothing recomputed")]
    return recompute_checks(result, spec, origin_json=origin_json, waivers_bytes=waivers_bytes, where=where)


def recompute_checks(result: RunResult, spec: Spec, *, origin_json: Any = None,
                     waivers_bytes: bytes | None = None, where: str = "results.json") -> list[Check]:
    """The checks of ``check_run`` for a validated result and its loaded spec (pure)."""
    checks: list[Check] = []
    recomputed, problems = _indicators(result, spec)
    problems += check_waivers(result, waivers_bytes, available_probes(),
                              spec_names_waivers=spec.waivers is not None)
    checks += [Check(False, f"{where}: {p}") for p in problems]
    if not problems:
        checks.append(Check(True, f"{where}: {len(result.indicators)} indicator(s): declared fields, "
                                  "statuses and credits agree with their values and the spec's targets"
                                  + (f"; {len(result.waivers.applied)} waiver(s) applied, recounted"
                                     if result.waivers is not None else "")))
    origin, problems = _origin(result, origin_json)
    materials, wrong = _materials(result)
    problems += wrong
    checks += [Check(False, f"{where}: {p}") for p in problems]
    if not problems and (result.origin is not None or result.materials):
        checks.append(Check(True, f"{where}: origin ratio and materials agree with their own figures"))
    # gates, score and verdict by the runner's own rule, from the recomputed statuses and the origin
    # ratio and materials as their own figures give them
    final = finalize(spec, recomputed, origin=origin, materials=materials,
                     finished=result.finished_at is not None)
    problems = _gates(result.gates, final.gates)
    checks += [Check(False, f"{where}: {p}") for p in problems]
    if not problems:
        checks.append(Check(True, f"{where}: {len(final.gates)} gates recomputed, as recorded"))
    problems = _score(result, final.score)
    if result.verdict != final.verdict:
        left_out = final.not_measured
        partial = f" ({len(left_out)} indicator(s) not measured)" if left_out else ""
        problems.append(f"verdict says {result.verdict}, recomputed {final.verdict}{partial}")
    problems += _reasons(result.verdict_reasons, final.reasons)
    checks += [Check(False, f"{where}: {p}") for p in problems]
    if not problems:
        checks.append(Check(True, f"{where}: score {result.score.value:g} and verdict {result.verdict} "
                                  "(with its reasons) recomputed, as recorded"))
    return checks


def _indicators(result: RunResult, spec: Spec) -> tuple[list[IndicatorResult], list[str]]:
    """Every recorded indicator with status and credit recomputed, and what disagrees."""

    declared = {ind.id: ind for ind in spec.indicators}
    problems: list[str] = []
    out: list[IndicatorResult] = []
    seen: set[str] = set()
    for r in result.indicators:
        if r.id in seen:
            problems.append(f"indicator {r.id} appears twice")
            continue
        seen.add(r.id)
        ind = declared.get(r.id)
        if ind is None:
            problems.append(f"indicator {r.id} is not in the spec")
            out.append(r)
            continue
        for field, spec_value in (("name", ind.name), ("characteristic", ind.characteristic),
                                  ("probe", ind.probe), ("metric", ind.metric), ("target", ind.target),
                                  ("unit", ind.unit), ("weight", ind.weight), ("required", ind.required),
                                  ("repeat", ind.repeat)):
            if getattr(r, field) != spec_value:
                problems.append(f"indicator {r.id}'s {field} {getattr(r, field)!r} is not the spec's "
                                f"{spec_value!r}")
        if r.status == "error":
            status, credit = "error", 0.0
        else:
            outcome = ProbeOutcome(measurements=(Measurement(ind.metric, r.value, ind.unit),))
            again = evaluate(ind, outcome, partial_credit=spec.scoring.partial_credit)
            status, credit = again.status, again.credit
        problems += _repeat_problems(r, ind, spec, seen_before=[x.id for x in out])
        if r.arguments and r.arguments != declared_arguments(ind):
            problems.append(f"indicator {r.id}'s arguments are not the spec's with:")
        if status != r.status:
            problems.append(_status_problem(r, ind, status))
        elif not math.isclose(r.credit, credit, abs_tol=_CREDIT_TOL):
            problems.append(f"indicator {r.id} says credit {r.credit:g}, recomputed {credit:g}")
        out.append(r.model_copy(update={"status": status, "credit": credit, "weight": ind.weight,
                                        "required": ind.required}))
    return out, problems


def _repeat_problems(r: IndicatorResult, ind: Any, spec: Spec, *, seen_before: list[str]) -> list[str]:
    """A repeated measurement's runs against its median, range and judgements
    (``verifier.repeats.check_repeats``), and a shared measurement against the spec."""
    problems = []
    expected = group_repeat(spec, ind)
    if r.repeats is not None:
        problems += [f"indicator {r.id}: {p}" for p in check_repeats(
            r.repeats, expected_runs=expected, target=ind.parsed_target, value=r.value, status=r.status)]
    elif expected > 1:
        problems.append(f"indicator {r.id} records no runs, but its measurement runs {expected} times")
    if r.measured_with is not None:
        try:
            source = spec.indicator(r.measured_with)
        except KeyError:
            source = None
        if source is None or measurement_key(source) != measurement_key(ind) or r.measured_with not in seen_before:
            problems.append(f"indicator {r.id} says it shares the measurement of {r.measured_with}, which is "
                            "not an earlier indicator with the same probe and arguments")
    return problems


def _status_problem(r: IndicatorResult, ind: Any, status: str) -> str:
    target = ind.parsed_target
    if r.value is None:
        return f"indicator {r.id} says {r.status} but has no value (recomputed {status})"
    if status in ("met", "not_met"):
        meets = "meets" if status == "met" else "does not meet"
        return (f"indicator {r.id} says {r.status} but its value {format_quantity(r.value, ind.unit)} "
                f"{meets} {target.describe()}")
    return f"indicator {r.id} says {r.status}, recomputed {status} from its value {r.value!r}"


def _origin(result: RunResult, origin_json: Any) -> tuple[OriginSummary | None, list[str]]:
    """The origin summary with its ratio as its line totals give it, and what disagrees."""
    origin = result.origin
    if origin is None:
        return None, []
    problems = []
    corrected = origin
    if origin.ratio is not None:
        if not all(c in origin.totals and "lines" in origin.totals[c] for c in RATIO_CLASSES):
            problems.append("origin summary has a ratio but not the line totals it comes from")
        else:
            again = ratio_of(origin.totals)
            if again is None or not math.isclose(origin.ratio, again, abs_tol=_RATIO_TOL):
                problems.append(f"origin ratio says {origin.ratio:g}, its line totals give "
                                f"{'none' if again is None else f'{again:.6f}'}")
                corrected = origin.model_copy(update={"ratio": None if again is None else round(again, 6)})
    if origin.ratio is None:
        consistent = origin.passed is None
    elif abs(origin.ratio - origin.threshold) <= _RATIO_TOL:  # the ratio is rounded: either side of the line
        consistent = origin.passed in {ratio_holds(origin.ratio + side, origin.threshold, origin.unweighed)
                                       for side in (-_RATIO_TOL, _RATIO_TOL)}
    else:
        consistent = origin.passed == ratio_holds(origin.ratio, origin.threshold, origin.unweighed)
    if not consistent:
        problems.append(f"origin summary says passed={origin.passed} with ratio {origin.ratio} "
                        f"and threshold {origin.threshold}")
    if isinstance(origin_json, dict) and origin.files_path:
        for key, recorded in (("ratio", origin.ratio), ("threshold", origin.threshold),
                              ("totals", origin.totals)):
            if key in origin_json and origin_json[key] != recorded:
                problems.append(f"origin summary's {key} differs from {origin.files_path}'s")
        unweighed = origin_json.get("unweighed")
        if isinstance(unweighed, list) and (len(unweighed) != origin.unweighed_total
                                            or unweighed[:len(origin.unweighed)] != origin.unweighed):
            problems.append(f"origin summary's unweighed paths differ from {origin.files_path}'s")
    return corrected, problems


def _materials(result: RunResult) -> tuple[list[MaterialCheck], list[str]]:
    """The materials with ``ok`` as found and required give it, and what disagrees."""
    corrected, problems = [], []
    for m in result.materials:
        # as verifier.materials.check_materials: ok when patterns are declared and enough files found
        ok = bool(m.patterns) and len(m.found) >= m.required
        if m.ok != ok:
            problems.append(f"material {m.key} says ok={m.ok} with {len(m.found)} of {m.required} file(s) found")
        corrected.append(m.model_copy(update={"ok": ok}))
    return corrected, problems


def _word(passed: bool | None) -> str:
    return {True: "passed", False: "failed", None: "undecided"}[passed]


def _gates(recorded: Sequence[Gate], recomputed: Sequence[Gate]) -> list[str]:
    problems = []
    have = {g.id: g for g in recorded}
    want = {g.id: g for g in recomputed}
    for gate_id, gate in want.items():
        got = have.get(gate_id)
        if got is None:
            problems.append(f"gate {gate_id} is missing (recomputed {_word(gate.passed)}: {gate.figure})")
        elif got.passed != gate.passed or got.figure != gate.figure:
            problems.append(f"gate {gate_id} says {_word(got.passed)} ({got.figure}), recomputed "
                            f"{_word(gate.passed)} ({gate.figure})")
    problems += [f"gate {gate_id} is not a gate of this spec" for gate_id in have if gate_id not in want]
    if len(have) != len(recorded):
        problems.append("a gate appears twice")
    return problems


def _reasons(recorded: Sequence[dict[str, str]], recomputed: Sequence[dict[str, str]]) -> list[str]:
    """The verdict's reasons must be the recomputed ones (a blocking indicator cannot be hidden)."""
    for index, (got, want) in enumerate(zip(recorded, recomputed)):
        if got != want:
            return [f"verdict reason {index + 1} says {got.get('en')!r}, recomputed {want['en']!r}"]
    if len(recorded) < len(recomputed):
        return [f"verdict reason {len(recorded) + 1} is missing (recomputed {recomputed[len(recorded)]['en']!r})"]
    if len(recorded) > len(recomputed):
        return [f"verdict reason {len(recomputed) + 1} is not a recomputed reason ({recorded[len(recomputed)].get('en')!r})"]
    return []


def _score(result: RunResult, recomputed: Score) -> list[str]:
    score = result.score
    value, pass_score = recomputed.value, recomputed.pass_score
    problems = []
    if not math.isclose(score.value, value, abs_tol=_SCORE_TOL):
        problems.append(f"score says {score.value:g}, recomputed {value:g}")
    if not math.isclose(score.pass_score, pass_score, abs_tol=_SCORE_TOL):
        problems.append(f"pass score says {score.pass_score:g}, the spec's is {pass_score:g}")
    for name, got, want in (("lowest", score.lowest, recomputed.lowest),
                            ("highest", score.highest, recomputed.highest)):
        agree = got is want if got is None or want is None else math.isclose(got, want, abs_tol=_SCORE_TOL)
        if not agree:
            problems.append(f"score {name} says {got}, recomputed {want}")
    return problems
