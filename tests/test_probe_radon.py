"""The radon probe runs real radon (cc and mi) on code of known complexity written here."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from radon.metrics import mi_visit

from verifier.builtin_probes.radon_probe import RadonArgs, RadonProbe, summarize
from verifier.probe import ProbeContext, ProbeError, get_probe


def branches(name: str, complexity: int) -> str:
    """A function whose cyclomatic complexity is exactly ``complexity`` (one ``if`` per extra path)."""
    body = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(complexity - 1))
    return f"def {name}(x):\n{body}    return -1\n"


SIMPLE = '''
def one():
    return 1


def two():
    return 2


def three():
    return 3


class Shelf:
    def put(self, item):
        self.item = item

    def take(self):
        return self.item
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "app/complex.py": branches("route", 15) + "\n\n" + branches("dispatch", 25),
        "app/simple.py": SIMPLE,
        "app/broken.py": "def broken(:\n",
        "migrations/0001.py": branches("migrate", 45),
        # Would filter radon's output if radon were run from inside the repository.
        "radon.cfg": "[radon]\ncc_min = C\nmi_min = C\n",
        "setup.cfg": "[radon]\ncc_min = C\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def context(tmp_path: Path, repo: Path, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "M1"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=RadonArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("radon") is RadonProbe
    assert RadonProbe.metrics["min_mi"].better == "higher"
    assert "radon" in RadonProbe().tool_versions()


def test_complexity_metrics(tmp_path, repo):
    outcome = RadonProbe().run(context(tmp_path, repo, exclude=["migrations/**"]))
    got = values(outcome)
    # blocks: route 15, dispatch 25, one/two/three 1, Shelf.put/take 1 (the class is not a block)
    assert got["blocks"] == 7
    assert got["max_complexity"] == 25
    assert got["avg_complexity"] == pytest.approx(45 / 7, abs=1e-3)
    assert got["share_rank_c_or_worse"] == pytest.approx(100 * 2 / 7, abs=1e-3)
    assert outcome.details["cc_rank_histogram"] == {"A": 5, "B": 0, "C": 1, "D": 1, "E": 0, "F": 0}


def test_maintainability_index_matches_radon(tmp_path, repo):
    ctx = context(tmp_path, repo, exclude=["migrations/**"])
    outcome = RadonProbe().run(ctx)
    got = values(outcome)
    expected = {rel: mi_visit((repo / rel).read_text(), True)
                for rel in ("app/complex.py", "app/simple.py")}
    assert got["min_mi"] == pytest.approx(min(expected.values()), abs=1e-3)
    assert got["avg_mi"] == pytest.approx(sum(expected.values()) / 2, abs=1e-3)
    assert expected["app/complex.py"] < expected["app/simple.py"]
    assert outcome.details["lowest_mi_files"][0]["file"] == "app/complex.py"
    # the raw radon output is the evidence, and its numbers are the ones used
    assert ctx.run_dir.joinpath("evidence/M1/radon-mi.stdout.txt") in [
        ctx.run_dir / e for e in outcome.evidence]
    raw = json.loads((ctx.run_dir / "evidence/M1/radon-mi.stdout.txt").read_text())
    assert min(v["mi"] for v in raw.values() if "mi" in v) == pytest.approx(got["min_mi"], abs=1e-3)
    assert [c[2:4] for c in outcome.commands] == [("radon", "cc"), ("radon", "mi")]


def test_worst_blocks_are_findings(tmp_path, repo):
    outcome = RadonProbe().run(context(tmp_path, repo, exclude=["migrations/**"]))
    complex_ones = [f for f in outcome.findings if f.rule and f.rule.startswith("cc-rank")]
    assert [(f.extra["name"], f.rule, f.severity) for f in complex_ones] == [
        ("dispatch", "cc-rank-D", "medium"), ("route", "cc-rank-C", "low")]
    dispatch = complex_ones[0]
    assert dispatch.file == "app/complex.py"
    assert (repo / dispatch.file).read_text().splitlines()[dispatch.line - 1].startswith("def dispatch")
    assert outcome.details["worst_blocks"][0]["name"] == "dispatch"


def test_unparsable_file_is_a_note_not_a_failure(tmp_path, repo):
    outcome = RadonProbe().run(context(tmp_path, repo, exclude=["migrations/**"]))
    assert any("could not analyse app/broken.py" in n for n in outcome.notes)
    assert [f.file for f in outcome.findings if f.rule == "radon-error"] == ["app/broken.py"]


def test_exclude_and_paths(tmp_path, repo):
    everything = values(RadonProbe().run(context(tmp_path, repo)))
    assert everything["max_complexity"] == 45 and everything["blocks"] == 8
    only_simple = values(RadonProbe().run(context(tmp_path, repo, paths=["app/simple.py"])))
    assert only_simple["max_complexity"] == 1 and only_simple["share_rank_c_or_worse"] == 0


def test_findings_are_capped(tmp_path, repo):
    outcome = RadonProbe().run(context(tmp_path, repo, max_findings=1))
    assert len([f for f in outcome.findings if f.rule.startswith("cc-rank")]) == 1
    assert any("2 more block(s)" in n for n in outcome.notes)


def test_no_functions_leaves_complexity_not_applicable():
    outcome = summarize({"a.py": []}, {"a.py": {"mi": 100.0, "rank": "A"}})
    got = values(outcome)
    assert got["avg_complexity"] is None and got["share_rank_c_or_worse"] is None
    assert got["blocks"] == 0 and got["min_mi"] == 100.0


class _Substitute(RadonProbe):
    """radon replaced by another real program, to exercise the failure paths."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command


