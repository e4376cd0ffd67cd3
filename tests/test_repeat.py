"""``repeat: N``: the probe runs N times, the median is judged, every run is kept, an indicator met in
some runs and not in others is unstable; shared measurements share the runs; ``verify`` recomputes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import write_tree
from support.runner_specs import FIVE, OWN_CODE, command_indicator, task_book
from verifier.consistency import check_run
from verifier.results import RunResult

SEQUENCE = (410, 510, 450)  # p95 of three identical load tests against a 500 ms target


def _counting(counter: Path) -> str:
    """A command printing the next figure of SEQUENCE on each run (and counting its runs)."""
    return (f"import pathlib; p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) if p.exists() else 0; "
            f"p.write_text(str(n + 1)); print({list(SEQUENCE)}[n % 3])")


def _repeated(block: str, repeat: int) -> str:
    return block + f"\n    repeat: {repeat}"


@pytest.fixture
def counter(tmp_path: Path) -> Path:
    return tmp_path / "runs.txt"


def _run(tmp_path: Path, cli, indicators: list[str], *args: str) -> tuple[Path, RunResult, str]:
    """Run the task book of ``indicators``: the run directory, its results and what run printed."""
    repo = write_tree(tmp_path / "repo", {"a.py": OWN_CODE, "acceptance.yaml": task_book(indicators)})
    out = tmp_path / "run"
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--no-cache", *args)
    return out, RunResult.model_validate_json((out / "results.json").read_text("utf-8")), result.output


def _consistency(out: Path, data: dict | None = None) -> list[str]:
    results = data if data is not None else json.loads((out / "results.json").read_text("utf-8"))
    return [c.what for c in check_run(results, (out / "spec.yaml").read_bytes()) if c.ok is False]


def test_the_median_of_the_runs_is_judged_and_every_run_is_kept(tmp_path: Path, cli, counter: Path) -> None:
    p1 = _repeated(command_indicator("P1", "performance_efficiency", _counting(counter), "<= 500", "ms"), 3)
    out, run, output = _run(tmp_path, cli, [FIVE[0], p1, *FIVE[2:]])
    ind = next(i for i in run.indicators if i.id == "P1")
    assert counter.read_text() == "3"
    assert ind.repeat == 3 and ind.value == 450 and ind.status == "met"
    rep = ind.repeats
    assert [(r.run, r.value, r.status) for r in rep.runs] == [(1, 410, "met"), (2, 510, "not_met"), (3, 450, "met")]
    assert (rep.min, rep.max, rep.spread, rep.unstable, rep.shown) == (410, 510, 100, True, 3)
    for r in rep.runs:  # each run's evidence kept in its own folder
        assert r.evidence == f"evidence/P1/run-{r.run}" and (out / r.evidence).is_dir()
        assert any(e.startswith(r.evidence + "/") for e in ind.evidence)
        assert r.measurements == {"value": float(SEQUENCE[r.run - 1])}
    data = json.loads((out / "results.json").read_text("utf-8"))
    assert [r["value"] for r in data["indicators"][1]["repeats"]["runs"]] == list(SEQUENCE)
    assert "repeats" not in data["indicators"][0] and "repeat" not in data["indicators"][0]
    unstable = [r for r in run.verdict_reasons if "P1" in r["en"] and "unstable" in r["en"]]
    assert unstable == [{"zh": "指标 P1“指标 P1”测量不稳定：3 次测量中 2 次达标，按中位数 450 ms 判定（目标 <= 500）",
                         "en": "indicator P1 (指标 P1) is unstable: met in 2 of 3 runs, judged on the median "
                               "450 ms (target <= 500)"}]
    assert _consistency(out) == []
    # the progress line says it too
    assert "value = 450 ms, target <= 500 ms: met" in output
    assert "[median of 3 runs, 410 ms – 510 ms, UNSTABLE: met in some runs only]" in output


def test_verify_recomputes_median_range_and_instability(tmp_path: Path, cli, counter: Path) -> None:
    p1 = _repeated(command_indicator("P1", "performance_efficiency", _counting(counter), "<= 500", "ms"), 3)
    out, _, _ = _run(tmp_path, cli, [FIVE[0], p1, *FIVE[2:]])
    data = json.loads((out / "results.json").read_text("utf-8"))

    def tampered(edit) -> list[str]:
        copy = json.loads(json.dumps(data))
        edit(next(i for i in copy["indicators"] if i["id"] == "P1"))
        return _consistency(out, copy)

    assert any("not the median" in p for p in tampered(lambda i: i.update(value=410.0)))
    assert any("unstable says False" in p for p in tampered(lambda i: i["repeats"].update(unstable=False)))
    assert any("spread" in p for p in tampered(lambda i: i["repeats"].update(spread=5.0)))
    assert any("run 2 says met" in p for p in tampered(lambda i: i["repeats"]["runs"][1].update(status="met")))
    assert any("2 run(s)" in p for p in tampered(lambda i: i["repeats"]["runs"].pop()))
    assert any("records no runs" in p for p in tampered(lambda i: i.pop("repeats")))
    assert any("repeat 1" in p for p in tampered(lambda i: i.update(repeat=1)))


def test_indicators_sharing_a_measurement_share_its_runs(tmp_path: Path, cli, counter: Path) -> None:
    code = _counting(counter)
    p1 = _repeated(command_indicator("P1", "performance_efficiency", code, "<= 500", "ms"), 3)
    p2 = command_indicator("P2", "performance_efficiency", code, "<= 500", "ms")  # repeat 1, same measurement
    out, run, _ = _run(tmp_path, cli, [FIVE[0], p1, p2, *FIVE[2:]])
    assert counter.read_text() == "3"  # the measurement ran three times, not four
    by_id = {i.id: i for i in run.indicators}
    assert by_id["P2"].measured_with == "P1" and by_id["P2"].repeat == 1
    assert [r.value for r in by_id["P2"].repeats.runs] == list(SEQUENCE) and by_id["P2"].value == 450
    assert _consistency(out) == []


def test_resume_measures_an_unfinished_indicator_again_in_a_clean_folder(tmp_path: Path, cli, counter: Path) -> None:
    """A repeated indicator is finished only when every run is: one interrupted part-way is measured
    again from its first run, and what the interrupted attempt left in its evidence folder goes."""
    p1 = _repeated(command_indicator("P1", "performance_efficiency", _counting(counter), "<= 500", "ms"), 3)
    out, _, _ = _run(tmp_path, cli, [FIVE[0], p1, *FIVE[2:]], "--only", "F1")
    stale = out / "evidence" / "P1" / "run-2" / "left-by-an-interrupted-attempt.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("partial")
    result = cli("run", "--resume", out, "--quiet", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    run = RunResult.model_validate_json((out / "results.json").read_text("utf-8"))
    p1_result = next(i for i in run.indicators if i.id == "P1")
    assert len(p1_result.repeats.runs) == 3 and not stale.exists()
    assert not any("left-by" in e for e in p1_result.evidence)
    assert _consistency(out) == []


def test_repeat_is_checked_in_the_spec(tmp_path: Path, cli) -> None:
    for bad in ("0", "26", "two"):
        p1 = command_indicator("P1", "performance_efficiency", "print(1)", "<= 500", "ms") + f"\n    repeat: {bad}"
        repo = write_tree(tmp_path / f"repo-{bad}", {"acceptance.yaml": task_book([FIVE[0], p1, *FIVE[2:]])})
        result = cli("check", repo / "acceptance.yaml")
        assert result.exit_code == 2 and "repeat" in result.output, result.output
