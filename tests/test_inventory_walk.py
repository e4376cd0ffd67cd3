"""Walking a delivered tree: links never followed, special and unreadable files reported, VCS data
skipped, non-UTF-8 names, the result cache and the process pool."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from support import unprivileged
from verifier.origin.inventory import build_inventory, open_cache
from verifier.origin.model import SourceInfo


def _info(root: Path) -> SourceInfo:
    return SourceInfo(given=str(root), kind="directory", root=root)


def _inventory(root: Path, **kwargs):
    kwargs.setdefault("jobs", 1)
    return build_inventory(_info(root), **kwargs)


def _skipped(inventory):
    return {s.path: s for s in inventory.skipped}


def test_symlinks_are_reported_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("password = 'x'\n" * 5)
    root = tmp_path / "tree"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x = 1\n")
    os.symlink(outside / "secret.py", root / "abs_out.py")
    os.symlink("../../outside", root / "pkg" / "rel_out")
    os.symlink("a.py", root / "pkg" / "alias.py")
    os.symlink(".", root / "pkg" / "self_dir")           # following it would recurse forever
    os.symlink("loop", root / "loop")                     # a link to itself
    os.symlink("ping", root / "pong")
    os.symlink("pong", root / "ping")
    os.symlink("missing.py", root / "dangling.py")

    inventory = _inventory(root)
    assert [e.path for e in inventory.entries] == ["pkg/a.py"]
    skipped = _skipped(inventory)
    assert set(skipped) == {"abs_out.py", "pkg/rel_out", "pkg/alias.py", "pkg/self_dir", "loop",
                            "ping", "pong", "dangling.py"}
    assert {p: s.inside for p, s in skipped.items()} == {
        "abs_out.py": False, "pkg/rel_out": False, "pkg/alias.py": True, "pkg/self_dir": True,
        "loop": True, "ping": True, "pong": True, "dangling.py": True}
    assert skipped["abs_out.py"].target == str(outside / "secret.py")
    assert skipped["pkg/rel_out"].target == "../../outside"
    assert "outside the tree" in skipped["pkg/rel_out"].reason
    assert "not followed" in skipped["pkg/alias.py"].reason
    assert "loop" in skipped["loop"].reason
    assert "dangling" in skipped["dangling.py"].reason


def test_vcs_directories_and_special_files_are_skipped(tmp_path):
    (tmp_path / ".git" / "objects").mkdir(parents=True)
    (tmp_path / ".git" / "refs").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "config").write_text("[core]\n")
    (tmp_path / ".svn").mkdir()
    (tmp_path / ".svn" / "wc.db").write_bytes(b"SQLite format 3\x00")
    (tmp_path / "sub" / ".hg" / "store").mkdir(parents=True)
    (tmp_path / "sub" / "b.py").write_text("y = 2\n")
    os.mkfifo(tmp_path / "pipe")  # reading it would block forever
    inventory = _inventory(tmp_path)
    assert [e.path for e in inventory.entries] == ["sub/b.py"]
    skipped = _skipped(inventory)
    assert set(skipped) == {".git", ".svn", "sub/.hg", "pipe"}
    assert "version-control" in skipped[".git"].reason
    assert "FIFO" in skipped["pipe"].reason


def test_non_utf8_file_and_directory_names(tmp_path):
    gbk_dir = os.fsdecode("模块".encode("gbk"))      # not valid UTF-8: surrogate-escaped str
    gbk_file = os.fsdecode("入库.py".encode("gbk"))
    (tmp_path / gbk_dir).mkdir()
    (tmp_path / gbk_dir / gbk_file).write_text("print('ok')\n")
    (tmp_path / "正常.py").write_text("a = 1\nb = 2\n")
    inventory = _inventory(tmp_path, cache=tmp_path.parent / f"{tmp_path.name}-cache")
    entries = {e.path: e for e in inventory.entries}
    assert set(entries) == {f"{gbk_dir}/{gbk_file}", "正常.py"}
    odd = entries[f"{gbk_dir}/{gbk_file}"]
    assert isinstance(odd.path, str) and odd.lines == 1 and odd.language == "Python"
    assert os.fsencode(odd.path) == "模块/入库.py".encode("gbk")
    assert entries["正常.py"].lines == 2


_UNREADABLE_SCRIPT = textwrap.dedent("""
    import dataclasses, json, sys
    from pathlib import Path
    from verifier.origin.inventory import build_inventory
    from verifier.origin.model import SourceInfo
    root = Path(sys.argv[1])
    inv = build_inventory(SourceInfo(given=str(root), kind="directory", root=root), jobs=1)
    print(json.dumps({"entries": [dataclasses.asdict(e) for e in inv.entries],
                      "skipped": [dataclasses.asdict(s) for s in inv.skipped],
                      "unseen": [s.path for s in inv.unseen]}))
