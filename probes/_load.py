"""A bounded loopback load client with one record per request (used by the soak and recovery probes).

Run as its own process (``python _load.py …``; standard library only), so that the harness can
measure and kill the service while the load goes on, and so that the client's threads do not compete
with the harness for its interpreter lock. Every request is written to a CSV file as it completes:
``start`` and ``end`` (Unix time, s), ``latency_ms``, ``status`` (0: no response), ``ok``, ``label``,
``error``. Locust's CSV has only per-second aggregates with rolling percentiles rounded to two
significant digits; these probes need exact windows and the exact failures around a crash.

Bounded: stops after ``--duration`` seconds, ``--max-requests`` requests, or SIGTERM/SIGINT,
whichever comes first; each request has a timeout; it talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import itertools
import json
import random
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("start", "end", "latency_ms", "status", "ok", "label", "error")


@dataclass(frozen=True)
class Record:
    """One request made by the load client."""

    start: float
    end: float
    latency_ms: float
    status: int
    ok: bool
    label: str
    error: str


def read_records(path: Path) -> list[Record]:
    """The records of a load-client CSV file, in file order (rows cut short by a kill are skipped)."""
    records: list[Record] = []
    if not path.is_file():
        return records
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            try:
                records.append(Record(float(row["start"]), float(row["end"]), float(row["latency_ms"]),
                                      int(row["status"]), row["ok"] == "1", row["label"],
                                      row.get("error") or ""))
            except (KeyError, TypeError, ValueError):
                continue
    return records


def _fill(value, i, uid):
    if isinstance(value, str):
        return value.replace("{i}", str(i)).replace("{uid}", uid)
    if isinstance(value, list):
        return [_fill(v, i, uid) for v in value]
    if isinstance(value, dict):
        return {_fill(k, i, uid): _fill(v, i, uid) for k, v in value.items()}
    return value


class _Client:
    def __init__(self, opts, requests):
        self.opts = opts
        self.requests = requests
        self.weights = [r.get("weight", 1) for r in requests]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.out = open(opts.out, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.out)
        self.writer.writerow(FIELDS)
        self.out.flush()
        self.last_flush = time.monotonic()

    def _record(self, row):
        with self.lock:
            self.writer.writerow(row)
            now = time.monotonic()
            if now - self.last_flush > 0.25:
                self.out.flush()
                self.last_flush = now

    def _next(self):
        with self.lock:
            n = next(self.counter)
        if self.opts.max_requests and n > self.opts.max_requests:
            self.stop.set()
            return None
        return n

    def worker(self, index, deadline):
        conn = None
        interval = self.opts.concurrency / self.opts.rate if self.opts.rate else 0.0
        due = time.monotonic() + (interval * index / self.opts.concurrency if interval else 0.0)
        rng = random.Random(index)
        while not self.stop.is_set() and time.monotonic() < deadline:
            if interval:
                wait = due - time.monotonic()
                if wait > 0 and self.stop.wait(min(wait, deadline - time.monotonic())):
                    break
                due = max(due + interval, time.monotonic() - interval)
                if time.monotonic() >= deadline:
                    break
            n = self._next()
            if n is None:
                break
            req = rng.choices(self.requests, self.weights)[0]
            uid = f"{index}-{n}-{uuid.uuid4().hex[:8]}"
            path = _fill(req["path"], n, uid)
            headers = dict(req.get("headers") or {})
            body = None
            if req.get("body") is not None:
                body = json.dumps(_fill(req["body"], n, uid), ensure_ascii=False).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
            label = req.get("name") or f"{req['method']} {req['path']}"
            start_wall, start = time.time(), time.monotonic()
            status, error = 0, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.opts.port, timeout=self.opts.timeout)
                conn.request(req["method"], path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = time.monotonic() - start
            expect = req.get("expect")
            ok = status in expect if expect else 0 < status < 400
            self._record((f"{start_wall:.6f}", f"{start_wall + elapsed:.6f}", f"{elapsed * 1000:.3f}",
                          status, 1 if ok else 0, label, error))
            if status == 0 and not interval:
                self.stop.wait(0.01)  # do not spin on a refused connection
        if conn is not None:
            conn.close()

    def run(self):
        deadline = time.monotonic() + self.opts.duration
        threads = [threading.Thread(target=self.worker, args=(i, deadline), daemon=True)
                   for i in range(self.opts.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.opts.duration + self.opts.timeout + 5)
        with self.lock:
            self.out.flush()
            self.out.close()


def main(argv=None):
    """Command line of the load client; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", required=True, help="JSON file: list of declared requests")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.0, help="total requests per second (0: no limit)")
    parser.add_argument("--max-requests", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--out", required=True)
    opts = parser.parse_args(argv)
    with open(opts.requests, encoding="utf-8") as handle:
        requests = json.load(handle)
    client = _Client(opts, requests)

    def stop(signum, frame):
        client.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
