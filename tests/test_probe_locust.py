"""locust probe: generated locustfiles, CSV parsing, real Locust runs against the fixture services."""

from __future__ import annotations

import ast
import json

import psutil
import pytest
from pydantic import ValidationError

from support.live_service import ITEM_BODY, context, fixture_service, script_repo, values
from verifier.builtin_probes._http import HttpRequest
from verifier.builtin_probes._locust_csv import LocustCsvError, read_failures, read_history, read_stats
from verifier.builtin_probes._locust_file import generate_locustfile
from verifier.builtin_probes.locust_probe import ROUNDING_NOTE, LocustProbe
from verifier.probe import ProbeError, available_probes
from verifier.service import Service, ServiceConfig

SAMPLE_ENDPOINTS = [{"path": "/api/items", "weight": 3},
                    {"method": "POST", "path": "/api/items", "body": ITEM_BODY, "expect": [201]}]


def test_registered_through_the_entry_point_group():
    assert available_probes()["locust"] is LocustProbe
    assert LocustProbe.needs_service and LocustProbe.metrics["p95_ms"].unit == "ms"


def test_generated_locustfile_keeps_spec_values_as_data():
    hostile = {"sku": "'''); __import__('os').system('touch /tmp/pwned'); ('", "name": '"""\\n'}
    endpoints = [HttpRequest(method="post", path="/api/items?x={i}", body=hostile, weight=2,
                             expect=[201]), HttpRequest(path="/health", name="健康检查")]
    source = generate_locustfile(endpoints, (0.1, 0.5))
    tree = ast.parse(source)
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert "system" not in called and "__import__" not in called
    literal = next(node.value.args[0].value for node in tree.body
                   if isinstance(node, ast.Assign) and node.targets[0].id == "CONFIG")
    config = json.loads(literal)
    assert config["wait_time"] == [0.1, 0.5]
    assert config["endpoints"][0] == {"index": 0, "method": "POST", "path": "/api/items?x={i}",
                                      "body": hostile, "headers": {}, "weight": 2,
                                      "name": "POST /api/items?x={i}", "expect": [201], "auth": True}
    assert config["endpoints"][1]["name"] == "健康检查"


