"""A probe from outside verifier gets a report as good as a built-in one.

``tests/third_party_probe/docstring_probe.py`` is written like a third party's package: it imports the
public contract and toolkit only, and declares its labels (zh, en), a table with its column order
and value words, a series, a bar order and a scalar's words. It is registered the way an installed
distribution registers it (a ``*.dist-info/entry_points.txt`` on the path), measured by a real
``verifier run``, and rendered by real ``verifier report`` runs in both languages, HTML and Markdown.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from third_party_probe.docstring_probe import DocstringProbe
from verifier.probe import ProbeContext, presentation_of
from verifier.report import build_view, load_run
from verifier.results import RunResult

TESTS = Path(__file__).resolve().parent
OWNER = "# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.\n"
FILES = {
    "stock/a_core.py": OWNER + '"""Stock."""\n\n\ndef add(a, b):\n    """Sum."""\n    return a + b\n\n\n'
                       'def sub(a, b):\n    return a - b\n',
    "stock/b_io.py": OWNER + "def load(path):\n    return open(path).read()\n",
    "stock/c_fmt.py": OWNER + 'def show(x):\n    """Text of x."""\n    return str(x)\n',
}
SPEC = """\
project: {name: 文档检查, version: '1.0.0', applicant: 湖南示例软件有限公司,
          owners: [Hunan Example Software Co., Ltd.]}
indicators:
  - {id: M1, name: 文档字符串覆盖率, characteristic: maintainability, probe: docstrings,
     metric: documented_ratio, target: '>= 50%', with: {paths: [stock], strictness: lenient}}
