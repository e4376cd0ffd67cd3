"""The task book (项目任务书) as a machine-readable spec: ``acceptance.yaml``.

``load_spec`` reads and validates it in two steps: the structure (pydantic models below, unknown
keys forbidden everywhere), then what depends on the installed probes (probe and metric names,
each probe's ``with:`` arguments, targets and their units) and on the repository (paths that
lead out of it or do not exist). Every problem stops with a ``SpecError`` whose message is one line
``FILE:LINE: field.path: what is wrong``; line numbers come from the YAML nodes. Doubts that do not
make the spec invalid (a bare ``">= 0.6"`` on a metric in %) are kept as ``Spec.warnings``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      ValidationInfo, field_validator)

from verifier.errors import InputError
from verifier.materials import MaterialsConfig, check_materials
from verifier.paths import read_file
from verifier.probe import CHARACTERISTICS, Probe, ProbeArgs
from verifier.repo_paths import (RepoGlob, RepoPath, check_inside, glob_matches, mark_repo_kind,
                                 normalize_repo_path, path_exists, repo_references)
from verifier.service import ServiceConfig
from verifier.units import (Target, TargetError, impossible_share, is_known_unit, parse_target,
                            share_warnings)

DEFAULT_SPEC_NAME = "acceptance.yaml"
#: Limits that keep a hostile spec from exhausting memory (a task book is a few kilobytes).
MAX_BYTES = 4 * 1024 * 1024
MAX_VALUES = 200_000

#: The five characteristics every task book must cover (policy article 6(二)2).
REQUIRED_CHARACTERISTICS: tuple[str, ...] = (
    "functionality", "performance_efficiency", "reliability", "security", "compatibility",
)

Characteristic = Literal[CHARACTERISTICS]  # type: ignore[valid-type]

_VERSION = re.compile(r"^[vV]?(\d+)(\.\d+){0,3}([-+._~]?[0-9A-Za-z][0-9A-Za-z.+\-_]*)?$")
Loc = tuple[str | int, ...]
_MISSING = "required field missing"


class SpecError(InputError):
    """A malformed spec. ``str(err)`` is one line: ``FILE:LINE: field.path: problem``."""

    def __init__(self, file: str, line: int | None, path: str, problem: str) -> None:
        problem = " ".join(problem.splitlines())
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.file, self.line, self.path, self.problem = file, line, path, problem


@dataclass(frozen=True)
class SpecWarning:
    """A doubt about a valid spec; ``str()`` is one line ``FILE:LINE: field.path: doubt``."""

    file: str
    line: int | None
    path: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.problem}" if self.path else f"{where}: {self.problem}"


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
    knowledge_base: str | None = None
    """Snippet knowledge base (``verifier kb build``), relative to the spec file or absolute."""
    min_match_lines: int = Field(10, ge=1)

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
    floor: str | None = None
    """Where partial credit reaches 0 (``scoring.partial_credit``), e.g. ``"<= 1000 ms"``."""
    timeout: float | None = Field(None, gt=0)
    """Seconds the probe may take; the runner's default when absent."""

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

    def _bound(self, attr: str) -> Any:
        if self._unit is None:
            raise RuntimeError(f"indicator {self.id} was not loaded with load_spec()")
        return getattr(self, attr)

    @property
    def args(self) -> ProbeArgs:
        """The ``with:`` arguments, validated by the probe's ``Args`` model."""
        return self._bound("_args")

    @property
    def parsed_target(self) -> Target:
        """The target, converted into the metric's unit."""
        return self._bound("_target")

    @property
    def parsed_floor(self) -> Target | None:
        """The partial-credit floor, converted into the metric's unit, if declared."""
        return self._bound("_floor")

    @property
    def unit(self) -> str:
        """The metric's unit, as the probe declares it."""
        return self._bound("_unit")

    @property
    def better(self) -> str:
        """``higher`` or ``lower``: the metric's direction of improvement."""
        return self._bound("_better")


class ScoringSpec(_Strict):
    """How the pre-assessment score is computed."""

    pass_score: float = Field(70.0, ge=0, le=100)
    partial_credit: bool = False
    """Linear credit between an indicator's ``floor`` and its target (off: met = 1, else 0)."""


