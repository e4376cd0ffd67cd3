"""Names and text from a delivery or a bundle reach the terminal with every control character escaped:
a carriage return, line feed, ANSI escape or bidirectional override in a file name, a project name, an
owner, tool output or a manifest entry can neither forge nor hide what verifier prints (a FAIL line
turned into an OK line), and each check stays on its own line."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.table import Table

from support import REPO_ROOT, write_tree
from support.bundle_runs import FAILING, git_delivery, indicator, real_run, spec_text
from verifier.bundle import MANIFEST, build_bundle
from verifier.cli import main
from verifier.cli.output import SafeConsole, emit, say, styled
from verifier.textsafe import printable

#: what must never reach a terminal raw (line feeds only as the line ends verifier writes)
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: a name that, printed raw, returns to the line's start, paints a green OK and reverses what follows
HOSTILE = "x\r\x1b[32mOK\x1b[0m \u202eFAIL\n"
SHOWN = "x\\r\\x1b[32mOK\\x1b[0m \\u202eFAIL\\n"


def _clean(text: str) -> str:
    found = RAW.search(text)
    assert found is None, f"raw {found.group()!r} in the terminal output: {text[max(0, found.start() - 60):found.end() + 60]!r}"
    return text


def _invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


# --------------------------------------------------------------------------- printable

@pytest.mark.parametrize("raw,shown", [
    ("\r", "\\r"), ("\n", "\\n"), ("\t", "\\t"), ("\x00", "\\x00"), ("\x07", "\\x07"), ("\x1b[2J", "\\x1b[2J"),
    ("\x7f", "\\x7f"), ("\x85", "\\x85"), ("\x9b31m", "\\x9b31m"), ("\u202e", "\\u202e"), ("\u202a", "\\u202a"),
    ("\u2066", "\\u2066"), ("\u2069", "\\u2069"), ("\u200f", "\\u200f"), ("\u2028", "\\u2028"),
    ("caf\udce9.py", "caf\\xe9.py"), ("\ud800", "\\ud800"),
])
def test_printable_shows_each_control_as_an_escape(raw, shown):
    assert printable(raw) == shown
    assert RAW.search(printable(raw)) is None


def test_printable_leaves_text_alone():
    for text in ("智能仓储调度系统 1.0.0", "Hunan Example Software Co., Ltd.", "a\\b 'quoted' [bold]", "é ü ß 😀", ""):
        assert printable(text) is text or printable(text) == text
    assert printable(Path("a/b")) == "a/b"
    assert printable("a\nb\tc\x1b", keep="\n\t") == "a\nb\tc\\x1b"


# --------------------------------------------------------------------------- the one way out

def _prints(tree: ast.AST) -> list[str]:
    """Calls in ``tree`` that would print without escaping."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "rich.console":
            found += [f"line {node.lineno}: imports rich.console.{a.name}" for a in node.names]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
        if name in ("echo", "secho") or (name == "print" and isinstance(func, ast.Name)) or name == "Console":
            found.append(f"line {node.lineno}: {owner + '.' if owner else ''}{name}()")
        if name == "write" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) \
                and func.value.attr in ("stdout", "stderr"):
            found.append(f"line {node.lineno}: sys.{func.value.attr}.write()")
        found += [f"line {node.lineno}: markup=True" for kw in node.keywords
                  if kw.arg == "markup" and isinstance(kw.value, ast.Constant) and kw.value.value]
    return found


def test_the_cli_prints_only_through_the_output_module():
    """A command that prints any other way (click.echo, print, a plain rich Console, markup) fails here."""
    offenders = {}
    for path in sorted((REPO_ROOT / "verifier" / "cli").glob("*.py")):
        if path.name == "output.py":
            continue
        found = _prints(ast.parse(path.read_text("utf-8")))
        if found:
            offenders[path.name] = found
    assert offenders == {}
    # and the engine never prints at all
    engine = [p for p in (REPO_ROOT / "verifier").rglob("*.py") if "cli" not in p.relative_to(REPO_ROOT).parts]
    assert {p.name: f for p in engine if (f := [x for x in _prints(ast.parse(p.read_text("utf-8")))
                                                if "print()" in x or "echo" in x])} == {}


