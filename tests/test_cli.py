"""The CLI contract: every command has help, --version works, usage errors exit 2 on one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from verifier import __version__
from verifier.cli import _COMMANDS, main


def test_version(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_every_command_has_help_text(name: str, cli) -> None:
    command = main.get_command(None, name)
    assert command is not None and (command.help or "").strip(), f"{name} has no help text"
    result = cli(name, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    for param in command.params:  # every option says what it does
        if param.param_type_name == "option" and not getattr(param, "hidden", False):
            assert (param.help or "").strip() or param.name in ("help",), f"{name} --{param.name}"


def test_top_level_help_lists_every_command(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for name in _COMMANDS:
        assert name in result.output


def test_unknown_command_and_option_are_usage_errors(cli) -> None:
    assert cli("no-such-command").exit_code == 2
    assert cli("run", "--no-such-option").exit_code == 2


def test_module_entry_point_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "verifier", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and __version__ in out.stdout
