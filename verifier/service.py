"""The system under test as a live service: the spec's ``service:`` section and its lifecycle.

``ServiceConfig`` is the pydantic model of ``service:`` (imported by ``verifier.spec``). ``Service``
starts the declared command on a free loopback port as a ``verifier.proc.ProcessTree`` (its own
session, under a watchdog that kills the whole tree when the harness exits in any way, SIGKILL
included) with a scrubbed environment, waits until it is ready (noticing an early exit), keeps its
stdout/stderr as evidence, and stops it — the whole tree, wrappers' children and daemons that left
the process group included — on every exit path (normal end, error, Ctrl-C, SIGTERM to the
harness, interpreter exit). Before the first start only, it runs ``service.setup`` (migrations,
seed data: ``verifier.product.setup``) in the service's working directory and environment — the
product's runtime first on ``PATH`` — so that no restart repeats it and no measured recovery
includes it. ``service.login`` (``verifier.product.login``) is read by the live probes::

    with Service(spec.service, repo=repo, log_dir=run_dir / "service") as svc:
        svc.url("/api/items")      # http://127.0.0.1:<port>/api/items
        svc.kill(); svc.start()    # crash and restart (recovery / integrity probes)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier import loopback
from verifier.errors import ToolError
from verifier.fieldtypes import Duration, parse_duration
from verifier.placeholders import COMMON_PLACEHOLDERS, describe, fill, placeholders, unknown_placeholders
from verifier.proc import ProcessTree, scrubbed_env
from verifier.product.login import LoginConfig
from verifier.product.runtime import ProductRuntime
from verifier.product.setup import SetupFailed, SetupStep, StepRun, run_steps
from verifier.repo_paths import RepoPath

__all__ = ["PLACEHOLDERS", "Duration", "Service", "ServiceConfig", "ServiceError", "free_port", "parse_duration",
           "port_in_use"]

#: Placeholders a service command, environment value, setup step or ready URL may use: the port
#: and data directory of this service, and those every declared command knows
#: (``verifier.placeholders``: ``{python}``, ``{repo}``, ``{spec_dir}``, ``{runtime.python}`` …).
PLACEHOLDERS = ("port", "data_dir", *COMMON_PLACEHOLDERS)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _check_placeholders(text: str, where: str) -> None:
    for name in sorted(placeholders(text)):
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} in {where} "
                             f"(known: {describe(PLACEHOLDERS)})")


class ServiceConfig(BaseModel):
    """The spec's ``service:`` section: how to start the system under test and tell it is ready."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str | list[str]
    """Command line (split like a POSIX shell, never run through one) or argv list. Placeholders:
    ``{port}`` (the port the harness picked), ``{data_dir}`` (a scratch directory for this run, kept
    across restarts), ``{python}`` (the harness's interpreter)."""
    cwd: RepoPath = "."
    """Working directory, relative to the delivered repository."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables (placeholders allowed); the rest of the environment is scrubbed."""
    ready: str = "tcp://127.0.0.1:{port}"
    """Readiness check on loopback: ``http://127.0.0.1:{port}/health`` (any status below 500 once
    it answers; a redirect is an answer, never followed) or ``tcp://127.0.0.1:{port}`` (accepts a
    connection). Nothing but this address is ever contacted."""
    ready_timeout: Duration = 30.0
    """Seconds to wait for readiness before giving up."""
    stop_signal: str = "SIGTERM"
    """Signal sent to the process group (and to any process of the service outside it) to stop it
    (``SIGTERM``, ``SIGINT``, ``SIGQUIT``, ``SIGHUP``)."""
    grace_period: Duration = 5.0
    """Seconds between ``stop_signal`` and SIGKILL."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """A fixed port, for a product that cannot be told its port; by default the harness picks one."""
    setup: list[SetupStep] = Field(default_factory=list)
    """Commands run once before the service's first start (database migrations, seed data), in its
    working directory and environment, each with its own timeout and log; not repeated when the
    service is restarted, and not counted in any measured time (``recovery_seconds``)."""
    setup_timeout: Duration = 300.0
    """Seconds each setup step may take."""
    login: LoginConfig | None = None
    """How declared requests log in (``verifier.product.login``): every live probe's requests then
    carry the token."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: str | list[str]) -> str | list[str]:
        argv = shlex.split(value) if isinstance(value, str) else value
        if not argv or not str(argv[0]).strip():
            raise ValueError("command is empty")
        for part in argv:
            _check_placeholders(part, "command")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"bad environment variable name {key!r}")
            _check_placeholders(text, f"env.{key}")
        return value

    @model_validator(mode="after")
    def _setup_placeholders(self) -> ServiceConfig:
        for index, step in enumerate(self.setup, 1):
            unknown = unknown_placeholders(step.texts(), PLACEHOLDERS)
            if unknown:
                raise ValueError(f"setup[{index}]: unknown placeholder(s) {describe(unknown)} "
                                 f"(known: {describe(PLACEHOLDERS)})")
        return self

    @field_validator("ready")
    @classmethod
    def _ready(cls, value: str) -> str:
        _check_placeholders(value, "ready")
        parts = urlsplit(value.replace("{port}", "1"))
        if parts.scheme not in ("http", "tcp"):
            raise ValueError(f"ready {value!r} must start with http:// or tcp://")
        if parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError(f"ready {value!r} must point at loopback (127.0.0.1)")
        if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError(f"ready {value!r} contains whitespace or control characters")
        if parts.port is None:
            raise ValueError(f"ready {value!r} needs a port, usually {{port}}")
        return value

    @field_validator("stop_signal")
    @classmethod
    def _stop_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else "SIG" + value.upper()
        if name not in ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGKILL", "SIGUSR1", "SIGUSR2"):
            raise ValueError(f"stop_signal {value!r} is not one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, "
                             "SIGKILL, SIGUSR1, SIGUSR2")
        return name

    def argv(self, values: dict[str, str]) -> list[str]:
        """The command as argv with placeholders filled from ``values``."""
        parts = shlex.split(self.command) if isinstance(self.command, str) else list(self.command)
        return [_fill(p, values) for p in parts]


