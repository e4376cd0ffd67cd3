"""Winnowing fingerprints (Schleimer, Wilkerson and Aiken, SIGMOD 2003) over normalized source,
in two streams.

*Exact stream*: the normalized lines of a file are concatenated into one byte stream; every
k-gram (k consecutive bytes) is hashed with xxh32, and in every window of w consecutive k-gram
hashes the minimum is selected (robust winnowing: on a tie the previously selected hash is kept,
else the rightmost minimum). Guarantee: any byte sequence shared by two files and at least
``t = w + k - 1`` bytes long yields at least one shared fingerprint; nothing shorter than k bytes
ever does. k = 30 bytes is about one statement, long enough that a shared k-gram is rarely a
coincidence; w = 200 (t = 229 bytes, 5 to 8 lines of normalized code).

*Shape stream*: the abstract text of each line (``NormalizedText.abstract``: identifiers,
numbers and strings one symbol each, keywords and operators kept) is what a copy with renamed
identifiers and changed literals still shares. From each line, the *shape gram* is that line and
the next ones until they hold ``SHAPE_K`` (20) bytes (about 2.5 lines), hashed with xxh32 under
another seed, and winnowed with ``SHAPE_W`` (5): any 5 consecutive grams shared yield a
fingerprint. In a gram a line of data (no name, no keyword: a row of a table, a line inside a
multi-line string) is its normalized text, since abstracted every row is like any other. A gram
never holds a line of an import statement (every file has some, and one list of imports is much
like another), and a shape a file selects more than ``SHAPE_REPEATS`` times is left out.

Per line, a KB stores two 4-bit hashes (one byte): of the normalized line and of its abstract
text (``shape_hash``: 0 for a line of an import statement). The matcher walks a run's ends
outwards over lines whose abstract texts agree and counts the lines equal in both files to tell
a copy from code that only looks alike (``verifier.kb.snippets``).

The parameters were chosen with ``bench/bench_kb_accuracy.py`` and the KB's size against its
source (bench/README.md): the exact stream alone at w = 80 found 25% of 10-line copies with
renamed identifiers, both streams find 82%; w = 160 and a shape window of 4 found a few more
but made the KB 10.7% of the source. Shape grams of 20 bytes instead of 30 survive edits every
two or three lines: copies of 10 lines with a line inserted, one deleted and two swapped were
found 77% -> 84% (a KB's size does not change: one gram a line either way), and false positives
on this repository's own code rose from 0.10% to 0.24% of its lines (target 0.5%).
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

import xxhash

from verifier.kb.normalize import ABSTRACT_IMPORT, NormalizedText, is_data

#: k-gram length in normalized bytes.
K = 30
#: Winnowing window, in k-grams.
W = 200
#: Bits of each per-line hash a KB stores (of the line and of its abstract text: one byte a line).
LINE_HASH_BITS = 4
#: Shape grams: abstract lines (``NormalizedText.abstract``) of at least this many bytes …
SHAPE_K = 20
#: … winnowed with this window, in grams.
SHAPE_W = 5
#: A shape selected more often than this in one file is left out of its fingerprints.
SHAPE_REPEATS = 8
_IMPORT = ABSTRACT_IMPORT.encode()
#: What starts the text of a line of data in a shape gram (the line itself follows).
_DATA = b"\x05"
#: Seed of the shape grams' xxh32 (another stream than the exact k-grams').
SHAPE_SEED = 0x5348

_BIG_ENDIAN = sys.byteorder == "big"
#: Most lines a stored record can describe (files over 1 MiB are not indexed).
MAX_RECORD_LINES = 1 << 21


def kgram_hashes(stream: bytes, k: int) -> list[int]:
    """xxh32 of every k-byte substring of ``stream``, in order."""
    digest = xxhash.xxh32_intdigest
    return [digest(stream[i:i + k]) for i in range(len(stream) - k + 1)]


def winnow(hashes: list[int], w: int) -> list[int]:
    """Positions selected by robust winnowing with window ``w`` (ascending, no duplicates)."""
    n = len(hashes)
    if n == 0:
        return []
    if n <= w:
        low = min(hashes)
        return [n - 1 - hashes[::-1].index(low)]
    window = hashes[:w]
    low = min(window)
    at = w - 1 - window[::-1].index(low)
    chosen = [at]
    for end in range(w, n):
        value = hashes[end]
        if value < low:
            low, at = value, end
            chosen.append(end)
        elif at <= end - w:  # the minimum left the window: rightmost minimum of the new window
            window = hashes[end - w + 1:end + 1]
            low = min(window)
            at = end - window[::-1].index(low)
            chosen.append(at)
    return chosen


def line_hash(line: bytes) -> int:
    """An 8-bit hash of a normalized line (a KB keeps 4 bits: whether lines are equal)."""
    return xxhash.xxh32_intdigest(line) & 0xFF


def shape_hash(shape: bytes) -> int:
    """A 4-bit hash of a line's abstract text, never 0; 0 for a line of an import statement."""
    return 0 if shape == _IMPORT else 1 + xxhash.xxh32_intdigest(shape) % 15


