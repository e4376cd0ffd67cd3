"""Every path argument and option of every command, given a hostile path: a FIFO, a device, a
directory where a file is expected (and the reverse), a /proc file, a missing parent, an unreadable
file. Each is one line, ``verifier: error: PATH: what is wrong``, exit 2 — never a hang (a FIFO
opened for reading blocks until a writer comes), never an internal error (exit 3).

Also the default task book: an ``acceptance.yaml`` that is a symbolic link out of the directory it
is looked up in is refused; one that links to a file inside is read.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import unprivileged, write_tree

#: No case should take more than a second; a hang is what this guards against.
TIMEOUT = 60

SPEC = """\
project: {name: t, version: '1.0.0', owners: [Example Co]}
indicators:
  - {id: O1, name: r, characteristic: maintainability, probe: origin, metric: ratio, target: '>= 60%'}
"""


@dataclass(frozen=True)
class World:
    """Paths the commands need besides the hostile one, and the hostile ones themselves."""

    base: Path
    repo: Path
    spec: Path
    afile: Path
    adir: Path
    fifo: Path
    new_file: Path
    new_dir: Path


@pytest.fixture
def world(tmp_path) -> World:
    repo = write_tree(tmp_path / "repo", {"app.py": "print('hello')\n"})
    spec = tmp_path / "spec" / "acceptance.yaml"
    spec.parent.mkdir()
    spec.write_text(SPEC, "utf-8")
    afile = tmp_path / "afile"
    afile.write_text("just a file\n")
    adir = tmp_path / "adir"
    adir.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return World(tmp_path, repo, spec, afile, adir, fifo, tmp_path / "new" / "out.bin",
                 tmp_path / "new-run")


# kind -> (the hostile path, the path the error line must start with), built from the world
IN_FILE = {
    "missing": lambda w: (w.base / "nope", None),
    "missing-parent": lambda w: (w.base / "no" / "such" / "file", None),
    "directory": lambda w: (w.adir, None),
    "fifo": lambda w: (w.fifo, None),
    "link-to-fifo": lambda w: (_link(w.base / "to-fifo", w.fifo), None),
    "char-device": lambda w: (Path("/dev/zero"), None),
    "proc-file": lambda w: (Path("/proc/version"), None),
}
IN_DIR = {
    "missing": lambda w: (w.base / "nope", None),
    "file": lambda w: (w.afile, None),
    "fifo": lambda w: (w.fifo, None),
    "char-device": lambda w: (Path("/dev/zero"), None),
    "proc-dir": lambda w: (Path("/proc/self"), None),
    "link-to-file": lambda w: (_link(w.base / "to-file", w.afile), None),
}
EITHER = {  # a source tree or an archive: a file or a directory
    "missing": lambda w: (w.base / "nope", None),
    "fifo": lambda w: (w.fifo, None),
    "char-device": lambda w: (Path("/dev/zero"), None),
    "proc-dir": lambda w: (Path("/proc/self"), None),
    "proc-file": lambda w: (Path("/proc/version"), None),
}
OUT_FILE = {
    "directory": lambda w: (w.adir, None),
    "fifo": lambda w: (w.fifo, None),
    "char-device": lambda w: (Path("/dev/null"), None),
    "proc-file": lambda w: (Path("/proc/version"), None),
    "proc-new": lambda w: (Path("/proc/verifier-out"), Path("/proc")),
    "missing-parent": lambda w: (w.base / "no" / "such" / "out", w.base / "no" / "such"),
    "parent-is-file": lambda w: (w.afile / "out", w.afile),
}
OUT_DIR = {
    "file": lambda w: (w.afile, None),
    "fifo": lambda w: (w.fifo, None),
    "char-device": lambda w: (Path("/dev/null"), None),
    "proc-new": lambda w: (Path("/proc/verifier-run"), Path("/proc")),
    "parent-is-file": lambda w: (w.afile / "run", w.afile),
}
#: init writes PATH/acceptance.yaml into a directory: a directory is not hostile there
INIT = {k: v for k, v in OUT_FILE.items() if k != "directory"}
KEYGEN = {  # a prefix: PREFIX.key and PREFIX.pub are written
    "directory": lambda w: (w.adir, None),
    "key-is-fifo": lambda w: (_fifo_prefix(w.base / "agency"), w.base / "agency.key"),
    "key-is-dir": lambda w: (_dir_prefix(w.base / "agency"), w.base / "agency.key"),
    "proc-new": lambda w: (Path("/proc/verifier-key"), Path("/proc")),
    "parent-is-file": lambda w: (w.afile / "keys" / "agency", w.afile),  # a missing keys/ is made (0700)
}

H = object()  # where the hostile path goes
#: (command, argv with H, kinds)
SLOTS = [
    ("origin PATH", lambda w: ["origin", H, "--no-spec", "-q"], EITHER),
    ("origin --spec", lambda w: ["origin", w.repo, "--spec", H, "-q"], IN_FILE),
    ("origin --adjudications", lambda w: ["origin", w.repo, "--no-spec", "--adjudications", H],
     IN_FILE),
    ("origin --kb", lambda w: ["origin", w.repo, "--no-spec", "--kb", H, "-q"], IN_FILE),
    ("origin --json", lambda w: ["origin", w.repo, "--no-spec", "--json", H, "-q"], OUT_FILE),
    ("origin -o", lambda w: ["origin", w.repo, "--no-spec", "--format", "spdx", "-o", H, "-q"], OUT_FILE),
    ("origin --cache-dir", lambda w: ["origin", w.repo, "--no-spec", "--cache-dir", H], OUT_DIR),
    ("check SPEC", lambda w: ["check", H], IN_FILE),
    ("check --repo", lambda w: ["check", w.spec, "--repo", H], IN_DIR),
    ("run SPEC", lambda w: ["run", H, "--out", w.new_dir, "-q"], IN_FILE),
    ("run --repo", lambda w: ["run", w.spec, "--repo", H, "--out", w.new_dir, "-q"], IN_DIR),
    ("run --out", lambda w: ["run", w.spec, "--out", H, "-q"], OUT_DIR),
    ("run --resume", lambda w: ["run", w.spec, "--resume", H, "-q"], IN_DIR),
    ("run --cache-dir", lambda w: ["run", w.spec, "--cache-dir", H, "--out", w.new_dir, "-q"],
     OUT_DIR),
    ("report RUN_DIR", lambda w: ["report", H, "-o", w.base / "r.html"], IN_DIR),
    ("report -o", lambda w: ["report", w.adir, "-o", H], OUT_FILE),
    ("bundle RUN_DIR", lambda w: ["bundle", H, "-o", w.base / "b.zip"], IN_DIR),
    ("bundle -o", lambda w: ["bundle", w.adir, "-o", H], OUT_FILE),
    ("bundle --sign", lambda w: ["bundle", w.adir, "-o", w.base / "b.zip", "--sign", H], IN_FILE),
    ("verify BUNDLE", lambda w: ["verify", H], IN_FILE),
    ("verify --key", lambda w: ["verify", w.afile, "--key", H], IN_FILE),
    ("verify --repo", lambda w: ["verify", w.afile, "--repo", H], IN_DIR),
    ("verify --spec", lambda w: ["verify", w.afile, "--spec", H], IN_FILE),
    ("keygen -o", lambda w: ["keygen", "-o", H], KEYGEN),
    ("kb build SOURCE", lambda w: ["kb", "build", H, "-o", w.base / "k.kb"], EITHER),
    ("kb build --python-env", lambda w: ["kb", "build", "--python-env", H, "-o", w.base / "k.kb"],
     EITHER),
    ("kb build -o", lambda w: ["kb", "build", w.repo, "-o", H], OUT_FILE),
    ("kb add KB", lambda w: ["kb", "add", H, w.repo], IN_FILE),
    ("kb add SOURCE", lambda w: ["kb", "add", w.afile, H], EITHER),
    ("kb add --python-env", lambda w: ["kb", "add", w.afile, "--python-env", H], EITHER),
    ("kb build --deps", lambda w: ["kb", "build", "--deps", H, "-o", w.base / "k.kb"], IN_DIR),
    ("kb build --list", lambda w: ["kb", "build", "--list", H, "-o", w.base / "k.kb"], IN_FILE),
    ("kb add --deps", lambda w: ["kb", "add", w.afile, "--deps", H], IN_DIR),
    ("kb add --list", lambda w: ["kb", "add", w.afile, "--list", H], IN_FILE),
    ("kb info KB", lambda w: ["kb", "info", H], IN_FILE),
    ("init PATH", lambda w: ["init", H], INIT),
]
CASES = [pytest.param(argv, kinds[kind], id=f"{name} <- {kind}")
         for name, argv, kinds in SLOTS for kind in kinds]


def _link(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def _fifo_prefix(prefix: Path) -> Path:
    os.mkfifo(f"{prefix}.key")
    return prefix


def _dir_prefix(prefix: Path) -> Path:
    os.mkdir(f"{prefix}.key")
    return prefix


def _argv(template, hostile: Path) -> list[str]:
    return [str(hostile) if part is H else str(part) for part in template]


def _entries(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("argv, kind", CASES)
def test_one_line_exit_2(argv, kind, world, cli):
    hostile, named = kind(world)
    before = _entries(world.base)
    result = cli(*_argv(argv(world), hostile))
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"verifier: error: {named or hostile}: "), lines[0]
    assert result.stdout == ""
    assert _entries(world.base) == before  # nothing made: no run directory, no key, no report


def test_every_path_parameter_is_checked():
    """Closing the class: a path parameter of any command (a new one included) is one of the checked
    types of ``verifier.cli.params``, or is checked in its command's body (listed here)."""
    import click

    from verifier.cli import main
    from verifier.cli.params import _CheckedPath

    checked_in_body = {("keygen", "prefix"), ("init", "path")}
    ctx = click.Context(main)
    seen = []

    def walk(group, words):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            if isinstance(command, click.Group):
                walk(command, (*words, name))
                continue
            for param in command.params:
                kind = param.type
                if isinstance(kind, (click.Path, click.File)):
                    assert (" ".join((*words, name)), param.name) in checked_in_body, (name, param.name)
                if isinstance(kind, _CheckedPath):
                    seen.append((" ".join((*words, name)), param.name))
    walk(main, ())
    slotted = {name for name, _, _ in SLOTS}
    assert len(seen) + len(checked_in_body) == len(SLOTS), sorted(seen)
    for command, param in seen:
        assert any(slot.startswith(command + " ") for slot in slotted), (command, param)


