"""Normalization and winnowing: invariance to formatting, comment stripping across languages, the
winnowing guarantee, and the stored record format."""

from __future__ import annotations

import random

import pytest

from verifier.kb.normalize import decode_source, is_source_name, normalize
from verifier.kb.winnow import K, W, decode, encode, fingerprint, kgram_hashes, winnow

PY = '''"""Stock ledger helpers."""
import json  # serialization


def apply_delta(item, delta):
    """Apply a stock delta, refusing to go negative."""
    # the quantity must stay non-negative
    new = item["quantity"] + delta
    if new < 0:
        raise ValueError("stock would go negative: %d" % new)
    item["quantity"] = new
    return json.dumps(item)
'''

C = """/* Copyright (c) Example */
#include <stdio.h>
#define LIMIT 10 // upper bound

int count(const char *s) {
    int n = 0; /* running total */
    while (*s++) n++;   // count
    return n;
}
"""

JS = """// helpers
function total(items) {
  /* sum the quantities */
  return items.reduce((a, b) => a + b.quantity, 0); // done
}
"""


def _variants(text: str) -> list[str]:
    lines = text.split("\n")
    two = "\n".join(" " * (len(l) - len(l.lstrip(" ")) // 2) + l.lstrip(" ") for l in lines)
    tabs = "\n".join("\t" * ((len(l) - len(l.lstrip(" "))) // 4) + l.lstrip(" ") for l in lines)
    return [text, text.replace("\n", "\r\n"), text.replace("\n", "\r"), two, tabs,
            text.replace("# the quantity must stay non-negative", "# NOTE: rewritten comment")
                .replace("# serialization", "# changed, and longer than before"),
            text.upper().replace("IMPORT", "import")]


def test_normalized_python_ignores_line_endings_indentation_comments_and_case():
    expected = normalize(PY, "ledger.py")
    assert expected.lines[0] == b"importjson"
    assert b"#" not in b"".join(expected.lines)
    assert all(b'"""' not in line for line in expected.lines)  # docstrings are comments here
    for variant in _variants(PY):
        got = normalize(variant, "ledger.py")
        assert got.lines == expected.lines
        assert fingerprint(got).hashes == fingerprint(expected).hashes


def test_physical_line_numbers_survive_crlf():
    assert normalize(PY, "a.py").numbers == normalize(PY.replace("\n", "\r\n"), "a.py").numbers
    assert normalize(PY, "a.py").numbers[0] == 2  # the module docstring line is not effective


@pytest.mark.parametrize("text, name, kept, dropped", [
    (C, "count.c", [b"#include<stdio.h>", b"#definelimit10", b"intn=0;", b"while(*s++)n++;"],
     [b"copyright", b"runningtotal", b"upperbound"]),
    (JS, "total.js", [b"functiontotal(items){", b"returnitems.reduce((a,b)=>a+b.quantity,0);"],
     [b"helpers", b"sumthe", b"done"]),
])
def test_comments_are_stripped_in_other_languages(text, name, kept, dropped):
    lines = normalize(text, name).lines
    for line in kept:
        assert line in lines
    blob = b"".join(lines)
    for word in dropped:
        assert word not in blob


def test_unknown_extension_still_normalizes_whitespace_and_case():
    assert normalize("A  b\r\n\tC\n", "notes.unknownext").lines == (b"ab", b"c")


def test_source_names_and_decoding():
    assert is_source_name("pkg/mod.py") and is_source_name("x.TSX")
    assert not is_source_name("app.min.js") and not is_source_name("README.md")
    assert decode_source(b"\xef\xbb\xbfx = 1") == "x = 1"
    assert decode_source(b"caf\xe9") == "caf\xe9"  # Latin-1 fallback


def test_winnow_guarantee_on_shared_substrings():
    rng = random.Random(7)
    t = K + W - 1
    for _ in range(20):
        shared = bytes(rng.randrange(33, 127) for _ in range(t))
        a = bytes(rng.randrange(33, 127) for _ in range(rng.randrange(0, 300))) + shared \
            + bytes(rng.randrange(33, 127) for _ in range(200))
        b = bytes(rng.randrange(33, 127) for _ in range(rng.randrange(0, 300))) + shared
        ha, hb = kgram_hashes(a, K), kgram_hashes(b, K)
        assert {ha[p] for p in winnow(ha, W)} & {hb[p] for p in winnow(hb, W)}


def test_winnow_density_and_robust_ties():
    rng = random.Random(3)
    hashes = [rng.getrandbits(32) for _ in range(40_000)]
    chosen = winnow(hashes, W)
    assert chosen == sorted(set(chosen))
    assert all(b - a <= W for a, b in zip(chosen, chosen[1:]))
    density = len(chosen) / len(hashes)
    assert 1.6 / (W + 1) < density < 2.4 / (W + 1)
    assert len(winnow([5] * 1000, W)) == len(range(W - 1, 1000, W))  # ties: keep the selected one
    assert winnow([], W) == [] and winnow([3, 1, 2], W) == [1]


def test_record_roundtrip_and_damage():
    fps = fingerprint(normalize(PY * 5, "ledger.py"))
    hashes, meta = encode(fps)
    back = decode(hashes, meta, len(fps.numbers))
    assert back == fps
    with pytest.raises(ValueError):
        decode(hashes, meta[:-3], len(fps.numbers))
    with pytest.raises(ValueError):
        decode(hashes, meta, len(fps.numbers) + 1)


def test_record_with_4_bit_line_hashes_is_smaller_and_decodes_to_the_low_bits():
    from verifier.kb.winnow import mask_line_hashes

    body = "".join(f"value_{i} = compute({i}, 'k{i * 7919 % 1000}')\n" for i in range(200))
    for text in (body, body + "extra = 1\n"):  # even and odd numbers of lines
        fps = fingerprint(normalize(text, "ledger.py"))
        hashes, meta = encode(fps, 4)
        back = decode(hashes, meta, len(fps.numbers), 4)
        assert back == mask_line_hashes(fps, 4) and max(back.line_hashes) < 16
        assert len(meta) < len(encode(fps)[1])
        with pytest.raises(ValueError):
            decode(hashes, meta, len(fps.numbers) + 2, 4)
