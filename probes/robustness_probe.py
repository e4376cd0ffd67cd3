"""``robustness`` probe (reliability): malformed requests must get a 4xx, not a 5xx, a timeout or a crash.

Sends the declared malformed ``cases`` plus requests generated from well-formed example
``endpoints``: bad JSON, not JSON, empty and wrong-typed bodies, wrong field types, oversize bodies,
invalid UTF-8, bad path parameters and percent-encoding, unknown routes, undeclared methods. Every
answer that is not a 4xx is kept as a finding with the request and the response. When the service
dies, that is recorded and it is started again so that the remaining cases still run.

With the service's ``login:`` every case carries the token (an endpoint or case declared
``auth: false`` does not), so that the malformed requests reach the product's validation; after a
restart the probe logs in again. A case sent without credentials and answered 401 or 403 did not
reach that validation: it is *not exercised* — counted apart (``not_exercised``) and left out of
``share_4xx``, never taken for a correct 4xx. In the cases, ``{uid}`` is a token unique to each
request (as in every probe) and ``{i}`` is 1.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.probe import (
    Finding,
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    finding_fingerprint,
)
from verifier.service import ServiceError

from ._http import Exchange, HttpRequest, fill, new_uid, send
from ._live import require_service, tail_with_service
from ._login import Login, login_config, login_log

#: The kinds of generated case, usable in ``skip``.
KINDS = ("bad_json", "not_json", "empty_body", "wrong_top_type", "empty_object", "wrong_field_type",
         "oversize", "bad_utf8", "bad_path_param", "bad_percent_encoding", "unknown_route",
         "undeclared_method")
_UNDECLARED_METHODS = ("PUT", "DELETE", "PATCH")
_NUMERIC_SEGMENT = re.compile(r"^\d+$")


class MalformedCase(BaseModel):
    """A declared malformed request that must be answered with a 4xx."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    method: str = "POST"
    """HTTP method."""
    path: str
    """Path on the service (``{uid}`` allowed)."""
    body: Any = None
    """A JSON value sent as the body."""
    raw: str | None = None
    """A body sent exactly as written (UTF-8), e.g. broken JSON; instead of ``body``."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra request headers."""
    name: str | None = None
    """Label of the case (default ``METHOD path``)."""
    auth: bool = True
    """Send the login's token with it (when the service declares ``login:``)."""

    @field_validator("method", "path")
    @classmethod
    def _request_parts(cls, value: str, info: Any) -> str:
        probe = {"method": value, "path": "/"} if info.field_name == "method" else {"path": value}
        checked = HttpRequest.model_validate(probe)
        return checked.method if info.field_name == "method" else checked.path

    @model_validator(mode="after")
    def _one_body(self) -> MalformedCase:
        if self.body is not None and self.raw is not None:
            raise ValueError("declare body or raw, not both")
        return self


class RobustnessArgs(ProbeArgs):
    """``with:`` of the robustness probe."""

    endpoints: list[HttpRequest] = Field(default_factory=list)
    """Well-formed example requests from which malformed variants are generated."""
    cases: list[MalformedCase] = Field(default_factory=list)
    """Declared malformed requests."""
    skip: list[str] = Field(default_factory=list)
    """Generated kinds not to send (e.g. ``undeclared_method`` when the API has undeclared methods)."""
    oversize_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)
    """Size of the oversize bodies."""
    request_timeout: float = Field(default=5.0, gt=0, le=60)
    """Seconds without an answer before a request counts as a timeout."""
    max_cases: int = Field(default=300, ge=1, le=5000)
    """At most this many requests are sent."""

    @field_validator("skip")
    @classmethod
    def _skip(cls, value: list[str]) -> list[str]:
        unknown = [k for k in value if k not in KINDS]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)} (known: {', '.join(KINDS)})")
        return value

    @model_validator(mode="after")
    def _something(self) -> RobustnessArgs:
        if not self.endpoints and not self.cases:
            raise ValueError("declare endpoints (to generate malformed variants) or cases, or both")
        return self


#: Stands for ``{uid}`` in the generated cases until each is sent with a token of its own.
UID_SLOT = "VERIFIERUIDSLOT"


