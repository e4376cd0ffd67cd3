"""The import graph runs one way — cli → application (runner, report, bundle) → domain (spec, policy,
results, evaluation, probe contract) → infrastructure — checked here for the infrastructure layer and
the bundle package: read from the source with ``ast``, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = REPO_ROOT / "verifier"

#: the bottom layer: reading files, archives, git, processes, keys; nothing here knows a spec or a run
INFRASTRUCTURE = frozenset({
    "verifier", "verifier.archive", "verifier.cache", "verifier.delivery", "verifier.errors",
    "verifier.evidence", "verifier.git", "verifier.loopback", "verifier.paths", "verifier.proc",
    "verifier.reaper", "verifier.repository", "verifier.signing", "verifier.source", "verifier.textsafe",
    "verifier.vcs",
})


def _module(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[str, bool, int, str]]:
    """(verifier module imported, inside a function, line number, source line) for each import."""
    text = path.read_text("utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    top = {id(node) for node in tree.body}
    known = _modules()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name in known:
                found.append((name, id(node) not in top, node.lineno, lines[node.lineno - 1]))
    return found


def test_the_layer_table_names_real_modules():
    assert set(_modules()) >= INFRASTRUCTURE


def test_infrastructure_imports_nothing_above_it():
    upward = {f"{module}:{line} imports {name}" for module, path in _modules().items() if module in INFRASTRUCTURE
              for name, _, line, _ in _imports(path) if name not in INFRASTRUCTURE}
    assert upward == set()


def test_no_import_inside_a_function_but_a_heavy_one_that_says_so():
    """In the infrastructure and the bundle, an import inside a function only defers a heavy module,
    with a comment saying so; never to dodge a cycle."""
    checked = {m: p for m, p in _modules().items() if m in INFRASTRUCTURE or m.startswith("verifier.bundle")}
    local = {f"{module}:{line}: {text.strip()}" for module, path in checked.items()
             for _, inside, line, text in _imports(path) if inside and "heavy" not in text}
    assert local == set()


def test_only_the_cli_imports_the_bundle():
    """The bundle is the top of the application layer: packing and verifying use the report and the
    domain, nothing below imports them back."""
    above = {f"{module} imports {name}" for module, path in _modules().items()
             if not module.startswith(("verifier.bundle", "verifier.cli"))
             for name, _, _, _ in _imports(path) if name.startswith("verifier.bundle")}
    assert above == set()
    bundle = {f"{module} imports {name}" for module, path in _modules().items() if module.startswith("verifier.bundle")
              for name, _, _, _ in _imports(path) if name.startswith(("verifier.cli", "verifier.runner"))}
    assert bundle == set()
