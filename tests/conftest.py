"""Shared test helpers: the CLI runner and small delivered repositories written on the fly."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"


@pytest.fixture
def cli():
    """Invoke the verifier CLI in-process: ``cli("run", spec, "--out", d)`` -> click Result."""
    from verifier.cli import main

    def invoke(*args: object, **kwargs):
        runner = CliRunner()
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's scan cache away from the developer's ~/.cache, and the registries out
    of every `verifier run`: the auto knowledge base (the delivery's dependencies, fetched) is
    off unless a test turns it on with local stand-ins of the registries (test_kb_auto.py)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("VERIFIER_KB_AUTO", "off")


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``; return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


PYTHON = sys.executable
ENV_NO_COLOR = {**os.environ, "NO_COLOR": "1"}
