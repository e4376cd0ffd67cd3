"""A task book's YAML with line numbers: read under limits, every field path mapped to its line,
and problems (pydantic's or the loader's own) placed at the line they concern.

``compose`` reads the text (alias expansion, depth and duplicate keys bounded or refused);
``raise_first`` turns a list of ``(field path, problem)`` into the one-line ``SpecError`` of the
first problem by line, ``placed_warnings`` the doubts into ``SpecWarning`` in line order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from verifier.spec.errors import SpecError, SpecWarning

#: Limits that keep a hostile spec from exhausting memory (a task book is a few kilobytes).
MAX_BYTES = 4 * 1024 * 1024
MAX_VALUES = 200_000

Loc = tuple[str | int, ...]
"""A field path in the YAML document: ``("indicators", 2, "with", "users")``."""
_MISSING = "required field missing"


class Located:
    """Line numbers of a YAML document by field path, and duplicate keys found on the way."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int, int]] = []
        self._walked: set[int] = set()
        self.aliases: set[Loc] = set()
        """Where an alias (``*name``) stands: paths below it are located at the alias's line."""

    def walk(self, node: yaml.Node, loc: Loc) -> None:
        """Record the line of ``node`` at ``loc`` and of everything below it."""
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._walked:  # an alias: its lines were recorded at the anchor
            self.aliases.add(loc)
            return
        self._walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicates.append((loc + (key,), line, seen[key]))
                seen.setdefault(key, line)
                self.lines[loc + (key,)] = line
                self.walk(value_node, loc + (key,))
                self.lines[loc + (key,)] = line
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, loc + (index,))

    def line(self, loc: Loc) -> tuple[int, Loc]:
        """The line of the longest known prefix of ``loc``, and that prefix."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]], loc[:end]
        return 1, ()


def format_loc(loc: Loc) -> str:
    """``("indicators", 2, "with", "users")`` -> ``indicators[2].with.users``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml_error(file: str, err: yaml.YAMLError, text: str) -> SpecError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    if line is not None:
        source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        if re.search(r":\s*[>|][=<>]", source):
            message += "; quote targets that start with '>' or '|', e.g. target: \">= 95%\""
    return SpecError(file, line, "", " ".join(message.split()))


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for once aliases are expanded (computed once per node)."""
    if id(node) not in memo:
        memo[id(node)] = 1
        if isinstance(node, yaml.MappingNode):
            memo[id(node)] += sum(_expanded_size(k, memo) + _expanded_size(v, memo)
                                  for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            memo[id(node)] += sum(_expanded_size(item, memo) for item in node.value)
    return memo[id(node)]


def compose(text: str, file: str) -> tuple[Any, Located]:
    """The YAML mapping in ``text`` and where each of its fields stands; ``SpecError`` for invalid,
    empty, too large (aliases expanded), too deep or duplicate-key YAML, or a document that is not
    a mapping."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        located = Located()
        if node is None:
            raise SpecError(file, 1, "", "the spec is empty")
        if _expanded_size(node, {}) > MAX_VALUES:
            raise SpecError(file, 1, "", f"the spec expands to more than {MAX_VALUES} values "
                            "(YAML aliases nested into each other?)")
        located.walk(node, ())
        data = loader.construct_document(node)
    except yaml.YAMLError as err:
        raise _yaml_error(file, err, text) from None
    except RecursionError:
        raise SpecError(file, None, "", "the spec is nested too deeply") from None
    finally:
        loader.dispose()
    if located.duplicates:
        loc, line, first = min(located.duplicates, key=lambda item: item[1])
        raise SpecError(file, line, format_loc(loc), f"duplicate key (first at line {first})")
    if not isinstance(data, dict):
        raise SpecError(file, 1, "", f"the spec must be a mapping of sections "
                        f"(project, indicators, …), not a {type(data).__name__}")
    return data, located


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``loc`` (for listing allowed keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next((f for name, f in current.model_fields.items()
                      if (f.alias or name) == part), None)
        if field is None:
            return None
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
        stack.extend(getattr(item, "__args__", ()) or ())
    return None


def _problem(error: Mapping[str, Any], model: type[BaseModel] | None, loc: Loc) -> str:
    kind = error["type"]
    if kind == "missing":
        return _MISSING
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1]) if model is not None else None
        if parent is not None:
            allowed = ", ".join(f.alias or name for name, f in parent.model_fields.items())
            return f"unknown key (allowed: {allowed})"
        return "unknown key"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "enum"):
        shown = repr(error.get("input"))
        message += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return message


def raise_first(file: str, located: Located, problems: list[tuple[Loc, str]]) -> None:
    """Raise the ``SpecError`` of the first of ``problems`` by line (others counted in its text);
    nothing when there are none."""
    if not problems:
        return
    placed = []
    for order, (loc, problem) in enumerate(problems):
        line, known = located.line(loc)
        # A missing key lies one step beyond the data: name it. Other steps beyond the data are
        # pydantic's union tags ("str", "function-after[…]"): drop them.
        missing = problem == _MISSING and len(loc) == len(known) + 1
        aliased = known in located.aliases and all(_is_data_key(p) for p in loc[len(known):])
        placed.append((line, order, format_loc(loc if missing or aliased else known), problem))
    merged: dict[tuple[int, str], list[str]] = {}
    for line, _, path, problem in sorted(placed):
        # one value failing every member of a union gives one error per member: join them
        seen = merged.setdefault((line, path), [])
        if problem not in seen:
            seen.append(problem)
    (line, path), texts = next(iter(merged.items()))
    problem = "; or ".join(texts) if len(texts) > 1 else texts[0]
    more = len(merged) - 1
    if more:
        problem += f" (+{more} more problem{'s' if more > 1 else ''})"
    raise SpecError(file, line, path, problem)


def _is_data_key(part: str | int) -> bool:
    return isinstance(part, int) or "[" not in part


def pydantic_problems(err: ValidationError, model: type[BaseModel] | None,
                       prefix: Loc = ()) -> list[tuple[Loc, str]]:
    """Each error of ``err`` (raised validating ``model`` at ``prefix``) as a field path and one line."""
    problems = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        problems.append((prefix + loc, _problem(error, model, loc)))
    return problems


def placed_warnings(file: str, located: Located,
                    warnings: list[tuple[Loc, str]]) -> tuple[SpecWarning, ...]:
    """``warnings`` as ``SpecWarning`` at their lines, in line order."""
    placed = []
    for order, (loc, problem) in enumerate(warnings):
        line, _ = located.line(loc)
        placed.append((line, order, SpecWarning(file, line, format_loc(loc), problem)))
    return tuple(warning for _, _, warning in sorted(placed, key=lambda item: item[:2]))


def spec_data(text: str, *, file: str = "<spec>") -> dict[str, Any]:
    """The spec ``text`` as plain YAML data, read with the loader's limits (alias expansion, depth,
    duplicate keys) but not validated; ``SpecError`` when it is not a YAML mapping."""
    data: dict[str, Any] = compose(text, file)[0]  # compose refuses anything but a mapping
    return data
