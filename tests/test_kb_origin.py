"""The KB through ``verifier.origin.analyze(kb=open_matcher(...))``: a module copied from an installed
package with its header stripped is self-developed by its notices, and the KB moves its lines to
third-party, with evidence; own code stays self."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from verifier.errors import InputError
from verifier.kb import build_kb, open_matcher

pytestmark = pytest.mark.slow

HEADER = "# Copyright (c) 2025 Hunan Example Software Co., Ltd.\n# All rights reserved.\n\n"
OWN = HEADER + "\n".join(
    f"def restock_rule_{n}(level, demand):\n"
    f"    if level < demand * {n + 2}:\n"
    f"        return max(0, demand * {n + 3} - level)\n"
    f"    return 0\n" for n in range(25))


def test_analyze_with_kb_moves_copied_lines_to_third_party(tmp_path: Path):
    import markupsafe

    from verifier.origin import analyze

    kb = tmp_path / "kb.sqlite"
    build_kb(kb, python_envs=[sys.prefix], only=["markupsafe"], jobs=1)
    tree = tmp_path / "delivery"
    (tree / "app").mkdir(parents=True)
    (tree / "app/rules.py").write_text(OWN)
    copied = (Path(markupsafe.__file__).read_text().split('"""', 2)[2]).replace("    ", "  ")
    (tree / "app/escaping.py").write_text(HEADER + copied)
    owners = ["Hunan Example Software Co., Ltd."]
    plain = analyze(tree, owners=owners, no_cache=True, jobs=1)
    assert plain.file("app/escaping.py").origin == "self"
    matched = analyze(tree, owners=owners, no_cache=True, jobs=1, kb=open_matcher(kb, jobs=1))
    escaping = matched.file("app/escaping.py")
    assert escaping.matched_lines >= 0.9 * escaping.lines
    (first, *_) = escaping.matches
    assert first.component == "MarkupSafe" and first.matched_file == "markupsafe/__init__.py"
    assert first.license and first.matched_start >= 1 and first.start_line >= 4
    assert matched.file("app/rules.py").matched_lines == 0
    assert matched.ratio < plain.ratio
    assert matched.to_json()["files"]  # the per-file output carries the matches


def test_open_matcher_rejects_a_bad_kb_before_scanning(tmp_path: Path):
    bad = tmp_path / "kb.sqlite"
    bad.write_text("not a database at all\n" * 20)
    with pytest.raises(InputError, match="not a verifier knowledge base"):
        open_matcher(bad)


def test_matched_lines_are_on_the_inventory_rule_and_never_exceed_lines(tmp_path: Path):
    import click

    from verifier.origin import analyze

    kb = tmp_path / "kb.sqlite"
    build_kb(kb, python_envs=[sys.prefix], only=["click"], jobs=1)
    tree = tmp_path / "delivery"
    tree.mkdir()
    # copied whole: the KB's normalizer counts more lines in it than pygount does
    (tree / "utils.py").write_text((Path(click.__file__).parent / "utils.py").read_text())
    (tree / "rules.py").write_text(OWN)
    report = analyze(tree, owners=["Hunan Example Software Co., Ltd."], no_cache=True, jobs=1,
                     kb=open_matcher(kb, jobs=1))
    utils = report.file("utils.py")
    assert utils.matches and utils.lines > 100
    assert utils.matched_lines == sum(m.lines for m in utils.matches) <= utils.lines
    assert utils.matched_lines >= 0.95 * utils.lines
    data = {f["path"]: f for f in report.to_json()["files"]}
    assert data["utils.py"]["matched_lines"] <= data["utils.py"]["lines"]
    assert report.file("rules.py").matched_lines == 0


def test_scale_counts_restates_runs_on_the_inventory_lines():
    from verifier.kb.origin_matcher import scale_counts

    assert scale_counts([318], 307, 318) == [307]
    assert scale_counts([100, 218], 307, 318) == [97, 210]
    assert scale_counts([3, 3, 3], 10, 9) == [4, 3, 3]
    assert scale_counts([5], 0, 10) == [0] and scale_counts([], 5, 5) == []