""")


def test_unreadable_file_and_directory_are_reported(tmp_path):
    """Permissions do not stop root, so as root the inventory runs in a child process whose
    capability bounding set lacks CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (the kernel then enforces
    mode bits for uid 0 too); as another user the mode bits apply directly."""
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "secret.py").write_text("y = 2\n")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.py").write_text("z = 3\n")
    os.chmod(tmp_path / "secret.py", 0)
    os.chmod(tmp_path / "locked", 0)
    try:
        argv = unprivileged([sys.executable, "-c", _UNREADABLE_SCRIPT, str(tmp_path)])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parents[1])
    finally:
        os.chmod(tmp_path / "secret.py", 0o644)
        os.chmod(tmp_path / "locked", 0o755)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    entries = {e["path"]: e for e in result["entries"]}
    assert set(entries) == {"ok.py", "secret.py"}
    assert entries["ok.py"]["lines"] == 1 and entries["ok.py"]["problem"] is None
    assert entries["secret.py"]["problem"] == (
        "unreadable: Permission denied; weighs ⌈6 bytes ÷ 2⌉ = 3 lines, the most non-blank lines "
        "it can hold")
    assert entries["secret.py"]["lines"] == 3 and entries["secret.py"]["kind"] == "source"
    skipped = {s["path"]: s["reason"] for s in result["skipped"]}
    assert skipped == {"locked": "unreadable directory: Permission denied; what it holds cannot be seen "
                                 "or weighed"}
    assert result["unseen"] == ["locked"]  # nothing bounds what it holds (the origin gate stays open)


def test_cache_reuses_counts_and_recounts_only_changed_files(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(5):
        (root / f"m{i}.py").write_text(f"a = {i}\n" * (i + 1))
    (root / "README.md").write_text("# x\n")
    cache_dir = tmp_path / "cache"
    first = _inventory(root, cache=cache_dir)
    assert (first.counted, first.cached) == (5, 0)
    second = _inventory(root, cache=cache_dir)
    assert (second.counted, second.cached) == (0, 5)
    assert second.entries == first.entries
    (root / "m2.py").write_text("a = 1\n# c\nb = 2\nc = 3\n")
    third = _inventory(root, cache=cache_dir)
    assert (third.counted, third.cached) == (1, 4)
    assert {e.path: e.lines for e in third.entries}["m2.py"] == 3
    # the cache is keyed by content and name: a renamed copy is a hit, another language is not
    shutil.copy(root / "m1.py", root / "copy.py")
    shutil.copy(root / "m1.py", root / "m1.rb")
    fourth = _inventory(root, cache=cache_dir)
    assert (fourth.counted, fourth.cached) == (1, 6)
    # an open ResultCache can be passed too
    with open_cache(cache_dir) as cache:
        assert _inventory(root, cache=cache).cached == 7


def test_process_pool_counts_like_in_process(tmp_path):
    for i in range(70):  # enough files to start the pool
        (tmp_path / f"f{i:02d}.py").write_text("# c\n" + "x = 1\n" * (i % 7 + 1))
    seen = []
    pooled = build_inventory(_info(tmp_path), jobs=2, progress=lambda d, t: seen.append((d, t)))
    serial = _inventory(tmp_path)
    assert pooled.entries == serial.entries
    assert sum(e.lines for e in pooled.entries) == sum(i % 7 + 1 for i in range(70))
    assert seen[0] == (0, 70) and seen[-1] == (70, 70)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_source_notes_and_skipped_are_carried_into_the_inventory(tmp_path):
    from verifier.origin.model import SkippedPath
    (tmp_path / "a.py").write_text("x = 1\n")
    info = SourceInfo(given="x.zip", kind="archive", root=tmp_path,
                      skipped=(SkippedPath("link", "symbolic link in the archive"),),
                      notes=("the archive holds one top directory 'p'",))
    inventory = build_inventory(info, jobs=1)
    assert [s.path for s in inventory.skipped] == ["link"]
    assert inventory.warnings == ("the archive holds one top directory 'p'",)