STATS = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,GET /,579,0,2,3.29,1.20,11.91,368.0,289.35,0.0,2,3,4,5,7,8,8,9,12,12,12
GET,missing,554,554,2,3.43,1.01,16.41,335.0,276.86,276.86,2,4,5,5,7,8,9,11,16,16,16
,Aggregated,1133,554,2,3.36,1.01,16.41,351.86,566.21,276.86,2,4,4,5,7,8,8,10,13,16,16
"""
HISTORY = """Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size
1700000000,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0.0,0,0,0
1700000001,2,GET,GET /,12.0,0.0,2,2,2,2,2,2,2,2,2,2,2,395,0,2,2.5,1.2,11.2,368.0
1700000001,2,,Aggregated,20.5,3.0,2,2,2,2,2,3,3,4,4,4,4,755,360,2,2.53,1.01,16.41,352.26
"""
FAILURES = """Method,Name,Error,Occurrences,First Seen,Last Seen
GET,missing,HTTPError('404 Client Error: File not found for url: missing'),554,2026-01-01T00:00:00Z,2026-01-01T00:00:02Z
"""


def test_csv_parsing(tmp_path):
    prefix = tmp_path / "locust"
    (tmp_path / "locust_stats.csv").write_text(STATS)
    (tmp_path / "locust_stats_history.csv").write_text(HISTORY)
    (tmp_path / "locust_failures.csv").write_text(FAILURES)
    total, endpoints = read_stats(prefix)
    assert (total.requests, total.failures, total.rps) == (1133, 554, 566.21)
    assert total.percentiles == {"p50_ms": 2.0, "p90_ms": 7.0, "p95_ms": 8.0, "p99_ms": 10.0}
    assert total.max_ms == 16.41 and round(total.failure_ratio, 2) == 48.9
    assert [e.name for e in endpoints] == ["GET /", "missing"]
    history = read_history(prefix)
    assert [p["t"] for p in history] == [0, 1] and history[1]["p95_ms"] == 3.0
    assert history[0]["p95_ms"] is None and history[1]["requests"] == 755
    assert read_failures(prefix)[0]["occurrences"] == 554
    (tmp_path / "locust_stats.csv").write_text(STATS.splitlines()[0] + "\n")
    with pytest.raises(LocustCsvError, match="no Aggregated row"):
        read_stats(prefix)
    with pytest.raises(LocustCsvError, match="no other_stats.csv"):
        read_stats(tmp_path / "other")


@pytest.mark.parametrize("args, message", [
    ({}, "exactly one of locustfile or endpoints"),
    ({"locustfile": "perf/locustfile.py", "endpoints": [{"path": "/"}]}, "exactly one of"),
    ({"endpoints": []}, "endpoints is empty"),
    ({"locustfile": "perf/locustfile.py", "wait_time": 1}, "a locustfile sets its own"),
    ({"locustfile": "../elsewhere/locustfile.py"}, "escapes the repository"),
    ({"endpoints": [{"path": "api"}]}, "must start with a single '/'"),
    ({"endpoints": [{"path": "/", "method": "GET /x"}]}, "bad HTTP method"),
    ({"endpoints": [{"path": "/"}], "wait_time": [2, 1]}, "wait_time must be"),
    ({"endpoints": [{"path": "/"}], "run_time": "forever"}, "bad duration"),
    ({"endpoints": [{"path": "/"}], "users": 0}, "greater than or equal to 1"),
    ({"endpoints": [{"path": "/"}], "host": "http://example.com"}, "Extra inputs"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        LocustProbe.Args.model_validate(args)


def _no_locust_left(evidence_dir) -> bool:
    for proc in psutil.process_iter(["cmdline"]):
        if any(str(evidence_dir) in part for part in proc.info["cmdline"] or ()):
            return False
    return True


@pytest.mark.slow
def test_sample_meets_and_weak_misses_a_response_time_target(tmp_path):
    args = {"endpoints": SAMPLE_ENDPOINTS, "users": 4, "spawn_rate": 4, "run_time": "3s"}
    with fixture_service(tmp_path / "s") as svc:
        ctx = context(LocustProbe, tmp_path / "s", svc, args)
        outcome = LocustProbe().run(ctx)
    got = values(outcome)
    assert got["requests"] > 20 and got["rps"] > 5
    assert got["failure_ratio"] == 0.0
    assert got["p50_ms"] <= got["p95_ms"] <= got["p99_ms"] <= got["max_ms"] + 1
    assert got["p95_ms"] < 200  # a target of "<= 200 ms" is met
    assert ROUNDING_NOTE in outcome.notes
    assert {"locustfile_generated.py", "locust_stats.csv", "locust_stats_history.csv",
            "locust_failures.csv", "locust-report.html"} <= {p.split("/")[-1] for p in outcome.evidence}
    for rel in outcome.evidence:
        assert (ctx.run_dir / rel).is_file()
    assert {e["name"] for e in outcome.details["endpoints"]} == {"GET /api/items", "POST /api/items"}
    assert outcome.details["history"] and outcome.commands[0][1] == "--headless"
    assert "127.0.0.1" in outcome.commands[0][outcome.commands[0].index("--host") + 1]

    weak_args = {"endpoints": [{"path": "/api/items"}], "users": 2, "spawn_rate": 2, "run_time": "3s"}
    with fixture_service(tmp_path / "w", "weak") as svc:
        weak = LocustProbe().run(context(LocustProbe, tmp_path / "w", svc, weak_args))
    assert values(weak)["p50_ms"] >= 200  # GET /api/items sleeps 0.2 s: "<= 200 ms" at p95 is missed
    assert values(weak)["p95_ms"] >= 200


@pytest.mark.slow
def test_product_locustfile_with_local_workers(tmp_path):
    args = {"locustfile": "perf/locustfile.py", "users": 4, "spawn_rate": 4, "run_time": "3s",
            "workers": 2}
    with fixture_service(tmp_path) as svc:
        ctx = context(LocustProbe, tmp_path, svc, args)
        outcome = LocustProbe().run(ctx)
    assert values(outcome)["requests"] > 10 and values(outcome)["failure_ratio"] == 0.0
    master, *workers = outcome.commands
    assert len(workers) == 2 and "--master" in master
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    assert all(w[w.index("--master-host") + 1] == "127.0.0.1" for w in workers)
    assert {"GET /api/items", "POST /api/items"} <= {e["name"] for e in outcome.details["endpoints"]}
    assert any(p.endswith("locust-worker2.stderr.txt") for p in outcome.evidence)
    assert _no_locust_left(ctx.evidence_dir)


@pytest.mark.slow
def test_locustfile_with_a_syntax_error(tmp_path):
    repo = script_repo(tmp_path, "locustfile.py", "from locust import HttpUser\nclass U(HttpUser)\n    pass\n")
    with fixture_service(tmp_path) as svc:
        ctx = context(LocustProbe, tmp_path, svc, {"locustfile": "locustfile.py", "run_time": 2},
                      repo=repo)
        with pytest.raises(ProbeError) as err:
            LocustProbe().run(ctx)
    assert "without statistics" in err.value.reason
    assert "SyntaxError" in err.value.tail
    assert _no_locust_left(ctx.evidence_dir)


@pytest.mark.slow
def test_unreachable_service(tmp_path):
    # Ready on TCP, but every connection is closed at once: no request gets an answer.
    repo = script_repo(tmp_path, "closer.py", """
        import socket, sys
        server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
        while True:
            conn, _ = server.accept()
            conn.close()
    """)
    config = ServiceConfig(command=["{python}", "closer.py", "{port}"], ready="tcp://127.0.0.1:{port}")
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        ctx = context(LocustProbe, tmp_path, svc, {"endpoints": [{"path": "/"}], "users": 1,
                                                   "run_time": 2})
        with pytest.raises(ProbeError, match="no request reached the service at http://127.0.0.1:"):
            LocustProbe().run(ctx)
        svc.kill()
        with pytest.raises(ProbeError, match="the service is not running"):
            LocustProbe().run(ctx)


def test_without_a_service(tmp_path):
    ctx = context(LocustProbe, tmp_path, None, {"endpoints": [{"path": "/"}]})
    with pytest.raises(ProbeError, match="declare a service: section"):
        LocustProbe().run(ctx)