def test_the_scanner_sees_each_way_of_printing():
    source = ("import click, sys\nfrom rich.console import Console\nclick.echo('x')\nprint('x')\n"
              "sys.stdout.write('x')\nConsole().print('x', markup=True)\n")
    assert len(_prints(ast.parse(source))) == 6


def test_safe_console_reads_no_markup_and_escapes_every_string():
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, width=100, color_system=None)
    table = Table(title=f"Origin of {HOSTILE}")
    table.add_column("path")
    table.add_row(f"[bold]{HOSTILE}[/bold]")
    console.print(table)
    console.print(styled(("OK", "green"), f" {HOSTILE}"))
    console.print(f"[conceal]{HOSTILE}")
    out = _clean(buffer.getvalue())
    assert out.count(SHOWN) == 4 and "[bold]" in out and "[conceal]" in out


def test_say_keeps_one_line_and_emit_escapes_only_on_a_terminal(capsys, monkeypatch):
    say(HOSTILE)
    assert capsys.readouterr().out == SHOWN + "\n"
    emit('{"name": "' + HOSTILE.replace("\n", "") + '"}\n')
    assert "\x1b" in capsys.readouterr().out  # into a pipe or file: the data as is
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    emit('{\n\t"name": "' + HOSTILE.replace("\n", "") + '"\n}\n')
    assert _clean(capsys.readouterr().out.replace("\t", " ")).startswith('{\n "name": "x\\r\\x1b[32mOK')


# --------------------------------------------------------------------------- commands

@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-bundle")
    repo = git_delivery(root / "delivery", spec_text(FAILING))
    run, _ = real_run(repo / "acceptance.yaml", root / "run")
    out = root / "b.zip"
    build_bundle(run, out)
    return out


def test_verify_shows_hostile_manifest_names_escaped_one_check_per_line(bundle, tmp_path):
    """The audited case: a manifest entry named to end a FAIL line and print a green OK line."""
    forged = tmp_path / "forged.zip"
    listed = f"run/evidence/{HOSTILE}  file hashes: 22 of 22 match the manifest"
    added = f"run/evidence/\x1b[2K\radded{HOSTILE}.txt"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(forged, "w") as dst:
        manifest = json.loads(src.read(MANIFEST))
        manifest["files"].append({"path": listed, "sha256": hashlib.sha256(b"x").hexdigest(), "size": 1})
        for info in src.infolist():
            data = json.dumps(manifest).encode() if info.filename == MANIFEST else src.read(info)
            dst.writestr(info, data)
        dst.writestr(added, b"planted")
    result = _invoke("verify", forged)
    assert result.exit_code == 1
    out = _clean(result.output)
    lines = out.splitlines()
    assert all(re.match(r"(OK  |FAIL|--  ) ", line) for line in lines[:-1]), lines
    assert lines[-1].endswith("check(s) do not hold")
    assert f"FAIL file run/evidence/{SHOWN}  file hashes: 22 of 22 match the manifest: listed in the manifest, " \
           "missing from the bundle" in lines
    assert f"FAIL file run/evidence/\\x1b[2K\\radded{SHOWN}.txt: in the bundle, not in the manifest (added)" in lines


def test_check_shows_the_project_name_and_owners_escaped(tmp_path):
    spec = tmp_path / "acceptance.yaml"
    spec.write_text(spec_text(FAILING).replace("name: 测试系统", 'name: "测试\\r\\e[32mOK\\e[0m\\u202e"')
                    .replace("applicant: 湖南示例软件有限公司", 'applicant: "A\\e[2J\\nB"'), encoding="utf-8")
    result = _invoke("check", spec)
    out = _clean(result.output)
    assert "  project:    测试\\r\\x1b[32mOK\\x1b[0m\\u202e 1.0.0 (A\\x1b[2J\\nB)" in out.splitlines()