def _fill(text: str, values: dict[str, str]) -> str:
    return fill(text, values, strict=False)


class ServiceError(ToolError):
    """The service could not be started, did not become ready, or died; carries its log tail."""

    def __init__(self, message: str, *, tail: str = "") -> None:
        super().__init__(message)
        self.tail = tail


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True when something accepts connections (or holds the port) on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


# ---- process-wide cleanup: every live service is killed at exit and on SIGTERM/SIGHUP ----------

_LIVE: set[Service] = set()
_LIVE_LOCK = threading.Lock()
_HOOKS_INSTALLED = False


def _kill_all_live() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for svc in live:
        with contextlib.suppress(Exception):
            svc.kill()


def _on_signal(signum: int, frame: Any) -> None:
    _kill_all_live()
    raise SystemExit(128 + signum)


def _install_hooks() -> None:
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    atexit.register(_kill_all_live)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)


def _forget_services_in_child() -> None:
    # A process forked from the harness (a worker of its pools: counting, detection, the KB) owns
    # none of its services and must die of SIGTERM like any process — that is how pools stop their
    # workers. With the hooks inherited, SIGTERM had the worker kill the harness's live services,
    # under a lock another thread may have held at the fork (a pool's terminate() then waited on
    # that worker forever).
    global _LIVE_LOCK, _HOOKS_INSTALLED
    _LIVE_LOCK = threading.Lock()
    _LIVE.clear()
    if _HOOKS_INSTALLED:
        _HOOKS_INSTALLED = False
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not the main thread: nothing to undo there
                if signal.getsignal(sig) is _on_signal:
                    signal.signal(sig, signal.SIG_DFL)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_services_in_child)


