"""The reports a bundle carries: rendered from the packed data alone when packing, re-rendered from
the bundle's own contents by ``verify`` and compared byte for byte."""

from __future__ import annotations

from verifier.report import render_html
from verifier.results import RunResult
from verifier.run_files import RunFiles

#: the reports a bundle carries, rendered from the packed data: (lang, path in the run)
BUNDLE_REPORTS = (("zh", "reports/report.zh.html"), ("en", "reports/report.en.html"))


def render_bundle_report(result: RunResult, files: RunFiles, lang: str) -> bytes:
    """The HTML report a bundle carries for ``lang``: rendered from ``result`` and the packed files
    alone (evidence linked from ``reports/``), so the same bundle re-renders to the same bytes."""
    return render_html(result, files, lang, base="../").encode("utf-8")
