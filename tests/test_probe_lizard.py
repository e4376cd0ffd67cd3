"""The lizard probe runs real lizard on code in several languages written here, with complexities
counted by hand (cyclomatic complexity = 1 + each if, else-if, case, loop, && and ||)."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from verifier.builtin_probes.lizard_probe import LizardArgs, LizardProbe, summarize
from verifier.probe import ProbeContext, ProbeError, get_probe

GO_BRANCHES = "\n".join(f"\tif x == {n} {{\n\t\treturn {n}\n\t}}" for n in range(31))
LONG_PY = "def long_setup():\n" + "".join(f"    value_{n} = {n}\n" for n in range(59)) + "    return value_0\n"

FILES = {
    # C: add (1), grade: four ifs -> 5
    "src/core.c": """
        int add(int a, int b) { return a + b; }

        int grade(int s) {
            if (s > 90) { return 1; }
            else if (s > 80) { return 2; }
            else if (s > 70) { return 3; }
            else if (s > 60) { return 4; }
            return 5;
        }
        """,
    # Java: a switch of twelve cases -> 13
    "src/Orders.java": "class Orders {\n    int route(String m, String p) {\n        switch (m) {\n"
                       + "".join(f'            case "m{n}": return {n};\n' for n in range(12))
                       + "            default: return -1;\n        }\n    }\n}\n",
    # JavaScript: seven parameters, no branch -> 1
    "web/app.js": "function build(a, b, c, d, e, f, g) {\n  return [a, b, c, d, e, f, g];\n}\n"
                  "module.exports = { build };\n",
    # TypeScript: if, for, ternary -> 4
    "web/util.ts": """
        export function parse(x: string): number {
          if (!x) { return 0; }
          for (let i = 0; i < x.length; i++) { x = x.trim(); }
          return x.length > 3 ? 1 : 2;
        }
        """,
    # Go: 31 ifs -> 32
    "svc/main.go": "package main\n\nfunc pick(x int) int {\n" + GO_BRANCHES + "\n\treturn -1\n}\n",
    # Python: 61 lines of code, no branch -> 1 (Go's pick is long too: 96 lines of code)
    "tool/long.py": LONG_PY,
    # never measured: a minified bundle, node_modules, a file of no language lizard reads
    "web/vendor.min.js": "function v(a){if(a){return 1}else if(a>1){return 2}return 3}\n",
    "node_modules/lib/index.js": "function z(a){if(a&&a||a){return 1}return 2}\n",
    "README.md": "# product\n",
}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n") if text.startswith("\n") else text, encoding="utf-8")
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(tmp_path / "repo", FILES)


def context(tmp_path: Path, repo: Path, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "M1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=LizardArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("lizard") is LizardProbe
    assert "lizard" in LizardProbe().tool_versions()
    assert {"avg_complexity", "max_complexity", "share_complex", "function_count"} <= set(LizardProbe.metrics)


def test_complexity_length_and_parameters_across_languages(tmp_path, repo):
    ctx = context(tmp_path, repo)
    outcome = LizardProbe().run(ctx)
    got = values(outcome)
    complexities = {"add": 1, "grade": 5, "route": 13, "build": 1, "parse": 4, "pick": 32, "long_setup": 1}
    assert got["function_count"] == len(complexities)
    assert got["max_complexity"] == 32
    assert got["avg_complexity"] == pytest.approx(sum(complexities.values()) / 7, abs=1e-3)
    assert got["share_complex"] == pytest.approx(100 * 2 / 7, abs=1e-3)      # route, pick
    assert got["share_many_parameters"] == pytest.approx(100 / 7, abs=1e-3)  # build
    assert got["max_parameters"] == 7
    # lines of code: pick is 31 three-line ifs (96), long_setup 61
    assert got["max_length"] == 96 and got["share_long"] == pytest.approx(100 * 2 / 7, abs=1e-3)
    assert got["share_over_threshold"] == pytest.approx(100 * 4 / 7, abs=1e-3)
    worst = outcome.details["worst_functions"]
    assert [(w["name"], w["ccn"]) for w in worst[:3]] == [("pick", 32), ("Orders::route", 13), ("grade", 5)]
    assert {w["file"] for w in worst} == {"src/core.c", "src/Orders.java", "web/app.js", "web/util.ts",
                                          "svc/main.go", "tool/long.py"}
    assert outcome.details["by_language"] == {"cpp": 2, "go": 1, "java": 1, "javascript": 1, "python": 1,
                                              "typescript": 1}
    assert outcome.details["ccn_histogram"] == {"1-5": 5, "6-10": 0, "11-20": 1, "21-50": 1, ">50": 0}
    assert outcome.details["files_scanned"] == 6 and outcome.details["minified_skipped"] == 1
    assert any("web/vendor.min.js" in n for n in outcome.notes)
    raw = json.loads((ctx.run_dir / "evidence/M1/lizard.json").read_text())
    assert not any("node_modules" in f["file"] for f in raw["files"])


def test_functions_over_a_threshold_are_findings_worst_first(tmp_path, repo):
    outcome = LizardProbe().run(context(tmp_path, repo))
    found = [(f.rule, f.file, f.line, f.severity, f.extra["name"]) for f in outcome.findings]
    assert found == [
        ("lizard-ccn", "svc/main.go", 3, "high", "pick"),            # 32 > 3 x 10
        ("lizard-ccn", "src/Orders.java", 2, "low", "Orders::route"),  # 13 <= 2 x 10
        ("lizard-parameters", "web/app.js", 1, "low", "build"),      # 7 > 5
        ("lizard-length", "tool/long.py", 1, "low", "long_setup"),   # 61 > 50
    ]
    assert "cyclomatic complexity 32 (> 10)" in outcome.findings[0].message
    route = outcome.findings[1]
    assert "int route(" in (repo / route.file).read_text().splitlines()[route.line - 1]


def test_thresholds_languages_and_exclusions(tmp_path, repo):
    strict = values(LizardProbe().run(context(tmp_path, repo, ccn=4, length=100, parameters=10)))
    assert strict["share_complex"] == pytest.approx(100 * 3 / 7, abs=1e-3)  # grade, route, pick
    assert strict["share_long"] == 0 and strict["share_many_parameters"] == 0
    only_java = LizardProbe().run(context(tmp_path, repo, languages=["java"]))
    assert values(only_java)["function_count"] == 1 and values(only_java)["max_complexity"] == 13
    no_go = values(LizardProbe().run(context(tmp_path, repo, exclude=["svc/**"])))
    assert no_go["max_complexity"] == 13
    minified = LizardProbe().run(context(tmp_path, repo, include_minified=True))
    assert values(minified)["function_count"] == 8
    capped = LizardProbe().run(context(tmp_path, repo, max_findings=1))
    assert len(capped.findings) == 1 and any("3 more function(s)" in n for n in capped.notes)


def test_nothing_to_measure_is_an_error(tmp_path):
    repo = write(tmp_path / "repo", {"docs/a.md": "# doc\n", "web/x.min.js": "function v(a){return a}\n"})
    with pytest.raises(ProbeError, match="no source file lizard reads.*1 minified"):
        LizardProbe().run(context(tmp_path, repo))


def test_a_file_without_functions_is_not_applicable(tmp_path):
    repo = write(tmp_path / "repo", {"cfg.py": "X = 1\n"})
    outcome = LizardProbe().run(context(tmp_path, repo))
    assert values(outcome)["avg_complexity"] is None and values(outcome)["function_count"] == 0
    assert any("no functions" in n for n in outcome.notes)


@pytest.mark.parametrize("args, message", [
    ({"languages": ["cobol"]}, "unknown language 'cobol'"),
    ({"ccn": 0}, "greater than or equal to 1"),
    ({"paths": ["/etc"]}, "absolute"),
    ({"exclude": ["../x/**"]}, "escapes"),
    ({"threshold": 3}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        LizardArgs.model_validate(args)


def test_language_aliases():
    assert LizardArgs.model_validate({"languages": ["JS", "c", "ts"]}).languages == ["javascript", "cpp",
                                                                                    "typescript"]


class _Substitute(LizardProbe):
    """lizard replaced by another real program, to exercise the failure paths."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command


