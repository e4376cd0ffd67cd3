"""The words of the acceptance rules, in one table: the quality characteristics of GB/T 25000.10
and the acceptance dossier (验收材料) of policy article 15.1.

Every module that names a characteristic or a dossier item reads it here: the spec (which keys a
task book may write), the gates (which five the policy requires, how each is named), the materials
check (each item's labels and default count), the report and its labels. A key is what a task book
writes (``security``); ``zh`` and ``en`` are the names a reader sees (信息安全性, Security).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar


@dataclass(frozen=True)
class Term:
    """One word of the rules: its key as a task book spells it and its names in both languages."""

    key: str
    """As spelled in ``acceptance.yaml`` and ``results.json`` (``performance_efficiency``)."""
    zh: str
    """The Chinese name (性能效率)."""
    en: str
    """The English name as a heading (``Performance efficiency``)."""

    @property
    def en_text(self) -> str:
        """The English name inside a sentence (``performance efficiency``)."""
        return self.en[:1].lower() + self.en[1:]


@dataclass(frozen=True)
class DossierItem(Term):
    """One item of the acceptance dossier and how many files it needs unless the task book says."""

    default_min: int = 1
    """Files required when the task book gives no ``min`` (2 user evaluation reports)."""


_T = TypeVar("_T", bound=Term)


def _table(*terms: _T) -> dict[str, _T]:
    return {term.key: term for term in terms}


#: The eight quality characteristics of GB/T 25000.10-2016 (ISO/IEC 25010), in the standard's order.
CHARACTERISTICS: dict[str, Term] = _table(
    Term("functionality", "功能性", "Functional suitability"),
    Term("performance_efficiency", "性能效率", "Performance efficiency"),
    Term("compatibility", "兼容性", "Compatibility"),
    Term("usability", "易用性", "Usability"),
    Term("reliability", "可靠性", "Reliability"),
    Term("security", "信息安全性", "Security"),
    Term("maintainability", "维护性", "Maintainability"),
    Term("portability", "可移植性", "Portability"),
)

#: The keys of the eight, in the standard's order (what ``characteristic:`` may say).
CHARACTERISTIC_KEYS: tuple[str, ...] = tuple(CHARACTERISTICS)

#: The five characteristics every task book must cover (policy article 6(二)2), in the article's order.
REQUIRED_CHARACTERISTICS: tuple[str, ...] = (
    "functionality", "performance_efficiency", "reliability", "security", "compatibility",
)

#: The acceptance dossier (policy article 15.1), in report order.
DOSSIER: dict[str, DossierItem] = _table(
    DossierItem("test_report", "产品测试报告", "Product test report"),
    DossierItem("function_list", "产品功能清单", "Product function list"),
    DossierItem("novelty_search", "科技查新报告", "Novelty search report"),
    DossierItem("audit_report", "专项审计报告", "Special audit report"),
    DossierItem("user_evaluations", "用户使用评价报告", "User evaluation reports", default_min=2),
    DossierItem("ip_proofs", "知识产权证明", "Intellectual property proofs"),
)


def characteristic(key: str) -> Term:
    """The characteristic spelled ``key``; a key outside the eight is named as written."""
    return CHARACTERISTICS.get(key) or Term(key, key, key)


def dossier_item(key: str) -> DossierItem:
    """The dossier item spelled ``key``; a key outside the table is named as written."""
    return DOSSIER.get(key) or DossierItem(key, key, key)
