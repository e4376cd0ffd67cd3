"""The junit probe runs real test runners (node's built-in runner, CTest, pytest) and reads the JUnit
XML they write; Maven Surefire, Gradle, jest-junit and go-junit-report are read from reports written
here in their formats. Failing, crashing, hanging and missing runners, and hostile XML, are errors."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from support import write_tree
from verifier.builtin_probes._junit_xml import ClassFiles, merge, read_report
from verifier.builtin_probes._xml import read_xml
from verifier.builtin_probes.junit_probe import JUnitArgs, JUnitProbe
from verifier.probe import ProbeContext, ProbeError, get_probe

NODE = shutil.which("node")
CMAKE = shutil.which("cmake")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
needs_cmake = pytest.mark.skipif(CMAKE is None or shutil.which("cc") is None, reason="cmake/cc missing")

NODE_TESTS = """
const test = require('node:test');
const assert = require('node:assert/strict');

test('adds', () => { assert.equal(1 + 1, 2); });
test('fails', () => { assert.equal(1 + 1, 3); });
test.skip('later', () => {});
test.todo('some day');
test.describe('Orders', () => {
  test.it('creates an order', () => {});
  test.describe('transitions', () => {
    test.it('closes <it> & "keeps" it', () => { throw new Error('boom'); });
  });
});
"""


def spec(*items):
    """A stand-in for verifier.spec.Spec with just the function list."""
    return SimpleNamespace(functions=[
        SimpleNamespace(id=i, name=f"function {i}", description="", tests=t) for i, t in items])


def context(tmp_path: Path, repo: Path, spec_obj=None, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "J1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence, args=JUnitArgs.model_validate(args),
                        spec=spec_obj if spec_obj is not None else spec(), timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def python_command(script: str) -> list[str]:
    return ["{python}", "-c", textwrap.dedent(script)]


def test_registered_under_entry_point():
    assert get_probe("junit") is JUnitProbe
    assert set(JUnitProbe.metrics) == {"pass_rate", "passed", "failed", "errors", "skipped", "total",
                                       "function_coverage"}


# ---------------------------------------------------------------------------------------------
# node's built-in runner


@needs_node
def test_node_runner_counts_outcomes_and_names_tests_by_describe_block(tmp_path):
    repo = write_tree(tmp_path / "repo", {"test/orders.test.js": NODE_TESTS})
    functions = spec(("F-01", ["test::Orders::*"]), ("F-02", ["test::adds"]), ("F-03", ["*::fails"]),
                     ("F-04", []))
    ctx = context(tmp_path, repo, functions,
                  command=["node", "--test", "--test-reporter=junit",
                           "--test-reporter-destination={junit_dir}/node.xml", "test/"])
    outcome = JUnitProbe().run(ctx)
    got = values(outcome)
    # passed: adds, creates an order; failed: fails, closes…; skipped: later, some day (todo)
    assert (got["passed"], got["failed"], got["errors"], got["skipped"], got["total"]) == (2, 2, 0, 2, 6)
    assert got["pass_rate"] == 50.0
    failing = {f.rule: f.message for f in outcome.findings}
    assert set(failing) == {"test::fails", 'test::Orders::transitions::closes <it> & &quot;keeps&quot; it'}
    assert "boom" in failing['test::Orders::transitions::closes <it> & &quot;keeps&quot; it']
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert rows["F-01"]["tests"] == ["test::Orders::creates an order",
                                     'test::Orders::transitions::closes <it> & &quot;keeps&quot; it']
    assert not rows["F-01"]["covered"] and rows["F-02"]["covered"] and not rows["F-03"]["covered"]
    assert got["function_coverage"] == 25.0  # F-02 only
    tests = {f.id: [(t.nodeid, t.outcome) for t in f.tests] for f in outcome.functions}
    assert tests["F-02"] == [("test::adds", "passed")] and tests["F-04"] == []
    assert outcome.details["reports"] == [{"file": "{junit_dir}/node.xml", "origin": "junit_dir",
                                           "dialect": "node", "tests": 6}]
    assert outcome.details["returncode"] == 1
    assert "evidence/J1/junit/node.xml" in outcome.evidence
    assert (ctx.run_dir / "evidence/J1/junit/node.xml").is_file()
    assert outcome.commands[0][0] == "node"
    assert any("exited with status 1" in n for n in outcome.notes)


@needs_node
def test_a_passing_node_suite_is_all_green(tmp_path):
    repo = write_tree(tmp_path / "repo", {"test/a.test.js": """
        const test = require('node:test');
        test('one', () => {});
        test('two', () => {});
        """})
    outcome = JUnitProbe().run(context(tmp_path, repo, command="node --test --test-reporter=junit "
                                       "--test-reporter-destination={junit_dir}/out.xml test/"))
    assert values(outcome)["pass_rate"] == 100.0
    assert outcome.findings == ()
    assert values(outcome)["function_coverage"] is None  # no spec function list


# ---------------------------------------------------------------------------------------------
# CTest (cmake is installed here): a real C project built at test time


CMAKE_PROJECT = {
    "CMakeLists.txt": """
        cmake_minimum_required(VERSION 3.16)
        project(adder C)
        enable_testing()
        add_executable(adder adder.c)
        add_test(NAME adds COMMAND adder 1)
        add_test(NAME fails COMMAND adder 0)
        add_test(NAME skipped COMMAND adder 77)
        set_tests_properties(skipped PROPERTIES SKIP_RETURN_CODE 77)
        add_test(NAME disabled COMMAND adder 1)
        set_tests_properties(disabled PROPERTIES DISABLED TRUE)
        """,
    "adder.c": """
        #include <stdio.h>
        #include <stdlib.h>
        int main(int argc, char **argv) {
            int v = atoi(argv[1]);
            printf("value %d\\n", v);
            if (v == 77) return 77;
            return v ? 0 : 1;
        }
        """,
}


@pytest.mark.slow
@needs_cmake
def test_ctest_junit_with_its_exit_status_8(tmp_path):
    repo = write_tree(tmp_path / "repo", CMAKE_PROJECT)
    command = ("cmake -S . -B build >/dev/null && cmake --build build >/dev/null && "
               "ctest --test-dir build --output-junit {junit_dir}/ctest.xml")
    with pytest.raises(ProbeError, match=r"exited with status 8 \(ok_exit_codes: \[0, 1\]\)") as info:
        JUnitProbe().run(context(tmp_path, repo, command=command, shell=True))
    assert "evidence/J1/junit/ctest.xml" in info.value.evidence  # what it wrote is kept
    outcome = JUnitProbe().run(context(tmp_path, repo, command=command, shell=True, ok_exit_codes=[0, 8]))
    got = values(outcome)
    assert (got["passed"], got["failed"], got["skipped"], got["total"]) == (1, 1, 2, 4)
    assert [f.rule for f in outcome.findings] == ["fails::fails"]
    assert outcome.details["reports"][0]["dialect"] == "ctest"


# ---------------------------------------------------------------------------------------------
# pytest's JUnit XML (both families): node ids come out as pytest's own


PYTEST_PROJECT = {
    "tests/__init__.py": "",
    "tests/test_items.py": """
        import pytest

        def test_create():
            pass

        def test_broken():
            assert 1 == 2

        @pytest.mark.skip(reason="later")
        def test_later():
            pass

        class TestStock:
            def test_goods_in(self):
                pass

        @pytest.fixture
        def db():
            raise RuntimeError("no database")

        def test_needs_db(db):
            pass
        """,
}


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
def test_pytest_junit_gives_pytest_node_ids(tmp_path, family):
    repo = write_tree(tmp_path / "repo", PYTEST_PROJECT)
    functions = spec(("F-01", ["tests/test_items.py::test_create"]), ("F-02", ["tests/test_items.py::TestStock::*"]),
                     ("F-03", ["tests/test_items.py"]))
    outcome = JUnitProbe().run(context(
        tmp_path, repo, functions,
        command=["{python}", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--junitxml={junit_dir}/pytest.xml",
                 "-o", f"junit_family={family}", "tests"]))
    got = values(outcome)
    assert (got["passed"], got["failed"], got["errors"], got["skipped"]) == (2, 1, 1, 1)
    findings = {f.rule: f for f in outcome.findings}
    assert set(findings) == {"tests/test_items.py::test_broken", "tests/test_items.py::test_needs_db"}
    broken = findings["tests/test_items.py::test_broken"]
    assert broken.file == "tests/test_items.py"
    if family == "xunit1":  # pytest writes 0-based lines
        assert "def test_broken" in (repo / broken.file).read_text().splitlines()[broken.line - 1]
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert rows["F-01"]["covered"] and rows["F-02"]["tests"] == ["tests/test_items.py::TestStock::test_goods_in"]
    assert len(rows["F-03"]["tests"]) == 5 and not rows["F-03"]["covered"]
    assert outcome.details["reports"][0]["dialect"] == "pytest"


# ---------------------------------------------------------------------------------------------
# Maven Surefire, written into the repository by a stand-in for `mvn test`


SUREFIRE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report-3.0.xsd"
    version="3.0" name="com.example.orders.OrderServiceTest" time="0.412" tests="6" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="17.0.10"/>
  </properties>
  <testcase name="createsOrder" classname="com.example.orders.OrderServiceTest" time="0.011"/>
  <testcase name="rejectsBlankTitle" classname="com.example.orders.OrderServiceTest" time="0.004">
    <failure message="expected: &lt;400&gt; but was: &lt;201&gt;" type="org.opentest4j.AssertionFailedError"><![CDATA[org.opentest4j.AssertionFailedError: expected: <400> but was: <201>
	at com.example.orders.OrderServiceTest.rejectsBlankTitle(OrderServiceTest.java:41)]]></failure>
  </testcase>
  <testcase name="loadsFixtures" classname="com.example.orders.OrderServiceTest" time="0.002">
    <error message="Connection refused" type="java.net.ConnectException">java.net.ConnectException: Connection refused</error>
  </testcase>
  <testcase name="exportsCsv" classname="com.example.orders.OrderServiceTest" time="0">
    <skipped message="not implemented yet"/>
  </testcase>
  <testcase name="retriesOnce" classname="com.example.orders.OrderServiceTest" time="0.020">
    <flakyFailure message="timeout" type="java.util.concurrent.TimeoutException"><stackTrace>...</stackTrace></flakyFailure>
  </testcase>
  <testcase name="closesOrder" classname="com.example.orders.OrderServiceTest$Transitions" time="0.003"/>
</testsuite>
"""


