"""Tools verifier installs from PyPI and runs with its own interpreter (lizard, semgrep,
detect-secrets): a failed run that only means "the package is not installed" says which package
to install, instead of ending on a Python traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from verifier.probe import ProbeContext, ProbeError
from verifier.probekit import CANNOT_START, ToolRun, tool_failure

_NO_MODULE = re.compile(r"No module named '?([A-Za-z_][\w.]*)'?")


def missing_module(run: ToolRun) -> str | None:
    """The module a Python tool could not import (``No module named …`` in its output), or None."""
    if run.timed_out or run.returncode in (0, None):
        return None
    match = _NO_MODULE.search(run.tail(40))
    return match.group(1) if match else None


def harness_tool_failure(ctx: ProbeContext, run: ToolRun, what: str, timeout_s: float, *,
                         package: str, evidence: Iterable[str] = ()) -> ProbeError:
    """A ``ProbeError`` for a failed run of a PyPI tool: like ``tool_failure``, but a tool that is not
    installed (a missing module, an executable that cannot start) names its PyPI ``package``."""
    failure = tool_failure(ctx, run, what, timeout_s, evidence=evidence)
    module = missing_module(run)
    if module is not None:
        return ProbeError(f"{what} is not installed (no module {module!r}): install the PyPI package "
                          f"{package!r} into verifier's environment (pip install {package})",
                          tail=failure.tail, evidence=failure.evidence)
    if not run.timed_out and run.returncode == CANNOT_START:
        return ProbeError(f"{failure.reason}; is the PyPI package {package!r} installed? "
                          f"(pip install {package})", tail=failure.tail, evidence=failure.evidence)
    return failure
