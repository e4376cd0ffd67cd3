"""The fixture services honour (sample) or break (weak) the HTTP contract of notes/contracts.md.

Each test starts the real service on a free 127.0.0.1 port with its documented command,
talks to it over loopback with a timeout on every wait, and kills its process group on
every exit path.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from support.fixture_expectations import (
    MAX_BODY_BYTES,
    SAMPLE_MODULE,
    SAMPLE_READY_LINE,
    SAMPLE_ROOT,
    WEAK_5XX_METHODS,
    WEAK_LEAK_BYTES_PER_REQUEST,
    WEAK_LIST_DELAY_S,
    WEAK_MODULE,
    WEAK_READY_LINE,
    WEAK_ROOT,
)

READY_TIMEOUT_S = 15
STOP_TIMEOUT_S = 10


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Service:
    """A started fixture service: its process, port and a small HTTP client."""

    def __init__(self, root: Path, module: str, db: Path, log: Path, ready_line: str):
        self.root, self.module, self.db, self.log, self.ready_line = root, module, db, log, ready_line
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, port: int | None = None) -> _Service:
        self.port = port or _free_port()
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, "--port", str(self.port), "--db", str(self.db)],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.module} exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if self.ready_line in self.log.read_text(errors="replace"):
                try:
                    if self.call("GET", "/health")[0] == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"{self.module} not ready in {READY_TIMEOUT_S}s: {self.log.read_text()[-2000:]}")

    def call(self, method: str, path: str, body: bytes | dict | list | None = None,
             headers: dict | None = None) -> tuple[int, bytes]:
        """One request on a fresh connection; returns (status, body)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None):
        """Like call(), with the body decoded as JSON."""
        status, data = self.call(method, path, body, {"Content-Type": "application/json"})
        return status, json.loads(data) if data else None

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` and wait for the exit code (the group is killed if it hangs)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self.proc = None
        return code

    def kill(self) -> None:
        """Kill the whole process group, whatever state it is in."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=STOP_TIMEOUT_S)
        self.proc = None


@contextmanager
def _running(root: Path, module: str, ready_line: str, tmp_path: Path):
    service = _Service(root, module, tmp_path / "service.db", tmp_path / "service.log", ready_line)
    try:
        yield service.start()
    finally:
        service.kill()


@pytest.fixture
def sample(tmp_path):
    """The sample inventory service, started on a fresh database."""
    with _running(SAMPLE_ROOT, SAMPLE_MODULE, SAMPLE_READY_LINE, tmp_path) as service:
        yield service


@pytest.fixture(scope="module")
def shared_sample(tmp_path_factory):
    """One sample service for the read-only and bad-input tests of this module."""
    with _running(SAMPLE_ROOT, SAMPLE_MODULE, SAMPLE_READY_LINE, tmp_path_factory.mktemp("shared")) as service:
        yield service


@pytest.fixture
def weak(tmp_path):
    """The weak service, started on a fresh database."""
    with _running(WEAK_ROOT, WEAK_MODULE, WEAK_READY_LINE, tmp_path) as service:
        yield service


def _sku() -> str:
    return f"FX-{uuid.uuid4().hex[:10]}"


# -- sample: the contract ----------------------------------------------------------------

def test_sample_good_requests(sample):
    assert sample.json("GET", "/health") == (200, {"status": "ok"})
    assert sample.json("GET", "/api/items") == (200, [])
    sku = _sku()
    status, item = sample.json("POST", "/api/items", {"sku": sku, "name": "托盘", "quantity": 4})
    assert status == 201
    assert item == {"id": item["id"], "sku": sku, "name": "托盘", "quantity": 4}
    assert sample.json("GET", f"/api/items/{item['id']}") == (200, item)
    assert sample.json("GET", "/api/items") == (200, [item])
    status, moved = sample.json("POST", f"/api/items/{item['id']}/stock", {"delta": -3})
    assert (status, moved["quantity"]) == (200, 1)
    status, moved = sample.json("POST", f"/api/items/{item['id']}/stock", {"delta": 9})
    assert (status, moved["quantity"]) == (200, 10)


def test_sample_conflicts_and_missing(sample):
    sku = _sku()
    status, item = sample.json("POST", "/api/items", {"sku": sku, "name": "箱", "quantity": 2})
    assert status == 201
    assert sample.json("POST", "/api/items", {"sku": sku, "name": "箱", "quantity": 1})[0] == 409
    assert sample.json("POST", f"/api/items/{item['id']}/stock", {"delta": -3})[0] == 409
    assert sample.json("GET", f"/api/items/{item['id']}")[1]["quantity"] == 2
    assert sample.json("GET", "/api/items/424242")[0] == 404
    assert sample.json("POST", "/api/items/424242/stock", {"delta": 1})[0] == 404


@pytest.mark.parametrize("method, path, body, expected", [
    ("POST", "/api/items", b"{not json", 400),
    ("POST", "/api/items", b"", 400),
    ("POST", "/api/items", b"\xff\xfe\xfd", 400),
    ("POST", "/api/items", b"[]", 400),
    ("POST", "/api/items", b'{"sku": "A"}', 400),
    ("POST", "/api/items", b'{"sku": 1, "name": "n", "quantity": 1}', 400),
    ("POST", "/api/items", b'{"sku": "A", "name": "n", "quantity": "1"}', 400),
    ("POST", "/api/items", b'{"sku": "A", "name": "n", "quantity": -1}', 400),
    ("POST", "/api/items", b'{"sku": "A", "name": "n", "quantity": 1e400}', 400),
    ("POST", "/api/items", b"[" * 50000, 400),
    ("POST", "/api/items/1/stock", b'{"delta": "x"}', 400),
    ("GET", "/api/items/abc", None, 404),
    ("GET", "/api/items/99999999999999999999999999", None, 404),
    ("GET", "/no/such/route", None, 404),
    ("GET", "/static/../../../etc/passwd", None, 404),
    ("DELETE", "/api/items", None, 405),
    ("PUT", "/api/items/1", b"{}", 405),
    ("PATCH", "/health", None, 405),
    ("FOO", "/api/items", None, 405),
])
def test_sample_bad_input_is_4xx(shared_sample, method, path, body, expected):
    status, data = shared_sample.call(method, path, body)
    assert status == expected, data
    assert "error" in json.loads(data)


def test_sample_body_limit_is_64_kib(shared_sample):
    sample = shared_sample
    over = b'{"sku": "' + b"A" * MAX_BODY_BYTES + b'", "name": "n", "quantity": 1}'
    status, data = sample.call("POST", "/api/items", over)
    assert status == 413
    assert json.loads(data)["error"] == "payload_too_large"
    # A body of exactly 64 KiB is read and judged on its content (here: not valid JSON).
    assert sample.call("POST", "/api/items", b" " * MAX_BODY_BYTES)[0] == 400
    assert sample.call("GET", "/health")[0] == 200


def test_sample_raw_garbage_never_gets_5xx(shared_sample):
    sample = shared_sample
    for raw in (b"garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n",
                b"GET /health HTTP/1.1\r\nContent-Length: nope\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", sample.port), timeout=5) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert not reply.startswith(b"HTTP/1.1 5"), (raw, reply[:200])
    assert sample.call("GET", "/health")[0] == 200


def test_sample_binds_loopback_only(sample):
    listening = [c for c in psutil.Process(sample.proc.pid).net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN]
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", sample.port)]


def test_sample_persists_across_sigterm_restart(sample):
    sku = _sku()
    status, item = sample.json("POST", "/api/items", {"sku": sku, "name": "重启", "quantity": 3})
    assert status == 201
    assert sample.stop(signal.SIGTERM) == 0
    sample.start(sample.port)
    assert sample.json("GET", "/api/items") == (200, [item])


def test_sample_acknowledged_writes_survive_sigkill(sample):
    created = [sample.json("POST", "/api/items", {"sku": _sku(), "name": "崩溃", "quantity": n})[1]
               for n in range(20)]
    assert sample.json("POST", f"/api/items/{created[0]['id']}/stock", {"delta": 5})[0] == 200
    sample.stop(signal.SIGKILL)
    sample.start()
    status, items = sample.json("GET", "/api/items")
    assert status == 200
    assert [i["sku"] for i in items] == [c["sku"] for c in created]
    assert items[0]["quantity"] == 5


def test_sample_refuses_a_taken_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", SAMPLE_MODULE, "--port", str(port), "--db", str(tmp_path / "x.db")],
            cwd=SAMPLE_ROOT, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
            capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- weak: the same routes, failing figures ----------------------------------------------

def test_weak_good_requests_work(weak):
    assert weak.json("GET", "/health") == (200, {"status": "ok"})
    sku = _sku()
    status, item = weak.json("POST", "/api/items", {"sku": sku, "name": "螺母", "quantity": 2})
    assert status == 201
    assert weak.json("GET", f"/api/items/{item['id']}") == (200, item)


@pytest.mark.parametrize("body", [b"{not json", b"", b'{"sku": "A"}', b'{"sku": "A", "name": "n", "quantity": "x"}'])
def test_weak_bad_input_is_500(weak, body):
    status, data = weak.call("POST", "/api/items", body)
    assert status == 500
    assert "Traceback" in json.loads(data)["trace"]


def test_weak_bad_id_and_methods_are_5xx(weak):
    assert weak.call("GET", "/api/items/abc")[0] == 500
    for method in WEAK_5XX_METHODS:
        assert weak.call(method, "/api/items")[0] == 501


def test_weak_goods_out_goes_negative(weak):
    _, item = weak.json("POST", "/api/items", {"sku": _sku(), "name": "链条", "quantity": 1})
    assert weak.json("POST", f"/api/items/{item['id']}/stock", {"delta": -5}) == (200, dict(item, quantity=-4))


def test_weak_loses_unflushed_writes_on_sigkill(weak):
    skus = [_sku() for _ in range(5)]
    for sku in skus:
        assert weak.json("POST", "/api/items", {"sku": sku, "name": "丢失", "quantity": 1})[0] == 201
    assert {i["sku"] for i in weak.json("GET", "/api/items")[1]} >= set(skus)
    weak.stop(signal.SIGKILL)
    weak.start()
    assert weak.json("GET", "/api/items") == (200, [])


def test_weak_keeps_writes_on_sigterm(weak):
    sku = _sku()
    assert weak.json("POST", "/api/items", {"sku": sku, "name": "保留", "quantity": 1})[0] == 201
    assert weak.stop(signal.SIGTERM) == 0
    weak.start()
    assert [i["sku"] for i in weak.json("GET", "/api/items")[1]] == [sku]


def test_weak_list_is_slow(weak):
    started = time.monotonic()
    assert weak.call("GET", "/api/items")[0] == 200
    assert time.monotonic() - started >= WEAK_LIST_DELAY_S


def test_weak_leaks_memory_per_request(weak):
    process = psutil.Process(weak.proc.pid)
    for _ in range(20):
        weak.call("GET", "/health")
    before = process.memory_info().rss
    requests = 300
    for _ in range(requests):
        weak.call("GET", "/health")
    grown = process.memory_info().rss - before
    assert grown >= requests * WEAK_LEAK_BYTES_PER_REQUEST // 2, grown
