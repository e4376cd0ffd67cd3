"""The standard documents a bundle carries: rendered from the packed data, re-rendered by ``verify``.

``verifier bundle`` packs ``run/reports/FILENAME`` for each built-in format (``BUILT_IN``: SPDX,
CycloneDX, SARIF, JUnit XML) that renders from the run's data; a format that cannot render it (say an
origin analysis made before verifier recorded SHA-1s, which SPDX needs) is left out, and ``verify``
expects exactly that: every document it can render must be packed with the same bytes, and none it
cannot render may be.
"""

from __future__ import annotations

from collections.abc import Callable

from verifier.consistency import Check
from verifier.formats import BUILT_IN, FormatError, RunData, get_format
from verifier.results import RunResult
from verifier.run_files import RunFiles


def document_paths() -> dict[str, str]:
    """The run-relative path of each built-in format's document in a bundle, by format name."""
    return {name: f"reports/{get_format(name).filename}" for name in BUILT_IN}


def _render_all(result: RunResult, files: RunFiles) -> dict[str, bytes | FormatError]:
    """Each built-in document, by run-relative path, or the ``FormatError`` that kept it from rendering."""
    out: dict[str, bytes | FormatError] = {}
    try:
        data = RunData.from_run(result, files)
    except FormatError as err:
        return dict.fromkeys(document_paths().values(), err)
    for name, rel in document_paths().items():
        try:
            out[rel] = get_format(name).render(data)
        except FormatError as err:
            out[rel] = err
    return out


def bundle_documents(result: RunResult, files: RunFiles) -> tuple[dict[str, bytes], dict[str, str]]:
    """The documents to pack (run-relative path -> bytes) and those left out with why."""
    made = _render_all(result, files)
    return ({rel: doc for rel, doc in made.items() if isinstance(doc, bytes)},
            {rel: str(doc) for rel, doc in made.items() if not isinstance(doc, bytes)})


def check_documents(result: RunResult, files: RunFiles, packed: Callable[[str], bytes | None],
                    listed: set[str]) -> list[Check]:
    """Each built-in document re-rendered from the bundled data and compared with the packed one
    (``packed(rel)`` its bytes, ``listed`` the run-relative paths the manifest lists)."""
    checks = []
    good = []
    for rel, want in _render_all(result, files).items():
        if isinstance(want, FormatError):
            if rel in listed:
                checks.append(Check(False, f"document {rel}: packed, but the bundle's data does not render it "
                                           f"({want})"))
            else:
                checks.append(Check(None, f"document {rel}: not packed, the bundle's data does not render it ({want})"))
            continue
        if rel not in listed:
            checks.append(Check(False, f"document {rel}: missing; a bundle carries it, rendered from its data"))
            continue
        got = packed(rel)
        if got == want:
            good.append(rel)
        else:
            checks.append(Check(False, f"document {rel}: differs from what the bundled results.json and origin "
                                       "analysis render to"))
    if good:
        checks.insert(0, Check(True, f"documents: {', '.join(good)} are byte for byte what the bundled data renders to"))
    return checks
