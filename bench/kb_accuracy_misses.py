"""The copies snippet matching misses, one by one: what bench_kb_accuracy.py counts, shown.

Injects copies of one length (default 10 effective lines) the way ``bench_kb_accuracy.py`` does,
matches them against a KB of this repository's declared dependencies (built once into ``--kb``,
then reused), prints the recall per type, and for every copy not found whole: its KB file, how
much of it was found, what its lines are (imports, data — no name, no keyword —, or code) and the
copy itself with each line's abstract text, so a change to the matcher can start from its misses.

    .venv/bin/python bench/kb_accuracy_misses.py [--types type2,type3] [--trials 150] [--seed 7]
        [--length 10] [--kb /tmp/deps.kb] [--show 20]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from accuracy_injection import inject, pick_snippet, transform
from bench_kb_accuracy import OWN_LINE, _dependency_files, _installed, _own_sources


class Miss(NamedTuple):
    """A copy not found whole."""

    kind: str
    path: str
    source: Path
    found: int
    lines: int
    normalized: Any
    inside: list[int]
    """Indexes of the copy's effective lines in ``normalized`` (the inserted line left out)."""
    matches: Any


def main() -> None:
    """Inject, match, print the recall and every miss."""
    from verifier.kb import build_kb, match_texts
    from verifier.kb.deps import declared_dependencies
    from verifier.kb.normalize import ABSTRACT_IMPORT, is_data, normalize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--types", default="type2,type3")
    parser.add_argument("--trials", type=int, default=150, help="copies per type")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--length", type=int, default=10, help="effective lines a copy")
    parser.add_argument("--kb", type=Path, default=Path("/tmp/verifier-deps.kb"),
                        help="the dependencies' KB: built there when missing, else reused")
    parser.add_argument("--show", type=int, default=20, help="misses printed in full")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    deps, _ = declared_dependencies(REPO)
    names = sorted({d.name for d in deps if d.direct and d.ecosystem == "pypi"})
    if not args.kb.exists():
        build_kb(args.kb, python_envs=[sys.prefix], only=[n for n in names if _installed(n)],
                 jobs=args.jobs)
    own, sources = _own_sources(), _dependency_files(names)
    rng = random.Random(args.seed)
    trials = []
    for kind in args.types.split(","):
        while sum(1 for t in trials if t[0] == kind) < args.trials:
            src = rng.choice(sources)
            snippet = pick_snippet(src.read_text(encoding="utf-8", errors="replace"), src.name,
                                   args.length, rng)
            if snippet is None:
                continue
            block = transform(snippet, kind, rng, OWN_LINE)
            target = rng.choice(sorted(own))
            text, first, last = inject(own[target], block, rng)
            trials.append((kind, f"{kind}/{len(trials)}/{target}", text, first, last, src))
    found = match_texts(args.kb, [(t[1], t[2]) for t in trials], min_lines=args.length,
                        jobs=args.jobs)
    cells: dict[str, list[int]] = {}
    misses: list[Miss] = []
    for kind, path, text, first, last, src in trials:
        norm = normalize(text, path)
        inside = [i for i, n in enumerate(norm.numbers) if first <= n <= last
                  and b"checkpoint_marker" not in norm.lines[i]]
        matched = set(found[path].line_numbers) if path in found else set()
        hit = sum(1 for i in inside if norm.numbers[i] in matched)
        cell = cells.setdefault(kind, [0, 0])
        cell[0] += hit
        cell[1] += len(inside)
        if hit < len(inside):
            misses.append(Miss(kind, path, src, hit, len(inside), norm, inside, found.get(path)))
    for kind, (hit, total) in cells.items():
        print(f"{kind}: recall {hit / total * 100:.1f}% of {total} lines")
    imports = ABSTRACT_IMPORT.encode()
    what = Counter()
    for miss in misses:
        shapes = [miss.normalized.abstract[i] for i in miss.inside]
        share = {"imports": sum(s == imports for s in shapes),
                 "data": sum(s != imports and is_data(s) for s in shapes)}
        label = max(share, key=share.__getitem__) if max(share.values()) * 2 >= len(shapes) \
            else "code"
        what[(miss.kind, label, "partly found" if miss.found else "not found")] += 1
    print(f"misses: {len(misses)}")
    for key, count in sorted(what.items()):
        print(f"  {' '.join(key)}: {count}")
    for miss in misses[:args.show]:
        print(f"\n{miss.kind} {miss.path}: {miss.found} of {miss.lines} lines found; copied from "
              f"{miss.source}")
        if miss.matches:
            print("  runs found: " + ", ".join(f"{m.lines} of {m.kb_file}"
                                               for m in miss.matches.matches))
        norm, first, last = miss.normalized, miss.inside[0], miss.inside[-1]
        for i in range(max(0, first - 1), min(len(norm.lines), last + 2)):
            mark = "*" if first <= i <= last else " "
            print(f"  {norm.numbers[i]:5d} {mark} {norm.abstract[i]!r:42.42} {norm.lines[i][:60]!r}")


if __name__ == "__main__":
    main()
