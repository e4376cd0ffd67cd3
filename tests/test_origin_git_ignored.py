"""In a git working tree, what git ignores (a virtualenv, build output) is not part of the committed
delivery: not scanned, listed under ``skipped``; ``--include-ignored`` scans it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support import write_tree
from verifier.origin import analyze
from verifier.origin.inventory import IGNORED_REASON
from verifier.source import open_source

OWNERS = ["Hunan Example Software Co., Ltd."]
OWN = "# Copyright (c) 2026 Hunan Example Software Co., Ltd.\ndef f(x):\n    return x + 1\n"
FOREIGN = ("# Copyright (c) 2015 Acme Widgets Inc.\n# Licensed under the MIT license.\n"
           "def g(y):\n    return y * 2\n")


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "repo", {
        ".gitignore": ".venv/\nbuild/\n*.log\nforced_*.py\n",
        "app/core.py": OWN,
        "app/sub/.gitignore": "local_*.py\n",
        "app/sub/local_notes.py": FOREIGN,       # ignored by a nested .gitignore
        "app/sub/kept.py": OWN,
        ".venv/lib/dep.py": FOREIGN,             # an ignored directory
        "build/out.py": FOREIGN,
        "debug.log": "started\n",
        "forced_copy.py": FOREIGN,               # matches a pattern but is tracked: scanned
        "untracked.py": OWN,                     # untracked, not ignored: scanned, tree dirty
    })
    _git(root, "init", "-q")
    _git(root, "add", ".gitignore", "app")
    _git(root, "add", "-f", "forced_copy.py")
    _git(root, "commit", "-q", "-m", "delivery")
    return root


def test_open_source_lists_what_git_ignores(repo: Path) -> None:
    with open_source(repo) as source:
        assert source.kind == "git" and source.dirty is True
        assert source.ignored == (".venv/", "app/sub/local_notes.py", "build/", "debug.log")
    with open_source(repo / "app") as source:       # a sub-directory: paths relative to it
        assert source.ignored == ("sub/local_notes.py",)
    with open_source(repo, include_ignored=True) as source:
        assert source.ignored == ()


@pytest.mark.slow
def test_ignored_files_are_skipped_and_listed_tracked_ones_scanned(repo: Path) -> None:
    report = analyze(repo, owners=OWNERS, no_cache=True, jobs=1)
    assert {f.path for f in report.files} == {".gitignore", "app/core.py", "app/sub/.gitignore",
                                              "app/sub/kept.py", "forced_copy.py", "untracked.py"}
    assert report.file("untracked.py").origin == "self"
    assert report.file("forced_copy.py").origin == "third_party"
    skipped = {s.path: s.reason for s in report.skipped}
    assert {p for p, r in skipped.items() if r == IGNORED_REASON} == {
        ".venv/", "app/sub/local_notes.py", "build/", "debug.log"}
    assert any("4 path(s) ignored by git not scanned" in w for w in report.warnings)
    assert not any("not inventoried" in w for w in report.warnings)
    # git's own .git is listed too, with its reason and a warning of its own (issue 10 item 3)
    assert skipped[".git"].startswith("version-control metadata (git: holds HEAD, objects/, refs/)")
    assert "1 version-control metadata path(s) not scanned (.git); see 'skipped'" in report.warnings
    summary = report.summary()  # what results.json and the report carry
    assert [n["path"] for n in summary["not_scanned"]] == [".git", ".venv/",
                                                          "app/sub/local_notes.py", "build/",
                                                          "debug.log"]
    assert summary["not_scanned_total"] == 5 and summary["warnings"] == list(report.warnings)

    everything = analyze(repo, owners=OWNERS, no_cache=True, jobs=1, include_ignored=True)
    assert everything.file(".venv/lib/dep.py").origin == "third_party"
    assert everything.file("build/out.py").origin == "third_party"
    assert everything.ratio < report.ratio


@pytest.mark.slow
def test_cli_include_ignored(repo: Path, cli, tmp_path: Path) -> None:
    out = tmp_path / "o.json"
    base = ["origin", repo, "--no-spec", "--owner", OWNERS[0], "--no-cache", "-q", "--json", out]
    cli(*base)
    assert ".venv/lib/dep.py" not in {f["path"] for f in json.loads(out.read_text())["files"]}
    cli(*base, "--include-ignored")
    data = json.loads(out.read_text())
    assert ".venv/lib/dep.py" in {f["path"] for f in data["files"]}
    assert not any(s["reason"] == IGNORED_REASON for s in data["skipped"])
