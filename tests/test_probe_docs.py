"""Every probe's ``with:`` arguments are documented from the probe's own model (issue 13): ``verifier
probes NAME`` and ``--json`` give each argument's name, type, default and description, and the
README's probe table and argument tables say what the models say."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from verifier.probe import ProbeArgs, available_probes
from verifier.probe_docs import attribute_docstrings, markdown, probe_arguments, type_text
from verifier.repo_paths import RepoOrAssetPath, RepoPath
from verifier.service import Duration

README = Path(__file__).resolve().parent.parent / "README.md"
#: The probes verifier ships (``probes/``), not those another package registers.
BUILT_IN = tuple(name for name, cls in available_probes().items()
                 if cls.__module__.startswith("verifier.builtin_probes."))


class _Inner(BaseModel):
    path: str
    """Where."""


class _Args(ProbeArgs):
    count: int = Field(3, ge=1)
    """How many."""
    target: RepoPath = "."
    locustfile: RepoOrAssetPath | None = None
    within: Duration = 30.0
    """How long."""
    steps: list[_Inner] = Field(default_factory=list)
    mode: str = Field("fast", description="From the field's own description.")


def test_arguments_come_from_the_model_nested_ones_included():
    docs = {a.name: a for a in probe_arguments(_Args)}
    assert list(docs) == ["count", "target", "locustfile", "within", "steps", "steps[].path", "mode"]
    assert (docs["count"].type, docs["count"].default, docs["count"].description) == ("integer", "3", "How many.")
    assert docs["target"].type == "path in the repository" and docs["within"].type == "duration"
    assert docs["locustfile"].type == "path in the repository, or {spec_dir}/… beside the task book"
    assert (docs["steps"].type, docs["steps[].path"].required) == ("list of _Inner", True)
    assert docs["mode"].description == "From the field's own description."
    assert attribute_docstrings(_Args)["within"] == "How long."


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_argument_of_every_built_in_probe_is_described(name):
    cls = available_probes()[name]
    undocumented = [a.name for a in probe_arguments(cls.Args) if not a.description.strip()]
    assert not undocumented, undocumented


def test_probes_name_lists_every_argument(cli):
    for name in ("integrity", "locust", "matrix"):
        result = cli("probes", name)
        assert result.exit_code == 0
        for arg in probe_arguments(available_probes()[name].Args):
            assert arg.name in result.output, (name, arg.name)
    assert "origin takes no with: arguments." in cli("probes", "origin").output
    bad = cli("probes", "nope")
    assert bad.exit_code == 2 and bad.stderr.startswith("verifier: error: unknown probe 'nope' (known: bandit,")


def test_probes_json_carries_the_arguments(cli):
    data = json.loads(cli("probes", "--json").stdout)
    assert sorted(data) == sorted(available_probes())
    locust = {a["name"]: a for a in data["locust"]["arguments"]}
    assert locust["users"] == {"name": "users", "type": "integer", "default": "10", "required": False,
                               "description": "Peak number of concurrent simulated users."}
    assert locust["endpoints[].auth"]["default"] == "true"
    one = json.loads(cli("probes", "soak", "--json").stdout)
    assert list(one) == ["soak"] and one["soak"]["arguments"] == data["soak"]["arguments"]
    assert type_text(list[int]) == "list of integer"


def _readme_section(title: str) -> str:
    text = README.read_text("utf-8")
    start = text.index(title)
    following = re.search(r"\n#{1,3} ", text[start + len(title):])
    return text[start:start + len(title) + (following.start() if following else len(text))]


def test_the_readme_probe_table_lists_each_probes_metrics():
    rows = {}
    for line in _readme_section("## Probes").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`[a-z0-9_-]+`", cells[0]):
            # a metric as "name" or "name (unit)" (tests/test_docs.py checks the units)
            rows[cells[0].strip("`")] = [re.sub(r"\s*\(.*\)$", "", m.strip()).strip("`") for m in cells[2].split(",")]
    probes = available_probes()
    assert sorted(rows) == sorted(name for name in probes if name in BUILT_IN)
    for name, metrics in rows.items():
        assert metrics == list(probes[name].metrics), name


def test_the_readme_documents_every_probe_argument():
    """The README's argument tables are exactly ``verifier probes --markdown``: regenerate them with
    that command after changing a probe's ``with:``."""
    wanted = markdown({name: cls for name, cls in available_probes().items() if name in BUILT_IN})
    assert wanted in README.read_text("utf-8")
