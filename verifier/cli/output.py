"""Everything the CLI shows goes through here, with control characters escaped (``verifier.textsafe``).

Names and text from a delivery or a bundle reach the terminal inside lines verifier composes; a
carriage return, line feed or ANSI escape in them must not forge or hide those lines. So commands never
call ``click.echo``, ``print`` or a plain rich ``Console``: they use

- ``say``: one line (anything in it escaped, so it stays one line);
- ``SafeConsole``: rich output (tables, colours) that never parses markup in text and escapes every
  string it renders; colours come from ``styled`` pieces, never from markup inside data, and a cell
  of several lines from ``stacked``;
- ``emit``: a data stream the user asked for on standard output (``--json -``, ``report -o -``):
  unchanged into a pipe or file, escaped (line breaks and tabs kept) on a terminal.

``tests/test_cli_output.py`` fails when a CLI module prints any other way.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

import click
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from verifier.textsafe import printable


def say(message: object = "", *, err: bool = False) -> None:
    """Print ``message`` as one line (stdout, or stderr with ``err``), control characters escaped."""
    click.echo(printable(message), err=err)


def emit(data: str | bytes) -> None:
    """Write a requested data stream to stdout: as is into a pipe or a file; on a terminal, with its
    control characters escaped (its own line breaks and tabs kept)."""
    if not sys.stdout.isatty():
        click.echo(data, nl=False, color=True)  # color: click would strip ANSI codes from the data
        return
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    click.echo(printable(text, keep="\n\t"), nl=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text from ``parts``: plain strings, or ``(text, style)`` pairs; each escaped."""
    line = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        line.append(printable(text), style=style)
    return line


def stacked(items: Iterable[object]) -> Text:
    """``items`` one per line (a table cell of several lines), each escaped."""
    return Text("\n").join(Text(printable(item)) for item in items)


class SafeConsole(Console):
    """A rich console for output with data in it: markup, emoji codes and highlighting are never read
    from text, every string it renders is escaped, and so is the text of every segment (line breaks
    the layout makes are kept)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(markup=False, emoji=False, highlight=False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:  # rich API
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(printable(text), **kwargs)

    def render(self, renderable: Any, options: Any = None) -> Iterable[Segment]:  # rich API
        for segment in super().render(renderable, options):
            if segment.control or not segment.text:
                yield segment
            else:
                yield Segment(printable(segment.text, keep="\n"), segment.style, segment.control)


def stdout_console(**kwargs: Any) -> SafeConsole:
    """A ``SafeConsole`` on stdout that stops printing, keeping our exit code, when the reader of a
    pipe goes away (``verifier run | head``); rich would exit 1."""
    return _StdoutConsole(**kwargs)


class _StdoutConsole(SafeConsole):
    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
