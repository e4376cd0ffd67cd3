"""Effective-line counting of one source file's bytes with pygount (pygments lexers).

Runs in worker processes: takes plain data (file name, bytes, or the path of a file over the
counting limit, read here in pieces) and returns a plain dict, so results can be cached as JSON
by content hash.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import os
import re

import pygments
import pygount
from pygount.analysis import SourceAnalysis, SourceState, encoding_from_header

#: Encodings tried, in order, after a BOM and a declared coding: UTF-8, then GB18030 (a superset of
#: GBK and GB2312, the usual encodings of Chinese source), then Windows-1252.
FALLBACK_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "cp1252")

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
         (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
TEXT_BOMS: tuple[bytes, ...] = tuple(bom for bom, _ in _BOMS)

PROBLEM_UNDECODABLE = "undecodable"

logging.getLogger("pygount").setLevel(logging.ERROR)


def tool_version() -> str:
    """The counter's identity, part of every cache key and of the stated counting rule."""
    return f"pygount {pygount.__version__}, pygments {pygments.__version__}"


#: Signatures of binary formats (executables, object code, archives, images, databases …).
BINARY_MAGIC: tuple[bytes, ...] = (
    b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b",
    b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"\x28\xb5\x2f\xfd",
    b"\x89PNG", b"GIF87a", b"GIF89a", b"\xff\xd8\xff", b"\x00asm", b"SQLite format 3\x00",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"!<arch>\n", b"\x00\x00\x01\x00", b"RIFF",
    b"OggS", b"ID3", b"\x1a\x45\xdf\xa3", b"wOFF", b"wOF2", b"\x00\x01\x00\x00\x00")
#: Share of control bytes (other than tab, line breaks, form feed and escape) from which content
#: is binary.
BINARY_CONTROL_SHARE = 0.10
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x0b\x1b") + b"\x7f"


def looks_binary(head: bytes) -> bool:
    """Whether a file's first bytes are binary content: a binary format's signature (with a NUL
    byte or another control byte in the head, so text that merely starts like one is not), or at
    least ``BINARY_CONTROL_SHARE`` control bytes. UTF-16/32 text (BOM or NUL pattern) is not
    binary; a text file with a stray NUL byte is not binary."""
    if not head or wide_encoding(head) is not None:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL))
    if controls and head.startswith(BINARY_MAGIC) and not head.startswith(b"MZ"):
        return True
    if head.startswith(b"MZ") and b"\0" in head[:64]:  # DOS/Windows executable
        return True
    return controls >= BINARY_CONTROL_SHARE * len(head)


def wide_encoding(head: bytes) -> str | None:
    """The UTF-16/32 encoding of text whose line breaks are not single bytes, from a file's first
    bytes: ``utf-16``/``utf-32`` by their BOM; without a BOM ``utf-16-le``/``utf-16-be`` when at
    least 30% of the odd (LE) or even (BE) bytes are NUL, hardly any of the others, and the head
    decodes as such; else ``None``."""
    for bom, encoding in _BOMS:
        if head.startswith(bom) and encoding != "utf-8-sig":
            return encoding
    sample = head[:len(head) & ~1]
    if len(sample) < 4 or b"\0" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= 0.3 * half and others <= 0.02 * half:
            try:
                text = sample.decode(encoding)
            except UnicodeDecodeError:  # a lone surrogate at the cut is fine, garbage is not
                try:
                    text = sample[:-2].decode(encoding)
                except UnicodeDecodeError:
                    return None
            controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\x0b\x1b")
            return encoding if controls <= 0.01 * len(text) else None
    return None


#: GB2312 hanzi (lead B0-F7) and punctuation/full-width rows (A1, A3), trail A1-FE.
_GB_COMMON = re.compile(rb"[\xb0-\xf7\xa1\xa3][\xa1-\xfe]")
#: Big5 frequently used hanzi (lead A4-C6) and punctuation rows (A1-A3), trail 40-7E or A1-FE.
_BIG5_COMMON = re.compile(rb"[\xa1-\xa3\xa4-\xc6][\x40-\x7e\xa1-\xfe]")
_DOUBLE = re.compile(rb"[\x81-\xfe][\x30-\x39\x40-\x7e\x80-\xfe]")