class Spec(_Strict):
    """The whole task book."""

    project: ProjectSpec
    origin: OriginSpec = Field(default_factory=OriginSpec)
    service: ServiceConfig | None = None
    """How to start the system under test (``verifier.service``)."""
    functions: list[FunctionItem] = Field(default_factory=list)
    indicators: list[Indicator]
    materials: MaterialsConfig | None = None
    """The acceptance dossier checklist (``verifier.materials``)."""
    scoring: ScoringSpec = Field(default_factory=ScoringSpec)

    _path: Path | None = PrivateAttr(None)
    _sha256: str | None = PrivateAttr(None)
    _warnings: tuple[SpecWarning, ...] = PrivateAttr(())

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
    def base_dir(self) -> Path:
        """The directory relative paths outside the repository (knowledge base) start from."""
        return self._path.parent if self._path is not None else Path.cwd()

    def knowledge_base_path(self) -> Path | None:
        """``origin.knowledge_base`` resolved against the spec file's directory, if declared."""
        if self.origin.knowledge_base is None:
            return None
        return (self.base_dir / self.origin.knowledge_base).resolve()

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with ``indicator_id``; ``KeyError`` otherwise."""
        for item in self.indicators:
            if item.id == indicator_id:
                return item
        raise KeyError(indicator_id)


# --------------------------------------------------------------------------- loading

class _Located:
    """Line numbers of a YAML document by field path, and duplicate keys found on the way."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int, int]] = []
        self._walked: set[int] = set()
        self.aliases: set[Loc] = set()
        """Where an alias (``*name``) stands: paths below it are located at the alias's line."""

    def walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._walked:  # an alias: its lines were recorded at the anchor
            self.aliases.add(loc)
            return
        self._walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append((loc + (key,), line, seen[key]))
                seen.setdefault(key, line)
                self.lines[loc + (key,)] = line
                self.walk(value_node, loc + (key,))
                self.lines[loc + (key,)] = line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, loc + (index,))

    def line(self, loc: Loc) -> tuple[int, Loc]:
        """The line of the longest known prefix of ``loc``, and that prefix."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]], loc[:end]
        return 1, ()


def format_loc(loc: Loc) -> str:
    """``("indicators", 2, "with", "users")`` -> ``indicators[2].with.users``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml_error(file: str, err: yaml.YAMLError, text: str) -> SpecError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if line is not None:
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        if re.search(r":\s*[>|][=<>]", source):
            message += "; quote targets that start with '>' or '|', e.g. target: \">= 95%\""
    return SpecError(file, line, "", " ".join(message.split()))


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for once aliases are expanded (computed once per node)."""
    if id(node) not in memo:
        memo[id(node)] = 1
        if isinstance(node, yaml.MappingNode):
            memo[id(node)] += sum(_expanded_size(k, memo) + _expanded_size(v, memo)
                                  for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            memo[id(node)] += sum(_expanded_size(item, memo) for item in node.value)
    return memo[id(node)]


def _compose(text: str, file: str) -> tuple[Any, _Located]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        located = _Located()
        if node is None:
            raise SpecError(file, 1, "", "the spec is empty")
        if _expanded_size(node, {}) > MAX_VALUES:
            raise SpecError(file, 1, "", f"the spec expands to more than {MAX_VALUES} values "
                            "(YAML aliases nested into each other?)")
        located.walk(node, ())
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        raise _yaml_error(file, err, text) from None
    except RecursionError:
        raise SpecError(file, None, "", "the spec is nested too deeply") from None
    finally:
        loader.dispose()
    if located.duplicates:
        loc, line, first = min(located.duplicates, key=lambda item: item[1])
        raise SpecError(file, line, format_loc(loc), f"duplicate key (first at line {first})")
    if not isinstance(data, dict):
        raise SpecError(file, 1, "", f"the spec must be a mapping of sections "
                        f"(project, indicators, …), not a {type(data).__name__}")
    return data, located


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for name, f in current.model_fields.items()
                      if (f.alias or name) == part), None)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
        stack.extend(getattr(item, "__args__", ()) or ())
    return None


def _problem(error: Mapping[str, Any], model: type[BaseModel] | None, loc: Loc) -> str:
    kind = error["type"]
    if kind == "missing":
        return _MISSING
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1]) if model is not None else None
        if parent is not None:
            allowed = ", ".join(f.alias or name for name, f in parent.model_fields.items())
            return f"unknown key (allowed: {allowed})"
        return "unknown key"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("literal_error", "enum"):
        shown = repr(error.get("input"))
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return message


def _raise_first(file: str, located: _Located, problems: list[tuple[Loc, str]]) -> None:
    if not problems:
        return
    placed = []
    for order, (loc, problem) in enumerate(problems):
        line, known = located.line(loc)
        # A missing key lies one step beyond the data: name it. Other steps beyond the data are
        # pydantic's union tags ("str", "function-after[…]"): drop them.
        missing = problem == _MISSING and len(loc) == len(known) + 1
        aliased = known in located.aliases and all(_is_data_key(p) for p in loc[len(known):])
        placed.append((line, order, format_loc(loc if missing or aliased else known), problem))
    merged: dict[tuple[int, str], list[str]] = {}
    for line, _, path, problem in sorted(placed):
        # one value failing every member of a union gives one error per member: join them
        seen = merged.setdefault((line, path), [])
        if problem not in seen:
            seen.append(problem)
    (line, path), texts = next(iter(merged.items()))
    problem = "; or ".join(texts) if len(texts) > 1 else texts[0]
    more = len(merged) - 1
    if more:
        problem += f" (+{more} more problem{'s' if more > 1 else ''})"
    raise SpecError(file, line, path, problem)


def _is_data_key(part: str | int) -> bool:
    return isinstance(part, int) or "[" not in part


def _pydantic_problems(err: ValidationError, model: type[BaseModel] | None,
                       prefix: Loc = ()) -> list[tuple[Loc, str]]:
    problems = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append((prefix + loc, _problem(error, model, loc)))
    return problems


def _bind_indicator(indicator: Indicator, index: int, probes: Mapping[str, type[Probe]],
                    spec: Spec, context: dict[str, Any],
                    warnings: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
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
        problems += _pydantic_problems(err, probe.Args, here + ("with",))
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


def _duplicates(items: list[Any], section: str, located: _Located) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    problems = []
    for index, item in enumerate(items):
        if item.id in first:
            line, _ = located.line((section, first[item.id], "id"))
            problems.append(((section, index, "id"), f"duplicate id {item.id!r} (first at line {line})"))
        first.setdefault(item.id, index)
    return problems


def parse_spec(text: str, *, file: str = "<spec>", repo: Path | str | None = None,
               probes: Mapping[str, type[Probe]] | None = None) -> Spec:
    """Validate spec ``text`` (named ``file`` in errors) against ``probes`` (default: the installed
    ones) and, when given, the repository ``repo`` (paths exist, stay inside); ``SpecError`` on the
    first problem by line, doubts in ``Spec.warnings``."""
    if probes is None:
        from verifier.probe import available_probes
        probes = available_probes()
    data, located = _compose(text, file)
    context: dict[str, Any] = {"repo": Path(repo) if repo is not None else None}
    try:
        spec = Spec.model_validate(data, context=context)
    except ValidationError as err:
        _raise_first(file, located, _pydantic_problems(err, Spec))
        raise  # unreachable: ValidationError always carries errors
    warnings: list[tuple[Loc, str]] = []
    problems = _duplicates(spec.indicators, "indicators", located)
    problems += _duplicates(spec.functions, "functions", located)
    for index, indicator in enumerate(spec.indicators):
        problems += _bind_indicator(indicator, index, probes, spec, context, warnings)
    if spec.service is not None:
        problems += _service_port(spec.service, warnings)
    if repo is not None:
        problems += _repository_checks(spec, Path(repo), warnings)
    _raise_first(file, located, problems)
    spec._sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    spec._warnings = _placed_warnings(file, located, warnings)
    return spec


def _service_port(service: ServiceConfig, warnings: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    """The service must be told the port the harness picks (``{port}`` in its command or env) or
    declare the one it listens on (``port:``); a ready check on another port is a warning."""
    parts = [service.command] if isinstance(service.command, str) else list(service.command)
    told = any("{port}" in text for text in (*parts, *service.env.values()))
    if service.port is None and not told:
        return [(("service", "command"), "the service is never told the port the harness picks: put "
                 "{port} in service.command (e.g. --port {port}) or in service.env, or declare the "
                 "fixed port it listens on as service.port")]
    ready_port = urlsplit(service.ready.replace("{port}", "0")).port
    if "{port}" not in service.ready and ready_port != service.port:
        listens = f"port {service.port}" if service.port is not None else "the port the harness picks"
        warnings.append((("service", "ready"), f"ready checks port {ready_port} but the service listens "
                         f"on {listens}: write {{port}} in the ready URL"))
    return []


def _repository_checks(spec: Spec, repo: Path, warnings: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    """Paths the spec names must exist in ``repo``; globs matching nothing and dossier items short
    of files are warnings (a default path that is missing, too)."""
    refs = list(repo_references(spec))
    for index, indicator in enumerate(spec.indicators):
        if indicator._args is not None:
            refs += repo_references(indicator._args, ("indicators", index, "with"))
    problems: list[tuple[Loc, str]] = []
    for ref in refs:
        if ref.kind == "glob":
            if not glob_matches(repo, ref.value):
                warnings.append((ref.loc, f"{ref.value!r} matches nothing in {repo}"))
        elif not path_exists(repo, ref.value):
            if ref.declared:
                problems.append((ref.loc, f"path {ref.value!r} does not exist in {repo}"))
            else:
                warnings.append((ref.loc, f"defaults to {ref.value!r}, which does not exist in {repo}"))
    adjudications = spec.origin.adjudications
    if adjudications is not None and path_exists(repo, adjudications) \
            and not (repo / adjudications).is_file():
        problems.append((("origin", "adjudications"), f"{adjudications!r} is not a file in the repository"))
    if spec.materials is not None:
        try:
            checks = check_materials(spec.materials, repo)
        except OSError as err:
            warnings.append((("materials",), f"the dossier could not be checked in {repo}: "
                             f"{err.strerror or err}"))
            checks = []
        for check in checks:
            if check.patterns and not check.ok:
                warnings.append((("materials", check.key),
                                 f"{len(check.found)} file(s) in {repo} match "
                                 f"{', '.join(check.patterns)} ({check.required} required)"))
    return problems


def _placed_warnings(file: str, located: _Located,
                     warnings: list[tuple[Loc, str]]) -> tuple[SpecWarning, ...]:
    placed = []
    for order, (loc, problem) in enumerate(warnings):
        line, _ = located.line(loc)
        placed.append((line, order, SpecWarning(file, line, format_loc(loc), problem)))
    return tuple(warning for _, _, warning in sorted(placed, key=lambda item: item[:2]))


def load_spec(path: Path | str, *, repo: Path | str | None = None,
              probes: Mapping[str, type[Probe]] | None = None) -> Spec:
    """Read and validate the spec file at ``path``; ``SpecError`` (exit 2) names file, line and
    field of the first problem."""
    path = Path(path)
    file = str(path)
    try:
        raw = read_file(path, what="spec file", max_bytes=MAX_BYTES)
    except InputError as err:  # already "FILE: problem": missing, a FIFO, a device, too large …
        raise SpecError(file, None, "", str(err).removeprefix(f"{file}: ")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SpecError(file, line, "", "the spec is not UTF-8 text") from None
    spec = parse_spec(text, file=file, repo=repo, probes=probes)
    spec._path = path.resolve()
    spec._sha256 = hashlib.sha256(raw).hexdigest()
    return spec


def spec_data(text: str, *, file: str = "<spec>") -> dict[str, Any]:
    """The spec ``text`` as plain YAML data, read with the loader's limits (alias expansion, depth,
    duplicate keys) but not validated; ``SpecError`` when it is not a YAML mapping."""
    return _compose(text, file)[0]
