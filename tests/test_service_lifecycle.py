"""Service lifecycle: start, readiness, stop on every exit path, no orphan processes, bad input."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from support import default_signals
from support.live_service import fixture_service, gone, script_repo
from verifier.errors import ToolError
from verifier.service import Service, ServiceConfig, ServiceError

# A service that spawns a child in its group and a grandchild that leaves it (new session), writes
# their pids, and accepts TCP connections; with "stubborn" it ignores SIGTERM.
SPAWNING = """
import os, signal, socket, subprocess, sys
port, pid_file, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
child = subprocess.Popen(sleeper)
escaped = subprocess.Popen(sleeper, start_new_session=True)
with open(pid_file, "w") as handle:
    handle.write(f"{os.getpid()} {child.pid} {escaped.pid}")
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.close()
"""


def _spawning(tmp_path: Path, mode: str = "polite", **extra) -> tuple[Service, Path]:
    repo = script_repo(tmp_path, "svc.py", SPAWNING)
    pid_file = tmp_path / "pids.txt"
    config = ServiceConfig(command=["{python}", "svc.py", "{port}", str(pid_file), mode],
                           ready="tcp://127.0.0.1:{port}", ready_timeout=15, **extra)
    return Service(config, repo=repo, log_dir=tmp_path / "logs"), pid_file


def _pids(pid_file: Path) -> list[int]:
    return [int(p) for p in pid_file.read_text().split()]


def test_stop_leaves_no_process_even_one_that_left_the_group(tmp_path):
    service, pid_file = _spawning(tmp_path)
    with service as svc:
        pids = _pids(pid_file)
        assert svc.pid == pids[0]
        assert not any(gone(p) for p in pids)
        assert {pids[0], pids[1]} <= {p.pid for p in svc.processes()}
    assert all(gone(p) for p in pids), pids
    assert service.log_files[0].read_text() == "listening\n"


def test_error_inside_the_block_still_kills_everything(tmp_path):
    service, pid_file = _spawning(tmp_path)
    with pytest.raises(RuntimeError), service:
        pids = _pids(pid_file)
        raise RuntimeError("probe failed")
    assert all(gone(p) for p in pids)


def test_sigterm_ignored_means_sigkill_after_grace_period(tmp_path):
    service, pid_file = _spawning(tmp_path, "stubborn", grace_period=0.5)
    service.start()
    pids = _pids(pid_file)
    began = time.monotonic()
    service.stop()
    assert time.monotonic() - began < 4
    assert all(gone(p) for p in pids)


HARNESS = """
import sys, time
from pathlib import Path
from verifier.service import Service, ServiceConfig
repo, pid_file, logs = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = ServiceConfig(command=["{python}", "svc.py", "{port}", pid_file, "polite"],
                       ready="tcp://127.0.0.1:{port}")
with Service(config, repo=repo, log_dir=logs):
    print("ready", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_to_the_harness_cleans_up(tmp_path, sig):
    repo = script_repo(tmp_path, "svc.py", SPAWNING)
    pid_file = tmp_path / "pids.txt"
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(repo), str(pid_file),
                                str(tmp_path / "logs")], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parent.parent, preexec_fn=default_signals)
    try:
        assert harness.stdout.readline().strip() == "ready"
        pids = _pids(pid_file)
        harness.send_signal(sig)
        harness.wait(timeout=15)
    finally:
        harness.kill()
        harness.wait()
    assert all(gone(p) for p in pids), (sig, pids)


def test_command_that_exits_at_once_is_an_error_with_its_log_tail(tmp_path):
    config = ServiceConfig(command=["{python}", "-c", "import sys; print('fatal: no config file',"
                                    " file=sys.stderr); sys.exit(3)"], ready="tcp://127.0.0.1:{port}")
    service = Service(config, repo=tmp_path, log_dir=tmp_path / "logs")
    began = time.monotonic()
    with pytest.raises(ServiceError) as err:
        service.start()
    assert time.monotonic() - began < 10
    assert "exited with status 3 before it became ready" in str(err.value)
    assert "fatal: no config file" in err.value.tail
    assert isinstance(err.value, ToolError)


def test_never_ready_times_out_and_kills_it(tmp_path):
    config = ServiceConfig(command=["{python}", "-c", "import time; print('warming up', flush=True); "
                                    "time.sleep(600)"], ready="http://127.0.0.1:{port}/health",
                           ready_timeout=1.0)
    service = Service(config, repo=tmp_path, log_dir=tmp_path / "logs")
    began = time.monotonic()
    with pytest.raises(ServiceError) as err:
        service.start()
    assert time.monotonic() - began < 8
    assert "not ready at http://127.0.0.1:" in str(err.value) and "after 1 s" in str(err.value)
    assert "warming up" in err.value.tail
    assert not service.alive() and service.processes() == []


