"""No file takes longer than the per-file timeout (issue 10 item 8): minified and bundled assets are
recognised from a bounded sample before any lexing, and counting that does not finish in time is
killed, the file weighing its non-blank lines. A 200 MB one-line JavaScript file ran over 600 s."""

from __future__ import annotations

import json
import random

import pytest

from verifier.origin import counting
from verifier.origin.inventory import build_inventory
from verifier.origin.minified import MINIFIED_MAX_LINE, SAMPLE_BYTES, minified_asset
from verifier.origin.model import SourceInfo

OWNER = "Hunan Example Software Co., Ltd."
_UNIT = "function f{0}(a,b){{return a+b*{0};}}var x{0}=f{0}(1,2);"


def _one_line_js(path, size: int) -> None:
    """Write a minified-looking JavaScript file of at least ``size`` bytes on a single line."""
    with open(path, "w") as handle:
        written = index = 0
        while written < size:
            chunk = "".join(_UNIT.format(i) for i in range(index, index + 2000))
            handle.write(chunk)
            written += len(chunk)
            index += 2000
        handle.write("\n")


def _normal_js(path, lines: int) -> None:
    with open(path, "w") as handle:
        for i in range(lines):
            handle.write(f"function f{i}(a, b) {{\n  return a + b * {i};\n}}\n")


def _inventory(root, **kwargs):
    kwargs.setdefault("jobs", 1)
    return build_inventory(SourceInfo(given=str(root), kind="directory", root=root), **kwargs)


def test_nonblank_lines_of_a_stream_equal_those_of_the_whole(tmp_path):
    rng = random.Random(8)
    for _ in range(500):
        data = bytes(rng.choice(b"ab \t\r\n") for _ in range(rng.randint(0, 60)))
        lines = counting.NonBlankLines()
        cuts = sorted(rng.sample(range(len(data) + 1), min(3, len(data) + 1)))
        for start, end in zip([0, *cuts], [*cuts, len(data)]):
            lines.feed(data[start:end])
        assert lines.total() == counting.physical_lines(data), data


def test_minified_rule_on_samples():
    one_line = b"var a=1;" * 200 + b"\n"                      # one 1,600-byte line
    for name, language in (("app.js", "JavaScript"), ("table.py", "Python")):
        reason = minified_asset(name, language, one_line, whole=True)[0]
        assert reason == "mean line length 1600 ≥ 250: minified or bundled"
    short = b"var a = 1;\n" * 100
    one_long = short + b"x" * 1200 + b"\n"                     # mean 22, one 1,200-char line
    assert minified_asset("app.js", "JavaScript", one_long, whole=True)[0] == (
        "a 1200-character line in a JavaScript file: minified or bundled")
    assert minified_asset("app.py", "Python", one_long, whole=True) is None   # not a web asset
    assert minified_asset("app.min.js", "JavaScript", b"var a = 1;\n", whole=True)[0] == (
        "minified/bundled asset name app.min.js")
    assert minified_asset("app.js", "JavaScript", short, whole=True) is None
    # a long line of Chinese is counted in characters, not bytes (3 bytes each in UTF-8)
    chinese = short + ("// " + "注释" * 400 + "\n").encode("utf-8")
    assert max(map(len, chinese.split(b"\n"))) >= MINIFIED_MAX_LINE
    assert minified_asset("app.js", "JavaScript", chinese, whole=True) is None
    assert minified_asset("app.js", "JavaScript", chinese.decode().encode("gb18030"),
                          whole=True) is None
    # UTF-16 text is left to the counter; an empty or blank sample is not judged
    assert minified_asset("app.js", "JavaScript", one_line.decode().encode("utf-16"),
                          whole=True) is None
    assert minified_asset("app.js", "JavaScript", b"\n \n", whole=True) is None


