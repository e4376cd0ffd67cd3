"""The knowledge base file: one SQLite database holding components, files and fingerprints.

Layout (schema version 1):

- ``meta``: key/value — ``format`` (``verifier-kb``), ``schema_version``, ``normalizer_version``,
  ``k`` and ``w`` (winnowing parameters), ``line_hash_bits`` (4; absent in older KBs, which hold
  8), ``tool_version`` (verifier that last wrote it), timestamps.
- ``components``: kind (python, npm, directory, archive), name, version, license, where it came from.
- ``files``: component, path inside the component, size, and the content it holds.
- ``contents``: one row per distinct fingerprint record (identical files are stored once), pointing
  into a segment.
- ``segments``: about 1 MiB blobs packing the records of many contents back to back: the xxh32 hashes
  as raw 32-bit integers, then the zlib-compressed line data (see ``winnow.encode``). Packing keeps the
  file small (no half-empty overflow page per file) and lets the matcher read the whole index in a
  few large sequential reads.

Replacing a component (``kb add`` of a name/version already held) drops its files; records no longer
referenced are removed by rewriting the segments that held them, and the file is vacuumed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from verifier import __version__
from verifier.errors import InputError
from verifier.kb.guard import (MAX_ROWS, Deadline, check_file_header, check_row_counts, check_schema,
                               connect, database_error)
from verifier.kb.normalize import NORMALIZER_VERSION
from verifier.kb.winnow import LINE_HASH_BITS

FORMAT = "verifier-kb"
SCHEMA_VERSION = 1
_SEGMENT_BYTES = 1 << 20
#: SQLite page size of a new KB: the small tables take a page each (and each of their indexes), so
#: 1 KiB pages instead of the default 4 KiB save about 20 KiB per KB; segment blobs fill their
#: overflow pages either way.
_PAGE_BYTES = 1024

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE components (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    license TEXT, origin TEXT, purl TEXT, UNIQUE (kind, name, version));
CREATE TABLE segments (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE contents (
    id INTEGER PRIMARY KEY, digest INTEGER NOT NULL, segment INTEGER NOT NULL,
    offset INTEGER NOT NULL, hash_len INTEGER NOT NULL, meta_len INTEGER NOT NULL,
    n_lines INTEGER NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY, component INTEGER NOT NULL, path TEXT NOT NULL,
    content INTEGER NOT NULL, size INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Component:
    """One indexed component (a distribution, an npm package, a directory or an archive)."""

    kind: str
    """``python``, ``npm``, ``directory`` or ``archive``."""
    name: str
    version: str
    """Empty when the source does not say."""
    license: str | None = None
    """As the component's metadata declares it (SPDX expression where the metadata gives one)."""
    origin: str | None = None
    """Where it was indexed from (a path)."""
    purl: str | None = None
    """Package URL (pkg:pypi/…, pkg:npm/…) where one applies."""


@dataclass(frozen=True)
class StoredFile:
    """A fingerprinted file ready to be stored."""

    path: str
    """Path inside its component, POSIX."""
    size: int
    n_lines: int
    hash_bytes: bytes
    meta_bytes: bytes
    digest: int
    """Signed 64-bit hash of the record, to store identical records once."""


@dataclass(frozen=True)
class ContentRef:
    """Where one stored fingerprint record lives."""

    id: int
    segment: int
    offset: int
    hash_len: int
    meta_len: int
    n_lines: int