def _surefire_repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", {
        "pom.xml": "<project/>",
        "src/test/java/com/example/orders/OrderServiceTest.java": "class OrderServiceTest {}\n",
        "src/main/java/com/example/orders/OrderService.java": "class OrderService {}\n",
        "fake_mvn.py": f"""
            import os, sys
            os.makedirs("target/surefire-reports", exist_ok=True)
            with open("target/surefire-reports/TEST-com.example.orders.OrderServiceTest.xml", "w") as f:
                f.write({SUREFIRE!r})
            print("[ERROR] Tests run: 6, Failures: 1, Errors: 1, Skipped: 1")
            sys.exit(1)
            """,
    })


def test_surefire_reports_in_the_tree_map_classes_to_their_source_files(tmp_path):
    repo = _surefire_repo(tmp_path)
    functions = spec(("F-01", ["src/test/java/**/OrderServiceTest.java::creates*"]),
                     ("F-02", ["src/test/java/com/example/orders/OrderServiceTest.java"]),
                     ("F-03", ["*::Transitions::*"]))
    outcome = JUnitProbe().run(context(tmp_path, repo, functions, command=["{python}", "fake_mvn.py"],
                                       reports=["target/surefire-reports/TEST-*.xml"]))
    got = values(outcome)
    # passed: createsOrder, retriesOnce (flaky, passed on rerun), closesOrder
    assert (got["passed"], got["failed"], got["errors"], got["skipped"], got["total"]) == (3, 1, 1, 1, 6)
    test_file = "src/test/java/com/example/orders/OrderServiceTest.java"
    assert {f.rule for f in outcome.findings} == {f"{test_file}::rejectsBlankTitle", f"{test_file}::loadsFixtures"}
    assert all(f.file == test_file for f in outcome.findings)
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert rows["F-01"]["tests"] == [f"{test_file}::createsOrder"] and rows["F-01"]["covered"]
    assert len(rows["F-02"]["tests"]) == 6
    assert rows["F-03"]["tests"] == [f"{test_file}::Transitions::closesOrder"]
    report = outcome.details["reports"][0]
    assert report["file"] == "target/surefire-reports/TEST-com.example.orders.OrderServiceTest.xml"
    assert report["origin"] == "repository"
    copied = [e for e in outcome.evidence if "junit-reports" in e]
    assert len(copied) == 1 and (tmp_path / "run" / copied[0]).read_text() == SUREFIRE