# -- the issue's reproductions, through the installed command --------------------------------------

def _verifier(*args: object, cwd: Path | None = None, prefix: tuple[str, ...] = ()
              ) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "verifier", *map(str, args)],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd,
                          stdin=subprocess.DEVNULL)


@pytest.mark.timeout(TIMEOUT * 2)
@pytest.mark.parametrize("args, named", [
    (["check", "{fifo}"], "{fifo}"),                      # hung
    (["check", "/dev/zero"], "/dev/zero"),                # internal error, exit 3
    (["report", "{adir}", "-o", "/proc/version"], "/proc/version"),  # internal error, exit 3
    (["verify", "{adir}"], "{adir}"),                     # four-line usage error
], ids=["check FIFO", "check /dev/zero", "report -o /proc/version", "verify DIR"])
def test_issue_reproductions(args, named, world):
    fill = {"fifo": world.fifo, "adir": world.adir}
    done = _verifier(*(a.format(**fill) for a in args))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"verifier: error: {named.format(**fill)}: "), done.stderr


# -- unreadable and unwritable: root reads everything, so drop its override capabilities -----------

@pytest.mark.timeout(TIMEOUT * 2)
@pytest.mark.parametrize("args, named", [
    (["check", "{locked_file}"], "{locked_file}"),
    (["check", "{spec}", "--repo", "{locked_dir}"], "{locked_dir}"),
    (["origin", "{repo}", "--no-spec", "--adjudications", "{locked_file}"], "{locked_file}"),
    (["verify", "{afile}", "--key", "{locked_file}"], "{locked_file}"),
    (["kb", "info", "{locked_file}"], "{locked_file}"),
    (["report", "{locked_dir}"], "{locked_dir}"),
    (["report", "{adir}", "-o", "{readonly_dir}/r.html"], "{readonly_dir}"),
    (["init", "{readonly_dir}/acceptance.yaml"], "{readonly_dir}"),
    (["run", "{spec}", "--out", "{readonly_dir}/run"], "{readonly_dir}"),
    (["keygen", "-o", "{readonly_dir}/agency"], "{readonly_dir}"),
], ids=["check SPEC", "check --repo", "origin --adjudications", "verify --key", "kb info",
        "report RUN_DIR", "report -o", "init", "run --out", "keygen -o"])
