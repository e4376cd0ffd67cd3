"""Details tables: the columns a reader needs, in a sensible order, whatever order results.json keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.builtin_probes.locust_probe import LocustProbe
from verifier.builtin_probes.radon_probe import RadonProbe
from verifier.i18n import LABELS
from verifier.report import MAX_COLUMNS, build_view, load_run, render_markdown, table_columns

ENDPOINTS = LocustProbe.presentation.tables["endpoints"]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("tables"))


def _table(view, indicator: str, title: str):
    detail = next(d for d in view["details"] if d["title"].startswith(f"{indicator} "))
    return next(t for t in detail["tables"] if t["title"] == title)


def test_endpoint_table_keeps_the_figures_a_reader_needs(sample_run):
    view = build_view(load_run(sample_run), sample_run, "en")
    table = _table(view, "P1", "Per-endpoint statistics")
    assert table["columns"][:10] == ["Name", "Requests", "Failures", "Failure rate (%)", "Requests per second",
                                     "p50 (ms)", "p90 (ms)", "p95 (ms)", "p99 (ms)", "Average (ms)"]
    assert "Method" not in table["columns"]  # every name already starts with its method
    get = dict(zip(table["columns"], table["rows"][0]))
    assert (get["Name"], get["Requests"], get["Requests per second"], get["p95 (ms)"], get["p99 (ms)"]) == \
        ("GET /api/items", "4,050", "201.3", "210", "330")
    zh = _table(build_view(load_run(sample_run), sample_run, "zh"), "P1", "各接口统计")
    assert {"名称", "请求数", "每秒请求数", "失败数", "P50（毫秒）", "P95（毫秒）", "P99（毫秒）"} <= set(zh["columns"])


def test_results_json_key_order_does_not_decide_the_columns():
    # results.json is canonical JSON: keys sorted, so "average_ms" … "p50_ms" came first and p95/p99 fell off
    row = dict(sorted({"method": "GET", "name": "/a", "requests": 3, "failures": 0, "failure_ratio": 0.0,
                       "rps": 1.5, "average_ms": 2.0, "min_ms": 1.0, "max_ms": 9.0, "p50_ms": 2.0,
                       "p90_ms": 3.0, "p95_ms": 4.0, "p99_ms": 5.0}.items()))
    columns = table_columns([row], ENDPOINTS)
    assert columns[:2] == ["method", "name"]  # kept: this name does not repeat the method
    assert {"requests", "rps", "failures", "p50_ms", "p95_ms", "p99_ms"} <= set(columns)
    assert len(columns) == MAX_COLUMNS and "min_ms" not in columns


def test_other_tables_put_identifying_columns_first_and_cap_the_width():
    row = {f"col_{i:02d}": i for i in range(20)} | {"name": "x", "id": "A1", "nested": {"a": 1}, "file": "f.py"}
    columns = table_columns([row])
    assert columns[:3] == ["id", "name", "file"]
    assert len(columns) == MAX_COLUMNS and "nested" not in columns
    worst = RadonProbe.presentation.tables["worst_blocks"]
    assert table_columns([{"rank": "C", "complexity": 14, "name": "f", "line": 2, "file": "a.py"}], worst) \
        == ["file", "line", "name", "complexity", "rank"]
    assert table_columns([{"method": "GET", "name": "GET /a"}]) == ["name", "method"]  # only when declared
    assert table_columns([{"method": "GET", "name": "GET /a"}], ENDPOINTS) == ["name"]


def test_markdown_endpoint_table_has_every_column(sample_run):
    md = render_markdown(load_run(sample_run), sample_run, "zh")
    header = next(line for line in md.splitlines() if line.startswith("| 名称 | 请求数 |"))
    assert header.count("|") - 1 == 12 and "P99（毫秒）" in header and "最短响应时间（毫秒）" in header
    assert LABELS["zh"]["sec_details"] in md


def test_figure_columns_are_marked_numeric(sample_run):
    view = build_view(load_run(sample_run), sample_run, "en")
    table = _table(view, "P1", "Per-endpoint statistics")
    flags = dict(zip(table["columns"], table["num"]))
    assert flags["Name"] is False and flags["Requests"] is True and flags["p99 (ms)"] is True
