"""Benchmark the knowledge base's inverted index: matching cost follows the delivery, not the KB.

1. Real records: ``--real`` source files of this environment's site-packages are fingerprinted
   (timed: indexing files/s per core) and form a real KB of their own (its size against their
   source: the ≤ 10% target).
2. Two KBs of ``--files`` and 10 × ``--files`` files: the real records (their true fingerprints),
   plus synthetic records of the same shape — each a real record's line data with fresh random
   fingerprints, one component per 10 files — written straight into the KB's tables in the
   layout ``KBWriter`` writes (``verifier.kb.postings``).
3. A delivery of ``--kloc`` thousand lines of Python: site-packages files that are not in the KB,
   and a share (``--copied``) of files that are. ``match_paths`` runs on it against both KBs in
   fresh processes (open, fingerprint with ``--jobs`` workers, look up, form runs), ``--rounds``
   times each; medians and their ratio are printed. Targets: ≤ 10 s on 2 cores; the larger KB
   ≤ 1.5 × the smaller.

    .venv/bin/python bench/bench_kb_index.py [--files 100000] [--kloc 100] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_MATCH = """
import json, sys, time
start = time.perf_counter()
from verifier.kb import match_paths
root, kb, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
paths = [line for line in open(sys.argv[4], encoding="utf-8").read().splitlines() if line]
found = match_paths(kb, root, paths, jobs=jobs)
print(json.dumps({"seconds": time.perf_counter() - start, "files": len(found),
                  "lines": sum(f.matched_lines for f in found.values())}))
