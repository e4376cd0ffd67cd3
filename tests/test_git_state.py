"""``verifier.git.read_state`` on ordinary repositories says what plain git says (commit, dirty,
tracked entries with modes and blob ids, ignored paths), for the layouts git has (packed refs, split
index, index v4, SHA-256, submodules, linked worktrees); a git directory that leads out of the
delivered tree, or that would make git hang, is refused with a reason."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import threading
from pathlib import Path

import pytest

from support import write_tree
from support.git_repos import plain_git, plain_out, tar_copy
from verifier.git import GitError, read_state
from verifier.repository import repo_identity
from verifier.source import open_source

OWN = "def f(x):\n    return x + 1\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def _commit_all(repo: Path, home: Path, message: str = "c") -> str:
    plain_git(repo, "add", "-A", home=home)
    plain_git(repo, "commit", "-q", "--allow-empty", "-m", message, home=home)
    return plain_out(repo, "rev-parse", "HEAD", home=home)


def _repo(path: Path, home: Path, files: dict[str, str] | None = None, *init: str) -> Path:
    write_tree(path, files or {"app/core.py": OWN, "README.md": "# r\n"})
    plain_git(path, "init", "-q", *init, home=home)
    _commit_all(path, home)
    return path


def _git_says(root: Path, home: Path) -> tuple[str | None, bool, list[tuple[str, str, bytes]], tuple[str, ...]]:
    """commit, dirty, tracked (mode, oid, path) and ignored paths under ``root``, from plain git."""
    head = plain_git(root, "rev-parse", "--verify", "--quiet", "HEAD", home=home, check=False)
    commit = head.stdout.decode().strip() or None
    status = plain_git(root, "status", "--porcelain", "--untracked-files=normal",
                       "--ignore-submodules=none", "--", ".", home=home).stdout
    tracked: dict[bytes, tuple[str, str, bytes]] = {}
    for record in plain_git(root, "ls-files", "-z", "--stage", "--", ".", home=home).stdout.split(b"\0"):
        meta, tab, name = record.partition(b"\t")
        if tab:
            mode, oid = meta.decode().split(" ")[:2]
            tracked.setdefault(name, (mode, oid, name))
    ignored = plain_git(root, "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory",
                        "--", ".", home=home).stdout.split(b"\0")
    return (commit, bool(status.strip()), [tracked[k] for k in sorted(tracked)],
            tuple(sorted(p for p in map(os.fsdecode, ignored) if p and p != "./")))


def _agrees(root: Path, home: Path) -> None:
    state = read_state(root, ignored=True)
    assert state is not None and state.notes == ()
    commit, dirty, tracked, ignored = _git_says(root, home)
    assert (state.commit, state.dirty) == (commit, dirty)
    assert [tuple(e) for e in state.tracked] == tracked
    assert state.ignored == ignored


def test_an_ordinary_work_tree_reads_as_plain_git_reads_it(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path / "r", home, {
        ".gitignore": ".venv/\n*.log\n", "app/core.py": OWN, "app/sub/.gitignore": "local_*\n",
        "app/sub/kept.py": OWN, "bin/run": "#!/bin/sh\n", "docs/名前.md": "x\n", "a b/c d.txt": "x\n"})
    (repo / "bin" / "run").chmod(0o755)
    os.symlink("../app/core.py", repo / "bin" / "link.py")
    with open(os.path.join(os.fsencode(repo / "docs"), b"caf\xe9.txt"), "wb") as handle:
        handle.write(b"latin-1 name")
    plain_git(repo, "add", "-A", home=home)
    plain_git(repo, "commit", "-q", "-m", "more", home=home)
    write_tree(repo, {".venv/lib/x.py": OWN, "debug.log": "x\n", "app/sub/local_notes.py": OWN})
    (repo / ".git" / "info" / "exclude").write_text("excluded_by_info/\n")
    write_tree(repo, {"excluded_by_info/x.py": OWN})
    for root in (repo, repo / "app", repo / "docs"):
        _agrees(root, home)
    assert read_state(repo).dirty is False and read_state(repo).subpath == "."
    assert read_state(repo / "app" / "sub").subpath == "app/sub"
    assert {e.mode for e in read_state(repo).tracked} == {"100644", "100755", "120000"}

    (repo / "untracked.py").write_text(OWN)            # untracked: dirty at the top, not in app/
    _agrees(repo, home)
    _agrees(repo / "app", home)
    (repo / "untracked.py").unlink()
    (repo / "app" / "core.py").write_text(OWN + "# changed\n")
    _agrees(repo, home)
    plain_git(repo, "add", "app/core.py", home=home)   # staged only
    _agrees(repo, home)
    plain_git(repo, "reset", "-q", "--hard", home=home)
    (repo / "bin" / "run").chmod(0o644)                # a mode change
    _agrees(repo, home)
    assert read_state(repo).dirty is True
    (repo / "app" / "core.py").unlink()                # a deletion
    _agrees(repo, home)


def test_settings_of_the_delivery_that_change_what_git_sees_are_kept(tmp_path: Path, home: Path) -> None:
    """core.filemode=false (a repository made on Windows): a mode change is not a change."""
    repo = _repo(tmp_path / "r", home)
    plain_git(repo, "config", "core.filemode", "false", home=home)
    (repo / "README.md").chmod(0o755)
    _agrees(repo, home)
    assert read_state(repo).dirty is False


@pytest.mark.parametrize("how", ["packed-refs", "detached", "symbolic-chain", "split-index", "index-v4",
                                 "sha256", "unborn"])
def test_repository_layouts(how: str, tmp_path: Path, home: Path) -> None:
    init = ("--object-format=sha256",) if how == "sha256" else ()
    if how == "unborn":
        repo = write_tree(tmp_path / "r", {"a.py": OWN})
        plain_git(repo, "init", "-q", home=home)
        plain_git(repo, "add", "a.py", home=home)
    else:
        repo = _repo(tmp_path / "r", home, None, *init)
    if how == "packed-refs":
        plain_git(repo, "pack-refs", "--all", "--prune", home=home)
        assert not any((repo / ".git" / "refs" / "heads").iterdir())
    elif how == "detached":
        write_tree(repo, {"b.py": OWN})
        _commit_all(repo, home)
        plain_git(repo, "checkout", "-q", "--detach", "HEAD~1", home=home)
    elif how == "symbolic-chain":
        plain_git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/" + plain_out(
            repo, "branch", "--show-current", home=home), home=home)
        plain_git(repo, "symbolic-ref", "HEAD", "refs/heads/alias", home=home)
    elif how == "split-index":
        plain_git(repo, "update-index", "--split-index", home=home)
        write_tree(repo, {"b.py": OWN})
        plain_git(repo, "add", "b.py", home=home)
        assert list((repo / ".git").glob("sharedindex.*"))
    elif how == "index-v4":
        plain_git(repo, "update-index", "--index-version", "4", home=home)
    state = read_state(repo)
    _agrees(repo, home)
    if how == "sha256":
        assert len(state.commit) == 64 and len(state.tracked[0].oid) == 64
    assert (state.commit is None) == (how == "unborn")


def test_tar_copies_read_the_same(tmp_path: Path, home: Path) -> None:
    """A copy has other inodes and times: git re-reads every file, the answer stays the same."""
    repo = _repo(tmp_path / "r", home)
    copy = tar_copy(repo, tmp_path / "copy")
    original, copied = read_state(repo), read_state(copy)
    assert (copied.commit, copied.dirty, copied.tracked) == (original.commit, False, original.tracked)
    assert repo_identity(copy).tree_sha256 == repo_identity(repo).tree_sha256


# --------------------------------------------------------------------------- submodules

@pytest.fixture
def with_sub(tmp_path: Path, home: Path) -> dict:
    sub_src = _repo(tmp_path / "subsrc", home, {"lib.py": OWN, ".gitignore": "*.tmp\n"})
    nested_src = _repo(tmp_path / "nestedsrc", home, {"deep.py": OWN})
    plain_git(sub_src, "submodule", "add", "-q", str(nested_src), "nested", home=home)
    _commit_all(sub_src, home)
    top = _repo(tmp_path / "top", home)
    plain_git(top, "submodule", "add", "-q", str(sub_src), "vendor/sub", home=home)
    _commit_all(top, home)
    plain_git(top, "submodule", "update", "-q", "--init", "--recursive", home=home)
    return {"top": top, "sub": top / "vendor" / "sub"}


def test_submodule_states_read_without_git_entering_them(with_sub: dict, home: Path) -> None:
    top, sub = with_sub["top"], with_sub["sub"]
    _agrees(top, home)
    assert read_state(top).dirty is False
    entry = next(e for e in read_state(top).tracked if e.path == b"vendor/sub")
    assert (entry.mode, entry.oid) == ("160000", plain_out(sub, "rev-parse", "HEAD", home=home))
    steps = [
        lambda: (sub / "lib.py").write_text(OWN + "# changed\n"),          # modified content
        lambda: plain_git(sub, "checkout", "-q", "--", "lib.py", home=home),
        lambda: (sub / "new.py").write_text(OWN),                          # untracked in the submodule
        lambda: (sub / "new.py").unlink(),
        lambda: (sub / "x.tmp").write_text("ignored there\n"),             # ignored there: clean
        lambda: (sub / "nested" / "deep.py").write_text("changed\n"),      # a nested submodule changed
        lambda: plain_git(sub / "nested", "checkout", "-q", "--", "deep.py", home=home),
        lambda: _commit_all(sub, home, "moved"),                           # the submodule at another commit
        lambda: plain_git(top, "add", "vendor/sub", home=home),            # ... staged in the superproject
        lambda: _commit_all(top, home),
    ]
    for step in steps:
        step()
        _agrees(top, home)
        _agrees(top / "vendor", home)


def test_an_uninitialised_or_deleted_submodule(with_sub: dict, tmp_path: Path, home: Path) -> None:
    top = with_sub["top"]
    plain_git(top, "submodule", "deinit", "-q", "--force", "vendor/sub", home=home)
    assert with_sub["sub"].is_dir() and not any(with_sub["sub"].iterdir())
    _agrees(top, home)
    assert read_state(top).dirty is False
    with_sub["sub"].rmdir()
    _agrees(top, home)
    assert read_state(top).dirty is True


def test_a_submodule_git_file_leading_out_of_the_tree_is_not_followed(with_sub: dict, tmp_path: Path) -> None:
    top, sub = with_sub["top"], with_sub["sub"]
    elsewhere = tmp_path / "elsewhere.git"
    shutil.copytree(top / ".git" / "modules" / "vendor" / "sub", elsewhere)
    (sub / ".git").write_text(f"gitdir: {elsewhere}\n")
    state = read_state(top)
    assert state.commit is not None and state.dirty is None
    assert "submodule vendor/sub" in state.notes[0] and "outside the delivered tree" in state.notes[0]


# --------------------------------------------------------------------------- worktrees and refusals

def test_a_registered_linked_worktree_is_read_a_copied_one_is_not(tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path / "main", home)
    plain_git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "feature", home=home)
    write_tree(tmp_path / "wt", {"wt.py": OWN})
    commit = _commit_all(tmp_path / "wt", home)
    _agrees(tmp_path / "wt", home)
    assert read_state(tmp_path / "wt").commit == commit != plain_out(repo, "rev-parse", "HEAD", home=home)
    copy = tar_copy(tmp_path / "wt", tmp_path / "copy")  # its .git names the main repository's directory
    with pytest.raises(GitError, match="outside the delivered tree"):
        read_state(copy)
    with open_source(copy) as source:
        assert source.kind == "directory" and "scanned as a plain directory" in source.notes[0]
    ident = repo_identity(copy)
    assert ident.tree_hash_mode == "all-files" and "hashed as a plain directory" in ident.notes[0]


def _refusal(repo: Path, tmp_path: Path, how: str) -> str:
    """Make ``repo``'s git directory lead out of the tree (or hang git) in one way; the message."""
    git_dir = repo / ".git"
    outside = tmp_path / "outside.git"
    if how == "dot-git-link":
        shutil.move(git_dir, outside)
        os.symlink(outside, git_dir)
        return "is a symbolic link"
    if how == "dot-git-file":
        shutil.move(git_dir, outside)
        git_dir.write_text(f"gitdir: {outside}\n")
        return "outside the delivered tree"
    if how == "commondir":
        shutil.copytree(git_dir, outside)
        (git_dir / "commondir").write_text(f"{outside}\n")
        return "outside the delivered tree"
    if how == "alternates":
        shutil.copytree(git_dir / "objects", outside)
        (git_dir / "objects" / "info" / "alternates").write_text(f"{outside}\n")
        return "alternates"
    if how == "objects-link":
        pack = git_dir / "objects" / "pack"
        shutil.move(pack, outside)
        os.symlink(outside, pack)
        return "symbolic link in the object store"
    if how == "ref-link":
        branch = next((git_dir / "refs" / "heads").iterdir())
        shutil.move(branch, outside)
        os.symlink(outside, branch)
        return "cannot be read|leads out"
    if how in ("head-fifo", "index-fifo"):
        target = git_dir / ("HEAD" if how == "head-fifo" else "index")
        target.unlink()
        os.mkfifo(target)
        return "not a regular file"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["dot-git-link", "dot-git-file", "commondir", "alternates", "objects-link",
                                 "ref-link", "head-fifo", "index-fifo"])
