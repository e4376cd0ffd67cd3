"""Source normalization for snippet fingerprints: comments out, whitespace, case and line endings
normalized, so that re-indenting, re-wrapping line endings or editing comments changes nothing.

Comments, docstrings and whitespace are dropped, the remaining text is lower-cased and stripped of
all whitespace; preprocessor lines (C ``#include``) are code and are kept. What is left of each
physical line is one *normalized line*; lines left empty (blank, comment-only, docstring)
disappear, so normalized lines are the file's effective lines.

Python, the C family (C, C++, Objective-C, Java, C#, JavaScript, TypeScript, Go, Rust, Kotlin,
Scala, Groovy, Swift, Dart, SCSS, Less) and CSS are read by one compiled expression per family
that finds strings, comments and (Python) docstrings the way pygments' lexers do, many times
faster than lexing, which was most of what indexing and matching cost. Every other language goes
through pygments (one lexer per file extension, cached), which tells comments from code in every
language it knows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

from pygments import token as _t
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.util import ClassNotFound

#: Bump when normalization changes: fingerprints made by another normalizer never match.
NORMALIZER_VERSION = 2

#: Extensions indexed into a knowledge base (source code in common languages, not docs or data).
SOURCE_EXTENSIONS: frozenset[str] = frozenset([".py", ".pyi", ".pyx", ".pxd", ".pxi", ".py-tpl", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte", ".java", ".kt", ".kts", ".scala", ".groovy", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cs", ".go", ".rs", ".php", ".rb", ".pl", ".pm", ".lua", ".r", ".swift", ".m", ".mm", ".sh", ".bash", ".zsh", ".ps1", ".sql", ".html", ".htm", ".css", ".scss", ".sass", ".less", ".dart", ".ex", ".exs", ".erl", ".hs", ".clj", ".jl", ".f90"])


@dataclass(frozen=True)
class NormalizedText:
    """A file's effective lines after normalization."""

    numbers: tuple[int, ...]
    """1-based physical line number of each normalized line."""
    lines: tuple[bytes, ...]
    """UTF-8 normalized text of each line (never empty)."""

    def __len__(self) -> int:
        return len(self.lines)


def is_source_name(name: str) -> bool:
    """Whether a file name has an extension a knowledge base indexes (minified assets excluded)."""
    lower = name.lower()
    if lower.endswith((".min.js", ".min.css")):
        return False
    return os.path.splitext(lower)[1] in SOURCE_EXTENSIONS


def lexer_for(name: str) -> Lexer | None:
    """The pygments lexer for a file name (cached per extension), or ``None`` if none fits."""
    base = os.path.basename(name).lower()
    ext = os.path.splitext(base)[1]
    return _lexer_for_key(ext or base)


@lru_cache(maxsize=512)
def _lexer_for_key(key: str) -> Lexer | None:
    probe = f"x{key}" if key.startswith(".") else key
    try:
        return get_lexer_for_filename(probe, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@lru_cache(maxsize=1024)
def _is_code(ttype: _t._TokenType) -> bool:
    if _t.is_token_subtype(ttype, _t.Comment):  # `ttype in _t.Comment`, as a type checker reads it
        return _t.is_token_subtype(ttype, _t.Comment.Preproc) or _t.is_token_subtype(ttype, _t.Comment.PreprocFile)
    return not _t.is_token_subtype(ttype, _t.String.Doc)


_TRIPLE = r'''(?:"""[\s\S]*?"""|'{3}[\s\S]*?'{3})'''
_QUOTED = r'''"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*\''''
#: Python: a docstring is a triple-quoted string opening a line (pygments' ``String.Doc``).
_PYTHON = re.compile(rf"(?P<drop>^[ \t]*[rRuUbB]{{0,2}}{_TRIPLE}|#[^\n]*)"
                     rf"|(?P<keep>[rRuUbBfF]{{0,2}}(?:{_TRIPLE}|{_QUOTED}))", re.MULTILINE)
_C_FAMILY = re.compile(rf"(?P<drop>//[^\n]*|/\*[\s\S]*?\*/)|(?P<keep>{_QUOTED}|`(?:\\.|[^`\\])*`)")
_CSS = re.compile(rf"(?P<drop>/\*[\s\S]*?\*/)|(?P<keep>{_QUOTED})")
_FAST: dict[str, re.Pattern] = {
    # .py-tpl: the templates frameworks render into a delivery (Django's manage.py-tpl)
    **dict.fromkeys([".py", ".pyi", ".pyx", ".pxd", ".pxi", ".py-tpl"], _PYTHON),
    **dict.fromkeys([".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".m", ".mm", ".java", ".cs", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".go", ".rs", ".kt", ".kts", ".scala", ".groovy", ".swift", ".dart", ".scss", ".less"], _C_FAMILY),
    ".css": _CSS,
}


def _without_comments(match: re.Match) -> str:
    if match.lastgroup == "keep":
        return match.group()
    return "\n" * match.group().count("\n")  # the line numbering stays


def normalize(text: str, name: str) -> NormalizedText:
    """Normalize ``text`` of a file called ``name`` (its extension picks the reader).

    Without a lexer for the name, only whitespace, case and line endings are normalized.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fast = _FAST.get(os.path.splitext(name.lower())[1])
    numbers: list[int] = []
    lines: list[bytes] = []
    if fast is not None:
        for index, line in enumerate(fast.sub(_without_comments, text).split("\n"), 1):
            squashed = "".join(line.lower().split())
            if squashed:
                numbers.append(index)
                lines.append(squashed.encode("utf-8", "surrogatepass"))
        return NormalizedText(tuple(numbers), tuple(lines))
    parts: list[list[str] | None] = [None] * (text.count("\n") + 1)
    lexer = lexer_for(name)
    tokens = (lexer.get_tokens_unprocessed(text) if lexer is not None
              else ((0, _t.Text, text),))
    line = 0
    for _, ttype, value in tokens:
        breaks = value.count("\n")
        if _is_code(ttype):
            pieces = value.split("\n") if breaks else (value,)
            for offset, piece in enumerate(pieces):
                squashed = "".join(piece.lower().split())
                if squashed and line + offset < len(parts):
                    slot = parts[line + offset]
                    if slot is None:
                        parts[line + offset] = [squashed]
                    else:
                        slot.append(squashed)
        line += breaks
    for index, slot in enumerate(parts):
        if slot:
            numbers.append(index + 1)
            lines.append("".join(slot).encode("utf-8", "surrogatepass"))
    return NormalizedText(tuple(numbers), tuple(lines))


def decode_source(data: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM dropped), falling back to Latin-1 so any file decodes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