class KnowledgeBase:
    """An open knowledge base file. Use ``KnowledgeBase.open`` or ``KnowledgeBase.create``."""

    def __init__(self, path: Path, db: sqlite3.Connection, meta: dict[str, str],
                 deadline: Deadline | None = None) -> None:
        self.path = path
        self._db = db
        self._deadline = deadline or Deadline(db)
        self.meta = meta
        self.k = int(meta["k"])
        self.w = int(meta["w"])
        self.line_bits = int(meta.get("line_hash_bits", "8"))
        """Bits of each stored line hash (``winnow.encode``)."""

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, writable: bool = False) -> KnowledgeBase:
        """Open and validate a KB, which may be hostile (see ``verifier.kb.guard``: checked from
        outside, opened read-only and immutable unless ``writable``, schema checked before any
        query, reads bounded in time, size and rows); ``InputError`` (one line) if missing, not a
        regular file, foreign, corrupt, truncated or of another schema version."""
        path = Path(path)
        check_file_header(path, writable=writable)
        try:
            db = connect(path, writable=writable)
        except (sqlite3.Error, MemoryError) as err:
            raise InputError(f"{path}: cannot open knowledge base: {err}") from None
        deadline = Deadline(db)
        try:
            with deadline.running():
                check_schema(path, db, _SCHEMA)
                rows = db.execute("SELECT key, value FROM meta LIMIT ?",
                                  (MAX_ROWS["meta"] + 1,)).fetchall()
            meta = _meta(path, rows)
            _check_meta(path, meta)
            with deadline.running():
                check_row_counts(path, db)
                problem = db.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise InputError(f"{path}: corrupt knowledge base ({problem})",
                                 hint="rebuild it with `verifier kb build`")
        except (sqlite3.Error, MemoryError) as err:
            db.close()
            raise database_error(path, err, deadline) from None
        except InputError:
            db.close()
            raise
        return cls(path, db, meta, deadline)

    @classmethod
    def create(cls, path: str | os.PathLike, *, k: int, w: int,
               line_bits: int = LINE_HASH_BITS) -> KnowledgeBase:
        """Create an empty KB at ``path`` (which must not exist) with winnowing parameters k, w
        and ``line_bits``-bit line hashes."""
        path = Path(path)
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA page_size={_PAGE_BYTES}")
        db.execute("PRAGMA journal_mode=MEMORY")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        now = _now()
        meta = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION),
                "normalizer_version": str(NORMALIZER_VERSION), "k": str(k), "w": str(w),
                "line_hash_bits": str(line_bits),
                "tool_version": __version__, "created": now, "updated": now}
        db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
        db.commit()
        return cls(path, db, meta)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------
    def components(self) -> dict[int, Component]:
        """Every component by id."""
        rows = self._query("SELECT id, kind, name, version, license, origin, purl FROM components")
        return {row[0]: Component(*row[1:]) for row in rows}

    def contents(self) -> list[ContentRef]:
        """Every stored record, in segment order."""
        rows = self._query("SELECT id, segment, offset, hash_len, meta_len, n_lines FROM contents "
                           "ORDER BY segment, offset")
        return [ContentRef(*row) for row in rows]

    def files_by_content(self) -> dict[int, list[tuple[int, str]]]:
        """content id -> [(component id, path)] sorted, for every stored file."""
        out: dict[int, list[tuple[int, str]]] = {}
        for content, component, path in self._query(
                "SELECT content, component, path FROM files ORDER BY component, path"):
            out.setdefault(content, []).append((component, path))
        return out

    def segments(self) -> Iterator[tuple[int, bytes]]:
        """(segment id, data) in id order (each row read under the statement deadline)."""
        try:
            with self._deadline.running():
                cursor = self._db.execute("SELECT id, data FROM segments ORDER BY id")
            while True:
                with self._deadline.running():
                    row = cursor.fetchone()
                if row is None:
                    return
                yield row
        except (sqlite3.Error, MemoryError) as err:
            raise database_error(self.path, err, self._deadline) from None

    def record(self, content: int) -> tuple[bytes, bytes, int]:
        """(hash bytes, line data, effective lines) of one stored record."""
        row = self._query("SELECT c.offset, c.hash_len, c.meta_len, c.n_lines, "
                          "substr(s.data, c.offset + 1, c.hash_len + c.meta_len) FROM contents c "
                          "JOIN segments s ON s.id = c.segment WHERE c.id = ?", (content,))
        if not row or len(row[0][4] or b"") != row[0][1] + row[0][2]:
            raise InputError(f"{self.path}: corrupt knowledge base (record {content} missing)")
        _, hash_len, _, n_lines, data = row[0]
        return data[:hash_len], data[hash_len:], n_lines

    def corpus_bytes(self) -> int:
        """Bytes of every file the KB holds (identical files counted each time)."""
        return self._query("SELECT COALESCE(SUM(size), 0) FROM files")[0][0]

    def info(self) -> dict:
        """What the KB holds: parameters, counts, corpus size versus index size, components."""
        components = self.components()
        per_component = {cid: [0, 0] for cid in components}
        for cid, files, size in self._query(
                "SELECT component, COUNT(*), SUM(size) FROM files GROUP BY component"):
            per_component[cid] = [files, size]
        (n_contents, hash_bytes, n_lines), = self._query(
            "SELECT COUNT(*), COALESCE(SUM(hash_len), 0), COALESCE(SUM(n_lines), 0) FROM contents")
        corpus = sum(size for _, size in per_component.values())
        kb_bytes = self.path.stat().st_size
        by_kind: dict[str, int] = {}
        for comp in components.values():
            by_kind[comp.kind] = by_kind.get(comp.kind, 0) + 1
        listing = sorted(
            ({"kind": c.kind, "name": c.name, "version": c.version, "license": c.license,
              "purl": c.purl, "files": per_component[cid][0], "bytes": per_component[cid][1]}
             for cid, c in components.items()),
            key=lambda item: (str(item["name"]).lower(), item["version"], item["kind"]))
        return {
            "path": str(self.path),
            "format": self.meta["format"],
            "schema_version": int(self.meta["schema_version"]),
            "normalizer_version": int(self.meta["normalizer_version"]),
            "tool_version": self.meta.get("tool_version"),
            "created": self.meta.get("created"),
            "updated": self.meta.get("updated"),
            "k": self.k,
            "w": self.w,
            "guarantee_bytes": self.k + self.w - 1,
            "line_hash_bits": self.line_bits,
            "components": len(components),
            "components_by_kind": dict(sorted(by_kind.items())),
            "files": sum(files for files, _ in per_component.values()),
            "distinct_files": n_contents,
            "fingerprints": hash_bytes // 4,
            "lines": n_lines,
            "corpus_bytes": corpus,
            "kb_bytes": kb_bytes,
            "kb_ratio": round(kb_bytes / corpus, 4) if corpus else None,
            "component_list": listing,
        }

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        try:
            with self._deadline.running():
                return self._db.execute(sql, params).fetchall()
        except (sqlite3.Error, MemoryError) as err:
            raise database_error(self.path, err, self._deadline) from None

    # -- writing ---------------------------------------------------------------------------------
    def writer(self) -> KBWriter:
        """A writer adding or replacing components; call ``finish()`` to commit."""
        return KBWriter(self)


