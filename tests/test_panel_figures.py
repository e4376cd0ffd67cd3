"""Figures a panel reads: rounded one way on the terminal and in every report (exact values stay in
results.json), and a run whose indicators all errored shows the open range, never a score of 0."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support import write_tree
from support.runner_specs import FIVE, OWN_CODE, command_indicator, task_book
from verifier.report import render_report
from verifier.results import RunResult
from verifier.units import format_number, format_quantity


@pytest.mark.parametrize("value, shown", [
    (66.666667, "66.67"), (29.2352, "29.24"), (6.02814, "6.028"), (0.0123456, "0.01235"), (4.51, "4.51"),
    (100.0, "100"), (54.0, "54"), (1234.5, "1,235"), (12345.67, "12,346"), (999.96, "1,000"), (-3.5, "-3.5"),
])
def test_one_rounding_rule(value, shown):
    assert format_number(value, group=True) == shown
    assert format_number(value) == shown.replace(",", "")


def test_terminal_reason_and_report_show_the_same_figure(tmp_path: Path, cli) -> None:
    indicators = [command_indicator("F1", "functionality", "print(200/3)", ">= 95", "%"), *FIVE[1:]]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(indicators)})
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--no-cache")
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    f1 = next(i for i in run.indicators if i.id == "F1")
    assert f1.value == pytest.approx(66.6667, abs=1e-4)  # exact in results.json
    assert "value = 66.67%" in result.output and "66.6667" not in result.output
    for lang in ("zh", "en"):
        html = render_report(out, "html", lang).decode("utf-8")
        assert ">66.67%<" in html and "66.6667" not in html
    assert format_quantity(f1.value, "%") == "66.67%"


def test_every_indicator_in_error_shows_the_open_range(tmp_path: Path, cli) -> None:
    broken = [command_indicator(i, c, "import sys; sys.exit(7)", "== 0") for i, c in
              (("F1", "functionality"), ("P1", "performance_efficiency"), ("R1", "reliability"),
               ("S1", "security"), ("C1", "compatibility"))]
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(broken)})
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--quiet", "--no-cache")
    assert result.exit_code == 3, result.output
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert (data["score"]["lowest"], data["score"]["highest"]) == (0, 100)
    assert "score 0 – 100 / 100 (open: indicators in error)" in result.output
    assert not re.search(r"score 0 / 100", result.output)
    for lang, none in (("zh", "没有测得任何指标"), ("en", "no indicator measured")):
        html = render_report(out, "html", lang).decode("utf-8")
        assert '<span class="big">0 – 100 / 100</span>' in html and none in html
        assert not re.search(r">\s*0 / 100", html)
        md = render_report(out, "md", lang).decode("utf-8")
        assert "**0 – 100 / 100**" in md and "**0 / 100" not in md
