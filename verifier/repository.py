"""What identifies a delivered tree: its git commit, where it sits in its work tree, and a tree hash.

A delivered directory inside a git work tree (its top or any sub-directory) is identified by the
work tree's ``HEAD`` commit, the directory's ``subpath`` within it, and ``dirty`` (changes, staged
changes, submodule changes, or untracked files that are not ignored, under that subpath). Its tree
hash is then taken in mode ``git-tracked``: the files git tracks under the directory with their
working-tree content — what an expert gets from a clean checkout of the recorded commit (without
line-ending conversion), so untracked and ignored files (``.venv``, ``node_modules``, build output)
do not count. A directory outside git is hashed in mode ``all-files``: every file and link, ``.git``
left out. ``tree_hash`` defines both exactly.

Git is read through ``verifier.git`` only (isolated: nothing the repository configures runs).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from verifier.errors import InputError
from verifier.evidence import sha256_file
from verifier.git import GITLINK, GitError, GitState, Tracked, read_state

TREE_HASH_ALGORITHM = "verifier-tree/1"
#: how a tree hash was taken: the files git tracks (their working-tree content), or every file
TREE_MODES = ("git-tracked", "all-files")
#: the rule behind each mode, as the manifest states it
TREE_HASH_RULES = {
    "git-tracked": ("the files git tracks under the delivered directory (git ls-files), each with its "
                    "working-tree content; untracked and ignored files (.venv, node_modules, build "
                    "output) left out; a submodule contributes the commit its superproject records. "
                    "A clean checkout of the recorded commit, without line-ending conversion, "
                    "reproduces it; a path that cannot be read is an entry u with the sha256 of "
                    "nothing"),
    "all-files": ("every regular file and symbolic link under the directory, .git left out; a path "
                  "that cannot be read is an entry u with the sha256 of nothing"),
}


def tree_hash(repo: str | os.PathLike[str], mode: str = "all-files") -> str:
    """Content hash of a repository tree (hex sha256), independent of mtimes and permissions.

    Entries (``mode``): ``all-files`` takes every regular file and symbolic link under ``repo``, any
    path component named ``.git`` skipped; ``git-tracked`` takes the paths git tracks under ``repo``
    (``InputError`` when ``repo`` is not in a git work tree tracking files there) as they are in the
    working tree, a tracked path that is missing (or no longer a file or link) leaving no entry, and
    a submodule as ``m`` with the sha256 of the commit id its superproject records. Directories are
    not entries (empty ones leave no trace). Each entry contributes ``TYPE SP SHA256HEX SP PATH NUL``
    where PATH is the POSIX path relative to ``repo`` as UTF-8 bytes (file-system bytes for
    undecodable names), TYPE is ``f`` for a file (sha256 of its content), ``l`` for a link (sha256
    of the link's target text: links are never followed) or ``u`` for a path that could not be read
    (an unreadable directory, file or link; the sha256 of nothing): the hash still identifies the
    tree, and the same tree read in full later differs from it. Entries are sorted by PATH bytes; the
    result is the sha256 of their concatenation. A ``git-tracked`` hash therefore equals the
    ``all-files`` hash of a directory holding exactly the tracked files (``git archive`` output).
    """
    root = Path(repo)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    if mode == "all-files":
        return _digest(_tree_entries(root))
    if mode == "git-tracked":
        state, notes = tracked_state(root)
        if state is None:
            why = f" ({'; '.join(notes)})" if notes else ""
            raise InputError(f"{root}: not a git work tree with tracked files; a git-tracked tree hash "
                             f"needs one{why}")
        return tracked_tree_hash(root, state.tracked)
    raise InputError(f"unknown tree hash mode {mode!r} (known: {', '.join(TREE_MODES)})")


def tracked_tree_hash(root: str | os.PathLike[str], tracked: Sequence[Tracked]) -> str:
    """The ``git-tracked`` tree hash of ``root`` for the tracked entries git listed under it."""
    return _digest(_tracked_entries(Path(root), tracked))


def tracked_state(root: str | os.PathLike[str]) -> tuple[GitState | None, list[str]]:
    """The git state of ``root`` when it can identify the tree (a commit, tracked files under it);
    otherwise None and why not, as notes (nothing when ``root`` is simply not in a work tree)."""
    try:
        state = read_state(root)
    except GitError as err:
        return None, [f"{err}: hashed as a plain directory"]
    if state is None:
        return None, []
    if state.commit is None:
        return None, ["the git repository has no commit yet: hashed as a plain directory"]
    if not state.tracked:
        return None, [f"git tracks no file under {root} (inside its work tree at commit {state.commit}): "
                      "hashed as a plain directory"]
    return state, list(state.notes)


@dataclass(frozen=True)
class RepoIdentity:
    """What identifies a delivered tree: git commit, where the tree sits in its work tree, and hash."""

    commit: str | None
    """``HEAD`` of the git work tree holding the tree; None outside git (or without tracked files)."""
    subpath: str | None
    """The tree's POSIX path within the work tree (``"."`` at its top); None outside git."""
    dirty: bool | None
    """Changes or untracked, not ignored files under the tree (``git status -- SUBPATH``)."""
    tree_sha256: str
    tree_hash_mode: Literal["git-tracked", "all-files"]
    """``git-tracked`` in a git work tree, ``all-files`` otherwise (see ``tree_hash``)."""
    notes: tuple[str, ...] = ()
    """Why git could not be used, when it could not."""


def repo_identity(repo: str | os.PathLike[str]) -> RepoIdentity:
    """Commit, subpath, dirtiness and tree hash of ``repo``: git-tracked in a git work tree, else all files."""
    root = Path(repo)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    state, notes = tracked_state(root)
    if state is None:
        return RepoIdentity(commit=None, subpath=None, dirty=None, tree_sha256=tree_hash(root),
                            tree_hash_mode="all-files", notes=tuple(notes))
    return RepoIdentity(commit=state.commit, subpath=state.subpath, dirty=state.dirty,
                        tree_sha256=tracked_tree_hash(root, state.tracked),
                        tree_hash_mode="git-tracked", notes=tuple(notes))


def _digest(entries: Iterable[tuple[bytes, bytes, str]]) -> str:
    digest = hashlib.sha256()
    for rel, kind, value in sorted(entries):
        digest.update(kind + b" " + value.encode("ascii") + b" " + rel + b"\0")
    return digest.hexdigest()


#: The value of a ``u`` entry (a path that could not be read): the sha256 of nothing.
_UNREADABLE = hashlib.sha256(b"").hexdigest()


def _tree_entries(root: Path) -> Iterator[tuple[bytes, bytes, str]]:
    base = os.fsencode(root)
    stack = [b""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(base, rel_dir) if rel_dir else base) as listing:
                entries = list(listing)
        except OSError as err:
            if not rel_dir:
                raise InputError(f"{root}: the directory cannot be read ({err.strerror or err})") from None
            yield rel_dir, b"u", _UNREADABLE
            continue
        for entry in entries:
            if entry.name == b".git":
                continue
            name = os.fsencode(entry.name)
            rel = rel_dir + b"/" + name if rel_dir else name
            try:
                if entry.is_symlink():
                    target = os.fsencode(os.readlink(entry.path))
                    yield rel, b"l", hashlib.sha256(target).hexdigest()
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    yield rel, b"f", sha256_file(Path(os.fsdecode(entry.path)))
            except FileNotFoundError:
                continue  # gone since it was listed
            except OSError:
                yield rel, b"u", _UNREADABLE


def _tracked_entries(root: Path, tracked: Sequence[Tracked]) -> Iterator[tuple[bytes, bytes, str]]:
    """Entries of the tracked paths as they are in the working tree; never through a linked directory."""
    base = os.fsencode(root)
    real_base = os.path.realpath(base)
    plain_dirs: dict[bytes, bool | None] = {b"": True}

    def plain(rel_dir: bytes) -> bool | None:
        """True when no component of the directory is a link or missing; None when one cannot be
        looked at (a directory above it cannot be searched)."""
        if rel_dir not in plain_dirs:
            parent, _, _ = rel_dir.rpartition(b"/")
            above = plain(parent)
            full = os.path.join(base, rel_dir)
            if above is not True:
                plain_dirs[rel_dir] = above
            else:
                try:
                    info = os.lstat(full)
                except PermissionError:
                    plain_dirs[rel_dir] = None
                except OSError:
                    plain_dirs[rel_dir] = False
                else:
                    plain_dirs[rel_dir] = (stat.S_ISDIR(info.st_mode)
                                           and os.path.realpath(full) == os.path.join(real_base, rel_dir))
        return plain_dirs[rel_dir]

    for mode, obj, rel in tracked:
        if mode == GITLINK:
            yield rel, b"m", hashlib.sha256(obj.encode("ascii")).hexdigest()
            continue
        where = plain(rel.rpartition(b"/")[0])
        if where is None:
            yield rel, b"u", _UNREADABLE
            continue
        if not where:
            continue
        full = os.path.join(base, rel)
        try:
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                yield rel, b"l", hashlib.sha256(os.readlink(full)).hexdigest()
            elif stat.S_ISREG(info.st_mode):
                yield rel, b"f", sha256_file(Path(os.fsdecode(full)))
        except (FileNotFoundError, NotADirectoryError):
            continue  # missing from the working tree: no entry
        except OSError:
            yield rel, b"u", _UNREADABLE


# ---------------------------------------------------------------------------------------------
# The tree file by file: what a run records, so that verify --repo can name what changed

#: The run file holding the delivered tree's identity and every entry of its tree hash.
REPOSITORY_FILES = "repository-files.json"

TreeEntry = tuple[str, str, str]
"""``(path, type, sha256)`` of one entry of a tree hash: the POSIX path (undecodable bytes kept as
surrogate escapes), ``f`` file, ``l`` link, ``m`` submodule or ``u`` unreadable, and the entry's sha256."""


def repo_listing(repo: str | os.PathLike[str]) -> tuple[RepoIdentity, list[TreeEntry]]:
    """``repo_identity`` of ``repo`` and the entries its tree hash was taken over, sorted by path:
    ``listing_hash`` of them is the identity's ``tree_sha256``."""
    root = Path(repo)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    state, notes = tracked_state(root)
    if state is None:
        raw = sorted(_tree_entries(root))
        ident = RepoIdentity(commit=None, subpath=None, dirty=None, tree_sha256=_digest(raw),
                             tree_hash_mode="all-files", notes=tuple(notes))
    else:
        raw = sorted(_tracked_entries(root, state.tracked))
        ident = RepoIdentity(commit=state.commit, subpath=state.subpath, dirty=state.dirty,
                             tree_sha256=_digest(raw), tree_hash_mode="git-tracked", notes=tuple(notes))
    return ident, [(os.fsdecode(rel), kind.decode("ascii"), value) for rel, kind, value in raw]


def current_entries(repo: str | os.PathLike[str], state: GitState | None, mode: str) -> list[TreeEntry]:
    """The entries of ``repo`` as a tree hash in ``mode`` takes them now (git-tracked with ``state``;
    all files otherwise), sorted by path."""
    root = Path(repo)
    raw = _tracked_entries(root, state.tracked) if mode == "git-tracked" and state is not None else _tree_entries(root)
    return [(os.fsdecode(rel), kind.decode("ascii"), value) for rel, kind, value in sorted(raw)]


def listing_hash(entries: Iterable[TreeEntry]) -> str:
    """The tree hash of ``entries`` (the same rule as ``tree_hash``)."""
    return _digest((os.fsencode(path), kind.encode("ascii"), value) for path, kind, value in entries)


def listing_differences(recorded: Iterable[TreeEntry], current: Iterable[TreeEntry]
                        ) -> tuple[list[str], list[str], list[str]]:
    """The paths changed (other content or type), added and removed between two listings, sorted."""
    before = {path: (kind, value) for path, kind, value in recorded}
    after = {path: (kind, value) for path, kind, value in current}
    changed = sorted(p for p in before.keys() & after.keys() if before[p] != after[p])
    return changed, sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys())