def test_reports_older_than_the_run_are_left_out(tmp_path):
    repo = _surefire_repo(tmp_path)
    old = write_tree(repo, {"build/test-results/test/TEST-Old.xml": SUREFIRE}) / "build/test-results/test/TEST-Old.xml"
    past = time.time() - 3600
    os.utime(old, (past, past))
    patterns = ["target/surefire-reports/*.xml", "build/test-results/**/*.xml"]
    outcome = JUnitProbe().run(context(tmp_path, repo, command=["{python}", "fake_mvn.py"], reports=patterns))
    assert values(outcome)["total"] == 6  # the old report is not counted again
    assert outcome.details["stale_reports"] == 1
    assert any("build/test-results/test/TEST-Old.xml" in n for n in outcome.notes)
    with pytest.raises(ProbeError, match="wrote no JUnit XML.*1 older file"):
        JUnitProbe().run(context(tmp_path, repo, command=["{python}", "-c", "pass"],
                                 reports=["build/test-results/**/*.xml"]))


def test_a_report_linked_out_of_the_tree_is_not_read(tmp_path):
    outside = tmp_path / "outside.xml"
    outside.write_text(SUREFIRE)
    repo = write_tree(tmp_path / "repo", {"README": "x"})
    (repo / "target").mkdir()
    (repo / "target" / "TEST-x.xml").symlink_to(outside)
    with pytest.raises(ProbeError, match="wrote no JUnit XML"):
        JUnitProbe().run(context(tmp_path, repo, command=["{python}", "-c", "import os; os.utime('target/TEST-x.xml')"],
                                 reports=["target/*.xml"]))


