"""A delivery's declared dependencies from each manifest and lock file format (files written
here, in each format's real shape): name, pinned or locked version, direct or transitive, and
what does not come from a registry; ``kb build --deps REPO`` fetches them."""

from __future__ import annotations

import json
import os

import pytest

from support import write_tree
from support.registry_standins import LEDGER, sdist, simple_index
from verifier.kb import KnowledgeBase
from verifier.kb.deps import declared_dependencies

PYPROJECT = """
[project]
name = "delivery"
version = "1.0"
dependencies = ["requests>=2.31", "click==8.1.7", "PyYAML[libyaml] == 6.0.1 ; python_version>'3'",
                "mylib @ git+https://example.invalid/mylib.git"]
[project.optional-dependencies]
docs = ["sphinx"]
"""

POETRY_PYPROJECT = """
[tool.poetry.dependencies]
python = "^3.11"
flask = "3.0.2"
sqlalchemy = {version = "^2.0", extras = ["asyncio"]}
local-thing = {path = "../thing"}
[tool.poetry.group.dev.dependencies]
pytest = "^8"
"""

POETRY_LOCK = """
[[package]]
name = "flask"
version = "3.0.2"
description = ""
[[package]]
name = "werkzeug"
version = "3.0.1"
[[package]]
name = "SQLAlchemy"
version = "2.0.25"
"""

UV_LOCK = """
version = 1
[[package]]
name = "delivery"
version = "1.0"
source = { editable = "." }
[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "anyio"
version = "4.3.0"
source = { registry = "https://pypi.org/simple" }
"""

UV_PYPROJECT = '[project]\nname = "delivery"\nversion = "1.0"\ndependencies = ["httpx"]\n'

PIPFILE_LOCK = {"_meta": {}, "default": {"requests": {"version": "==2.31.0"},
                                         "idna": {"version": "==3.6"}},
                "develop": {"mine": {"editable": True, "path": "."}}}
PIPFILE = '[packages]\nrequests = "*"\n'

PACKAGE_JSON = {"name": "web", "version": "1.0.0",
                "dependencies": {"vue": "3.4.21", "axios": "^1.6.0", "local": "file:../local",
                                 "forked": "github:someone/forked", "alias": "npm:lodash@4.17.21"},
                "devDependencies": {"vite": "~5.1.0"}}

PACKAGE_LOCK = {"name": "web", "lockfileVersion": 3, "packages": {
    "": {"name": "web"},
    "node_modules/vue": {"version": "3.4.21", "license": "MIT"},
    "node_modules/axios": {"version": "1.6.7", "license": "MIT"},
    "node_modules/follow-redirects": {"version": "1.15.5", "license": "MIT"},
    "node_modules/axios/node_modules/form-data": {"version": "4.0.0", "license": "MIT"},
    "node_modules/local": {"resolved": "../local", "link": True}}}

YARN_V1 = '''# yarn lockfile v1

"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.22.13":
  version "7.23.5"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.23.5.tgz"

lodash@^4.17.21:
  version "4.17.21"
'''

YARN_BERRY = '''__metadata:
  version: 8

"lodash@npm:^4.17.21":
  version: 4.17.21
  resolution: "lodash@npm:4.17.21"

"web@workspace:.":
  version: 0.0.0-use.local
'''

PNPM = """
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      react:
        specifier: ^18.2.0
        version: 18.2.0
packages:
  react@18.2.0:
    resolution: {integrity: sha512-x}
  loose-envify@1.4.0:
    resolution: {integrity: sha512-y}
  '@types/node@20.11.0':
    resolution: {integrity: sha512-z}
"""


def _deps(root) -> dict:
    found, warnings = declared_dependencies(root)
    assert not warnings, warnings
    return {(d.ecosystem, d.name, d.version): (d.direct, d.registry, d.declared_in) for d in found}


def test_requirements_and_pyproject(tmp_path):
    write_tree(tmp_path, {"requirements.txt": "# pinned\nDjango==4.2.11\nrequests>=2  # range\n"
                                              "-e ./local\n--index-url https://x\n"
                                              "six==1.16.0 \\\n  --hash=sha256:abc\n",
                          "requirements-dev.txt": "pytest==8.0.0\n",
                          "pyproject.toml": PYPROJECT})
    deps = _deps(tmp_path)
    assert deps[("pypi", "Django", "4.2.11")] == (True, True, "requirements.txt")
    assert deps[("pypi", "six", "1.16.0")][0] is True
    assert deps[("pypi", "pytest", "8.0.0")] == (True, True, "requirements-dev.txt")
    assert deps[("pypi", "click", "8.1.7")] == (True, True, "pyproject.toml")
    assert deps[("pypi", "PyYAML", "6.0.1")][:2] == (True, True)
    assert ("pypi", "requests", None) in deps and ("pypi", "sphinx", None) in deps
    assert deps[("pypi", "mylib", None)][1] is False


