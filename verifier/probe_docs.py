"""What each probe's ``with:`` accepts, read from the probe's own ``Args`` model: every argument's
name, type, default and description, nested models included (``endpoints[].method``).

A description is the field's docstring (the string literal right below it in the class body, in
the class or any base that declares it) or its pydantic ``description``. Nothing here is written
by hand: ``verifier probes NAME``, ``verifier probes --json`` and the README's table of probe
arguments (``markdown``; a test compares the README with it) all come from the models.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import types
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from verifier.fieldtypes import EnvValue, parse_duration

_REPO_KINDS = {"path": "path in the repository", "glob": "glob in the repository"}


@dataclass(frozen=True)
class ArgumentDoc:
    """One argument of a probe's ``with:``."""

    name: str
    """Its name; a nested one is ``parent.child`` or ``parent[].child`` (inside a list)."""
    type: str
    """Its type in words (``integer``, ``list of request``, ``duration``, ``json | text``)."""
    default: str | None
    """Its default as JSON text; None when the argument is required."""
    required: bool
    description: str

    def to_json(self) -> dict[str, Any]:
        """The argument as a JSON object."""
        return asdict(self)


@cache
def attribute_docstrings(cls: type) -> Mapping[str, str]:
    """Field name -> the docstring written right below it, in ``cls`` and its bases (the nearest
    class wins); empty for classes whose source cannot be read."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, BaseModel) or klass.__module__.startswith("pydantic"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                found[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return found


def _repo_kind(metadata: Iterable[Any]) -> str | None:
    for item in metadata:
        func = getattr(item, "func", None)
        kind = getattr(func, "__repo_kind__", None)
        if kind is not None:
            if getattr(func, "__name__", "") == "_repo_or_asset":
                return "path in the repository, or {spec_dir}/… beside the task book"
            return _REPO_KINDS.get(kind, kind)
        if func is parse_duration:
            return "duration"
    return None


def _model_noun(model: type[BaseModel]) -> str:
    name = model.__name__
    return {"HttpRequest": "request", "ServiceCommand": "command", "MalformedCase": "case",
            "MatrixEnvironment": "environment"}.get(name, name)


def type_text(annotation: Any, metadata: Iterable[Any] = ()) -> str:
    """``annotation`` in words, for people who write task books."""
    special = _repo_kind(metadata)
    if special:
        return special
    if annotation is EnvValue:
        return "string"
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_text(args[0], args[1:])
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(type_text(a) for a in members))
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (list, tuple) and origin is list:
        return f"list of {type_text(args[0])}" if args else "list"
    if origin is tuple:
        return "[" + ", ".join(type_text(a) for a in args) + "]"
    if origin is dict:
        return f"map of {type_text(args[1])}" if len(args) == 2 else "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_noun(annotation)
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(annotation, "any JSON value")


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside ``annotation`` (a list of models, a union of them …)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in args if origin is not None else ():
        found += _models(arg)
    return found


def _in_list(annotation: Any) -> bool:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _in_list(args[0])
    if origin in (Union, types.UnionType):
        return any(_in_list(a) for a in args)
    return origin is list


def _default(field: Any) -> tuple[str | None, bool]:
    if field.default_factory is not None:
        return json.dumps(field.default_factory(), ensure_ascii=False, default=str), False
    if field.default is PydanticUndefined:
        return None, True
    return json.dumps(field.default, ensure_ascii=False, default=str), False


def probe_arguments(model: type[BaseModel], prefix: str = "", _seen: tuple[type, ...] = ()) -> list[ArgumentDoc]:
    """Every argument of ``model`` (a probe's ``Args``) and of the models nested in it, in field order."""
    docs = attribute_docstrings(model)
    out: list[ArgumentDoc] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        default, required = _default(field)
        description = field.description or docs.get(name, "")
        out.append(ArgumentDoc(name=prefix + key, type=type_text(field.annotation, field.metadata),
                               default=default, required=required, description=description))
        for nested in _models(field.annotation):
            if nested in _seen:
                continue
            below = f"{prefix}{key}{'[]' if _in_list(field.annotation) else ''}."
            out += probe_arguments(nested, below, (*_seen, model))
    return _unique(out)


def _unique(docs: list[ArgumentDoc]) -> list[ArgumentDoc]:
    """One row per name (a union of two models may share a field name)."""
    seen: dict[str, ArgumentDoc] = {}
    for doc in docs:
        seen.setdefault(doc.name, doc)
    return list(seen.values())


def markdown(probes: Mapping[str, type[Any]]) -> str:
    """The README's table of every probe's ``with:`` arguments (one table per probe)."""
    lines = ["<!-- generated by `verifier probes --markdown`; tests/test_probe_docs.py checks it -->", ""]
    for name, cls in probes.items():
        arguments = probe_arguments(cls.Args)
        if not arguments:
            lines += [f"#### `{name}`", "", "No `with:` arguments.", ""]
            continue
        lines += [f"#### `{name}`", "", "| argument | type | default | what it is |", "| --- | --- | --- | --- |"]
        for arg in arguments:
            default = "required" if arg.required else f"`{arg.default}`"
            text = arg.description.replace("|", "\\|")
            lines.append(f"| `{arg.name}` | {arg.type.replace('|', chr(92) + '|')} | {default} | {text} |")
        lines.append("")
    return "\n".join(lines)
