"""The probe interface: one measurement source each, registered through the ``verifier.probes``
entry-point group (the built-in probes in ``probes/`` use the same group a third party does).

A probe runs its tool, keeps the raw output as evidence, and returns measurements and findings.
It never decides pass/fail: ``verifier.evaluation`` compares measurements with the spec's targets.

Writing a probe::

    class MyArgs(ProbeArgs):
        path: str = "."

    class MyProbe(Probe):
        name = "my-probe"
        characteristic = "security"
        description = "What it measures, in one line."
        metrics = {"issues": MetricInfo("count", "issues found")}
        Args = MyArgs

        def run(self, ctx: ProbeContext) -> ProbeOutcome:
            ...

and register it in your package's metadata::

    [project.entry-points."verifier.probes"]
    my-probe = "my_package.module:MyProbe"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from verifier.errors import InputError
from verifier.vocabulary import CHARACTERISTIC_KEYS

ENTRY_POINT_GROUP = "verifier.probes"

#: The eight quality characteristics of GB/T 25000.10 (ISO/IEC 25010), as spelled in specs.
CHARACTERISTICS: tuple[str, ...] = CHARACTERISTIC_KEYS


@dataclass(frozen=True)
class MetricInfo:
    """What a probe's metric means."""

    unit: str
    """Unit of the value: one of ``verifier.units`` (``%``, ``ms``, ``s``, ``rps``, ``count``, …)."""
    description: str
    """One line, English."""
    better: str = "lower"
    """``higher`` or ``lower``: the direction of improvement (used for partial credit and charts)."""


@dataclass(frozen=True)
class Measurement:
    """One measured figure."""

    metric: str
    """Metric name, one of the probe's ``metrics``."""
    value: float | None
    """The figure in ``unit``; ``None`` when the metric is not applicable to this run."""
    unit: str
    """Unit of ``value``."""


@dataclass(frozen=True)
class Finding:
    """Something a probe found that locates itself (a failing test, a security issue, a 5xx …)."""

    message: str
    """What was found, one line."""
    file: str | None = None
    """Path relative to the delivered repository (POSIX), when the finding has a place."""
    line: int | None = None
    """1-based line in ``file``."""
    severity: str | None = None
    """``high`` / ``medium`` / ``low`` / ``info`` where the tool grades its findings."""
    rule: str | None = None
    """The tool's rule or test id (bandit test id, pytest node id, HTTP route …)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Tool-specific details (confidence, CWE, request/response excerpts …); JSON-serialisable."""


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe returns: measurements plus the evidence behind them."""

    measurements: tuple[Measurement, ...] = ()
    findings: tuple[Finding, ...] = ()
    evidence: tuple[str, ...] = ()
    """Evidence files, as paths relative to the run directory."""
    commands: tuple[tuple[str, ...], ...] = ()
    """Every command line the probe ran, as executed."""
    notes: tuple[str, ...] = ()
    """Caveats a reader must see (e.g. Locust rounds response times to two significant digits)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    """Probe-specific data for the report's charts (percentiles over time, complexity histogram …)."""
    error: str | None = None
    """Set when the probe could not measure: the reason, one line. Measurements may then be partial."""

    def measurement(self, metric: str) -> Measurement | None:
        """The measurement of ``metric``, or ``None``."""
        return next((m for m in self.measurements if m.metric == metric), None)


class ProbeArgs(BaseModel):
    """Base of every probe's ``with:`` arguments: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class ProbeContext:
    """Everything a probe may use while it runs."""

    repo: Path
    """Root of the delivered repository (read-only for the probe)."""
    run_dir: Path
    """The run directory; evidence paths in the outcome are relative to it."""
    evidence_dir: Path
    """This indicator's own evidence folder, inside ``run_dir`` (already created)."""
    args: ProbeArgs
    """The validated ``with:`` arguments."""
    spec: Any
    """The whole validated spec (``verifier.spec.Spec``): function list, owners, service …"""
    timeout_s: float
    """Wall-clock budget for the whole probe; tools must be run with a timeout inside it."""
    service: Any = None
    """The running system under test (``verifier.service.Service``) when the probe needs one."""

    def rel(self, path: Path) -> str:
        """``path`` relative to the run directory, POSIX style, for ``ProbeOutcome.evidence``."""
        return path.resolve().relative_to(self.run_dir.resolve()).as_posix()


class ProbeError(Exception):
    """Raised by a probe that cannot measure; the runner records it as an ``error`` result."""

    def __init__(self, reason: str, *, tail: str = "", evidence: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.tail = tail
        self.evidence = evidence


class Probe(ABC):
    """One measurement source. Subclasses set the class attributes and implement ``run``."""

    name: ClassVar[str]
    """The name specs use in ``probe:``."""
    characteristic: ClassVar[str]
    """The GB/T 25000.10 characteristic it usually measures (a spec may file it elsewhere)."""
    description: ClassVar[str]
    """One line: what it measures and with which tool."""
    metrics: ClassVar[Mapping[str, MetricInfo]]
    """The metrics it can report, by name."""
    Args: ClassVar[type[ProbeArgs]] = ProbeArgs
    """The pydantic model of its ``with:`` arguments."""
    needs_service: ClassVar[bool] = False
    """True when the system under test must be running (``service:`` in the spec)."""

    def tool_versions(self) -> Mapping[str, str]:
        """Versions of the external tools this probe runs, for the environment record."""
        return {}

    @abstractmethod
    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Measure. Raise ``ProbeError`` (or return an outcome with ``error``) when it cannot."""


@cache
def available_probes() -> Mapping[str, type[Probe]]:
    """Every probe registered under the ``verifier.probes`` entry-point group, by name."""
    found: dict[str, type[Probe]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Probe)):
            raise InputError(f"entry point {ep.name!r} ({ep.value}) is not a verifier Probe")
        found[ep.name] = cls
    return dict(sorted(found.items()))


def get_probe(name: str) -> type[Probe]:
    """The probe class called ``name``; ``InputError`` naming the known ones otherwise."""
    probes = available_probes()
    try:
        return probes[name]
    except KeyError:
        raise InputError(f"unknown probe {name!r} (known: {', '.join(probes) or 'none'})") from None
