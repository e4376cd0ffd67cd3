"""The inverted index (``verifier.kb.postings``): its bucket encoding, lookups, growth by
re-bucketing, and replacement dropping the entries of records no file holds any more. Matching
through the index finds what a fresh build finds, whatever way the KB got there."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from verifier.kb import KnowledgeBase, add_to_kb, build_kb, match_texts, postings


def _module(seed: int, functions: int = 12) -> str:
    """A Python module of our own making: ``functions`` small distinct functions."""
    rng = random.Random(seed)
    parts = []
    for index in range(functions):
        names = [f"v{seed}_{index}_{j}" for j in range(6)]
        body = "\n".join(f"    {name} = {rng.randint(0, 10**6)} * len(items) + {j}"
                         for j, name in enumerate(names))
        parts.append(f"def handler_{seed}_{index}(items):\n{body}\n"
                     f"    return {' + '.join(names)}\n")
    return "\n\n".join(parts)


def _package(root: Path, name: str, version: str, seeds: list[int]) -> Path:
    pkg = root / f"{name}-{version}"
    (pkg / name).mkdir(parents=True)
    (pkg / "PKG-INFO").write_text(f"Name: {name}\nVersion: {version}\nLicense: MIT\n")
    for seed in seeds:
        (pkg / name / f"m{seed}.py").write_text(_module(seed))
    return pkg


def test_bucket_encoding_round_trips_and_lookup_finds_only_its_tags():
    rng = random.Random(5)
    entries = sorted((rng.randrange(1, 10**6), rng.randrange(5000), rng.getrandbits(16))
                     for _ in range(200))
    data = postings.encode(entries)
    assert postings.decode(data) == entries
    want = {entries[7][2], entries[150][2]}
    found = postings.lookup(data, want)
    for tag in want:
        assert sorted(found[tag]) == sorted((r, p) for r, p, t in entries if t == tag)
    assert postings.lookup(data, [t ^ 0xFFFF for t in want if t ^ 0xFFFF not in
                                  {e[2] for e in entries}]) == {}


@pytest.mark.parametrize("bad", [b"", b"\x05\x00", b"\x02\x01\x00\x02\x00\x81", b"\xff" * 12])
def test_a_damaged_bucket_is_a_value_error(bad):
    with pytest.raises(ValueError, match="damaged index bucket"):
        postings.decode(bad)


def test_rebucketing_keeps_every_fingerprint_findable():
    rng = random.Random(9)
    values = [rng.getrandbits(32) for _ in range(300)]
    bits, more = 9, 3
    old: dict[int, list] = {}
    for record, value in enumerate(values, 1):
        bucket, tag = postings.bucket_and_tag(value, bits)
        old.setdefault(bucket, []).append((record, 0, tag))
    new: dict[int, list] = {}
    for bucket, entries in old.items():
        for moved, entry in postings.rebucket(bucket, entries, more):
            new.setdefault(moved, []).append(entry)
    tag_bits = postings.known_tag_bits(bits) - more
    for record, value in enumerate(values, 1):
        bucket, tag = postings.bucket_and_tag(value, bits + more)
        found = postings.lookup(postings.encode(sorted(new[bucket])), [tag], tag_bits)
        assert (record, 0) in found[tag >> (16 - tag_bits)]


def test_add_grows_and_rebuckets_and_matches_like_a_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setattr(postings, "MIN_BITS", 1)
    monkeypatch.setattr(postings, "MAX_MEAN_ENTRIES", 4)
    first = _package(tmp_path, "alpha", "1.0", [1, 2])
    more = [_package(tmp_path, f"pkg{i}", "1.0", [10 + 3 * i, 11 + 3 * i, 12 + 3 * i])
            for i in range(4)]
    grown, fresh = tmp_path / "grown.kb", tmp_path / "fresh.kb"
    build_kb(grown, [first], jobs=1)
    with KnowledgeBase.open(grown) as kb:
        bits_before = kb.index_bits
    for pkg in more:
        add_to_kb(grown, [pkg], jobs=1)
    build_kb(fresh, [first, *more], jobs=1)
    with KnowledgeBase.open(grown) as kb:
        assert kb.index_bits > bits_before and kb.tag_bits < 16
        grown_info = kb.info()
    with KnowledgeBase.open(fresh) as kb:
        fresh_info = kb.info()
    assert grown_info["postings"] == fresh_info["postings"] == fresh_info["fingerprints"]
    texts = [(f"mine{seed}.py", "# ours\n" + _module(seed)) for seed in (1, 2, 13, 20)]
    texts.append(("own.py", _module(999)))
    found_grown, found_fresh = match_texts(grown, texts), match_texts(fresh, texts)
    summary = {p: (m.matched_lines, [x.component for x in m.matches])
               for p, m in found_fresh.items()}
    assert set(summary) == {"mine1.py", "mine2.py", "mine13.py", "mine20.py"}
    assert {p: (m.matched_lines, [x.component for x in m.matches])
            for p, m in found_grown.items()} == summary


def test_replacing_a_component_drops_its_old_index_entries(tmp_path):
    old = _package(tmp_path / "old", "alpha", "1.0", [1, 2])
    new = _package(tmp_path / "new", "alpha", "1.0", [3])
    kb_path = tmp_path / "kb.kb"
    build_kb(kb_path, [old], jobs=1)
    report = add_to_kb(kb_path, [new], jobs=1)
    assert report.components_replaced == 1
    with KnowledgeBase.open(kb_path) as kb:
        info = kb.info()
        entries = sum(len(postings.decode(data)) for _, data in kb.buckets(range(1 << 16)))
    assert info["postings"] == info["fingerprints"] == entries
    assert not match_texts(kb_path, [("a.py", _module(1))])
    assert match_texts(kb_path, [("b.py", _module(3))])


def test_match_reads_only_what_the_delivery_names(tmp_path):
    """The matcher asks the KB for the buckets of the delivery's fingerprints and the records and
    files they name, never for the whole of a table."""
    pkgs = [_package(tmp_path, f"p{i}", "1.0", [100 + i]) for i in range(6)]
    kb_path = tmp_path / "kb.kb"
    build_kb(kb_path, pkgs, jobs=1)
    statements: list[str] = []
    with KnowledgeBase.open(kb_path) as kb:
        kb._db.set_trace_callback(statements.append)
        found = match_texts(kb, [("x.py", _module(102))])
    assert list(found) == ["x.py"] and found["x.py"].matches[0].component == "p2"
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert reads and all(" WHERE " in s.upper() for s in reads), reads


def test_a_large_kb_moves_to_larger_pages(tmp_path, monkeypatch):
    """Small KBs keep 1 KiB pages (their many one-page tables); past a size they are vacuumed to
    4 KiB pages, which index buckets and records fill better."""
    import sqlite3

    from verifier.kb import store

    kb_path = tmp_path / "kb.kb"
    build_kb(kb_path, [_package(tmp_path, "alpha", "1.0", [1, 2])], jobs=1)
    assert sqlite3.connect(kb_path).execute("PRAGMA page_size").fetchone()[0] == 1024
    monkeypatch.setattr(store, "_LARGE_POSTINGS", 10)
    add_to_kb(kb_path, [_package(tmp_path, "beta", "1.0", [3])], jobs=1)
    assert sqlite3.connect(kb_path).execute("PRAGMA page_size").fetchone()[0] == 4096
    assert match_texts(kb_path, [("a.py", _module(1))]) and match_texts(
        kb_path, [("b.py", _module(3))])