@dataclass(frozen=True)
class Case:
    """One malformed request to send."""

    kind: str
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True
    """Whether it carries the login's token (when the service declares one)."""
    route: str = ""
    """``METHOD PATH`` as declared (placeholders unfilled): where a finding on this case is, for
    its fingerprint."""

    def with_uid(self, uid: str) -> Case:
        """The case with ``UID_SLOT`` replaced by ``uid`` in its path and body; its route (and so its
        fingerprint) stays the one with the slot unfilled."""
        body = self.body.replace(UID_SLOT.encode(), uid.encode()) if self.body is not None else None
        return replace(self, path=self.path.replace(UID_SLOT, uid), body=body,
                       route=self.route or f"{self.method} {self.path}")

    def fingerprint(self) -> str:
        """The fingerprint of a finding on this case (``verifier.probe.finding_fingerprint``): its
        kind, route and name, the same on every run of the same task book."""
        return finding_fingerprint("robustness", self.kind, self.route or f"{self.method} {self.path}",
                                   f"{self.method} {self.name}")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _wrong_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, (int, float)):
        return "not-a-number"
    if isinstance(value, str):
        return ["not", "a", "string"]
    if isinstance(value, list):
        return {"not": "a list"}
    if isinstance(value, dict):
        return ["not", "an", "object"]
    return None


