"""Detection leaves no temporary directory behind (real scancode in a worker pool)."""

from __future__ import annotations

import tempfile

import pytest

from verifier.origin import analyze

pytestmark = pytest.mark.slow


def test_scan_removes_the_workers_temporary_directory(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    root = tmp_path / "repo"
    root.mkdir()
    for n in range(3):  # notice blocks shorter than the files: scancode gets written copies
        (root / f"m{n}.py").write_text(f"# Copyright (c) 2001 Foreign Corp {n}\n"
                                       + "x = 1\n" * 60)
    (root / "gbk.py").write_bytes("# 版权所有 (c) 2015 长沙某某科技有限公司\n数量 = 3\n".encode("gb18030"))
    report = analyze(root, owners=["Hunan Example Software Co., Ltd."], no_cache=True, jobs=2)
    assert report.detection["scancode_files"] == 4
    assert all(f.origin == "third_party" for f in report.files)
    # scancode's own per-process directory (scancode-tk-*, made when it is imported) is not ours
    assert [p.name for p in scratch.iterdir() if not p.name.startswith("scancode-tk-")] == []
