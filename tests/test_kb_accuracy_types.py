"""Accuracy with truth by construction, small: snippets of installed packages' Python files
injected into this repository's own modules as type 1 (verbatim), type 2 (renamed, a literal
changed, re-indented) and type 3 (a line inserted, one deleted, two swapped); recall per type over
the injected lines and false positives outside them, seeded (``bench/bench_kb_accuracy.py`` is the
full benchmark). The KB reads the installed packages where they are; nothing third-party is
committed."""

from __future__ import annotations

import random
import sys
from importlib import metadata
from pathlib import Path

import pytest

from verifier.kb import build_kb, match_texts
from verifier.kb.normalize import normalize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from accuracy_injection import TYPES, inject, pick_snippet, transform

pytestmark = pytest.mark.slow

DISTS = ["click", "jinja2"]
MARK = "checkpoint_marker_for_the_test = len(locals())"


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kb") / "deps.kb"
    build_kb(path, python_envs=[sys.prefix], only=DISTS, jobs=2)
    return path


def _sources() -> list[Path]:
    files = []
    for name in DISTS:
        dist = metadata.distribution(name)
        files += [Path(dist.locate_file(f)) for f in dist.files or () if str(f).endswith(".py")]
    return sorted(p for p in files if p.stat().st_size > 3_000)


def _recall(kb: Path, kind: str, length: int, trials: int = 15) -> tuple[float, float]:
    rng = random.Random(f"{kind}{length}")
    sources = _sources()
    own = sorted((REPO / "verifier" / "kb").glob("*.py"))
    items, truth = [], {}
    while len(items) < trials:
        src = rng.choice(sources)
        snippet = pick_snippet(src.read_text(encoding="utf-8"), src.name, length, rng)
        if snippet is None:
            continue
        target = rng.choice(own)
        text, first, last = inject(target.read_text(encoding="utf-8"),
                                   transform(snippet, kind, rng, MARK), rng)
        path = f"t{len(items)}/{target.name}"
        items.append((path, text))
        truth[path] = (text, first, last)
    found = match_texts(kb, items, min_lines=10)
    hit = total = false = outside_total = 0
    for path, (text, first, last) in truth.items():
        norm = normalize(text, path)
        inside = {n for n, line in zip(norm.numbers, norm.lines)
                  if first <= n <= last and b"checkpoint_marker" not in line}
        outside = set(norm.numbers) - set(range(first, last + 1))
        matched = set(found[path].line_numbers) if path in found else set()
        hit += len(matched & inside)
        total += len(inside)
        false += len(matched & outside)
        outside_total += len(outside)
    return hit / total, false / outside_total


@pytest.mark.parametrize("kind,length,least", [
    ("type1", 10, 0.95), ("type1", 20, 0.95),
    ("type2", 30, 0.80),
    ("type3", 20, 0.80), ("type3", 30, 0.80),
])
def test_recall_per_type_and_no_false_positives_around_the_copies(kb, kind, length, least):
    recall, false = _recall(kb, kind, length)
    assert recall >= least, (kind, length, recall)
    assert false <= 0.005, (kind, length, false)


def test_own_modules_are_not_matched(kb):
    own = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8")
           for p in sorted((REPO / "verifier").rglob("*.py"))}
    found = match_texts(kb, own.items(), min_lines=10)
    total = sum(len(normalize(t, p).numbers) for p, t in own.items())
    assert sum(f.matched_lines for f in found.values()) <= 0.005 * total, {
        p: (f.matched_lines, f.matches[0].kb_file) for p, f in found.items()}


def test_the_injection_types_are_what_they_say():
    rng = random.Random(1)
    snippet = ("def total(items, limit=10):\n    count = 0\n    for item in items:\n"
               "        count += item.size\n        if count > limit:\n            return 'over'\n"
               "    return count\n")
    assert transform(snippet, "type1", rng, MARK) == snippet
    renamed = transform(snippet, "type2", rng, MARK)
    assert renamed != snippet and "renamed_" in renamed and "\n  " in renamed
    assert len(normalize(renamed, "a.py").lines) == len(normalize(snippet, "a.py").lines)
    edited = transform(snippet, "type3", rng, MARK)
    assert MARK in edited and len(edited.splitlines()) == len(snippet.splitlines())
    assert TYPES == ("type1", "type2", "type3")
