"""Line-level matching of delivered files against a knowledge base.

For every file: normalize, winnow (with the KB's k and w), look the fingerprints up in the KB's
inverted index (``verifier.kb.postings``: only the buckets, records and files the delivery's
fingerprints name are read, so the cost follows the delivery, not the KB), then form *runs*:
chains of fingerprints shared with one KB file, increasing in both files, consecutive ones at most
20 effective lines apart and on the same diagonal within one line (changed lines are bridged —
identifiers renamed on line after line leave few fingerprints — an inserted block is not). Each
run is widened line by line at both ends while the normalized lines are equal (by the line hashes
the KB stores), by at most ``w // 16`` lines, about the ``w - 1`` bytes winnowing may leave unseen
at each end of a copy. A run covering at least
``min_lines`` effective lines marks those lines third-party.

Fingerprints found in files of more than ``max_df`` distinct components are boilerplate and ignored.
Overlapping runs from different KB files (a vendored copy of the same code) are resolved longest
first, ties broken by component name, version and path, so the same inputs give the same matches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier.errors import InputError, ToolError
from verifier.kb.normalize import decode_source, normalize
from verifier.kb.store import Component, KnowledgeBase
from verifier.kb.winnow import Fingerprints, decode_lines, fingerprint, mask_line_hashes

#: Default minimum run, in effective lines.
MIN_LINES = 10
#: A fingerprint present in files of more than this many distinct components is ignored.
MAX_DF = 10
#: A hash repeated more often than this within one file carries no position information.
_REPEAT_CAP = 16
#: Fingerprinting one delivered file may take this long (seconds) before matching gives up.
_TASK_TIMEOUT_S = 300
#: Fewest fingerprints a run may rest on.
_MIN_RUN_FPS = 2
#: Consecutive fingerprints of a run are at most this many effective lines apart (12 before:
#: 20 raised the recall of renamed copies of 20 and 30 lines from 78% and 88% to 81% and 93%, with
#: no more false positives, bench_kb_accuracy.py) …
_GAP_LINES = 20
#: … and the two files' gaps differ by at most this many lines (a changed line is bridged, an
#: inserted block is not).
_DRIFT_LINES = 1


@dataclass(frozen=True)
class SnippetMatch:
    """One run of lines shared with a knowledge-base file."""

    component: str
    version: str
    license: str | None
    kind: str
    """Component kind: python, npm, debian, directory, archive."""
    purl: str | None
    kb_file: str
    """Path of the matched file inside its component."""
    lines: tuple[int, int]
    """First and last physical line of the run in the delivered file (1-based, inclusive)."""
    kb_lines: tuple[int, int]
    """First and last physical line of the run in the knowledge-base file."""
    matched_lines: int
    """Effective lines of the delivered file this run marks (a run overlapping a longer one counts
    only the lines it adds, so the runs of a file sum to its ``matched_lines``)."""
    fingerprints: int
    """Shared fingerprints the run rests on."""

    def to_json(self) -> dict:
        """Plain JSON-ready dict."""
        return {"component": self.component, "version": self.version, "license": self.license,
                "kind": self.kind, "purl": self.purl, "kb_file": self.kb_file,
                "lines": list(self.lines), "kb_lines": list(self.kb_lines),
                "matched_lines": self.matched_lines, "fingerprints": self.fingerprints}


@dataclass(frozen=True)
class FileMatches:
    """The matches of one delivered file."""

    path: str
    matched_lines: int
    """Effective lines covered by at least one match."""
    effective_lines: int
    """Effective (non-blank, non-comment) lines of the file as the normalizer counts them."""
    matches: tuple[SnippetMatch, ...]
    """In order of their first line."""
    line_numbers: tuple[int, ...]
    """Physical numbers of the matched effective lines, ascending."""

    def to_json(self) -> dict:
        """Plain JSON-ready dict (the line numbers are given as ranges in ``matches``)."""
        return {"path": self.path, "matched_lines": self.matched_lines,
                "effective_lines": self.effective_lines,
                "matches": [m.to_json() for m in self.matches]}


@dataclass(frozen=True)
class _Query:
    path: str
    fps: Fingerprints


@dataclass(frozen=True)
class _Run:
    item: int
    content: int
    q_lines: tuple[int, int]
    """Normalized line indices in the query, inclusive."""
    k_lines: tuple[int, int]
    fps: int


def match_texts(kb: KnowledgeBase | str | os.PathLike | Sequence[KnowledgeBase | str | os.PathLike],
                items: Iterable[tuple[str, str]], *, min_lines: int = MIN_LINES,
                max_df: int = MAX_DF, jobs: int = 1) -> dict[str, FileMatches]:
    """Match ``(path, text)`` items against ``kb`` (one KB, or several: each file is
    fingerprinted once per winnowing setting, and the runs of every KB are resolved together,
    longest first); files with at least one run of ``min_lines`` effective lines shared with a KB
    file, by path. Deterministic (``jobs`` > 1 fingerprints the files in a process pool; the
    result is the same)."""
    if min_lines < 1:
        raise InputError(f"min_lines must be at least 1, not {min_lines}")
    many = isinstance(kb, (list, tuple))
    given = list(kb) if many else [kb]
    with contextlib.ExitStack() as stack:
        opened = [k if isinstance(k, KnowledgeBase) else stack.enter_context(
            KnowledgeBase.open(Path(k))) for k in given]
        items = list(items) if len(opened) > 1 else items
        results = []
        fingerprinted: dict[tuple[int, int], list[tuple[str, Fingerprints]]] = {}
        for one in opened:
            key = (one.k, one.w)
            if key not in fingerprinted:
                fingerprinted[key] = list(_fingerprinted(items, one.k, one.w, jobs))
            results.append(_match(one, fingerprinted[key], min_lines, max_df))
    return results[0] if len(results) == 1 else merge_matches(results, min_lines)


def merge_matches(results: Sequence[Mapping[str, FileMatches]], min_lines: int
                  ) -> dict[str, FileMatches]:
    """The matches of several KBs for the same files, overlaps resolved as within one KB: longest
    first, a run kept when it adds at least ``min_lines`` lines no longer run covered."""
    out: dict[str, FileMatches] = {}
    for path in sorted({p for result in results for p in result}):
        found = [result[path] for result in results if path in result]
        pool = []
        for file in found:
            numbers = set(file.line_numbers)
            for match in file.matches:
                lines = {n for n in numbers if match.lines[0] <= n <= match.lines[1]}
                pool.append((match, lines))
        pool.sort(key=lambda e: (-len(e[1]), -e[0].fingerprints, e[0].component.lower(),
                                 e[0].version, e[0].kind, e[0].kb_file, e[0].lines))
        covered: set[int] = set()
        kept = []
        for match, lines in pool:
            added = len(lines - covered)
            if added < min_lines:
                continue
            covered |= lines
            kept.append(dataclasses.replace(match, matched_lines=added))
        if kept:
            kept.sort(key=lambda m: (m.lines, m.component, m.kb_file))
            out[path] = FileMatches(path, len(covered), found[0].effective_lines, tuple(kept),
                                    tuple(sorted(covered)))
    return out


def match_paths(kb: KnowledgeBase | str | os.PathLike, root: str | os.PathLike,
                paths: Iterable[str], **options) -> dict[str, FileMatches]:
    """Like ``match_texts`` for files given by POSIX paths relative to ``root`` (UTF-8, else
    Latin-1; unreadable files are left out)."""
    base = Path(root)

    def texts():
        for rel in paths:
            try:
                data = (base / rel).read_bytes()
            except OSError:
                continue
            yield rel, decode_source(data)
    return match_texts(kb, texts(), **options)


def _fingerprint_one(task: tuple[str, str, int, int]) -> Fingerprints:
    path, text, k, w = task
    return fingerprint(normalize(text, path), k, w)


def _fingerprinted(items: Iterable[tuple[str, str]], k: int, w: int, jobs: int
                   ) -> Iterator[tuple[str, Fingerprints]]:
    """Fingerprints of every item, in order; a fork-started pool when ``jobs`` > 1."""
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for path, text in items:
            yield path, _fingerprint_one((path, text, k, w))
        return
    pending: list[str] = []

    def tasks():
        for path, text in items:
            pending.append(path)
            yield path, text, k, w
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        stream = pool.imap(_fingerprint_one, tasks())
        while True:
            try:
                fps = stream.next(timeout=_TASK_TIMEOUT_S)
            except StopIteration:
                return
            except multiprocessing.TimeoutError:
                pool.terminate()
                raise ToolError(f"fingerprinting {pending[0] if pending else 'a file'} took over "
                                f"{_TASK_TIMEOUT_S} s") from None
            yield pending.pop(0), fps


def _match(kb: KnowledgeBase, fingerprinted: Iterable[tuple[str, Fingerprints]], min_lines: int,
           max_df: int) -> dict[str, FileMatches]:
    queries: list[_Query] = []
    index: dict[int, list[tuple[int, int]]] = {}
    for path, fps in fingerprinted:
        if not fps.hashes:
            continue
        fps = mask_line_hashes(fps, kb.line_bits)
        item = len(queries)
        queries.append(_Query(path, fps))
        positions: dict[int, list[int]] = {}
        for at, value in enumerate(fps.hashes):
            positions.setdefault(value, []).append(at)
        for value, ats in positions.items():
            if len(ats) <= _REPEAT_CAP:
                index.setdefault(value, []).extend((item, at) for at in ats)
    if not queries:
        return {}
    occurrences = kb.lookup(index)
    owners = kb.files_of({content for found in occurrences.values() for content, _ in found})
    components = kb.components_by_id({cid for files in owners.values() for cid, _ in files})
    names = {cid: comp.name.lower() for cid, comp in components.items()}
    hits: dict[int, list[tuple[int, int]]] = {}
    for value, found in occurrences.items():
        holders = {names[cid] for content, _ in found for cid, _ in owners.get(content, ())
                   if cid in names}
        if len(holders) > max_df:  # boilerplate: in files of more than max_df components
            continue
        for content, at in found:
            if content in owners:  # a record no file holds any more is not matched
                hits.setdefault(content, []).append((at, value))
    pairs: list[tuple[int, int, list[tuple[int, int]]]] = []
    for content, found in sorted(hits.items()):
        by_item: dict[int, list[tuple[int, int]]] = {}
        for kb_at, value in found:
            for item, q_at in index[value]:
                by_item.setdefault(item, []).append((q_at, kb_at))
        pairs += [(content, item, matched) for item, matched in sorted(by_item.items())
                  if len(matched) >= _MIN_RUN_FPS]
    records = _load_records(kb, {content for content, _, _ in pairs})
    runs: list[_Run] = []
    for content, item, matched in pairs:
        if max(at for _, at in matched) >= len(records[content].starts):
            raise InputError(f"{kb.path}: corrupt knowledge base (an index entry past the end of "
                             f"record {content})", hint="rebuild it with `verifier kb build`")
        runs += _runs(item, content, queries[item].fps, records[content], matched, kb.w, min_lines)
    return _resolve(queries, runs, records, components, owners, min_lines)


def _load_records(kb: KnowledgeBase, contents: set[int]) -> dict[int, Fingerprints]:
    """The line data of these records, read in batches; ``InputError`` if one is missing or
    damaged."""
    out: dict[int, Fingerprints] = {}
    rows = kb.records(contents)
    for content in sorted(contents):
        if content not in rows:
            raise InputError(f"{kb.path}: corrupt knowledge base (record {content} missing)",
                             hint="rebuild it with `verifier kb build`")
        n_fps, n_lines, data = rows[content]
        try:
            out[content] = decode_lines(data, n_fps, n_lines, kb.line_bits)
        except ValueError as err:
            raise InputError(f"{kb.path}: corrupt knowledge base (record {content}: {err})"
                             ) from None
    return out


def _runs(item: int, content: int, query: Fingerprints, record: Fingerprints,
          matched: list[tuple[int, int]], w: int, min_lines: int) -> list[_Run]:
    """Chains of shared fingerprints between one query file and one KB file, as line runs."""
    hits = sorted(set(matched))
    qs, ks = query.starts, record.starts
    alive = list(range(len(hits)))
    runs = []
    while len(alive) >= _MIN_RUN_FPS:
        score: dict[int, int] = {}
        back: dict[int, int | None] = {}
        best = None
        for pos, j in enumerate(alive):
            qj, kj = hits[j]
            score[j], back[j] = 1, None
            for i in reversed(alive[max(0, pos - 64):pos]):
                qi, ki = hits[i]
                dq = qs[qj] - qs[qi]
                if dq > _GAP_LINES:
                    break
                dk = ks[kj] - ks[ki]
                if qi < qj and ki < kj and dk <= _GAP_LINES and abs(dq - dk) <= _DRIFT_LINES \
                        and score[i] + 1 > score[j]:
                    score[j], back[j] = score[i] + 1, i
            if best is None or score[j] > score[best]:
                best = j
        if score[best] < _MIN_RUN_FPS:
            break
        chain = []
        at = best
        while at is not None:
            chain.append(at)
            at = back[at]
        chain.reverse()
        taken = set(chain)
        alive = [j for j in alive if j not in taken]
        (q_first, k_first), (q_last, k_last) = hits[chain[0]], hits[chain[-1]]
        extend = max(2, w // 16)
        q_lo, k_lo = _widen(query, record, qs[q_first], ks[k_first], -1, extend)
        q_hi, k_hi = _widen(query, record, qs[q_last] + query.spans[q_last],
                            ks[k_last] + record.spans[k_last], +1, extend)
        if q_hi - q_lo + 1 >= min_lines:
            runs.append(_Run(item, content, (q_lo, q_hi), (k_lo, k_hi), len(chain)))
    return runs


def _widen(query: Fingerprints, record: Fingerprints, q: int, r: int, step: int,
           limit: int) -> tuple[int, int]:
    """Move a run end outwards while the next lines are equal, by at most ``limit`` lines."""
    for _ in range(limit):
        nq, nr = q + step, r + step
        if not (0 <= nq < len(query.line_hashes) and 0 <= nr < len(record.line_hashes)) \
                or query.line_hashes[nq] != record.line_hashes[nr]:
            break
        q, r = nq, nr
    return q, r


def _resolve(queries: list[_Query], runs: list[_Run], records: dict[int, Fingerprints],
             components: dict[int, Component], owners: dict[int, list[tuple[int, str]]],
             min_lines: int) -> dict[str, FileMatches]:
    """Keep, per file, the runs that add at least ``min_lines`` new lines, longest first."""
    def source(content: int) -> tuple[Component, str]:
        cid, path = min(owners[content], key=lambda o: (
            components[o[0]].name.lower(), components[o[0]].version, components[o[0]].kind, o[1]))
        return components[cid], path

    per_item: dict[int, list[tuple[_Run, Component, str]]] = {}
    for run in runs:
        comp, path = source(run.content)
        per_item.setdefault(run.item, []).append((run, comp, path))
    out: dict[str, FileMatches] = {}
    for item in sorted(per_item):
        query = queries[item].fps
        ordered = sorted(per_item[item], key=lambda e: (
            -(e[0].q_lines[1] - e[0].q_lines[0]), -e[0].fps, e[1].name.lower(), e[1].version,
            e[1].kind, e[2], e[0].q_lines, e[0].k_lines))
        covered: set[int] = set()
        kept: list[SnippetMatch] = []
        for run, comp, path in ordered:
            span = set(range(run.q_lines[0], run.q_lines[1] + 1))
            added = len(span - covered)
            if added < min_lines:
                continue
            covered |= span
            record = records[run.content]
            kept.append(SnippetMatch(
                component=comp.name, version=comp.version, license=comp.license, kind=comp.kind,
                purl=comp.purl, kb_file=path,
                lines=(query.numbers[run.q_lines[0]], query.numbers[run.q_lines[1]]),
                kb_lines=(record.numbers[run.k_lines[0]], record.numbers[run.k_lines[1]]),
                matched_lines=added, fingerprints=run.fps))
        if not kept:
            continue
        kept.sort(key=lambda m: (m.lines, m.component, m.kb_file))
        path = queries[item].path
        out[path] = FileMatches(path, len(covered), len(query.numbers), tuple(kept),
                                tuple(query.numbers[i] for i in sorted(covered)))
    return dict(sorted(out.items()))
