"""Line-level matching of delivered files against a knowledge base.

For every file: normalize, fingerprint both streams (exact k-grams of the normalized text, shape
grams of its abstract lines, ``verifier.kb.winnow``, with the KB's k-gram and shape-gram sizes)
more densely than the KB was (every shape gram; exact k-grams winnowed with a window of at most
``QUERY_W``), so that a gram the KB selected is found wherever the delivered file holds it,
whatever the delivered file's own windows would select around an edit; look the
fingerprints up in the KB's inverted index (``verifier.kb.postings``: only the buckets, records
and files the delivery's fingerprints name are read, so the cost follows the delivery, not the
KB), then form *runs* with each KB file sharing some:

- *chains*: fingerprints shared within their stream, onwards in both files, consecutive ones at
  most 20 effective lines apart and on the same diagonal within one line (changed lines are
  bridged, an inserted block is not); a fingerprint no chain took stands alone;
- each chain is *walked* outwards line by line at both ends, onto the next lines while their
  abstract texts agree (renamed identifiers, changed literals), past up to two lines inserted,
  deleted, changed or swapped in either file onto lines equal in both, stopping where the walk
  scored best (``_walk``), by at most 10 lines an end;
- a run is kept when enough of its lines are equal in both files (the KB stores a 4-bit hash of
  each line): a fifth with two exact fingerprints or three with one exact, 30% with two or more,
  40% with one (``_EQUAL_SHARE``; lines of imports do not count for one; a chain of shape grams
  alone, however long, is structure, and a table repeats one): code that only looks alike — a
  list of imports, a table, a run of like statements — has few equal lines, a copy has many
  even when renamed.

A run covering at least ``min_lines`` effective lines marks those lines third-party.

Fingerprints found in files of more than ``max_df`` distinct components are boilerplate and ignored.
Overlapping runs from different KB files (a vendored copy of the same code) are resolved by most
equal lines, then longest, ties broken by component name, version and path, so the same inputs
give the same matches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier.errors import InputError, ToolError
from verifier.kb.normalize import decode_source, normalize
from verifier.kb.store import Component, KnowledgeBase
from verifier.kb.winnow import Fingerprints, decode_lines, fingerprint, mask_line_hashes
from verifier.proc import pool_worker_init

#: Default minimum run, in effective lines.
MIN_LINES = 10
#: A fingerprint present in files of more than this many distinct components is ignored.
MAX_DF = 10
#: A hash repeated more often than this within one file carries no position information.
_REPEAT_CAP = 16
#: Delivered files are winnowed with an exact window of at most this many k-grams (and every shape
#: gram is looked up): a KB's fingerprint near an edit in the copy is then still found. Halving the
#: KB's window (200) found 3 more in 100 of the type-3 copies of 10 lines, bench_kb_accuracy.py.
QUERY_W = 100
#: Fingerprinting one delivered file may take this long (seconds) before matching gives up.
_TASK_TIMEOUT_S = 300
#: Consecutive fingerprints of a chain are at most this many effective lines apart (12 before:
#: 20 raised the recall of renamed copies of 20 and 30 lines from 78% and 88% to 81% and 93%, with
#: no more false positives, bench_kb_accuracy.py) …
_GAP_LINES = 20
#: … and the two files' gaps differ by at most this many lines (a changed line is bridged, an
#: inserted block is not).
_DRIFT_LINES = 1
#: A run end is walked outwards by at most this many lines …
_EXTEND_LINES = 10
#: … each line it passes costing this much of a landing's +1 …
_SKIP_COST = 0.25
#: … and it stops where it scored best, before falling this far below that.
_WALK_DROP = 2
#: Share of a run's lines that must be equal in both files, by what the run rests on: two exact
#: fingerprints or three with one exact, two fingerprints or more, one.
_EQUAL_SHARE = {"anchored": 0.2, "pair": 0.3, "lone": 0.4}


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
    equal: int
    """Lines of the run equal in both files (by their 4-bit hashes)."""


#: one knowledge base: opened, or its file
_KB = KnowledgeBase | str | os.PathLike


def match_texts(kb: _KB | list[_KB] | tuple[_KB, ...],
                items: Iterable[tuple[str, str]], *, min_lines: int = MIN_LINES,
                max_df: int = MAX_DF, jobs: int = 1) -> dict[str, FileMatches]:
    """Match ``(path, text)`` items against ``kb`` (one KB, or several: each file is
    fingerprinted once per winnowing setting, and the runs of every KB are resolved together,
    longest first); files with at least one run of ``min_lines`` effective lines shared with a KB
    file, by path. Deterministic (``jobs`` > 1 fingerprints the files in a process pool; the
    result is the same)."""
    if min_lines < 1:
        raise InputError(f"min_lines must be at least 1, not {min_lines}")
    given = list(kb) if isinstance(kb, (list, tuple)) else [kb]
    with contextlib.ExitStack() as stack:
        opened = [k if isinstance(k, KnowledgeBase) else stack.enter_context(
            KnowledgeBase.open(Path(k))) for k in given]
        items = list(items) if len(opened) > 1 else items
        results = []
        fingerprinted: dict[tuple[int, int, int, int], list[tuple[str, Fingerprints]]] = {}
        for one in opened:
            key = (one.k, one.w, one.shape_k, one.shape_w)
            if key not in fingerprinted:
                fingerprinted[key] = list(_fingerprinted(items, key, jobs))
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


def _fingerprint_one(task: tuple[str, str, tuple[int, int, int, int]]) -> Fingerprints:
    """A delivered file's fingerprints for a KB of these parameters: more densely selected."""
    path, text, (k, w, shape_k, _) = task
    return fingerprint(normalize(text, path), k, min(w, QUERY_W), shape_k, 1)


