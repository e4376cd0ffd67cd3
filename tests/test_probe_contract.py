"""The probe contract (``verifier.probe``) and toolkit (``verifier.probekit``): complete, documented in
one place, declared rather than guessed, and honoured by every built-in probe."""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from pathlib import Path

import pytest

from support.report_sample import build_sample_run
from verifier import probe as contract
from verifier import probekit
from verifier.builtin_probes.command_probe import CommandArgs, CommandProbe
from verifier.probe import (
    MetricInfo,
    Presentation,
    Probe,
    ProbeContext,
    ProbeOutcome,
    RunningService,
    available_probes,
    presentation_of,
)
from verifier.report import build_view, load_run
from verifier.service import Service, ServiceConfig


def _public(module) -> list[str]:
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__]


def test_every_public_name_of_the_contract_is_documented_in_its_docstring():
    doc = contract.__doc__
    missing = [n for n in _public(contract) if f"``{n}``" not in doc and n not in doc]
    members = ([f.name for f in fields(ProbeContext)] + [f.name for f in fields(ProbeOutcome)]
               + ["name", "characteristic", "description", "metrics", "Args", "needs_service", "presentation",
                  "run", "metrics_for", "tool_versions"])
    missing += [m for m in members if f"``{m}``" not in doc and f"``{m}(" not in doc and m not in doc]
    assert not missing, missing


def test_every_toolkit_name_is_documented_and_exported():
    doc = probekit.__doc__
    assert sorted(probekit.__all__) == sorted(set(probekit.__all__))
    assert all(hasattr(probekit, n) for n in probekit.__all__)
    assert not [n for n in probekit.__all__ if f"``{n}``" not in doc], doc
    own = [n for n, obj in vars(probekit).items() if not n.startswith("_") and (
        inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == "verifier.probekit"]
    assert set(own) <= set(probekit.__all__)
    for name in own:
        assert inspect.getdoc(getattr(probekit, name)), name


def test_the_built_in_probes_use_the_public_toolkit_only():
    root = Path(__file__).resolve().parent.parent / "probes"
    assert not (root / "_common.py").exists()
    for path in root.glob("*.py"):
        assert "probes._common" not in path.read_text("utf-8"), path.name


def test_the_service_verifier_starts_is_a_running_service(tmp_path):
    service = Service(ServiceConfig(command=["{python}", "-m", "http.server", "{port}"]), repo=tmp_path,
                      log_dir=tmp_path / "logs")
    assert isinstance(service, RunningService)
    members = {n for n in vars(RunningService) if not n.startswith("_")}
    assert members == {"port", "base_url", "data_dir", "commands", "alive", "start", "wait_ready", "ready_once",
                       "ready_target", "kill", "listener_pids", "rss_mb", "tail"}


def test_metrics_for_is_declared_with_a_default():
    class Plain(Probe):
        name, characteristic, description = "plain", "security", "test probe"
        metrics = {"n": contract.MetricInfo("count", "n")}

        def run(self, ctx: ProbeContext) -> ProbeOutcome:
            return ProbeOutcome()

    assert Plain.metrics_for(Plain.Args()) is Plain.metrics and not Plain.metrics_vary_with_args
    assert CommandProbe.metrics_vary_with_args  # its unit comes from with.unit
    args = CommandArgs.model_validate({"command": ["true"], "regex": "(1)", "unit": "ms"})
    assert CommandProbe.metrics_for(args)["value"].unit == "ms"
    assert Plain.presentation == Presentation()


@pytest.mark.parametrize("text, problem", [
    # units from the arguments: with invalid arguments only their problem is reported
    ("probe: reading\n    with: {unit: ms, bogus: 1}\n    metric: nope\n    target: '<= 5 ms'",
     r"with\.bogus: unknown key \(allowed: unit\)$"),  # no "(+1 more problem)"
    # an override written before metrics_vary_with_args existed is never called without valid
    # arguments: its static metrics are checked instead (no crash, the metric problem counted too)
    ("probe: legacy\n    with: {unit: ms, bogus: 1}\n    metric: nope\n    target: '<= 5'", r"\(\+1 more problem\)$"),
])
def test_metrics_for_is_only_called_with_valid_arguments(tmp_path, text, problem):
    from support.spec_fakes import PROBES, ReadingProbe
    from verifier.errors import InputError
    from verifier.spec import parse_spec

    class LegacyProbe(ReadingProbe):
        name = "legacy"
        metrics_vary_with_args = False

        @classmethod
        def metrics_for(cls, args):
            return {"value": MetricInfo(args.unit, "the number", "higher")}  # args is never None here

    spec = ("project: {name: x, version: '1.0.0', owners: [x]}\nindicators:\n"
            "  - id: A\n    name: a\n    characteristic: functionality\n    " + text + "\n")
    with pytest.raises(InputError) as err:
        parse_spec(spec, probes={**PROBES, "legacy": LegacyProbe})
    assert re.search(problem, str(err.value)), str(err.value)


def _keys(p: Presentation) -> set[str]:
    """Every key a presentation names in its tables, series, bars and metric charts."""
    keys = set(p.tables) | set(p.series) | set(p.bars) | set(p.words)
    for table in p.tables.values():
        keys |= set(table.columns)
    for series in p.series.values():
        keys |= {c for chart in series.charts for c in chart.columns}
    for bars in p.bars.values():
        keys |= set(bars.order)
    for bars in p.metric_bars:
        keys |= set(bars.metrics)
    return keys


@pytest.mark.parametrize("name", sorted(available_probes()))
def test_built_in_probes_label_every_metric_and_every_key_they_lay_out(name):
    cls = available_probes()[name]
    p = cls.presentation
    missing = sorted((set(cls.metrics) | _keys(p)) - set(p.labels))
    # keys named only for their order may go unlabelled when no probe run can write them
    missing = [k for k in missing if not re.fullmatch(r"p(66|75|80|98|999)_ms", k)]
    assert not missing, missing
    han = re.compile(r"[\u4e00-\u9fff]")
    for key, (zh, en) in p.labels.items():
        assert zh and en and not han.search(en), (key, zh, en)
    for words in p.words.values():
        assert all(len(pair) == 2 and all(pair) for pair in words.values())


def test_a_probe_that_cannot_be_loaded_still_renders(tmp_path, monkeypatch):
    """An installed plug-in that fails to import costs its labels, not the report."""
    dist = tmp_path / "site" / "broken_probe-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-probe\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[verifier.probes]\nbroken = no_such_module_here:Broken\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    presentation_of.cache_clear()
    try:
        assert presentation_of("broken") == Presentation()
        run = build_sample_run(tmp_path)
        result = load_run(run)
        ind = result.indicators[0].model_copy(update={"probe": "broken", "details": {"vendor": [{"a": 1}]}})
        view = build_view(result.model_copy(update={"indicators": [ind]}), run, "zh")
        assert view["details"][0]["tables"][0]["title"] == "vendor"
    finally:
        presentation_of.cache_clear()
