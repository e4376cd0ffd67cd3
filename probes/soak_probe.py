"""``soak`` probe (reliability): sustained load for a declared duration.

Metrics: failure_ratio, latency_drift (p95 of the last window ÷ p95 of the first) and memory_growth
(resident memory of the service's processes at the end ÷ at the end of the first window, so that
caches warmed by the first requests do not count as growth).
"""

from __future__ import annotations

import time

from pydantic import model_validator

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
    Series,
)
from verifier.service import Duration

from ._labels import FAILURE_EXAMPLE_LABELS, FAILURE_EXAMPLES, LOAD_CHARTS, LOAD_FAILURE_PHRASES, LOAD_FIGURES
from ._live import require_service, tail_with_service
from ._load_run import LoadArgs, LoadProcess, failure_examples, percentile, timeline
from ._login import LOGIN_PHRASE, checked_login, login_note

#: Seconds allowed beyond the declared duration (client start, last requests, shutdown).
MARGIN_S = 20.0


class SoakArgs(ProbeArgs, LoadArgs):
    """``with:`` of the soak probe."""

    duration: Duration = 60.0
    """How long the load runs."""
    window: Duration | None = None
    """Length of the first and last windows compared (default: a fifth of the duration, at most 60 s)."""
    sample_interval: Duration = 1.0
    """Seconds between memory samples of the service."""

    @model_validator(mode="after")
    def _windows(self) -> SoakArgs:
        if self.window is not None and self.window * 2 > self.duration:
            raise ValueError("window must be at most half the duration")
        return self

    @property
    def window_s(self) -> float:
        """The comparison window in seconds."""
        return self.window if self.window is not None else min(self.duration / 5, 60.0)


