"""What goes wrong in a task book: ``SpecError`` stops loading, ``SpecWarning`` is a doubt kept."""

from __future__ import annotations

from dataclasses import dataclass

from verifier.errors import InputError


class SpecError(InputError):
    """A malformed spec. ``str(err)`` is one line: ``FILE:LINE: field.path: problem``."""

    def __init__(self, file: str, line: int | None, path: str, problem: str) -> None:
        problem = " ".join(problem.splitlines())
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {path}: {problem}" if path else f"{where}: {problem}")
        self.file, self.line, self.path, self.problem = file, line, path, problem


@dataclass(frozen=True)
class SpecWarning:
    """A doubt about a valid spec; ``str()`` is one line ``FILE:LINE: field.path: doubt``."""

    file: str
    line: int | None
    path: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.problem}" if self.path else f"{where}: {self.problem}"
