"""The agency's own test assets: locustfiles, scripts and data that live beside the task book.

A testing agency brings its own files; they belong to it, not to the delivered repository, so a
task book names them relative to its own directory: ``{spec_dir}/locustfile.py`` as a path
(``locustfile: "{spec_dir}/locustfile.py"``) or inside a command (``["{runtime.python}",
"{spec_dir}/scripts/pass_rate.py"]``). Such a reference must stay below the task book's directory
(no ``..``, no absolute path, no symbolic link out of it) and must exist when the spec is loaded
(``asset_references``, ``asset_problem``: one line at the reference's line of the spec).

At the start of a run every referenced file (every file below a referenced directory) is hashed,
and copied into the run directory under ``assets/`` (``collect_assets``), so that the evidence and
the bundle hold exactly what was run. They are never written into the delivered repository.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.evidence import sha256_file
from verifier.repo_paths import SPEC_DIR_PREFIX, normalize_repo_path

__all__ = ["SPEC_DIR_PREFIX", "Asset", "asset_problem", "asset_references", "collect_assets"]
#: ``{spec_dir}/PATH`` inside any string of the spec: PATH runs to the next space, quote or shell sign.
_REFERENCE = re.compile(r"\{spec_dir\}/([^\s'\"`\\;|&<>(){}$*?]+)")
#: Limits on what is copied into the run (beyond them a file is hashed, not copied).
MAX_FILES = 2_000
MAX_COPY_BYTES = 64 << 20
MAX_TOTAL_COPY_BYTES = 512 << 20


def asset_references(data: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every ``{spec_dir}/PATH`` in the spec's data (any string, at any depth), with its field
    path, PATH as written."""
    if isinstance(data, str):
        for match in _REFERENCE.finditer(data):
            yield loc, match.group(1).rstrip(".,:")
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from asset_references(value, loc + (str(key),))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from asset_references(value, loc + (index,))


def asset_problem(spec_dir: Path, rel: str) -> str | None:
    """Why ``{spec_dir}/REL`` cannot be used as an asset (escapes, missing, a link out, not a file
    or directory), or None."""
    try:
        normalized = normalize_repo_path(rel)
    except ValueError as exc:
        return str(exc).replace("the repository", "the task book's directory")
    root = spec_dir.resolve()
    path = spec_dir / normalized
    if not os.path.lexists(path):
        return f"asset {SPEC_DIR_PREFIX}{normalized} does not exist beside the task book (in {spec_dir})"
    target = path.resolve()
    if target != root and not target.is_relative_to(root):
        return f"asset {SPEC_DIR_PREFIX}{normalized} leads out of the task book's directory to {target}"
    if not (target.is_file() or target.is_dir()):
        return f"asset {SPEC_DIR_PREFIX}{normalized} is neither a regular file nor a directory"
    return None


@dataclass(frozen=True)
class Asset:
    """One file of the agency's assets, as hashed (and copied) into a run."""

    path: str
    """POSIX path relative to the task book's directory."""
    sha256: str
    size: int
    copied_to: str | None
    """Where it was copied, relative to the run directory (None: too large, hashed only)."""


def collect_assets(spec_dir: Path, references: list[str], run_dir: Path) -> list[Asset]:
    """Hash every file the ``references`` name (below a directory: every file, links not followed),
    copy each into ``run_dir/assets/`` within the limits; sorted by path."""
    root = spec_dir.resolve()
    files: dict[str, Path] = {}
    for rel in references:
        normalized = normalize_repo_path(rel)
        start = root / normalized
        if start.is_dir():
            for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
                dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
                for name in filenames:
                    path = Path(dirpath) / name
                    if path.is_file() and not path.is_symlink():
                        files[path.relative_to(root).as_posix()] = path
        elif start.is_file():
            files[normalized] = start
        if len(files) > MAX_FILES:
            break
    out: list[Asset] = []
    copied_bytes = 0
    for rel in sorted(files)[:MAX_FILES]:
        path = files[rel]
        size = path.stat().st_size
        copied_to = None
        if size <= MAX_COPY_BYTES and copied_bytes + size <= MAX_TOTAL_COPY_BYTES:
            target = run_dir / "assets" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied_bytes += size
            copied_to = target.relative_to(run_dir).as_posix()
        out.append(Asset(rel, sha256_file(path), size, copied_to))
    return out
