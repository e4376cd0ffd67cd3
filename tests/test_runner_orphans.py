"""A harness killed with SIGKILL leaves no process behind: the service under test and Locust die
with it (the kernel's parent-death signal), and the run can be resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import FIXTURES


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


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
            names = " ".join(" ".join(k.cmdline()) for k in kids if k.is_running())
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
    for pid in left:  # do not leak them into the rest of the suite, then fail
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    assert not left, f"orphans after SIGKILL of the harness: {left}"
