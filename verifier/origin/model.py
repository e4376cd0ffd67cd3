"""Data shared by the origin stages: the inventory of a delivered tree.

``verifier.source`` prepares the tree (directory, git working tree or archive), ``inventory``
walks it and counts effective lines, ``classify`` decides each counted file's origin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

#: The five origin classes, in report order.
ORIGINS: tuple[str, ...] = ("self", "third_party", "generated", "excluded", "unknown")

Kind = Literal["source", "doc", "data", "binary", "other"]


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


@dataclass(frozen=True)
class InventoryEntry:
    """One regular file of the delivered tree."""

    path: str
    """Relative to the root, POSIX separators, as a str (non-UTF-8 names are surrogate-escaped)."""
    size: int
    """Bytes."""
    sha256: str
    """Hex digest of the content."""
    kind: Kind
    """``source`` files are counted; docs, data, binaries and others are inventoried only."""
    language: str | None
    """Language name as pygount/pygments reports it, for source files."""
    lines: int
    """Effective lines (non-blank, non-comment) for source files; 0 otherwise."""
    is_test: bool
    """Recognised as test code (see ``inventory.TEST_RULE``)."""
    problem: str | None = None
    """Why the file could not be read or counted (undecodable, unreadable, too large …)."""
    encoding: str | None = None
    """Text encoding the file was decoded with (source files), e.g. ``utf-8`` or ``gb18030``."""
    max_line_length: int = 0
    """Longest line in characters (source files), a hint for minified or bundled assets."""
    minified: str | None = None
    """Why the inventory took the file for a minified or bundled asset before lexing it
    (``verifier.origin.minified``): it was not lexed, ``lines`` are its non-blank lines."""
    sha1: str = ""
    """SHA-1 hex digest of the content (SPDX requires it of every file)."""


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
class Inventory:
    """The inventory of a delivered tree."""

    source: SourceInfo
    entries: tuple[InventoryEntry, ...]
    skipped: tuple[SkippedPath, ...] = ()
    counting: str = ""
    """The counting rule in words, stated in every output."""
    test_rule: str = ""
    """How test code is recognised, in words."""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    counted: int = 0
    """Source files counted in this run (cache misses)."""
    cached: int = 0
    """Source files whose count came from the result cache."""
