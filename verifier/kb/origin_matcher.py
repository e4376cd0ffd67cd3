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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.cache import default_cache_dir
from verifier.kb.auto import AUTO, AutoKB, auto_disabled, auto_knowledge_base
from verifier.kb.build import Fetcher, FetchProgress
from verifier.kb.normalize import decode_source
from verifier.kb.snippets import MAX_DF, MIN_LINES, FileMatches, match_texts
from verifier.kb.store import KnowledgeBase

if TYPE_CHECKING:
    from verifier.origin.classify import FileOrigin, LineMatch

#: Files larger than this are not read for matching (origin counts them; a copy in a data blob is
#: not what snippet matching is for).
MAX_MATCH_BYTES = 8 << 20
#: Fewer candidate files than this are fingerprinted in-process (a pool would not pay off).
_PARALLEL_FILES = 8


class KBLineMatcher:
    """Matches self-developed files of a delivered tree against one or more knowledge bases
    (runs of all of them resolved together), and may build the auto KB of the tree's declared
    dependencies first (``auto``)."""

    def __init__(self, path: str | os.PathLike | Sequence[str | os.PathLike] = (), *,
                 min_lines: int = MIN_LINES, max_df: int = MAX_DF, jobs: int | None = None,
                 auto: AutoOptions | None = None) -> None:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        self.paths = [Path(p) for p in paths]
        self.path = self.paths[0] if self.paths else None
        self.min_lines = min_lines
        self.max_df = max_df
        self.jobs = jobs or min(os.cpu_count() or 1, 8)
        self.auto = auto
        for one in self.paths:
            KnowledgeBase.open(one).close()  # fail early (InputError) on a bad KB
        self.last: dict[str, FileMatches] = {}
        """The full matches of the last ``match_lines`` call, by path."""
        self.auto_result: AutoKB | None = None
        """What the auto KB held for the last ``match_lines`` call."""

    def describe(self) -> dict:
        """The KBs matched against and, for the auto KB, what it holds and misses (for the
        origin report's ``knowledge_base``)."""
        auto = self.auto_result
        return {"files": [str(p) for p in self.paths], "min_match_lines": self.min_lines,
                "auto": auto.to_json() if auto is not None else None,
                "partial": bool(auto and auto.partial)}

    def notes(self) -> list[str]:
        """Warnings for the origin report: a partial match, unreadable manifests."""
        auto = self.auto_result
        if auto is None:
            return []
        out = list(auto.warnings)
        if auto.unfetched:
            shown = "; ".join(f"{p}: {r}" for p, r in auto.unfetched[:5])
            more = f" … and {len(auto.unfetched) - 5} more" if len(auto.unfetched) > 5 else ""
            out.append(f"snippet matching is partial: {len(auto.unfetched)} declared "
                       f"dependencies could not be fetched for the knowledge base ({shown}{more})")
        return out

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
        kbs: list[KnowledgeBase | str | os.PathLike] = list(self.paths)
        if self.auto is not None:
            self.auto_result = auto_knowledge_base(root, self.auto.cache_dir, jobs=self.jobs,
                                                   fetcher=self.auto.fetcher,
                                                   fetch_progress=self.auto.progress)
            if self.auto_result.path is not None:
                kbs.append(self.auto_result.path)
        if not kbs:
            self.last = {}
            return {}
        self.last = match_texts(kbs, items(), min_lines=self.min_lines, max_df=self.max_df,
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


@dataclass(frozen=True)
class AutoOptions:
    """How the auto KB is built: where (the cache directory), and the fetch hooks."""

    cache_dir: Path
    fetcher: Fetcher | None = None
    progress: FetchProgress | None = None


def open_matcher(path: str | os.PathLike | Sequence[str | os.PathLike] = (), *,
                 min_lines: int = MIN_LINES, max_df: int = MAX_DF, jobs: int | None = None,
                 auto: AutoOptions | None = None) -> KBLineMatcher:
    """A ``LineMatcher`` over the KB(s) at ``path`` (and the auto KB of the delivery's declared
    dependencies with ``auto``) for ``verifier.origin.analyze(kb=...)``; ``InputError`` now if a
    KB is missing, foreign, corrupt or of another schema version."""
    return KBLineMatcher(path, min_lines=min_lines, max_df=max_df, jobs=jobs, auto=auto)


def matcher_for(entries: Sequence[str | os.PathLike], *, min_lines: int = MIN_LINES,
                jobs: int | None = None, cache_dir: str | os.PathLike | None = None
                ) -> KBLineMatcher | None:
    """The matcher for ``origin.knowledge_base`` / ``--kb`` entries: KB files and ``auto`` (the
    KB of the delivery's declared dependencies, in ``cache_dir``/kb; left out when
    ``VERIFIER_KB_AUTO=off``); ``None`` when nothing is left to match against."""
    files = [Path(e) for e in entries if str(e).strip().lower() != AUTO]
    wants_auto = any(str(e).strip().lower() == AUTO for e in entries) and not auto_disabled()
    if not files and not wants_auto:
        return None
    auto = AutoOptions(Path(cache_dir or default_cache_dir())) if wants_auto else None
    return open_matcher(files, min_lines=min_lines, jobs=jobs, auto=auto)
