"""Click parameter types for every path a command takes, checked by ``verifier.paths``.

A bad path (missing, a FIFO, a device, a directory for a file or the reverse, ``/proc``, a missing
or unwritable parent) is raised as ``InputError`` while the arguments are parsed, so the command
stops with one line, ``verifier: error: PATH: what is wrong``, exit 2, before doing anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from verifier import paths


class _CheckedPath(click.ParamType):
    """A path run through one of ``verifier.paths``' checks; ``-`` passes when ``allow_dash``."""

    check: Callable[..., Path]

    def __init__(self, what: str, *, path_type: type = Path, allow_dash: bool = False) -> None:
        self.what = what
        self.path_type = path_type
        self.allow_dash = allow_dash

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The checked path as ``path_type``; ``InputError`` (one line, exit 2) if unusable."""
        text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        if not (self.allow_dash and text == "-"):
            type(self).check(text, what=self.what)
        return self.path_type(text)


class InputFile(_CheckedPath):
    """An existing, readable regular file (not a FIFO, device, directory or pseudo-file)."""

    name = "file"
    check = staticmethod(paths.check_file)


class InputDirectory(_CheckedPath):
    """An existing, readable directory on a real filesystem."""

    name = "directory"
    check = staticmethod(paths.check_directory)


class WritableDirectory(_CheckedPath):
    """An existing directory that will be written into (a run directory to resume)."""

    name = "directory"

    @staticmethod
    def check(text: str, *, what: str) -> Path:
        """An existing directory on a real filesystem, readable and writable."""
        paths.check_directory(text, what=what)
        return paths.check_output_directory(text, what=what)


class InputPath(_CheckedPath):
    """An existing regular file or directory (a source tree or an archive)."""

    name = "path"
    check = staticmethod(paths.check_file_or_directory)


class OutputFile(_CheckedPath):
    """A file to write: new or regular and writable, in an existing writable directory."""

    name = "file"
    check = staticmethod(paths.check_output_file)


class OutputDirectory(_CheckedPath):
    """A directory to create or write into."""

    name = "directory"
    check = staticmethod(paths.check_output_directory)
