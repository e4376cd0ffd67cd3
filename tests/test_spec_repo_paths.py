"""Repository paths in spec models: found wherever they stand, and checked against a real tree."""

from __future__ import annotations

import os

import pytest
from pydantic import BaseModel, Field

from verifier.repo_paths import RepoGlob, RepoPath, RepoRef, glob_matches, path_exists, repo_references


class _Cell(BaseModel):
    name: str
    cwd: RepoPath = "."


class _Args(BaseModel):
    paths: list[RepoPath] = Field(default_factory=lambda: ["tests"])
    exclude: list[RepoGlob] = Field(default_factory=list)
    locustfile: RepoPath | None = None
    label: str = "tests"
    cells: list[_Cell] = Field(default_factory=list)
    named: dict[str, RepoPath] = Field(default_factory=dict)
    pair: tuple[RepoPath, str] | None = None


def test_references_are_found_with_their_location_and_whether_declared():
    args = _Args.model_validate({"exclude": ["vendor/**"], "locustfile": "./perf//load.py",
                                 "cells": [{"name": "a", "cwd": "app"}, {"name": "b"}],
                                 "named": {"main": "src/main.py"}, "pair": ["bin/run", "x"]})
    assert list(repo_references(args, ("with",))) == [
        RepoRef(("with", "paths", 0), "tests", "path", False),
        RepoRef(("with", "exclude", 0), "vendor/**", "glob", True),
        RepoRef(("with", "locustfile"), "perf/load.py", "path", True),
        RepoRef(("with", "cells", 0, "cwd"), "app", "path", True),
        RepoRef(("with", "cells", 1, "cwd"), ".", "path", False),
        RepoRef(("with", "named", "main"), "src/main.py", "path", True),
        RepoRef(("with", "pair", 0), "bin/run", "path", True),
    ]


def test_plain_strings_and_none_are_not_references():
    refs = list(repo_references(_Args.model_validate({"paths": [], "label": "src"})))
    assert refs == []


def test_path_exists_and_glob_matches_on_a_real_tree(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    assert path_exists(tmp_path, "src/pkg/mod.py") and path_exists(tmp_path, ".")
    assert path_exists(tmp_path, "src/pkg/mod.py::test_a[1]")
    assert not path_exists(tmp_path, "src/app.py")
    assert glob_matches(tmp_path, "src/**/*.py") and glob_matches(tmp_path, "**/mod.py")
    assert glob_matches(tmp_path, "src/pkg/mod.py::test_*") and glob_matches(tmp_path, "docs/**")
    assert glob_matches(tmp_path, "src/pkg/m?d.py") and glob_matches(tmp_path, "src/pkg/[lm]od.py")
    assert not glob_matches(tmp_path, "src/**/*.js")
    assert not glob_matches(tmp_path, "web/static/lib/**")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_glob_matches_ignore_links_out_of_the_tree(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    (repo / "docs").mkdir(parents=True)
    outside.mkdir()
    (outside / "report.pdf").write_text("x\n", encoding="utf-8")
    (repo / "docs" / "report.pdf").symlink_to(outside / "report.pdf")
    assert not glob_matches(repo, "docs/*.pdf")
    (repo / "docs" / "own.pdf").write_text("x\n", encoding="utf-8")
    assert glob_matches(repo, "docs/*.pdf")