def test_one_line_bundle_is_recognised_before_lexing(tmp_path):
    """A one-line 3 MiB bundle (about 6 s of lexing) and a 12 MiB one, over the counting limit,
    are not given to the counter at all: no counting, their line weighed, the reason kept."""
    _one_line_js(tmp_path / "bundle.js", 3 * 1024 * 1024)
    _one_line_js(tmp_path / "big.js", 12 * 1024 * 1024)
    (tmp_path / "own.js").write_text("function own(a) {\n  return a;\n}\n")
    inventory = _inventory(tmp_path)
    entries = {e.path: e for e in inventory.entries}
    assert inventory.counted == 1                              # own.js only
    for name in ("bundle.js", "big.js"):
        entry = entries[name]
        assert (entry.lines, entry.problem, entry.kind) == (1, None, "source"), name
        assert entry.minified.startswith("mean line length"), entry.minified
        assert entry.max_line_length >= SAMPLE_BYTES - 64
    assert "in its first 1 MiB" in entries["big.js"].minified
    assert entries["own.js"].minified is None and entries["own.js"].lines == 2
    assert "is not lexed and weighs its non-blank physical lines" in inventory.counting


def test_counting_that_exceeds_the_timeout_is_killed_and_the_file_weighs_its_lines(tmp_path):
    """Ordinary code that takes longer than the per-file timeout to count (here 0.5 s against
    seconds of lexing 2 MB of JavaScript) is killed, not waited for: it weighs its non-blank
    lines; the files that shared its batch are counted again on their own; a file over the
    counting limit (read in pieces by the worker) shares one timeout for all its pieces."""
    (tmp_path / "a.py").write_text("x = 1\n")
    _normal_js(tmp_path / "slow.js", 40_000)                  # 120,000 lines, 2 MB: one batch
    (tmp_path / "z.py").write_text("y = 2\nz = 3\n")
    big = tmp_path / "sub"
    big.mkdir()
    _normal_js(big / "large.js", 100_000)                     # 5 MB, over the 4 MiB limit below
    limit = 4 * 1024 * 1024
    assert (tmp_path / "slow.js").stat().st_size < limit < (big / "large.js").stat().st_size
    inventory = _inventory(tmp_path, timeout_s=0.5, count_limit=limit)
    entries = {e.path: e for e in inventory.entries}
    assert (entries["a.py"].lines, entries["z.py"].lines) == (1, 2)
    assert entries["a.py"].problem is None and entries["z.py"].problem is None
    for name, lines in (("slow.js", 120_000), ("sub/large.js", 300_000)):
        entry = entries[name]
        assert entry.problem == "count timed out (over 0.5 s)", (name, entry.problem)
        assert entry.lines == lines, name
    assert any("2 file(s) not counted within the per-file timeout of 0.5 s" in w
               for w in inventory.warnings), inventory.warnings
    assert "at most 0.5 s" in inventory.counting
    # with time enough, the same file counts normally: 2 effective lines per function
    (big / "large.js").unlink()
    again = {e.path: e for e in _inventory(tmp_path, count_limit=limit).entries}
    assert (again["slow.js"].lines, again["slow.js"].problem) == (80_000, None)


@pytest.mark.slow
def test_a_200_mb_one_line_javascript_file_through_the_cli(tmp_path, cli):
    """The reproduction: 200 MB of JavaScript on one line, over 600 s before. With a 5 s
    timeout it is still classified (lexing would have run out of it): minified, third-party,
    one line."""
    repo = tmp_path / "repo"
    (repo / "web").mkdir(parents=True)
    (repo / "app.py").write_text(f"# Copyright (c) 2026 {OWNER}\n" + "x = 1\n" * 9)
    _one_line_js(repo / "web" / "vendor.js", 200 * 1024 * 1024)
    out = tmp_path / "origin.json"
    result = cli("origin", repo, "--owner", OWNER, "--json", out, "-q", "--no-cache", "-j", "1",
                 "--timeout", "5")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text("utf-8"))
    vendor = {f["path"]: f for f in data["files"]}["web/vendor.js"]
    assert (vendor["origin"], vendor["rule"], vendor["lines"]) == ("third_party", "minified", 1)
    assert "not lexed" in vendor["reason"] and "problem" not in vendor
    assert data["ratio"] == pytest.approx(0.9)
    assert not any("timeout" in w for w in data["warnings"]), data["warnings"]
