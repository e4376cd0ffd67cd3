"""Benchmark the inventory stage against plain pygount on the same tree, in one run.

Runs ``pygount --format=json --duplicates`` with generated-code detection off (the plain tool, one process),
then ``build_inventory`` cold (empty cache), warm (nothing changed) and warm after one source
file changed, and prints the wall times, the ratios and the effective-line totals of both.

    .venv/bin/python bench/bench_inventory.py [PATH] [--jobs N]

PATH defaults to a copy of the installed ``pygments`` package (real third-party code, copied into
a temporary directory at run time, never into this repository).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _pygount(tree: Path, out: Path) -> tuple[float, int]:
    exe = Path(sys.executable).with_name("pygount")
    start = time.perf_counter()
    subprocess.run([str(exe), "--format=json", f"--out={out}", "--duplicates",
                    "--generated=[regex](?!x)x", "--folders-to-skip=.git,.hg,.svn",
                    str(tree)], check=True, timeout=3600)
    elapsed = time.perf_counter() - start
    data = json.loads(out.read_text())
    lines = sum(f.get("sourceCount", 0) for f in data.get("files", []))  # code + string lines
    return elapsed, lines


def main() -> None:
    """Parse arguments, run both tools on the same tree and print the figures."""
    from verifier.origin.inventory import build_inventory
    from verifier.source import open_source

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as work:
        work_dir = Path(work)
        if args.path:
            tree = work_dir / "tree"
            shutil.copytree(args.path, tree, symlinks=True)
        else:
            import pygments
            tree = work_dir / "pygments"
            shutil.copytree(Path(pygments.__file__).parent, tree,
                            ignore=shutil.ignore_patterns("__pycache__"))
        plain_s, plain_lines = _pygount(tree, work_dir / "pygount.json")
        cache = work_dir / "cache"
        with open_source(tree) as source:
            start = time.perf_counter()
            cold = build_inventory(source, cache=cache, jobs=args.jobs)
            cold_s = time.perf_counter() - start
            start = time.perf_counter()
            warm = build_inventory(source, cache=cache, jobs=args.jobs)
            warm_s = time.perf_counter() - start
            changed = next(Path(source.root, e.path) for e in cold.entries
                           if e.kind == "source" and e.lines > 10)
            with changed.open("a", encoding="utf-8") as handle:
                handle.write("\nbench_marker = 1\n")
            start = time.perf_counter()
            one = build_inventory(source, cache=cache, jobs=args.jobs)
            one_s = time.perf_counter() - start
        ours = sum(e.lines for e in cold.entries)
        sources = sum(e.kind == "source" for e in cold.entries)
        print(f"tree: {len(cold.entries)} files, {sources} source files, jobs={args.jobs}")
        print(f"plain pygount:           {plain_s:8.2f} s  {plain_lines} effective lines")
        print(f"inventory cold:          {cold_s:8.2f} s  {ours} effective lines  "
              f"({plain_s / cold_s:.1f}x pygount)")
        print(f"inventory warm:          {warm_s:8.2f} s  counted {warm.counted}, cached "
              f"{warm.cached}  ({plain_s / warm_s:.0f}x pygount)")
        print(f"inventory 1 file changed:{one_s:8.2f} s  counted {one.counted}, cached "
              f"{one.cached}  ({plain_s / one_s:.0f}x pygount)")
        print(f"peak RSS (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main()
