"""Winnowing fingerprints (Schleimer, Wilkerson and Aiken, SIGMOD 2003) over normalized source.

The normalized lines of a file are concatenated into one byte stream; every k-gram (k consecutive
bytes) is hashed with xxh32, and in every window of w consecutive k-gram hashes the minimum is
selected (robust winnowing: on a tie the previously selected hash is kept, else the rightmost
minimum). Guarantee: any byte sequence shared by two files and at least ``t = w + k - 1`` bytes long
yields at least one shared fingerprint; nothing shorter than k bytes ever does.

Choice of k = 30 and w = 80: normalized code averages about 28 bytes per effective line (measured
over this environment's site-packages), so t = 109 bytes is about 4 lines, well below the 10-line
minimum run, and a 10-line copy carries at least 3 shared fingerprints (about 6 expected, density
2 / (w + 1)). k = 30 bytes is about one statement, long enough that a shared k-gram is rarely a
coincidence. The density keeps the index under 10% of the source it fingerprints; the per-line
hash lets the matcher recover the up to ``w - 1`` bytes at each end of a copy that winnowing
cannot see. A KB stores the low ``LINE_HASH_BITS`` (4) bits of each line hash, two lines to a
byte (KBs written before stored 8 bits, one line to a byte; both are read): the hash only decides
whether to widen a run end by one more line, and a random line (1 in 16) passing is stopped by the
next line (at most ``w // 16`` lines per end).
"""

from __future__ import annotations

import sys
import zlib
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import xxhash

from verifier.kb.normalize import NormalizedText

#: k-gram length in normalized bytes.
K = 30
#: Winnowing window, in k-grams.
W = 80
#: Bits of each per-line hash a new KB stores (4: two lines per byte; 8 in older KBs).
LINE_HASH_BITS = 4

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
    """An 8-bit hash of a normalized line, used to extend runs line by line."""
    return xxhash.xxh32_intdigest(line) & 0xFF


@dataclass(frozen=True)
class Fingerprints:
    """A file's winnowed fingerprints with what is needed to map them back to lines."""

    hashes: array
    """xxh32 of each selected k-gram (``array('I')``), in stream order."""
    starts: tuple[int, ...]
    """Index of the normalized line where each selected k-gram starts."""
    spans: tuple[int, ...]
    """How many line breaks each selected k-gram crosses (its last line is ``start + span``)."""
    numbers: tuple[int, ...]
    """Physical (1-based) line number of each normalized line."""
    line_hashes: bytes
    """8-bit hash of each normalized line (its low 4 bits, as read from a 4-bit KB)."""


def fingerprint(text: NormalizedText, k: int = K, w: int = W) -> Fingerprints:
    """Winnowed fingerprints of normalized text."""
    stream = b"".join(text.lines)
    hashes = kgram_hashes(stream, k)
    chosen = winnow(hashes, w)
    line_starts = [0, *accumulate(len(line) for line in text.lines)][:-1]
    starts = [bisect_right(line_starts, p) - 1 for p in chosen]
    spans = [bisect_right(line_starts, p + k - 1) - 1 - first for p, first in zip(chosen, starts)]
    return Fingerprints(
        hashes=array("I", [hashes[p] for p in chosen]),
        starts=tuple(starts),
        spans=tuple(spans),
        numbers=text.numbers,
        line_hashes=bytes(line_hash(line) for line in text.lines),
    )


def mask_line_hashes(fps: Fingerprints, bits: int) -> Fingerprints:
    """``fps`` with line hashes cut to their low ``bits`` bits (to compare with a KB's)."""
    if bits >= 8:
        return fps
    mask = (1 << bits) - 1
    return Fingerprints(fps.hashes, fps.starts, fps.spans, fps.numbers,
                        bytes(h & mask for h in fps.line_hashes))


def encode(fps: Fingerprints, line_bits: int = 8) -> tuple[bytes, bytes]:
    """Serialize to ``(hash bytes, compressed line data)`` for the store, with ``line_bits`` (8
    or 4) bits of each line hash."""
    hashes = array("I", fps.hashes)
    if _BIG_ENDIAN:
        hashes.byteswap()
    meta = bytearray()
    _put_deltas(meta, fps.starts)
    _put_varints(meta, fps.spans)
    _put_deltas(meta, fps.numbers)
    if line_bits == 4:
        lh = fps.line_hashes + b"\0"
        meta += bytes(((lh[i] & 15) << 4) | (lh[i + 1] & 15) for i in range(0, len(lh) - 1, 2))
    else:
        meta += fps.line_hashes
    return hashes.tobytes(), zlib.compress(bytes(meta), 6)


def decode_hashes(data: bytes | memoryview) -> array:
    """The ``array('I')`` of hashes from their stored bytes."""
    hashes = array("I")
    hashes.frombytes(data)
    if _BIG_ENDIAN:
        hashes.byteswap()
    return hashes


def decode(hash_data: bytes | memoryview, meta: bytes | memoryview, n_lines: int,
           line_bits: int = 8) -> Fingerprints:
    """Inverse of ``encode`` (line hashes come back as ``line_bits``-bit values); raises
    ``ValueError`` on damaged data."""
    hashes = decode_hashes(hash_data)
    lines = decode_lines(meta, len(hashes), n_lines, line_bits)
    return Fingerprints(hashes, lines.starts, lines.spans, lines.numbers, lines.line_hashes)


def decode_lines(meta: bytes | memoryview, n_fps: int, n_lines: int,
                 line_bits: int = 8) -> Fingerprints:
    """The line data of a record of ``n_fps`` fingerprints (the second half of ``encode``), as
    ``Fingerprints`` without their hashes (a KB keeps those in its index); ``ValueError`` on
    damaged data."""
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
    pos, starts = _get_deltas(raw, 0, n_fps)
    pos, spans = _get_varints(raw, pos, n_fps)
    pos, numbers = _get_deltas(raw, pos, n_lines)
    line_hashes = raw[pos:]
    if line_bits == 4:
        if len(line_hashes) != (n_lines + 1) // 2:
            raise ValueError("damaged fingerprint record: line data does not match its length")
        line_hashes = bytes(h for byte in line_hashes for h in (byte >> 4, byte & 15))[:n_lines]
    # k-grams end in stream order, so the last one reaches the furthest line
    if len(line_hashes) != n_lines or (starts and starts[-1] + spans[-1] >= n_lines):
        raise ValueError("damaged fingerprint record: line data does not match its length")
    return Fingerprints(array("I"), tuple(starts), tuple(spans), tuple(numbers),
                        bytes(line_hashes))


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
