"""Globs matched in linear time: the one matcher behind every glob verifier reads from a task book,
the command line or a tool's name list.

Repository globs (``compile_glob``, ``glob_match``, ``glob_covers``) are matched against
repository-relative POSIX paths:

- ``/`` separates names; empty and ``.`` names in a pattern are ignored (``./src//a`` is ``src/a``);
- ``*`` matches any run of characters within one name, ``?`` one character of a name;
  ``[abc]``, ``[a-z]`` one character of a name from the set, ``[!a]`` or ``[^a]`` one not in it
  (``]`` first in the set is literal; a ``[`` that is never closed is literal);
- ``**`` as a whole name matches any number of names, none included (``tests/**/*.py`` matches
  ``tests/a.py``; ``docs/**`` matches ``docs`` and everything below it); ``**`` inside a name
  (``**.py``, ``a**b``) matches any run of characters, across directories;
- matching is case-sensitive; a pattern with no name left (``.``, ``/``) matches no path.

``Glob.match`` asks whether the path itself matches, ``Glob.covers`` whether the path or one of its
parent directories does (a directory pattern covers what is below it).

Name globs (``name_match``, ``translate_name``) follow ``fnmatch.fnmatchcase``: ``*`` and ``?``
match any character, ``/`` included (pytest node ids, file-name patterns of lexers).

No pattern can make matching slow. A glob is never turned into a backtracking regular expression:
within one name every ``*`` is the same kind of star, so each fixed piece between stars can be
taken at its leftmost place and never reconsidered (an atomic group ``(?>[^/]*?piece)``); at the
level of names every ``**`` is the same kind too, so each run of names between two ``**`` is taken
at its leftmost place the same way. The regular expression engine then never retries a choice, and
a match costs O(len(path) × len(pattern)). A ``**`` inside a name mixes both kinds of star, where
the leftmost choice is not always right: such a pattern is matched by simulating its automaton
(the set of pattern positions reachable so far, one path character at a time), also
O(len(path) × len(pattern)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = ["Glob", "compile_glob", "glob_match", "glob_covers", "name_match", "translate_name"]

# ---------------------------------------------------------------- parsing

# A name is parsed into items: ("lit", text) | ("one", class regex) | ("star",) | ("cross",)
_Item = tuple


def _parse_class(pattern: str, start: int, negators: str) -> tuple[str, int] | None:
    """The ``[...]`` set at ``pattern[start]`` as ``(its body as written, index after it)``; None
    when it is never closed (then ``[`` is a literal). ``_class`` turns the body into a regex."""
    i = start + 1
    if i < len(pattern) and pattern[i] in negators:
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    end = pattern.find("]", i)
    if end < 0:
        return None
    return pattern[start + 1:end], end + 1


def _class(body: str, negators: str, exclude: str) -> str:
    """A regex for one character of the set ``body`` (a negation mark first negates it), never one
    of ``exclude``; reversed ranges are empty, as in ``fnmatch``."""
    negate = bool(body) and body[0] in negators
    if negate:
        body = body[1:]
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if low <= high:
                chars.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
        else:
            chars.append(re.escape(body[i]))
            i += 1
    inner = "".join(chars)
    no = "".join(re.escape(c) for c in exclude)
    if negate:
        return f"[^{inner}{no}]"
    if not inner:
        return "(?!)"
    return f"(?![{no}])[{inner}]" if no else f"[{inner}]"


def _parse_name(name: str, negators: str, exclude: str, *, cross: bool) -> list[_Item]:
    """Items of one name: literals, one-character sets, ``*`` (``star``) and, when ``cross``,
    ``**`` runs (``cross``: any characters, ``/`` included)."""
    items: list[_Item] = []
    i = 0
    while i < len(name):
        char = name[i]
        if char == "*":
            end = i
            while end < len(name) and name[end] == "*":
                end += 1
            items.append(("cross",) if cross and end - i >= 2 else ("star",))
            i = end
        elif char == "?":
            items.append(("one", f"[^{re.escape(exclude)}]" if exclude else "."))
            i += 1
        elif char == "[" and (found := _parse_class(name, i, negators)) is not None:
            items.append(("one", _class(found[0], negators, exclude)))
            i = found[1]
        else:
            items.append(("lit", char))
            i += 1
    return items


def _fixed(items: list[_Item]) -> str:
    return "".join(re.escape(item[1]) if item[0] == "lit" else item[1] for item in items)


def _stars_regex(items: list[_Item], star: str) -> str:
    """A regex for items holding one kind of star (``star``, e.g. ``[^/]``): the pieces between
    stars are atomic leftmost searches, the last one anchored by what follows the regex."""
    pieces: list[list[_Item]] = [[]]
    for item in items:  # a run of stars is one item (``_parse_name``)
        if item[0] in ("star", "cross"):
            pieces.append([])
        else:
            pieces[-1].append(item)
    if len(pieces) == 1:
        return _fixed(pieces[0])
    out = [_fixed(pieces[0])]
    out += [f"(?>{star}*?{_fixed(piece)})" for piece in pieces[1:-1] if piece]
    out.append(f"{star}*{_fixed(pieces[-1])}")
    return "".join(out)


def _names(pattern: str) -> list[str]:
    names: list[str] = []
    for name in pattern.split("/"):
        if name in ("", "."):
            continue
        if len(name) >= 2 and set(name) == {"*"}:
            name = "**"
            if names and names[-1] == "**":
                continue
        names.append(name)
    return names


# ---------------------------------------------------------------- repository globs


@dataclass(frozen=True)
class Glob:
    """A compiled repository glob (see the module docstring for its semantics)."""

    pattern: str
    names: tuple[str, ...]
    """The pattern's names, empty and ``.`` names left out, ``**`` runs merged."""
    _regex: re.Pattern[str] | None = field(repr=False, compare=False, default=None)
    """For patterns without ``**`` inside a name: matched against ``path + "/"``."""
    _nfa: _Nfa | None = field(repr=False, compare=False, default=None)

    def match(self, path: str) -> bool:
        """Whether repository-relative POSIX ``path`` matches the whole pattern."""
        if not self.names or not path:
            return False
        if self._regex is not None:
            return self._regex.fullmatch(path + "/") is not None
        return self._nfa.run(path + "/", prefix=False)  # type: ignore[union-attr]

    def covers(self, path: str) -> bool:
        """Whether ``path`` or one of its parent directories matches the pattern."""
        if not self.names or not path:
            return False
        if self._regex is not None:
            return self._regex.match(path + "/") is not None
        return self._nfa.run(path + "/", prefix=True)  # type: ignore[union-attr]


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> Glob:
    """The compiled form of repository glob ``pattern``; never raises, whatever the pattern."""
    names = _names(pattern)
    parsed = [None if name == "**" else _parse_name(name, "!^", "/", cross=True)
              for name in names]
    if any(items is not None and ("cross",) in items for items in parsed):
        return Glob(pattern, tuple(names), _nfa=_Nfa(parsed))
    groups: list[list[str]] = [[]]
    for items in parsed:
        if items is None:
            groups.append([])
        else:
            groups[-1].append(_stars_regex(items, "[^/]") + "/")
    out = "".join(groups[0])
    for group in groups[1:-1]:  # a run of names between two **: its leftmost place, atomically
        out += "(?>(?:[^/]*/)*?" + "".join(group) + ")"
    if len(groups) > 1:
        out += "(?:[^/]*/)*" + "".join(groups[-1])
    return Glob(pattern, tuple(names), _regex=re.compile(out, re.DOTALL))


def glob_match(path: str, pattern: str) -> bool:
    """Whether ``path`` matches repository glob ``pattern`` (``Glob.match``)."""
    return compile_glob(pattern).match(path)


def glob_covers(path: str, pattern: str) -> bool:
    """Whether ``path`` or one of its parent directories matches ``pattern`` (``Glob.covers``)."""
    return compile_glob(pattern).covers(path)


class _Nfa:
    """The automaton of a repository glob, simulated over ``path + "/"`` with a set of states.

    States are numbered; each has epsilon moves and character moves ``(regex or None, target)``
    where ``None`` means any character. Building and running it is linear in the pattern; a run
    visits each (character, state) pair at most once."""

    def __init__(self, parsed: list[list[_Item] | None]) -> None:
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[re.Pattern[str] | None, int]]] = []
        for items in parsed:
            if items is None:  # whole-name **: (?:[^/]*/)*
                loop, inside = self._new(), self._new()
                self._move(loop, "[^/]", inside)
                self._move(loop, "/", loop)
                self._move(inside, "[^/]", inside)
                self._move(inside, "/", loop)
                self.eps[loop].append(len(self.eps))
                continue
            for item in items + [("lit", "/")]:
                state = self._new()
                if item[0] == "lit":
                    self._move(state, re.escape(item[1]), state + 1)
                elif item[0] == "one":
                    self._move(state, item[1], state + 1)
                else:  # star within a name, or cross: any run of characters
                    self._move(state, "[^/]" if item[0] == "star" else None, state)
                    self.eps[state].append(state + 1)
        self.accept = self._new()

    def _new(self) -> int:
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def _move(self, state: int, regex: str | None, target: int) -> None:
        self.moves[state].append((None if regex is None else re.compile(regex, re.DOTALL), target))

    def _closure(self, states: set[int]) -> set[int]:
        stack = list(states)
        while stack:
            for target in self.eps[stack.pop()]:
                if target not in states:
                    states.add(target)
                    stack.append(target)
        return states

    def run(self, text: str, *, prefix: bool) -> bool:
        """Whether the automaton accepts ``text`` (or, with ``prefix``, a prefix of it that ends
        with ``/``)."""
        states = self._closure({0})
        for char in text:
            following = set()
            for state in states:
                for regex, target in self.moves[state]:
                    if regex is None or regex.fullmatch(char):
                        following.add(target)
            if not following:
                return False
            states = self._closure(following)
            if prefix and char == "/" and self.accept in states:
                return True
        return self.accept in states


# ---------------------------------------------------------------- name globs (fnmatch)


@lru_cache(maxsize=1024)
def translate_name(pattern: str) -> str:
    """``pattern`` (``fnmatch`` syntax: ``*`` and ``?`` match ``/`` too) as a regular expression
    for ``re.match`` that cannot backtrack more than linearly: ``(?s:…)\\Z``."""
    items = _parse_name(pattern, "!", "", cross=False)
    return f"(?s:{_stars_regex(items, '.')})\\Z"


@lru_cache(maxsize=1024)
def _name_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(translate_name(pattern))


def name_match(text: str, pattern: str) -> bool:
    """Whether ``text`` matches ``pattern`` as ``fnmatch.fnmatchcase`` would, in linear time."""
    return _name_regex(pattern).match(text) is not None
