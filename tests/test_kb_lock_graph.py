"""Which locked package requires which (``required_by``), from each lock file format's real shape
written here: package-lock.json 3 (nested node_modules resolved as Node does) and 1, uv.lock,
poetry.lock, pnpm-lock.yaml 9 and yarn.lock classic and Berry. The delivery's own packages are never
parents, and a package no lock file places has none."""

from __future__ import annotations

import json

import pytest

from support import write_tree
from verifier.kb.deps import declared_dependencies

PACKAGE_JSON = {"name": "web", "version": "1.0.0",
                "dependencies": {"express": "4.18.2", "@Scope/pkg": "2.0.0", "left-pad": "1.3.0"}}

LOCK_V3 = {"name": "web", "lockfileVersion": 3, "packages": {
    "": {"name": "web", "dependencies": {"express": "4.18.2", "@Scope/pkg": "2.0.0", "left-pad": "1.3.0"}},
    "node_modules/express": {"version": "4.18.2", "dependencies": {"debug": "2.6.9", "ms": "^2"}},
    "node_modules/express/node_modules/debug": {"version": "2.6.9", "dependencies": {"ms": "2.0.0"}},
    "node_modules/express/node_modules/ms": {"version": "2.0.0"},
    "node_modules/@Scope/pkg": {"version": "2.0.0", "dependencies": {"debug": "^4"},
                                "peerDependencies": {"not-installed": "*"}},
    "node_modules/debug": {"version": "4.3.4", "dependencies": {"ms": "^2.1"}},
    "node_modules/ms": {"version": "2.1.3"},
    "node_modules/left-pad": {"version": "1.3.0"},
    "node_modules/orphan": {"version": "0.1.0"},
    "packages/tool": {"name": "tool", "dependencies": {"left-pad": "1.3.0"}},
    "node_modules/tool": {"resolved": "packages/tool", "link": True}}}

LOCK_V1 = {"name": "web", "lockfileVersion": 1, "dependencies": {
    "express": {"version": "4.18.2", "requires": {"debug": "2.6.9", "ms": "^2"},
                "dependencies": {"debug": {"version": "2.6.9", "requires": {"ms": "2.0.0"}},
                                 "ms": {"version": "2.0.0"}}},
    "ms": {"version": "2.1.3"},
    "left-pad": {"version": "1.3.0"}}}

UV_LOCK = """
version = 1
[[package]]
name = "delivery"
version = "1.0"
source = { editable = "." }
dependencies = [{ name = "httpx" }]
[[package]]
name = "httpx"
version = "0.27.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "anyio" }, { name = "Typing_Extensions", marker = "python_version < '3.11'" }]
[package.optional-dependencies]
http2 = [{ name = "h2" }]
[[package]]
name = "anyio"
version = "4.3.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna", version = "3.6" }]
[[package]]
name = "idna"
version = "3.6"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "typing-extensions"
version = "4.10.0"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "h2"
version = "4.1.0"
source = { registry = "https://pypi.org/simple" }
"""

POETRY_LOCK = """
[[package]]
name = "flask"
version = "3.0.2"
[package.dependencies]
Werkzeug = ">=3.0.0"
click = ">=8.1.3"
[[package]]
name = "werkzeug"
version = "3.0.1"
[package.dependencies]
MarkupSafe = ">=2.1.1"
[[package]]
name = "markupsafe"
version = "2.1.5"
[[package]]
name = "click"
version = "8.1.7"
"""

PNPM_9 = """
lockfileVersion: '9.0'
importers:
  .:
    dependencies:
      react-dom:
        specifier: ^18.2.0
        version: 18.2.0(react@18.2.0)
packages:
  react-dom@18.2.0:
    resolution: {integrity: sha512-a}
  react@18.2.0:
    resolution: {integrity: sha512-b}
  loose-envify@1.4.0:
    resolution: {integrity: sha512-c}
  string-width@4.2.3:
    resolution: {integrity: sha512-d}
snapshots:
  react-dom@18.2.0(react@18.2.0):
    dependencies:
      loose-envify: 1.4.0
      react: 18.2.0
      string-width-cjs: string-width@4.2.3
  react@18.2.0:
    dependencies:
      loose-envify: 1.4.0
  loose-envify@1.4.0: {}
  string-width@4.2.3: {}
"""

YARN_V1 = '''# yarn lockfile v1

"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.22.13":
  version "7.23.5"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.23.5.tgz"
  dependencies:
    "@babel/highlight" "^7.23.4"
    chalk "^2.4.2"

"@babel/highlight@^7.23.4":
  version "7.23.4"
  dependencies:
    chalk "^2.4.2"

chalk@^2.4.2:
  version "2.4.2"
'''

YARN_BERRY = '''__metadata:
  version: 8

"@babel/code-frame@npm:^7.0.0":
  version: 7.23.5
  resolution: "@babel/code-frame@npm:7.23.5"
  dependencies:
    "@babel/highlight": "npm:^7.23.4"
    chalk: "npm:^2.4.2"
  languageName: node

"@babel/highlight@npm:^7.23.4":
  version: 7.23.4
  dependencies:
    chalk: "npm:^2.4.2"

"chalk@npm:^2.4.2":
  version: 2.4.2

"web@workspace:.":
  version: 0.0.0-use.local
  dependencies:
    "@babel/code-frame": "npm:^7.0.0"
'''

