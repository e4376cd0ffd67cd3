"""Presentation pieces the built-in probes share (``verifier.probe.Presentation``): the names of
load-test figures (locust, soak, recovery), of test outcomes (pytest, junit, matrix), of a test run's
figures and function-list table (pytest, junit), the tables of failed
requests and the charts of response time and throughput. Each probe declares its own presentation
from these; verifier's report knows none of them.
"""

from __future__ import annotations

from verifier.probe import Chart, Label, MetricBars, Phrase, Table

#: Figures of a load test: request counts, rates and response times, by the keys the probes write.
LOAD_FIGURES: dict[str, Label] = {
    "t": ("时间（秒）", "Time (s)"),
    "users": ("并发用户数", "Concurrent users"),
    "requests": ("请求数", "Requests"),
    "rps": ("每秒请求数", "Requests per second"),
    "failures": ("失败数", "Failures"),
    "failures_per_s": ("每秒失败数", "Failures per second"),
    "failure_ratio": ("失败率（%）", "Failure rate (%)"),
    "average_ms": ("平均响应时间（毫秒）", "Average (ms)"),
    "median_ms": ("中位响应时间（毫秒）", "Median (ms)"),
    "min_ms": ("最短响应时间（毫秒）", "Min (ms)"),
    "max_ms": ("最长响应时间（毫秒）", "Max (ms)"),
    "p50_ms": ("P50（毫秒）", "p50 (ms)"),
    "p66_ms": ("P66（毫秒）", "p66 (ms)"),
    "p75_ms": ("P75（毫秒）", "p75 (ms)"),
    "p80_ms": ("P80（毫秒）", "p80 (ms)"),
    "p90_ms": ("P90（毫秒）", "p90 (ms)"),
    "p95_ms": ("P95（毫秒）", "p95 (ms)"),
    "p98_ms": ("P98（毫秒）", "p98 (ms)"),
    "p99_ms": ("P99（毫秒）", "p99 (ms)"),
    "p999_ms": ("P99.9（毫秒）", "p99.9 (ms)"),
    "duration_s": ("耗时（秒）", "Duration (s)"),
}

#: Response-time percentiles, then throughput: the first charts of every load history.
LOAD_CHARTS: tuple[Chart, ...] = (
    Chart(("p50_ms", "p66_ms", "p75_ms", "p80_ms", "p90_ms", "p95_ms", "p98_ms", "p99_ms", "p999_ms"),
          title=("响应时间随时间变化（毫秒）", "Response time over time (ms)")),
    Chart(("rps",), title=("吞吐量随时间变化（请求/秒）", "Throughput over time (requests/s)")),
)

FAILED_REQUESTS_TITLE: Label = ("失败请求示例", "Failed requests (examples)")

#: The most frequent failed requests of the load client (``._load_run.failure_examples``).
FAILURE_EXAMPLES = Table(columns=("label", "status", "error", "count"), title=FAILED_REQUESTS_TITLE)
FAILURE_EXAMPLE_LABELS: dict[str, Label] = {
    "label": ("标签", "Label"),
    "status": ("状态", "Status"),
    "error": ("错误", "Error"),
    "count": ("次数", "Count"),
}

#: Findings of the load client (soak, recovery): the most frequent failed requests.
LOAD_FAILURE_PHRASES: tuple[Phrase, ...] = (
    Phrase("after recovery: {count}× {label}: status {status}", "恢复之后：{count} 次 {label}：状态码 {status}"),
    Phrase("after recovery: {count}× {label}: {error}", "恢复之后：{count} 次 {label}：{error}"),
    Phrase("{count}× {label}: status {status}", "{count} 次 {label}：状态码 {status}"),
    Phrase("{count}× {label}: {error}", "{count} 次 {label}：{error}"),
)

#: How a test (or a matrix cell) ended, as a bar name, column value or measurement.
TEST_OUTCOMES: dict[str, Label] = {
    "passed": ("通过", "Passed"),
    "failed": ("失败", "Failed"),
    "error": ("错误", "Error"),
    "errors": ("错误", "Errors"),
    "skipped": ("跳过", "Skipped"),
}

#: The figures and function-list table of a probe running the product's tests (pytest, junit).
FUNCTION_TEST_LABELS: dict[str, Label] = {
    **TEST_OUTCOMES,
    "pass_rate": ("通过率（%）", "Pass rate (%)"),
    "total": ("合计", "Total"),
    "function_coverage": ("功能覆盖率（%）", "Function coverage (%)"),
    "functions": ("功能清单覆盖", "Function list coverage"),
    "outcomes": ("结果", "Outcomes"),
    "id": ("编号", "ID"),
    "name": ("名称", "Name"),
    "description": ("说明", "Description"),
    "covered": ("已覆盖", "Covered"),
}

#: The tests chart of a probe reporting passed / failed / errors / skipped measurements.
TESTS_CHART = MetricBars(("passed", "failed", "errors", "skipped"), title=("测试结果", "Test results"),
                         colours=("#2e8b57", "#b23b3b", "#7a1010", "#9aa0a6"))
