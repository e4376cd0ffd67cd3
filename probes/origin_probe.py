"""``origin`` probe: the self-developed code ratio (自研代码率) as an indicator.

The runner scans the repository once per run, before any indicator is measured, and writes
``origin/summary.json`` in the run directory (a scan that failed included, with its error); this
probe reads that scan rather than repeating it. Without it (the probe run outside ``verifier run``)
the probe fails with a reason.
"""

from __future__ import annotations

from pathlib import Path

from verifier.probe import (
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
from verifier.results import OriginSummary

#: Why the probe gives no figure when paths of the delivery could not be weighed.
UNPROVEN = ("the ratio cannot be proven: {count} unreadable path(s) of unknown size may hold any amount "
            "of code: {paths}")


class OriginArgs(ProbeArgs):
    """The origin probe takes no arguments: the spec's ``origin:`` section configures the scan."""


class OriginProbe(Probe):
    """Self-developed code ratio from the run's origin scan (scancode + pygount)."""

    name = "origin"
    characteristic = "maintainability"  # code the applicant can maintain itself; specs may file it elsewhere
    description = ("Self-developed code ratio (自研代码率) from the origin scan: scancode license/"
                   "copyright/package/generated detection over pygount-counted effective lines.")
    metrics = {
        "ratio": MetricInfo("%", "self-developed lines / counted lines", "higher"),
        "ratio_without_tests": MetricInfo("%", "the same ratio, test code left out", "higher"),
        "self_lines": MetricInfo("count", "effective lines classified self-developed", "higher"),
        "third_party_lines": MetricInfo("count", "effective lines classified third-party", "lower"),
        "generated_lines": MetricInfo("count", "effective lines classified generated", "lower"),
        "unknown_lines": MetricInfo("count", "effective lines the detectors could not finish", "lower"),
    }
    Args = OriginArgs

    presentation = Presentation(phrases=(
        Phrase("counting rule: {rule}", "计数规则：见第 3 节（自研代码率）"),
        Phrase(UNPROVEN, "自研代码率无法证实：{count} 个无法读取、大小不明的路径可能含有任意数量的代码：{paths}"),
    ), labels={
        "ratio": ("自研代码率（%）", "Self-developed ratio (%)"),
        "ratio_without_tests": ("不含测试代码的自研代码率（%）", "Ratio without test code (%)"),
        "self_lines": ("自研代码行数", "Self-developed lines"),
        "third_party_lines": ("第三方代码行数", "Third-party lines"),
        "generated_lines": ("生成代码行数", "Generated lines"),
        "unknown_lines": ("未判定代码行数", "Unknown lines"),
    })

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        summary_path = ctx.run_dir / "origin" / "summary.json"
        if not summary_path.is_file():
            raise ProbeError(f"no origin scan in the run directory ({summary_path.relative_to(ctx.run_dir)}): "
                             "the runner writes it before measuring any indicator")
        summary = OriginSummary.model_validate_json(summary_path.read_text("utf-8"))
        if summary.error or summary.ratio is None:
            raise ProbeError(summary.error or "the origin scan gave no ratio (nothing counted)")
        if summary.unweighed:  # the figure would be a guess: say what hides the rest
            count = max(summary.unweighed_total, len(summary.unweighed))
            raise ProbeError(UNPROVEN.format(count=count, paths=", ".join(
                item.get("path", "") for item in summary.unweighed[:5]) + (" …" if count > 5 else "")))
        evidence = [p for p in ("origin/summary.json", summary.files_path)
                    if p and (ctx.run_dir / Path(p)).is_file()]

        def lines(origin: str) -> float:
            return float(summary.totals.get(origin, {}).get("lines", 0))

        without = summary.ratio_without_tests
        return ProbeOutcome(
            measurements=(
                Measurement("ratio", round(summary.ratio * 100, 4), "%"),
                Measurement("ratio_without_tests",
                            None if without is None else round(without * 100, 4), "%"),
                Measurement("self_lines", lines("self"), "count"),
                Measurement("third_party_lines", lines("third_party"), "count"),
                Measurement("generated_lines", lines("generated"), "count"),
                Measurement("unknown_lines", lines("unknown"), "count"),
            ),
            evidence=tuple(evidence),
            notes=(f"counting rule: {summary.counting}",),
        )