def generate_cases(endpoints: list[HttpRequest], *, oversize_bytes: int, skip: set[str],
                   uid: str = "robust") -> list[Case]:
    """Malformed variants of the example ``endpoints``, their ``{uid}`` filled with ``uid`` (pure:
    same input, same cases; a run passes ``UID_SLOT`` and gives each case its own token)."""
    cases: list[Case] = []
    json_header = {"Content-Type": "application/json"}
    declared: dict[str, set[str]] = {}
    auth = {fill(ep.path, 1, uid): ep.auth for ep in endpoints}
    for ep in endpoints:
        declared.setdefault(fill(ep.path, 1, uid), set()).add(ep.method)

    def add(kind: str, name: str, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None, sends_auth: bool = True) -> None:
        if kind not in skip:
            cases.append(Case(kind, name, method, path, body, dict(headers or {}), sends_auth))

    for ep in endpoints:
        path = fill(ep.path, 1, uid)
        label = f"{ep.method} {ep.path}"
        first = len(cases)
        if ep.body is not None:
            good = fill(ep.body, 1, uid)
            text = _json_bytes(good)
            add("bad_json", f"{label}: truncated JSON", ep.method, path, text[: max(1, len(text) // 2)],
                json_header)
            add("not_json", f"{label}: body is not JSON", ep.method, path, b"this is not json",
                json_header)
            add("empty_body", f"{label}: empty body", ep.method, path, b"", json_header)
            tops: tuple[object, ...] = ([], "text", 42, None)
            for top in tops:
                add("wrong_top_type", f"{label}: body is {json.dumps(top)}", ep.method, path,
                    _json_bytes(top), json_header)
            if isinstance(good, dict) and good:
                add("empty_object", f"{label}: empty object", ep.method, path, b"{}", json_header)
                for key, value in good.items():
                    wrong = _wrong_value(value)
                    if wrong is not None:
                        add("wrong_field_type", f"{label}: {key} of the wrong type", ep.method, path,
                            _json_bytes({**good, key: wrong}), json_header)
                padded = {**good, "padding": "x" * oversize_bytes}
                add("oversize", f"{label}: {len(_json_bytes(padded))} byte body", ep.method, path,
                    _json_bytes(padded), json_header)
                strings = [k for k, v in good.items() if isinstance(v, str)]
                if strings:
                    marker = "\u0000VERIFIER-BAD-UTF8\u0000"
                    raw = _json_bytes({**good, strings[0]: marker})
                    raw = raw.replace(_json_bytes(marker)[1:-1], b"\xff\xfe\xc3\x28")
                    add("bad_utf8", f"{label}: invalid UTF-8 in {strings[0]}", ep.method, path, raw,
                        json_header)
            else:
                add("oversize", f"{label}: {oversize_bytes} byte body", ep.method, path,
                    b"[" + b'"x",' * (oversize_bytes // 4) + b'"x"]', json_header)
        segments = path.split("?")[0].split("/")
        for n, segment in enumerate(segments):
            if _NUMERIC_SEGMENT.match(segment):
                for bad in ("abc", "-1", "9" * 30):
                    mangled = "/".join([*segments[:n], bad, *segments[n + 1:]])
                    add("bad_path_param", f"{label}: path parameter {bad[:12]}", ep.method, mangled,
                        _json_bytes(fill(ep.body, 1, uid)) if ep.body is not None else None,
                        json_header if ep.body is not None else None)
        cases[first:] = [replace(case, auth=ep.auth) for case in cases[first:]]
    for path, methods in declared.items():
        carry = auth.get(path, True)
        add("bad_percent_encoding", f"{path}: bad percent-encoding", "GET",
            path.split("?")[0].rstrip("/") + "/%ZZ%C3%28", sends_auth=carry)
        add("unknown_route", f"{path}: unknown sub-route", "GET",
            path.split("?")[0].rstrip("/") + "/__verifier_no_such_route__", sends_auth=carry)
        for method in _UNDECLARED_METHODS:
            if method not in methods:
                add("undeclared_method", f"{method} {path}: method not declared", method, path,
                    b"{}" if method in ("PUT", "PATCH") else None,
                    json_header if method in ("PUT", "PATCH") else None, carry)
    add("unknown_route", "unknown route at the root", "GET", "/__verifier_no_such_route__",
        sends_auth=all(auth.values()) if auth else True)
    return cases


def _declared_cases(cases: list[MalformedCase]) -> list[Case]:
    out = []
    for case in cases:
        uid = new_uid()
        headers = dict(case.headers)
        body = None
        if case.raw is not None:
            body = case.raw.encode("utf-8")
        elif case.body is not None:
            body = _json_bytes(fill(case.body, 1, uid))
            headers.setdefault("Content-Type", "application/json")
        out.append(Case("declared", case.name or f"{case.method} {case.path}", case.method,
                        fill(case.path, 1, uid), body, headers, case.auth, route=f"{case.method} {case.path}"))
    return out


#: Answers that only say "who are you": to a request without credentials, the case never reached
#: the validation it was meant to test.
_AUTH_STATUSES = (401, 403)


def _outcome(ex: Exchange, *, credentials: bool) -> str:
    if ex.timed_out:
        return "timeout"
    if ex.status == 0:
        return "no_answer"
    if ex.status in _AUTH_STATUSES and not credentials:
        return "not_exercised"
    return f"{ex.status // 100}xx"


class RobustnessProbe(Probe):
    """Share of malformed requests answered with a client error (4xx)."""

    name = "robustness"
    characteristic = "reliability"
    description = "Malformed requests (bad JSON, wrong types, oversize, bad encodings, unknown routes): share answered 4xx."
    metrics = {
        "share_4xx": MetricInfo("%", "malformed requests answered with a 4xx", "higher"),
        "non4xx": MetricInfo("count", "malformed requests answered otherwise (5xx, 2xx, timeout, no answer)"),
        "cases": MetricInfo("count", "malformed requests sent", "higher"),
        "crashes": MetricInfo("count", "times the service died while answering them"),
        "not_exercised": MetricInfo("count", "malformed requests sent without credentials and answered "
                                             "401/403 (left out of share_4xx)"),
    }
    Args = RobustnessArgs
    needs_service = True

    presentation = Presentation(phrases=(
        Phrase("4xx is the only acceptable answer to a malformed request; every other answer is a finding.",
               "对畸形请求，只有 4xx 应答是可接受的；其他任何应答都记为问题。"),
        Phrase("{count} cases generated; the first {sent} were sent (max_cases).",
               "共生成 {count} 个用例；发送了前 {sent} 个（max_cases）。"),
        Phrase("{case}: {method} {path} -> {answer} (service died)", "{case}：{method} {path} -> {answer}（服务崩溃）"),
        Phrase("{case}: {method} {path} -> {answer}", "{case}：{method} {path} -> {answer}"),
        Phrase("{label}: truncated JSON", "{label}：截断的 JSON"),
        Phrase("{label}: body is not JSON", "{label}：请求体不是 JSON"),
        Phrase("{label}: empty body", "{label}：空请求体"),
        Phrase("{label}: body is {value}", "{label}：请求体为 {value}"),
        Phrase("{label}: empty object", "{label}：空对象"),
        Phrase("{label}: {key} of the wrong type", "{label}：字段 {key} 类型错误"),
        Phrase("{label}: {size} byte body", "{label}：{size} 字节的请求体"),
        Phrase("{label}: invalid UTF-8 in {key}", "{label}：字段 {key} 含无效 UTF-8"),
        Phrase("{label}: path parameter {value}", "{label}：路径参数 {value}"),
        Phrase("{path}: bad percent-encoding", "{path}：错误的百分号编码"),
        Phrase("{path}: unknown sub-route", "{path}：不存在的子路径"),
        Phrase("{method} {path}: method not declared", "{method} {path}：未声明的方法"),
        Phrase("unknown route at the root", "根路径下不存在的路由"),
    ), labels={
        "share_4xx": ("4xx 响应占比（%）", "Share of 4xx answers (%)"),
        "non4xx": ("非 4xx 响应数", "Non-4xx answers"),
        "cases": ("用例数", "Cases"),
        "crashes": ("崩溃次数", "Crashes"),
        "outcomes": ("结果", "Outcomes"),
        "by_kind": ("按用例类型统计", "By case kind"),
        "planned": ("计划用例数", "Planned cases"),
        "not_exercised": ("未触达校验的用例数（无凭据 401/403）", "Not exercised (401/403 without credentials)"),
    })

    waivable = True

    @classmethod
    def recount(cls, measurements: Mapping[str, float | None],
                waived: Sequence[Finding]) -> dict[str, float | None]:
        """The figures with the waived answers accepted: a waived non-4xx answer leaves ``non4xx``
        and counts toward ``share_4xx`` (over the exercised cases) as an acceptable answer (an expert
        judged it so); a waived crash leaves ``crashes``. ``cases`` is unchanged."""
        out = dict(measurements)
        for f in waived:
            if f.extra.get("outcome") != "4xx" and out.get("non4xx") is not None:
                out["non4xx"] = max(float(out["non4xx"] or 0) - 1, 0.0)
            if f.extra.get("service_died") and out.get("crashes") is not None:
                out["crashes"] = max(float(out["crashes"] or 0) - 1, 0.0)
        cases = out.get("cases")
        exercised = (cases - float(out.get("not_exercised") or 0)) if isinstance(cases, (int, float)) else None
        if exercised is not None and exercised > 0 and out.get("non4xx") is not None:
            out["share_4xx"] = 100.0 * (exercised - float(out["non4xx"] or 0)) / exercised
        return out

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Send every case, one connection each, and classify the answers."""
        args: RobustnessArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "robustness")
        cases = _declared_cases(args.cases) + generate_cases(
            args.endpoints, oversize_bytes=args.oversize_bytes, skip=set(args.skip), uid=UID_SLOT)
        notes = ["4xx is the only acceptable answer to a malformed request; every other answer is a finding."]
        if len(cases) > args.max_cases:
            notes.append(f"{len(cases)} cases generated; the first {args.max_cases} were sent (max_cases).")
            cases = cases[: args.max_cases]
        if not cases:
            raise ProbeError("no malformed request to send (everything skipped)")
        deadline = time.monotonic() + ctx.timeout_s - 5
        log_path = ctx.evidence_dir / "robustness-exchanges.jsonl"
        findings: list[Finding] = []
        counts: dict[str, int] = {}
        crashes = 0
        sent = 0
        error = None
        with open(log_path, "w", encoding="utf-8") as log:
            login = Login(login_config(ctx), service.port, timeout_s=args.request_timeout, log=login_log(ctx))
            try:
                auth = login.headers()
            except ProbeError as exc:
                raise ProbeError(exc.reason, tail=tail_with_service(service),
                                 evidence=(ctx.rel(log_path),)) from None
            for case in cases:
                if time.monotonic() > deadline:
                    error = f"indicator timeout reached after {sent} of {len(cases)} cases"
                    break
                case = case.with_uid(new_uid())
                credentials = bool(auth) and case.auth
                ex = send(service.port, case.method, case.path, case.body,
                          headers={**(auth if credentials else {}), **case.headers},
                          timeout_s=args.request_timeout)
                sent += 1
                kind = _outcome(ex, credentials=credentials)
                crashed = _died(service, ex)
                counts[kind] = counts.get(kind, 0) + 1
                entry = {"kind": case.kind, "name": case.name, "method": case.method, "path": case.path,
                         "request_bytes": len(case.body or b""),
                         "request_excerpt": (case.body or b"")[:200].decode("utf-8", "replace"),
                         "status": ex.status, "outcome": kind, "error": ex.error,
                         "elapsed_ms": round(ex.elapsed_ms, 3), "response_excerpt": ex.excerpt(300),
                         "service_died": crashed, "credentials": credentials}
                log.write(json.dumps(entry, ensure_ascii=False) + "\n")
                if (kind != "4xx" and kind != "not_exercised") or crashed:
                    severity = "high" if crashed or kind in ("5xx", "timeout", "no_answer") else "medium"
                    findings.append(Finding(
                        message=f"{case.name}: {case.method} {case.path[:120]} -> "
                                f"{ex.status or ex.error}" + (" (service died)" if crashed else ""),
                        rule=case.kind, severity=severity, extra=entry, fingerprint=case.fingerprint()))
                if crashed:
                    crashes += 1
                    try:
                        service.start()
                        if login.config is not None:
                            auth = login.refresh()
                    except ServiceError as exc:
                        error = f"the service died on '{case.name}' and did not start again: {exc}"
                        break
                    except ProbeError as exc:
                        error = f"the service died on '{case.name}' and the login after its restart failed: {exc}"
                        break
        not_exercised = counts.get("not_exercised", 0)
        exercised = sent - not_exercised
        non4xx = exercised - counts.get("4xx", 0)
        if sent == 0:
            raise ProbeError(error or "no request sent", tail=tail_with_service(service),
                             evidence=(ctx.rel(log_path),))
        if not_exercised:
            hint = ("declare service.login so that they carry credentials" if login.config is None
                    else "they were declared auth: false")
            notes.append(f"{not_exercised} of {sent} cases were sent without credentials and answered "
                         f"401/403 before any validation: not exercised, left out of share_4xx ({hint}).")
        if exercised == 0 and error is None:
            error = (f"no case was exercised: {sent} of {sent} were answered 401/403 without credentials "
                     "(declare service.login)")
        elif not_exercised and login.config is None and error is None:
            # Without a login the API's protection answered for its validation: whatever share the
            # few exercised cases give, it is not the measurement the indicator asks for.
            error = (f"{not_exercised} of {sent} cases were answered 401/403 without credentials, so they "
                     "never reached the validation: declare service.login (share_4xx counts the other "
                     f"{exercised})")
        return ProbeOutcome(
            measurements=(Measurement("share_4xx", 100.0 * counts.get("4xx", 0) / exercised if exercised else None,
                                      "%"),
                          Measurement("non4xx", float(non4xx), "count"),
                          Measurement("cases", float(sent), "count"),
                          Measurement("crashes", float(crashes), "count"),
                          Measurement("not_exercised", float(not_exercised), "count")),
            findings=tuple(findings), evidence=(ctx.rel(log_path),), notes=tuple(notes),
            details={"outcomes": counts, "by_kind": _by_kind(log_path), "planned": len(cases)},
            error=error,
        )


def _died(service, ex: Exchange, settle_s: float = 2.0) -> bool:
    """Whether the service died on this request. Without an answer, wait (at most ``settle_s``)
    until it has either exited or passes its readiness check again, so a crash is not blamed on
    the next request."""
    if not service.alive():
        return True
    if ex.status != 0:
        return False
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        if not service.alive():
            return True
        if service.ready_once(timeout_s=0.5):
            return False
        time.sleep(0.02)
    return not service.alive()


def _by_kind(log_path) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    with open(log_path, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            row = table.setdefault(entry["kind"], {})
            row[entry["outcome"]] = row.get(entry["outcome"], 0) + 1
    return table