# ---------------------------------------------------------------------------------------------
# Other writers' dialects, read from reports written here in their formats


GRADLE = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="com.example.ItemTest" tests="2" skipped="0" failures="1" errors="0" timestamp="2026-04-01T10:00:00" hostname="ci" time="0.05">
  <properties/>
  <testcase name="creates item()" classname="com.example.ItemTest" time="0.01"/>
  <testcase name="rejects duplicate()" classname="com.example.ItemTest" time="0.02">
    <failure message="org.opentest4j.AssertionFailedError: expected: &lt;409&gt;" type="org.opentest4j.AssertionFailedError">stack</failure>
  </testcase>
  <system-out><![CDATA[]]></system-out>
  <system-err><![CDATA[]]></system-err>
</testsuite>
"""
JEST_JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="jest tests" tests="3" failures="1" errors="0" time="1.2">
  <testsuite name="Orders API" errors="0" failures="1" skipped="1" timestamp="2026-04-01T10:00:00" time="0.9" tests="3">
    <testcase classname="Orders API creates an order" name="Orders API creates an order" time="0.1" file="{root}/web/__tests__/orders.test.ts"/>
    <testcase classname="Orders API rejects bad input" name="Orders API rejects bad input" time="0.1" file="web/__tests__/orders.test.ts">
      <failure>Error: expect(received).toBe(expected)</failure>
    </testcase>
    <testcase classname="Orders API exports" name="Orders API exports" time="0">
      <skipped/>
    </testcase>
  </testsuite>
</testsuites>
"""
GO_JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="1" errors="1" skipped="1">
  <testsuite name="example.com/shop/orders" tests="3" failures="1" errors="0" id="0" hostname="ci" skipped="1" time="0.010" timestamp="2026-04-01T10:00:00Z">
    <properties><property name="go.version" value="go1.22.1 linux/amd64"></property></properties>
    <testcase name="TestCreate" classname="example.com/shop/orders" time="0.000"></testcase>
    <testcase name="TestCreate/invalid_title" classname="example.com/shop/orders" time="0.000">
      <failure message="Failed" type="">orders_test.go:31: got 201, want 400</failure>
    </testcase>
    <testcase name="TestExport" classname="example.com/shop/orders" time="0.000"><skipped message="later"></skipped></testcase>
  </testsuite>
  <testsuite name="example.com/shop/billing" tests="1" failures="0" errors="1" id="1" hostname="ci" time="0.000" timestamp="2026-04-01T10:00:00Z">
    <testcase name="[build failed]" classname="example.com/shop/billing" time="0.000">
      <error message="Build error" type="">billing.go:12: undefined: Invoice</error>
    </testcase>
  </testsuite>