def test_lizard_not_installed_names_the_package(tmp_path, repo):
    probe = _Substitute((sys.executable, "-I", "-c", "import lizard_is_not_here"))
    with pytest.raises(ProbeError, match=r"lizard is not installed .*PyPI package 'lizard'.*pip install lizard"):
        probe.run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match=r"could not be started.*is the PyPI package 'lizard' installed"):
        _Substitute(("/nonexistent/bin/lizard",)).run(context(tmp_path, repo))


def test_crashing_hanging_and_garbled_tool(tmp_path, repo):
    crash = _Substitute((sys.executable, "-c", "import sys; sys.stderr.write('RecursionError in lizard\\n'); "
                                               "sys.exit(1)"))
    with pytest.raises(ProbeError, match="exited with status 1") as info:
        crash.run(context(tmp_path, repo))
    assert "RecursionError in lizard" in info.value.tail
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        _Substitute((sys.executable, "-c", "import time; time.sleep(60)")).run(context(tmp_path, repo, timeout=2))
    assert time.monotonic() - start < 15
    garbage = _Substitute((sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write('<<no json')"))
    with pytest.raises(ProbeError, match="not JSON"):
        garbage.run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match="no 'files' list"):
        summarize({"errors": []}, root=repo)


def test_fixture_node_deliveries(tmp_path):
    from support.fixture_expectations import (
        NODE_LIZARD_WORST,
        NODE_ROOT,
        NODE_WEAK_LIZARD_WORST,
        NODE_WEAK_ROOT,
    )
    from verifier.spec import load_spec

    for root, worst, met in ((NODE_ROOT, NODE_LIZARD_WORST, True), (NODE_WEAK_ROOT, NODE_WEAK_LIZARD_WORST, False)):
        spec_obj = load_spec(root / "acceptance.yaml", repo=root)
        run_dir = tmp_path / root.name
        (run_dir / "MAINT-1").mkdir(parents=True)
        outcome = LizardProbe().run(ProbeContext(repo=root, run_dir=run_dir, evidence_dir=run_dir / "MAINT-1",
                                                 args=spec_obj.indicator("MAINT-1").args, spec=spec_obj,
                                                 timeout_s=120))
        top = outcome.details["worst_functions"][0]
        assert (top["file"], top["name"], top["ccn"]) == worst
        assert (values(outcome)["max_complexity"] <= 10) is met


def test_csharp_kotlin_and_cpp_methods(tmp_path):
    repo = write(tmp_path / "repo", {
        # C#: if, else-if, && -> 4
        "Billing/Invoice.cs": "class Invoice {\n  int Grade(int a, int b) {\n    if (a > 1 && b > 1) { return 1; }\n"
                              "    else if (a > 0) { return 2; }\n    return 3;\n  }\n}\n",
        # Kotlin: when with three branches and an else -> 4
        "app/Route.kt": "fun route(m: String): Int {\n  return when (m) {\n    \"a\" -> 1\n    \"b\" -> 2\n"
                        "    \"c\" -> 3\n    else -> 0\n  }\n}\n",
        # C++: a for loop with an || -> 3
        "lib/scan.cpp": "int scan(int n) {\n  int s = 0;\n  for (int i = 0; i < n || s < 3; i++) { s++; }\n"
                        "  return s;\n}\n",
    })
    outcome = LizardProbe().run(context(tmp_path, repo))
    ccn = {w["file"]: w["ccn"] for w in outcome.details["worst_functions"]}
    assert ccn == {"Billing/Invoice.cs": 4, "app/Route.kt": 4, "lib/scan.cpp": 3}
    assert outcome.details["by_language"] == {"cpp": 1, "csharp": 1, "kotlin": 1}
