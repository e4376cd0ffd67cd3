"""The bandit probe runs real bandit on insecure code written here."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from verifier.builtin_probes.bandit_probe import BanditArgs, BanditProbe, summarize
from verifier.probe import ProbeContext, ProbeError, get_probe

INSECURE = '''
import hashlib
import pickle
import subprocess

import yaml


def run(user_cmd):
    subprocess.call(user_cmd, shell=True)


def load(blob):
    return pickle.loads(blob)


def parse(text):
    return yaml.load(text)


def digest(data):
    return hashlib.md5(data).hexdigest()


def check(x):
    assert x > 0
    return eval(x)


def quiet(cmd):
    subprocess.call(cmd, shell=True)  # nosec


def lookup(item_id):
    password = "hunter2"
    query = "SELECT * FROM items WHERE id = %s" % item_id
    return password, query
'''
# What bandit 1.9 reports on INSECURE (severity, confidence):
#   high:   B602 shell=True (line 10), B324 md5 (line 22)                      -- high confidence
#   medium: B301 pickle, B506 yaml.load, B307 eval                            -- high confidence
#           B608 SQL string                                                   -- LOW confidence
#   low:    B403 import pickle, B404 import subprocess, B101 assert           -- high confidence
#           B105 hard-coded password                                          -- medium confidence
#   the '# nosec' line (B602) is suppressed unless ignore_nosec.


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "app/__init__.py": "",
        "app/insecure.py": INSECURE,
        "app/clean.py": "def add(a, b):\n    return a + b\n",
        "app/broken.py": "def broken(:\n",
        "vendor/lib/bad.py": "import subprocess\nsubprocess.call(input(), shell=True)\n",
        ".venv/lib/site.py": "eval('1')\n",
        ".venv/pyvenv.cfg": "home = /usr/bin\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    outside = tmp_path / "outside.py"
    outside.write_text("eval(input())\n")
    (root / "app" / "linked.py").symlink_to(outside)
    return root


def context(tmp_path: Path, repo: Path, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "S1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=BanditArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("bandit") is BanditProbe
    assert BanditProbe.metrics["issues_per_kloc"].unit == "per_kloc"
    assert "bandit" in BanditProbe().tool_versions()


def test_counts_by_severity_above_the_confidence_floor(tmp_path, repo):
    ctx = context(tmp_path, repo, exclude=["vendor/**"])
    outcome = BanditProbe().run(ctx)
    got = values(outcome)
    assert (got["high"], got["medium"], got["low"], got["total"]) == (2, 3, 4, 9)
    raw = json.loads((ctx.run_dir / "evidence/S1/bandit.json").read_text())
    loc = raw["metrics"]["_totals"]["loc"]
    assert got["loc"] == loc > 0
    assert got["issues_per_kloc"] == pytest.approx(9 / (loc / 1000), rel=1e-3)
    scanned = {r["filename"].lstrip("./") for r in raw["results"]}
    assert scanned == {"app/insecure.py"}  # not vendor/, not .venv/, not the symlink
    assert outcome.details["files_scanned"] == 4  # __init__, insecure, clean, broken
    assert any("1 issue(s) below the medium confidence floor" in n for n in outcome.notes)
    assert any("1 line(s) marked '# nosec'" in n for n in outcome.notes)


def test_findings_locate_themselves(tmp_path, repo):
    outcome = BanditProbe().run(context(tmp_path, repo, exclude=["vendor/**"]))
    shell = next(f for f in outcome.findings if f.rule == "B602")
    assert shell.file == "app/insecure.py"
    assert "shell=True" in (repo / shell.file).read_text().splitlines()[shell.line - 1]
    assert shell.severity == "high"
    assert shell.extra["confidence"] == "high"
    assert shell.extra["cwe"] == 78
    assert shell.extra["more_info"].startswith("https://")
    assert "subprocess.call" in shell.extra["code"]
    assert outcome.findings[0].severity == "high"  # worst first
    unparsed = [f for f in outcome.findings if f.rule == "bandit-error"]
    assert [f.file for f in unparsed] == ["app/broken.py"]
    assert any("could not scan app/broken.py" in n for n in outcome.notes)


def test_floors_skips_and_nosec(tmp_path, repo):
    low = values(BanditProbe().run(context(tmp_path, repo, exclude=["vendor/**"], confidence="low")))
    assert (low["medium"], low["total"]) == (4, 10)
    severe = values(BanditProbe().run(context(tmp_path, repo, exclude=["vendor/**"], severity="medium")))
    assert (severe["high"], severe["medium"], severe["low"], severe["total"]) == (2, 3, 4, 5)
    skipped = values(BanditProbe().run(context(tmp_path, repo, exclude=["vendor/**"],
                                               skip=["B101", "B403"])))
    assert skipped["low"] == 2
    nosec = values(BanditProbe().run(context(tmp_path, repo, exclude=["vendor/**"], ignore_nosec=True)))
    assert nosec["high"] == 3


def test_exclusion_is_honoured_and_paths_narrow_the_scan(tmp_path, repo):
    with_vendor = values(BanditProbe().run(context(tmp_path, repo)))
    assert with_vendor["high"] == 3  # vendor/lib/bad.py's shell=True now counts
    only_clean = BanditProbe().run(context(tmp_path, repo, paths=["app/clean.py"]))
    assert values(only_clean)["total"] == 0
    assert only_clean.findings == ()


def test_clean_code_is_zero_not_an_error(tmp_path, repo):
    outcome = BanditProbe().run(context(tmp_path, repo, paths=["app/clean.py", "app/__init__.py"]))
    assert values(outcome)["total"] == 0 and values(outcome)["issues_per_kloc"] == 0.0
    assert outcome.commands[0][:3] == (sys.executable, "-m", "bandit")


def test_no_python_files_is_an_error(tmp_path):
    (tmp_path / "repo" / "docs").mkdir(parents=True)
    (tmp_path / "repo" / "docs" / "a.md").write_text("# doc\n")
    with pytest.raises(ProbeError, match="no Python files"):
        BanditProbe().run(context(tmp_path, tmp_path / "repo"))


@pytest.mark.parametrize("args, message", [
    ({"confidence": "extreme"}, "confidence"),
    ({"skip": ["B1O1"]}, "not a bandit test id"),
    ({"paths": ["/etc"]}, "absolute"),
    ({"exclude": ["../x/**"]}, "escapes"),
    ({"level": "high"}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        BanditArgs.model_validate(args)


class _Substitute(BanditProbe):
    """bandit replaced by another real program, to exercise the failure paths."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command


