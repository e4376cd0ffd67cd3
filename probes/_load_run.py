"""Start, stop and summarise the load client (``probes/_load.py``) from the harness."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from verifier.proc import ProcessTree, kill_group, scrubbed_env
from verifier.product.login import LoginConfig

from . import _load
from ._http import HttpRequest
from ._load import Record, read_records


class LoadArgs(BaseModel):
    """The load part of the soak and recovery probes' ``with:`` arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: list[HttpRequest] = Field(min_length=1)
    """Requests to send, picked by weight: method, path, body, headers, weight, name, expect."""
    concurrency: int = Field(default=4, ge=1, le=256)
    """Client threads (concurrent connections)."""
    rate: float = Field(default=100.0, ge=0)
    """Total requests per second (0: as fast as the client can)."""
    request_timeout: float = Field(default=5.0, gt=0, le=120)
    """Seconds before one request counts as failed (timeout)."""


class LoadProcess:
    """A running load client; ``stop()`` always leaves no process behind."""

    def __init__(self, port: int, load: LoadArgs, *, duration_s: float, out_dir: Path,
                 name: str = "load", max_requests: int = 1_000_000,
                 login: LoginConfig | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.requests_file = out_dir / f"{name}-requests.json"
        self.requests_file.write_text(json.dumps(
            [{"method": r.method, "path": r.path, "body": r.body, "headers": r.headers,
              "weight": r.weight, "name": r.label, "expect": r.expect, "auth": r.auth}
             for r in load.requests],
            ensure_ascii=False, indent=1), encoding="utf-8")
        self.login_file: Path | None = None
        login_args: tuple[str, ...] = ()
        if login is not None:
            self.login_file = out_dir / f"{name}-login.json"
            self.login_file.write_text(json.dumps(login.client_config(), ensure_ascii=False, indent=1),
                                       encoding="utf-8")
            login_args = ("--login", str(self.login_file))
        self.records_file = out_dir / f"{name}-records.csv"
        self.log_files = (out_dir / f"{name}.stdout.txt", out_dir / f"{name}.stderr.txt")
        self.duration_s = duration_s
        self.timeout_s = load.request_timeout
        self.argv = (sys.executable, str(Path(_load.__file__).resolve()), "--port", str(port),
                     "--requests", str(self.requests_file), "--duration", f"{duration_s:g}",
                     "--concurrency", str(load.concurrency), "--rate", f"{load.rate:g}",
                     "--max-requests", str(max_requests), "--timeout", f"{load.request_timeout:g}",
                     "--out", str(self.records_file), *login_args)
        with open(self.log_files[0], "wb") as out, open(self.log_files[1], "wb") as err:
            self._proc = ProcessTree(self.argv, cwd=out_dir, env=scrubbed_env(), stdout=out, stderr=err)
        self.started = time.time()

    def running(self) -> bool:
        """True while the client runs."""
        return self._proc.poll() is None

    def wait(self, extra_s: float = 15.0) -> None:
        """Wait for the client to finish its duration (plus ``extra_s``), then stop it regardless."""
        with suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=max(0.0, self.started + self.duration_s - time.time()) + extra_s)
        self.stop()

    def stop(self) -> None:
        """Ask the client to finish (SIGTERM: it flushes its records), then kill its group."""
        if self._proc.poll() is None:
            kill_group(self._proc, grace_s=self.timeout_s + 2.0, sig=signal.SIGTERM)
        else:
            kill_group(self._proc, grace_s=0.5, sig=signal.SIGKILL)

    def tail(self) -> str:
        """The client's stderr tail."""
        text = self.log_files[1].read_text("utf-8", errors="replace") if self.log_files[1].exists() else ""
        return "\n".join(text.rstrip().splitlines()[-20:])

    def records(self) -> list[Record]:
        """Every request the client recorded, ordered by start time."""
        return sorted(read_records(self.records_file), key=lambda r: r.start)

    def __enter__(self) -> LoadProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by nearest rank, ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def timeline(records: Sequence[Record], origin: float, bucket_s: float = 1.0) -> list[dict[str, Any]]:
    """Per-bucket requests, failures, rps and p50/p95 (by request start time) for charts."""
    buckets: dict[int, list[Record]] = {}
    for rec in records:
        buckets.setdefault(int((rec.start - origin) // bucket_s), []).append(rec)
    points = []
    for index in sorted(buckets):
        group = buckets[index]
        answered = [r.latency_ms for r in group if r.status]
        points.append({"t": round(index * bucket_s, 3), "requests": len(group),
                       "failures": sum(not r.ok for r in group), "rps": len(group) / bucket_s,
                       "p50_ms": percentile(answered, 50), "p95_ms": percentile(answered, 95)})
    return points


def failure_examples(records: Sequence[Record], limit: int = 20) -> list[dict[str, Any]]:
    """The most frequent failure kinds (label, status, error) with counts."""
    counts: dict[tuple[str, int, str], int] = {}
    for rec in records:
        if not rec.ok:
            key = (rec.label, rec.status, rec.error.split(":")[0] if rec.error else "")
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    return [{"label": k[0], "status": k[1], "error": k[2], "count": n} for k, n in ranked]
