"""The semgrep probe runs real semgrep, offline, on code written here with the starter ruleset shipped
with verifier and with rules a task book names; the starter rules pass their own annotated tests."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from support import write_tree
from verifier.builtin_probes.semgrep_probe import BUILTIN_DIR, SemgrepArgs, SemgrepProbe, rule_id, summarize
from verifier.probe import ProbeContext, ProbeError, get_probe
from verifier.proc import run_tool, scrubbed_env

STARTER = BUILTIN_DIR / "injection"
KINDS = ("command", "sql", "path", "eval")
LANGUAGES = {"python": (".py",), "js": (".js", ".ts"), "java": (".java",)}

DELIVERY = {
    "server/routes.js": """
        const cp = require('child_process');

        function diagnose(req, res) {
          cp.exec('ping -c 1 ' + req.query.host, (err, out) => res.end(out));
        }

        function quiet(req, res) {
          cp.exec('ping -c 1 ' + req.query.host, (err, out) => res.end(out)); // nosemgrep
        }

        module.exports = { diagnose, quiet };
        """,
    "server/Report.java": """
        import java.sql.Connection;
        import java.sql.ResultSet;
        import java.sql.SQLException;

        class Report {
            ResultSet byName(Connection conn, String name) throws SQLException {
                return conn.createStatement().executeQuery("SELECT * FROM t WHERE name = '" + name + "'");
            }
        }
        """,
    "tools/calc.py": """
        from flask import request


        def calculate():
            return eval(request.args.get("expr"))


        def download():
            return open("/srv/reports/" + request.args["name"]).read()
        """,
    "tests/test_calc.py": "def evaluate(expr):\n    return eval(expr)\n",
    ".semgrepignore": "server/\ntools/\n",
    ".gitignore": "server/\n",
    "docs/notes.md": "# not code\n",
}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "repo", DELIVERY)


def context(tmp_path: Path, repo: Path, timeout: float = 300, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "S1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=SemgrepArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("semgrep") is SemgrepProbe
    assert "semgrep" in SemgrepProbe().tool_versions()


# ---------------------------------------------------------------------------------------------
# The starter ruleset


def test_the_starter_ruleset_has_a_rule_and_an_annotated_test_per_language_and_kind():
    rules = sorted(p.stem for p in STARTER.glob("*.yaml"))
    assert rules == sorted(f"{lang}-{kind}-injection" if kind in ("command", "sql", "eval")
                           else f"{lang}-path-traversal" for lang in LANGUAGES for kind in KINDS)
    for rule in rules:
        lang = rule.split("-", 1)[0]
        tests = [STARTER / f"{rule}{suffix}" for suffix in LANGUAGES[lang]]
        for test in tests:
            text = test.read_text(encoding="utf-8")
            assert f"ruleid: {rule}" in text and f"ok: {rule}" in text, test.name


@pytest.mark.slow
def test_the_starter_rules_pass_their_own_tests(tmp_path):
    """``semgrep scan --test``: every line annotated ``ruleid:`` is found, no line annotated ``ok:`` is."""
    out = tmp_path / "out"
    run = run_tool([*SemgrepProbe.command, "scan", "--test", "--json", "--metrics=off", "--disable-version-check",
                    str(STARTER)], cwd=tmp_path, timeout_s=600, out_dir=out, name="semgrep-test",
                   env=scrubbed_env({"HOME": str(tmp_path)}))
    assert run.returncode == 0, run.tail()
    report = json.loads(run.stdout_path.read_text("utf-8"))
    assert report["config_with_errors"] == [] and report["config_missing_tests"] == []
    checks = {rid: check for config in report["results"].values() for rid, check in config["checks"].items()}
    assert len(checks) == 12
    for rid, check in checks.items():
        assert check["passed"], (rid, check)
        matches = check["matches"]
        lang = rid.split("-", 1)[0]
        assert {Path(f).suffix for f in matches} == set(LANGUAGES[lang]), rid
        for file, lines in matches.items():
            assert lines["expected_lines"] and lines["expected_lines"] == lines["reported_lines"], (rid, file)


# ---------------------------------------------------------------------------------------------
# The probe on a delivery


@pytest.mark.slow
def test_findings_by_severity_with_ignore_files_and_nosemgrep(tmp_path, repo):
    ctx = context(tmp_path, repo, rules=["builtin:injection"], exclude=["tests/**"])
    outcome = SemgrepProbe().run(ctx)
    got = values(outcome)
    found = sorted((f.rule, f.file, f.line, f.severity) for f in outcome.findings)
    assert found == [
        ("java-sql-injection", "server/Report.java", 7, "high"),
        ("js-command-injection", "server/routes.js", 4, "high"),
        ("python-eval-injection", "tools/calc.py", 5, "high"),
        ("python-path-traversal", "tools/calc.py", 9, "medium"),
    ]  # .semgrepignore and .gitignore hide nothing; the nosemgrep line and tests/ are not counted
    assert (got["high"], got["medium"], got["low"], got["total"]) == (3, 1, 0, 4)
    assert got["rules"] == 12 and got["files"] == 3
    assert outcome.details["nosem"] == 1 and any("nosemgrep" in n for n in outcome.notes)
    assert outcome.details["by_rule"]["js-command-injection"] == 1
    cwe = next(f for f in outcome.findings if f.rule == "java-sql-injection").extra["cwe"]
    assert cwe.startswith("CWE-89")
    evidence = ctx.run_dir / "evidence" / "S1"
    sarif = json.loads((evidence / "semgrep.sarif").read_text("utf-8"))
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 5  # the silenced one too
    assert {"evidence/S1/semgrep.sarif", "evidence/S1/semgrep.json", "evidence/S1/semgrep-rules.json"} \
        <= set(outcome.evidence)
    assert "--metrics=off" in outcome.commands[0] and "--disable-version-check" in outcome.commands[0]
    assert not any(a.startswith(("p/", "r/", "http")) or a == "auto" for a in outcome.commands[0])

    counted = SemgrepProbe().run(context(tmp_path, repo, rules=["builtin:injection"], ignore_nosem=True,
                                         severity="high"))
    got = values(counted)
    assert (got["high"], got["medium"], got["total"]) == (5, 1, 5)  # the nosemgrep line and the test's eval


@pytest.mark.slow
def test_the_applicants_and_the_agencys_own_rules(tmp_path, repo):
    write_tree(repo, {"security/semgrep/no-console.yaml": """
        rules:
          - id: no-console-log
            languages: [javascript]
            severity: INFO
            message: console.log left in the code
            pattern: console.log(...)
        """, "server/log.js": "console.log('started');\n"})
    agency = write_tree(tmp_path / "agency", {"rules.yml": """
        rules:
          - id: agency.no-exec
            languages: [javascript]
            severity: WARNING
            message: exec is not allowed here
            pattern: $CP.exec(...)
        """}) / "rules.yml"
    outcome = SemgrepProbe().run(context(tmp_path, repo, rules=["security/semgrep", str(agency)],
                                         paths=["server"]))
    found = sorted((f.rule, f.file, f.severity) for f in outcome.findings)
    # the second exec is on a line marked nosemgrep
    assert found == [("agency.no-exec", "server/routes.js", "medium"), ("no-console-log", "server/log.js", "low")]
    assert values(outcome)["rules"] == 2
    sources = [r["source"] for r in outcome.details["rulesets"]]
    assert sources == ["security/semgrep", str(agency)]


@pytest.mark.slow
def test_a_rule_semgrep_cannot_parse_is_an_error_with_its_message(tmp_path, repo):
    write_tree(repo, {"rules/bad.yaml": """
        rules:
          - id: broken
            languages: [python]
            severity: ERROR
            message: m
            pattern: "eval("
        """})
    with pytest.raises(ProbeError, match=r"semgrep exited with status \d+: .*broken") as info:
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/bad.yaml"]))
    assert "evidence/S1/semgrep.json" in info.value.evidence


def test_rules_the_probe_can_read_before_running_semgrep(tmp_path, repo):
    write_tree(repo, {"rules/empty.yaml": "rules: []\n", "rules/notyaml.yaml": "rules: [\n", "rules/d/x.txt": "x"})
    with pytest.raises(ProbeError, match="hold no rule"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/empty.yaml"]))
    with pytest.raises(ProbeError, match="is not YAML"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/notyaml.yaml"]))
    with pytest.raises(ProbeError, match="hold no rule"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/d"]))
    with pytest.raises(ProbeError, match="does not exist"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/missing.yaml"]))
    with pytest.raises(ProbeError, match="do not exist"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["/nonexistent/rules.yaml"]))
    (repo / "rules" / "out").symlink_to(tmp_path)
    with pytest.raises(ProbeError, match="leads out of the repository"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["rules/out"]))


def test_no_file_in_the_rules_languages_is_an_error(tmp_path):
    repo = write_tree(tmp_path / "repo", {"main.go": "package main\n"})
    with pytest.raises(ProbeError, match="no file in a language the rules name"):
        SemgrepProbe().run(context(tmp_path, repo, rules=["builtin:injection"]))


@pytest.mark.parametrize("args, message", [
    ({}, "Field required"),
    ({"rules": []}, "at least 1"),
    ({"rules": ["https://semgrep.dev/c/p/default"]}, "is a URL"),
    ({"rules": ["builtin:nothing"]}, r"unknown built-in ruleset 'builtin:nothing' \(known: builtin:injection\)"),
    ({"rules": ["../outside/rules.yaml"]}, "escapes"),
    ({"rules": ["builtin:injection"], "severity": "critical"}, "severity"),
    ({"rules": ["builtin:injection"], "paths": ["/etc"]}, "absolute"),
    ({"rules": ["builtin:injection"], "config": "auto"}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        SemgrepArgs.model_validate(args)


class _Substitute(SemgrepProbe):
    """semgrep replaced by another real program, to exercise the failure paths."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command


