"""Small real Probe subclasses for the spec, evaluation and scoring tests (no tool behind them:
these tests exercise validation and arithmetic, not measurement)."""

from __future__ import annotations

from pydantic import Field

from verifier.probe import Measurement, MetricInfo, Probe, ProbeArgs, ProbeContext, ProbeOutcome
from verifier.repo_paths import RepoPath


class CounterArgs(ProbeArgs):
    path: RepoPath = "."
    users: int = Field(10, ge=1)
    label: str = "x"


class CounterProbe(Probe):
    """Reports the number of files under ``path``: a real, if trivial, measurement."""

    name = "counter"
    characteristic = "functionality"
    description = "Counts files (test probe)."
    metrics = {
        "files": MetricInfo("count", "files under path", "higher"),
        "pass_rate": MetricInfo("%", "share passed", "higher"),
        "p95_ms": MetricInfo("ms", "95th percentile", "lower"),
        "rps": MetricInfo("rps", "requests per second", "higher"),
        "memory": MetricInfo("MB", "resident memory", "lower"),
        "issues_per_kloc": MetricInfo("per_kloc", "issues per kLOC", "lower"),
        "drift": MetricInfo("ratio", "latency drift", "lower"),
        "mi": MetricInfo("score", "maintainability index", "higher"),
        "rank": MetricInfo("grade", "complexity rank", "higher"),
        "recovery_s": MetricInfo("s", "seconds to recover", "lower"),
    }
    Args = CounterArgs

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        root = ctx.repo / ctx.args.path
        count = sum(1 for p in root.rglob("*") if p.is_file())
        return ProbeOutcome(measurements=(Measurement("files", float(count), "count"),))


class LiveProbe(Probe):
    """A probe that needs the system under test running."""

    name = "live"
    characteristic = "performance_efficiency"
    description = "Needs a service (test probe)."
    metrics = {"p95_ms": MetricInfo("ms", "95th percentile", "lower")}
    needs_service = True

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        return ProbeOutcome(measurements=(Measurement("p95_ms", None, "ms"),),
                            notes=("measures nothing without a service",))


class ReadingArgs(ProbeArgs):
    unit: str


class ReadingProbe(Probe):
    """A probe whose metric unit is declared by the spec (like the command probe's ``with.unit``)."""

    name = "reading"
    characteristic = "functionality"
    description = "A number in a declared unit (test probe)."
    metrics = {"value": MetricInfo("count", "the number; its unit is with.unit")}
    Args = ReadingArgs

    metrics_vary_with_args = True

    @classmethod
    def metrics_for(cls, args: ReadingArgs) -> dict[str, MetricInfo]:
        return {"value": MetricInfo(args.unit, "the number", "higher")}

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        return ProbeOutcome(measurements=(Measurement("value", 1.0, ctx.args.unit),))


PROBES = {"counter": CounterProbe, "live": LiveProbe, "reading": ReadingProbe}
