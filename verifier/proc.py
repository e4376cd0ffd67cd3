"""Run an external tool as a subprocess: own process tree, timeout, scrubbed environment, output kept.

Every probe and the service lifecycle go through here, so that a hanging or crashing tool becomes a
recorded result (``ToolRun.timed_out`` / ``returncode``) and never a hung harness, and no process
outlives the call: each command runs under a watchdog (``ProcessTree``, ``verifier/reaper.py``)
that kills its whole tree — a wrapper's children, a daemon that double-forked or left the process
group — when asked, and when the harness exits in any way, SIGKILL included.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from verifier.errors import ToolError

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


def pool_worker_init(harness_pid: int) -> None:
    """Initializer of the harness's own worker pools (counting, detection, the knowledge base): the
    worker is SIGKILLed when the harness dies, even by SIGKILL, instead of waiting forever for work
    (Linux); a worker whose harness is already gone exits at once; and SIGTERM, which is how a pool
    stops its workers, kills it whatever handler it inherited from the process that forked it."""
    _die_with_parent()
    if os.getppid() != harness_pid:
        os._exit(1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def child_preexec():
    """A ``preexec_fn`` that makes a direct child die with the harness — that child only, not
    what it spawns: start tools and services as a ``ProcessTree`` instead.

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


#: The watchdog program (standard library only), run as a script: ``python -I -S reaper.py``.
REAPER = str(Path(__file__).resolve().with_name("reaper.py"))
#: Seconds to wait for the watchdog to report that a command started, and to finish a kill.
START_TIMEOUT_S = 30.0
KILL_TIMEOUT_S = 30.0

_HARNESS_FDS: set[int] = set()  # our ends of every watchdog's pipes


def _forget_pipes_in_child() -> None:
    # A process forked from the harness (a multiprocessing worker) must not hold a watchdog's
    # control pipe open: its end of file is how the watchdog learns that the harness is gone.
    for fd in list(_HARNESS_FDS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HARNESS_FDS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pipes_in_child)


def _env_message(env: Mapping[str, str]) -> bytes:
    """The first message to a watchdog: ``env N`` and N bytes of NUL-separated ``KEY=VALUE``."""
    blob = b"\0".join(os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items())
    return b"env %d\n" % len(blob) + blob


