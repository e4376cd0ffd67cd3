"""The one way verifier talks to the system under test: plain sockets to a loopback address.

Every connection the harness itself opens to the service — the readiness check
(``verifier.service``), the live probes' requests (``verifier.builtin_probes._http``) — goes through ``connect``,
which refuses any address outside loopback (127.0.0.0/8, ::1; ``localhost`` is taken as those
addresses, never looked up). ``http_status`` sends one request and reads the status line only:
an answer is an answer, a redirect (3xx) included; no redirect is ever followed, so a service cannot
send the harness anywhere else. There is no proxy, no cookie, no name resolution.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket

#: ``localhost`` means these addresses, in this order; the name is never resolved.
_LOCALHOST = ("127.0.0.1", "::1")


class NotLoopbackError(ValueError):
    """An address outside loopback was about to be contacted."""


def loopback_addresses(host: str) -> tuple[str, ...]:
    """The literal loopback addresses ``host`` stands for; ``NotLoopbackError`` for anything else
    (another host name, a routable address)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return _LOCALHOST
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise NotLoopbackError(f"{host!r} is not a loopback address") from None
    if not address.is_loopback:
        raise NotLoopbackError(f"{host!r} is not a loopback address")
    return (str(address),)


def connect(host: str, port: int, timeout_s: float) -> socket.socket:
    """A TCP connection to ``host``:``port`` on loopback (``OSError`` when nothing answers)."""
    error: OSError | None = None
    for address in loopback_addresses(host):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout_s)
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error


def http_status(host: str, port: int, target: str, timeout_s: float) -> int | None:
    """Status of ``GET target`` on loopback ``host``:``port`` (redirects are statuses, never
    followed); ``None`` when no HTTP answer arrived within ``timeout_s``."""
    if not target.startswith("/") or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        raise ValueError(f"bad request target {target!r}")
    authority = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    request = (f"GET {target} HTTP/1.1\r\nHost: {authority}:{port}\r\nConnection: close\r\n"
               "Accept: */*\r\nUser-Agent: verifier-readiness\r\n\r\n")
    try:
        sock = connect(host, port, timeout_s)
    except OSError:
        return None
    response = None
    try:
        sock.sendall(request.encode("utf-8", errors="surrogateescape"))
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        if response is not None:
            response.close()
        sock.close()
