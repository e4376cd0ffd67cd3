"""Pydantic field types for paths and globs inside the delivered repository.

Use them in any spec model (probe ``with:`` arguments, service, materials) so that a path that
escapes the repository is reported at its own line of the spec::

    class MyArgs(ProbeArgs):
        path: RepoPath = "tests"
        include: list[RepoGlob] = []

A value must be relative, POSIX (``/``), without ``..``; it is normalised (``./a//b`` -> ``a/b``).
When the spec is loaded with a repository (``load_spec(..., repo=PATH)``), a plain path is also
resolved inside it and rejected if a symlink leads out of the tree; a ``RepoPath`` the spec sets
must then exist (an input the probe reads), while a ``RepoGlob`` that matches nothing only earns a
warning (``repo_references`` finds them all in a validated model).
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ValidationInfo

from verifier.globs import compile_glob

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
    if value.startswith(("/", "~")) or _DRIVE.match(value):
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


#: A path beside the task book rather than in the repository: the agency's own asset.
SPEC_DIR_PREFIX = "{spec_dir}/"


def _validator(glob: bool):
    def validate(value: str, info: ValidationInfo) -> str:
        normalized = normalize_repo_path(value, glob=glob)
        repo = (info.context or {}).get("repo") if info is not None else None
        if repo is not None:
            check_inside(Path(repo), normalized)
        return normalized

    return mark_repo_kind(validate, "glob" if glob else "path")


RepoKind = Literal["path", "glob"]


def mark_repo_kind(func: Any, kind: RepoKind) -> Any:
    """Tag validator ``func`` so that ``repo_references`` reports values it validates as ``kind``."""
    func.__repo_kind__ = kind
    return func


def path_exists(repo: Path, rel: str) -> bool:
    """Whether repository path ``rel`` exists (a pytest node id's ``::`` part is ignored)."""
    return os.path.exists(Path(repo) / rel.partition("::")[0])


def glob_matches(repo: Path, pattern: str) -> bool:
    """Whether glob ``pattern`` (``**`` any depth; a node id's ``::`` part ignored) matches at least
    one path (file or directory) inside ``repo``, with the matcher every consumer of the glob uses
    (``verifier.globs``, linear time). The tree is walked from the pattern's fixed leading names
    without following symbolic links; a link that matches counts only when it resolves inside."""
    pattern = pattern.partition("::")[0]
    root = Path(repo).resolve()
    glob = compile_glob(pattern)
    if not glob.names:
        return root.is_dir()
    fixed: list[str] = []
    for name in glob.names[:-1]:
        if _GLOB_CHARS.search(name):
            break
        fixed.append(name)
    start = root.joinpath(*fixed)
    try:
        if not start.resolve().is_relative_to(root) or not start.is_dir():
            return False
        if fixed and glob.match("/".join(fixed)):
            return True
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            base = Path(dirpath).relative_to(start).as_posix()
            prefix = "/".join(fixed + ([] if base == "." else [base]))
            for name in (*dirnames, *filenames):
                rel = f"{prefix}/{name}" if prefix else name
                if glob.match(rel) and (root / rel).resolve().is_relative_to(root):
                    return True
    except (OSError, ValueError):
        return False
    return False


@dataclass(frozen=True)
class RepoRef:
    """A repository path or glob found in a validated model, with where it stands."""

    loc: tuple[str | int, ...]
    """Field path below the model, e.g. ``("paths", 0)`` (aliases used as keys)."""
    value: str
    kind: RepoKind
    declared: bool
    """False when the value is a field's default, not written in the spec."""


def repo_references(model: BaseModel, loc: tuple[str | int, ...] = (),
                    declared: bool = True) -> Iterator[RepoRef]:
    """Every ``RepoPath`` / ``RepoGlob`` value (and any validator tagged by ``mark_repo_kind``) in
    ``model`` and the models below it, in field order."""
    seen: set[tuple[str | int, ...]] = set()
    for ref in _model_refs(model, loc, declared):
        if ref.loc not in seen:
            seen.add(ref.loc)
            yield ref


def _model_refs(model: BaseModel, loc: tuple[str | int, ...], declared: bool) -> Iterator[RepoRef]:
    for name, field in type(model).model_fields.items():
        here = loc + (field.alias or name,)
        yield from _refs(getattr(model, name), field.annotation, field.metadata, here,
                         declared and name in model.model_fields_set)


def _kind(metadata: Any) -> RepoKind | None:
    for item in metadata or ():
        kind = getattr(getattr(item, "func", None), "__repo_kind__", None)
        if kind is not None:
            return kind
    return None


def _refs(value: Any, annotation: Any, metadata: Any, loc: tuple[str | int, ...],
          declared: bool) -> Iterator[RepoRef]:
    kind = _kind(metadata)
    if kind is not None and isinstance(value, str):
        if not value.startswith(SPEC_DIR_PREFIX):  # an agency asset: checked beside the task book
            yield RepoRef(loc, value, kind, declared)
        return
    if isinstance(value, BaseModel):
        yield from _model_refs(value, loc, declared)
        return
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        yield from _refs(value, args[0], args[1:], loc, declared)
    elif origin in (Union, types.UnionType):
        for member in args:
            yield from _refs(value, member, (), loc, declared)
    elif isinstance(value, (list, tuple)) and args:
        for index, item in enumerate(value):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                member = args[index] if index < len(args) else Any
            else:
                member = args[0]
            yield from _refs(item, member, (), loc + (index,), declared)
    elif isinstance(value, dict) and len(args) == 2:
        for key, item in value.items():
            yield from _refs(item, args[1], (), loc + (str(key),), declared)


RepoPath = Annotated[str, AfterValidator(_validator(glob=False))]
"""A file or directory path relative to the delivered repository."""

RepoGlob = Annotated[str, AfterValidator(_validator(glob=True))]
"""A repository-relative POSIX glob (``**`` matches any number of directories)."""


def _repo_or_asset(value: str, info: ValidationInfo) -> str:
    if value.startswith(SPEC_DIR_PREFIX):
        rest = value[len(SPEC_DIR_PREFIX):]
        try:
            return SPEC_DIR_PREFIX + normalize_repo_path(rest)
        except ValueError as exc:
            raise ValueError(str(exc).replace("the repository", "the task book's directory")) from None
    return _validator(glob=False)(value, info)


RepoOrAssetPath = Annotated[str, AfterValidator(mark_repo_kind(_repo_or_asset, "path"))]
"""A path relative to the delivered repository, or ``{spec_dir}/PATH``: an agency's own file beside
the task book (checked to exist there when the spec is loaded, never looked for in the repository)."""
