"""The one glob matcher: today's semantics (README, spec, origin, probes, materials), answers equal
to a plain backtracking translation on every small case, and no pattern that makes it slow."""

from __future__ import annotations

import fnmatch
import itertools
import random
import re

import pytest

from verifier.globs import compile_glob, glob_covers, glob_match, name_match, translate_name


def _reference(pattern: str) -> re.Pattern[str] | None:
    """The obvious backtracking translation, written independently (exponential on hostile
    patterns, fine on the short ones here): each name followed by '/', matched against
    path + '/'."""
    out = []
    names = [n for n in pattern.split("/") if n not in ("", ".")]
    if not names:
        return None
    for name in names:
        if set(name) == {"*"} and len(name) >= 2:
            out.append("(?:[^/]*/)*")
            continue
        i = 0
        while i < len(name):
            if name[i] == "*":
                j = i
                while j < len(name) and name[j] == "*":
                    j += 1
                out.append(".*" if j - i >= 2 else "[^/]*")
                i = j
            elif name[i] == "?":
                out.append("[^/]")
                i += 1
            elif name[i] == "[" and "]" in name[i + 2:]:
                end = name.index("]", i + 2)
                body = name[i + 1:end]
                out.append(f"[^{body[1:]}/]" if body[0] in "!^" else f"(?!/)[{body}]")
                i = end + 1
            else:
                out.append(re.escape(name[i]))
                i += 1
        out.append("/")
    return re.compile("".join(out), re.DOTALL)


_PIECES = ["a", "b", "*", "**", "?", "[ab]", "[!a]", "/", "**/", "/**", "/**/"]


def _random_cases(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        pattern = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6)))
        path = "/".join("".join(rng.choice("ab") for _ in range(rng.randint(1, 3)))
                        for _ in range(rng.randint(1, 4)))
        yield pattern, path


def test_matches_like_the_backtracking_translation_on_thousands_of_small_cases():
    checked = 0
    for pattern, path in itertools.chain(_random_cases(6000, 1), _random_cases(6000, 2)):
        reference = _reference(pattern)
        glob = compile_glob(pattern)
        want_match = reference is not None and reference.fullmatch(path + "/") is not None
        want_cover = reference is not None and reference.match(path + "/") is not None
        assert glob.match(path) is want_match, (pattern, path)
        assert glob.covers(path) is want_cover, (pattern, path)
        checked += want_match + want_cover
    assert checked > 1000  # the cases are not all misses


@pytest.mark.parametrize("path, pattern, match, covers", [
    ("docs/a/b.md", "docs/**", True, True), ("src/docs/x", "docs/**", False, False),
    ("docs", "docs/**", True, True),                       # ** is any number of names, none too
    ("web/static/lib/x.min.js", "web/static/lib/**", True, True),
    ("a/b/c.py", "**/c.py", True, True), ("c.py", "**/c.py", True, True),
    ("a/x.min.js", "*.min.js", False, False), ("x.min.js", "*.min.js", True, True),
    ("vendor/foo/bar.py", "vendor", False, True), ("vendorx/a", "vendor", False, False),
    ("src/a1.py", "src/a[0-9].py", True, True), ("src/ab.py", "src/a?.py", True, True),
    ("app/ab.py", "app/a[!b].py", False, False), ("app/ac.py", "app/a[^b].py", True, True),
    ("tests/sub/test_a.py", "tests/*.py", False, False),  # * stays inside one name
    ("tests/test_a.py", "tests/**/*.py", True, True),
    ("a/b/c.py", "**.py", True, True), ("a/b/c.py", "a**.py", True, True),  # ** in a name crosses
    ("src/a.py", "./src//a.py", True, True), ("src/a.py", "src/", False, True),
    ("a[b", "a[b", True, True), ("a]", "[]]", False, False), ("]", "[]]", True, True),
    ("a/b", "a[/]b", False, False),                       # a set never holds '/'
    ("src/zz", "src/[z-a]z", False, False),               # a reversed range is empty
    ("x", ".", False, False), ("x", "", False, False),
])
def test_documented_semantics(path, pattern, match, covers):
    assert glob_match(path, pattern) is match
    assert glob_covers(path, pattern) is covers


