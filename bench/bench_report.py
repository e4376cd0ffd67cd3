"""Benchmark: the HTML report of a run over a 50,000-file repository.

Targets: rendered in <= 5 s, file <= 5 MB. For scale it also renders the bare per-file table with plain
Jinja2 (the same 50,000 rows, no report around them) on the same input, in the same process, and prints
the ratio. The origin file table is synthesised (tests/support/report_sample.py) — rendering is what is measured.

    .venv/bin/python bench/bench_report.py [--files 50000]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.report_sample import build_sample_run
from verifier.report import LIMITS, load_run, render_html

_BARE = Environment(autoescape=True).from_string(
    "<table>{% for f in files %}<tr><td>{{ f.path }}</td><td>{{ f.language }}</td><td>{{ f.lines }}</td>"
    "<td>{{ f.origin }}</td><td>{{ f.reason }}</td></tr>\n{% endfor %}</table>")


def main() -> int:
    """Run the benchmark and print its figures; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = build_sample_run(Path(tmp), n_files=args.files)
        files = json.loads((run / "origin" / "origin.json").read_text())["files"]
        ours, bare = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = load_run(run)  # reading results.json and the file table is part of the job
            html = render_html(result, run, "zh")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            table = _BARE.render(files=json.loads((run / "origin" / "origin.json").read_text())["files"])
            bare.append(time.perf_counter() - start)
        size = len(html.encode("utf-8"))
        t_ours, t_bare = min(ours), min(bare)
        rows = len(re.findall(r"<tr><td>[^<]*<td>", html))
        print(f"files in the repository: {len(files):,}; rows in the HTML file table: {rows:,} "
              f"(byte budget {LIMITS['html']['file_bytes'] / 1e6:.1f} MB; the rest: directory roll-up and "
              "a pointer to the evidence file)")
        print(f"verifier report (html, zh): {t_ours:.2f} s (best of {args.repeat}), {size / 1e6:.2f} MB")
        print(f"plain Jinja2, bare table of all {len(files):,} rows: {t_bare:.2f} s, "
              f"{len(table.encode('utf-8')) / 1e6:.2f} MB")
        print(f"ratio verifier / bare table: time {t_ours / t_bare:.2f}x")
        ok = t_ours <= 5.0 and size <= 5_000_000
        print("targets (<= 5 s, <= 5 MB):", "met" if ok else "NOT met")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
