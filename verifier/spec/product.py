"""Checks of what a task book says about the product beyond its indicators, done while it is loaded:

- every ``{runtime.python}``-style placeholder, wherever it stands, names something ``runtime:``
  declares;
- every agency asset (``{spec_dir}/PATH``, in a path or inside a command) exists beside the task
  book and stays below its directory (``verifier.product.assets``);
- the runtime's locations: an absolute one is a warning (the task book would not run the same
  elsewhere); one that must exist already (no ``runtime.setup`` makes it) and does not is an
  error — beside the task book always, in the repository when the spec is loaded with one.

Problems and warnings come back as ``(field path, text)`` pairs for ``verifier.spec.yaml_lines``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verifier.placeholders import RUNTIME_PLACEHOLDERS, describe, placeholders
from verifier.product.assets import asset_problem, asset_references
from verifier.product.runtime import SPEC_DIR_PREFIX, is_name, location_problem
from verifier.spec.model import Spec
from verifier.spec.yaml_lines import Loc


def _strings(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    if isinstance(data, str):
        yield loc, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, loc + (str(key),))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, loc + (index,))


def runtime_placeholder_problems(spec: Spec, data: Any) -> list[tuple[Loc, str]]:
    """``{runtime.X}`` used anywhere in the spec while ``runtime:`` declares no X."""
    declared = spec.runtime.declared_placeholders() if spec.runtime is not None else set()
    problems: list[tuple[Loc, str]] = []
    for loc, text in _strings(data):
        used = sorted(n for n in placeholders(text) if n.startswith("runtime."))
        for name in used:
            if name not in RUNTIME_PLACEHOLDERS:
                problems.append((loc, f"unknown placeholder {{{name}}} (known: {describe(RUNTIME_PLACEHOLDERS)})"))
            elif name not in declared:
                need = "venv or python" if name == "runtime.python" else name.split(".", 1)[1]
                problems.append((loc, f"{{{name}}} is used, but the runtime: section declares no {need}"))
    return problems


def asset_checks(data: Any, spec_dir: Path) -> tuple[list[str], list[tuple[Loc, str]]]:
    """The agency assets the spec names (``{spec_dir}/PATH``, in order, once each) and the problems
    of those that cannot be used. Runtime locations beside the task book are not assets."""
    found: list[str] = []
    problems: list[tuple[Loc, str]] = []
    for loc, rel in asset_references(data):
        if loc[:1] == ("runtime",) and len(loc) == 2 and loc[1] in ("venv", "python", "node", "java"):
            continue  # a runtime location, checked as such (it may be made by runtime.setup)
        problem = asset_problem(spec_dir, rel)
        if problem:
            problems.append((loc, problem))
        elif rel not in found:
            found.append(rel)
    return found, problems


def runtime_location_checks(spec: Spec, repo: Path | None, spec_dir: Path | None,
                            warnings: list[tuple[Loc, str]]) -> list[tuple[Loc, str]]:
    """The runtime's locations: absolute ones warned about; those no setup makes checked where
    their directory is known (the repository only when given)."""
    if spec.runtime is None:
        return []
    problems: list[tuple[Loc, str]] = []
    for key, value in spec.runtime.locations().items():
        loc: Loc = ("runtime", key)
        if value.startswith("/"):
            warnings.append((loc, f"{value!r} is an absolute path: the task book will not run the same on "
                                  "another machine (write it relative to the repository, or "
                                  f"{SPEC_DIR_PREFIX}PATH beside the task book)"))
            continue
        if spec.runtime.setup or (is_name(value) and key != "venv"):
            continue  # made by runtime.setup, or looked up on PATH at run time
        beside = value.startswith(SPEC_DIR_PREFIX)
        if (beside and spec_dir is None) or (not beside and repo is None):
            continue
        problem = location_problem(key, value, repo=repo or Path("."), spec_dir=spec_dir or Path("."))
        if problem:
            problems.append((loc, problem + " (declare runtime.setup to make it)"))
    return problems
