"""How declared requests authenticate: the ``login:`` of the spec's ``service:`` section.

::

    service:
      login:
        request: {method: POST, path: /api/login, body: {username: agency, password: s3cret}}
        token: {json: access_token}       # or {header: X-Auth-Token}, or {cookie: session}
        send: {header: Authorization, value: "Bearer {token}"}   # the default for json and header

The login request is sent to the service on loopback (never following a redirect, like every
request verifier makes); its answer must have one of ``request.expect`` (default: any 2xx) and
carry the token where ``token`` says: at a JSON path of the body (``access_token``,
``data.token``, ``items[0].id``), in a response header, or in a cookie set by the answer. Every
declared request then carries it as ``send`` says (a cookie token: ``Cookie: NAME=TOKEN`` by
default). A load test logs in once per simulated user; ``{user}`` in the login's path or body is
that user's number (1, 2, …), so that each may have its own account. A request declared
``auth: false`` is sent without the token.

This module is pure: the models, the request to send, the token found in an answer, the headers
that carry it. The probes send the requests (``probes._login``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.fieldtypes import HEADER_NAME as _HEADER
from verifier.fieldtypes import HttpHeaders, HttpMethod, HttpStatuses, ServicePath

_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


class LoginFailed(Exception):
    """The login did not give a token; ``str()`` says why in one line."""


def parse_json_path(path: str) -> list[str | int]:
    """``data.items[0].token`` (optionally ``$.``-prefixed) as keys and indexes; ``ValueError``."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else text
    tokens: list[str | int] = []
    position = 0
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ValueError(f"JSON path {path!r} is malformed at {text[position:]!r}")
        key, index = match.groups()
        tokens.append(int(index) if index is not None else key)
        position = match.end()
    if not tokens:
        raise ValueError(f"JSON path {path!r} selects nothing")
    return tokens


def _fill_user(value: Any, user: int) -> Any:
    if isinstance(value, str):
        return value.replace("{user}", str(user))
    if isinstance(value, list):
        return [_fill_user(v, user) for v in value]
    if isinstance(value, dict):
        return {_fill_user(k, user): _fill_user(v, user) for k, v in value.items()}
    return value


class LoginRequest(BaseModel):
    """The login request: method, path, JSON body, headers, the statuses that mean success."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    method: HttpMethod = "POST"
    """HTTP method."""
    path: ServicePath
    """Path on the service, starting with ``/``; ``{user}`` is the simulated user's number."""
    body: Any = None
    """JSON body (``{user}`` allowed in its strings); sent as ``application/json``."""
    headers: HttpHeaders = Field(default_factory=dict)
    """Extra request headers."""
    expect: HttpStatuses = None
    """Statuses that mean the login succeeded (default: any 2xx)."""

    def ok(self, status: int) -> bool:
        """Whether ``status`` means the login succeeded."""
        return status in self.expect if self.expect is not None else 200 <= status < 300


