"""verifier.proc.ProcessTree and run_tool: the command under its watchdog, its status, its whole
tree killed (wrappers' children, orphans of a double fork, other sessions), nothing inherited."""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from support.live_service import gone
from verifier.proc import ProcessTree, pool_worker_init, run_tool

# Leaves a child in its group and a grandchild in a new session (orphaned by a double fork),
# writes "leader child grandchild" pids, then waits.
SPREADING = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
read, write = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(write, str(os.getpid()).encode())
        time.sleep(600)
    os._exit(0)
grandchild = os.read(read, 32).decode()
print(os.getpid(), child.pid, grandchild, flush=True)
time.sleep(600)
"""


def _pids(path: Path, count: int = 3) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if len(text.split()) >= count:
            return [int(p) for p in text.split()]
        time.sleep(0.02)
    raise AssertionError(f"no pids in {path}")


def test_pid_is_the_command_and_orphans_stay_below_the_watchdog(tmp_path):
    out = tmp_path / "out.txt"
    with open(out, "wb") as handle:
        tree = ProcessTree([sys.executable, "-c", SPREADING], cwd=tmp_path, stdout=handle)
    try:
        leader, child, grandchild = _pids(out)
        assert tree.pid == leader and tree.poll() is None
        watchdog = psutil.Process(tree.reaper_pid)
        assert psutil.Process(leader).ppid() == watchdog.pid
        assert psutil.Process(grandchild).ppid() == watchdog.pid  # reparented to the subreaper
        assert os.getsid(grandchild) != os.getsid(leader) == leader == os.getpgid(child)
        tree.kill()
        assert all(gone(p) for p in (leader, child, grandchild, watchdog.pid))
        assert tree.returncode == -signal.SIGKILL and tree.finished
    finally:
        tree.close()


def test_terminate_gives_the_grace_period_then_kills(tmp_path):
    polite = ("import signal, sys, time\n"
              "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
              "print('armed', flush=True)\ntime.sleep(600)\n")
    stubborn = polite.replace("lambda *a: sys.exit(7)", "signal.SIG_IGN")
    for source, expected in ((polite, 7), (stubborn, -signal.SIGKILL)):
        out = tmp_path / "out.txt"
        with open(out, "wb") as handle:
            tree = ProcessTree([sys.executable, "-c", source], stdout=handle)
        while "armed" not in out.read_text():
            time.sleep(0.02)
        tree.terminate(signal.SIGTERM, 0.5)
        assert tree.returncode == expected and tree.finished
        tree.close()


def test_exit_status_and_leftovers_after_the_leader_exits(tmp_path):
    tree = ProcessTree(["sh", "-c", "sleep 600 & echo $! > left.txt; exit 3"], cwd=tmp_path)
    assert tree.wait(timeout=30) == 3
    left = _pids(tmp_path / "left.txt", 1)[0]
    assert not gone(left) and not tree.finished  # the watchdog keeps what the leader left…
    tree.close()
    assert gone(left) and tree.finished  # …until it is closed
    with pytest.raises(subprocess.TimeoutExpired):
        with ProcessTree(["sleep", "600"]) as sleeper:
            sleeper.wait(timeout=0.2)
    assert gone(sleeper.pid)
    with ProcessTree(["sh", "-c", "exit 0"]) as alone:  # nothing left: the watchdog ends by itself
        assert alone.wait(timeout=30) == 0
        deadline = time.monotonic() + 30
        while not alone.finished and time.monotonic() < deadline:
            time.sleep(0.02)
        assert alone.finished and gone(alone.reaper_pid)


def test_a_command_that_cannot_start_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-program-verifier"):
        ProcessTree(["no-such-program-verifier"], cwd=tmp_path)
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)
    with pytest.raises(PermissionError):
        ProcessTree([str(script)], cwd=tmp_path)
    run = run_tool(["no-such-program-verifier", "-x"], cwd=tmp_path, timeout_s=10,
                   out_dir=tmp_path / "runs", name="missing")
    assert run.returncode == 127 and "cannot start 'no-such-program-verifier'" in run.tail()


def test_the_command_inherits_no_harness_pipe_and_default_signals(tmp_path):
    # Python ignores SIGPIPE; a tool must not inherit that, nor the watchdog's pipes (which would
    # let it forge its own exit status or keep the harness-death signal from arriving).
    run = run_tool(["ls", "/proc/self/fd"], cwd=tmp_path, timeout_s=30, out_dir=tmp_path / "runs",
                   name="fds")
    assert run.stdout_path.read_text().split() == ["0", "1", "2", "3"]  # 3: the listing itself
    run = run_tool(["grep", "SigIgn", "/proc/self/status"], cwd=tmp_path, timeout_s=30,
                   out_dir=tmp_path / "runs", name="signals")
    ignored = int(run.stdout_path.read_text().split()[1], 16)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
        assert not ignored & (1 << (sig - 1)), sig


def test_run_tool_kills_what_the_tool_left_and_times_out(tmp_path):
    exits = SPREADING.rsplit("time.sleep(600)", 1)[0]  # the leader exits, its offspring stay
    run = run_tool([sys.executable, "-c", exits], cwd=tmp_path, timeout_s=30,
                   out_dir=tmp_path / "runs", name="spread")
    assert run.returncode == 0 and not run.timed_out
    assert all(gone(p) for p in _pids(run.stdout_path))
    began = time.monotonic()
    run = run_tool([sys.executable, "-c", SPREADING], cwd=tmp_path, timeout_s=1.0,
                   out_dir=tmp_path / "runs", name="slow")
    assert run.timed_out and run.returncode is None and time.monotonic() - began < 15
    assert all(gone(p) for p in _pids(run.stdout_path))
    run = run_tool(["cat"], cwd=tmp_path, timeout_s=30, out_dir=tmp_path / "runs", name="cat",
                   stdin_data=b"given on stdin\n")
    assert run.stdout_path.read_bytes() == b"given on stdin\n"


def test_works_with_descriptor_numbers_above_1023(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"descriptor limit {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while not held or held[-1] < 1100:
            held.append(os.open(os.devnull, os.O_RDONLY))
        with ProcessTree(["sh", "-c", "exit 5"]) as tree:
            assert tree.wait(timeout=30) == 5
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_declared_environment_goes_to_the_command_not_the_watchdog(tmp_path):
    env = {"PATH": os.environ["PATH"], "LD_PRELOAD": str(tmp_path / "not-there.so"),
           "PYTHONPATH": str(tmp_path), "DECLARED": "déclaré=1"}
    out = tmp_path / "env.txt"
    with open(out, "wb") as handle, ProcessTree(["sh", "-c", "env; sleep 600"], cwd=tmp_path,
                                                  env=env, stdout=handle) as tree:
        deadline = time.monotonic() + 30
        while "DECLARED" not in out.read_text("utf-8") and time.monotonic() < deadline:
            time.sleep(0.02)
        watchdog_env = Path(f"/proc/{tree.reaper_pid}/environ").read_bytes()
    assert {"DECLARED=déclaré=1", "PYTHONPATH=" + str(tmp_path)} <= set(out.read_text("utf-8").split("\n"))
    assert b"DECLARED" not in watchdog_env and b"not-there.so" not in watchdog_env


def test_without_an_environment_the_command_inherits_ours_and_the_watchdog_does_not(tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setenv("HARNESS_SECRET", "s3cret")
    out = tmp_path / "env.txt"
    with open(out, "wb") as handle, ProcessTree(["sh", "-c", "env; sleep 600"], stdout=handle) as tree:
        deadline = time.monotonic() + 30
        while "HARNESS_SECRET" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        watchdog_env = Path(f"/proc/{tree.reaper_pid}/environ").read_bytes()
    assert "HARNESS_SECRET=s3cret" in out.read_text().splitlines()
    assert b"HARNESS_SECRET" not in watchdog_env


def _pool_worker(harness_pid: int, ready: Path) -> None:
    pool_worker_init(harness_pid)
    ready.touch()
    time.sleep(60)


def test_a_pool_worker_dies_of_sigterm_whatever_handler_the_harness_had(tmp_path):
    # a program embedding verifier (or verifier itself: the service hooks) may handle SIGTERM; a
    # worker forked from it inherits the handler, and a pool stops its workers with SIGTERM
    # (Pool.terminate(), pebble on a task's timeout): one that only ran the handler would be joined
    # forever
    marker, ready = tmp_path / "handler-ran", tmp_path / "ready"
    previous = signal.signal(signal.SIGTERM, lambda *_: marker.write_text(str(os.getpid())))
    try:
        worker = multiprocessing.get_context("fork").Process(target=_pool_worker,
                                                             args=(os.getpid(), ready))
        worker.start()
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists()
        worker.terminate()
        worker.join(timeout=10)
        assert worker.exitcode == -signal.SIGTERM and not marker.exists(), worker.exitcode
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join()
