"""recovery probe: SIGKILL under load, restart by the harness or by the product's supervisor."""

from __future__ import annotations

import pytest

from support.live_service import context, fixture_service, gone, script_repo, values
from verifier.builtin_probes.recovery_probe import RecoveryProbe
from verifier.service import Service, ServiceConfig

LOAD = {"requests": [{"path": "/api/items"}], "before": 1.5, "after": 1.5, "rate": 80,
        "recovery_timeout": 15}

SERVER = """
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
def serve(port):
    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
"""


@pytest.mark.slow
def test_sample_recovers_after_sigkill(tmp_path):
    with fixture_service(tmp_path) as svc:
        before_pid = svc.pid
        outcome = RecoveryProbe().run(context(RecoveryProbe, tmp_path, svc, LOAD))
        assert svc.alive() and svc.pid != before_pid and gone(before_pid)
    got = values(outcome)
    assert outcome.error is None
    assert 0 < got["recovery_seconds"] < 10
    assert got["failures_after_recovery"] == 0
    assert got["failed_requests"] >= 0
    assert [e["event"] for e in outcome.details["events"]] == ["SIGKILL", "ready"]
    assert outcome.details["requests"]["before"] > 50 and outcome.details["requests"]["after"] > 50
    assert outcome.details["timeline"][0]["t"] == 0.0


@pytest.mark.slow
def test_service_that_cannot_restart_after_a_crash(tmp_path):
    # A realistic defect: a lock file left behind by the crash stops the next start.
    repo = script_repo(tmp_path, "locked.py", SERVER + """
lock = os.path.join(sys.argv[2], "service.lock")
if os.path.exists(lock):
    sys.exit("stale lock file " + lock + ", refusing to start")
open(lock, "w").write(str(os.getpid()))
serve(int(sys.argv[1]))
""")
    config = ServiceConfig(command=["{python}", "locked.py", "{port}", "{data_dir}"],
                           ready="http://127.0.0.1:{port}/")
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        outcome = RecoveryProbe().run(context(RecoveryProbe, tmp_path, svc, {**LOAD, "requests": [{"path": "/"}]}))
    assert values(outcome)["recovery_seconds"] is None
    assert outcome.error.startswith("the service did not recover after SIGKILL: service exited with status 1")
    assert "stale lock file" in outcome.error
    assert values(outcome)["failed_requests"] > 0


@pytest.mark.slow
def test_products_own_supervisor_restarts_the_worker(tmp_path):
    repo = script_repo(tmp_path, "worker.py", SERVER + "serve(int(sys.argv[1]))\n")
    (repo / "supervisor.py").write_text(
        "import subprocess, sys, time\n"
        "while True:\n"
        "    subprocess.run([sys.executable, 'worker.py', sys.argv[1]])\n"
        "    time.sleep(0.5)\n")
    config = ServiceConfig(command=["{python}", "supervisor.py", "{port}"], ready="http://127.0.0.1:{port}/")
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        supervisor = svc.pid
        (worker,) = svc.listener_pids()
        outcome = RecoveryProbe().run(context(RecoveryProbe, tmp_path, svc,
                                              {**LOAD, "requests": [{"path": "/"}], "restart": "supervisor"}))
        assert svc.pid == supervisor and gone(worker)
        assert svc.listener_pids() and svc.listener_pids() != [worker]
    assert 0.5 <= values(outcome)["recovery_seconds"] < 5
    assert values(outcome)["failures_after_recovery"] == 0
