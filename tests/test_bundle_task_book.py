"""``verify`` compares the spec a run used with the task book: the repository's (``--repo``) or the
agency's own copy (``--spec``). A run made against a weakened spec is consistent with itself; only this
comparison catches it."""

from __future__ import annotations

import os
import shutil

import pytest
from click.testing import CliRunner

from support import write_tree
from support.bundle_runs import FAILING, git_delivery, real_run, spec_text
from support.bundle_runs import git as _git
from verifier.bundle import build_bundle, verify_bundle
from verifier.bundle.task_book import recorded_location, spec_differences
from verifier.cli import main
from verifier.errors import InputError

REAL = spec_text(FAILING)
#: the applicant's copy: S1 allows 5 issues instead of none, C1 asks 80% instead of 100%
WEAK = REAL.replace("'print(3)']\n      regex: '(\\d+(?:\\.\\d+)?)'\n      unit: 'count'\n    metric: value\n"
                    "    target: '== 0'", "'print(3)']\n      regex: '(\\d+(?:\\.\\d+)?)'\n      unit: 'count'\n"
                    "    metric: value\n    target: '<= 5'").replace("'>= 100'", "'>= 80'")


def _lines(output: str, what: str = "task book") -> list[str]:
    return [line for line in output.splitlines() if what in line]


def _verify(*args: object):
    return CliRunner().invoke(main, ["verify", *map(str, args)])


@pytest.fixture(scope="module")
def weakened(tmp_path_factory):
    """The reproduction: the repository holds the real task book; the run used a weakened copy kept
    outside it; the run passes and its bundle is consistent with itself."""
    root = tmp_path_factory.mktemp("weakened")
    repo = git_delivery(root / "delivery", REAL)
    weak = root / "applicant" / "acceptance.yaml"
    weak.parent.mkdir()
    weak.write_text(WEAK, encoding="utf-8")
    assert WEAK != REAL
    run, data = real_run(weak, root / "run", "--repo", str(repo))
    assert data["verdict"] == "pass"  # against the weakened targets
    bundle = root / "bundle.zip"
    build_bundle(run, bundle)
    return {"root": root, "repo": repo, "weak": weak, "bundle": bundle}


def test_a_run_against_a_weakened_spec_fails_verify_repo(weakened):
    result = _verify(weakened["bundle"], "--repo", weakened["repo"])
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert len(lines) == 1 and lines[0].startswith(f"FAIL task book: acceptance.yaml in {weakened['repo']} (sha256 ")
    assert "is not the spec the run used (spec.yaml, sha256 " in lines[0]
    assert "indicators[S1].target: run '<= 5', task book '== 0'" in lines[0]
    assert "indicators[C1].target: run '>= 80', task book '>= 100'" in lines[0]
    # everything else holds: the run is consistent with the spec it used, and the tree is the delivered one
    assert [line for line in result.output.splitlines() if line.startswith("FAIL")] == lines


def test_the_agencys_copy_is_compared_with_spec(weakened, tmp_path):
    agency = tmp_path / "agency-copy.yaml"
    agency.write_text(REAL, encoding="utf-8")
    result = _verify(weakened["bundle"], "--spec", agency)
    assert result.exit_code == 1
    assert _lines(result.output)[0].startswith(f"FAIL task book: {agency} (--spec) (sha256 ")
    same = _verify(weakened["bundle"], "--spec", weakened["weak"])
    assert same.exit_code == 0, same.output
    assert _lines(same.output) == [f"OK   task book: {weakened['weak']} (--spec) is the spec the run used "
                                   f"(sha256 {same.output.split('(sha256 ')[1][:16]}…)"]
    # --spec names the copy to compare with: the repository's is then not used
    both = _verify(weakened["bundle"], "--spec", weakened["weak"], "--repo", weakened["repo"])
    assert both.exit_code == 0 and len(_lines(both.output)) == 1


def test_a_task_book_that_cannot_be_read_is_an_input_error(weakened, tmp_path):
    missing = tmp_path / "nope.yaml"
    result = _verify(weakened["bundle"], "--spec", missing)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [f"verifier: error: {missing}: no such task book"]
    assert _verify(weakened["bundle"], "--spec", tmp_path).exit_code == 2  # a directory
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result = _verify(weakened["bundle"], "--spec", fifo)  # never opened: no hang
    assert result.exit_code == 2 and f"{fifo}: is a FIFO (named pipe), not a task book" in result.output
    with pytest.raises(InputError, match="larger than"):
        big = tmp_path / "big.yaml"
        big.write_bytes(b"#" * (4 * 1024 * 1024 + 1))
        verify_bundle(weakened["bundle"], task_book=big)


