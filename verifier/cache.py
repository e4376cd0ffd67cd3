"""A per-file result cache keyed by content hash and tool version.

Lives in one SQLite file under ``$XDG_CACHE_HOME/verifier`` (default ``~/.cache/verifier``), so a
re-run after one file changed recomputes only that file. Values are JSON. Only the parent process
reads and writes it; worker processes receive and return plain data.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from verifier.errors import InputError
from verifier.paths import check_file


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/verifier``, or ``~/.cache/verifier``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "verifier"


class ResultCache:
    """Cached JSON results for one ``namespace`` (e.g. ``scancode``) at one ``version``.

    A result stored under another version is never returned. ``directory=None`` disables caching:
    every lookup misses and nothing is written.
    """

    def __init__(self, directory: Path | None, namespace: str, version: str) -> None:
        self.namespace = namespace
        self.version = version
        self._db: sqlite3.Connection | None = None
        if directory is not None:
            self._db = _open(directory)

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values among ``keys``, by key (misses are absent)."""
        if self._db is None:
            return {}
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, value FROM results WHERE namespace=? AND version=? AND key IN ({marks})",
                (self.namespace, self.version, *chunk))
            found.update((k, json.loads(v)) for k, v in rows)
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Store ``items`` (key -> JSON-serialisable value)."""
        if self._db is None or not items:
            return
        self._db.executemany(
            "INSERT OR REPLACE INTO results (namespace, version, key, value) VALUES (?, ?, ?, ?)",
            [(self.namespace, self.version, k, json.dumps(v, sort_keys=True)) for k, v in items.items()])
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open(directory: Path) -> sqlite3.Connection:
    """The cache database in ``directory`` (made if need be); ``InputError`` naming the path when
    it cannot be used (not a directory, unwritable, the file a FIFO or not a database)."""
    path = directory / "cache.sqlite3"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"{directory}: cannot make the cache directory: {err.strerror or err}",
                         hint="give --cache-dir or --no-cache") from None
    if os.path.lexists(path):
        check_file(path, what="result cache")
    db = None
    try:
        db = sqlite3.connect(path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS results (namespace TEXT, version TEXT, key TEXT, "
            "value TEXT, PRIMARY KEY (namespace, version, key))")
        db.commit()
    except sqlite3.Error as err:
        if db is not None:
            db.close()
        raise InputError(f"{path}: cannot use the result cache ({err})",
                         hint="remove it, or give --cache-dir or --no-cache") from None
    return db
