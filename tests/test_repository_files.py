"""The delivered tree, file by file (issue 13): a run records every entry of its tree hash, so that
``verify --repo`` on a changed tree names the files changed, added and removed, not only that the
hash differs; and ``keygen -o keys/agency`` makes the missing ``keys/`` (mode 0700)."""

from __future__ import annotations

import json
import shutil
import stat
import textwrap

from support import write_tree
from support.git_repos import plain_git
from verifier.repository import (
    listing_differences,
    listing_hash,
    named_differences,
    recorded_entries,
    repo_identity,
    repo_listing,
)

SPEC = textwrap.dedent("""\
    project:
      name: 测试系统
      version: '1.0.0'
      owners: [Hunan Example Software Co., Ltd.]
    indicators:
      - id: F1
        name: 指标
        characteristic: functionality
        probe: command
        with: {command: ["{python}", "-c", "print(100)"], regex: '(\\d+)', unit: '%'}
        metric: value
        target: '>= 95%'
    """)
CODE = "# Copyright (c) 2026 Hunan Example Software Co., Ltd.\nVALUE = 1\n"


def test_the_listing_is_the_tree_hash_file_by_file(tmp_path):
    plain = write_tree(tmp_path / "plain", {"a.py": CODE, "pkg/b.py": CODE, "docs/c.md": "# c\n"})
    (plain / "link").symlink_to("a.py")
    ident, entries = repo_listing(plain)
    assert ident.tree_hash_mode == "all-files" and ident.tree_sha256 == repo_identity(plain).tree_sha256
    assert listing_hash(entries) == ident.tree_sha256
    assert [(p, k) for p, k, _ in entries] == [("a.py", "f"), ("docs/c.md", "f"), ("link", "l"), ("pkg/b.py", "f")]
    git = write_tree(tmp_path / "git", {"a.py": CODE, ".gitignore": ".venv/\n"})
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "delivery")):
        plain_git(git, *args, home=tmp_path)
    (git / ".venv").mkdir()
    (git / ".venv" / "pyvenv.cfg").write_text("home = /usr\n")
    ident, entries = repo_listing(git)
    assert ident.tree_hash_mode == "git-tracked" and [p for p, _, _ in entries] == [".gitignore", "a.py"]
    assert listing_hash(entries) == ident.tree_sha256 == repo_identity(git).tree_sha256


def test_differences_are_named():
    before = [("a.py", "f", "1"), ("b.py", "f", "2"), ("c", "l", "3")]
    after = [("a.py", "f", "1"), ("b.py", "f", "9"), ("c", "f", "3"), ("d.py", "f", "4")]
    assert listing_differences(before, after) == (["b.py", "c"], ["d.py"], [])
    assert listing_differences(after, before) == (["b.py", "c"], [], ["d.py"])


def test_names_are_given_only_from_a_record_that_holds(tmp_path):
    before = [(f"f{i:02d}.py", "f", str(i)) for i in range(14)]
    after = [(p, k, "x") for p, k, _ in before]
    assert named_differences(before, after, listing_hash(before)) == (
        "changed 14: f00.py, f01.py, f02.py, f03.py, f04.py, f05.py, f06.py, f07.py, f08.py, f09.py and 4 more")
    assert "does not hash to the recorded tree hash" in named_differences(before, after, "0" * 64)
    assert "holds no per-file record" in named_differences(None, after, listing_hash(before))
    assert recorded_entries({"files": [["a", "f", "1"]]}) == [("a", "f", "1")]
    assert recorded_entries({"files": [["a", "f"]]}) is None and recorded_entries(None) is None


