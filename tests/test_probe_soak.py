"""soak probe: sustained load against the fixtures — the weak service's memory grows, the sample's not."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from support.live_service import ITEM_BODY, context, fixture_service, script_repo, values
from verifier.builtin_probes._load import read_records
from verifier.builtin_probes._load_run import percentile, timeline
from verifier.builtin_probes.soak_probe import SoakProbe
from verifier.probe import ProbeError
from verifier.service import Service, ServiceConfig

LOAD = {"requests": [{"path": "/health"},
                     {"method": "POST", "path": "/api/items", "body": ITEM_BODY, "expect": [201]}],
        "duration": "6s", "rate": 100, "concurrency": 4}


def test_percentile_and_timeline(tmp_path):
    assert percentile([], 95) is None
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile(list(range(1, 101)), 95) == 95
    csv = tmp_path / "r.csv"
    csv.write_text("start,end,latency_ms,status,ok,label,error\n"
                   "100.0,100.01,10,200,1,GET /,\n100.5,100.6,100,500,0,GET /,\n"
                   "101.2,101.3,0.5,0,0,GET /,ConnectionRefusedError: x\n101.3,1")  # last row cut by a kill
    records = read_records(csv)
    assert len(records) == 3 and records[2].error.startswith("ConnectionRefused")
    points = timeline(records, 100.0)
    assert points == [{"t": 0.0, "requests": 2, "failures": 1, "rps": 2.0, "p50_ms": 10.0, "p95_ms": 100.0},
                      {"t": 1.0, "requests": 1, "failures": 1, "rps": 1.0, "p50_ms": None, "p95_ms": None}]


@pytest.mark.parametrize("args, message", [
    ({"requests": []}, "at least 1 item"),
    ({"requests": [{"path": "/"}], "duration": 10, "window": 6}, "at most half the duration"),
    ({"requests": [{"path": "/"}], "rate": -1}, "greater than or equal to 0"),
    ({"requests": [{"path": "/"}], "users": 3}, "Extra inputs"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValidationError, match=message):
        SoakProbe.Args.model_validate(args)


@pytest.mark.slow
def test_sample_is_steady(tmp_path):
    with fixture_service(tmp_path) as svc:
        ctx = context(SoakProbe, tmp_path, svc, LOAD)
        outcome = SoakProbe().run(ctx)
        assert svc.alive()
    got = values(outcome)
    assert got["failure_ratio"] == 0.0
    assert 300 < got["requests"] <= 700 and 50 < got["rps"] <= 110  # rate 100 rps, bounded
    assert got["memory_growth"] < 1.15
    assert 0.2 < got["latency_drift"] < 5
    assert outcome.details["windows"]["seconds"] == pytest.approx(1.2)
    assert len(outcome.details["timeline"]) >= 5 and outcome.details["timeline"][1]["rss_mb"] > 1
    assert {p.split("/")[-1] for p in outcome.evidence} >= {"soak-records.csv", "soak-memory.csv",
                                                            "soak-requests.json"}
    assert len(read_records(ctx.run_dir / outcome.evidence[1])) == got["requests"]


@pytest.mark.slow
def test_weak_leaks_memory(tmp_path):
    with fixture_service(tmp_path, "weak") as svc:
        outcome = SoakProbe().run(context(SoakProbe, tmp_path, svc, LOAD))
    got = values(outcome)
    assert got["memory_growth"] > 1.2  # a target of "<= 1.2" is missed
    assert got["failure_ratio"] == 0.0


@pytest.mark.slow
def test_service_dying_mid_soak_is_a_finding(tmp_path):
    repo = script_repo(tmp_path, "fragile.py", """
        import http.server, os, sys, threading, time
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
                self.wfile.write(b"ok")
            def log_message(self, *a):
                pass
        threading.Timer(1.5, lambda: (print("out of memory, giving up", flush=True), os._exit(9))).start()
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """)
    config = ServiceConfig(command=["{python}", "fragile.py", "{port}"], ready="http://127.0.0.1:{port}/")
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        outcome = SoakProbe().run(context(SoakProbe, tmp_path, svc, {**LOAD, "requests": [{"path": "/"}]}))
    got = values(outcome)
    assert got["memory_growth"] is None and got["failure_ratio"] > 0
    assert "the service exited" in outcome.findings[0].message
    assert "out of memory" in outcome.findings[0].extra["log_tail"]


def test_timeout_shorter_than_the_soak(tmp_path):
    with fixture_service(tmp_path) as svc:
        ctx = context(SoakProbe, tmp_path, svc, {**LOAD, "duration": 60}, timeout_s=30)
        with pytest.raises(ProbeError, match="too short for a 60 s soak"):
            SoakProbe().run(ctx)
