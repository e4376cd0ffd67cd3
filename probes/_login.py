"""Logging in to the service from the harness (``service.login``, ``verifier.product.login``).

``Login`` sends the declared login request on loopback (``probes._http.send``: redirects never
followed), takes the token from its answer and gives the headers that carry it; ``refresh`` logs
in again (after the service was restarted, or a request was answered 401). A login that fails is a
``ProbeError`` naming the request and what came back: the probe records it as its error. Every
login exchange is appended to ``login.jsonl`` in the indicator's evidence folder (status, time,
outcome; the token itself is kept out).
"""

from __future__ import annotations

import json
from pathlib import Path

from verifier.probe import Phrase, ProbeContext, ProbeError
from verifier.product.login import LoginConfig, LoginFailed, token_from

from ._http import send


def login_config(ctx: ProbeContext) -> LoginConfig | None:
    """The spec's ``service.login``, or None."""
    service = getattr(ctx.spec, "service", None)
    return getattr(service, "login", None)


class Login:
    """The login of one client of the service; ``headers()`` is ``{}`` when the spec declares none."""

    def __init__(self, config: LoginConfig | None, port: int, *, timeout_s: float = 5.0,
                 log: Path | None = None, user: int = 1) -> None:
        self.config = config
        self.port = port
        self.timeout_s = timeout_s
        self.log = log
        """The file each login exchange is appended to (JSON lines)."""
        self.user = user
        self.logins = 0
        """How many times it logged in."""
        self._headers: dict[str, str] | None = None

    def headers(self) -> dict[str, str]:
        """The headers that carry the token (logging in first if needed); ``ProbeError`` when the
        login fails."""
        if self.config is None:
            return {}
        if self._headers is None:
            self._headers = self._log_in(self.config)
        return dict(self._headers)

    def refresh(self) -> dict[str, str]:
        """Log in again (a restart may have forgotten the token) and return the new headers."""
        self._headers = None
        return self.headers()

    def _log_in(self, config: LoginConfig) -> dict[str, str]:
        ex = send(self.port, config.request.method, config.path_for(self.user), config.body_for(self.user),
                  headers=config.headers_for(), timeout_s=self.timeout_s)
        self.logins += 1
        outcome = "ok"
        try:
            if ex.status == 0:
                raise LoginFailed(f"{config.request.method} {config.request.path} got no answer: {ex.error}")
            token = token_from(config, ex.status, ex.headers, ex.body)
        except LoginFailed as exc:
            outcome = str(exc)
            raise ProbeError(f"login failed: {exc}") from None
        finally:
            if self.log is not None:
                with open(self.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({"phase": "login", "user": self.user, "method": ex.method,
                                          "path": ex.path, "status": ex.status,
                                          "elapsed_ms": round(ex.elapsed_ms, 3), "outcome": outcome},
                                         ensure_ascii=False) + "\n")
        return config.auth_headers(token)


def checked_login(ctx: ProbeContext, port: int, *, timeout_s: float = 5.0) -> LoginConfig | None:
    """The spec's ``service.login`` after logging in once from the harness (the exchange logged in
    the evidence folder's ``login.jsonl``), so that a login that cannot work is one clear
    ``ProbeError`` before a load test starts; None when the spec declares no login."""
    config = login_config(ctx)
    if config is None:
        return None
    Login(config, port, timeout_s=timeout_s, log=login_log(ctx)).headers()
    return config


def login_log(ctx: ProbeContext) -> Path:
    """Where an indicator's logins are logged: ``login.jsonl`` in its evidence folder."""
    return ctx.evidence_dir / "login.jsonl"


#: the Chinese of ``login_note``, for the probes that write it
LOGIN_PHRASE = Phrase("Each simulated user logged in first ({label}; its token sent as {sending}) and again "
                      "after an answer 401; logins count as requests.",
                      "每个模拟用户先登录（{label}；令牌以 {sending} 发送），收到 401 后重新登录；登录请求计入请求数。")


def login_note(config: LoginConfig) -> str:
    """What the evidence says about a load test's logins."""
    return (f"Each simulated user logged in first ({config.label}; its token sent as "
            f"{config.sending()[0]}) and again after an answer 401; logins count as requests.")
