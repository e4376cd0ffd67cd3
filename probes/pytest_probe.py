"""``pytest`` probe (functionality): runs the delivered product's declared test path and reads the
JUnit XML it writes.

Tests map to the task book's function items (``spec.functions``: ``id``, ``name``, ``tests``) in
two ways: a marker on the test, ``@pytest.mark.function("F-03")`` (several ids allowed; on a class
or module too), or the item's ``tests`` globs. A glob with ``::`` is matched against the node id
relative to the repository root (``tests/test_items.py::test_create*``; ``*`` matches anything);
a glob without ``::`` selects every test in the matching files (``tests/items/**``).

A small plugin of ours (``probes/_pytest_plugin.py``) is put on the child's ``PYTHONPATH`` to
register the marker and tag each JUnit test case with its node id and function ids, so the product's
interpreter needs only pytest, not verifier.

Definitions: ``pass_rate`` = passed / (passed + failed + errors) x 100 (skipped and xfail are left
out; not applicable when nothing ran). An item is *covered* when at least one of its tests passed and
none failed or errored. ``function_coverage`` = covered items / all items x 100.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from verifier.globs import name_match
from verifier.probe import (
    Bars,
    Finding,
    FunctionOutcome,
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Table,
    TestCaseResult,
    TestOutcome,
)
from verifier.probekit import (
    EnvValue,
    RepoPath,
    declared_values,
    glob_matches,
    inside_repo,
    interpreter_env,
    product_python,
    resolve_python,
    run_evidence,
    run_tool,
    substitute,
    tool_failure,
    tool_version,
)
from verifier.spec import Spec

from ._labels import FUNCTION_TEST_LABELS, TESTS_CHART
from ._xml import read_xml

_PLUGIN_SOURCE = Path(__file__).with_name("_pytest_plugin.py")
_PLUGIN_MODULE = "_verifier_pytest_plugin"
_NO_TESTS = 5
#: Outcomes from worst to best; a test reported twice (call failure + teardown error) keeps the worst.
_ORDER = ("failed", "error", "skipped", "passed")
#: JUnit XML's element for a test that did not pass, and what it means.
_JUNIT_OUTCOMES: tuple[tuple[str, TestOutcome], ...] = (
    ("failure", "failed"), ("error", "error"), ("skipped", "skipped"))
_MAX_FINDINGS = 200


class PytestArgs(ProbeArgs):
    """``with:`` arguments of the pytest probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["tests"])
    """Test files or directories (or node ids), relative to the repository."""
    python: str | None = None
    """The product's interpreter: a path (relative to the repository when relative) or a name on
    PATH. Default: the runtime's (``runtime:``) when the spec declares one, else the interpreter
    running verifier. ``python``, ``venv``, ``args`` and ``env`` values may use ``{spec_dir}``,
    ``{repo}`` and ``{runtime.…}``."""
    venv: str | None = None
    """A virtual environment directory whose ``bin/python`` runs the tests (instead of ``python``)."""
    args: list[str] = Field(default_factory=list)
    """Extra pytest arguments (``-m``, ``-k`` …)."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Environment variables for the test run (on top of a scrubbed environment)."""
    cwd: RepoPath = "."
    """Working directory, relative to the repository."""

    @model_validator(mode="after")
    def _one_interpreter(self) -> PytestArgs:
        if self.python and self.venv:
            raise ValueError("declare either 'python' or 'venv', not both")
        return self


@dataclass(frozen=True)
class JUnitCase:
    """One test as the JUnit XML reports it, keyed by its repository-relative node id."""

    nodeid: str
    file: str | None
    line: int | None
    outcome: TestOutcome
    """``passed``, ``failed``, ``error`` or ``skipped``."""
    message: str
    functions: tuple[str, ...]


