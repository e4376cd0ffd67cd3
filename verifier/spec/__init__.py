"""The task book (项目任务书) as a machine-readable spec: ``acceptance.yaml``.

- ``model``: the pydantic models of its structure (``Spec``, ``Indicator`` …), which import nothing
  of the probes (the probe contract names ``Spec`` for type checkers only);
- ``errors``: ``SpecError`` (one line ``FILE:LINE: field.path: problem``) and ``SpecWarning``;
- ``yaml_lines``: the YAML read under limits, each field path's line, problems placed at lines;
- ``binding``: an indicator bound to its probe (arguments, metric, unit, target, floor);
- ``load``: ``load_spec`` / ``parse_spec``, which read, validate and bind against the installed
  probes and, when given, the repository.

Every name callers used from the single module this once was is importable from here. The loader
consults the probe registry (``verifier.probe``), which needs nothing of this package at run time,
so the import graph has no cycle.
"""

from __future__ import annotations

from verifier.spec.errors import SpecError, SpecWarning
from verifier.spec.load import load_spec, parse_spec
from verifier.spec.model import (
                                 DEFAULT_SPEC_NAME,
                                 Characteristic,
                                 FunctionItem,
                                 Indicator,
                                 OriginSpec,
                                 ProjectSpec,
                                 ScoringSpec,
                                 Spec,
)
from verifier.spec.yaml_lines import MAX_BYTES, MAX_VALUES, Loc, format_loc, spec_data
from verifier.vocabulary import REQUIRED_CHARACTERISTICS

__all__ = ["DEFAULT_SPEC_NAME", "MAX_BYTES", "MAX_VALUES", "REQUIRED_CHARACTERISTICS", "Characteristic",
           "FunctionItem", "Indicator", "Loc", "OriginSpec", "ProjectSpec", "ScoringSpec", "Spec",
           "SpecError", "SpecWarning", "format_loc", "load_spec", "parse_spec", "spec_data"]

