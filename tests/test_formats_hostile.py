"""Hostile names through every standard format: a real run of a delivery whose file names hold control
characters, quotes, '<', '&' and bytes that are not UTF-8, and whose task book names its project and
indicators with markup and an ANSI escape. Every document must stay valid for its validator, and the
names must come out escaped (visible escapes, percent-encoded URIs), never as raw control bytes."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support.format_validators import cyclonedx_json, junit_xml, sarif_json, spdx_document

pytestmark = pytest.mark.slow

OWNER = "Hunan Example Software Co., Ltd."
EVIL = "<script>alert('x\"y')</script>&amp;"
_Q = EVIL.replace('"', '\\"')  # as a YAML double-quoted string holds it
SPEC = f"""\
project: {{name: "仓储 {_Q} \\x1b[31mred", version: "1.0.0", owners: ["{OWNER}"]}}
indicators:
  - id: S1
    name: "安全 {_Q} \\x1b[2J\\r\\n forged OK line"
    characteristic: security
    probe: bandit
    with: {{paths: ["."]}}
    metric: total
    target: "== 0"
  - id: O1
    name: "自研 & <b>ratio</b>"
    characteristic: maintainability
    probe: origin
    metric: ratio
    target: ">= 60%"
"""


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    from click.testing import CliRunner

    from verifier.cli import main

    root = tmp_path_factory.mktemp("hostile")
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "acceptance.yaml").write_text(SPEC, "utf-8")
    notice = f"# Copyright (c) 2026 {OWNER}\n"
    (repo / "app" / "plain.py").write_text(notice + "".join(f"v{i} = {i}\n" for i in range(20)))
    # a bandit finding in a file whose name is markup and quotes
    (repo / "app" / "<evil>&\"q\" 'x'.py").write_text(notice + "def run(text):\n    return eval(text)\n")
    (repo / "app" / "tab\tand\x1b[31mansi.py").write_text(notice + "x = 1\n")
    raw = os.fsencode(repo / "app") + b"/\xd6\xd0\xce\xc4_<b>.js"  # GBK bytes: not UTF-8
    with open(raw, "w", encoding="utf-8") as handle:
        handle.write("// Copyright (c) 2026 Hunan Example Software Co., Ltd.\nvar a = 1;\n")
    run = root / "run"
    result = CliRunner().invoke(main, ["run", str(repo / "acceptance.yaml"), "--out", str(run), "--quiet",
                                       "--no-cache"], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # too few indicators: the gates fail, nothing crashes
    return run


def _render(cli, run: Path, fmt: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"doc.{fmt}"
    result = cli("report", run, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    data.decode("utf-8")  # valid UTF-8
    assert b"\x1b" not in data and b"\r" not in data  # no raw control character anywhere
    return data


def test_spdx_and_cyclonedx_keep_hostile_file_names_as_escaped_text(hostile_run, cli, tmp_path):
    doc = spdx_document(_render(cli, hostile_run, "spdx", tmp_path), tmp_path)
    names = {f.name for f in doc.files}
    assert "./app/<evil>&\"q\" 'x'.py" in names
    assert "./app/tab\\tand\\x1b[31mansi.py" in names
    assert "./app/\\xd6\\xd0\\xce\\xc4_<b>.js" in names
    product = next(p for p in doc.packages if p.spdx_id == "SPDXRef-Product")
    assert product.name == f"仓储 {EVIL} \\x1b[31mred"
    cdx = cyclonedx_json(_render(cli, hostile_run, "cyclonedx", tmp_path))
    files = {c["name"] for c in cdx["metadata"]["component"]["components"]}
    assert {"app/<evil>&\"q\" 'x'.py", "app/tab\\tand\\x1b[31mansi.py", "app/\\xd6\\xd0\\xce\\xc4_<b>.js"} <= files


def test_sarif_percent_encodes_the_hostile_path_of_a_finding(hostile_run, cli, tmp_path):
    log = sarif_json(_render(cli, hostile_run, "sarif", tmp_path))
    (bandit,) = log["runs"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in bandit["results"]}
    assert "app/%3Cevil%3E%26%22q%22%20%27x%27.py" in uris
    results = json.loads((hostile_run / "results.json").read_text("utf-8"))
    assert any(f["file"] == "app/<evil>&\"q\" 'x'.py" for i in results["indicators"] for f in i["findings"])


def test_junit_escapes_hostile_indicator_names_and_stays_one_line(hostile_run, cli, tmp_path):
    data = _render(cli, hostile_run, "junit", tmp_path)
    xml = junit_xml(data, tmp_path)
    names = [case.name for suite in xml for case in suite]
    assert f"S1 安全 {EVIL} \\x1b[2J\\r\\n forged OK line" in names
    assert "O1 自研 & <b>ratio</b>" in names
    root = ET.fromstring(data)
    assert root.get("name").startswith(f"verifier acceptance: 仓储 {EVIL}")
    assert b"<script>" not in data and b"&lt;script&gt;" in data  # markup only as escaped text
