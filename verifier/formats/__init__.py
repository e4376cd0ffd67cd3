"""Standard output formats other tools read: SPDX and CycloneDX SBOMs, SARIF, JUnit XML.

Each format is an ``OutputFormat`` (``verifier.formats.interface``) registered under the
``verifier.formats`` entry-point group, the built-in ones included (see ``pyproject.toml``), so a
package can add one without touching verifier::

    [project.entry-points."verifier.formats"]
    my-format = "my_package.module:MyFormat"

``render(name, data)`` makes one document from a run's data (``RunData``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from verifier.errors import InputError
from verifier.formats.interface import FormatError, OutputFormat, RunData
from verifier.results import Project
from verifier.run_files import RunFiles

ENTRY_POINT_GROUP = "verifier.formats"

#: the formats verifier ships, which a bundle carries (rendered from its data, re-rendered by verify)
BUILT_IN = ("spdx", "cyclonedx", "sarif", "junit")

__all__ = ["BUILT_IN", "ENTRY_POINT_GROUP", "FormatError", "OutputFormat", "RunData", "available_formats",
           "default_output", "format_names", "get_format", "render", "render_origin", "render_run"]


def format_names() -> tuple[str, ...]:
    """The names registered under ``verifier.formats``, sorted (nothing is imported)."""
    return tuple(sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}))


@cache
def available_formats() -> Mapping[str, type[OutputFormat]]:
    """Every format registered under the ``verifier.formats`` entry-point group, by name."""
    return {name: _load(name) for name in format_names()}


@cache
def _load(name: str) -> type[OutputFormat]:
    """The class registered as ``name`` (only that entry point is imported)."""
    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, OutputFormat)):
            raise InputError(f"entry point {ep.name!r} ({ep.value}) is not a verifier OutputFormat")
        return cls
    raise InputError(f"unknown output format {name!r} (known: {', '.join(format_names()) or 'none'})")


def get_format(name: str) -> OutputFormat:
    """The format called ``name``; ``InputError`` naming the known ones otherwise."""
    return _load(name)()


def render(name: str, data: RunData) -> bytes:
    """The document of format ``name`` for ``data``; ``FormatError`` when a run is needed and
    ``data`` has none, or the format cannot render it."""
    fmt = get_format(name)
    if fmt.needs_run and data.result is None:
        raise FormatError(f"the {name} format renders a run (results.json), not an origin scan alone")
    return fmt.render(data)


def default_output(run_dir: str | os.PathLike[str], name: str) -> Path:
    """Where ``verifier report --format NAME`` writes without ``-o``: ``RUN_DIR/reports/FILENAME``."""
    return Path(run_dir) / "reports" / get_format(name).filename


def render_run(run_dir: str | os.PathLike[str], name: str) -> bytes:
    """The document of format ``name`` for the run directory ``run_dir`` (its results.json, validated,
    and its files)."""
    from verifier.report import load_run  # heavy: Jinja2 and the report model, only to render a run

    fmt = get_format(name)
    result = load_run(run_dir)
    return fmt.render(RunData.from_run(result, RunFiles.from_dir(run_dir)))


def render_origin(origin: Mapping[str, Any], name: str, project: Project) -> bytes:
    """The document of format ``name`` for an origin analysis on its own (``verifier origin --format``),
    stamped with the current time."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    return render(name, RunData.from_origin(origin, project, stamp))
