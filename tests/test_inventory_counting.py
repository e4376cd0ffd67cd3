"""Effective-line counts, kinds, encodings and test flags of real files, counted by real pygount."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier.origin.inventory import COUNT_LIMIT, build_inventory, cut_point
from verifier.origin.languages import is_test_path
from verifier.origin.model import SourceInfo

# (file name, content, language, effective lines): each count checked by hand against the rule
# "non-blank lines that are not only comments; lone brackets are blank; Python docstrings are
# comments; preprocessor lines are code".
SAMPLES = [
    ("a.py", '#!/usr/bin/env python3\n"""Module docstring."""\nimport os  # comment\n\n'
             '# only a comment\n\n\ndef f(x):\n    """Doc."""\n    y = "s"\n    return [\n'
             '        x,\n        y,\n    ]\n', "Python", 6),
    ("A.java", "package a;\n\n/**\n * Doc.\n */\npublic class A {\n    // c\n"
               "    private int x = 1; /* trailing */\n\n    public int get() {\n        return x;\n"
               "    }\n}\n", "Java", 5),
    ("m.c", '#include <stdio.h>\n/* block\n   comment */\nint main(void) {\n'
            '    printf("hi\\n"); // c\n    return 0;\n}\n', "C", 4),
    ("m.go", 'package main\n\nimport "fmt"\n\n// main prints.\nfunc main() {\n'
             '\tfmt.Println("hi")\n}\n', "Go", 4),
    ("a.js", "// c\nconst a = 1;\n/* b */\nfunction f() {\n  return `t`;\n}\n", "JavaScript", 3),
    ("a.ts", "// c\nexport interface P { name: string }\n/** doc */\n"
             "export const n: number = 2;\n", "TypeScript", 2),
    ("P.cs", '// c\nusing System;\n/// <summary>doc</summary>\nclass P {\n'
             '    static void Main() { Console.WriteLine("x"); }\n}\n', "C#", 3),
    ("k.kt", '// c\nfun main() {\n    println("x") // y\n}\n', "Kotlin", 2),
    ("i.php", '<?php\n// c\n# d\necho "x";\n/* e */\n$a = 1;\n', "PHP", 3),
    ("s.sh", "#!/bin/sh\n# c\necho hi\n\nls\n", "Bash", 2),
    ("q.sql", "-- comment\nSELECT id\nFROM t;\n/* c */\n", "Transact-SQL", 2),
    ("i.html", "<!-- c -->\n<html>\n<body><p>x</p></body>\n</html>\n", "HTML", 3),
    ("s.css", "/* c */\nbody {\n  color: red;\n}\n", "CSS", 2),
    ("c.vue", "<template>\n  <!-- c -->\n  <div>{{ msg }}</div>\n</template>\n<script>\n// c\n"
              "export default { data() { return { msg: 'x' } } }\n</script>\n", "Vue", 6),
    ("CMakeLists.txt", "# c\nproject(x)\n\nadd_executable(a a.c)\n", "CMake", 2),
    ("page.wxml", "<!-- c -->\n<view>{{x}}</view>\n", "HTML", 1),
]

# Python with Chinese comments, docstring and string: 4 effective lines in any encoding.
CHINESE_PY = ('"""库存模块。"""\n# 注释：入库登记\nimport os\n\n\ndef 入库(数量):\n'
              '    """登记入库。"""\n    提示 = "数量必须为正数"\n    return 提示\n')


def _inventory(root: Path, **kwargs):
    return build_inventory(SourceInfo(given=str(root), kind="directory", root=root), jobs=1,
                           **kwargs)


def _by_path(inventory):
    return {e.path: e for e in inventory.entries}


def test_exact_effective_lines_in_many_languages(tmp_path):
    for name, text, _, _ in SAMPLES:
        (tmp_path / name).write_text(text, encoding="utf-8")
    entries = _by_path(_inventory(tmp_path))
    got = {name: (entries[name].kind, entries[name].language, entries[name].lines)
           for name, *_ in SAMPLES}
    assert got == {name: ("source", language, lines) for name, _, language, lines in SAMPLES}
    assert all(entries[name].problem is None for name, *_ in SAMPLES)


def test_gbk_source_is_decoded_and_counted_like_utf8(tmp_path):
    (tmp_path / "gbk.py").write_bytes(CHINESE_PY.encode("gbk"))
    (tmp_path / "utf8.py").write_bytes(CHINESE_PY.encode("utf-8"))
    (tmp_path / "bom.py").write_bytes(CHINESE_PY.encode("utf-8-sig"))
    (tmp_path / "utf16.py").write_bytes(CHINESE_PY.encode("utf-16"))  # BOM, NUL bytes: still text
    entries = _by_path(_inventory(tmp_path))
    assert {n: (e.lines, e.encoding, e.kind) for n, e in entries.items()} == {
        "gbk.py": (4, "gb18030", "source"), "utf8.py": (4, "utf-8", "source"),
        "bom.py": (4, "utf-8-sig", "source"), "utf16.py": (4, "utf-16", "source")}


def test_declared_coding_is_honoured(tmp_path):
    text = "# -*- coding: big5 -*-\n# 註解\nx = '中文'\n"
    (tmp_path / "big5.py").write_bytes(text.encode("big5"))
    entry = _by_path(_inventory(tmp_path))["big5.py"]
    assert (entry.lines, entry.encoding, entry.problem) == (1, "big5", None)


def test_utf8_with_a_stray_byte_is_still_counted(tmp_path):
    # UTF-8 Chinese: its continuation bytes rule out GB18030 and cp1252
    data = ("提示 = '数量必须为正数'\n# 注释\n\n" * 200).encode("utf-8")
    (tmp_path / "stray.py").write_bytes(data[:50] + b"\xff" + data[50:])
    entry = _by_path(_inventory(tmp_path))["stray.py"]
    assert (entry.lines, entry.encoding, entry.problem) == (
        200, "utf-8 (invalid bytes replaced)", None)


def test_undecodable_source_is_reported_not_counted(tmp_path):
    (tmp_path / "bad.py").write_bytes(b"x = 1\n\x80\x81\x8d\n")  # not UTF-8, GB18030 nor cp1252
    entry = _by_path(_inventory(tmp_path))["bad.py"]
    # not counted: weighed by its 2 non-blank lines (classified unknown, never self)
    assert (entry.kind, entry.lines, entry.problem) == ("source", 2, "undecodable")
    assert entry.sha256 and entry.size == 10


def test_binary_detected_by_content_and_by_suffix(tmp_path):
    (tmp_path / "blob.c").write_bytes(b"int x;\n\x00\x01\x02binary")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "data.bin.txt").write_bytes(b"text\x00with nul")
    entries = _by_path(_inventory(tmp_path))
    assert {n: (e.kind, e.lines, e.language) for n, e in entries.items()} == {
        "blob.c": ("binary", 0, None), "logo.png": ("binary", 0, None),
        "data.bin.txt": ("binary", 0, None)}


def test_a_stray_nul_byte_does_not_take_a_source_file_out_of_the_ratio(tmp_path):
    (tmp_path / "stray.c").write_bytes(b"int a;\x00\n" + b"int b;\n" * 40)
    (tmp_path / "tool").write_bytes(b"#!/bin/sh\necho a\x00\n" + b"echo b\n" * 9)
    (tmp_path / "prog.c").write_bytes(b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"int x;\n" * 99)
    (tmp_path / "lib.py").write_bytes(b"PK\x03\x04\x14\x00" + b"x = 1\n" * 99)  # a zip
    (tmp_path / "noise.js").write_bytes(bytes(range(256)) * 4)  # mostly control bytes
    entries = _by_path(_inventory(tmp_path))
    got = {n: (e.kind, e.lines, e.problem) for n, e in entries.items()}
    assert got == {"stray.c": ("source", 41, None), "tool": ("source", 10, None),
                   "prog.c": ("binary", 0, None), "lib.py": ("binary", 0, None),
                   "noise.js": ("binary", 0, None)}


def test_big5_is_told_from_gb18030_and_gbk_stays_gb18030(tmp_path):
    (tmp_path / "tw.py").write_bytes(
        "# 版權所有 台灣某公司\n# 設定檔讀取失敗，請檢查路徑\n訊息 = '數量必須為正數'\n".encode("cp950"))
    (tmp_path / "cn.py").write_bytes(  # short GBK that Big5 also decodes: stays GB18030
        "# 注释：库存测试\n数量 = 3\n".encode("gb18030"))
    entries = _by_path(_inventory(tmp_path))
    assert (entries["tw.py"].encoding, entries["tw.py"].lines) == ("cp950", 1)
    assert (entries["cn.py"].encoding, entries["cn.py"].lines) == ("gb18030", 1)


def test_utf16_without_bom_is_text_not_binary(tmp_path):
    text = "// 注释\nint main(void)\n{\n    return 0;\n}\n"
    (tmp_path / "le.c").write_bytes(text.encode("utf-16-le"))
    (tmp_path / "be.c").write_bytes(text.encode("utf-16-be"))
    entries = _by_path(_inventory(tmp_path))
    assert {n: (e.kind, e.lines, e.encoding) for n, e in entries.items()} == {
        "le.c": ("source", 2, "utf-16-le"), "be.c": ("source", 2, "utf-16-be")}


def test_source_over_the_limit_is_counted_in_pieces_like_whole(tmp_path):
    # functions between block comments: a cut inside a comment would count comment lines
    unit = "/*\n * helper %d\n *\n * more\n */\nint f%d(int x)\n{\n    return x * %d; // c\n}\n\n"
    text = "".join(unit % (i, i, i) for i in range(6000))
    (tmp_path / "big.c").write_text(text)
    (tmp_path / "small.py").write_bytes(b"x = 1\n" * 3)
    whole = _by_path(_inventory(tmp_path))["big.c"]
    assert whole.problem is None and whole.lines == 6000 * 2  # int f(int x) and return; not { or }
    limit = 64 * 1024
    assert whole.size > 4 * limit
    pieces = _inventory(tmp_path, count_limit=limit)
    entries = _by_path(pieces)
    big = entries["big.c"]
    assert (big.lines, big.problem, big.language, big.sha256) == (
        whole.lines, None, "C", whole.sha256)
    assert entries["small.py"].lines == 3
    assert "over 0.0625 MiB are counted in pieces" in pieces.counting
    assert "COUNT" not in pieces.counting and COUNT_LIMIT == 8 * 1024 * 1024


def test_cut_point_prefers_a_blank_line_before_a_definition():
    block = b"int a;\n\n/*\n * x\n\n * y\n */\n\nint b;\n   indented\n"
    cut = cut_point(block)
    assert block[cut:].startswith(b"int b;")
    block = b"int f() {\n  return 0;\n  return 1;\n  return 2;\n}\n/*\n * x\n */\n  z\n"
    assert block[cut_point(block):].startswith(b"/*")  # after a column-0 closing brace
    assert cut_point(b"x" * 20 + b"\nab\ncd") == 24  # no blank line: after the last line break
    assert cut_point(b"x" * 50) == 50  # no line break at all


def test_large_utf16_source_weighs_its_nonblank_lines(tmp_path):
    text = "int x;\n\n// c\n" * 2000
    (tmp_path / "wide.c").write_bytes(text.encode("utf-16"))
    entry = _by_path(_inventory(tmp_path, count_limit=4096))["wide.c"]
    assert entry.lines == 4000 and entry.problem.startswith("too large to count (utf-16")


def test_docs_data_and_other_files_are_inventoried_not_counted(tmp_path):
    files = {"README.md": "# Title\ntext\n", "LICENSE": "MIT License\n", "notes.txt": "hello\n",
             "config.json": '{"a": 1}\n', "app.yaml": "a: 1\n", "pom.xml": "<project/>\n",
             "table.csv": "a,b\n1,2\n", "pyproject.toml": "[project]\nname='x'\n",
             "setup.cfg": "[metadata]\n", "yarn.lock": "x\n", "go.mod": "module x\n",
             "package-lock.json": "{}\n", "requirements.txt": "click\n", "icon.svg": "<svg/>\n",
             "manual.pdf": "%PDF-1.4\n", "spec.docx": "PK\n", "Makefile": "all:\n\techo hi\n",
             ".gitignore": "*.pyc\n", "VERSION": "1.0\n", "LICENSE-MIT": "MIT\n",
             "COPYING.LESSER": "LGPL\n", "license.py": "LICENSE = 'MIT'\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.7\n\x00\x01binary stream\n")
    entries = _by_path(_inventory(tmp_path))
    kinds = {n: e.kind for n, e in entries.items()}
    assert kinds.pop("report.pdf") == "doc"  # binary content, still a document
    assert kinds == {
        "README.md": "doc", "LICENSE": "doc", "notes.txt": "doc", "config.json": "data",
        "app.yaml": "data", "pom.xml": "data", "table.csv": "data", "pyproject.toml": "data",
        "setup.cfg": "data", "yarn.lock": "data", "go.mod": "data", "package-lock.json": "data",
        "requirements.txt": "data", "icon.svg": "data", "manual.pdf": "doc", "spec.docx": "doc",
        "Makefile": "source", ".gitignore": "data", "VERSION": "other", "LICENSE-MIT": "doc",
        "COPYING.LESSER": "doc", "license.py": "source"}
    assert all(e.lines == 0 for n, e in entries.items() if n not in ("Makefile", "license.py"))
    assert (entries["Makefile"].lines, entries["license.py"].lines) == (2, 1)


def test_script_without_suffix_is_counted_by_its_shebang(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_text("#!/usr/bin/env python3\n# c\nprint(1)\n")
    (tmp_path / "bin" / "run").write_text("#!/bin/bash\nset -e\necho ok\n")
    entries = _by_path(_inventory(tmp_path))
    assert (entries["bin/tool"].kind, entries["bin/tool"].language, entries["bin/tool"].lines) == (
        "source", "Python", 1)
    assert (entries["bin/run"].language, entries["bin/run"].lines) == ("Bash", 2)


def test_empty_source_file_counts_zero_without_problem(tmp_path):
    (tmp_path / "__init__.py").write_bytes(b"")
    entry = _by_path(_inventory(tmp_path))["__init__.py"]
    assert (entry.kind, entry.lines, entry.problem, entry.size) == ("source", 0, None, 0)
    assert entry.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_long_line_length_is_reported(tmp_path):
    (tmp_path / "app.min.js").write_text("var a=1;" * 500 + "\n")
    entry = _by_path(_inventory(tmp_path))["app.min.js"]
    assert entry.max_line_length == 4000 and entry.lines == 1


@pytest.mark.parametrize("path, expected", [
    ("tests/test_api.py", True), ("src/test/java/a/AppTest.java", True), ("pkg/test_x.py", True),
    ("pkg/x_test.py", True), ("conftest.py", True), ("cmd/server_test.go", True),
    ("src/main/java/a/UserServiceTest.java", True), ("Api.Tests/FooTests.cs", True),
    ("web/src/a.spec.ts", True), ("web/src/b.test.js", True), ("web/__tests__/c.js", True),
    ("spec/models/user_spec.rb", True), ("e2e/login.cy.ts", True),
    # Django's and unittest's habits: a module of tests named tests.py or test.py (issue 13)
    ("notes/tests.py", True), ("test.py", True), ("app/conftest.py", True),
    ("src/latest/x.py", False), ("src/mytests.py", False), ("src/attest.py", False), ("src/contest.py", False), ("src/testing_utils.py", False),
    ("src/main/java/a/Tester.java", False), ("attestation/a.go", False), ("protest.js", False),
])
def test_test_rule(path, expected):
    assert is_test_path(path) is expected


def test_test_flag_and_rule_in_inventory(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("assert True\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    inventory = _inventory(tmp_path)
    flags = {e.path: e.is_test for e in inventory.entries}
    assert flags == {"tests/test_a.py": True, "app.py": False}
    assert "test_*.py" in inventory.test_rule and "pygount" in inventory.counting


def test_counts_match_the_plain_pygount_cli(tmp_path):
    """Cross-check: the same files through the pygount command line give the same line counts."""
    import json
    import subprocess
    import sys

    tree = tmp_path / "tree"
    tree.mkdir()
    for name, text, _, _ in SAMPLES:
        if name not in ("page.wxml", "CMakeLists.txt"):  # aliases of ours that pygount lacks
            (tree / name).write_text(text, encoding="utf-8")
    out = tmp_path / "pygount.json"
    subprocess.run([str(Path(sys.executable).with_name("pygount")), "--format=json", f"--out={out}",
                    "--duplicates", "--generated=[regex](?!x)x", "--merge-embedded-languages",
                    str(tree)], check=True, timeout=120, capture_output=True)
    plain = {Path(f["path"]).name: f["sourceCount"] for f in json.loads(out.read_text())["files"]}
    ours = {e.path: e.lines for e in _inventory(tree).entries}
    assert ours == plain and len(ours) == len(SAMPLES) - 2


def test_a_pool_that_stops_answering_is_replaced_and_counting_goes_on(monkeypatch):
    """Regression: when the pool stopped answering while more work was being scheduled, the counter
    gave it up (pool = None) and then scheduled on None, an internal error; now it starts a new pool.
    Three tasks the pool never answers (futures nobody completes) fill the queue; the fourth is
    counted by a fresh, real pool."""
    import concurrent.futures as cf

    from verifier.origin import inventory

    # the counter gives a silent pool timeout_s + _POOL_GRACE_S: 0.2 s here, while each count may take 5 s
    monkeypatch.setattr(inventory, "_POOL_GRACE_S", -4.8)
    counter = inventory._Counter(1, inventory.open_cache(None), lambda n: None, timeout_s=5.0)
    try:
        counter.pool = inventory._pool(1)
        stuck = [inventory._File(rel=f"stuck{i}.py", abspath=f"/nonexistent/stuck{i}.py", key=f"k{i}")
                 for i in range(3)]
        for file in stuck:
            counter.running[cf.Future()] = inventory._Task(batch=[(file, "x.py", b"x = 1\n")])
        fresh = inventory._File(rel="fresh.py", abspath="/nonexistent/fresh.py", key="k-fresh")
        counter._schedule(inventory._Task(batch=[(fresh, "fresh.py", b"a = 1\nb = 2\n")]))
        monkeypatch.setattr(inventory, "_POOL_GRACE_S", 60.0)  # the new pool answers: give it time
        counter.finish()
    finally:
        counter.close()
    assert all("worker pool stopped answering" in f.result["problem"] for f in stuck)
    assert fresh.result is not None and fresh.result["problem"] is None and fresh.result["lines"] == 2
    assert any("stopped answering" in w for w in counter.warnings)