class TokenSource(BaseModel):
    """Where the login's answer carries the token: exactly one of ``json``, ``header``, ``cookie``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)

    json_path: str | None = Field(None, alias="json")
    """JSON path in the answer's body (``access_token``, ``data.token``, ``items[0].id``)."""
    header: str | None = None
    """Name of the response header holding the token."""
    cookie: str | None = None
    """Name of the cookie the answer sets."""

    @field_validator("json_path")
    @classmethod
    def _json_path(cls, value: str | None) -> str | None:
        if value is not None:
            parse_json_path(value)
        return value

    @field_validator("header", "cookie")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError(f"bad name {value!r}")
        return value

    @model_validator(mode="after")
    def _one(self) -> TokenSource:
        given = [k for k in ("json_path", "header", "cookie") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("declare exactly one of json (a JSON path), header or cookie")
        return self

    @property
    def kind(self) -> str:
        """``json``, ``header`` or ``cookie``."""
        return "json" if self.json_path is not None else "header" if self.header is not None else "cookie"


class TokenUse(BaseModel):
    """How later requests carry the token: a header and its value (``{token}`` is the token)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    header: str | None = None
    """The header (default ``Authorization``; ``Cookie`` for a cookie token)."""
    value: str | None = None
    """Its value (default ``Bearer {token}``; ``NAME={token}`` for a cookie token)."""

    @field_validator("header")
    @classmethod
    def _header(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER.match(value):
            raise ValueError(f"bad header {value!r}")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str | None) -> str | None:
        if value is not None and ("{token}" not in value or "\n" in value or "\r" in value):
            raise ValueError("value must use {token} (and hold no line break)")
        return value


class LoginConfig(BaseModel):
    """``service.login``: log in first; every declared request then carries the token."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    request: LoginRequest
    """The login request."""
    token: TokenSource
    """Where its answer carries the token."""
    send: TokenUse = Field(default_factory=TokenUse)
    """How later requests carry it."""

    @property
    def label(self) -> str:
        """``LOGIN POST /api/login``: how the login request is named in statistics and errors."""
        return f"LOGIN {self.request.method} {self.request.path}"

    def path_for(self, user: int = 1) -> str:
        """The login path for simulated user ``user``."""
        return _fill_user(self.request.path, user)

    def body_for(self, user: int = 1) -> bytes | None:
        """The login body for simulated user ``user`` (JSON, UTF-8), or None."""
        if self.request.body is None:
            return None
        return json.dumps(_fill_user(self.request.body, user), ensure_ascii=False).encode("utf-8")

    def headers_for(self) -> dict[str, str]:
        """The login request's headers (``Content-Type: application/json`` with a body)."""
        headers = dict(self.request.headers)
        if self.request.body is not None and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        return headers

    def sending(self) -> tuple[str, str]:
        """The header that carries the token, and its value with ``{token}`` in it."""
        if self.token.kind == "cookie":
            return self.send.header or "Cookie", self.send.value or f"{self.token.cookie}={{token}}"
        return self.send.header or "Authorization", self.send.value or "Bearer {token}"

    def auth_headers(self, token: str) -> dict[str, str]:
        """The headers a request sends to carry ``token``."""
        header, value = self.sending()
        return {header: value.replace("{token}", token)}

    def client_config(self) -> dict[str, Any]:
        """A JSON-ready description for the clients verifier runs as their own processes (the
        load client, the generated locustfile): the request, where the token is, how to send it."""
        header, value = self.sending()
        token: dict[str, Any] = {"kind": self.token.kind}
        if self.token.json_path is not None:
            token["path"] = parse_json_path(self.token.json_path)
        else:
            token["name"] = self.token.header or self.token.cookie
        return {"method": self.request.method, "path": self.request.path, "body": self.request.body,
                "headers": self.headers_for(), "expect": self.request.expect, "token": token,
                "send": {"header": header, "value": value}, "label": self.label}


def token_from(login: LoginConfig, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> str:
    """The token in the login's answer; ``LoginFailed`` saying why there is none (a status that
    is not success, no such JSON field, header or cookie, an empty token)."""
    excerpt = body[:200].decode("utf-8", errors="replace").replace("\n", " ")
    if not login.request.ok(status):
        raise LoginFailed(f"{login.request.method} {login.request.path} answered {status or 'nothing'}"
                          + (f": {excerpt}" if excerpt else ""))
    source = login.token
    if source.json_path is not None:
        try:
            value: Any = json.loads(body.decode("utf-8"))
            for step in parse_json_path(source.json_path):
                value = value[step]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LoginFailed(f"the login answer has no token at JSON path {source.json_path!r}: "
                              f"{excerpt}") from None
        token = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (int, float)) else ""
    elif source.header is not None:
        token = next((v for k, v in headers if k.lower() == source.header.lower()), "")
        if not token:
            raise LoginFailed(f"the login answer has no {source.header} header")
    else:
        token = _cookie(headers, source.cookie or "")
        if not token:
            raise LoginFailed(f"the login answer sets no cookie {source.cookie!r}")
    token = token.strip()
    if not token or any(ch in token for ch in "\r\n"):
        raise LoginFailed("the login answer's token is empty or holds a line break")
    return token


def _cookie(headers: Sequence[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return ""