def test_origin_shows_paths_owners_and_components_escaped(tmp_path):
    tree = tmp_path / "delivery"
    write_tree(tree, {"src/ok.py": "x = 1\n", f"src/{HOSTILE.strip()}.py": "y = 2\n",
                      "vendor/lib\x1b[35m\u202e/m.py": "z = 3\n",
                      # rich markup in a component's metadata hid it, or crashed the table (internal error)
                      "third_party/pkg/m.py": "w = 4\n",
                      "third_party/pkg/package.json": '{"name": "[conceal]hidden", "version": "1.0[/]"}',
                      "acceptance.yaml": 'project:\n  name: "P\\e[32mOK\\r"\n  version: "1.0.0"\n'
                                         '  owners: ["Me\\e[2J\\rX"]\nindicators: []\n'})
    os.symlink("/etc/passwd", tree / "src" / f"link{HOSTILE.strip()}")
    result = _invoke("origin", tree, "--no-cache", "-j", "1", "-q")
    assert result.exit_code in (0, 1), result.output
    out = _clean(result.output)
    assert "owners: Me\\x1b[2J\\rX" in out
    assert "vendor/lib\\x1b[35m\\u202e" in out
    assert "[conceal]hidden" in out and "1.0[/]" in out
    json_out = _invoke("origin", tree, "--no-cache", "-j", "1", "-q", "--json", "-")
    assert "\\u001b" in json_out.output  # the JSON data stream into a pipe: JSON's own escapes, as written


def test_run_shows_tool_output_escaped_in_progress_and_summary(tmp_path):
    noisy = indicator("S1", "security", 0, "== 0").replace(
        "'print(0)'", "'import sys; print(\"\\x1b[32mOK\\x1b[0m\\r\\u202e all good\"); sys.exit(1)'")
    spec = tmp_path / "delivery" / "acceptance.yaml"
    git_delivery(tmp_path / "delivery", spec_text([*FAILING[:3], noisy, FAILING[4]]))
    result = CliRunner().invoke(main, ["run", str(spec), "--out", str(tmp_path / "run"), "--no-cache"])
    assert result.exit_code in (1, 3), result.output
    out = _clean(result.output)
    assert "\\x1b[32mOK\\x1b[0m" in out and "error" in out


def test_error_messages_show_paths_escaped(tmp_path):
    for args in (("check", tmp_path / f"{HOSTILE}.yaml"), ("report", tmp_path / f"run{HOSTILE}"),
                 ("verify", tmp_path / f"b{HOSTILE}.zip"), ("bundle", tmp_path / f"run{HOSTILE}", "-o",
                                                           tmp_path / "b.zip")):
        result = _invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        out = _clean(result.output)
        assert "x\\r\\x1b[32mOK\\x1b[0m \\u202eFAIL\\n" in out and len(out.splitlines()) == 1, out
    hostile_dir = tmp_path / f"dir{HOSTILE}"
    hostile_dir.mkdir()
    result = _invoke("verify", hostile_dir)  # click's own usage error quotes the value
    assert result.exit_code == 2
    _clean(result.output)


def test_kb_info_shows_component_names_escaped(tmp_path):
    source = write_tree(tmp_path / "pkg", {"package.json": json.dumps({"name": f"left{HOSTILE}pad", "version": "1.0.0",
                                                                       "license": "MIT\x1b[2J"}),
                                           "index.js": "module.exports = function pad(s) { return ' ' + s; };\n" * 5})
    built = _invoke("kb", "build", source, "-o", tmp_path / "x.kb")
    assert built.exit_code == 0, built.output
    _clean(built.output)
    info = _invoke("kb", "info", tmp_path / "x.kb")
    assert info.exit_code == 0, info.output
    assert f"left{SHOWN}pad" in _clean(info.output)