class KBWriter:
    """Adds components to an open KB, storing identical fingerprint records once."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._db = kb._db
        self._digests = {digest: cid for cid, digest in self._db.execute(
            "SELECT id, digest FROM contents")}
        self._buffer = bytearray()
        self._pending: list[tuple[int, int, int, int, int, int]] = []
        self._next_content = (self._db.execute("SELECT MAX(id) FROM contents").fetchone()[0] or 0) + 1
        self._removed = False
        self.replaced: list[Component] = []

    def add_component(self, component: Component, files: Sequence[StoredFile]) -> None:
        """Store ``component`` with its ``files``, replacing a component of the same kind, name
        and version."""
        old = self._db.execute("SELECT id FROM components WHERE kind=? AND name=? AND version=?",
                               (component.kind, component.name, component.version)).fetchone()
        if old is not None:
            self._db.execute("DELETE FROM files WHERE component=?", old)
            self._db.execute("DELETE FROM components WHERE id=?", old)
            self._removed = True
            self.replaced.append(component)
        cur = self._db.execute(
            "INSERT INTO components (kind, name, version, license, origin, purl) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (component.kind, component.name, component.version, component.license,
             component.origin, component.purl))
        component_id = cur.lastrowid
        rows = []
        for item in files:
            content = self._digests.get(item.digest)
            if content is None:
                content = self._store(item.hash_bytes, item.meta_bytes, item.n_lines, item.digest)
            rows.append((component_id, item.path, content, item.size))
        self._db.executemany("INSERT INTO files (component, path, content, size) VALUES (?, ?, ?, ?)",
                             rows)

    def finish(self) -> None:
        """Flush, drop records no file references any more, update the metadata and commit."""
        if self._removed:
            self._compact()
        self._flush()
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('updated', ?)", (_now(),))
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('tool_version', ?)",
                         (__version__,))
        self._db.commit()
        if self._removed:
            self._db.execute("VACUUM")

    def _store(self, hash_bytes: bytes, meta_bytes: bytes, n_lines: int, digest: int) -> int:
        content = self._next_content
        self._next_content += 1
        self._pending.append((content, digest, len(self._buffer), len(hash_bytes), len(meta_bytes),
                              n_lines))
        self._buffer += hash_bytes
        self._buffer += meta_bytes
        self._digests[digest] = content
        if len(self._buffer) >= _SEGMENT_BYTES:
            self._flush()
        return content

    def _flush(self) -> None:
        if not self._pending:
            return
        segment = self._db.execute("INSERT INTO segments (data) VALUES (?)",
                                   (bytes(self._buffer),)).lastrowid
        self._db.executemany(
            "INSERT INTO contents (id, digest, segment, offset, hash_len, meta_len, n_lines) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(cid, digest, segment, off, hl, ml, nl) for cid, digest, off, hl, ml, nl in self._pending])
        self._buffer = bytearray()
        self._pending = []

    def _compact(self) -> None:
        self._flush()
        dead = [row[0] for row in self._db.execute(
            "SELECT id FROM contents WHERE id NOT IN (SELECT DISTINCT content FROM files)")]
        if not dead:
            return
        marks = ",".join("?" * len(dead))
        touched = [row[0] for row in self._db.execute(
            f"SELECT DISTINCT segment FROM contents WHERE id IN ({marks})", dead)]
        self._db.execute(f"DELETE FROM contents WHERE id IN ({marks})", dead)
        dead_set = set(dead)
        for digest in [d for d, cid in self._digests.items() if cid in dead_set]:
            del self._digests[digest]
        for segment in touched:
            data = self._db.execute("SELECT data FROM segments WHERE id=?", (segment,)).fetchone()[0]
            live = self._db.execute(
                "SELECT id, digest, offset, hash_len, meta_len, n_lines FROM contents "
                "WHERE segment=? ORDER BY offset", (segment,)).fetchall()
            self._db.execute("DELETE FROM contents WHERE segment=?", (segment,))
            self._db.execute("DELETE FROM segments WHERE id=?", (segment,))
            for cid, digest, off, hl, ml, nl in live:
                self._pending.append((cid, digest, len(self._buffer), hl, ml, nl))
                self._buffer += data[off:off + hl + ml]
                if len(self._buffer) >= _SEGMENT_BYTES:
                    self._flush()
        self._flush()


def _meta(path: Path, rows: list[tuple]) -> dict[str, str]:
    """The meta table's rows as a dict; ``InputError`` for more rows than verifier writes or a
    key or value that is not short text."""
    if len(rows) > MAX_ROWS["meta"]:
        raise InputError(f"{path}: not a verifier knowledge base (more than {MAX_ROWS['meta']} "
                         "meta entries)")
    for key, value in rows:
        if not (isinstance(key, str) and isinstance(value, str)) or len(key) > 64 \
                or len(value) > 4096:
            raise InputError(f"{path}: not a verifier knowledge base (a meta entry that is not "
                             "a short text)")
    return dict(rows)


def _check_meta(path: Path, meta: dict[str, str]) -> None:
    if meta.get("format") != FORMAT:
        raise InputError(f"{path}: not a verifier knowledge base (format {meta.get('format')!r})")
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise InputError(f"{path}: knowledge base schema version {version}, this verifier reads "
                         f"version {SCHEMA_VERSION}", hint="rebuild it with `verifier kb build`")
    normalizer = meta.get("normalizer_version")
    if normalizer != str(NORMALIZER_VERSION):
        raise InputError(f"{path}: knowledge base made with normalizer version {normalizer}, this "
                         f"verifier uses version {NORMALIZER_VERSION}",
                         hint="rebuild it with `verifier kb build`")
    try:
        k, w = int(meta["k"]), int(meta["w"])
    except (KeyError, ValueError):
        raise InputError(f"{path}: corrupt knowledge base (bad winnowing parameters)") from None
    if not (4 <= k <= 256 and 1 <= w <= 1024):
        raise InputError(f"{path}: corrupt knowledge base (winnowing parameters k={k}, w={w})")
    if meta.get("line_hash_bits", "8") not in ("4", "8"):
        raise InputError(f"{path}: corrupt knowledge base (line_hash_bits "
                         f"{meta.get('line_hash_bits')!r})")


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()
