"""A harness killed with SIGKILL leaves no process behind: the service under test, Locust, every
tool, and everything they spawned — through a wrapper, a double fork, a new session — die with it
(the watchdog of ``verifier.proc.ProcessTree``), and the port is free again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from support import FIXTURES


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _cmdline(proc: psutil.Process | int) -> str:
    try:
        return " ".join((psutil.Process(proc) if isinstance(proc, int) else proc).cmdline())
    except psutil.Error:  # gone, or a zombie not reaped yet
        return ""


@pytest.mark.slow
def test_sigkilled_harness_leaves_no_service_or_locust_running(tmp_path: Path) -> None:
    out = tmp_path / "run"
    verifier = Path(sys.executable).with_name("verifier")
    harness = subprocess.Popen(
        [str(verifier), "run", str(FIXTURES / "sample-delivery" / "acceptance.yaml"),
         "--only", "PERF-1", "--out", str(out), "--quiet", "--no-cache"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and harness.poll() is None:
            kids = psutil.Process(harness.pid).children(recursive=True)
            names = " ".join(_cmdline(k) for k in kids)
            if "inventory_api" in names and "locust" in names:  # service up, load running
                children = [k.pid for k in kids]
                break
            time.sleep(0.2)
        assert children, "the service and Locust never both ran"
    finally:
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait(timeout=30)
    deadline = time.monotonic() + 15
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _alive(children)
    described = [f"{pid}: {_cmdline(pid)[:200]}" for pid in left]
    for pid in left:  # do not leak them into the rest of the suite, then fail
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    assert not left, f"orphans after SIGKILL of the harness: {described}"


# ---- the whole tree dies with the harness: wrappers, daemons, tools' grandchildren ---------------

# A server that writes its pid and listens on argv[1].
SERVER = """
import os, socket, sys, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
with open(sys.argv[2], "a") as handle:
    handle.write(f"{os.getpid()}\\n")
while True:
    conn, _ = server.accept()
    conn.close()
"""

# A daemon in the classic way: fork, setsid, fork again; the intermediate exits (the grandchild is
# orphaned, outside the leader's session), the grandchild serves; the leader stays.
DAEMON = """
import os, runpy, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        runpy.run_path("server.py", run_name="__main__")
    os._exit(0)
with open(sys.argv[2], "a") as handle:
    handle.write(f"{os.getpid()}\\n")
