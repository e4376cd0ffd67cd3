"""robustness probe: malformed requests get 4xx from the sample, 5xx from the weak service."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from support.live_service import (
    ROBUSTNESS_ARGS,
    ROBUSTNESS_ENDPOINTS,
    context,
    fixture_service,
    script_repo,
    values,
)
from verifier.builtin_probes._http import HttpRequest
from verifier.builtin_probes.robustness_probe import KINDS, RobustnessProbe, generate_cases
from verifier.service import Service, ServiceConfig


def test_generated_cases_cover_every_kind_and_are_deterministic():
    endpoints = [HttpRequest.model_validate(e) for e in ROBUSTNESS_ENDPOINTS]
    cases = generate_cases(endpoints, oversize_bytes=4096, skip=set())
    assert {c.kind for c in cases} == set(KINDS)
    assert [c.name for c in cases] == [c.name for c in generate_cases(endpoints, oversize_bytes=4096, skip=set())]
    oversize = next(c for c in cases if c.kind == "oversize")
    assert len(oversize.body) > 4096 and json.loads(oversize.body)["padding"] == "x" * 4096
    bad_utf8 = next(c for c in cases if c.kind == "bad_utf8")
    with pytest.raises(UnicodeDecodeError):
        bad_utf8.body.decode("utf-8")
    wrong = [json.loads(c.body) for c in cases if c.kind == "wrong_field_type" and c.path == "/api/items"]
    assert {"sku": ["not", "a", "string"], "name": "测试货品 1", "quantity": 1} in wrong
    assert {"sku": "T-robust", "name": "测试货品 1", "quantity": "not-a-number"} in wrong
    methods = {(c.method, c.path) for c in cases if c.kind == "undeclared_method"}
    assert ("DELETE", "/api/items/1") in methods and ("GET", "/api/items") not in methods
    assert {c.path for c in cases if c.kind == "bad_path_param"} >= {"/api/items/abc", "/api/items/-1/stock"}
    skipped = generate_cases(endpoints, oversize_bytes=4096, skip={"undeclared_method", "oversize"})
    assert not {c.kind for c in skipped} & {"undeclared_method", "oversize"}


def test_sample_answers_every_malformed_request_with_4xx(tmp_path):
    with fixture_service(tmp_path) as svc:
        ctx = context(RobustnessProbe, tmp_path, svc, ROBUSTNESS_ARGS)
        outcome = RobustnessProbe().run(ctx)
    got = values(outcome)
    assert got == {"share_4xx": 100.0, "non4xx": 0, "cases": got["cases"], "crashes": 0, "not_exercised": 0}
    assert got["cases"] > 40 and outcome.findings == ()
    log = [json.loads(line) for line in (ctx.run_dir / outcome.evidence[0]).read_text().splitlines()]
    assert len(log) == got["cases"] and {e["status"] for e in log} <= set(range(400, 500))
    assert {e["status"] for e in log if e["kind"] == "oversize"} == {413}


def test_weak_answers_bad_input_with_5xx(tmp_path):
    with fixture_service(tmp_path, "weak") as svc:
        outcome = RobustnessProbe().run(context(RobustnessProbe, tmp_path, svc, ROBUSTNESS_ARGS))
        assert svc.alive()
    got = values(outcome)
    assert got["share_4xx"] < 60 and got["non4xx"] == len(outcome.findings) > 10
    statuses = {f.extra["status"] for f in outcome.findings}
    assert 500 in statuses and 501 in statuses
    bad_json = next(f for f in outcome.findings if f.rule == "bad_json")
    assert bad_json.severity == "high" and bad_json.extra["request_excerpt"].startswith('{"sku"')
    assert bad_json.extra["response_excerpt"]


def test_a_crash_is_counted_and_the_service_restarted(tmp_path):
    repo = script_repo(tmp_path, "brittle.py", """
        import http.server, json, os, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    json.loads(data)
                except ValueError:
                    print("fatal: cannot parse", flush=True)
                    os._exit(70)
                self.send_response(422); self.send_header("Content-Length", "0"); self.end_headers()
            def do_GET(self):
                self.send_response(404 if self.path != "/" else 200)
                self.send_header("Content-Length", "0"); self.end_headers()
            def log_message(self, *a):
                pass
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    """)
    config = ServiceConfig(command=["{python}", "brittle.py", "{port}"], ready="http://127.0.0.1:{port}/")
    args = {"endpoints": [{"method": "POST", "path": "/submit", "body": {"n": 1}}],
            "skip": ["undeclared_method", "bad_percent_encoding"]}
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        outcome = RobustnessProbe().run(context(RobustnessProbe, tmp_path, svc, args))
        assert svc.alive() and svc.starts > 1
    got = values(outcome)
    assert got["crashes"] == svc.starts - 1 == 3  # truncated JSON, not JSON, empty body
    died = [f for f in outcome.findings if f.extra["service_died"]]
    assert sorted(f.rule for f in died) == ["bad_json", "empty_body", "not_json"]
    assert all(f.severity == "high" for f in died)
    assert outcome.error is None and got["non4xx"] >= got["crashes"]


@pytest.mark.parametrize("args, message", [
    ({}, "declare endpoints"),
    ({"endpoints": [{"path": "/"}], "skip": ["sql_injection"]}, "unknown kind"),
    ({"cases": [{"path": "/", "body": {}, "raw": "x"}]}, "body or raw, not both"),
    ({"cases": [{"path": "nope"}]}, "must start with a single '/'"),
    ({"endpoints": [{"path": "/"}], "oversize_bytes": 10}, "greater than or equal to 1024"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValidationError, match=message):
        RobustnessProbe.Args.model_validate(args)
