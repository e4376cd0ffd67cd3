"""``{name}`` placeholders in declared commands, environment values and paths: one syntax everywhere.

A placeholder is ``{name}`` or ``{group.name}`` (``{port}``, ``{data_dir}``, ``{runtime.python}``);
``{{`` and ``}}`` are literal braces. Values are only ever substituted as text into argv items (or
shell-quoted for a command declared ``shell: true``), never evaluated.

Names every declared command may use, whatever runs it:

- ``{python}``: the interpreter running verifier;
- ``{repo}``: the delivered repository;
- ``{spec_dir}``: the task book's directory, where the agency's own assets live
  (``verifier.product.assets``);
- ``{runtime.python}``, ``{runtime.venv}``, ``{runtime.node}``, ``{runtime.java}``: the product's
  runtime as ``runtime:`` declares it (``verifier.product.runtime``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence

#: ``{name}`` or ``{group.name}``; ``{{`` and ``}}`` are matched so that they stay literal braces.
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}")

#: The product's runtime, as placeholders (``runtime:`` says which exist in a task book).
RUNTIME_PLACEHOLDERS = ("runtime.python", "runtime.venv", "runtime.node", "runtime.java")
#: Placeholders every declared command may use (a probe or the service may allow more).
COMMON_PLACEHOLDERS = ("python", "repo", "spec_dir", *RUNTIME_PLACEHOLDERS)


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders in ``text`` (``{{`` and ``}}`` are literal braces)."""
    return {m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1)}


def fill(text: str, values: Mapping[str, str], *, quote: bool = False, strict: bool = True) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]`` (shell-quoted when ``quote``) and
    ``{{``/``}}`` made literal braces. A name not in ``values`` raises ``KeyError`` when ``strict``,
    else stays as written."""

    def _replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            if strict:
                raise KeyError(name)
            return match.group(0)
        return shlex.quote(values[name]) if quote else values[name]

    return PLACEHOLDER.sub(_replace, text)


def command_argv(command: str | Sequence[str], values: Mapping[str, str], *, shell: bool = False) -> list[str]:
    """A declared command as argv with its placeholders filled: a string is split like a POSIX
    shell would first (a value with spaces stays one argument), unless it runs through
    ``/bin/sh -c`` (``shell``), where the values are quoted. ``ValueError`` when a string cannot be
    split, ``KeyError`` for a placeholder without a value."""
    if shell:
        text = command if isinstance(command, str) else shlex.join(command)
        return ["/bin/sh", "-c", fill(text, values, quote=True)]
    parts = shlex.split(command) if isinstance(command, str) else [str(p) for p in command]
    return [fill(part, values) for part in parts]


def unknown_placeholders(texts: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """The placeholders used in ``texts`` that are not ``allowed``, sorted."""
    used: set[str] = set().union(*(placeholders(t) for t in texts)) if texts else set()
    return sorted(used - set(allowed))


def describe(names: Sequence[str]) -> str:
    """``{a}, {b}`` for a message."""
    return ", ".join("{" + n + "}" for n in names)
