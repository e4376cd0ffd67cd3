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

Each normalized line also has an *abstract text* (its shape): identifiers (not keywords) become
``ABSTRACT_IDENTIFIER``, numbers ``ABSTRACT_NUMBER``, a string literal ``ABSTRACT_STRING`` on the
line where it opens (the lines inside a multi-line string keep their text: they are data), and
every line of an import statement is ``ABSTRACT_IMPORT``. Keywords are told apart as written,
before lower-casing (``And`` is a name, ``and`` a keyword), per family (Python, the C family; the
pygments path goes by token type). Renaming identifiers, changing literals and re-indenting leave
the abstract text as it was: it is what ``verifier.kb.winnow`` takes the shape stream from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pygments import token as _t
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.util import ClassNotFound

#: Bump when normalization changes: fingerprints made by another normalizer never match.
NORMALIZER_VERSION = 3

#: Extensions indexed into a knowledge base (source code in common languages, not docs or data).
SOURCE_EXTENSIONS: frozenset[str] = frozenset([".py", ".pyi", ".pyx", ".pxd", ".pxi", ".py-tpl", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".vue", ".svelte", ".java", ".kt", ".kts", ".scala", ".groovy", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cs", ".go", ".rs", ".php", ".rb", ".pl", ".pm", ".lua", ".r", ".swift", ".m", ".mm", ".sh", ".bash", ".zsh", ".ps1", ".sql", ".html", ".htm", ".css", ".scss", ".sass", ".less", ".dart", ".ex", ".exs", ".erl", ".hs", ".clj", ".jl", ".f90"])


@dataclass(frozen=True)
class NormalizedText:
    """A file's effective lines after normalization."""

    numbers: tuple[int, ...]
    """1-based physical line number of each normalized line."""
    lines: tuple[bytes, ...]
    """UTF-8 normalized text of each line (never empty)."""
    abstract: tuple[bytes, ...] = ()
    """Each line with its token classes abstracted (``ABSTRACT_IDENTIFIER``, ``ABSTRACT_NUMBER``,
    ``ABSTRACT_STRING`` for identifiers, numbers and strings; keywords, operators and punctuation
    kept), whitespace dropped (never empty); empty when not asked for."""

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


#: What an identifier, a number and a string (a whole literal, on the line where it opens) become
#: in the abstract text; control characters that no normalized code holds and ``str.split`` keeps.
ABSTRACT_IDENTIFIER, ABSTRACT_NUMBER, ABSTRACT_STRING = "\x01", "\x02", "\x03"
#: The abstract text of every line of an import statement.
ABSTRACT_IMPORT = "\x04"
#: Keywords kept in the abstract text (as written: the text is lower-cased afterwards), per family.
_PYTHON_KEYWORDS = frozenset("""
    False None True and as assert async await break class continue def del elif else except
    finally for from global if import in is lambda nonlocal not or pass raise return try while
    with yield self cls
""".split())  # noqa: SIM905 - a word list reads better as text
_C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if int
    long register return short signed sizeof static struct switch typedef union unsigned void
    volatile while bool class public private protected new delete this throw throws try catch
    finally template typename namespace using virtual override final function var let typeof
    instanceof export import extends implements interface package super null undefined true
    false nil func go defer chan range fn impl mut pub use mod loop trait where crate val fun
    object when is in of async await yield static_cast const_cast dynamic_cast reinterpret_cast
    operator friend inline explicit abstract synchronized native transient boolean byte
    define undef include ifdef ifndef elif endif pragma error
""".split())  # noqa: SIM905 - a word list reads better as text


#: Import statements: each of their lines is ``ABSTRACT_IMPORT`` in the abstract text (every file
#: has some, one list of imports is much like another: they tell nothing of where code came from).
_PYTHON_IMPORT = r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]*(?:\([^)]*\)|[^\n]*)|import[ \t][^\n]*)"
_C_IMPORT = (r"^[ \t]*(?:#[ \t]*include[^\n]*"
             r"|(?:import|package|using|use)[ \t][^\n;{]*(?:\{[^}]*\})?[^\n;]*)")


def _abstracter(keywords: frozenset[str], imports: str | None) -> re.Pattern:
    """One pass keeping import statements and replacing every identifier that is not a keyword,
    and every number."""
    words = "|".join(sorted(keywords, key=lambda word: (-len(word), word)))
    keep = f"(?P<keep>{imports})|" if imports else ""
    return re.compile(rf"{keep}(?P<n>(?<![\w.])\.?\d[\w.]*)|\b(?!(?:{words})\b)[^\W\d]\w*",
                      re.MULTILINE)


def _abstract_token(match: re.Match) -> str:
    kind = match.lastgroup
    if kind == "keep":
        return ABSTRACT_IMPORT + ("\n" + ABSTRACT_IMPORT) * match.group().count("\n")
    return ABSTRACT_NUMBER if kind == "n" else ABSTRACT_IDENTIFIER


_ABSTRACT: dict[re.Pattern, re.Pattern] = {
    _PYTHON: _abstracter(_PYTHON_KEYWORDS, _PYTHON_IMPORT),
    _C_FAMILY: _abstracter(_C_KEYWORDS, _C_IMPORT),
    _CSS: _abstracter(frozenset(), None),
}


def normalize(text: str, name: str) -> NormalizedText:
    """Normalize ``text`` of a file called ``name`` (its extension picks the reader), with the
    abstract text of each line.

    Without a lexer for the name, only whitespace, case and line endings are normalized.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fast = _FAST.get(os.path.splitext(name.lower())[1])
    if fast is not None:
        return _normalize_fast(text, fast)
    parts: list[list[str] | None] = [None] * (text.count("\n") + 1)
    shapes: list[list[str] | None] = [None] * len(parts)
    lexer = lexer_for(name)
    tokens = (lexer.get_tokens_unprocessed(text) if lexer is not None
              else ((0, _t.Text, text),))
    line = 0
    for _, ttype, value in tokens:
        breaks = value.count("\n")
        if _is_code(ttype):
            pieces = value.split("\n") if breaks else (value,)
            shape = _token_class(ttype)
            for offset, piece in enumerate(pieces):
                squashed = "".join(piece.lower().split())
                if squashed and line + offset < len(parts):
                    slot = parts[line + offset]
                    # a line inside a multi-line string is data: its abstract text is itself
                    abstract = squashed if shape is None or (
                        offset and shape == ABSTRACT_STRING) else shape
                    if slot is None:
                        parts[line + offset] = [squashed]
                        shapes[line + offset] = [abstract]
                    else:
                        slot.append(squashed)
                        previous = shapes[line + offset]
                        if previous is None:
                            shapes[line + offset] = [abstract]
                        elif shape is None or not previous or previous[-1] != shape:
                            previous.append(abstract)  # a string in several tokens is one string
        line += breaks
    numbers: list[int] = []
    lines: list[bytes] = []
    abstract_lines: list[bytes] = []
    for index, slot in enumerate(parts):
        if slot:
            numbers.append(index + 1)
            lines.append("".join(slot).encode("utf-8", "surrogatepass"))
            abstract_lines.append(_shape("".join(shapes[index] or ()), lines[-1]))
    return NormalizedText(tuple(numbers), tuple(lines), tuple(abstract_lines))


def _normalize_fast(text: str, fast: re.Pattern) -> NormalizedText:
    code: list[str] = []
    shapes: list[str] = []
    at = 0
    for match in fast.finditer(text):  # one pass: comments out, strings kept or abstracted
        before = text[at:match.start()]
        value = match.group()
        breaks = "\n" * value.count("\n")  # the line numbering stays
        if match.lastgroup == "keep":
            code += (before, value)
            shapes += (before, ABSTRACT_STRING, breaks)
        else:
            code += (before, breaks)
            shapes += (before, breaks)
        at = match.end()
    code.append(text[at:])
    shapes.append(text[at:])
    code_lines = _squashed("".join(code)).split(b"\n")
    shape_lines = _squashed(_ABSTRACT[fast].sub(_abstract_token, "".join(shapes))).split(b"\n")
    numbers: list[int] = []
    lines: list[bytes] = []
    abstract: list[bytes] = []
    for index, line in enumerate(code_lines):
        if line:
            numbers.append(index + 1)
            lines.append(line)
            abstract.append(shape_lines[index] or _STRING)  # inside a multi-line string
    return NormalizedText(tuple(numbers), tuple(lines), tuple(abstract))


#: Whitespace but line breaks (what ``str.split()`` splits on).
_SPACE = re.compile(r"[^\S\n]+")
_STRING = ABSTRACT_STRING.encode()


def _squashed(text: str) -> bytes:
    """``text`` lower-cased, without whitespace but its line breaks, UTF-8."""
    return _SPACE.sub("", text).lower().encode("utf-8", "surrogatepass")


#: What tells a line of code from a line of data in its abstract text: a name or a keyword.
_CODE = re.compile(f"[{ABSTRACT_IDENTIFIER}{ABSTRACT_IMPORT}a-z]".encode())


def _shape(abstract: str, line: bytes) -> bytes:
    """The abstract text of a normalized line: ``abstract`` without whitespace
    (``ABSTRACT_STRING`` for a line inside a multi-line string)."""
    squashed = "".join(abstract.split())
    return squashed.encode("utf-8", "surrogatepass") if squashed else ABSTRACT_STRING.encode()


def is_data(shape: bytes) -> bool:
    """Whether a line is data by its abstract text: no name, no keyword (a row of a table, a line
    inside a multi-line string)."""
    return _CODE.search(shape) is None


@lru_cache(maxsize=256)
def _token_class(ttype: Any) -> str | None:  # a pygments token type (its `in` is subtype-of)
    """What a pygments token becomes in the abstract text (``None``: itself)."""
    if ttype in _t.Keyword or ttype in _t.Name.Builtin.Pseudo:
        return None
    if ttype in _t.Name:
        return ABSTRACT_IDENTIFIER
    if ttype in _t.Literal.Number:
        return ABSTRACT_NUMBER
    if ttype in _t.Literal.String:
        return ABSTRACT_STRING
    return None


def decode_source(data: bytes) -> str:
    """Decode file bytes as UTF-8 (BOM dropped), falling back to Latin-1 so any file decodes."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
