"""Opening a knowledge base file that may be hostile.

A KB can be named by the delivery's own spec (``origin.knowledge_base``), so it is read as
untrusted input. SQLite executes what a database file declares — a view is a query, a recursive
one never ends; a trigger runs on writes; a generated column or a CHECK constraint is an expression
— so before verifier runs any query on a KB's tables:

- the file is checked from outside: a regular file on a real filesystem (``verifier.paths``), an
  SQLite header, a whole number of pages, no shorter than its header says (truncated), rollback
  journal mode (no ``-wal`` file is ever read);
- it is opened read-only and immutable (``mode=ro&immutable=1``: no lock, no journal, nothing
  beside it read) unless written by ``kb add``, with no schema trusted (``trusted_schema=OFF``),
  values capped at ``MAX_VALUE_BYTES`` (``SQLITE_LIMIT_LENGTH``), a page cache of
  ``CACHE_KIB``, no memory mapping, and SQLite's heap capped for the process at
  ``HEAP_LIMIT_BYTES`` (``PRAGMA hard_heap_limit``);
- its schema, read from ``sqlite_master`` alone, must be exactly the one verifier writes: the same
  tables with the same columns and the same indexes, no view, no trigger, no virtual table, nothing
  else;
- its structure is checked (``PRAGMA quick_check``: the whole file up to ``FULL_CHECK_BYTES``,
  its small tables beyond, where SQLite checks every page it reads);
- every statement reading it runs under a ``Deadline`` (an SQLite progress handler) of
  ``STATEMENT_TIMEOUT_S``, and row counts are capped (``MAX_ROWS``), so what Python builds from
  it is bounded too.

Anything else is ``InputError``: one line naming the file and what is wrong, exit 2.
"""

from __future__ import annotations

import functools
import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verifier.errors import InputError
from verifier.paths import check_file, read_prefix

SQLITE_MAGIC = b"SQLite format 3\x00"
#: A statement reading a KB that runs longer than this (seconds) is stopped: on a KB verifier
#: wrote, the slowest (``PRAGMA quick_check`` of the whole file) takes seconds per GiB.
STATEMENT_TIMEOUT_S = 60.0
#: SQLite virtual-machine instructions between two looks at the clock.
PROGRESS_STEPS = 10_000
#: Largest single value (string or blob) read from a KB: segments are about 1 MiB.
MAX_VALUE_BYTES = 64 << 20
#: SQLite's page cache per KB connection, KiB.
CACHE_KIB = 16 << 10
#: Cap on SQLite's heap for the whole process (``sqlite3_hard_heap_limit64``); verifier's other
#: SQLite use, the result cache, needs a few MiB.
HEAP_LIMIT_BYTES = 512 << 20
#: Most rows verifier loads from each table (what a match or ``kb info`` holds in memory).
MAX_ROWS = {"meta": 64, "components": 1_000_000, "files": 5_000_000, "contents": 5_000_000,
            "postings": 1 << 24}
#: Most entries ``sqlite_master`` may hold (verifier writes 9).
MAX_SCHEMA_OBJECTS = 64


def check_file_header(path: Path, *, writable: bool) -> None:
    """``InputError`` unless ``path`` is a regular file starting with a sound SQLite header for
    its size; a read-only open also refuses a hot rollback journal beside it."""
    check_file(path, what="knowledge base")
    head, info = read_prefix(path, 100, what="knowledge base")
    size = info.st_size
    if size == 0:
        raise InputError(f"{path}: empty file, not a verifier knowledge base")
    if len(head) < 100 or head[:16] != SQLITE_MAGIC:
        raise InputError(f"{path}: not an SQLite database, so not a verifier knowledge base")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    if page < 512 or page & (page - 1):
        raise InputError(f"{path}: corrupt knowledge base (page size {page} in its header)")
    if head[18] != 1 or head[19] != 1:
        raise InputError(f"{path}: not a verifier knowledge base (SQLite file format "
                         f"{head[18]}/{head[19]}: WAL or unknown; verifier writes rollback-journal "
                         "files)")
    if size % page:
        raise InputError(f"{path}: truncated knowledge base ({size} bytes is not a whole number "
                         f"of {page}-byte pages)", hint="rebuild it with `verifier kb build`")
    pages = int.from_bytes(head[28:32], "big")
    if pages and head[92:96] == head[24:28] and size < pages * page:
        raise InputError(f"{path}: truncated knowledge base ({size} bytes of the {pages * page} "
                         "its header declares)", hint="rebuild it with `verifier kb build`")
    journal = Path(f"{path}-journal")
    if not writable and journal.is_file() and journal.stat().st_size > 0:
        raise InputError(f"{path}: an unfinished write left {journal.name} beside it",
                         hint="`verifier kb add` on it recovers it, or rebuild it")


