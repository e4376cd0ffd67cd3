"""Prepare a delivered tree for scanning: a directory, a git working tree, or an archive extracted
safely into a temporary directory that is removed afterwards.

Safe extraction means: an entry that would land outside the extraction directory (``../``, an
absolute path, a drive letter) refuses the whole archive; links, devices and FIFOs are never
created (they are reported in ``SourceInfo.skipped``); file-count, size and compression-ratio
limits stop archive bombs while they are being written. Nothing from the tree is executed.
"""

from __future__ import annotations

import contextlib
import hashlib
import lzma
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from verifier.errors import InputError
from verifier.git import GitError, read_state
from verifier.origin.model import SkippedPath, SourceInfo
from verifier.origin.vcs import VCS_DIRS, vcs_metadata

#: Most entries (files, directories, links) an archive may hold.
DEFAULT_MAX_FILES = 200_000
#: Most bytes an archive may expand to.
DEFAULT_MAX_BYTES = 4 * 1024 ** 3
#: Largest expansion factor (extracted bytes ÷ archive bytes, overall and per zip entry) once more
#: than ``RATIO_FLOOR`` bytes were written. Source archives compress 3-10×; bombs 1000× and more.
DEFAULT_MAX_RATIO = 200.0
RATIO_FLOOR = 8 * 1024 * 1024

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2",
                    ".tbz")
_SUPPORTED = ".zip, .tar, .tar.gz/.tgz, .tar.xz, .tar.bz2"
_CHUNK = 1 << 20
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError,
            NotImplementedError, ValueError, OSError)


@contextlib.contextmanager
def open_source(path: str | os.PathLike[str], *, max_files: int = DEFAULT_MAX_FILES,
                max_bytes: int = DEFAULT_MAX_BYTES, max_ratio: float = DEFAULT_MAX_RATIO,
                include_ignored: bool = False) -> Iterator[SourceInfo]:
    """Yield the ``SourceInfo`` of PATH (directory, git working tree or archive); an extracted
    archive's temporary directory is removed on exit. Unusable input raises ``InputError``.

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
    limits = _Limits(max_files, max_bytes, max_ratio, info.st_size)
    workdir = Path(tempfile.mkdtemp(prefix="verifier-src-"))
    try:
        digest, skipped = _extract(given, workdir, limits)
        root, notes = _archive_root(workdir)
        _require_files(given, root)
        yield SourceInfo(given=given, kind="archive", root=root, archive_sha256=digest,
                         skipped=tuple(skipped), notes=tuple(notes))
    finally:
        _remove_tree(workdir)


def is_archive_name(path: str) -> bool:
    """Whether ``path`` ends with a supported archive suffix."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


# --- directories (git state: verifier.git) -------------------------------------------------------------------------

def _require_files(given: str, root: Path) -> None:
    """Raise ``InputError`` unless the tree holds at least one regular file outside version-control
    metadata (``verifier.origin.vcs``)."""
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


# --- archives ------------------------------------------------------------------------------------

class _Limits:
    def __init__(self, max_files: int, max_bytes: int, max_ratio: float, archive_size: int):
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.archive_size = max(archive_size, 1)
        self.entries = 0
        self.written = 0

    def entry(self, given: str) -> None:
        self.entries += 1
        if self.entries > self.max_files:
            raise InputError(f"{given}: archive holds more than {self.max_files} entries "
                             "(limit max_files; refusing a possible archive bomb)")

    def wrote(self, given: str, name: str, count: int) -> None:
        self.written += count
        if self.written > self.max_bytes:
            raise InputError(f"{given}: archive expands past {self.max_bytes} bytes at entry "
                             f"{name!r} (limit max_bytes; refusing a possible archive bomb)")
        if self.written > RATIO_FLOOR and self.written > self.max_ratio * self.archive_size:
            raise InputError(f"{given}: archive expands more than {self.max_ratio:g}x its size at "
                             f"entry {name!r} (limit max_ratio; refusing a possible archive bomb)")