class PytestProbe(Probe):
    """Pass rate of the product's tests and the share of function items they cover."""

    name = "pytest"
    characteristic = "functionality"
    description = ("Runs the product's tests with pytest: pass rate and share of the function list "
                   "covered by passing tests.")
    metrics = {
        "pass_rate": MetricInfo("%", "passed / (passed + failed + errors)", "higher"),
        "passed": MetricInfo("count", "tests passed", "higher"),
        "failed": MetricInfo("count", "tests failed"),
        "errors": MetricInfo("count", "tests in error (setup/teardown/collection)"),
        "skipped": MetricInfo("count", "tests skipped or xfailed"),
        "total": MetricInfo("count", "tests reported", "higher"),
        "function_coverage": MetricInfo(
            "%", "function items with a passing test and no failing one", "higher"),
    }
    Args = PytestArgs

    presentation = Presentation(
        labels={
            **FUNCTION_TEST_LABELS,
            "failing_tests": ("失败的测试", "Failing tests"),
            "nodeid": ("测试用例", "Test"),
            "message": ("信息", "Message"),
            "python": ("Python 解释器", "Python interpreter"),
            "pytest_version": ("pytest 版本", "pytest version"),
            "duration_s": ("耗时（秒）", "Duration (s)"),
        },
        tables={"functions": Table(("id", "name", "covered", "passed", "failed", "description"),
                                   repeats_section="functions"),
                "failing_tests": Table(("nodeid", "message"))},
        bars={"outcomes": Bars(("passed", "failed", "error", "skipped"))},
        metric_bars=(replace(TESTS_CHART, unless=("outcomes",)),),
        phrases=(
            Phrase("pytest collected no tests in {paths} (exit status 5)", "pytest 在 {paths} 中未收集到测试（退出状态 5）"),
            Phrase("the spec declares no function items: function_coverage is not applicable",
                   "任务书未声明功能清单：function_coverage 不适用"),
            Phrase("no test passed, failed or errored: pass_rate is not applicable",
                   "没有通过、失败或出错的测试：pass_rate 不适用"),
            Phrase("tests are marked with function ids not in the spec: {ids}", "测试标记了任务书中没有的功能编号：{ids}"),
            Phrase("function {id} ({name}) has no test", "功能 {id}（{name}）没有测试"),
            Phrase("{count} more failing tests are in the JUnit XML", "另有 {count} 个失败的测试，见 JUnit XML"),
            Phrase("failed: {message}", "失败：{message}"),
            Phrase("error: {message}", "错误：{message}"),
        ),
    )

    def tool_versions(self) -> dict[str, str]:
        """pytest's version in the harness's interpreter (the product's is in the evidence)."""
        return tool_version("pytest")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run the declared tests, keep JUnit XML and console log, measure."""
        args: PytestArgs = ctx.args  # type: ignore[assignment]
        cwd = inside_repo(ctx.repo, args.cwd, what="cwd")
        if not cwd.is_dir():
            raise ProbeError(f"cwd {args.cwd!r} is not a directory")
        targets = []
        for rel in args.paths:
            file_part = rel.split("::", 1)[0]
            inside_repo(ctx.repo, file_part, what="test path")
            target = Path(os.path.relpath(ctx.repo.resolve() / file_part, cwd)).as_posix()
            targets.append(target + rel[len(file_part):])
        values = declared_values(ctx)  # {spec_dir}, {runtime.python} … in python, venv, args and env
        python = resolve_python(ctx.repo, substitute(args.python, values) if args.python else None,
                                substitute(args.venv, values) if args.venv else None, default=product_python(ctx))
        junit = ctx.evidence_dir / "junit.xml"
        meta = ctx.evidence_dir / "pytest-collected.json"
        for stale in (junit, meta):
            stale.unlink(missing_ok=True)
        argv = [python, "-m", "pytest", *targets, "-p", _PLUGIN_MODULE, "-p", "no:cacheprovider",
                f"--junitxml={junit}", "-o", "junit_family=xunit1", "--color=no", "-rfE",
                "--continue-on-collection-errors", *(substitute(a, values) for a in args.args)]
        with tempfile.TemporaryDirectory(prefix="verifier-pytest-") as plugin_dir:
            shutil.copyfile(_PLUGIN_SOURCE, Path(plugin_dir) / f"{_PLUGIN_MODULE}.py")
            env = interpreter_env(python, {**{k: substitute(v, values) for k, v in args.env.items()},
                                           "VERIFIER_REPO_ROOT": str(ctx.repo.resolve()),
                                           "VERIFIER_PYTEST_META": str(meta)},
                                  pythonpath=[plugin_dir])
            run = run_tool(argv, cwd=cwd, timeout_s=ctx.timeout_s, out_dir=ctx.evidence_dir,
                           name="pytest", env=env)
        evidence = tuple(ctx.rel(p) for p in (junit, meta) if p.exists()) + run_evidence(ctx, run)
        if run.timed_out or run.returncode not in (0, 1, _NO_TESTS):
            reason = tool_failure(ctx, run, "pytest", ctx.timeout_s)
            hints = {2: " (interrupted: a test or conftest stopped the session)",
                     3: " (pytest internal error)", 4: " (usage error: bad arguments or paths)"}
            raise ProbeError(reason.reason + hints.get(run.returncode or 0, ""), tail=reason.tail,
                             evidence=evidence)
        if not junit.exists():
            if run.returncode == _NO_TESTS:
                cases: list[JUnitCase] = []
            else:
                raise ProbeError(f"pytest exited with status {run.returncode} without writing JUnit "
                                 "XML (is pytest installed for this interpreter?)",
                                 tail=run.tail(), evidence=evidence)
        else:
            cases = parse_junit(junit, rootdir_in_repo=str(_meta(meta).get("rootdir_in_repo", ".")))
        outcome = summarize(cases, functions=_spec_functions(ctx.spec), descriptions=_descriptions(meta))
        details = {**outcome.details, "python": python,
                   "pytest_version": _meta(meta).get("pytest_version"),
                   "duration_s": round(run.duration_s, 3)}
        notes = list(outcome.notes)
        if run.returncode == _NO_TESTS:
            notes.insert(0, f"pytest collected no tests in {', '.join(args.paths)} (exit status 5)")
        return ProbeOutcome(measurements=outcome.measurements, findings=outcome.findings,
                            notes=tuple(notes), details=details, functions=outcome.functions,
                            evidence=evidence, commands=(run.argv,))


def _meta(path: Path) -> dict[str, Any]:
    """What our plugin recorded about the session (rootdir, pytest version), or ``{}``."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    rootdir = data.get("rootdir_in_repo")
    if not isinstance(rootdir, str) or rootdir.startswith("/"):
        data["rootdir_in_repo"] = "."
    return data


