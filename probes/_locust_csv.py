"""Read Locust's CSV output (``PREFIX_stats.csv``, ``_stats_history.csv``, ``_failures.csv``).

Locust stores response-time percentiles in histogram buckets rounded to about two significant digits
(e.g. 147 ms is kept as 150 ms); min, max and average are exact.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PERCENTILES = {"p50_ms": "50%", "p90_ms": "90%", "p95_ms": "95%", "p99_ms": "99%"}


class LocustCsvError(ValueError):
    """The CSV files are missing or not what Locust writes."""


def _num(value: str | None) -> float | None:
    if value is None or value.strip() in ("", "N/A"):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise LocustCsvError(f"Locust wrote no {path.name}")
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass(frozen=True)
class EndpointStats:
    """One row of ``_stats.csv``: an endpoint (``name``) or the ``Aggregated`` total."""

    method: str
    name: str
    requests: int
    failures: int
    rps: float
    median_ms: float | None
    average_ms: float | None
    min_ms: float | None
    max_ms: float | None
    percentiles: dict[str, float | None]
    """``p50_ms`` … ``p99_ms``."""

    @property
    def failure_ratio(self) -> float | None:
        """Failed requests as a percentage of all requests, ``None`` without requests."""
        return 100.0 * self.failures / self.requests if self.requests else None

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``details``."""
        return {"method": self.method, "name": self.name, "requests": self.requests,
                "failures": self.failures, "failure_ratio": self.failure_ratio, "rps": self.rps,
                "average_ms": self.average_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
                **self.percentiles}


def read_stats(prefix: Path) -> tuple[EndpointStats, list[EndpointStats]]:
    """The ``Aggregated`` row and the per-endpoint rows of ``PREFIX_stats.csv``."""
    path = prefix.with_name(prefix.name + "_stats.csv")
    rows = _rows(path)
    parsed = []
    for row in rows:
        try:
            parsed.append(EndpointStats(
                method=row.get("Type") or "", name=row["Name"],
                requests=int(row["Request Count"]), failures=int(row["Failure Count"]),
                rps=_num(row["Requests/s"]) or 0.0,
                median_ms=_num(row.get("Median Response Time")),
                average_ms=_num(row.get("Average Response Time")),
                min_ms=_num(row.get("Min Response Time")), max_ms=_num(row.get("Max Response Time")),
                percentiles={key: _num(row.get(col)) for key, col in PERCENTILES.items()},
            ))
        except (KeyError, ValueError, TypeError) as exc:
            raise LocustCsvError(f"{path.name}: unexpected row {row!r} ({exc})") from None
    total = [r for r in parsed if r.name == "Aggregated" and not r.method]
    if not total:
        raise LocustCsvError(f"{path.name} has no Aggregated row")
    return total[-1], [r for r in parsed if not (r.name == "Aggregated" and not r.method)]


def read_history(prefix: Path) -> list[dict[str, Any]]:
    """The ``Aggregated`` rows of ``PREFIX_stats_history.csv``: one point per second for charts.

    Each point: ``t`` (s since the first row), ``users``, ``rps``, ``failures_per_s``, current
    ``p50_ms``/``p95_ms``/``p99_ms`` (Locust's rolling window), cumulative ``requests``/``failures``.
    """
    path = prefix.with_name(prefix.name + "_stats_history.csv")
    points: list[dict[str, Any]] = []
    start: float | None = None
    for row in _rows(path):
        if row.get("Name") != "Aggregated":
            continue
        stamp = _num(row.get("Timestamp"))
        if stamp is None:
            continue
        start = stamp if start is None else start
        points.append({
            "t": stamp - start, "users": int(_num(row.get("User Count")) or 0),
            "rps": _num(row.get("Requests/s")), "failures_per_s": _num(row.get("Failures/s")),
            "p50_ms": _num(row.get("50%")), "p95_ms": _num(row.get("95%")),
            "p99_ms": _num(row.get("99%")),
            "requests": int(_num(row.get("Total Request Count")) or 0),
            "failures": int(_num(row.get("Total Failure Count")) or 0),
        })
    return points


def read_failures(prefix: Path) -> list[dict[str, Any]]:
    """Rows of ``PREFIX_failures.csv``: method, name, error, occurrences."""
    path = prefix.with_name(prefix.name + "_failures.csv")
    if not path.is_file():
        return []
    return [{"method": r.get("Method", ""), "name": r.get("Name", ""), "error": r.get("Error", ""),
             "occurrences": int(_num(r.get("Occurrences")) or 0)} for r in _rows(path)]
