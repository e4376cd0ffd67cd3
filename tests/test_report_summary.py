"""The summary's headline score: with indicators in error, the range they leave open comes first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.report import build_view, load_run, render_html, render_markdown
from verifier.results import Score


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("summary"))


def _with_score(run: Path, score: Score):
    return load_run(run).model_copy(update={"score": score})


@pytest.mark.parametrize("lang,detail", [
    ("zh", "（已测指标得分 100；通过分数线 70）"),
    ("en", " (measured indicators: 100; pass score 70)"),
])
def test_errors_make_the_range_the_headline(sample_run, lang, detail):
    # 2 of 5 indicators measured and met, 3 in error: "100 / 100" alone would mislead
    result = _with_score(sample_run, Score(value=100, pass_score=70, lowest=40, highest=100))
    summary = build_view(result, sample_run, lang)["summary"]
    assert (summary["score"], summary["score_detail"]) == ("40 – 100 / 100", detail)
    assert summary["score_label"] == ("综合得分（范围）" if lang == "zh" else "Score (range)")
    html = render_html(result, sample_run, lang)
    box = html.split('class="verdict-box')[1].split("</div>", 1)[1]
    assert re.search(r'<span class="big">40 – 100 / 100</span><span class="detail">([^<]*)</span>', box).group(1) \
        .strip() == detail.strip()
    md = render_markdown(result, sample_run, lang)
    assert re.search(rf"^- {re.escape(summary['score_label'])}: \*\*40 – 100 / 100\*\*{re.escape(detail)} — ",
                     md, re.M)


@pytest.mark.parametrize("lang,headline", [("zh", "85.71 / 100（通过分数线 70）"), ("en", "85.71 / 100 (pass score 70)")])
def test_without_errors_the_score_stands_alone(sample_run, lang, headline):
    result = _with_score(sample_run, Score(value=85.714, pass_score=70))
    summary = build_view(result, sample_run, lang)["summary"]
    assert (summary["score"], summary["score_note"]) == (headline, "")
    md = render_markdown(result, sample_run, lang)
    assert re.search(rf"^- [^:]+: \*\*{re.escape(headline)}\*\*\n- ", md, re.M)


def _html_sections(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<h2><span class="no">(\d+)</span> ([^<]+)</h2>', html)


def _md_sections(md: str) -> list[tuple[str, str]]:
    return re.findall(r"^## (\d+) (.+)$", md, re.M)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("functions", [True, False])
def test_section_numbers_are_the_same_in_html_and_markdown(sample_run, lang, functions):
    result = load_run(sample_run)
    if not functions:
        result = result.model_copy(update={"functions": []})
    html, md = render_html(result, sample_run, lang), render_markdown(result, sample_run, lang)
    sections = _html_sections(html)
    assert sections == _md_sections(md)
    assert [n for n, _ in sections] == [str(n) for n in range(1, len(sections) + 1)]
    assert len(sections) == (7 if functions else 6)
    titles = [t for _, t in sections]
    assert (("产品功能清单覆盖" if lang == "zh" else "Function list coverage") in titles) is functions
    # the table of contents numbers them the same way; the appendix carries no number in either format
    toc = re.findall(r'<li><a href="#\w+"><span class="no">(\d+)</span> ([^<]+)</a></li>', html)
    assert toc == sections
    appendix = "附录：证据文件" if lang == "zh" else "Appendix: evidence files"
    assert f"<h2>{appendix}</h2>" in html and f"\n## {appendix}\n" in md


def _conditions(result, run, lang):
    return [(c["label"], c["text"]) for c in build_view(result, run, lang)["summary"]["conditions"]]


def test_the_summary_says_which_of_ready_to_apply_and_score_holds(sample_run):
    """The sample: a task-book indicator not met and the dossier incomplete, score 71.43 – 85.71."""
    result = load_run(sample_run)
    assert result.verdict == "fail"
    assert _conditions(result, sample_run, "zh") == [
        ("可否提交验收申请（第十五条）", "尚不能：“任务书目标指标全部达成”、“验收材料齐全”不满足"),
        ("综合得分 ≥ 70（第十五条）", "是：71.43 – 85.71")]
    assert _conditions(result, sample_run, "en") == [
        ("Ready to apply for acceptance (article 15)",
         "Not yet — not holding: Every task-book indicator met; Acceptance materials complete"),
        ("Score ≥ 70 (article 15)", "Yes: 71.43 – 85.71")]
    html = render_html(result, sample_run, "zh")
    assert ('<tr><th>可否提交验收申请（第十五条）</th><td class="gate-fails">尚不能：“任务书目标指标全部达成”、'
            '“验收材料齐全”不满足</td></tr>') in html
    md = render_markdown(result, sample_run, "en")
    assert "- Score ≥ 70 (article 15): **Yes: 71.43 – 85.71**\n" in md


def test_ready_and_score_yes_no_and_open(sample_run):
    result = load_run(sample_run)
    holding = [g.model_copy(update={"passed": True}) for g in result.gates]
    ready = result.model_copy(update={"gates": holding, "score": Score(value=64.2, pass_score=70)})
    assert _conditions(ready, sample_run, "zh")[0][1] == "可以：任务书目标指标全部达成，各项门槛均满足"
    assert _conditions(ready, sample_run, "en")[1][1] == "No: 64.2"
    open_gate = [g.model_copy(update={"passed": None}) if g.id == "indicators.met" else g for g in holding]
    undecided = result.model_copy(update={"gates": open_gate,
                                          "score": Score(value=90, pass_score=70, lowest=60, highest=90)})
    assert _conditions(undecided, sample_run, "zh") == [
        ("可否提交验收申请（第十五条）", "无法判定：“任务书目标指标全部达成”无法判定"),
        ("综合得分 ≥ 70（第十五条）", "无法判定：60 – 90，取决于出错的指标")]
    assert _conditions(undecided, sample_run, "en")[0][1] == (
        "Undecided — could not be decided: Every task-book indicator met")


def test_an_indicator_beyond_the_task_book_is_marked_in_the_table(sample_run):
    result = load_run(sample_run)
    rows = {r["id"]: r for g in build_view(result, sample_run, "en")["groups"] for r in g["rows"]}
    assert rows["M1"]["beyond"] == "(beyond the task book: scored, never blocking)"
    assert all(rows[i]["beyond"] == "" for i in rows if i != "M1")