def shape_grams(shapes: Sequence[bytes], k: int) -> tuple[list[int], list[int], list[int]]:
    """Hashes of the *shape grams* of lines (their abstract text, or ``_DATA`` and the line itself
    for a line of data): from each line, it and the lines after it until they hold at least ``k``
    bytes; with the line each starts on and its span (line breaks it crosses). A tail shorter than
    ``k`` bytes has none, and neither has a gram holding a line of an import statement."""
    digest = xxhash.xxh32_intdigest
    hashes: list[int] = []
    starts: list[int] = []
    spans: list[int] = []
    n = len(shapes)
    end = 0  # one past the gram's last line
    size = 0
    last_import = -1
    for first in range(n):
        while size < k and end < n:
            if shapes[end] == _IMPORT:
                last_import = end
            size += len(shapes[end])
            end += 1
        if size < k:
            break
        if last_import < first:
            value = digest(b"\n".join(shapes[first:end]), SHAPE_SEED)
            hashes.append(value)
            starts.append(first)
            spans.append(end - 1 - first)
        size -= len(shapes[first])
    return hashes, starts, spans


@dataclass(frozen=True)
class Fingerprints:
    """A file's winnowed fingerprints with what is needed to map them back to lines: the exact
    stream (k-grams of the normalized text) then the shape stream (grams of abstract lines)."""

    hashes: array
    """xxh32 of each selected gram (``array('I')``): the exact stream in stream order, then the
    shape stream in line order."""
    starts: tuple[int, ...]
    """Index of the normalized line where each selected gram starts."""
    spans: tuple[int, ...]
    """How many line breaks each selected gram crosses (its last line is ``start + span``)."""
    numbers: tuple[int, ...]
    """Physical (1-based) line number of each normalized line."""
    line_hashes: bytes
    """8-bit hash of each normalized line (its low 4 bits, as read from a KB)."""
    exact: int = -1
    """How many of ``hashes`` are of the exact stream (the rest are shape grams); -1: all."""
    shape_hashes: bytes = b""
    """4-bit hash of each line's abstract text (``shape_hash``: 0 for an import statement)."""

    @property
    def n_exact(self) -> int:
        """Fingerprints of the exact stream (they come first)."""
        return len(self.starts) if self.exact < 0 else self.exact


def fingerprint(text: NormalizedText, k: int = K, w: int = W, shape_k: int = SHAPE_K,
                shape_w: int = SHAPE_W) -> Fingerprints:
    """Winnowed fingerprints of normalized text: the exact stream (k-grams of ``k`` bytes,
    window ``w``) and, when the text has its abstract lines, the shape stream (shape grams of
    ``shape_k`` bytes, window ``shape_w``)."""
    stream = b"".join(text.lines)
    hashes = kgram_hashes(stream, k)
    chosen = winnow(hashes, w)
    line_starts = [0, *accumulate(len(line) for line in text.lines)][:-1]
    starts = [bisect_right(line_starts, p) - 1 for p in chosen]
    spans = [bisect_right(line_starts, p + k - 1) - 1 - first for p, first in zip(chosen, starts)]
    values = array("I", [hashes[p] for p in chosen])
    exact = len(values)
    shape_hashes = b""
    if text.abstract:
        # in a gram, a line of data is itself: abstracted, one row of a table is like any other
        texts = [_DATA + line if is_data(shape) else shape
                 for shape, line in zip(text.abstract, text.lines)]
        grams, gram_starts, gram_spans = shape_grams(texts, shape_k)
        picked = winnow(grams, shape_w)
        seen = Counter(grams[p] for p in picked)
        # a shape the file repeats (a run of like statements) says little about it
        picked = [p for p in picked if seen[grams[p]] <= SHAPE_REPEATS]
        values.extend(grams[p] for p in picked)
        starts += [gram_starts[p] for p in picked]
        spans += [gram_spans[p] for p in picked]
        shape_hashes = bytes(shape_hash(line) for line in text.abstract)
    return Fingerprints(
        hashes=values,
        starts=tuple(starts),
        spans=tuple(spans),
        numbers=text.numbers,
        line_hashes=bytes(line_hash(line) for line in text.lines),
        exact=exact,
        shape_hashes=shape_hashes,
    )


def mask_line_hashes(fps: Fingerprints, bits: int = LINE_HASH_BITS) -> Fingerprints:
    """``fps`` with line and shape hashes cut to their low ``bits`` bits (to compare with a
    KB's)."""
    if bits >= 8:
        return fps
    mask = (1 << bits) - 1
    return dataclasses.replace(fps, line_hashes=bytes(h & mask for h in fps.line_hashes),
                               shape_hashes=bytes(h & mask for h in fps.shape_hashes))