def _descriptions(path: Path) -> dict[str, str]:
    """Node id -> the first paragraph of the test's docstring, as our plugin recorded them."""
    tests = _meta(path).get("tests")
    if not isinstance(tests, list):
        return {}
    return {t["nodeid"]: t["doc"] for t in tests
            if isinstance(t, dict) and isinstance(t.get("nodeid"), str) and isinstance(t.get("doc"), str)
            and t["doc"]}


def _spec_functions(spec: Spec) -> list[dict[str, Any]]:
    return [{"id": item.id, "name": item.name, "description": item.description, "tests": list(item.tests)}
            for item in spec.functions]


def parse_junit(path: Path, *, rootdir_in_repo: str = ".") -> list[JUnitCase]:
    """The tests in a pytest JUnit XML file (``xunit1`` family plus our plugin's properties), one
    per node id; ``ProbeError`` when the file is not JUnit XML."""
    root = read_xml(path, what=f"JUnit XML {path.name}")
    if root.tag not in ("testsuites", "testsuite"):
        raise ProbeError(f"JUnit XML {path.name} has root <{root.tag}>, not <testsuites>")
    merged: dict[str, JUnitCase] = {}
    for element in root.iter("testcase"):
        case = _testcase(element, rootdir_in_repo)
        previous = merged.get(case.nodeid)
        if previous is None or _ORDER.index(case.outcome) < _ORDER.index(previous.outcome):
            if previous is not None:
                case = JUnitCase(case.nodeid, case.file or previous.file, case.line or previous.line,
                                case.outcome, case.message,
                                tuple(dict.fromkeys(previous.functions + case.functions)))
            merged[case.nodeid] = case
    return list(merged.values())


def _testcase(element: ET.Element, rootdir_in_repo: str) -> JUnitCase:
    props = [(p.get("name"), p.get("value") or "") for p in element.iter("property")]
    nodeid = next((v for n, v in props if n == "verifier.nodeid"), None)
    functions = tuple(dict.fromkeys(v for n, v in props if n == "verifier.function"))
    file_attr = element.get("file")
    file = None
    if file_attr:
        file = file_attr if rootdir_in_repo in (".", "") else f"{rootdir_in_repo}/{file_attr}"
    if nodeid:
        file = nodeid.split("::", 1)[0]
    else:
        nodeid = file or ".".join(p for p in (element.get("classname"), element.get("name")) if p)
    line_attr = element.get("line")
    line = int(line_attr) + 1 if line_attr and line_attr.isdigit() else None
    outcome: TestOutcome = "passed"
    message = ""
    for tag, meaning in _JUNIT_OUTCOMES:
        child = element.find(tag)
        if child is not None:
            outcome = meaning
            message = child.get("message") or (child.text or "").strip()
            break
    first = message.strip().splitlines()[0] if message.strip() else ""
    return JUnitCase(nodeid, file, line, outcome, first[:500], functions)


