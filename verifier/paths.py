"""Paths given to a command (or named by a spec), checked before anything reads or writes them.

Every path verifier takes goes through here, so that a FIFO never blocks, a device is never read
without end, a kernel pseudo-file (``/proc``, ``/sys``) is never taken for a file, and a directory
in place of a file (or the reverse) is one line naming the path, exit 2 (``InputError``), never a
hang or an internal error:

- ``read_file`` reads an input file: it is opened without blocking and without becoming a
  controlling terminal (``O_NONBLOCK | O_NOCTTY``) only once ``stat`` says it is a regular file,
  ``fstat`` must agree (same file, still regular), and at most a size limit is read; a file whose
  bytes do not match its size (a pseudo-file, or one that changed while read) is refused.
- ``read_prefix`` reads the head of such a file (a database header).
- ``check_file`` and ``check_directory`` check an input another library opens (a zip, an SQLite
  file, a repository), ``check_file_or_directory`` one that may be either.
- ``check_output_file`` and ``check_output_directory`` check where output goes: an existing target
  of the right kind, an existing, writable parent directory, no pseudo-filesystem.
- ``default_file_inside`` finds a default file (``acceptance.yaml``) in a directory and refuses one
  that is a symbolic link out of it.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

from verifier.errors import InputError

#: Kernel and virtual filesystems that hold no files of a delivery or of a run: what they "hold" is
#: made up on read (``/proc``, ``/sys``) or is a device (``/dev``).
PSEUDO_FILESYSTEMS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
    "devtmpfs", "efivarfs", "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore",
    "rpc_pipefs", "securityfs", "selinuxfs", "sysfs", "tracefs",
})

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20


def read_file(path: str | os.PathLike[str], *, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path`` (``what`` it is, e.g. "spec file", names it in
    errors), at most ``max_bytes``; ``InputError`` naming the path for anything else: missing,
    a directory, a FIFO, a device, a pseudo-file, unreadable, too large, changed while read."""
    given = os.fspath(path)
    fd, info = _open_regular(given, what)
    try:
        if info.st_size > max_bytes:
            raise InputError(f"{given}: {info.st_size} bytes, more than a {what} may hold "
                             f"({_size(max_bytes)})")
        chunks: list[bytes] = []
        total = 0
        while total <= info.st_size:  # one byte past the size shows a file that is not what it says
            chunk = os.read(fd, min(_CHUNK, info.st_size + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as err:
        raise InputError(f"{given}: cannot read the {what}: {err.strerror or err}") from None
    finally:
        os.close(fd)
    if total != info.st_size:
        raise InputError(f"{given}: holds {total}{'+' if total > info.st_size else ''} bytes but "
                         f"its size says {info.st_size}: a pseudo-file or a file being written, "
                         f"not a {what}")
    return b"".join(chunks)


def read_prefix(path: str | os.PathLike[str], size: int, *, what: str
                ) -> tuple[bytes, os.stat_result]:
    """The first ``size`` bytes (fewer if the file is shorter) of the regular file ``path`` and
    its ``stat``; ``InputError`` naming it as ``read_file`` does for anything else."""
    given = os.fspath(path)
    fd, info = _open_regular(given, what)
    try:
        return os.read(fd, size), info
    except OSError as err:
        raise InputError(f"{given}: cannot read the {what}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def check_file(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` if it is a readable regular file on a real filesystem; ``InputError`` naming it
    otherwise. For files another library opens (a zip archive, an SQLite database)."""
    given = os.fspath(path)
    fd, _ = _open_regular(given, what)  # readable?
    os.close(fd)
    return Path(given)


def check_directory(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` if it is a readable directory on a real filesystem; ``InputError`` naming it
    otherwise (missing, a file, a FIFO, a device, ``/proc``, unreadable)."""
    given = os.fspath(path)
    info = _stat(given, what)
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{given}: {_kind(info.st_mode)}, not a directory")
    _require_real_filesystem(given, info, what)
    if not os.access(given, os.R_OK | os.X_OK):
        raise InputError(f"{given}: cannot read the {what}: permission denied")
    return Path(given)


def check_file_or_directory(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` if it is a readable regular file or directory on a real filesystem (a source
    tree or an archive); ``InputError`` naming it otherwise."""
    given = os.fspath(path)
    info = _stat(given, what)
    if stat.S_ISDIR(info.st_mode):
        return check_directory(given, what=what)
    if stat.S_ISREG(info.st_mode):
        return check_file(given, what=what)
    raise InputError(f"{given}: {_kind(info.st_mode)}, not a directory or a regular file")


def check_output_file(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` if ``what`` (e.g. "report") can be written there: a new or regular, writable file
    in an existing, writable directory on a real filesystem; ``InputError`` naming the path at
    fault otherwise (a directory, a FIFO, a device, ``/proc``, a missing parent)."""
    given = os.fspath(path)
    try:
        info: os.stat_result | None = os.stat(given)
    except FileNotFoundError:
        info = None
    except NotADirectoryError:
        info = None  # a parent is not a directory: said below
    except OSError as err:
        raise _access_error(given, what, err) from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{given}: is a directory; give the {what}'s file name")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{given}: {_kind(info.st_mode)}, not a regular file to write the "
                             f"{what} to")
        _require_real_filesystem(given, info, what)
        if not os.access(given, os.W_OK):
            raise InputError(f"{given}: not writable")
    parent = os.path.dirname(given) or "."
    try:
        parent_info = os.stat(parent)
    except FileNotFoundError:
        raise InputError(f"{parent}: no such directory for the {what}") from None
    except NotADirectoryError:
        raise InputError(f"{_first_non_directory(parent)}: not a directory") from None
    except OSError as err:
        raise InputError(f"{parent}: cannot access: {err.strerror or err}") from None
    if not stat.S_ISDIR(parent_info.st_mode):
        raise InputError(f"{parent}: not a directory")
    _require_real_filesystem(parent, parent_info, what)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{parent}: not writable")
    return Path(given)


def check_output_directory(path: str | os.PathLike[str], *, what: str) -> Path:
    """``path`` if ``what`` (e.g. "run directory") can be made or written there: an existing,
    writable directory, or a new one whose nearest existing ancestor is a writable directory on a
    real filesystem; ``InputError`` naming the path at fault otherwise."""
    given = os.fspath(path)
    current = given
    while True:
        try:
            info = os.stat(current)
            break
        except FileNotFoundError:
            parent = os.path.dirname(current.rstrip(os.sep)) or "."
            if parent == current:
                raise InputError(f"{given}: no existing directory to make the {what} in") from None
            current = parent
        except NotADirectoryError:
            raise InputError(f"{_first_non_directory(current)}: not a directory") from None
        except OSError as err:
            raise InputError(f"{current}: cannot access: {err.strerror or err}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise InputError(f"{current}: {_kind(info.st_mode)}, not a directory")
    _require_real_filesystem(current, info, what)
    if not os.access(current, os.W_OK | os.X_OK):
        raise InputError(f"{current}: not writable")
    return Path(given)


def default_file_inside(directory: str | os.PathLike[str], name: str, *, what: str) -> Path | None:
    """``directory/name`` when it exists as a regular file inside ``directory`` (a symbolic link
    to a file inside is followed), None when there is none; ``InputError`` when it is a link out
    of ``directory``, or not a regular file."""
    candidate = Path(directory) / name
    if not os.path.lexists(candidate):
        return None
    try:
        root = Path(directory).resolve()
        target = candidate.resolve()
    except (OSError, RuntimeError) as err:  # a symbolic-link loop
        raise InputError(f"{candidate}: cannot be resolved ({err})") from None
    if target != root and root not in target.parents:
        raise InputError(f"{candidate}: a symbolic link out of {directory} (to {target}); "
                         f"refusing to read the {what} from outside")
    _require_regular(os.fspath(candidate), what)
    return candidate


def filesystem_type(info: os.stat_result) -> str | None:
    """The filesystem type (``ext4``, ``proc`` …) holding a file of this ``stat``, from
    ``/proc/self/mountinfo``; None when it cannot be told."""
    return _mount_types().get((os.major(info.st_dev), os.minor(info.st_dev)))


@functools.lru_cache(maxsize=1)
def _mount_types() -> dict[tuple[int, int], str]:
    types: dict[tuple[int, int], str] = {}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields, _, rest = line.partition(" - ")
                parts = fields.split()
                if len(parts) < 3 or not rest:
                    continue
                major, _, minor = parts[2].partition(":")
                if major.isdigit() and minor.isdigit():
                    types.setdefault((int(major), int(minor)), rest.split()[0])
    except OSError:
        pass
    return types


def _stat(given: str, what: str) -> os.stat_result:
    try:
        return os.stat(given)
    except FileNotFoundError:
        raise InputError(f"{given}: no such {what}") from None
    except NotADirectoryError:
        raise InputError(f"{given}: no such {what} ({_first_non_directory(given)} is not a "
                         "directory)") from None
    except OSError as err:
        raise _access_error(given, what, err) from None


def _open_regular(given: str, what: str) -> tuple[int, os.stat_result]:
    """A read-only descriptor of the regular file ``given`` and its ``fstat``: checked with
    ``stat`` before it is opened (opening a device can have effects), opened without blocking
    (a FIFO swapped in meanwhile does not hang), and checked again on the descriptor."""
    before = _require_regular(given, what)
    try:
        fd = os.open(given, _OPEN_FLAGS)
    except OSError as err:
        raise _access_error(given, what, err) from None
    try:
        info = os.fstat(fd)
    except OSError as err:
        os.close(fd)
        raise _access_error(given, what, err) from None
    if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(f"{given}: replaced while being opened; not read")
    return fd, info


def _require_regular(given: str, what: str) -> os.stat_result:
    info = _stat(given, what)
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{given}: {_kind(info.st_mode)}, not a {what}")
    _require_real_filesystem(given, info, what)
    return info


def _require_real_filesystem(given: str, info: os.stat_result, what: str) -> None:
    kind = filesystem_type(info)
    if kind in PSEUDO_FILESYSTEMS:
        raise InputError(f"{given}: on the kernel's {kind} pseudo-filesystem, which holds no "
                         f"real files (wanted: a {what})")


def _access_error(given: str, what: str, err: OSError) -> InputError:
    if isinstance(err, FileNotFoundError):
        return InputError(f"{given}: no such {what}")
    return InputError(f"{given}: cannot read the {what}: {err.strerror or err}")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "is a character device"
    if stat.S_ISBLK(mode):
        return "is a block device"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISREG(mode):
        return "is a file"
    return "is not a regular file"


def _first_non_directory(given: str) -> str:
    """The first component of ``given`` that exists and is not a directory (for the message)."""
    parts = Path(given).parts
    for end in range(1, len(parts) + 1):
        prefix = os.path.join(*parts[:end])
        try:
            if not stat.S_ISDIR(os.stat(prefix).st_mode):
                return prefix
        except OSError:
            break
    return os.path.dirname(given) or given


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GiB"
