"""Reading archives that come from elsewhere: zip, and tar plain or compressed (gzip, xz, bzip2).

Every archive verifier reads is hostile input — a delivery (``verifier.source`` extracts it for the
origin scan), a knowledge-base source (``verifier.kb.build`` reads it in memory), an evidence bundle
(``verifier.bundle.verify`` checks it without extracting) — and all of them are read here, under one
set of limits (``Limits``):

- names: an entry whose path is absolute (``/``, ``\\``, a drive letter), climbs out with ``..`` or
  holds a NUL is unsafe. The archive is refused (``ArchiveError``); a caller that reports instead
  (bundle verification) gets the member with its ``problem`` and cannot read it. ``/`` and ``\\``
  both separate names (Windows tools write backslashes); a zip name not flagged UTF-8 is re-decoded
  (UTF-8, else GB18030: Chinese Windows tools write GBK);
- entries: links (symbolic, hard), devices and FIFOs are listed with their kind, never created
  (``extract`` reports them as skipped) and never read;
- size: the number of entries, the bytes the archive expands to, the bytes of one member and the
  expansion ratio (expanded bytes ÷ archive bytes, overall and per zip entry, once past
  ``ratio_floor``) are checked from declared sizes before a member is read; a tar stream is also
  counted as it is decompressed (headers included), so a bomb hidden where no member declares it —
  a pax header, data skipped over — stops at the limit too;
- reads: a member's stream never yields more than its declared size, and ``read`` takes a bound.

Errors are ``ArchiveError`` (an ``InputError``: one line naming the archive, exit 2);
``NotAnArchive`` when the file is neither a zip nor a tar.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from verifier.errors import InputError

#: Most entries (files, directories, links) an archive may hold.
DEFAULT_MAX_FILES = 200_000
#: Most bytes an archive may expand to, and one member may hold.
DEFAULT_MAX_BYTES = 4 * 1024 ** 3
#: Largest expansion factor once more than ``RATIO_FLOOR`` bytes came out. Source archives
#: compress 3-10 times; bombs 1000 times and more.
DEFAULT_MAX_RATIO = 200.0
RATIO_FLOOR = 8 * 1024 * 1024
#: Bytes of tar headers (pax records, GNU long names) allowed per entry; real ones take hundreds.
TAR_HEADER_ALLOWANCE = 64 * 1024
#: The names of the archives verifier reads (the format itself is told from the content).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tbz")
SUPPORTED = ".zip, .tar, .tar.gz/.tgz, .tar.xz, .tar.bz2"

_CHUNK = 1 << 20
_BLOCK = tarfile.BLOCKSIZE
_READ_AHEAD = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
#: what reading a damaged or hostile zip or tar can raise (zipfile, tarfile, zlib, lzma, bz2, struct …)
READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError,
               struct.error, EOFError, OSError, ValueError, KeyError, TypeError, IndexError, OverflowError,
               RuntimeError, NotImplementedError)
_BOMB = "refusing a possible archive bomb"


@dataclass(frozen=True)
class Limits:
    """What an archive may hold; each is checked while the archive is read, before anything past it is."""

    max_files: int = DEFAULT_MAX_FILES
    """Entries of any kind."""
    max_bytes: int = DEFAULT_MAX_BYTES
    """Bytes all members expand to together."""
    max_member_bytes: int = DEFAULT_MAX_BYTES
    """Bytes one member expands to."""
    max_ratio: float = DEFAULT_MAX_RATIO
    """Expanded bytes ÷ archive bytes (and, in a zip, a member's ÷ its compressed bytes)."""
    ratio_floor: int = RATIO_FLOOR
    """Expanded bytes below which the ratio is not checked (small archives of repetitive text)."""


#: The limits of every archive reader that is not given others.
DEFAULT_LIMITS = Limits()


class ArchiveError(InputError):
    """An archive verifier refuses or cannot read; ``str()`` is ``"ARCHIVE: detail"``."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.detail = detail
        """The message without the archive's name."""


class NotAnArchive(ArchiveError):
    """The file is neither a zip nor a (compressed) tar."""


MemberKind = Literal["file", "dir", "symlink", "hardlink", "special"]


@dataclass(frozen=True)
class Member:
    """One entry of an archive, as ``ArchiveReader`` lists it."""

    name: str
    """The name as stored (a zip name not flagged UTF-8 re-decoded)."""
    path: str
    """Its relative POSIX path: ``/`` and ``\\`` separate, ``.`` and empty parts dropped; ``""`` for the
    archive's top and for a member with a ``problem``."""
    kind: MemberKind
    size: int
    """Declared bytes of its data (0 for directories and links in a tar)."""
    target: str | None = None
    """Where a link points, as stored."""
    what: str = ""
    """What a ``special`` entry is: ``character device``, ``FIFO``, ``mode 0o…``, ``type 'X'``."""
    problem: str | None = None
    """Why it may not be read (unsafe name, a limit), for a reader that reports rather than refuses."""
    ref: Any = field(default=None, repr=False, compare=False)
    """The zip or tar entry behind it."""


@dataclass(frozen=True)
class Skipped:
    """An entry ``extract`` did not create, and why."""

    path: str
    reason: str
    target: str | None = None
    """For a link: where it points, as stored."""


def is_archive_name(path: str) -> bool:
    """Whether ``path`` ends with a supported archive suffix."""
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def name_problem(name: str) -> str | None:
    """Why the entry name ``name`` is unsafe (absolute, drive letter, ``..``, NUL), or None."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if "\0" in name:
        return "NUL in name"
    if ".." in re.split(r"[\\/]", name):
        return "leads outside the archive with '..'"
    return None


def _parts(name: str) -> list[str]:
    return [p for p in re.split(r"[\\/]", name) if p not in ("", ".")]


@contextlib.contextmanager
def open_archive(path: str | os.PathLike[str], limits: Limits | None = None, *, refuse: bool = True,
                 zip_only: bool = False) -> Iterator[ArchiveReader]:
    """An ``ArchiveReader`` over the zip or tar at ``path`` (``DEFAULT_LIMITS`` unless ``limits``).
    ``refuse`` False: a member with an unsafe name or past a size limit is listed with its ``problem``
    instead of refusing the archive (too many entries always refuses). ``zip_only``: a tar is refused."""
    reader = ArchiveReader(os.fspath(path), DEFAULT_LIMITS if limits is None else limits, refuse=refuse,
                           zip_only=zip_only)
    try:
        yield reader
    finally:
        reader.close()


class ArchiveReader:
    """Iterate an archive's members (``for member in reader``) and read them, within ``Limits``.

    A tar member can be read only while it is the member the iteration is at (tars are read as a
    stream, once); a zip member at any time. Iterate once."""

    def __init__(self, path: str, limits: Limits, *, refuse: bool = True, zip_only: bool = False) -> None:
        self.path = path
        self.limits = limits
        self.refuse = refuse
        self.expanded = 0
        """Declared bytes of the members listed so far."""
        self.entries = 0
        self._stream_bytes = 0
        self._data_blocks = 0
        self._last = ""
        self._current: Any = None
        self._handles = contextlib.ExitStack()
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        try:
            self.size = max(os.stat(path).st_size, 1)
            is_zip = zipfile.is_zipfile(path)
        except OSError as err:
            raise ArchiveError(path, f"cannot read: {err.strerror or err}") from None
        try:
            if is_zip:
                self.format = "zip"
                self._zip = self._handles.enter_context(zipfile.ZipFile(path))
            elif zip_only:
                raise NotAnArchive(path, "not a readable zip (File is not a zip file)")
            else:
                self._open_tar()
        except ArchiveError:
            self.close()
            raise
        except READ_ERRORS as err:
            self.close()
            if zip_only:
                raise ArchiveError(path, f"not a readable zip ({err})") from None
            raise self._corrupt(err) from None

    def _open_tar(self) -> None:
        raw = self._handles.enter_context(open(self.path, "rb"))  # noqa: SIM115 - the ExitStack closes it
        magic = raw.read(6)
        raw.seek(0)
        stream: Any
        if magic.startswith(b"\x1f\x8b"):
            self.format, stream = "tar.gz", self._handles.enter_context(  # the ExitStack closes it
                gzip.GzipFile(fileobj=raw, mode="rb"))
        elif magic.startswith(b"BZh"):
            self.format, stream = "tar.bz2", self._handles.enter_context(bz2.BZ2File(raw))
        elif magic.startswith(b"\xfd7zXZ\x00"):
            self.format, stream = "tar.xz", self._handles.enter_context(lzma.LZMAFile(raw))  # noqa: SIM115
        else:
            self.format, stream = "tar", raw
        try:
            self._tar = self._handles.enter_context(
                tarfile.open(fileobj=_Counted(stream, self), mode="r|"))  # noqa: SIM115 - the ExitStack closes it
        except tarfile.ReadError:
            raise NotAnArchive(self.path, "corrupt or unsupported archive: not a readable zip or (compressed) "
                                          "tar file") from None

    def close(self) -> None:
        """Close the archive (``open_archive`` does)."""
        with contextlib.suppress(*READ_ERRORS):
            self._handles.close()

    # -- listing ---------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Member]:
        try:
            if self._zip is not None:
                yield from self._zip_members(self._zip)
            elif self._tar is not None:
                yield from self._tar_members(self._tar)
        except READ_ERRORS as err:
            raise self._corrupt(err) from None
        finally:
            self._current = None

    def _zip_members(self, archive: zipfile.ZipFile) -> Iterator[Member]:
        infos = archive.infolist()
        if len(infos) > self.limits.max_files:
            self._too_many()
        for info in infos:
            self._count_entry()
            name = _zip_name(info)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                kind: MemberKind = "symlink"
            elif info.is_dir():
                kind = "dir"
            elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                kind = "special"
            else:
                kind = "file"
            member = Member(name, "", kind, info.file_size, what=f"mode {oct(mode)}" if kind == "special" else "",
                            ref=info)
            problem = self._name(member) or (self._encrypted(member) if info.flag_bits & 0x1 else None)
            problem = problem or self._sizes(member, info.compress_size)
            if problem is None and kind == "symlink":  # a zip link's target is its content
                try:
                    member = replace(member, target=self.read(member, 4096, truncate=True).decode("utf-8", "replace"))
                except ArchiveError as err:
                    problem = self._refused(err.detail, f"unreadable link ({err.detail})")
            yield self._listed(member, problem)

    def _tar_members(self, archive: tarfile.TarFile) -> Iterator[Member]:
        for info in archive:
            self._count_entry()
            has_data = info.isreg() or info.type not in tarfile.SUPPORTED_TYPES
            if info.issym():
                kind: MemberKind = "symlink"
            elif info.islnk():
                kind = "hardlink"
            elif info.isdir():
                kind = "dir"
            elif info.isreg():
                kind = "file"
            else:
                kind = "special"
            what = ("" if kind != "special" else "character device" if info.ischr() else "block device"
                    if info.isblk() else "FIFO" if info.isfifo() else f"type {info.type.decode('latin-1')!r}")
            member = Member(info.name, "", kind, info.size if has_data else 0,
                            target=info.linkname if kind in ("symlink", "hardlink") else None, what=what, ref=info)
            problem = self._name(member) or self._sizes(member, None)
            self._data_blocks += -(-member.size // _BLOCK) * _BLOCK  # what the stream holds, read or not
            self._current = info
            yield self._listed(member, problem)
            self._current = None

    def _listed(self, member: Member, problem: str | None) -> Member:
        self._last = member.name
        if problem is not None:
            return replace(member, problem=problem)
        return replace(member, path="/".join(_parts(member.name)))

    def _count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            self._too_many()

    def _too_many(self) -> None:
        raise ArchiveError(self.path, f"archive holds more than {self.limits.max_files} entries "
                                      f"(limit max_files; {_BOMB})")

    def _name(self, member: Member) -> str | None:
        problem = name_problem(member.name)
        if problem is None:
            return None
        if self.refuse:
            raise ArchiveError(self.path, f"unsafe entry {member.name!r} ({problem}); refusing the whole archive")
        return f"unsafe name ({problem})"

    def _encrypted(self, member: Member) -> str:
        if self.refuse:
            raise ArchiveError(self.path, f"entry {member.name!r} is encrypted; cannot read it")
        return "encrypted"

    def _sizes(self, member: Member, compressed: int | None) -> str | None:
        """Check a member's declared size against the limits, then count it."""
        size, name, lim = member.size, member.name, self.limits
        if size > lim.max_member_bytes:
            return self._refused(f"entry {name!r}: declared size {size} exceeds {lim.max_member_bytes} bytes "
                                 f"(limit max_member_bytes; {_BOMB})",
                                 f"declared size {size} exceeds {lim.max_member_bytes} bytes (limit max_member_bytes)")
        if compressed and size > lim.ratio_floor and size > lim.max_ratio * compressed:
            return self._refused(f"entry {name!r} expands {size} bytes from {compressed} (more than "
                                 f"{lim.max_ratio:g}x; limit max_ratio; {_BOMB})",
                                 f"expands {size} bytes from {compressed} (more than {lim.max_ratio:g}x; "
                                 "limit max_ratio)")
        total = self.expanded + size
        if total > lim.max_bytes:
            return self._refused(self._past_bytes(name), f"the archive expands past {lim.max_bytes} bytes here "
                                                         "(limit max_bytes)")
        if total > lim.ratio_floor and total > lim.max_ratio * self.size:
            return self._refused(self._past_ratio(name), f"the archive expands more than {lim.max_ratio:g}x its "
                                                         "size here (limit max_ratio)")
        self.expanded = total
        return None

    def _refused(self, message: str, problem: str) -> str:
        if self.refuse:
            raise ArchiveError(self.path, message)
        return problem

    def _past_bytes(self, name: str) -> str:
        return f"archive expands past {self.limits.max_bytes} bytes at entry {name!r} (limit max_bytes; {_BOMB})"

    def _past_ratio(self, name: str) -> str:
        return (f"archive expands more than {self.limits.max_ratio:g}x its size at entry {name!r} "
                f"(limit max_ratio; {_BOMB})")

    def _stream_read(self, count: int) -> None:
        """Count ``count`` decompressed bytes of a tar stream (headers and data, read or skipped)."""
        self._stream_bytes += count
        done, lim = self._stream_bytes, self.limits
        if done > lim.ratio_floor and done > lim.max_ratio * self.size:
            raise ArchiveError(self.path, self._past_ratio(self._last))
        if done > self._data_blocks + (self.entries + 1) * (_BLOCK + TAR_HEADER_ALLOWANCE) + _READ_AHEAD:
            after = f"after entry {self._last!r}" if self._last else "at its start"
            raise ArchiveError(self.path, f"archive has more than {TAR_HEADER_ALLOWANCE} bytes of headers for "
                                          f"one entry {after} ({_BOMB})")

    # -- reading ---------------------------------------------------------------------------------------

    def open(self, member: Member) -> BinaryIO:
        """A stream of ``member``'s bytes that never yields more than its declared size; read errors
        are ``ArchiveError``. Only files (and zip links) are opened; a member with a problem never is."""
        if member.problem is not None:
            raise ArchiveError(self.path, f"entry {member.name!r}: {member.problem}; not read")
        if member.kind not in ("file", "symlink") or (member.kind == "symlink" and self._zip is None):
            raise ArchiveError(self.path, f"entry {member.name!r} is a {member.kind}, not a file; not read")
        try:
            raw: IO[bytes] | None
            if self._zip is not None:
                raw = self._zip.open(member.ref)
            else:
                if self._tar is None or member.ref is not self._current:
                    raise ValueError(f"tar entry {member.name!r} read after the iteration left it")
                raw = self._tar.extractfile(member.ref)
                if raw is None:
                    raise ArchiveError(self.path, f"entry {member.name!r} has no data")
        except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, KeyError, RuntimeError,
                NotImplementedError, tarfile.TarError) as err:
            raise self._corrupt(err) from None
        return io.BufferedReader(_Bounded(raw, member, self))

    def read(self, member: Member, limit: int, *, truncate: bool = False) -> bytes:
        """The bytes of ``member``; ``ArchiveError`` when there are more than ``limit`` (the first
        ``limit`` bytes, given ``truncate``)."""
        out = bytearray()
        with self.open(member) as stream:
            while chunk := stream.read(min(_CHUNK, limit + 1 - len(out))):
                out += chunk
                if len(out) > limit:
                    if truncate:
                        return bytes(out[:limit])
                    raise ArchiveError(self.path, f"entry {member.name!r} holds more than {limit} bytes")
        return bytes(out)

    def _corrupt(self, err: BaseException) -> ArchiveError:
        detail = " ".join(str(err).split()) or "unreadable"
        return ArchiveError(self.path, f"corrupt archive: {type(err).__name__}: {detail}")


