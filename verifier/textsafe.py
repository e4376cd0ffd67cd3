"""Text from a delivery or a bundle, made safe to show on a terminal.

A file name, a project name, a test name or a line of tool output is data: a carriage return, a line
feed or an ANSI escape in it would let it overwrite or forge what verifier prints around it (a FAIL
line turned into an OK line), and a bidirectional override would reorder it on screen. ``printable``
shows every such character as a visible escape instead.
"""

from __future__ import annotations

import re

#: C0 controls (tab, line feed and carriage return included), DEL, C1 controls, the line and paragraph
#: separators, the bidirectional marks, embeddings, overrides and isolates, and lone surrogates (what
#: ``surrogateescape`` makes of undecodable bytes of a file name)
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: object, *, keep: str = "") -> str:
    """``text`` (``str()`` of any object) with every control character, bidirectional control and lone
    surrogate shown as a visible escape (``\\x1b``, ``\\r``, ``\\u202e``, ``\\xe9`` for an undecodable
    byte), so it stays on one line and reads as written. ``keep``: characters left as they are (say
    ``"\\n"`` for text whose line breaks are its own). Printable text, Chinese included, is unchanged."""
    value = text if isinstance(text, str) else str(text)
    if not _UNSAFE.search(value):
        return value
    if keep:
        return _UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), value)
    return _UNSAFE.sub(_escape, value)