def test_declared_port_already_taken(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = ServiceConfig(command="{python} -m http.server {port} --bind 127.0.0.1", port=port)
        with pytest.raises(ServiceError, match=f"port {port} on 127.0.0.1 is already in use"):
            Service(config, repo=tmp_path, log_dir=tmp_path / "logs").start()


def test_service_that_cannot_bind_its_port_reports_why(tmp_path):
    # The product ignores {port} and binds one that is taken: it dies, and its own message is shown.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        config = ServiceConfig(command=f"{{python}} -m http.server {taken} --bind 127.0.0.1",
                               ready="tcp://127.0.0.1:{port}", ready_timeout=10)
        with pytest.raises(ServiceError) as err:
            Service(config, repo=tmp_path, log_dir=tmp_path / "logs").start()
    assert "exited with status 1" in str(err.value)
    assert "Address already in use" in err.value.tail


def test_missing_executable_and_missing_cwd(tmp_path):
    missing = ServiceConfig(command="no-such-program-verifier --port {port}")
    with pytest.raises(ServiceError, match="cannot start service command 'no-such-program-verifier'"):
        Service(missing, repo=tmp_path, log_dir=tmp_path / "logs").start()
    nowhere = ServiceConfig(command="{python} -V", cwd="not/there")
    with pytest.raises(ServiceError, match="service.cwd 'not/there' is not a directory"):
        Service(nowhere, repo=tmp_path, log_dir=tmp_path / "logs").start()


def test_fixture_service_ready_restart_memory(tmp_path):
    with fixture_service(tmp_path) as svc:
        with urllib.request.urlopen(svc.url("/health"), timeout=5) as resp:
            assert json.load(resp) == {"status": "ok"}
        port, first_pid = svc.port, svc.pid
        assert svc.listener_pids() == [first_pid]
        assert 5 < svc.rss_mb() < 500
        assert svc.restart() < 20
        second_pid = svc.pid
        assert svc.port == port and second_pid != first_pid and gone(first_pid)
        assert (tmp_path / "data" / "store.db").exists()
        assert svc.starts == 2 and len(svc.log_files) == 4
        assert "listening on http://127.0.0.1:" in svc.log_files[2].read_text()
    assert not svc.alive() and gone(second_pid)


def test_env_is_scrubbed_and_declared_env_is_passed(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "leak-me")
    script = textwrap.dedent("""
        import os, sys
        print(os.environ.get("SECRET_TOKEN"), os.environ.get("APP_PORT"), os.environ.get("APP_DATA"))
        sys.stdout.flush()
        import http.server
        http.server.test(HandlerClass=http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]),
                         bind="127.0.0.1")
    """)
    repo = script_repo(tmp_path, "env_svc.py", script)
    config = ServiceConfig(command=["{python}", "env_svc.py", "{port}"], ready="http://127.0.0.1:{port}/",
                           env={"APP_PORT": "{port}", "APP_DATA": "{data_dir}"})
    with Service(config, repo=repo, log_dir=tmp_path / "logs", data_dir=tmp_path / "d") as svc:
        pass
    first_line = svc.log_files[0].read_text().splitlines()[0]
    assert first_line == f"None {svc.port} {tmp_path / 'd'}"


@pytest.mark.parametrize("fields, message", [
    ({"command": ""}, "command is empty"),
    ({"command": []}, "command is empty"),
    ({"command": "serve --port {prot}"}, "unknown placeholder {prot}"),
    ({"command": "x", "ready": "http://10.0.0.5:{port}/health"}, "must point at loopback"),
    ({"command": "x", "ready": "ftp://127.0.0.1:{port}"}, "must start with http:// or tcp://"),
    ({"command": "x", "ready": "http://127.0.0.1/health"}, "needs a port"),
    ({"command": "x", "cwd": "../outside"}, "escapes the repository"),
    ({"command": "x", "cwd": "/etc"}, "is absolute"),
    ({"command": "x", "stop_signal": "SIGSEGV"}, "stop_signal 'SIGSEGV' is not one of"),
    ({"command": "x", "ready_timeout": "soon"}, "bad duration 'soon'"),
    ({"command": "x", "grace_period": -1}, "duration must be positive"),
    ({"command": "x", "env": {"BAD NAME": "1"}}, "bad environment variable name"),
    ({"command": "x", "port": 70000}, "less than or equal to 65535"),
    ({"command": "x", "restart": "always"}, "Extra inputs are not permitted"),
])
def test_config_rejects(fields, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("(", r"\(")):
        ServiceConfig.model_validate(fields)


