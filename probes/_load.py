"""A bounded loopback load client with one record per request (used by the soak and recovery probes).

Run as its own process (``python _load.py …``; standard library only), so that the harness can
measure and kill the service while the load goes on, and so that the client's threads do not compete
with the harness for its interpreter lock. Every request is written to a CSV file as it completes:
``start`` and ``end`` (Unix time, s), ``latency_ms``, ``status`` (0: no response), ``ok``, ``label``,
``error``. Locust's CSV has only per-second aggregates with rolling percentiles rounded to two
significant digits; these probes need exact windows and the exact failures around a crash.

Bounded: stops after ``--duration`` seconds, ``--max-requests`` requests, or SIGTERM/SIGINT,
whichever comes first; each request has a timeout; it talks to 127.0.0.1 only.

With ``--login FILE`` (``verifier.product.login.LoginConfig.client_config``) each client thread is a
simulated user that logs in first (``{user}`` in the login is its number, 1…), sends the token with
every request not declared ``auth: false``, and logs in again after an answer 401. Each login is a
request like the others in the records (labelled ``LOGIN METHOD PATH``).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import http.cookies
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


def _fill_user(value, user):
    if isinstance(value, str):
        return value.replace("{user}", str(user))
    if isinstance(value, list):
        return [_fill_user(v, user) for v in value]
    if isinstance(value, dict):
        return {_fill_user(k, user): _fill_user(v, user) for k, v in value.items()}
    return value


def token_of(login, status, headers, body):
    """The token in a login answer (``login`` as ``client_config`` describes it), or None."""
    expect = login.get("expect")
    if not (status in expect if expect else 200 <= status < 300):
        return None
    token = login["token"]
    value = None
    if token["kind"] == "json":
        try:
            value = json.loads(body.decode("utf-8"))
            for step in token["path"]:
                value = value[step]
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None
        value = value if isinstance(value, str) else json.dumps(value)
    elif token["kind"] == "header":
        value = next((v for k, v in headers if k.lower() == token["name"].lower()), None)
    else:
        for key, text in headers:
            if key.lower() == "set-cookie":
                jar = http.cookies.SimpleCookie()
                try:
                    jar.load(text)
                except http.cookies.CookieError:
                    continue
                if token["name"] in jar:
                    value = jar[token["name"]].value
                    break
    value = (value or "").strip()
    return value if value and "\r" not in value and "\n" not in value else None


class _Client:
    def __init__(self, opts, requests, login=None):
        self.opts = opts
        self.login = login
        self.requests = requests
        self.weights = [r.get("weight", 1) for r in requests]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counter = itertools.count(1)
        self.out = open(opts.out, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by stop()
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
        auth = None  # the headers carrying this simulated user's token, once logged in
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
            logging_in = self.login is not None and auth is None
            if logging_in:
                req = self.login
                user = index + 1
                path = _fill_user(req["path"], user)
                headers = dict(req.get("headers") or {})
                body = None
                if req.get("body") is not None:
                    body = json.dumps(_fill_user(req["body"], user), ensure_ascii=False).encode("utf-8")
                label = req["label"]
            else:
                req = rng.choices(self.requests, self.weights)[0]
                uid = f"{index}-{n}-{uuid.uuid4().hex[:8]}"
                path = _fill(req["path"], n, uid)
                headers = {**(auth if auth and req.get("auth", True) else {}), **(req.get("headers") or {})}
                body = None
                if req.get("body") is not None:
                    body = json.dumps(_fill(req["body"], n, uid), ensure_ascii=False).encode("utf-8")
                    headers.setdefault("Content-Type", "application/json")
                label = req.get("name") or f"{req['method']} {req['path']}"
            start_wall, start = time.time(), time.monotonic()
            status, error, answer, got = 0, "", b"", []
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.opts.port, timeout=self.opts.timeout)
                conn.request(req["method"], path, body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
                status = resp.status
                got = resp.getheaders()
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = time.monotonic() - start
            if logging_in:
                token = token_of(self.login, status, got, answer) if status else None
                ok = token is not None
                if ok:
                    send = self.login["send"]
                    auth = {send["header"]: send["value"].replace("{token}", token)}
                elif status and not error:
                    error = "login gave no token"
            else:
                expect = req.get("expect")
                ok = status in expect if expect else 0 < status < 400
                if status == 401 and self.login is not None and req.get("auth", True):
                    auth = None  # the token is no longer accepted: log in again
            self._record((f"{start_wall:.6f}", f"{start_wall + elapsed:.6f}", f"{elapsed * 1000:.3f}",
                          status, 1 if ok else 0, label, error))
            if (status == 0 or (logging_in and not ok)) and not interval:
                self.stop.wait(0.01)  # do not spin on a refused connection or a refused login
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
    parser.add_argument("--login", help="JSON file: how each simulated user logs in")
    opts = parser.parse_args(argv)
    with open(opts.requests, encoding="utf-8") as handle:
        requests = json.load(handle)
    login = None
    if opts.login:
        with open(opts.login, encoding="utf-8") as handle:
            login = json.load(handle)
    client = _Client(opts, requests, login)

    def stop(signum, frame):
        client.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