def encode(fps: Fingerprints) -> tuple[bytes, bytes]:
    """Serialize to ``(hash bytes, compressed line data)`` for the store: the count of exact
    fingerprints, where each fingerprint starts (per stream), the physical line numbers, and per
    line a byte of two 4-bit hashes (the line's, its abstract text's). Spans are not stored: a
    gram shared with a delivered file spans the lines it spans there."""
    hashes = array("I", fps.hashes)
    if _BIG_ENDIAN:
        hashes.byteswap()
    exact = fps.n_exact
    meta = bytearray()
    _put_varints(meta, (exact,))
    _put_deltas(meta, fps.starts[:exact])
    _put_deltas(meta, fps.starts[exact:])
    _put_deltas(meta, fps.numbers)
    shapes = fps.shape_hashes or bytes(len(fps.line_hashes))
    meta += bytes(((a & 15) << 4) | (b & 15) for a, b in zip(fps.line_hashes, shapes))
    return hashes.tobytes(), zlib.compress(bytes(meta), 6)


def decode_hashes(data: bytes | memoryview) -> array:
    """The ``array('I')`` of hashes from their stored bytes."""
    hashes = array("I")
    hashes.frombytes(data)
    if _BIG_ENDIAN:
        hashes.byteswap()
    return hashes


def decode(hash_data: bytes | memoryview, meta: bytes | memoryview, n_lines: int) -> Fingerprints:
    """Inverse of ``encode`` (line and shape hashes come back as 4-bit values); raises
    ``ValueError`` on damaged data."""
    hashes = decode_hashes(hash_data)
    lines = decode_lines(meta, len(hashes), n_lines)
    return dataclasses.replace(lines, hashes=hashes)


def decode_lines(meta: bytes | memoryview, n_fps: int, n_lines: int) -> Fingerprints:
    """The line data of a record of ``n_fps`` fingerprints (the second half of ``encode``), as
    ``Fingerprints`` without their hashes (a KB keeps those in its index) or spans;
    ``ValueError`` on damaged data."""
    if not 0 <= n_lines <= MAX_RECORD_LINES:
        raise ValueError(f"damaged fingerprint record: {n_lines} lines")
    if not 0 <= n_fps <= MAX_RECORD_LINES * 8:
        raise ValueError(f"damaged fingerprint record: {n_fps} fingerprints")
    try:
        # what encode() writes for this many hashes and lines: a larger stream is a zip bomb
        most = 10 * n_fps + 6 * n_lines + 16
        inflate = zlib.decompressobj()
        raw = inflate.decompress(meta, most + 1)
    except (zlib.error, ValueError) as err:
        raise ValueError(f"damaged fingerprint record: {err}") from None
    if len(raw) > most or inflate.unconsumed_tail:
        raise ValueError("damaged fingerprint record: line data longer than its record allows")
    if not inflate.eof:
        raise ValueError("damaged fingerprint record: truncated line data")
    pos, (exact,) = _get_varints(raw, 0, 1)
    if exact > n_fps:
        raise ValueError("damaged fingerprint record: more exact fingerprints than fingerprints")
    pos, starts = _get_deltas(raw, pos, exact)
    pos, shape_starts = _get_deltas(raw, pos, n_fps - exact)
    pos, numbers = _get_deltas(raw, pos, n_lines)
    packed = raw[pos:]
    starts += shape_starts
    if len(packed) != n_lines:
        raise ValueError("damaged fingerprint record: line data does not match its length")
    # starts ascend within each stream: the last of each is the furthest
    for last in (exact - 1, n_fps - 1):
        if last >= 0 and starts[last] >= n_lines:
            raise ValueError("damaged fingerprint record: line data does not match its length")
    return Fingerprints(array("I"), tuple(starts), (), tuple(numbers),
                        packed.translate(_HIGH), exact, packed.translate(_LOW))


_HIGH = bytes(b >> 4 for b in range(256))
_LOW = bytes(b & 15 for b in range(256))


def _put_varints(out: bytearray, values) -> None:
    for value in values:
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)


def _put_deltas(out: bytearray, values) -> None:
    previous = 0
    deltas = []
    for value in values:
        deltas.append(value - previous)
        previous = value
    _put_varints(out, deltas)


def _get_varints(raw: bytes, pos: int, count: int) -> tuple[int, list[int]]:
    chunk = raw[pos:pos + count]
    if len(chunk) == count and (not chunk or max(chunk) < 0x80):  # all one-byte values
        return pos + count, list(chunk)
    values = []
    size = len(raw)
    for _ in range(count):
        value = shift = 0
        while True:
            if pos >= size:
                raise ValueError("damaged fingerprint record: truncated line data")
            byte = raw[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
        values.append(value)
    return pos, values


def _get_deltas(raw: bytes, pos: int, count: int) -> tuple[int, list[int]]:
    pos, deltas = _get_varints(raw, pos, count)
    return pos, list(accumulate(deltas))
