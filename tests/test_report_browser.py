"""The HTML report in a real browser (Debian's headless Chromium, driven by Playwright over CDP):
no console error, no network request of any kind, a page that is not blank, readable on a phone."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.report import render_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run `make system-deps` (scripts/system-deps.sh)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, timeout=60_000,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    run = build_sample_run(tmp_path_factory.mktemp("browser"), hostile=True)
    path = run / "reports" / "report.zh.html"
    path.parent.mkdir()
    path.write_bytes(render_report(run, "html", "zh"))
    return path


def _open(browser, report_file: Path, width: int, height: int):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(report_file.as_uri(), wait_until="load", timeout=30_000)
    page.wait_for_timeout(300)
    return page, requests, problems


def _not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the screenshot is (almost) a single colour"
    background = max(colours)[0]
    assert background < image.width * image.height * 0.97, "the screenshot is nearly empty"


def test_desktop_no_errors_no_requests_not_blank(browser, report_file, tmp_path):
    page, requests, problems = _open(browser, report_file, 1200, 900)
    try:
        assert requests == [report_file.as_uri()], f"requests besides the document: {requests}"
        assert problems == []
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 6
        assert "智能仓储调度系统<script>" in page.inner_text("h1 ~ table")
        png = page.screenshot(full_page=True)
        (tmp_path / "desktop.png").write_bytes(png)
        _not_blank(png)
        # a printed copy renders too
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    finally:
        page.close()


def test_phone_layout_has_no_page_wide_overflow(browser, report_file):
    page, requests, problems = _open(browser, report_file, 375, 740)
    try:
        assert problems == [] and requests == [report_file.as_uri()]
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the phone screen"
        _not_blank(page.screenshot())
    finally:
        page.close()


def test_the_checks_catch_a_planted_request_and_script(browser, report_file, tmp_path):
    """The same checks on a tampered copy: an external image and a script are both noticed."""
    planted = tmp_path / "planted.html"
    html = report_file.read_text(encoding="utf-8")
    planted.write_text(html.replace("<main>", '<main><img src="http://127.0.0.1:9/x.png">'
                                              "<script>console.error('ran')</script>", 1), encoding="utf-8")
    page, requests, problems = _open(browser, planted, 1000, 700)
    try:
        assert problems, "a blocked request or script must show as a console error"
        assert any("Content Security Policy" in p for p in problems)
    finally:
        page.close()
