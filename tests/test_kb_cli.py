"""`verifier kb build/add/info`: output, exit codes, help, one-line errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.cli import main
from verifier.kb import winnow

CODE = "\n".join(f"def step_{n}(state):\n    state['count_{n}'] = state.get('count_{n}', 0) + {n}\n"
                 f"    return sorted(state.items())[:{n + 1}]\n" for n in range(30))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "steps-1.4.2"
    (root / "steps").mkdir(parents=True)
    (root / "steps/core.py").write_text(CODE)
    (root / "package.json").write_text(json.dumps({"name": "steps", "version": "1.4.2",
                                                   "license": "MIT"}))
    return root


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_build_info_add(source: Path, tmp_path: Path):
    kb = str(tmp_path / "kb.sqlite")
    result = _run("kb", "build", str(source), "-o", kb)
    assert result.exit_code == 0, result.output
    assert "1 components added" in result.output and "1 files indexed" in result.output
    result = _run("kb", "info", kb)
    assert result.exit_code == 0
    assert f"k={winnow.K} w={winnow.W}" in result.output
    assert f"shape grams k={winnow.SHAPE_K} w={winnow.SHAPE_W}" in result.output and "- steps 1.4.2 [directory] MIT: 1 files" in result.output
    data = json.loads(_run("kb", "info", kb, "--json").output)
    assert data["components"] == 1 and data["files"] == 1 and data["fingerprints"] > 10
    result = _run("kb", "add", kb, str(source))
    assert result.exit_code == 0 and "1 replaced" in result.output
    assert json.loads(_run("kb", "info", kb, "--json").output)["components"] == 1


def test_add_reports_the_index_size_against_the_whole_corpus(source: Path, tmp_path: Path):
    import re

    kb = str(tmp_path / "kb.sqlite")
    assert _run("kb", "build", str(source), "-o", kb).exit_code == 0
    small = tmp_path / "tiny-0.1"
    small.mkdir()
    (small / "t.py").write_text(CODE[:400])
    result = _run("kb", "add", kb, str(small))
    assert result.exit_code == 0, result.output
    info = json.loads(_run("kb", "info", kb, "--json").output)
    shown = float(re.search(r"\(([\d.]+)% of its ", result.output).group(1))
    assert shown == pytest.approx(info["kb_bytes"] / info["corpus_bytes"] * 100, abs=0.06)
    assert info["corpus_bytes"] == len(CODE) + 400


def test_python_env_option(tmp_path: Path):
    import sys
    kb = str(tmp_path / "kb.sqlite")
    result = _run("kb", "build", "-o", kb, "--python-env", sys.prefix, "--only", "markupsafe")
    assert result.exit_code == 0, result.output
    assert "MarkupSafe" in _run("kb", "info", kb).output


@pytest.mark.parametrize("make, args, message", [
    (lambda t: None, ["kb", "info", "{t}/missing.sqlite"], "no such knowledge base"),
    (lambda t: (t / "x.txt").write_text("plain text\n" * 50), ["kb", "info", "{t}/x.txt"],
     "not a verifier knowledge base"),
    (lambda t: (t / "empty").mkdir(), ["kb", "build", "{t}/empty", "-o", "{t}/kb.sqlite"],
     "no source files to index"),
    (lambda t: None, ["kb", "build", "-o", "{t}/kb.sqlite"], "no source given"),
    (lambda t: (t / "a.rar").write_bytes(b"x"), ["kb", "build", "{t}/a.rar", "-o", "{t}/k.sqlite"],
     "not a directory or a source archive"),
    (lambda t: (t / "bad.zip").write_bytes(b"PK\x03\x04broken"),
     ["kb", "build", "{t}/bad.zip", "-o", "{t}/k.sqlite"],
     "bad.zip: corrupt or unsupported archive: not a readable zip or (compressed) tar file"),
    (lambda t: None, ["kb", "add", "{t}/none.sqlite", "{t}"], "no such knowledge base"),
    (lambda t: None, ["kb", "build", "{t}", "--only", "rich", "-o", "{t}/k.sqlite"],
     "--only selects distributions of a --python-env"),
])
def test_bad_input_exits_2_with_one_line(tmp_path: Path, make, args, message):
    make(tmp_path)
    result = CliRunner().invoke(main, [a.format(t=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("verifier: error:") and message in lines[0]


def test_incompatible_schema_version(source: Path, tmp_path: Path):
    kb = tmp_path / "kb.sqlite"
    assert _run("kb", "build", str(source), "-o", str(kb)).exit_code == 0
    db = sqlite3.connect(kb)
    db.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    db.commit()
    db.close()
    result = CliRunner().invoke(main, ["kb", "info", str(kb)])
    assert result.exit_code == 2
    assert "schema version 2, this verifier reads version 3" in result.output
    assert "rebuild it with `verifier kb build`" in result.output


@pytest.mark.parametrize("command", [["kb"], ["kb", "build"], ["kb", "add"], ["kb", "info"]])
def test_help(command):
    result = _run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200
