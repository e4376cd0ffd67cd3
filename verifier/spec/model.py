"""The task book's structure: the pydantic models of ``acceptance.yaml`` (unknown keys forbidden
everywhere).

These models know nothing of the installed probes: an ``Indicator`` is bound to its probe (its
``with:`` arguments validated, its target parsed in the metric's unit) by ``verifier.spec.binding``
when the spec is loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
)

from verifier.materials import MaterialsConfig
from verifier.product.runtime import RuntimeConfig
from verifier.repo_paths import RepoGlob, RepoPath, check_inside, mark_repo_kind, normalize_repo_path
from verifier.service import ServiceConfig
from verifier.spec.errors import SpecWarning
from verifier.units import Target
from verifier.vocabulary import CHARACTERISTIC_KEYS

if TYPE_CHECKING:  # the loader binds the arguments; only a type checker reads the contract from here
    from verifier.probe import ProbeArgs

DEFAULT_SPEC_NAME = "acceptance.yaml"
#: Most runs an indicator may ask for (``repeat``).
MAX_REPEAT = 25

Characteristic = Literal[CHARACTERISTIC_KEYS]  # type: ignore[valid-type]

_VERSION = re.compile(r"^[vV]?(\d+)(\.\d+){0,3}([-+._~]?[0-9A-Za-z][0-9A-Za-z.+\-_]*)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


class ProjectSpec(_Strict):
    """Who delivers what: the product, its version and the holders of self-developed code."""

    name: str
    version: str
    """Version as the task book writes it (``1.0.0``, ``V1.0``); the policy funds 1.x products."""
    applicant: str = ""
    owners: list[str] = Field(min_length=1)
    """Copyright holders whose code counts as self-developed (Chinese and English names)."""

    _name = field_validator("name")(_nonempty)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError(f"write the version as a quoted string, e.g. \"{value}\" "
                             "(YAML reads an unquoted 1.10 as the number 1.1)")
        if isinstance(value, str) and not _VERSION.match(value.strip()):
            raise ValueError(f"{value!r} is not a version number like 1.0.0")
        return value.strip() if isinstance(value, str) else value

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: list[str]) -> list[str]:
        return [_nonempty(owner) for owner in value]

    @property
    def major(self) -> int:
        """The major version number (``V1.2.0`` -> 1)."""
        return int(_VERSION.match(self.version).group(1))  # type: ignore[union-attr]


class OriginSpec(_Strict):
    """How the self-developed code ratio is measured (see ``verifier origin``)."""

    min_ratio: float = Field(0.60, ge=0.0, le=1.0)
    """The threshold, 0..1 (``60%`` is accepted and read as 0.60)."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Not part of the delivered software (``docs/**``)."""
    third_party: list[RepoGlob] = Field(default_factory=list)
    generated: list[RepoGlob] = Field(default_factory=list)
    adjudications: RepoPath | None = None
    """Manual adjudication file, relative to the repository."""
    knowledge_base: str | list[str] | None = None
    """Snippet knowledge bases (``verifier kb build``), relative to the spec file or absolute, and
    ``auto``: a KB of the delivery's declared dependencies, built in the cache directory. One or
    a list; ``verifier run`` uses ``auto`` when none is declared, ``[]`` turns matching off."""
    min_match_lines: int = Field(10, ge=1)

    @field_validator("knowledge_base")
    @classmethod
    def _knowledge_base(cls, value: Any) -> Any:
        entries = [value] if isinstance(value, str) else value or []
        for entry in entries:
            _nonempty(entry)
        return value

    @field_validator("min_ratio", mode="before")
    @classmethod
    def _ratio(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                return float(value.strip()[:-1]) / 100.0
            except ValueError:
                raise ValueError(f"{value!r} is not a percentage") from None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value <= 100:
            raise ValueError(f"min_ratio is a fraction between 0 and 1, not {value:g} "
                             "(write 0.6 or \"60%\")")
        return value


def _test_pattern(value: str, info: ValidationInfo) -> str:
    path, sep, rest = value.partition("::")
    path = normalize_repo_path(path, glob=True)
    repo = (info.context or {}).get("repo")
    if repo is not None:
        check_inside(Path(repo), path)
    return path + sep + rest


TestPattern = Annotated[str, AfterValidator(mark_repo_kind(_test_pattern, "glob"))]
"""A pytest node-id glob whose file part is a repository-relative glob."""


class FunctionItem(_Strict):
    """One item of the product function list (产品功能清单)."""

    id: str
    name: str
    description: str = ""
    tests: list[TestPattern] = Field(default_factory=list)
    """pytest node-id globs (``tests/test_items.py::test_create*``) that exercise this function."""

    _strip = field_validator("id", "name")(_nonempty)


class Indicator(_Strict):
    """One key indicator (关键技术/性能指标): a probe's metric compared with a target."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: str
    characteristic: Characteristic
    probe: str
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    """The probe's arguments, validated by its ``Args`` model (see ``args``)."""
    metric: str
    target: str
    """As the task book writes it: ``">= 95%"``, ``"<= 500 ms"``, ``"== 0"``."""
    weight: float = Field(1.0, gt=0)
    required: bool = True
    """A target of the task book (the default): the delivery is not ready to apply for acceptance
    until it is met. ``false`` for an indicator the applicant adds beyond the task book: measured,
    scored and reported, but it blocks nothing and counts for none of the task book's gates."""
    floor: str | None = None
    """Where partial credit reaches 0 (``scoring.partial_credit``), e.g. ``"<= 1000 ms"``."""
    timeout: float | None = Field(None, gt=0)
    """Seconds the probe may take (each run, with ``repeat``); the runner's default when absent."""
    repeat: int = Field(1, ge=1, le=MAX_REPEAT)
    """How many times the probe runs; the value judged is the median of the runs' figures
    (``verifier.repeats``). Indicators that share a measurement (same probe, same ``with:``) share
    its runs: the measurement runs as often as the largest ``repeat`` among them."""

    _args: ProbeArgs | None = PrivateAttr(None)
    _target: Target | None = PrivateAttr(None)
    _floor: Target | None = PrivateAttr(None)
    _unit: str | None = PrivateAttr(None)
    _better: str | None = PrivateAttr(None)

    _strip = field_validator("id", "name", "probe", "metric")(_nonempty)

    @field_validator("target", "floor", mode="before")
    @classmethod
    def _number_target(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return f"== {value}"
        return value

    def _unbound(self) -> RuntimeError:
        return RuntimeError(f"indicator {self.id} was not loaded with load_spec()")

    @property
    def args(self) -> ProbeArgs:
        """The ``with:`` arguments, validated by the probe's ``Args`` model."""
        if self._args is None:
            raise self._unbound()
        return self._args

    @property
    def parsed_target(self) -> Target:
        """The target, converted into the metric's unit."""
        if self._target is None:
            raise self._unbound()
        return self._target

    @property
    def parsed_floor(self) -> Target | None:
        """The partial-credit floor, converted into the metric's unit, if declared."""
        if self._unit is None:
            raise self._unbound()
        return self._floor

    @property
    def unit(self) -> str:
        """The metric's unit, as the probe declares it."""
        if self._unit is None:
            raise self._unbound()
        return self._unit

    @property
    def better(self) -> str:
        """``higher`` or ``lower``: the metric's direction of improvement."""
        if self._better is None:
            raise self._unbound()
        return self._better


class ScoringSpec(_Strict):
    """How the pre-assessment score is computed."""

    pass_score: float = Field(70.0, ge=0, le=100)
    partial_credit: bool = False
    """Linear credit between an indicator's ``floor`` and its target (off: met = 1, else 0)."""


class Spec(_Strict):
    """The whole task book."""

    project: ProjectSpec
    origin: OriginSpec = Field(default_factory=OriginSpec)
    runtime: RuntimeConfig | None = None
    """What the product runs on and how to make it (``verifier.product.runtime``)."""
    service: ServiceConfig | None = None
    """How to start the system under test (``verifier.service``)."""
    functions: list[FunctionItem] = Field(default_factory=list)
    indicators: list[Indicator]
    materials: MaterialsConfig | None = None
    """The acceptance dossier checklist (``verifier.materials``)."""
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)
    waivers: str | None = None
    """A waiver file (``verifier.waivers``): findings an expert judged not to count, by fingerprint;
    relative to the spec file's directory, or absolute."""

    _path: Path | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)
    _source: bytes | None = PrivateAttr(None)
    _warnings: tuple[SpecWarning, ...] = PrivateAttr(())
    _assets: tuple[str, ...] = PrivateAttr(())

    @property
    def assets(self) -> tuple[str, ...]:
        """The agency's own assets the spec names (``{spec_dir}/PATH``: each PATH, relative to the
        spec's directory), checked to exist when the spec was loaded from its file."""
        return self._assets

    @property
    def warnings(self) -> tuple[SpecWarning, ...]:
        """Doubts found while loading (valid but probably not meant), in line order."""
        return self._warnings

    @property
    def path(self) -> Path | None:
        """The spec file it was loaded from (None when parsed from text)."""
        return self._path

    @property
    def sha256(self) -> str | None:
        """Hex sha256 of the spec file's bytes (or of the parsed text, UTF-8)."""
        return self._sha256

    @property
    def source(self) -> bytes | None:
        """The exact bytes that were parsed (the file as read once, or the text in UTF-8): what a
        run hashes and copies, never the file read again (it may have changed since)."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """The directory relative paths outside the repository (knowledge base) start from."""
        return self._path.parent if self._path is not None else Path.cwd()

    def knowledge_base_path(self) -> Path | None:
        """The first knowledge base file ``origin.knowledge_base`` names, resolved against the
        spec file's directory, if one is declared."""
        return next((kb for kb in self.knowledge_bases() if isinstance(kb, Path)), None)

    def knowledge_bases(self) -> list[Path | str]:
        """Every entry of ``origin.knowledge_base``: ``"auto"``, or a file resolved against the
        spec file's directory (none when not declared)."""
        value = self.origin.knowledge_base
        entries = [] if value is None else [value] if isinstance(value, str) else list(value)
        return [entry.strip().lower() if entry.strip().lower() == "auto"
                else (self.base_dir / entry).resolve() for entry in entries]

    def waivers_path(self) -> Path | None:
        """``waivers`` resolved against the spec file's directory, if declared."""
        if self.waivers is None:
            return None
        return (self.base_dir / self.waivers).resolve()

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with ``indicator_id``; ``KeyError`` otherwise."""
        for item in self.indicators:
            if item.id == indicator_id:
                return item
        raise KeyError(indicator_id)
