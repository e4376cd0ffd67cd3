"""The suite imports the same way under ``pytest`` and ``python -m pytest``.

Helpers live in ``tests/support/`` and are imported as ``support`` (``tests/`` is on ``sys.path``
through ``pythonpath`` in ``pyproject.toml``); fixtures live in ``tests/conftest.py``, which pytest
loads and no test imports. ``from tests.x import …`` works only when the checkout root happens to
be on ``sys.path`` (``python -m pytest``), and importing ``conftest`` loads it a second time.
The built-in probes are ``verifier.builtin_probes``: a top-level ``probes`` exists only in a
checkout. No test imports another test module: what two tests share is a helper in ``support``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO_ROOT

TESTS = REPO_ROOT / "tests"
#: top-level names a test may not import
FORBIDDEN = ("tests", "conftest", "probes", "report_templates")


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.lineno, node.module))
    return found


def test_no_test_imports_the_suite_by_a_path_that_depends_on_how_pytest_was_started():
    wrong = [f"{path.relative_to(REPO_ROOT)}:{line}: {name}"
             for path in sorted(TESTS.rglob("*.py")) if "golden" not in path.parts
             for line, name in _imported(ast.parse(path.read_text("utf-8")))
             if name.split(".")[0] in FORBIDDEN or name.split(".")[0].startswith("test_")]
    assert wrong == []  # a test module imported by another runs twice under some import modes


def test_helpers_are_in_the_support_package():
    """Every module of tests/ is a test, the conftest, or lives in a package (support, a test probe)."""
    loose = [p.name for p in TESTS.glob("*.py") if not p.name.startswith("test_") and p.name != "conftest.py"]
    assert loose == []


@pytest.mark.slow
@pytest.mark.parametrize("program", [[str(Path(sys.executable).with_name("pytest"))], [sys.executable, "-m", "pytest"]],
                         ids=["pytest", "python -m pytest"])
def test_the_suite_collects_either_way(program):
    """Collecting imports every test module and helper: it works from the checkout root both ways."""
    done = subprocess.run([*program, "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " tests collected" in done.stdout.splitlines()[-1]
