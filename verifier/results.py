"""The canonical data of a run: what ``verifier run`` writes to ``results.json`` and what every
report format and the bundle are rendered from. Reports never compute; anything they show is here.

All models are frozen pydantic models; ``RunResult.model_dump(mode="json")`` is the JSON written.
Paths are POSIX and relative: evidence paths to the run directory, file paths to the repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA = "verifier/results/1"

Status = Literal["met", "not_met", "not_applicable", "error"]
Verdict = Literal["pass", "fail", "inconclusive"]

PRE_ASSESSMENT_NOTICE = {
    "zh": "本结果为 verifier 自动预评估，不是具有资质的测试机构出具的测试报告；验收结论以验收专家组综合评分为准。",
    "en": ("This is an automated pre-assessment by verifier, not a report by an accredited testing "
           "agency; the acceptance panel's score is the official one."),
}


def _is_none(value: Any) -> bool:
    return value is None


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _is_empty(value: Any) -> bool:
    return not value


class FindingRecord(_Model):
    """A finding as recorded (``verifier.probe.Finding``); a waived one carries ``extra["waiver"]``."""

    message: str
    file: str | None = None
    line: int | None = None
    severity: str | None = None
    rule: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    fingerprint: str | None = Field(None, exclude_if=_is_none)
    """Its stable identity, by which a waiver names it (``probe:rule:place:hash``)."""


def _is_one(value: Any) -> bool:
    return bool(value == 1)


class FunctionTests(_Model):
    """The tests a probe mapped to one item of the function list, with how each ended
    (``verifier.probe.FunctionOutcome``); the runner merges them into ``RunResult.functions``."""

    id: str
    """The function item's id in the spec."""
    outcomes: dict[str, Literal["passed", "failed", "error", "skipped"]] = Field(default_factory=dict)
    """Test node id -> outcome."""
    descriptions: dict[str, str] = Field(default_factory=dict, exclude_if=_is_empty)
    """Test node id -> what the test checks, from its docstring (tests with one)."""


class RepeatRun(_Model):
    """One run of a repeated measurement (``repeat: N``), judged on its own against the target."""

    run: int
    """1-based."""
    value: float | None
    """This run's figure for the indicator's metric, in the indicator's unit."""
    status: Status
    """This run alone against the target (``error`` when the run failed)."""
    measurements: dict[str, float | None] = Field(default_factory=dict)
    """Every figure the probe reported in this run."""
    evidence: str
    """The run's evidence folder, relative to the run directory (``evidence/<ID>/run-1``)."""
    error: str | None = Field(None, exclude_if=_is_none)
    """Why this run could not measure."""
    duration_s: float | None = None
    unwaived: dict[str, float | None] | None = Field(None, exclude_if=_is_none)
    """This run's figures as the probe reported them, when waived findings were taken out."""
    waived: list[FindingRecord] = Field(default_factory=list, exclude_if=_is_empty)
    """The findings of this run an expert waived (``verifier.waivers``)."""


class Repeats(_Model):
    """Every run of a repeated measurement: the indicator's value is the median of their figures
    (``verifier.repeats``); its findings, details and charts are those of run ``shown``."""

    runs: list[RepeatRun]
    shown: int
    """The run nearest the median (the earliest of equals), whose findings and details are shown."""
    min: float | None
    max: float | None
    spread: float | None
    """``max - min``, in the indicator's unit."""
    unstable: bool
    """Met in some runs and not met in others: the verdict on this indicator rests on the median."""


