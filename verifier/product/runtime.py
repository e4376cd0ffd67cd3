"""The product's runtime: what the delivered software runs on, as the task book's ``runtime:`` says.

::

    runtime:
      venv: .venv                     # the product's virtualenv: {runtime.python} is its bin/python
      # python: python3.11            # or an interpreter: a path, or a name looked up on PATH
      # node: node                    # other stacks: {runtime.node}, {runtime.java}
      setup:                          # run once per run, before the first indicator
        - python3 -m venv .venv
        - .venv/bin/pip install --no-index --find-links wheels -r requirements.txt
      setup_inputs: [requirements.txt, wheels/**]   # what setup reads: unchanged -> not run again
      setup_timeout: 10m              # per step
      env: {PIP_NO_INDEX: "1"}        # for the setup steps

A location (``venv``, ``python``, ``node``, ``java``) is relative to the delivered repository, or
to the task book's directory when it starts with ``{spec_dir}/``; ``python``, ``node`` and ``java``
may also be a bare name looked up on ``PATH``. An absolute path is accepted with a warning: the task
book then does not run the same on another machine.

``RuntimeConfig`` is the model of the section; ``resolve_runtime`` turns it into a
``ProductRuntime`` for a run (absolute paths that exist), whose ``placeholders`` are the values of
``{runtime.python}`` and the others, and whose ``environment`` puts the runtime first on ``PATH`` as
activating a virtualenv would.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.errors import InputError
from verifier.fieldtypes import Duration, EnvValue, env_names
from verifier.placeholders import COMMON_PLACEHOLDERS, describe, unknown_placeholders
from verifier.proc import scrubbed_env
from verifier.product.setup import SetupStep
from verifier.repo_paths import SPEC_DIR_PREFIX, RepoGlob, normalize_repo_path

#: The interpreters a runtime may declare besides ``venv``.
INTERPRETERS = ("python", "node", "java")
#: Placeholders ``runtime.setup`` steps may use.
SETUP_PLACEHOLDERS = COMMON_PLACEHOLDERS


def _location(value: str, *, name_allowed: bool) -> str:
    """A runtime location, normalised: ``{spec_dir}/rel``, a repository path, an absolute path, or
    (``name_allowed``) a bare name looked up on ``PATH``."""
    text = value.strip()
    if not text or "\0" in text:
        raise ValueError("empty location" if not text else "location contains a NUL byte")
    if text.startswith(SPEC_DIR_PREFIX):
        rest = text[len(SPEC_DIR_PREFIX):]
        try:
            return SPEC_DIR_PREFIX + normalize_repo_path(rest)
        except ValueError as exc:
            raise ValueError(str(exc).replace("the repository", "the task book's directory")) from None
    if text.startswith("/"):
        return text
    if name_allowed and "/" not in text:
        return text
    try:
        return normalize_repo_path(text)
    except ValueError as exc:
        if ".." in text.split("/"):
            raise ValueError(f"{exc}: for a runtime beside the task book write "
                             f"{SPEC_DIR_PREFIX}PATH") from None
        raise


class RuntimeConfig(BaseModel):
    """The spec's ``runtime:`` section: the product's interpreters and how to make them."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    venv: str | None = None
    """The product's virtualenv directory; ``{runtime.python}`` is its ``bin/python``."""
    python: str | None = None
    """The product's Python interpreter (instead of ``venv``): a path or a name on PATH."""
    node: str | None = None
    """The product's Node.js (``{runtime.node}``): a path or a name on PATH."""
    java: str | None = None
    """The product's Java (``{runtime.java}``): a path or a name on PATH."""
    setup: list[SetupStep] = Field(default_factory=list)
    """Commands that make the runtime, run once per run before the first indicator (in the
    repository unless a step says ``cwd``), each logged under ``runtime/`` in the run directory."""
    setup_inputs: list[RepoGlob] | None = None
    """Files the setup reads (``requirements.txt``, ``wheels/**``). When declared, with ``venv``,
    the setup is skipped while the steps and these files are unchanged and the venv holds the stamp
    a successful setup left there."""
    setup_timeout: Duration = 600.0
    """Seconds each setup step may take."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Extra environment variables for the setup steps (placeholders allowed)."""

    @field_validator("venv")
    @classmethod
    def _venv(cls, value: str | None) -> str | None:
        return None if value is None else _location(value, name_allowed=False)

    @field_validator("python", "node", "java")
    @classmethod
    def _interpreter(cls, value: str | None) -> str | None:
        return None if value is None else _location(value, name_allowed=True)

    _env = field_validator("env")(env_names)

    @model_validator(mode="after")
    def _consistent(self) -> RuntimeConfig:
        if self.venv is not None and self.python is not None:
            raise ValueError("declare either venv (its bin/python is the interpreter) or python, not both")
        for index, step in enumerate(self.setup, 1):
            unknown = unknown_placeholders(step.texts(), SETUP_PLACEHOLDERS)
            if unknown:
                raise ValueError(f"setup[{index}]: unknown placeholder(s) {describe(unknown)} "
                                 f"(known here: {describe(SETUP_PLACEHOLDERS)})")
        return self

    def declared_placeholders(self) -> set[str]:
        """The ``{runtime.…}`` placeholders this section gives a value."""
        names = set()
        if self.venv is not None or self.python is not None:
            names.add("runtime.python")
        if self.venv is not None:
            names.add("runtime.venv")
        names |= {f"runtime.{tool}" for tool in ("node", "java") if getattr(self, tool) is not None}
        return names

    def locations(self) -> dict[str, str]:
        """The declared locations by key (``venv``, ``python``, ``node``, ``java``)."""
        return {key: value for key in ("venv", *INTERPRETERS)
                if (value := getattr(self, key)) is not None}

    def cache_record(self) -> dict[str, Any]:
        """What the setup cache key covers of this section (``verifier.product.setup.setup_key``)."""
        return self.model_dump(mode="json", exclude={"setup_timeout"})


