"""Version-control metadata is skipped only where it really is metadata, and every skipped path is
listed with its reason (issue 10 item 3): code in a directory merely *named* ``CVS`` or ``_darcs``
was left out of the ratio without a trace."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from support import write_tree
from verifier.origin.inventory import VCS_REASON, build_inventory
from verifier.origin.model import SourceInfo
from verifier.source import open_source
from verifier.vcs import VCS_MARKERS, vcs_metadata

OWNER = "Hunan Example Software Co., Ltd."
APACHE_HEADER = """\
# Copyright 2015 The Foreign Widgets Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""


def _metadata(directory: Path, markers: tuple[str, ...]) -> None:
    """Make ``directory`` hold a version-control system's own files ``markers``."""
    directory.mkdir(parents=True, exist_ok=True)
    for marker in markers:
        if marker.endswith("/"):
            (directory / marker).mkdir(exist_ok=True)
        else:
            (directory / marker).write_text("x\n")


def _inventory(root: Path):
    return build_inventory(SourceInfo(given=str(root), kind="directory", root=root), jobs=1)


@pytest.mark.parametrize("name", sorted(VCS_MARKERS))
def test_each_system_is_told_by_its_own_files_at_any_depth(tmp_path, name):
    system, marker_sets = VCS_MARKERS[name]
    for index, markers in enumerate(marker_sets):
        real = tmp_path / f"real{index}" / "deep" / name
        _metadata(real, markers)
        (real / "hidden.py").write_text("x = 1\n")
        why = vcs_metadata(os.fspath(real), name, True)
        assert why is not None and why.startswith(VCS_REASON) and system in why
        assert all(m in why for m in markers)
    fake = tmp_path / "fake" / name
    fake.mkdir(parents=True)
    (fake / "v.py").write_text("x = 1\n")
    assert vcs_metadata(os.fspath(fake), name, True) is None
    # a marker of the wrong type (a directory where a file belongs, or the reverse) is not one
    wrong = tmp_path / "wrong" / name
    for marker in marker_sets[0]:
        path = wrong / marker.rstrip("/")
        if marker.endswith("/"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("x\n")
        else:
            path.mkdir(parents=True)
    assert vcs_metadata(os.fspath(wrong), name, True) is None


def test_named_like_vcs_without_its_files_is_scanned_and_real_metadata_is_listed(tmp_path):
    root = tmp_path / "repo"
    for rel in ("src/CVS/v.py", "lib/_darcs/v2.py", ".svn/x.py", "a/.hg/y.py", "b/.bzr/z.py",
                "c/.git/w.py", "app.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n")
    _metadata(root / ".git", ("HEAD", "objects/", "refs/"))
    (root / ".git" / "objects" / "ab").mkdir()
    (root / ".git" / "hooks").mkdir()
    (root / ".git" / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\necho hook\n")
    _metadata(root / "mod" / "CVS", ("Root", "Repository", "Entries"))
    _metadata(root / "mod" / ".svn", ("wc.db",))
    (root / "mod" / "m.py").write_text("y = 2\n")
    (root / "sub").mkdir()
    (root / "sub" / ".git").write_text("gitdir: ../.git/modules/sub\n")   # a submodule's link
    (root / "other").mkdir()
    (root / "other" / ".git").write_text("not a link\n")                  # just a file
    os.symlink(root / ".git", root / "lnk")
    (root / "ln").mkdir()
    os.symlink(root / ".git", root / "ln" / ".git")                        # a link named .git

    inventory = _inventory(root)
    paths = {e.path for e in inventory.entries}
    assert paths == {"src/CVS/v.py", "lib/_darcs/v2.py", ".svn/x.py", "a/.hg/y.py", "b/.bzr/z.py",
                     "c/.git/w.py", "app.py", "mod/m.py", "other/.git"}
    skipped = {s.path: s.reason for s in inventory.skipped}
    vcs = {p: r for p, r in skipped.items() if r.startswith(VCS_REASON)}
    assert set(vcs) == {".git", "mod/CVS", "mod/.svn", "sub/.git"}
    assert "git: holds HEAD, objects/, refs/" in vcs[".git"]
    assert "CVS: holds Root, Repository, Entries" in vcs["mod/CVS"]
    assert "Subversion: holds wc.db" in vcs["mod/.svn"]
    assert "gitdir" in vcs["sub/.git"]
    assert "symbolic link" in skipped["ln/.git"] and "symbolic link" in skipped["lnk"]
    # nothing inside the skipped metadata was read
    assert not any(p.startswith((".git/", "mod/CVS/", "mod/.svn/")) for p in paths)


def test_a_tree_of_vcs_named_code_is_not_empty_but_one_of_metadata_only_is(tmp_path):
    code = write_tree(tmp_path / "code", {"CVS/v.py": "x = 1\n"})
    with open_source(code) as info:
        assert info.root == code.resolve()
    metadata = tmp_path / "metadata"
    _metadata(metadata / "CVS", ("Root", "Repository", "Entries"))
    from verifier.errors import InputError
    with pytest.raises(InputError, match="no files to inventory"):
        with open_source(metadata):
            pass


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, timeout=60)


@pytest.mark.slow
def test_origin_counts_code_hidden_in_vcs_named_directories(tmp_path, cli):
    """The reproduction: 10,000 Apache-licensed lines in ``src/CVS/v.py`` and ``lib/_darcs/v2.py``
    beside 10,000 own lines were skipped unseen (the ratio came out 100%, PASS, with no trace).
    Now they are scanned (third-party by their notice) and the ratio is 50%, FAIL; the real
    metadata (git's own .git, a real CVS checkout directory) is listed with its reason in the
    JSON, the warnings and the run summary's ``not_scanned``."""
    own = f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(10000))
    foreign = APACHE_HEADER + "".join(f"w{i} = {i}\n" for i in range(5000))
    root = write_tree(tmp_path / "repo", {"app/main.py": own, "src/CVS/v.py": foreign,
                                          "lib/_darcs/v2.py": foreign})
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "delivery")
    _metadata(root / "legacy" / "CVS", ("Root", "Repository", "Entries"))
    (root / "legacy" / "CVS" / "Entries").write_text("/old.c/1.1/Thu Jan  1 00:00:00 2004//\n")

    out = tmp_path / "origin.json"
    result = cli("origin", root, "--owner", OWNER, "--json", out, "-q", "--no-cache", "-j", "2")
    data = json.loads(out.read_text("utf-8"))
    files = {f["path"]: f for f in data["files"]}
    for hidden in ("src/CVS/v.py", "lib/_darcs/v2.py"):
        assert files[hidden]["origin"] == "third_party" and files[hidden]["lines"] == 5000, hidden
        assert "Apache-2.0" in files[hidden]["reason"] or "Foreign Widgets" in files[hidden]["reason"]
    assert data["ratio"] == pytest.approx(0.5)
    assert result.exit_code == 1, result.output
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert skipped[".git"].startswith(VCS_REASON) and "git: holds HEAD" in skipped[".git"]
    assert "CVS: holds Root, Repository, Entries" in skipped["legacy/CVS"]
    assert any(w.startswith("2 version-control metadata path(s) not scanned (.git, legacy/CVS)")
               for w in data["warnings"]), data["warnings"]

    from verifier.origin import analyze
    summary = analyze(root, owners=[OWNER], no_cache=True, jobs=2).summary()
    assert [(i["path"], i["reason"][:len(VCS_REASON)]) for i in summary["not_scanned"]] == [
        (".git", VCS_REASON), ("legacy/CVS", VCS_REASON)]
    assert summary["not_scanned_total"] == 2


def test_static_probes_walk_vcs_named_code_too(tmp_path):
    """The same class of problem in the static probes' file walk (bandit, radon): a directory
    named CVS or .hg is skipped only when it holds that system's files."""
    from verifier.probekit import source_files

    root = write_tree(tmp_path / "repo", {"src/CVS/evil.py": "import os\n",
                                          "src/.hg/more.py": "x = 1\n", "src/ok.py": "y = 2\n",
                                          "lib/CVS/meta.py": "z = 3\n"})
    _metadata(root / "lib" / "CVS", ("Root", "Repository", "Entries"))
    assert source_files(root, ["."]) == ["src/.hg/more.py", "src/CVS/evil.py", "src/ok.py"]
