"""Detail charts chosen by the shape of the data: figures over time as lines, labelled events on a timeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier.i18n import LABELS
from verifier.report import build_view, load_run

LATENCY, THROUGHPUT = "Response time over time (ms)", "Throughput over time (requests/s)"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return build_sample_run(tmp_path_factory.mktemp("charts"))


def _titles(sample_run: Path, details: dict, lang: str = "en", probe: str = "pytest") -> list[str]:
    result = load_run(sample_run)
    ind = result.indicators[0].model_copy(update={"probe": probe, "details": details, "measurements": {},
                                                  "findings": []})
    view = build_view(result.model_copy(update={"indicators": [ind]}), sample_run, lang)
    return [re.search(r"<title>(.*?)</title>", str(c)).group(1) for c in view["details"][0]["charts"]]


def test_soak_buckets_are_lines_not_a_timeline_of_unlabelled_events(sample_run):
    buckets = [{"t": float(t), "p50_ms": 1.0 + t % 3, "p95_ms": 2.0 + t % 4, "rps": 50.0, "requests": 50,
                "failures": int(t == 4), "rss_mb": 24.0 + t / 10} for t in range(8)]
    memory = [{"t": t - 0.1, "rss_mb": 24.0 + t / 10} for t in range(8)]
    titles = _titles(sample_run, {"memory": memory, "timeline": buckets}, probe="soak")
    assert "Recovery timeline" not in titles
    assert titles == ["Memory (MB) over time", LATENCY, THROUGHPUT, "Failures over time"]
    zh = _titles(sample_run, {"memory": memory, "timeline": buckets}, "zh", probe="soak")
    assert zh[0] == "内存（MB）随时间变化" and zh.count("内存（MB）随时间变化") == 1  # charted once


def test_labelled_events_stay_a_timeline_and_outcomes_keep_their_natural_order(sample_run):
    events = [{"t": 1.9, "event": "SIGKILL"}, {"t": 2.1, "event": "ready"}]
    titles = _titles(sample_run, {"events": events, "requests": {"after": 201, "before": 194, "during": 12}},
                     probe="recovery")
    assert "Recovery timeline" in titles
    result = load_run(sample_run)
    ind = result.indicators[0].model_copy(update={"probe": "recovery", "details": {
        "requests": {"after": 2, "before": 1, "during": 3}}})
    view = build_view(result.model_copy(update={"indicators": [ind]}), sample_run, "zh")
    svg = str(view["details"][0]["charts"][0])
    assert svg.index("杀进程前") < svg.index("恢复期间") < svg.index("恢复之后")


def test_undeclared_series_and_events_by_their_shape(sample_run):
    """A probe that declares nothing: rows of figures over ``t`` are drawn, one chart per column
    (at most three), in the generic words; rows carrying text are listed, never guessed at."""
    rows = [{"t": float(t), "p95_ms": 10.0 + t, "rps": 5.0, "queue": t, "depth": 1, "extra": 2} for t in range(4)]
    titles = _titles(sample_run, {"history": rows}, probe="not-installed-probe")
    assert titles == ["p95_ms over time", "rps over time", "queue over time"]
    assert LATENCY not in titles
    events = [{"t": 1.0, "event": "SIGKILL"}, {"t": 2.0, "event": "ready"}]
    assert _titles(sample_run, {"events": events}, probe="not-installed-probe") == []
    result = load_run(sample_run)
    ind = result.indicators[0].model_copy(update={"probe": "not-installed-probe", "details": {"events": events},
                                                  "measurements": {}, "findings": []})
    view = build_view(result.model_copy(update={"indicators": [ind]}), sample_run, "en")
    assert view["details"][0]["tables"][0]["rows"] == [("1", "SIGKILL"), ("2", "ready")]
    assert LABELS["en"]["chart_events"].format(name="events") == "events timeline"