def connect(path: Path, *, writable: bool) -> sqlite3.Connection:
    """An SQLite connection to ``path`` with the limits above set; nothing read from it yet
    beyond its schema."""
    mode = "rw" if writable else "ro&immutable=1"
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True)
    try:
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        for pragma in ("trusted_schema=OFF", "mmap_size=0", f"cache_size=-{CACHE_KIB}",
                       "cell_size_check=ON", *(() if writable else ("query_only=ON",))):
            db.execute(f"PRAGMA {pragma}")
        heap = db.execute("PRAGMA hard_heap_limit").fetchone()[0]
        if not heap or heap > HEAP_LIMIT_BYTES:
            db.execute(f"PRAGMA hard_heap_limit={HEAP_LIMIT_BYTES}")
    except BaseException:
        db.close()
        raise
    return db


class Deadline:
    """Stops any statement on a connection that runs past ``seconds`` once ``running()``
    (an SQLite progress handler); statements outside ``running()`` are not limited."""

    def __init__(self, db: sqlite3.Connection, seconds: float | None = None) -> None:
        self.seconds = STATEMENT_TIMEOUT_S if seconds is None else seconds
        self.tripped = False
        """Whether a statement was stopped."""
        self._until = math.inf
        db.set_progress_handler(self._check, PROGRESS_STEPS)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Statements run inside this block have ``seconds`` from its start."""
        self._until = time.monotonic() + self.seconds
        try:
            yield
        finally:
            self._until = math.inf

    def _check(self) -> int:
        if time.monotonic() > self._until:
            self.tripped = True
            return 1
        return 0


def check_schema(path: Path, db: sqlite3.Connection, reference: str) -> None:
    """``InputError`` unless the schema of ``db`` is the one ``reference`` (the CREATE script
    verifier writes) makes: same tables, same columns, no view, trigger or virtual table, nothing
    more. Reads ``sqlite_master`` and ``PRAGMA table_xinfo`` only."""
    expected, columns = _reference(reference)
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master LIMIT ?",
                      (MAX_SCHEMA_OBJECTS + 1,)).fetchall()
    if len(rows) > MAX_SCHEMA_OBJECTS:
        raise _foreign(path, f"more than {MAX_SCHEMA_OBJECTS} schema objects")
    found = {}
    for kind, name, table, sql in rows:
        if kind == "view":
            raise _foreign(path, f"{_name(name)} is a view, not a table")
        if kind == "trigger":
            raise _foreign(path, f"it holds a trigger ({_name(name)} on {_name(table)})")
        if kind == "table" and str(sql or "").lstrip()[:21].upper().startswith("CREATE VIRTUAL"):
            raise _foreign(path, f"{_name(name)} is a virtual table")
        found[name] = (kind, table, _normal(sql))
    for table, want in columns.items():
        if table not in found:
            raise _foreign(path, f"no table {_name(table)}")
        have = [(str(name), str(decl).upper(), pk, hidden) for _, name, decl, _, _, pk, hidden
                in db.execute(f'PRAGMA table_xinfo("{table}")').fetchall()]
        if have != want:
            raise _foreign(path, f"table {_name(table)} has columns ({_columns(have)}), "
                                 f"verifier's has ({_columns(want)})")
    for name, (kind, _, _) in sorted(expected.items()):
        if name not in found:
            raise _foreign(path, f"no {kind} {_name(name)}")
    for name, entry in sorted(found.items(), key=lambda item: str(item[0])):
        if name not in expected:
            raise _foreign(path, f"{_name(name)} ({entry[0]}) is not part of one")
        if entry != expected[name]:
            raise _foreign(path, f"{entry[0]} {_name(name)} is not defined as verifier defines it")


def check_row_counts(path: Path, db: sqlite3.Connection) -> None:
    """``InputError`` when a table holds more rows than verifier would load (``MAX_ROWS``).
    A table keyed by rowid holds at most ``max - min + 1`` rows, read from its B-tree's two ends
    in no time; only when that bound is over the cap are its rows counted (which reads the
    whole table: opening a large KB stays independent of its size)."""
    for table, cap in MAX_ROWS.items():
        # two statements: SQLite reads one end of the B-tree for a lone MIN() or MAX() only
        low = db.execute(f'SELECT MIN(rowid) FROM "{table}"').fetchone()[0]
        high = db.execute(f'SELECT MAX(rowid) FROM "{table}"').fetchone()[0]
        if low is None or high - low + 1 <= cap:
            continue
        count = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        if count > cap:
            raise _foreign(path, f"{count} rows in {table}, more than {cap}")


#: A KB up to this size has its whole structure checked when opened (``PRAGMA quick_check``, about
#: 1 s per 170 MiB); a larger one has its small tables checked, and SQLite's own checks of every
#: page it reads (``cell_size_check``) guard the rest, so opening stays independent of KB size.
FULL_CHECK_BYTES = 64 << 20
_SMALL_TABLES = ("meta", "components")


def check_structure(path: Path, db: sqlite3.Connection) -> str:
    """``ok``, or what SQLite's ``quick_check`` found wrong: of the whole file up to
    ``FULL_CHECK_BYTES``, of its small tables beyond."""
    if path.stat().st_size <= FULL_CHECK_BYTES:
        return db.execute("PRAGMA quick_check").fetchone()[0]
    for table in _SMALL_TABLES:
        problem = db.execute(f'PRAGMA quick_check("{table}")').fetchone()[0]
        if problem != "ok":
            return problem
    return "ok"


def database_error(path: Path, err: BaseException, deadline: Deadline | None) -> InputError:
    """The one-line ``InputError`` for an SQLite error (or SQLite running out of its heap)
    while reading the KB at ``path``."""
    if deadline is not None and deadline.tripped:
        return InputError(f"{path}: reading the knowledge base took over "
                          f"{deadline.seconds:g} s; stopped (not a usable knowledge base)")
    if isinstance(err, MemoryError):
        return InputError(f"{path}: reading the knowledge base needs more than "
                          f"{HEAP_LIMIT_BYTES >> 20} MiB of SQLite memory; stopped "
                          "(not a usable knowledge base)")
    if isinstance(err, sqlite3.DataError):
        return InputError(f"{path}: a value larger than {MAX_VALUE_BYTES >> 20} MiB: not a "
                          f"verifier knowledge base ({err})")
    return InputError(f"{path}: corrupt knowledge base ({err})",
                      hint="rebuild it with `verifier kb build`")


@functools.lru_cache(maxsize=4)
def _reference(script: str) -> tuple[dict[str, tuple[str, str, str]], dict[str, list[tuple]]]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(script)
        rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        expected = {name: (kind, table, _normal(sql)) for kind, name, table, sql in rows}
        columns = {name: [(str(col), str(decl).upper(), pk, hidden) for _, col, decl, _, _, pk, hidden
                          in db.execute(f'PRAGMA table_xinfo("{name}")').fetchall()]
                   for kind, name, _, _ in rows if kind == "table"}
    finally:
        db.close()
    return expected, columns


def _columns(columns: list[tuple]) -> str:
    """``name TYPE`` of each column, marked when a primary key or hidden (generated)."""
    return _text(", ".join(f"{name} {decl}".strip() + (" PRIMARY KEY" if pk else "")
                           + (" (hidden)" if hidden else "") for name, decl, pk, hidden in columns),
                 limit=300)


def _normal(sql: object) -> str:
    return " ".join(str(sql).split()) if sql is not None else ""


def _name(name: object) -> str:
    return f"'{_text(str(name))}'"


def _text(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters, control characters escaped (one line, no escape
    codes on a terminal)."""
    cut = text if len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in cut)


def _foreign(path: Path, why: str) -> InputError:
    return InputError(f"{path}: not a verifier knowledge base: {why}",
                      hint="build one with `verifier kb build`")