</testsuites>
"""


def _read(tmp_path: Path, text: str, repo: Path | None = None):
    repo = repo or tmp_path
    path = tmp_path / "report.xml"
    path.write_text(text, encoding="utf-8")
    return read_report(path, repo=repo, cwd=repo, classes=ClassFiles(repo), what="JUnit XML report.xml")


def test_gradle_names_with_parentheses(tmp_path):
    repo = write_tree(tmp_path / "repo", {"src/test/kotlin/com/example/ItemTest.kt": "class ItemTest\n"})
    report = _read(tmp_path, GRADLE, repo)
    assert [(c.nodeid, c.outcome) for c in report.cases] == [
        ("src/test/kotlin/com/example/ItemTest.kt::creates item()", "passed"),
        ("src/test/kotlin/com/example/ItemTest.kt::rejects duplicate()", "failed")]


def test_jest_junit_files_absolute_or_relative(tmp_path):
    repo = write_tree(tmp_path / "repo", {"web/__tests__/orders.test.ts": "test()\n"})
    report = _read(tmp_path, JEST_JUNIT.replace("{root}", str(repo)), repo)
    assert [(c.nodeid, c.file, c.outcome) for c in report.cases] == [
        ("web/__tests__/orders.test.ts::Orders API creates an order", "web/__tests__/orders.test.ts", "passed"),
        ("web/__tests__/orders.test.ts::Orders API rejects bad input", "web/__tests__/orders.test.ts", "failed"),
        ("Orders API exports::Orders API exports", None, "skipped")]


def test_go_junit_report_packages_subtests_and_build_failures(tmp_path):
    report = _read(tmp_path, GO_JUNIT)
    assert [(c.nodeid, c.outcome) for c in report.cases] == [
        ("example.com/shop/orders::TestCreate", "passed"),
        ("example.com/shop/orders::TestCreate/invalid_title", "failed"),
        ("example.com/shop/orders::TestExport", "skipped"),
        ("example.com/shop/billing::[build failed]", "error")]
    assert report.cases[1].message == "Failed"


def test_a_file_outside_the_repository_is_not_a_location(tmp_path):
    report = _read(tmp_path, JEST_JUNIT.replace("{root}", "/elsewhere"), tmp_path / "repo")
    assert report.cases[0].file is None
    assert report.cases[0].nodeid == "Orders API creates an order::Orders API creates an order"


def test_an_ambiguous_class_name_is_never_guessed(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a/com/example/ItemTest.java": "", "b/com/example/ItemTest.java": ""})
    report = _read(tmp_path, GRADLE, repo)
    assert report.cases[0].nodeid == "com.example.ItemTest::creates item()"
    assert report.cases[0].file is None


def test_duplicates_count_once_with_their_worst_outcome(tmp_path):
    twice = """<testsuite name="s">
      <testcase classname="pkg.T" name="a"/>
      <testcase classname="pkg.T" name="a"><failure message="teardown"/></testcase>
      <testcase classname="pkg.T" name="b"/>
    </testsuite>"""
    cases, duplicates = merge(_read(tmp_path, twice).cases)
    assert [(c.nodeid, c.outcome) for c in cases] == [("pkg.T::a", "failed"), ("pkg.T::b", "passed")]
    assert duplicates == 1


# ---------------------------------------------------------------------------------------------
# Bad arguments, failing runners, hostile XML


@pytest.mark.parametrize("args, message", [
    ({"command": []}, "command is empty"),
    ({"command": "'unclosed", "reports": ["x.xml"]}, "cannot be split"),
    ({"command": ["make", "test"]}, r"say where the JUnit XML goes"),
    ({"command": ["run", "{junit_dir}", "{port}"]}, r"unknown placeholder\(s\) \{port\}"),
    ({"command": ["make"], "reports": ["../elsewhere/*.xml"]}, "escapes"),
    ({"command": ["make"], "reports": ["/abs/*.xml"]}, "absolute"),
    ({"command": ["make"], "reports": ["x.xml"], "ok_exit_codes": []}, "at least 1"),
    ({"command": ["make"], "reports": ["x.xml"], "cwd": "../up"}, "escapes"),
    ({"command": ["make"], "reports": ["x.xml"], "timeout": 3}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        JUnitArgs.model_validate(args)


def test_junit_dir_in_env_is_enough(tmp_path):
    args = JUnitArgs.model_validate({"command": ["npx", "jest"], "env": {"JEST_JUNIT_OUTPUT_DIR": "{junit_dir}"}})
    assert args.reports == []


def test_a_runner_that_is_not_installed_is_named(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    with pytest.raises(ProbeError, match="test command 'no-such-runner' not found"):
        JUnitProbe().run(context(tmp_path, repo, command=["no-such-runner", "--junit={junit_dir}/x.xml"]))


def test_a_crashing_runner_is_an_error_with_its_tail(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    script = "import os, sys; sys.stderr.write('Segmentation fault in runner\\n'); sys.stderr.flush(); " \
             "os.kill(os.getpid(), 9)  # {junit_dir}"
    with pytest.raises(ProbeError, match="killed by signal 9") as info:
        JUnitProbe().run(context(tmp_path, repo, command=["{python}", "-c", script]))
    assert "Segmentation fault in runner" in info.value.tail
    crash = "import sys; print('Exception in thread main: OutOfMemoryError'); sys.exit(3)  # {junit_dir}"
    with pytest.raises(ProbeError, match=r"exited with status 3 \(ok_exit_codes: \[0, 1\]\)") as info:
        JUnitProbe().run(context(tmp_path, repo, command=["{python}", "-c", crash]))
    assert "OutOfMemoryError" in info.value.tail


def test_a_runner_that_writes_no_xml_is_an_error_with_its_tail(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    script = "import sys; print('[ERROR] COMPILATION ERROR: cannot find symbol'); sys.exit(1)  # {junit_dir}"
    with pytest.raises(ProbeError, match=r"exited with status 1 but wrote no JUnit XML \(looked in "
                                         r"\{junit_dir\} \(evidence/J1/junit\)\)") as info:
        JUnitProbe().run(context(tmp_path, repo, command=["{python}", "-c", script]))
    assert "COMPILATION ERROR" in info.value.tail


def test_a_hanging_runner_is_killed(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        JUnitProbe().run(context(tmp_path, repo, timeout=2,
                                 command=["{python}", "-c", "import time; time.sleep(60)  # {junit_dir}"]))
    assert time.monotonic() - start < 15


def _writes(content: str) -> list[str]:
    return ["{python}", "-c", f"import sys; open(sys.argv[1], 'w').write({content!r})", "{junit_dir}/r.xml"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite name="x"><testcase classname="a" name="&lol3;"/></testsuite>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<testsuite name="x"><testcase classname="a" name="&secret;"/></testsuite>"""


