"""``recovery`` probe (reliability): SIGKILL the service under load and time its recovery.

Under load from the bounded loopback client, the service is killed with SIGKILL, then started again
with the declared command (``restart: harness``) or left to the product's own supervisor
(``restart: supervisor``: only the process listening on the port is killed). recovery_seconds runs
from the kill until the readiness check passes again; failed_requests counts the requests that
failed in that interval.
"""

from __future__ import annotations

import time
from typing import Literal

from verifier.probe import (
    Bars,
    Finding,
    Label,
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Series,
)
from verifier.service import Duration

from ._labels import FAILURE_EXAMPLE_LABELS, FAILURE_EXAMPLES, LOAD_CHARTS, LOAD_FAILURE_PHRASES, LOAD_FIGURES
from ._live import crash, recover, require_service, tail_with_service
from ._load_run import LoadArgs, LoadProcess, failure_examples, timeline
from ._login import LOGIN_PHRASE, checked_login, login_note

_TIMELINE: Label = ("恢复过程时间线", "Recovery timeline")


class RecoveryArgs(ProbeArgs, LoadArgs):
    """``with:`` of the recovery probe."""

    before: Duration = 3.0
    """Seconds of load before the kill."""
    after: Duration = 3.0
    """Seconds of load after the service is ready again."""
    recovery_timeout: Duration = 30.0
    """Seconds to wait for the service to be ready again."""
    restart: Literal["harness", "supervisor"] = "harness"
    """``harness``: start the declared command again; ``supervisor``: the product restarts itself."""


class RecoveryProbe(Probe):
    """Time to recover from a crash (SIGKILL) under load, and the requests lost meanwhile."""

    name = "recovery"
    characteristic = "reliability"
    description = "SIGKILL the service under load, restart it: seconds until ready, requests failed meanwhile."
    metrics = {
        "recovery_seconds": MetricInfo("s", "seconds from SIGKILL until the service is ready again"),
        "failed_requests": MetricInfo("count", "requests that failed between the kill and recovery"),
        "failures_after_recovery": MetricInfo("count", "requests that failed after the service was ready again"),
    }
    Args = RecoveryArgs
    needs_service = True

    presentation = Presentation(
        labels={
            "restart": ("重启方式", "Restart"),
            **LOAD_FIGURES,
            **FAILURE_EXAMPLE_LABELS,
            "recovery_seconds": ("恢复时间（秒）", "Recovery time (s)"),
            "failed_requests": ("失败请求数", "Failed requests"),
            "failures_after_recovery": ("恢复后失败数", "Failures after recovery"),
            "timeline": ("时间线", "Timeline"),
            "events": ("事件", "Events"),
            "event": ("事件", "Event"),
            "before": ("杀进程前", "Before the kill"),
            "during": ("恢复期间", "During recovery"),
            "after": ("恢复之后", "After recovery"),
        },
        tables={"failures": FAILURE_EXAMPLES},
        series={"timeline": Series(charts=LOAD_CHARTS, skip=("requests",), label="event",
                                   events_title=_TIMELINE),
                "events": Series(label="event", events_title=_TIMELINE)},
        bars={"requests": Bars(("before", "during", "after"))},
        words={"restart": {"supervisor": ("由产品自身的守护进程重启", "supervisor"),
                           "harness": ("由 verifier 重启", "harness")}},
        phrases=(
            LOGIN_PHRASE,
            Phrase("restart: {restart}; recovery measured from SIGKILL until the readiness check ({ready}) "
                   "passed; service.setup, if any, ran only before the first start.",
                   "重启方式：{restart}；恢复时间从发送 SIGKILL 计到就绪检查（{ready}）通过；"
                   "service.setup（如有）只在首次启动前运行。"),
            *LOAD_FAILURE_PHRASES,
        ),
    )

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Load, kill, recover, load again; read the client's per-request records."""
        args: RecoveryArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "recovery")
        budget = args.before + args.recovery_timeout + args.after + 30
        if ctx.timeout_s < budget:
            raise ProbeError(f"indicator timeout {ctx.timeout_s:g} s is too short: before + "
                             f"recovery_timeout + after + 30 s = {budget:g} s")
        out = ctx.evidence_dir
        try:
            login = checked_login(ctx, service.port, timeout_s=args.request_timeout)
        except ProbeError as exc:
            raise ProbeError(exc.reason, tail=tail_with_service(service)) from None
        total = args.before + args.recovery_timeout + args.after + 5
        with LoadProcess(service.port, args, duration_s=total, out_dir=out, name="recovery",
                         login=login) as load:
            time.sleep(args.before)
            if not load.running():
                raise ProbeError("the load client stopped before the kill", tail=load.tail())
            killed_at = crash(service, args.restart)
            ready_at, reason = recover(service, args.restart, args.recovery_timeout)
            if ready_at is not None:
                time.sleep(args.after)
            load.stop()
        records = load.records()
        evidence = tuple(ctx.rel(p) for p in (load.requests_file, load.records_file, *load.log_files)
                         if p.exists())
        if not records:
            raise ProbeError("the load client recorded no requests",
                             tail=tail_with_service(service, load.tail()), evidence=evidence)
        origin = records[0].start
        horizon = ready_at if ready_at is not None else float("inf")
        during = [r for r in records if r.end >= killed_at and r.start <= horizon]
        after = [r for r in records if r.start > horizon]
        before = [r for r in records if r.end < killed_at]
        failed = sum(not r.ok for r in during)
        values = {"recovery_seconds": ready_at - killed_at if ready_at is not None else None,
                  "failed_requests": float(failed),
                  "failures_after_recovery": float(sum(not r.ok for r in after)) if ready_at else None}
        events = [{"t": round(killed_at - origin, 3), "event": "SIGKILL"}]
        if ready_at is not None:
            events.append({"t": round(ready_at - origin, 3), "event": "ready"})
        findings = [Finding(message=f"{f['count']}× {f['label']}: "
                                    f"{'status ' + str(f['status']) if f['status'] else f['error']}",
                            rule=f["label"], severity="info", extra=f)
                    for f in failure_examples(during)]
        findings += [Finding(message=f"after recovery: {f['count']}× {f['label']}: "
                                     f"{'status ' + str(f['status']) if f['status'] else f['error']}",
                             rule=f["label"], severity="medium", extra=f)
                     for f in failure_examples(after)]
        error = None
        if ready_at is None:
            error = f"the service did not recover after SIGKILL: {reason}"
            log = service.tail(5)
            if log:
                error += " | service log: " + " / ".join(log.splitlines())
        return ProbeOutcome(
            measurements=tuple(Measurement(m, values[m], i.unit) for m, i in self.metrics.items()),
            findings=tuple(findings), evidence=evidence,
            commands=(load.argv, *service.commands[-1:]),
            notes=(f"restart: {args.restart}; recovery measured from SIGKILL until the readiness "
                   f"check ({service.ready_target()}) passed; service.setup, if any, ran only before "
                   "the first start.", *((login_note(login),) if login is not None else ())),
            details={"timeline": timeline(records, origin, bucket_s=0.25), "events": events,
                     "requests": {"before": len(before), "during": len(during), "after": len(after)},
                     "failures": failure_examples(records)},
            error=error,
        )
