"""What kind of file a path is (source, doc, data, binary, other) and whether it is test code.

Decisions here use the file name only (plus a NUL-byte check done by the caller); the language of a
source file is confirmed by pygount from its content. Pygments' own file-name table decides which
names are source code, so every language pygments knows is counted.
"""

from __future__ import annotations

import functools
import os
import re

from pygments.lexer import Lexer
from pygments.lexers import find_lexer_class_for_filename
from pygments.lexers._mapping import LEXERS

from verifier.globs import translate_name

#: Documents: inventoried, never counted.
DOC_SUFFIXES = frozenset({
    ".md", ".markdown", ".mdown", ".rst", ".txt", ".text", ".adoc", ".asciidoc", ".org", ".textile",
    ".pdf", ".doc", ".docx", ".odt", ".rtf", ".ppt", ".pptx", ".odp", ".xls", ".xlsx", ".ods",
    ".wps", ".et", ".dps", ".tex", ".bib", ".man", ".info", ".epub", ".chm", ".vsd", ".vsdx",
    ".mpp", ".xmind", ".drawio",
})
#: Documents in binary formats: they stay ``doc`` although their content holds NUL bytes.
BINARY_DOC_SUFFIXES = frozenset({
    ".pdf", ".doc", ".docx", ".odt", ".ppt", ".pptx", ".odp", ".xls", ".xlsx", ".ods", ".wps",
    ".et", ".dps", ".epub", ".chm", ".vsd", ".vsdx", ".mpp", ".xmind",
})
#: Names (without suffix, case-insensitive) of documents such as README or LICENSE.
DOC_NAMES = frozenset({
    "readme", "license", "licence", "copying", "copyright", "notice", "authors", "contributors",
    "changelog", "changes", "history", "news", "thanks", "todo", "install", "patents", "credits",
    "code_of_conduct", "contributing", "security", "support", "maintainers", "unlicense",
})
#: Structured data and configuration: inventoried, never counted.
DATA_SUFFIXES = frozenset({
    ".json", ".jsonc", ".json5", ".jsonl", ".ndjson", ".geojson", ".yaml", ".yml", ".xml", ".xsd",
    ".xsl", ".xslt", ".dtd", ".wsdl", ".plist", ".csv", ".tsv", ".psv", ".toml", ".ini", ".cfg",
    ".conf", ".config", ".properties", ".env", ".lock", ".sum", ".po", ".pot", ".resx", ".strings",
    ".editorconfig", ".gitignore", ".gitattributes", ".dockerignore", ".npmrc", ".nvmrc",
    ".prettierrc", ".eslintrc", ".babelrc", ".browserslistrc", ".flake8", ".pylintrc", ".map",
    ".svg", ".graphml", ".ipynb", ".sqlite", ".snap", ".pem", ".crt", ".csr", ".pub", ".gpg",
})
#: Whole names of data files whose suffix alone would mislead (``go.mod`` is not Modula-2).
DATA_NAMES = frozenset({
    "go.mod", "go.sum", "go.work", "go.work.sum", "package-lock.json", "npm-shrinkwrap.json",
    "yarn.lock", "pnpm-lock.yaml", "poetry.lock", "pipfile", "pipfile.lock", "cargo.lock",
    "composer.lock", "gemfile.lock", "uv.lock", "pdm.lock", "requirements.txt", "constraints.txt",
    "manifest.in", "codeowners", ".htaccess",
})
#: Known binary formats (also caught by content: a NUL byte in the first 8 KiB).
BINARY_SUFFIXES = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".webp", ".tif", ".tiff", ".psd",
    ".ai", ".eps", ".heic", ".avif", ".mp3", ".wav", ".ogg", ".flac", ".aac", ".m4a", ".mp4", ".mov",
    ".avi", ".mkv", ".webm", ".flv", ".wmv", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar",
    ".tar", ".zst", ".jar", ".war", ".ear", ".aar", ".apk", ".ipa", ".class", ".dex", ".pyc",
    ".pyo", ".pyd", ".so", ".dll", ".dylib", ".exe", ".msi", ".o", ".obj", ".a", ".lib", ".bin",
    ".dat", ".db", ".mdb", ".accdb", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".ttc", ".swf",
    ".pdb", ".wasm", ".node", ".whl", ".egg", ".deb", ".rpm", ".dmg", ".iso", ".img", ".npy",
    ".npz", ".pkl", ".pickle", ".h5", ".hdf5", ".onnx", ".pt", ".pth", ".ckpt", ".parquet",
    ".feather", ".keystore", ".jks", ".p12", ".pfx", ".der", ".dwg", ".dxf", ".mo", ".blend",
})
#: Pygments languages that are documentation or data rather than code, whatever the file suffix.
NON_CODE_LANGUAGES = frozenset({
    "Text only", "Markdown", "reStructuredText", "TeX", "BibTeX", "Groff", "Texinfo", "Todotxt",
    "JSON", "JSONLD", "JSON5", "YAML", "XML", "INI", "TOML", "Properties", "Gettext Catalog", "Diff",
    "ASCII armored", "Debian Control file", "Debian Sourcelist", "Termcap", "Terminfo",
    "Hspec", "CSV", "Notmuch", "Org Mode", "AsciiDoc", "Email", "MIME", "Rd", "Darcs Patch",
})
#: Suffixes pygments has no lexer for, counted with the lexer of the language they are written in
#: (WeChat mini-program pages, uni-app pages, Razor views, FreeMarker templates).
SUFFIX_ALIASES = {
    ".wxml": "x.html", ".wxss": "x.css", ".wxs": "x.js", ".nvue": "x.vue", ".uvue": "x.vue",
    ".cshtml": "x.html", ".razor": "x.html", ".ftl": "x.html", ".vbhtml": "x.html",
}

