"""One vocabulary for the characteristics and the dossier (verifier/vocabulary.py), read by every
module that names them: the spec, the gates, the materials check, the report and its labels."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest

from support.spec_fakes import PROBES
from verifier.i18n import LABELS
from verifier.materials import MaterialsConfig, check_materials
from verifier.probe import CHARACTERISTICS as PROBE_CHARACTERISTICS
from verifier.scoring import coverage_gates, gate_figure, materials_gate
from verifier.spec import SpecError, parse_spec
from verifier.vocabulary import (
    CHARACTERISTIC_KEYS,
    CHARACTERISTICS,
    DOSSIER,
    REQUIRED_CHARACTERISTICS,
    characteristic,
    dossier_item,
)

PACKAGE = Path(__file__).resolve().parent.parent / "verifier"


def test_the_eight_characteristics_in_the_standards_spelling_and_order():
    assert [(t.key, t.zh) for t in CHARACTERISTICS.values()] == [
        ("functionality", "功能性"), ("performance_efficiency", "性能效率"), ("compatibility", "兼容性"),
        ("usability", "易用性"), ("reliability", "可靠性"), ("security", "信息安全性"),
        ("maintainability", "维护性"), ("portability", "可移植性")]
    assert [t.en for t in CHARACTERISTICS.values()] == [
        "Functional suitability", "Performance efficiency", "Compatibility", "Usability", "Reliability",
        "Security", "Maintainability", "Portability"]
    assert characteristic("performance_efficiency").en_text == "performance efficiency"
    assert set(REQUIRED_CHARACTERISTICS) < set(CHARACTERISTIC_KEYS) and len(REQUIRED_CHARACTERISTICS) == 5
    assert PROBE_CHARACTERISTICS == CHARACTERISTIC_KEYS


def test_the_dossier_items_of_article_15():
    assert {k: (t.zh, t.default_min) for k, t in DOSSIER.items()} == {
        "test_report": ("产品测试报告", 1), "function_list": ("产品功能清单", 1),
        "novelty_search": ("科技查新报告", 1), "audit_report": ("专项审计报告", 1),
        "user_evaluations": ("用户使用评价报告", 2), "ip_proofs": ("知识产权证明", 1)}
    # the spec's materials: section has exactly these keys, in this order
    assert list(MaterialsConfig.model_fields) == list(DOSSIER)


def test_an_unknown_key_is_named_as_written():
    assert characteristic("speed").zh == "speed" and dossier_item("receipts").en == "receipts"


def _spec(characteristic_key: str, materials: str = ""):
    text = textwrap.dedent(f"""\
        project: {{name: x, version: "1.0.0", owners: [a]}}
        indicators:
          - {{id: I1, name: n, characteristic: {characteristic_key}, probe: counter, metric: files, target: '>= 1'}}
        """) + materials
    return parse_spec(text, probes=PROBES)


@pytest.mark.parametrize("key", CHARACTERISTIC_KEYS)
def test_the_spec_accepts_exactly_the_eight(key):
    assert _spec(key).indicators[0].characteristic == key


def test_the_spec_refuses_another_spelling():
    with pytest.raises(SpecError, match="characteristic"):
        _spec("information_security")


def test_the_security_gate_says_xinxi_anquanxing():
    """The reproduction: the gate said 安全性 while the indicator table said 信息安全性."""
    gate = {g.id: g for g in coverage_gates(_spec("security"))}["coverage.security"]
    assert gate.description_zh == "指标覆盖信息安全性" == f"指标覆盖{LABELS['zh']['char_security']}"
    assert gate.description_en == "An indicator covers security"
    functionality = {g.id: g for g in coverage_gates(_spec("security"))}["coverage.functionality"]
    assert functionality.description_en == "An indicator covers functional suitability"


def test_the_report_labels_are_the_vocabulary():
    for term in CHARACTERISTICS.values():
        assert LABELS["zh"][f"char_{term.key}"] == term.zh and LABELS["en"][f"char_{term.key}"] == term.en


def test_materials_labels_come_from_the_vocabulary(tmp_path):
    spec = _spec("security", "materials:\n  test_report: docs/t.pdf\n")
    checks = check_materials(spec.materials, tmp_path)
    assert [(c.key, c.label_zh, c.label_en, c.required) for c in checks] == [
        (t.key, t.zh, t.en, t.default_min) for t in DOSSIER.values()]
    gate = materials_gate(spec, checks)
    assert gate_figure(gate, "zh") == ("0/6；缺少：产品测试报告、产品功能清单、科技查新报告、专项审计报告、"
                                       "用户使用评价报告、知识产权证明")


def _literals(path: Path) -> list[tuple[int, str]]:
    """String constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_module_spells_a_characteristic_or_dossier_item_itself():
    """The class of the 安全性 bug: a name defined outside the table drifts from it. No string of
    the package (docstrings aside) is a characteristic's or dossier item's name on its own, and
    none says 安全性 other than as 信息安全性."""
    names = {t.zh for t in CHARACTERISTICS.values()} | {t.en for t in CHARACTERISTICS.values()}
    names |= {t.zh for t in DOSSIER.values()} | {t.en for t in DOSSIER.values()} | {"安全性"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "vocabulary.py":
            continue
        for line, text in _literals(path):
            if text.strip() in names or re.search(r"(?<!信息)安全性", text):
                found.append(f"{path.relative_to(PACKAGE)}:{line}: {text!r}")
    assert found == []
