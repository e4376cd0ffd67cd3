"""Whether the task book a run was measured against is the one the repository (or an agency) holds.

A bundle carries the spec its run used (``spec.yaml``), and verify recomputes every status from it:
a run made against a weakened copy (a lowered target, an indicator left out) is consistent with
itself. ``check_task_book`` compares that spec, by sha256, with the task book it should have been:
an agency's own copy (``verify --spec FILE``), or else the repository's — ``acceptance.yaml`` at the
top of the delivered directory, and the file the run read when it lay inside the delivered
directory (both, when they differ). A difference fails, naming the file and the first fields that
differ; a repository holding no task book says so rather than passing in silence.

Files of the repository are data: a link is not followed (neither the file nor a directory on its
way), only a regular file of at most ``verifier.spec.MAX_BYTES`` is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from verifier.consistency import Check
from verifier.errors import InputError
from verifier.spec import DEFAULT_SPEC_NAME, MAX_BYTES, SpecError, spec_data

#: differences named in a failed comparison before "and N more"
SHOWN_DIFFERENCES = 5
_SHORT = 40


def check_task_book(bundled: bytes | None, *, delivered: Path | None = None, recorded: str | None = None,
                    given: tuple[str, bytes] | None = None) -> list[Check]:
    """The bundled ``spec.yaml`` against ``given`` (name and content of an agency's copy, see
    ``read_given``) when there is one, else against the delivered directory's task books:
    ``acceptance.yaml`` and ``recorded`` (the run's spec as a POSIX path relative to the delivered
    directory, None when it lay elsewhere)."""
    if bundled is None:
        return [Check(False if given is not None or delivered is not None else None,
                      "task book: the bundle holds no spec.yaml to compare")]
    mine = _sha(bundled)
    if given is not None:
        return [_compare(bundled, mine, given[1], f"{given[0]} (--spec)")]
    if delivered is None:
        return [Check(None, f"task book: the bundled spec.yaml (sha256 {mine[:16]}…) not compared with a "
                            "task book (give --repo PATH or --spec FILE)")]
    names = [DEFAULT_SPEC_NAME]
    if recorded is not None and recorded not in names:
        names.insert(0, recorded)
    checks = []
    for rel in names:
        data, problem = read_regular_file(delivered / rel, root=delivered)
        if data is not None:
            checks.append(_compare(bundled, mine, data, f"{rel} in {delivered}"))
        elif problem != "missing":
            checks.append(Check(False, f"task book: {rel} in {delivered}: {problem}; not compared"))
    if not checks:
        which = " nor ".join(names)
        checks.append(Check(None, f"task book: {delivered} holds no {which}: the bundled spec.yaml "
                                  f"(sha256 {mine[:16]}…) was compared with nothing (give --spec FILE "
                                  "to compare it with your copy of the task book)"))
    return checks


def read_given(path: Path) -> tuple[str, bytes]:
    """Name and content of a task book named on the command line; ``InputError`` when it is not a
    readable regular file of at most ``MAX_BYTES``."""
    data, problem = read_regular_file(path)
    if data is None:
        raise InputError(f"{path}: {'no such task book' if problem == 'missing' else problem}")
    return str(path), data


def recorded_location(run_record: Any) -> str | None:
    """The run's spec as a POSIX path relative to its delivered directory, from a parsed ``run.json``
    (absolute ``spec_path`` and ``repository``); None when it lay outside or the record is unusable."""
    if not isinstance(run_record, dict):
        return None
    spec, repo = run_record.get("spec_path"), run_record.get("repository")
    if not (isinstance(spec, str) and isinstance(repo, str) and os.path.isabs(spec) and os.path.isabs(repo)):
        return None
    rel = os.path.relpath(spec, repo)
    parts = PurePosixPath(Path(rel).as_posix()).parts
    if not parts or ".." in parts or os.path.isabs(rel) or "\0" in rel:
        return None
    return PurePosixPath(*parts).as_posix()


def read_regular_file(path: Path, *, root: Path | None = None, limit: int = MAX_BYTES
                      ) -> tuple[bytes | None, str]:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes; else None and why
    ("missing" when absent). Given ``root``, ``path`` lies below it and is reached without a link
    (neither the file nor a directory on its way); without, links are followed (the caller's own file).
    A FIFO or device is never opened."""
    if root is not None:
        current = root
        parts = path.relative_to(root).parts
        for part in parts[:-1]:
            current = current / part
            try:
                if not stat.S_ISDIR(os.lstat(current).st_mode):
                    return None, ("a symbolic link on the way, not followed"
                                  if os.path.islink(current) else "missing")
            except FileNotFoundError:
                return None, "missing"
            except OSError as err:
                return None, f"unreadable ({err.strerror or err})"
    try:
        info = os.lstat(path) if root is not None else os.stat(path)
    except FileNotFoundError:
        return None, "missing"
    except OSError as err:
        return None, f"unreadable ({err.strerror or err})"
    if stat.S_ISLNK(info.st_mode):
        return None, "a symbolic link, not followed"
    if not stat.S_ISREG(info.st_mode):
        return None, "not a regular file"
    if info.st_size > limit:
        return None, f"larger than {limit} bytes: not a task book"
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (getattr(os, "O_NOFOLLOW", 0) if root is not None else 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        return None, f"unreadable ({err.strerror or err})"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None, "not a regular file"
        data = handle.read(limit + 1)
    if len(data) > limit:
        return None, f"larger than {limit} bytes: not a task book"
    return data, ""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _compare(bundled: bytes, mine: str, data: bytes, label: str) -> Check:
    theirs = _sha(data)
    if theirs == mine:
        return Check(True, f"task book: {label} is the spec the run used (sha256 {mine[:16]}…)")
    differences = spec_differences(bundled, data)
    shown = "; ".join(differences[:SHOWN_DIFFERENCES])
    if len(differences) > SHOWN_DIFFERENCES:
        shown += f"; and {len(differences) - SHOWN_DIFFERENCES} more"
    return Check(False, f"task book: {label} (sha256 {theirs[:16]}…) is not the spec the run used "
                        f"(spec.yaml, sha256 {mine[:16]}…)" + (f": {shown}" if shown else ""))


def spec_differences(run_spec: bytes, task_book: bytes) -> list[str]:
    """What differs between two specs' YAML data, field by field (indicators and functions matched by
    id), as ``path: run X, task book Y``; only a note when either is not a readable YAML mapping."""
    loaded = []
    for name, raw in (("the run's spec.yaml", run_spec), ("the task book", task_book)):
        try:
            loaded.append(spec_data(raw.decode("utf-8-sig"), file=name))
        except UnicodeDecodeError:
            return [f"{name} is not UTF-8 text"]
        except SpecError as err:
            return [f"{name} is not a readable spec ({err})"]
    out: list[str] = []
    try:
        _diff(loaded[0], loaded[1], "", out)
    except RecursionError:  # YAML aliases can make a structure that holds itself
        return out + ["nested too deeply (or into itself) to compare field by field"]
    return out or ["the same fields, written differently (formatting or comments)"]


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if a == b and type(a) is type(b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(f"{where}: only in the run's spec ({_short(a[key])})")
            elif key not in a:
                out.append(f"{where}: only in the task book ({_short(b[key])})")
            else:
                _diff(a[key], b[key], where, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ids_a, ids_b = _by_id(a), _by_id(b)
        if ids_a is not None and ids_b is not None:
            for key in list(ids_a) + [k for k in ids_b if k not in ids_a]:
                where = f"{path}[{key}]"
                if key not in ids_b:
                    out.append(f"{where}: only in the run's spec")
                elif key not in ids_a:
                    out.append(f"{where}: only in the task book")
                else:
                    _diff(ids_a[key], ids_b[key], where, out)
            return
        if len(a) == len(b):
            for n, (x, y) in enumerate(zip(a, b)):
                _diff(x, y, f"{path}[{n}]", out)
            return
    out.append(f"{path or '(top)'}: run {_short(a)}, task book {_short(b)}")


def _by_id(items: list[Any]) -> dict[str, Any] | None:
    """``items`` keyed by their ``id`` when each is a mapping with a distinct scalar id."""
    keyed: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), (str, int)) or str(item["id"]) in keyed:
            return None
        keyed[str(item["id"])] = item
    return keyed


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHORT else text[:_SHORT - 1] + "…"
