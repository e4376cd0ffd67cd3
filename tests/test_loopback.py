"""The harness contacts the declared loopback address only: the readiness check, the live probes'
HTTP client and the generated locustfile take a redirect as an answer and never follow it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.live_service import context, script_repo
from verifier import loopback
from verifier.builtin_probes._http import HttpRequest, send
from verifier.builtin_probes._locust_file import generate_locustfile
from verifier.service import Service, ServiceConfig

# /health answers with the status and Location given on the command line; anything else 200.
REDIRECTING = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

status, location = int(sys.argv[2]), sys.argv[3]

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/health"):
            self.send_response(status)
            self.send_header("Location", location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class Trap:
    """A listener that records every connection made to it (and answers nothing)."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections: list[tuple[str, int]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.connections.append(peer)
            conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def _other_loopback_host() -> str:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.2", 0))
            return "127.0.0.2"
        except OSError:
            return "127.0.0.1"  # another port on the same address is the next best thing


@pytest.fixture(params=["other-address", "same-address"])
def trap(request) -> Iterator[Trap]:
    """A recording listener on another loopback address (127.0.0.2) or another port."""
    trap = Trap(_other_loopback_host() if request.param == "other-address" else "127.0.0.1")
    yield trap
    trap.close()


@contextlib.contextmanager
def redirecting_service(tmp_path: Path, location: str, status: int = 302) -> Iterator[Service]:
    repo = script_repo(tmp_path, "redirecting.py", REDIRECTING)
    config = ServiceConfig(command=["{python}", "redirecting.py", "{port}", str(status), location],
                           ready="http://127.0.0.1:{port}/health", ready_timeout=10)
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        yield svc


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_readiness_takes_a_redirect_as_up_and_does_not_follow_it(tmp_path, trap, status):
    location = f"http://{trap.host}:{trap.port}/health"
    with redirecting_service(tmp_path, location, status) as svc:
        assert svc.ready_once()
    assert trap.connections == []


@pytest.mark.parametrize("location", ["//{host}:{port}/", "http://localhost:{port}/",
                                      "http://example.invalid/health", "/elsewhere"])
def test_readiness_never_leaves_the_declared_address(tmp_path, trap, location):
    with redirecting_service(tmp_path, location.format(host=trap.host, port=trap.port)) as svc:
        assert svc.ready_once() and svc.starts == 1
    assert trap.connections == []


def test_live_probes_http_client_returns_the_redirect_and_does_not_follow_it(tmp_path, trap):
    with redirecting_service(tmp_path, f"http://{trap.host}:{trap.port}/health") as svc:
        answer = send(svc.port, "GET", "/health")
    assert answer.status == 302 and answer.error is None
    assert trap.connections == []


def test_generated_locustfile_does_not_follow_redirects():
    source = generate_locustfile([HttpRequest(path="/health")], 0.1)
    assert "allow_redirects=False" in source


@pytest.mark.slow
def test_locust_on_declared_endpoints_does_not_follow_a_redirect(tmp_path, trap):
    from verifier.builtin_probes.locust_probe import LocustProbe
    with redirecting_service(tmp_path, f"http://{trap.host}:{trap.port}/health") as svc:
        ctx = context(LocustProbe, tmp_path, svc, {"endpoints": [{"path": "/health"}], "users": 2,
                                                   "spawn_rate": 2, "run_time": "2s"})
        outcome = LocustProbe().run(ctx)
    assert outcome.details["endpoints"][0]["requests"] > 0
    assert trap.connections == []


@pytest.mark.parametrize("host, addresses", [
    ("127.0.0.1", ("127.0.0.1",)), ("127.0.0.2", ("127.0.0.2",)), ("::1", ("::1",)),
    ("[::1]", ("::1",)), ("LOCALHOST", ("127.0.0.1", "::1")),
])
def test_loopback_addresses(host, addresses):
    assert loopback.loopback_addresses(host) == addresses


@pytest.mark.parametrize("host", ["10.0.0.5", "0.0.0.0", "192.168.1.1", "::ffff:127.0.0.1",
                                  "example.com", "localhost.example.com", "127.0.0.1.nip.io", ""])
def test_anything_but_loopback_is_refused_without_a_lookup(host, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError(f"name lookup for {args[0]!r}")
    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    with pytest.raises(loopback.NotLoopbackError, match="is not a loopback address"):
        loopback.connect(host, 80, 1.0)
    with pytest.raises(loopback.NotLoopbackError):
        loopback.http_status(host, 80, "/", 1.0)


def test_request_target_cannot_smuggle_headers():
    with pytest.raises(ValueError, match="bad request target"):
        loopback.http_status("127.0.0.1", 1, "/health HTTP/1.1\r\nHost: evil", 1.0)
    with pytest.raises(ValueError, match="whitespace or control characters"):
        ServiceConfig(command="x", ready="http://127.0.0.1:{port}/he alth")


def test_nothing_listening_is_not_ready(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        assert loopback.http_status("127.0.0.1", port, "/", 1.0) is None
        with pytest.raises(OSError):
            loopback.connect("localhost", port, 1.0)
