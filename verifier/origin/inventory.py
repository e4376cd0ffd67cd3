"""Inventory of a delivered tree: every regular file with size, sha256, kind, language, effective
lines and test flag; symbolic links, special files and version-control directories are reported,
never followed or read.

Files are read once: the bytes are hashed, and only files whose counting result is not cached (by
content hash, file name and counter version) are counted, in a process pool for larger batches.
Source files over the counting limit are read a second time, in pieces of at most ``PIECE_BYTES``
cut at a line boundary, and the pieces are counted like files (in the pool) and summed, so memory
stays bounded whatever a file's size.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import hashlib
import multiprocessing
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from verifier.cache import ResultCache
from verifier.origin import counting
from verifier.origin.languages import (BINARY_DOC_SUFFIXES, TEST_RULE, is_test_path,
                                       kind_by_name, lexer_filename, lexer_name,
                                       shebang_filename)
from verifier.origin.model import Inventory, InventoryEntry, SkippedPath, SourceInfo

#: Source files larger than this are counted in pieces (see ``PIECE_BYTES``) rather than whole.
COUNT_LIMIT = 8 * 1024 * 1024
#: Largest piece a file over ``COUNT_LIMIT`` is cut into for counting.
PIECE_BYTES = 1024 * 1024
#: Cache namespace of counting results.
CACHE_NAMESPACE = "sloc"
#: Directories of version-control systems: reported, not inventoried.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "_darcs"})
#: Seconds a worker batch may take before its files are reported as "count timed out".
BATCH_TIMEOUT_S = 300.0

#: Bump when the kind/decoding/counting rules here change, so old cached results are not reused.
_RULES_VERSION = "5"
_HEAD = 8192
_BATCH_FILES = 64
_BATCH_BYTES = 2 * 1024 * 1024
#: Below this much work counting stays in-process (a pool costs more than it saves).
_POOL_MIN_FILES = 48
_POOL_MIN_BYTES = 1024 * 1024

Progress = Callable[[int, int], None]


def counting_rule(count_limit: int = COUNT_LIMIT) -> str:
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
        f"Source files over {_mib(count_limit)} MiB are counted in pieces of at most "
        f"{_mib(min(PIECE_BYTES, count_limit))} MiB, each cut after a line that is a closing "
        "brace in column 0 or after a blank line followed by a line starting in column 0 with a "
        "letter (else at a line end), and the pieces' counts summed. A source file that cannot be counted (undecodable, the counter failed or timed "
        "out, UTF-16/32 text over the limit) is 'unknown' and weighs its non-blank physical lines "
        "(an unreadable one 0)")


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
    key: str | None = None
    result: dict | None = None
    lexer_as: str | None = None
    """File name given to the lexer guess (a script named by its ``#!`` line)."""
    head: bytes = b""
    large: bool = False
    """Over the counting limit: counted in pieces."""
    pieces: list[dict | None] = field(default_factory=list)
    """Counting results of the pieces of a large file, in order."""


@dataclass
class _Piece:
    """One piece of a large file, counted like a file; its result goes to ``file.pieces``."""

    file: _File
    index: int
    key: str | None = None

    @property
    def result(self) -> dict | None:
        return self.file.pieces[self.index]

    @result.setter
    def result(self, value: dict) -> None:
        self.file.pieces[self.index] = value


#: Why a version-control directory is not scanned.
VCS_REASON = "version-control data, not part of the delivered files"
#: Why a path git ignores is not scanned (``SourceInfo.ignored``).
IGNORED_REASON = ("ignored by git (.gitignore or exclude file) and not tracked: not part of the "
                  "committed delivery; --include-ignored scans it")


def _walk(root: str, ignored: frozenset[str] = frozenset()) -> tuple[list[_File], list[SkippedPath]]:
    files: list[_File] = []
    skipped: list[SkippedPath] = []
    real_root = os.path.realpath(root)
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as err:
            skipped.append(SkippedPath(prefix.rstrip("/") or ".",
                                       f"unreadable directory: {_reason(err)}"))
            continue
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    skipped.append(_symlink(entry.path, rel, real_root))
                elif entry.name in VCS_DIRS:
                    skipped.append(SkippedPath(rel, VCS_REASON))
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
                skipped.append(SkippedPath(rel, f"unreadable: {_reason(err)}"))
    files.sort(key=lambda f: f.rel)
    skipped.sort(key=lambda s: s.path)
    return files, skipped


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
    """Hash ``file`` (setting size/sha256/kind) and return its bytes when it must be counted."""
    basename = file.rel.rsplit("/", 1)[-1]
    file.kind, file.language = kind_by_name(basename)
    try:
        fd = os.open(file.abspath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        file.problem = f"unreadable: {_reason(err)}"
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced by something else since the walk
            file.problem = f"unreadable: no longer a regular file ({_special(info.st_mode)})"
            return None
        file.size = info.st_size
        data, head, file.sha256, file.sha1 = _hash(fd, keep=file.kind in ("source", "other")
                                  and info.st_size <= count_limit, limit=count_limit)
    except OSError as err:
        file.problem = f"unreadable: {_reason(err)}"
        return None
    finally:
        os.close(fd)
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
    if data is None:
        file.large = True
        return None
    if not data:
        file.result = {"language": file.language, "lines": 0, "encoding": None,
                       "max_line_length": 0, "problem": None}
        return None
    return data


def _hash(fd: int, *, keep: bool, limit: int) -> tuple[bytes | None, bytes, str, str]:
    """Read ``fd`` once: ``(content, first 8 KiB, sha256, sha1)``; content is ``None`` unless ``keep``
    and it fits ``limit``. (SHA-1 is what SPDX 2.3 requires of every file, beside any other.)"""
    digest, sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
    with os.fdopen(fd, "rb", closefd=False) as handle:
        if keep:
            data = handle.read(limit + 1)
            digest.update(data)
            sha1.update(data)
            if len(data) <= limit:
                rest = handle.read(1 << 20)
                if not rest:
                    return data, data[:_HEAD], digest.hexdigest(), sha1.hexdigest()
            else:
                rest = b""
            head = data[:_HEAD]
            while rest:  # grown past the limit since it was listed: hash it, do not count it
                digest.update(rest)
                sha1.update(rest)
                rest = handle.read(1 << 20)
        else:
            head = handle.read(_HEAD)
            digest.update(head)
            sha1.update(head)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            sha1.update(chunk)
    return None, head, digest.hexdigest(), sha1.hexdigest()


def _key(file: _File, name: str) -> str:
    return f"{file.sha256}:{hashlib.sha256(os.fsencode(name)).hexdigest()[:16]}"


def _cacheable(result: dict) -> bool:
    return result["problem"] in (None, counting.PROBLEM_UNDECODABLE)


def _pool(jobs: int) -> cf.ProcessPoolExecutor:
    """Worker processes forked from this one: they start at once with the counter imported, and
    unlike spawn/forkserver never re-run the caller's ``__main__`` (a script without a guard)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def _kill_pool(pool: cf.ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor cannot cancel a running task: stop its workers so no process outlives us.
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


class _Counter:
    """Counts cache misses: in-process while the work is small, in a process pool beyond that."""

    def __init__(self, jobs: int, cache: ResultCache, on_done: Callable[[int], None]) -> None:
        self.jobs = jobs
        self.cache = cache
        self.on_done = on_done
        self.waiting: list[tuple[_File | _Piece, str, bytes]] = []
        self.waiting_bytes = 0
        self.pool: cf.ProcessPoolExecutor | None = None
        self.running: dict[cf.Future, list[tuple[_File | _Piece, str, bytes]]] = {}
        self.large: list[_File] = []
        """Files counted in pieces, combined by ``finish``."""
        self.counted = 0
        self.warnings: list[str] = []

    def add(self, file: _File | _Piece, name: str, data: bytes) -> None:
        """Count ``data`` (a file, or a piece of a large one) as the lexer for ``name`` reads it."""
        self.waiting.append((file, name, data))
        self.waiting_bytes += len(data)
        if self.jobs > 1 and self.pool is None and (
                len(self.waiting) >= _POOL_MIN_FILES or self.waiting_bytes >= _POOL_MIN_BYTES):
            self.pool = _pool(self.jobs)
        if len(self.waiting) >= _BATCH_FILES or self.waiting_bytes >= _BATCH_BYTES:
            if self.pool is not None:
                self._submit()
            elif self.jobs == 1:
                self._count_here()

    def _count_here(self) -> None:
        batch, self.waiting, self.waiting_bytes = self.waiting, [], 0
        if batch:
            self._store(batch, counting.count_batch([(name, data) for _, name, data in batch]))

    def _submit(self) -> None:
        batch, self.waiting, self.waiting_bytes = self.waiting, [], 0
        if not batch:
            return
        while len(self.running) >= self.jobs * 3:
            self._harvest(cf.FIRST_COMPLETED)
        future = self.pool.submit(counting.count_batch, [(name, data) for _, name, data in batch])
        self.running[future] = batch

    def _harvest(self, until: str) -> None:
        done, _ = cf.wait(self.running, timeout=BATCH_TIMEOUT_S, return_when=until)
        if not done:  # nothing finished in time: every running batch is given up
            self.warnings.append(f"{sum(map(len, self.running.values()))} files not counted: "
                                 f"counting took over {BATCH_TIMEOUT_S:.0f} s")
            for batch in self.running.values():
                self._store(batch, [None] * len(batch))
            self.running.clear()
            _kill_pool(self.pool)
            self.pool = _pool(self.jobs)
            return
        for future in done:
            batch = self.running.pop(future)
            try:
                results = future.result()
            except Exception as err:  # a worker died (e.g. killed for memory)
                reason = f"count failed: {type(err).__name__}: {err}"[:300]
                self.warnings.append(f"{len(batch)} files not counted ({reason})")
                results = [_failed(data, reason) for _, _, data in batch]
            self._store(batch, results)

    def _store(self, batch: list[tuple[_File | _Piece, str, bytes]],
               results: list[dict | None]) -> None:
        fresh = {}
        files = 0
        for (target, _, data), result in zip(batch, results):
            if result is None:
                result = _failed(data, f"count timed out (batch over {BATCH_TIMEOUT_S:.0f} s)")
            target.result = result
            if isinstance(target, _Piece):
                continue
            files += 1
            if _cacheable(result):
                fresh[target.key] = result
        self.counted += files
        self.cache.put_many(fresh)
        self.on_done(files)

    def finish(self) -> None:
        """Count everything still waiting, wait for running batches, sum the pieces of large
        files."""
        if self.pool is None:
            self._count_here()
        else:
            self._submit()
            while self.running:
                self._harvest(cf.ALL_COMPLETED)
            self.pool.shutdown(wait=True)
            self.pool = None
        fresh = {}
        for file in self.large:
            file.result = _combine(file.pieces)
            if all(_cacheable(piece) for piece in file.pieces):
                fresh[file.key] = file.result
        self.counted += len(self.large)
        self.cache.put_many(fresh)
        self.on_done(len(self.large))
        self.large = []


def _failed(data: bytes, reason: str) -> dict:
    """The result of a file the counter did not count: weighed by its non-blank lines."""
    return {"language": None, "lines": counting.physical_lines(data), "encoding": None,
            "max_line_length": 0, "problem": reason}


def _combine(pieces: list[dict | None]) -> dict:
    """One file's result from its pieces' results: lines summed, the first piece's language and
    encoding (others named when they differ); a problem when any piece has one."""
    results = [p or _failed(b"", "not counted") for p in pieces]
    encodings = list(dict.fromkeys(r["encoding"] for r in results if r["encoding"]))
    encoding = encodings[0] if encodings else None
    if len(encodings) > 1:
        encoding += f" (first piece; others {', '.join(encodings[1:])})"
    problems = [r["problem"] for r in results if r["problem"]]
    problem = None
    if problems:
        problem = (counting.PROBLEM_UNDECODABLE
                   if all(p == counting.PROBLEM_UNDECODABLE for p in problems) else
                   f"{len(problems)} of {len(results)} pieces not counted ({problems[0]})")
    language = next((r["language"] for r in results if r["language"]), None)
    return {"language": language, "lines": sum(r["lines"] for r in results),
            "encoding": encoding, "max_line_length": max(r["max_line_length"] for r in results),
            "problem": problem, "pieces": len(results)}


#: A good place to end a piece: after a line that is a closing brace in column 0 (the end of a
#: top-level block), or after a blank line followed by a line starting in column 0 with a letter
#: (a definition): places that are not inside a comment or string.
_CUT = re.compile(rb"\n\}[;,]?[ \t\r]*\n|\n[ \t\r\f\v]*\n(?=[A-Za-z_])")


def cut_point(block: bytes) -> int:
    """Where a piece of a large file ends within ``block``: in its second half, at the last
    ``_CUT`` place (after a column-0 closing-brace line, or after a blank line followed by a line
    starting in column 0 with a letter), else after its last line break, else at its end."""
    half = len(block) // 2
    last = None
    for last in _CUT.finditer(block, half):
        pass
    if last is not None:
        return last.end()
    newline = block.rfind(b"\n", half)
    return newline + 1 if newline >= 0 else len(block)


def _count_large(file: _File, name: str, counter: _Counter, piece_bytes: int) -> None:
    """Read a file over the counting limit again, in pieces for ``counter``; UTF-16/32 text
    (which line-break cuts would split) is weighed by its non-blank lines instead."""
    wide = counting.wide_encoding(file.head)
    digest = hashlib.sha256()
    try:
        with open(file.abspath, "rb", opener=_no_follow) as handle:
            if wide is not None:
                lines = _wide_lines(handle, wide, digest)
            else:
                rest = b""
                while True:
                    block = handle.read(piece_bytes - len(rest))
                    digest.update(block)
                    data = rest + block
                    if not block or len(data) < piece_bytes:
                        if data:
                            _add_piece(file, name, data, counter)
                        if not block:
                            break
                        rest = b""
                        continue
                    cut = cut_point(data)
                    _add_piece(file, name, data[:cut], counter)
                    rest = data[cut:]
    except OSError as err:
        file.problem = f"unreadable: {_reason(err)}"
        return
    if digest.hexdigest() != file.sha256:
        file.problem = "changed while it was read; not counted"
        return
    if wide is not None:
        file.result = {"language": file.language, "lines": lines, "encoding": wide,
                       "max_line_length": 0,
                       "problem": f"too large to count ({wide} text over the limit); weighs its "
                                  "non-blank lines"}
        return
    counter.large.append(file)


def _add_piece(file: _File, name: str, data: bytes, counter: _Counter) -> None:
    file.pieces.append(None)
    counter.add(_Piece(file, len(file.pieces) - 1), name, data)


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
                    count_limit: int = COUNT_LIMIT) -> Inventory:
    """Inventory every regular file under ``source.root`` and count effective lines of source files.

    ``cache`` is a ``ResultCache`` (namespace ``sloc``, see ``open_cache``) or a cache directory;
    ``progress(done, total)`` is called as files complete; ``jobs`` worker processes (default: CPUs).
    """
    jobs = max(1, jobs or os.cpu_count() or 1)
    own_cache = not isinstance(cache, ResultCache)
    store = open_cache(cache) if own_cache else cache
    try:
        files, skipped = _walk(os.fspath(source.root), frozenset(source.ignored))
        total = len(files)
        state = {"done": 0, "shown": 0.0}

        def advance(count: int) -> None:
            state["done"] += count
            now = time.monotonic()
            if progress is not None and (now - state["shown"] >= 0.1 or state["done"] == total):
                state["shown"] = now
                progress(state["done"], total)

        if progress is not None:
            progress(0, total)
        counter = _Counter(jobs, store, advance)
        try:
            cached = _count_all(files, store, counter, advance, count_limit)
            counter.finish()
        finally:
            if counter.pool is not None:
                _kill_pool(counter.pool)
        entries = tuple(_entry(f) for f in files)
    finally:
        if own_cache:
            store.close()
    warnings = tuple(source.notes) + tuple(counter.warnings)
    return Inventory(source=source, entries=entries, skipped=tuple(source.skipped) + tuple(skipped),
                     counting=counting_rule(count_limit), test_rule=TEST_RULE, warnings=warnings,
                     counted=counter.counted, cached=cached)


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
            elif data is None:  # large: read again in pieces
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
        language=language, lines=int(result.get("lines") or 0) if file.problem is None else 0,
        is_test=is_test_path(file.rel), problem=problem, encoding=result.get("encoding"),
        max_line_length=int(result.get("max_line_length") or 0))
