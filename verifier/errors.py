"""Exit codes and the base exceptions the CLI turns into one-line errors.

The engine never prints and never exits: it raises these, and ``verifier.cli`` maps them to a
one-line message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The CLI's exit-code contract (documented in README.md)."""

    OK = 0
    """Every target met / everything verified."""
    NOT_MET = 1
    """The tool ran to completion and a target was not met (or verification found a mismatch)."""
    INPUT_ERROR = 2
    """Usage or input error: bad path, malformed spec, corrupt archive, …"""
    INCOMPLETE = 3
    """A tool failed, so no verdict can be given."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (SIGINT), as shells report it; a run can be resumed."""


class VerifierError(Exception):
    """Base of every error verifier raises on purpose. ``str(err)`` is the one-line message."""

    exit_code: ExitCode = ExitCode.INPUT_ERROR
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class InputError(VerifierError):
    """The input (path, archive, spec, adjudication file, key, bundle …) is unusable. Exit 2."""

    exit_code = ExitCode.INPUT_ERROR


class ToolError(VerifierError):
    """An external tool (scancode, pytest, Locust …) failed so that no verdict is possible. Exit 3."""

    exit_code = ExitCode.INCOMPLETE
