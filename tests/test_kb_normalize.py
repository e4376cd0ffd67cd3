"""Normalization and winnowing: invariance to formatting, comment stripping across languages, the
winnowing guarantee, and the stored record format."""

from __future__ import annotations

import dataclasses
import random

import pytest

from verifier.kb.normalize import decode_source, is_data, is_source_name, normalize
from verifier.kb.winnow import K, W, decode, encode, fingerprint, kgram_hashes, mask_line_hashes, winnow

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
        ours, theirs = fingerprint(got), fingerprint(expected)
        assert ours.hashes[:ours.n_exact] == theirs.hashes[:theirs.n_exact]
        if variant.lower() == variant or "def" in variant:  # keywords are read as written
            assert ours.hashes == theirs.hashes and got.abstract == expected.abstract


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
    assert 0 < fps.n_exact < len(fps.hashes)  # both streams
    hashes, meta = encode(fps)
    back = decode(hashes, meta, len(fps.numbers))
    # spans are not stored; line and shape hashes come back as their low 4 bits
    assert back == dataclasses.replace(mask_line_hashes(fps), spans=())
    assert max(back.line_hashes) < 16 and max(back.shape_hashes) < 16
    with pytest.raises(ValueError):
        decode(hashes, meta[:-3], len(fps.numbers))
    with pytest.raises(ValueError):
        decode(hashes, meta, len(fps.numbers) + 1)
    with pytest.raises(ValueError, match="more exact fingerprints"):
        decode(hashes[:8], meta, len(fps.numbers))


def test_abstract_lines_ignore_renamed_identifiers_changed_literals_and_indentation():
    copy = (PY.replace("apply_delta", "adjust").replace("item", "row").replace("new", "total")
            .replace('"quantity"', "'qty'").replace("< 0", "< 1").replace("    ", "  "))
    ours, theirs = normalize(PY, "ledger.py"), normalize(copy, "ledger.py")
    assert ours.numbers == theirs.numbers and ours.lines != theirs.lines
    assert ours.abstract == theirs.abstract and len(ours.abstract) == len(ours.lines)
    shape = dict(zip(ours.lines, ours.abstract))
    assert shape[b"ifnew<0:"] == b"if\x01<\x02:"  # keywords stay, names and numbers do not
    assert shape[b'item["quantity"]=new'] == b"\x01[\x03]=\x01"
    assert fingerprint(ours).hashes[fingerprint(ours).n_exact:] == \
        fingerprint(theirs).hashes[fingerprint(theirs).n_exact:]


def test_keywords_are_kept_as_written_and_imports_are_marked():
    text = ("from pkg.sub import (\n    Alpha,\n    beta,\n)\nimport os\n"
            "if isinstance(x, And) and y is None:\n    return True\n")
    lines = normalize(text, "a.py").abstract
    assert lines[:5] == (b"\x04",) * 5  # every line of an import statement
    assert lines[5:] == (b"if\x01(\x01,\x01)and\x01isnone:", b"returntrue")
    c = normalize('#include <stdio.h>\nint total = count(items, 10) + "x";\n', "a.c").abstract
    assert c == (b"\x04", b"int\x01=\x01(\x01,\x02)+\x03;")


def test_lines_of_data_keep_their_text_in_the_abstract_text():
    text = 'TEMPLATE = """\nHello {name},\nyour order\n"""\nvalue = 1\n'
    norm = normalize(text, "a.py")
    assert norm.abstract == (b"\x01=\x03", b"\x03", b"\x03", b'\x03', b"\x01=\x02")
    assert [is_data(shape) for shape in norm.abstract] == [False, True, True, True, False]
    table = normalize("CODES = [\n    ('alpha', 1),\n    ('beta', 2),\n]\n", "a.py")
    assert table.abstract == (b"\x01=[", b"(\x03,\x02),", b"(\x03,\x02),", b"]")
    # in the shape grams a row of a table is itself: abstracted, every row is like any other
    grams = fingerprint(table, shape_k=8, shape_w=1)
    assert fingerprint(normalize("CODES = [\n    ('gamma', 1),\n    ('beta', 2),\n]\n", "a.py"),
                       shape_k=8, shape_w=1).hashes[grams.n_exact:] != grams.hashes[grams.n_exact:]


def test_other_languages_get_abstract_lines_from_their_lexer():
    norm = normalize("local count = 10\nfunction add(a) return a + count end\n", "a.lua")
    assert norm.abstract == (b"local\x01=\x02", b"function\x01(\x01)return\x01+\x01end")


def test_shape_grams_never_hold_an_import_line():
    from verifier.kb.winnow import shape_grams, shape_hash

    shapes = [b"\x04", b"\x01=\x01(\x01)", b"\x01=\x01(\x01)", b"\x04", b"if\x01:", b"return\x01",
              b"return\x02", b"\x01+=\x02"]
    hashes, starts, spans = shape_grams(shapes, 12)
    for first, span in zip(starts, spans):
        assert b"\x04" not in shapes[first:first + span + 1]
        assert sum(len(x) for x in shapes[first:first + span + 1]) >= 12
    assert starts == [1, 4, 5] and spans == [1, 2, 1] and len(hashes) == 3
    data = [b"\x05('alpha',1),", b"\x05('beta',2),", b"\x05('gamma',3),", b"\x05('delta',4),"]
    _, starts, _ = shape_grams([b"\x01=[", *data], 12)
    assert starts == [0, 1, 2, 3, 4]
    assert shape_hash(b"\x04") == 0 and all(0 < shape_hash(x) < 16 for x in shapes if x != b"\x04")

