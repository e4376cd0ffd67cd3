"""``integrity`` probe (reliability): acknowledged writes must survive a crash.

N records are written through a declared write — an HTTP request, or a command (the product's own
CLI or batch job) run once per record; right after the last acknowledged write the service is
SIGKILLed and brought back; the records are read back through a declared read — an HTTP request, or
a command run once after recovery whose stdout is read like the HTTP answer.
In the write, a per-record read and the marker, ``{i}`` is the record number (1…N) and ``{uid}`` a
token unique to the record — what ``{uid}`` means in every probe: unique to one request, here to
one record, shared by its write, its read and its marker — and ``{run}`` one token for the whole
run (a collection read may filter on it; records stay unique across runs on the same database).
An HTTP read is per record when its path uses ``{i}`` or ``{id}`` (``{id}`` comes from ``id_field``
of the write's JSON answer, or of the write command's JSON stdout), otherwise one collection read
in which every record's ``marker`` must appear; a read command is always one collection read.

What a read returns (``format``): ``auto`` (the default) takes an HTTP answer declared
``application/json`` (or ``…+json``) as JSON and anything else as text, and a command's output as
JSON when it parses; ``json`` requires JSON; ``text`` searches the markers in the raw text. A read
that should be JSON and does not parse is garbage: an error, which names ``format: text``.

With the service's ``login:``, the writes and reads carry the token (a request with ``auth: false``
does not), and the probe logs in again after the restart.

A write command counts as acknowledged when it exits with one of its ``ok_exit_codes``; another exit
status is an unacknowledged write (like an HTTP error status); a write command that cannot be found,
cannot start or times out is an error. Commands also know ``{port}``, ``{base_url}``,
``{data_dir}``, ``{python}`` and ``{repo}`` (see ``._live``).
"""

from __future__ import annotations

import json
import shlex
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

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
)
from verifier.probekit import CANNOT_START, ToolRun, failure_reason, run_tool
from verifier.service import Duration, Service

from ._http import Exchange, HttpRequest, fill, new_uid, send
from ._live import (
    COMMAND_PLACEHOLDERS,
    ServiceCommand,
    command_call,
    command_values,
    crash,
    recover,
    require_service,
    tail_with_service,
)
from ._login import Login, login_config, login_log

_MAX_FINDINGS = 50
_HTTP_KEYS = ("method", "path", "body", "headers", "weight", "name", "expect")


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "command" if "command" in value else "http"
    return "command" if isinstance(value, ServiceCommand) else "http"


#: A write or read: an HTTP request (``method``/``path`` …) or a command (``command`` …).
Step = Annotated[Annotated[HttpRequest, Tag("http")] | Annotated[ServiceCommand, Tag("command")],
                 Discriminator(_step_kind)]


@dataclass(frozen=True)
class _Failure:
    """An unacknowledged write: what was sent and what came back."""

    what: str
    outcome: str
    tail: str = ""


