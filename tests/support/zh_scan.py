"""Find verifier's own English prose in a rendered Chinese report.

Everything verifier writes into a Chinese report is Chinese; what it did not write (data from the
delivery or the task book, a tool's own words) is marked ``translate="no"`` and stays as written.
So any run of English words outside such a mark is a sentence of verifier's that missed its
translation.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: three or more English words in a row: a sentence, not a unit, a key or a tool's name
ENGLISH_PROSE = re.compile(r"[A-Za-z][a-z]+(?:[ ,;:'’()]+[A-Za-z][a-z]+){2,}")
#: elements whose text is never prose of the report (code, styles, scripts)
_SKIPPED = {"pre", "code", "style", "script"}
_VOID = {"br", "img", "meta", "link", "hr", "input", "source", "wbr", "col", "area", "base", "embed",
         "param", "track"}


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        skip = (tag in _SKIPPED or dict(attrs).get("translate") == "no"
                or (bool(self.stack) and self.stack[-1][1]))
        self.stack.append((tag, skip))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][1]:
            return
        for match in ENGLISH_PROSE.finditer(data):
            self.found.append(f"{match.group(0)!r} in {data.strip()[:160]!r}")


def english_prose(html: str) -> list[str]:
    """Every run of English words in ``html`` outside elements marked ``translate="no"`` (and code)."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found
