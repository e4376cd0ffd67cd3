"""Sentences verifier writes in English, shown in Chinese in the Chinese report.

results.json keeps what verifier wrote, in English (the canonical record; the terminal shows it).
The Chinese report shows each such sentence in Chinese when a ``verifier.probe.Phrase`` matches it
whole: a ``str.format`` template whose fields capture the data inside the sentence (a path, a count,
a tool's words), which stays as written. Phrases come from the probe that wrote the sentence
(``Presentation.phrases``) and from verifier itself (``verifier.i18n.PHRASES``, the origin
analysis's ``verifier.origin.phrases``). A field may be translated in turn: by the words declared
for it (``words``), or, when it is ``nested``, by the same phrases (an origin reason ends with
"; not counted (doc file, 0 lines)" after another reason). A sentence no phrase matches is not
verifier's: it is shown as written and marked as the tool's own text.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from verifier.probe import Phrase

_FORMATTER = string.Formatter()


@lru_cache(maxsize=4096)
def phrase_pattern(template: str) -> re.Pattern[str]:
    """The regular expression matching sentences written from ``template`` (``{name}`` fields become
    named groups; ``{{``/``}}`` are literal braces; a field used twice must match the same text)."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _spec, _conv in _FORMATTER.parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"phrase field {name!r} in {template!r} is not a plain name")
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


Part = tuple[str, bool]
"""A piece of a translated sentence and whether it is data (a field's text kept as written)."""


@dataclass(frozen=True)
class Translator:
    """Chinese for the English sentences ``phrases`` describe."""

    phrases: Sequence[Phrase]
    words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Field name -> English value -> Chinese (``{"kind": {"doc": "文档"}}``)."""
    nested: frozenset[str] = frozenset()
    """Fields whose text may itself be a sentence of these phrases (``"*"``: every field)."""

    def zh(self, text: str) -> str | None:
        """``text`` in Chinese, or None when no phrase matches it whole."""
        parts = self.parts(text)
        return None if parts is None else "".join(piece for piece, _ in parts)

    def parts(self, text: str) -> list[Part] | None:
        """``text`` in Chinese as pieces, each marked when it is data (a field kept as written), or
        None when no phrase matches it whole."""
        return self._parts(text, 0)

    def _parts(self, text: str, depth: int) -> list[Part] | None:
        if depth > 4:
            return None
        for phrase in self.phrases:
            match = phrase_pattern(phrase.en).fullmatch(text)
            if match is None:
                continue
            values = match.groupdict()
            out: list[Part] = []
            for literal, name, _spec, _conv in _FORMATTER.parse(phrase.zh):
                if literal:
                    out.append((literal, False))
                if name is None:
                    continue
                value = values.get(name, "")
                shown = self.words.get(name, {}).get(value)
                if shown is not None:
                    out.append((shown, False))
                    continue
                inner = (self._parts(value, depth + 1)
                         if value and ("*" in self.nested or name in self.nested) else None)
                out += inner if inner is not None else [(value, True)]
            return out
        return None

    def with_phrases(self, more: Sequence[Phrase], words: Mapping[str, Mapping[str, str]] | None = None
                     ) -> Translator:
        """This translator with ``more`` phrases tried first (and more field words)."""
        return Translator((*more, *self.phrases), {**self.words, **(words or {})}, self.nested)
