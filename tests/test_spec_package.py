"""verifier.spec as a package: models apart from the loader, the probe contract needing nothing of
the spec at run time (so the loader can consult the probes without a cycle), and every name callers
used still importable from it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import verifier.spec
from verifier.spec import binding, load, model, yaml_lines


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_the_models_do_not_import_the_probes():
    """The models name the probe contract for type checkers only; the loader is what binds them."""
    tree = ast.parse(Path(model.__file__ or "").read_text("utf-8"))
    typing_only = {id(n) for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and id(n) not in typing_only}
    assert imported and not {m for m in imported if m and m.startswith("verifier.probe")}


def test_the_probe_contract_needs_nothing_of_the_spec_at_run_time():
    """So the loader (``verifier.spec.load``) may import the contract, and the package its loader."""
    out = _fresh("import sys, verifier.probe\n"
                 "print(sorted(m for m in sys.modules if m.startswith('verifier.spec')))")
    assert out == "[]"
    out = _fresh("import sys, verifier.spec\nprint(verifier.spec.load_spec.__module__)")
    assert out == "verifier.spec.load"


def test_every_name_of_the_former_module_is_importable_from_the_package():
    from verifier.spec import (  # noqa: F401
        DEFAULT_SPEC_NAME,
        MAX_BYTES,
        MAX_VALUES,
        REQUIRED_CHARACTERISTICS,
        Characteristic,
        FunctionItem,
        Indicator,
        Loc,
        OriginSpec,
        ProjectSpec,
        ScoringSpec,
        Spec,
        SpecError,
        SpecWarning,
        format_loc,
        load_spec,
        parse_spec,
        spec_data,
    )
    assert load_spec is load.load_spec and parse_spec is load.parse_spec
    assert Spec is model.Spec and spec_data is yaml_lines.spec_data
    assert set(verifier.spec.__all__) <= set(dir(verifier.spec)) | {"load_spec", "parse_spec"}
    for name in verifier.spec.__all__:
        assert getattr(verifier.spec, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = verifier.spec.no_such_name


def test_modules_hold_what_their_names_say():
    assert {"Spec", "Indicator", "ProjectSpec"} <= set(vars(model))
    assert {"compose", "Located", "raise_first"} <= set(vars(yaml_lines))
    assert "bind_indicator" in vars(binding) and "parse_spec" in vars(load)
    assert not hasattr(model, "available_probes") and not hasattr(binding, "available_probes")