_SIMPLE_PATTERN = re.compile(r"^\*\.[^*?\[\].]+$")
#: Pygments file-name patterns that are not plain ``*.suffix`` (Makefile, CMakeLists.txt …).
_SPECIAL_PATTERNS = re.compile("|".join(
    translate_name(pattern) for _, _, _, patterns, _ in LEXERS.values() for pattern in patterns
    if not _SIMPLE_PATTERN.match(pattern)))

#: The test-code rule in words (``Inventory.test_rule``).
TEST_RULE = (
    "a file is test code when a directory on its path is named test, tests, testing, __tests__, "
    "__test__, spec, specs, e2e, __mocks__ or androidTest (any case), or its name matches "
    "test_*.py, *_test.py, *_tests.py, test.py, tests.py, conftest.py, *_test.go, *Test.java, *Tests.java, "
    "*TestCase.java, *IT.java, *Test.kt, *Tests.kt, *Test.scala, *Spec.scala, *Test.cs, *Tests.cs, "
    "*Test.php, *.test.{js,jsx,ts,tsx,mjs,cjs,vue}, *.spec.{js,jsx,ts,tsx,mjs,cjs,vue}, *_spec.rb, "
    "*_test.rb, test_*.{c,cc,cpp}, *_test.{c,cc,cpp,h,rs}, *_unittest.{c,cc,cpp}, Test*.java")
_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "__test__", "spec", "specs", "e2e",
                        "__mocks__", "androidtest"})
_TEST_NAME = re.compile(
    r"^(?:test_.*\.py|(?:.*_)?tests?\.py|conftest\.py|.*_test\.go"
    r"|.*(?:Test|Tests|TestCase|IT)\.java|Test[A-Z0-9_].*\.java|.*Tests?\.kt|.*(?:Test|Spec)\.scala"
    r"|.*Tests?\.cs|.*Test\.php"
    r"|.*\.(?:test|spec)\.(?:js|jsx|ts|tsx|mjs|cjs|vue)|.*_(?:spec|test)\.rb"
    r"|test_.*\.(?:c|cc|cpp)|.*_test\.(?:c|cc|cpp|h|rs)|.*_unittest\.(?:c|cc|cpp))$")


def is_test_path(path: str) -> bool:
    """Whether the POSIX relative ``path`` is test code by ``TEST_RULE``."""
    *dirs, name = path.split("/")
    return any(d.lower() in _TEST_DIRS for d in dirs) or bool(_TEST_NAME.match(name))


@functools.lru_cache(maxsize=4096)
def lexer_class(name: str) -> type[Lexer] | None:
    """The pygments lexer class for a file name (by name only), or ``None``; cached."""
    return find_lexer_class_for_filename(name)


def _lexer_for_name(name: str) -> str | None:
    lexer = lexer_class(name)
    return lexer.name if lexer is not None else None