class SoakProbe(Probe):
    """Failures, latency drift and memory growth under sustained load."""

    name = "soak"
    characteristic = "reliability"
    description = "Sustained load (bounded loopback client): failure ratio, p95 latency drift, memory growth."
    metrics = {
        "failure_ratio": MetricInfo("%", "failed requests as a share of all requests"),
        "latency_drift": MetricInfo("ratio", "p95 response time of the last window ÷ of the first"),
        "memory_growth": MetricInfo("ratio", "service memory (RSS) at the end ÷ after the first window"),
        "requests": MetricInfo("count", "requests made", "higher"),
        "rps": MetricInfo("rps", "requests per second over the run", "higher"),
        "p95_ms": MetricInfo("ms", "95th percentile response time over the run"),
    }
    Args = SoakArgs
    needs_service = True

    presentation = Presentation(
        labels={
            **LOAD_FIGURES,
            **FAILURE_EXAMPLE_LABELS,
            "latency_drift": ("响应时间漂移（倍）", "Latency drift (factor)"),
            "memory_growth": ("内存增长（MB）", "Memory growth (MB)"),
            "timeline": ("时间线", "Timeline"),
            "memory": ("内存占用", "Memory use"),
            "rss_mb": ("内存（MB）", "Memory (MB)"),
            "windows": ("比较窗口", "Comparison windows"),
        },
        tables={"failures": FAILURE_EXAMPLES},
        series={"timeline": Series(charts=LOAD_CHARTS, skip=("requests",)), "memory": Series()},
        phrases=(
            LOGIN_PHRASE,
            Phrase("Windows of {window} s; memory_growth compares the service's RSS at the end with its RSS after "
                   "the first window (warm-up).",
                   "统计窗口 {window} 秒；memory_growth 比较服务结束时与第一个窗口（预热）之后的常驻内存（RSS）。"),
            Phrase("Too few memory samples after the first window for memory_growth.",
                   "第一个窗口之后的内存采样太少，无法计算 memory_growth。"),
            Phrase("The service exited during the soak; memory_growth is not measured.",
                   "持续负载期间被测服务退出；未测得 memory_growth。"),
            Phrase("the service exited {seconds} s into the soak", "持续负载开始 {seconds} 秒后被测服务退出"),
            *LOAD_FAILURE_PHRASES,
        ),
    )

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Load the service for ``duration`` while sampling its memory."""
        args: SoakArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "soak")
        if ctx.timeout_s < args.duration + MARGIN_S:
            raise ProbeError(f"indicator timeout {ctx.timeout_s:g} s is too short for a "
                             f"{args.duration:g} s soak (allow {MARGIN_S:g} s more)")
        out = ctx.evidence_dir
        try:
            login = checked_login(ctx, service.port, timeout_s=args.request_timeout)
        except ProbeError as exc:
            raise ProbeError(exc.reason, tail=tail_with_service(service)) from None
        samples: list[tuple[float, float]] = [(time.time(), service.rss_mb())]
        died_at: float | None = None
        with LoadProcess(service.port, args, duration_s=args.duration, out_dir=out, name="soak",
                         login=login) as load:
            deadline = time.monotonic() + args.duration + MARGIN_S
            while load.running() and time.monotonic() < deadline:
                time.sleep(args.sample_interval)
                if not service.alive():
                    died_at = time.time()
                    break
                samples.append((time.time(), service.rss_mb()))
            if died_at is None:
                load.wait(extra_s=max(1.0, deadline - time.monotonic()))
            else:
                load.stop()
        records = load.records()
        memory_csv = out / "soak-memory.csv"
        memory_csv.write_text("time,rss_mb\n" + "".join(f"{t:.3f},{m:.3f}\n" for t, m in samples),
                              encoding="utf-8")
        evidence = tuple(ctx.rel(p) for p in (load.requests_file, load.records_file, memory_csv,
                                              *load.log_files) if p.exists())
        if not records:
            raise ProbeError("the load client recorded no requests",
                             tail=tail_with_service(service, load.tail()), evidence=evidence)
        origin = records[0].start
        end = max(r.start for r in records)
        window = args.window_s
        first = [r for r in records if r.start < origin + window]
        last = [r for r in records if r.start >= end - window]
        p95_first = percentile([r.latency_ms for r in first if r.status], 95)
        p95_last = percentile([r.latency_ms for r in last if r.status], 95)
        drift = p95_last / p95_first if p95_first and p95_last is not None else None
        after_warmup = [m for t, m in samples if t >= origin + window]
        memory_growth = None
        notes = [f"Windows of {window:g} s; memory_growth compares the service's RSS at the end with "
                 "its RSS after the first window (warm-up)."]
        if login is not None:
            notes.append(login_note(login))
        if died_at is None and len(after_warmup) >= 2 and after_warmup[0] > 0:
            memory_growth = after_warmup[-1] / after_warmup[0]
        elif died_at is None:
            notes.append("Too few memory samples after the first window for memory_growth.")
        failed = sum(not r.ok for r in records)
        span = max(r.end for r in records) - origin
        answered = [r.latency_ms for r in records if r.status]
        findings = [Finding(message=f"{f['count']}× {f['label']}: "
                                    f"{'status ' + str(f['status']) if f['status'] else f['error']}",
                            rule=f["label"], severity="medium", extra=f)
                    for f in failure_examples(records)]
        if died_at is not None:
            findings.insert(0, Finding(message=f"the service exited {died_at - origin:.1f} s into the soak",
                                       severity="high", extra={"log_tail": service.tail()}))
            notes.append("The service exited during the soak; memory_growth is not measured.")
        values = {"failure_ratio": 100.0 * failed / len(records), "latency_drift": drift,
                  "memory_growth": memory_growth, "requests": float(len(records)),
                  "rps": len(records) / span if span > 0 else None,
                  "p95_ms": percentile(answered, 95)}
        memory_by_second = {int(t - origin): m for t, m in samples if t >= origin}
        points = timeline(records, origin)
        for point in points:
            point["rss_mb"] = memory_by_second.get(int(point["t"]))
        return ProbeOutcome(
            measurements=tuple(Measurement(m, values[m], i.unit) for m, i in self.metrics.items()),
            findings=tuple(findings), evidence=evidence, commands=(load.argv,), notes=tuple(notes),
            details={"timeline": points,
                     "memory": [{"t": round(t - origin, 3), "rss_mb": m} for t, m in samples],
                     "windows": {"seconds": window,
                                 "first": {"requests": len(first), "p95_ms": p95_first},
                                 "last": {"requests": len(last), "p95_ms": p95_last}},
                     "failures": failure_examples(records), "duration_s": args.duration})
