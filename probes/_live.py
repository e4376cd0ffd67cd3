"""Helpers shared by the live-service probes: the running service, error tails, and commands
declared to run next to the service (a product's own CLI or batch job that writes or reads data).

A declared command (``ServiceCommand``) is an argv list, or a string split like a POSIX shell would
(never run through a shell unless ``shell: true``). Its arguments and environment values may use
``{port}``, ``{base_url}``, ``{data_dir}`` (the service's scratch directory), ``{python}`` (the
interpreter running verifier), ``{repo}``, ``{spec_dir}`` (the task book's directory) and the
product's runtime (``{runtime.python}`` …), plus whatever the probe adds (``{i}``, ``{uid}``);
``{{``/``}}`` are literal braces. It runs with the product's runtime first on ``PATH`` when the
spec declares one. Values from the spec are data: they are only ever passed as argv.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from verifier.probe import ProbeContext, ProbeError
from verifier.probekit import (
    COMMON_PLACEHOLDERS,
    EnvValue,
    declared_values,
    expand_command,
    inside_repo,
    interpreter_env,
    placeholders,
    product_python,
    substitute,
    which,
)
from verifier.repo_paths import RepoPath
from verifier.service import Duration, Service, ServiceError

#: Placeholders every declared command may use; a probe may allow more (``{i}``, ``{uid}``).
COMMAND_PLACEHOLDERS = ("port", "base_url", "data_dir", *COMMON_PLACEHOLDERS)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def require_service(ctx: ProbeContext, probe: str) -> Service:
    """The running service of ``ctx``; ``ProbeError`` when the spec declared none or it is down."""
    service = ctx.service
    if not isinstance(service, Service):
        raise ProbeError(f"{probe} needs the system under test running: declare a service: section "
                         "in the spec")
    if not service.alive():
        raise ProbeError(f"{probe}: the service is not running (it exited before the probe started)",
                         tail=service.tail())
    return service


def tail_with_service(service: Service | None, *parts: str) -> str:
    """Tool output tails followed by the service's log tail, for an error reason."""
    chunks = [p for p in parts if p and p.strip()]
    if service is not None:
        log = service.tail()
        if log:
            chunks.append("--- service log ---\n" + log)
    return "\n".join(chunks)


def crash(service: Service, restart: str) -> float:
    """SIGKILL the service (the whole group, or only its listening worker under a supervisor);
    the Unix time of the kill."""
    if restart == "supervisor":
        pids = service.listener_pids()
        if not pids:
            raise ProbeError(f"no process of the service listens on port {service.port}; "
                             "cannot crash the worker behind the supervisor", tail=service.tail())
        killed_at = time.time()
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return killed_at
    killed_at = time.time()
    service.kill()
    return killed_at


def recover(service: Service, restart: str, timeout_s: float) -> tuple[float | None, str | None]:
    """Bring the service back (start it again, or wait for the product's supervisor); the Unix
    time it was ready again, or ``None`` and the reason."""
    try:
        if restart == "supervisor":
            service.wait_ready(timeout_s)
        else:
            service.start(ready_timeout=timeout_s)
    except ServiceError as exc:
        return None, str(exc)
    return time.time(), None


class ServiceCommand(BaseModel):
    """A command declared in a live-service probe's ``with:``, run next to the running service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | str
    """argv list (preferred), or a string split like a POSIX shell would; placeholders allowed."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Extra environment variables (placeholders allowed) on top of a scrubbed environment."""
    cwd: RepoPath = "."
    """Working directory, relative to the delivered repository."""
    shell: bool = False
    """Run through ``/bin/sh -c`` (placeholder values are shell-quoted); only when declared."""
    timeout: Duration = Field(default=30.0, le=3600)
    """Seconds one run may take before it is killed (and the probe reports an error)."""
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0], min_length=1)
    """Exit statuses that mean the command succeeded."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | str) -> list[str] | str:
        try:
            parts = shlex.split(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ValueError(f"command cannot be split: {exc}") from None
        if not parts or not str(parts[0]).strip():
            raise ValueError("command is empty")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not _ENV_NAME.fullmatch(key):
                raise ValueError(f"bad environment variable name {key!r}")
        return value

    @property
    def label(self) -> str:
        """The command as declared, on one line (cut to 120 characters), for findings and errors."""
        text = self.command if isinstance(self.command, str) else " ".join(
            part if part and not any(ch.isspace() or ch in "'\"" for ch in part) else shlex.quote(part)
            for part in self.command)
        return text if len(text) <= 120 else text[:119] + "…"

    def placeholders(self) -> set[str]:
        """Every ``{name}`` used in the command and the environment values."""
        texts = [self.command] if isinstance(self.command, str) else list(self.command)
        return set().union(*(placeholders(t) for t in [*texts, *self.env.values()]))

    def check_placeholders(self, allowed: Iterable[str], where: str) -> None:
        """``ValueError`` naming any placeholder outside ``allowed`` (for a model validator)."""
        known = sorted(set(allowed))
        unknown = sorted(self.placeholders() - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}"
                             f" (known here: {', '.join('{' + k + '}' for k in known)}; "
                             "write {{ }} for literal braces)")


def command_values(ctx: ProbeContext, service: Service) -> dict[str, str]:
    """The values of ``COMMAND_PLACEHOLDERS`` for ``service`` running under ``ctx``."""
    return {**declared_values(ctx), "port": str(service.port), "base_url": service.base_url,
            "data_dir": str(service.data_dir or "")}


def command_call(step: ServiceCommand, ctx: ProbeContext, values: Mapping[str, str], *,
                 what: str) -> tuple[list[str], Path, dict[str, str]]:
    """argv, working directory and environment of ``step`` with ``values`` filled in;
    ``ProbeError`` when the directory is missing or the executable cannot be found."""
    cwd = inside_repo(ctx.repo, step.cwd, what=f"{what} cwd")
    argv = expand_command(step.command, values, shell=step.shell)
    env = interpreter_env(product_python(ctx), {k: substitute(v, values) for k, v in step.env.items()})
    if which(argv[0], env, cwd) is None:
        raise ProbeError(f"{what} {argv[0]!r} not found (not on PATH, nor relative to cwd {step.cwd!r})")
    return argv, cwd, env