def test_hostile_patterns_match_in_linear_time():
    """Each of these took seconds to forever as a backtracking regex (8 stars against an 80-
    character name: 179 s through `verifier origin`); here they are answered at once (the test
    timeout guards against a return of the exponential matcher)."""
    long_name = "a" * 4000
    assert not glob_match(long_name + ".py", "*a" * 40 + "*b")
    assert glob_covers(long_name + "b/x.py", "*a" * 40 + "*b")
    deep = "/".join(["aaaa"] * 1000)
    assert not glob_match(deep, "**/" + "a*a*a*/" * 20 + "**/x")
    assert glob_match(deep, "**/" + "a*a*/**/" * 20 + "a*")
    assert not glob_match(long_name, "a**" * 40 + "b")     # ** inside a name: the automaton
    assert glob_match(long_name + "/b", "a**" * 40 + "b")
    assert not name_match("a" * 4000, "*a" * 40 + "*b")
    assert name_match("a" * 4000 + "b", "*a" * 40 + "*b")


@pytest.mark.parametrize("pattern", ["*.py", "test_*", "Makefile.*", "*.[ch]", "[!a]*", "a?c",
                                     "*[]*", "[a-", "x*y*z", "**", "*::test_*", "[!]x]"])
def test_name_globs_agree_with_fnmatch(pattern):
    rng = random.Random(pattern)
    for _ in range(400):
        text = "".join(rng.choice("abcxyz.:/_[]-!hMakefile") for _ in range(rng.randint(0, 12)))
        assert name_match(text, pattern) is fnmatch.fnmatchcase(text, pattern), (text, pattern)
    assert translate_name(pattern).endswith(r"\Z")


def test_any_pattern_compiles():
    for pattern in ("[", "[!", "[]", "[\\]", "a[b-", "\\", "(", ")", "{a,b}", "+", "\x00", "**[",
                    "[^]", "[!]]", "[a-\\]", "a/**b/**", "***", "?**?"):
        compile_glob(pattern).match("a/b")
        compile_glob(pattern).covers("a/b")
        name_match("a/b", pattern)


HOSTILE = "*a" * 12 + "*b"          # 13 stars: as a backtracking regex, forever on a long name
OWNER = "Hunan Example Software Co., Ltd."


def test_origin_and_check_with_a_hostile_glob_in_the_spec_and_options(tmp_path, cli):
    """Issue 10 item 5: a spec glob `*a*a…*b` against a long file name hung `verifier origin`
    (8 stars, an 80-character name: 179 s). Through the real CLI, the spec's origin globs, a
    dossier glob and the command-line globs are all matched at once, with the same answers."""
    import json

    long_name = "a" * 200 + ".py"
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / long_name).write_text("x = 1\ny = 2\n")
    (repo / "src" / "main.py").write_text(f"# Copyright (c) 2026 {OWNER}\nprint(1)\n")
    (repo / "docs").mkdir()
    (repo / "docs" / ("a" * 200 + ".pdf")).write_bytes(b"%PDF-1.4\n")
    (repo / "acceptance.yaml").write_text(f"""\
project: {{name: t, version: "1.0.0", applicant: a, owners: ["{OWNER}"]}}
origin:
  third_party: ["{HOSTILE}", "src/{HOSTILE}"]
  generated: ["**/{'*a' * 12}*.py"]
materials:
  test_report: "docs/{HOSTILE}"
indicators:
  - {{id: R, name: r, characteristic: maintainability, probe: origin, metric: ratio,
     target: ">= 60%"}}
""")
    checked = cli("check", repo / "acceptance.yaml", "--repo", repo)
    assert checked.exit_code == 0, checked.output
    # the hostile globs match nothing, and check says so; the generated one matches
    assert f"origin.third_party[0]: '{HOSTILE}' matches nothing" in checked.output
    assert f"origin.third_party[1]: 'src/{HOSTILE}' matches nothing" in checked.output
    assert "origin.generated" not in checked.output
    assert f"materials.test_report: 0 file(s) in {repo} match docs/{HOSTILE}" in checked.output

    out = tmp_path / "origin.json"
    result = cli("origin", repo, "--json", out, "-q", "--no-cache", "-j", "1",
                 "--exclude", "**/" + HOSTILE, "--third-party", "src/" + HOSTILE + "/**")
    assert result.exit_code == 1, result.output  # 1 own line against 2 generated
    data = json.loads(out.read_text("utf-8"))
    assert data["ratio"] == pytest.approx(1 / 3)
    files = {f["path"]: f for f in data["files"]}
    assert files[f"src/{long_name}"]["origin"] == "generated"
    assert files[f"src/{long_name}"]["rule"] == "declared"
    assert files["src/main.py"]["origin"] == "self"
