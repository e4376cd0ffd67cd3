"""``integrity`` probe (reliability): acknowledged writes must survive a crash.

N records are written through a declared write request; right after the last acknowledged write the
service is SIGKILLed and brought back; the records are read back through a declared read request.
In the write request and the marker, ``{i}`` is the record number (1…N) and ``{uid}`` one token for
the whole run (so records are unique across runs on the same database). The read is per record when
its path uses ``{i}`` or ``{id}`` (``{id}`` comes from ``id_field`` of the write's JSON answer),
otherwise one collection read in which every record's ``marker`` must appear.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import Field, model_validator

from probes._http import Exchange, HttpRequest, fill, new_uid, send
from probes._live import crash, recover, require_service, tail_with_service
from verifier.probe import (Finding, Measurement, MetricInfo, Probe, ProbeArgs, ProbeContext,
                            ProbeError, ProbeOutcome)
from verifier.service import Duration

_MAX_FINDINGS = 50


class IntegrityArgs(ProbeArgs):
    """``with:`` of the integrity probe."""

    write: HttpRequest
    """The write request (e.g. ``POST /api/items`` with a body using ``{i}`` and ``{uid}``)."""
    read: HttpRequest
    """The read request: per record (path with ``{i}`` or ``{id}``) or one collection read."""
    count: int = Field(default=100, ge=1, le=10_000)
    """Records to write."""
    marker: str | None = None
    """Text proving record ``{i}`` was read back (e.g. ``INT-{uid}-{i}``); needed for a collection read."""
    id_field: str | None = None
    """Field of the write's JSON answer holding the record id, used as ``{id}`` in the read path."""
    format: Literal["json", "text"] = "json"
    """What a successful read returns; a JSON read that does not parse is an error (garbage)."""
    settle: float = Field(default=0.0, ge=0, le=60)
    """Seconds between the last acknowledged write and the SIGKILL (0: at once)."""
    restart: Literal["harness", "supervisor"] = "harness"
    """``harness``: start the declared command again; ``supervisor``: the product restarts itself."""
    recovery_timeout: Duration = 30.0
    """Seconds to wait for the service to be ready again."""
    request_timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds before one request counts as failed."""

    @model_validator(mode="after")
    def _read_mode(self) -> IntegrityArgs:
        per_record = "{i}" in self.read.path or "{id}" in self.read.path
        if not per_record and self.marker is None:
            raise ValueError("a collection read (read.path without {i} or {id}) needs a marker")
        if "{id}" in self.read.path and self.id_field is None:
            raise ValueError("read.path uses {id}: declare id_field (the id in the write's answer)")
        return self


class IntegrityProbe(Probe):
    """Records acknowledged before a crash and missing after it."""

    name = "integrity"
    characteristic = "reliability"
    description = "Write N records, SIGKILL the service, restart it, read them back: lost records."
    metrics = {
        "lost_records": MetricInfo("count", "acknowledged records missing after the crash"),
        "written": MetricInfo("count", "records whose write was acknowledged", "higher"),
        "read_back": MetricInfo("count", "acknowledged records read back after the crash", "higher"),
    }
    Args = IntegrityArgs
    needs_service = True

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Write, crash, recover, read back."""
        args: IntegrityArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "integrity")
        deadline = time.monotonic() + ctx.timeout_s
        token = new_uid()
        log_path = ctx.evidence_dir / "integrity-exchanges.jsonl"
        with open(log_path, "w", encoding="utf-8") as log:
            def record(phase: str, i: int, ex: Exchange) -> None:
                log.write(json.dumps({"phase": phase, "i": i, "method": ex.method, "path": ex.path,
                                      "status": ex.status, "elapsed_ms": round(ex.elapsed_ms, 3),
                                      "error": ex.error, "body": ex.excerpt(200)},
                                     ensure_ascii=False) + "\n")

            evidence = (ctx.rel(log_path),)
            written, ids, failed_writes = self._write(args, service.port, token, deadline, record)
            if not written:
                first = failed_writes[0] if failed_writes else None
                raise ProbeError("no write was acknowledged"
                                 + (f": {first.method} {first.path} -> "
                                    f"{first.status or first.error} {first.excerpt(120)}" if first else ""),
                                 tail=tail_with_service(service), evidence=evidence)
            if args.settle:
                time.sleep(args.settle)
            killed_at = crash(service, args.restart)
            ready_at, reason = recover(service, args.restart, args.recovery_timeout)
            if ready_at is None:
                raise ProbeError(f"the service did not recover after SIGKILL: {reason}",
                                 tail=tail_with_service(service), evidence=evidence)
            present, corrupt = self._read(args, service.port, token, written, ids, deadline, record)
        lost = [i for i in written if i not in present]
        findings = [Finding(message=f"record {i} acknowledged before the crash is missing after it"
                                    + (" (read back altered)" if i in corrupt else ""),
                            rule=f"{args.read.method} {args.read.path}", severity="high",
                            extra={"i": i, "marker": self._marker(args, token, i)})
                    for i in lost[:_MAX_FINDINGS]]
        findings += [Finding(message=f"write {ex.method} {ex.path} not acknowledged: "
                                     f"{ex.status or ex.error} {ex.excerpt(120)}",
                             rule=f"{args.write.method} {args.write.path}", severity="low")
                     for ex in failed_writes[:10]]
        return ProbeOutcome(
            measurements=(Measurement("lost_records", float(len(lost)), "count"),
                          Measurement("written", float(len(written)), "count"),
                          Measurement("read_back", float(len(present)), "count")),
            findings=tuple(findings), evidence=evidence, commands=tuple(service.commands[-1:]),
            notes=(f"SIGKILL {args.settle:g} s after the last acknowledged write; restart: {args.restart}.",),
            details={"requested": args.count, "written": len(written), "read_back": len(present),
                     "lost": lost[:200], "failed_writes": len(failed_writes),
                     "recovery_seconds": ready_at - killed_at, "token": token},
        )

    @staticmethod
    def _marker(args: IntegrityArgs, token: str, i: int) -> str | None:
        return fill(args.marker, i, token) if args.marker is not None else None

    def _write(self, args: IntegrityArgs, port: int, token: str, deadline: float, record: Any
               ) -> tuple[list[int], dict[int, str], list[Exchange]]:
        written: list[int] = []
        ids: dict[int, str] = {}
        failed: list[Exchange] = []
        for i in range(1, args.count + 1):
            if time.monotonic() > deadline:
                raise ProbeError(f"writes did not finish within the indicator timeout ({i - 1} written)")
            ex = _send(port, args.write, i, token, args.request_timeout)
            record("write", i, ex)
            if not args.write.ok(ex.status):
                failed.append(ex)
                continue
            if args.id_field is not None:
                try:
                    value = json.loads(ex.body)[args.id_field]
                except (ValueError, KeyError, TypeError):
                    raise ProbeError(f"write answer has no JSON field {args.id_field!r} (id_field): "
                                     f"{ex.excerpt(200)}") from None
                ids[i] = str(value)
            written.append(i)
        return written, ids, failed

    def _read(self, args: IntegrityArgs, port: int, token: str, written: list[int],
              ids: dict[int, str], deadline: float, record: Any) -> tuple[set[int], set[int]]:
        present: set[int] = set()
        corrupt: set[int] = set()
        per_record = "{i}" in args.read.path or "{id}" in args.read.path
        if not per_record:
            ex = _send(port, args.read, 0, token, args.request_timeout)
            record("read", 0, ex)
            text = self._checked_text(args, ex)
            return {i for i in written if self._marker(args, token, i) in text}, corrupt
        for i in written:
            if time.monotonic() > deadline:
                raise ProbeError(f"reads did not finish within the indicator timeout")
            request = args.read
            if "{id}" in request.path:
                request = request.model_copy(update={"path": request.path.replace("{id}", ids[i])})
            ex = _send(port, request, i, token, args.request_timeout)
            record("read", i, ex)
            if ex.status in (404, 410):
                continue
            text = self._checked_text(args, ex)
            marker = self._marker(args, token, i)
            if marker is None or marker in text:
                present.add(i)
            else:
                corrupt.add(i)
        return present, corrupt

    @staticmethod
    def _checked_text(args: IntegrityArgs, ex: Exchange) -> str:
        """The read's answer as text; ``ProbeError`` when it is not a successful, well-formed read."""
        if ex.status == 0:
            raise ProbeError(f"read {ex.method} {ex.path} got no answer: {ex.error}")
        if not args.read.ok(ex.status):
            raise ProbeError(f"read {ex.method} {ex.path} answered {ex.status}, so the records cannot "
                             f"be checked: {ex.excerpt(200)}")
        try:
            text = ex.body.decode("utf-8")
        except UnicodeDecodeError:
            raise ProbeError(f"read {ex.method} {ex.path} returned garbage (not UTF-8): "
                             f"{ex.excerpt(120)!r}") from None
        if args.format == "json":
            try:
                decoded = json.loads(text)
            except ValueError as exc:
                raise ProbeError(f"read {ex.method} {ex.path} returned garbage, not JSON ({exc}): "
                                 f"{ex.excerpt(120)!r}") from None
            text += "\n" + json.dumps(decoded, ensure_ascii=False)
        return text


def _send(port: int, request: HttpRequest, i: int, token: str, timeout_s: float) -> Exchange:
    path = fill(request.path, i, token)
    headers = dict(request.headers)
    body = None
    if request.body is not None:
        body = json.dumps(fill(request.body, i, token), ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return send(port, request.method, path, body, headers=headers, timeout_s=timeout_s)
