"""A delivered file whose name is not UTF-8 goes through run, every report format and the bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

SPEC = """\
project: {name: t, version: "1.0.0", owners: ["Hunan Example Software Co., Ltd."]}
indicators:
  - {id: O1, name: r, characteristic: maintainability, probe: origin, metric: ratio, target: ">= 60%"}
"""


@pytest.mark.slow
def test_non_utf8_file_name_is_reported_as_escaped_bytes(tmp_path: Path, cli) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "acceptance.yaml").write_text(SPEC, "utf-8")
    raw = os.fsencode(repo) + b"/\xd6\xd0\xce\xc4_<script>.py"  # GBK bytes: not UTF-8
    with open(raw, "w", encoding="utf-8") as handle:
        handle.write("# Copyright (c) 2026 Hunan Example Software Co., Ltd.\nprint(1)\nx = 2\n")
    run = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", run, "--quiet")
    assert result.exit_code == 1, result.output  # too few indicators: the gates fail, no crash
    origin = json.loads((run / "origin" / "origin.json").read_text("utf-8"))
    assert any(f["path"].endswith("_<script>.py") for f in origin["files"])
    for fmt in ("html", "md", "json"):
        out = tmp_path / f"report.{fmt}"
        rendered = cli("report", run, "--format", fmt, "-o", out)
        assert rendered.exit_code == 0, rendered.output
        text = out.read_bytes().decode("utf-8")  # valid UTF-8
        if fmt == "html":
            assert r"\xd6\xd0\xce\xc4_&lt;script&gt;.py" in text
        elif fmt == "md":
            assert r"\xd6\xd0\xce\xc4" in text and "<script>" not in text
        else:
            json.loads(text)
    bundle = cli("bundle", run, "-o", tmp_path / "b.zip")
    assert bundle.exit_code == 0, bundle.output
    assert cli("verify", tmp_path / "b.zip").exit_code == 0
