"""Pydantic field types for paths and globs inside the delivered repository.

Use them in any spec model (probe ``with:`` arguments, service, materials) so that a path that
escapes the repository is reported at its own line of the spec::

    class MyArgs(ProbeArgs):
        path: RepoPath = "tests"
        include: list[RepoGlob] = []

A value must be relative, POSIX (``/``), without ``..``; it is normalised (``./a//b`` -> ``a/b``).
When the spec is loaded with a repository (``load_spec(..., repo=PATH)``), a plain path is also
resolved inside it and rejected if a symlink leads out of the tree.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

_DRIVE = re.compile(r"^[A-Za-z]:")
_GLOB_CHARS = re.compile(r"[*?\[]")


def normalize_repo_path(value: str, *, glob: bool = False) -> str:
    """``value`` as a normalised repository-relative POSIX path; ``ValueError`` if it escapes."""
    kind = "glob" if glob else "path"
    if not value or not value.strip():
        raise ValueError(f"empty {kind}")
    if "\x00" in value:
        raise ValueError(f"{kind} contains a NUL byte")
    if "\\" in value:
        raise ValueError(f"{kind} {value!r} uses '\\': write repository paths with '/'")
    if value.startswith("/") or value.startswith("~") or _DRIVE.match(value):
        raise ValueError(f"{kind} {value!r} is absolute: write it relative to the repository")
    parts = [part for part in value.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{kind} {value!r} escapes the repository ('..')")
    if not parts:
        return "."
    return "/".join(parts)


def check_inside(repo: Path, rel: str) -> None:
    """``ValueError`` if ``rel`` (or the fixed part of a glob) resolves outside ``repo``."""
    fixed: list[str] = []
    for part in PurePosixPath(rel).parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    if not fixed:
        return
    root = repo.resolve()
    target = (root / Path(*fixed)).resolve()
    if target != root and not target.is_relative_to(root):
        raise ValueError(f"{rel!r} leads out of the repository (through a symlink) to {target}")


def _validator(glob: bool):
    def validate(value: str, info: ValidationInfo) -> str:
        normalized = normalize_repo_path(value, glob=glob)
        repo = (info.context or {}).get("repo") if info is not None else None
        if repo is not None:
            check_inside(Path(repo), normalized)
        return normalized

    return validate


RepoPath = Annotated[str, AfterValidator(_validator(glob=False))]
"""A file or directory path relative to the delivered repository."""

RepoGlob = Annotated[str, AfterValidator(_validator(glob=True))]
"""A repository-relative POSIX glob (``**`` matches any number of directories)."""