def _fingerprinted(items: Iterable[tuple[str, str]], params: tuple[int, int, int, int], jobs: int
                   ) -> Iterator[tuple[str, Fingerprints]]:
    """Fingerprints of every item with the winnowing ``params`` (k, w, shape k, shape w), in
    order; a fork-started pool when ``jobs`` > 1."""
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for path, text in items:
            yield path, _fingerprint_one((path, text, params))
        return
    pending: list[str] = []

    def tasks():
        for path, text in items:
            pending.append(path)
            yield path, text, params
    with multiprocessing.get_context("fork").Pool(jobs, initializer=pool_worker_init,
                                                  initargs=(os.getpid(),)) as pool:
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
        fps = mask_line_hashes(fps)
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
        repeats = Counter(value for _, value in found)
        for kb_at, value in found:
            if repeats[value] > _REPEAT_CAP:  # as in the query: no position information
                continue
            for item, q_at in index[value]:
                by_item.setdefault(item, []).append((q_at, kb_at))
        # a run rests on two fingerprints or on one of the exact stream
        pairs += [(content, item, matched) for item, matched in sorted(by_item.items())]
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
            out[content] = decode_lines(data, n_fps, n_lines)
        except ValueError as err:
            raise InputError(f"{kb.path}: corrupt knowledge base (record {content}: {err})"
                             ) from None
    return out


def _runs(item: int, content: int, query: Fingerprints, record: Fingerprints,
          matched: list[tuple[int, int]], w: int, min_lines: int) -> list[_Run]:
    """Runs of lines shared by one query file and one KB file: chains of shared fingerprints
    (or one alone), walked outwards line by line, kept when they cover ``min_lines`` lines and
    enough of them are equal in both files (``_equal_share``)."""
    qx, kx = query.n_exact, record.n_exact
    qs, ks = query.starts, record.starts
    # (query line, KB line, query fingerprint, KB fingerprint), a fingerprint shared within its
    # stream (a value of one stream equal to one of the other is chance)
    hits = sorted({(qs[q], ks[k], q, k) for q, k in matched if (q < qx) == (k < kx)})
    alive = list(range(len(hits)))
    chains: list[list[int]] = []
    while len(alive) >= 2:
        score: dict[int, int] = {}
        back: dict[int, int | None] = {}
        best = None
        for pos, j in enumerate(alive):
            qj, kj = hits[j][0], hits[j][1]
            score[j], back[j] = 1, None
            for i in reversed(alive[max(0, pos - 64):pos]):
                qi, ki = hits[i][0], hits[i][1]
                dq = qj - qi
                if dq > _GAP_LINES:
                    break
                dk = kj - ki
                # onwards in both files (or two grams of one line pair)
                if ((dq and 0 < dk <= _GAP_LINES) or not (dq or dk)) \
                        and abs(dq - dk) <= _DRIFT_LINES and score[i] + 1 > score[j]:
                    score[j], back[j] = score[i] + 1, i
            if best is None or score[j] > score[best]:
                best = j
        if best is None or score[best] < 2:
            break
        chain = []
        at: int | None = best
        while at is not None:
            chain.append(at)
            at = back[at]
        chain.reverse()
        chains.append(chain)
        taken = set(chain)
        alive = [j for j in alive if j not in taken]
    chains += [[j] for j in alive]
    runs: list[_Run] = []
    limit = _EXTEND_LINES
    for chain in chains:
        anchors = [hits[j] for j in chain]
        if len(chain) < 2 and any(run.q_lines[0] <= anchors[0][0] <= run.q_lines[1]
                                  and run.k_lines[0] <= anchors[0][1] <= run.k_lines[1]
                                  for run in runs):
            continue  # a lone fingerprint inside a run already found
        exact = sum(1 for a in anchors if a[2] < qx)
        q_lo, q_hi, k_lo, k_hi, equal = _extend(query, record, anchors, limit)
        if q_hi - q_lo + 1 >= min_lines \
                and equal >= _equal_share(exact, len(chain)) * (q_hi - q_lo + 1):
            runs.append(_Run(item, content, (q_lo, q_hi), (k_lo, k_hi), len(chain), equal))
    return runs


