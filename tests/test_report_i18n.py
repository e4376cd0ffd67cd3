"""The report in one language: what the harness writes (verdict reasons, gate figures, chart titles,
table headers, yes/no) is translated; what tools wrote stays as written."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.i18n import SEVERITY_LABELS
from verifier.probe import available_probes
from verifier.report import build_view, load_run, render_html, render_markdown
from verifier.results import Gate, RunResult
from verifier.scoring import gate_figure

HAN = re.compile(r"[\u4e00-\u9fff]")


def probe_labels(lang: str) -> dict[str, str]:
    """Every label the installed probes declare, by key, in ``lang``."""
    index = ("zh", "en").index(lang)
    return {key: pair[index] for cls in available_probes().values()
            for key, pair in cls.presentation.labels.items()}


class _Harness(HTMLParser):
    """Text the harness itself labels: headings, table headers, chart titles and legends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.labels: list[str] = []
        self.cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        data = data.strip()
        if not data or not self.stack:
            return
        tag = self.stack[-1]
        if tag in ("h2", "h3", "h4", "th", "title", "summary") or (tag == "text" and "svg" in self.stack):
            self.labels.append(data)
        elif tag == "td":
            self.cells.append(data)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("i18n"))


def _harness_text(html: str) -> _Harness:
    parser = _Harness()
    parser.feed(html.split("<main>", 1)[1])
    return parser


def test_a_table_repeating_a_report_section_is_shown_once(sample_run):
    with_list = _harness_text(render_html(load_run(sample_run), sample_run, "zh")).labels
    assert "产品功能清单覆盖" in with_list and "功能清单覆盖" not in with_list  # the section, not the probe's copy
    without = _harness_text(render_html(_without_function_list(sample_run), sample_run, "zh")).labels
    assert "功能清单覆盖" in without


def test_probe_labels_cover_both_languages():
    assert set(SEVERITY_LABELS["zh"]) == set(SEVERITY_LABELS["en"])
    for cls in available_probes().values():
        for key, pair in cls.presentation.labels.items():
            assert isinstance(pair, tuple) and len(pair) == 2 and all(pair), (cls.name, key)
    for probe, keys in {"robustness": ("outcomes",), "radon": ("cc_rank_histogram", "mi_rank_histogram",
                                                                "worst_blocks"),
                        "locust": ("history", "failures_per_s", "users", "endpoints", "p95_ms", "rps",
                                   "requests"),
                        "matrix": ("cells",), "pytest": ("functions",), "recovery": ("timeline",)}.items():
        declared = available_probes()[probe].presentation.labels
        for key in keys:
            zh, en = declared[key]
            assert HAN.search(zh) and not HAN.search(en), (probe, key)


def _without_function_list(run: Path) -> RunResult:
    """The sample run as if the task book declared no function list: the pytest probe's own
    function table is then shown (with one, it gives way to the report's function-list section)."""
    return load_run(run).model_copy(update={"functions": []})


def test_chinese_report_has_no_raw_keys_in_titles_headers_or_charts(sample_run):
    html = render_html(_without_function_list(sample_run), sample_run, "zh")
    text = _harness_text(html)
    known = set(probe_labels("zh"))
    raw = [label for label in text.labels if label in known]
    assert not raw, raw
    for title in ("并发用户数随时间变化", "每秒失败数随时间变化", "问题严重程度分布", "圈复杂度等级分布",
                  "各接口统计", "圈复杂度最高的代码块", "功能清单覆盖", "P95（毫秒）", "每秒请求数"):
        assert title in text.labels, title
    assert not any(re.search(r"\b(outcomes|failures_per_s|users|cc_rank_histogram) (分布|随时间变化)", label)
                   for label in text.labels)
    # booleans read as words of the report's language
    assert "是" in text.cells and "否" in text.cells
    assert not {"true", "false", "True", "False"} & set(text.cells)