#: yarn 2's lock files write a dependency's range without the ``npm:`` its entry's header has
YARN_BERRY_4 = YARN_BERRY.replace("version: 8", "version: 4").replace('"npm:^', '"^')


def _parents(root) -> dict[tuple[str, str | None], set[tuple[str, str | None]]]:
    found, warnings = declared_dependencies(root)
    assert not warnings, warnings
    return {(d.name, d.version): set(d.required_by) for d in found}


@pytest.mark.parametrize("lock", [LOCK_V3, LOCK_V1], ids=["v3", "v1"])
def test_package_lock_parents_resolve_like_node(tmp_path, lock):
    write_tree(tmp_path, {"package.json": json.dumps(PACKAGE_JSON), "package-lock.json": json.dumps(lock)})
    got = _parents(tmp_path)
    assert got[("debug", "2.6.9")] == {("express", "4.18.2")}  # the copy nested under express
    # the copy nested under express, for express and for its nested debug (found one level up)
    assert got[("ms", "2.0.0")] == {("express", "4.18.2"), ("debug", "2.6.9")}
    assert got[("ms", "2.1.3")] == ({("debug", "4.3.4")} if lock is LOCK_V3 else set())
    assert got[("left-pad", "1.3.0")] == set()  # required by the root and a workspace folder only
    assert got[("express", "4.18.2")] == set()
    if lock is LOCK_V3:
        assert got[("debug", "4.3.4")] == {("@Scope/pkg", "2.0.0")}
        assert got[("orphan", "0.1.0")] == set()
        assert ("not-installed", None) not in got


def test_uv_and_poetry_locks_name_the_requiring_package(tmp_path):
    write_tree(tmp_path, {"uv/pyproject.toml": '[project]\nname = "delivery"\nversion = "1.0"\ndependencies = ["httpx"]\n',
                          "uv/uv.lock": UV_LOCK,
                          "poetry/pyproject.toml": '[tool.poetry.dependencies]\nflask = "3.0.2"\n',
                          "poetry/poetry.lock": POETRY_LOCK})
    got = _parents(tmp_path)
    assert got[("httpx", "0.27.0")] == set()  # required by the delivery itself: direct
    assert got[("anyio", "4.3.0")] == {("httpx", "0.27.0")}
    assert got[("typing-extensions", "4.10.0")] == {("httpx", "0.27.0")}  # name normalised
    assert got[("h2", "4.1.0")] == {("httpx", "0.27.0")}  # an optional group
    assert got[("idna", "3.6")] == {("anyio", "4.3.0")}  # the version uv wrote
    assert got[("idna", "3.7")] == set()
    assert got[("werkzeug", "3.0.1")] == {("flask", "3.0.2")}
    assert got[("markupsafe", "2.1.5")] == {("werkzeug", "3.0.1")}
    assert got[("click", "8.1.7")] == {("flask", "3.0.2")}


def test_pnpm_snapshots_give_parents_with_peer_suffixes_and_aliases(tmp_path):
    write_tree(tmp_path, {"pnpm-lock.yaml": PNPM_9})
    got = _parents(tmp_path)
    assert got[("loose-envify", "1.4.0")] == {("react-dom", "18.2.0"), ("react", "18.2.0")}
    assert got[("react", "18.2.0")] == {("react-dom", "18.2.0")}
    assert got[("string-width", "4.2.3")] == {("react-dom", "18.2.0")}  # through the alias
    assert got[("react-dom", "18.2.0")] == set()


@pytest.mark.parametrize("text", [YARN_V1, YARN_BERRY, YARN_BERRY_4], ids=["classic", "berry", "berry-4"])
def test_yarn_lock_dependencies_blocks(tmp_path, text):
    write_tree(tmp_path, {"yarn.lock": text, "package.json": json.dumps({"dependencies": {"@babel/code-frame": "^7.0.0"}})})
    got = _parents(tmp_path)
    assert got[("@babel/highlight", "7.23.4")] == {("@babel/code-frame", "7.23.5")}
    assert got[("chalk", "2.4.2")] == {("@babel/code-frame", "7.23.5"), ("@babel/highlight", "7.23.4")}
    assert got[("@babel/code-frame", "7.23.5")] == set()  # the workspace is not a parent


def test_required_by_is_in_the_json_and_spelled_as_the_listed_parent(tmp_path):
    write_tree(tmp_path, {"poetry.lock": POETRY_LOCK.replace('name = "werkzeug"', 'name = "Werkzeug"')})
    found, _ = declared_dependencies(tmp_path)
    markupsafe = next(d for d in found if d.name == "markupsafe").to_json()
    assert markupsafe["required_by"] == [{"name": "Werkzeug", "version": "3.0.1"}]
    assert next(d for d in found if d.name == "flask").to_json()["required_by"] == []
