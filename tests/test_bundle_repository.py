"""The repository a bundle records and ``verify --repo`` checks: a delivery inside a git work tree
keeps its commit and subpath; the tree hash covers what git tracks, so a fresh clone verifies."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import REPO_ROOT, write_tree
from support.bundle_runs import OWN_CODE, PASSING, spec_text
from support.bundle_runs import git as _git
from verifier.bundle import build_bundle, verify_bundle
from verifier.cli import main
from verifier.errors import InputError
from verifier.repository import repo_identity, tree_hash

SPEC = spec_text(PASSING)


def _work_tree(root: Path) -> Path:
    """A git work tree whose delivery is the sub-directory ``products/stock``; return the top."""
    write_tree(root, {
        ".gitignore": ".venv/\nnode_modules/\nbuild/\n",
        "README.md": "# monorepo\n",
        "products/other/x.py": "X = 1\n",
        "products/stock/stock/core.py": OWN_CODE,
        "products/stock/acceptance.yaml": SPEC,
    })
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "first")
    return root


def _failed(checks) -> list[str]:
    return [c.what for c in checks if c.ok is False]


def _holds(checks) -> list[str]:
    return [c.what for c in checks if c.ok is True]


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """A real `verifier run` of a delivery inside a git work tree, bundled; the work tree's top."""
    root = tmp_path_factory.mktemp("repo-e2e")
    top = _work_tree(root / "work")
    # clutter a fresh clone does not have: an ignored virtualenv and build output
    write_tree(top / "products" / "stock", {".venv/lib/site.py": "x = 1\n", "build/out.bin": "bin\n"})
    run = root / "run"
    result = CliRunner().invoke(main, ["run", str(top / "products/stock/acceptance.yaml"), "--out", str(run),
                                       "--quiet", "--no-cache"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bundle = root / "bundle.zip"
    build_bundle(run, bundle)
    return {"top": top, "run": run, "bundle": bundle, "commit": _git(top, "rev-parse", "HEAD")}


def test_a_run_in_a_subdirectory_records_commit_subpath_and_mode(delivered):
    data = json.loads((delivered["run"] / "results.json").read_text("utf-8"))
    repo = data["repository"]
    assert repo["commit"] == delivered["commit"]
    assert repo["subpath"] == "products/stock" and repo["dirty"] is False
    assert repo["tree_hash_mode"] == "git-tracked"
    origin = json.loads((delivered["run"] / "origin" / "origin.json").read_text("utf-8"))
    assert origin["source"]["kind"] == "git" and origin["source"]["commit"] == repo["commit"]
    with zipfile.ZipFile(delivered["bundle"]) as zf:
        manifest = json.loads(zf.read("manifest.json"))["repository"]
    assert manifest["commit"] == delivered["commit"] and manifest["subpath"] == "products/stock"
    assert manifest["tree_hash_mode"] == "git-tracked" and "git ls-files" in manifest["tree_hash_rule"]
    assert manifest["tree_sha256"] == repo["tree_sha256"]


def test_a_fresh_clone_at_the_commit_verifies(delivered, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(delivered["top"]), str(clone)], check=True, timeout=60,
                   capture_output=True)
    for given in (clone / "products" / "stock", clone):  # the delivery itself, or the clone's top
        checks = verify_bundle(delivered["bundle"], repo=given)
        assert _failed(checks) == [], given
        held = "\n".join(_holds(checks))
        assert f"is at {delivered['commit']}, as recorded" in held
        assert "repository subpath: products/stock within the work tree, as recorded" in held
        assert "repository tree hash:" in held and "(git-tracked)" in held
    result = CliRunner().invoke(main, ["verify", str(delivered["bundle"]), "--repo", str(clone)])
    assert result.exit_code == 0, result.output
    assert "none recorded" not in result.output


def test_a_changed_tracked_file_a_new_commit_and_another_subpath_fail(delivered, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(delivered["top"]), str(clone)], check=True, timeout=60,
                   capture_output=True)
    core = clone / "products" / "stock" / "stock" / "core.py"
    core.write_text(core.read_text() + "# changed\n")
    failed = _failed(verify_bundle(delivered["bundle"], repo=clone / "products" / "stock"))
    assert [f.split(":")[0] for f in failed] == ["repository tree hash", "repository files"]
    assert failed[1] == "repository files: changed 1: stock/core.py"  # relative to the delivered directory
    _git(clone, "commit", "-q", "-am", "change")
    failed = _failed(verify_bundle(delivered["bundle"], repo=clone / "products" / "stock"))
    assert [f.split(":")[0] for f in failed] == ["repository commit", "repository tree hash", "repository files"]
    _git(clone, "reset", "-q", "--hard", "HEAD~1")
    failed = _failed(verify_bundle(delivered["bundle"], repo=clone / "products" / "other"))
    assert "repository subpath: " in failed[0] and "is products/other within its work tree" in failed[0]


