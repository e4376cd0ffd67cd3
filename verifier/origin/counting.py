"""Effective-line counting of one source file's bytes with pygount (pygments lexers).

Runs in worker processes: takes plain data (file name, bytes) and returns a plain dict, so results
can be cached as JSON by content hash.
"""

from __future__ import annotations

import codecs
import io
import logging

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
    """``utf-16`` or ``utf-32`` when ``head`` (a file's first bytes) starts with their BOM, else
    ``None``: text whose line breaks are not single bytes."""
    for bom, encoding in _BOMS:
        if head.startswith(bom) and encoding != "utf-8-sig":
            return encoding
    return None


def decode_text(data: bytes) -> tuple[str, str] | None:
    """``(text, encoding)`` for ``data``: BOM, else UTF-8, else a declared coding (``-*- coding``
    comment or XML prolog), else GB18030, else Windows-1252, else UTF-8 when at most 0.5% of it
    is invalid (replaced); ``None`` when nothing fits (``undecodable``)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                return None
    candidates = list(FALLBACK_ENCODINGS)
    declared = encoding_from_header(data[:128])
    if declared:
        try:
            candidates.insert(1, codecs.lookup(declared).name)
        except LookupError:
            pass
    for encoding in dict.fromkeys(candidates):
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    text = data.decode("utf-8", "replace")  # UTF-8 with a few stray bytes: lines are intact
    if text.count("\ufffd") * 200 <= len(text):
        return text, "utf-8 (invalid bytes replaced)"
    return None


def physical_lines(data: bytes | str) -> int:
    """Non-blank physical lines of ``data``: the conservative weight of a source file whose
    effective lines could not be counted (undecodable, the counter failed or timed out)."""
    blank: bytes | str = b"" if isinstance(data, bytes) else ""
    return sum(1 for line in data.splitlines() if line.strip() != blank)


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
