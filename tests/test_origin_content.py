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


def test_chinese_belongs_to_notice_and_license_sentence(tmp_path):
    _own(tmp_path)
    (tmp_path / "a.py").write_text("# 著作权归 北京某某科技有限公司 所有，遵循 GPL 协议\nx = 1\n")
    (tmp_path / "b.c").write_text("// 著作权归张三所有，遵循GPLv3协议\nint a;\n")
    (tmp_path / "c.c").write_text("/* 本文件遵循 MPL 2.0 开源许可 */\nint a;\n")
    (tmp_path / "mine.py").write_text("# 著作权归湖南示例软件有限公司所有\nx = 1\n")
    report = _analyze(tmp_path)
    a, b, c = report.file("a.py"), report.file("b.c"), report.file("c.c")
    assert (a.origin, a.rule) == ("third_party", "notice")
    assert a.reason == "copyright notice of 北京某某科技有限公司, not an owner"
    assert "lines 1-1: license GPL-1.0-or-later (Chinese notice)" in a.evidence
    assert (b.origin, b.reason) == ("third_party", "copyright notice of 张三, not an owner")
    assert "lines 1-1: license GPL-3.0-only (Chinese notice)" in b.evidence
    assert c.origin == "third_party" and "MPL-2.0" in c.reason
    assert (report.file("mine.py").origin, report.file("mine.py").rule) == ("self", "notice")


def test_chinese_holder_is_named_in_chinese_not_in_shortened_pinyin(tmp_path):
    _own(tmp_path)
    (tmp_path / "d.py").write_text("# 版权所有 (c) 2020 北京某某科技有限公司\nx = 1\n")
    d = _analyze(tmp_path).file("d.py")
    assert d.reason == "copyright notice of 北京某某科技有限公司, not an owner"
    assert not any("Bei Jing" in e and "is not an owner (cjk" not in e for e in d.evidence)
    assert any("scancode read it as 'Bei Jing" in e for e in d.evidence)
