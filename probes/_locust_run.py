"""Run Locust headless as its own processes (never imported here: it monkey-patches with gevent).

One process, or Locust's own master plus N ``--worker`` processes, all bound to 127.0.0.1, each a
``ProcessTree`` (its whole tree dies with the harness), all killed on timeout, error or
interruption. Locust runs in the evidence directory so that no ``locust.conf`` or
``pyproject.toml`` of the delivered product configures it.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

from verifier.proc import ProcessTree, kill_group, scrubbed_env
from verifier.service import free_port

#: Seconds the master waits for its local workers to connect before giving up.
WORKER_CONNECT_S = 30


def locust_command() -> list[str]:
    """The venv's ``locust`` executable (next to this interpreter), else ``python -m locust``."""
    beside = Path(sys.executable).with_name("locust")
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("locust")
    return [found] if found else [sys.executable, "-m", "locust"]


@dataclass(frozen=True)
class LocustRun:
    """What happened when Locust ran."""

    commands: tuple[tuple[str, ...], ...]
    """Master (or the single process) first, then the workers."""
    returncode: int | None
    """Exit status of the master; ``None`` when it was killed at the timeout."""
    timed_out: bool
    duration_s: float
    logs: tuple[Path, ...]
    """stdout/stderr files, master first."""

    def tail(self, lines: int = 20) -> str:
        """Last lines of the master's stderr (Locust logs there), else of any log."""
        for path in (self.logs[1], self.logs[0], *self.logs[2:]):
            text = path.read_text("utf-8", errors="replace") if path.exists() else ""
            if text.strip():
                return "\n".join(text.rstrip().splitlines()[-lines:])
        return ""


def run_time_arg(seconds: float) -> str:
    """Locust's ``-t`` value for ``seconds`` (whole seconds, at least 1)."""
    return f"{max(1, math.ceil(seconds))}s"


def run_locust(locustfile: Path, *, host: str, users: int, spawn_rate: float, run_time_s: float,
               workers: int, csv_prefix: Path, html: Path, out_dir: Path, timeout_s: float,
               name: str = "locust") -> LocustRun:
    """Run Locust headless against ``host`` and wait at most ``timeout_s``; never leaves a process."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = locust_command()
    master = [*base, "--headless", "-f", str(locustfile), "--host", host, "-u", str(users),
              "-r", f"{spawn_rate:g}", "-t", run_time_arg(run_time_s), "--csv", str(csv_prefix),
              "--csv-full-history", "--html", str(html), "--only-summary", "--loglevel", "INFO"]
    worker_cmds: list[list[str]] = []
    if workers > 0:
        port = free_port()
        master += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                   "--expect-workers", str(workers), "--expect-workers-max-wait", str(WORKER_CONNECT_S)]
        worker_cmds = [[*base, "--worker", "-f", str(locustfile), "--host", host,
                        "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "INFO"]
                       for _ in range(workers)]
    env = scrubbed_env()
    logs: list[Path] = []
    procs: list[ProcessTree] = []
    began = time.monotonic()
    timed_out = False
    with ExitStack() as stack:
        try:
            for n, argv in enumerate([master, *worker_cmds]):
                label = name if n == 0 else f"{name}-worker{n}"
                out_path, err_path = out_dir / f"{label}.stdout.txt", out_dir / f"{label}.stderr.txt"
                logs += [out_path, err_path]
                out = stack.enter_context(open(out_path, "wb"))
                err = stack.enter_context(open(err_path, "wb"))
                try:
                    procs.append(ProcessTree(argv, cwd=out_dir, env=env, stdout=out, stderr=err))
                except OSError as exc:
                    err.write(f"cannot start {argv[0]!r}: {exc}\n".encode())
                    return LocustRun(tuple(map(tuple, [master, *worker_cmds])), 127, False,
                                     time.monotonic() - began, tuple(logs))
            try:
                procs[0].wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            # Workers quit when the master does; give them a moment, then finish everything off.
            deadline = time.monotonic() + (0.5 if timed_out else 10.0)
            for proc in procs[1:]:
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    kill_group(proc, grace_s=2.0, sig=signal.SIGINT)
                else:
                    proc.close()  # kills whatever the exited process left running
    code = None if timed_out else procs[0].returncode
    return LocustRun(tuple(map(tuple, [master, *worker_cmds])), code, timed_out,
                     time.monotonic() - began, tuple(logs))
