"""Run an external tool as a subprocess: own process group, timeout, scrubbed environment, output kept.

Every probe and the service lifecycle go through here, so that a hanging or crashing tool becomes a
recorded result (``ToolRun.timed_out`` / ``returncode``) and never a hung harness, and no child
process outlives the call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: Environment variables passed through to tools; everything else is dropped (credentials, proxies,
#: the harness's own virtualenv markers).
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT",
                 "XDG_CACHE_HOME", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


_PR_SET_PDEATHSIG = 1


def _load_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded before any fork: the child only calls into it


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL me when the harness dies, even by SIGKILL (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def child_preexec():
    """The ``preexec_fn`` for every process verifier starts: it dies with the harness.

    Linux delivers the parent-death signal when the *thread* that forked the child exits, so it is
    only armed for children started from the main thread (where the runner starts everything).
    """
    if _LIBC is None or threading.current_thread() is not threading.main_thread():
        return None
    return _die_with_parent


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A minimal environment for a tool: a few harmless variables from ours, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in _PASS_THROUGH}
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if extra:
        env.update({str(k): str(v) for k, v in extra.items()})
    return env


@dataclass(frozen=True)
class ToolRun:
    """What happened when a tool ran."""

    argv: tuple[str, ...]
    """The command line as executed."""
    cwd: str
    """Working directory."""
    returncode: int | None
    """Exit status; negative for a signal; ``None`` when it was killed after the timeout."""
    timed_out: bool
    """True when the timeout expired and the process group was killed."""
    duration_s: float
    """Wall-clock seconds."""
    stdout_path: Path
    """File holding everything the tool wrote to stdout."""
    stderr_path: Path
    """File holding everything the tool wrote to stderr."""

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of stderr (or stdout when stderr is empty), for error reasons."""
        for path in (self.stderr_path, self.stdout_path):
            text = path.read_text("utf-8", errors="replace") if path.exists() else ""
            if text.strip():
                return "\n".join(text.rstrip().splitlines()[-lines:])
        return ""


def kill_group(proc: subprocess.Popen, grace_s: float = 3.0, sig: int = signal.SIGTERM) -> None:
    """Stop ``proc``'s whole process group: ``sig`` first, SIGKILL after ``grace_s`` seconds."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    if pgid is not None:
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
        try:  # children may survive the leader: always finish the group off
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_tool(
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str],
    timeout_s: float,
    out_dir: Path,
    name: str,
    env: Mapping[str, str] | None = None,
    stdin_data: bytes | None = None,
) -> ToolRun:
    """Run ``argv`` in its own process group, wait at most ``timeout_s`` seconds, keep its output.

    stdout and stderr go to ``out_dir/<name>.stdout.txt`` and ``…stderr.txt``. On timeout, or if the
    harness is interrupted, the whole group is killed. A missing executable is reported as
    returncode 127 with the reason in the stderr file, like a shell would.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = out_dir / f"{name}.stdout.txt"
    stderr_path = out_dir / f"{name}.stderr.txt"
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                argv, cwd=cwd, stdout=out, stderr=err,
                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                env=dict(env) if env is not None else scrubbed_env(), start_new_session=True,
                preexec_fn=child_preexec(),
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            err.write(f"cannot start {argv[0]!r}: {exc}\n".encode())
            return ToolRun(argv, str(cwd), 127, False, 0.0, stdout_path, stderr_path)
        timed_out = False
        try:
            if stdin_data is not None:
                proc.communicate(stdin_data, timeout=timeout_s)
            else:
                proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc, grace_s=2.0)
        except BaseException:
            kill_group(proc, grace_s=2.0)
            raise
        else:
            # The leader exited; make sure nothing it spawned lingers.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    return ToolRun(argv, str(cwd), None if timed_out else proc.returncode, timed_out,
                   time.monotonic() - start, stdout_path, stderr_path)
