"""A delivered repository's git configuration never runs anything (issue 10, items 1 and 2).

Every key git reads a command from is set to a command that leaves a trace file, in the top
repository and in a checked-out submodule (``sub/.git`` a directory, and ``.git/modules/sub``),
the deliveries are copied with tar as an applicant would ship them, and ``verifier origin``, ``run``,
``bundle`` and ``verify --repo`` (and the library functions under them) run on the copies: no trace
may appear and the recorded state must still be right. Controls run plain git on the same copies
and show the traps are armed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from support import REPO_ROOT, write_tree
from support.bundle_runs import PASSING, spec_text
from support.git_repos import plain_git, plain_out, tar_copy
from verifier.cli import main
from verifier.git import read_state
from verifier.repository import repo_identity
from verifier.source import open_source

OWNER = "Hunan Example Software Co., Ltd."  # the owner spec_text declares
OWN = f"# Copyright (c) 2026 {OWNER}\ndef add(a, b):\n    return a + b\n"
#: five indicators that meet their targets (the command probe) and the origin ratio
SPEC = spec_text([*PASSING, "  - {id: O1, name: r, characteristic: maintainability, probe: origin, "
                            "metric: ratio, target: '>= 60%'}"])
#: every hook git knows (githooks(5)): in .git/hooks and in the directory core.hooksPath names
HOOKS = ("applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
         "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge",
         "pre-push", "pre-receive", "update", "proc-receive", "post-receive", "post-update",
         "reference-transaction", "push-to-checkout", "pre-auto-gc", "post-rewrite",
         "sendemail-validate", "fsmonitor-watchman", "p4-changelist", "p4-prepare-changelist",
         "p4-post-changelist", "p4-pre-submit", "post-index-change")
#: the config keys whose value git runs as a command: section, subsection, key
COMMAND_KEYS = [
    ("core", None, "fsmonitor"), ("core", None, "sshCommand"), ("core", None, "gitProxy"),
    ("core", None, "pager"), ("core", None, "editor"), ("core", None, "askPass"),
    ("sequence", None, "editor"), ("pager", None, "status"), ("pager", None, "diff"),
    ("filter", "x=y", "clean"), ("filter", "x=y", "smudge"), ("filter", "p=q", "process"),
    ("filter", "evil", "clean"), ("filter", "evil", "smudge"), ("filter", "proc", "process"),
    ("diff", None, "external"), ("diff", "evil", "textconv"), ("diff", "evil", "command"),
    ("merge", "evil", "driver"), ("credential", None, "helper"), ("gpg", None, "program"),
    ("gpg", "ssh", "program"), ("uploadpack", None, "packObjectsHook"),
    ("core", None, "alternateRefsCommand"),
]
ATTRIBUTES = ("*.py filter=x=y diff=evil merge=evil\n*.txt filter=evil diff=evil merge=evil\n"
              "*.md filter=proc\n*.sh filter=p=q\n*.cfg filter=incl\n*.ini filter=inclif\n")


def _name(tag: str, what: str) -> str:
    return f"{tag}--{what}"


def _arm(gitdir: Path, tag: str, traces: Path, outside: Path, hooks_path: bool) -> None:
    """Append a hostile config to ``gitdir/config``: every command key, include.path, includeIf,
    and (``hooks_path``) core.hooksPath; and every hook in ``gitdir/hooks`` (the ones git runs
    without core.hooksPath). Each leaves ``traces/TAG--WHAT``."""
    def trap(what: str) -> str:
        return f"touch '{traces / _name(tag, what)}'"

    for directory, what in ((gitdir / "hooks", "hooks"), (outside / f"hooks-{tag}", "core.hooksPath")):
        directory.mkdir(parents=True, exist_ok=True)
        for hook in HOOKS:
            script = directory / hook
            script.write_text(f"#!/bin/sh\n{trap(f'{what}.{hook}')}\n")
            script.chmod(0o755)
    included, included_if = outside / f"include-{tag}.cfg", outside / f"includeif-{tag}.cfg"
    included.write_text(f'[filter "incl"]\n\tclean = "{trap("include.path")}"\n')
    included_if.write_text(f'[filter "inclif"]\n\tclean = "{trap("includeIf.path")}"\n')
    lines = []
    for section, sub, key in COMMAND_KEYS:
        head = f'[{section} "{sub}"]' if sub else f"[{section}]"
        what = f"{section}.{sub}.{key}" if sub else f"{section}.{key}"
        value = trap(what)
        if (section, key) == ("credential", "helper"):
            value = "!" + value
        lines += [head, f'\t{key} = "{value}"']
    if hooks_path:
        lines += ["[core]", f'\thooksPath = "{outside / f"hooks-{tag}"}"']
    lines += ["[log]", "\tshowSignature = true",
              "[include]", f'\tpath = "{included}"', '[includeIf "gitdir:/"]', f'\tpath = "{included_if}"',
              '[remote "origin"]', "\turl = ssh://example.invalid/x.git"]
    with open(gitdir / "config", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _delivery(base: Path, layout: str, home: Path) -> tuple[Path, str]:
    """A committed repository with a checked-out submodule ``sub`` (``layout``: ``dir`` for
    ``sub/.git`` a directory, ``modules`` for ``.git/modules/sub``); its top and commit."""
    files = {"stock/core.py": OWN, "notes.txt": "notes\n", "README.md": "# d\n", "settings.cfg": "a=1\n",
             "setup.ini": "[a]\n", "run.sh": "echo\n", ".gitattributes": ATTRIBUTES}
    subsrc = write_tree(base / "subsrc", {k.replace("stock/", "lib/"): v for k, v in files.items()})
    plain_git(subsrc, "init", "-q", home=home)
    plain_git(subsrc, "add", ".", home=home)
    plain_git(subsrc, "commit", "-q", "-m", "sub", home=home)
    top = write_tree(base / "repo", {**files, "acceptance.yaml": SPEC, ".gitignore": ".venv/\n"})
    plain_git(top, "init", "-q", home=home)
    if layout == "modules":
        plain_git(top, "submodule", "add", "-q", str(subsrc), "sub", home=home)
        assert (top / "sub" / ".git").is_file()
    else:
        plain_git(top, "clone", "-q", str(subsrc), "sub", home=home)
        (top / ".gitmodules").write_text(f'[submodule "sub"]\n\tpath = sub\n\turl = {subsrc}\n')
        assert (top / "sub" / ".git").is_dir()
    plain_git(top, "add", ".", home=home)
    plain_git(top, "commit", "-q", "-m", "delivery", home=home)
    return top, plain_out(top, "rev-parse", "HEAD", home=home)


@pytest.fixture(params=["dir", "modules"])
def hostile(request, tmp_path: Path) -> dict:
    """A delivery whose top repository and submodule are both armed, copied with tar."""
    home = tmp_path / "home"
    home.mkdir()
    traces = tmp_path / "traces"
    traces.mkdir()
    top, commit = _delivery(tmp_path / "build", request.param, home)
    outside = tmp_path / "outside"
    # hooks through core.hooksPath at the top and .git/hooks in the submodule, or the other way round
    hooks_path = request.param == "dir"
    _arm(top / ".git", "top", traces, outside, hooks_path=hooks_path)
    sub_gitdir = top / ".git" / "modules" / "sub" if request.param == "modules" else top / "sub" / ".git"
    _arm(sub_gitdir, "sub", traces, outside, hooks_path=not hooks_path)
    copy = tar_copy(top, tmp_path / "copy")
    return {"copy": copy, "commit": commit, "traces": traces, "home": home, "hooks_path": hooks_path,
            "sub_commit": plain_out(top / "sub", "rev-parse", "HEAD", home=home)}


def _traces(traces: Path) -> list[str]:
    return sorted(os.listdir(traces))


def test_verifier_runs_nothing_the_delivery_configures(hostile, tmp_path: Path) -> None:
    copy, traces, commit = hostile["copy"], hostile["traces"], hostile["commit"]
    # the library functions every command goes through
    state = read_state(copy, ignored=True)
    assert (state.commit, state.dirty, state.subpath) == (commit, False, ".")
    assert {e.path for e in state.tracked} >= {b"stock/core.py", b"sub", b".gitattributes"}
    assert [e.mode for e in state.tracked if e.path == b"sub"] == ["160000"]
    sub_state = read_state(copy / "sub")
    assert (sub_state.commit, sub_state.dirty) == (hostile["sub_commit"], False)
    ident = repo_identity(copy)
    assert (ident.commit, ident.dirty, ident.tree_hash_mode) == (commit, False, "git-tracked")
    with open_source(copy) as source:
        assert (source.kind, source.commit, source.dirty) == ("git", commit, False)
    assert _traces(traces) == []

    # the four commands, through the CLI
    runner = CliRunner()
    out = tmp_path / "origin.json"
    origin = runner.invoke(main, ["origin", str(copy), "--no-spec", "--owner", OWNER, "--no-cache", "-q",
                                  "--json", str(out)], catch_exceptions=False)
    assert origin.exit_code == 0, origin.output
    assert json.loads(out.read_text("utf-8"))["source"] == {
        "given": str(copy), "kind": "git", "commit": commit, "dirty": False, "archive_sha256": None}
    run = tmp_path / "run"
    ran = runner.invoke(main, ["run", str(copy / "acceptance.yaml"), "--out", str(run), "--quiet", "--no-cache"],
                        catch_exceptions=False)
    assert ran.exit_code == 0, ran.output
    results = json.loads((run / "results.json").read_text("utf-8"))
    assert results["repository"]["commit"] == commit
    assert (results["repository"]["dirty"], results["repository"]["tree_hash_mode"]) == (False, "git-tracked")
    assert results["verdict"] == "pass"
    bundle = tmp_path / "b.zip"
    bundled = runner.invoke(main, ["bundle", str(run), "-o", str(bundle)], catch_exceptions=False)
    assert bundled.exit_code == 0, bundled.output
    verified = runner.invoke(main, ["verify", str(bundle), "--repo", str(copy)], catch_exceptions=False)
    assert verified.exit_code == 0, verified.output
    assert f"is at {commit}, as recorded" in verified.output
    assert _traces(traces) == []

    # changed content, in the submodule and then at the top: dirty, still nothing run
    (copy / "sub" / "lib" / "core.py").write_text(OWN + "# changed\n")
    assert read_state(copy).dirty is True and read_state(copy / "sub").dirty is True
    assert repo_identity(copy).dirty is True
    (copy / "sub" / "lib" / "core.py").write_text(OWN)
    assert read_state(copy).dirty is False
    (copy / "notes.txt").write_text("changed\n")
    assert read_state(copy).dirty is True
    assert _traces(traces) == []


def test_the_traps_are_armed(hostile, tmp_path: Path) -> None:
    """Control: plain git in the same copy runs the delivery's commands (what verifier used to do)."""
    copy, traces, home = hostile["copy"], hostile["traces"], hostile["home"]
    def no_process(*names: str) -> dict[str, str]:  # a process filter that fails stops git status
        env = {"GIT_CONFIG_COUNT": str(len(names))}
        for i, name in enumerate(names):
            env |= {f"GIT_CONFIG_KEY_{i}": f"filter.{name}.process", f"GIT_CONFIG_VALUE_{i}": ""}
        return env

    plain_git(copy, "status", home=home, check=False)
    assert set(_traces(traces)) >= {"top--filter.proc.process", "top--core.fsmonitor"}
    plain_git(copy, "status", home=home, check=False, env_extra=no_process("proc"))
    assert "top--filter.p=q.process" in _traces(traces)
    plain_git(copy, "status", "--ignore-submodules=none", home=home, check=False,
               env_extra=no_process("proc", "p=q"))
    fired = set(_traces(traces))
    assert {"top--filter.x=y.clean", "top--include.path", "top--includeIf.path", "top--core.fsmonitor",
            "sub--filter.x=y.clean", "sub--core.fsmonitor"} <= fired, fired
    env = no_process("proc", "p=q")
    plain_git(copy, "log", "-p", "--textconv", "-1", "--", "notes.txt", home=home, check=False, env_extra=env)
    plain_git(copy, "fetch", "-q", "origin", home=home, check=False, env_extra=env)
    plain_git(copy, "commit", "-q", "--allow-empty", "-m", "x", home=home, check=False, env_extra=env)
    plain_git(copy / "sub", "commit", "-q", "--allow-empty", "-m", "x", home=home, check=False, env_extra=env)
    fired = set(_traces(traces))
    top_hooks, sub_hooks = ("core.hooksPath", "hooks") if hostile["hooks_path"] else ("hooks", "core.hooksPath")
    assert {"top--diff.evil.textconv", "top--core.sshCommand", f"top--{top_hooks}.pre-commit",
            f"sub--{sub_hooks}.pre-commit"} <= fired, fired


