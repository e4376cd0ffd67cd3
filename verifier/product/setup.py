"""Set-up commands: ``runtime.setup`` (make the product's runtime, once per run) and ``service.setup``
(migrations and seed data, once before the service's first start).

A step is a command line (split like a POSIX shell would, never run through one unless
``shell: true``), an argv list, or a mapping ``{command, cwd, env, shell, timeout}``. Steps run one
after the other under the watchdog (``verifier.proc.run_tool``: own process tree, timeout, output
kept as evidence); the first that fails, times out or cannot start stops the rest with
``SetupFailed`` naming the step, its exit status, the last line it printed and its log.

``runtime.setup`` can be skipped when nothing it depends on changed (``setup_key``, ``STAMP``):
the key hashes the declared steps and the content of the files the spec says they read
(``runtime.setup_inputs``); it is stored in the runtime's directory once the steps succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.errors import InputError
from verifier.evidence import sha256_file
from verifier.fieldtypes import Duration, EnvValue, env_names
from verifier.globs import compile_glob
from verifier.placeholders import command_argv, fill
from verifier.proc import run_tool
from verifier.repo_paths import RepoPath

#: The stamp a successful, cacheable ``runtime.setup`` leaves in the runtime's directory.
STAMP = ".verifier-setup.json"
#: At most this many files are hashed for ``runtime.setup_inputs``.
MAX_INPUT_FILES = 20_000
_CANNOT_START = 127


class SetupStep(BaseModel):
    """One set-up command. Written as a string or an argv list, or as a mapping with options."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    command: str | list[str]
    """The command: a string split like a POSIX shell would, or an argv list; placeholders allowed."""
    cwd: RepoPath = "."
    """Working directory, relative to the repository (for ``service.setup``: the service's cwd by default)."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Extra environment variables (placeholders allowed)."""
    shell: bool = False
    """Run through ``/bin/sh -c`` (placeholder values are shell-quoted); only when declared."""
    timeout: Duration | None = None
    """Seconds this step may take (default: the section's ``setup_timeout``)."""

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, data: Any) -> Any:
        if isinstance(data, (str, list)):
            return {"command": data}
        return data

    @field_validator("command")
    @classmethod
    def _command(cls, value: str | list[str]) -> str | list[str]:
        try:
            parts = shlex.split(value) if isinstance(value, str) else value
        except ValueError as exc:
            raise ValueError(f"command cannot be split: {exc}") from None
        if not parts or not str(parts[0]).strip():
            raise ValueError("command is empty")
        return value

    _env = field_validator("env")(env_names)

    @property
    def label(self) -> str:
        """The command as declared, on one line (cut to 100 characters)."""
        text = self.command if isinstance(self.command, str) else shlex.join(self.command)
        return text if len(text) <= 100 else text[:99] + "…"

    def texts(self) -> list[str]:
        """Every string of the step that may hold placeholders (command and env values)."""
        parts = [self.command] if isinstance(self.command, str) else list(self.command)
        return [*parts, *self.env.values()]


@dataclass(frozen=True)
class StepRun:
    """One set-up step as it ran."""

    index: int
    """1-based position in its section."""
    argv: tuple[str, ...]
    cwd: str
    returncode: int | None
    timed_out: bool
    duration_s: float
    stdout: Path
    stderr: Path


class SetupFailed(InputError):
    """A set-up step failed, timed out or could not start: the delivery cannot be set up as the
    task book says. One line naming the step, what happened, its last output line and its log."""

    def __init__(self, message: str, *, run: StepRun | None = None) -> None:
        super().__init__(message)
        self.run = run


