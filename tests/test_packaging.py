"""Installing verifier puts one package into site-packages, ``verifier``, and it works from there.

The folders ``probes/`` and ``report_templates/`` stay at the top of the checkout but are installed
inside verifier's namespace, as ``verifier.builtin_probes`` and ``verifier.report_templates``
(``package-dir`` in ``pyproject.toml``); templates are read as package resources. The slow test
builds the wheel from a copy of the sources, reads its contents, installs it into a fresh virtual
environment outside the checkout and runs ``verifier probes``, ``verifier run`` and ``verifier report``
there; the fast ones guard the same promises in the editable install the suite runs under.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from support import REPO_ROOT
from support.bundle_runs import PASSING, spec_text
from support.report_sample import build_sample_run
from verifier.probe import ENTRY_POINT_GROUP, available_probes

#: checkout folder -> the package it is installed as
MAPPED = {"verifier": "verifier", "probes": "verifier.builtin_probes",
          "report_templates": "verifier.report_templates"}
#: what setuptools needs besides the package folders
BUILD_FILES = ("pyproject.toml", "README.md")


def _pyproject() -> dict:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))


def _shipped_files() -> dict[str, Path]:
    """Every file of the three package folders (no byte code), by its path inside the wheel."""
    shipped = {}
    for folder, package in MAPPED.items():
        base = REPO_ROOT / folder
        for path in sorted(base.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            if folder == "verifier" and path.relative_to(base).parts[0] in {"builtin_probes", "report_templates"}:
                continue  # cannot happen while the folders are mapped; never ship one twice
            shipped["/".join([*package.split("."), *path.relative_to(base).parts])] = path
    return shipped


def test_every_package_folder_is_listed_and_mapped():
    """A package folder missing from ``[tool.setuptools] packages`` would be left out of the wheel."""
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {p: f for f, p in MAPPED.items() if p != "verifier"}
    found = set()
    for folder, package in MAPPED.items():
        base = REPO_ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base).parts
            if "__pycache__" not in rel:
                found.add(".".join([*package.split("."), *rel]))
    assert set(setuptools["packages"]) == found


def test_built_in_probes_load_inside_verifier_namespace():
    """The built-in probes' entry points and modules are ``verifier.builtin_probes.*``; nothing loads a
    top-level ``probes`` package, even with the checkout on ``sys.path``."""
    builtin = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.dist and ep.dist.name == "verifier"]
    assert builtin and all(ep.value.startswith("verifier.builtin_probes.") for ep in builtin)
    probes = available_probes()
    assert {probes[ep.name].__module__ for ep in builtin} == {ep.module for ep in builtin}
    assert not [name for name in sys.modules if name == "probes" or name.startswith("probes.")]
    assert not [name for name in sys.modules if name == "report_templates"]


def test_no_package_module_reads_files_beside_the_package():
    """Files that ship are read as package resources or beside their own module, never by climbing out
    of the package (``Path(__file__).parent.parent``): that only works in a checkout."""
    climbing = []
    for folder in MAPPED:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                text = ast.unparse(node) if isinstance(node, ast.Attribute | ast.Subscript) else ""
                if "__file__" in text and (".parent.parent" in text or ".parents[" in text):
                    climbing.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {text}")
    assert climbing == []


# --------------------------------------------------------------------------- the wheel, installed

@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip wheel --no-deps`` builds from a copy of the sources (the checkout stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_FILES:
        shutil.copy2(REPO_ROOT / name, src / name)
    for folder in MAPPED:
        shutil.copytree(REPO_ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    wheels = list(out.glob("verifier-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_the_wheel_holds_verifier_only(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
        top_level = zf.read(next(n for n in names if n.endswith(".dist-info/top_level.txt"))).decode()
        entry = zf.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert {n.split("/")[0] for n in names} == {"verifier", wheel.name.split("-py3")[0] + ".dist-info"}
    assert top_level.split() == ["verifier"]
    packaged = {n for n in names if not n.startswith(wheel.name.split("-py3")[0])}
    assert packaged == set(_shipped_files())
    assert "verifier/report_templates/report.html.j2" in packaged
    probes_section = entry.split("[verifier.probes]")[1].split("[")[0]
    targets = [line.split("=", 1)[1].strip() for line in probes_section.splitlines() if "=" in line]
    assert targets and all(t.startswith("verifier.builtin_probes.") for t in targets)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, object]:
    """A fresh virtual environment outside the checkout with the wheel installed. Its dependencies are
    the suite's own (a path entry to this environment's site-packages less verifier itself), so the
    test needs no download and sees verifier only as the wheel put it."""
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    deps = root / "deps"
    deps.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if entry.name.startswith(("verifier", "__editable__")) or entry.suffix == ".pth":
            continue
        (deps / entry.name).symlink_to(entry)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    Path(purelib, "verifier_test_deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                           "--no-index", "--quiet", str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', os.defpath)}", NO_COLOR="1")
    work = root / "work"
    work.mkdir()
    return {"bin": env_dir / "bin", "python": python, "purelib": Path(purelib), "env": env, "cwd": work}


def _run(installed, *args: object, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=installed["cwd"], env=installed["env"], text=True,
                          capture_output=True, timeout=timeout)


@pytest.mark.slow
def test_the_installed_wheel_imports_from_site_packages_only(installed):
    code = ("import importlib.util, json, verifier, verifier.builtin_probes, verifier.report_templates; "
            "print(json.dumps({'files': [verifier.__file__, verifier.builtin_probes.__file__, "
            "verifier.report_templates.__file__], 'top': [importlib.util.find_spec(n) is not None "
            "for n in ('probes', 'report_templates')]}))")
    done = _run(installed, installed["python"], "-c", code)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert all(Path(f).is_relative_to(installed["purelib"]) for f in seen["files"]), seen
    assert seen["top"] == [False, False]


@pytest.mark.slow
def test_the_installed_wheel_lists_probes_runs_and_reports(installed, tmp_path):
    listed = _run(installed, installed["bin"] / "verifier", "probes", "--json")
    assert listed.returncode == 0, listed.stderr
    assert set(json.loads(listed.stdout)) == set(available_probes())
    table = _run(installed, installed["bin"] / "verifier", "probes")
    assert table.returncode == 0 and "locust" in table.stdout, table.stderr
    # a small real run (origin scan + the command probe), then its reports from package resources
    repo = tmp_path / "delivery"
    (repo / "stock").mkdir(parents=True)
    (repo / "stock" / "core.py").write_text("# Copyright (c) 2026 Hunan Example Software Co., Ltd.\n"
                                            "def add(a, b):\n    return a + b\n", encoding="utf-8")
    (repo / "acceptance.yaml").write_text(spec_text(PASSING), encoding="utf-8")
    run = _run(installed, installed["bin"] / "verifier", "run", repo / "acceptance.yaml", "--out", tmp_path / "run",
               "--quiet", "--no-cache", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    for fmt, marker in (("html", "<!DOCTYPE html>"), ("md", "# ")):
        out = tmp_path / f"report.{fmt}"
        done = _run(installed, installed["bin"] / "verifier", "report", tmp_path / "run", "--format", fmt,
                    "--lang", "en", "-o", out)
        assert done.returncode == 0, done.stderr
        assert out.read_text("utf-8").lstrip().startswith(marker)


@pytest.mark.slow
def test_the_installed_wheel_renders_what_the_checkout_renders(installed, tmp_path):
    """Same templates, same bytes: the wheel's report of the sample run is the editable install's."""
    run = build_sample_run(tmp_path / "sample")
    for fmt in ("html", "md"):
        for lang in ("zh", "en"):
            ours, theirs = tmp_path / f"checkout.{lang}.{fmt}", tmp_path / f"wheel.{lang}.{fmt}"
            here = subprocess.run([sys.executable, "-m", "verifier", "report", str(run), "--format", fmt,
                                   "--lang", lang, "-o", str(ours)], capture_output=True, text=True, timeout=300)
            assert here.returncode == 0, here.stderr
            there = _run(installed, installed["bin"] / "verifier", "report", run, "--format", fmt, "--lang", lang,
                         "-o", theirs)
            assert there.returncode == 0, there.stderr
            assert theirs.read_bytes() == ours.read_bytes(), (fmt, lang)