def test_english_report_booleans_and_titles(sample_run):
    text = _harness_text(render_html(_without_function_list(sample_run), sample_run, "en"))
    assert "yes" in text.cells and "no" in text.cells and "true" not in text.cells
    assert "Concurrent users over time" in text.labels and "Per-endpoint statistics" in text.labels
    assert not set(probe_labels("zh").values()) & set(text.labels)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_verdict_reasons_in_the_report_language(sample_run, lang):
    result = load_run(sample_run)
    view = build_view(result, sample_run, lang)
    assert view["summary"]["reasons"] == [r[lang] for r in result.verdict_reasons]
    md = render_markdown(result, sample_run, lang)
    want = "1 项指标出错（C1）" if lang == "zh" else "1 indicator(s) in error (C1)"
    other = "1 indicator(s) in error" if lang == "zh" else "项指标出错"
    assert want in md and other not in md


def test_gate_figures_are_translated_in_chinese(sample_run):
    result = load_run(sample_run)
    gate = Gate(id="materials", description_zh="验收材料齐全", description_en="Acceptance materials complete",
                passed=False, figure="4/6; missing: novelty_search, audit_report")
    result = result.model_copy(update={"gates": [*result.gates, gate]})
    zh = build_view(result, sample_run, "zh")["summary"]["gates"][-1]
    en = build_view(result, sample_run, "en")["summary"]["gates"][-1]
    assert zh["figure"] == gate_figure(gate, "zh") == "4/6；缺少：科技查新报告、专项审计报告"
    assert en["figure"] == gate.figure


def test_results_from_before_bilingual_reasons_still_load(sample_run, tmp_path):
    data = load_run(sample_run).model_dump(mode="json", by_alias=True)
    data["verdict_reasons"] = ["an old English reason"]
    old = RunResult.model_validate(data)
    assert old.verdict_reasons == [{"zh": "an old English reason", "en": "an old English reason"}]
    data["verdict_reasons"] = [{"en": "only English"}]
    with pytest.raises(ValueError, match="both 'zh' and 'en'"):
        RunResult.model_validate(data)


def test_tool_text_stays_as_written_and_is_labelled(sample_run):
    result = load_run(sample_run)
    html = render_html(result, sample_run, "zh")
    # a note no phrase of its probe matches is a tool's own words: verbatim, marked and labelled
    assert ('<span class="tag">工具原文</span> <span class="raw" translate="no">Locust rounds response times to '
            'about two significant digits.</span>') in html
    # severities of findings are translated, the tool's messages are not
    view = build_view(result, sample_run, "zh")
    s1 = next(d for d in view["details"] if d["title"].startswith("S1 "))
    assert {f["severity"] for f in s1["findings"]} == {"低", "中"}
    assert "Use of assert detected." in {f["message"]["text"] for f in s1["findings"]}


def test_verifiers_own_sentences_are_shown_in_chinese(sample_run):
    from verifier.builtin_probes.locust_probe import ROUNDING_NOTE, rps_note

    result = load_run(sample_run)
    p1 = next(i for i in result.indicators if i.id == "P1")
    p1 = p1.model_copy(update={"notes": [ROUNDING_NOTE, rps_note(5400, 180.04)]})
    result = result.model_copy(update={"indicators": [p1]})
    notes = build_view(result, sample_run, "zh")["details"][0]["notes"]
    assert [n["tool"] for n in notes] == [False, False]
    assert notes[0]["text"].startswith("Locust 将响应时间按约两位有效数字分桶记录")
    assert notes[1]["text"].startswith("rps = 5400 个请求 ÷ 29.99 秒 = 180 rps：")
    assert [n["text"] for n in build_view(result, sample_run, "en")["details"][0]["notes"]] == list(p1.notes)


