"""Benchmark: the harness's locust probe against bare ``locust --headless`` on the same endpoint.

Starts the sample fixture service once, then alternates N pairs (bare Locust, then the probe) with
the same generated locustfile, users, spawn rate and run time. Prints, per pair and overall, the
achieved requests per second and the wall-clock time beyond the declared run time.
Targets: rps ratio (probe ÷ bare) >= 0.95; probe overhead <= 3 s beyond run time.

    .venv/bin/python bench/bench_locust.py [--pairs 3] [--run-time 10] [--users 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from verifier.builtin_probes._locust_csv import read_stats
from verifier.builtin_probes._locust_run import locust_command
from verifier.builtin_probes.locust_probe import LocustProbe
from verifier.probe import ProbeContext
from verifier.proc import run_tool
from verifier.service import Service, ServiceConfig

ENDPOINT = {"path": "/health"}


def _bare(locustfile: Path, host: str, args: argparse.Namespace, out: Path) -> tuple[float, float]:
    argv = [*locust_command(), "--headless", "-f", str(locustfile), "--host", host, "-u", str(args.users),
            "-r", str(args.users), "-t", f"{args.run_time}s", "--csv", str(out / "bare"), "--only-summary"]
    began = time.monotonic()
    run = run_tool(argv, cwd=out, timeout_s=args.run_time + 60, out_dir=out, name="bare")
    wall = time.monotonic() - began
    if run.returncode not in (0, 1):
        raise SystemExit(f"bare locust failed ({run.returncode}): {run.tail()}")
    total, _ = read_stats(out / "bare")
    return total.rps, wall


def _probe(service: Service, args: argparse.Namespace, run_dir: Path) -> tuple[float, float, Path]:
    evidence = run_dir / "probe"
    evidence.mkdir(parents=True)
    probe_args = LocustProbe.Args.model_validate(
        {"endpoints": [ENDPOINT], "users": args.users, "spawn_rate": args.users, "run_time": args.run_time})
    ctx = ProbeContext(repo=ROOT / "fixtures" / "sample-delivery", run_dir=run_dir, evidence_dir=evidence,
                       args=probe_args, spec=None, timeout_s=args.run_time + 120, service=service)
    began = time.monotonic()
    outcome = LocustProbe().run(ctx)
    wall = time.monotonic() - began
    rps = outcome.measurement("rps").value
    return rps, wall, evidence / "locustfile_generated.py"


def main() -> int:
    """Run the pairs and print the figures; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--run-time", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    config = ServiceConfig(command="{python} -m inventory_api --port {port} --db {data_dir}/bench.db",
                           ready="http://127.0.0.1:{port}/health")
    with tempfile.TemporaryDirectory(prefix="bench-locust-") as tmp:
        work = Path(tmp)
        rows = []
        with Service(config, repo=ROOT / "fixtures" / "sample-delivery", log_dir=work / "service") as svc:
            locustfile = None
            for n in range(args.pairs):
                pair = work / f"pair{n}"
                if locustfile is None:  # the first probe run writes the locustfile both then use
                    p_rps, p_wall, locustfile = _probe(svc, args, pair / "run")
                    (pair / "bare").mkdir(parents=True)
                    b_rps, b_wall = _bare(locustfile, svc.base_url, args, pair / "bare")
                else:
                    (pair / "bare").mkdir(parents=True)
                    b_rps, b_wall = _bare(locustfile, svc.base_url, args, pair / "bare")
                    p_rps, p_wall, _ = _probe(svc, args, pair / "run")
                rows.append((b_rps, b_wall, p_rps, p_wall))
                print(f"pair {n + 1}: bare {b_rps:8.1f} rps {b_wall:6.2f} s | "
                      f"probe {p_rps:8.1f} rps {p_wall:6.2f} s | ratio {p_rps / b_rps:.3f}")
    ratio = statistics.mean(r[2] for r in rows) / statistics.mean(r[0] for r in rows)
    probe_overhead = statistics.mean(r[3] for r in rows) - args.run_time
    bare_overhead = statistics.mean(r[1] for r in rows) - args.run_time
    print(f"rps ratio (probe / bare, mean of {args.pairs} pairs): {ratio:.3f}  (target >= 0.95)")
    print(f"wall-clock beyond the {args.run_time} s run time: probe {probe_overhead:.2f} s, "
          f"bare {bare_overhead:.2f} s  (target: probe <= 3 s)")
    return 0 if ratio >= 0.95 and probe_overhead <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
