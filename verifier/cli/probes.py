"""``verifier probes [NAME]``: the registered probes with their metrics, units and ``with:`` arguments."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from verifier.cli.output import SafeConsole, emit, say, stacked
from verifier.probe import Probe, available_probes, get_probe
from verifier.probe_docs import markdown, probe_arguments


def _as_json(cls: type[Probe]) -> dict[str, Any]:
    return {
        "characteristic": cls.characteristic,
        "description": cls.description,
        "needs_service": cls.needs_service,
        "metrics_vary_with_args": cls.metrics_vary_with_args,
        "metrics": {m: {"unit": info.unit, "description": info.description, "better": info.better}
                    for m, info in cls.metrics.items()},
        "arguments": [arg.to_json() for arg in probe_arguments(cls.Args)],
    }


@click.command("probes")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON (each probe's metrics and with: arguments).")
@click.option("--markdown", "as_markdown", is_flag=True,
              help="Print every probe's with: arguments as the Markdown tables of the README.")
def probes_command(name: str | None, as_json: bool, as_markdown: bool) -> None:
    """List the probes (built-in and third-party) with their metrics and units; with NAME, that
    probe's metrics and every argument its with: accepts (name, type, default, description),
    read from the probe's own model."""
    if as_json and as_markdown:
        raise click.UsageError("--json and --markdown are exclusive")
    probes = {name: get_probe(name)} if name is not None else dict(available_probes())
    if as_json:
        emit(json.dumps({n: _as_json(cls) for n, cls in probes.items()}, ensure_ascii=False, indent=2) + "\n")
        return
    if as_markdown:
        emit(markdown(probes))
        return
    if name is not None:
        _one(name, probes[name])
        return
    table = Table(title="verifier probes (entry-point group verifier.probes)", show_lines=True)
    for column in ("probe", "characteristic", "metrics (unit)", "description"):
        table.add_column(column)
    for probe_name, cls in probes.items():
        metrics = stacked(f"{m} ({info.unit})" for m, info in cls.metrics.items())
        service = " [needs the service running]" if cls.needs_service else ""
        table.add_row(probe_name, cls.characteristic, metrics, cls.description + service)
    SafeConsole(width=120).print(table)
    say("`verifier probes NAME` lists the with: arguments of one probe.")


def _one(name: str, cls: type[Probe]) -> None:
    say(f"{name}: {cls.description}")
    say(f"  characteristic: {cls.characteristic}"
        + ("; needs the system under test running (service:)" if cls.needs_service else ""))
    console = SafeConsole(width=120)
    metrics = Table(title=f"{name}: metrics", show_lines=False)
    for column in ("metric", "unit", "better", "description"):
        metrics.add_column(column)
    for metric, info in cls.metrics.items():
        metrics.add_row(metric, info.unit, info.better, info.description)
    console.print(metrics)
    arguments = probe_arguments(cls.Args)
    if not arguments:
        say(f"{name} takes no with: arguments.")
        return
    table = Table(title=f"{name}: with: arguments", show_lines=True)
    for column in ("argument", "type", "default", "description"):
        table.add_column(column)
    for arg in arguments:
        table.add_row(arg.name, arg.type, "required" if arg.required else str(arg.default), arg.description)
    console.print(table)
