"""Minified and bundled assets (``*.min.js``, webpack bundles, one-line vendor blobs): recognised by
name or by line-length statistics of a bounded sample, before any lexing.

Lexing them is what costs (a 200 MB one-line JavaScript file took over 600 s) and tells nothing:
their origin is third-party by the ``minified`` rule of ``classify`` unless declared, and their
weight is their non-blank lines, which for such code are its effective lines.
"""

from __future__ import annotations

import re

from verifier.origin import counting

#: Mean non-blank line length (bytes) from which any source file is taken as minified/bundled.
MINIFIED_MEAN_LINE = 250
#: A line this long (characters) in a web asset (JS/CSS/HTML …) marks it minified/bundled.
MINIFIED_MAX_LINE = 1000
#: Bytes at the start of a file whose lines decide, before lexing, that it is minified/bundled.
SAMPLE_BYTES = 1024 * 1024
WEB_LANGUAGES = frozenset({"javascript", "typescript", "css", "scss", "sass", "less", "html",
                           "vue", "jsx", "tsx", "coffeescript", "javascript+genshi"})
_NAME = re.compile(r"[.-]min\.(?:m?js|css)$|\.bundle\.m?js$|\.packed\.js$|\.prod\.js$",
                   re.IGNORECASE)

RULE = (f"a source file with a minified/bundled name (*.min.js, *-min.css, *.bundle.js, "
        f"*.packed.js, *.prod.js), or whose first {SAMPLE_BYTES // 1024 // 1024} MiB has non-blank "
        f"lines of {MINIFIED_MEAN_LINE} bytes or more on average, or, in a web language (JavaScript, "
        f"TypeScript, CSS, HTML, Vue …), a line of {MINIFIED_MAX_LINE} characters or more, is a "
        "minified or bundled asset: it is not lexed and weighs its non-blank physical lines")


def minified_name(name: str) -> bool:
    """Whether a file name marks a minified or bundled asset (``app.min.js``, ``x.bundle.js`` …)."""
    return _NAME.search(name) is not None


def is_web_language(language: str | None) -> bool:
    """Whether ``language`` (a pygments/pygount name) is a web asset language."""
    return (language or "").lower() in WEB_LANGUAGES


def sample_lines(sample: bytes, whole: bool) -> list[bytes]:
    """The lines of ``sample`` (the first bytes of a file; all of it when ``whole``), CR, LF and
    CRLF ending a line; a line cut by the end of a partial sample is kept."""
    lines = sample.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if whole and lines and not lines[-1]:
        lines.pop()
    return lines


def line_chars(line: bytes, encoding: str | None) -> int:
    """Characters of one line in ``encoding`` (UTF-8 when unknown; undecodable bytes count one
    each)."""
    try:
        return len(line.decode(encoding or "utf-8", errors="replace"))
    except LookupError:
        return len(line.decode("utf-8", errors="replace"))


def sample_encoding(sample: bytes, whole: bool) -> str | None:
    """The text encoding of a sample as ``counting.decode_text`` finds it (a partial sample is
    read up to its last line break, so no character is cut), or None."""
    if not whole:
        end = max(sample.rfind(b"\n"), sample.rfind(b"\r"))
        sample = sample[:end + 1] if end >= 0 else b""
    decoded = counting.decode_text(sample) if sample else None
    return decoded[1].split(" ")[0] if decoded is not None else None


def minified_asset(name: str, language: str | None, sample: bytes, *, whole: bool
                   ) -> tuple[str, int, str | None] | None:
    """``(reason, longest line in characters, encoding)`` when a source file is a minified or
    bundled asset, decided from its name and ``sample`` (its first ``SAMPLE_BYTES``; all of it when
    ``whole``) without lexing (``RULE``); None otherwise. UTF-16/32 text is never judged here."""
    if counting.wide_encoding(sample[:8192]) is not None:
        return None
    lines = sample_lines(sample, whole)
    nonblank = [line for line in lines if line.strip()]
    if not nonblank:
        return None
    mean = sum(map(len, nonblank)) / len(nonblank)
    scope = "" if whole else f" in its first {SAMPLE_BYTES // 1024 // 1024} MiB"
    reason = None
    encoding = None
    if minified_name(name):
        reason = f"minified/bundled asset name {name}"
    elif mean >= MINIFIED_MEAN_LINE:
        reason = (f"mean line length {mean:.0f} ≥ {MINIFIED_MEAN_LINE}{scope}: minified or "
                  "bundled")
    elif is_web_language(language) and max(map(len, lines)) >= MINIFIED_MAX_LINE:
        encoding = sample_encoding(sample, whole)
        chars = max(line_chars(line, encoding) for line in lines if len(line) >= MINIFIED_MAX_LINE)
        if chars >= MINIFIED_MAX_LINE:
            reason = (f"a {chars}-character line{scope} in a {language} file: minified or "
                      "bundled")
    if reason is None:
        return None
    if encoding is None:
        encoding = sample_encoding(sample, whole)
    longest = max(line_chars(line, encoding) for line in lines)
    return reason, longest, encoding