def _equal_share(exact: int, fps: int) -> float:
    """Share of a run's lines that must be equal in both files for a run resting on ``fps``
    fingerprints, ``exact`` of them of the exact stream."""
    if exact >= 2 or (exact and fps >= 3):
        return _EQUAL_SHARE["anchored"]
    return _EQUAL_SHARE["pair" if fps >= 2 else "lone"]


def _extend(query: Fingerprints, record: Fingerprints, anchors: list[tuple[int, int, int, int]],
            limit: int) -> tuple[int, int, int, int, int]:
    """The run of a chain of shared fingerprints: its first and last lines in both files,
    widened at both ends (``_walk``), and how many of its query lines equal the record's line
    they are aligned with (along each fingerprint's diagonal and the widened ends)."""
    spans = query.spans
    k_top = len(record.line_hashes) - 1
    q_end, last = max((a[0] + min(spans[a[2]], k_top - a[1]), a) for a in anchors)
    head = _walk(query, record, anchors[0][0], anchors[0][1], -1, limit)
    tail = _walk(query, record, q_end, q_end - last[0] + last[1], +1, limit)
    aligned = dict(head + tail)
    for (q, k, _, _), following in zip(anchors, [*anchors[1:], None]):
        stop = q_end if following is None else following[0]
        for line in range(q, stop + 1):
            aligned.setdefault(line, line - q + k)
    qh, rh = query.line_hashes, record.line_hashes
    shapes = query.shape_hashes
    # a lone fingerprint among imports is no copy: many files import much the same
    equal = sum(1 for q, r in aligned.items() if 0 <= r <= k_top and qh[q] == rh[r]
                and (len(anchors) > 1 or not shapes or shapes[q]))
    (q_lo, k_lo), (q_hi, k_hi) = head[-1], tail[-1]
    return q_lo, q_hi, k_lo, k_hi, equal


#: A step onto a line of an import statement in both files that is not equal scores this much …
_IMPORT_STEP = 0.5
#: … and a walk takes at most this many such steps (renamed copies of 10 lines found 86.7% ->
#: 92.5%, false positives around them 0.28% -> 0.33% of own lines, bench_kb_accuracy.py).
_IMPORT_STEPS = 2


#: Steps a run end may take outwards: onto the next lines of both files, or past up to two lines
#: of either or both (lines inserted, deleted, changed or swapped), landing on equal lines.
_STEPS = ((1, 1), (2, 1), (1, 2), (2, 2), (3, 1), (1, 3), (3, 2), (2, 3), (3, 3))


def _walk(query: Fingerprints, record: Fingerprints, q: int, r: int, step: int,
          limit: int) -> list[tuple[int, int]]:
    """The line pairs a run end moves through outwards from ``(q, r)`` (included), by at most
    ``limit`` lines: onto the next lines when they are alike (their abstract texts' hashes
    agree, or they are equal and one of them is read as part of an import: +1; two lines of
    imports that differ: ``_IMPORT_STEP``, at most ``_IMPORT_STEPS`` times), else past lines of
    either file or both onto lines equal in both (+1, less ``_SKIP_COST`` a line passed); it
    stops where the score was best, before it falls ``_WALK_DROP`` below that (X-drop)."""
    qh, rh = query.shape_hashes or query.line_hashes, record.shape_hashes or record.line_hashes
    ql, rl = query.line_hashes, record.line_hashes
    nq_max, nr_max = len(qh), len(rh)
    path = [(q, r)]
    imports = 0
    score: float = 0
    best: float = 0
    keep = 1
    moved = 0
    while moved < limit:
        for dq, dr in _STEPS:
            nq, nr = q + step * dq, r + step * dr
            # lines of import statements are alike only when equal, and so are the lines a step
            # past a line lands on (an inserted or deleted line is not a renamed one); a line
            # equal in both files is alike though one file reads it as part of an import and the
            # other does not (a copy cut inside a parenthesised import list)
            if 0 <= nq < nq_max and 0 <= nr < nr_max and (
                    (qh[nq] == rh[nr] and ((qh[nq] and dq + dr == 2) or ql[nq] == rl[nr]))
                    or (dq + dr == 2 and ql[nq] == rl[nr] and (qh[nq] == 0) != (rh[nr] == 0))):
                score += 1 - _SKIP_COST * (dq + dr - 2)
                q, r = nq, nr
                path.append((q, r))
                moved += dq
                break
            # a line of an import statement in both files, not equal (a module or a name renamed):
            # alike, for less, and not often (a copy is seldom next to a long list of imports
            # whose every line was renamed, but next to imports that are not copied it often is)
            if dq + dr == 2 and 0 <= nq < nq_max and 0 <= nr < nr_max \
                    and qh[nq] == 0 == rh[nr] and imports < _IMPORT_STEPS:
                imports += 1
                score += _IMPORT_STEP
                q, r = nq, nr
                path.append((q, r))
                moved += dq
                break
        else:
            break
        if score > best:
            best, keep = score, len(path)
        elif score < best - _WALK_DROP:
            break
    return path[:keep]


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
            -e[0].equal, -(e[0].q_lines[1] - e[0].q_lines[0]), -e[0].fps, e[1].name.lower(),
            e[1].version,
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
