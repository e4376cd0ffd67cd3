"""The files of a run as a report sees them: a listing (path, sha256, size) and a way to read one.

A report shows the run's evidence files with their hashes (its appendix) and reads one of them, the
origin analysis, for its file table. Rendering only through ``RunFiles`` makes the report a function
of data that can be named exactly: ``from_dir`` for a run directory (``verifier report``), or a
listing plus a reader over any container, such as a bundle's manifest and zip (``verifier verify``
re-renders the reports it packs and compares the bytes). Nothing outside the listing is ever read.

Reports are not evidence: a run directory's ``reports/`` folder and ``report.LANG.EXT`` files at its
top (``is_report``) are left out of every listing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from verifier.evidence import sha256_file

REPORTS_DIR = "reports"
_REPORT_NAME = re.compile(r"report\.(zh|en)\.(html|pdf|md|json)")


def is_report(rel: str) -> bool:
    """Whether ``rel`` (a POSIX path relative to a run directory) is where reports go, not evidence:
    anything under ``reports/`` or a ``report.LANG.EXT`` file at the top."""
    return rel.startswith(REPORTS_DIR + "/") or rel == REPORTS_DIR or _REPORT_NAME.fullmatch(rel) is not None


def run_dir_files(run: Path) -> list[str]:
    """Relative POSIX paths of the regular files of a run directory, sorted: links (and what lies
    behind a linked directory) and the temporary files of atomic writes left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(run, followlinks=False):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = Path(dirpath, name)
            if full.is_symlink() or not full.is_file() or (name.startswith(".") and name.endswith(".tmp")):
                continue
            found.append(full.relative_to(run).as_posix())
    return sorted(found)


@dataclass(frozen=True)
class RunFile:
    """One evidence file of a run."""

    sha256: str
    size: int


class RunFiles:
    """The evidence files of a run (reports left out) and their bytes, read only through ``read``."""

    def __init__(self, entries: Mapping[str, RunFile], reader: Callable[[str, int], bytes | None]) -> None:
        self.entries: dict[str, RunFile] = {rel: entries[rel] for rel in sorted(entries) if not is_report(rel)}
        self._reader = reader

    @classmethod
    def from_dir(cls, run: str | os.PathLike[str], rels: list[str] | None = None) -> RunFiles:
        """The files of the run directory ``run`` (``rels``, default every file ``run_dir_files``
        lists), hashed now; ``read`` opens only those, never through a link."""
        root = Path(run)
        listed = run_dir_files(root) if rels is None else rels
        entries = {}
        for rel in listed:
            if is_report(rel):
                continue
            full = root / rel
            entries[rel] = RunFile(sha256=sha256_file(full), size=full.stat().st_size)

        def read(rel: str, limit: int) -> bytes | None:
            full = root / rel
            try:
                if full.is_symlink() or full.stat().st_size > limit:
                    return None
                return full.read_bytes()
            except OSError:
                return None
        return cls(entries, read)

    def read(self, rel: str, limit: int) -> bytes | None:
        """The bytes of the listed file ``rel``; None when it is not listed, larger than ``limit``
        or unreadable."""
        if rel not in self.entries or self.entries[rel].size > limit:
            return None
        data = self._reader(rel, limit)
        return data if data is not None and len(data) <= limit else None
