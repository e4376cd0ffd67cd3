"""The probe contract: everything a probe implements, declares and may rely on, in one place.

A probe is one measurement source. It runs its tool, keeps the raw output as evidence, and returns
measurements and findings. It never decides pass/fail: ``verifier.evaluation`` compares measurements
with the spec's targets. The built-in probes in ``probes/`` use this contract exactly as a third
party does; nothing in verifier knows a probe by name.

Extension points (the whole contract; verifier reads nothing else from a probe):

``Probe`` class attributes
    ``name`` (what specs write in ``probe:``), ``characteristic``, ``description``, ``metrics``
    (``MetricInfo`` by name), ``Args`` (the ``ProbeArgs`` model of ``with:``), ``needs_service``, and
    ``presentation`` (how the report shows the probe's figures: ``Presentation``).
``Probe.run(ctx) -> ProbeOutcome``
    Required. Measure; raise ``ProbeError`` (or return an outcome with ``error``) when it cannot.
``Probe.metrics_for(args)``
    Optional. The metrics this probe reports with these arguments (default: ``metrics``); override
    it when a metric's unit depends on ``with:`` (the ``command`` probe's ``with.unit``), and declare
    so with ``metrics_vary_with_args``.
``Probe.tool_versions()``
    Optional. Versions of the external tools the probe runs, for the report's environment section.
``Probe.waivable`` and ``Probe.recount(measurements, waived)``
    Optional. A probe whose figures are counts of its findings (bandit's issues, the robustness
    probe's non-4xx answers) declares ``waivable`` and recounts its measurements without the
    findings an expert waived (``verifier.waivers``): a pure function of the figures it reported
    and the waived findings, so ``verify`` recomputes it. Other probes' findings cannot be waived.
``ProbeContext``
    What ``run`` receives: ``repo`` (the delivered repository, read-only), ``run_dir`` and
    ``evidence_dir`` (this indicator's folder; ``rel(path)`` makes an evidence path), ``args`` (the
    validated ``with:``), ``spec`` (the whole ``verifier.spec.Spec``), ``timeout_s`` (the budget),
    ``runtime`` (the product's runtime when the spec declares one: ``ProductRuntime``, its
    interpreters and ``{runtime.python}``-style placeholders, set up before the first indicator) and
    ``service``: for a probe with ``needs_service``, the running system under test as a
    ``RunningService`` (what a probe may use of it: port, URLs, kill, start, readiness, memory, log).
``ProbeOutcome``
    What ``run`` returns: ``measurements`` (``Measurement``), ``findings`` (``Finding``, graded in
    ``SEVERITIES``, each with a stable ``fingerprint``: set by the probe with
    ``finding_fingerprint``, else by the default rule of ``with_fingerprints``), ``evidence``
    files, ``commands`` run, ``notes`` a reader must see, free-form ``details`` for the report,
    ``functions`` (``FunctionOutcome``: the ``TestCaseResult`` of each test per function item,
    ``TestOutcome``; the runner merges them into the function-list coverage) and ``error``. Or
    raise ``ProbeError`` with the reason, output tail and evidence.
``Presentation``
    Labels (``Label``: Chinese and English) for every key the probe writes (metrics, details keys,
    table columns, chart series, bar names), the words its values take, which details keys hold
    finding severities, and which are tables (``Table``), series over time (``Series``, with line
    charts ``Chart``) or distributions (``Bars``); ``MetricBars`` for a chart of measurements. A key
    the presentation does not declare is shown as written, laid out by its shape.
Registration
    The ``verifier.probes`` entry-point group (``ENTRY_POINT_GROUP``)::

        [project.entry-points."verifier.probes"]
        my-probe = "my_package.module:MyProbe"

    ``available_probes()`` lists the installed probes, ``get_probe(name)`` finds one for a run,
    ``presentation_of(name)`` the presentation a report needs (loading that probe alone).
Vocabulary
    ``CHARACTERISTICS`` (GB/T 25000.10, what a probe may file under) and ``SEVERITIES`` (of findings).
Words
    ``Phrase``: a sentence a probe writes in English (a note) with its Chinese, declared in
    ``Presentation.phrases``; the Chinese report shows it in Chinese, the data inside it as written.

Helpers every probe may rely on (time budgets, tool failures as ``ProbeError``, files in the
delivered tree, JSON output, declared commands and interpreters) are ``verifier.probekit``.

Writing a probe::

    class MyArgs(ProbeArgs):
        path: RepoPath = "."

    class MyProbe(Probe):
        name = "my-probe"
        characteristic = "security"
        description = "What it measures, in one line."
        metrics = {"issues": MetricInfo("count", "issues found")}
        Args = MyArgs
        presentation = Presentation(
            labels={"issues": ("问题数", "Issues"), "by_rule": ("按规则统计", "By rule")})

        def run(self, ctx: ProbeContext) -> ProbeOutcome:
            ...
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from verifier.errors import InputError
from verifier.product.runtime import ProductRuntime
from verifier.vocabulary import CHARACTERISTIC_KEYS

if TYPE_CHECKING:  # the spec's loader binds indicators to probes: only a type checker reads this way
    from verifier.spec.model import Spec


ENTRY_POINT_GROUP = "verifier.probes"

#: The eight quality characteristics of GB/T 25000.10 (ISO/IEC 25010), as spelled in specs.
CHARACTERISTICS: tuple[str, ...] = CHARACTERISTIC_KEYS

#: The severities a ``Finding`` may carry, most severe first (the report shows them in its language).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")


# ---------------------------------------------------------------------------------------------
# What a probe measures


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
    """One of ``SEVERITIES`` where the tool grades its findings."""
    rule: str | None = None
    """The tool's rule or test id (bandit test id, pytest node id, HTTP route …)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Tool-specific details (confidence, CWE, request/response excerpts …); JSON-serialisable."""
    fingerprint: str | None = None
    """A stable identity of the finding across runs of the same delivery, by which a waiver names
    it: ``probe:rule:place:hash`` (``finding_fingerprint``), the hash taken over what was flagged
    (the flagged line's text, the malformed request's case), never a line number, so that editing
    code above it does not change it. None: the runner applies the default rule
    (``with_fingerprints``)."""


