"""The pytest probe runs real pytest on small projects written here and reads its JUnit XML."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

from verifier.builtin_probes.pytest_probe import PytestArgs, PytestProbe, parse_junit
from verifier.probe import ProbeContext, ProbeError, get_probe

TESTS = '''
import pytest

@pytest.mark.function("F-01")
def test_create():
    assert 1 + 1 == 2

@pytest.mark.function("F-01")
@pytest.mark.parametrize("n", [1, 2])
def test_create_many(n):
    assert n > 0

@pytest.mark.function("F-02")
def test_stock():
    assert 2 == 3, "stock went wrong"

def test_list_plain():
    pass

@pytest.mark.skip(reason="not yet")
@pytest.mark.function("F-04")
def test_later():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

@pytest.mark.function("F-02")
def test_stock_setup(broken):
    pass

@pytest.mark.function("F-99")
def test_unknown_function():
    pass
'''

CLASS_TESTS = '''
import pytest

pytestmark = pytest.mark.function("F-05")

class TestReport:
    def test_one(self):
        pass
'''


def spec(*items):
    """A stand-in for verifier.spec.Spec with just the function list."""
    return SimpleNamespace(functions=[
        SimpleNamespace(id=i, name=f"function {i}", description="", tests=t or []) for i, t in items])


SPEC = spec(("F-01", None), ("F-02", []), ("F-03", ["tests/test_items.py::test_list_*"]),
            ("F-04", []), ("F-05", []), ("F-06", ["tests/sub/**"]))


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def context(tmp_path: Path, repo: Path, spec_obj=SPEC, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "F1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=PytestArgs.model_validate(args), spec=spec_obj, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", {
        "pytest.ini": "[pytest]\naddopts = --strict-markers\n",
        "tests/test_items.py": TESTS,
        "tests/sub/test_report.py": CLASS_TESTS,
    })


def test_registered_under_entry_point():
    assert get_probe("pytest") is PytestProbe
    assert PytestProbe.metrics["pass_rate"].unit == "%"
    assert PytestProbe.metrics["function_coverage"].better == "higher"


def test_counts_pass_rate_and_function_coverage(tmp_path, project):
    ctx = context(tmp_path, project)
    outcome = PytestProbe().run(ctx)
    got = values(outcome)
    # passed: create, create_many x2, list_plain, unknown_function, TestReport.test_one
    assert got["passed"] == 6
    assert got["failed"] == 1
    assert got["errors"] == 1
    assert got["skipped"] == 1
    assert got["total"] == 9
    assert got["pass_rate"] == pytest.approx(100 * 6 / 8, abs=1e-3)
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert rows["F-01"]["covered"] and rows["F-01"]["passed"] == 3
    assert rows["F-01"]["tests"] == ["tests/test_items.py::test_create",
                                     "tests/test_items.py::test_create_many[1]",
                                     "tests/test_items.py::test_create_many[2]"]
    assert not rows["F-02"]["covered"] and rows["F-02"]["failed"] == 2  # a failure and an error
    assert rows["F-03"]["covered"] and rows["F-03"]["tests"] == ["tests/test_items.py::test_list_plain"]
    assert not rows["F-04"]["covered"] and rows["F-04"]["passed"] == 0  # only a skipped test
    assert rows["F-05"]["covered"]  # module-level pytestmark on a class's test
    assert rows["F-06"]["covered"]  # file glob
    assert got["function_coverage"] == pytest.approx(100 * 4 / 6, abs=1e-3)
    assert any("F-99" in n for n in outcome.notes)


def test_failures_are_findings_that_locate_themselves(tmp_path, project):
    outcome = PytestProbe().run(context(tmp_path, project))
    by_rule = {f.rule: f for f in outcome.findings}
    assert set(by_rule) == {"tests/test_items.py::test_stock", "tests/test_items.py::test_stock_setup"}
    stock = by_rule["tests/test_items.py::test_stock"]
    assert stock.file == "tests/test_items.py"
    lines = (project / "tests/test_items.py").read_text().splitlines()
    assert "test_stock" in lines[stock.line - 1] or "F-02" in lines[stock.line - 1]
    assert "stock went wrong" in stock.message
    assert by_rule["tests/test_items.py::test_stock_setup"].extra["outcome"] == "error"
    assert "fixture broke" in by_rule["tests/test_items.py::test_stock_setup"].message


def test_evidence_and_command_are_recorded(tmp_path, project):
    ctx = context(tmp_path, project)
    outcome = PytestProbe().run(ctx)
    assert "evidence/F1/junit.xml" in outcome.evidence
    assert "evidence/F1/pytest.stdout.txt" in outcome.evidence
    for rel in outcome.evidence:
        assert (ctx.run_dir / rel).is_file()
    junit = ET.parse(ctx.run_dir / "evidence/F1/junit.xml").getroot()
    names = {p.get("value") for p in junit.iter("property") if p.get("name") == "verifier.nodeid"}
    assert "tests/test_items.py::test_create" in names
    (argv,) = outcome.commands
    assert argv[:3] == (sys.executable, "-m", "pytest")
    assert any(a.startswith("--junitxml=") for a in argv)
    console = (ctx.run_dir / "evidence/F1/pytest.stdout.txt").read_text()
    assert "1 failed" in console
    # the probe wrote nothing into the delivered repository
    assert not (project / ".pytest_cache").exists()


def test_nodeids_relative_to_repo_when_rootdir_is_elsewhere(tmp_path):
    # No ini file at the top: pytest's rootdir becomes app/tests, but node ids stay repo-relative.
    repo = write(tmp_path / "repo", {
        "app/tests/test_x.py": "import pytest\n\n@pytest.mark.function('F-01')\ndef test_a():\n    pass\n",
    })
    outcome = PytestProbe().run(context(
        tmp_path, repo, spec(("F-01", []), ("F-02", ["app/tests/test_x.py::test_a"])),
        paths=["app/tests"]))
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert rows["F-01"]["tests"] == ["app/tests/test_x.py::test_a"]
    assert rows["F-02"]["covered"]
    assert values(outcome)["function_coverage"] == 100.0


def test_no_tests_is_a_measurement_with_a_note(tmp_path):
    repo = write(tmp_path / "repo", {"tests/test_nothing.py": "X = 1\n"})
    outcome = PytestProbe().run(context(tmp_path, repo))
    got = values(outcome)
    assert got["total"] == 0 and got["passed"] == 0
    assert got["pass_rate"] is None
    assert got["function_coverage"] == 0.0
    assert outcome.error is None
    assert "exit status 5" in outcome.notes[0]


def test_no_function_list_leaves_coverage_not_applicable(tmp_path, project):
    outcome = PytestProbe().run(context(tmp_path, project, spec_obj=SimpleNamespace(functions=[])))
    assert values(outcome)["function_coverage"] is None
    assert any("no function items" in n for n in outcome.notes)


def test_collection_error_counts_as_error_and_others_still_run(tmp_path):
    repo = write(tmp_path / "repo", {
        "tests/test_ok.py": "def test_ok():\n    pass\n",
        "tests/test_broken.py": "def test_x(:\n",
    })
    outcome = PytestProbe().run(context(tmp_path, repo))
    got = values(outcome)
    assert got["passed"] == 1 and got["errors"] == 1
    (finding,) = outcome.findings
    assert finding.file == "tests/test_broken.py"


def test_extra_args_and_env_reach_the_run(tmp_path):
    repo = write(tmp_path / "repo", {
        "tests/test_env.py": """
            import os, pytest

            def test_env():
                assert os.environ["SHOP_MODE"] == "7"

            @pytest.mark.slowish
            def test_deselected():
                assert False
        """,
        "pytest.ini": "[pytest]\nmarkers =\n    slowish: x\n",
    })
    outcome = PytestProbe().run(context(tmp_path, repo, env={"SHOP_MODE": 7},
                                        args=["-m", "not slowish"]))
    got = values(outcome)
    assert got["passed"] == 1 and got["failed"] == 0 and got["total"] == 1


def test_hanging_test_becomes_an_error_quickly(tmp_path):
    repo = write(tmp_path / "repo", {
        "tests/test_hang.py": "import time\n\ndef test_hang():\n    time.sleep(120)\n",
    })
    start = time.monotonic()
    with pytest.raises(ProbeError) as info:
        PytestProbe().run(context(tmp_path, repo, timeout=4))
    assert time.monotonic() - start < 20
    assert "did not finish within 4 s" in info.value.reason
    assert any(e.endswith("pytest.stdout.txt") for e in info.value.evidence)


def test_crashing_run_becomes_an_error(tmp_path):
    repo = write(tmp_path / "repo", {
        "tests/test_crash.py": "import os, signal\n\ndef test_crash():\n"
                               "    os.kill(os.getpid(), signal.SIGKILL)\n",
    })
    with pytest.raises(ProbeError) as info:
        PytestProbe().run(context(tmp_path, repo))
    assert "killed by signal 9" in info.value.reason


def test_interpreter_without_pytest_is_an_error_with_the_tail(tmp_path, project):
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    with pytest.raises(ProbeError) as info:
        PytestProbe().run(context(tmp_path, project, venv=str(venv)))
    assert "exited with status 1 without writing JUnit XML" in info.value.reason
    assert "No module named pytest" in info.value.tail


def test_plugin_works_where_verifier_is_not_installed(tmp_path, project):
    # A venv that sees pytest (our site-packages, added by a plain .pth line) but not verifier.
    venv = tmp_path / "product-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(site, "harness.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check = subprocess.run([str(python), "-c", "import pytest, verifier"], capture_output=True,
                           text=True, cwd=tmp_path, timeout=60)
    assert "No module named 'verifier'" in check.stderr
    outcome = PytestProbe().run(context(tmp_path, project, python=str(python)))
    assert values(outcome)["passed"] == 6
    assert {r["id"]: r["covered"] for r in outcome.details["functions"]}["F-01"]
    assert outcome.commands[0][0] == str(python)


@pytest.mark.parametrize("args, message", [
    ({"paths": ["../elsewhere"]}, "escapes the repository"),
    ({"python": "a", "venv": "b"}, "either 'python' or 'venv'"),
    ({"paths": ["tests"], "color": "no"}, "Extra inputs are not permitted"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        PytestArgs.model_validate(args)


def test_missing_test_path_or_interpreter_is_an_error(tmp_path, project):
    with pytest.raises(ProbeError, match="does not exist"):
        PytestProbe().run(context(tmp_path, project, paths=["no_such_tests"]))
    with pytest.raises(ProbeError, match="does not exist"):
        PytestProbe().run(context(tmp_path, project, python="bin/python9"))


def test_garbage_junit_is_an_error(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text("this is not xml <")
    with pytest.raises(ProbeError, match="cannot be read"):
        parse_junit(path)
    path.write_text("<html><body/></html>")
    with pytest.raises(ProbeError, match="not <testsuites>"):
        parse_junit(path)


# ---------------------------------------------------------------------------------------------
# The fixtures' own test suites, with their task books' function lists and arguments


def _fixture_run(tmp_path_factory, root: Path, indicator: str):
    from verifier.spec import load_spec

    spec_obj = load_spec(root / "acceptance.yaml", repo=root)
    run_dir = tmp_path_factory.mktemp("run")
    evidence = run_dir / indicator
    evidence.mkdir()
    ctx = ProbeContext(repo=root, run_dir=run_dir, evidence_dir=evidence,
                       args=spec_obj.indicator(indicator).args, spec=spec_obj, timeout_s=300)
    return PytestProbe().run(ctx)


@pytest.fixture(scope="module")
def sample_outcome(tmp_path_factory):
    from support.fixture_expectations import SAMPLE_ROOT

    return _fixture_run(tmp_path_factory, SAMPLE_ROOT, "FUN-1")


@pytest.fixture(scope="module")
def weak_outcome(tmp_path_factory):
    from support.fixture_expectations import WEAK_ROOT

    return _fixture_run(tmp_path_factory, WEAK_ROOT, "FUN-1")


def test_sample_delivery_passes_and_covers_every_function(sample_outcome):
    from support.fixture_expectations import SAMPLE_FUNCTIONS, SAMPLE_TEST_COUNT, SAMPLE_TESTS_PER_FUNCTION

    got = values(sample_outcome)
    assert got["total"] == got["passed"] == SAMPLE_TEST_COUNT
    assert got["pass_rate"] == 100.0 and got["function_coverage"] == 100.0
    assert sample_outcome.findings == ()
    rows = {r["id"]: r for r in sample_outcome.details["functions"]}
    assert {i: r["name"] for i, r in rows.items()} == SAMPLE_FUNCTIONS
    assert {i: r["passed"] for i, r in rows.items()} == SAMPLE_TESTS_PER_FUNCTION
    assert all(r["covered"] for r in rows.values())


def test_weak_delivery_failures_and_function_coverage(weak_outcome):
    from support.fixture_expectations import (
        WEAK_COVERED_FUNCTIONS,
        WEAK_FAILING_TESTS,
        WEAK_FUNCTION_COVERAGE,
        WEAK_PASSING_TESTS,
        WEAK_UNTESTED_FUNCTIONS,
    )

    got = values(weak_outcome)
    assert got["passed"] == len(WEAK_PASSING_TESTS) and got["failed"] == len(WEAK_FAILING_TESTS)
    assert got["pass_rate"] == pytest.approx(
        100 * len(WEAK_PASSING_TESTS) / (len(WEAK_PASSING_TESTS) + len(WEAK_FAILING_TESTS)), abs=1e-3)
    assert {f.rule for f in weak_outcome.findings} == WEAK_FAILING_TESTS
    assert all(f.file and f.line for f in weak_outcome.findings)
    rows = {r["id"]: r for r in weak_outcome.details["functions"]}
    assert {i for i, r in rows.items() if r["covered"]} == WEAK_COVERED_FUNCTIONS
    assert {i for i, r in rows.items() if not r["tests"]} == WEAK_UNTESTED_FUNCTIONS
    assert got["function_coverage"] == pytest.approx(100 * WEAK_FUNCTION_COVERAGE, abs=1e-3)


def test_function_outcomes_carry_each_tests_outcome(tmp_path, project):
    outcome = PytestProbe().run(context(tmp_path, project))
    tests = {f.id: {t.nodeid: t.outcome for t in f.tests} for f in outcome.functions}
    assert list(tests) == ["F-01", "F-02", "F-03", "F-04", "F-05", "F-06"]  # every item, in spec order
    assert tests["F-02"] == {"tests/test_items.py::test_stock": "failed",
                             "tests/test_items.py::test_stock_setup": "error"}
    rows = {r["id"]: r for r in outcome.details["functions"]}
    assert list(tests["F-01"]) == rows["F-01"]["tests"]  # the report's table lists the same tests
    assert all("outcomes" not in r for r in rows.values())  # typed in the outcome, not in details


def test_details_name_the_interpreter_and_pytest_version(tmp_path, project):
    outcome = PytestProbe().run(context(tmp_path, project))
    assert outcome.details["python"] == sys.executable
    assert outcome.details["pytest_version"] == pytest.__version__