class IntegrityArgs(ProbeArgs):
    """``with:`` of the integrity probe."""

    write: Step
    """The write: an HTTP request (e.g. ``POST /api/items`` with a body using ``{i}`` and ``{uid}``)
    or a command run once per record (e.g. the product's CLI with ``--sku INT-{uid}-{i}``)."""
    read: Step
    """The read: an HTTP request, per record (path with ``{i}`` or ``{id}``) or one collection
    read, or a command run once after recovery (its stdout is the collection)."""
    count: int = Field(default=100, ge=1, le=10_000)
    """Records to write."""
    marker: str | None = None
    """Text proving record ``{i}`` was read back (e.g. ``INT-{uid}-{i}``); needed for a collection read."""
    id_field: str | None = None
    """Field of the write's JSON answer holding the record id, used as ``{id}`` in the read path."""
    format: Literal["auto", "json", "text"] = "auto"
    """What a successful read returns: ``auto`` (JSON when the answer says it is JSON, or a command's
    output parses; else text), ``json`` (a read that does not parse is garbage: an error) or ``text``."""
    settle: float = Field(default=0.0, ge=0, le=60)
    """Seconds between the last acknowledged write and the SIGKILL (0: at once)."""
    restart: Literal["harness", "supervisor"] = "harness"
    """``harness``: start the declared command again; ``supervisor``: the product restarts itself."""
    recovery_timeout: Duration = 30.0
    """Seconds to wait for the service to be ready again."""
    request_timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds before one HTTP request counts as failed (a command has its own ``timeout``)."""

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("write", "read"):
                step = data.get(key)
                if not isinstance(step, dict):
                    continue
                http = [k for k in _HTTP_KEYS if k in step]
                if "command" in step and http:
                    raise ValueError(f"{key}: declare either an HTTP request (method, path …) or a "
                                     f"command, not both (found command and {', '.join(http)})")
                if "command" not in step and "path" not in step:
                    raise ValueError(f"{key}: declare an HTTP request (path, optionally method, body …) "
                                     "or a command (command, optionally env, cwd, timeout …)")
        return data

    @model_validator(mode="after")
    def _read_mode(self) -> IntegrityArgs:
        if isinstance(self.write, ServiceCommand):
            self.write.check_placeholders([*COMMAND_PLACEHOLDERS, "i", "uid", "run"], "write")
        if isinstance(self.read, ServiceCommand):
            if {"i", "id", "uid"} & self.read.placeholders():
                raise ValueError("read: a read command runs once after recovery, so it cannot use {i}, "
                                 "{id} or {uid} (one per record); print every record and declare a marker "
                                 "({run} is the token of the whole run)")
            self.read.check_placeholders([*COMMAND_PLACEHOLDERS, "run"], "read")
            if self.marker is None:
                raise ValueError("a read command is one collection read: it needs a marker")
            return self
        per_record = "{i}" in self.read.path or "{id}" in self.read.path
        if not per_record and self.marker is None:
            raise ValueError("a collection read (read.path without {i} or {id}) needs a marker")
        if not per_record and "{uid}" in json.dumps([self.read.path, self.read.body]):
            raise ValueError("a collection read runs once, so it cannot use {uid} (one per record): "
                             "{run} is the token of the whole run")
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

    presentation = Presentation(phrases=(
        Phrase("SIGKILL {settle} s after the last acknowledged write; restart: {restart}.",
               "最后一次写入得到确认 {settle} 秒后发送 SIGKILL；重启方式：{restart}。"),
        Phrase("The write command ran once per record ({runs} runs; record 1's command line is listed, every "
               "run's exit status and output excerpt is in {file}).",
               "写入命令每条记录运行一次（共 {runs} 次；列出的是第 1 条记录的命令行，每次运行的退出状态与输出摘录见 {file}）。"),
        Phrase("The read command ran once after recovery; its stdout is the read-back.",
               "读取命令在恢复后运行一次，其标准输出即读回内容。"),
        Phrase("record {i} acknowledged before the crash is missing after it (read back altered)",
               "崩溃前已确认的第 {i} 条记录在崩溃后丢失（读回内容被改动）"),
        Phrase("record {i} acknowledged before the crash is missing after it", "崩溃前已确认的第 {i} 条记录在崩溃后丢失"),
        Phrase("write {what} not acknowledged: {outcome}", "写入 {what} 未得到确认：{outcome}"),
    ), words={"restart": {"supervisor": ("由产品自身的守护进程重启", "supervisor"),
                          "harness": ("由 verifier 重启", "harness")}}, labels={
        "restart": ("重启方式", "Restart"),
        "lost_records": ("丢失记录数", "Lost records"),
        "written": ("已写入记录数", "Records written"),
        "read_back": ("读回记录数", "Records read back"),
        "requested": ("计划写入记录数", "Records to write"),
        "lost": ("丢失的记录", "Lost records"),
        "failed_writes": ("写入失败数", "Failed writes"),
        "recovery_seconds": ("恢复时间（秒）", "Recovery time (s)"),
        "token": ("本次运行标记", "Run token"),
    })

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Write, crash, recover, read back."""
        args: IntegrityArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "integrity")
        log_path = ctx.evidence_dir / "integrity-exchanges.jsonl"
        with open(log_path, "w", encoding="utf-8") as log, \
                tempfile.TemporaryDirectory(prefix="verifier-integrity-") as scratch:
            run = _Run(ctx, args, service, log, Path(scratch), (ctx.rel(log_path),))
            run.check_commands()
            run.log_in()
            written, ids, failed_writes = run.write_all()
            if not written:
                first = failed_writes[0] if failed_writes else None
                raise ProbeError("no write was acknowledged"
                                 + (f": {first.what} -> {first.outcome}" if first else ""),
                                 tail=tail_with_service(service, first.tail if first else ""),
                                 evidence=run.evidence)
            if args.settle:
                time.sleep(args.settle)
            killed_at = crash(service, args.restart)
            ready_at, reason = recover(service, args.restart, args.recovery_timeout)
            if ready_at is None:
                raise ProbeError(f"the service did not recover after SIGKILL: {reason}",
                                 tail=tail_with_service(service), evidence=run.evidence)
            run.log_in(again=True)
            present, corrupt = run.read_back(written, ids)
        lost = [i for i in written if i not in present]
        findings = [Finding(message=f"record {i} acknowledged before the crash is missing after it"
                                    + (" (read back altered)" if i in corrupt else ""),
                            rule=_label(args.read), severity="high",
                            extra={"i": i, "marker": run.marker(i)})
                    for i in lost[:_MAX_FINDINGS]]
        findings += [Finding(message=f"write {f.what} not acknowledged: {f.outcome}",
                             rule=_label(args.write), severity="low")
                     for f in failed_writes[:10]]
        notes = [f"SIGKILL {args.settle:g} s after the last acknowledged write; restart: {args.restart}."]
        if run.login.config is not None:
            notes.append(f"Requests carried the token of {run.login.config.label} (logged in "
                         f"{run.login.logins} times: before the writes and after the restart).")
        if isinstance(args.write, ServiceCommand):
            notes.append(f"The write command ran once per record ({run.write_runs} runs; record 1's "
                         "command line is listed, every run's exit status and output excerpt is in "
                         f"{run.evidence[0]}).")
        if isinstance(args.read, ServiceCommand):
            notes.append("The read command ran once after recovery; its stdout is the read-back.")
        return ProbeOutcome(
            measurements=(Measurement("lost_records", float(len(lost)), "count"),
                          Measurement("written", float(len(written)), "count"),
                          Measurement("read_back", float(len(present)), "count")),
            findings=tuple(findings), evidence=run.evidence,
            commands=(*service.commands[-1:], *run.commands), notes=tuple(notes),
            details={"requested": args.count, "written": len(written), "read_back": len(present),
                     "lost": lost[:200], "failed_writes": len(failed_writes),
                     "recovery_seconds": ready_at - killed_at, "token": run.token},
        )