def lexer_name(basename: str) -> str | None:
    """The pygments language a file name maps to (by name only), or ``None``; cached, cheap."""
    suffix = os.path.splitext(basename)[1]
    alias = SUFFIX_ALIASES.get(suffix.lower())
    if alias is not None:
        return _lexer_for_name(alias)
    if _SPECIAL_PATTERNS.match(basename):
        return _lexer_for_name(basename)
    return _lexer_for_name("x" + suffix) if suffix else None


def lexer_filename(basename: str) -> str:
    """The file name to give pygount/pygments for a source file: ``x.<suffix>`` unless pygments
    knows the whole name, aliases applied, and a name pygount would take for markup
    (``CMakeLists.txt``) replaced by one of the lexer's own patterns."""
    suffix = os.path.splitext(basename)[1]
    alias = SUFFIX_ALIASES.get(suffix.lower())
    if alias is not None:
        return alias
    if suffix and not _SPECIAL_PATTERNS.match(basename):
        return "x" + suffix  # only the suffix matters to pygments: one cache key per content
    if _MARKUP_NAME.match(basename):
        lexer = find_lexer_class_for_filename(basename)
        for pattern in lexer.filenames if lexer is not None else ():
            candidate = pattern.replace("*", "x")
            if not _MARKUP_NAME.match(candidate) and not any(c in candidate for c in "?[]"):
                return candidate
    return basename


#: pygount counts every line of a file named like this as documentation.
_MARKUP_NAME = re.compile(r"^.*\.(md|rst|txt|\d+)$", re.IGNORECASE)


def kind_by_name(basename: str) -> tuple[str, str | None]:
    """``(kind, language)`` decided from the file name: source files have a pygments lexer that is
    not a documentation or data format; the caller still checks content for binaries."""
    lower = basename.lower()
    suffix = os.path.splitext(lower)[1]
    language = lexer_name(basename)
    if lower in DATA_NAMES or lower.endswith(".lock"):
        return "data", (language if language in NON_CODE_LANGUAGES else None)
    if suffix in BINARY_SUFFIXES:
        return "binary", None
    if suffix in DOC_SUFFIXES:
        if suffix == ".txt" and language is not None and language not in NON_CODE_LANGUAGES:
            return "source", language  # CMakeLists.txt, meson_options.txt
        return "doc", language
    if suffix in DATA_SUFFIXES or lower in DATA_SUFFIXES:
        return "data", language
    if language is None or language in NON_CODE_LANGUAGES:
        if _DOC_NAME.match(lower):  # LICENSE, COPYING.LESSER, NOTICE-APACHE, README
            return "doc", language
        if language is None:
            return "other", None
        return ("doc" if language in _DOC_LANGUAGES else "data"), language
    return "source", language


#: README, LICENSE, COPYING.LIB, NOTICE-APACHE … (when the name has no code suffix).
_DOC_NAME = re.compile(r"^(?:" + "|".join(sorted(DOC_NAMES)) + r")(?:[._-].*)?$")


_DOC_LANGUAGES = frozenset({"Text only", "Markdown", "reStructuredText", "TeX", "BibTeX", "Groff",
                            "Texinfo", "Todotxt", "Org Mode", "AsciiDoc", "Rd"})

#: Interpreters named on a ``#!`` line, and a file name that makes pygments pick their lexer.
_INTERPRETERS = {
    "python": "x.py", "pypy": "x.py", "bash": "x.sh", "sh": "x.sh", "dash": "x.sh", "ksh": "x.sh",
    "zsh": "x.zsh", "ash": "x.sh", "node": "x.js", "nodejs": "x.js", "deno": "x.ts", "bun": "x.js",
    "perl": "x.pl", "ruby": "x.rb", "php": "x.php", "lua": "x.lua", "tclsh": "x.tcl",
    "wish": "x.tcl", "rscript": "x.R", "fish": "x.fish", "pwsh": "x.ps1", "groovy": "x.groovy",
    "awk": "x.awk", "gawk": "x.awk", "make": "Makefile",
}


def shebang_filename(head: bytes) -> str | None:
    """For a script without a telling name, a file name for the interpreter its ``#!`` line
    names (``#!/usr/bin/env python3`` -> ``x.py``), or ``None``."""
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode("ascii", "replace").split()
    if words and os.path.basename(words[0]) == "env":
        words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    if not words:
        return None
    match = re.match(r"[a-z]+", os.path.basename(words[0]).lower())
    return _INTERPRETERS.get(match.group(0)) if match else None
