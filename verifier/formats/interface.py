"""The one interface every output format implements, and the data it renders.

An output format turns the canonical data of a run (``RunData``: results.json, the origin analysis,
the evidence listing) into the bytes of one standard document: an SPDX or CycloneDX SBOM, a SARIF
log, a JUnit XML report. ``OutputFormat.render`` is a pure function of that data: no clock, no host,
no file system, so the same run renders to the same bytes anywhere (``verifier verify`` re-renders
the copies a bundle carries and compares them byte for byte). A format that cannot render raises
``FormatError``.

Everything taken from the delivered repository (file names, component names, test names, tool
output) is data: ``text`` makes it printable (control characters and undecodable bytes of file names
shown as visible escapes) before it goes into any document.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from verifier import __version__
from verifier.errors import InputError
from verifier.results import Project, RunResult
from verifier.run_files import RunFile, RunFiles
from verifier.textsafe import printable

#: Largest origin analysis (origin.json) a format reads.
MAX_ORIGIN_BYTES = 1 << 30


class FormatError(InputError):
    """The run's data cannot be rendered in this format (missing or unusable data). Exit 2."""


@dataclass(frozen=True)
class RunData:
    """What a format renders: the run's canonical data, already read and validated."""

    project: Project
    """The product: name, version, applicant, owners (from results.json or the task book)."""
    created: str
    """When the data was made (ISO 8601, UTC): the run's end, or the origin scan's time."""
    origin: Mapping[str, Any] | None = None
    """The full origin analysis (``origin/origin.json``, the ``verifier origin --json`` document);
    None when the run has none."""
    result: RunResult | None = None
    """The run's results.json; None for an origin scan on its own."""
    files: Mapping[str, RunFile] = field(default_factory=dict)
    """The run's evidence files (relative POSIX path -> sha256, size); empty for an origin scan."""
    tool_version: str = __version__
    """The verifier version stated as the documents' creator."""

    @classmethod
    def from_run(cls, result: RunResult, files: RunFiles) -> RunData:
        """The data of a run: ``result`` and its files (a run directory's or a bundle's listing);
        the origin analysis is read through ``files`` only. ``FormatError`` when it is unusable."""
        origin = None
        rel = result.origin.files_path if result.origin is not None else None
        if rel:
            raw = files.read(rel, MAX_ORIGIN_BYTES)
            if raw is None:
                raise FormatError(f"{rel}: the run's origin analysis is missing or unreadable")
            try:
                origin = json.loads(raw)
            except (ValueError, RecursionError) as err:
                raise FormatError(f"{rel}: not JSON ({err})") from None
            if not isinstance(origin, dict) or not isinstance(origin.get("files"), list):
                raise FormatError(f"{rel}: not an origin analysis (no 'files' list)")
        return cls(project=result.project, created=result.finished_at or result.started_at,
                   origin=origin, result=result, files=dict(files.entries))

    @classmethod
    def from_origin(cls, origin: Mapping[str, Any], project: Project, created: str) -> RunData:
        """The data of an origin scan on its own (``verifier origin --format``)."""
        return cls(project=project, created=created, origin=origin)


class OutputFormat(ABC):
    """One standard output format. Subclass it, and register the subclass under the
    ``verifier.formats`` entry-point group (see ``verifier.formats.available_formats``)."""

    name: ClassVar[str]
    """What ``--format`` calls it, e.g. ``spdx``."""
    media_type: ClassVar[str]
    """The document's media type, e.g. ``application/spdx+json``."""
    filename: ClassVar[str]
    """Its file name in ``RUN_DIR/reports/`` and in a bundle, e.g. ``sbom.spdx.json``."""
    description: ClassVar[str]
    """One line: what the document holds."""
    needs_run: ClassVar[bool] = True
    """False when an origin scan alone is enough (the SBOMs); True when it needs results.json."""

    @abstractmethod
    def render(self, data: RunData) -> bytes:
        """The document for ``data``; a pure function of it. ``FormatError`` when it cannot be made."""


def text(value: object) -> str:
    """``value`` as printable text: control characters, bidirectional controls and undecodable bytes
    of file names (lone surrogates) shown as visible escapes, everything else as written."""
    return printable("" if value is None else value)


def origin_files(data: RunData) -> list[dict[str, Any]]:
    """The origin analysis's per-file entries that have a path (an empty list without one)."""
    files = data.origin.get("files") if data.origin is not None else None
    if not isinstance(files, list):
        return []
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]


def origin_components(data: RunData) -> list[dict[str, Any]]:
    """The vendored components of the origin analysis (from results.json when it has no analysis)."""
    comps = data.origin.get("components") if data.origin is not None else None
    if comps is None and data.result is not None and data.result.origin is not None:
        comps = data.result.origin.components
    return [c for c in comps or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]


def _origin_list(data: RunData, key: str) -> list[dict[str, Any]]:
    """The origin analysis's list ``key`` (results.json's copy when there is no analysis or it has
    none: an analysis made before verifier listed it)."""
    items = data.origin.get(key) if data.origin is not None else None
    if items is None and data.result is not None and data.result.origin is not None:
        items = getattr(data.result.origin, key)
    return [item for item in items or [] if isinstance(item, dict)]


def origin_dependencies(data: RunData) -> list[dict[str, Any]]:
    """The delivery's declared dependencies (``verifier.kb.deps``: ecosystem, name, version, direct,
    declared_in, license, registry, requirement, required_by) that have a name."""
    return [d for d in _origin_list(data, "dependencies") if isinstance(d.get("name"), str) and d["name"]]


def origin_cdn_assets(data: RunData) -> list[dict[str, Any]]:
    """The assets the delivery's templates load from public CDNs (url, file, line, host, package,
    version) that have a URL."""
    return [a for a in _origin_list(data, "cdn_assets") if isinstance(a.get("url"), str) and a["url"]]
