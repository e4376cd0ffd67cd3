"""Atomic evidence writes: all or nothing, readable like any other file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from verifier.evidence import atomic_write_json, atomic_write_text, canonical_json, sha256_file


def test_atomic_write_replaces_whole_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "results.json"
    atomic_write_json(target, {"b": 1, "a": "自研"})
    atomic_write_json(target, {"b": 2})
    assert json.loads(target.read_text("utf-8")) == {"b": 2}
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode == 0o666 & ~_current_umask()


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write_text(target, "old")
    with pytest.raises(TypeError):
        atomic_write_json(target, {"not": object()})
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_canonical_json_is_sorted_and_keeps_chinese(tmp_path: Path) -> None:
    text = canonical_json({"b": 1, "a": "自研代码率"})
    assert text.index('"a"') < text.index('"b"') and "自研代码率" in text and text.endswith("\n")
    path = tmp_path / "x"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_non_utf8_names_survive_a_json_round_trip(tmp_path: Path) -> None:
    name = b"\xd6\xd0\xce\xc4.py".decode("utf-8", "surrogateescape")  # GBK bytes, not UTF-8
    target = tmp_path / "r.json"
    atomic_write_json(target, {"path": name})
    target.read_bytes().decode("utf-8")  # valid UTF-8
    assert json.loads(target.read_text("utf-8")) == {"path": name}
