"""A knowledge base may come from the delivery itself (``origin.knowledge_base`` in its task book), so
it is opened as hostile input: a view (an endless recursive one, a huge cartesian one), a trigger, a
virtual table, a generated column, wrong columns, a file that is not SQLite, a truncated one, a WAL
file, a zip bomb in a record — each is one line naming the file, exit 2, and never a hang or an
internal error, through ``kb info``, ``kb add``, ``origin --kb`` and ``run`` (the spec's KB).

The hostile files are built here, at test time, with the sqlite3 module. None reaches a statement
deadline (the schema is checked before any query on a table), so the per-test timeout is a guard
against a regression only; it is well above ``guard.STATEMENT_TIMEOUT_S``.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from support import write_tree
from verifier.errors import InputError
from verifier.kb import KnowledgeBase, build_kb, guard, match_texts

TIMEOUT = 3 * guard.STATEMENT_TIMEOUT_S

STOCK = '''
def receive(rows, sku, quantity, note=""):
    """Book ``quantity`` of ``sku`` in; return the new quantity."""
    if quantity <= 0:
        raise ValueError(f"quantity must be positive for {sku}")
    row = rows.setdefault(sku, {"sku": sku, "quantity": 0, "notes": []})
    row["quantity"] += quantity
    if note:
        row["notes"].append(note)
    return row["quantity"]


def ship(rows, sku, quantity):
    """Book ``quantity`` of ``sku`` out; return what is left."""
    row = rows.get(sku)
    if row is None:
        raise KeyError(f"unknown sku {sku}")
    if row["quantity"] < quantity:
        raise ValueError(f"only {row['quantity']} of {sku} left, {quantity} asked")
    row["quantity"] -= quantity
    return row["quantity"]


def report(rows):
    """One line per sku, sorted."""
    lines = []
    for sku in sorted(rows):
        lines.append(f"{sku:<12}{rows[sku]['quantity']:>8}")
    return "\\n".join(lines)
'''


@pytest.fixture(scope="module")
def good_kb(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kb-src")
    write_tree(root / "stocklib", {"stocklib/stock.py": STOCK, "PKG-INFO": "Name: stocklib\n"
                                   "Version: 1.0\nLicense: MIT\n"})
    out = root / "good.kb"
    build_kb(out, [root / "stocklib"], jobs=1)
    return out


def _altered(good: Path, target: Path, script: str) -> Path:
    shutil.copyfile(good, target)
    db = sqlite3.connect(target)
    db.executescript(script)
    db.commit()
    db.close()
    return target


RECURSIVE_VIEW = """
DROP TABLE meta;
CREATE VIEW meta AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
    SELECT 'k' || x AS key, 'v' AS value FROM c WHERE x < 0;
"""
HUGE_VIEW = """
DROP TABLE meta;
CREATE TABLE digits (d INTEGER);
INSERT INTO digits VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9);
CREATE VIEW meta AS SELECT printf('%d%d%d%d%d%d%d%d%d', a.d, b.d, c.d, d.d, e.d, f.d, g.d, h.d, i.d)
    AS key, hex(zeroblob(1000)) AS value
    FROM digits a, digits b, digits c, digits d, digits e, digits f, digits g, digits h, digits i;
