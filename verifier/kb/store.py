"""The knowledge base file: one SQLite database holding components, files, fingerprint records and
the inverted index from fingerprint to record.

Layout (schema version 3):

- ``meta``: key/value — ``format`` (``verifier-kb``), ``schema_version``, ``normalizer_version``,
  ``k`` and ``w`` (winnowing parameters of the exact stream), ``shape_k`` and ``shape_w`` (of
  the shape stream), ``line_hash_bits`` (4), ``index_bits`` (bucket bits of the index), ``postings`` (fingerprint occurrences it holds), ``tool_version`` (verifier that
  last wrote it), timestamps.
- ``components``: kind (python, npm, debian, directory, archive), name, version, license, where it
  came from, purl.
- ``files``: component, path inside the component, size, and the record of its content
  (``files_by_content`` finds the files of a record).
- ``contents``: one row per distinct fingerprint record (identical files are stored once): how
  many fingerprints and effective lines it has and its zlib-compressed line data (``winnow.encode``:
  how many fingerprints are of the exact stream, the line each starts on, line numbers, per line
  a 4-bit hash of the line and one of its abstract text). The fingerprints themselves are not
  here but in the index.
- ``postings``: the inverted index (``verifier.kb.postings``): per bucket of fingerprints, the
  records and positions holding each. Matching reads the buckets of the delivery's fingerprints,
  the records they name and those records' files: what the delivery holds, not what the KB holds.

Schema version 1 (records holding their fingerprints, read by one pass over the whole KB) and 2
(the exact stream alone, no abstract line hashes) are refused with a one-line error: rebuild it
with ``verifier kb build`` (a cached auto KB is rebuilt by itself).

Replacing a component (``kb add`` of a name/version already held) drops its files; records no longer
referenced and their index entries are removed, and the file is vacuumed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from verifier import __version__
from verifier.errors import InputError
from verifier.kb import postings
from verifier.kb.guard import (
    MAX_ROWS,
    Deadline,
    check_file_header,
    check_row_counts,
    check_schema,
    check_structure,
    connect,
    database_error,
)
from verifier.kb.normalize import NORMALIZER_VERSION
from verifier.kb.winnow import LINE_HASH_BITS, SHAPE_K, SHAPE_W, decode_hashes

FORMAT = "verifier-kb"
SCHEMA_VERSION = 3
#: Fingerprint occurrences held in memory by a writer before they are merged into the index.
_FLUSH_POSTINGS = 8_000_000
#: SQLite page size of a new KB: the small tables take a page each (and each of their indexes), so
#: 1 KiB pages instead of the default 4 KiB save about 25 KiB per KB …
_PAGE_BYTES = 1024
#: … but leave 15-20% of each page unused under index buckets and records a few hundred bytes
#: long: a KB of this many fingerprint occurrences or more is written with 4 KiB pages (measured:
#: 168 -> 149 MiB at 100,000 files).
_LARGE_POSTINGS, _LARGE_PAGE_BYTES = 1_000_000, 4096

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE components (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL,
    license TEXT, origin TEXT, purl TEXT, UNIQUE (kind, name, version));
CREATE TABLE contents (
    id INTEGER PRIMARY KEY, digest INTEGER NOT NULL, n_fps INTEGER NOT NULL,
    n_lines INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE files (
    id INTEGER PRIMARY KEY, component INTEGER NOT NULL, path TEXT NOT NULL,
    content INTEGER NOT NULL, size INTEGER NOT NULL);
CREATE INDEX files_by_content ON files (content);
CREATE TABLE postings (bucket INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""

#: Schema version 1, recognised to say "rebuild it" rather than "not a knowledge base".
_SCHEMA_V1 = """
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
    """``python``, ``npm``, ``debian``, ``directory`` or ``archive``."""
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
        self.shape_k = int(meta["shape_k"])
        self.shape_w = int(meta["shape_w"])
        """Winnowing parameters of the shape stream (``winnow.fingerprint``)."""
        self.index_bits = int(meta["index_bits"])
        """Bucket bits of the inverted index (``verifier.kb.postings``)."""
        self.tag_bits = int(meta.get("tag_bits") or postings.known_tag_bits(self.index_bits))
        """Known bits of each index entry's tag."""

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
                _check_schema(path, db)
                rows = db.execute("SELECT key, value FROM meta LIMIT ?",
                                  (MAX_ROWS["meta"] + 1,)).fetchall()
            meta = _meta(path, rows)
            _check_meta(path, meta)
            with deadline.running():
                check_row_counts(path, db)
                problem = check_structure(path, db)
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
    def create(cls, path: str | os.PathLike, *, k: int, w: int, shape_k: int = SHAPE_K,
               shape_w: int = SHAPE_W, index_bits: int = postings.MIN_BITS,
               page_size: int = _PAGE_BYTES) -> KnowledgeBase:
        """Create an empty KB at ``path`` (which must not exist) with winnowing parameters k, w
        (exact stream) and ``shape_k``, ``shape_w`` (shape stream) and an index of ``index_bits``
        bucket bits (a writer re-buckets it as it grows)."""
        path = Path(path)
        db = sqlite3.connect(path)
        db.execute(f"PRAGMA page_size={int(page_size)}")
        db.execute("PRAGMA journal_mode=MEMORY")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(_SCHEMA)
        now = _now()
        meta = {"format": FORMAT, "schema_version": str(SCHEMA_VERSION),
                "normalizer_version": str(NORMALIZER_VERSION), "k": str(k), "w": str(w),
                "shape_k": str(shape_k), "shape_w": str(shape_w),
                "line_hash_bits": str(LINE_HASH_BITS), "index_bits": str(index_bits),
                "tag_bits": str(postings.known_tag_bits(index_bits)), "postings": "0",
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

    def components_by_id(self, ids: Iterable[int]) -> dict[int, Component]:
        """The components of these ids (those that exist)."""
        out: dict[int, Component] = {}
        for chunk in _chunks(sorted(set(ids))):
            marks = ",".join("?" * len(chunk))
            for row in self._query("SELECT id, kind, name, version, license, origin, purl FROM "
                                   f"components WHERE id IN ({marks})", chunk):
                out[row[0]] = Component(*row[1:])
        return out

    def files_of(self, contents: Iterable[int]) -> dict[int, list[tuple[int, str]]]:
        """content id -> [(component id, path)] sorted, for these records (by the
        ``files_by_content`` index: only their files are read)."""
        out: dict[int, list[tuple[int, str]]] = {}
        for chunk in _chunks(sorted(set(contents))):
            marks = ",".join("?" * len(chunk))
            for content, component, path in self._query(
                    f"SELECT content, component, path FROM files WHERE content IN ({marks})",
                    chunk):
                out.setdefault(content, []).append((component, path))
        for files in out.values():
            files.sort()
        return out

    def buckets(self, ids: Iterable[int]) -> Iterator[tuple[int, bytes]]:
        """(bucket, data) of the index buckets of these ids that hold anything."""
        for chunk in _chunks(sorted(set(ids))):
            marks = ",".join("?" * len(chunk))
            yield from self._query(f"SELECT bucket, data FROM postings WHERE bucket IN ({marks})",
                                   chunk)

    def lookup(self, values: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
        """Per fingerprint value, the ``(record, position)`` occurrences the index holds (with
        the rare false hit of a value sharing its bucket and tag, see ``postings``)."""
        bits, shift = self.index_bits, postings.TAG_BITS - self.tag_bits
        wanted: dict[int, dict[int, list[int]]] = {}
        for value in values:
            bucket, tag = postings.bucket_and_tag(value, bits)
            wanted.setdefault(bucket, {}).setdefault(tag >> shift, []).append(value)
        out: dict[int, list[tuple[int, int]]] = {}
        for bucket, data in self.buckets(wanted):
            try:
                found = postings.lookup(data, [t << shift for t in wanted[bucket]], self.tag_bits)
            except (ValueError, TypeError) as err:
                raise InputError(f"{self.path}: corrupt knowledge base (index bucket {bucket}: "
                                 f"{err})", hint="rebuild it with `verifier kb build`") from None
            for masked, entries in found.items():
                for value in wanted[bucket][masked]:
                    out[value] = entries
        return out

    def records(self, contents: Iterable[int]) -> dict[int, tuple[int, int, bytes]]:
        """content id -> (fingerprints, effective lines, line data) of these records."""
        out: dict[int, tuple[int, int, bytes]] = {}
        for chunk in _chunks(sorted(set(contents))):
            marks = ",".join("?" * len(chunk))
            for cid, n_fps, n_lines, data in self._query(
                    f"SELECT id, n_fps, n_lines, data FROM contents WHERE id IN ({marks})", chunk):
                if not isinstance(data, bytes):
                    raise InputError(f"{self.path}: corrupt knowledge base (record {cid} is not "
                                     "a blob)", hint="rebuild it with `verifier kb build`")
                out[cid] = (n_fps, n_lines, data)
        return out

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
        (n_contents, n_fps, n_lines), = self._query(
            "SELECT COUNT(*), COALESCE(SUM(n_fps), 0), COALESCE(SUM(n_lines), 0) FROM contents")
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
            "shape_k": self.shape_k,
            "shape_w": self.shape_w,
            "line_hash_bits": LINE_HASH_BITS,
            "components": len(components),
            "components_by_kind": dict(sorted(by_kind.items())),
            "files": sum(files for files, _ in per_component.values()),
            "distinct_files": n_contents,
            "fingerprints": n_fps,
            "index_bits": self.index_bits,
            "postings": int(self.meta.get("postings", "0")),
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
    """Adds components to an open KB, storing identical fingerprint records once and their
    fingerprints in the index."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self._kb = kb
        self._db = kb._db
        self._digests = {digest: cid for cid, digest in self._db.execute(
            "SELECT id, digest FROM contents")}
        self._next_content = (self._db.execute("SELECT MAX(id) FROM contents").fetchone()[0] or 0) + 1
        self._bits = kb.index_bits
        self._tag_bits = int(kb.meta.get("tag_bits", postings.known_tag_bits(self._bits)))
        self._postings = int(kb.meta.get("postings", "0"))
        self._pending: dict[int, list[tuple[int, int, int]]] = {}
        self._pending_count = 0
        self._removed = False
        self.replaced: list[Component] = []

    def expect(self, total: int) -> None:
        """Size the index of an empty KB for ``total`` fingerprint occurrences to come."""
        if self._postings == 0 and not self._pending:
            self._bits = postings.bits_for(total)
            self._tag_bits = postings.known_tag_bits(self._bits)

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
        if self._pending_count >= _FLUSH_POSTINGS:
            self._flush()

    def finish(self) -> None:
        """Merge the index, drop records no file references any more, re-bucket the index if it
        outgrew its buckets, update the metadata and commit."""
        self._flush()
        if self._removed:
            self._compact()
        wanted = postings.bits_for(self._postings)
        if self._postings > postings.MAX_MEAN_ENTRIES << self._bits and wanted > self._bits:
            more = min(wanted - self._bits, self._tag_bits - postings.MIN_TAG_BITS)
            if more > 0:
                self._rebucket(more)
        for key, value in (("updated", _now()), ("tool_version", __version__),
                           ("index_bits", str(self._bits)), ("tag_bits", str(self._tag_bits)),
                           ("postings", str(self._postings))):
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        self._db.commit()
        page = self._db.execute("PRAGMA page_size").fetchone()[0]
        if self._postings >= _LARGE_POSTINGS and page < _LARGE_PAGE_BYTES:
            self._db.execute(f"PRAGMA page_size={_LARGE_PAGE_BYTES}")  # takes effect in VACUUM
            self._removed = True
        if self._removed:
            self._db.execute("VACUUM")

    def _store(self, hash_bytes: bytes, meta_bytes: bytes, n_lines: int, digest: int) -> int:
        content = self._next_content
        self._next_content += 1
        hashes = decode_hashes(hash_bytes)
        self._db.execute("INSERT INTO contents (id, digest, n_fps, n_lines, data) "
                         "VALUES (?, ?, ?, ?, ?)", (content, digest, len(hashes), n_lines,
                                                    meta_bytes))
        bits = self._bits
        pending = self._pending
        for position, value in enumerate(hashes):
            bucket, tag = postings.bucket_and_tag(value, bits)
            entries = pending.get(bucket)
            if entries is None:
                pending[bucket] = [(content, position, tag)]
            else:
                entries.append((content, position, tag))
        self._pending_count += len(hashes)
        self._digests[digest] = content
        return content

    def _flush(self) -> None:
        """Merge the pending entries into their buckets (new records come after every record
        a bucket holds, so entries stay in record order)."""
        if not self._pending:
            return
        ids = sorted(self._pending)
        for at in range(0, len(ids), _CHUNK):
            chunk = ids[at:at + _CHUNK]
            marks = ",".join("?" * len(chunk))
            held = dict(self._db.execute(
                f"SELECT bucket, data FROM postings WHERE bucket IN ({marks})", chunk))
            rows = []
            for bucket in chunk:
                data, _ = postings.merge(held.get(bucket), self._pending[bucket])
                rows.append((bucket, data))
            self._db.executemany("INSERT OR REPLACE INTO postings (bucket, data) VALUES (?, ?)",
                                 rows)
        self._postings += self._pending_count
        self._pending = {}
        self._pending_count = 0

    def _compact(self) -> None:
        """Drop records no file references and their index entries (rewrites the index)."""
        dead = frozenset(row[0] for row in self._db.execute(
            "SELECT id FROM contents WHERE id NOT IN (SELECT DISTINCT content FROM files)"))
        if not dead:
            return
        self._db.executemany("DELETE FROM contents WHERE id = ?", [(cid,) for cid in dead])
        for digest in [d for d, cid in self._digests.items() if cid in dead]:
            del self._digests[digest]
        rows = self._db.execute("SELECT bucket, data FROM postings").fetchall()
        for bucket, data in rows:
            kept, dropped = postings.merge(data, [], dead)
            if not dropped:
                continue
            self._postings -= dropped
            if kept is None:
                self._db.execute("DELETE FROM postings WHERE bucket = ?", (bucket,))
            else:
                self._db.execute("UPDATE postings SET data = ? WHERE bucket = ?", (kept, bucket))

    def _rebucket(self, more: int) -> None:
        """Move every entry to a KB with ``more`` more bucket bits (one tag bit each)."""
        moved: dict[int, list[tuple[int, int, int]]] = {}
        for bucket, data in self._db.execute("SELECT bucket, data FROM postings").fetchall():
            for new, entry in postings.rebucket(bucket, postings.decode(data), more):
                moved.setdefault(new, []).append(entry)
        self._db.execute("DELETE FROM postings")
        self._db.executemany("INSERT INTO postings (bucket, data) VALUES (?, ?)",
                             ((bucket, postings.encode(sorted(entries)))
                              for bucket, entries in sorted(moved.items())))
        self._bits += more
        self._tag_bits -= more


_CHUNK = 500


def _chunks(items: list) -> Iterator[list]:
    for at in range(0, len(items), _CHUNK):
        yield items[at:at + _CHUNK]


def _check_schema(path: Path, db: sqlite3.Connection) -> None:
    """``check_schema`` against this version's schema; a KB of schema version 1 is told apart
    from a foreign file (one line: rebuild it)."""
    try:
        check_schema(path, db, _SCHEMA)
    except InputError:
        try:
            check_schema(path, db, _SCHEMA_V1)
        except InputError:
            pass
        else:
            raise InputError(f"{path}: knowledge base schema version 1 (no fingerprint index), "
                             f"this verifier reads version {SCHEMA_VERSION}",
                             hint="rebuild it with `verifier kb build`") from None
        raise


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
    try:
        shape_k, shape_w = int(meta["shape_k"]), int(meta["shape_w"])
    except (KeyError, ValueError):
        raise InputError(f"{path}: corrupt knowledge base (bad shape winnowing parameters)"
                         ) from None
    if not (4 <= shape_k <= 256 and 1 <= shape_w <= 64):
        raise InputError(f"{path}: corrupt knowledge base (shape winnowing parameters "
                         f"shape_k={shape_k}, shape_w={shape_w})")
    if meta.get("line_hash_bits") != str(LINE_HASH_BITS):
        raise InputError(f"{path}: corrupt knowledge base (line_hash_bits "
                         f"{meta.get('line_hash_bits')!r})")
    bits, tag_bits = meta.get("index_bits", ""), meta.get("tag_bits", "")
    if not (bits.isdigit() and postings.MIN_BITS <= int(bits) <= postings.MAX_BITS
            and (not tag_bits or (tag_bits.isdigit() and postings.MIN_TAG_BITS <= int(tag_bits)
                                  <= postings.known_tag_bits(int(bits))))):
        raise InputError(f"{path}: corrupt knowledge base (index_bits {bits!r}, tag_bits "
                         f"{tag_bits!r})")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