def finding_fingerprint(probe: str, rule: str | None, place: str | None, content: str) -> str:
    """``probe:rule:place:hash``: the fingerprint of a finding of ``probe`` under ``rule`` at
    ``place`` (a repository path, a route), ``hash`` the first 16 hex digits of the sha256 of
    ``content`` with its white space collapsed (what was flagged: a line of code, a request)."""
    digest = hashlib.sha256(" ".join(content.split()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{probe}:{rule or '-'}:{place or '-'}:{digest}"


def with_fingerprints(probe: str, findings: Sequence[Finding]) -> tuple[Finding, ...]:
    """``findings`` each with a fingerprint: the probe's own, else the default rule (rule, file and
    message, no line number); the second and later findings with the same one get ``#2``, ``#3`` …
    in the order the probe listed them."""
    seen: dict[str, int] = {}
    out = []
    for f in findings:
        base = f.fingerprint or finding_fingerprint(probe, f.rule, f.file, f.message)
        seen[base] = seen.get(base, 0) + 1
        out.append(replace(f, fingerprint=base if seen[base] == 1 else f"{base}#{seen[base]}"))
    return tuple(out)


TestOutcome = Literal["passed", "failed", "error", "skipped"]
"""How one test ended (a test that failed and also errored in teardown counts as failed)."""


@dataclass(frozen=True)
class TestCaseResult:
    """One test and how it ended."""

    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    """The test's id, stable across runs of the same suite (pytest node id relative to the repository)."""
    outcome: TestOutcome
    description: str = ""
    """What the test checks, in the test author's words (the first paragraph of its docstring)."""


@dataclass(frozen=True)
class FunctionOutcome:
    """The tests that exercise one item of the task book's function list (``spec.functions``).

    The runner merges these across indicators by node id into the run's function-list coverage: an
    item is covered when at least one of its tests passed and none failed or errored."""

    id: str
    """The function item's ``id`` in the spec."""
    tests: tuple[TestCaseResult, ...] = ()
    """Every test mapped to the item, with its outcome; empty when no test exercises it."""


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
    """Probe-specific data for the report (JSON-serialisable): shown as its ``Presentation`` says."""
    functions: tuple[FunctionOutcome, ...] = ()
    """Tests per function item, for a probe that runs the product's tests (the ``pytest`` probe)."""
    error: str | None = None
    """Set when the probe could not measure: the reason, one line. Measurements may then be partial."""

    def measurement(self, metric: str) -> Measurement | None:
        """The measurement of ``metric``, or ``None``."""
        return next((m for m in self.measurements if m.metric == metric), None)


class ProbeError(Exception):
    """Raised by a probe that cannot measure; the runner records it as an ``error`` result."""

    def __init__(self, reason: str, *, tail: str = "", evidence: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        """Why, one line."""
        self.tail = tail
        """The end of the tool's output, shown after the reason."""
        self.evidence = evidence
        """Evidence files already written (paths relative to the run directory)."""


# ---------------------------------------------------------------------------------------------
# What a probe receives


class ProbeArgs(BaseModel):
    """Base of every probe's ``with:`` arguments: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@runtime_checkable
class RunningService(Protocol):
    """What a probe may use of the running system under test (``ProbeContext.service``).

    The runner starts it (``verifier.service.Service``) before ``run`` for a probe with
    ``needs_service``, and stops it with its whole process tree afterwards, on every exit path.
    It listens on 127.0.0.1 only.
    """

    @property
    def port(self) -> int:
        """The loopback TCP port it listens on."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""

    @property
    def data_dir(self) -> Path | None:
        """Its scratch data directory (``{data_dir}`` in the spec's service command)."""

    @property
    def commands(self) -> Sequence[tuple[str, ...]]:
        """Every command line it was started with, as executed (the last is the current one)."""

    def alive(self) -> bool:
        """True while its leader process runs."""

    def start(self, ready_timeout: float | None = None) -> float:
        """Start it (again) and wait until ready; the seconds it took. ``verifier.service.ServiceError``
        when it exits or is not ready in time (its process tree is then killed)."""

    def wait_ready(self, timeout_s: float) -> float:
        """Poll readiness (a supervisor restarting it); seconds waited, or ``ServiceError``."""

    def ready_once(self, timeout_s: float = 1.0) -> bool:
        """One readiness check."""

    def ready_target(self) -> str:
        """The readiness URL (or ``tcp://``) with the port filled in."""

    def kill(self) -> None:
        """SIGKILL its whole process tree at once; returns once it is gone."""

    def listener_pids(self) -> list[int]:
        """PIDs of its processes listening on its port (the worker behind a supervisor)."""

    def rss_mb(self) -> float:
        """Resident memory of all its processes, in MB (10^6 bytes)."""

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of its latest log (stderr, or stdout when stderr is empty)."""


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
    """The validated ``with:`` arguments (an instance of the probe's ``Args``)."""
    spec: Spec
    """The whole validated spec: function list, owners, service …"""
    timeout_s: float
    """Wall-clock budget for the whole probe; tools must be run with a timeout inside it."""
    service: RunningService | None = None
    """The running system under test when the probe ``needs_service``; ``None`` otherwise."""
    runtime: ProductRuntime | None = None
    """The product's runtime (``runtime:`` in the spec), set up and checked; ``None`` when the spec
    declares none. Probes that run the product's code use its interpreter by default."""

    def rel(self, path: Path) -> str:
        """``path`` relative to the run directory, POSIX style, for ``ProbeOutcome.evidence``."""
        return path.resolve().relative_to(self.run_dir.resolve()).as_posix()


# ---------------------------------------------------------------------------------------------
# How the report shows a probe's figures

Label = tuple[str, str]
"""A phrase in Chinese and in English, ``(zh, en)``: both languages always exist."""


@dataclass(frozen=True)
class Table:
    """A details key whose value is a list of rows (objects): shown as a table."""

    columns: tuple[str, ...] = ()
    """Column order: these first (those present), then any other column with scalar values, as they
    come. Lists and objects inside rows are never shown as columns."""
    title: Label | None = None
    """The table's title; default: the key's label."""
    omit_repeated: Mapping[str, str] = field(default_factory=dict)
    """Column -> column: the first is left out when every row's second column starts with its value
    and a space (Locust names requests ``GET /path``: a method column would repeat it)."""
    total: str | None = None
    """A details key holding the table's total (an object with the same columns): shown as the
    table's last row, named "Total", never as a table of its own (Locust's ``Aggregated`` row)."""
    repeats_section: str | None = None
    """The report section this table repeats (``"functions"``: the function-list coverage the
    runner builds from the probe's ``FunctionOutcome`` s): left out where the report shows that
    section, so the same rows are not printed twice."""


@dataclass(frozen=True)
class Chart:
    """One line chart of some columns of a series, against time."""

    columns: tuple[str, ...]
    """The columns drawn (those present), one line each, in this order."""
    title: Label | None = None
    """The chart's title; default: "<first column's label> over time"."""


@dataclass(frozen=True)
class Series:
    """A details key whose value is a list of time-stamped rows (``[{"t": 0.0, "rps": 12.5}, …]``):
    drawn, never listed. Rows that carry an event label are marks on a timeline; rows of figures
    are line charts: ``charts`` first, then the remaining numeric columns, one chart each. A column
    already drawn from another series of the same indicator is not drawn again."""

    time: str = "t"
    """The column holding the time, in seconds (absolute Unix times are shown from the first)."""
    charts: tuple[Chart, ...] = ()
    """Line charts drawn first, in this order."""
    others: int = 3
    """How many of the remaining numeric columns get a chart of their own."""
    skip: tuple[str, ...] = ()
    """Columns never drawn (running totals whose rate is charted instead)."""
    label: str | None = None
    """The column naming an event: rows with it make a timeline of events."""
    events_title: Label | None = None
    """The timeline's title; default: "<key's label> timeline"."""


@dataclass(frozen=True)
class Bars:
    """A details key whose value maps names to numbers (``{"A": 48, "B": 6}``): a bar chart."""

    order: tuple[str, ...] = ()
    """Bar order: these first (those present), then the others as they come (results.json keeps
    object keys sorted, so a natural order must be declared)."""
    title: Label | None = None
    """The chart's title; default: "<key's label> distribution"."""


@dataclass(frozen=True)
class MetricBars:
    """A bar chart of some of the probe's measurements (passed / failed / skipped tests)."""

    metrics: tuple[str, ...]
    """The measurements drawn, in this order (those reported; none drawn unless two are)."""
    title: Label
    colours: tuple[str, ...] = ()
    """CSS colours of the bars drawn, in order; default: the report's palette."""
    unless: tuple[str, ...] = ()
    """Details keys that already chart these figures: when one is present this chart is left out."""


@dataclass(frozen=True)
class Phrase:
    """A sentence a probe writes (a note), in English as written and in Chinese.

    ``en`` is a ``str.format`` template: literal text and ``{field}`` s (``{{`` for a brace). A
    recorded sentence that matches it whole is shown in the Chinese report as ``zh`` with the same
    fields filled in; a field's text is data (a path, a count, a tool's words) and stays as
    written, unless the field is named like a column or details key the probe declares ``words``
    for (or severities), whose words then apply. A sentence no phrase matches is shown as written,
    marked as the tool's own text."""

    en: str
    zh: str


@dataclass(frozen=True)
class Presentation:
    """How the report shows a probe's measurements, details and findings, in either language.

    Every key the probe writes (metric names, ``details`` keys, table columns, series columns, bar
    names) should have a label; a key without one is shown as written. Values are shown as written
    unless ``words`` or ``severity`` says otherwise: they are data, never translated by guess.
    A ``details`` key not in ``tables``, ``series`` or ``bars`` is laid out by its shape: a scalar
    is a fact, an object of numbers a bar chart, an object of scalars a two-column table, a list of
    rows with a numeric ``t`` a series, any other list of rows or of scalars a table.
    """

    labels: Mapping[str, Label] = field(default_factory=dict)
    """Readable names of the keys the probe writes."""
    words: Mapping[str, Mapping[str, Label]] = field(default_factory=dict)
    """Column or details key -> the words its values take (``{"status": {"passed": ("通过",
    "Passed")}}``); other values of that column are shown as written."""
    severity: frozenset[str] = frozenset()
    """Details keys and columns whose values (or, for an object of numbers, keys) are finding
    severities (``SEVERITIES``): shown in the report's severity words, ranked and coloured as such.
    When one of them holds such a distribution, the report's own findings-by-severity chart is left
    out."""
    tables: Mapping[str, Table] = field(default_factory=dict)
    series: Mapping[str, Series] = field(default_factory=dict)
    bars: Mapping[str, Bars] = field(default_factory=dict)
    metric_bars: tuple[MetricBars, ...] = ()
    phrases: tuple[Phrase, ...] = ()
    """The sentences the probe writes (its notes), each with its Chinese."""


# ---------------------------------------------------------------------------------------------
# The probe


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
    presentation: ClassVar[Presentation] = Presentation()
    """How the report shows its figures (labels in zh and en, tables, series, bar charts)."""

    metrics_vary_with_args: ClassVar[bool] = False
    """True when ``metrics_for`` answers differently for different arguments (the ``command``
    probe's unit is ``with.unit``): when a spec's ``with:`` is invalid, its metric and target are
    then left unchecked, not checked against ``metrics``."""

    @classmethod
    def metrics_for(cls, args: ProbeArgs) -> Mapping[str, MetricInfo]:
        """The metrics it reports when run with ``args`` (valid ``with:`` arguments, an instance of
        ``Args``). Default: ``metrics``. Override it, and set ``metrics_vary_with_args``, when a
        metric's unit depends on the arguments."""
        return cls.metrics

    waivable: ClassVar[bool] = False
    """True when ``recount`` can leave findings out of the probe's figures: its findings may then
    be waived (``verifier.waivers``)."""

    @classmethod
    def recount(cls, measurements: Mapping[str, float | None],
                waived: Sequence[Finding]) -> Mapping[str, float | None]:
        """The figures ``measurements`` (what ``run`` reported, by metric) with the ``waived``
        findings (some of those ``run`` returned) no longer counted: a pure function, so that
        ``verify`` recomputes it from the recorded data. A metric left out keeps its figure.
        Override it, and set ``waivable``, in a probe whose figures are counts of its findings;
        the default changes nothing."""
        return dict(measurements)

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
        found[ep.name] = _probe_class(ep.name, ep.value, ep.load())
    return dict(sorted(found.items()))


def _probe_class(name: str, value: str, loaded: object) -> type[Probe]:
    if not (isinstance(loaded, type) and issubclass(loaded, Probe)):
        raise InputError(f"entry point {name!r} ({value}) is not a verifier Probe")
    return loaded


def get_probe(name: str) -> type[Probe]:
    """The probe class called ``name``; ``InputError`` naming the known ones otherwise."""
    probes = available_probes()
    try:
        return probes[name]
    except KeyError:
        raise InputError(f"unknown probe {name!r} (known: {', '.join(probes) or 'none'})") from None


@cache
def presentation_of(name: str) -> Presentation:
    """The presentation the installed probe ``name`` declares, loading that probe alone; an empty
    one (every key shown as written) when no such probe is installed or it cannot be loaded, so
    that a run's report renders wherever its results are read."""
    found = Presentation()
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            found = _probe_class(ep.name, ep.value, ep.load()).presentation
        except Exception:  # a broken plug-in must not stop a report: its keys are shown as written
            continue
    return found