@pytest.mark.parametrize("layout", ["dir", "modules"])
def test_issue_reproduction_filter_named_with_equals_and_submodule_filter(layout: str, tmp_path: Path) -> None:
    """Items 1 and 2 as filed: `* filter=x=y` with filter.x=y.clean in .git/config, and a filter in
    the submodule's own config; tarred, untarred elsewhere, `verifier origin` on the copy."""
    home = tmp_path / "home"
    home.mkdir()
    top, commit = _delivery(tmp_path / "build", layout, home)
    trace1, trace2 = tmp_path / "trace-item1", tmp_path / "trace-item2"
    (top / ".gitattributes").write_text("* filter=x=y\n")
    plain_git(top, "commit", "-q", "-am", "attributes", home=home)
    commit = plain_out(top, "rev-parse", "HEAD", home=home)
    plain_git(top, "config", "filter.x=y.clean", f"touch {trace1}; cat", home=home)
    plain_git(top / "sub", "config", "filter.evil.clean", f"touch {trace2}; cat", home=home)
    copy = tar_copy(top, tmp_path / "copy")
    proc = subprocess.run([sys.executable, "-m", "verifier", "origin", str(copy), "--no-spec", "--owner", OWNER,
                           "--no-cache", "-q", "--json", str(tmp_path / "o.json")],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert not trace1.exists() and not trace2.exists()
    assert json.loads((tmp_path / "o.json").read_text("utf-8"))["source"]["commit"] == commit
    plain_git(copy, "status", "--ignore-submodules=none", home=home, check=False)  # control
    assert trace1.exists() and trace2.exists()


def test_the_callers_git_environment_is_not_passed_on(hostile, monkeypatch) -> None:
    """GIT_* of the process running verifier (config parameters, another GIT_DIR) do not reach git."""
    traces = hostile["traces"]
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "core.fsmonitor")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", f"touch {traces / 'env--core.fsmonitor'}")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'filter.x=y.clean'='touch {traces / 'env--filter'}'")
    monkeypatch.setenv("GIT_DIR", str(hostile["copy"] / "sub" / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", "/nonexistent/index")
    state = read_state(hostile["copy"])
    assert (state.commit, state.dirty) == (hostile["commit"], False)
    assert _traces(traces) == []
