"""Knowledge-base matches in the SBOMs of `verifier origin --format`: a module copied from an installed
package into an own file becomes an SPDX snippet of that file (byte and line range that hold exactly the
matched lines, the matched component as a package) and CycloneDX occurrences with the identity found by
source-code analysis."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from support.format_validators import cyclonedx_json, spdx_document
from verifier.kb import build_kb

pytestmark = pytest.mark.slow

OWNER = "Hunan Example Software Co., Ltd."
HEADER = f"# Copyright (c) 2025 {OWNER}\n# All rights reserved.\n\n"


@pytest.fixture(scope="module")
def copied_tree(tmp_path_factory) -> tuple[Path, Path]:
    import markupsafe

    root = tmp_path_factory.mktemp("snippets")
    kb = root / "kb.sqlite"
    build_kb(kb, python_envs=[sys.prefix], only=["markupsafe"], jobs=1)
    tree = root / "delivery"
    (tree / "app").mkdir(parents=True)
    (tree / "app" / "rules.py").write_text(HEADER + "".join(f"def rule_{n}(x):\n    return x * {n + 2}\n"
                                                            for n in range(20)))
    copied = Path(markupsafe.__file__).read_text().split('"""', 2)[2].replace("    ", "  ")
    (tree / "app" / "escaping.py").write_text(HEADER + copied, newline="\r\n")  # CRLF: byte ranges still exact
    return tree, kb


def _sbom(cli, tree: Path, kb: Path, fmt: str, out: Path) -> bytes:
    result = cli("origin", tree, "--no-spec", "--owner", OWNER, "--kb", kb, "--no-cache", "-q",
                 "--format", fmt, "-o", out, "--json", out.with_suffix(".origin.json"))
    assert result.exit_code in (0, 1), result.output
    return out.read_bytes()


def test_spdx_snippets_hold_exactly_the_matched_lines(copied_tree, cli, tmp_path):
    tree, kb = copied_tree
    doc = spdx_document(_sbom(cli, tree, kb, "spdx", tmp_path / "o.spdx.json"), tmp_path)
    origin = json.loads((tmp_path / "o.spdx.origin.json").read_text("utf-8"))
    matches = next(f for f in origin["files"] if f["path"] == "app/escaping.py")["matches"]
    assert matches and all(m["purl"] for m in matches)
    escaping = next(f for f in doc.files if f.name == "./app/escaping.py")
    snippets = [s for s in doc.snippets if s.file_spdx_id == escaping.spdx_id]
    assert len(snippets) == len(matches)
    raw = (tree / "app" / "escaping.py").read_bytes()
    lines = raw.split(b"\r\n")
    for snippet, match in zip(sorted(snippets, key=lambda s: s.line_range), matches):
        first, last = snippet.line_range
        assert (first, last) == (match["start_line"], match["end_line"])
        start, end = snippet.byte_range
        assert raw[start - 1:end] == b"\r\n".join(lines[first - 1:last])
        assert "MarkupSafe" in snippet.comment and match["matched_file"] in snippet.comment
    kb_package = next(p for p in doc.packages if p.name == "MarkupSafe")
    assert not kb_package.files_analyzed
    assert kb_package.external_references[0].locator.startswith("pkg:pypi/markupsafe@")
    related = {(r.spdx_element_id, r.related_spdx_element_id) for r in doc.relationships}
    assert all((s.spdx_id, kb_package.spdx_id) in related for s in snippets)
    rules = next(f for f in doc.files if f.name == "./app/rules.py")
    assert not [s for s in doc.snippets if s.file_spdx_id == rules.spdx_id]


def test_cyclonedx_lists_matches_as_occurrences_found_by_source_code_analysis(copied_tree, cli, tmp_path):
    tree, kb = copied_tree
    doc = cyclonedx_json(_sbom(cli, tree, kb, "cyclonedx", tmp_path / "o.cdx.json"))
    origin = json.loads((tmp_path / "o.cdx.origin.json").read_text("utf-8"))
    matches = next(f for f in origin["files"] if f["path"] == "app/escaping.py")["matches"]
    (component,) = [c for c in doc["components"] if c["name"] == "MarkupSafe"]
    assert component["purl"].startswith("pkg:pypi/markupsafe@")
    occurrences = component["evidence"]["occurrences"]
    assert [(o["location"], o["line"]) for o in occurrences] == [("app/escaping.py", m["start_line"]) for m in matches]
    assert all(f"lines {m['start_line']}-{m['end_line']}" in o["additionalContext"]
               for o, m in zip(occurrences, matches))
    (identity,) = component["evidence"]["identity"]
    assert identity["field"] == "purl" and identity["methods"][0]["technique"] == "source-code-analysis"
    assert {"ref": "product", "dependsOn": [component["bom-ref"]]} in doc["dependencies"]
    props = {p["name"]: p["value"] for p in doc["metadata"]["component"]["properties"]}
    assert float(props["verifier:origin:ratio"]) == pytest.approx(origin["ratio"])
    assert int(props["verifier:origin:lines:third_party"]) == origin["totals"]["third_party"]["lines"] > 0