class Service:
    """One system under test: started, probed for readiness, restarted, stopped — never orphaned."""

    def __init__(self, config: ServiceConfig, *, repo: Path, log_dir: Path,
                 data_dir: Path | None = None, runtime: ProductRuntime | None = None,
                 spec_dir: Path | None = None) -> None:
        self.config = config
        self.runtime = runtime
        """The product's runtime: its placeholders, and first on the service's ``PATH``."""
        self.spec_dir = spec_dir
        self.setup_runs: list[StepRun] = []
        """``service.setup`` steps as they ran (before the first start only)."""
        self._setup_done = not config.setup
        self.repo = Path(repo).resolve()
        self.log_dir = Path(log_dir)
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.port: int = config.port or 0
        self.starts = 0
        """How many times the command was started."""
        self.log_files: list[Path] = []
        """stdout/stderr files of every start, in order."""
        self.commands: list[tuple[str, ...]] = []
        """Every command line started, as executed."""
        self._proc: ProcessTree | None = None
        self._pgid: int | None = None
        self._known: dict[int, float] = {}  # pid -> create_time of every process seen in the service

    # ---- public API ---------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """PID of the service's leader process (the declared command, not the watchdog) while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute loopback URL of ``path`` on the service."""
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def alive(self) -> bool:
        """True while the leader process runs."""
        return self._proc is not None and self._proc.poll() is None

    def start(self, ready_timeout: float | None = None) -> float:
        """Start the command and wait until ready; the seconds it took. ``ServiceError`` otherwise.

        ``ready_timeout`` overrides ``service.ready_timeout``. On failure the whole process tree
        is killed before the error is raised.
        """
        if self.alive():
            raise ServiceError("service is already running")
        _install_hooks()
        self._prepare()
        values = self.placeholder_values()
        env = self._environment(values)
        cwd = self._cwd()
        if not self._setup_done:
            self._run_setup(values, env, cwd)
        argv = self.config.argv(values)
        if self.config.port is not None and port_in_use(self.port):
            raise ServiceError(f"port {self.port} on 127.0.0.1 is already in use; the service "
                               "cannot be started there (declared service.port)")
        self.starts += 1
        out_path = self.log_dir / f"service.{self.starts}.stdout.txt"
        err_path = self.log_dir / f"service.{self.starts}.stderr.txt"
        self.log_files += [out_path, err_path]
        self.commands.append(tuple(argv))
        began = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                self._proc = ProcessTree(argv, cwd=cwd, env=env, stdout=out, stderr=err)
            except OSError as exc:
                err.write(f"cannot start {argv[0]!r}: {exc}\n".encode())
                raise ServiceError(f"cannot start service command {argv[0]!r}: {exc}") from None
        self._pgid = self._proc.pid
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            self.wait_ready(ready_timeout or self.config.ready_timeout, _began=began)
        except BaseException:
            self.kill()
            raise
        return time.monotonic() - began

    def placeholder_values(self) -> dict[str, str]:
        """The values of the service's placeholders (``PLACEHOLDERS``) for this service."""
        values = {"port": str(self.port), "data_dir": str(self.data_dir), "python": sys.executable,
                  "repo": str(self.repo)}
        if self.spec_dir is not None:
            values["spec_dir"] = str(self.spec_dir)
        if self.runtime is not None:
            values.update(self.runtime.placeholders())
        return values

    @property
    def setup_commands(self) -> list[tuple[str, ...]]:
        """The ``service.setup`` command lines as executed."""
        return [run.argv for run in self.setup_runs]

    def _environment(self, values: dict[str, str]) -> dict[str, str]:
        declared = {k: _fill(v, values) for k, v in self.config.env.items()}
        if self.runtime is not None:
            return self.runtime.environment(declared)
        return scrubbed_env(declared)

    def _run_setup(self, values: dict[str, str], env: dict[str, str], cwd: Path) -> None:
        """``service.setup``, once: ``ServiceError`` naming the step that failed, with its output."""
        try:
            self.setup_runs = run_steps(self.config.setup, where="service.setup", values=values, env=env,
                                        repo=self.repo, out_dir=self.log_dir, name="setup",
                                        timeout_s=self.config.setup_timeout, cwd=cwd)
        except SetupFailed as exc:
            if exc.run is not None:
                self.setup_runs.append(exc.run)
                self.log_files += [exc.run.stdout, exc.run.stderr]
            tail = ""
            if exc.run is not None:
                for path in (exc.run.stderr, exc.run.stdout):
                    text = path.read_text("utf-8", errors="replace") if path.exists() else ""
                    if text.strip():
                        tail = "\n".join(text.rstrip().splitlines()[-20:])
                        break
            raise ServiceError(str(exc), tail=tail) from None
        self._setup_done = True

    def wait_ready(self, timeout_s: float, *, _began: float | None = None,
                   require_alive: bool = True) -> float:
        """Poll readiness until ready (seconds waited) or ``ServiceError`` on exit/timeout."""
        began = _began if _began is not None else time.monotonic()
        deadline = began + timeout_s
        delay = 0.02
        while True:
            self._remember_processes()
            if require_alive and self._proc is not None and self._proc.poll() is not None:
                code = self._proc.returncode
                raise ServiceError(f"service exited with status {code} before it became ready "
                                   f"(command: {shlex.join(self.commands[-1])})", tail=self.tail())
            if self.ready_once():
                return time.monotonic() - began
            if time.monotonic() >= deadline:
                raise ServiceError(f"service not ready at {self.ready_target()} after {timeout_s:g} s",
                                   tail=self.tail())
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.25)

    def ready_target(self) -> str:
        """The readiness URL with the port filled in."""
        return self.config.ready.replace("{port}", str(self.port))

    def ready_once(self, timeout_s: float = 1.0) -> bool:
        """One readiness check: an HTTP answer below 500 (a redirect counts, and is never
        followed), or an accepted TCP connection — on the declared loopback address only."""
        target = urlsplit(self.ready_target())
        host, port = target.hostname or "127.0.0.1", target.port or self.port
        if target.scheme == "tcp":
            try:
                with loopback.connect(host, port, timeout_s):
                    return True
            except OSError:
                return False
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        status = loopback.http_status(host, port, path, timeout_s)
        return status is not None and status < 500

    def stop(self) -> None:
        """Stop gracefully: ``stop_signal`` to the group and to every process of the tree outside
        it, SIGKILL to what is left after ``grace_period``."""
        self._terminate(signal.Signals[self.config.stop_signal], self.config.grace_period)

    def kill(self) -> None:
        """SIGKILL the whole process tree at once (a crash, or cleanup); returns once it is gone."""
        self._terminate(signal.SIGKILL, 0.0)

    def restart(self, ready_timeout: float | None = None) -> float:
        """Kill (if running) and start again with the same port and data dir; seconds until ready."""
        self.kill()
        return self.start(ready_timeout)

    def processes(self) -> list[psutil.Process]:
        """The live processes of the service: every process of its tree (the leader, its
        descendants, orphans that left its group), never the watchdog."""
        self._remember_processes()
        found = []
        for pid, created in list(self._known.items()):
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.Error:
                self._known.pop(pid, None)
        return found

    def rss_mb(self) -> float:
        """Resident memory of all the service's processes, in MB (10^6 bytes)."""
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 1e6

    def listener_pids(self) -> list[int]:
        """PIDs of the service's processes listening on its port (the worker behind a supervisor)."""
        pids = []
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == self.port:
                        pids.append(proc.pid)
                        break
        return pids

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the latest start's stderr (or stdout when stderr is empty)."""
        for path in reversed(self.log_files[-2:]):
            text = path.read_text("utf-8", errors="replace") if path.exists() else ""
            if text.strip():
                return "\n".join(text.rstrip().splitlines()[-lines:])
        return ""

    def close(self) -> None:
        """Stop the service and remove the scratch data directory the harness made for it."""
        try:
            self.stop()
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)
            if self._own_data_dir and self.data_dir is not None:
                shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Service:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- helpers ------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="verifier-service-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()

    def _cwd(self) -> Path:
        cwd = (self.repo / self.config.cwd).resolve()
        if cwd != self.repo and self.repo not in cwd.parents:
            raise ServiceError(f"service.cwd {self.config.cwd!r} leaves the repository")
        if not cwd.is_dir():
            raise ServiceError(f"service.cwd {self.config.cwd!r} is not a directory in the repository")
        return cwd

    def _remember_processes(self) -> None:
        tree = self._proc
        if tree is None:
            return
        procs: list[psutil.Process] = []
        if not tree.finished:
            # Every process of the tree is below the watchdog: orphans are reparented to it.
            with contextlib.suppress(psutil.Error):
                procs = psutil.Process(tree.reaper_pid).children(recursive=True)
        elif self._pgid is not None:
            # The watchdog is gone (something killed it): look for the group it left behind.
            for proc in psutil.process_iter(["pid"]):
                with contextlib.suppress(psutil.Error, OSError):
                    if os.getpgid(proc.pid) == self._pgid:
                        procs.append(proc)
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                self._known.setdefault(proc.pid, proc.create_time())

    def _terminate(self, sig: signal.Signals, grace_s: float) -> None:
        tree = self._proc
        if tree is None:
            return
        self._remember_processes()
        try:
            if sig == signal.SIGKILL:
                tree.kill()
            else:
                tree.terminate(sig, grace_s)
        finally:
            # The watchdog leaves nothing behind; should it have been killed itself, finish off
            # every process of the service seen so far.
            for other in self.processes():
                with contextlib.suppress(psutil.Error):
                    other.kill()
            gone_by = time.monotonic() + 5.0
            while self.processes() and time.monotonic() < gone_by:
                time.sleep(0.02)
            tree.close()
            self._known.clear()
            self._proc = None
            with _LIVE_LOCK:
                _LIVE.discard(self)