class ProcessTree:
    """A command started under the watchdog (``verifier/reaper.py``): the command and everything
    it spawns — in its process group, in another session, orphaned by a double fork — die on
    ``kill()`` / ``terminate()``, and when the harness exits in any way (SIGKILL included).

    Popen-like: ``pid`` is the command's own process (the leader: what the command line started,
    not the watchdog), ``returncode`` / ``poll()`` / ``wait()`` are the leader's exit status
    (negative: killed by that signal). The leader is in its own session: its pid is the process
    group of the tree. Raises ``OSError`` (``FileNotFoundError``…) when the command cannot be
    executed, like ``subprocess.Popen``.
    """

    def __init__(self, argv: Sequence[str], *, cwd: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None, stdin: Any = subprocess.DEVNULL,
                 stdout: Any = None, stderr: Any = None) -> None:
        self.argv = tuple(str(a) for a in argv)
        self.pid = 0
        """PID of the leader (the command itself)."""
        self.returncode: int | None = None
        """The leader's exit status once it exited; negative for a signal."""
        self.stuck: tuple[int, ...] = ()
        """Processes the watchdog could not kill in ``KILL_TIMEOUT_S`` (uninterruptible sleep)."""
        self._eof = False
        self._error = ""
        self._buffer = b""
        self._lock = threading.RLock()
        ctl_r, ctl_w = os.pipe()
        status_r, status_w = os.pipe()
        command = [sys.executable, "-I", "-S", REAPER, str(ctl_r), str(status_w)]
        if threading.current_thread() is threading.main_thread():
            # The parent-death signal follows the thread that forks: arm it from the main one only.
            command += ["--parent", str(os.getpid())]
        try:
            # The watchdog runs in a scrubbed environment; the command gets ``env`` (default:
            # ours), sent over the control pipe, so nothing declared there (LD_PRELOAD,
            # PYTHONPATH…) reaches the watchdog.
            self._reaper = subprocess.Popen(
                [*command, "--", *self.argv], cwd=cwd, env=scrubbed_env(), stdin=stdin,
                stdout=stdout, stderr=stderr, pass_fds=(ctl_r, status_w), start_new_session=True)
        except BaseException:
            os.close(ctl_w)
            os.close(status_r)
            raise
        finally:
            os.close(ctl_r)
            os.close(status_w)
        self._ctl, self._status = ctl_w, status_r
        _HARNESS_FDS.update((ctl_w, status_r))
        first = memoryview(_env_message(os.environ if env is None else env))
        with contextlib.suppress(OSError):  # a watchdog gone already is reported below
            while first:
                first = first[os.write(ctl_w, first):]
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not self.pid and not self._error and not self._eof:
                if not self._pump(deadline - time.monotonic()) and time.monotonic() >= deadline:
                    raise ToolError(f"the process watchdog did not start {self.argv[0]!r} "
                                    f"within {START_TIMEOUT_S:g} s")
        except BaseException:
            self.close()
            raise
        if not self.pid:
            self.close()
            if self._error:
                code, _, message = self._error.partition(" ")
                raise OSError(int(code) if code.isdigit() else 0, message, self.argv[0])
            raise ToolError(f"the process watchdog exited before starting {self.argv[0]!r} "
                            f"(status {self._reaper.returncode})")

    @property
    def reaper_pid(self) -> int:
        """PID of the watchdog: the parent of the leader and of every orphan of the tree."""
        return self._reaper.pid

    @property
    def finished(self) -> bool:
        """True once the watchdog has exited (the whole tree is gone, or it was killed)."""
        self._pump(0)
        return self._eof

    def poll(self) -> int | None:
        """The leader's exit status, or ``None`` while it runs."""
        self._pump(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the leader to exit; its status. ``subprocess.TimeoutExpired`` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(list(self.argv), timeout or 0.0)
            if not self._pump(left) and (self._eof or self._status not in _HARNESS_FDS):
                break  # the watchdog is gone, or we let go of it
        return self.returncode if self.returncode is not None else -int(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole tree at once and wait until every process of it is gone."""
        self._end("kill", KILL_TIMEOUT_S)

    def terminate(self, sig: int = signal.SIGTERM, grace_s: float = 3.0) -> None:
        """``sig`` to the leader's group and to every other process of the tree, SIGKILL to what
        is left after ``grace_s`` seconds; returns when the whole tree is gone."""
        self._end(f"term {int(sig)} {max(0.0, grace_s):g}", grace_s + KILL_TIMEOUT_S)

    def close(self) -> None:
        """Kill what is left of the tree (if anything) and release the pipes to the watchdog."""
        try:
            self.kill()
        finally:
            with self._lock:
                for fd in (self._ctl, self._status):
                    if fd in _HARNESS_FDS:
                        _HARNESS_FDS.discard(fd)
                        with contextlib.suppress(OSError):
                            os.close(fd)

    def __enter__(self) -> ProcessTree:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the status pipe ------------------------------------------------------------------------

    def _end(self, command: str, timeout_s: float) -> None:
        with self._lock:
            if self._eof or self._ctl not in _HARNESS_FDS:
                return
            with contextlib.suppress(OSError):  # the watchdog may have finished on its own
                os.write(self._ctl, (command + "\n").encode())
        deadline = time.monotonic() + timeout_s
        while not self._eof and time.monotonic() < deadline:
            if not self._pump(deadline - time.monotonic()) and self._status not in _HARNESS_FDS:
                break

    def _pump(self, timeout: float | None) -> bool:
        """Read what the watchdog said, waiting up to ``timeout`` s (at most 0.1 s at a time, so
        that no thread holds the lock long) for something; True if it did."""
        end = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            with self._lock:
                if self._eof or self._status not in _HARNESS_FDS:
                    return False
                poller = select.poll()  # not select(): the harness may hold > 1023 descriptors
                poller.register(self._status, select.POLLIN)
                left = 0.1 if end is None else min(0.1, max(0.0, end - time.monotonic()))
                if poller.poll(left * 1000):
                    while self._read() and not self._eof and poller.poll(0):
                        pass  # everything already said, up to its exit
                    return True
            if end is not None and time.monotonic() >= end:
                return False

    def _read(self) -> bool:
        data = os.read(self._status, 65536)
        if not data:  # the watchdog exited
            self._eof = True
            if self.returncode is None and self.pid:
                self.returncode = -int(signal.SIGKILL)  # the leader dies with its watchdog
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reaper.wait(timeout=5.0)  # reap it: no zombie watchdog
            return True
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            verb, _, rest = raw.decode(errors="replace").partition(" ")
            if verb == "pid":
                self.pid = int(rest)
            elif verb == "exit":
                self.returncode = int(rest)
            elif verb == "error":
                self._error = rest
            elif verb == "stuck":
                self.stuck = tuple(int(p) for p in rest.split())
        return True


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
    """True when the timeout expired and the process tree was killed."""
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


def kill_group(proc: subprocess.Popen | ProcessTree, grace_s: float = 3.0,
               sig: int = signal.SIGTERM) -> None:
    """Stop ``proc``'s whole process group (of a ``ProcessTree``: its whole tree, then release
    it): ``sig`` first, SIGKILL after ``grace_s`` seconds."""
    if isinstance(proc, ProcessTree):
        proc.terminate(sig, grace_s)
        proc.close()
        return
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


@contextlib.contextmanager
def _stdin_file(data: bytes | None) -> Iterator[IO[bytes] | int]:
    if data is None:
        yield subprocess.DEVNULL
        return
    with tempfile.TemporaryFile() as handle:  # a file, not a pipe: nothing to pump, no deadlock
        handle.write(data)
        handle.flush()
        handle.seek(0)
        yield handle


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
    """Run ``argv`` as a ``ProcessTree``, wait at most ``timeout_s`` seconds, keep its output.

    stdout and stderr go to ``out_dir/<name>.stdout.txt`` and ``…stderr.txt``. On timeout, or if the
    harness is interrupted, the whole tree is stopped (SIGTERM, SIGKILL 2 s later); when the tool
    exits, whatever it left running is killed. A missing executable is reported as
    returncode 127 with the reason in the stderr file, like a shell would.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    stdout_path = out_dir / f"{name}.stdout.txt"
    stderr_path = out_dir / f"{name}.stderr.txt"
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err, \
            _stdin_file(stdin_data) as stdin:
        try:
            tree = ProcessTree(argv, cwd=cwd, stdin=stdin, stdout=out, stderr=err,
                               env=env if env is not None else scrubbed_env())
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            err.write(f"cannot start {argv[0]!r}: {exc}\n".encode())
            return ToolRun(argv, str(cwd), 127, False, 0.0, stdout_path, stderr_path)
        timed_out = False
        try:
            tree.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            tree.terminate(signal.SIGTERM, 2.0)
        except BaseException:
            tree.terminate(signal.SIGTERM, 2.0)
            raise
        finally:
            tree.close()  # the leader exited: nothing it spawned lingers
    return ToolRun(argv, str(cwd), None if timed_out else tree.returncode, timed_out,
                   time.monotonic() - start, stdout_path, stderr_path)