"""


def _sources(limit_bytes: int = 200_000) -> list[Path]:
    site = Path(sysconfig.get_paths()["purelib"])
    files = sorted(p for p in site.rglob("*.py") if p.is_file() and 2_000 < p.stat().st_size
                   < limit_bytes and "test" not in p.parts)
    random.Random(1).shuffle(files)
    return files


def _real_records(files: list[Path], jobs: int) -> tuple[list[tuple], float, float, int]:
    """(path, size, n_lines, hash bytes, line data) of each file, the seconds it took, the CPU
    seconds it took (this process and its pool's workers: on a shared machine the wall clock
    also counts the others' work), bytes."""
    from verifier.kb.build import SHAPE_K, SHAPE_W, K, W, _run_tasks

    tasks = [(str(p), str(p), None, K, W, SHAPE_K, SHAPE_W) for p in files]
    before = _cpu_seconds()
    start = time.perf_counter()
    results = _run_tasks(tasks, jobs, None)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - before
    out = [(str(p), *r) for p, r in zip(files, results) if r is not None]
    return out, seconds, cpu, sum(r[1] for r in out)


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and its children that have ended."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), \
        resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _synthetic_kb(path: Path, real: list[tuple], total_files: int, seed: int) -> dict:
    """A KB of the real records (their true fingerprints) plus synthetic ones up to
    ``total_files`` files. Synthetic fingerprints are uniform random 32-bit values, so each
    bucket of the index receives a Poisson-distributed number of them: the index is generated
    bucket by bucket in the layout ``KBWriter`` writes (memory stays one bucket)."""
    from verifier.kb import postings
    from verifier.kb.store import KnowledgeBase
    from verifier.kb.winnow import K, W, decode_hashes

    rng = random.Random(seed)
    shapes = [(len(r[3]) // 4, r[2], r[4], r[1]) for r in real]
    per_file = sum(s[0] for s in shapes) / len(shapes)
    total_postings = int(per_file * total_files)
    bits = postings.bits_for(total_postings)
    kb = KnowledgeBase.create(path, k=K, w=W, index_bits=bits, page_size=4096)
    db = kb._db
    true: dict[int, list] = {}
    contents, files, components = [], [], []
    for record in range(1, total_files + 1):
        if record <= len(real):
            _, size, n_lines, hash_bytes, meta = real[record - 1]
            for position, value in enumerate(decode_hashes(hash_bytes)):
                bucket, tag = postings.bucket_and_tag(value, bits)
                true.setdefault(bucket, []).append((record, position, tag))
            n_fps = len(hash_bytes) // 4
            name = f"real{record // 10}"
        else:
            n_fps, n_lines, meta, size = shapes[record % len(shapes)]
            name = f"synthetic{record // 10}"
        contents.append((record, record, n_fps, n_lines, meta))
        if record % 10 == 1 or record == 1:
            components.append((record // 10 + 1, "python", name, "1.0", "MIT", None, None))
        files.append((record // 10 + 1, f"{name}/m{record}.py", record, size))
        if len(contents) >= 50_000:
            _rows(db, contents, files, components)
    _rows(db, contents, files, components)
    synthetic = total_postings - sum(len(e) for e in true.values())
    mean = synthetic / (1 << bits)
    low = len(real) + 1
    n_postings = 0

    def buckets():
        nonlocal n_postings
        for bucket in range(1 << bits):
            count = max(0, round(rng.gauss(mean, mean ** 0.5)))
            entries = true.get(bucket, [])
            for _ in range(count):
                record = rng.randint(low, total_files)
                entries.append((record, rng.randrange(shapes[record % len(shapes)][0]),
                                rng.getrandbits(16)))
            entries.sort()
            n_postings += len(entries)
            if entries:
                yield bucket, postings.encode(entries)
    db.executemany("INSERT INTO postings (bucket, data) VALUES (?, ?)", buckets())
    db.execute("UPDATE meta SET value = ? WHERE key = 'postings'", (str(n_postings),))
    db.commit()
    kb.close()
    return {"files": total_files, "postings": n_postings, "bits": bits,
            "bytes": path.stat().st_size}


def _rows(db: sqlite3.Connection, contents: list, files: list, components: list) -> None:
    db.executemany("INSERT INTO contents (id, digest, n_fps, n_lines, data) VALUES (?, ?, ?, ?, ?)",
                   contents)
    db.executemany("INSERT INTO files (component, path, content, size) VALUES (?, ?, ?, ?)", files)
    db.executemany("INSERT INTO components (id, kind, name, version, license, origin, purl) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", components)
    contents.clear()
    files.clear()
    components.clear()


def _delivery(root: Path, in_kb: list[Path], others: list[Path], kloc: int, copied: float
              ) -> tuple[list[str], int]:
    target = kloc * 1000
    lines = 0
    paths = []
    pools = [(in_kb, copied), (others, 1 - copied)]
    for pool, share in pools:
        budget = target * share
        used = 0
        for index, src in enumerate(pool):
            if used >= budget:
                break
            text = src.read_text(encoding="utf-8", errors="replace")
            rel = f"{'copied' if pool is in_kb else 'own'}/f{index}.py"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
            paths.append(rel)
            used += text.count("\n")
        lines += used
    return paths, lines


def _match(tree: Path, kb: Path, jobs: int, listing: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", _MATCH, str(tree), str(kb), str(jobs),
                             str(listing)], capture_output=True, text=True, timeout=3600,
                            cwd=REPO)
    if result.returncode:
        raise SystemExit(f"match failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    """Build the KBs, time matching against each, print the figures."""
    from verifier.kb import KnowledgeBase, build_kb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--real", type=int, default=2_000)
    parser.add_argument("--kloc", type=int, default=100)
    parser.add_argument("--copied", type=float, default=0.2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    sources = _sources()
    in_kb, others = sources[:args.real], sources[args.real:]
    with tempfile.TemporaryDirectory(prefix="bench-kb-index-") as work:
        work_dir = Path(work)
        real, seconds, cpu, corpus = _real_records(in_kb, args.jobs)
        print(f"indexing {len(real)} real files ({corpus / 2**20:.1f} MiB) with {args.jobs} "
              f"workers: {seconds:.1f} s = {len(real) / seconds / args.jobs:.0f} files/s per core "
              f"(target >= 100); {cpu:.1f} CPU s = {len(real) / cpu:.0f} files per CPU second")
        real_kb = work_dir / "real.kb"
        listing_dir = work_dir / "pkgs"
        listing_dir.mkdir()
        build_kb(real_kb, [_linked(listing_dir, in_kb)], jobs=args.jobs)
        with KnowledgeBase.open(real_kb) as kb:
            info = kb.info()
        print(f"  real KB: {info['files']} files, {info['fingerprints']} fingerprints, "
              f"{info['kb_bytes'] / 2**20:.2f} MiB = {info['kb_ratio'] * 100:.2f}% of its "
              f"{info['corpus_bytes'] / 2**20:.1f} MiB source (target <= 10%)")
        kbs = []
        for n in (args.files, args.files * args.scale):
            path = work_dir / f"kb{n}.kb"
            start = time.perf_counter()
            made = _synthetic_kb(path, real, n, seed=n)
            print(f"KB of {n} files: {made['postings']} fingerprint occurrences, "
                  f"{made['bits']} bucket bits, {made['bytes'] / 2**20:.0f} MiB "
                  f"(written in {time.perf_counter() - start:.0f} s)")
            kbs.append(path)
        tree = work_dir / "delivery"
        tree.mkdir()
        paths, lines = _delivery(tree, in_kb, others, args.kloc, args.copied)
        listing = work_dir / "paths.txt"
        listing.write_text("\n".join(paths), encoding="utf-8")
        print(f"delivery: {len(paths)} files, {lines} lines ({args.copied:.0%} copied from "
              "files in the KB)")
        times: dict[Path, list[float]] = {kb: [] for kb in kbs}
        found = {}
        for _ in range(args.rounds):
            for kb in kbs:
                result = _match(tree, kb, args.jobs, listing)
                times[kb].append(result["seconds"])
                found[kb] = (result["files"], result["lines"])
        small, large = (statistics.median(times[kb]) for kb in kbs)
        for kb, label in zip(kbs, (f"{args.files}", f"{args.files * args.scale}")):
            print(f"match against the {label}-file KB, median of {args.rounds}: "
                  f"{statistics.median(times[kb]):.2f} s ({', '.join(f'{t:.2f}' for t in times[kb])});"
                  f" {found[kb][1]} lines matched in {found[kb][0]} files")
        print(f"  {args.scale}x larger KB: x{large / small:.2f} (target <= 1.5); "
              f"{small:.2f} s (target <= 10 s)")


def _linked(directory: Path, files: list[Path]) -> Path:
    """A directory holding copies of ``files`` (a source ``build_kb`` reads)."""
    for index, src in enumerate(files):
        target = directory / f"f{index}.py"
        target.write_bytes(src.read_bytes())
    (directory / "PKG-INFO").write_text("Name: real\nVersion: 1\n")
    return directory


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