@pytest.mark.parametrize("content, message", [
    (BILLION_LAUGHS, "refused: it declares entities"),
    (EXTERNAL, "refused: it declares entities"),
    ('<testsuite name="x"><testcase name="a">', "not well-formed XML"),
    ("<html><body/></html>", "has root <html>"),
])
def test_hostile_or_broken_xml_is_an_error_naming_the_file(tmp_path, content, message):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    with pytest.raises(ProbeError, match=message) as info:
        JUnitProbe().run(context(tmp_path, repo, command=_writes(content)))
    assert "{junit_dir}/r.xml" in info.value.reason
    assert "evidence/J1/junit/r.xml" in info.value.evidence


def test_oversized_xml_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.xml"
    path.write_text("<testsuite>" + "<testcase name='a'/>" * 1000 + "</testsuite>")
    with pytest.raises(ProbeError, match="over the limit of 1000 bytes"):
        read_xml(path, what="JUnit XML big.xml", limit=1000)


def test_fixture_node_delivery_suite_through_the_probe(tmp_path):
    if NODE is None:
        pytest.skip("node is not installed")
    from support.fixture_expectations import NODE_ROOT, NODE_TEST_COUNT, NODE_TESTS_PER_FUNCTION
    from verifier.spec import load_spec

    spec_obj = load_spec(NODE_ROOT / "acceptance.yaml", repo=NODE_ROOT)
    run_dir = tmp_path / "fixture-run"
    (run_dir / "FUN-1").mkdir(parents=True)
    outcome = JUnitProbe().run(ProbeContext(repo=NODE_ROOT, run_dir=run_dir, evidence_dir=run_dir / "FUN-1",
                                            args=spec_obj.indicator("FUN-1").args, spec=spec_obj,
                                            timeout_s=120))
    got = values(outcome)
    assert (got["passed"], got["total"], got["pass_rate"], got["function_coverage"]) == (
        NODE_TEST_COUNT, NODE_TEST_COUNT, 100.0, 100.0)
    assert {r["id"]: len(r["tests"]) for r in outcome.details["functions"]} == NODE_TESTS_PER_FUNCTION
    assert all(not t.startswith("/") for r in outcome.details["functions"] for t in r["tests"])


def test_the_probe_never_runs_the_command_through_a_shell_unless_declared(tmp_path):
    repo = write_tree(tmp_path / "repo", {"a.txt": "x"})
    marker = tmp_path / "pwned"
    with pytest.raises(ProbeError):
        JUnitProbe().run(context(tmp_path, repo, command=f"{sys.executable} -c pass ; touch {marker} {{junit_dir}}"))
    assert not marker.exists()


def test_report_globs_are_outputs_so_check_does_not_warn_before_the_run(tmp_path):
    from verifier.spec import load_spec

    repo = write_tree(tmp_path / "repo", {"pom.xml": "<project/>", "acceptance.yaml": """
        project: {name: p, version: "1.0.0", applicant: a, owners: [a]}
        indicators:
          - id: FUN-1
            name: pass rate
            characteristic: functionality
            probe: junit
            with: {command: "mvn -B test", reports: ["target/surefire-reports/TEST-*.xml"]}
            metric: pass_rate
            target: ">= 95%"
        """})
    spec_obj = load_spec(repo / "acceptance.yaml", repo=repo)
    assert spec_obj.warnings == ()
    assert spec_obj.indicator("FUN-1").args.reports == ["target/surefire-reports/TEST-*.xml"]