def is_name(value: str) -> bool:
    """Whether a location is a bare name looked up on ``PATH`` (no ``/``)."""
    return "/" not in value


def locate(value: str, *, repo: Path, spec_dir: Path) -> Path:
    """The absolute path a location names (not resolved through links: a venv's ``bin/python`` is
    usually a link to the base interpreter, and must stay the venv's)."""
    if value.startswith(SPEC_DIR_PREFIX):
        return Path(os.path.abspath(spec_dir / value[len(SPEC_DIR_PREFIX):]))
    if value.startswith("/"):
        return Path(value)
    return Path(os.path.abspath(repo / value))


def venv_python(venv: Path) -> Path:
    """A virtualenv's interpreter (``bin/python``, or ``Scripts/python.exe`` on Windows)."""
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if os.path.lexists(candidate):
            return candidate
    return venv / "bin" / "python"


def location_problem(key: str, value: str, *, repo: Path, spec_dir: Path) -> str | None:
    """Why a declared location cannot be used right now (missing, not executable, out of its tree
    through a link), or None. A bare name must be on ``PATH``."""
    if is_name(value) and key != "venv":
        found = shutil.which(value, path=scrubbed_env().get("PATH"))
        return None if found else f"{value!r} is not on PATH"
    path = locate(value, repo=repo, spec_dir=spec_dir)
    base = spec_dir if value.startswith(SPEC_DIR_PREFIX) else repo
    where = "beside the task book" if value.startswith(SPEC_DIR_PREFIX) else f"in {repo}"
    if not value.startswith("/"):
        parent = path.parent.resolve()
        root = base.resolve()
        if parent != root and not parent.is_relative_to(root):
            return f"{value!r} leads out of its directory (through a symbolic link) to {parent}"
    if key == "venv":
        if not path.is_dir():
            return f"virtualenv {value!r} does not exist {where}"
        python = venv_python(path)
        if not _runnable(python):
            return f"virtualenv {value!r} has no runnable bin/python {where}"
        return None
    if not os.path.lexists(path):
        return f"{value!r} does not exist {where}"
    if not _runnable(path):
        return f"{value!r} is not an executable file {where}"
    return None


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class ProductRuntime:
    """The product's runtime for one run: absolute paths of what ``runtime:`` declares."""

    python: str | None = None
    """The product's Python interpreter (a venv's ``bin/python``, not resolved through its link)."""
    venv: str | None = None
    node: str | None = None
    java: str | None = None

    def placeholders(self) -> dict[str, str]:
        """``{"runtime.python": …}`` and the others, for those declared."""
        return {f"runtime.{key}": value for key in ("python", "venv", "node", "java")
                if (value := getattr(self, key)) is not None}

    def bin_dirs(self) -> list[str]:
        """Directories to put first on ``PATH`` (the venv's ``bin``, each interpreter's directory)."""
        dirs: list[str] = []
        for value in (self.python, self.node, self.java):
            if value is not None and str(Path(value).parent) not in dirs:
                dirs.append(str(Path(value).parent))
        return dirs

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A scrubbed environment with the runtime first on ``PATH`` (and ``VIRTUAL_ENV`` for a
        venv), as activating it would, plus ``extra``."""
        env = scrubbed_env()
        env["PATH"] = os.pathsep.join([*self.bin_dirs(), env.get("PATH", os.defpath)])
        if self.venv is not None:
            env["VIRTUAL_ENV"] = self.venv
        env.update(extra or {})
        return env


def declared_runtime(config: RuntimeConfig, *, repo: Path, spec_dir: Path) -> ProductRuntime:
    """The runtime's paths as declared, whether or not they exist yet (before ``runtime.setup``)."""
    values: dict[str, str | None] = {}
    for key, value in config.locations().items():
        values[key] = value if is_name(value) and key != "venv" else str(locate(value, repo=repo, spec_dir=spec_dir))
    if config.venv is not None:
        values["python"] = str(venv_python(Path(str(values["venv"]))))
    return ProductRuntime(python=values.get("python"), venv=values.get("venv"), node=values.get("node"),
                          java=values.get("java"))


def resolve_runtime(config: RuntimeConfig, *, repo: Path, spec_dir: Path, spec_file: str = "") -> ProductRuntime:
    """The runtime with every declared location checked (after ``runtime.setup``): ``InputError``,
    one line naming the key, when one is missing or not runnable."""
    where = f"{spec_file}: " if spec_file else ""
    for key, value in config.locations().items():
        problem = location_problem(key, value, repo=repo, spec_dir=spec_dir)
        if problem:
            after = " after runtime.setup" if config.setup else " (declare runtime.setup to make it)"
            raise InputError(f"{where}runtime.{key}: {problem}{after}")
    declared = declared_runtime(config, repo=repo, spec_dir=spec_dir)
    found = {key: shutil.which(value, path=scrubbed_env().get("PATH"))
             for key in INTERPRETERS if (value := getattr(declared, key)) is not None and is_name(value)}
    return ProductRuntime(python=found.get("python") or declared.python, venv=declared.venv,
                          node=found.get("node") or declared.node, java=found.get("java") or declared.java)
