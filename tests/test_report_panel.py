"""A report a panel reads at a glance: a shared measurement shown once, weights and credits that add up
to the score, repeated measurements with their runs, the load test's total row, GB/T 25000.51 test
records and each indicator's test method."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.report import build_view, load_run, render_html, render_markdown


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("panel"))


def _detail(view: dict, ind_id: str) -> dict:
    return next(d for d in view["details"] if d["title"].startswith(f"{ind_id} "))


def test_a_shared_measurement_is_shown_once(run):
    result = load_run(run)
    view = build_view(result, run, "zh")
    p1, p2 = _detail(view, "P1"), _detail(view, "P2")
    assert p1["charts"] and p1["tables"] and p1["commands"] and p1["evidence"]
    assert p2["shared"] == "与 P1 为同一次测量（同一探针、同一参数）：图表、明细、问题、命令与证据见 P1。"
    assert p2["shared_anchor"] == p1["anchor"]
    assert not (p2["charts"] or p2["tables"] or p2["findings"] or p2["commands"] or p2["evidence"] or p2["notes"])
    html = render_html(result, run, "zh")
    assert html.count('aria-label="响应时间随时间变化（毫秒）"') == 1 and html.count("<h4>各接口统计</h4>") == 1
    assert f'<a href="#{p1["anchor"]}">与 P1 为同一次测量' in html
    rows = {r["id"]: r for g in view["groups"] for r in g["rows"]}
    assert rows["P2"]["result_notes"] == ["与 P1 同一次测量"]
    assert "same measurement as P1" in render_markdown(result, run, "en")


def test_the_indicator_table_adds_up_to_the_score(run):
    result = load_run(run)
    view = build_view(result, run, "zh")
    rows = {r["id"]: r for g in view["groups"] for r in g["rows"]}
    assert [(rows[i]["weight"], rows[i]["credit"]) for i in ("F1", "P2", "C1")] == [("1", "1"), ("1", "0"), ("1", "—")]
    scored = [i for i in result.indicators if i.status in ("met", "not_met")]
    earned, weight = sum(i.weight * i.credit for i in scored), sum(i.weight for i in scored)
    assert view["score_formula"].startswith(
        f"综合得分 = Σ(权重 × 得分) ÷ Σ权重 × 100 = {earned:g} ÷ {weight:g} × 100 = {result.score.value:g}")
    assert round(earned / weight * 100, 2) == result.score.value
    html = render_html(result, run, "zh")
    assert "<th>权重</th><th>得分</th>" in html and view["score_formula"] in html
    assert '<td class="target">&gt;= 95%</td>' in html  # a target never wraps inside its cell


def test_a_repeated_measurement_shows_its_runs_and_instability(run):
    view = build_view(load_run(run), run, "zh")
    rows = {r["id"]: r for g in view["groups"] for r in g["rows"]}
    assert rows["R1"]["result"] == "2.1 s" and rows["R1"]["result_notes"] == ["3 次测量的中位数（1.8 s – 12.5 s）"]
    assert rows["R1"]["unstable"] == "不稳定"
    rep = _detail(view, "R1")["repeats"]
    assert rep["summary"].startswith("共测量 3 次，判定值取中位数 2.1 s；最小 1.8 s，最大 12.5 s，极差 10.7 s；2 次达标。")
    assert rep["unstable"].startswith("不稳定：3 次测量中只有 2 次达标。判定以中位数为准")
    assert [(r["run"], r["value"], r["status"]["text"], r["shown"]) for r in rep["rows"]] == [
        ("1", "1.8 s", "符合", False), ("2", "12.5 s", "不符合", False), ("3", "2.1 s", "符合", True)]
    assert any("R1" in r and "不稳定" in r for r in view["summary"]["reasons"])
    en = build_view(load_run(run), run, "en")
    assert _detail(en, "R1")["repeats"]["unstable"].startswith("Unstable: met in only 2 of 3 runs.")


def test_the_load_tests_total_is_a_row_without_raw_words(run):
    view = build_view(load_run(run), run, "zh")
    table = next(t for t in _detail(view, "P1")["tables"] if t["title"] == "各接口统计")
    assert table["total"] and table["rows"][-1][0] == "合计" and table["rows"][-1][1] == "5,400"
    assert "方法" not in table["columns"]  # names already say the method
    html = render_html(load_run(run), run, "zh")
    assert ">Aggregated<" not in html and "<th>方法</th>" not in html
    assert not any(t["title"] in ("total", "合计") for d in view["details"] for t in d["tables"])


def test_test_records_list_each_functions_cases(run):
    view = build_view(load_run(run), run, "zh")
    f1, f2 = view["functions"]
    assert [(c["id"], str(c["name"]), str(c["description"]), c["result"]["text"]) for c in f1["cases"]] == [
        ("F-01.1", "test_create_item", "登记新货品返回 201 及货品内容。", "通过"),
        ("F-01.2", "test_create_validates", "缺少字段被拒绝（400）。", "通过（2 组参数）")]
    assert f2["cases"][0]["result"] == {"text": "未通过", "cls": "st-not_met"}
    html = render_html(load_run(run), run, "zh")
    assert "<h3>测试记录</h3>" in html and 'title="tests/test_items.py::test_create_validates"' in html
    md = render_markdown(load_run(run), run, "zh")
    assert "| F-01.2 | tests/test_items.py::test_create_validates \\[sku\\], \\[name\\] | 缺少字段被拒绝（400）。 |" in md


def test_each_indicator_states_its_test_method(run):
    view = build_view(load_run(run), run, "zh")
    method = dict(_detail(view, "P1")["method"])
    assert method["测试工具"] == "locust (locust 2.47.0)"
    assert method["参数（任务书 with:）"] == "locustfile: perf/locustfile.py, run_time: 30s, spawn_rate: 50, users: 200"
    assert method["测试环境"].startswith("Linux 6.1 (Debian 12)，Python 3.11.7，2 个逻辑核")
    assert dict(_detail(view, "R1")["method"])["重复测量"] == "测量 3 次，按中位数判定"
    assert "<h4>测试方法</h4>" in render_html(load_run(run), run, "zh")


def test_waived_findings_and_stale_waivers_are_listed(run):
    view = build_view(load_run(run), run, "zh")
    s1 = _detail(view, "S1")
    assert [str(f["fingerprint"]) for f in s1["waived"]] == ["bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60"]
    assert "subprocess" not in " ".join(str(f["message"]["text"]) for f in s1["findings"])  # not counted among the findings
    waivers = view["waivers"]
    assert waivers["intro"].startswith("豁免文件 waivers.yaml（sha256 ") and "1 项生效，1 项失效" in waivers["intro"]
    assert [str(w["reason"]) for w in waivers["stale"]] == ["本次运行中没有此指纹的问题：该问题已不存在"]
