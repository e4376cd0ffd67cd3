"""A realistic run directory (results.json + evidence files) for report and bundle tests.

Everything is deterministic (fixed timestamps and timings) so rendered reports can be compared with
golden files. ``hostile=True`` puts markup, quotes, template syntax and Markdown syntax into every
field that comes from the delivered repository.
"""

from __future__ import annotations

import json
from pathlib import Path

from verifier.evidence import atomic_write_json, atomic_write_text, sha256_file
from verifier.origin.phrases import COUNTING_RULE, MINIFIED_RULE
from verifier.results import (
    AppliedWaiver,
    Environment,
    FindingRecord,
    FunctionCoverage,
    IndicatorResult,
    MaterialCheck,
    MaterialFound,
    OriginSummary,
    Project,
    RepeatRun,
    Repeats,
    Repository,
    RunResult,
    StaleWaiver,
    TestRecord,
    WaiversRecord,
)
from verifier.scoring import finalize
from verifier.spec import Spec
from verifier.vocabulary import DOSSIER

EVIL = "<script>alert('x\"y')</script>{{ 7*7 }}|`tick`"


def _history(seconds: int = 30) -> list[dict]:
    points = []
    for t in range(seconds):
        users = min(200, 20 + t * 20)
        points.append({"t": float(t), "users": users, "rps": round(180 + 9 * min(t, 10) - (t % 3), 1),
                       "failures_per_s": 0.0 if t != 17 else 0.4,
                       "p50_ms": 40 + (t % 5) * 2, "p95_ms": 120 + (t % 7) * 9 + min(t, 10) * 4,
                       "p99_ms": 210 + (t % 4) * 15 + min(t, 10) * 6,
                       "requests": 200 * t, "failures": 0 if t < 17 else 1})
    points[3]["p99_ms"] = None  # Locust writes N/A before enough samples
    return points


def _endpoint(method: str, name: str, requests: int, failures: int, rps: float) -> dict:
    """One row of the locust probe's ``endpoints`` details (the shape EndpointStats.to_json writes)."""
    return {"method": method, "name": f"{method} {name}", "requests": requests, "failures": failures,
            "failure_ratio": 100.0 * failures / requests, "rps": rps, "average_ms": 61.7, "min_ms": 3.1,
            "max_ms": 910.0, "p50_ms": 44.0, "p90_ms": 170.0, "p95_ms": 210.0, "p99_ms": 330.0}


def _origin_files(n_files: int | None, evil: str) -> list[dict]:
    if n_files is None:
        files = [
            {"path": "inventory_api/server.py", "language": "Python", "lines": 412, "origin": "self",
             "reason": "owner's copyright notice (湖南示例软件有限公司)"},
            {"path": "inventory_api/store.py", "language": "Python", "lines": 236, "origin": "self",
             "reason": "self-developed: no license or copyright keyword in the head, not generated, not in a "
                       "component"},
            {"path": "inventory_api/__main__.py", "language": "Python", "lines": 31, "origin": "self",
             "reason": "owner's copyright notice (Hunan Example Software Co., Ltd.)"},
            {"path": "web/app.js", "language": "JavaScript", "lines": 188, "origin": "self",
             "reason": "no foreign notice"},
            {"path": "tests/test_items.py", "language": "Python", "lines": 164, "origin": "self",
             "reason": "test code; no foreign notice"},
            {"path": "vendor/minischema/core.py", "language": "Python", "lines": 290, "origin": "third_party",
             "reason": "part of component minischema 1.2.0 (MIT): own license/manifest naming a holder that is "
                       "not an owner: Lin Wei"},
            {"path": "web/static/lib/chart.min.js", "language": "JavaScript", "lines": 96,
             "origin": "third_party", "reason": "minified/bundled asset name chart.min.js"},
            {"path": "inventory_api/proto/items_pb2.py", "language": "Python", "lines": 58,
             "origin": "generated", "reason": "generated-code file name items_pb2.py"},
            {"path": "docs/conf.py", "language": "Python", "lines": 20, "origin": "excluded",
             "reason": "declared excluded (spec exclude: docs/**)"},
            {"path": "inventory_api/legacy_codec.py", "language": "Python", "lines": 12, "origin": "unknown",
             "reason": "not counted or read: undecodable text; weighs its 12 non-blank lines; not counted as "
                       "self"},
        ]
        if evil:
            files.append({"path": f"inventory_api/{evil}.py", "language": "Python", "lines": 3,
                          "origin": "third_party", "reason": f"copyright notice of {evil}, not an owner"})
        return files
    classes = ["self"] * 7 + ["third_party", "generated", "excluded"]
    return [{"path": f"pkg{i % 97:02d}/module_{i // 97:03d}/file_{i:05d}.py", "language": "Python",
             "lines": 20 + i % 180, "origin": classes[i % 10],
             "reason": "no foreign notice" if classes[i % 10] == "self" else f"rule {classes[i % 10]}"}
            for i in range(n_files)]


