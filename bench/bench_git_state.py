"""Benchmark reading a delivery's git state the isolated way against plain git in the delivery.

Plain: the queries verifier ran before ``verifier.git`` (``rev-parse``, ``status``, ``ls-files
--stage``, ``ls-files --others --ignored``), run by git in the work tree with the repository's own
config read. Isolated: ``verifier.git.read_state(root, ignored=True)`` (private git directory, index
copied, submodules read by verifier). Each is run REPEAT times on a tar copy of the tree (new inodes
and times, as a delivery arrives: git re-reads every file), and the best wall time printed with the
answers of both, which must agree.

    .venv/bin/python bench/bench_git_state.py [PATH] [--repeat N]

PATH (a git work tree) defaults to a repository made in a temporary directory from a copy of the
installed ``pygments`` package (real third-party code, never copied into this repository).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verifier.git import read_state

_ENV = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_OPTIONAL_LOCKS": "0", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
        "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=root, env={**_ENV, "HOME": str(root)},
                          capture_output=True, check=True, timeout=600).stdout


def _plain(root: Path) -> tuple[str, bool, int, int]:
    commit = _git(root, "rev-parse", "--verify", "HEAD").decode().strip()
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=normal", "--ignore-submodules=none",
                      "--", ".").strip())
    tracked = len({r.partition(b"\t")[2] for r in _git(root, "ls-files", "-z", "--stage", "--", ".").split(b"\0")
                   if b"\t" in r})
    ignored = len([p for p in _git(root, "ls-files", "-z", "--others", "--ignored", "--exclude-standard",
                                   "--directory", "--", ".").split(b"\0") if p])
    return commit, dirty, tracked, ignored


def _isolated(root: Path) -> tuple[str, bool, int, int]:
    state = read_state(root, ignored=True)
    assert state is not None and state.commit is not None and state.dirty is not None
    return state.commit, state.dirty, len(state.tracked), len(state.ignored or ())


def _best(fn, root: Path, repeat: int) -> tuple[float, tuple]:
    times, answer = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = fn(root)
        times.append(time.perf_counter() - start)
    return min(times), answer


def main() -> None:
    """Parse arguments, time both ways on a tar copy of the tree and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-git-") as tmp:
        work = Path(tmp)
        if args.path is None:
            import pygments  # only for the default tree

            source = work / "pygments-repo"
            shutil.copytree(Path(pygments.__file__).parent, source / "pygments",
                            ignore=shutil.ignore_patterns("__pycache__"))
            (source / ".gitignore").write_text("*.pyc\n")
            _git(source, "init", "-q")
            _git(source, "add", ".")
            _git(source, "commit", "-q", "-m", "bench")
        else:
            source = args.path.resolve()
        archive = work / "copy.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(source, arcname="tree")
        with tarfile.open(archive) as tar:
            tar.extractall(work / "copy", filter="tar")
        copy = work / "copy" / "tree"
        plain_s, plain = _best(_plain, copy, args.repeat)
        isolated_s, isolated = _best(_isolated, copy, args.repeat)
        print(f"tree: {source} ({plain[2]} tracked paths, {plain[3]} ignored)")
        print(f"plain git (delivery's config read): {plain_s * 1000:8.1f} ms  {plain}")
        print(f"isolated read_state:                {isolated_s * 1000:8.1f} ms  {isolated}")
        print(f"ratio: {isolated_s / plain_s:.2f}; answers {'agree' if plain == isolated else 'DIFFER'}")


if __name__ == "__main__":
    main()