def test_git_directories_that_lead_out_or_would_hang_are_refused(how: str, tmp_path: Path, home: Path) -> None:
    repo = _repo(tmp_path / "r", home)
    message = _refusal(repo, tmp_path, how)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(_catch(repo)), daemon=True)
    worker.start()
    worker.join(60)  # a FIFO read would block forever
    assert outcome, "read_state hung"
    assert isinstance(outcome[0], GitError)
    assert re.search(message, str(outcome[0])), outcome[0]
    with open_source(repo) as source:
        assert source.kind == "directory" and source.commit is None
        assert any("scanned as a plain directory" in note for note in source.notes)


def _catch(repo: Path) -> object:
    try:
        return read_state(repo)
    except GitError as err:
        return err


def _write_index(path: Path, entries: list[tuple[int, str, bytes]]) -> None:
    """An index (version 2) listing ``entries`` (mode, blob id, path) as written by hand."""
    data = b"DIRC" + struct.pack(">II", 2, len(entries))
    for mode, oid, name in sorted(entries, key=lambda e: e[2]):
        entry = struct.pack(">10I", 0, 0, 0, 0, 0, 0, mode, 0, 0, 0) + bytes.fromhex(oid)
        entry += struct.pack(">H", len(name)) + name
        data += entry + b"\0" * (8 - len(entry) % 8)
    path.write_bytes(data + hashlib.sha1(data).digest())


@pytest.mark.parametrize("unsafe", [b"../outside.txt", b"/etc/hostname", b"sub/.git/config", b"a/./b"])
def test_an_index_listing_a_path_out_of_the_tree_is_refused(unsafe: bytes, tmp_path: Path, home: Path) -> None:
    """git refuses to add such paths, but an index can be written by hand: hashing ``/etc/hostname``
    as a tracked file would read outside the delivery."""
    repo = _repo(tmp_path / "r", home)
    blob = plain_out(repo, "rev-parse", "HEAD:README.md", home=home)
    _write_index(repo / ".git" / "index", [(0o100644, blob, b"README.md"), (0o100644, blob, unsafe)])
    assert unsafe in plain_git(repo, "ls-files", home=home).stdout  # git lists it as it is
    with pytest.raises(GitError, match="unsafe path"):
        read_state(repo)
    ident = repo_identity(repo)
    assert ident.tree_hash_mode == "all-files" and "unsafe path" in ident.notes[0]
