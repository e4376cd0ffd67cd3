"""``verifier probes``: the registered probes with their metrics and units."""

from __future__ import annotations

import json

import click
from rich.table import Table

from verifier.cli.output import SafeConsole, emit, stacked
from verifier.probe import available_probes


@click.command("probes")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON instead of a table.")
def probes_command(as_json: bool) -> None:
    """List the probes (built-in and third-party) with their metrics and units."""
    probes = available_probes()
    if as_json:
        emit(json.dumps({
            name: {
                "characteristic": cls.characteristic,
                "description": cls.description,
                "needs_service": cls.needs_service,
                "metrics_vary_with_args": cls.metrics_vary_with_args,
                "metrics": {m: {"unit": info.unit, "description": info.description,
                                "better": info.better} for m, info in cls.metrics.items()},
            } for name, cls in probes.items()
        }, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title="verifier probes (entry-point group verifier.probes)", show_lines=True)
    for column in ("probe", "characteristic", "metrics (unit)", "description"):
        table.add_column(column)
    for name, cls in probes.items():
        metrics = stacked(f"{m} ({info.unit})" for m, info in cls.metrics.items())
        service = " [needs the service running]" if cls.needs_service else ""
        table.add_row(name, cls.characteristic, metrics, cls.description + service)
    SafeConsole(width=120).print(table)
