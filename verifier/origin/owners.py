"""Matching copyright holders against the declared owners, the way people write them.

A holder such as ``Copyright (c) 2019-2024 HUNAN EXAMPLE SOFTWARE CO LTD. All rights reserved.`` or
``Hunan Example Software Co., Ltd. and contributors`` is the owner ``Hunan Example Software Co., Ltd.``:
case, punctuation, ``(c)``/``©``, years and open year ranges (``2009-current``, ``2010-present``,
``2011-now``, ``2012–今``, ``2013-至今``, and scancode's readings of them: ``2012-Jin``, a leading
``present,`` once it has dropped the year), company-form suffixes (Ltd, Co., Ltd., Inc, GmbH …),
"and contributors"/"and its affiliates" and "All rights reserved" are ignored. Chinese names are
matched as written and also in the pinyin transliteration scancode reports for them
(``湖南示例软件有限公司`` -> ``Hu Nan Shi Li Ruan Jian``), company suffixes (有限公司, 股份有限公司 …)
ignored. A holder naming an owner *and* someone else (``The Foo Authors and Hunan Example …``) is
split: the owner part is recognised and the rest is a foreign holder.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from text_unidecode import unidecode

#: Words dropped from a holder before comparing: notice words, connectors, company forms.
_DROP_WORDS = frozenset(["c", "copyright", "copyrights", "copr", "all", "rights", "reserved", "right", "and", "its", "their", "his", "her", "the", "of", "by", "contributors", "contributor", "others", "other", "authors", "author", "et", "al", "affiliates", "affiliate", "subsidiaries", "subsidiary", "licensors", "licensor", "team", "developers", "developer", "project", "members", "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "plc", "gmbh", "mbh", "ag", "sa", "sas", "sarl", "bv", "nv", "ab", "oy", "as", "pty", "pte", "kk", "kg", "se", "srl", "spa", "licensed", "license", "licence", "under", "see", "file", "spdx", "identifier", "notice", "portions", "you", "xian", "gong", "si", "gu", "fen", "ze", "ren", "ji", "tuan"])
#: Chinese notice words and company forms removed from the original (untransliterated) text.
_CJK_DROP = re.compile(
    "版权所有|保留所有权利|著作权所有|著作权人|版权|著作权|所有权|"
    "版權所有|保留所有權利|著作權所有|著作權人|版權|著作權|所有權|"
    "股份有限公司|有限责任公司|有限責任公司|有限公司|集团公司|集團公司|公司|集团|集團")
_YEARS = re.compile(r"\b(?:19|20)\d\d\b")
#: An open year range: a year, a dash (or ``~``, ``to``, ``till``, ``至``, ``到``) and a word for
#: "until now" — English, Chinese, or scancode's pinyin of the Chinese (``今`` -> ``Jin``); or
#: such a word opening the holder before a comma (scancode drops the year of ``2013 - present,``).
#: Applied to casefolded NFKC text.
_OPEN_RANGE = re.compile(
    r"\b(?:19|20)\d\d\s*(?:[-\u2010-\u2015~\uff5e]+|\bto\b|\btill\b|\buntil\b|至|到)\s*"
    r"(?:(?:current|present|now|today|date|zhi\s*jin|jin|xian\s*zai|xian\s*jin)\b"
    r"|至今|今|现在|現在|现今|現今)"
    r"|^\W*(?:current|present|now|today)\s*[,;:.]")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _OPEN_RANGE.sub(" ", text)
    text = _CJK_DROP.sub(" ", text)
    text = _YEARS.sub(" ", text)
    return [t for t in _TOKEN.findall(text) if t not in _DROP_WORDS and not t.isdigit()]


def _forms(text: str) -> set[str]:
    """Compact comparable forms of a name: as written, and transliterated to ASCII."""
    return {form for form, _ in _forms_with_kind(text)}


def _forms_with_kind(text: str) -> set[tuple[str, bool]]:
    """``(form, transliterated)`` pairs of a name."""
    forms = {("".join(_tokens(text)), False)}
    if _CJK.search(text):
        forms.add(("".join(_tokens(unidecode(_CJK_DROP.sub(" ", text)))), True))
    return {(f, t) for f, t in forms if f}


def is_transliteration(latin: str, cjk: str) -> bool:
    """Whether ``latin`` (a holder as scancode reports a Chinese name: pinyin, often cut short)
    reads the Chinese holder ``cjk`` (``Bei Jing Mou Mou Ke`` / ``北京某某科技有限公司``)."""
    if not _CJK.search(cjk) or _CJK.search(latin):
        return False
    short = "".join(_tokens(latin))
    full = "".join(_tokens(unidecode(_CJK_DROP.sub(" ", cjk))))
    return len(short) >= 4 and bool(full) and (short in full or full in short)


@dataclass(frozen=True)
class HolderMatch:
    """How one detected holder relates to the owners."""

    holder: str
    owners: tuple[str, ...]
    """The declared owners named in the holder."""
    foreign: str | None
    """What is left of the holder once the owners are taken out, when it names someone else."""


class OwnerMatcher:
    """Decides whether holder strings name the declared owners."""

    def __init__(self, owners: Iterable[str]) -> None:
        self.owners = tuple(dict.fromkeys(o.strip() for o in owners if o and o.strip()))
        self._forms: list[tuple[str, str, bool]] = sorted(
            ((form, owner, translit) for owner in self.owners
             for form, translit in _forms_with_kind(owner)),
            key=lambda item: -len(item[0]))

    def match(self, holder: str) -> HolderMatch:
        """Split ``holder`` into the owners it names and a foreign remainder (``None`` if none)."""
        best: tuple[list[str], str] | None = None
        for variant in sorted(_forms(holder)) or [""]:
            rest = variant
            names: list[str] = []
            for form, owner, translit in self._forms:
                if form and form in rest:
                    rest = rest.replace(form, " ")
                    names.append(owner)
                elif (translit and len(rest) >= max(8, int(0.6 * len(form)))
                      and form.startswith(rest)):
                    # scancode cuts some transliterated Chinese names short: a holder that is
                    # most of the start of an owner's pinyin name is that owner.
                    rest = ""
                    names.append(owner)
            rest = rest.replace(" ", "")
            # the reading naming the most owners wins, then the one leaving least over (in a
            # fixed order: the same holder always gives the same answer)
            if names and (best is None or (len(names), -len(rest)) > (len(best[0]), -len(best[1]))):
                best = (names, rest)
        if best is not None:
            return HolderMatch(holder, tuple(dict.fromkeys(best[0])), holder if best[1] else None)
        # No owner named: foreign, including holders that say nothing but "the authors".
        return HolderMatch(holder, (), holder)

    def is_owner(self, holder: str) -> bool:
        """True when ``holder`` names only declared owners."""
        result = self.match(holder)
        return bool(result.owners) and result.foreign is None
