"""Per-file detection with scancode-toolkit: license and copyright notices, package manifests,
generated-code hints and line statistics, with a cheap prefilter, a process pool and a cache.

What is scanned (the "detection scope", stated in every output):

- **source files**: the *head* only, the first ``HEAD_LINES`` lines and at most ``HEAD_BYTES`` bytes,
  where file notices live. scancode's license detection runs only when the head holds a license
  keyword (``licen[cs]e``, SPDX, "permission is hereby granted", GPL, MIT, BSD, Apache …), its
  copyright detection only when it holds a copyright keyword (``copyright``, ``©``, ``(C) 2024``,
  ``版权``, ``著作权``, "all rights reserved"); a head with neither is not given to scancode at all.
  What scancode gets is the *notice block*: the head through its last keyword line and the comment,
  string or blank lines after it (at most ``NOTICE_MARGIN``; the first line of code ends it).
- **license and notice files** (LICENSE, LICENCE, COPYING, NOTICE, COPYRIGHT …): whole, up to
  ``LEGAL_MAX_BYTES``.
- **package manifests** (package.json, setup.py, pyproject.toml, pom.xml, go.mod, Cargo.toml …):
  scancode's package-data parsers on the whole file.
- generated-code hints: scancode's own keyword list (``summarycode.generated``) over the first 150
  lines, plus ``DO NOT EDIT``, ``@generated`` and ``Code generated … DO NOT EDIT`` markers.

Detection runs in a pool of worker processes forked from this one after the license index is
loaded (once, and only when some file needs license or package detection), so the workers share
it. Results are cached twice: per file (content hash and role) and per notice block (its hash),
so a file edited below its notice block is not given to scancode again. Each file has a hard timeout: a file whose detection does not finish, or fails, carries an
``error`` and is classified ``unknown``. Results are cached per content hash and tool version.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pebble import ProcessPool
from pygments.token import Token
from text_unidecode import unidecode

from verifier.cache import ResultCache
from verifier.errors import ToolError
from verifier.origin.languages import lexer_class, lexer_filename
from verifier.origin.model import InventoryEntry
from verifier.origin.owners import is_transliteration
from verifier.proc import pool_worker_init

#: Lines and bytes of a source file's head that are searched for notices.
HEAD_LINES = 200
HEAD_BYTES = 16 * 1024
#: Lines kept past the last license/copyright keyword line of a head: the notice block given to
#: scancode (and the key of its cached result, so edits below the notice reuse it).
NOTICE_MARGIN = 20
#: License and notice files are scanned whole up to this size (then their head of this size).
LEGAL_MAX_BYTES = 1024 * 1024
#: Bytes of a source file read for line statistics (mean line length); its head lies within.
STATS_MAX_BYTES = 4 * 1024 * 1024
#: Lines searched for generated-code hints (as scancode's ``--generated`` does).
GENERATED_LINES = 150
#: Hard per-file timeout, seconds (``--timeout``): of detection here, of counting in the inventory.
DEFAULT_TIMEOUT_S = 60.0
#: Bump when what a cached detection holds changes.
DETECTOR_VERSION = "11"

SCOPE = (f"notices: first {HEAD_LINES} lines (at most {HEAD_BYTES // 1024} KiB) of source files, "
         f"only when they hold a license or copyright keyword, through the last keyword line and "
         f"the comment lines or rest of the docstring continuing it (at most {NOTICE_MARGIN} more "
         f"lines, never the code after it); license/notice files whole (up to "
         f"{LEGAL_MAX_BYTES // 1024 // 1024} MiB); package manifests whole; generated-code hints in "
         f"the first {GENERATED_LINES} lines")

_LEGAL_NAME = re.compile(
    r"^(?:un)?licen[cs]es?(?:[._-].*)?$|^copying(?:[._-].*)?$|^copyright(?:[._-].*)?$|"
    r"^notice(?:[._-].*)?$|^notices(?:[._-].*)?$|^legal(?:[._-].*)?$|^patents(?:[._-].*)?$|"
    r"^mit-license(?:\..*)?$|^third[-_]?party[-_]?notices?(?:\..*)?$",
    re.IGNORECASE)
#: Package manifests scancode can parse, by exact (case-insensitive) name.
MANIFEST_NAMES = frozenset({
    "package.json", "bower.json", "composer.json", "setup.py", "setup.cfg", "pyproject.toml",
    "pom.xml", "go.mod", "cargo.toml", "pkg-info", "metadata", "gemfile", "podfile", "pubspec.yaml",
    "build.gradle", "build.gradle.kts", "ivy.xml", "project.clj", "meson.build", "conanfile.py",
    "description", "haxelib.json", "chart.yaml", "vcpkg.json",
})
_MANIFEST_SUFFIXES = (".gemspec", ".nuspec", ".podspec", ".cabal")

_LICENSE_KW = re.compile(
    r"licen[cs]|spdx|copyleft|permission is hereby granted|redistribut|public domain|"
    r"without warrant|(?<![a-z0-9_])(?:a|l)?gpl(?![a-z_])|(?<![a-z0-9_])(?:mit|bsd|mpl|epl)"
    r"(?![a-z0-9_])|apache|mozilla|creative commons|许可证|开源协议|授权协议|許可證|開源協議|授權協議|"
    r"木兰|木蘭|mulan", re.IGNORECASE)
_COPYRIGHT_KW = re.compile(
    r"copyright|copr\.|©|all rights reserved|版权|著作权|版權|著作權|"
    r"\([cC]\)\s*(?:\d{4}|[A-Z\u4e00-\u9fff])",
    re.IGNORECASE)
_EXTRA_GENERATED = re.compile(
    r"do not edit|@generated|code generated .*do not edit|autogenerated|auto-generated|"
    r"generated automatically|此文件由.*自动生成|自动生成.*(?:请勿|不要)(?:修改|编辑)",
    re.IGNORECASE)
#: Chinese copyright notices scancode does not see (it reads holders only after ``(c)``/Copyright).
_CJK_NOTICE = re.compile(
    r"(?:版权所有|著作权人|著作权所有|版权归属|版权归|版權所有|著作權人|著作權所有|版權歸屬|版權歸)"
    r"\s*[:：]?\s*(?:[©Ⓒ]|\([cC]\)|（[cC]）)?\s*"
    r"(?:(?:19|20)\d\d(?:\s*[-–~至]\s*(?:19|20)\d\d)?\s*(?:年)?\s*)?"
    r"([\u4e00-\u9fffA-Za-z0-9（）()·&\- ]{2,60}?(?:股份有限公司|有限责任公司|有限責任公司|有限公司|公司|"
    r"大学|大學|学院|學院|研究院|研究所|研究中心|中心|集团|集團|工作室|实验室|實驗室))")
#: Chinese "the copyright belongs to X" notices, whoever X is: 著作权归 X 所有, 版权归属于 X 所有.
_CJK_BELONGS = re.compile(
    r"(?:版权|著作权|版權|著作權)\s*(?:归属于|歸屬於|归属|歸屬|属于|屬於|归|歸)\s*[:：]?\s*"
    r"(?:[©Ⓒ]|\([cC]\)|（[cC]）)?\s*(?:(?:19|20)\d\d(?:\s*[-–~至]\s*(?:19|20)\d\d)?\s*(?:年)?\s*)?"
    r"([\u4e00-\u9fffA-Za-z0-9（）()·&.,\- ]{2,60}?)\s*(?:所有|享有)")
#: A license named in a Chinese sentence: 遵循 GPL 协议, 采用 Apache 2.0 开源许可, 基于MIT授权.
_CJK_LICENSE = re.compile(
    r"(?<![A-Za-z])(AGPL|LGPL|GPL|MIT|BSD|Apache|MPL|EPL|MulanPSL|木兰|木蘭)"
    r"(?:[\s\-_]*(?:v|V|版本|第)?\s*(\d(?:\.\d)?))?[^\n]{0,16}?"
    r"(?:开源协议|开源许可|許可|许可|协议|協議|授权|授權|条款|條款)")
#: scancode license key and SPDX id of a license named in Chinese text, by name and major version.
_CJK_LICENSE_IDS = {
    ("agpl", ""): ("agpl-3.0", "AGPL-3.0-only"), ("agpl", "3"): ("agpl-3.0", "AGPL-3.0-only"),
    ("lgpl", ""): ("lgpl-2.0-plus", "LGPL-2.0-or-later"),
    ("lgpl", "2"): ("lgpl-2.1", "LGPL-2.1-only"), ("lgpl", "3"): ("lgpl-3.0", "LGPL-3.0-only"),
    ("gpl", ""): ("gpl-1.0-plus", "GPL-1.0-or-later"), ("gpl", "2"): ("gpl-2.0", "GPL-2.0-only"),
    ("gpl", "3"): ("gpl-3.0", "GPL-3.0-only"), ("mit", ""): ("mit", "MIT"),
    ("bsd", ""): ("bsd-new", "BSD-3-Clause"), ("bsd", "2"): ("bsd-simplified", "BSD-2-Clause"),
    ("bsd", "3"): ("bsd-new", "BSD-3-Clause"), ("apache", ""): ("apache-2.0", "Apache-2.0"),
    ("apache", "2"): ("apache-2.0", "Apache-2.0"), ("apache", "1"): ("apache-1.1", "Apache-1.1"),
    ("mpl", ""): ("mpl-2.0", "MPL-2.0"), ("mpl", "2"): ("mpl-2.0", "MPL-2.0"),
    ("mpl", "1"): ("mpl-1.1", "MPL-1.1"), ("epl", ""): ("epl-2.0", "EPL-2.0"),
    ("epl", "2"): ("epl-2.0", "EPL-2.0"), ("epl", "1"): ("epl-1.0", "EPL-1.0"),
    ("mulanpsl", ""): ("mulanpsl-2.0", "MulanPSL-2.0"),
    ("mulanpsl", "2"): ("mulanpsl-2.0", "MulanPSL-2.0"),
    ("mulanpsl", "1"): ("mulanpsl-1.0", "MulanPSL-1.0"),
}


def cjk_notices(lines: Sequence[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Holders and licenses of Chinese notices scancode does not read (``版权所有 X有限公司``,
    ``著作权归 X 所有``, ``遵循 GPL 协议``), as ``TextHit``/``LicenseHit`` dicts; ``lines`` are the
    decoded lines of a head, numbered from 1."""
    holders: list[dict[str, Any]] = []
    licenses: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        seen: set[str] = set()
        for pattern in (_CJK_NOTICE, _CJK_BELONGS):
            for match in pattern.finditer(line):
                text = match.group(1).strip(" ,.")
                if len(text) >= 2 and text not in seen:
                    seen.add(text)
                    holders.append({"text": text, "start_line": number, "end_line": number,
                                    "source": "cjk-notice"})
        if not re.search(r"[\u4e00-\u9fff]", line):
            continue
        for match in _CJK_LICENSE.finditer(line):
            name = {"木兰": "mulanpsl", "木蘭": "mulanpsl"}.get(match.group(1),
                                                              match.group(1).lower())
            major = (match.group(2) or "").split(".")[0]
            key, spdx = _CJK_LICENSE_IDS.get((name, major)) or _CJK_LICENSE_IDS[(name, "")]
            if not any(h["spdx"] == spdx and h["start_line"] == number for h in licenses):
                licenses.append({"spdx": spdx, "expression": key, "start_line": number,
                                 "end_line": number, "rule": "cjk-license-notice: "
                                 + match.group(0)[:60]})
    return holders, licenses


