"""verifier.spec as a package: models apart from the loader, so the probe contract can import the
models without importing itself back, and every name callers used still importable from it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import verifier.spec
from verifier.spec import binding, load, model, yaml_lines


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter (nothing imported yet); its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip()


def test_the_models_do_not_import_the_probes():
    out = _fresh("import sys, verifier.spec, verifier.spec.model\n"
                 "print(sorted(m for m in sys.modules if m.startswith(('verifier.probe', 'probes'))))")
    assert out == "[]"


def test_the_probe_contract_can_import_the_models_first():
    """What verifier.probe may do at its top: import the models while it is being imported itself."""
    out = _fresh("import sys, types\n"
                 "import verifier\n"
                 "sys.modules['verifier.probe'] = types.ModuleType('verifier.probe')  # being imported\n"
                 "from verifier.spec import Indicator, Spec\n"
                 "from verifier.spec.model import FunctionItem\n"
                 "print(Spec.__name__, Indicator.__name__, FunctionItem.__name__)")
    assert out == "Spec Indicator FunctionItem"


def test_every_name_of_the_former_module_is_importable_from_the_package():
    from verifier.spec import (  # noqa: F401
        DEFAULT_SPEC_NAME, MAX_BYTES, MAX_VALUES, REQUIRED_CHARACTERISTICS, Characteristic, FunctionItem,
        Indicator, Loc, OriginSpec, ProjectSpec, ScoringSpec, Spec, SpecError, SpecWarning, format_loc,
        load_spec, parse_spec, spec_data)
    assert load_spec is load.load_spec and parse_spec is load.parse_spec
    assert Spec is model.Spec and spec_data is yaml_lines.spec_data
    assert set(verifier.spec.__all__) <= set(dir(verifier.spec)) | {"load_spec", "parse_spec"}
    for name in verifier.spec.__all__:
        assert getattr(verifier.spec, name) is not None


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(verifier.spec, "no_such_name")


def test_modules_hold_what_their_names_say():
    assert {"Spec", "Indicator", "ProjectSpec"} <= set(vars(model))
    assert {"compose", "Located", "raise_first"} <= set(vars(yaml_lines))
    assert "bind_indicator" in vars(binding) and "parse_spec" in vars(load)
    assert not hasattr(model, "available_probes") and not hasattr(binding, "available_probes")
