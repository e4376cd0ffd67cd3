"""Helpers the tests share, importable the same way under ``pytest`` and ``python -m pytest``.

``tests/`` is on ``sys.path`` (``pythonpath`` in ``pyproject.toml``), so a test writes
``from support import write_tree`` or ``from support.bundle_runs import real_run``; fixtures live
in ``tests/conftest.py``, which no test imports. The modules:

- ``support`` (this module): the checkout's paths, ``write_tree``, ``unprivileged`` and
  ``default_signals``;
- ``support.auth_service``: the token-protected fixture service and contexts whose spec declares its login;
- ``support.bundle_runs``: real runs of small git deliveries, packed and verified;
- ``support.fixture_expectations``: known answers about the fixtures under ``fixtures/``;
- ``support.format_validators``: the standard documents read by their own validators;
- ``support.git_repos``: plain git (the user's own configuration) and tar copies of repositories;
- ``support.live_service``: the fixture services, tiny test services and probe contexts;
- ``support.registry_standins``: local stand-ins of the package registries (PyPI, npm, Debian);
- ``support.report_sample``: a deterministic run directory for report and bundle tests;
- ``support.runner_specs``: task books of ``command``-probe indicators for the runner tests;
- ``support.spec_fakes``: probes written for the spec, evaluation and scoring tests;
- ``support.zh_scan``: English prose left in a Chinese report.
"""

from __future__ import annotations

import os
import shutil
import signal
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "fixtures"


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``; return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def unprivileged(argv: list[str]) -> list[str]:
    """``argv`` run so that file permissions apply to it: as root, under ``setpriv`` without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH in its bounding and inheritable sets (the kernel then
    enforces mode bits for uid 0 too); as another user, as is. Skips the test when root has no
    ``setpriv``."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        import pytest

        pytest.skip("running as root without setpriv: permissions cannot be denied")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", caps, "--inh-caps", caps, "--", *argv]


def default_signals() -> None:
    """``preexec_fn`` for a child a test will signal: SIGINT, SIGHUP and SIGTERM at their default
    dispositions. A shell without job control starts background jobs with SIGINT ignored, and
    ``nohup`` ignores SIGHUP; a child inherits that, and Python then never raises
    KeyboardInterrupt, so a test of what Ctrl-C does would test how the suite was started."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
