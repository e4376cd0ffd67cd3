"""The Chinese report speaks Chinese for everything verifier writes: labels, the counting rule, the
classification reasons, probe notes, chart captions, the repeat and waiver words. Only what verifier
did not write (data from the delivery or the task book, a tool's own words) stays as written, marked
``translate="no"`` and, for a tool's sentence, labelled 工具原文. The real runs (slow) check it on
what the real tools and probes write; the PDF of the sample is at most 20 pages and never breaks a
target inside its cell."""

from __future__ import annotations

import csv
import re
import shutil
import string
import subprocess
from pathlib import Path

import pytest

from support import FIXTURES
from support.report_sample import build_sample_run
from support.zh_scan import english_prose
from verifier.i18n import LABELS, PHRASES, VERIFIER_WORDS
from verifier.origin.inventory import counting_rule
from verifier.origin.phrases import ORIGIN
from verifier.phrases import phrase_pattern
from verifier.probe import Phrase, available_probes, presentation_of
from verifier.report import load_run, render_html, render_report
from verifier.results import RunResult

_RAW_SPAN = re.compile(r'<span class="raw" translate="no">(.*?)</span>', re.S)


def _all_phrases() -> list[Phrase]:
    out = [*PHRASES, *ORIGIN.phrases]
    for cls in available_probes().values():
        out += cls.presentation.phrases
    return out


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def untranslated(html: str) -> list[str]:
    """Text marked as data or tool output that is in fact one of verifier's own sentences (an
    English phrase template matches it whole): a translation that was not applied."""
    phrases = _all_phrases()
    return [text for text in map(_unescape, _RAW_SPAN.findall(html))
            if any(phrase_pattern(p.en).fullmatch(text) for p in phrases)]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("zh"), hostile=True)


def test_no_english_prose_of_verifiers_own_in_the_chinese_report(sample_run):
    zh = render_report(sample_run, "html", "zh").decode("utf-8")
    assert english_prose(zh) == []
    assert untranslated(zh) == []
    # the scanner does find prose: the English report of the same run is full of it
    assert len(english_prose(render_report(sample_run, "html", "en").decode("utf-8"))) > 20


def test_a_sentence_whose_translation_is_lost_is_caught(sample_run, monkeypatch):
    """Control: the same note with its probe's phrases taken away is verifier's English left in."""
    from verifier import report
    from verifier.builtin_probes.locust_probe import ROUNDING_NOTE

    result = load_run(sample_run)
    p1 = next(i for i in result.indicators if i.id == "P1").model_copy(update={"notes": [ROUNDING_NOTE]})
    result = result.model_copy(update={"indicators": [p1]})
    assert untranslated(render_html(result, sample_run, "zh")) == []
    monkeypatch.setattr(report, "presentation_of", lambda name: type(presentation_of(name))())
    assert untranslated(render_html(result, sample_run, "zh")) == [ROUNDING_NOTE]


def test_every_phrase_is_well_formed():
    fields = string.Formatter()
    for phrase in _all_phrases():
        pattern = phrase_pattern(phrase.en)  # compiles
        en = {name for _, name, _, _ in fields.parse(phrase.en) if name}
        zh = {name for _, name, _, _ in fields.parse(phrase.zh) if name}
        assert zh <= en and pattern.groupindex.keys() == en, phrase
        assert phrase.zh != phrase.en, phrase


def test_the_origin_analysis_sentences_have_their_chinese():
    """The counting rule is built in verifier.origin.inventory; its Chinese is in verifier.origin.phrases:
    a change to one without the other fails here."""
    zh = ORIGIN.zh(counting_rule())
    assert zh is not None and zh.startswith("有效代码行 = ") and "词法分析之前：文件名表明经压缩" in zh
    assert ORIGIN.zh(counting_rule(timeout_s=5)).count("5 秒") == 1
    assert VERIFIER_WORDS.zh("declared third-party (spec third_party: vendor/**); not counted (doc file, 0 lines)") \
        == "声明为第三方（任务书 third_party: vendor/**）；不计入（文档文件，0 行）"
    assert VERIFIER_WORDS.zh("copyright notice of Jane Roe, not an owner") == "Jane Roe 的版权声明，不是本项目著作权人"