def test_missing_tool_is_an_error(tmp_path, repo):
    with pytest.raises(ProbeError, match="radon cc could not be started"):
        _Substitute(("/nonexistent/radon",)).run(context(tmp_path, repo))


def test_hanging_tool_is_killed_and_reported_quickly(tmp_path, repo):
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        _Substitute((sys.executable, "-c", "import time; time.sleep(60)")).run(
            context(tmp_path, repo, timeout=2))
    assert time.monotonic() - start < 15


def test_crash_and_garbage_are_errors(tmp_path, repo):
    with pytest.raises(ProbeError) as info:
        _Substitute((sys.executable, "-c", "import os; os.abort()")).run(context(tmp_path, repo))
    assert "killed by signal 6" in info.value.reason
    with pytest.raises(ProbeError, match="not JSON"):
        _Substitute((sys.executable, "-c", "print('Traceback (most recent call last):')")).run(
            context(tmp_path, repo))
    with pytest.raises(ProbeError, match="not an object keyed by file"):
        _Substitute((sys.executable, "-c", "print('[1, 2]')")).run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match="without a complexity"):
        summarize({"a.py": [{"type": "function"}]}, {})


@pytest.mark.parametrize("args, message", [
    ({"paths": ["../other"]}, "escapes"),
    ({"max_findings": -1}, "greater than or equal"),
    ({"cc_min": "C"}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        RadonArgs.model_validate(args)


# ---------------------------------------------------------------------------------------------
# The fixtures, with their task books' arguments


def _fixture_run(tmp_path, root: Path, indicator: str):
    from verifier.spec import load_spec

    spec_obj = load_spec(root / "acceptance.yaml", repo=root)
    run_dir = tmp_path / "fixture-run"
    (run_dir / indicator).mkdir(parents=True)
    return RadonProbe().run(ProbeContext(repo=root, run_dir=run_dir, evidence_dir=run_dir / indicator,
                                         args=spec_obj.indicator(indicator).args, spec=spec_obj,
                                         timeout_s=120))


def test_sample_delivery_is_simple(tmp_path):
    from support.fixture_expectations import SAMPLE_RADON_WORST, SAMPLE_ROOT

    outcome = _fixture_run(tmp_path, SAMPLE_ROOT, "MAINT-1")
    got = values(outcome)
    worst = outcome.details["worst_blocks"][0]
    assert (worst["file"], worst["name"], worst["complexity"]) == SAMPLE_RADON_WORST
    assert got["max_complexity"] == SAMPLE_RADON_WORST[2]
    assert got["share_rank_c_or_worse"] == 0.0
    assert 1.5 < got["avg_complexity"] < 3.0  # "~2.3" in the fixture's notes
    assert not [f for f in outcome.findings if f.rule.startswith("cc-rank")]


def test_weak_delivery_worst_block(tmp_path):
    from support.fixture_expectations import WEAK_RADON_WORST, WEAK_ROOT

    outcome = _fixture_run(tmp_path, WEAK_ROOT, "MAINT-1")
    file, name, complexity, rank = WEAK_RADON_WORST
    assert values(outcome)["max_complexity"] == complexity
    first = outcome.findings[0]
    assert (first.file, first.extra["name"], first.extra["complexity"], first.extra["rank"]) == (
        file, name, complexity, rank)
    assert first.severity == "high"
    assert outcome.details["cc_rank_histogram"][rank] >= 1
