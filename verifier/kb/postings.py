"""The inverted index of a knowledge base: from a fingerprint to the records holding it.

A fingerprint (a 32-bit xxh32 value) falls in the *bucket* named by its top ``bits`` bits; one
SQLite row per bucket (``postings``: ``bucket INTEGER PRIMARY KEY, data BLOB``) lists every
occurrence of every fingerprint of that bucket as an *entry*: the record (``contents.id``) and the
fingerprint's position in it, with the next 16 bits of the fingerprint (its *tag*) to tell the
fingerprints of one bucket apart. ``bits`` grows with the KB (``bits_for``: about
``TARGET_ENTRIES`` entries a bucket), so looking a fingerprint up reads one small row whatever
the KB holds: matching costs what the delivery holds, not what the KB holds.

A bucket's data: the entry count (varint), the tags (two bytes each, little-endian), then per entry
the record id as a delta from the previous entry's (entries are in record order) and the position,
both varints. With ``bits`` ≥ 16 the tag holds the rest of the fingerprint; below, a tag
matching a query fingerprint whose lower bits differ is a false hit (about ``TARGET_ENTRIES``
in 65,536 lookups). When ``kb add`` grows a KB past ``MAX_MEAN_ENTRIES`` a bucket, it is
re-bucketed from the bits it holds (``rebucket``): each more bucket bit takes one tag bit, down to
``MIN_TAG_BITS`` (a false hit per ``2 ** MIN_TAG_BITS / TARGET_ENTRIES`` lookups; one can only
lend a run a stray fingerprint, and a run needs two in order on one diagonal); past that, buckets
grow and ``kb info`` says to rebuild. Measured layouts are in ``bench/README.md``.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Iterator

_BIG_ENDIAN = sys.byteorder == "big"

#: Entries a bucket holds on average when a KB is built or re-bucketed.
TARGET_ENTRIES = 24
#: A KB is re-bucketed by ``kb add`` when its buckets average more than this many entries.
MAX_MEAN_ENTRIES = 3 * TARGET_ENTRIES
#: Fewest and most bucket bits (2^24 buckets: 400 million fingerprint occurrences at the target).
MIN_BITS, MAX_BITS = 8, 24
#: Width of a tag, and fewest of its bits a re-bucketed KB keeps known.
TAG_BITS, MIN_TAG_BITS = 16, 8
#: Most entries one bucket may hold (a hostile KB's count is checked against it).
MAX_BUCKET_ENTRIES = 1 << 22


def bits_for(postings: int) -> int:
    """Bucket bits for a KB holding ``postings`` fingerprint occurrences."""
    bits = max(1, postings // TARGET_ENTRIES).bit_length() - 1  # TARGET to 2 * TARGET a bucket
    return min(MAX_BITS, max(MIN_BITS, bits))


def known_tag_bits(bits: int) -> int:
    """Tag bits that hold fingerprint bits in a KB built with ``bits`` bucket bits."""
    return min(TAG_BITS, 32 - bits)


def bucket_and_tag(value: int, bits: int) -> tuple[int, int]:
    """The bucket a fingerprint falls in and its tag, at ``bits`` bucket bits (the tag's top bits
    are the fingerprint's next bits; past its end, zeros)."""
    rest = value & ((1 << (32 - bits)) - 1)
    shift = 32 - bits - TAG_BITS
    tag = rest >> shift if shift >= 0 else rest << -shift
    return value >> (32 - bits), tag


def encode(entries: list[tuple[int, int, int]]) -> bytes:
    """A bucket's data from its ``(record, position, tag)`` entries in record order."""
    out = bytearray()
    _varint(out, len(entries))
    out += array("H", [tag for _, _, tag in entries]).tobytes() if not _BIG_ENDIAN else \
        b"".join(tag.to_bytes(2, "little") for _, _, tag in entries)
    previous = 0
    for record, position, _ in entries:
        _varint(out, record - previous)
        _varint(out, position)
        previous = record
    return bytes(out)


def decode(data: bytes) -> list[tuple[int, int, int]]:
    """Every ``(record, position, tag)`` entry of a bucket's data; ``ValueError`` if damaged."""
    count, at = _head(data)
    return list(_entries(data, at, count, count))


def lookup(data: bytes, tags: Iterable[int], tag_bits: int = TAG_BITS
           ) -> dict[int, list[tuple[int, int]]]:
    """Per tag asked for, cut to its top ``tag_bits`` bits, the ``(record, position)`` entries of
    a bucket's data whose tag agrees on those bits (only the entries up to the last match are
    decoded); ``ValueError`` if damaged."""
    count, at = _head(data)
    column = _tags(data, at, count)
    shift = TAG_BITS - tag_bits
    asked = {tag >> shift for tag in tags}
    wanted = {index: tag >> shift for index, tag in enumerate(column) if tag >> shift in asked}
    if not wanted:
        return {}
    found: dict[int, list[tuple[int, int]]] = {}
    for index, (record, position, _) in enumerate(_entries(data, at, count, max(wanted) + 1)):
        if index in wanted:
            found.setdefault(wanted[index], []).append((record, position))
    return found


def merge(data: bytes | None, new: list[tuple[int, int, int]], dead: frozenset[int] = frozenset()
          ) -> tuple[bytes | None, int]:
    """A bucket's data with ``new`` entries (records above any it holds) appended and the entries
    of ``dead`` records dropped (``None`` when nothing is left), and how many were dropped."""
    old = decode(data) if data else []
    dropped = 0
    if dead:
        kept = [entry for entry in old if entry[0] not in dead]
        dropped = len(old) - len(kept)
        old = kept
    entries = old + new
    return (encode(entries) if entries else None), dropped


def rebucket(bucket: int, entries: list[tuple[int, int, int]], more: int
             ) -> Iterator[tuple[int, tuple[int, int, int]]]:
    """The entries of one bucket moved to a KB with ``more`` more bucket bits: (new bucket,
    entry), the tag shifted by as many bits."""
    for record, position, tag in entries:
        yield ((bucket << more) | (tag >> (TAG_BITS - more)),
               (record, position, (tag << more) & 0xFFFF))


def _head(data: bytes) -> tuple[int, int]:
    count, at = _get_varint(data, 0)
    if count > MAX_BUCKET_ENTRIES or at + 2 * count > len(data):
        raise ValueError("damaged index bucket: more entries than it holds")
    return count, at


def _tags(data: bytes, at: int, count: int) -> array:
    column = array("H")
    column.frombytes(data[at:at + 2 * count])
    if _BIG_ENDIAN:
        column.byteswap()
    return column


def _entries(data: bytes, at: int, count: int, limit: int) -> Iterator[tuple[int, int, int]]:
    tags = _tags(data, at, count)
    pos = at + 2 * count
    record = 0
    size = len(data)
    for index in range(min(count, limit)):
        values = []
        for _ in range(2):
            value = shift = 0
            while True:
                if pos >= size:
                    raise ValueError("damaged index bucket: truncated")
                byte = data[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
                if shift > 63:
                    raise ValueError("damaged index bucket: overlong number")
            values.append(value)
        record += values[0]
        yield record, values[1], tags[index]


def _varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _get_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("damaged index bucket: truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
