"""Run by the lizard probe as its tool, with the harness's interpreter, from a neutral directory:
``python -I _lizard_driver.py OUT.json``, the files to analyse on stdin (absolute
paths, NUL-separated). Writes what lizard found for each file to OUT.json.

Through lizard's API rather than its CSV output, whose fields are not escaped (a file name with a
quote or a comma would shift the columns). Standard library and lizard only: it is a separate program.
Exit status 3 when lizard is not installed, 2 for bad usage.
"""

import json
import os
import sys

_MISSING: ImportError | None = None
try:
    import lizard
    from lizard_ext import auto_read
    from lizard_ext import version as lizard_version
    from lizard_languages import get_reader_for
except ImportError as exc:  # main() says so, with its own exit status
    _MISSING = exc


def _reader_names(reader):
    return [str(n).lower() for n in getattr(reader, "language_names", [])]


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: _lizard_driver.py OUT.json\n")
        return 2
    if _MISSING is not None:
        sys.stderr.write(f"lizard is not installed: {_MISSING} (No module named 'lizard')\n")
        return 3
    data = sys.stdin.buffer.read()
    paths = [os.fsdecode(p) for p in data.split(b"\0") if p]
    files, skipped, errors = [], [], []
    analyzer = lizard.FileAnalyzer(lizard.get_extensions([]))
    for path in paths:
        reader = get_reader_for(path)
        if reader is None:
            skipped.append(path)
            continue
        try:
            info = analyzer.analyze_source_code(path, auto_read(path))
        except Exception as exc:  # one unreadable or unparsable file does not stop the others
            errors.append({"file": path, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        names = _reader_names(reader)
        files.append({
            "file": path,
            "language": names[0] if names else "",
            "nloc": info.nloc,
            "functions": [{
                "name": fn.name,
                "long_name": fn.long_name,
                "line": fn.start_line,
                "end_line": fn.end_line,
                "ccn": fn.cyclomatic_complexity,
                "nloc": fn.nloc,
                "tokens": fn.token_count,
                "parameters": len(fn.parameters),
                "length": fn.length,
            } for fn in info.function_list],
        })
    text = lizard_version if isinstance(lizard_version, str) else getattr(lizard_version, "version", "")
    out = {"lizard_version": str(text), "files": files,
           "skipped": skipped, "errors": errors}
    with open(argv[1], "w", encoding="utf-8") as handle:
        json.dump(out, handle, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
