"""Prepare a delivered tree for scanning: a directory, a git working tree, or an archive extracted
safely into a temporary directory that is removed afterwards.

Archives are read by ``verifier.archive`` under its ``Limits`` (entries, bytes, expansion ratio,
member size): an entry that would land outside the extraction directory (``../``, an absolute path,
a drive letter, a NUL) refuses the whole archive; links, devices and FIFOs are never created (they
are reported in ``SourceInfo.skipped``); a limit stops an archive bomb while it is being written.
Nothing from the tree is executed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from verifier.archive import SUPPORTED, Limits, NotAnArchive, extract, is_archive_name
from verifier.delivery import SkippedPath, SourceInfo
from verifier.errors import InputError
from verifier.evidence import sha256_file
from verifier.git import GitError, read_state
from verifier.vcs import VCS_DIRS, vcs_metadata


@contextlib.contextmanager
def open_source(path: str | os.PathLike[str], *, limits: Limits | None = None,
                include_ignored: bool = False) -> Iterator[SourceInfo]:
    """Yield the ``SourceInfo`` of PATH (directory, git working tree or archive); an extracted
    archive's temporary directory is removed on exit. Unusable input raises ``InputError``; an
    archive is read within ``limits`` (``verifier.archive.DEFAULT_LIMITS`` unless given).

    In a git working tree, what git ignores (a virtualenv, build output, installed node_modules) is
    not part of the committed delivery: it is listed in ``SourceInfo.ignored`` for the inventory to
    skip, unless ``include_ignored``."""
    given = os.fspath(path)
    try:
        info = os.stat(given)
    except FileNotFoundError:
        raise InputError(f"{given}: no such file or directory") from None
    except OSError as err:
        raise InputError(f"{given}: cannot access: {err.strerror or err}") from None
    if stat.S_ISDIR(info.st_mode):
        root = Path(given).resolve()
        _require_files(given, root)
        yield _directory_info(given, root, include_ignored)
        return
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{given}: not a directory or a regular file")
    workdir = Path(tempfile.mkdtemp(prefix="verifier-src-"))
    try:
        digest, skipped = _extract(given, workdir, limits)
        root, notes = _archive_root(workdir)
        _require_files(given, root)
        yield SourceInfo(given=given, kind="archive", root=root, archive_sha256=digest,
                         skipped=tuple(skipped), notes=tuple(notes))
    finally:
        _remove_tree(workdir)


# --- directories (git state: verifier.git) -------------------------------------------------------------------------

def _require_files(given: str, root: Path) -> None:
    """Raise ``InputError`` unless the tree holds at least one regular file outside version-control
    metadata (``verifier.vcs``)."""
    stack = [os.fspath(root)]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as it:
                for entry in it:
                    if entry.name in VCS_DIRS and vcs_metadata(
                            entry.path, entry.name, entry.is_dir(follow_symlinks=False)):
                        continue
                    if entry.is_file(follow_symlinks=False):
                        return
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError as err:
            if directory == os.fspath(root):
                raise InputError(f"{given}: cannot read directory: {err.strerror or err}") from None
    raise InputError(f"{given}: no files to inventory (empty directory"
                     f"{' or archive' if is_archive_name(given) else ''})")


def _directory_info(given: str, root: Path, include_ignored: bool = False) -> SourceInfo:
    try:
        state = read_state(root, ignored=not include_ignored)
    except GitError as err:
        return SourceInfo(given=given, kind="directory", root=root,
                          notes=(f"{err}: scanned as a plain directory (no commit recorded)",))
    if state is None:
        return SourceInfo(given=given, kind="directory", root=root)
    notes = []
    if state.subpath != ".":
        notes.append(f"PATH is a sub-directory of the git working tree {state.top}")
    if state.commit is None:
        notes.append("the git repository has no commit yet")
    notes += state.notes
    if not include_ignored and state.ignored is None:
        notes.append("files git ignores are scanned too")
    return SourceInfo(given=given, kind="git", root=root, commit=state.commit, dirty=state.dirty,
                      notes=tuple(notes), ignored=state.ignored or ())


# --- archives (verifier.archive) -----------------------------------------------------------------

def _extract(given: str, dest: Path, limits: Limits | None) -> tuple[str, list[SkippedPath]]:
    """Extract ``given`` into ``dest``; return its sha256 and the entries not extracted."""
    try:
        digest = sha256_file(Path(given))
    except OSError as err:
        raise InputError(f"{given}: cannot read: {err.strerror or err}") from None
    try:
        skipped = extract(given, dest, limits)
    except NotAnArchive:
        if is_archive_name(given):
            raise
        raise InputError(f"{given}: not a directory or a supported archive ({SUPPORTED})") from None
    return digest, [SkippedPath(s.path, s.reason, target=s.target) for s in skipped]


def _archive_root(workdir: Path) -> tuple[Path, list[str]]:
    """The extraction directory, or its only entry when that is a directory (``project-1.0/``)."""
    entries = list(os.scandir(workdir))
    if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
        return Path(entries[0].path), [f"the archive holds one top directory {entries[0].name!r}; "
                                       "paths are relative to it"]
    return workdir, []


def _remove_tree(path: Path) -> None:
    def _retry(func, target, _exc):  # a directory left read-only: make it writable, try again
        try:
            os.chmod(os.path.dirname(target), 0o700)
            func(target)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_retry)
    else:
        shutil.rmtree(path, onerror=_retry)
