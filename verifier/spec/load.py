"""Reading a task book: ``load_spec`` (a file) and ``parse_spec`` (text), in two steps.

First the structure (``verifier.spec.model``), then what depends on the installed probes (probe and
metric names, each probe's ``with:`` arguments, targets and their units: ``verifier.spec.binding``)
and on the repository (paths that lead out of it or do not exist). Every problem stops with a
``SpecError`` whose message is one line ``FILE:LINE: field.path: what is wrong``; line numbers come
from the YAML nodes (``verifier.spec.yaml_lines``). Doubts that do not make the spec invalid (a bare
``">= 0.6"`` on a metric in %) are kept as ``Spec.warnings``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from verifier.errors import InputError
from verifier.materials import check_materials
from verifier.paths import read_file
from verifier.probe import Probe, available_probes
from verifier.repo_paths import glob_matches, path_exists, repo_references
from verifier.service import ServiceConfig
from verifier.spec.binding import bind_indicator
from verifier.spec.errors import SpecError
from verifier.spec.model import Spec
from verifier.spec.product import asset_checks, runtime_location_checks, runtime_placeholder_problems
from verifier.spec.yaml_lines import (
    MAX_BYTES,
    Loc,
    Located,
    compose,
    placed_warnings,
    pydantic_problems,
    raise_first,
)
from verifier.waivers import load_waivers


def _duplicates(items: list[Any], section: str, located: Located) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, item in enumerate(items):
        if item.id in first:
            line, _ = located.line((section, first[item.id], "id"))
            problems.append(((section, index, "id"), f"duplicate id {item.id!r} (first at line {line})"))
        first.setdefault(item.id, index)
    return problems


def parse_spec(text: str, *, file: str = "<spec>", repo: Path | str | None = None,
               probes: Mapping[str, type[Probe]] | None = None, spec_dir: Path | None = None) -> Spec:
    """Validate spec ``text`` (named ``file`` in errors) against ``probes`` (default: the installed
    ones), when given the repository ``repo`` (paths exist, stay inside), and when given the spec's
    directory ``spec_dir`` the agency's assets beside it and its waiver file (read and checked);
    ``SpecError`` on the first problem by line, doubts in ``Spec.warnings``."""
    if probes is None:
        probes = available_probes()
    data, located = compose(text, file)
    context: dict[str, Any] = {"repo": Path(repo) if repo is not None else None}
    try:
        spec = Spec.model_validate(data, context=context)
    except ValidationError as err:
        raise_first(file, located, pydantic_problems(err, Spec))
        raise  # unreachable: ValidationError always carries errors
    warnings: list[tuple[Loc, str]] = []
    problems = _duplicates(spec.indicators, "indicators", located)
    problems += _duplicates(spec.functions, "functions", located)
    for index, indicator in enumerate(spec.indicators):
        problems += bind_indicator(indicator, index, probes, spec, context, warnings)
    if spec.service is not None:
        problems += _service_port(spec.service, warnings)
    problems += runtime_placeholder_problems(spec, data)
    problems += runtime_location_checks(spec, Path(repo) if repo is not None else None, spec_dir, warnings)
    if spec_dir is not None:
        assets, asset_problems = asset_checks(data, spec_dir)
        problems += asset_problems
        spec._assets = tuple(assets)
    if repo is not None:
        problems += _repository_checks(spec, Path(repo), warnings)
    if spec_dir is not None and spec.waivers is not None:
        try:
            load_waivers((spec_dir / spec.waivers).resolve(), probes)
        except InputError as err:
            problems.append((("waivers",), str(err)))
    raise_first(file, located, problems)
    spec._source = text.encode("utf-8")
    spec._sha256 = hashlib.sha256(spec._source).hexdigest()
    spec._warnings = placed_warnings(file, located, warnings)
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
    spec = parse_spec(text, file=file, repo=repo, probes=probes, spec_dir=path.resolve().parent)
    spec._path = path.resolve()
    spec._source = raw
    spec._sha256 = hashlib.sha256(raw).hexdigest()
    return spec
