"""Accuracy with truth by construction, small: snippets of an installed package's Python files
(copied into a temporary directory at test time, never committed) injected into this
repository's own modules as type 1 (verbatim), type 2 (renamed identifiers, a literal changed,
re-indented) and type 3 (a line inserted, one deleted, two swapped); recall per type and length
over the injected lines, false positives outside them, seeded (``bench/bench_kb_accuracy.py`` is
the full benchmark)."""

from __future__ import annotations

import random
import shutil
import sys
from importlib import metadata
from pathlib import Path

import pytest

from verifier.kb import build_kb, match_texts
from verifier.kb.normalize import normalize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from accuracy_injection import TYPES, Snippet, inject, pick_snippet, transform

pytestmark = pytest.mark.slow

DISTS = ["click", "jinja2"]
MARK = "checkpoint_marker_for_the_test = len(locals())"
LENGTHS = (10, 15, 20, 30)
TRIALS = 20

#: The issue's targets, recall over copies of 10 lines or more (min_match_lines 10) …
TARGET = {"type1": 0.95, "type2": 0.95, "type3": 0.80}
#: … and the least recall of each length: a copy of 10 lines must be found from its first line to
#: its last, and renamed identifiers leave few lines equal to tell it from code that only looks
#: alike (here 90-100% by length; type 2 at 10 lines 89-93% in bench_kb_accuracy.py, short of the
#: target).
FLOOR = {"type1": 0.90, "type2": 0.85, "type3": 0.80}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[Path]]:
    """The packages' Python files copied into a directory, and a KB of it."""
    root = tmp_path_factory.mktemp("third-party")
    sources = []
    for name in DISTS:
        dist = metadata.distribution(name)
        for item in dist.files or ():
            if str(item).endswith(".py"):
                target = root / name / str(item)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(dist.locate_file(item), target)
                if target.stat().st_size > 3_000:
                    sources.append(target)
    kb = root.parent / "third-party.kb"
    build_kb(kb, [root], jobs=2)
    return kb, sorted(sources)


@pytest.fixture(scope="module")
def measured(corpus) -> dict[tuple[str, int], list[int]]:
    """Per (type, length): injected lines found, injected lines, own lines matched around the
    copies, own lines there."""
    kb, sources = corpus
    own = sorted((REPO / "verifier" / "kb").glob("*.py"))
    items, truth = [], {}
    for kind in TYPES:
        for length in LENGTHS:
            rng = random.Random(f"{kind}{length}")
            made = 0
            while made < TRIALS:
                src = rng.choice(sources)
                snippet = pick_snippet(src.read_text(encoding="utf-8"), src.name, length, rng)
                if snippet is None:
                    continue
                target = rng.choice(own)
                text, first, last = inject(target.read_text(encoding="utf-8"),
                                           transform(snippet, kind, rng, MARK), rng)
                path = f"{kind}/{length}/{made}/{target.name}"
                items.append((path, text))
                truth[path] = (kind, length, text, first, last)
                made += 1
    found = match_texts(kb, items, min_lines=10, jobs=2)
    cells: dict[tuple[str, int], list[int]] = {}
    for path, (kind, length, text, first, last) in truth.items():
        norm = normalize(text, path)
        inside = {n for n, line in zip(norm.numbers, norm.lines)
                  if first <= n <= last and b"checkpoint_marker" not in line}
        outside = set(norm.numbers) - set(range(first, last + 1))
        matched = set(found[path].line_numbers) if path in found else set()
        cell = cells.setdefault((kind, length), [0, 0, 0, 0])
        cell[0] += len(matched & inside)
        cell[1] += len(inside)
        cell[2] += len(matched & outside)
        cell[3] += len(outside)
    return cells


@pytest.mark.parametrize("kind", TYPES)
def test_recall_per_type_meets_the_target_over_copies_of_10_lines_or_more(measured, kind):
    hit = sum(measured[(kind, n)][0] for n in LENGTHS)
    total = sum(measured[(kind, n)][1] for n in LENGTHS)
    per_length = {n: round(measured[(kind, n)][0] / measured[(kind, n)][1], 3) for n in LENGTHS}
    assert hit >= TARGET[kind] * total, (kind, round(hit / total, 3), per_length)
    assert all(r >= FLOOR[kind] for r in per_length.values()), (kind, per_length)


def test_few_false_positives_around_the_copies(measured):
    false = sum(cell[2] for cell in measured.values())
    own = sum(cell[3] for cell in measured.values())
    assert false <= 0.005 * own, (false, own)


def test_own_modules_are_not_matched(corpus):
    kb, _ = corpus
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


def test_a_type_2_copy_renames_no_keyword_or_builtin():
    rng = random.Random(3)
    cut = "    and value is not None\n    or isinstance(value, str)\n    for cls in handlers:\n"
    for _ in range(20):
        renamed = transform(cut, "type2", rng, MARK)
        for word in ("and", "not", "None", "isinstance", "str", "for", "cls", " in "):
            assert word in renamed


#: A snippet whose docstring and string hold the names its code uses.
DOCUMENTED = '''def scale(values, factor=3):
    """Scale values by factor: values times factor."""
    total = 0
    for value in values:
        total += value * factor
    label = "values scaled"
    return total, label
'''


def test_a_type_2_copy_renames_code_never_strings_or_docstrings():
    snippet = Snippet.of(DOCUMENTED)
    for seed in range(20):
        renamed = transform(snippet, "type2", random.Random(seed), MARK)
        assert '"""Scale values by factor: values times factor."""' in renamed
        assert "renamed_" in renamed
        # the literal changed is a number or a one-line string, never the docstring
        assert renamed.count('"""') == 2


def test_a_type_3_copy_edits_effective_lines_only():
    """The line deleted and the line inserted are code, not docstring: the copy keeps as many
    effective lines as the snippet had, one of them the inserted line."""
    snippet = Snippet.of(DOCUMENTED)
    before = normalize(DOCUMENTED, "a.py")
    for seed in range(20):
        edited = transform(snippet, "type3", random.Random(seed), MARK)
        after = normalize(edited, "a.py")
        assert len(after.lines) == len(before.lines)
        assert sum(b"checkpoint_marker" in line for line in after.lines) == 1
        assert '"""Scale values by factor: values times factor."""' in edited
        assert after.lines[0] == before.lines[0] and after.lines[-1] == before.lines[-1]
