"""`verifier report -o`: a bad output location is a one-line error (exit 2) before any rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from support.report_sample import build_sample_run
from verifier import report as report_module
from verifier.cli import main
from verifier.errors import InputError
from verifier.report import check_output


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("output"))


def test_check_output(tmp_path):
    check_output(tmp_path / "r.html")  # a new file in an existing folder
    (tmp_path / "old.pdf").write_bytes(b"x")
    check_output(tmp_path / "old.pdf")  # replaced
    with pytest.raises(InputError, match="no such directory for the report"):
        check_output(tmp_path / "missing" / "dir" / "x.pdf")
    with pytest.raises(InputError, match="is a directory"):
        check_output(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a directory"):
        check_output(tmp_path / "file" / "x.pdf")


@pytest.mark.parametrize("fmt", ["pdf", "html", "md", "json"])
def test_missing_output_directory_fails_before_rendering(sample_run, tmp_path, monkeypatch, fmt):
    rendered = []
    monkeypatch.setattr(report_module, "render_report", lambda *a, **k: rendered.append(a) or b"")
    target = tmp_path / "missing" / "dir" / f"x.{fmt}"
    result = CliRunner().invoke(main, ["report", str(sample_run), "--format", fmt, "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].endswith(f"{target.parent}: no such directory for the report")
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert rendered == [] and not target.parent.exists()


def test_default_location_is_still_created(tmp_path):
    run = build_sample_run(tmp_path)
    result = CliRunner().invoke(main, ["report", str(run), "--format", "md", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert (run / "reports" / "report.en.md").read_text(encoding="utf-8").startswith("# Software Product")
    (run / "reports" / "report.en.md").unlink()
    (run / "reports").rmdir()
    (run / "reports").write_text("in the way")
    result = CliRunner().invoke(main, ["report", str(run), "--format", "md"])
    assert result.exit_code == 2 and "not a directory" in result.output and "Traceback" not in result.output
