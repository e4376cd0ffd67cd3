"""Declared HTTP requests (the ``with:`` data of the live-service probes) and a bounded loopback client
that never follows a redirect.

A request's ``path`` and the strings inside its ``body`` may use two placeholders, the same in every
probe: ``{i}`` (a sequence number) and ``{uid}`` (a token unique to this request — in ``integrity``,
to this record: its write, its read and its marker share it), so that writes do not collide.
Values from the spec are data: they are only ever sent as HTTP, never evaluated.

When the spec's service declares ``login:`` (``verifier.product.login``), a request carries the
token unless it says ``auth: false``.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from verifier import loopback
from verifier.fieldtypes import HttpHeaders, HttpMethod, HttpStatuses, ServicePath


class HttpRequest(BaseModel):
    """One declared request: method, path on the service, optional JSON body, weight, label."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    method: HttpMethod = "GET"
    """HTTP method."""
    path: ServicePath
    """Path (and query) on the service, starting with ``/``; ``{i}``/``{uid}`` placeholders allowed."""
    body: Any = None
    """JSON body (object, list, string, number); sent as ``application/json`` when set."""
    headers: HttpHeaders = Field(default_factory=dict)
    """Extra request headers."""
    weight: int = Field(default=1, ge=1, le=10_000)
    """Relative frequency under load."""
    name: str | None = None
    """Label in the statistics (default ``METHOD path``)."""
    expect: HttpStatuses = None
    """Statuses that count as success (default: any status below 400)."""
    auth: bool = True
    """Send the login's token with it (when the service declares ``login:``); ``false``: without."""

    @property
    def label(self) -> str:
        """The name used in statistics."""
        return self.name or f"{self.method} {self.path}"

    def ok(self, status: int) -> bool:
        """Whether ``status`` counts as a success for this request."""
        if self.expect is not None:
            return status in self.expect
        return 0 < status < 400


def fill(value: Any, i: int, uid: str) -> Any:
    """``value`` with ``{i}`` and ``{uid}`` replaced inside every string (recursively)."""
    if isinstance(value, str):
        return value.replace("{i}", str(i)).replace("{uid}", uid)
    if isinstance(value, list):
        return [fill(v, i, uid) for v in value]
    if isinstance(value, dict):
        return {fill(k, i, uid): fill(v, i, uid) for k, v in value.items()}
    return value


def new_uid() -> str:
    """A short token unique to one request."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Exchange:
    """One request and what came back (or why nothing did)."""

    method: str
    path: str
    request_body: bytes
    status: int
    """HTTP status; 0 when no response arrived (connection refused, reset, timeout)."""
    body: bytes
    """Response body (at most ``max_body`` bytes)."""
    elapsed_ms: float
    error: str | None = None
    """Why no response arrived."""
    timed_out: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    """Response headers, as received."""

    @property
    def content_type(self) -> str:
        """The response's media type, lower case, without parameters (``application/json``)."""
        value = next((v for k, v in self.headers if k.lower() == "content-type"), "")
        return value.split(";", 1)[0].strip().lower()

    def excerpt(self, limit: int = 300) -> str:
        """The response body as text, cut to ``limit`` characters."""
        text = self.body[:limit].decode("utf-8", errors="replace")
        return text + ("…" if len(self.body) > limit else "")


def send(port: int, method: str, path: str, body: bytes | None = None, *,
         headers: dict[str, str] | None = None, timeout_s: float = 5.0,
         max_body: int = 1 << 20) -> Exchange:
    """Send one request to 127.0.0.1:``port`` on a fresh connection; never raises for I/O errors.

    The request is written as raw bytes (so malformed paths and bodies go out as given); when the
    server answers before reading a large body and closes, its answer is still read. A redirect is
    an answer like any other: it is returned, never followed (``verifier.loopback``).
    """
    data = body or b""
    began = time.monotonic()
    lines = [f"{method} ".encode() + path.encode("utf-8", errors="surrogateescape") + b" HTTP/1.1",
             f"Host: 127.0.0.1:{port}".encode(), b"Connection: close"]
    sent = {k.lower() for k in (headers or {})}
    lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
    if "content-length" not in sent and (body is not None or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(data)}".encode())
    head = b"\r\n".join(lines) + b"\r\n\r\n"

    def done(status: int, payload: bytes, error: str | None = None, timed_out: bool = False,
             got: tuple[tuple[str, str], ...] = ()) -> Exchange:
        return Exchange(method, path, data, status, payload, (time.monotonic() - began) * 1000,
                        error, timed_out, got)

    try:
        sock = loopback.connect("127.0.0.1", port, timeout_s)
    except TimeoutError:
        return done(0, b"", f"connect timeout after {timeout_s:g} s", True)
    except OSError as exc:
        return done(0, b"", f"{type(exc).__name__}: {exc}")
    try:
        try:
            sock.sendall(head + data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may have answered (413) and closed: read what it said
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        payload = resp.read(max_body)
        return done(resp.status, payload, got=tuple(resp.getheaders()))
    except TimeoutError:
        return done(0, b"", f"no answer within {timeout_s:g} s", True)
    except (OSError, http.client.HTTPException) as exc:
        return done(0, b"", f"{type(exc).__name__}: {exc}")
    finally:
        sock.close()


def send_request(port: int, request: HttpRequest, i: int = 0, *, timeout_s: float = 5.0,
                 auth: dict[str, str] | None = None, uid: str | None = None) -> Exchange:
    """Send a declared request with placeholders filled for sequence number ``i`` (and ``uid``, by
    default a new one), with the login's ``auth`` headers unless it says ``auth: false``."""
    uid = uid or new_uid()
    path = fill(request.path, i, uid)
    headers = {**((auth or {}) if request.auth else {}), **request.headers}
    body = None
    if request.body is not None:
        body = json.dumps(fill(request.body, i, uid), ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return send(port, request.method, path, body, headers=headers, timeout_s=timeout_s)
