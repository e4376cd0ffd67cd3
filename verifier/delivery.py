"""The delivered tree as prepared for scanning: where it came from (``SourceInfo``, made by
``verifier.source``) and the paths of it that were not scanned (``SkippedPath``, from extraction and
the inventory). Plain data, importing nothing of verifier's, so that the preparation and every origin
stage can share it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class SkippedPath:
    """A path that was not inventoried, and why (symlink, special file, unreadable directory …)."""

    path: str
    reason: str
    target: str | None = None
    """For a symbolic link: where it points (as stored in the link)."""
    inside: bool | None = None
    """For a symbolic link: whether its target resolves inside the tree (it is never followed)."""


@dataclass(frozen=True)
class SourceInfo:
    """Where the delivered tree came from."""

    given: str
    """PATH as the user gave it."""
    kind: Literal["directory", "git", "archive"]
    root: Path
    """The directory that was scanned (a temporary extraction directory for archives)."""
    commit: str | None = None
    """HEAD commit of a git working tree."""
    dirty: bool | None = None
    """Whether the git working tree has uncommitted changes (untracked files included)."""
    archive_sha256: str | None = None
    skipped: tuple[SkippedPath, ...] = ()
    """Archive entries that were not extracted (links, devices, name conflicts), with the reason."""
    notes: tuple[str, ...] = ()
    """What happened while preparing the tree (git unavailable, single top directory entered …)."""
    ignored: tuple[str, ...] = ()
    """Paths under ``root`` that git ignores (.gitignore, .git/info/exclude, core.excludesFile) and
    that are therefore not scanned: files, and whole directories with a trailing ``/``."""