def _matches(case: JUnitCase, pattern: str) -> bool:
    if "::" in pattern:
        return name_match(case.nodeid, pattern)
    return case.file is not None and glob_matches(case.file, pattern)


def function_tests(cases: Sequence[JUnitCase], functions: Sequence[dict[str, Any]],
                   descriptions: Mapping[str, str] | None = None) -> tuple[FunctionOutcome, ...]:
    """Per function item, the tests mapped to it (marker or glob) with their outcomes and
    descriptions (``descriptions``: node id -> docstring), by node id (so that runs of the same
    tests can be merged by node id)."""
    docs = descriptions or {}
    return tuple(
        FunctionOutcome(item["id"], tuple(
            TestCaseResult(c.nodeid, c.outcome, docs.get(c.nodeid, ""))
            for c in sorted(cases, key=lambda c: c.nodeid)
            if item["id"] in c.functions or any(_matches(c, g) for g in item["tests"])))
        for item in functions)


def function_coverage(tests: Sequence[FunctionOutcome], functions: Sequence[dict[str, Any]]) -> list[dict]:
    """Per function item, for the report: its tests, how many passed and failed (failures and
    errors), and whether it is covered (a pass and no failure)."""
    rows = []
    for item, mapped in zip(functions, tests):
        passed = sum(t.outcome == "passed" for t in mapped.tests)
        failed = sum(t.outcome in ("failed", "error") for t in mapped.tests)
        rows.append({"id": item["id"], "name": item["name"], "description": item["description"],
                     "tests": [t.nodeid for t in mapped.tests], "passed": passed, "failed": failed,
                     "covered": passed > 0 and failed == 0})
    return rows


def summarize(cases: Sequence[JUnitCase], *, functions: Sequence[dict[str, Any]],
              descriptions: Mapping[str, str] | None = None) -> ProbeOutcome:
    """Measurements, findings (failing tests), notes and per-function details (a pure function);
    ``descriptions``: node id -> what the test checks (its docstring)."""
    counts = {key: sum(c.outcome == key for c in cases) for key in _ORDER}
    ran = counts["passed"] + counts["failed"] + counts["error"]
    notes: list[str] = []
    tests = function_tests(cases, functions, descriptions)
    rows = function_coverage(tests, functions)
    covered = sum(r["covered"] for r in rows)
    if not functions:
        notes.append("the spec declares no function items: function_coverage is not applicable")
    if not ran:
        notes.append("no test passed, failed or errored: pass_rate is not applicable")
    known = {f["id"] for f in functions}
    unknown = sorted({fid for c in cases for fid in c.functions if fid not in known})
    if unknown:
        notes.append(f"tests are marked with function ids not in the spec: {', '.join(unknown)}")
    for row in rows:
        if not row["tests"]:
            notes.append(f"function {row['id']} ({row['name']}) has no test")
    failing = [c for c in cases if c.outcome in ("failed", "error")]
    findings = tuple(
        Finding(message=f"{c.outcome}: {c.message}" if c.message else c.outcome, file=c.file,
                line=c.line, rule=c.nodeid,
                extra={"outcome": c.outcome, "functions": list(c.functions)})
        for c in failing[:_MAX_FINDINGS])
    if len(failing) > _MAX_FINDINGS:
        notes.append(f"{len(failing) - _MAX_FINDINGS} more failing tests are in the JUnit XML")
    measurements = (
        Measurement("pass_rate", round(100.0 * counts["passed"] / ran, 4) if ran else None, "%"),
        Measurement("passed", float(counts["passed"]), "count"),
        Measurement("failed", float(counts["failed"]), "count"),
        Measurement("errors", float(counts["error"]), "count"),
        Measurement("skipped", float(counts["skipped"]), "count"),
        Measurement("total", float(len(cases)), "count"),
        Measurement("function_coverage",
                    round(100.0 * covered / len(functions), 4) if functions else None, "%"),
    )
    return ProbeOutcome(measurements=measurements, findings=findings, notes=tuple(notes),
                        functions=tests, details={"functions": rows,
                                 "outcomes": {k: counts[k] for k in ("passed", "failed", "error",
                                                                      "skipped")}})
