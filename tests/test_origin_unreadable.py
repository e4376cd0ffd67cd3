"""A file the scan cannot read never vanishes from the denominator (issue 10 item 4): it is
``unknown`` and weighs the most non-blank lines its size can hold, ⌈bytes ÷ 2⌉, so the ratio is
never higher than reading it could have made it."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT, unprivileged
from verifier.origin import counting

OWNER = "Hunan Example Software Co., Ltd."


def test_most_lines_is_a_true_bound_of_nonblank_lines():
    rng = random.Random(4)
    for _ in range(2000):
        data = bytes(rng.choice(b"ab \n\r\t") for _ in range(rng.randint(0, 40)))
        assert counting.physical_lines(data) <= counting.most_lines(len(data)), data
    assert counting.most_lines(len(b"a\nb\nc")) == counting.physical_lines(b"a\nb\nc") == 3
    assert counting.most_lines(0) == 0


def test_unreadable_code_weighs_and_fails_the_ratio_through_the_cli(tmp_path):
    """The reproduction: a tree whose foreign code cannot be read came out PASS with a warning
    (the unreadable file counted 0 lines). Now the file is unknown with ⌈size ÷ 2⌉ lines and the
    ratio fails, also for a script without a suffix; an unreadable document stays out of the ratio
    but says why."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(
        f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(100)))
    hidden = "# Copyright 2015 Someone Else\n" + "".join(f"w{i} = {i}\n" for i in range(300))
    (repo / "app" / "vendored.py").write_text(hidden)
    (repo / "bin").mkdir()
    (repo / "bin" / "tool").write_text("#!/bin/sh\n" + "echo x\n" * 40)
    (repo / "NOTES.md").write_text("# notes\n" * 20)
    locked = [repo / "app" / "vendored.py", repo / "bin" / "tool", repo / "NOTES.md"]
    out = tmp_path / "origin.json"
    argv = unprivileged([sys.executable, "-m", "verifier", "origin", str(repo), "--owner",
                             OWNER, "--json", str(out), "-q", "--no-cache", "-j", "1"])
    for path in locked:
        os.chmod(path, 0)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    finally:
        for path in locked:
            os.chmod(path, 0o644)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    files = {f["path"]: f for f in data["files"]}
    size = len(hidden.encode())
    vendored = files["app/vendored.py"]
    assert (vendored["origin"], vendored["rule"], vendored["lines"]) == (
        "unknown", "undetected", (size + 1) // 2)
    assert vendored["problem"].startswith("unreadable: Permission denied; weighs ⌈")
    tool = files["bin/tool"]                      # could be a script: it weighs too
    assert (tool["origin"], tool["kind"], tool["lines"]) == (
        "unknown", "source", (len("#!/bin/sh\n" + "echo x\n" * 40) + 1) // 2)
    notes = files["NOTES.md"]                      # a document: 0 lines, and it says why
    assert (notes["origin"], notes["lines"]) == ("excluded", 0)
    assert "unreadable: Permission denied" in notes["reason"]
    unknown = vendored["lines"] + tool["lines"]
    assert data["totals"]["unknown"]["lines"] == unknown
    assert data["ratio"] == pytest.approx(100 / (100 + unknown), abs=1e-6)
    assert any("are unknown" in w and "app/vendored.py" in w for w in data["warnings"])
    assert "⌈bytes ÷ 2⌉ lines, the most non-blank lines its size can hold" in data["counting"]


def test_unreadable_file_small_enough_still_lets_the_ratio_pass(tmp_path):
    """The weight is a bound, not a verdict: a ratio that holds whatever the unreadable bytes
    hold still passes (and the warning names the file)."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text("".join(f"v{i} = {i}\n" for i in range(1000)))
    (repo / "app" / "tiny.py").write_text("x = 1\n" * 10)           # 60 bytes: at most 30 lines
    out = tmp_path / "origin.json"
    argv = unprivileged([sys.executable, "-m", "verifier", "origin", str(repo), "--owner",
                             OWNER, "--json", str(out), "-q", "--no-cache", "-j", "1"])
    os.chmod(repo / "app" / "tiny.py", 0)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    finally:
        os.chmod(repo / "app" / "tiny.py", 0o644)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    assert data["ratio"] == pytest.approx(1000 / 1030, abs=1e-6)
    assert any("app/tiny.py" in w for w in data["warnings"])


def test_a_file_gone_or_replaced_since_the_walk_is_reported_without_weight(tmp_path):
    """The weight is taken from the size of the file that could not be opened (lstat needs no
    read permission); a file gone since the walk, or replaced by a directory, is no longer part of
    the tree: listed with its problem, no weight."""
    from verifier.origin.inventory import _File, _read

    gone = _File("gone.py", os.fspath(tmp_path / "gone.py"))
    assert _read(gone, 1 << 20) is None
    assert gone.problem.startswith("unreadable: No such file or directory")
    assert (gone.kind, gone.weight, gone.size) == ("source", 0, 0)
    Path(tmp_path / "dir.py").mkdir()  # a directory where a file was: open succeeds, read fails
    changed = _File("dir.py", os.fspath(tmp_path / "dir.py"))
    assert _read(changed, 1 << 20) is None
    assert changed.problem.startswith("unreadable: no longer a regular file")


# ------------------------------------------------------------------ paths of unknown size


def _origin_cli(repo: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    argv = unprivileged([sys.executable, "-m", "verifier", "origin", str(repo), "--owner", OWNER,
                             "--json", str(out), "-q", "--no-cache", "-j", "1", *options])
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)


def _own(lines: int) -> str:
    return f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(lines))


class _Locked:
    """Modes set for the test and restored after it (so tmp_path can be removed)."""

    def __init__(self, modes: dict[Path, int]) -> None:
        self.modes = modes

    def __enter__(self) -> None:
        for path, mode in self.modes.items():
            os.chmod(path, mode)

    def __exit__(self, *exc: object) -> None:
        for path in self.modes:
            os.chmod(path, 0o755)


def test_a_directory_that_cannot_be_read_leaves_the_ratio_unproven(tmp_path):
    """The reproduction: an unreadable directory was listed and warned about, but the ratio was
    computed as if it were absent and passed (exit 0). It has no size to weigh, so the verdict is
    open (exit 3) and the JSON names it; the same for a file in a directory that can be listed but
    not searched (its size cannot be read: it weighed ⌈0 ÷ 2⌉ = 0 lines)."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(_own(100))
    foreign = "# Copyright 2015 Someone Else\n" + "".join(f"w{i} = {i}\n" for i in range(3000))
    for folder in ("hidden", "listed"):
        (repo / folder).mkdir()
        (repo / folder / "vendored.py").write_text(foreign)
    out = tmp_path / "origin.json"
    with _Locked({repo / "hidden": 0, repo / "listed": 0o444}):
        proc = _origin_cli(repo, out)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "UNPROVEN" in proc.stdout
    data = json.loads(out.read_text("utf-8"))
    assert data["ratio"] == 1.0 and data["passed"] is None  # the readable part alone: 100%
    assert [(u["path"], u["origin"]) for u in data["unweighed"]] == [
        ("hidden", "unknown"), ("listed/vendored.py", "unknown")]
    assert data["unweighed"][0]["reason"].startswith("unreadable directory: Permission denied")
    assert data["unweighed"][1]["reason"] == ("unreadable: Permission denied; its size cannot be read "
                                              "either: no weight bounds the lines it may hold")
    assert {"path": "hidden", "reason": data["unweighed"][0]["reason"], "target": None,
            "inside": None} in data["skipped"]
    warning = next(w for w in data["warnings"] if "no size to weigh" in w)
    assert warning.endswith("cannot be proven (make them readable and scan again): hidden, listed/vendored.py")


def test_an_unreadable_directory_below_the_line_fails_whatever_it_holds(tmp_path):
    """What an unreadable directory holds counts as not self-developed, like an unreadable file's
    lines: it can only lower a ratio already below the line, so the gate fails and names it."""
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(_own(10))
    (repo / "app" / "borrowed.py").write_text("# Copyright 2015 Someone Else\n"
                                              + "".join(f"w{i} = {i}\n" for i in range(20)))
    (repo / "hidden").mkdir()
    (repo / "hidden" / "x.py").write_text(_own(500))
    out = tmp_path / "origin.json"
    with _Locked({repo / "hidden": 0}):
        proc = _origin_cli(repo, out)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    assert [(u["path"], u["origin"]) for u in data["unweighed"]] == [("hidden", "unknown")]
    assert data["passed"] is False and data["ratio"] < 0.6


@pytest.mark.parametrize(("declared", "own", "code"), [
    ("--exclude", 100, 0),        # excluded whatever it holds: the ratio stands
    ("--third-party", 100, 3),    # third-party code could lower 100% below the line: open
    ("--third-party", 10, 1),     # already below the line, and it can only lower it: fails
])
def test_a_declared_unreadable_directory_counts_as_declared(tmp_path, declared, own, code):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(_own(own))
    (repo / "app" / "borrowed.py").write_text("# Copyright 2015 Someone Else\n"
                                              + "".join(f"w{i} = {i}\n" for i in range(20)))
    (repo / "vendor" / "hidden").mkdir(parents=True)
    (repo / "vendor" / "hidden" / "x.py").write_text(_own(5))
    out = tmp_path / "origin.json"
    with _Locked({repo / "vendor" / "hidden": 0}):
        proc = _origin_cli(repo, out, declared, "vendor/**")
    assert proc.returncode == code, proc.stdout + proc.stderr
    data = json.loads(out.read_text("utf-8"))
    origins = [u["origin"] for u in data["unweighed"]]
    assert origins == ([] if declared == "--exclude" else ["third_party"])
    assert data["passed"] is {0: True, 1: False, 3: None}[code]


def _met(ind_id: str, characteristic: str) -> str:
    from support.runner_specs import command_indicator

    return command_indicator(ind_id, characteristic, "print(0)", "== 0")


def test_a_run_names_the_unreadable_directory_in_results_gate_and_reports(tmp_path):
    """Through ``verifier run``: every indicator met, and a directory of the delivery unreadable.
    The origin gate is undecided and names it, the verdict is inconclusive rather than pass, the
    run verifies, and both reports name the directory in Chinese and English."""
    from support.runner_specs import task_book
    from support.zh_scan import english_prose
    from verifier.consistency import check_run
    from verifier.report import render_report
    from verifier.results import RunResult

    repo = tmp_path / "repo"
    indicators = [_met(f"I{i}", c) for i, c in enumerate(
        ["functionality", "performance_efficiency", "reliability", "security", "compatibility"])]
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(_own(100))
    (repo / "acceptance.yaml").write_text(task_book(indicators).replace(
        "owners: [Hunan Example Software Co., Ltd.]", f"owners: ['{OWNER}']"), "utf-8")
    (repo / "secret_lib").mkdir()
    (repo / "secret_lib" / "core.py").write_text("x = 1\n" * 500)
    out = tmp_path / "run"
    argv = unprivileged([sys.executable, "-m", "verifier", "run", str(repo / "acceptance.yaml"),
                             "--out", str(out), "-q", "--no-cache", "--no-kb"])
    with _Locked({repo / "secret_lib": 0}):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # inconclusive, not pass
    result = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    assert result.verdict == "inconclusive" and result.origin is not None
    assert result.origin.ratio == 1.0 and result.origin.passed is None
    assert [u["path"] for u in result.origin.unweighed] == ["secret_lib"]
    assert result.origin.unweighed_total == 1
    gate = next(g for g in result.gates if g.id == "origin.ratio")
    assert gate.passed is None
    assert gate.figure == "unknown (100.0% without 1 unreadable path(s) of unknown size: secret_lib)"
    assert any("secret_lib" in r["en"] and "secret_lib" in r["zh"] for r in result.verdict_reasons)
    spec_bytes = (out / "spec.yaml").read_bytes()
    origin_json = json.loads((out / "origin" / "origin.json").read_text("utf-8"))
    checks = check_run(json.loads((out / "results.json").read_text("utf-8")), spec_bytes,
                       origin_json=origin_json)
    assert [c.what for c in checks if c.ok is False] == []
    # a summary stripped of the path no longer agrees with the scan it came from
    stripped = result.model_copy(update={"origin": result.origin.model_copy(
        update={"unweighed": [], "unweighed_total": 0, "passed": True})})
    assert any("unweighed" in c.what or "passed" in c.what
               for c in check_run(stripped, spec_bytes, origin_json=origin_json) if c.ok is False)
    zh = render_report(out, "html", "zh").decode("utf-8")
    en = render_report(out, "html", "en").decode("utf-8")
    assert "不计 1 个无法读取、大小不明的路径时为 100.0%" in zh and "secret_lib" in zh
    assert "without 1 unreadable path(s) of unknown size" in en and "secret_lib" in en
    assert ('<td>不可读的目录：<span class="raw" translate="no">Permission denied</span>；其中内容无法查看，'
            '也无法计重</td>') in zh  # the path not scanned, and why, in Chinese
    assert "个路径无法读取，也没有可用于计重的大小" in zh  # the warning
    assert english_prose(zh) == []


def test_the_origin_probe_gives_no_figure_it_cannot_prove(tmp_path):
    from support.live_service import context
    from verifier.builtin_probes.origin_probe import OriginProbe
    from verifier.i18n import VERIFIER_WORDS
    from verifier.probe import ProbeError, presentation_of
    from verifier.results import OriginSummary

    ctx = context(OriginProbe, tmp_path, None, {})
    summary = OriginSummary(ratio=0.9, ratio_without_tests=0.9, threshold=0.6, passed=None,
                            counting="c", totals={}, unweighed_total=1, unweighed=[
                                {"path": "secret_lib", "reason": "unreadable directory: x", "origin": "unknown"}])
    (ctx.run_dir / "origin").mkdir(parents=True, exist_ok=True)
    (ctx.run_dir / "origin" / "summary.json").write_text(summary.model_dump_json(), "utf-8")
    with pytest.raises(ProbeError) as caught:
        OriginProbe().run(ctx)
    message = str(caught.value)
    assert message == ("the ratio cannot be proven: 1 unreadable path(s) of unknown size may hold any "
                       "amount of code: secret_lib")
    zh = VERIFIER_WORDS.with_phrases(presentation_of("origin").phrases).zh(message)
    assert zh == "自研代码率无法证实：1 个无法读取、大小不明的路径可能含有任意数量的代码：secret_lib"
