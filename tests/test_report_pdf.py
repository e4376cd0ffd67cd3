"""The PDF report (WeasyPrint, Noto Sans CJK SC): Chinese headings extractable, page 1 renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from support.report_sample import build_sample_run
from verifier.cli import main
from verifier.i18n import LABELS

pytestmark = pytest.mark.slow
Image = pytest.importorskip("PIL.Image")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make system-deps` (poppler-utils)")
    return path


@pytest.fixture(scope="module")
def pdf(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pdf")
    run = build_sample_run(root, hostile=True)
    out = root / "report.zh.pdf"
    result = CliRunner().invoke(main, ["report", str(run), "--format", "pdf", "--lang", "zh", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_pdftotext_finds_the_chinese_headings(pdf):
    text = subprocess.run([_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    L = LABELS["zh"]
    for key in ("title", "sec_summary", "sec_indicators", "sec_origin", "sec_details", "sec_environment",
                "sec_materials", "sec_appendix", "prepared_by", "reviewed_by", "approved_by", "status_met"):
        assert L[key] in text, key
    assert "本结果为 verifier 自动预评估" in text
    assert "<script>alert(" in text  # repository data printed as text
    fonts = subprocess.run([_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True,
                           timeout=60).stdout
    assert "Noto-Sans-CJK-SC" in fonts


def test_pdftoppm_renders_page_one(pdf, tmp_path):
    subprocess.run([_tool("pdftoppm"), "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    page = next(tmp_path.glob("page-*1.png"))
    image = Image.open(page).convert("L")
    assert image.width < image.height  # A4 portrait
    dark = sum(image.histogram()[:128])
    assert dark > image.width * image.height * 0.005, "page 1 is blank"
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True, timeout=60).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert 5 <= pages <= 60
