"""Manual adjudication: a reviewer's decision on a file's origin, applied while the content matches.

The file is YAML or JSON: a list (or ``{adjudications: [...]}``) of entries::

    - path: src/legacy/report.py          # the file, repository-relative POSIX
      sha256: 3f2a…                       # REQUIRED with path: the content that was reviewed
      origin: self                        # self | third_party | generated | excluded | unknown
      justification: 由本公司重写，原第三方代码已全部替换
      reviewer: 张三（湖南省软件测评中心）
      date: 2024-05-20
    - sha256: 9b1c…                       # a content hash alone: every file with that content
      origin: third_party
      justification: copy of zlib's inflate.c
      reviewer: Li Si
      date: 2024-05-21

A path entry must carry the sha256 of the content the reviewer examined (``verifier origin --json``
lists each file's sha256): the decision holds only while the file still has that content; once the
file changes the entry is *stale*, reported, and not applied. Every applied override is listed in
the output with the origin it replaced.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from verifier.errors import InputError
from verifier.origin.classify import FileOrigin
from verifier.origin.model import ORIGINS
from verifier.paths import read_file
from verifier.repo_paths import normalize_repo_path

#: An adjudication file larger than this is refused (about 40,000 entries).
MAX_BYTES = 16 * 1024 * 1024


class Adjudication(BaseModel):
    """One reviewer decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = None
    sha256: str | None = None
    origin: str
    justification: str = Field(min_length=1)
    reviewer: str = Field(min_length=1)
    date: dt.date

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else normalize_repo_path(value)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("must be a 64-digit hex SHA-256")
        return value

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        if value not in ORIGINS:
            raise ValueError(f"{value!r} is not one of {', '.join(ORIGINS)}")
        return value

    @field_validator("justification", "reviewer")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _target(self) -> Adjudication:
        if self.sha256 is None:
            raise ValueError("needs sha256 (the content that was reviewed); "
                             "a path alone would outlive changes to the file")
        return self

    def to_json(self) -> dict[str, Any]:
        """The entry as JSON."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class StaleAdjudication:
    """An adjudication that was not applied, and why."""

    adjudication: Adjudication
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The entry and the reason, as JSON."""
        return {**self.adjudication.to_json(), "stale": self.reason}


def load_adjudications(path: Path | str) -> tuple[Adjudication, ...]:
    """Read an adjudication file (YAML or JSON); ``InputError`` names the file and entry at fault."""
    path = Path(path)
    raw = read_file(path, what="adjudication file", max_bytes=MAX_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: cannot read the adjudication file: {err}") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: not valid JSON: {err.msg}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise InputError(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}") \
            from None
    if isinstance(data, dict) and set(data) == {"adjudications"}:
        data = data["adjudications"]
    if data is None:
        return ()
    if not isinstance(data, list):
        raise InputError(f"{path}: an adjudication file is a list of entries "
                         "(path/sha256, origin, justification, reviewer, date)")
    out: list[Adjudication] = []
    seen: dict[tuple[str | None, str | None], int] = {}
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InputError(f"{path}: entry {index}: expected a mapping, got "
                             f"{type(item).__name__}")
        try:
            entry = Adjudication.model_validate(item)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            where = f"entry {index}: {field}" if field else f"entry {index}"
            raise InputError(f"{path}: {where}: {message}") from None
        key = (entry.path, entry.sha256)
        if key in seen:
            raise InputError(f"{path}: entry {index}: same file as entry {seen[key]}")
        seen[key] = index
        out.append(entry)
    return tuple(out)


def apply_adjudications(files: Sequence[FileOrigin], adjudications: Sequence[Adjudication]
                        ) -> tuple[tuple[FileOrigin, ...], list[dict[str, Any]],
                                   list[StaleAdjudication]]:
    """Override origins whose file still has the reviewed content.

    Returns the files, the applied overrides (with the origin each replaced) and the stale entries.
    A path entry wins over a content-hash-only entry for the same file.
    """
    by_path = {a.path: a for a in adjudications if a.path is not None}
    by_sha = {a.sha256: a for a in adjudications if a.path is None}
    paths = {f.path: f for f in files}
    stale: list[StaleAdjudication] = []
    for adj in by_path.values():
        current = paths.get(adj.path)  # type: ignore[arg-type]
        if current is None:
            stale.append(StaleAdjudication(adj, "no such file in the delivery"))
        elif current.sha256 != adj.sha256:
            stale.append(StaleAdjudication(
                adj, f"content changed since review (reviewed {adj.sha256[:12]}…, "  # type: ignore[index]
                     f"now {current.sha256[:12]}…)"))
    shas = {f.sha256 for f in files}
    for adj in by_sha.values():
        if adj.sha256 not in shas:
            stale.append(StaleAdjudication(adj, "no file in the delivery has this content"))
    out: list[FileOrigin] = []
    applied: list[dict[str, Any]] = []
    for file in files:
        found = by_path.get(file.path)
        if found is None or found.sha256 != file.sha256:
            found = by_sha.get(file.sha256)
        if found is None:
            out.append(file)
            continue
        adj = found
        if not file.counted:
            stale.append(StaleAdjudication(adj, f"{file.path} is not counted source code "
                                                f"({file.kind}): nothing to override"))
            out.append(file)
            continue
        record = {**adj.to_json(), "file": file.path, "previous_origin": file.origin,
                  "previous_rule": file.rule, "previous_reason": file.reason,
                  "lines": file.lines}
        applied.append(record)
        out.append(replace(
            file, origin=adj.origin, rule="adjudicated", matched_lines=0,
            reason=f"manual adjudication by {adj.reviewer} on {adj.date.isoformat()}: "
                   f"{adj.justification} (tools said {file.origin}: {file.reason})",
            adjudication=record))
    return tuple(out), applied, stale
