"""Snippet injection with truth by construction, shared by ``bench/bench_kb_accuracy.py`` and
``tests/test_kb_accuracy_types.py``.

A snippet is a run of consecutive lines of a knowledge-base file covering ``length`` effective
lines (``verifier.kb.normalize``: not blank, not a comment, not a docstring); it is transformed by
type and inserted into an own file at a line boundary, and the lines it occupies in the result are
the truth. The edits are made on the snippet's code as its whole file's tokens show it, never on
the text inside its strings, comments and docstrings:

- type 1: verbatim;
- type 2: identifiers renamed (up to three names, every occurrence, consistently), a literal
  changed (a number, or the text of a one-line string), re-indented;
- type 3: two adjacent effective lines swapped, an effective line deleted and a line of code
  inserted before another effective line, all inside the block (its first and last effective
  lines kept), so the copy keeps ``length`` effective lines, ``length - 1`` of them copied.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import random
import re
import tokenize
from dataclasses import dataclass

from verifier.kb.normalize import normalize

TYPES = ("type1", "type2", "type3")
_BUILTINS = frozenset(dir(builtins)) | {"self", "cls"}


@dataclass(frozen=True)
class Snippet:
    """Whole physical lines of a file, with what its file's tokens say of them."""

    text: str
    code: tuple[int, ...]
    """0-based indexes (in ``lines``) of the snippet's effective lines."""
    names: tuple[tuple[int, int, str], ...]
    """Identifier tokens: (line index, column, name), in order."""
    literals: tuple[tuple[int, int, int, str], ...]
    """One-line number and string tokens: (line index, start column, end column, kind), kind
    ``number`` (a decimal integer) or ``string`` (2 to 40 characters between its quotes)."""

    @property
    def lines(self) -> list[str]:
        """The snippet's physical lines (split at line breaks only, as the tokenizer does)."""
        return self.text[:-1].split("\n")

    @classmethod
    def of(cls, text: str, name: str = "snippet.py") -> Snippet:
        """A snippet that is a whole text (tokenized alone, as far as it tokenizes)."""
        return _snippet(text, name, 1, text.count("\n") + (not text.endswith("\n")))


def pick_snippet(text: str, name: str, length: int, rng: random.Random) -> Snippet | None:
    """``length`` effective lines of ``text`` (whole physical lines), or ``None`` if too short."""
    numbers = normalize(text, name).numbers
    if len(numbers) < length + 2:
        return None
    start = rng.randrange(0, len(numbers) - length)
    return _snippet(text, name, numbers[start], numbers[start + length - 1])


def transform(snippet: Snippet | str, kind: str, rng: random.Random, own_line: str) -> str:
    """The snippet as an injection of ``kind`` (a plain text is tokenized alone)."""
    if isinstance(snippet, str):
        snippet = Snippet.of(snippet)
    if kind == "type1":
        return snippet.text
    if kind == "type2":
        return _reindent(_type2(snippet, rng))
    return _edit(snippet, rng, own_line)


def inject(own: str, block: str, rng: random.Random) -> tuple[str, int, int]:
    """``block`` inserted into ``own`` between two of its top-level statements (never inside a
    string or a docstring) at random; the result and the block's first and last physical lines
    in it."""
    lines = own.splitlines(keepends=True)
    at = rng.choice(_boundaries(own, len(lines)))
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    body = block if block.endswith("\n") else block + "\n"
    result = "".join(lines[:at]) + body + "".join(lines[at:])
    return result, at + 1, at + body.count("\n")


