"""JUnit XML as the common test runners write it, read into the pytest probe's ``JUnitCase`` so that
both probes count tests and map them to the function list the same way.

Dialects read: Maven Surefire and Gradle (``<testsuite>`` root, ``classname`` = the test class),
jest-junit (``classname`` = describe + title, optional ``file``), node's built-in runner (test cases
directly under ``<testsuites>``, each ``describe`` a ``<testsuite>``, every ``classname`` "test"),
go-junit-report (``classname`` = the package, ``<skipped>``, ``[build failed]`` cases), CTest
``--output-junit`` (``status="run|fail|notrun|disabled"``) and pytest (``file``, 0-based ``line``).

How a test case ends: a ``<failure>`` child is ``failed``, an ``<error>`` child ``error``, a
``<skipped>`` child (or CTest's ``status`` ``notrun``/``disabled``) ``skipped``, anything else
``passed`` (Surefire's ``<flakyFailure>``/``<flakyError>`` mark a test that passed on a rerun).

Node id of a test case, used for function-list globs (``functions[].tests``)::

    LOCATION::[CLASS::][SUITE::…]NAME

* LOCATION is the test's file, relative to the repository, when the report gives it (``file`` on
  the case or its suite) or when the ``classname`` names a source file of the repository (a dotted
  class or module name, at least two parts: ``com.example.ItemTest`` ->
  ``src/test/java/com/example/ItemTest.java``, ``tests.test_items`` -> ``tests/test_items.py``);
  otherwise the ``classname`` as written (a Go package, a CTest name, node's "test").
* CLASS is what the ``classname`` adds to the file (a nested class ``Outer$Inner`` -> ``Inner``, a
  pytest class ``tests.test_items.TestCreate`` -> ``TestCreate``); a ``classname`` unrelated to the
  file (jest's titles) is left out.
* SUITE is the name of each ``<testsuite>`` nested inside another one, and for node's runner of
  every ``<testsuite>`` (its ``describe`` blocks).

So ``src/test/java/com/example/ItemTest.java::createsItem``, ``tests/test_items.py::test_create``,
``test::Orders::creates an order`` (node), ``example.com/shop/orders::TestCreate/valid`` (Go).
Pytest's own node ids come out unchanged. A test case reported more than once under the same node id
(a rerun, a failure followed by a teardown error) counts once, with its worst outcome.
"""

from __future__ import annotations

import os
import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from verifier.probe import ProbeError, TestOutcome
from verifier.probekit import source_files

from ._xml import read_xml
from .pytest_probe import JUnitCase

#: Outcomes from worst to best (as in the pytest probe): duplicates keep the worst.
ORDER = ("failed", "error", "skipped", "passed")
#: Files a dotted ``classname`` may name, by suffix.
CLASS_FILE_SUFFIXES = (".java", ".kt", ".kts", ".groovy", ".scala", ".py")
_DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")
_SKIPPED_STATUS = {"notrun", "disabled", "skipped", "skip"}


@dataclass(frozen=True)
class Report:
    """The test cases read from one JUnit XML file, in document order (duplicates not merged)."""

    cases: tuple[JUnitCase, ...]
    dialect: str
    """``node``, ``pytest``, ``ctest`` or ``junit`` (any other writer): how node ids were formed."""


class ClassFiles:
    """Source files of the repository a dotted ``classname`` can name (built on first use)."""

    def __init__(self, repo: Path) -> None:
        self._repo = repo
        self._by_stem: dict[str, list[tuple[tuple[str, ...], str]]] | None = None

    def _index(self) -> dict[str, list[tuple[tuple[str, ...], str]]]:
        if self._by_stem is None:
            self._by_stem = {}
            for rel in source_files(self._repo, ["."], suffixes=CLASS_FILE_SUFFIXES):
                parts = tuple(posixpath.splitext(rel)[0].split("/"))
                self._by_stem.setdefault(parts[-1], []).append((parts, rel))
        return self._by_stem

    def resolve(self, classname: str) -> tuple[str, tuple[str, ...]] | None:
        """The repository file a dotted ``classname`` names and the parts it adds to it (a nested
        class, a test class in a module), or ``None`` when no single file matches."""
        if not _DOTTED.match(classname.replace("$", ".")):
            return None
        parts = tuple(p for p in re.split(r"[.$]", classname) if p)
        for k in range(len(parts), 1, -1):
            head = parts[:k]
            found = [rel for stem, rel in self._index().get(head[-1], []) if stem[-k:] == head]
            if len(found) == 1:
                return found[0], parts[k:]
            if found:
                return None  # ambiguous: never guess
        return None


def _dialect(root: ET.Element) -> str:
    cases = list(root.iter("testcase"))
    if (root.tag == "testsuites" and not root.attrib and cases
            and all(c.get("classname") == "test" for c in cases)):
        return "node"
    suites = [root, *root.iter("testsuite")]
    if root.get("name") == "pytest tests" or any(s.get("name") == "pytest" for s in suites):
        return "pytest"
    if cases and all(c.get("status") in ("run", "fail", "notrun", "disabled") for c in cases):
        return "ctest"
    return "junit"


