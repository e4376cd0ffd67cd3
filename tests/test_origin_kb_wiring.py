"""``verifier origin --kb`` and ``origin.knowledge_base`` in a task book: copied code whose notice
was stripped is found line by line. The third-party code is copied at test time from an installed
package (click), never committed."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import click.termui
import pytest

from support import write_tree

OWN = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd.
"""Stock movements of the warehouse."""


def move(stock: dict, sku: str, delta: int) -> int:
    """Apply a movement and return the new quantity."""
    current = stock.get(sku, 0)
    if current + delta < 0:
        raise ValueError(f"{sku}: stock would go negative")
    stock[sku] = current + delta
    return stock[sku]
'''


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from verifier.cli import main

    out = tmp_path_factory.mktemp("kb") / "click.kb"
    click_dir = Path(click.termui.__file__).parent
    result = CliRunner().invoke(main, ["kb", "build", str(click_dir), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    return out


def _repo(tmp_path: Path) -> Path:
    copied = inspect.getsource(click.termui.progressbar)  # a function, header-less, kept as is
    return write_tree(tmp_path / "repo", {"stock/move.py": OWN, "stock/bar.py": copied})


@pytest.mark.slow
def test_origin_kb_moves_copied_lines_to_third_party(tmp_path: Path, kb: Path, cli) -> None:
    repo = _repo(tmp_path)
    plain = cli("origin", repo, "--owner", "Hunan Example Software Co., Ltd.", "--json",
                tmp_path / "plain.json", "-q")
    assert plain.exit_code == 0, plain.output  # without the KB, the copy passes as own code
    matched = cli("origin", repo, "--owner", "Hunan Example Software Co., Ltd.", "--kb", kb,
                  "--json", tmp_path / "kb.json", "-q")
    data = json.loads((tmp_path / "kb.json").read_text("utf-8"))
    bar = next(f for f in data["files"] if f["path"] == "stock/bar.py")
    own = next(f for f in data["files"] if f["path"] == "stock/move.py")
    assert bar["matched_lines"] >= 0.9 * bar["lines"] and bar["matches"]
    assert own["matched_lines"] == 0
    assert data["ratio"] < json.loads((tmp_path / "plain.json").read_text("utf-8"))["ratio"]
    assert matched.exit_code == 1  # most lines are now third-party: below 60%


def test_origin_kb_that_is_not_a_kb_is_an_input_error(tmp_path: Path, cli) -> None:
    repo = _repo(tmp_path)
    bogus = tmp_path / "bogus.kb"
    bogus.write_bytes(b"not a database at all")
    result = cli("origin", repo, "--no-spec", "--kb", bogus, "-q")
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_task_book_knowledge_base_is_used_by_run(tmp_path: Path, kb: Path, cli) -> None:
    repo = _repo(tmp_path)
    (repo / "acceptance.yaml").write_text(
        "project: {name: t, version: '1.0.0', owners: ['Hunan Example Software Co., Ltd.']}\n"
        f"origin: {{knowledge_base: '{kb}', min_match_lines: 10}}\n"
        "indicators:\n"
        "  - {id: O1, name: r, characteristic: maintainability, probe: origin, metric: ratio,"
        " target: '>= 60%'}\n", "utf-8")
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "-q")
    results = json.loads((out / "results.json").read_text("utf-8"))
    assert results["origin"]["ratio"] < 0.6
    assert results["indicators"][0]["status"] == "not_met"