#: Paths named per kind of difference before "and N more".
SHOWN_PATHS = 10


def recorded_entries(listing: object) -> list[TreeEntry] | None:
    """The entries of a ``REPOSITORY_FILES`` record (parsed JSON), or None when it holds none or
    they are malformed (a bundle of an older run, a damaged file)."""
    files = listing.get("files") if isinstance(listing, dict) else None
    if not isinstance(files, list) or not all(
            isinstance(e, list) and len(e) == 3 and all(isinstance(x, str) for x in e) for e in files):
        return None
    return [(e[0], e[1], e[2]) for e in files]


def named_differences(recorded: list[TreeEntry] | None, current: list[TreeEntry], recorded_hash: object) -> str:
    """One line naming the files changed, added and removed between a recorded listing and the tree
    now (at most ``SHOWN_PATHS`` of each), or saying why they cannot be named."""
    if recorded is None:
        return (f"the bundle holds no per-file record of the tree ({REPOSITORY_FILES}; bundles of older "
                "runs have none), so the files that differ cannot be named")
    if listing_hash(recorded) != recorded_hash:
        return (f"the bundle's {REPOSITORY_FILES} does not hash to the recorded tree hash; the files that "
                "differ cannot be named")
    changed, added, removed = listing_differences(recorded, current)
    parts = [f"{what} {len(paths)}: {', '.join(paths[:SHOWN_PATHS])}"
             + (f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else "")
             for what, paths in (("changed", changed), ("added", added), ("removed", removed)) if paths]
    return "; ".join(parts) if parts else "the same paths and contents (the recorded mode's rule differs)"