_CHILD_OUTCOMES: tuple[tuple[str, TestOutcome], ...] = (
    ("failure", "failed"), ("error", "error"), ("skipped", "skipped"))


def _outcome(case: ET.Element) -> tuple[TestOutcome, str]:
    """How a test case ended and the first line of its message."""
    for tag, outcome in _CHILD_OUTCOMES:
        child = case.find(tag)
        if child is not None:
            text = child.get("message") or (child.text or "")
            first = text.strip().splitlines()[0] if text.strip() else ""
            return outcome, first[:500]
    status = (case.get("status") or "").lower()
    if status in _SKIPPED_STATUS:
        return "skipped", status
    if status == "fail":
        return "failed", "status fail"
    return "passed", ""


def _repo_file(value: str, *, repo: Path, cwd: Path) -> str | None:
    """A ``file`` attribute as a repository-relative POSIX path, or ``None`` when it lies outside."""
    value = value.replace("\\", "/")
    root = os.path.normpath(os.path.abspath(repo))
    candidates = [value] if os.path.isabs(value) else [os.path.join(cwd, value), os.path.join(repo, value)]
    for candidate in candidates:
        full = os.path.normpath(os.path.abspath(candidate))
        if full == root or not full.startswith(root + os.sep):
            continue
        if os.path.lexists(full) or candidate is candidates[-1]:
            return Path(os.path.relpath(full, root)).as_posix()
    return None


def _class_part(classname: str, file: str) -> tuple[str, ...]:
    """What ``classname`` adds to the module or class its ``file`` already names."""
    parts = tuple(p for p in re.split(r"[.$]", classname) if p)
    stem = tuple(posixpath.splitext(file)[0].split("/"))
    for k in range(len(parts), 0, -1):
        if stem[-k:] == parts[:k]:
            return parts[k:]
    return ()


def read_report(path: Path, *, repo: Path, cwd: Path, classes: ClassFiles, what: str) -> Report:
    """The test cases of one JUnit XML file (see the module's docstring for the dialects and node
    ids); ``ProbeError`` naming ``what`` when it is not JUnit XML or is refused (``read_xml``)."""
    root = read_xml(path, what=what)
    if root.tag not in ("testsuites", "testsuite"):
        raise ProbeError(f"{what} has root <{root.tag}>, not <testsuites> or <testsuite>")
    dialect = _dialect(root)
    line_base = 0 if dialect == "pytest" else 1
    cases: list[JUnitCase] = []

    def walk(element: ET.Element, suites: tuple[str, ...], depth: int, file_attr: str | None) -> None:
        for child in element:
            if child.tag == "testcase":
                cases.append(_case(child, suites, file_attr))
            elif child.tag in ("testsuite", "testsuites"):
                named = child.tag == "testsuite" and (depth >= 1 or dialect == "node")
                inner = (*suites, child.get("name") or "") if named else suites
                walk(child, inner, depth + (child.tag == "testsuite"), child.get("file") or file_attr)

    def _case(element: ET.Element, suites: tuple[str, ...], suite_file: str | None) -> JUnitCase:
        props = [(p.get("name"), p.get("value") or "") for p in element.iter("property")]
        functions = tuple(dict.fromkeys(v for n, v in props if n == "verifier.function"))
        classname = element.get("classname") or ""
        name = element.get("name") or ""
        file_attr = element.get("file") or suite_file
        file = _repo_file(file_attr, repo=repo, cwd=cwd) if file_attr else None
        extra: tuple[str, ...] = ()
        if file is not None:
            extra = _class_part(classname, file) if classname else ()
        elif classname:
            found = classes.resolve(classname)
            if found is not None:
                file, extra = found
        location = file if file is not None else classname
        nodeid = next((v for n, v in props if n == "verifier.nodeid"), None)
        if not nodeid:
            nodeid = "::".join(p for p in (location, *extra, *suites, name) if p)
        line_attr = element.get("line")
        line = int(line_attr) + 1 - line_base if line_attr and line_attr.isdigit() else None
        outcome, message = _outcome(element)
        return JUnitCase(nodeid, file, line, outcome, message, functions)

    if root.tag == "testsuite":
        walk(root, (), 1, root.get("file"))
    else:
        walk(root, (), 0, None)
    return Report(tuple(cases), dialect)


def merge(cases: Iterable[JUnitCase]) -> tuple[list[JUnitCase], int]:
    """One case per node id, keeping the worst outcome (and the function ids of every report);
    the cases and how many duplicates were merged into them."""
    merged: dict[str, JUnitCase] = {}
    duplicates = 0
    for case in cases:
        previous = merged.get(case.nodeid)
        if previous is None:
            merged[case.nodeid] = case
            continue
        duplicates += 1
        worst = case if ORDER.index(case.outcome) < ORDER.index(previous.outcome) else previous
        merged[case.nodeid] = JUnitCase(worst.nodeid, worst.file or previous.file or case.file,
                                        worst.line or previous.line or case.line, worst.outcome,
                                        worst.message,
                                        tuple(dict.fromkeys(previous.functions + case.functions)))
    return list(merged.values()), duplicates

