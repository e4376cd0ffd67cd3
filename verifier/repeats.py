"""Repeated measurements (``repeat: N`` on an indicator), as pure functions.

A measurement that varies from run to run (the same p95 gave 410 ms and 510 ms on two identical
runs against a 500 ms target) is taken N times and judged on the **median** of the runs' figures.
Every run is kept: its figure, its own judgement against the target and its evidence folder
(``evidence/<ID>/run-K/``). An indicator met in some runs and not met in others is **unstable**:
the verdict on it rests on the median, and a panel should know the figure straddles the target.

Indicators that share a measurement (same probe, same ``with:``: one load test gives p95 and rps)
share its runs: the measurement runs as often as the largest ``repeat`` among them, and each
indicator takes the median of its own metric over those runs. The run whose findings, details and
charts are shown is the one whose figure for the first such indicator's metric is nearest the
median (the earliest of equals).

``verify`` recomputes the median, minimum, maximum, spread and every run's judgement from the
recorded runs (``check_repeats``).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from verifier.results import RepeatRun, Repeats, Status

if TYPE_CHECKING:
    from verifier.probe import Measurement, ProbeOutcome
    from verifier.spec import Indicator, Spec
    from verifier.units import Target

#: Tolerance when comparing recorded figures with recomputed ones.
_TOL = 1e-9


def measurement_key(indicator: Indicator) -> tuple[str, str]:
    """Indicators with equal keys share one measurement: the same probe with the same arguments."""
    return indicator.probe, json.dumps(indicator.with_, sort_keys=True, default=str)


def group_repeat(spec: Spec, indicator: Indicator) -> int:
    """How many times ``indicator``'s measurement runs: the largest ``repeat`` among the spec's
    indicators that share it."""
    key = measurement_key(indicator)
    return max(item.repeat for item in spec.indicators if measurement_key(item) == key)


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (the mean of the middle two for an even count); None when empty."""
    return float(statistics.median(values)) if values else None


def run_status(value: float | None, error: str | None, target: Target) -> Status:
    """One run judged alone: ``error`` when it failed, ``not_applicable`` without a figure, else
    met or not met against ``target``."""
    if error:
        return "error"
    if value is None or not math.isfinite(value):
        return "not_applicable" if value is None else "error"
    return "met" if target.holds(value) else "not_met"


def _figure(outcome: ProbeOutcome, metric: str) -> float | None:
    found = outcome.measurement(metric)
    if found is None or found.value is None:
        return None
    value = float(found.value)
    return value if math.isfinite(value) else None


def combine(outcomes: Sequence[ProbeOutcome], metric: str) -> tuple[ProbeOutcome, int]:
    """One outcome from the runs of a measurement, and the 1-based run it shows.

    Each metric's figure is the median over the runs that reported one (None when none did); the
    findings, details, notes and function tests are those of the run nearest the median of
    ``metric``; evidence and commands are every run's; the first run's error, if any, is the
    outcome's error ("run K of N: …").
    """
    if len(outcomes) == 1:
        return outcomes[0], 1
    figures = [_figure(o, metric) for o in outcomes]
    middle = median([f for f in figures if f is not None])
    shown = 1
    if middle is not None:
        shown = min((abs(f - middle), n) for n, f in enumerate(figures, 1) if f is not None)[1]
    names: list[str] = []
    for outcome in outcomes:
        names += [m.metric for m in outcome.measurements if m.metric not in names]
    measurements: list[Measurement] = []
    for name in names:
        found = [m for o in outcomes if (m := o.measurement(name)) is not None]
        values = [float(m.value) for m in found if m.value is not None and math.isfinite(float(m.value))]
        unit = next((m.unit for m in found if m.value is not None), found[0].unit)
        measurements.append(replace(found[0], value=median(values), unit=unit))
    errors = [(n, o.error) for n, o in enumerate(outcomes, 1) if o.error]
    base = outcomes[shown - 1]
    return replace(
        base, measurements=tuple(measurements),
        evidence=tuple(dict.fromkeys(e for o in outcomes for e in o.evidence)),
        commands=tuple(c for o in outcomes for c in o.commands),
        error=f"run {errors[0][0]} of {len(outcomes)}: {errors[0][1]}" if errors else None,
    ), shown


def summarize(runs: Sequence[RepeatRun], shown: int) -> Repeats:
    """The record of a repeated measurement: its runs, their range and whether the target was met
    in some and not in others."""
    values = [r.value for r in runs if r.value is not None]
    low, high = (min(values), max(values)) if values else (None, None)
    statuses = {r.status for r in runs}
    return Repeats(runs=list(runs), shown=shown, min=low, max=high,
                   spread=None if low is None or high is None else high - low,
                   unstable="met" in statuses and "not_met" in statuses)


def met_count(repeats: Repeats) -> int:
    """How many runs met the target."""
    return sum(r.status == "met" for r in repeats.runs)


def check_repeats(repeats: Repeats, *, expected_runs: int, target: Target, value: float | None,
                  status: Status) -> list[str]:
    """What disagrees between a recorded repeated measurement and what its runs give: the number of
    runs, each run's judgement, min, max, spread, instability, the shown run and the median value."""
    problems = []
    if len(repeats.runs) != expected_runs:
        problems.append(f"has {len(repeats.runs)} run(s), the task book asks for {expected_runs}")
    if [r.run for r in repeats.runs] != list(range(1, len(repeats.runs) + 1)):
        problems.append("runs are not numbered 1 to N")
    for r in repeats.runs:
        again = run_status(r.value, r.error, target)
        if again != r.status:
            problems.append(f"run {r.run} says {r.status}, its value {r.value!r} gives {again}")
    recomputed = summarize([r.model_copy(update={"status": run_status(r.value, r.error, target)})
                            for r in repeats.runs], repeats.shown)
    for name in ("min", "max", "spread", "unstable"):
        got, want = getattr(repeats, name), getattr(recomputed, name)
        same = got == want if got is None or want is None or isinstance(got, bool) \
            else math.isclose(got, want, rel_tol=_TOL, abs_tol=_TOL)
        if not same:
            problems.append(f"runs' {name} says {got!r}, recomputed {want!r}")
    if not 1 <= repeats.shown <= max(len(repeats.runs), 1):
        problems.append(f"shown run {repeats.shown} is not one of the runs")
    if status != "error":
        middle = median([r.value for r in repeats.runs if r.value is not None])
        if (middle is None) != (value is None) or (
                middle is not None and value is not None
                and not math.isclose(middle, value, rel_tol=_TOL, abs_tol=_TOL)):
            problems.append(f"value {value!r} is not the median of its runs ({middle!r})")
    return problems
