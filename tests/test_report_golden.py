"""Golden files of every report format on the sample run.

The sample run's timestamps and timings are fixed (tests/support/report_sample.py), and the report shows
nothing else that changes between runs, so the rendered output must equal the golden file byte
for byte. After an intended change, regenerate them and review the diff:

    UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/test_report_golden.py
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.report import render_report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDENS") == "1"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("golden"), hostile=True)


def _normalise(text: str) -> str:
    """Guard against anything time-like that a future field could add: ISO stamps outside the sample's."""
    return re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?",
                  lambda m: m.group(0) if m.group(0).startswith("2026-11-2") else "<TIMESTAMP>", text)


@pytest.mark.parametrize("fmt,lang", [("html", "zh"), ("html", "en"), ("md", "zh"), ("md", "en"), ("json", "zh")])
def test_golden(run, fmt, lang):
    got = _normalise(render_report(run, fmt, lang).decode("utf-8"))
    path = GOLDEN / f"report.{lang}.{fmt}"
    if UPDATE:
        path.write_text(got, encoding="utf-8")
        pytest.skip(f"updated {path.name}")
    assert path.is_file(), f"{path} missing: run with UPDATE_GOLDENS=1 to create it"
    want = path.read_text(encoding="utf-8")
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "rendered", n=1))
        pytest.fail(f"{path.name} differs from the golden file (UPDATE_GOLDENS=1 to accept):\n{diff[:4000]}")
