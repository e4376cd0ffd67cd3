"""Helpers shared by the live-service probes: the running service and error tails."""

from __future__ import annotations

from verifier.probe import ProbeContext, ProbeError
from verifier.service import Service


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