def test_ignored_and_untracked_files_do_not_change_a_git_tracked_hash(tmp_path):
    top = _work_tree(tmp_path / "work")
    delivery = top / "products" / "stock"
    before = repo_identity(delivery)
    assert (before.tree_hash_mode, before.subpath, before.dirty) == ("git-tracked", "products/stock", False)
    write_tree(delivery, {".venv/bin/python.py": "import os\n", "node_modules/x/index.js": "1;\n",
                          "build/a.o": "obj\n"})
    ignored = repo_identity(delivery)
    assert ignored.tree_sha256 == before.tree_sha256 and ignored.dirty is False
    assert tree_hash(delivery) != tree_hash(delivery, "git-tracked")  # all-files would see them
    (top / "products" / "other" / "new.py").write_text("Y = 2\n")  # outside the delivery
    assert repo_identity(delivery).dirty is False
    (delivery / "stock" / "extra.py").write_text("Z = 3\n")  # untracked, not ignored, inside
    untracked = repo_identity(delivery)
    assert untracked.dirty is True and untracked.tree_sha256 == before.tree_sha256
    (delivery / "stock" / "core.py").write_text(OWN_CODE + "\n# edited\n")
    assert repo_identity(delivery).tree_sha256 != before.tree_sha256


def test_git_tracked_hash_equals_the_all_files_hash_of_a_git_archive_export(tmp_path):
    top = _work_tree(tmp_path / "work")
    os.symlink("core.py", top / "products" / "stock" / "stock" / "alias.py")
    _git(top, "add", ".")
    _git(top, "commit", "-q", "-m", "link")
    export = tmp_path / "export"
    export.mkdir()
    archive = tmp_path / "export.tar"
    _git(top, "archive", "-o", str(archive), "HEAD", "products/stock")
    subprocess.run(["tar", "-xf", str(archive), "-C", str(export)], check=True, timeout=60)
    want = tree_hash(top / "products" / "stock", "git-tracked")
    assert tree_hash(export / "products" / "stock") == want
    assert tree_hash(export / "products" / "stock", "all-files") == want


def test_a_linked_directory_in_the_work_tree_is_not_followed(tmp_path):
    top = _work_tree(tmp_path / "work")
    delivery = top / "products" / "stock"
    before = tree_hash(delivery, "git-tracked")
    outside = write_tree(tmp_path / "outside", {"core.py": OWN_CODE})
    (delivery / "stock" / "core.py").unlink()
    (delivery / "stock").rmdir()
    os.symlink(outside, delivery / "stock")  # same content, reached through a link out of the tree
    assert tree_hash(delivery, "git-tracked") != before


def test_outside_git_the_whole_directory_is_hashed(tmp_path):
    plain = write_tree(tmp_path / "plain", {"a.py": "A = 1\n", ".venv/x.py": "x\n"})
    ident = repo_identity(plain)
    assert (ident.commit, ident.subpath, ident.dirty, ident.tree_hash_mode) == (None, None, None, "all-files")
    assert ident.tree_sha256 == tree_hash(plain)
    with pytest.raises(InputError, match="not a git work tree"):
        tree_hash(plain, "git-tracked")
    with pytest.raises(InputError, match="unknown tree hash mode"):
        tree_hash(plain, "some")


@pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="needs verifier's own git checkout")
def test_the_bundled_fixtures_keep_the_checkouts_commit():
    """The audited case: fixtures/sample-delivery is a sub-directory of verifier's work tree."""
    ident = repo_identity(REPO_ROOT / "fixtures" / "sample-delivery")
    head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()
    assert (ident.commit, ident.subpath, ident.tree_hash_mode) == (head, "fixtures/sample-delivery", "git-tracked")