def test_semgrep_not_installed_names_the_package(tmp_path, repo):
    probe = _Substitute((sys.executable, "-c", "from semgrep_missing.console_scripts.entrypoint import main"))
    with pytest.raises(ProbeError, match=r"semgrep is not installed .*PyPI package 'semgrep'.*pip install semgrep"):
        probe.run(context(tmp_path, repo, rules=["builtin:injection"]))
    with pytest.raises(ProbeError, match="is the PyPI package 'semgrep' installed"):
        _Substitute(("/nonexistent/semgrep",)).run(context(tmp_path, repo, rules=["builtin:injection"]))


def test_crashing_hanging_and_garbled_semgrep(tmp_path, repo):
    crash = _Substitute((sys.executable, "-c", "import sys; sys.stderr.write('Fatal error: out of memory\\n'); "
                                               "sys.exit(2)"))
    with pytest.raises(ProbeError, match="exited with status 2") as info:
        crash.run(context(tmp_path, repo, rules=["builtin:injection"]))
    assert "out of memory" in info.value.tail
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        _Substitute((sys.executable, "-c", "import time; time.sleep(60)")).run(
            context(tmp_path, repo, timeout=2, rules=["builtin:injection"]))
    assert time.monotonic() - start < 15
    script = ("import sys; out = [a for a in sys.argv if a.startswith('--json-output=')][0].split('=', 1)[1]; "
              "open(out, 'w').write('{not json')")
    with pytest.raises(ProbeError, match="not JSON"):
        _Substitute((sys.executable, "-c", script)).run(context(tmp_path, repo, rules=["builtin:injection"]))
    with pytest.raises(ProbeError, match="no 'results' list"):
        summarize({"errors": []}, {}, root=repo, rule_ids=[])