"""

#: name -> (how to make it from a good KB, what the one-line error says)
HOSTILE: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    "recursive-view": (lambda good, t: _altered(good, t, RECURSIVE_VIEW), "'meta' is a view"),
    "huge-view": (lambda good, t: _altered(good, t, HUGE_VIEW), "'meta' is a view"),
    "extra-view": (lambda good, t: _altered(good, t, "CREATE VIEW x AS SELECT * FROM files;"),
                   "'x' is a view"),
    "trigger": (lambda good, t: _altered(
        good, t, "CREATE TRIGGER spy AFTER INSERT ON files BEGIN "
                 "INSERT INTO meta (key, value) VALUES ('spy', 'ran'); END;"), "holds a trigger"),
    "virtual-table": (lambda good, t: _altered(
        good, t, "DROP TABLE meta; CREATE VIRTUAL TABLE meta USING fts5(key, value);"),
        "'meta' is a virtual table"),
    "generated-column": (lambda good, t: _altered(
        good, t, "ALTER TABLE files ADD COLUMN blob BLOB GENERATED ALWAYS AS "
                 "(zeroblob(1000000000)) VIRTUAL;"), "table 'files' has columns"),
    "wrong-columns": (lambda good, t: _altered(
        good, t, "ALTER TABLE files RENAME COLUMN path TO where_from;"),
        "table 'files' has columns (id INTEGER PRIMARY KEY, component INTEGER, where_from TEXT"),
    "extra-table": (lambda good, t: _altered(good, t, "CREATE TABLE notes (x);"),
                    "'notes' (table) is not part of one"),
    "missing-table": (lambda good, t: _altered(good, t, "DROP TABLE postings;"),
                      "no table 'postings'"),
    "missing-index": (lambda good, t: _altered(good, t, "DROP INDEX files_by_content;"),
                      "no index 'files_by_content'"),
    "not-sqlite": (lambda good, t: (t.write_text("key,value\nformat,verifier-kb\n" * 100), t)[1],
                   "not an SQLite database"),
    "empty": (lambda good, t: (t.write_bytes(b""), t)[1], "empty file"),
    "truncated-page": (lambda good, t: (t.write_bytes(good.read_bytes()[:4096]), t)[1],
                       "truncated knowledge base (4096 bytes of the"),
    "truncated-odd": (lambda good, t: (t.write_bytes(good.read_bytes()[:3000]), t)[1],
                      "truncated knowledge base (3000 bytes is not a whole number"),
    "header-only": (lambda good, t: (t.write_bytes(good.read_bytes()[:60]), t)[1],
                    "not an SQLite database"),
    "wal": (lambda good, t: _altered(good, t, "PRAGMA journal_mode=WAL;"), "WAL"),
}


@pytest.fixture(params=sorted(HOSTILE))
def hostile(request, good_kb, tmp_path) -> tuple[Path, str]:
    make, message = HOSTILE[request.param]
    return make(good_kb, tmp_path / f"{request.param}.kb"), message


def _one_line(result, path: Path, message: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"verifier: error: {path}: "), lines[0]
    assert message in lines[0], lines[0]


@pytest.mark.timeout(TIMEOUT)
def test_kb_info_refuses_it(hostile, cli):
    path, message = hostile
    _one_line(cli("kb", "info", path), path, message)


@pytest.mark.timeout(TIMEOUT)
def test_kb_add_refuses_it_and_leaves_it_alone(hostile, cli, tmp_path):
    path, message = hostile
    before = path.read_bytes()
    source = write_tree(tmp_path / "more", {"more.py": STOCK.replace("sku", "item")})
    _one_line(cli("kb", "add", path, source), path, message)
    assert path.read_bytes() == before  # no trigger ran, nothing was written


@pytest.mark.timeout(TIMEOUT)
def test_origin_kb_refuses_it(hostile, cli, tmp_path):
    path, message = hostile
    repo = write_tree(tmp_path / "repo", {"app.py": STOCK})
    _one_line(cli("origin", repo, "--no-spec", "--no-cache", "-q", "--kb", path), path, message)


@pytest.mark.timeout(TIMEOUT)
def test_run_refuses_the_specs_knowledge_base_before_it_starts(hostile, cli, tmp_path):
    path, message = hostile
    repo = write_tree(tmp_path / "repo", {"app.py": STOCK})
    shutil.move(path, repo / "evil.kb")
    (repo / "acceptance.yaml").write_text(
        "project: {name: t, version: '1.0.0', owners: [Example Co]}\n"
        "origin: {knowledge_base: evil.kb}\n"
        "indicators:\n"
        "  - {id: O1, name: r, characteristic: maintainability, probe: origin, metric: ratio,"
        " target: '>= 60%'}\n", "utf-8")
    out = tmp_path / "run"
    _one_line(cli("run", repo / "acceptance.yaml", "--out", out, "-q", "--no-cache"),
              (repo / "evil.kb").resolve(), message)
    assert not out.exists()


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("kind", ["recursive-view", "huge-view"])
def test_issue_reproduction_through_the_installed_command(kind, good_kb, tmp_path):
    """The issue's report: `kb info` on these hung, or died with `internal error: MemoryError`."""
    path = HOSTILE[kind][0](good_kb, tmp_path / "evil.kb")
    done = subprocess.run([sys.executable, "-m", "verifier", "kb", "info", str(path)],
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"verifier: error: {path}: not a verifier knowledge base: "
                                        "'meta' is a view, not a table (build one with "
                                        "`verifier kb build`)"]


