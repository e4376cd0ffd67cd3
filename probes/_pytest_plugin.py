"""pytest plugin the ``pytest`` probe loads into the delivered product's test run.

It is copied to a temporary directory, put on the child's ``PYTHONPATH`` and loaded with
``-p _verifier_pytest_plugin``, so it must work in the product's own interpreter: standard library
and pytest only, nothing from verifier, syntax that old Pythons accept.

It registers the ``function`` marker (``@pytest.mark.function("F-03")``), and for every collected
test adds JUnit properties ``verifier.nodeid`` (the node id relative to the repository root, not
to pytest's rootdir) and one ``verifier.function`` per marked function id. When
``VERIFIER_PYTEST_META`` names a file, it writes there (JSON) pytest's rootdir and every collected
test with its repository-relative file, 1-based line, function ids and description (the first
paragraph of its docstring, for the test records of the report).
"""

import inspect
import json
import os

import pytest

_REPO = os.environ.get("VERIFIER_REPO_ROOT")
_META = os.environ.get("VERIFIER_PYTEST_META")


def pytest_configure(config):
    """Register the ``function`` marker so ``--strict-markers`` runs accept it."""
    config.addinivalue_line(
        "markers", "function(*ids): product function(s) of the task book this test exercises")


def _repo_relative(path):
    path = os.path.abspath(str(path))
    if not _REPO:
        return path.replace(os.sep, "/")
    rel = os.path.relpath(path, _REPO)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return path.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _describe(item):
    path = getattr(item, "path", None) or getattr(item, "fspath", None)
    file = _repo_relative(path) if path is not None else None
    rest = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
    nodeid = file + "::" + rest if file and rest else (file or item.nodeid)
    line = None
    try:
        if item.location[1] is not None:
            line = int(item.location[1]) + 1
    except Exception:  # a plugin's item with an odd location: keep going without a line
        line = None
    ids = []
    for marker in item.iter_markers(name="function"):
        for value in list(marker.args) + list(marker.kwargs.values()):
            values = value if isinstance(value, (list, tuple)) else [value]
            for one in values:
                if str(one) not in ids:
                    ids.append(str(one))
    return {"nodeid": nodeid, "pytest_nodeid": item.nodeid, "file": file, "line": line,
            "functions": ids, "doc": _doc(item)}


def _doc(item):
    """The first paragraph of the test's own docstring, on one line (at most 500 characters)."""
    obj = getattr(item, "obj", None)
    own = getattr(obj, "__doc__", None) if obj is not None else None
    if not isinstance(own, str) or not own.strip():
        return ""
    first = inspect.cleandoc(own).split("\n\n", 1)[0]
    return " ".join(first.split())[:500]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    """Tag every test's JUnit entry with its repository node id and function ids."""
    described = []
    for item in items:
        info = _describe(item)
        described.append(info)
        item.user_properties.append(("verifier.nodeid", info["nodeid"]))
        for function_id in info["functions"]:
            item.user_properties.append(("verifier.function", function_id))
    if _META:
        meta = {
            "rootdir": str(config.rootdir),
            "rootdir_in_repo": _repo_relative(config.rootdir),
            "pytest_version": pytest.__version__,
            "tests": described,
        }
        with open(_META, "w", encoding="utf-8") as handle:
            json.dump(meta, handle, ensure_ascii=False, indent=1)
