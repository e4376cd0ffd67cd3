"""Benchmark snippet matching accuracy with truth by construction.

A KB of this repository's declared dependencies (their installed distributions); snippets of
10, 15, 20 and 30 effective lines taken at random from the dependencies' Python files are
injected into this repository's own sources as type 1 (verbatim), type 2 (identifiers renamed,
a literal changed, re-indented) and type 3 (a line inserted, one deleted, two swapped)
(``bench/accuracy_injection.py``). For each ``min_match_lines`` the recall of injected lines per
type and length is printed, and the false positives: matched own lines, in the pristine sources and
outside the injected blocks. Targets: type 1 and 2 recall >= 95% for runs of >= 10 lines, type 3
>= 80%, false positives <= 0.5% of own lines.

    .venv/bin/python bench/bench_kb_accuracy.py [--trials 40] [--min-lines 6,10,15] [--jobs 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from accuracy_injection import TYPES, inject, pick_snippet, transform

LENGTHS = (10, 15, 20, 30)
OWN_LINE = "checkpoint_marker_for_the_bench = len(locals())"


def _own_sources() -> dict[str, str]:
    out = {}
    for folder in ("verifier", "probes"):
        for path in sorted((REPO / folder).rglob("*.py")):
            out[path.relative_to(REPO).as_posix()] = path.read_text(encoding="utf-8")
    return out


def _dependency_files(names: list[str]) -> list[Path]:
    files = []
    for name in names:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for item in dist.files or ():
            if str(item).endswith(".py") and "/tests/" not in f"/{item}":
                path = Path(dist.locate_file(item))
                if path.is_file() and 1_500 < path.stat().st_size < 200_000:
                    files.append(path)
    return sorted(files)


def main() -> None:
    """Build the KB, inject, match, print recall and false positives."""
    from verifier.kb import build_kb, match_texts
    from verifier.kb.deps import declared_dependencies
    from verifier.kb.normalize import normalize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="injections per type and length")
    parser.add_argument("--min-lines", default="6,10,15")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    deps, _ = declared_dependencies(REPO)
    names = sorted({d.name for d in deps if d.direct and d.ecosystem == "pypi"})
    own = _own_sources()
    with tempfile.TemporaryDirectory(prefix="bench-kb-accuracy-") as work:
        kb = Path(work) / "deps.kb"
        start = time.perf_counter()
        report = build_kb(kb, python_envs=[sys.prefix], only=[n for n in names if _installed(n)],
                          jobs=args.jobs)
        print(f"KB of this repository's dependencies: {report.components_added} distributions, "
              f"{report.files_indexed} files, {time.perf_counter() - start:.0f} s")
        sources = _dependency_files(names)
        trials = []
        own_names = sorted(own)
        for kind in TYPES:
            for length in LENGTHS:
                made = 0
                while made < args.trials:
                    src = rng.choice(sources)
                    text = src.read_text(encoding="utf-8", errors="replace")
                    snippet = pick_snippet(text, src.name, length, rng)
                    if snippet is None:
                        continue
                    block = transform(snippet, kind, rng, OWN_LINE)
                    target = rng.choice(own_names)
                    result, first, last = inject(own[target], block, rng)
                    path = f"{kind}/L{length}/{made}/{target}"
                    trials.append((kind, length, path, result, first, last))
                    made += 1
        own_effective = {p: normalize(t, p) for p, t in own.items()}
        total_own = sum(len(n.numbers) for n in own_effective.values())
        for min_lines in [int(x) for x in args.min_lines.split(",")]:
            start = time.perf_counter()
            pristine = match_texts(kb, own.items(), min_lines=min_lines, jobs=args.jobs)
            fp_pristine = sum(f.matched_lines for f in pristine.values())
            found = match_texts(kb, [(p, t) for _, _, p, t, _, _ in trials], min_lines=min_lines,
                                jobs=args.jobs)
            seconds = time.perf_counter() - start
            stats: dict[tuple[str, int], list[int]] = {}
            fp_out = own_out = 0
            for kind, length, path, text, first, last in trials:
                norm = normalize(text, path)
                inside = {n for n, line in zip(norm.numbers, norm.lines)
                          if first <= n <= last and b"checkpoint_marker" not in line}
                outside = {n for n in norm.numbers if not first <= n <= last}
                matched = set(found[path].line_numbers) if path in found else set()
                cell = stats.setdefault((kind, length), [0, 0])
                cell[0] += len(matched & inside)
                cell[1] += len(inside)
                fp_out += len(matched & outside)
                own_out += len(outside)
            print(f"min_match_lines {min_lines} ({seconds:.0f} s):")
            for kind in TYPES:
                cells = [stats[(kind, length)] for length in LENGTHS]
                row = ", ".join(f"{length} lines {c[0] / c[1] * 100:5.1f}%"
                                for length, c in zip(LENGTHS, cells))
                print(f"  recall {kind}: {row}")
            print(f"  false positives: pristine own sources {fp_pristine}/{total_own} lines "
                  f"= {fp_pristine / total_own * 100:.2f}%; around injections {fp_out}/{own_out} "
                  f"= {fp_out / own_out * 100:.2f}% (target <= 0.5%)")
            for path, matches in sorted(pristine.items())[:5]:
                print(f"    {path}: {matches.matched_lines} lines like "
                      f"{matches.matches[0].component} {matches.matches[0].kb_file}")


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


if __name__ == "__main__":
    main()
