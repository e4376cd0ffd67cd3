"""Report rendering: structure, both languages, escaping of repository data, robustness, the CLI."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.report_sample import EVIL, build_sample_run
from verifier.cli import main
from verifier.errors import InputError
from verifier.i18n import LABELS
from verifier.report import (
    build_view,
    load_run,
    md_code,
    md_escape,
    render_html,
    render_json,
    render_markdown,
    render_report,
)
from verifier.results import IndicatorResult, RunResult


class _Elements(HTMLParser):
    """Every start tag and attribute of an HTML document, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("hostile"), hostile=True)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("sample"))


def test_every_label_exists_in_both_languages():
    assert set(LABELS["zh"]) == set(LABELS["en"])
    for lang in ("zh", "en"):
        assert all(value.strip() for value in LABELS[lang].values())
    # placeholders agree, so a formatted label never misses a value in one language
    for key in LABELS["zh"]:
        assert set(re.findall(r"{(\w+)}", LABELS["zh"][key])) == set(re.findall(r"{(\w+)}", LABELS["en"][key])), key


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_structure(sample_run, lang):
    result = load_run(sample_run)
    html = render_html(result, sample_run, lang)
    doc = _parse(html)
    text = "".join(doc.text)
    L = LABELS[lang]
    for key in ("sec_summary", "sec_indicators", "sec_origin", "sec_details", "sec_environment", "sec_materials",
                "sec_appendix", "prepared_by", "reviewed_by", "approved_by", "col_indicator", "col_requirement",
                "col_result", "col_conclusion", "status_met", "status_not_met", "status_error"):
        assert L[key] in text, key
    assert result.notice[lang] in text
    # every indicator row links to its detail, and every detail lists its evidence in the appendix
    anchors = {a.get("id") for _, a in doc.tags if a.get("id")}
    links = {a["href"][1:] for t, a in doc.tags if t == "a" and (a.get("href") or "").startswith("#")}
    assert links <= anchors
    assert {f"ind-{n}" for n in range(1, len(result.indicators) + 1)} <= links
    assert {"ev-1", "ev-2"} <= links
    # the ratio: formula figures from the totals
    assert "1,031 ÷ 1,487 = 69.3%" in text  # 412+236+31+188+164 of those + 290+96+58+12
    # self-contained: no external reference of any kind
    for tag, attrs in doc.tags:
        for name in ("src", "href", "action", "data", "poster"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:|//|ftp:|data:text)", value), (tag, name, value)
        assert tag not in ("script", "link", "img", "iframe", "object", "embed")
    assert html.count("<svg") >= 6


def test_html_escapes_repository_data(hostile_run):
    html = render_report(hostile_run, "html", "zh").decode()
    doc = _parse(html)
    assert not any(tag == "script" for tag, _ in doc.tags)
    text = "".join(doc.text)
    # the hostile strings appear as text, verbatim, in the names, tests, output and file table
    assert text.count(EVIL) >= 8
    assert "{{ 7*7 }}" in text  # data is never evaluated as a template
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_markdown_escapes_repository_data(hostile_run):
    md = render_report(hostile_run, "md", "en").decode()
    assert "<script>" not in md and "{{" not in md and "}}" not in md
    escaped = md_escape(EVIL)
    assert escaped in md
    # a table row stays one row: the hostile '|' is escaped
    row = next(line for line in md.splitlines() if "Product |" in line)
    assert row.count("|") - row.count("\\|") == 3
    # a CommonMark parser with raw HTML enabled finds no HTML and reads the hostile text back verbatim
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(md)
    inline = [c for t in tokens if t.children for c in t.children]
    assert not [t for t in tokens + inline if t.type in ("html_block", "html_inline")]
    texts = "".join(c.content for c in inline if c.type in ("text", "code_inline"))
    assert texts.count(EVIL) >= 8


def test_md_escape_and_code_blocks():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert md_escape("{{ x }}") == "\\{\\{ x \\}\\}"
    assert md_escape("line1\nline2") == "line1 line2"
    assert md_escape("# heading") == "\\# heading" and md_escape("1. item") == "1\\. item"
    assert md_escape("snake_case_name") == "snake_case_name" and md_escape("_em_") == "\\_em\\_"
    block = md_code("echo ```\nrm -rf /")
    assert block.startswith("````text\n") and block.endswith("\n````")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_structure(sample_run, lang):
    md = render_report(sample_run, "md", lang).decode()
    L = LABELS[lang]
    for key in ("sec_summary", "sec_indicators", "sec_origin", "sec_details", "sec_environment", "sec_materials"):
        assert re.search(rf"^## (\d+ )?{re.escape(L[key])}$", md, re.M), key
    assert re.search(r"^\| \d+ \| F1 ", md, re.M)
    assert "```text\nlocust --headless" in md


def test_json_is_the_canonical_results(sample_run):
    data = json.loads(render_report(sample_run, "json", "en"))
    assert RunResult.model_validate(data) == load_run(sample_run)
    assert data["schema"] == "verifier/results/1"
    assert render_json(load_run(sample_run)) == render_report(sample_run, "json", "zh").decode()


def _with_indicator(result: RunResult, **changes) -> RunResult:
    ind = result.indicators[0].model_copy(update=changes)
    return result.model_copy(update={"indicators": [ind]})


@pytest.mark.parametrize("details", [
    {},
    {"history": []},
    {"history": [{"t": 0}]},
    {"history": [{"no_time": 1, "rps": 3}]},
    {"history": [{"t": 0, "rps": "N/A"}, {"t": 1, "rps": None}, "garbage", 7]},
    {"history": [{"t": 1764097200 + i, "p95_ms": 10 + i, "rps": 5.0} for i in range(5)]},
    {"history": [{"t": i, "p95_ms": float("nan") if i == 2 else i} for i in range(4)]},
    {"history": "not a list"},
    {"timeline": [{"t": 3, "event": "x"}, [1, "y"], {"bad": 1}, None]},
    {"timeline": [{"t": 0.0, "state": "only one"}]},
    {"events": "nope"},
    {"histogram": {"A": 1, "B": True}},
    {"histogram": {str(i): i for i in range(60)}},
    {"nested": {"a": {"b": [1, 2]}}, "rows": [{"a": 1}, {"b": [1]}], "values": [1, "two", None]},
    {"by_severity": {"high": 0, "medium": 0}},
])
def test_detail_charts_are_robust_to_odd_details(sample_run, details):
    result = _with_indicator(load_run(sample_run), details=details, value=None, measurements={}, findings=[])
    html = render_html(result, sample_run, "en")
    md = render_markdown(result, sample_run, "en")
    assert "<svg" in html or not details or "history" in details or "events" in details or "nested" in details
    assert "nan" not in re.sub(r"<[^>]+>", "", html.split("<main>")[1]).lower().split()
    assert md


def test_history_gives_latency_and_throughput_charts(sample_run):
    view = build_view(load_run(sample_run), sample_run, "en")
    p1 = next(d for d in view["details"] if d["title"].startswith("P1 "))
    titles = [re.search(r"<title>(.*?)</title>", str(c)).group(1) for c in p1["charts"]]
    assert titles[:2] == ["Response time over time (ms)", "Throughput over time (requests/s)"]
    r1 = next(d for d in view["details"] if d["title"].startswith("R1 "))
    assert any("<title>Recovery timeline</title>" in str(c) for c in r1["charts"])
    s1 = next(d for d in view["details"] if d["title"].startswith("S1 "))
    assert any("<title>Severity distribution</title>" in str(c) for c in s1["charts"])


def test_missing_origin_and_materials_and_file_table(sample_run, tmp_path):
    result = load_run(sample_run).model_copy(update={"origin": None, "materials": [], "functions": []})
    html = render_html(result, sample_run, "zh")
    assert LABELS["zh"]["origin_missing"] in html and LABELS["zh"]["no_materials"] in html
    broken = load_run(sample_run)
    broken = broken.model_copy(update={"origin": broken.origin.model_copy(update={"files_path": "origin/missing.json"})})
    html = render_html(broken, sample_run, "en")
    assert "The per-file evidence file is unreadable: origin/missing.json" in html


def test_large_file_tables_are_capped_with_a_pointer_to_the_evidence(tmp_path):
    run = build_sample_run(tmp_path, n_files=1200)
    md = render_report(run, "md", "en").decode()
    assert "500 of 1,200 files shown; the complete list is evidence file origin/origin.json (sha256" in md
    view = build_view(load_run(run), run, "en", fmt="html")
    assert sum(len(g["rows"]) for g in view["origin"]["file_groups"]) == 1200
    # non-self files first: reviewers read the reasons for what is not self-developed
    assert [g["cls"] for g in view["origin"]["file_groups"]] == ["third_party", "generated", "excluded", "self"]


def test_load_run_errors(tmp_path):
    with pytest.raises(InputError, match="no results.json"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(InputError, match="results.json"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"schema": "verifier/results/1"}))
    with pytest.raises(InputError, match=r"results.json: \w+: Field required"):
        load_run(tmp_path)