def _boundaries(source: str, count: int) -> list[int]:
    """Line indexes before each top-level statement of a Python module, and its end."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return [count]
    starts = [min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))]) - 1
              for node in body]
    return sorted(set(starts) | {count})


_STRING = re.compile(r"""^[rRuUbB]{0,2}(['"])[^'"\n\\]{2,40}\1$""")


def _snippet(text: str, name: str, first: int, last: int) -> Snippet:
    """The snippet of physical lines ``first``..``last`` (1-based) of ``text``, its lines split as
    the tokenizer and ``normalize`` count them (at line breaks only)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    code = tuple(n - first for n in normalize(text, name).numbers if first <= n <= last)
    names, literals = [], []
    for tok in _tokens(text):
        (row, col), (end_row, end_col) = tok.start, tok.end
        if not first <= row <= last or row != end_row:
            continue
        if tok.type == tokenize.NAME and _renamable(tok.string):
            names.append((row - first, col, tok.string))
        elif tok.type == tokenize.NUMBER and tok.string.isdigit():
            literals.append((row - first, col, end_col, "number"))
        elif tok.type == tokenize.STRING and _STRING.match(tok.string):
            literals.append((row - first, col, end_col, "string"))
    return Snippet("\n".join(lines[first - 1:last]) + "\n", code, tuple(names), tuple(literals))


def _tokens(text: str) -> list[tokenize.TokenInfo]:
    """``text``'s Python tokens, as many as it yields before an error (a cut statement)."""
    out: list[tokenize.TokenInfo] = []
    try:
        out.extend(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def _renamable(name: str) -> bool:
    """An identifier a type-2 copy may rename: not a keyword or a builtin, 3 letters or more."""
    return not keyword.iskeyword(name) and name not in _BUILTINS and len(name) > 2


def _replaced(lines: list[str], edits: list[tuple[int, int, int, str]]) -> list[str]:
    """``lines`` with each ``(line, start, end, text)`` put in place of its columns."""
    out = list(lines)
    for row, start, end, text in sorted(edits, reverse=True):
        out[row] = out[row][:start] + text + out[row][end:]
    return out


def _type2(snippet: Snippet, rng: random.Random) -> list[str]:
    """The snippet's lines with up to three of its identifiers renamed (every occurrence) and one
    of its literals changed (a number + 7, the text of a string)."""
    names = sorted({name for _, _, name in snippet.names})
    new = {name: f"renamed_{index}_{name[::-1]}"
           for index, name in enumerate(rng.sample(names, min(3, len(names))))}
    lines = snippet.lines
    edits = [(row, col, col + len(name), new[name]) for row, col, name in snippet.names
             if name in new]
    numbers = [lit for lit in snippet.literals if lit[3] == "number"]
    strings = [lit for lit in snippet.literals if lit[3] == "string"]
    if numbers and (not strings or rng.random() < 0.5):
        row, start, end, _ = rng.choice(numbers)
        edits.append((row, start, end, str(int(lines[row][start:end]) + 7)))
    elif strings:
        row, start, end, _ = rng.choice(strings)
        literal = lines[row][start:end]
        edits.append((row, start, end, literal[:literal.index(literal[-1]) + 1] + "changed text"
                      + literal[-1]))
    return _replaced(lines, edits)


def _reindent(lines: list[str]) -> str:
    out = []
    for line in lines:
        stripped = line.lstrip(" ")
        out.append("  " * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped))
                                                                     % 4) + stripped)
    return "\n".join(out) + "\n"


def _edit(snippet: Snippet, rng: random.Random, own_line: str) -> str:
    """Type 3: two adjacent effective lines swapped, one deleted, a line of code inserted before
    another, none of them the first or last effective line."""
    lines = snippet.lines
    code = list(snippet.code)
    if len(code) <= 4:
        return snippet.text
    at = rng.randrange(1, len(code) - 2)
    a, b = code[at], code[at + 1]
    lines[a], lines[b] = lines[b], lines[a]
    gone = code.pop(rng.randrange(1, len(code) - 1))
    del lines[gone]
    code = [i - (i > gone) for i in code]
    before = code[rng.randrange(1, len(code) - 1)]
    indent = re.match(r"\s*", lines[before]).group()
    lines.insert(before, indent + own_line)
    return "\n".join(lines) + "\n"