def test_poetry_lock_marks_direct_and_transitive(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": POETRY_LOCK})
    deps = _deps(tmp_path)
    assert deps[("pypi", "flask", "3.0.2")][0] is True
    assert deps[("pypi", "SQLAlchemy", "2.0.25")][0] is True
    assert deps[("pypi", "werkzeug", "3.0.1")][0] is False
    assert deps[("pypi", "local-thing", None)][1] is False
    assert ("pypi", "python", None) not in deps


def test_uv_lock_leaves_the_project_out(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": UV_PYPROJECT, "uv.lock": UV_LOCK})
    deps = _deps(tmp_path)
    assert deps[("pypi", "httpx", "0.27.0")][0] is True
    assert deps[("pypi", "anyio", "4.3.0")][0] is False
    assert not any(name == "delivery" for _, name, _ in deps)


def test_pipfile_lock(tmp_path):
    write_tree(tmp_path, {"Pipfile.lock": json.dumps(PIPFILE_LOCK), "Pipfile": PIPFILE})
    deps = _deps(tmp_path)
    assert deps[("pypi", "requests", "2.31.0")][0] is True
    assert deps[("pypi", "idna", "3.6")][0] is False
    assert deps[("pypi", "mine", None)][1] is False


def test_package_json_and_lock(tmp_path):
    write_tree(tmp_path, {"web/package.json": json.dumps(PACKAGE_JSON),
                          "web/package-lock.json": json.dumps(PACKAGE_LOCK)})
    found, _ = declared_dependencies(tmp_path)
    deps = {(d.name, d.version): d for d in found}
    assert deps[("vue", "3.4.21")].direct is True and deps[("vue", "3.4.21")].license == "MIT"
    assert deps[("axios", "1.6.7")].direct is True
    assert deps[("follow-redirects", "1.15.5")].direct is False
    assert deps[("form-data", "4.0.0")].direct is False
    assert deps[("lodash", "4.17.21")].registry  # the alias's real package
    assert not deps[("local", None)].registry and not deps[("forked", None)].registry
    assert deps[("vite", None)].requirement == "~5.1.0"
    assert deps[("vue", "3.4.21")].declared_in in {"web/package.json", "web/package-lock.json"}


@pytest.mark.parametrize("text", [YARN_V1, YARN_BERRY])
def test_yarn_lock_classic_and_berry(tmp_path, text):
    write_tree(tmp_path, {"yarn.lock": text,
                          "package.json": json.dumps({"dependencies": {"lodash": "^4.17.21"}})})
    found, _ = declared_dependencies(tmp_path)
    deps = {(d.name, d.version): d for d in found}
    assert deps[("lodash", "4.17.21")].direct is True
    if text is YARN_V1:
        assert deps[("@babel/code-frame", "7.23.5")].direct is False
    else:
        assert not deps[("web", None)].registry


def test_pnpm_lock(tmp_path):
    write_tree(tmp_path, {"pnpm-lock.yaml": PNPM})
    found, _ = declared_dependencies(tmp_path)
    deps = {(d.name, d.version): d.direct for d in found}
    assert deps == {("react", "18.2.0"): True, ("loose-envify", "1.4.0"): False,
                    ("@types/node", "20.11.0"): False}


def test_installed_trees_and_links_are_not_read_and_bad_files_are_warnings(tmp_path):
    write_tree(tmp_path, {"node_modules/x/package.json": json.dumps(PACKAGE_JSON),
                          ".venv/lib/requirements.txt": "evil==1\n",
                          "package-lock.json": "{not json",
                          "app/requirements.txt": "ok==1.0\n"})
    os.symlink("/etc/passwd", tmp_path / "requirements-link.txt")
    found, warnings = declared_dependencies(tmp_path)
    assert [(d.name, d.version) for d in found] == [("ok", "1.0")]
    assert len(warnings) == 1 and warnings[0].startswith("package-lock.json: not read")


def test_kb_build_deps_fetches_the_pinned_ones(cli, tmp_path, monkeypatch):
    made = tmp_path / "made"
    made.mkdir()
    url = simple_index(tmp_path / "pypi", [sdist(made, "demo-ledger", "1.0", "MIT",
                                                 {"demo_ledger/core.py": LEDGER})])
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", url)
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    repo = write_tree(tmp_path / "delivery", {"requirements.txt": "demo-ledger==1.0\n"
                                                                  "mylib @ file:///x\n"})
    kb = tmp_path / "kb.sqlite"
    result = cli("kb", "build", "-o", kb, "--deps", repo)
    assert result.exit_code == 0, result.output
    assert "1 dependencies not from a registry (git, path, workspace), not fetched: mylib" \
        in result.stderr
    with KnowledgeBase.open(kb) as opened:
        assert [(c["name"], c["version"]) for c in opened.info()["component_list"]] == [
            ("demo-ledger", "1.0")]


def test_cdn_assets_in_templates(tmp_path):
    from verifier.kb.deps import cdn_assets

    write_tree(tmp_path, {
        "web/templates/index.html": (
            '<script src="https://cdn.jsdelivr.net/npm/@vue/runtime-dom@3.4.21/dist/x.js">'
            '</script>\n<link href="//cdnjs.cloudflare.com/ajax/libs/font-awesome/6.5.1/css/'
            'all.min.css" rel="stylesheet">\n'
            '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>\n'
            '<script src="https://ajax.googleapis.com/ajax/libs/jquery/3.6.0/jquery.min.js">'
            '</script>\n<script src="https://cdn.bootcdn.net/ajax/libs/echarts/5.4.3/echarts.js">'
            '</script>\n<script src="https://example.com/own.js"></script>\n'
            '<script src="/static/local.js"></script>\n'),
        "node_modules/x/index.html": '<script src="https://unpkg.com/x@1.0.0/x.js"></script>'})
    found = [(a.file, a.line, a.host, a.package, a.version) for a in cdn_assets(tmp_path)]
    assert found == [
        ("web/templates/index.html", 1, "cdn.jsdelivr.net", "@vue/runtime-dom", "3.4.21"),
        ("web/templates/index.html", 2, "cdnjs.cloudflare.com", "font-awesome", "6.5.1"),
        ("web/templates/index.html", 3, "code.jquery.com", "jquery", "3.7.1"),
        ("web/templates/index.html", 4, "ajax.googleapis.com", "jquery", "3.6.0"),
        ("web/templates/index.html", 5, "cdn.bootcdn.net", "echarts", "5.4.3")]