def prefers_big5(data: bytes) -> bool:
    """For bytes that decode both as GB18030 and as Big5 (cp950): whether Big5 is the likelier
    reading. Each double-byte character is checked against the common range of each encoding
    (GB2312 hanzi and punctuation; Big5 frequently used hanzi and punctuation); Big5 wins only with
    more characters in its common range, so a tie stays GB18030. Big5 text read as GB18030 falls
    into GBK's rare extension rows (its trail bytes 40-7E), GBK text read as Big5 into Big5's less
    used rows (its lead bytes C7-F7)."""
    gb = big5 = 0
    for match in _DOUBLE.finditer(data, 0, 256 * 1024):
        pair = match.group()
        gb += _GB_COMMON.fullmatch(pair) is not None
        big5 += _BIG5_COMMON.fullmatch(pair) is not None
    return big5 > gb


def decode_text(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` for ``data``: BOM, else UTF-16 by its NUL pattern (``wide_encoding``),
    else UTF-8, else a declared coding (``-*- coding`` comment or XML prolog), else GB18030 — or
    Big5 (cp950) when it decodes too and ``prefers_big5`` — else Windows-1252, else UTF-8 when at
    most 0.5% of it is invalid (replaced); ``None`` when nothing fits (``undecodable``)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                return None
    wide = wide_encoding(data[:8192])
    if wide is not None:
        try:
            return data.decode(wide), wide
        except UnicodeDecodeError:
            pass
    candidates = list(FALLBACK_ENCODINGS)
    declared = encoding_from_header(data[:128])
    if declared:
        try:
            candidates.insert(1, codecs.lookup(declared).name)
        except LookupError:
            pass
    for encoding in dict.fromkeys(candidates):
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if encoding == "gb18030" and not declared and prefers_big5(data):
            try:
                return data.decode("cp950"), "cp950"
            except UnicodeDecodeError:
                pass
        return text, encoding
    text = data.decode("utf-8", "replace")  # UTF-8 with a few stray bytes: lines are intact
    if text.count("\ufffd") * 200 <= len(text):
        return text, "utf-8 (invalid bytes replaced)"
    return None


def physical_lines(data: bytes | str) -> int:
    """Non-blank physical lines of ``data``: the conservative weight of a source file whose
    effective lines could not be counted (undecodable, the counter failed or timed out)."""
    blank: bytes | str = b"" if isinstance(data, bytes) else ""
    return sum(1 for line in data.splitlines() if line.strip() != blank)


def most_lines(size: int) -> int:
    """The most non-blank lines ``size`` bytes can hold: each needs a character and, but for the
    last, a line break, so ⌈size ÷ 2⌉. The weight of a file that could not be read."""
    return (size + 1) // 2


class NonBlankLines:
    """``physical_lines`` of a stream fed block by block (CR, LF and CRLF end a line)."""

    def __init__(self) -> None:
        self.count = 0
        self.open = False
        """Whether the line not yet ended holds a non-blank character."""

    def feed(self, block: bytes) -> None:
        """Count the lines ``block`` completes."""
        parts = block.replace(b"\r", b"\n").split(b"\n")
        if len(parts) == 1:
            self.open = self.open or bool(parts[0].strip())
            return
        self.count += (self.open or bool(parts[0].strip())) + sum(
            1 for part in parts[1:-1] if part.strip())
        self.open = bool(parts[-1].strip())

    def total(self) -> int:
        """Non-blank lines fed so far, the last one included even without a line break."""
        return self.count + self.open


def count_source(name: str, data: bytes) -> dict:
    """Count ``data`` (a file called ``name``): ``{language, lines, encoding, max_line_length,
    problem}`` where ``lines`` is pygount's code + string lines; with a ``problem`` it is the
    conservative weight ``physical_lines`` instead."""
    decoded = decode_text(data)
    if decoded is None:
        return {"language": None, "lines": physical_lines(data), "encoding": None,
                "max_line_length": 0, "problem": PROBLEM_UNDECODABLE}
    text, encoding = decoded
    longest = max(map(len, text.splitlines()), default=0)
    try:
        analysis = SourceAnalysis.from_file(
            name, "", file_handle=io.StringIO(text), generated_regexes=[],
            merge_embedded_language=True)
    except Exception as err:  # a pygments lexer failing on odd input is that file's problem only
        return {"language": None, "lines": physical_lines(text), "encoding": encoding,
                "max_line_length": longest,
                "problem": f"count failed: {type(err).__name__}: {err}"[:300]}
    if analysis.state != SourceState.analyzed:
        return {"language": None, "lines": physical_lines(text), "encoding": encoding,
                "max_line_length": longest,
                "problem": f"count failed: pygount state {analysis.state.name}"
                           + (f" ({analysis.state_info})" if analysis.state_info else "")}
    return {"language": analysis.language, "lines": analysis.code_count + analysis.string_count,
            "encoding": encoding, "max_line_length": longest, "problem": None}


def count_batch(items: list[tuple[str, bytes]]) -> list[dict]:
    """``count_source`` over ``(name, data)`` pairs, in order (the unit of work of a worker)."""
    return [count_source(name, data) for name, data in items]


#: A good place to end a piece: after a line that is a closing brace in column 0 (the end of a
#: top-level block), or after a blank line followed by a line starting in column 0 with a letter
#: (a definition): places that are not inside a comment or string.
_CUT = re.compile(rb"\n\}[;,]?[ \t\r]*\n|\n[ \t\r\f\v]*\n(?=[A-Za-z_])")


def cut_point(block: bytes) -> int:
    """Where a piece of a large file ends within ``block``: in its second half, at the last
    ``_CUT`` place (after a column-0 closing-brace line, or after a blank line followed by a line
    starting in column 0 with a letter), else after its last line break, else at its end."""
    half = len(block) // 2
    last = None
    for last in _CUT.finditer(block, half):  # noqa: B007 - the loop keeps the last match
        pass
    if last is not None:
        return last.end()
    newline = block.rfind(b"\n", half)
    return newline + 1 if newline >= 0 else len(block)


def combine(results: list[dict]) -> dict:
    """One file's result from its pieces' results: lines summed, the first piece's language and
    encoding (others named when they differ); a problem when any piece has one."""
    encodings = list(dict.fromkeys(r["encoding"] for r in results if r["encoding"]))
    encoding = encodings[0] if encodings else None
    if len(encodings) > 1:
        encoding = f"{encodings[0]} (first piece; others {', '.join(encodings[1:])})"
    problems = [r["problem"] for r in results if r["problem"]]
    problem = None
    if problems:
        problem = (PROBLEM_UNDECODABLE if all(p == PROBLEM_UNDECODABLE for p in problems) else
                   f"{len(problems)} of {len(results)} pieces not counted ({problems[0]})")
    language = next((r["language"] for r in results if r["language"]), None)
    return {"language": language, "lines": sum(r["lines"] for r in results),
            "encoding": encoding, "max_line_length": max((r["max_line_length"] for r in results),
                                                         default=0),
            "problem": problem, "pieces": len(results)}


def count_file(path: str, name: str, piece_bytes: int) -> dict:
    """Count the file at ``path`` (over the counting limit) as the lexer for ``name`` reads it, in
    pieces of at most ``piece_bytes`` cut at ``cut_point``, so memory stays bounded: the pieces'
    ``count_source`` results ``combine``d, plus the ``sha256`` of what was read (the caller checks
    the file did not change). An unreadable file gives ``{"error": reason}``."""
    digest = hashlib.sha256()
    results = []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            rest = b""
            while True:
                block = handle.read(piece_bytes - len(rest))
                digest.update(block)
                data = rest + block
                if not block or len(data) < piece_bytes:
                    if data:
                        results.append(count_source(name, data))
                    if not block:
                        break
                    rest = b""
                    continue
                cut = cut_point(data)
                results.append(count_source(name, data[:cut]))
                rest = data[cut:]
    except OSError as err:
        return {"error": err.strerror or type(err).__name__}
    return {**combine(results), "sha256": digest.hexdigest()}