def build_sample_run(root: Path, *, hostile: bool = False, n_files: int | None = None) -> Path:
    """Write a run directory under ``root`` (``root/run``) and return its path."""
    evil = EVIL if hostile else ""
    run = root / "run"
    (run / "evidence").mkdir(parents=True, exist_ok=True)

    def ev(rel: str, text: str) -> str:
        atomic_write_text(run / rel, text)
        return rel

    files = _origin_files(n_files, evil)
    atomic_write_json(run / "origin" / "origin.json", {"files": files})
    totals: dict[str, dict[str, int]] = {c: {"files": 0, "lines": 0}
                                         for c in ("self", "third_party", "generated", "excluded", "unknown")}
    for f in files:
        totals[f["origin"]]["files"] += 1
        totals[f["origin"]]["lines"] += f["lines"]
    counted = sum(totals[c]["lines"] for c in ("self", "third_party", "generated", "unknown"))
    ratio = totals["self"]["lines"] / counted
    test_lines = sum(f["lines"] for f in files if f["path"].startswith("tests/"))
    ratio_nt = (totals["self"]["lines"] - test_lines) / (counted - test_lines)
    origin = OriginSummary(
        ratio=round(ratio, 4), ratio_without_tests=round(ratio_nt, 4), threshold=0.6, passed=ratio >= 0.6,
        counting=COUNTING_RULE.en.format(counter="pygount 3.2.0, pygments 2.21.0", control="10%", limit=8, piece=1,
                                         timeout=60, minified=MINIFIED_RULE.en.format(sample=1, mean=250,
                                                                                      longest=1000)),
        totals=totals,
        components=[{"name": "minischema", "version": "1.2.0", "license": "MIT",
                     "path": "vendor/minischema", "lines": 290},
                    {"name": f"chart.min.js{evil}", "version": None, "license": "unknown",
                     "path": "web/static/lib", "lines": 96}],
        adjudications=[{"path": "inventory_api/legacy_codec.py", "origin": "self",
                        "justification": f"written in-house in 2023, encoding detection failed{evil}",
                        "reviewer": "张工", "date": "2026-11-20"}] if n_files is None else [],
        files_path="origin/origin.json",
        warnings=[f"1 path(s) ignored by git not scanned (e.g. build{evil}/); see 'skipped', "
                  "--include-ignored scans them"],
        not_scanned=[{"path": f"build{evil}/", "reason": "ignored by git (.gitignore or exclude "
                      "file) and not tracked: not part of the committed delivery; --include-ignored scans it"},
                     {"path": "docs/link", "reason": "symbolic link to '/etc' (outside the tree), "
                      "not followed"}],
        not_scanned_total=3,
    )

    perf_ev = [ev("evidence/P1/locust_stats.csv", "Type,Name,Request Count\n,Aggregated,5400\n"),
               ev("evidence/P1/locust_stats_history.csv", "Timestamp,User Count\n1764097200,20\n"),
               ev("evidence/P1/locust_report.html", "<html><body>locust report</body></html>\n")]
    test_name = f"tests/test_items.py::test_stock_negative[{evil}]" if evil else \
        "tests/test_items.py::test_stock_negative"
    indicators = [
        IndicatorResult(
            id="F1", name="功能测试用例通过率", characteristic="functionality", probe="pytest", metric="pass_rate",
            target=">= 95%", unit="%", value=96.15, status="met", credit=1.0, weight=1.0,
            reason="96.15% >= 95%", evidence=[ev("evidence/F1/junit.xml", f"<testsuite tests='26'>{evil}</testsuite>\n")],
            commands=[["python", "-m", "pytest", "-q", "--junitxml", "evidence/F1/junit.xml", "tests"]],
            findings=[FindingRecord(message=f"assert 409 == 400{evil}", file="tests/test_items.py", line=88,
                                    severity="high", rule=test_name)],
            measurements={"pass_rate": 96.15, "passed": 25, "failed": 1, "errors": 0, "skipped": 0},
            details={"failing_tests": [{"nodeid": test_name, "message": f"assert 409 == 400{evil}"}],
                     "functions": [{"id": "F-01", "name": "入库登记", "covered": True, "passed": 6, "failed": 0},
                                   {"id": "F-02", "name": f"库存调整{evil}", "covered": False, "passed": 3,
                                    "failed": 1}]},
            started_at="2026-11-25T10:00:05+00:00", duration_s=4.2),
        IndicatorResult(
            id="P1", name="200 并发下 95% 响应时间", characteristic="performance_efficiency", probe="locust",
            metric="p95_ms", target="<= 500 ms", unit="ms", value=210.0, status="met", credit=1.0, weight=1.0,
            reason="210 ms <= 500 ms", evidence=perf_ev,
            commands=[["locust", "--headless", "-f", "perf/locustfile.py", "-u", "200", "-r", "50", "-t", "30s",
                       "-H", "http://127.0.0.1:41234", "--csv", "evidence/P1/locust"]],
            notes=["Locust rounds response times to about two significant digits.",
                   "rps = 5400 requests ÷ 20.12 s = 268.4 rps: Locust's Requests/s of all requests (the "
                   "Aggregated row of locust_stats.csv), from the start of the test, ramp-up included, to the "
                   "last request."],
            measurements={"rps": 268.4, "p50_ms": 44.0, "p90_ms": 170.0, "p95_ms": 210.0, "p99_ms": 330.0,
                          "max_ms": 910.0, "failure_ratio": 0.02},
            details={"history": _history(), "users": 200, "spawn_rate": 50, "run_time_s": 30,
                     "endpoints": [_endpoint("GET", "/api/items", 4050, 0, 201.3),
                                   _endpoint("POST", f"/api/items{evil}", 1350, 27, 67.1)],
                     "total": {**_endpoint("", "Aggregated", 5400, 27, 268.4), "name": "Aggregated"}},
            arguments={"locustfile": "perf/locustfile.py", "users": 200, "spawn_rate": 50, "run_time": "30s"},
            tools={"locust": "2.47.0"},
            started_at="2026-11-25T10:00:10+00:00", duration_s=33.9),
        IndicatorResult(
            id="P2", name="吞吐量", characteristic="performance_efficiency", probe="locust", metric="rps",
            target=">= 300 rps", unit="rps", value=268.4, status="not_met", credit=0.0, weight=1.0,
            reason="268.4 rps < 300 rps", evidence=perf_ev, started_at="2026-11-25T10:00:10+00:00",
            measurements={"rps": 268.4, "p95_ms": 210.0}, measured_with="P1",
            arguments={"locustfile": "perf/locustfile.py", "users": 200, "spawn_rate": 50, "run_time": "30s"},
            tools={"locust": "2.47.0"}, duration_s=0.0),
        IndicatorResult(
            id="R1", name="进程被杀后的恢复时间", characteristic="reliability", probe="recovery",
            metric="recovery_seconds", target="<= 10 s", unit="s", value=2.1, status="met", credit=1.0,
            weight=1.0, reason="recovery_seconds = 2.1 s, target <= 10 s: met", repeat=3,
            repeats=Repeats(runs=[RepeatRun(run=1, value=1.8, status="met", measurements={"recovery_seconds": 1.8},
                                            evidence="evidence/R1/run-1", duration_s=16.2),
                                  RepeatRun(run=2, value=12.5, status="not_met",
                                            measurements={"recovery_seconds": 12.5},
                                            evidence="evidence/R1/run-2", duration_s=26.9),
                                  RepeatRun(run=3, value=2.1, status="met", measurements={"recovery_seconds": 2.1},
                                            evidence="evidence/R1/run-3", duration_s=16.4)],
                            shown=3, min=1.8, max=12.5, spread=10.7, unstable=True),
            evidence=[ev(f"evidence/R1/run-{n}/service/stdout.log", f"serving on 127.0.0.1{evil}\n")
                      for n in (1, 2, 3)],
            measurements={"recovery_seconds": 2.1, "failed_requests": 14},
            details={"timeline": [{"t": 0.0, "event": "load started"}, {"t": 5.0, "event": "SIGKILL sent"},
                                  {"t": 5.4, "event": "service restarted"},
                                  {"t": 6.8, "event": f"ready again{evil}"}, {"t": 15.0, "event": "load stopped"}]},
            started_at="2026-11-25T10:01:00+00:00", duration_s=16.2),
        IndicatorResult(
            id="S1", name="高危安全问题数", characteristic="security", probe="bandit", metric="high",
            target="== 0", unit="count", value=0.0, status="met", credit=1.0, weight=1.0, reason="0 == 0",
            evidence=[ev("evidence/S1/bandit.json", json.dumps({"results": [], "note": evil}) + "\n")],
            commands=[["bandit", "-r", "-f", "json", "-o", "evidence/S1/bandit.json", "inventory_api"]],
            findings=[FindingRecord(message="Use of assert detected.", file="inventory_api/store.py", line=41,
                                    severity="low", rule="B101"),
                      FindingRecord(message=f"Possible SQL injection{evil}", file="inventory_api/server.py",
                                    line=120, severity="medium", rule="B608"),
                      FindingRecord(message="subprocess call with shell=True identified, security issue.",
                                    file="inventory_api/admin.py", line=31, severity="high", rule="B602",
                                    fingerprint="bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60",
                                    extra={"counted": True, "waiver": {
                                        "status": "accepted", "justification": f"备份名来自固定白名单{evil}",
                                        "reviewer": "张三（湖南省软件测评中心）", "date": "2026-11-20"}})],
            unwaived={"high": 1, "medium": 1, "low": 1, "total": 3, "issues_per_kloc": 3.46, "loc": 866},
            measurements={"high": 0, "medium": 1, "low": 1, "total": 2, "issues_per_kloc": 2.31, "loc": 866},
            details={"by_severity": {"high": 0, "medium": 1, "low": 1}, "confidence_floor": "medium"},
            started_at="2026-11-25T10:01:20+00:00", duration_s=1.1),
        IndicatorResult(
            id="C1", name="多 Python 版本兼容", characteristic="compatibility", probe="matrix", metric="pass_ratio",
            target=">= 100%", unit="%", value=None, status="error", credit=0.0, weight=1.0,
            reason="python3.9 not found on this machine\nstderr: command not found",
            evidence=[ev("evidence/C1/py39.log", "sh: python3.9: command not found\n")],
            started_at="2026-11-25T10:01:25+00:00", duration_s=0.2),
        IndicatorResult(
            id="M1", name="平均圈复杂度", characteristic="maintainability", probe="radon", metric="avg_complexity",
            target="<= 10", unit="score", value=3.42, status="met", credit=1.0, weight=1.0, required=False,
            reason="3.42 <= 10",
            evidence=[ev("evidence/M1/radon_cc.json", "{}\n")],
            findings=[FindingRecord(message="function handle_post has cyclomatic complexity 14 (rank C)",
                                    file="inventory_api/server.py", line=200, severity="medium", rule="cc-rank-C")],
            measurements={"avg_complexity": 3.42, "max_complexity": 14, "share_rank_c_or_worse": 1.8},
            details={"cc_rank_histogram": {"A": 48, "B": 6, "C": 1, "D": 0, "E": 0, "F": 0},
                     "worst_blocks": [{"file": "inventory_api/server.py", "line": 200, "name": "handle_post",
                                       "complexity": 14, "rank": "C"}]},
            started_at="2026-11-25T10:01:26+00:00", duration_s=0.6),
    ]
    atomic_write_text(run / "waivers.yaml", "- fingerprint: bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60\n")
    materials = []
    present = {"test_report": ["docs/acceptance/test-report.pdf"], "function_list": ["docs/acceptance/functions.xlsx"],
               "user_evaluations": ["docs/acceptance/user-eval-1.pdf"],
               "ip_proofs": ["docs/acceptance/ip/软著登记证书.pdf", f"docs/acceptance/ip/{evil or 'patent'}.pdf"]}
    for key, term in DOSSIER.items():
        zh, en, default_min = term.zh, term.en, term.default_min
        found = [MaterialFound(path=p, sha256=f"{i + 1:x}" * 64, size=1000 + i) for i, p in enumerate(present.get(key, []))]
        patterns = [] if key == "audit_report" else [f"docs/acceptance/{key}*"]
        materials.append(MaterialCheck(key=key, label_zh=zh, label_en=en, patterns=patterns, required=default_min,
                                       found=found, ok=bool(patterns) and len(found) >= default_min))
    # gates, score, verdict and reasons as verifier run records them, from the task book below
    final = finalize(_sample_spec(indicators, materials), indicators, origin=origin, materials=materials)
    result = RunResult(
        verifier_version="0.1.0", run_id="20261125T100000Z-sample", started_at="2026-11-25T10:00:00+00:00",
        finished_at="2026-11-25T10:01:30+00:00", spec_path="acceptance.yaml", spec_sha256="ab" * 32,
        project=Project(name=f"智能仓储调度系统{evil}", version="1.0.0", applicant="湖南示例软件有限公司",
                        owners=["湖南示例软件有限公司", "Hunan Example Software Co., Ltd."]),
        repository=Repository(path="fixtures/sample-delivery", commit="0123456789abcdef0123456789abcdef01234567",
                              dirty=False, tree_sha256="cd" * 32),
        environment=Environment(os="Linux 6.1 (Debian 12)", machine="x86_64", cpu="Intel(R) Xeon(R) CPU @ 2.20GHz",
                                cpu_count=2, python="3.11.7",
                                tools={"pytest": "9.2.0", "locust": "2.47.0", "bandit": "1.8.6", "radon": "6.0.1",
                                       "scancode-toolkit": "32.5.0"}),
        origin=origin, indicators=indicators,
        functions=[FunctionCoverage(id="F-01", name="入库登记", description="登记新的库存物品",
                                    tests=["tests/test_items.py::test_create_item",
                                           "tests/test_items.py::test_create_validates[sku]",
                                           "tests/test_items.py::test_create_validates[name]"],
                                    passed=3, failed=0, covered=True,
                                    cases=[TestRecord(nodeid="tests/test_items.py::test_create_item",
                                                      name="test_create_item", outcome="passed",
                                                      description="登记新货品返回 201 及货品内容。"),
                                           TestRecord(nodeid="tests/test_items.py::test_create_validates[sku]",
                                                      name="test_create_validates[sku]", outcome="passed",
                                                      description="缺少字段被拒绝（400）。"),
                                           TestRecord(nodeid="tests/test_items.py::test_create_validates[name]",
                                                      name="test_create_validates[name]", outcome="passed",
                                                      description="缺少字段被拒绝（400）。")]),
                   FunctionCoverage(id="F-02", name=f"库存调整{evil}", tests=[test_name], passed=3, failed=1,
                                    covered=False,
                                    cases=[TestRecord(nodeid=test_name, name=test_name.rsplit("::", 1)[-1],
                                                      outcome="failed", description=f"出库超量被拒绝{evil}")])],
        materials=materials, gates=list(final.gates), score=final.score, verdict=final.verdict,
        verdict_reasons=list(final.reasons),
        waivers=WaiversRecord(
            source="acceptance/waivers.yaml", path="waivers.yaml", sha256=sha256_file(run / "waivers.yaml"),
            applied=[AppliedWaiver(fingerprint="bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60",
                                   justification=f"备份名来自固定白名单{evil}", reviewer="张三（湖南省软件测评中心）",
                                   date="2026-11-20", indicators=["S1"])],
            stale=[StaleWaiver(fingerprint="bandit:B101:inventory_api/gone.py:0123456789abcdef",
                               justification="测试代码中的断言", reviewer="李四", date="2026-11-20",
                               reason="no finding with this fingerprint in this run: the finding no longer exists")]),
        command=["verifier", "run", "acceptance.yaml", "--repo", "fixtures/sample-delivery"],
    )
    atomic_write_json(run / "results.json", result.model_dump(mode="json", by_alias=True))
    return run


def _sample_spec(indicators: list[IndicatorResult], materials: list[MaterialCheck]) -> Spec:
    """The task book of the sample run: its indicators as recorded (M1 beyond the task book), the
    dossier items it declares, pass score 70."""
    return Spec.model_validate({
        "project": {"name": "智能仓储调度系统", "version": "1.0.0", "owners": ["湖南示例软件有限公司"]},
        "indicators": [{"id": i.id, "name": i.name, "characteristic": i.characteristic, "probe": i.probe,
                        "metric": i.metric, "target": i.target, "weight": i.weight, "required": i.required}
                       for i in indicators],
        "materials": {m.key: m.patterns for m in materials if m.patterns},
        "scoring": {"pass_score": 70},
    })
