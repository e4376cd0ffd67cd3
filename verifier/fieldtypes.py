"""Pydantic field types shared by the task book's sections (service, runtime, probe arguments).

- ``Duration``: a positive number of seconds, written as a number or ``"30s"``, ``"2m"``,
  ``"1h30m"``, ``"500ms"`` (``parse_duration``);
- ``EnvValue``: an environment variable's value; YAML numbers and booleans become text;
- ``env_names``: the check every ``env:`` mapping's keys go through;
- ``HttpMethod``, ``ServicePath``, ``HttpHeaders``, ``HttpStatuses``: the parts of a declared HTTP
  request (the service's ``login:``, the live-service probes' requests), checked so that a value
  from the spec can only ever be sent as one request line and its headers.

They live here, below the spec, the service and the probe toolkit, so that each of those can use
them without importing the others (``verifier.service`` and ``verifier.probekit`` re-export them).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_DURATION_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m(?!s))?\s*"
                          r"(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+(?:\.\d+)?)ms)?\s*$")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METHOD = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
#: An HTTP header name (an RFC 9110 token).
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a duration string like ``"90s"``, ``"2m"``, ``"1h30m"``, ``"500ms"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration (seconds or e.g. '30s', '2m')")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            match = _DURATION_RE.match(text)
            if not text or not match or not any(match.groups()):
                raise ValueError(f"bad duration {value!r} (use seconds or e.g. '30s', '2m', '1h30m')") from None
            h, m, s, ms = (float(g) if g else 0.0 for g in match.groups())
            seconds = h * 3600 + m * 60 + s + ms / 1000
    else:
        raise ValueError("expected a duration (seconds or e.g. '30s', '2m')")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


#: A positive duration in seconds, written as a number or as ``"30s"`` / ``"2m"`` / ``"1h30m"``.
Duration = Annotated[float, BeforeValidator(parse_duration)]


def _scalar_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return str(value)
    return value


EnvValue = Annotated[str, BeforeValidator(_scalar_to_str)]
"""An environment variable value; YAML numbers and booleans are accepted and turned into text."""


def env_names(value: dict[str, str]) -> dict[str, str]:
    """``value`` when every key is an environment variable name; ``ValueError`` naming the first
    that is not (for an ``env:`` field validator)."""
    for key in value:
        if not _ENV_NAME.fullmatch(key):
            raise ValueError(f"bad environment variable name {key!r}")
    return value


def _method(value: str) -> str:
    value = value.upper()
    if not _METHOD.match(value):
        raise ValueError(f"bad HTTP method {value!r}")
    return value


def _service_path(value: str) -> str:
    if not value.startswith("/") or value.startswith("//"):
        raise ValueError(f"path {value!r} must start with a single '/' (the host is the service)")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError(f"path {value!r} contains whitespace or control characters")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    for key, text in value.items():
        if not HEADER_NAME.match(key) or "\n" in text or "\r" in text:
            raise ValueError(f"bad header {key!r}")
    return value


def _statuses(value: list[int] | None) -> list[int] | None:
    if value is not None and (not value or any(not 100 <= v <= 599 for v in value)):
        raise ValueError("expect must list HTTP statuses between 100 and 599")
    return value


HttpMethod = Annotated[str, AfterValidator(_method)]
"""An HTTP method, upper-cased: a token of at most 32 letters, digits, ``_`` and ``-``."""
ServicePath = Annotated[str, AfterValidator(_service_path)]
"""A path on the service: one leading ``/`` (never a host), no whitespace or control character."""
HttpHeaders = Annotated[dict[str, str], AfterValidator(_headers)]
"""Extra request headers: token names, values without a line break."""
HttpStatuses = Annotated[list[int] | None, AfterValidator(_statuses)]
"""Statuses that count as success: a non-empty list of 100–599, or ``None`` for the default."""