def run_steps(steps: Sequence[SetupStep], *, where: str, values: Mapping[str, str],
              env: Mapping[str, str], repo: Path, out_dir: Path, name: str, timeout_s: float,
              cwd: Path | None = None) -> list[StepRun]:
    """Run ``steps`` in order (``where`` names the section in errors, ``name`` the log files:
    ``out_dir/NAME-N.stdout.txt``); every step's run, or ``SetupFailed`` at the first failure."""
    runs: list[StepRun] = []
    for index, step in enumerate(steps, 1):
        here = f"{where}[{index}] ({step.label})"
        try:
            argv = command_argv(step.command, values, shell=step.shell)
            step_env = {**env, **{k: fill(v, values) for k, v in step.env.items()}}
        except KeyError as exc:
            raise SetupFailed(f"{here}: placeholder {{{exc.args[0]}}} has no value here") from None
        except ValueError as exc:
            raise SetupFailed(f"{here}: {exc}") from None
        workdir = cwd if cwd is not None and step.cwd == "." else _inside(repo, step.cwd, here)
        timeout = step.timeout or timeout_s
        run = run_tool(argv, cwd=workdir, timeout_s=timeout, out_dir=out_dir, name=f"{name}-{index}",
                       env=step_env)
        done = StepRun(index, tuple(run.argv), str(workdir), None if run.timed_out else run.returncode,
                       run.timed_out, round(run.duration_s, 3), run.stdout_path, run.stderr_path)
        runs.append(done)
        if run.timed_out or run.returncode != 0:
            last = (run.tail(1) or "").strip()
            if run.timed_out:
                what = f"did not finish within {timeout:g} s and was killed"
            elif run.returncode == _CANNOT_START:
                what = "could not be started"
            elif run.returncode is not None and run.returncode < 0:
                what = f"was killed by signal {-run.returncode}"
            else:
                what = f"exited with status {run.returncode}"
            said = f": {last[:200]}" if last else ""
            raise SetupFailed(f"{here} {what}{said} (log: {run.stderr_path})", run=done)
    return runs


def _inside(repo: Path, rel: str, here: str) -> Path:
    root = repo.resolve()
    target = (root / rel).resolve()
    if target != root and not target.is_relative_to(root):
        raise SetupFailed(f"{here}: cwd {rel!r} leads out of the repository")
    if not target.is_dir():
        raise SetupFailed(f"{here}: cwd {rel!r} is not a directory in the repository")
    return target


# ---------------------------------------------------------------------------------------------
# Caching runtime.setup


def input_files(repo: Path, patterns: Sequence[str], *, skip: Sequence[Path] = ()) -> list[str]:
    """Repository-relative POSIX paths of the regular files matching ``patterns`` (a directory
    pattern covers what is below it), sorted; links not followed, ``.git`` and ``skip`` left out."""
    globs = [compile_glob(p) for p in patterns]
    root = repo.resolve()
    skipped = {s.resolve() for s in skip}
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d != ".git" and (here / d).resolve() not in skipped
                             and not (here / d).is_symlink())
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if not path.is_symlink() and path.is_file() and any(g.covers(rel) for g in globs):
                found.append(rel)
                if len(found) > MAX_INPUT_FILES:
                    raise InputError(f"runtime.setup_inputs: more than {MAX_INPUT_FILES} files match "
                                     f"in {repo}; name the files the setup reads")
    return sorted(found)


def setup_key(declared: Any, repo: Path, inputs: Sequence[str]) -> str:
    """The cache key of a ``runtime.setup``: sha256 over the declared runtime (steps, interpreters,
    environment) and each input file's path and content hash."""
    digest = hashlib.sha256(json.dumps(declared, sort_keys=True, ensure_ascii=True).encode())
    for rel in inputs:
        digest.update(f"\0{rel}\0{sha256_file(repo / rel)}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def stamped(directory: Path, key: str) -> bool:
    """Whether ``directory`` holds a set-up stamp with ``key``."""
    try:
        data = json.loads((directory / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("key") == key


def write_stamp(directory: Path, key: str, inputs: Sequence[str]) -> None:
    """Record in ``directory`` that the set-up with ``key`` succeeded (and which inputs it hashed)."""
    record = {"key": key, "inputs": list(inputs),
              "at": datetime.now(UTC).isoformat(timespec="seconds"),
              "written_by": "verifier (runtime.setup cache)"}
    (directory / STAMP).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
