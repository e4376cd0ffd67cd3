"""Snippet injection with truth by construction, shared by ``bench/bench_kb_accuracy.py`` and
``tests/test_kb_accuracy_types.py``.

A snippet is a run of consecutive lines of a knowledge-base file covering ``length`` effective
lines; it is transformed by type and inserted into an own file at a line boundary, and the lines it
occupies in the result are the truth:

- type 1: verbatim;
- type 2: identifiers renamed (up to three, consistently), a literal changed, re-indented;
- type 3: a line inserted, a line deleted and two adjacent lines swapped inside the block.
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
class Injection:
    """One snippet placed into one own file."""

    kind: str
    source: str
    """The KB file it was taken from."""
    target: str
    """The own file it went into."""
    first: int
    """First physical line of the block in the result (1-based)."""
    last: int
    length: int
    """Effective lines the snippet had in the KB file."""


def pick_snippet(text: str, name: str, length: int, rng: random.Random) -> str | None:
    """``length`` effective lines of ``text`` (whole physical lines), or ``None`` if too short."""
    numbers = normalize(text, name).numbers
    if len(numbers) < length + 2:
        return None
    start = rng.randrange(0, len(numbers) - length)
    lines = text.splitlines()
    return "\n".join(lines[numbers[start] - 1:numbers[start + length - 1]]) + "\n"


def transform(snippet: str, kind: str, rng: random.Random, own_line: str) -> str:
    """The snippet as an injection of ``kind``."""
    if kind == "type1":
        return snippet
    if kind == "type2":
        return _reindent(_change_literal(_rename(snippet, rng), rng))
    lines = snippet.splitlines()
    if len(lines) > 4:
        at = rng.randrange(1, len(lines) - 2)
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
        del lines[rng.randrange(1, len(lines) - 1)]
        at = rng.randrange(1, len(lines) - 1)
        indent = re.match(r"\s*", lines[at]).group()
        lines.insert(at, indent + own_line)
    return "\n".join(lines) + "\n"


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


def _rename(snippet: str, rng: random.Random) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(snippet).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = []
    names = sorted({t.string for t in tokens if t.type == tokenize.NAME
                    and not keyword.iskeyword(t.string) and t.string not in _BUILTINS
                    and len(t.string) > 2})
    if not names:
        names = sorted(set(re.findall(r"\b[a-z_][a-z0-9_]{2,}\b", snippet)))[:3]
    chosen = rng.sample(names, min(3, len(names)))
    for index, name in enumerate(chosen):
        snippet = re.sub(rf"\b{re.escape(name)}\b", f"renamed_{index}_{name[::-1]}", snippet)
    return snippet


def _change_literal(snippet: str, rng: random.Random) -> str:
    numbers = list(re.finditer(r"\b\d+\b", snippet))
    strings = list(re.finditer(r"'([^'\n]{2,40})'|\"([^\"\n]{2,40})\"", snippet))
    if numbers and (not strings or rng.random() < 0.5):
        m = rng.choice(numbers)
        return snippet[:m.start()] + str(int(m.group()) + 7) + snippet[m.end():]
    if strings:
        m = rng.choice(strings)
        return snippet[:m.start() + 1] + "changed text" + snippet[m.end() - 1:]
    return snippet


def _reindent(snippet: str) -> str:
    out = []
    for line in snippet.splitlines():
        stripped = line.lstrip(" ")
        out.append("  " * ((len(line) - len(stripped)) // 4) + " " * ((len(line) - len(stripped))
                                                                     % 4) + stripped)
    return "\n".join(out) + "\n"