def test_a_repository_without_a_task_book_says_so(weakened, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(weakened["repo"], clone, symlinks=True)
    (clone / "acceptance.yaml").unlink()
    checks = verify_bundle(weakened["bundle"], repo=clone)
    task = [c for c in checks if c.what.startswith("task book:")]
    assert len(task) == 1 and task[0].ok is None
    assert task[0].what.startswith(f"task book: {clone} holds no acceptance.yaml: the bundled spec.yaml (sha256 ")
    assert "was compared with nothing (give --spec FILE" in task[0].what
    plain = verify_bundle(weakened["bundle"])  # neither --repo nor --spec: said, not silently passed
    assert [c.what.split(" (")[0] for c in plain if c.what.startswith("task book:")] == [
        "task book: the bundled spec.yaml"]
    assert [c.ok for c in plain if c.what.startswith("task book:")] == [None]


def test_a_linked_or_special_task_book_is_not_followed(weakened, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(weakened["repo"], clone, symlinks=True)
    (clone / "acceptance.yaml").unlink()
    os.symlink(weakened["weak"], clone / "acceptance.yaml")  # points at the weakened copy outside
    task = [c for c in verify_bundle(weakened["bundle"], repo=clone) if c.what.startswith("task book:")]
    assert [(c.ok, c.what) for c in task] == [
        (False, f"task book: acceptance.yaml in {clone}: a symbolic link, not followed; not compared")]
    (clone / "acceptance.yaml").unlink()
    os.mkfifo(clone / "acceptance.yaml")
    task = [c for c in verify_bundle(weakened["bundle"], repo=clone) if c.what.startswith("task book:")]
    assert [(c.ok, c.what) for c in task] == [
        (False, f"task book: acceptance.yaml in {clone}: not a regular file; not compared")]


def test_a_weakened_spec_committed_beside_the_real_one_is_still_caught(tmp_path):
    """The run read ``docs/weak.yaml`` of the repository: it is compared, and so is acceptance.yaml."""
    repo = git_delivery(tmp_path / "delivery", REAL, {"docs/weak.yaml": WEAK})
    run, data = real_run(repo / "docs" / "weak.yaml", tmp_path / "run", "--repo", str(repo))
    assert data["verdict"] == "pass"
    build_bundle(run, tmp_path / "b.zip")
    task = [c for c in verify_bundle(tmp_path / "b.zip", repo=repo) if c.what.startswith("task book:")]
    assert [c.ok for c in task] == [True, False]
    assert task[0].what.startswith(f"task book: docs/weak.yaml in {repo} is the spec the run used")
    assert task[1].what.startswith(f"task book: acceptance.yaml in {repo} (sha256 ")


def test_the_task_book_of_a_delivery_in_a_sub_directory(tmp_path):
    """--repo at the top of the clone: the delivered sub-directory's task book is the one compared."""
    top = tmp_path / "work"
    write_tree(top, {"README.md": "# monorepo\n", "products/stock/stock/core.py": "X = 1\n",
                     "products/stock/acceptance.yaml": REAL, "acceptance.yaml": "# another product's\n"})
    _git(top, "init", "-q")
    _git(top, "add", ".")
    _git(top, "commit", "-q", "-m", "first")
    run, _ = real_run(top / "products" / "stock" / "acceptance.yaml", tmp_path / "run")
    build_bundle(run, tmp_path / "b.zip")
    for given in (top, top / "products" / "stock"):
        task = [c for c in verify_bundle(tmp_path / "b.zip", repo=given) if c.what.startswith("task book:")]
        assert [(c.ok, c.what.split(" is ")[0]) for c in task] == [
            (True, f"task book: acceptance.yaml in {top / 'products' / 'stock'}")], given


def test_recorded_location():
    assert recorded_location({"spec_path": "/r/d/acceptance.yaml", "repository": "/r/d"}) == "acceptance.yaml"
    assert recorded_location({"spec_path": "/r/d/specs/a.yaml", "repository": "/r/d"}) == "specs/a.yaml"
    assert recorded_location({"spec_path": "/r/other.yaml", "repository": "/r/d"}) is None
    assert recorded_location({"spec_path": "rel.yaml", "repository": "/r/d"}) is None
    assert recorded_location({"spec_path": 3, "repository": "/r/d"}) is None
    assert recorded_location(["not", "a", "record"]) is None


def test_spec_differences_name_the_fields():
    base = "project: {name: x}\nindicators:\n  - {id: A, target: '>= 1'}\n  - {id: B, target: '== 0'}\n"
    assert spec_differences(base.encode(), base.encode()) == ["the same fields, written differently "
                                                              "(formatting or comments)"]
    assert spec_differences(base.encode(), (base + "# a comment\n").encode()) == [
        "the same fields, written differently (formatting or comments)"]
    fewer = "project: {name: x}\nindicators:\n  - {id: A, target: '>= 1'}\nscoring: {pass_score: 60}\n"
    assert spec_differences(fewer.encode(), base.encode()) == [
        "indicators[B]: only in the task book", "scoring: only in the run's spec ({'pass_score': 60})"]
    assert spec_differences(b"\xff\xfe", base.encode()) == ["the run's spec.yaml is not UTF-8 text"]
    assert spec_differences(b"- a list\n", base.encode())[0].startswith("the run's spec.yaml is not a readable spec")
    looped = b"a: &x [*x]\n"  # a list that holds itself
    assert spec_differences(looped, looped + b"b: 1\n")[-1] == ("nested too deeply (or into itself) to compare "
                                                                "field by field")
