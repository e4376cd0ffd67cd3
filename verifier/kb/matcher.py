"""The bridge from a knowledge base to ``verifier origin``: a ``LineMatcher`` (see
``verifier.origin.LineMatcher``) that reads the candidate files of a delivered tree and returns
their line-level matches as ``verifier.origin.classify.LineMatch`` runs.

The matcher counts a run's lines by its normalizer (``verifier.kb.normalize``), the ratio by the
inventory's rule (pygount), and the two differ slightly (a lone ``}`` or a docstring-like string).
So that a file's matched lines are on the inventory's rule and never exceed its ``lines``, each
run's count is scaled by the file's inventory lines ÷ its normalized lines (largest remainders,
so the runs still sum to the file's total): a file matched whole has ``matched_lines == lines``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.kb.match import MAX_DF, MIN_LINES, FileMatches, match_texts
from verifier.kb.normalize import decode_source
from verifier.kb.store import KnowledgeBase

if TYPE_CHECKING:
    from verifier.origin.classify import FileOrigin, LineMatch

#: Files larger than this are not read for matching (origin counts them; a copy in a data blob is
#: not what snippet matching is for).
MAX_MATCH_BYTES = 8 << 20
#: Fewer candidate files than this are fingerprinted in-process (a pool would not pay off).
_PARALLEL_FILES = 8


class KBLineMatcher:
    """Matches self-developed files of a delivered tree against one knowledge base."""

    def __init__(self, path: str | os.PathLike, *, min_lines: int = MIN_LINES,
                 max_df: int = MAX_DF, jobs: int | None = None) -> None:
        self.path = Path(path)
        self.min_lines = min_lines
        self.max_df = max_df
        self.jobs = jobs or min(os.cpu_count() or 1, 8)
        KnowledgeBase.open(self.path).close()  # fail early (InputError) on a bad KB
        self.last: dict[str, FileMatches] = {}
        """The full matches of the last ``match_lines`` call, by path."""

    def match_lines(self, root: Path, files: Sequence[FileOrigin]
                    ) -> dict[str, tuple[LineMatch, ...]]:
        """Runs of at least ``min_lines`` effective lines shared with KB files, by file path."""
        from verifier.origin.classify import LineMatch  # heavy: the origin analysis (pygount), only to match

        root = Path(root)

        def items():
            for item in files:
                path = root / item.path
                try:
                    if path.is_symlink() or path.stat().st_size > MAX_MATCH_BYTES:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                yield item.path, decode_source(data)

        jobs = self.jobs if len(files) >= _PARALLEL_FILES else 1
        self.last = match_texts(self.path, items(), min_lines=self.min_lines, max_df=self.max_df,
                                jobs=jobs)
        lines = {item.path: item.lines for item in files}
        out = {}
        for path, found in self.last.items():
            counts = scale_counts([m.matched_lines for m in found.matches], lines.get(path, 0),
                                  found.effective_lines)
            starts = _line_starts(root / path)
            out[path] = tuple(LineMatch(start_line=m.lines[0], end_line=m.lines[1], lines=count,
                                        component=m.component, version=m.version or None,
                                        license=m.license, matched_file=m.kb_file,
                                        matched_start=m.kb_lines[0], matched_end=m.kb_lines[1],
                                        purl=m.purl, **byte_range(starts, m.lines))
                              for m, count in zip(found.matches, counts))
        return out


_BREAK = re.compile(rb"\r\n|\r|\n")


def _line_starts(path: Path) -> list[tuple[int, int]] | None:
    """(start, end) byte offsets of each physical line of ``path`` (0-based, end before its line break;
    line breaks as the normalizer reads them: CRLF, CR, LF); None when it cannot be read again."""
    try:
        if path.is_symlink() or path.stat().st_size > MAX_MATCH_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    spans, start = [], 0
    for brk in _BREAK.finditer(data):
        spans.append((start, brk.start()))
        start = brk.end()
    spans.append((start, len(data)))
    return spans


def byte_range(spans: list[tuple[int, int]] | None, lines: tuple[int, int]) -> dict[str, int | None]:
    """``start_byte``/``end_byte`` (1-based, inclusive, as SPDX snippets count) of physical lines
    ``lines`` (1-based, inclusive); None for both when the lines are not in ``spans``."""
    first, last = lines
    if spans is None or not 1 <= first <= last <= len(spans):
        return {"start_byte": None, "end_byte": None}
    start, end = spans[first - 1][0], spans[last - 1][1]
    return {"start_byte": start + 1, "end_byte": max(end, start + 1)}


def scale_counts(counts: Sequence[int], lines: int, effective: int) -> list[int]:
    """``counts`` (lines of runs by the normalizer's count, ``effective`` lines in all) restated
    on a file of ``lines`` lines: each scaled by ``lines / effective``, rounded by largest
    remainders so they sum to the scaled total, which never exceeds ``lines``."""
    if effective <= 0 or lines <= 0:
        return [0] * len(counts)
    total = min(lines, round(sum(counts) * lines / effective))
    exact = [c * lines / effective for c in counts]
    floors = [int(x) for x in exact]
    short = total - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[:max(0, short)]:
        floors[i] += 1
    return floors


def open_matcher(path: str | os.PathLike, *, min_lines: int = MIN_LINES, max_df: int = MAX_DF,
                 jobs: int | None = None) -> KBLineMatcher:
    """A ``LineMatcher`` over the KB at ``path`` for ``verifier.origin.analyze(kb=...)``;
    ``InputError`` now if the KB is missing, foreign, corrupt or of another schema version."""
    return KBLineMatcher(path, min_lines=min_lines, max_df=max_df, jobs=jobs)