def test_undeclared_keys_are_shown_as_written(sample_run):
    result = load_run(sample_run)
    ind = result.indicators[0].model_copy(update={"probe": "locust", "details": {
        "vendor_histogram": {"x": 1, "y": 2}, "vendor_rows": [{"vendor_col": True, "users": 3}],
        "vendor_flag": False}})
    result = result.model_copy(update={"indicators": [ind]})
    html = render_html(result, sample_run, "zh")
    text = _harness_text(html)
    assert "vendor_histogram分布" in text.labels and "vendor_rows" in text.labels
    assert "vendor_col" in text.labels and "并发用户数" in text.labels  # the locust probe's own key
    assert '<span class="mono">vendor_flag</span></span> <span>否</span></li>' in html


def test_a_probes_words_belong_to_that_probe(sample_run):
    """Labels and value words come from the probe that wrote the key: the same key written by
    another probe, or by one not installed here, is shown as written."""
    result = load_run(sample_run)
    details = {"cells": [{"name": "zh-utf8", "status": "passed"}], "users": 3}
    for probe in ("pytest", "not-installed-probe"):
        ind = result.indicators[0].model_copy(update={"probe": probe, "details": details})
        detail = build_view(result.model_copy(update={"indicators": [ind]}), sample_run, "zh")["details"][0]
        assert [t["title"] for t in detail["tables"]] == ["cells"]
        assert detail["tables"][0]["rows"] == [("zh-utf8", "passed")]
        assert ("users", "", "3", True) in detail["scalars"]


def test_status_words_and_bandit_thresholds_read_in_the_report_language(sample_run):
    result = load_run(sample_run)
    matrix = result.indicators[0].model_copy(update={"probe": "matrix", "details": {
        "cells": [{"name": "zh-utf8", "status": "passed", "reason": "exit status 0"},
                  {"name": "c-locale", "status": "failed", "reason": "exit status 1"}]}})
    bandit = result.indicators[0].model_copy(update={"probe": "bandit", "details": {"confidence_floor": "medium"}})
    result = result.model_copy(update={"indicators": [matrix, bandit]})
    zh = build_view(result, sample_run, "zh")["details"]
    cells = next(t for t in zh[0]["tables"] if t["title"] == "兼容性矩阵")
    assert [row[:2] for row in cells["rows"]] == [("zh-utf8", "通过"), ("c-locale", "失败")]
    assert cells["rows"][0][2] == "退出状态 0"  # the probe's own sentence, in Chinese
    assert ("confidence_floor", "置信度下限", "中", False) in zh[1]["scalars"]
    en = build_view(result, sample_run, "en")["details"][0]
    assert next(t for t in en["tables"] if t["title"] == "Compatibility matrix")["rows"][0][1] == "Passed"


def test_evaluation_sentence_in_the_report_language(sample_run):
    result = load_run(sample_run)
    partial = result.indicators[0].model_copy(update={
        "status": "not_met", "credit": 0.4, "reason": "pass_rate = 80%, target >= 95%: not met; "
        "partial credit 0.40 between floor >= 70% and the target", "value": 80.0, "unit": "%",
        "metric": "pass_rate", "target": ">= 95%"})
    result = result.model_copy(update={"indicators": [partial]})
    zh = build_view(result, sample_run, "zh")["details"][0]["reason"]
    assert zh == "pass_rate = 80%，要求 >= 95%：不符合；部分得分 0.40（介于下限与目标之间）"
    assert build_view(result, sample_run, "en")["details"][0]["reason"] == partial.reason
    errored = partial.model_copy(update={"status": "error", "credit": 0.0, "value": None,
                                         "reason": "probe error: pytest exited 4"})
    result = result.model_copy(update={"indicators": [errored]})
    detail = build_view(result, sample_run, "zh")["details"][0]
    assert (detail["reason"], detail["reason_more"]) == ("出错：", {"text": "探针出错：pytest exited 4", "tool": False})
    crashed = errored.model_copy(update={"reason": "segfault in libfoo"})  # no phrase: the tool's words
    detail = build_view(result.model_copy(update={"indicators": [crashed]}), sample_run, "zh")["details"][0]
    assert detail["reason_more"] == {"text": "segfault in libfoo", "tool": True}