def _extract(given: str, dest: Path, limits: _Limits) -> tuple[str, list[SkippedPath]]:
    """Extract ``given`` into ``dest``; return its sha256 and the entries not extracted."""
    try:
        digest = hashlib.sha256()
        with open(given, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        is_zip = zipfile.is_zipfile(given)
    except OSError as err:
        raise InputError(f"{given}: cannot read: {err.strerror or err}") from None
    try:
        if is_zip:
            skipped = _extract_zip(given, dest, limits)
        else:
            try:
                archive = tarfile.open(given, "r:*")
            except tarfile.ReadError:
                if is_archive_name(given):
                    raise InputError(f"{given}: corrupt or unsupported archive: not a readable "
                                     "zip or (compressed) tar file") from None
                raise InputError(f"{given}: not a directory or a supported archive "
                                 f"({_SUPPORTED})") from None
            with archive:
                skipped = _extract_tar(given, archive, dest, limits)
    except InputError:
        raise
    except _CORRUPT as err:
        detail = " ".join(str(err).split()) or "unreadable"
        raise InputError(f"{given}: corrupt archive: {type(err).__name__}: {detail}") from None
    return digest.hexdigest(), skipped


def _extract_zip(given: str, dest: Path, limits: _Limits) -> list[SkippedPath]:
    skipped: list[SkippedPath] = []
    with zipfile.ZipFile(given) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_files:
            raise InputError(f"{given}: archive holds {len(infos)} entries, more than "
                             f"{limits.max_files} (limit max_files; refusing a possible archive bomb)")
        for info in infos:
            name = _zip_name(info)
            parts = _safe_parts(given, name)
            limits.entry(given)
            if not parts:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                with archive.open(info) as stream:
                    target = stream.read(4096).decode("utf-8", "replace")
                skipped.append(SkippedPath("/".join(parts), f"symbolic link to {target!r} in the "
                                           "archive, not created", target=target))
            elif info.is_dir():
                _make_dir(dest, parts, skipped)
            elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                skipped.append(SkippedPath("/".join(parts), "special file in the archive "
                                           f"(mode {oct(mode)}), not created"))
            else:
                if info.flag_bits & 0x1:
                    raise InputError(f"{given}: entry {name!r} is encrypted; cannot inventory it")
                if (info.file_size > RATIO_FLOOR and info.compress_size
                        and info.file_size > limits.max_ratio * info.compress_size):
                    raise InputError(f"{given}: entry {name!r} expands {info.file_size} bytes from "
                                     f"{info.compress_size} (more than {limits.max_ratio:g}x; "
                                     "limit max_ratio; refusing a possible archive bomb)")
                if limits.written + info.file_size > limits.max_bytes:
                    limits.wrote(given, name, info.file_size)
                with archive.open(info) as stream:
                    _write_file(given, name, dest, parts, stream, limits, skipped)
    return skipped


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry name, re-decoded when the zip did not flag UTF-8 (Chinese Windows tools write
    GBK names); ``_safe_parts`` takes backslashes as separators."""
    name = info.filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437", "replace")
        for encoding in ("utf-8", "gb18030"):
            try:
                name = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    return name


def _extract_tar(given: str, archive: tarfile.TarFile, dest: Path,
                 limits: _Limits) -> list[SkippedPath]:
    skipped: list[SkippedPath] = []
    for member in archive:
        limits.entry(given)
        parts = _safe_parts(given, member.name)
        if not parts:
            continue
        rel = "/".join(parts)
        if member.issym() or member.islnk():
            kind = "symbolic link" if member.issym() else "hard link"
            skipped.append(SkippedPath(rel, f"{kind} to {member.linkname!r} in the archive, "
                                       "not created", target=member.linkname))
        elif member.isdir():
            _make_dir(dest, parts, skipped)
        elif member.isreg():
            if limits.written + member.size > limits.max_bytes:
                limits.wrote(given, member.name, member.size)
            stream = archive.extractfile(member)
            if stream is not None:
                with stream:
                    _write_file(given, member.name, dest, parts, stream, limits, skipped)
        else:
            what = ("character device" if member.ischr() else "block device" if member.isblk()
                    else "FIFO" if member.isfifo() else f"type {member.type!r}")
            skipped.append(SkippedPath(rel, f"special file ({what}) in the archive, not created"))
    return skipped


_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_parts(given: str, name: str) -> list[str]:
    """The path components of entry ``name``; refuse the archive when it would escape."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise InputError(f"{given}: unsafe entry {name!r} (absolute path); refusing to extract "
                         "this archive")
    parts = [p for p in re.split(r"[\\/]", name) if p not in ("", ".")]
    if ".." in parts:
        raise InputError(f"{given}: unsafe entry {name!r} (leads outside the extraction "
                         "directory); refusing to extract this archive")
    if any("\0" in p for p in parts):
        raise InputError(f"{given}: unsafe entry {name!r} (NUL in name); refusing to extract "
                         "this archive")
    return parts


def _make_dir(dest: Path, parts: list[str], skipped: list[SkippedPath]) -> bool:
    target = os.path.join(dest, *parts)
    try:
        os.makedirs(target, exist_ok=True)
    except OSError as err:
        skipped.append(SkippedPath("/".join(parts), f"not extracted: {err.strerror or err} "
                                   "(conflicts with another entry)"))
        return False
    return True


def _write_file(given: str, name: str, dest: Path, parts: list[str], stream: BinaryIO,
                limits: _Limits, skipped: list[SkippedPath]) -> None:
    if len(parts) > 1 and not _make_dir(dest, parts[:-1], skipped):
        return
    target = os.path.join(dest, *parts)
    real = os.path.realpath(os.path.dirname(target))
    if real != os.fspath(dest) and not real.startswith(os.fspath(dest) + os.sep):
        raise InputError(f"{given}: unsafe entry {name!r} (leads outside the extraction "
                         "directory); refusing to extract this archive")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        skipped.append(SkippedPath("/".join(parts), f"not extracted: {err.strerror or err} "
                                   "(conflicts with another entry)"))
        return
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(_CHUNK):
            limits.wrote(given, name, len(chunk))
            out.write(chunk)


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
