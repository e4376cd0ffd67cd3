"""The acceptance dossier (验收材料, rule 15.1): the spec's ``materials:`` section and its check.

Each dossier item is a repository-relative POSIX glob (``**`` crosses directories) or a list of them,
optionally with a minimum count::

    materials:
      test_report: docs/acceptance/test-report*.pdf
      user_evaluations: {patterns: [docs/acceptance/user-eval-*.pdf], min: 2}

``check_materials`` looks only inside the repository (symbolic links are never followed out of it),
counts the matching files and hashes each one.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.globs import glob_match
from verifier.results import MaterialCheck, MaterialFound
from verifier.vocabulary import DOSSIER


class MaterialItem(BaseModel):
    """One dossier item: the globs that find it and how many files must match."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    patterns: list[str] = Field(min_length=1)
    """Repository-relative POSIX globs; ``**`` matches any number of directories."""
    min: int | None = Field(default=None, ge=1)
    """Minimum number of matching files; None means the item's default (2 for user evaluations)."""

    @model_validator(mode="before")
    @classmethod
    def _from_short_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"patterns": [value]}
        if isinstance(value, list):
            return {"patterns": value}
        return value

    @field_validator("patterns")
    @classmethod
    def _check_patterns(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            _check_pattern(pattern)
        return patterns


class MaterialsConfig(BaseModel):
    """The spec's ``materials:`` section. An item left out is reported as not declared (missing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test_report: MaterialItem | None = None
    """产品测试报告"""
    function_list: MaterialItem | None = None
    """产品功能清单"""
    novelty_search: MaterialItem | None = None
    """科技查新报告"""
    audit_report: MaterialItem | None = None
    """专项审计报告"""
    user_evaluations: MaterialItem | None = None
    """用户使用评价报告 (at least 2 by default)"""
    ip_proofs: MaterialItem | None = None
    """知识产权证明"""


def required_count(key: str, item: MaterialItem | None) -> int:
    """The minimum number of files for dossier item ``key``: the declared ``min`` or the default."""
    if item is not None and item.min is not None:
        return item.min
    return DOSSIER[key].default_min


def check_materials(config: MaterialsConfig | None, repo: str | os.PathLike[str]) -> list[MaterialCheck]:
    """Check every dossier item against the files of ``repo``: one ``MaterialCheck`` per item.

    Only regular files inside the repository count (``.git`` skipped, links out never followed);
    each found file is sha256-hashed.
    """
    config = config or MaterialsConfig()
    root = Path(repo).resolve()
    files = _repository_files(root)
    checks: list[MaterialCheck] = []
    for key, term in DOSSIER.items():
        item: MaterialItem | None = getattr(config, key)
        patterns = list(item.patterns) if item else []
        matched = sorted({rel for rel in files for p in patterns if glob_match(rel, p)})
        found = [_hash_file(root, rel) for rel in matched]
        required = required_count(key, item)
        checks.append(MaterialCheck(key=key, label_zh=term.zh, label_en=term.en, patterns=patterns,
                                    required=required, found=found,
                                    ok=bool(patterns) and len(found) >= required))
    return checks


def _check_pattern(pattern: str) -> None:
    if not pattern or not pattern.strip():
        raise ValueError("empty glob")
    if pattern.startswith("/") or re.match(r"^[A-Za-z]:", pattern) or "\\" in pattern:
        raise ValueError(f"glob {pattern!r} must be a repository-relative POSIX path")
    if ".." in pattern.split("/"):
        raise ValueError(f"glob {pattern!r} must not leave the repository ('..')")


def _repository_files(root: Path) -> list[str]:
    """Relative POSIX paths of the regular files under ``root`` (links out of it left aside)."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d != ".git" and not os.path.islink(os.path.join(dirpath, d)))
        for name in filenames:
            full = Path(dirpath, name)
            if full.is_symlink():
                target = full.resolve()
                if not target.is_relative_to(root) or not target.is_file():
                    continue
            elif not full.is_file():
                continue
            found.append(full.relative_to(root).as_posix())
    return sorted(found)


def _hash_file(root: Path, rel: str) -> MaterialFound:
    digest = hashlib.sha256()
    size = 0
    with open(root / rel, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return MaterialFound(path=rel, sha256=digest.hexdigest(), size=size)
