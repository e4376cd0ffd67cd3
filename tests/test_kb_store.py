"""Building, updating and opening knowledge bases: every kind of source, dedupe, replacement, and
bad input (corrupt, foreign, incompatible KB, empty source) as one-line InputErrors."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import verifier.archive as archive_module
from verifier.archive import ArchiveError, Limits
from verifier.errors import InputError
from verifier.kb import KnowledgeBase, add_to_kb, build_kb, match_texts, winnow

LEDGER = '''
class Ledger:
    def __init__(self, rows=None):
        self.rows = list(rows or [])
        self.index = {row["sku"]: row for row in self.rows}

    def receive(self, sku, quantity, note=""):
        if quantity <= 0:
            raise ValueError(f"quantity must be positive for {sku}")
        row = self.index.setdefault(sku, {"sku": sku, "quantity": 0, "notes": []})
        row["quantity"] += quantity
        if note:
            row["notes"].append(note)
        if row not in self.rows:
            self.rows.append(row)
        return row["quantity"]

    def ship(self, sku, quantity):
        row = self.index.get(sku)
        if row is None:
            raise KeyError(f"unknown sku {sku}")
        if row["quantity"] < quantity:
            raise ValueError(f"only {row['quantity']} of {sku} left, {quantity} asked")
        row["quantity"] -= quantity
        return row["quantity"]

    def report(self):
        lines = []
        for row in sorted(self.rows, key=lambda r: r["sku"]):
            lines.append(f"{row['sku']:<12}{row['quantity']:>8}")
        return "\\n".join(lines)
'''

SCHEDULER = '''
function schedule(tasks, workers) {
  const queue = tasks.slice().sort((a, b) => b.cost - a.cost);
  const load = new Array(workers).fill(0);
  const plan = load.map(() => []);
  for (const task of queue) {
    let best = 0;
    for (let i = 1; i < workers; i++) {
      if (load[i] < load[best]) best = i;
    }
    load[best] += task.cost;
    plan[best].push(task.id);
  }
  return { plan, makespan: Math.max(...load) };
}
module.exports = { schedule };
'''


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _tree(tmp_path / "ledgerlib", {
        "pyproject.toml": '[project]\nname = "ledgerlib"\nversion = "2.1.0"\nlicense = "MIT"\n',
        "ledgerlib/core.py": LEDGER,
        "ledgerlib/copy_of_core.py": LEDGER.replace("    ", "  "),  # same normalized record
        "README.md": "not source",
        "node_modules/sched/package.json": json.dumps(
            {"name": "sched", "version": "0.3.1", "license": "ISC"}),
        "node_modules/sched/index.js": SCHEDULER,
        "node_modules/@acme/tools/package.json": json.dumps(
            {"name": "@acme/tools", "version": "1.0.0", "license": {"type": "Apache-2.0"}}),
        "node_modules/@acme/tools/lib/sched.js": SCHEDULER.replace("schedule", "plan_tasks"),
    })


def test_build_directory_with_node_modules_and_dedupe(project: Path, tmp_path: Path):
    report = build_kb(tmp_path / "kb.sqlite", [project], jobs=1)
    assert report.components_added == 3 and report.files_indexed == 4
    with KnowledgeBase.open(tmp_path / "kb.sqlite") as kb:
        info = kb.info()
    assert info["files"] == 4 and info["distinct_files"] == 3  # the re-indented copy is stored once
    listing = {(c["kind"], c["name"], c["version"], c["license"]) for c in info["component_list"]}
    assert listing == {("directory", "ledgerlib", "2.1.0", "MIT"), ("npm", "sched", "0.3.1", "ISC"),
                       ("npm", "@acme/tools", "1.0.0", "Apache-2.0")}
    # the KB records the parameters it was written with (the defaults here)
    assert info["schema_version"] == 3 and (info["k"], info["w"]) == (winnow.K, winnow.W)
    assert (info["shape_k"], info["shape_w"]) == (winnow.SHAPE_K, winnow.SHAPE_W)
    assert info["line_hash_bits"] == 4
    found = match_texts(tmp_path / "kb.sqlite", [("src/stock.py", "# mine\n" + LEDGER)])
    (hit,) = found["src/stock.py"].matches
    assert (hit.component, hit.version, hit.license) == ("ledgerlib", "2.1.0", "MIT")
    assert hit.kb_file in {"ledgerlib/core.py", "ledgerlib/copy_of_core.py"}


def test_build_refuses_to_overwrite_and_is_atomic(project: Path, tmp_path: Path):
    out = tmp_path / "kb.sqlite"
    build_kb(out, [project], jobs=1)
    with pytest.raises(InputError, match="already exists"):
        build_kb(out, [project], jobs=1)
    with pytest.raises(InputError, match="no such file"):
        build_kb(out, [tmp_path / "missing"], force=True)
    assert KnowledgeBase.open(out).info()["components"] == 3  # the failed build left it alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kb.sqlite", "ledgerlib"]


def test_archives_are_read_in_memory_and_named_from_the_file(tmp_path: Path):
    tgz = tmp_path / "sched-4.2.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as archive:
        for name, text in {"sched-4.2.0/src/sched.js": SCHEDULER, "sched-4.2.0/docs/readme.txt": "x"}.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    zipped = tmp_path / "ledger.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("ledger/core.py", LEDGER)
        archive.writestr("ledger/PKG-INFO", "Metadata-Version: 2.1\nName: ledger\nVersion: 0.9\n"
                                            "License: BSD-2-Clause\n")
    build_kb(tmp_path / "kb.sqlite", [tgz, zipped], jobs=1)
    info = KnowledgeBase.open(tmp_path / "kb.sqlite").info()
    listing = {(c["name"], c["version"], c["license"], c["files"]) for c in info["component_list"]}
    assert listing == {("sched", "4.2.0", None, 1), ("ledger", "0.9", "BSD-2-Clause", 1)}
    corrupt = tmp_path / "broken-1.0.tar.gz"
    corrupt.write_bytes(tgz.read_bytes()[:40])
    with pytest.raises(InputError, match="corrupt archive"):
        build_kb(tmp_path / "kb2.sqlite", [corrupt])


def test_an_archive_with_an_escaping_entry_is_refused(tmp_path: Path):
    """Read with verifier.archive: an entry climbing out with ``..`` refuses the whole source archive
    (it was silently dropped before), one line naming the archive and the entry."""
    tgz = tmp_path / "sched-4.2.0.tar.gz"
    with tarfile.open(tgz, "w:gz") as archive:
        for name in ("sched-4.2.0/src/sched.js", "../evil.js"):
            info = tarfile.TarInfo(name)
            info.size = len(SCHEDULER.encode())
            archive.addfile(info, io.BytesIO(SCHEDULER.encode()))
    with pytest.raises(ArchiveError) as err:
        build_kb(tmp_path / "kb.sqlite", [tgz], jobs=1)
    assert str(err.value) == (f"{tgz}: unsafe entry '../evil.js' (leads outside the archive with '..'); "
                              "refusing the whole archive")
    assert not (tmp_path / "kb.sqlite").exists()


def test_python_env_metadata(tmp_path: Path):
    report = build_kb(tmp_path / "kb.sqlite", python_envs=[sys.prefix],
                      only=["MarkupSafe"], jobs=1)
    assert report.components_added == 1
    (comp,) = KnowledgeBase.open(tmp_path / "kb.sqlite").info()["component_list"]
    assert comp["name"] == "MarkupSafe" and comp["version"] == metadata.version("markupsafe")
    assert comp["license"] and comp["purl"] == f"pkg:pypi/markupsafe@{comp['version']}"
    assert comp["files"] >= 3  # __init__.py, _native.py, _speedups.c, _speedups.pyi
    with pytest.raises(InputError, match="no installed distribution named no-such-dist"):
        build_kb(tmp_path / "kb2.sqlite", python_envs=[sys.prefix], only=["no-such-dist"])


def test_add_appends_and_replaces_by_name_and_version(project: Path, tmp_path: Path):
    out = tmp_path / "kb.sqlite"
    build_kb(out, [project / "node_modules"], jobs=1)
    assert KnowledgeBase.open(out).info()["components"] == 2
    report = add_to_kb(out, [project], jobs=1)
    assert report.components_replaced == 2 and report.components_added == 1
    assert KnowledgeBase.open(out).info()["components"] == 3
    # a new release of the same version string replaces the old content entirely
    (project / "ledgerlib/core.py").write_text(SCHEDULER.replace("function", "async function"))
    (project / "ledgerlib/copy_of_core.py").unlink()
    add_to_kb(out, [project], jobs=1)
    info = KnowledgeBase.open(out).info()
    assert info["components"] == 3 and info["files"] == 3 and info["distinct_files"] == 3
    assert match_texts(out, [("stock.py", LEDGER)]) == {}


def test_bad_knowledge_bases_are_one_line_input_errors(project: Path, tmp_path: Path):
    good = tmp_path / "kb.sqlite"
    build_kb(good, [project], jobs=1)
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello\n" * 100)
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    other_db = tmp_path / "other.sqlite"
    sqlite3.connect(other_db).execute("CREATE TABLE meta (key TEXT, value TEXT)").connection.commit()
    cases = {foreign: "not a verifier knowledge base", empty: "not a verifier knowledge base",
             other_db: "not a verifier knowledge base", tmp_path / "nope.sqlite": "no such",
             tmp_path: "is a directory, not a knowledge base"}
    for key, value in (("schema_version", "99"), ("normalizer_version", "0")):
        bumped = tmp_path / f"{key}.sqlite"
        bumped.write_bytes(good.read_bytes())
        db = sqlite3.connect(bumped)
        db.execute("UPDATE meta SET value=? WHERE key=?", (value, key))
        db.commit()
        db.close()
        cases[bumped] = "version"
    truncated = tmp_path / "truncated.sqlite"
    truncated.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    cases[truncated] = "truncated knowledge base"
    for path, message in cases.items():
        with pytest.raises(InputError, match=message) as err:
            match_texts(path, [("a.py", LEDGER)])
        assert "\n" not in str(err.value)


@pytest.mark.parametrize("damage", [
    "UPDATE contents SET data = substr(data, 1, 10)",
    "UPDATE postings SET data = substr(data, 1, 3)",
    "UPDATE postings SET data = x'ffffffffffffffffffffff'",
    "UPDATE contents SET n_fps = 1",
    "UPDATE contents SET data = 'text'",
    "DELETE FROM contents",
])
def test_damaged_record_or_index_is_reported(project: Path, tmp_path: Path, damage: str):
    good = tmp_path / "kb.sqlite"
    build_kb(good, [project], jobs=1)
    db = sqlite3.connect(good)
    db.execute(damage)
    db.commit()
    db.close()
    with pytest.raises(InputError, match="corrupt knowledge base|damaged") as err:
        match_texts(good, [("a.py", LEDGER)])
    assert "\n" not in str(err.value)


def test_empty_sources_are_input_errors(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/readme.md").write_text("# nothing to index\n")
    with pytest.raises(InputError, match="no source files to index"):
        build_kb(tmp_path / "kb.sqlite", [tmp_path / "docs"])
    with pytest.raises(InputError, match="no source given"):
        build_kb(tmp_path / "kb.sqlite", [])
    with pytest.raises(InputError, match="no site-packages"):
        build_kb(tmp_path / "kb.sqlite", python_envs=[tmp_path / "docs"])
    assert not (tmp_path / "kb.sqlite").exists()


def test_a_kb_of_schema_2_is_refused_with_one_line_saying_rebuild(project: Path, tmp_path: Path):
    """KBs written before the shape stream (schema 2: no shape grams, no abstract line hashes)."""
    path = tmp_path / "old.sqlite"
    build_kb(path, [project], jobs=1)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        db.execute("DELETE FROM meta WHERE key IN ('shape_k', 'shape_w')")
    with pytest.raises(InputError) as err:
        KnowledgeBase.open(path)
    assert "schema version 2, this verifier reads version 3" in str(err.value)
    assert "\n" not in str(err.value) and "kb build" in (err.value.hint or "")


@pytest.mark.parametrize("key, value", [("shape_k", "0"), ("shape_k", "x"), ("shape_w", "999"),
                                        ("shape_w", None), ("line_hash_bits", "8")])
def test_bad_shape_parameters_are_a_corrupt_kb(project: Path, tmp_path: Path, key, value):
    path = tmp_path / "kb.sqlite"
    build_kb(path, [project], jobs=1)
    with sqlite3.connect(path) as db:
        if value is None:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    with pytest.raises(InputError, match="corrupt knowledge base") as err:
        KnowledgeBase.open(path)
    assert "\n" not in str(err.value)


@pytest.mark.slow
def test_index_of_real_packages_stays_under_a_tenth_of_their_source(tmp_path: Path):
    kb = tmp_path / "kb.sqlite"
    build_kb(kb, python_envs=[sys.prefix], only=["click", "jinja2", "pyyaml"], jobs=2)
    with KnowledgeBase.open(kb) as opened:
        info = opened.info()
    assert info["components"] == 3 and info["corpus_bytes"] > 500_000
    assert info["kb_ratio"] <= 0.10, info["kb_ratio"]


def test_archives_are_read_under_the_shared_limits(tmp_path: Path, monkeypatch):
    """build_kb reads source archives through verifier.archive, under its default limits."""
    zipped = tmp_path / "ledger.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for n in range(3):
            archive.writestr(f"ledger/m{n}.py", LEDGER)
    monkeypatch.setattr(archive_module, "DEFAULT_LIMITS", Limits(max_files=2))
    with pytest.raises(ArchiveError, match=r"archive holds more than 2 entries \(limit max_files"):
        build_kb(tmp_path / "kb.sqlite", [zipped], jobs=1)
    monkeypatch.setattr(archive_module, "DEFAULT_LIMITS", Limits(max_files=3))
    assert build_kb(tmp_path / "kb.sqlite", [zipped], jobs=1).files_indexed == 3
