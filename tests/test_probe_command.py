"""The command probe runs a real declared command and takes a number from its output."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from verifier.builtin_probes.command_probe import (
    CommandArgs,
    CommandProbe,
    extract,
    parse_json_path,
    select_json,
)
from verifier.probe import ProbeContext, ProbeError, get_probe

MEASURE = '''
import json, os, sys
print("warming up")
print("startup took 1,234.5 ms")
sys.stderr.write("rss=42.5MB\\n")
print(json.dumps({"stats": {"p95": 0.412, "runs": [3, 5, 8]}, "label": "n/a", "ok": True}))
sys.exit(int(os.environ.get("EXIT", "0")))
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    (root / "tools" / "measure.py").write_text(MEASURE)
    return root


def context(tmp_path: Path, repo: Path, timeout: float = 60, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "X1"
    evidence.mkdir(parents=True, exist_ok=True)
    args.setdefault("command", ["{python}", "tools/measure.py"])
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=CommandArgs.model_validate(args), spec=None, timeout_s=timeout)


def test_registered_with_a_generic_value_metric():
    assert get_probe("command") is CommandProbe
    assert list(CommandProbe.metrics) == ["value"]
    args = CommandArgs.model_validate({"command": ["x"], "regex": "(\\d+)", "unit": "毫秒"})
    assert args.unit == "ms"  # normalised to the canonical symbol
    assert CommandProbe.metrics_for(args)["value"].unit == "ms"


def test_regex_takes_the_first_group(tmp_path, repo):
    ctx = context(tmp_path, repo, regex=r"startup took ([\d,.]+) ms", unit="ms", label="startup")
    outcome = CommandProbe().run(ctx)
    (measurement,) = outcome.measurements
    assert (measurement.metric, measurement.value, measurement.unit) == ("value", 1234.5, "ms")
    assert outcome.commands == ((sys.executable, "tools/measure.py"),)
    assert "evidence/X1/command.stdout.txt" in outcome.evidence
    assert "startup took" in (ctx.run_dir / "evidence/X1/command.stdout.txt").read_text()
    assert "line 2" in outcome.notes[0]


def test_json_path_scale_and_stderr(tmp_path, repo):
    p95 = CommandProbe().run(context(tmp_path, repo, json_path="$.stats.p95", unit="ms", scale=1000))
    assert p95.measurements[0].value == pytest.approx(412.0)
    assert "JSON on line 3" in p95.notes[0]
    third = CommandProbe().run(context(tmp_path, repo, json_path="stats.runs[-1]", unit="count"))
    assert third.measurements[0].value == 8
    rss = CommandProbe().run(context(tmp_path, repo, regex=r"rss=([\d.]+)MB", stream="stderr",
                                     unit="MB"))
    assert rss.measurements[0].value == 42.5


def test_string_command_is_split_not_shelled(tmp_path, repo):
    marker = tmp_path / "pwned"
    outcome = CommandProbe().run(context(
        tmp_path, repo, command=f"python -c 'import sys; print(len(sys.argv[1:]))' '; touch {marker}'",
        regex=r"^(\d+)$", unit="count"))
    assert outcome.measurements[0].value == 1
    assert not marker.exists()
    shelled = CommandProbe().run(context(tmp_path, repo, shell=True, command="echo 7 | cat",
                                         regex=r"(\d+)", unit="count"))
    assert shelled.measurements[0].value == 7
    assert shelled.commands[0][:2] == ("/bin/sh", "-c")


def test_unexpected_exit_status_is_an_error(tmp_path, repo):
    with pytest.raises(ProbeError) as info:
        CommandProbe().run(context(tmp_path, repo, env={"EXIT": 4}, regex=r"took ([\d.]+)", unit="ms"))
    assert "exited with status 4" in info.value.reason
    assert info.value.evidence
    tolerated = CommandProbe().run(context(tmp_path, repo, env={"EXIT": 4}, ok_exit_codes=[0, 4],
                                           regex=r"took ([\d.,]+)", unit="ms"))
    assert tolerated.measurements[0].value == 1234.5


def test_no_number_is_an_error_with_the_tail(tmp_path, repo):
    with pytest.raises(ProbeError, match="matched nothing") as info:
        CommandProbe().run(context(tmp_path, repo, regex=r"throughput (\d+)", unit="rps"))
    assert "p95" in info.value.tail or "rss" in info.value.tail
    with pytest.raises(ProbeError, match="nothing at"):
        CommandProbe().run(context(tmp_path, repo, json_path="stats.p99", unit="ms"))
    with pytest.raises(ProbeError, match="not a number"):
        CommandProbe().run(context(tmp_path, repo, json_path="label", unit="count"))
    with pytest.raises(ProbeError, match="boolean"):
        CommandProbe().run(context(tmp_path, repo, json_path="ok", unit="count"))


def test_missing_command_hang_and_crash_are_errors(tmp_path, repo):
    with pytest.raises(ProbeError, match="not found"):
        CommandProbe().run(context(tmp_path, repo, command=["no-such-binary-xyz"], regex="(1)",
                                   unit="count"))
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        CommandProbe().run(context(tmp_path, repo, timeout=2, regex="(1)", unit="count",
                                   command=["{python}", "-c", "import time; time.sleep(60)"]))
    assert time.monotonic() - start < 15
    with pytest.raises(ProbeError, match="killed by signal 11"):
        CommandProbe().run(context(tmp_path, repo, regex="(1)", unit="count", command=[
            "{python}", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]))


def test_garbage_output_for_json_path_is_an_error():
    with pytest.raises(ProbeError, match="not JSON"):
        extract("<html>oops</html>\n{broken", regex=None, json_path="a")


def test_json_path_parser():
    assert parse_json_path("$.a.b[0]['c d'][\"e\"]") == ["a", "b", 0, "c d", "e"]
    assert select_json({"a": [{"b": 2}]}, "a[0].b") == 2
    with pytest.raises(ValueError):
        parse_json_path("a[x")
    with pytest.raises(ProbeError, match=r"nothing at \$\.a\[3\]"):
        select_json({"a": [1]}, "a[3]")


@pytest.mark.parametrize("args, message", [
    ({"command": ["x"], "unit": "ms"}, "exactly one of 'regex' or 'json_path'"),
    ({"command": ["x"], "unit": "ms", "regex": "(1)", "json_path": "a"}, "exactly one"),
    ({"command": ["x"], "unit": "ms", "regex": "\\d+"}, "needs a group"),
    ({"command": ["x"], "unit": "ms", "regex": "(unclosed"}, "does not compile"),
    ({"command": ["x"], "unit": "furlongs", "regex": "(1)"}, "unknown unit"),
    ({"command": [], "unit": "ms", "regex": "(1)"}, "command is empty"),
    ({"command": ["x", "{port}"], "unit": "ms", "regex": "(1)"}, "unknown placeholder"),
    ({"command": "x 'unbalanced", "unit": "ms", "regex": "(1)"}, "quotation"),
    ({"command": ["x"], "unit": "ms", "json_path": "a[b"}, "malformed"),
    ({"command": ["x"], "unit": "ms", "regex": "(1)", "cwd": "/tmp"}, "absolute"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        CommandArgs.model_validate(args)