class _Bounded(io.RawIOBase):
    """A member's stream: at most its declared size, read errors turned into ``ArchiveError``."""

    def __init__(self, raw: Any, member: Member, reader: ArchiveReader) -> None:
        self._raw = raw
        self._member = member
        self._reader = reader
        self._left = member.size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        try:
            data = self._raw.read(min(len(view), self._left + 1))
        except READ_ERRORS as err:
            raise self._reader._corrupt(err) from None
        if len(data) > self._left:
            raise ArchiveError(self._reader.path, f"entry {self._member.name!r} is longer than its declared "
                                                  f"size {self._member.size}")
        self._left -= len(data)
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        with contextlib.suppress(*READ_ERRORS):
            self._raw.close()
        super().close()


class _Counted(io.RawIOBase):
    """The decompressed tar stream, each byte counted by the reader."""

    def __init__(self, raw: Any, reader: ArchiveReader) -> None:
        self._raw = raw
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        self._reader._stream_read(count or 0)
        return count or 0


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry name, re-decoded when the zip did not flag UTF-8 (Chinese Windows tools write GBK)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        raw = name.encode("cp437", "replace")
        for encoding in ("utf-8", "gb18030"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


# -- extraction ---------------------------------------------------------------------------------------

def extract(path: str | os.PathLike[str], dest: str | os.PathLike[str], limits: Limits | None = None
            ) -> list[Skipped]:
    """Extract the archive ``path`` into the existing directory ``dest`` within ``limits``; return the
    entries not created: links, devices, FIFOs, and files that conflict with another entry (a file where
    a directory is, or the reverse). ``ArchiveError`` refuses the archive (nothing is left outside
    ``dest``; what was written inside stays for the caller to remove)."""
    root = os.fspath(Path(dest).resolve())
    skipped: list[Skipped] = []
    with open_archive(path, limits) as archive:
        for member in archive:
            if not member.path:
                continue
            if member.kind in ("symlink", "hardlink"):
                kind = "symbolic link" if member.kind == "symlink" else "hard link"
                skipped.append(Skipped(member.path, f"{kind} to {member.target!r} in the archive, not created",
                                       target=member.target))
            elif member.kind == "special":
                skipped.append(Skipped(member.path, f"special file ({member.what}) in the archive, not created"))
            elif member.kind == "dir":
                _make_dir(root, member.path, skipped)
            else:
                _write_file(archive, member, root, skipped)
    return skipped


def _make_dir(root: str, rel: str, skipped: list[Skipped]) -> bool:
    try:
        os.makedirs(os.path.join(root, *rel.split("/")), exist_ok=True)
    except OSError as err:
        skipped.append(Skipped(rel, f"not extracted: {err.strerror or err} (conflicts with another entry)"))
        return False
    return True


def _write_file(archive: ArchiveReader, member: Member, root: str, skipped: list[Skipped]) -> None:
    parts = member.path.split("/")
    if len(parts) > 1 and not _make_dir(root, "/".join(parts[:-1]), skipped):
        return
    target = os.path.join(root, *parts)
    real = os.path.realpath(os.path.dirname(target))
    if real != root and not real.startswith(root + os.sep):
        raise ArchiveError(archive.path, f"unsafe entry {member.name!r} (leads outside the extraction "
                                         "directory); refusing the whole archive")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        skipped.append(Skipped(member.path, f"not extracted: {err.strerror or err} (conflicts with another entry)"))
        return
    with os.fdopen(fd, "wb") as out, archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