@dataclass(frozen=True)
class LicenseHit:
    """A license detection: SPDX expression, scancode's own expression, the lines, the rule."""

    spdx: str
    expression: str
    start_line: int
    end_line: int
    rule: str = ""


@dataclass(frozen=True)
class TextHit:
    """A copyright statement or holder found on a line."""

    text: str
    start_line: int
    end_line: int
    source: str = "scancode"
    """``scancode`` or ``cjk-notice`` (the Chinese notice pattern of this module)."""
    spill: str | None = None
    """Words scancode took from the start of the next line, dropped from ``text`` (see
    ``trim_spill``)."""
    reading: str | None = None
    """For a Chinese notice: scancode's (pinyin, often shortened) reading of the same holder,
    which is left out in favour of the Chinese text."""


@dataclass(frozen=True)
class PackageHit:
    """Package data parsed from a manifest."""

    type: str | None
    name: str | None
    version: str | None
    license: str | None
    """Declared license as an SPDX expression."""
    expression: str | None
    """Declared license as a scancode expression."""
    parties: tuple[str, ...] = ()
    """Authors, maintainers, owners and vendors named by the manifest."""
    holder: str | None = None
    purl: str | None = None
    """The package URL scancode gives the manifest's package."""


@dataclass(frozen=True)
class FileDetection:
    """What the detectors found in one file (JSON round-trips through the cache)."""

    role: str
    """``source``, ``legal`` (license/notice file) or ``manifest`` (optionally ``source+manifest``)."""
    scope: str
    """``head``, ``whole`` or ``none`` (no keyword: scancode was not run on it)."""
    scanned_lines: int = 0
    licenses: tuple[LicenseHit, ...] = ()
    copyrights: tuple[TextHit, ...] = ()
    holders: tuple[TextHit, ...] = ()
    packages: tuple[PackageHit, ...] = ()
    generated: TextHit | None = None
    """The first generated-code hint, with its line."""
    mean_line_length: float = 0.0
    """Mean length of the non-blank lines, in bytes (minified/bundled assets are long)."""
    error: str | None = None
    """Why detection did not finish (timeout, scancode error); the file is then ``unknown``."""
    seconds: float = 0.0
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for the cache)."""
        data = asdict(self)
        data.pop("cached")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, cached: bool = False) -> FileDetection:
        """The inverse of ``to_json``."""
        gen = data.get("generated")
        return cls(
            role=data["role"], scope=data["scope"], scanned_lines=data.get("scanned_lines", 0),
            licenses=tuple(LicenseHit(**h) for h in data.get("licenses", ())),
            copyrights=tuple(TextHit(**h) for h in data.get("copyrights", ())),
            holders=tuple(TextHit(**h) for h in data.get("holders", ())),
            packages=tuple(PackageHit(**{**p, "parties": tuple(p.get("parties", ()))})
                           for p in data.get("packages", ())),
            generated=TextHit(**gen) if gen else None,
            mean_line_length=data.get("mean_line_length", 0.0), error=data.get("error"),
            seconds=data.get("seconds", 0.0), cached=cached)


@dataclass
class DetectionStats:
    """Counters of one detection run (reported in the output; tests read them)."""

    requested: int = 0
    cache_hits: int = 0
    notice_cache_hits: int = 0
    """Files read again (content changed) whose notice block was already scanned."""
    prefiltered: int = 0
    """Files whose content was read but needed no scancode run (no keyword)."""
    scancode_files: int = 0
    """Files given to scancode."""
    license_scans: int = 0
    copyright_scans: int = 0
    package_scans: int = 0
    timeouts: int = 0
    errors: int = 0
    index_loaded: bool = False
    workers: int = 0
    seconds: float = 0.0
    scancode_version: str = ""
    scope: str = SCOPE
    error_samples: list[str] = field(default_factory=list)


def is_legal_file(path: str) -> bool:
    """True for license and notice files (LICENSE, COPYING, NOTICE, …) by name."""
    return bool(_LEGAL_NAME.match(path.rsplit("/", 1)[-1]))


def is_manifest(path: str) -> bool:
    """True for package manifests scancode can parse (package.json, setup.py, pom.xml, …)."""
    name = path.rsplit("/", 1)[-1].lower()
    return name in MANIFEST_NAMES or name.endswith(_MANIFEST_SUFFIXES)


def role_of(entry: InventoryEntry) -> str | None:
    """How a file is scanned: ``legal``, ``manifest``, ``source``, ``source+manifest`` or None."""
    if is_legal_file(entry.path):
        return "legal"
    manifest = is_manifest(entry.path)
    if entry.kind == "source":
        return "source+manifest" if manifest else "source"
    return "manifest" if manifest else None


def scancode_version() -> str:
    """The installed scancode-toolkit version ("" if it is not installed)."""
    try:
        return version("scancode-toolkit")
    except PackageNotFoundError:
        return ""


def _generated_keywords() -> tuple[str, ...]:
    from summarycode.generated import GENERATED_KEYWORDS_LOWERED  # heavy: scancode-toolkit
    return GENERATED_KEYWORDS_LOWERED


def check_scancode() -> None:
    """``ToolError`` (exit 3) unless scancode-toolkit imports and finds its data."""
    try:
        _generated_keywords()
        import scancode.api  # noqa: F401 - heavy: scancode-toolkit, imported only to check that it works
    except Exception as err:  # whatever scancode raises on a broken install or cache
        raise ToolError(f"scancode-toolkit is not usable: {type(err).__name__}: {err}") from err


def _quick_scan(path: Path, role: str, encoding: str | None, *, lex: bool = True
                ) -> tuple[dict[str, Any], dict | None]:
    """Read the file once: line statistics, generated hint, Chinese notices, prefilter.

    Returns the partial detection and the scancode task it still needs (or None). Without ``lex``
    (a minified asset the inventory did not lex) the notice block is not cut by lexing its head.
    """
    limit = LEGAL_MAX_BYTES if role == "legal" else STATS_MAX_BYTES
    with open(path, "rb") as handle:
        data = handle.read(limit)
    # scancode reads files as UTF-8: give it a UTF-8 copy of a GBK/GB18030/UTF-16 … file's text,
    # or it reads mojibake (and takes code on the next line for a copyright holder)
    transcoded = bool(encoding) and not _is_utf8(encoding or "")
    if encoding and transcoded:
        data = data.decode(encoding.split(" ")[0], errors="replace").encode("utf-8")
        encoding = "utf-8"
    lines = data.split(b"\n")
    nonblank = [line for line in lines if line.strip()]
    mean = (sum(map(len, nonblank)) / len(nonblank)) if nonblank else 0.0
    head_lines_b = lines if role == "legal" else b"\n".join(lines[:HEAD_LINES])[:HEAD_BYTES].split(b"\n")
    dec = [line.decode(encoding or "utf-8", errors="replace") for line in head_lines_b]
    result: dict[str, Any] = {"role": role, "scope": "none", "scanned_lines": 0,
                              "mean_line_length": round(mean, 1)}
    keywords = _generated_keywords()
    for number, line in enumerate(dec[:GENERATED_LINES], 1):
        low = line.strip().lower()
        if any(kw in low for kw in keywords) or _EXTRA_GENERATED.search(low):
            result["generated"] = {"text": line.strip()[:120], "start_line": number,
                                   "end_line": number, "source": "marker"}
            break
    holders, cjk_licenses = cjk_notices(dec)
    result["holders"] = holders
    if cjk_licenses:
        result["licenses"] = cjk_licenses
    license_lines = [i for i, t in enumerate(dec) if _LICENSE_KW.search(t)]
    copyright_lines = [i for i, t in enumerate(dec) if _COPYRIGHT_KW.search(t)]
    want_licenses = role == "legal" or bool(license_lines)
    want_copyrights = role == "legal" or bool(copyright_lines)
    want_package = "manifest" in role
    if not (want_licenses or want_copyrights or want_package):
        return result, None
    if role == "legal":
        end = len(dec)
    else:  # the notice block: the head through its last keyword line and the comment lines after
        end = notice_end(dec, max(license_lines + copyright_lines, default=-1),
                         path.name if lex else "")
    region = b"\n".join(head_lines_b[:end])
    if end < len(lines):
        region += b"\n"
    truncated = len(region) < len(data) or path.stat().st_size > limit
    result["scope"] = "head" if truncated else "whole"
    result["scanned_lines"] = end
    # scancode takes a file with NUL bytes for binary and reads only its strings: give it the
    # notice block without them (line numbers are unchanged)
    nul = b"\0" in region and role != "legal"
    if nul:
        region = region.replace(b"\0", b"")
    task = {"path": str(path), "name": path.name,
            "head": region if truncated or transcoded or nul else None,
            "licenses": want_licenses, "copyrights": want_copyrights, "package": want_package,
            "package_path": str(path), "notice_key": None}
    if not want_package:
        flags = ("L" if want_licenses else "") + ("C" if want_copyrights else "")
        task["notice_key"] = (f"notice:{hashlib.sha256(region).hexdigest()}:"
                              f"{path.suffix.lower()}:{flags}")
    return result, task


def notice_end(lines: Sequence[str], last_keyword: int, name: str) -> int:
    """End (exclusive line index) of the notice block of a head whose last keyword line is
    ``last_keyword``: the lines after it are kept while they continue the notice — comment or blank
    lines, or the rest of a string literal (a docstring) that the notice is in — up to
    ``NOTICE_MARGIN`` of them; a line of code or a new string (the module docstring under a
    comment header) ends the block. What follows a notice never helps to detect it and makes
    scancode's approximate license matching several times slower. A file pygments has no lexer
    for keeps all ``NOTICE_MARGIN`` lines.

    Lexing here has no timeout of its own: it is safe because ``Detector.detect`` skips files whose
    counting failed or timed out, and counting lexed the whole file first, in a worker, under the
    per-file timeout; a file the inventory did not lex (a minified asset) is given with an empty
    ``name`` and keeps all ``NOTICE_MARGIN`` lines, unlexed.
    """
    limit = min(len(lines), last_keyword + 1 + NOTICE_MARGIN)
    if not name:
        return limit
    lexer = _notice_lexer(lexer_filename(name))
    if lexer is None or last_keyword + 1 >= limit:
        return limit
    kinds = _line_kinds(lexer, "\n".join(lines[:limit]))
    notice_strings = {kinds.get(i) for i in range(last_keyword + 1)} - {None, "comment", "code"}
    end = last_keyword + 1
    while end < limit and (kinds.get(end) in (None, "comment") or kinds.get(end) in notice_strings):
        end += 1
    return end


@functools.lru_cache(maxsize=256)
def _notice_lexer(filename: str) -> Any:
    """A pygments lexer for a file name (``languages.lexer_filename``), or None."""
    cls = lexer_class(filename)
    return cls(stripnl=False, ensurenl=False) if cls is not None else None


def _line_kinds(lexer: Any, text: str) -> dict[int, str]:
    """What each non-blank line of ``text`` holds, by index: ``code`` when any token on it is code
    (preprocessor lines included), else ``string:N`` for a line inside string literal N (string
    tokens with nothing but white space between them are one literal), else ``comment``."""
    kinds: dict[int, str] = {}
    line, literal, in_string = 0, 0, False
    for token, value in lexer.get_tokens(text):
        if token in Token.Text.Whitespace or not value.strip():
            line += value.count("\n")
            continue
        if token in Token.Literal.String:
            if not in_string:
                literal, in_string = literal + 1, True
            kind = f"string:{literal}"
        else:
            in_string = False
            kind = "comment" if token in Token.Comment and token not in Token.Comment.Preproc else "code"
        for here in range(line, line + value.count("\n") + 1):
            # code outranks a string, a string outranks a comment on the same line
            if kinds.get(here) in (None, "comment") or kind == "code":
                kinds[here] = kind
        line += value.count("\n")
    return kinds


def _is_utf8(encoding: str) -> bool:
    name = encoding.split(" ")[0].lower().replace("_", "-")
    return name in ("utf-8", "utf8", "ascii", "us-ascii")


# ---------------------------------------------------------------- worker side

def _scan_with_scancode(task: dict[str, Any]) -> dict[str, Any]:
    """Run the scancode detectors a task asks for; runs in a worker process."""
    start = time.monotonic()
    location = task["path"]
    tmp_file = None
    if task["head"] is not None:  # under the directory the Detector owns and removes
        tmp_dir = tempfile.mkdtemp(dir=task["tmp"])
        tmp_file = os.path.join(tmp_dir, task["name"])
        with open(tmp_file, "wb") as handle:
            handle.write(task["head"])
        location = tmp_file
    out: dict[str, Any] = {}
    try:
        from scancode import api  # heavy: scancode-toolkit, in the detection worker
        if task["licenses"]:
            found = api.get_licenses(location)
            hits = []
            for detection in found.get("license_detections", ()):
                for match in detection.get("matches", ()):
                    hits.append({
                        "spdx": match.get("license_expression_spdx") or match.get(
                            "license_expression") or "",
                        "expression": match.get("license_expression") or "",
                        "start_line": match.get("start_line") or 0,
                        "end_line": match.get("end_line") or 0,
                        "rule": match.get("rule_identifier") or ""})
            out["licenses"] = hits
        if task["copyrights"]:
            found = api.get_copyrights(location)
            out["copyrights"] = [{"text": c["copyright"], "start_line": c["start_line"],
                                  "end_line": c["end_line"]} for c in found.get("copyrights", ())]
            out["holders"] = _trim_holders(location, [
                {"text": h["holder"], "start_line": h["start_line"], "end_line": h["end_line"]}
                for h in found.get("holders", ())])
        if task["package"]:
            found = api.get_package_data(task["package_path"])
            out["packages"] = [_package_hit(p) for p in found.get("package_data", ())]
    finally:
        if tmp_file is not None:
            os.unlink(tmp_file)
            os.rmdir(os.path.dirname(tmp_file))
    out["seconds"] = round(time.monotonic() - start, 4)
    return out


def _norm_word(word: str) -> str:
    return re.sub(r"^\W+|\W+$", "", word).casefold()


def trim_spill(holder: str, start_line: int, end_line: int, lines: Sequence[str]
               ) -> tuple[str, str | None]:
    """Undo scancode's spill-over into the next line: in ``# Copyright 2024 Foo Ltd.`` followed by
    ``\"\"\"Plain data objects…``, scancode reports the holder ``Foo Ltd. Plain``. When a two-line
    holder's tail is only the first words of a longer next line, return the holder without it and
    the dropped words; otherwise ``(holder, None)``."""
    if end_line != start_line + 1 or start_line < 1 or end_line > len(lines):
        return holder, None
    words = holder.split()
    first = unidecode(lines[start_line - 1]).casefold()  # scancode reads Chinese as pinyin: compare likewise
    pos = kept = 0
    for word in words:
        key = _norm_word(word)
        found = first.find(key, pos) if key else pos
        if found < 0:
            break
        pos = found + len(key)
        kept += 1
    if kept in (0, len(words)):
        return holder, None
    tail = [_norm_word(w) for w in words[kept:]]
    following = [_norm_word(w) for w in unidecode(lines[end_line - 1]).split()]
    following = [w for w in following if w]
    if len(following) > len(tail) and following[:len(tail)] == tail:
        return " ".join(words[:kept]), " ".join(words[kept:])
    return holder, None


def _trim_holders(location: str, holders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not any(h["end_line"] > h["start_line"] for h in holders):
        return holders
    with open(location, "rb") as handle:
        lines = handle.read().decode("utf-8", errors="replace").splitlines()
    out = []
    for hit in holders:
        text, spill = trim_spill(hit["text"], hit["start_line"], hit["end_line"], lines)
        out.append({**hit, "text": text, "spill": spill} if spill else hit)
    return out


def _package_hit(data: dict[str, Any]) -> dict[str, Any]:
    parties = [p.get("name") for p in data.get("parties") or ()
               if p.get("name") and p.get("role") in (None, "author", "maintainer", "owner",
                                                       "vendor", "developer", "publisher")]
    return {"type": data.get("type"), "name": data.get("name"), "version": data.get("version"),
            "license": data.get("declared_license_expression_spdx"),
            "expression": data.get("declared_license_expression"),
            "parties": parties, "holder": data.get("holder"), "purl": data.get("purl")}


def _load_index() -> None:
    from licensedcode.cache import get_index  # heavy: scancode-toolkit's license index
    get_index()


# ---------------------------------------------------------------- parent side


def _merge(partial: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The quick scan's partial result completed with scancode's findings: a scancode holder that
    is the pinyin reading of a Chinese notice on its line is folded into that notice (``reading``);
    Chinese-sentence licenses are kept beside scancode's."""
    merged = dict(partial)
    cjk = [dict(h) for h in partial.get("holders", [])]
    holders = []
    for hit in found.get("holders", []):
        twin = next((c for c in cjk if c["start_line"] <= hit["start_line"] <= c["end_line"]
                     and is_transliteration(hit["text"], c["text"])), None)
        if twin is None:
            holders.append(hit)
        elif not twin.get("reading"):
            twin["reading"] = hit["text"]
    merged["holders"] = sorted(holders + cjk, key=lambda h: h["start_line"])
    for key in ("copyrights", "packages", "seconds"):
        if key in found:
            merged[key] = found[key]
    if "licenses" in found:
        licenses = list(found["licenses"])
        merged["licenses"] = licenses + [
            own for own in partial.get("licenses", [])
            if not any(h["spdx"] == own["spdx"] and h["start_line"] == own["start_line"]
                       for h in licenses)]
    return merged

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``."""


class Detector:
    """Detects notices, packages and generated hints in files of one tree, with cache and pool.

    Use as a context manager; ``detect`` may be called several times (the pool and the loaded
    license index are reused).
    """

    def __init__(self, root: Path, *, cache: ResultCache | None = None, jobs: int | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, progress: Progress | None = None) -> None:
        self.root = Path(root)
        self.cache = cache
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout_s = timeout_s
        self.progress = progress
        self.stats = DetectionStats(scancode_version=scancode_version())
        self._pool: ProcessPool | None = None
        self._tmp: str | None = None
        """Where workers write the notice blocks they give scancode; removed by ``close``."""

    def __enter__(self) -> Detector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker pool (killing any detection still running) and remove its temporary
        directory."""
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)
            self._pool = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @staticmethod
    def cache_key(entry: InventoryEntry, role: str) -> str:
        """Cache key: content hash, role and (for manifests, parsed by name) the file name."""
        name = entry.path.rsplit("/", 1)[-1] if "manifest" in role else ""
        return f"{entry.sha256}:{role}:{name}"

    def detect(self, entries: Iterable[InventoryEntry]) -> dict[str, FileDetection]:
        """Detections by path for the scannable ``entries`` (others are left out)."""
        start = time.monotonic()
        todo = [(e, role) for e in entries if (role := role_of(e)) is not None and not e.problem]
        if todo:
            check_scancode()
        self.stats.requested += len(todo)
        keys = {e.path: self.cache_key(e, role) for e, role in todo}
        cached = self.cache.get_many(keys.values()) if self.cache is not None else {}
        results: dict[str, FileDetection] = {}
        pending: list[tuple[InventoryEntry, dict[str, Any], dict[str, Any]]] = []
        fresh: dict[str, dict[str, Any]] = {}
        total = len(todo)
        done = 0
        for entry, role in todo:
            hit = cached.get(keys[entry.path])
            if hit is not None:
                results[entry.path] = FileDetection.from_json(hit, cached=True)
                self.stats.cache_hits += 1
                done += 1
                continue
            try:
                partial, task = _quick_scan(self.root / entry.path, role, entry.encoding,
                                            lex=entry.minified is None)
            except OSError as err:
                results[entry.path] = FileDetection(
                    role=role, scope="none", error=f"cannot read: {err.strerror or err}")
                self.stats.errors += 1
                done += 1
                continue
            if task is None:
                self.stats.prefiltered += 1
                results[entry.path] = FileDetection.from_json(partial)
                fresh[keys[entry.path]] = partial
                done += 1
            else:
                pending.append((entry, partial, task))
        self._report("detect", done, total)
        if pending:
            notice_keys = [t["notice_key"] for _, _, t in pending if t["notice_key"]]
            blocks = self.cache.get_many(notice_keys) if self.cache is not None else {}
            to_scan = []
            for entry, partial, task in pending:
                found = blocks.get(task["notice_key"]) if task["notice_key"] else None
                if found is None:
                    to_scan.append((entry, partial, task))
                    continue
                self.stats.notice_cache_hits += 1
                merged = _merge(partial, found)
                results[entry.path] = FileDetection.from_json(merged)
                fresh[keys[entry.path]] = merged
                done += 1
            scanned = self._run_pool(to_scan, done, total) if to_scan else []
            for entry, merged, found, task in scanned:
                results[entry.path] = FileDetection.from_json(merged)
                if merged.get("error") is None:
                    fresh[keys[entry.path]] = merged
                    if task["notice_key"] and found is not None:  # found: no error
                        fresh[task["notice_key"]] = found
        if self.cache is not None:
            self.cache.put_many(fresh)
        self.stats.seconds += time.monotonic() - start
        return results

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _ensure_pool(self, need_index: bool) -> ProcessPool:
        """The worker pool, forked after the license index is loaded when ``need_index``."""
        if need_index and not self.stats.index_loaded:
            if self._pool is not None:  # forked before the index was loaded: start again
                self.close()
            try:
                _load_index()
            except Exception as err:  # scancode's own failure, not ours
                raise ToolError(f"scancode could not load its license index: "
                                f"{type(err).__name__}: {err}") from err
            self.stats.index_loaded = True
            gc.collect()
            gc.freeze()  # keep the index's pages shared with the forked workers
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="verifier-scan-")
        if self._pool is None:
            self._pool = ProcessPool(max_workers=self.jobs,
                                     context=multiprocessing.get_context("fork"),
                                     initializer=pool_worker_init, initargs=(os.getpid(),))
            self.stats.workers = self.jobs
        return self._pool

    def _run_pool(self, pending: Sequence[tuple[InventoryEntry, dict, dict]], done: int,
                  total: int) -> list[tuple[InventoryEntry, dict[str, Any], dict | None, dict]]:
        pool = self._ensure_pool(any(t["licenses"] or t["package"] for _, _, t in pending))
        futures = []
        for entry, partial, task in pending:
            task["tmp"] = self._tmp
            self.stats.scancode_files += 1
            self.stats.license_scans += task["licenses"]
            self.stats.copyright_scans += task["copyrights"]
            self.stats.package_scans += task["package"]
            futures.append((entry, partial, task, pool.schedule(
                _scan_with_scancode, args=(task,), timeout=self.timeout_s)))
        out = []
        failures = 0
        for entry, partial, task, future in futures:
            merged = dict(partial)
            found = None
            try:
                found = future.result(timeout=self.timeout_s * len(futures) + 60)
            except (FutureTimeout, TimeoutError):
                failures += 1
                self.stats.timeouts += 1
                merged["error"] = f"detection did not finish within {self.timeout_s:g} s"
            except Exception as err:  # a scancode error or a worker that died on this file
                failures += 1
                self.stats.errors += 1
                message = f"{type(err).__name__}: {err}".strip()[:300]
                merged["error"] = f"scancode failed: {message}"
                if len(self.stats.error_samples) < 5:
                    self.stats.error_samples.append(f"{entry.path}: {message}")
            else:
                merged = _merge(partial, found)
            out.append((entry, merged, found, task))
            done += 1
            self._report("detect", done, total)
        if failures and failures == len(futures) and self.stats.errors:
            sample = "; ".join(self.stats.error_samples[:2])
            raise ToolError(f"scancode failed on every one of the {len(futures)} files it was "
                            f"given ({sample})")
        return out