def test_config_accepts_durations_and_signal_names():
    config = ServiceConfig(command=["serve", "--port", "{port}"], ready_timeout="1m30s",
                           grace_period="500ms", stop_signal="int")
    assert (config.ready_timeout, config.grace_period, config.stop_signal) == (90.0, 0.5, "SIGINT")
    assert config.argv({"port": "8123"}) == ["serve", "--port", "8123"]
    assert ServiceConfig(command="a 'b c' {port}").argv({"port": "1"}) == ["a", "b c", "1"]


# ---- a service behind a wrapper, and one that left the group: kill, stop, measure the real server --

SERVER = """
import os, signal, socket, sys
port, marker = int(sys.argv[1]), sys.argv[2]
def on_term(signum, frame):
    with open(marker, "a") as handle:
        handle.write(f"{os.getpid()} SIGTERM\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
payload = bytearray(30_000_000)  # 30 MB resident: the server, not its wrapper or the watchdog
payload[::4096] = b"x" * len(payload[::4096])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
while True:
    conn, _ = server.accept()
    conn.close()
"""


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def test_wrapped_service_is_killed_measured_and_restarted_as_the_real_server(tmp_path):
    repo = script_repo(tmp_path, "server.py", SERVER)
    marker = tmp_path / "terms.txt"
    config = ServiceConfig(command=["bash", "-c", f"{{python}} server.py {{port}} {marker}; echo exited"],
                           ready="tcp://127.0.0.1:{port}")
    service = Service(config, repo=repo, log_dir=tmp_path / "logs")
    with service as svc:
        wrapper = psutil.Process(svc.pid)
        assert wrapper.name() == "bash"
        [server] = svc.listener_pids()
        assert psutil.Process(server).ppid() == wrapper.pid
        watchdog = wrapper.ppid()
        assert watchdog not in {p.pid for p in svc.processes()}
        assert {wrapper.pid, server} == {p.pid for p in svc.processes()}
        server_rss = psutil.Process(server).memory_info().rss / 1e6
        assert server_rss > 30 and svc.rss_mb() >= server_rss
        svc.kill()  # the recovery probe's crash: the real server dies, the port is free at once
        assert gone(server) and gone(wrapper.pid) and gone(watchdog)
        assert _port_free(svc.port)
        svc.start()
        [again] = svc.listener_pids()
        assert again != server and psutil.Process(again).ppid() == svc.pid
    assert gone(again) and _port_free(service.port)
    assert marker.read_text() == f"{again} SIGTERM\n"  # stop: SIGTERM reached the real server


ESCAPING = """
import os, runpy, sys, time
if os.fork() == 0:
    os.setsid()  # a daemon: its own session, orphaned when the intermediate process exits
    if os.fork() == 0:
        runpy.run_path("server.py", run_name="__main__")
    os._exit(0)
time.sleep(600)
"""


def test_stop_signal_reaches_a_daemon_that_left_the_group_and_the_port_is_freed(tmp_path):
    repo = script_repo(tmp_path, "server.py", SERVER)
    (repo / "daemon.py").write_text(textwrap.dedent(ESCAPING), encoding="utf-8")
    marker = tmp_path / "terms.txt"
    config = ServiceConfig(command=["{python}", "daemon.py", "{port}", str(marker)],
                           ready="tcp://127.0.0.1:{port}", grace_period=10)
    with Service(config, repo=repo, log_dir=tmp_path / "logs") as svc:
        [daemon] = svc.listener_pids()
        assert os.getsid(daemon) != os.getsid(svc.pid) and daemon in {p.pid for p in svc.processes()}
    assert marker.read_text() == f"{daemon} SIGTERM\n"  # a graceful stop, not a SIGKILL
    assert gone(daemon) and _port_free(svc.port)


def test_a_process_forked_from_the_harness_dies_of_sigterm_and_leaves_its_services_alone(tmp_path):
    # Reproduction: a CI run hung 600 s in multiprocessing's Pool.terminate(), joining a KB worker
    # it had sent SIGTERM. Once a service has run, the harness's SIGTERM hook is installed, and a
    # worker forked from the harness inherited it: SIGTERM ran the hook in the worker, which went to
    # kill the harness's live services (they are not its own) under a lock another thread may have
    # held at the fork, instead of dying. A forked child must die of SIGTERM like any process.
    with fixture_service(tmp_path) as svc:
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
        child.start()
        try:
            time.sleep(0.3)
            child.terminate()  # what Pool.terminate() does to its workers
            child.join(timeout=15)
            assert child.exitcode == -signal.SIGTERM, child.exitcode
            assert svc.alive() and svc.processes()
            with urllib.request.urlopen(svc.url("/health"), timeout=5) as resp:
                assert json.load(resp) == {"status": "ok"}
        finally:
            if child.is_alive():
                child.kill()
                child.join()
