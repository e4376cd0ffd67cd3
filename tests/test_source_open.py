"""open_source: directories, git working trees and bad paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support import unprivileged
from verifier.errors import InputError
from verifier.source import open_source

_GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
            "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True,
                          text=True, timeout=60).stdout.strip()


def _repo(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text("print('hi')\n")
    _git(root, "init", "-q")
    _git(root, "add", "app.py")
    _git(root, "commit", "-q", "-m", "first")
    return root


def test_nonexistent_path(tmp_path):
    with pytest.raises(InputError, match=r"^.*missing: no such file or directory$"):
        with open_source(tmp_path / "missing"):
            pass


def test_empty_directory(tmp_path):
    with pytest.raises(InputError, match="no files to inventory"):
        with open_source(tmp_path):
            pass


def test_directory_with_only_empty_dirs_links_and_vcs_data_has_no_files(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("objects", "refs"):
        (tmp_path / ".git" / name).mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    os.symlink("/etc/hostname", tmp_path / "link")
    with pytest.raises(InputError, match=f"^{tmp_path}: no files to inventory"):
        with open_source(tmp_path):
            pass


def test_regular_file_that_is_not_an_archive(tmp_path):
    path = tmp_path / "main.py"
    path.write_text("print(1)\n")
    with pytest.raises(InputError) as err:
        with open_source(path):
            pass
    assert str(err.value) == (f"{path}: not a directory or a supported archive "
                              "(.zip, .tar, .tar.gz/.tgz, .tar.xz, .tar.bz2)")
    assert "\n" not in str(err.value)


def test_special_file_as_path(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match="pipe: not a directory or a regular file"):
        with open_source(tmp_path / "pipe"):
            pass


def test_plain_directory(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    with open_source(tmp_path) as info:
        assert (info.kind, info.root, info.commit, info.dirty) == (
            "directory", tmp_path.resolve(), None, None)
    assert (tmp_path / "a.py").exists()  # never removed: only extraction dirs are


def test_git_working_tree_commit_and_dirty(tmp_path):
    root = _repo(tmp_path / "repo")
    head = _git(root, "rev-parse", "HEAD")
    with open_source(root) as info:
        assert (info.kind, info.commit, info.dirty, info.notes) == ("git", head, False, ())
    (root / "new.py").write_text("y = 2\n")  # untracked counts as dirty
    with open_source(root) as info:
        assert (info.commit, info.dirty) == (head, True)
    (root / "new.py").unlink()
    (root / "app.py").write_text("print('changed')\n")
    with open_source(root) as info:
        assert info.dirty is True
    _git(root, "checkout", "-q", "--", "app.py")
    (root / "sub").mkdir()
    (root / "sub" / "m.py").write_text("z = 3\n")
    _git(root, "add", "sub")
    _git(root, "commit", "-q", "-m", "sub")
    with open_source(root / "sub") as info:
        assert (info.kind, info.commit, info.dirty) == ("git", _git(root, "rev-parse", "HEAD"),
                                                        False)
        assert any("sub-directory of the git working tree" in n for n in info.notes)


def test_git_repository_without_commits(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    with open_source(tmp_path) as info:
        assert (info.kind, info.commit, info.dirty) == ("git", None, True)
        assert "the git repository has no commit yet" in info.notes


def test_without_git_a_working_tree_is_a_plain_directory(tmp_path, monkeypatch):
    root = _repo(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # git cannot be found
    with open_source(root) as info:
        assert (info.kind, info.commit, info.dirty) == ("directory", None, None)
        assert any("git is not installed" in n for n in info.notes)


def test_repository_config_cannot_run_commands(tmp_path):
    """A delivered repository's fsmonitor hook and clean filter must not run during git status."""
    root = _repo(tmp_path / "repo")
    marker = tmp_path / "pwned"
    _git(root, "config", "core.fsmonitor", f"touch {marker}; false")
    _git(root, "config", "filter.evil.clean", f"touch {marker}; cat")
    (root / ".gitattributes").write_text("*.py filter=evil\n")
    (root / "app.py").write_text("print('modified so that status must look at it')\n")
    with open_source(root) as info:
        assert info.kind == "git" and info.dirty is True
    assert not marker.exists()


def test_unlistable_directory(tmp_path):
    """As root the check runs in a child without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH, so the
    kernel enforces the mode bits (root ignores them otherwise)."""
    import sys

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.py").write_text("x = 1\n")
    script = ("import sys\nfrom verifier.errors import InputError\nfrom verifier.source import "
              "open_source\ntry:\n    with open_source(sys.argv[1]):\n        print('opened')\n"
              "except InputError as err:\n    print(err)\n")
    argv = unprivileged([sys.executable, "-c", script, str(locked)])
    os.chmod(locked, 0)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              cwd=Path(__file__).resolve().parents[1])
    finally:
        os.chmod(locked, 0o755)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{locked}: cannot read directory: Permission denied"
