"""The ``verifier`` command line. Commands live in their own modules and are loaded lazily.

The CLI only parses, calls the engine and turns ``VerifierError`` into a one-line message with an
exit code (see ``verifier.errors.ExitCode``); the engine never prints.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from verifier import __version__
from verifier.cli.output import say
from verifier.errors import ExitCode, VerifierError
from verifier.textsafe import printable

#: command name -> "module:attribute" of its click.Command
_COMMANDS: dict[str, str] = {
    "origin": "verifier.cli.origin:origin",
    "kb": "verifier.cli.kb:kb",
    "probes": "verifier.cli.probes:probes_command",
    "run": "verifier.cli.run:run_command",
    "init": "verifier.cli.spec_cmds:init",
    "check": "verifier.cli.spec_cmds:check",
    "report": "verifier.cli.report_cmds:report", "bundle": "verifier.cli.report_cmds:bundle",
    "verify": "verifier.cli.report_cmds:verify", "keygen": "verifier.cli.report_cmds:keygen",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context):  # click API
        try:
            return super().invoke(ctx)
        except VerifierError as err:
            message = f"verifier: error: {err}"
            if err.hint:
                message += f" ({err.hint})"
            say(message, err=True)
            ctx.exit(int(err.exit_code))
        except click.UsageError as err:  # one line too, rather than click's usage block
            command = _command_words(err.ctx)
            where = f"{command}: " if command else ""
            say(f"verifier: error: {where}{err.format_message()} "
                f"(see 'verifier {command + ' ' if command else ''}--help')", err=True)
            ctx.exit(int(ExitCode.INPUT_ERROR))
        except click.ClickException as err:  # click prints it: its message may quote a value given
            err.message = printable(err.message)  # type: ignore[misc]  # click declares it Final; escaped in place
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            say("verifier: interrupted", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError:  # `verifier … | head`: the reader left; not an error of ours
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(int(ExitCode.OK))
        except Exception as err:  # a bug in verifier: still one line, unless asked for the trace
            if os.environ.get("VERIFIER_DEBUG"):
                raise
            say(f"verifier: internal error: {type(err).__name__}: {err} "
                "(set VERIFIER_DEBUG=1 for the traceback)", err=True)
            ctx.exit(int(ExitCode.INCOMPLETE))


def _command_words(ctx: click.Context | None) -> str:
    """The subcommand words of ``ctx`` (``kb info``), without the program name."""
    words = []
    while ctx is not None and ctx.parent is not None:
        words.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(words))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                               "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="verifier")
def main() -> None:
    """verifier: check a delivered software product against its task book (项目任务书).

    \b
    Exit codes: 0 target met / verified, 1 target not met, 2 usage or input error,
    3 incomplete (a tool failed, so no verdict).
    """


def run() -> None:  # pragma: no cover - console entry used by `python -m verifier`
    sys.exit(main())
