"""The import graph of verifier runs one way, without a cycle.

Read from the source with ``ast`` (an import inside a function counts; one under ``if TYPE_CHECKING:``
counts for the direction, not for cycles), every module of ``verifier/`` and of ``probes/`` (installed as
``verifier.builtin_probes``) sits in one layer and imports only from the layers below it or its own:

    cli             the command line: parses, calls, prints one-line errors
     ↓
    application     runner (+ getting the product ready), report (+ its charts and words), formats,
                    attestation, bundle
     ↓                                       builtin probes: the probes shipped with verifier, plug-ins
    domain          spec, probe contract + probekit, results, evaluation, scoring, vocabulary, units,
     ↓              materials, consistency, repeated measurements, waivers, the phrases verifier
     ↓              writes and their Chinese, the probes' argument docs, the system under test on
     ↓              record, origin analysis, snippet matching (kb package, snippets,
     ↓              origin matcher, the auto KB)
    infrastructure  files, paths, archives, git, repository identity, processes, loopback, the service's
                    lifecycle, the product's runtime, set-up, login and assets, field types,
                    placeholders, evidence, cache, signing, text safety, errors, kb storage (store, index,
                    fingerprints, building), the registries' clients, a delivery's declared dependencies

The built-in probes are plug-ins beside the application: they use the domain (the contract) and the
infrastructure, and nothing in verifier imports them (they are found through entry points). An import
inside a function defers a heavy module (scancode, pygount, Jinja2/WeasyPrint, the standard formats'
libraries, cryptography) and says so with ``heavy`` in its comment; it never dodges a cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from support import REPO_ROOT

#: checkout folder -> the package it is installed as
FOLDERS = {"verifier": "verifier", "probes": "verifier.builtin_probes"}

#: Layers from the top. An entry names a module, or ``pkg.*`` for a package and all it holds (the
#: longest entry wins). A new module must be placed here: the test fails until it is.
LAYERS: dict[str, tuple[str, ...]] = {
    "cli": ("verifier.cli.*", "verifier.__main__"),
    "application": ("verifier.runner", "verifier.product.prepare", "verifier.report", "verifier.charts",
                    "verifier.i18n", "verifier.formats.*", "verifier.attestation", "verifier.bundle.*"),
    "builtin probes": ("verifier.builtin_probes.*",),
    "domain": ("verifier.spec.*", "verifier.probe", "verifier.probekit", "verifier.results",
               "verifier.evaluation", "verifier.scoring", "verifier.vocabulary", "verifier.units",
               "verifier.materials", "verifier.consistency", "verifier.repeats", "verifier.waivers",
               "verifier.phrases", "verifier.probe_docs", "verifier.product.system", "verifier.origin.*",
               "verifier.kb.*"),
    "infrastructure": ("verifier", "verifier.errors", "verifier.textsafe", "verifier.paths", "verifier.globs",
                       "verifier.evidence", "verifier.cache", "verifier.signing", "verifier.proc",
                       "verifier.reaper", "verifier.loopback", "verifier.git", "verifier.repository",
                       "verifier.vcs", "verifier.delivery", "verifier.archive", "verifier.source",
                       "verifier.repo_paths", "verifier.fieldtypes", "verifier.placeholders", "verifier.run_files",
                       "verifier.service", "verifier.product.*",
                       # kb storage: the file, its guard and index, fingerprints, building one from sources
                       # fetched through the registries' clients, the dependencies a delivery declares
                       "verifier.kb.store", "verifier.kb.guard", "verifier.kb.postings", "verifier.kb.normalize",
                       "verifier.kb.winnow", "verifier.kb.build", "verifier.kb.registries", "verifier.kb.deps",
                       "verifier.kb.lock_graph"),
}
#: layer -> the layers it may import from
ALLOWED = {
    "cli": {"cli", "application", "domain", "infrastructure"},
    "application": {"application", "domain", "infrastructure"},
    "builtin probes": {"builtin probes", "domain", "infrastructure"},
    "domain": {"domain", "infrastructure"},
    "infrastructure": {"infrastructure"},
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    text: str
    """The import's lines, and the comment lines right above it, with the imports between."""
    local: bool
    """Inside a function (runs when called, not when the module is imported)."""
    typing_only: bool
    """Under ``if TYPE_CHECKING:`` (never runs)."""
    internal: bool = True
    """A module of verifier (else ``target`` is the name of another package's module)."""


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            parts = (*package.split("."), *path.relative_to(REPO_ROOT / folder).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def layer_of(module: str) -> str | None:
    """The layer of ``module`` by the longest matching entry of ``LAYERS``."""
    best: tuple[int, str] | None = None
    for layer, entries in LAYERS.items():
        for entry in entries:
            package = entry.removesuffix(".*")
            matches = module == package or (entry.endswith(".*") and module.startswith(package + "."))
            if matches and (best is None or len(package) > best[0]):
                best = (len(package), layer)
    return best[1] if best else None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path) -> list[Import]:
    """Every import in ``module``'s source, relative ones resolved: verifier's modules as ``internal``
    ones, anything else (the standard library, other packages) by the name imported."""
    text = path.read_text("utf-8")
    lines = text.splitlines()
    found: list[Import] = []

    def visit(node: ast.AST, local: bool, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                visit(child, True, typing_only)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for part in child.body:
                    visit(ast.Module(body=[part], type_ignores=[]), local, True)
                for part in child.orelse:
                    visit(ast.Module(body=[part], type_ignores=[]), local, typing_only)
            elif isinstance(child, ast.Import | ast.ImportFrom):
                text = _with_comment(lines, child.lineno, child.end_lineno or child.lineno)
                targets = _targets(module, path, child)
                found.extend(Import(module, target, child.lineno, text, local, typing_only) for target in targets)
                if not targets and not (isinstance(child, ast.ImportFrom) and child.module == "__future__"):
                    name = child.names[0].name if isinstance(child, ast.Import) else child.module or ""
                    found.append(Import(module, name, child.lineno, text, local, typing_only, internal=False))
            else:
                visit(child, local, typing_only)

    visit(ast.parse(text), False, False)
    return found


def _with_comment(lines: list[str], lineno: int, end: int) -> str:
    """The import's lines ``lineno`` to ``end`` (1-based) with the block of comment and import lines
    directly above it: a comment may speak for the imports below it."""
    start = lineno - 1
    while start > 0 and lines[start - 1].strip().startswith(("#", "from ", "import ")):
        start -= 1
    return "\n".join(line.strip() for line in lines[start:end])


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = ".".join([*package[:len(package) - node.level + 1], *([node.module] if node.module else [])])
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
    targets = []
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and name not in targets:
            targets.append(name)
    return targets


def _all_imports() -> list[Import]:
    """Every import of a verifier module by a verifier module."""
    return [imp for imp in _every_import() if imp.internal]


def _every_import() -> list[Import]:
    return [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def test_every_module_has_one_layer():
    assert {m for m in MODULES if layer_of(m) is None} == set(), "place these modules in LAYERS"
    named = {e.removesuffix(".*") for entries in LAYERS.values() for e in entries}
    assert {n for n in named if n not in MODULES} == set(), "LAYERS names modules that do not exist"


def test_nothing_imports_upward():
    upward = {f"{i.source} ({layer_of(i.source)}) imports {i.target} ({layer_of(i.target)}): line {i.line}"
              for i in _all_imports() if layer_of(i.source) and layer_of(i.target) not in ALLOWED[layer_of(i.source) or ""]}
    assert upward == set()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_no_import_cycle():
    """Module to module, counting imports inside functions: a cycle is a cycle even when it is deferred.
    (A submodule importing its package's ``__init__`` implicitly is Python's doing, not counted.)"""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in _all_imports():
        if not i.typing_only:
            edges[i.source].add(i.target)
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_an_import_inside_a_function_defers_a_heavy_module_and_says_so():
    local = {f"{i.source}:{i.line}: {i.text}" for i in _every_import()
             if i.local and not i.typing_only and "heavy" not in i.text}
    assert local == set()


def test_only_the_cli_imports_the_bundle():
    """The bundle is the top of the application layer: packing and verifying use the report and the
    domain, nothing below imports them back, and the bundle imports neither the CLI nor the runner."""
    imports = _all_imports()
    assert {f"{i.source} imports {i.target}" for i in imports if i.target.startswith("verifier.bundle")
            and not i.source.startswith(("verifier.bundle", "verifier.cli"))} == set()
    assert {f"{i.source} imports {i.target}" for i in imports if i.source.startswith("verifier.bundle")
            and i.target.startswith(("verifier.cli", "verifier.runner"))} == set()


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """Relative, function-local and type-only imports are all found, and resolved to modules."""
    module = "verifier.builtin_probes.locust_probe"
    found = {(i.target, i.local, i.typing_only) for i in imports_of(module, MODULES[module])}
    assert ("verifier.builtin_probes._http", False, False) in found
    probe = {(i.target, i.local, i.typing_only) for i in imports_of("verifier.spec.model", MODULES["verifier.spec.model"])}
    assert ("verifier.probe", False, True) in probe


def test_no_lazy_loader_but_the_cli_command_table():
    """A module ``__getattr__`` or ``importlib.import_module`` would hide an import from this walk
    (and could dodge a cycle): only the CLI loads its commands that way, by design."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text("utf-8"))
        found += [f"{module}: module __getattr__" for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name == "__getattr__"]
        found += [f"{module}: {ast.unparse(n.func)}" for n in ast.walk(tree) if isinstance(n, ast.Call)
                  and ast.unparse(n.func) in ("importlib.import_module", "import_module", "__import__")]
    assert found == ["verifier.cli: importlib.import_module"]
