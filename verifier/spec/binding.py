"""An indicator bound to its probe: the ``with:`` arguments validated by the probe's ``Args``,
the metric found among the probe's metrics, the target and floor parsed in the metric's unit.

Problems come back as ``(field path, problem)`` pairs for ``verifier.spec.yaml_lines`` to place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from verifier.spec.model import Indicator, Spec
from verifier.spec.yaml_lines import Loc, pydantic_problems
from verifier.units import Target, TargetError, impossible_share, is_known_unit, parse_target, share_warnings

if TYPE_CHECKING:  # binding reads the classes it is given; the registry is consulted by the loader
    from verifier.probe import Probe


def bind_indicator(indicator: Indicator, index: int, probes: Mapping[str, type[Probe]],
                   spec: Spec, context: dict[str, Any],
                   warnings: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    """Bind ``spec.indicators[index]`` to its probe among ``probes``; the problems found (each a
    field path and a line of text), doubts appended to ``warnings``. A bound indicator answers
    ``args``, ``parsed_target``, ``parsed_floor``, ``unit`` and ``better``."""
    here: Loc = ("indicators", index)
    probe = probes.get(indicator.probe)
    if probe is None:
        known = ", ".join(probes) or "none installed"
        return [(here + ("probe",), f"unknown probe {indicator.probe!r} (known: {known})")]
    problems: list[tuple[Loc, str]] = []
    if probe.needs_service and spec.service is None:
        problems.append((here + ("probe",), f"probe {probe.name!r} measures the running system: "
                         "declare how to start it in the service: section"))
    try:
        indicator._args = probe.Args.model_validate(indicator.with_, context=context)
    except ValidationError as err:
        problems += pydantic_problems(err, probe.Args, here + ("with",))
    if indicator._args is not None:
        metrics = probe.metrics_for(indicator._args)
    elif probe.metrics_vary_with_args:  # its units come from the arguments: nothing to check against
        return problems
    else:
        metrics = probe.metrics
    info = metrics.get(indicator.metric)
    if info is None:
        names = ", ".join(metrics) or "none"
        problems.append((here + ("metric",),
                         f"probe {probe.name!r} has no metric {indicator.metric!r} (its metrics: {names})"))
        return problems
    if not is_known_unit(info.unit):
        problems.append((here + ("metric",), f"probe {probe.name!r} declares unit {info.unit!r} "
                         f"for {indicator.metric!r}, which verifier does not know"))
        return problems
    try:
        target = parse_target(indicator.target, info.unit)
    except TargetError as err:
        problems.append((here + ("target",), str(err)))
        return problems
    if _share_problems(target, here + ("target",), problems, warnings):
        return problems
    floor = None
    if indicator.floor is not None:
        try:
            floor = parse_target(indicator.floor, info.unit)
        except TargetError as err:
            problems.append((here + ("floor",), str(err)))
            return problems
        if _share_problems(floor, here + ("floor",), problems, warnings):
            return problems
        problem = _floor_problem(target, floor)
        if problem:
            problems.append((here + ("floor",), problem))
    indicator._target, indicator._floor = target, floor
    indicator._unit, indicator._better = info.unit, info.better
    return problems


def _share_problems(target: Target, loc: Loc, problems: list[tuple[Loc, str]],
                    warnings: list[tuple[Loc, str]]) -> bool:
    """Record an impossible percentage as a problem (True) or doubts about it as warnings."""
    problem = impossible_share(target)
    if problem is not None:
        problems.append((loc, problem))
        return True
    warnings.extend((loc, text) for text in share_warnings(target))
    return False


def _floor_problem(target: Target, floor: Target) -> str | None:
    if target.direction == "exact":
        return f"a floor needs a target with >=, >, <= or <, not {target.op!r}"
    if floor.direction != target.direction:
        return f"floor {floor.text!r} must compare in the same direction as target {target.text!r}"
    looser = floor.value < target.value if target.direction == "higher" else floor.value > target.value
    if not looser:
        return f"floor {floor.text!r} must be less strict than target {target.text!r}"
    return None