def test_labels_say_tool_text_where_it_is_shown_as_written(sample_run):
    assert LABELS["zh"]["tool_text"] == "工具原文"
    zh = render_report(sample_run, "html", "zh").decode("utf-8")
    # a tool's own finding message is tagged; verifier's own (radon's block sentence) is in Chinese
    assert '<span class="tag">工具原文</span> <span class="raw" translate="no">Use of assert detected.</span>' in zh
    assert "函数 <span class=\"raw\" translate=\"no\">handle_post</span> 的圈复杂度为" in zh


# --------------------------------------------------------------------------- real runs

def _cli(*args: object):
    from click.testing import CliRunner

    from verifier.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _real(tmp_path_factory, name: str) -> Path:
    out = tmp_path_factory.mktemp(name) / "run"
    result = _cli("run", FIXTURES / name / "acceptance.yaml", "--repo", FIXTURES / name, "--out", out,
                  "--quiet", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.fixture(scope="module")
def real_sample(tmp_path_factory) -> Path:
    return _real(tmp_path_factory, "sample-delivery")


@pytest.fixture(scope="module")
def real_weak(tmp_path_factory) -> Path:
    return _real(tmp_path_factory, "weak-delivery")


def _sentences(run: Path) -> list[tuple[str, str]]:
    """(probe, sentence) for every note and error reason the probes wrote, and the origin analysis's."""
    result = RunResult.model_validate_json((run / "results.json").read_text("utf-8"))
    out = [(i.probe, n) for i in result.indicators for n in i.notes]
    out += [(i.probe, i.reason) for i in result.indicators if i.status == "error"]
    if result.origin is not None:
        out += [("origin", w) for w in [result.origin.counting, *result.origin.warnings]]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("which", ["real_sample", "real_weak"])
def test_real_runs_speak_chinese(which, request):
    run = request.getfixturevalue(which)
    zh = render_report(run, "html", "zh").decode("utf-8")
    assert english_prose(zh) == []
    assert untranslated(zh) == []
    missing = [(probe, text) for probe, text in _sentences(run)
               if VERIFIER_WORDS.with_phrases(presentation_of(probe).phrases).zh(text) is None]
    assert missing == []
    import json

    reasons = {f["reason"] for f in json.loads((run / "origin" / "origin.json").read_text("utf-8"))["files"]}
    assert [r for r in reasons if VERIFIER_WORDS.zh(r) is None] == []


@pytest.mark.slow
def test_the_rps_note_reproduces_locusts_figure(real_sample):
    result = RunResult.model_validate_json((real_sample / "results.json").read_text("utf-8"))
    perf = next(i for i in result.indicators if i.probe == "locust")
    with open(real_sample / "evidence" / perf.id / "locust_stats.csv", newline="", encoding="utf-8") as handle:
        total = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated" and not r["Type"])
    requests, rps = int(total["Request Count"]), float(total["Requests/s"])
    assert perf.measurements["rps"] == pytest.approx(rps) and perf.measurements["requests"] == requests
    note = next(n for n in perf.notes if n.startswith("rps = "))
    found = re.match(r"rps = (\d+) requests ÷ ([\d.]+) s = ([\d.]+) rps: ", note)
    assert found and int(found.group(1)) == requests
    seconds = float(found.group(2))
    assert requests / seconds == pytest.approx(rps, rel=2e-3)  # the note's division gives Locust's figure
    assert perf.arguments["run_time"] == "10s" and 5 <= seconds <= 11  # from the test's start: about run_time


@pytest.mark.slow
def test_the_samples_chinese_pdf_is_short_and_keeps_targets_whole(real_sample, tmp_path):
    pdftotext, pdfinfo = shutil.which("pdftotext"), shutil.which("pdfinfo")
    if pdftotext is None or pdfinfo is None:
        pytest.fail("poppler-utils is not installed: run `make system-deps`")
    pdf = tmp_path / "report.zh.pdf"
    assert _cli("report", real_sample, "--format", "pdf", "--lang", "zh", "-o", pdf).exit_code == 0
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages <= 20, pages
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True,
                          timeout=60).stdout
    result = RunResult.model_validate_json((real_sample / "results.json").read_text("utf-8"))
    lines = text.splitlines()
    for ind in result.indicators:
        row = [line for line in lines if re.search(rf"\b{re.escape(ind.id)}\b", line) and ind.target in line]
        assert row, f"{ind.id}: target {ind.target!r} is not whole on any line of the indicator table"
    assert not re.search(r"^\s*(>=|<=|==)\s*$", text, re.M)  # an operator alone on its line
