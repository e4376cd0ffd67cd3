"""The task book (项目任务书) as a machine-readable spec: ``acceptance.yaml``.

- ``model``: the pydantic models of its structure (``Spec``, ``Indicator`` …), which import nothing
  of the probes, so the probe contract (``verifier.probe``) can import them;
- ``errors``: ``SpecError`` (one line ``FILE:LINE: field.path: problem``) and ``SpecWarning``;
- ``yaml_lines``: the YAML read under limits, each field path's line, problems placed at lines;
- ``binding``: an indicator bound to its probe (arguments, metric, unit, target, floor);
- ``load``: ``load_spec`` / ``parse_spec``, which read, validate and bind against the installed
  probes and, when given, the repository.

Every name callers used from the single module this once was is importable from here. The models
and errors are imported at once; the loader's names (``load_spec``, ``parse_spec``) on first use:
the loader consults the probe registry, and the probe contract imports the models, so importing
the loader here eagerly would run ``verifier.probe`` and this package into each other.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from verifier.spec.errors import SpecError, SpecWarning
from verifier.spec.model import (DEFAULT_SPEC_NAME, Characteristic, FunctionItem, Indicator, OriginSpec,
                                 ProjectSpec, ScoringSpec, Spec)
from verifier.spec.yaml_lines import MAX_BYTES, MAX_VALUES, Loc, format_loc, spec_data
from verifier.vocabulary import REQUIRED_CHARACTERISTICS

if TYPE_CHECKING:
    from verifier.spec.load import load_spec, parse_spec

#: names resolved on first use, and the module that defines them
_LAZY = {"load_spec": "verifier.spec.load", "parse_spec": "verifier.spec.load"}

__all__ = ["DEFAULT_SPEC_NAME", "MAX_BYTES", "MAX_VALUES", "REQUIRED_CHARACTERISTICS", "Characteristic",
           "FunctionItem", "Indicator", "Loc", "OriginSpec", "ProjectSpec", "ScoringSpec", "Spec",
           "SpecError", "SpecWarning", "format_loc", "load_spec", "parse_spec", "spec_data"]


def __getattr__(name: str) -> Any:
    """``load_spec`` and ``parse_spec``, imported from ``verifier.spec.load`` when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
