"""A file the scan cannot read never vanishes from the denominator (issue 10 item 4): it is
``unknown`` and weighs the most non-blank lines its size can hold, ⌈bytes ÷ 2⌉, so the ratio is
never higher than reading it could have made it."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT
from verifier.origin import counting

OWNER = "Hunan Example Software Co., Ltd."


def _as_unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run so that file permissions apply: as root, in a child whose capability bounding
    set lacks CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (the kernel then enforces mode bits for
    uid 0 too); as another user, as is."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", *argv]


def test_most_lines_is_a_true_bound_of_nonblank_lines():
    rng = random.Random(4)
    for _ in range(2000):
        data = bytes(rng.choice(b"ab \n\r\t") for _ in range(rng.randint(0, 40)))
        assert counting.physical_lines(data) <= counting.most_lines(len(data)), data
    assert counting.most_lines(len(b"a\nb\nc")) == counting.physical_lines(b"a\nb\nc") == 3
    assert counting.most_lines(0) == 0


def test_unreadable_code_weighs_and_fails_the_ratio_through_the_cli(tmp_path):
    """The reproduction: a tree whose foreign code cannot be read came out PASS with a warning
    (the unreadable file counted 0 lines). Now the file is unknown with ⌈size ÷ 2⌉ lines and the
    ratio fails, also for a script without a suffix; an unreadable document stays out of the ratio
    but says why."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(
        f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(100)))
    hidden = "# Copyright 2015 Someone Else\n" + "".join(f"w{i} = {i}\n" for i in range(300))
    (repo / "app" / "vendored.py").write_text(hidden)
    (repo / "bin").mkdir()
    (repo / "bin" / "tool").write_text("#!/bin/sh\n" + "echo x\n" * 40)
    (repo / "NOTES.md").write_text("# notes\n" * 20)
    locked = [repo / "app" / "vendored.py", repo / "bin" / "tool", repo / "NOTES.md"]
    out = tmp_path / "origin.json"
    argv = _as_unprivileged([sys.executable, "-m", "verifier", "origin", str(repo), "--owner",
                             OWNER, "--json", str(out), "-q", "--no-cache", "-j", "1"])
    for path in locked:
        os.chmod(path, 0)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    finally:
        for path in locked:
            os.chmod(path, 0o644)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    files = {f["path"]: f for f in data["files"]}
    size = len(hidden.encode())
    vendored = files["app/vendored.py"]
    assert (vendored["origin"], vendored["rule"], vendored["lines"]) == (
        "unknown", "undetected", (size + 1) // 2)
    assert vendored["problem"].startswith("unreadable: Permission denied; weighs ⌈")
    tool = files["bin/tool"]                      # could be a script: it weighs too
    assert (tool["origin"], tool["kind"], tool["lines"]) == (
        "unknown", "source", (len("#!/bin/sh\n" + "echo x\n" * 40) + 1) // 2)
    notes = files["NOTES.md"]                      # a document: 0 lines, and it says why
    assert (notes["origin"], notes["lines"]) == ("excluded", 0)
    assert "unreadable: Permission denied" in notes["reason"]
    unknown = vendored["lines"] + tool["lines"]
    assert data["totals"]["unknown"]["lines"] == unknown
    assert data["ratio"] == pytest.approx(100 / (100 + unknown), abs=1e-6)
    assert any("are unknown" in w and "app/vendored.py" in w for w in data["warnings"])
    assert "⌈bytes ÷ 2⌉ lines, the most non-blank lines its size can hold" in data["counting"]


def test_unreadable_file_small_enough_still_lets_the_ratio_pass(tmp_path):
    """The weight is a bound, not a verdict: a ratio that holds whatever the unreadable bytes
    hold still passes (and the warning names the file)."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text("".join(f"v{i} = {i}\n" for i in range(1000)))
    (repo / "app" / "tiny.py").write_text("x = 1\n" * 10)           # 60 bytes: at most 30 lines
    out = tmp_path / "origin.json"
    argv = _as_unprivileged([sys.executable, "-m", "verifier", "origin", str(repo), "--owner",
                             OWNER, "--json", str(out), "-q", "--no-cache", "-j", "1"])
    os.chmod(repo / "app" / "tiny.py", 0)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    finally:
        os.chmod(repo / "app" / "tiny.py", 0o644)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["ratio"] == pytest.approx(1000 / 1030, abs=1e-6)
    assert any("app/tiny.py" in w for w in data["warnings"])


def test_a_file_gone_or_replaced_since_the_walk_is_reported_without_weight(tmp_path):
    """The weight is taken from the size of the file that could not be opened (lstat needs no
    read permission); a file gone since the walk, or replaced by a directory, is no longer part of
    the tree: listed with its problem, no weight."""
    from verifier.origin.inventory import _File, _read

    gone = _File("gone.py", os.fspath(tmp_path / "gone.py"))
    assert _read(gone, 1 << 20) is None
    assert gone.problem.startswith("unreadable: No such file or directory")
    assert (gone.kind, gone.weight, gone.size) == ("source", 0, 0)
    Path(tmp_path / "dir.py").mkdir()  # a directory where a file was: open succeeds, read fails
    changed = _File("dir.py", os.fspath(tmp_path / "dir.py"))
    assert _read(changed, 1 << 20) is None
    assert changed.problem.startswith("unreadable: no longer a regular file")