def test_verify_names_the_files_that_changed(tmp_path, cli):
    repo = write_tree(tmp_path / "repo", {"stock/core.py": CODE, "stock/util.py": CODE, "README.md": "# r\n",
                                          "acceptance.yaml": SPEC})
    out, bundle = tmp_path / "run", tmp_path / "run.zip"
    assert cli("run", repo / "acceptance.yaml", "--out", out, "-q").exit_code == 1  # one indicator: gates fail
    listing = json.loads((out / "repository-files.json").read_text())
    assert listing["tree_sha256"] == json.loads((out / "results.json").read_text())["repository"]["tree_sha256"]
    assert cli("bundle", out, "-o", bundle).exit_code == 0
    fresh = tmp_path / "elsewhere" / "repo"
    shutil.copytree(repo, fresh)
    same = cli("verify", bundle, "--repo", fresh)
    assert same.exit_code == 0 and "repository files" not in same.output
    (fresh / "stock" / "core.py").write_text(CODE + "VALUE = 2\n")
    (fresh / "README.md").unlink()
    (fresh / "stock" / "new.py").write_text(CODE)
    changed = cli("verify", bundle, "--repo", fresh)
    assert changed.exit_code == 1
    assert ("FAIL repository files: changed 1: stock/core.py; added 1: stock/new.py; removed 1: README.md"
            in changed.output.splitlines())


def test_keygen_makes_the_missing_key_directory_private(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("keygen", "-o", "keys/agency")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "keys" / "agency.key").stat().st_mode) == 0o600
    nested = cli("keygen", "-o", tmp_path / "a" / "b" / "agency")
    assert nested.exit_code == 0
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "a", tmp_path / "a" / "b")} == {0o700}
    again = cli("keygen", "-o", "keys/agency")
    assert again.exit_code == 2 and "already exists; will not overwrite a key" in again.stderr


def _listing_as_unprivileged(repo) -> dict:
    """``repo_listing(repo)`` taken in a child for which file permissions apply (as root: a
    bounding set without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), as JSON."""
    import subprocess
    import sys

    from support import REPO_ROOT, unprivileged

    code = ("import json, sys; from verifier.repository import repo_listing; "
            "ident, files = repo_listing(sys.argv[1]); "
            "print(json.dumps({'mode': ident.tree_hash_mode, 'hash': ident.tree_sha256, 'files': files}))")
    argv = unprivileged([sys.executable, "-c", code, str(repo)])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_unreadable_paths_are_entries_of_the_tree_hash_not_an_internal_error(tmp_path):
    """A delivery holding a directory or a file that cannot be read stopped ``verifier run`` with an
    internal error (PermissionError while taking the tree hash), and in a git work tree a tracked
    file under an unsearchable directory silently left the hash. Each is now an entry ``u`` (the
    sha256 of nothing): the run goes on, and the tree read in full later differs from it."""
    import os

    home = tmp_path / "home"
    home.mkdir()
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for mode in ("all-files", "git-tracked"):
        repo = write_tree(tmp_path / mode, {"app/main.py": CODE, "secret/core.py": CODE,
                                            "secret/deep/x.py": CODE, "locked.py": CODE,
                                            "listed/y.py": CODE})
        if mode == "git-tracked":
            plain_git(repo, "init", "-q", home=home)
            plain_git(repo, "add", "-A", home=home)
            plain_git(repo, "commit", "-qm", "x", home=home)
        readable = repo_listing(repo)
        modes = {repo / "secret": 0, repo / "locked.py": 0, repo / "listed": 0o444}
        for path, bits in modes.items():
            os.chmod(path, bits)
        try:
            hidden = _listing_as_unprivileged(repo)
        finally:
            for path in modes:
                os.chmod(path, 0o755)
        assert hidden["mode"] == mode
        unreadable = sorted(p for p, kind, value in hidden["files"] if kind == "u" and value == empty)
        expected = (["listed/y.py", "locked.py", "secret"] if mode == "all-files"
                    else ["listed/y.py", "locked.py", "secret/core.py", "secret/deep/x.py"])
        assert unreadable == expected, hidden["files"]
        assert hidden["files"][0][:2] == ["app/main.py", "f"]
        assert listing_hash([tuple(e) for e in hidden["files"]]) == hidden["hash"] != readable[0].tree_sha256
