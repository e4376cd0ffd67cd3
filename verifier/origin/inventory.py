"""Inventory of a delivered tree: every regular file with size, sha256, kind, language, effective
lines and test flag; symbolic links, special files and version-control metadata (``vcs``) are
listed under ``skipped`` with the reason, never followed or read.

Files are read once: the bytes are hashed, and only files whose counting result is not cached (by
content hash, file name and counter version) are counted. Minified and bundled assets are told
from their name and the lines of their first MiB before any lexing (``minified``) and weigh their
non-blank lines. Counting runs in worker processes, in batches, and no file may take more than
the per-file timeout: a batch that does not finish in that time is counted again file by file, and
a file that still does not finish is killed and weighs its non-blank lines (``unknown``). Source
files over the counting limit are read by a worker in pieces of at most ``PIECE_BYTES`` cut at a
line boundary and the pieces' counts summed, so memory stays bounded whatever a file's size; the
whole file shares one timeout. A file that cannot be read weighs the most lines its size can hold.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import errno
import hashlib
import multiprocessing
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pebble import ProcessPool

from verifier.cache import ResultCache
from verifier.origin import counting
from verifier.origin.counting import cut_point
from verifier.origin.detect import DEFAULT_TIMEOUT_S
from verifier.origin.languages import (
    BINARY_DOC_SUFFIXES,
    TEST_RULE,
    is_test_path,
    kind_by_name,
    lexer_filename,
    lexer_name,
    shebang_filename,
)
from verifier.origin.minified import RULE as MINIFIED_RULE
from verifier.origin.minified import SAMPLE_BYTES, minified_asset
from verifier.origin.model import Inventory, InventoryEntry, SkippedPath, SourceInfo
from verifier.proc import pool_worker_init
from verifier.vcs import VCS_DIRS, VCS_REASON, vcs_metadata

__all__ = ["build_inventory", "open_cache", "counting_rule", "cache_version", "cut_point",
           "COUNT_LIMIT", "PIECE_BYTES", "DEFAULT_TIMEOUT_S", "IGNORED_REASON", "VCS_DIRS",
           "VCS_REASON"]

#: Source files larger than this are counted in pieces (see ``PIECE_BYTES``) rather than whole.
COUNT_LIMIT = 8 * 1024 * 1024
#: Largest piece a file over ``COUNT_LIMIT`` is cut into for counting.
PIECE_BYTES = 1024 * 1024
#: Cache namespace of counting results.
CACHE_NAMESPACE = "sloc"

#: Bump when the kind/decoding/counting rules here change, so old cached results are not reused.
_RULES_VERSION = "6"
_HEAD = 8192
_BATCH_FILES = 64
_BATCH_BYTES = 2 * 1024 * 1024
#: Seconds beyond the per-file timeout after which a pool that reports nothing is given up.
_POOL_GRACE_S = 60.0

Progress = Callable[[int, int], None]


def counting_rule(count_limit: int = COUNT_LIMIT, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """The counting rule in words, as stated in every output (``Inventory.counting``)."""
    return (
        f"effective lines = {counting.tool_version()} code + string lines of each source file: a "
        "line counts when it holds a token that is neither comment nor white space; blank lines, "
        "comment-only lines and Python docstrings are not counted, nor lines holding only brackets "
        "and separators ( ) , : ; [ ] { } or a lone pass/begin/end/@; preprocessor lines count. "
        "Source files are those pygments has a lexer for that are not documentation or data, and "
        "scripts whose #! line names an interpreter; docs "
        "(md, rst, txt, pdf, docx …), data (json, yaml, xml, csv, toml, ini, lock files …), images "
        "and binaries are inventoried with 0 lines: a known binary suffix, or first 8 KiB that "
        "start with a binary format's signature or hold at least "
        f"{counting.BINARY_CONTROL_SHARE:.0%} control bytes (NUL and others, not tab, line breaks, "
        "form feed or escape); for docs and data a NUL byte there is enough. "
        "Text is decoded by its BOM, else as UTF-16 when its NUL bytes fall in every other "
        "position, else as UTF-8, else by a declared coding, else GB18030 (GBK/GB2312) — or Big5 "
        "(cp950) when that decodes too and more of its double-byte characters fall in Big5's "
        "common rows than in GB2312's — else Windows-1252, else as UTF-8 with at most 0.5% "
        "invalid bytes replaced. "
        f"Before any lexing, {MINIFIED_RULE}. "
        f"Source files over {_mib(count_limit)} MiB are counted in pieces of at most "
        f"{_mib(min(PIECE_BYTES, count_limit))} MiB, each cut after a line that is a closing "
        "brace in column 0 or after a blank line followed by a line starting in column 0 with a "
        "letter (else at a line end), and the pieces' counts summed. "
        f"Counting one file may take at most {timeout_s:g} s (the per-file timeout). "
        "A source file that cannot be counted (undecodable, the counter failed or did not finish "
        "in that time, UTF-16/32 text over the limit) is 'unknown' and weighs its non-blank "
        "physical lines; a source file (or a file without a known kind, which could be a script) "
        "that cannot be read is 'unknown' and weighs ⌈bytes ÷ 2⌉ lines, the most non-blank lines "
        "its size can hold, so the ratio is never higher than reading it could make it")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


def cache_version(count_limit: int = COUNT_LIMIT) -> str:
    """Version under which counting results are cached (counter versions + rules)."""
    return f"{counting.tool_version()}; rules {_RULES_VERSION}; limit {count_limit}"


def open_cache(directory: Path | None) -> ResultCache:
    """The ``sloc`` result cache in ``directory`` (``None``: a cache that never hits)."""
    return ResultCache(directory, CACHE_NAMESPACE, cache_version())


@dataclass
class _File:
    rel: str
    abspath: str
    size: int = 0
    sha256: str = ""
    sha1: str = ""
    kind: str = "other"
    language: str | None = None
    problem: str | None = None
    key: str = ""
    """The cache key of its count (set when it is read)."""
    result: dict | None = None
    lexer_as: str | None = None
    """File name given to the lexer guess (a script named by its ``#!`` line)."""
    head: bytes = b""
    large: bool = False
    """Over the counting limit: counted in pieces, by a worker that reads it."""
    physical: int = 0
    """Non-blank lines of a file over the counting limit (counted while it was hashed)."""
    weight: int = 0
    """Lines a file weighs when it could not be read (``problem``)."""
    unweighed: bool = False
    """Unreadable and of unknown size too (``lstat`` refused): no weight bounds its lines."""
    minified: str | None = None


#: Why a path git ignores is not scanned (``SourceInfo.ignored``).
IGNORED_REASON = ("ignored by git (.gitignore or exclude file) and not tracked: not part of the "
                  "committed delivery; --include-ignored scans it")


#: How a directory the walk could not list is reported (``SkippedPath.reason``).
UNREADABLE_DIRECTORY = "unreadable directory: {why}; what it holds cannot be seen or weighed"
#: How an entry whose type the walk could not read is reported.
UNREADABLE_ENTRY = "unreadable: {why}; what it is cannot be seen or weighed"


def _walk(root: str, ignored: frozenset[str] = frozenset()
          ) -> tuple[list[_File], list[SkippedPath], list[SkippedPath]]:
    """The regular files under ``root``, the paths not inventoried (with the reason), and among
    those the ones whose content could not be seen at all (unreadable directories, entries whose
    type could not be read): nothing bounds the code they may hold."""
    files: list[_File] = []
    skipped: list[SkippedPath] = []
    unseen: list[SkippedPath] = []
    real_root = os.path.realpath(root)
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            unseen.append(SkippedPath(prefix.rstrip("/") or ".",
                                      UNREADABLE_DIRECTORY.format(why=_reason(err))))
            skipped.append(unseen[-1])
            continue
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    skipped.append(_symlink(entry.path, rel, real_root))
                elif entry.name in VCS_DIRS and (vcs := vcs_metadata(
                        entry.path, entry.name, entry.is_dir(follow_symlinks=False))) is not None:
                    skipped.append(SkippedPath(rel, vcs))
                elif entry.is_dir(follow_symlinks=False):
                    if rel + "/" in ignored:
                        skipped.append(SkippedPath(rel + "/", IGNORED_REASON))
                    else:
                        stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    if rel in ignored:
                        skipped.append(SkippedPath(rel, IGNORED_REASON))
                    else:
                        files.append(_File(rel, entry.path))
                else:
                    mode = entry.stat(follow_symlinks=False).st_mode
                    skipped.append(SkippedPath(rel, f"special file ({_special(mode)}), not read"))
            except OSError as err:
                unseen.append(SkippedPath(rel, UNREADABLE_ENTRY.format(why=_reason(err))))
                skipped.append(unseen[-1])
    files.sort(key=lambda f: f.rel)
    skipped.sort(key=lambda s: s.path)
    unseen.sort(key=lambda s: s.path)
    return files, skipped, unseen


def _symlink(path: str, rel: str, real_root: str) -> SkippedPath:
    try:
        target = os.readlink(path)
    except OSError as err:
        return SkippedPath(rel, f"symbolic link (unreadable: {_reason(err)}), not followed")
    resolved = os.path.realpath(os.path.join(os.path.dirname(path), target))
    inside = resolved == real_root or resolved.startswith(real_root.rstrip("/") + "/")
    where = "inside" if inside else "outside"
    if not os.path.lexists(resolved):
        state = ", dangling"
    elif inside and os.path.islink(resolved):
        state = ", a loop"  # realpath gives up on cycles and returns a link
    else:
        state = ""
    return SkippedPath(rel, f"symbolic link to {target!r} ({where} the tree{state}), not followed",
                       target=target, inside=inside)


def _special(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return f"mode {oct(mode)}"


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _read(file: _File, count_limit: int) -> bytes | None:
    """Hash ``file`` (setting size/sha256/kind) and return its bytes when it must be counted; a
    minified or bundled asset gets its result here, without lexing."""
    basename = file.rel.rsplit("/", 1)[-1]
    file.kind, file.language = kind_by_name(basename)
    try:
        fd = os.open(file.abspath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        _unreadable(file, err)
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced by something else since the walk
            file.problem = f"unreadable: no longer a regular file ({_special(info.st_mode)})"
            return None
        file.size = info.st_size
        data, sample, file.sha256, file.sha1, physical = _hash(
            fd, keep=file.kind in ("source", "other"), limit=count_limit)
    except OSError as err:
        _unreadable(file, err)
        return None
    finally:
        os.close(fd)
    head = sample[:_HEAD]
    if file.kind in ("source", "other"):
        # a source-named file is binary only by signature or a high share of control bytes: a
        # stray NUL byte does not take a text file out of the ratio
        if counting.looks_binary(head):
            file.kind, file.language = "binary", None
    elif (file.kind != "binary" and b"\0" in head and counting.wide_encoding(head) is None
            and not (file.kind == "doc" and basename.lower().endswith(tuple(BINARY_DOC_SUFFIXES)))):
        file.kind, file.language = "binary", None
    if file.kind == "other":
        file.lexer_as = shebang_filename(head)
        if file.lexer_as is None:
            return None
        file.kind, file.language = "source", lexer_name(file.lexer_as)
    if file.kind != "source":
        return None
    file.head = head
    if not sample:
        file.result = {"language": file.language, "lines": 0, "encoding": None,
                       "max_line_length": 0, "problem": None}
        return None
    minified = minified_asset(basename, file.language, sample, whole=data is not None
                              and len(data) <= len(sample))
    if minified is not None:
        file.minified, longest, encoding = minified
        file.result = {"language": file.language, "encoding": encoding,
                       "lines": counting.physical_lines(data) if data is not None else physical,
                       "max_line_length": longest, "problem": None}
        return None
    if data is None:
        file.large, file.physical = True, physical or 0
    return data


def _unreadable(file: _File, err: OSError) -> None:
    """``file`` could not be read: its problem, and when it could be code (a source name, or no
    known kind: a script without suffix) the most lines its size can hold as its weight."""
    reason = _reason(err)
    file.problem = f"unreadable: {reason}"
    size_unknown: str | None = None
    if not file.size:
        try:
            file.size = os.lstat(file.abspath).st_size
        except OSError as size_err:  # gone since the walk (no longer part of the tree), or hidden
            if size_err.errno not in (errno.ENOENT, errno.ENOTDIR):
                size_unknown = _reason(size_err)
    if file.kind in ("source", "other") and size_unknown is not None:  # in a directory not searchable
        file.kind, file.unweighed = "source", True
        why = "" if size_unknown == reason else f" ({size_unknown})"  # not the same reason twice
        file.problem += (f"; its size cannot be read either{why}: no weight bounds the lines it "
                         "may hold")
    elif file.kind in ("source", "other"):
        file.kind = "source"
        file.weight = counting.most_lines(file.size)
        file.problem += (f"; weighs ⌈{file.size} bytes ÷ 2⌉ = {file.weight} lines, the most "
                         "non-blank lines it can hold")


def _hash(fd: int, *, keep: bool, limit: int) -> tuple[bytes | None, bytes, str, str, int | None]:
    """Read ``fd`` once: ``(content, sample, sha256, sha1, non-blank lines)``. With ``keep``, the
    content when it fits ``limit`` (else None, and its non-blank lines are counted on the way)
    and its first ``SAMPLE_BYTES`` as sample; without, only the first 8 KiB as sample. (SHA-1 is
    what SPDX 2.3 requires of every file, beside any other.)"""
    digest, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    with os.fdopen(fd, "rb", closefd=False) as handle:
        if not keep:
            head = handle.read(_HEAD)
            digest.update(head)
            sha1.update(head)
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                sha1.update(chunk)
            return None, head, digest.hexdigest(), sha1.hexdigest(), None
        data = handle.read(limit + 1)
        digest.update(data)
        sha1.update(data)
        rest = b""
        if len(data) <= limit:
            rest = handle.read(1 << 20)
            if not rest:
                return data, data[:SAMPLE_BYTES], digest.hexdigest(), sha1.hexdigest(), None
        lines = counting.NonBlankLines()  # over the limit (or grown past it since it was listed)
        lines.feed(data)
        chunk = rest or handle.read(1 << 20)
        while chunk:
            digest.update(chunk)
            sha1.update(chunk)
            lines.feed(chunk)
            chunk = handle.read(1 << 20)
    return None, data[:SAMPLE_BYTES], digest.hexdigest(), sha1.hexdigest(), lines.total()


def _key(file: _File, name: str) -> str:
    return f"{file.sha256}:{hashlib.sha256(os.fsencode(name)).hexdigest()[:16]}"


def _cacheable(result: dict) -> bool:
    return result["problem"] in (None, counting.PROBLEM_UNDECODABLE)


def _pool(jobs: int):
    """A pebble process pool forked from this one (the workers start at once with the counter
    imported and, unlike spawn/forkserver, never re-run the caller's ``__main__``); each task has
    its own timeout, and a task that runs out of it is killed without touching the others."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPool(max_workers=jobs, context=context, initializer=pool_worker_init,
                       initargs=(os.getpid(),))


def _stop_pool(pool) -> None:
    """Stop ``pool`` at once, killing what still runs, so no worker outlives the inventory."""
    pool.stop()
    pool.join(timeout=10)


@dataclass
class _Task:
    """Work given to one worker: a batch of ``(file, lexer name, bytes)``, or one large file."""

    batch: list[tuple[_File, str, bytes]] | None = None
    large: tuple[_File, str, int] | None = None
    """``(file, lexer name, piece bytes)`` of a file over the counting limit."""


class _Counter:
    """Counts cache misses in worker processes, no file taking longer than ``timeout_s``."""

    def __init__(self, jobs: int, cache: ResultCache, on_done: Callable[[int], None],
                 timeout_s: float) -> None:
        self.jobs = jobs
        self.cache = cache
        self.on_done = on_done
        self.timeout_s = timeout_s
        self.waiting: list[tuple[_File, str, bytes]] = []
        self.waiting_bytes = 0
        self.pool: ProcessPool | None = None
        self.running: dict[cf.Future, _Task] = {}
        self.counted = 0
        self.warnings: list[str] = []
        self.timed_out: list[str] = []

    def add(self, file: _File, name: str, data: bytes) -> None:
        """Count ``data`` (the content of ``file``) as the lexer for ``name`` reads it."""
        self.waiting.append((file, name, data))
        self.waiting_bytes += len(data)
        if len(self.waiting) >= _BATCH_FILES or self.waiting_bytes >= _BATCH_BYTES:
            self._flush()

    def add_large(self, file: _File, name: str, piece_bytes: int) -> None:
        """Count ``file`` (over the counting limit) in a worker that reads it in pieces."""
        self._schedule(_Task(large=(file, name, piece_bytes)))

    def _flush(self) -> None:
        batch, self.waiting, self.waiting_bytes = self.waiting, [], 0
        if batch:
            self._schedule(_Task(batch=batch))

    def _schedule(self, task: _Task) -> None:
        while len(self.running) >= self.jobs * 3:
            self._harvest()  # may give up a pool that stopped answering
        if self.pool is None:
            self.pool = _pool(self.jobs)
        if task.batch is not None:
            items = [(name, data) for _, name, data in task.batch]
            future = self.pool.schedule(counting.count_batch, args=(items,),
                                        timeout=self.timeout_s)
        else:
            file, name, piece_bytes = task.large  # type: ignore[misc]
            future = self.pool.schedule(counting.count_file, args=(file.abspath, name, piece_bytes),
                                        timeout=self.timeout_s)
        self.running[future] = task

    def _harvest(self) -> None:
        """Store what has finished, waiting for at least one task: a running task finishes or
        runs out of its timeout within ``timeout_s``, so a pool silent for longer has failed."""
        done, _ = cf.wait(self.running, timeout=self.timeout_s + _POOL_GRACE_S,
                          return_when=cf.FIRST_COMPLETED)
        if not done:  # the pool itself stopped answering: give up what runs, start a new one
            tasks = list(self.running.values())
            self.running.clear()
            _stop_pool(self.pool)
            self.pool = None
            self.warnings.append("the counting pool stopped answering; the files it held were "
                                 "not counted")
            for task in tasks:
                self._failed_task(task, "count did not finish (the worker pool stopped answering)")
            return
        finished = [(future, self.running.pop(future)) for future in done]
        for future, task in finished:
            try:
                result = future.result()
            except TimeoutError:
                if task.batch is not None and len(task.batch) > 1:
                    for item in task.batch:  # again one by one: only a slow file is given up
                        self._schedule(_Task(batch=[item]))
                    continue
                self._failed_task(task, f"count timed out (over {self.timeout_s:g} s)")
            except Exception as err:  # a worker that died (killed for memory, a crash)
                if task.batch is not None and len(task.batch) > 1:
                    for item in task.batch:
                        self._schedule(_Task(batch=[item]))
                    continue
                self._failed_task(task, f"count failed: {type(err).__name__}: {err}"[:300])
            else:
                if task.batch is not None:
                    self._store(task.batch, result)
                else:
                    self._store_large(task.large[0], result)  # type: ignore[index]

    def _failed_task(self, task: _Task, reason: str) -> None:
        if task.batch is not None:
            self._store(task.batch, [_failed(data, reason) for _, _, data in task.batch])
            return
        file = task.large[0]  # type: ignore[index]
        self._store_large(file, {"language": None, "lines": file.physical, "encoding": None,
                                 "max_line_length": 0, "problem": reason})

    def _store(self, batch: list[tuple[_File, str, bytes]], results: list[dict]) -> None:
        fresh: dict[str, dict] = {}
        for (file, _, _), result in zip(batch, results):
            file.result = result
            if _cacheable(result):
                fresh[file.key] = result
            elif result["problem"].startswith("count timed out"):
                self.timed_out.append(file.rel)
        self.counted += len(batch)
        self.cache.put_many(fresh)
        self.on_done(len(batch))

    def _store_large(self, file: _File, result: dict) -> None:
        if "error" in result:
            file.problem = f"unreadable: {result['error']}"
            file.weight = counting.most_lines(file.size)
            file.problem += (f"; weighs ⌈{file.size} bytes ÷ 2⌉ = {file.weight} lines, the "
                             "most non-blank lines it can hold")
        elif result.get("sha256", file.sha256) != file.sha256:
            file.problem = ("changed while it was read; not counted (weighs its "
                            f"{file.physical} non-blank lines when it was hashed)")
            file.weight = file.physical
        else:
            result = {k: v for k, v in result.items() if k != "sha256"}
            file.result = result
            if _cacheable(result):
                self.cache.put_many({file.key: result})
            elif result["problem"].startswith("count timed out"):
                self.timed_out.append(file.rel)
        self.counted += 1
        self.on_done(1)

    def finish(self) -> None:
        """Count everything still waiting and wait for every running task."""
        self._flush()
        while self.running:  # one at a time: queued tasks have not started their timeout yet
            self._harvest()
        if self.timed_out:
            self.warnings.append(
                f"{len(self.timed_out)} file(s) not counted within the per-file timeout of "
                f"{self.timeout_s:g} s, weighed by their non-blank lines: "
                + ", ".join(self.timed_out[:5]) + (" …" if len(self.timed_out) > 5 else ""))

    def close(self) -> None:
        """Stop the pool (killing anything still running)."""
        if self.pool is not None:
            _stop_pool(self.pool)
            self.pool = None


def _failed(data: bytes, reason: str) -> dict:
    """The result of a file the counter did not count: weighed by its non-blank lines."""
    return {"language": None, "lines": counting.physical_lines(data), "encoding": None,
            "max_line_length": 0, "problem": reason}


def _count_large(file: _File, name: str, counter: _Counter, piece_bytes: int) -> None:
    """Count a file over the counting limit: by a worker reading it in pieces; UTF-16/32 text
    (which line-break cuts would split) is weighed here by its non-blank lines instead."""
    wide = counting.wide_encoding(file.head)
    if wide is None:
        counter.add_large(file, name, piece_bytes)
        return
    digest = hashlib.sha256()
    try:
        with open(file.abspath, "rb", opener=_no_follow) as handle:
            lines = _wide_lines(handle, wide, digest)
    except OSError as err:
        _unreadable(file, err)
        return
    if digest.hexdigest() != file.sha256:
        file.problem = ("changed while it was read; not counted (weighs its "
                        f"{file.physical} non-blank lines when it was hashed)")
        file.weight = file.physical
        return
    file.result = {"language": file.language, "lines": lines, "encoding": wide,
                   "max_line_length": 0,
                   "problem": f"too large to count ({wide} text over the limit); weighs its "
                              "non-blank lines"}


def _wide_lines(handle, encoding: str, digest) -> int:
    """Non-blank lines of UTF-16/32 text read from ``handle`` block by block."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    lines = 0
    tail = ""
    while True:
        block = handle.read(1 << 20)
        digest.update(block)
        text = tail + decoder.decode(block, final=not block)
        parts = text.splitlines(keepends=True)
        tail = parts.pop() if parts and block and not parts[-1].endswith(("\n", "\r")) else ""
        lines += sum(1 for part in parts if part.strip())
        if not block:
            return lines + (1 if tail.strip() else 0)


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)


def build_inventory(source: SourceInfo, *, cache: ResultCache | Path | None = None,
                    progress: Progress | None = None, jobs: int | None = None,
                    count_limit: int = COUNT_LIMIT,
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> Inventory:
    """Inventory every regular file under ``source.root`` and count effective lines of source files.

    ``cache`` is a ``ResultCache`` (namespace ``sloc``, see ``open_cache``) or a cache directory;
    ``progress(done, total)`` is called as files complete; ``jobs`` worker processes (default: CPUs);
    counting one file may take at most ``timeout_s`` seconds.
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    own_cache = not isinstance(cache, ResultCache)
    store = cache if isinstance(cache, ResultCache) else open_cache(cache)
    try:
        files, skipped, unseen = _walk(os.fspath(source.root), frozenset(source.ignored))
        total = len(files)
        state: dict[str, float] = {"done": 0, "shown": 0.0}

        def advance(count: int) -> None:
            state["done"] += count
            now = time.monotonic()
            if progress is not None and (now - state["shown"] >= 0.1 or state["done"] == total):
                state["shown"] = now
                progress(int(state["done"]), total)

        if progress is not None:
            progress(0, total)
        _warm_lexers(files)
        counter = _Counter(jobs, store, advance, timeout_s)
        try:
            cached = _count_all(files, store, counter, advance, count_limit)
            counter.finish()
        finally:
            counter.close()
        entries = tuple(_entry(f) for f in files)
    finally:
        if own_cache:
            store.close()
    warnings = tuple(source.notes) + tuple(counter.warnings)
    return Inventory(source=source, entries=entries, skipped=tuple(source.skipped) + tuple(skipped),
                     counting=counting_rule(count_limit, timeout_s), test_rule=TEST_RULE,
                     warnings=warnings, counted=counter.counted, cached=cached,
                     unseen=tuple(unseen))


def _warm_lexers(files: list[_File]) -> None:
    """Load and compile, in this process before the workers fork from it, the lexer of every
    source file name in the tree (counting two bytes with each), so that a worker's per-file
    timeout measures the counting of a file, not a lexer's first import."""
    names = set()
    for file in files:
        basename = file.rel.rsplit("/", 1)[-1]
        if kind_by_name(basename)[0] == "source":
            names.add(lexer_filename(basename))
    for name in sorted(names):
        counting.count_source(name, b"x\n")


def _count_all(files: list[_File], store: ResultCache, counter: _Counter,
               advance: Callable[[int], None], count_limit: int) -> int:
    """Read and hash every file, feeding cache misses to ``counter`` (in chunks, for cache I/O);
    return the number of cache hits."""
    chunk_size = 256
    cached = 0
    for start in range(0, len(files), chunk_size):
        chunk = files[start:start + chunk_size]
        pending: list[tuple[_File, str, bytes | None]] = []
        for file in chunk:
            data = _read(file, count_limit)
            if data is None and not file.large:
                continue
            name = file.lexer_as or lexer_filename(file.rel.rsplit("/", 1)[-1])
            file.key = _key(file, name)
            pending.append((file, name, data))
        hits = store.get_many(f.key for f, _, _ in pending)
        done_now = len(chunk) - len(pending)
        for file, name, data in pending:
            if file.key in hits:
                file.result = hits[file.key]
                done_now += 1
                cached += 1
            elif data is None:  # large: read again in pieces, by a worker
                _count_large(file, name, counter, min(PIECE_BYTES, count_limit))
                if file.result is not None or file.problem is not None:
                    done_now += 1
            else:
                counter.add(file, name, data)
        advance(done_now)
    return cached


def _entry(file: _File) -> InventoryEntry:
    result = file.result or {}
    problem = file.problem or result.get("problem")
    language = result.get("language") or file.language
    return InventoryEntry(
        path=file.rel, size=file.size, sha256=file.sha256, sha1=file.sha1, kind=file.kind,  # type: ignore[arg-type]
        language=language,
        lines=int(result.get("lines") or 0) if file.problem is None else file.weight,
        is_test=is_test_path(file.rel), problem=problem, encoding=result.get("encoding"),
        max_line_length=int(result.get("max_line_length") or 0), minified=file.minified,
        unweighed=file.unweighed)
