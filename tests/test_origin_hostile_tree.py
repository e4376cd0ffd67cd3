"""``verifier origin`` on a tree holding everything a delivery should not: the scan completes,
nothing outside the tree is read, and every oddity is reported rather than crashing the run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OWNER = "Hunan Example Software Co., Ltd."


@pytest.mark.slow
def test_hostile_tree_scan_completes_and_reports_each_oddity(tmp_path: Path, cli) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("# Copyright (c) 1999 Someone Else\n" + "x = 1\n" * 50)
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text(
        f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(30)))
    (repo / "src" / "gbk.py").write_bytes(
        "# 版权所有 (c) 2026 湖南示例软件有限公司\n名称 = '仓库'\nprint(名称)\n".encode("gb18030"))
    (repo / "src" / "gbk_foreign.py").write_bytes(  # a GBK file under someone else's notice
        "# 版权所有 (c) 2015 长沙某某科技有限公司\n数量 = 3\nprint(数量)\n".encode("gb18030"))
    (repo / "src" / "blob.py").write_bytes(b"\x00\x01\x02binary\x00" * 100)  # binary, .py name
    huge_lines = 9 * 1024 * 1024 // 55 + 1
    with open(repo / "src" / "huge.py", "w") as handle:  # over the counting limit
        line = "value = 'a fairly long line of generated-looking data'\n"
        assert len(line) == 55
        handle.write(line * huge_lines)
    (repo / "src" / "loop").symlink_to(repo / "src", target_is_directory=True)
    (repo / "src" / "escape.py").symlink_to(outside / "secret.py")
    (repo / "src" / "dangling.py").symlink_to(repo / "nowhere.py")
    raw = os.fsencode(repo / "src") + b"/\xff\xfename.py"
    with open(raw, "w") as handle:
        handle.write(f"# Copyright (c) 2026 {OWNER}\nprint('odd name')\n")
    os.mkfifo(repo / "src" / "pipe")

    out = tmp_path / "origin.json"
    result = cli("origin", repo, "--owner", OWNER, "--owner", "湖南示例软件有限公司",
                 "--json", out, "-q")
    assert result.exit_code in (0, 1), result.output
    data = json.loads(out.read_text("utf-8"))
    files = {f["path"]: f for f in data["files"]}
    skipped = {s["path"]: s for s in data["skipped"]}
    # links are listed, never followed: nothing from outside the tree is read
    for link in ("src/loop", "src/escape.py", "src/dangling.py"):
        assert link in skipped and link not in files
    assert "secret" not in json.dumps(data["files"])
    assert "src/pipe" in skipped  # special file
    assert files["src/gbk.py"]["lines"] == 2 and files["src/gbk.py"]["origin"] == "self"
    # scancode sees the GBK text decoded, not mojibake: the owner's notice is the owner's,
    # the foreign one foreign, and no line of code is mistaken for a holder
    assert files["src/gbk_foreign.py"]["origin"] == "third_party"
    assert "长沙某某科技有限公司" in json.dumps(files["src/gbk_foreign.py"]["evidence"], ensure_ascii=False)
    assert files["src/blob.py"]["lines"] == 0
    huge = files["src/huge.py"]  # over the counting limit: counted in pieces, weighs in full
    assert huge["origin"] == "self" and huge["lines"] == huge_lines
    assert any(p.endswith("name.py") and "\udcff" in p for p in files)  # non-UTF-8 name kept
    assert files["src/app.py"]["origin"] == "self" and files["src/app.py"]["lines"] == 30
    assert data["warnings"]  # the skipped paths are said out loud
