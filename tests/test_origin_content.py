"""Odd file content cannot move lines out of the ratio or hide a notice: stray NUL bytes,
legacy Chinese encodings, UTF-16 without a BOM, Chinese notice wording (real pygount and scancode,
files written at test time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.origin import analyze

pytestmark = pytest.mark.slow

OWNER = "Hunan Example Software Co., Ltd."
OWNER_CN = "湖南示例软件有限公司"


def _analyze(root: Path):
    return analyze(root, owners=[OWNER, OWNER_CN], no_cache=True, jobs=1)


def _own(root: Path) -> None:
    (root / "own.py").write_text(f"# Copyright (c) 2026 {OWNER}\n" + "x = 1\n" * 10)


def test_stray_nul_byte_keeps_a_foreign_file_counted_and_its_notice_read(tmp_path):
    _own(tmp_path)
    (tmp_path / "stray.c").write_bytes(b"/* Copyright (c) 2001 Foreign Corp\n * MIT License */\n"
                                       b"int a;\x00\n" + b"int b;\n" * 50)
    report = _analyze(tmp_path)
    stray = report.file("stray.c")
    assert (stray.kind, stray.origin, stray.lines) == ("source", "third_party", 51)
    assert "Foreign Corp" in stray.reason
    assert report.ratio == pytest.approx(10 / 61)


def test_big5_foreign_notice_is_read_in_chinese(tmp_path):
    _own(tmp_path)
    (tmp_path / "tw.c").write_bytes(
        "/* 版權所有 台灣某某科技股份有限公司 */\nint a;\nint b;\n".encode("cp950"))
    report = _analyze(tmp_path)
    tw = report.file("tw.c")
    assert (tw.origin, tw.lines) == ("third_party", 2)
    assert "台灣某某科技股份有限公司" in tw.reason


def test_utf16le_without_bom_is_counted_and_its_notice_read(tmp_path):
    _own(tmp_path)
    (tmp_path / "wide.c").write_bytes(
        ("/* Copyright (c) 2001 Foreign Corp */\n" + "int a;\n" * 20).encode("utf-16-le"))
    report = _analyze(tmp_path)
    wide = report.file("wide.c")
    assert (wide.kind, wide.origin, wide.lines) == ("source", "third_party", 20)
    assert "Foreign Corp" in wide.reason