class IndicatorResult(_Model):
    """One declared indicator, measured and evaluated."""

    id: str
    name: str
    characteristic: str
    probe: str
    metric: str
    target: str
    """The target as the task book wrote it, e.g. ``"<= 500 ms"``."""
    unit: str
    """Unit of ``value`` (the metric's unit)."""
    value: float | None
    """The measured figure in ``unit``; None when the probe could not measure it."""
    status: Status
    credit: float
    """0..1: 1 when met, 0 when not met or error, between with partial credit."""
    weight: float
    required: bool = True
    """A task-book indicator (it must be met before applying for acceptance); False for one the
    applicant added beyond the task book (scored and reported, blocks nothing)."""
    reason: str
    """Why this status, one or two lines (for errors: what failed, then the output tail)."""
    evidence: list[str] = Field(default_factory=list)
    commands: list[list[str]] = Field(default_factory=list)
    findings: list[FindingRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    measurements: dict[str, float | None] = Field(default_factory=dict)
    """Every metric the probe reported, by name (the indicator's own metric included)."""
    function_tests: list[FunctionTests] = Field(default_factory=list, exclude_if=_is_empty)
    """Tests per function item, from a probe that runs the product's tests; left out when empty."""
    arguments: dict[str, Any] = Field(default_factory=dict, exclude_if=_is_empty)
    """The probe's arguments as the task book declares them (``with:``): the test method."""
    tools: dict[str, str] = Field(default_factory=dict, exclude_if=_is_empty)
    """The external tools the probe ran, with their versions (``Probe.tool_versions``)."""
    repeat: int = Field(1, exclude_if=_is_one)
    """The task book's ``repeat`` for this indicator (left out when 1)."""
    repeats: Repeats | None = Field(None, exclude_if=_is_none)
    """Every run, when the measurement ran more than once; ``value`` is the median of theirs."""
    unwaived: dict[str, float | None] | None = Field(None, exclude_if=_is_none)
    """The figures as the probe reported them, when findings it returned were waived
    (``measurements`` are then recounted without them, ``verifier.waivers``)."""
    measured_with: str | None = Field(None, exclude_if=_is_none)
    """The indicator whose measurement this one shares (same probe, same arguments): its charts,
    tables, findings and evidence are shown there, once."""
    started_at: str | None = None
    duration_s: float | None = None


class Gate(_Model):
    """A policy gate (at least 5 indicators, the five characteristics, ratio ≥ 60%, version 1.x …)."""

    id: str
    description_zh: str
    description_en: str
    passed: bool | None
    """None when it could not be decided (e.g. the origin scan failed)."""
    figure: str
    """The figure behind the decision, e.g. ``"7 indicators"`` or ``"72.4% ≥ 60%"``."""


class MaterialFound(_Model):
    path: str
    sha256: str
    size: int


class MaterialCheck(_Model):
    """One item of the acceptance dossier (验收材料)."""

    key: str
    label_zh: str
    label_en: str
    patterns: list[str]
    required: int
    found: list[MaterialFound] = Field(default_factory=list)
    ok: bool


class TestRecord(_Model):
    """One test of a function item, as a GB/T 25000.51 test record lists it."""

    __test__ = False  # not a pytest test class, whatever its name

    nodeid: str
    """Its id (pytest node id relative to the repository)."""
    name: str
    """The test's own name (the node id's last part)."""
    description: str = ""
    """What it checks, from its docstring."""
    outcome: Literal["passed", "failed", "skipped"]
    """How it ended (an error counts as failed)."""


class FunctionCoverage(_Model):
    """One item of the product function list and the tests that exercise it."""

    id: str
    name: str
    description: str = ""
    tests: list[str] = Field(default_factory=list)
    passed: int = 0
    failed: int = 0
    covered: bool
    cases: list[TestRecord] = Field(default_factory=list, exclude_if=_is_empty)
    """Each test with its name, description and outcome (the test records of GB/T 25000.51)."""


class OriginSummary(_Model):
    """The self-developed code ratio; the full per-file table is the evidence file ``files_path``."""

    ratio: float | None
    ratio_without_tests: float | None
    threshold: float
    passed: bool | None
    counting: str
    totals: dict[str, dict[str, int]]
    """class -> {"files": n, "lines": n}; classes: self, third_party, generated, excluded, unknown."""
    components: list[dict[str, Any]] = Field(default_factory=list)
    dependencies: list[dict[str, Any]] = Field(default_factory=list)
    """Declared dependencies (``verifier.kb.deps``): third-party components adding no lines."""
    cdn_assets: list[dict[str, Any]] = Field(default_factory=list)
    """Assets loaded from public CDNs in the delivery's HTML templates."""
    kb_partial: bool = False
    """Whether snippet matching missed declared dependencies it could not fetch."""
    adjudications: list[dict[str, Any]] = Field(default_factory=list)
    files_path: str | None = None
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    """What the analysis warns about (no owners, unknown files, stale adjudications, paths not
    scanned), as ``verifier origin`` prints it."""
    not_scanned: list[dict[str, str]] = Field(default_factory=list)
    """Paths not inventoried (links, special files, unreadable, ignored by git), ``{path, reason}``,
    version-control directories left out; at most ``NOT_SCANNED_LIMIT``, all in ``files_path``."""
    not_scanned_total: int = 0
    unweighed: list[dict[str, str]] = Field(default_factory=list)
    """Paths whose code could not be weighed, ``{path, reason, origin}``: unreadable directories
    and unreadable files of unknown size (``origin``: ``unknown``, or ``third_party`` /
    ``generated`` when a declared glob or a component covers them); while there are any the
    ratio cannot be proven (``ratio_holds``). At most ``NOT_SCANNED_LIMIT``, those of
    ``unknown`` origin first."""
    unweighed_total: int = 0


#: Most ``OriginSummary.not_scanned`` (and ``unweighed``) entries kept in results.json.
NOT_SCANNED_LIMIT = 200


def ratio_holds(ratio: float | None, threshold: float, unweighed: Iterable[Mapping[str, Any]] = ()
                ) -> bool | None:
    """Whether a self-developed ``ratio`` reaches ``threshold`` (within 1e-9): None when there is
    no ratio, or when it does but paths whose code could not be weighed
    (``OriginSummary.unweighed``) could lower it below, by any amount. What such a path holds
    counts as not self-developed, like an unreadable file's ⌈bytes ÷ 2⌉ lines (``unknown``, or
    third-party or generated code when declared so): it can only lower the ratio, so a ratio
    below the threshold fails whatever they hold."""
    if ratio is None:
        return None
    if ratio < threshold - 1e-9:
        return False
    return None if any(True for _ in unweighed) else True


class AppliedWaiver(_Model):
    """An entry of the waiver file that waived a finding of this run."""

    fingerprint: str
    justification: str
    reviewer: str
    date: str
    indicators: list[str]
    """The indicators in which the finding was waived."""


class StaleWaiver(_Model):
    """An entry of the waiver file whose finding is not in this run."""

    fingerprint: str
    justification: str
    reviewer: str
    date: str
    reason: str


class WaiversRecord(_Model):
    """The waiver file a run applied (``verifier.waivers``)."""

    source: str
    """The file as the spec named it, resolved."""
    path: str
    """Its copy in the run directory (hashed into the evidence)."""
    sha256: str
    applied: list[AppliedWaiver] = Field(default_factory=list)
    stale: list[StaleWaiver] = Field(default_factory=list)


class Score(_Model):
    value: float
    pass_score: float
    maximum: float = 100.0
    lowest: float | None = None
    """The score if every indicator in error had earned nothing (None without errors)."""
    highest: float | None = None
    """The score if every indicator in error had been met (None without errors)."""


class Environment(_Model):
    os: str
    machine: str
    cpu: str
    cpu_count: int
    python: str
    tools: dict[str, str] = Field(default_factory=dict)


class RuntimeRecord(_Model):
    """One interpreter of the product's runtime, as it reported itself."""

    name: str
    """``python``, ``node``, ``java``."""
    path: str
    """Where it is: relative to the repository (or ``{spec_dir}/…``) when it lies there, else as found."""
    version: str | None = None
    """Its version (``3.11.7``, ``v20.11.1``, ``17.0.2``); None when it could not be asked."""
    detail: str = ""
    """What it says about itself beyond the version (implementation, build)."""


class PackageRecord(_Model):
    """A distribution installed for the product's Python interpreter."""

    name: str
    version: str
    license: str = ""
    """As its metadata declares it (License-Expression, License, or the license classifiers)."""


class SetupRecord(_Model):
    """One step of ``runtime.setup`` as it ran (or was skipped because nothing it reads changed)."""

    command: list[str]
    cwd: str
    """Relative to the repository when inside it."""
    returncode: int | None = None
    duration_s: float = 0.0
    cached: bool = False
    """True when the step was not run: the setup's inputs and steps were unchanged since it last succeeded."""
    evidence: list[str] = Field(default_factory=list)


class SystemUnderTest(_Model):
    """The system under test on record: the machine it ran on, the product's runtime and packages."""

    os: str
    machine: str
    cpu: str
    cpu_count: int
    memory_mb: int | None = None
    """Physical memory in MB (10^6 bytes)."""
    runtimes: list[RuntimeRecord] = Field(default_factory=list)
    """The product's interpreters (``runtime:``); empty when the task book declares none."""
    packages: list[PackageRecord] = Field(default_factory=list)
    """Distributions installed for the product's Python interpreter, by name."""
    packages_from: str | None = None
    """The interpreter the packages were listed from; None when no Python runtime is declared."""
    setup: list[SetupRecord] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


class AssetRecord(_Model):
    """One file of the agency's own test assets (``{spec_dir}/…``), hashed at the start of the run."""

    path: str
    """Relative to the task book's directory."""
    sha256: str
    size: int
    copied_to: str | None = None
    """Its copy in the run directory (``assets/…``); None when too large to copy."""


class Repository(_Model):
    """The delivered tree: see ``verifier.repository.repo_identity`` and ``tree_hash``."""

    path: str
    commit: str | None = None
    dirty: bool | None = None
    """Changes or untracked (not ignored) files under the tree, per git; None outside git."""
    tree_sha256: str | None = None
    subpath: str | None = Field(None, exclude_if=_is_none)
    """The tree's POSIX path within its git work tree (``"."`` at the top); None outside git."""
    tree_hash_mode: Literal["git-tracked", "all-files"] | None = Field(None, exclude_if=_is_none)
    """``git-tracked`` or ``all-files`` (runs before the mode was recorded: all files)."""


class Project(_Model):
    name: str
    version: str
    applicant: str = ""
    owners: list[str] = Field(default_factory=list)


def _bilingual_reason(value: Any) -> Any:
    """A verdict reason as ``{"zh", "en"}``; a plain string (older runs) is taken for both languages."""
    if isinstance(value, str):
        return {"zh": value, "en": value}
    if isinstance(value, dict) and not {"zh", "en"} <= set(value):
        raise ValueError("a verdict reason needs both 'zh' and 'en' text")
    return value


class RunResult(_Model):
    """``results.json``."""

    schema_: str = Field(SCHEMA, alias="schema")
    verifier_version: str
    run_id: str
    started_at: str
    finished_at: str | None
    spec_path: str
    spec_sha256: str
    project: Project
    repository: Repository
    environment: Environment
    system_under_test: SystemUnderTest | None = Field(None, exclude_if=_is_none)
    """The machine, the product's runtime versions and installed packages (runs before it was recorded: None)."""
    assets: list[AssetRecord] = Field(default_factory=list, exclude_if=_is_empty)
    """The agency's own test assets the task book names (``{spec_dir}/…``), hashed; left out when none."""
    origin: OriginSummary | None
    indicators: list[IndicatorResult]
    functions: list[FunctionCoverage] = Field(default_factory=list)
    materials: list[MaterialCheck] = Field(default_factory=list)
    gates: list[Gate]
    score: Score
    verdict: Verdict
    verdict_reasons: list[Annotated[dict[str, str], BeforeValidator(_bilingual_reason)]] = Field(
        default_factory=list)
    """Why this verdict, one line each, as ``{"zh": …, "en": …}`` (a plain string, from runs before
    reasons were bilingual, stands for both)."""
    waivers: WaiversRecord | None = Field(None, exclude_if=_is_none)
    """The waiver file applied, when the spec names one."""
    command: list[str] = Field(default_factory=list)
    """The verifier command line that made this run."""
    notice: dict[str, str] = Field(default_factory=lambda: dict(PRE_ASSESSMENT_NOTICE))

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