def test_unreadable_and_unwritable(args, named, world):
    prefix = tuple(unprivileged([]))
    locked_file = world.base / "locked.yaml"
    locked_file.write_text(SPEC)
    locked_file.chmod(0)
    locked_dir = world.base / "locked-dir"
    locked_dir.mkdir(mode=0)
    readonly_dir = world.base / "readonly"
    readonly_dir.mkdir(mode=0o555)
    fill = {"locked_file": locked_file, "locked_dir": locked_dir, "readonly_dir": readonly_dir,
            "spec": world.spec, "repo": world.repo, "afile": world.afile, "adir": world.adir}
    try:
        done = _verifier(*(a.format(**fill) for a in args), prefix=prefix)
    finally:
        locked_dir.chmod(0o755)
        readonly_dir.chmod(0o755)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"verifier: error: {named.format(**fill)}: "), done.stderr
    assert list(readonly_dir.iterdir()) == []


# -- the default acceptance.yaml -------------------------------------------------------------------

@pytest.fixture
def outside_spec(tmp_path) -> Path:
    target = tmp_path / "elsewhere" / "secret.yaml"
    target.parent.mkdir()
    target.write_text(SPEC, "utf-8")
    return target


@pytest.mark.parametrize("command", ["origin", "check", "run"])
@pytest.mark.parametrize("kind", ["link-out", "broken-link-out", "link-loop"])
def test_default_spec_linking_out_is_refused(command, kind, tmp_path, outside_spec, cli,
                                             monkeypatch):
    repo = write_tree(tmp_path / "repo", {"app.py": "print('hello')\n"})
    default = repo / "acceptance.yaml"
    if kind == "link-out":
        default.symlink_to(outside_spec)
    elif kind == "broken-link-out":
        default.symlink_to(tmp_path / "elsewhere" / "gone.yaml")
    else:
        default.symlink_to(repo / "loop.yaml")
        (repo / "loop.yaml").symlink_to(default)
    monkeypatch.chdir(repo)  # check and run look for ./acceptance.yaml
    argv = {"origin": ["origin", repo, "-q"], "check": ["check"],
            "run": ["run", "--out", tmp_path / "run", "-q"]}[command]
    result = cli(*argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    shown = default if command == "origin" else Path("acceptance.yaml")
    assert lines[0].startswith(f"verifier: error: {shown}: "), lines[0]
    if kind != "link-loop":
        assert "a symbolic link out of" in lines[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["origin", "check", "run"])
def test_default_spec_linking_inside_is_read(command, tmp_path, cli, monkeypatch):
    """A link to a file inside is followed: the spec it leads to is read (here one with a typo,
    so the command stops at once on what only that file holds)."""
    repo = write_tree(tmp_path / "repo", {"app.py": "print('hello')\n",
                                          "docs/task-book.yaml": SPEC.replace("project:", "projekt:")})
    (repo / "acceptance.yaml").symlink_to(Path("docs") / "task-book.yaml")
    monkeypatch.chdir(repo)
    argv = {"origin": ["origin", repo, "-q"], "check": ["check"],
            "run": ["run", "--out", tmp_path / "run", "-q"]}[command]
    result = cli(*argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "project: required field missing" in lines[0], result.stderr


def test_default_spec_that_is_a_fifo_is_refused_not_skipped(tmp_path, cli):
    """origin used to skip an acceptance.yaml that is not a regular file, scanning without the
    owners and thresholds the delivery declared."""
    repo = write_tree(tmp_path / "repo", {"app.py": "print('hello')\n"})
    os.mkfifo(repo / "acceptance.yaml")
    result = cli("origin", repo, "-q")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"verifier: error: {repo / 'acceptance.yaml'}: is a FIFO (named pipe), not a spec file"]


# -- usage errors are one line too -----------------------------------------------------------------

@pytest.mark.parametrize("argv", [["verify"], ["check", "--no-such-option"], ["kb", "info"],
                                  ["run", "--resume", ".", "--out", "x"], ["report", ".", "--lang", "fr"],
                                  ["no-such-command"]])
def test_usage_errors_are_one_line(argv, cli):
    result = cli(*argv)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("verifier: error: "), result.stderr
    assert "--help" in lines[0]


# -- files inside a directory given as an option ---------------------------------------------------

@pytest.mark.timeout(TIMEOUT)
def test_result_cache_that_is_a_fifo(world, cli):
    cache = world.base / "cache"
    cache.mkdir()
    os.mkfifo(cache / "cache.sqlite3")
    result = cli("origin", world.repo, "--no-spec", "-q", "--cache-dir", cache)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"verifier: error: {cache / 'cache.sqlite3'}: is a FIFO (named pipe), not a result cache"]


@pytest.mark.timeout(TIMEOUT)
@pytest.mark.parametrize("with_spec", [False, True])
def test_resumed_run_record_that_is_a_fifo(with_spec, world, cli):
    run_dir = world.base / "run"
    run_dir.mkdir()
    os.mkfifo(run_dir / "run.json")
    result = cli("run", *([world.spec] if with_spec else []), "--resume", run_dir, "-q")
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "run.json: is a FIFO (named pipe)" in lines[0], result.stderr
    assert lines[0].startswith(f"verifier: error: {run_dir if not with_spec else run_dir.resolve()}: ")
