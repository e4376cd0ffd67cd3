"""README.md cannot drift from the command line (in the manner of sqlite-utils' tests/test_docs.py).

- every command and subcommand has a README section (a heading naming ```verifier CMD``, or the
  command's own name), and every name of every option (``-o`` and ``--output`` alike) appears there;
- the probe table under "## Probes" lists exactly the probes ``verifier probes --json`` lists, each
  with its characteristic and its metrics in order with their units (``p95_ms (ms)``; a probe whose
  units come from its arguments says which argument instead).
"""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from support import REPO_ROOT
from verifier.cli import main

README = (REPO_ROOT / "README.md").read_text("utf-8")

#: What the README does not document yet, exactly: the README text for each is in the report of the
#: branch that added this test (p11-lint). Remove an entry when the README documents it; the test
#: fails both on a new gap and on an entry that is no longer one.
PENDING: set[str] = set()


def _sections() -> list[tuple[str, str]]:
    """(heading, body) of every ``##``-to-``####`` section of the README, its subsections included."""
    lines = README.splitlines()
    starts = [(n, len(m.group(1)), m.group(2)) for n, line in enumerate(lines)
              if (m := re.match(r"(#{2,4}) (.*)", line))]
    found = []
    for i, (n, level, heading) in enumerate(starts):
        end = next((m for m, lv, _ in starts[i + 1:] if lv <= level), len(lines))
        found.append((heading, "\n".join(lines[n + 1:end])))
    return found


def _commands() -> list[tuple[str, click.Command]]:
    """(words, command) of every command and subcommand, ``kb build`` included."""
    ctx = click.Context(main)
    out = []
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None
        out.append((name, command))
        if isinstance(command, click.Group):
            out += [(f"{name} {sub}", command.get_command(ctx, sub)) for sub in command.list_commands(ctx)]
    return out


def _section_of(top: str) -> str:
    """The README text documenting command ``top``: the sections whose heading names it."""
    return "\n".join(f"{heading}\n{body}" for heading, body in _sections()
                     if f"`verifier {top}" in heading or heading.strip("` ").lower() == top)


def _command_gaps() -> set[str]:
    gaps = set()
    for words, command in _commands():
        text = _section_of(words.split()[0])
        if not text:
            gaps.add(f"{words}: no section")
            continue
        if words not in text:
            gaps.add(f"{words}: not named in its section")
        for param in command.params:
            if isinstance(param, click.Option):
                gaps |= {f"{words}: {name}" for name in [*param.opts, *param.secondary_opts]
                         if not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)}
    return gaps


def _probe_table() -> dict[str, list[str]]:
    """The probe table's rows (cells) by probe name: the table under "## Probes" whose header is
    ``| probe | characteristic | …``."""
    lines = dict(_sections())["Probes"].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("| probe | characteristic"))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        name = re.fullmatch(r"`([\w-]+)`", cells[0])
        if name:
            rows[name.group(1)] = cells
    return rows


def _metrics(cell: str) -> list[tuple[str, str]]:
    """``a (ms), b (count)`` -> [(a, ms), (b, count)]: the metric and the text in its brackets."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(cell + ","):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(cell[start:i].strip())
            start = i + 1
    found = []
    for item in items:
        parts = re.fullmatch(r"(\w+)(?: \((.*)\))?", item)
        found.append((parts.group(1), parts.group(2) or "") if parts else (item, ""))
    return found


def _probe_gaps(listed: dict[str, dict]) -> set[str]:
    rows = _probe_table()
    gaps = {f"probe table: {name}: missing" for name in set(listed) - set(rows)}
    gaps |= {f"probe table: {name}: not a probe" for name in set(rows) - set(listed)}
    for name in set(listed) & set(rows):
        probe, cells = listed[name], rows[name]
        if cells[1].split("(")[0].strip().replace(" ", "_") != probe["characteristic"]:
            gaps.add(f"probe table: {name}: characteristic")
        documented = _metrics(cells[2])
        units_ok = all(note.startswith("unit from `with.") for _, note in documented) \
            if probe.get("metrics_vary_with_args") else \
            [note for _, note in documented] == [m["unit"] for m in probe["metrics"].values()]
        if [m for m, _ in documented] != list(probe["metrics"]) or not units_ok:
            gaps.add(f"probe table: {name}: metrics")
    return gaps


@pytest.fixture(scope="module")
def listed() -> dict[str, dict]:
    """What ``verifier probes --json`` prints."""
    done = CliRunner().invoke(main, ["probes", "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def _expected_cell(probe: dict) -> str:
    """The probe table's metrics cell for ``probe`` as ``verifier probes --json`` describes it."""
    if probe.get("metrics_vary_with_args"):
        return ", ".join(f"{m} (unit from `with.…`)" for m in probe["metrics"])
    return ", ".join(f"{m} ({info['unit']})" for m, info in probe["metrics"].items())


def test_every_command_and_option_is_in_the_readme(listed):
    gaps = _command_gaps() | _probe_gaps(listed)
    new = {g for g in gaps if g not in PENDING}
    cells = {name: _expected_cell(listed[name]) for name in listed if f"probe table: {name}: metrics" in new}
    assert new == set(), f"document these in README.md (probe table metrics cells: {cells})"
    assert {g for g in PENDING if g not in gaps} == set(), "documented now: remove from PENDING"


def test_the_readme_names_every_command_in_its_commands_table():
    table = dict(_sections())["Commands"]
    tops = {words.split()[0] for words, _ in _commands()}
    assert {top for top in tops if f"`verifier {top}" not in table} == set()


def test_the_checks_find_what_is_missing():
    """The checks themselves: a made-up option and a wrong metric are reported."""
    assert ("probes: --json" in _command_gaps()) == ("probes: --json" in PENDING)
    assert _metrics("a (ms), b (count, or `with.unit`), c") == [("a", "ms"), ("b", "count, or `with.unit`"),
                                                                 ("c", "")]
    fake = {"bandit": {"characteristic": "security", "metrics": {"high": {"unit": "count"}}}}
    assert "probe table: bandit: metrics" in _probe_gaps(fake)
    assert "probe table: pytest: not a probe" in _probe_gaps(fake)


def test_probes_json_describes_each_probe(listed):
    """``verifier probes --json``: one object per probe (room for more fields), with its characteristic,
    description, metrics with unit and description, and whether the units come from its arguments."""
    assert listed
    for name, probe in listed.items():
        assert {"characteristic", "description", "metrics", "needs_service", "metrics_vary_with_args"} <= set(probe), name
        assert probe["metrics"] and all({"unit", "description", "better"} <= set(m) for m in probe["metrics"].values())
    assert listed["command"]["metrics_vary_with_args"] is True
