"""``locust`` probe (performance efficiency): Locust, headless, against the running service.

Locust runs as its own process(es), from a locustfile — the product's own in the repository, or
the agency's beside the task book (``locustfile: "{spec_dir}/locustfile.py"``) — or from declared
endpoints turned into a generated locustfile; the probe reads Locust's CSV statistics. With the
service's ``login:``, the generated locustfile logs each simulated user in first (the harness logs
in once beforehand, so that a login that cannot work is one clear error); a locustfile of one's own
logs in as it is written to.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import Field, field_validator, model_validator

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
    Table,
)
from verifier.probekit import resolve_path
from verifier.product.login import LoginConfig
from verifier.repo_paths import RepoOrAssetPath, check_inside
from verifier.service import Duration
from verifier.units import format_number

from ._http import HttpRequest
from ._labels import FAILED_REQUESTS_TITLE, LOAD_CHARTS, LOAD_FIGURES
from ._live import require_service, tail_with_service
from ._locust_csv import LocustCsvError, read_failures, read_history, read_stats
from ._locust_file import generate_locustfile
from ._locust_run import WORKER_CONNECT_S, run_locust
from ._login import LOGIN_PHRASE, checked_login, login_note

ROUNDING_NOTE = ("Locust keeps response times in buckets rounded to about two significant digits "
                 "(e.g. 147 ms is counted as 150 ms): percentiles are accurate to roughly ±5%; "
                 "max_ms is exact.")
RPS_NOTE = ("rps = {requests} requests ÷ {seconds} s = {rps} rps: Locust's Requests/s of all requests (the "
            "Aggregated row of locust_stats.csv), from the start of the test, ramp-up included, to the last "
            "request.")
RPS_NOTE_ZH = ("rps = {requests} 个请求 ÷ {seconds} 秒 = {rps} rps：即 Locust 统计的全部请求的 Requests/s"
               "（locust_stats.csv 的 Aggregated 行），时间从测试开始（含用户爬升阶段）计到最后一个请求。")


def rps_note(requests: int, rps: float) -> str:
    """How ``rps`` is computed, with this run's figures: Locust divides the requests by the seconds
    from the start of the test to the last request (``requests ÷ rps`` recovers them)."""
    seconds = requests / rps if rps > 0 else 0.0
    return RPS_NOTE.format(requests=requests, seconds=format_number(seconds), rps=format_number(rps))
#: Seconds allowed beyond run_time for Locust to start, ramp down and write its reports.
MARGIN_S = 30.0
_MAX_FINDINGS = 50


class LocustArgs(ProbeArgs):
    """``with:`` of the locust probe."""

    locustfile: RepoOrAssetPath | None = None
    """A locustfile: the product's (relative to the repository) or the agency's own beside the task
    book (``{spec_dir}/locustfile.py``); or declare ``endpoints``."""
    endpoints: list[HttpRequest] | None = None
    """Requests the harness turns into a locustfile: method, path, body, weight, name, expect."""
    users: int = Field(default=10, ge=1, le=100_000)
    """Peak number of concurrent simulated users."""
    spawn_rate: float = Field(default=10.0, gt=0)
    """Users started per second."""
    run_time: Duration = 30.0
    """How long the load runs (seconds or e.g. ``60s``, ``5m``)."""
    wait_time: float | tuple[float, float] = 0.0
    """Seconds each user waits between requests (generated locustfile only): a constant or [min, max]."""
    workers: int = Field(default=0, ge=0, le=256)
    """0: one Locust process; N: Locust's master plus N worker processes on this machine."""

    @field_validator("wait_time")
    @classmethod
    def _wait_time(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        low, high = value if isinstance(value, tuple) else (value, value)
        if low < 0 or high < low:
            raise ValueError("wait_time must be >= 0 (or [min, max] with 0 <= min <= max)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> LocustArgs:
        if (self.locustfile is None) == (self.endpoints is None):
            raise ValueError("declare exactly one of locustfile or endpoints")
        if self.endpoints is not None and not self.endpoints:
            raise ValueError("endpoints is empty")
        if self.locustfile is not None and "wait_time" in self.model_fields_set:
            raise ValueError("wait_time applies to declared endpoints; a locustfile sets its own")
        return self


class LocustProbe(Probe):
    """Response time, throughput and failures under load, measured by Locust."""

    name = "locust"
    characteristic = "performance_efficiency"
    description = "Load test with Locust (headless, loopback): throughput, response-time percentiles, failures."
    metrics = {
        "rps": MetricInfo("rps", "requests per second over the run", "higher"),
        "p50_ms": MetricInfo("ms", "median response time"),
        "p90_ms": MetricInfo("ms", "90th percentile response time"),
        "p95_ms": MetricInfo("ms", "95th percentile response time"),
        "p99_ms": MetricInfo("ms", "99th percentile response time"),
        "max_ms": MetricInfo("ms", "slowest response"),
        "failure_ratio": MetricInfo("%", "failed requests as a share of all requests"),
        "requests": MetricInfo("count", "requests made", "higher"),
    }
    Args = LocustArgs
    needs_service = True

    presentation = Presentation(
        labels={
            **LOAD_FIGURES,
            "history": ("负载过程", "Load history"),
            "endpoints": ("各接口统计", "Per-endpoint statistics"),
            "total": ("合计", "Total"),
            "method": ("方法", "Method"),
            "name": ("名称", "Name"),
            "error": ("错误", "Error"),
            "occurrences": ("次数", "Occurrences"),
            "spawn_rate": ("每秒启动用户数", "Users started per second"),
            "run_time_s": ("设定运行时长（秒）", "Set run time (s)"),
            "workers": ("工作进程数", "Worker processes"),
        },
        tables={
            "endpoints": Table(("method", "name", "requests", "failures", "failure_ratio", "rps", "p50_ms",
                                "p90_ms", "p95_ms", "p99_ms", "average_ms", "max_ms", "min_ms"),
                               omit_repeated={"method": "name"}, total="total"),
            "failures": Table(("method", "name", "error", "occurrences"), title=FAILED_REQUESTS_TITLE,
                              omit_repeated={"method": "name"}),
        },
        series={"history": Series(charts=LOAD_CHARTS, skip=("requests", "failures"))},
        phrases=(
            LOGIN_PHRASE,
            Phrase("The locustfile is the agency's own, beside the task book: {path}.",
                   "locustfile 为检测机构自备，位于任务书旁：{path}。"),
            Phrase(ROUNDING_NOTE, "Locust 将响应时间按约两位有效数字分桶记录（例如 147 毫秒计为 150 毫秒）：百分位数"
                                  "精确到约 ±5%；max_ms 是精确值。"),
            Phrase(RPS_NOTE, RPS_NOTE_ZH),
            Phrase("The service exited during the load test: {log}", "负载测试期间被测服务退出：{log}"),
            Phrase("{count}× {method} {name}: {error}", "{count} 次 {method} {name}：{error}"),
        ),
    )

    def tool_versions(self) -> dict[str, str]:
        """Locust's version, from its package metadata (Locust is never imported here)."""
        try:
            return {"locust": version("locust")}
        except PackageNotFoundError:
            return {}

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run Locust for ``run_time`` and read its statistics."""
        args: LocustArgs = ctx.args  # type: ignore[assignment]
        service = require_service(ctx, "locust")
        out = ctx.evidence_dir
        login = None
        if args.endpoints is not None:
            try:
                login = checked_login(ctx, service.port)
            except ProbeError as exc:
                raise ProbeError(exc.reason, tail=tail_with_service(service)) from None
        locustfile = self._locustfile(ctx, args, login)
        budget = args.run_time + MARGIN_S + (WORKER_CONNECT_S if args.workers else 0)
        timeout = min(ctx.timeout_s, budget)
        if timeout < args.run_time + 5:
            raise ProbeError(f"indicator timeout {ctx.timeout_s:g} s is too short for run_time "
                             f"{args.run_time:g} s")
        prefix, html = out / "locust", out / "locust-report.html"
        run = run_locust(locustfile, host=service.base_url, users=args.users,
                         spawn_rate=args.spawn_rate, run_time_s=args.run_time, workers=args.workers,
                         csv_prefix=prefix, html=html, out_dir=out, timeout_s=timeout)
        evidence = [ctx.rel(p) for p in run.logs if p.exists()]
        if locustfile.is_relative_to(out):
            evidence.insert(0, ctx.rel(locustfile))
        if run.timed_out:
            raise ProbeError(f"Locust did not finish within {timeout:g} s (run_time {args.run_time:g} s)",
                             tail=tail_with_service(service, run.tail()), evidence=tuple(evidence))
        try:
            total, endpoints = read_stats(prefix)
            history = read_history(prefix)
            failures = read_failures(prefix)
        except LocustCsvError as exc:
            raise ProbeError(f"Locust exited with status {run.returncode} without statistics ({exc})",
                             tail=tail_with_service(service, run.tail()),
                             evidence=tuple(evidence)) from None
        for path in (*(prefix.with_name(f"locust_{k}.csv")
                       for k in ("stats", "stats_history", "failures", "exceptions")), html):
            if path.exists():
                evidence.append(ctx.rel(path))
        if run.returncode not in (0, 1):
            raise ProbeError(f"Locust exited with status {run.returncode}",
                             tail=tail_with_service(service, run.tail()), evidence=tuple(evidence))
        if total.requests == 0:
            raise ProbeError("Locust made no requests (check the locustfile's tasks and the host)",
                             tail=tail_with_service(service, run.tail()), evidence=tuple(evidence))
        if total.failures == total.requests and failures and all(_is_connection_error(f["error"])
                                                                 for f in failures):
            raise ProbeError(f"no request reached the service at {service.base_url} "
                             f"({total.requests} connection failures)",
                             tail=tail_with_service(service, run.tail()), evidence=tuple(evidence))
        values = {"rps": total.rps, **total.percentiles, "max_ms": total.max_ms,
                  "failure_ratio": total.failure_ratio, "requests": float(total.requests)}
        notes = [ROUNDING_NOTE, rps_note(total.requests, total.rps)]
        if login is not None:
            notes.append(login_note(login))
        if args.locustfile is not None and args.locustfile.startswith("{spec_dir}/"):
            notes.append(f"The locustfile is the agency's own, beside the task book: {args.locustfile}.")
        if not service.alive():
            notes.append("The service exited during the load test: " + (service.tail(3) or "no log"))
        findings = tuple(
            Finding(message=f"{f['occurrences']}× {f['method']} {f['name']}: {f['error']}"[:500],
                    rule=f"{f['method']} {f['name']}".strip(), severity="medium",
                    extra={"occurrences": f["occurrences"]})
            for f in sorted(failures, key=lambda f: -f["occurrences"])[:_MAX_FINDINGS])
        return ProbeOutcome(
            measurements=tuple(Measurement(m, values[m], info.unit) for m, info in self.metrics.items()),
            findings=findings,
            evidence=tuple(evidence),
            commands=run.commands,
            notes=tuple(notes),
            details={"endpoints": [e.to_json() for e in endpoints], "total": total.to_json(),
                     "history": history, "failures": failures, "users": args.users,
                     "spawn_rate": args.spawn_rate, "run_time_s": args.run_time,
                     "workers": args.workers, "duration_s": run.duration_s},
        )

    @staticmethod
    def _locustfile(ctx: ProbeContext, args: LocustArgs, login: LoginConfig | None) -> Path:
        if args.endpoints is not None:
            path = ctx.evidence_dir / "locustfile_generated.py"
            path.write_text(generate_locustfile(args.endpoints, args.wait_time, login), encoding="utf-8")
            return path
        assert args.locustfile is not None
        if not args.locustfile.startswith("{spec_dir}/"):
            try:
                check_inside(ctx.repo, args.locustfile)
            except ValueError as exc:
                raise ProbeError(f"locustfile: {exc}") from None
        path = resolve_path(ctx, args.locustfile, what="locustfile")
        if not path.is_file():
            raise ProbeError(f"locustfile {args.locustfile!r} is not a file")
        return path


def _is_connection_error(error: str) -> bool:
    return any(word in error for word in ("ConnectionRefused", "ConnectionError", "RemoteDisconnected",
                                          "Connection refused", "NewConnectionError",
                                          "ConnectionResetError"))