time.sleep(600)
"""

# A tool that leaves a child in its group and a double-forked grandchild in a new session.
TOOL = """
import os, subprocess, sys, time
pid_file = sys.argv[1]
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(pid_file, "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        time.sleep(600)
    os._exit(0)
with open(pid_file, "a") as handle:
    handle.write(f"{os.getpid()} {child.pid}\\n")
time.sleep(600)
"""

# The harness: start a service (or a tool), tell the test what runs, then wait to be SIGKILLed.
# "thread": from a thread other than the main one (no parent-death signal can be armed there);
# "fork": with a forked child of the harness alive (as a multiprocessing worker would be), which
# must not keep the watchdog's pipe open.
TREE_HARNESS = """
import json, os, sys, threading, time
from pathlib import Path
from verifier.proc import run_tool
from verifier.service import Service, ServiceConfig
kind, how, repo, pid_file = sys.argv[1], sys.argv[2].split(","), Path(sys.argv[3]), sys.argv[4]
commands = {
    "wrapped": ["bash", "-c", "{python} server.py {port} " + pid_file + "; echo exited"],
    "daemon": ["{python}", "daemon.py", "{port}", pid_file],
}

def start():
    if kind == "tool":
        print(json.dumps({"port": None, "tree": []}), flush=True)
        run_tool([sys.executable, "tool.py", pid_file], cwd=repo, timeout_s=600,
                 out_dir=repo / "out", name="tool")
        return
    svc = Service(ServiceConfig(command=commands[kind], ready="tcp://127.0.0.1:{port}"),
                  repo=repo, log_dir=repo / "logs")
    svc.start()
    tree = [getattr(svc._proc, "reaper_pid", svc.pid), *(p.pid for p in svc.processes())]
    print(json.dumps({"port": svc.port, "tree": tree}), flush=True)

if "thread" in how:
    starter = threading.Thread(target=start)
    starter.start()
    starter.join()  # the thread that started the service is gone: the service must not care
else:
    start()
if "fork" in how and os.fork() == 0:
    time.sleep(600)
    os._exit(0)
time.sleep(600)
"""


def _pids_in(path: Path, count: int, timeout_s: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            pids = [int(p) for p in path.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.05)
    raise AssertionError(f"only {path.read_text() if path.exists() else 'nothing'} in {path}")


def _port_free(port: int) -> bool:
    import socket
    with socket.socket() as sock:  # nothing listens (TIME_WAIT left by closed connections is fine)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


@pytest.mark.parametrize("kind, how", [
    ("wrapped", "main"),            # bash -c "python server.py; echo exited": the real server
    ("daemon", "main"),             # fork, setsid, fork: the daemon is orphaned, in its own session
    ("wrapped", "thread,fork"),     # no parent-death signal, a forked harness child holding fds
    ("daemon", "thread"),
    ("tool", "main"),               # a probe tool (run_tool) whose grandchild double-forked
])
def test_sigkilled_harness_takes_the_whole_tree_with_it(tmp_path: Path, kind: str, how: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, source in (("server.py", SERVER), ("daemon.py", DAEMON), ("tool.py", TOOL)):
        (repo / name).write_text(source.lstrip("\n"), encoding="utf-8")
    pid_file = tmp_path / "pids.txt"
    harness = subprocess.Popen([sys.executable, "-c", TREE_HARNESS, kind, how, str(repo), str(pid_file)],
                               stdout=subprocess.PIPE, text=True, cwd=FIXTURES.parent)
    pids: list[int] = []
    forked: list[int] = []
    started: dict = {}
    try:
        try:
            started = json.loads(harness.stdout.readline() or "{}")
            assert "tree" in started, "the harness did not start the service"
            pids = sorted({*started["tree"], *_pids_in(pid_file, 3 if kind == "tool" else 1)})
            if "fork" in how:
                time.sleep(0.5)
                forked = [p.pid for p in psutil.Process(harness.pid).children() if p.pid not in pids]
                assert forked, "the harness did not fork"
            assert _alive(pids) == pids, pids
            below = psutil.Process(harness.pid).children(recursive=True)  # the watchdog too
            pids = sorted({*pids, *_alive([p.pid for p in below if p.pid not in forked])})
            if started["port"]:
                assert not _port_free(started["port"])
        finally:
            os.kill(harness.pid, signal.SIGKILL)
            harness.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = _alive(pids)
        assert not left, f"{kind} ({how}): processes left after SIGKILL of the harness: {left} of {pids}"
        if started["port"]:
            assert _port_free(started["port"])
    finally:
        for pid in [*_alive(pids), *forked]:  # never leak them into the rest of the suite
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _big_sources(where: Path, files: int, lines: int) -> Path:
    where.mkdir(parents=True)
    for n in range(files):  # seconds of lexing or fingerprinting in all
        (where / f"big{n}.py").write_text("".join(f"value_{i} = compute({i}, 'x') + {n}\n"
                                                 for i in range(lines)))
    return where


#: What the harness runs with a pool of its own, by job: the origin scan's counting/detection
#: pools (pebble), the knowledge base's build and match pools (stdlib ``multiprocessing.Pool``).
_MATCH = ("import sys; from pathlib import Path; from verifier.kb.snippets import match_paths; "
          "root = Path(sys.argv[2]); "
          "match_paths(sys.argv[1], root, sorted(p.name for p in root.iterdir()), jobs=2)")


@pytest.mark.slow
@pytest.mark.parametrize("job", ["origin", "kb build", "kb match"])
def test_sigkilled_harness_leaves_no_pool_worker(tmp_path: Path, job: str) -> None:
    """The harness's own worker pools (counting, detection, knowledge base build and match) die
    with it at once: a worker busy counting or fingerprinting a large file would otherwise run on
    for seconds after a SIGKILL of its parent, and a stdlib fork pool's idle worker waits for work
    forever (the kb pools had no parent-death initializer)."""
    if job == "origin":
        repo = _big_sources(tmp_path / "repo", 4, 150_000)  # ~5 MB each
        argv = [sys.executable, "-m", "verifier", "origin", str(repo), "--no-spec", "--no-cache", "-j", "2",
                "-q", "--owner", "Me"]
    elif job == "kb build":
        # 64 files or more go to the pool, 8 a task: the first two tasks (one for each worker)
        # hold 8 files of ~0.9 MB each, seconds of fingerprinting; the rest are small
        source = _big_sources(tmp_path / "src", 16, 25_000)  # under the 1 MiB a file may have
        for n in range(56):
            (source / f"small{n}.py").write_text(f"value = {n}\n")
        argv = [sys.executable, "-m", "verifier", "kb", "build", "-o", str(tmp_path / "kb.sqlite"),
                "-j", "2", str(source)]
    else:
        small = _big_sources(tmp_path / "oss", 2, 200)
        subprocess.run([sys.executable, "-m", "verifier", "kb", "build", "-o", str(tmp_path / "kb.sqlite"),
                        "-j", "1", str(small)], check=True, capture_output=True, timeout=300)
        source = _big_sources(tmp_path / "src", 3, 200_000)  # one file a task: ~7 MB, seconds each
        argv = [sys.executable, "-c", _MATCH, str(tmp_path / "kb.sqlite"), str(source)]
    harness = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and harness.poll() is None:
        workers = [c.pid for c in psutil.Process(harness.pid).children(recursive=True)]
        if len(workers) >= 2:
            break
        time.sleep(0.05)
    assert harness.poll() is None and len(workers) >= 2, f"{job}: the harness ended before its pool started"
    time.sleep(0.5)  # the workers are at work now
    assert harness.poll() is None, f"{job}: the harness ended before it was killed"
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 1.5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _alive(workers)
    for pid in left:
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    assert not left, [_cmdline(pid) for pid in left]
