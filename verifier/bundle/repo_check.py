"""``verify --repo``: the delivered repository against what a bundle's manifest records — commit,
subpath and the tree hash in the recorded mode (``verifier.repository``; git read only through
``verifier.git``)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from verifier.bundle.manifest import recorded_mode
from verifier.consistency import Check
from verifier.git import GitState
from verifier.repository import (
    TREE_MODES,
    TreeEntry,
    current_entries,
    named_differences,
    tracked_state,
    tracked_tree_hash,
    tree_hash,
)


def check_repo(repo: Path, manifest: dict[str, Any], files: list[TreeEntry] | None = None) -> list[Check]:
    """The repository against the manifest: commit and subpath (when recorded), then the tree hash
    in the recorded mode, and when it differs the files changed, added and removed (from the run's
    per-file record, ``files``: ``verifier.repository.recorded_entries``). ``repo`` may be the
    delivered directory or the top of a work tree holding it at the recorded subpath."""
    recorded = _recorded(manifest)
    want_commit, want_sub = recorded.get("commit"), recorded.get("subpath")
    mode = recorded_mode(recorded.get("tree_hash_mode"), recorded.get("tree_sha256"))
    checks: list[Check] = []
    state, notes = tracked_state(repo)
    if (state is not None and isinstance(want_sub, str) and safe_subpath(want_sub) and want_sub != "."
            and state.subpath == "." and (repo / want_sub).is_dir()):
        checks.append(Check(None, f"repository: {repo} is the top of its work tree; checking {want_sub} in it"))
        repo = repo / want_sub
        state, notes = tracked_state(repo)
    checks += [Check(None, f"repository: {note}") for note in notes]
    got_commit = state.commit if state is not None else None
    if want_commit is None:
        checks.append(Check(None, f"repository commit: none recorded; {repo} is at {got_commit or 'no commit'}"))
    elif got_commit == want_commit:
        checks.append(Check(True, f"repository commit: {repo} is at {got_commit}, as recorded"))
    else:
        checks.append(Check(False, f"repository commit: {repo} is at {got_commit or 'no commit'}, "
                                   f"the bundle records {want_commit}"))
    if want_sub is not None and state is not None:
        if state.subpath == want_sub:
            checks.append(Check(True, f"repository subpath: {want_sub} within the work tree, as recorded"))
        else:
            checks.append(Check(False, f"repository subpath: {repo} is {state.subpath} within its work "
                                       f"tree, the bundle records {want_sub}"))
    if recorded.get("dirty"):
        checks.append(Check(None, f"repository state: at the run, {want_sub or 'the tree'} had changes or "
                                  f"untracked files beyond commit {want_commit}; untracked files are not in "
                                  "a git-tracked tree hash"))
    tree = _check_tree(repo, state, recorded.get("tree_sha256"), mode)
    checks.append(tree)
    if tree.ok is False and mode in TREE_MODES:
        differences = named_differences(files, current_entries(repo, state, mode), recorded.get("tree_sha256"))
        checks.append(Check(False, f"repository files: {differences}"))
    return checks


def delivered_dir(repo: Path, manifest: dict[str, Any]) -> Path:
    """The delivered directory ``verify --repo REPO`` checks: REPO, or REPO/SUBPATH when REPO is the top
    of a work tree and holds the recorded subpath (as ``check_repo`` descends)."""
    sub = _recorded(manifest).get("subpath")
    if not isinstance(sub, str) or sub in ("", ".") or not (repo / ".git").exists():
        return repo
    if not safe_subpath(sub) or not (repo / sub).is_dir():
        return repo
    return repo / sub


def safe_subpath(sub: Any) -> bool:
    """Whether a manifest's recorded subpath stays inside the directory it is joined to (a hostile
    manifest could name ``../..``, an absolute path or a NUL)."""
    if not isinstance(sub, str) or not sub or "\0" in sub:
        return False
    path = PurePosixPath(sub)
    return not path.is_absolute() and ".." not in path.parts


def _recorded(manifest: dict[str, Any]) -> dict[str, Any]:
    recorded = manifest.get("repository")
    return recorded if isinstance(recorded, dict) else {}


def _check_tree(repo: Path, state: GitState | None, want: Any, mode: Any) -> Check:
    if mode not in TREE_MODES:
        return Check(False, f"repository tree hash: the bundle records an unknown mode {mode!r}")
    how = ""
    if mode == "git-tracked" and state is not None:
        got = tracked_tree_hash(repo, state.tracked)
    else:
        got = tree_hash(repo)
        if mode == "git-tracked":
            how = (" (not a git work tree: all its files hashed, which matches when it holds exactly the "
                   "tracked files, e.g. `git archive` output)")
    if want is None:
        return Check(False, f"repository tree hash: none recorded in the bundle ({repo}: {got})")
    if got == want:
        return Check(True, f"repository tree hash: {got} matches ({mode}){how}")
    return Check(False, f"repository tree hash: {repo} hashes to {got} ({mode}), the bundle records "
                        f"{want}{how}")