def test_missing_tool_is_an_error(tmp_path, repo):
    with pytest.raises(ProbeError, match="could not be started"):
        _Substitute(("/nonexistent/bin/bandit",)).run(context(tmp_path, repo))


def test_hanging_tool_is_killed_and_reported_quickly(tmp_path, repo):
    probe = _Substitute((sys.executable, "-c", "import time; time.sleep(60)"))
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        probe.run(context(tmp_path, repo, timeout=2))
    assert time.monotonic() - start < 15


def test_crashing_tool_is_an_error_with_its_tail(tmp_path, repo):
    probe = _Substitute((sys.executable, "-c",
                         "import sys; sys.stderr.write('Traceback: bandit blew up\\n'); sys.exit(2)"))
    with pytest.raises(ProbeError) as info:
        probe.run(context(tmp_path, repo))
    assert "exited with status 2" in info.value.reason
    assert "bandit blew up" in info.value.tail


def test_garbage_output_is_an_error(tmp_path, repo):
    script = "import sys; out = sys.argv[sys.argv.index('--output') + 1]; open(out, 'w').write('<<garbage')"
    with pytest.raises(ProbeError, match="not JSON"):
        _Substitute((sys.executable, "-c", script)).run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match="wrote no output file"):
        _Substitute((sys.executable, "-c", "pass")).run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match="no 'results' list"):
        summarize({"errors": []}, confidence="medium", severity="low")


# ---------------------------------------------------------------------------------------------
# The fixtures, with their task books' arguments


def _fixture_run(tmp_path, root: Path, indicator: str):
    from verifier.spec import load_spec

    spec_obj = load_spec(root / "acceptance.yaml", repo=root)
    run_dir = tmp_path / "fixture-run"
    (run_dir / indicator).mkdir(parents=True)
    return BanditProbe().run(ProbeContext(repo=root, run_dir=run_dir, evidence_dir=run_dir / indicator,
                                          args=spec_obj.indicator(indicator).args, spec=spec_obj,
                                          timeout_s=120))


def test_sample_delivery_has_no_issue(tmp_path):
    from support.fixture_expectations import SAMPLE_BANDIT_ISSUES_INVENTORY_API, SAMPLE_ROOT

    outcome = _fixture_run(tmp_path, SAMPLE_ROOT, "SEC-1")
    got = values(outcome)
    assert got["high"] + got["medium"] + got["low"] == SAMPLE_BANDIT_ISSUES_INVENTORY_API
    assert got["total"] == 0 and got["issues_per_kloc"] == 0.0 and got["loc"] > 0


def test_weak_delivery_issues_match_the_known_list(tmp_path):
    from support.fixture_expectations import (
        WEAK_BANDIT_HIGH,
        WEAK_BANDIT_ISSUES,
        WEAK_BANDIT_LOW,
        WEAK_BANDIT_MEDIUM,
        WEAK_ROOT,
    )

    outcome = _fixture_run(tmp_path, WEAK_ROOT, "SEC-1")
    found = {(f.rule, f.severity.upper(), f.extra["confidence"].upper(), f.line)
             for f in outcome.findings if f.rule != "bandit-error"}
    assert found == WEAK_BANDIT_ISSUES
    assert {f.file for f in outcome.findings} == {"weak_api/admin.py"}
    got = values(outcome)
    assert (got["high"], got["medium"], got["low"]) == (WEAK_BANDIT_HIGH, WEAK_BANDIT_MEDIUM,
                                                        WEAK_BANDIT_LOW)
    assert got["total"] == WEAK_BANDIT_HIGH + WEAK_BANDIT_MEDIUM  # the task book's floor: medium


@pytest.mark.parametrize("path, pattern, expected", [
    ("vendor/lib/bad.py", "vendor/**", True),
    ("vendor/lib/bad.py", "vendor", True),            # a directory excludes what is under it
    ("app/vendor/x.py", "vendor/**", False),          # globs are anchored at the repository root
    ("app/vendor/x.py", "**/vendor/**", True),
    ("tests/test_a.py", "tests/*.py", True),
    ("tests/sub/test_a.py", "tests/*.py", False),     # * stays inside one directory
    ("tests/sub/test_a.py", "tests/**/*.py", True),
    ("tests/test_a.py", "tests/**/*.py", True),       # ** also matches no directory
    ("app/a1.py", "app/a[0-9].py", True),
    ("app/ab.py", "app/a[!b].py", False),
])
def test_repository_globs(path, pattern, expected):
    from verifier.probekit import glob_matches

    assert glob_matches(path, pattern) is expected
