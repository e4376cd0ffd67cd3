"""Helpers shared by the live-service probes: the running service and error tails."""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress

from verifier.probe import ProbeContext, ProbeError
from verifier.service import Service, ServiceError


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
