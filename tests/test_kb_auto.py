"""``origin.knowledge_base: auto``: the delivery's declared dependencies are fetched (real pip
against a local simple index the way a user configures one) into a KB in the cache directory and
matched; what cannot be fetched is named and the match is marked partial; the dependency list
and CDN assets are in the origin output and the report; files a framework's scaffolding writes
are matched against the templates its package ships."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from support.registry_standins import LEDGER, sdist, simple_index

OWNER = "Hunan Example Software Co., Ltd."

#: Our own stand-in for a web framework's scaffolding templates (a migration environment and a
#: project launcher), written for these tests.
ENV_TEMPLATE = '''
from logging.config import fileConfig

from demo_framework import context
from demo_framework.engine import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

LAUNCHER_TEMPLATE = '''#!/usr/bin/env python
"""Launch administrative tasks for {{ project_name }}."""
import os
import sys


def main():
    os.environ.setdefault("DEMO_SETTINGS_MODULE", "{{ project_name }}.settings")
    try:
        from demo_framework.management import run_from_command_line
    except ImportError as exc:
        raise ImportError(
            "The demo framework is not importable. Is it installed, and "
            "on the PYTHONPATH? Was the virtual environment activated? "
            "See the installation guide."
        ) from exc
    sys.exit(run_from_command_line(sys.argv) or 0)


if __name__ == "__main__":
    main()
'''

OWN = '''
def plan_route(stops, depot):
    """Order delivery stops by distance from the depot."""
    return sorted(stops, key=lambda stop: abs(stop[0] - depot[0]) + abs(stop[1] - depot[1]))
'''


@pytest.fixture(scope="module")
def index_url(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("pypi")
    made = root / "made"
    made.mkdir()
    return simple_index(root, [
        sdist(made, "demo-ledger", "1.0", "MIT", {"demo_ledger/core.py": LEDGER}),
        sdist(made, "demo-framework", "2.1", "BSD-3-Clause", {
            "demo_framework/templates/generic/env.py": ENV_TEMPLATE,
            "demo_framework/conf/project_template/manage.py-tpl": LAUNCHER_TEMPLATE})])


@pytest.fixture
def auto_on(index_url, monkeypatch, tmp_path):
    monkeypatch.delenv("VERIFIER_KB_AUTO", raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", index_url)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    return index_url


def _delivery(root: Path, requirements: str, spec_origin: str = "") -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app" / "route.py").write_text(f"# Copyright (c) 2024 {OWNER}\n{OWN}", "utf-8")
    (root / "app" / "stock.py").write_text(f"# Copyright (c) 2024 {OWNER}\n{LEDGER}", "utf-8")
    (root / "requirements.txt").write_text(requirements, "utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "base.html").write_text(
        '<html><head>\n<link rel="stylesheet" '
        'href="https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/css/bootstrap.min.css">\n'
        '<script src="https://unpkg.com/vue@3.4.21/dist/vue.global.js"></script>\n'
        '<script src="/static/own.js"></script></head></html>\n', "utf-8")
    (root / "acceptance.yaml").write_text(
        f"project: {{name: t, version: '1.0.0', owners: ['{OWNER}']}}\n"
        f"origin: {{min_match_lines: 10{spec_origin}}}\n"
        "indicators:\n"
        "  - {id: O1, name: r, characteristic: maintainability, probe: origin, metric: ratio,"
        " target: '>= 60%'}\n", "utf-8")
    return root


def _origin(cli, repo: Path, *args) -> dict:
    out = repo.parent / "origin.json"
    result = cli("origin", repo, "--json", out, "-q", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text("utf-8"))


def _file(data: dict, path: str) -> dict:
    return next(f for f in data["files"] if f["path"] == path)


def test_origin_kb_auto_matches_the_declared_dependencies(cli, auto_on, tmp_path):
    repo = _delivery(tmp_path / "repo", "demo-ledger==1.0\n")
    data = _origin(cli, repo, "--kb", "auto")
    stock = _file(data, "app/stock.py")
    assert stock["matched_lines"] > 20 and stock["matches"][0]["component"] == "demo-ledger"
    assert _file(data, "app/route.py")["matched_lines"] == 0
    assert data["knowledge_base"]["partial"] is False
    assert data["knowledge_base"]["auto"]["fetched"] == ["demo-ledger 1.0"]
    assert [(d["name"], d["version"], d["direct"]) for d in data["dependencies"]] == [
        ("demo-ledger", "1.0", True)]
    assert [(a["package"], a["version"]) for a in data["cdn_assets"]] == [
        ("bootstrap", "5.3.2"), ("vue", "3.4.21")]
    assert not any("partial" in w for w in data["warnings"])


def test_unfetchable_dependencies_make_the_match_partial_and_a_later_run_reuses_the_kb(
        cli, auto_on, tmp_path, monkeypatch):
    repo = _delivery(tmp_path / "repo", "demo-ledger==1.0\nnot-on-the-index==3.1\n")
    data = _origin(cli, repo, "--kb", "auto")
    assert data["knowledge_base"]["partial"] is True
    (warning,) = [w for w in data["warnings"] if w.startswith("snippet matching is partial")]
    assert "1 declared dependencies could not be fetched" in warning
    assert "not-on-the-index==3.1: sdist: pip:" in warning
    assert _file(data, "app/stock.py")["matched_lines"] > 20  # what was fetched still matches
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "offline").as_uri())  # the registry is gone
    again = _origin(cli, repo, "--kb", "auto")
    assert again["knowledge_base"]["auto"]["held"] == 1  # demo-ledger: from the cached KB
    assert again["knowledge_base"]["auto"]["fetched"] == []
    assert [u["package"] for u in again["knowledge_base"]["auto"]["unfetched"]] == [
        "not-on-the-index==3.1"]  # retried, still missing
    assert _file(again, "app/stock.py")["matched_lines"] == _file(data, "app/stock.py")[
        "matched_lines"]


def test_no_kb_and_the_switch_turn_it_off_but_dependencies_are_still_listed(cli, auto_on,
                                                                           tmp_path, monkeypatch):
    repo = _delivery(tmp_path / "repo", "demo-ledger==1.0\n", ", knowledge_base: auto")
    data = _origin(cli, repo, "--no-kb")
    assert data["knowledge_base"] is None and _file(data, "app/stock.py")["matched_lines"] == 0
    assert [d["name"] for d in data["dependencies"]] == ["demo-ledger"]
    monkeypatch.setenv("VERIFIER_KB_AUTO", "off")
    assert _origin(cli, repo)["knowledge_base"] is None


@pytest.mark.slow
def test_run_uses_auto_by_default_and_the_report_lists_the_dependencies(cli, auto_on, tmp_path):
    repo = _delivery(tmp_path / "repo", "demo-ledger==1.0\nnot-on-the-index==3.1\n")
    # a dependency name that is markup: listed, never fetched, escaped in the report
    (repo / "web").mkdir()
    (repo / "web" / "package.json").write_text(
        json.dumps({"dependencies": {"<b>bold</b>": "file:../x"}}), "utf-8")
    out = tmp_path / "run"
    cli("run", repo / "acceptance.yaml", "--out", out, "-q")
    results = json.loads((out / "results.json").read_text("utf-8"))
    origin = results["origin"]
    assert origin["kb_partial"] is True
    assert [d["name"] for d in origin["dependencies"]] == ["<b>bold</b>", "demo-ledger",
                                                           "not-on-the-index"]
    full = json.loads((out / "origin" / "origin.json").read_text("utf-8"))
    assert _file(full, "app/stock.py")["matched_lines"] > 20
    report = tmp_path / "report.html"
    result = cli("report", out, "--format", "html", "--lang", "en", "-o", report)
    assert result.exit_code == 0, result.output
    html = report.read_text("utf-8")
    assert "Declared dependencies (no lines counted)" in html and "demo-ledger" in html
    assert "Assets loaded from public CDNs" in html and "bootstrap" in html
    assert "Snippet matching is partial" in html
    assert "No third-party component found." not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    no_kb = tmp_path / "run-no-kb"
    cli("run", repo / "acceptance.yaml", "--out", no_kb, "-q", "--no-kb")
    plain = json.loads((no_kb / "origin" / "origin.json").read_text("utf-8"))
    assert _file(plain, "app/stock.py")["matched_lines"] == 0


def test_scaffolded_files_match_the_templates_their_framework_ships(cli, auto_on, tmp_path):
    """An env.py the framework's init command copied and a manage.py it rendered from its
    manage.py-tpl, both without any notice: matched against the framework's own package."""
    repo = _delivery(tmp_path / "repo", "demo-framework==2.1\n")
    (repo / "migrations").mkdir()
    (repo / "migrations" / "env.py").write_text(ENV_TEMPLATE, "utf-8")
    (repo / "manage.py").write_text(LAUNCHER_TEMPLATE.replace("{{ project_name }}", "warehouse"),
                                    "utf-8")
    data = _origin(cli, repo, "--kb", "auto")
    env, manage = _file(data, "migrations/env.py"), _file(data, "manage.py")
    assert env["matches"][0]["matched_file"] == "demo_framework/templates/generic/env.py"
    assert env["matched_lines"] >= 20
    assert manage["matches"][0]["matched_file"] == "demo_framework/conf/project_template/manage.py-tpl"
    assert manage["matches"][0]["component"] == "demo-framework"


def test_spec_knowledge_base_takes_auto_a_file_or_a_list(tmp_path):
    from verifier.errors import InputError
    from verifier.spec import load_spec

    def spec(value: str):
        path = tmp_path / "acceptance.yaml"
        path.write_text(f"project: {{name: t, version: '1.0.0', owners: [A]}}\nindicators: []\n"
                        f"origin: {{knowledge_base: {value}}}\n", "utf-8")
        return load_spec(path)
    assert spec("auto").knowledge_bases() == ["auto"]
    both = spec("[AUTO, ../kb/oss.kb]")
    assert both.knowledge_bases() == ["auto", (tmp_path.parent / "kb" / "oss.kb").resolve()]
    assert both.knowledge_base_path() == (tmp_path.parent / "kb" / "oss.kb").resolve()
    assert spec("[]").knowledge_bases() == []
    with pytest.raises(InputError, match="knowledge_base"):
        spec("['auto', '  ']")