def test_rule_ids_lose_the_folder_prefix_semgrep_adds():
    ids = sorted(["py-eval", "agency.no-exec", "no-exec"], key=len, reverse=True)
    assert rule_id("tmp.rules.py-eval", ids) == "py-eval"
    assert rule_id("srv.agency.agency.no-exec", ids) == "agency.no-exec"
    assert rule_id("x.no-exec", ids) == "no-exec"
    assert rule_id("unknown.rule", ids) == "unknown.rule"


def test_duplicate_matches_count_once():
    result = {"check_id": "a.rule", "path": "/r/x.js", "start": {"line": 3, "col": 1}, "end": {"line": 3, "col": 9},
              "extra": {"severity": "ERROR", "message": "m"}}
    outcome = summarize({"results": [result, dict(result)], "paths": {"scanned": ["/r/x.js"]}}, {},
                        root=Path("/r"), rule_ids=["rule"])
    assert values(outcome)["total"] == 1 and outcome.findings[0].file == "x.js"


def test_the_probe_runs_offline_with_a_private_home(tmp_path, repo, monkeypatch):
    """The recorded command line names only local rules; HOME is never the user's (checked without
    running semgrep: a stand-in prints what it was given)."""
    script = ("import json, os, sys; out = [a for a in sys.argv if a.startswith('--json-output=')][0].split('=', 1)[1]; "
              "json.dump({'results': [], 'paths': {'scanned': []}, 'env': dict(os.environ)}, open(out, 'w'))")
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    ctx = context(tmp_path, repo, rules=["builtin:injection"])
    outcome = _Substitute((sys.executable, "-c", script)).run(ctx)
    env = json.loads((ctx.run_dir / "evidence/S1/semgrep.json").read_text())["env"]
    assert env["HOME"] != os.environ["HOME"] and env["SEMGREP_SEND_METRICS"] == "off"
    assert env["SEMGREP_ENABLE_VERSION_CHECK"] == "0"
    config = outcome.commands[0][outcome.commands[0].index("--config") + 1]
    assert Path(config) == STARTER


def test_a_result_the_sarif_marks_suppressed_is_not_counted_unless_ignore_nosem():
    """semgrep 1.121 keeps nosemgrep results in its JSON when it writes SARIF too; the SARIF marks them."""
    result = {"check_id": "x.rule", "path": "/r/a.js", "start": {"line": 3, "col": 3}, "end": {"line": 3, "col": 9},
              "extra": {"severity": "ERROR", "message": "m"}}
    sarif = {"runs": [{"tool": {"driver": {"rules": [{"id": "x.rule"}]}}, "results": [
        {"ruleId": "x.rule", "suppressions": [{"kind": "inSource"}],
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "/r/a.js"},
                                             "region": {"startLine": 3, "startColumn": 3}}}]}]}]}
    data = {"results": [result], "paths": {"scanned": ["/r/a.js"]}}
    honoured = summarize(data, sarif, root=Path("/r"), rule_ids=["rule"])
    assert values(honoured)["total"] == 0 and honoured.details["nosem"] == 1
    counted = summarize(data, sarif, root=Path("/r"), rule_ids=["rule"], ignore_nosem=True)
    assert values(counted)["total"] == 1 and any("are counted" in n for n in counted.notes)