def test_a_good_kb_still_opens_read_only_and_bounded(good_kb):
    before = good_kb.read_bytes()
    with KnowledgeBase.open(good_kb) as kb:
        assert kb.info()["components"] == 1
        assert match_texts(kb, [("mine.py", STOCK)])  # the copied file is found
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            kb._db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        heap = kb._db.execute("PRAGMA hard_heap_limit").fetchone()[0]
        assert 0 < heap <= guard.HEAP_LIMIT_BYTES
        assert kb._db.getlimit(sqlite3.SQLITE_LIMIT_LENGTH) == guard.MAX_VALUE_BYTES
    assert good_kb.read_bytes() == before


def test_a_statement_past_its_deadline_is_stopped(good_kb, monkeypatch):
    """The deadline itself: with 0 s and a look at the clock every instruction, opening stops."""
    monkeypatch.setattr(guard, "STATEMENT_TIMEOUT_S", 0.0)
    monkeypatch.setattr(guard, "PROGRESS_STEPS", 1)
    with pytest.raises(InputError, match=r"reading the knowledge base took over 0 s; stopped") as err:
        KnowledgeBase.open(good_kb)
    assert "\n" not in str(err.value)


def test_too_many_rows_are_refused(good_kb, monkeypatch):
    monkeypatch.setitem(guard.MAX_ROWS, "files", 0)
    with pytest.raises(InputError, match=r"1 rows in files, more than 0"):
        KnowledgeBase.open(good_kb)


def test_a_zip_bomb_in_a_record_is_refused(good_kb, tmp_path):
    """A record whose line data inflates far beyond what its fingerprint and line counts allow."""
    path = tmp_path / "bomb.kb"
    shutil.copyfile(good_kb, path)
    db = sqlite3.connect(path)
    bomb = zlib.compress(b"\0" * (64 << 20), 9)
    db.execute("UPDATE contents SET data = ?", (bomb,))
    db.commit()
    db.close()
    with pytest.raises(InputError, match="line data longer than its record allows"):
        match_texts(path, [("mine.py", STOCK)])


def test_a_schema_version_1_kb_is_refused_with_rebuild(tmp_path):
    """KBs written before the fingerprint index: one line saying which version and to rebuild."""
    from verifier.kb import store

    path = tmp_path / "v1.kb"
    db = sqlite3.connect(path)
    db.executescript(store._SCHEMA_V1)
    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
        ("format", "verifier-kb"), ("schema_version", "1"), ("normalizer_version", "1"),
        ("k", "30"), ("w", "80")])
    db.commit()
    db.close()
    with pytest.raises(InputError) as err:
        KnowledgeBase.open(path)
    text = str(err.value)
    assert "schema version 1" in text and "reads version 3" in text and "\n" not in text
    assert "kb build" in (err.value.hint or "")


def test_an_index_bucket_claiming_endless_entries_is_refused(good_kb, tmp_path):
    path = tmp_path / "bucket.kb"
    shutil.copyfile(good_kb, path)
    db = sqlite3.connect(path)
    db.execute("UPDATE postings SET data = CAST(x'ffffffff0f' || data AS BLOB)")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="damaged index bucket: more entries than it holds"):
        match_texts(path, [("mine.py", STOCK)])


def test_a_record_claiming_endless_lines_is_refused(good_kb, tmp_path):
    path = tmp_path / "lines.kb"
    shutil.copyfile(good_kb, path)
    db = sqlite3.connect(path)
    db.execute("UPDATE contents SET n_lines = 1 << 40")
    db.commit()
    db.close()
    with pytest.raises(InputError, match="damaged fingerprint record"):
        match_texts(path, [("mine.py", STOCK)])


def test_a_large_kb_is_opened_without_reading_it_whole(good_kb, tmp_path, monkeypatch):
    """Past FULL_CHECK_BYTES only the small tables are quick-checked and row caps are read from
    the rowid range: opening never scans the index; a damaged small table is still refused."""
    monkeypatch.setattr(guard, "FULL_CHECK_BYTES", 0)
    statements: list[str] = []
    real_connect = guard.connect

    def traced(path, *, writable):
        db = real_connect(path, writable=writable)
        db.set_trace_callback(statements.append)
        return db
    monkeypatch.setattr("verifier.kb.store.connect", traced)
    KnowledgeBase.open(good_kb).close()
    text = "\n".join(statements)
    assert 'PRAGMA quick_check("meta")' in text and "PRAGMA quick_check\n" not in text + "\n"
    assert "COUNT(*)" not in text
    assert not any(s.upper().startswith("SELECT") and "POSTINGS" in s.upper() and "ROWID" not in
                   s.upper() for s in statements)
