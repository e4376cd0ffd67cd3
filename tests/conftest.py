"""Fixtures every test may use. Helpers are in the ``support`` package (``tests/support/``), which
tests import; no test imports this module."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

# the helpers' own asserts explain their failures as the tests' do
pytest.register_assert_rewrite("support")


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

