"""Standard output formats other tools read: SPDX and CycloneDX SBOMs, SARIF, JUnit XML.

Each format is an ``OutputFormat`` (``verifier.formats.interface``) registered under the
``verifier.formats`` entry-point group, the built-in ones included (see ``pyproject.toml``), so a
package can add one without touching verifier::

    [project.entry-points."verifier.formats"]
    my-format = "my_package.module:MyFormat"

``render(name, data)`` makes one document from a run's data (``RunData``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points

from verifier.errors import InputError
from verifier.formats.interface import FormatError, OutputFormat, RunData

ENTRY_POINT_GROUP = "verifier.formats"

__all__ = ["ENTRY_POINT_GROUP", "FormatError", "OutputFormat", "RunData", "available_formats",
           "format_names", "get_format", "render"]


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