"""
#: Every key the probe writes (details, columns, bars, series columns, metrics, words).
KEYS = {"documented_ratio", "functions", "per_file", "file", "documented", "state", "by_state", "complete",
        "partial", "none", "scan", "functions_seen", "documented_seen", "strictness", "lenient"}


def _register(site: Path) -> dict[str, str]:
    """An environment in which the probe is installed: its distribution's metadata on the path."""
    dist = site / "verifier_docstring_probe-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: verifier-docstring-probe\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[verifier.probes]\ndocstrings = third_party_probe.docstring_probe:DocstringProbe\n")
    path = os.pathsep.join([str(site), str(TESTS), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path, "NO_COLOR": "1"}


def _verifier(env: dict[str, str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verifier", *map(str, args)], env=env, text=True,
                          capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("third-party")
    env = _register(root / "site")
    repo = root / "repo"
    for rel, text in {**FILES, "acceptance.yaml": SPEC}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    listed = _verifier(env, "probes", "--json")
    assert listed.returncode == 0, listed.stderr
    run = _verifier(env, "run", repo / "acceptance.yaml", "--out", root / "run", "--quiet")
    assert run.returncode in (0, 1, 3), run.stderr  # a verdict (the gates want more indicators)
    out: dict[str, object] = {"run": root / "run", "probes": json.loads(listed.stdout)}
    for fmt in ("html", "md"):
        for lang in ("zh", "en"):
            target = root / f"report.{lang}.{fmt}"
            done = _verifier(env, "report", root / "run", "--format", fmt, "--lang", lang, "-o", target)
            assert done.returncode == 0, done.stderr
            out[f"{lang}.{fmt}"] = target.read_text("utf-8")
    return out


class _Labels(HTMLParser):
    """Text the report labels with: headings, table headers, chart titles and legends; and cells."""

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
        if data and self.stack:
            if self.stack[-1] in ("h4", "th", "title") or (self.stack[-1] == "text" and "svg" in self.stack):
                self.labels.append(data)
            elif self.stack[-1] in ("td", "span"):
                self.cells.append(data)


def _m1(html: str) -> _Labels:
    """The labelled text of indicator M1's detail section."""
    section = html.split('id="ind-1"', 1)[1]
    parser = _Labels()
    parser.feed(section.split("</section>", 1)[0])
    return parser


def test_the_run_measured_with_the_third_party_probe(reports):
    assert reports["probes"]["docstrings"]["characteristic"] == "maintainability"
    result = RunResult.model_validate_json((reports["run"] / "results.json").read_text("utf-8"))
    m1 = result.indicators[0]
    assert (m1.probe, m1.status, m1.value) == ("docstrings", "met", pytest.approx(50.0))
    assert m1.details["by_state"] == {"complete": 1, "none": 1, "partial": 1}
    assert "evidence/M1/docstrings.json" in m1.evidence


@pytest.mark.parametrize("lang, want", [
    ("zh", {"table": "逐文件文档情况", "columns": ["源文件", "文档状态", "有文档的函数", "函数数"],
            "bars": "文件文档状态分布", "bar_names": ["完整", "部分", "缺失"], "chart": "扫描进度（累计函数数）",
            "legend": ["已扫描函数", "已扫描有文档函数"], "states": ["部分", "缺失", "完整"], "scalar": "判定口径",
            "value": "宽松", "metric": "文档字符串覆盖率（%）"}),
    ("en", {"table": "Docstrings per file", "columns": ["Source file", "Documentation state", "Documented functions",
                                                        "Functions"],
            "bars": "File documentation state distribution", "bar_names": ["Complete", "Partial", "Missing"],
            "chart": "Scan progress (functions, cumulative)", "legend": ["Functions scanned",
                                                                         "Documented functions scanned"],
            "states": ["partial", "missing", "complete"], "scalar": None, "value": "lenient",
            "metric": "Docstring coverage (%)"}),
])
def test_html_report_shows_the_probes_own_labels_table_and_charts(reports, lang, want):
    html = reports[f"{lang}.html"]
    m1 = _m1(html)
    assert want["table"] in m1.labels and want["bars"] in m1.labels and want["chart"] in m1.labels
    header = m1.labels[m1.labels.index(want["table"]) + 1:][:4]
    assert header == want["columns"]  # the declared order, whatever order results.json keeps
    after = m1.labels[m1.labels.index(want["bars"]):]
    assert [after.index(name) for name in want["bar_names"]] == sorted(after.index(n) for n in want["bar_names"])
    assert set(want["legend"]) <= set(m1.labels)
    assert want["scalar"] is None or want["scalar"] in html  # in English "Strictness" only respells the key
    assert want["metric"] in html and want["value"] in m1.cells
    assert [c for c in m1.cells if c in want["states"]] == want["states"]  # value words, per row
    raw = sorted(KEYS & set(m1.labels))
    assert not raw, raw


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_markdown_report_shows_the_probes_own_labels_and_columns(reports, lang):
    md = reports[f"{lang}.md"]
    section = re.split(r"^#{2,3} ", md.split("### M1 ", 1)[1], maxsplit=1, flags=re.M)[0]
    if lang == "zh":
        assert "**逐文件文档情况**" in section and "| 源文件 | 文档状态 | 有文档的函数 | 函数数 |" in section
        assert "判定口径 (strictness) = 宽松" in section and "| stock/b_io.py | 缺失 | 0 | 1 |" in section
    else:
        assert "**Docstrings per file**" in section
        assert "| Source file | Documentation state | Documented functions | Functions |" in section
        assert "strictness = lenient" in section  # a label that only respells its key is not repeated
        assert "| stock/b_io.py | missing | 0 | 1 |" in section
    lines = section.splitlines()
    titles = {m.group(1) for m in re.finditer(r"^\*\*(.+?)\*\*$", section, flags=re.M)}
    headers = {cell.strip() for line, below in zip(lines, lines[1:]) if below.startswith("| ---")
               for cell in line.strip("|").split("|")}
    assert not KEYS & (titles | headers), KEYS & (titles | headers)


def test_without_the_probe_installed_the_same_run_falls_back_to_raw_keys(reports):
    """Here (the test process) the probe is not registered: the report renders, keys as written.
    So the labels above came from the probe's declaration, not from verifier."""
    assert presentation_of("docstrings").labels == {}
    run = reports["run"]
    detail = build_view(load_run(run), run, "en")["details"][0]
    assert [t["title"] for t in detail["tables"]] == ["per_file"]
    assert detail["tables"][0]["columns"][:1] == ["file"]


def test_the_probe_is_typed_against_the_public_contract(tmp_path):
    """The probe's pure part, and its run, through the public names only."""
    repo = tmp_path / "repo"
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text, encoding="utf-8")
    evidence = tmp_path / "run" / "evidence" / "M1"
    evidence.mkdir(parents=True)
    ctx = ProbeContext(repo=repo, run_dir=tmp_path / "run", evidence_dir=evidence,
                       args=DocstringProbe.Args.model_validate({"paths": ["stock"]}), spec=None,  # type: ignore[arg-type]
                       timeout_s=60)
    outcome = DocstringProbe().run(ctx)
    assert outcome.measurement("functions").value == 4.0
    assert [f.file for f in outcome.findings] == ["stock/a_core.py", "stock/b_io.py"]