def _label(step: HttpRequest | ServiceCommand) -> str:
    """How a finding names the write or read."""
    if isinstance(step, ServiceCommand):
        return f"command: {step.label}"
    return f"{step.method} {step.path}"


def _excerpt(data: bytes, limit: int) -> str:
    text = data[:limit].decode("utf-8", errors="replace")
    return text + ("…" if len(data) > limit else "")


def _tail_text(path: Path, limit: int = 200) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            data = handle.read()
    except OSError:
        return ""
    return ("…" if size > limit else "") + data.decode("utf-8", errors="replace")


_MAX_READ_OUTPUT = 32 << 20


class _Run:
    """One integrity run: the declared steps, the run token, the log of every exchange and run."""

    def __init__(self, ctx: ProbeContext, args: IntegrityArgs, service: Service, log: Any,
                 scratch: Path, evidence: tuple[str, ...]) -> None:
        self.ctx, self.args, self.service, self.log, self.scratch = ctx, args, service, log, scratch
        self.evidence = evidence
        self.token = new_uid()
        """``{run}``: one token for the whole run."""
        self.uids: dict[int, str] = {}
        """``{uid}`` of each record."""
        self.deadline = time.monotonic() + ctx.timeout_s
        self.commands: list[tuple[str, ...]] = []
        self.write_runs = 0
        self.login = Login(login_config(ctx), service.port, timeout_s=args.request_timeout, log=login_log(ctx))
        self.auth: dict[str, str] = {}

    def log_in(self, *, again: bool = False) -> None:
        """Log in (``service.login``) before the writes, and again after the restart."""
        if self.login.config is None:
            return
        try:
            self.auth = self.login.refresh() if again else self.login.headers()
        except ProbeError as exc:
            when = " after the restart" if again else ""
            raise ProbeError(exc.reason.replace("login failed", f"login failed{when}", 1),
                             tail=tail_with_service(self.service), evidence=self.evidence) from None

    def uid(self, i: int) -> str:
        """Record ``i``'s ``{uid}``: a token of its own, shared by its write, read and marker."""
        if i not in self.uids:
            self.uids[i] = new_uid()
        return self.uids[i]

    def marker(self, i: int) -> str | None:
        """Record ``i``'s marker text, if one is declared."""
        if self.args.marker is None:
            return None
        return fill(self.args.marker.replace("{run}", self.token), i, self.uid(i))

    def _values(self, i: int | None) -> dict[str, str]:
        values = {**command_values(self.ctx, self.service), "run": self.token}
        if i is not None:
            values["i"] = str(i)
            values["uid"] = self.uid(i)
        return values

    def check_commands(self) -> None:
        """Fail before any write when a declared command's directory or executable is missing."""
        if isinstance(self.args.write, ServiceCommand):
            command_call(self.args.write, self.ctx, self._values(1), what="write command")
        if isinstance(self.args.read, ServiceCommand):
            command_call(self.args.read, self.ctx, self._values(None), what="read command")

    def _log(self, entry: dict[str, Any]) -> None:
        self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.log.flush()

    def _log_exchange(self, phase: str, i: int, ex: Exchange) -> None:
        self._log({"phase": phase, "i": i, "method": ex.method, "path": ex.path, "status": ex.status,
                   "elapsed_ms": round(ex.elapsed_ms, 3), "error": ex.error, "body": ex.excerpt(200)})

    def _log_run(self, phase: str, i: int, run: ToolRun) -> None:
        self._log({"phase": phase, "i": i, "argv": list(run.argv), "returncode": run.returncode,
                   "timed_out": run.timed_out, "elapsed_ms": round(run.duration_s * 1000, 3),
                   "stdout": _tail_text(run.stdout_path), "stderr": _tail_text(run.stderr_path)})

    def _timeout(self, step: ServiceCommand, what: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0.05:
            raise ProbeError(f"{what}: the indicator timeout was spent before it could run",
                             evidence=self.evidence)
        return min(step.timeout, left)

    def _run_command(self, step: ServiceCommand, i: int | None, phase: str, out_dir: Path,
                     ) -> tuple[ToolRun, float]:
        what = f"{phase} command"
        argv, cwd, env = command_call(step, self.ctx, self._values(i), what=what)
        timeout = self._timeout(step, what)
        run = run_tool(argv, cwd=cwd, timeout_s=timeout, out_dir=out_dir, name=phase, env=env)
        self._log_run(phase, i or 0, run)
        if not self.commands or phase == "read":
            self.commands.append(run.argv)
        return run, timeout

    # ---- writes --------------------------------------------------------------------------

    def write_all(self) -> tuple[list[int], dict[int, str], list[_Failure]]:
        """Write records 1…N; the acknowledged ones, their ids (with ``id_field``), the failures."""
        written: list[int] = []
        ids: dict[int, str] = {}
        failed: list[_Failure] = []
        for i in range(1, self.args.count + 1):
            if time.monotonic() > self.deadline:
                raise ProbeError(f"writes did not finish within the indicator timeout ({i - 1} written)",
                                 evidence=self.evidence)
            if isinstance(self.args.write, ServiceCommand):
                answer, failure = self._write_command(self.args.write, i)
            else:
                answer, failure = self._write_request(self.args.write, i)
            if failure is not None:
                failed.append(failure)
                continue
            if self.args.id_field is not None:
                ids[i] = self._record_id(answer)
            written.append(i)
        return written, ids, failed

    def _send(self, request: HttpRequest, i: int) -> Exchange:
        return _send(self.service.port, request, i, self.uid(i) if i else "", self.token,
                     self.args.request_timeout, self.auth if request.auth else {})

    def _write_request(self, request: HttpRequest, i: int) -> tuple[bytes, _Failure | None]:
        ex = self._send(request, i)
        self._log_exchange("write", i, ex)
        if not request.ok(ex.status):
            return ex.body, _Failure(f"{ex.method} {ex.path}", f"{ex.status or ex.error} {ex.excerpt(120)}")
        return ex.body, None

    def _write_command(self, step: ServiceCommand, i: int) -> tuple[bytes, _Failure | None]:
        run, timeout = self._run_command(step, i, "write", self.scratch)
        self.write_runs += 1
        if run.timed_out or run.returncode == CANNOT_START:
            raise ProbeError(f"{failure_reason(run, f'write command (record {i})', timeout)}: "
                             f"{shlex.join(run.argv)[:200]}", tail=run.tail(), evidence=self.evidence)
        if run.returncode not in step.ok_exit_codes:
            return b"", _Failure(f"command (record {i})", f"exit status {run.returncode} "
                                 f"{_excerpt(run.tail(3).encode(), 120)}", run.tail())
        return run.stdout_path.read_bytes()[:1 << 20], None

    def _record_id(self, answer: bytes) -> str:
        try:
            return str(json.loads(answer)[self.args.id_field])
        except (ValueError, KeyError, TypeError):
            where = "write command's stdout" if isinstance(self.args.write, ServiceCommand) else "write answer"
            raise ProbeError(f"{where} has no JSON field {self.args.id_field!r} (id_field): "
                             f"{_excerpt(answer, 200)}", evidence=self.evidence) from None

    # ---- read-back ------------------------------------------------------------------------

    def read_back(self, written: list[int], ids: dict[int, str]) -> tuple[set[int], set[int]]:
        """The acknowledged records found after recovery, and those found altered."""
        if isinstance(self.args.read, ServiceCommand):
            text = self._read_command(self.args.read)
            return {i for i in written if (self.marker(i) or "") in text}, set()
        return self._read_requests(self.args.read, written, ids)

    def _read_command(self, step: ServiceCommand) -> str:
        run, timeout = self._run_command(step, None, "read", self.ctx.evidence_dir)
        evidence = tuple(dict.fromkeys([*self.evidence, *(self.ctx.rel(p) for p in
                                                          (run.stdout_path, run.stderr_path))]))
        self.evidence = evidence
        tail = tail_with_service(self.service, run.tail())
        if run.timed_out or run.returncode not in step.ok_exit_codes:
            raise ProbeError(f"{failure_reason(run, 'read command', timeout)}, so the records cannot be "
                             f"checked: {shlex.join(run.argv)[:200]}", tail=tail, evidence=evidence)
        if run.stdout_path.stat().st_size > _MAX_READ_OUTPUT:
            raise ProbeError(f"read command printed more than {_MAX_READ_OUTPUT >> 20} MiB",
                             tail=tail, evidence=evidence)
        try:
            return _decoded(self.args.format, run.stdout_path.read_bytes(), "read command", json_declared=None)
        except ProbeError as exc:
            raise ProbeError(exc.reason, tail=tail, evidence=evidence) from None

    def _read_requests(self, request: HttpRequest, written: list[int], ids: dict[int, str]
                       ) -> tuple[set[int], set[int]]:
        present: set[int] = set()
        corrupt: set[int] = set()
        per_record = "{i}" in request.path or "{id}" in request.path
        if not per_record:
            ex = self._send(request, 0)
            self._log_exchange("read", 0, ex)
            text = self._checked_text(request, ex)
            return {i for i in written if (self.marker(i) or "") in text}, corrupt
        for i in written:
            if time.monotonic() > self.deadline:
                raise ProbeError("reads did not finish within the indicator timeout", evidence=self.evidence)
            one = request
            if "{id}" in one.path:
                one = one.model_copy(update={"path": one.path.replace("{id}", ids[i])})
            ex = self._send(one, i)
            self._log_exchange("read", i, ex)
            if ex.status in (404, 410):
                continue
            text = self._checked_text(request, ex)
            marker = self.marker(i)
            if marker is None or marker in text:
                present.add(i)
            else:
                corrupt.add(i)
        return present, corrupt

    def _checked_text(self, read: HttpRequest, ex: Exchange) -> str:
        """The read's answer as text; ``ProbeError`` when it is not a successful, well-formed read."""
        if ex.status == 0:
            raise ProbeError(f"read {ex.method} {ex.path} got no answer: {ex.error}",
                             tail=tail_with_service(self.service), evidence=self.evidence)
        if not read.ok(ex.status):
            raise ProbeError(f"read {ex.method} {ex.path} answered {ex.status}, so the records cannot "
                             f"be checked: {ex.excerpt(200)}", evidence=self.evidence)
        json_declared = ex.content_type == "application/json" or ex.content_type.endswith("+json")
        try:
            return _decoded(self.args.format, ex.body, f"read {ex.method} {ex.path}",
                            json_declared=json_declared)
        except ProbeError as exc:
            raise ProbeError(exc.reason, evidence=self.evidence) from None


def _decoded(fmt: str, raw: bytes, what: str, *, json_declared: bool | None) -> str:
    """``raw`` as text to search for markers (JSON re-serialised too, so escapes do not hide them);
    ``ProbeError`` when it is not UTF-8, or not JSON when it must be (garbage): ``format: json``,
    or ``auto`` with an answer that says it is JSON (``json_declared``; None for a command's
    output, which is JSON when it parses)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProbeError(f"{what} returned garbage (not UTF-8): {_excerpt(raw, 120)!r}") from None
    if fmt == "text":
        return text
    try:
        decoded = json.loads(text)
    except ValueError as exc:
        if fmt == "json" or json_declared:
            said = "format: json" if fmt == "json" else "its Content-Type says JSON"
            raise ProbeError(f"{what} returned garbage, not JSON ({exc}; {said}): {_excerpt(raw, 120)!r} "
                             "(a read that returns text needs format: text)") from None
        return text
    return text + "\n" + json.dumps(decoded, ensure_ascii=False)


def _with_run(value: Any, run: str) -> Any:
    if isinstance(value, str):
        return value.replace("{run}", run)
    if isinstance(value, list):
        return [_with_run(v, run) for v in value]
    if isinstance(value, dict):
        return {_with_run(k, run): _with_run(v, run) for k, v in value.items()}
    return value


def _send(port: int, request: HttpRequest, i: int, uid: str, run: str, timeout_s: float,
          auth: dict[str, str]) -> Exchange:
    path = fill(_with_run(request.path, run), i, uid)
    headers = {**auth, **request.headers}
    body = None
    if request.body is not None:
        body = json.dumps(fill(_with_run(request.body, run), i, uid), ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    return send(port, request.method, path, body, headers=headers, timeout_s=timeout_s)