def test_cli_report(sample_run, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report", str(sample_run)])
    assert result.exit_code == 0, result.output
    default = sample_run / "reports" / "report.zh.html"
    assert result.output.strip() == str(default) and default.is_file()
    assert 'href="../evidence/F1/junit.xml"' in default.read_text()
    out = tmp_path / "r.md"
    result = runner.invoke(main, ["report", str(sample_run), "--format", "md", "--lang", "en", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("# Software Product Acceptance")
    result = runner.invoke(main, ["report", str(sample_run), "--format", "json", "-o", "-"])
    assert result.exit_code == 0 and json.loads(result.output)["run_id"] == "20261125T100000Z-sample"
    for args, message in ((["report", str(tmp_path / "nope")], "no such run directory"),
                          (["report", str(tmp_path)], "no results.json"),
                          (["report", str(sample_run), "--lang", "fr"], "Invalid value for '--lang'"),
                          (["report", str(sample_run), "-o", str(tmp_path / "no" / "dir.html")], "no such directory")):
        result = runner.invoke(main, args)
        assert result.exit_code == 2 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_every_command_has_help():
    runner = CliRunner()
    for name in ("report", "bundle", "verify", "keygen"):
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0 and len(result.output.splitlines()) > 4, name


def test_indicator_order_and_numbering(sample_run):
    result = load_run(sample_run)
    extra = IndicatorResult(id="X1", name="custom", characteristic="custom_thing", probe="command", metric="m",
                            target="<= 1", unit="count", value=1, status="not_applicable", credit=0, weight=1,
                            reason="not applicable here")
    result = result.model_copy(update={"indicators": [extra, *result.indicators]})
    view = build_view(result, sample_run, "en")
    rows = [r for g in view["groups"] for r in g["rows"]]
    assert [r["no"] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
    assert [g["name"] for g in view["groups"]][0] == "Functional suitability"
    assert view["groups"][-1]["name"] == "custom_thing" and rows[-1]["status"]["text"] == "N/A"
