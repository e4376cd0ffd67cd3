"""The fixtures' task books load against the installed probes and their repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.scoring import count_gate, coverage_gates, version_gate
from verifier.spec import load_spec
from verifier.vocabulary import REQUIRED_CHARACTERISTICS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.mark.parametrize("name", ["sample-delivery", "weak-delivery"])
def test_fixture_spec_loads_and_covers_the_five(name):
    repo = FIXTURES / name
    spec = load_spec(repo / "acceptance.yaml", repo=repo)
    assert count_gate(spec).passed
    assert all(g.passed for g in coverage_gates(spec))
    assert {i.characteristic for i in spec.indicators} >= set(REQUIRED_CHARACTERISTICS)
    assert spec.service is not None and spec.materials is not None
    assert [f.id for f in spec.functions] == [f"F-0{n}" for n in range(1, 7)]
    for indicator in spec.indicators:      # every path the spec names exists in the fixture
        for path in getattr(indicator.args, "paths", []) or []:
            assert (repo / path).exists(), (indicator.id, path)


def test_sample_is_version_1_and_weak_is_not():
    sample = load_spec(FIXTURES / "sample-delivery" / "acceptance.yaml")
    weak = load_spec(FIXTURES / "weak-delivery" / "acceptance.yaml")
    assert version_gate(sample).passed is True
    assert version_gate(weak).passed is False
    assert sample.origin.min_ratio == weak.origin.min_ratio == 0.60


def test_fixture_paths_exist_and_only_the_weak_dossier_is_short():
    sample = load_spec(FIXTURES / "sample-delivery" / "acceptance.yaml", repo=FIXTURES / "sample-delivery")
    weak = load_spec(FIXTURES / "weak-delivery" / "acceptance.yaml", repo=FIXTURES / "weak-delivery")
    assert sample.warnings == ()
    assert {w.path for w in weak.warnings} == {"materials.test_report", "materials.user_evaluations"}
