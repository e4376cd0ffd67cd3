"""``matrix`` probe (compatibility): one declared command run once per declared environment.

Each environment (a *cell*) may set an interpreter (``python``), environment variables (``env``),
a backend URL (``base_url``) and further substitutions (``vars``). In the command, and in ``env``
values, ``{name}``, ``{python}``, ``{repo}``, ``{spec_dir}``, ``{base_url}``, the product's
``{runtime.…}`` and every ``vars`` key are replaced by the cell's value (``{{``/``}}`` are literal
braces). ``{python}`` is the cell's interpreter: by default the product's (``runtime:``) when the
spec declares one, else the interpreter running verifier; its directory comes first on ``PATH``,
so ``python`` means it too. Each cell records what it ran with: the interpreter, its version (asked
once per interpreter) and the variables it set.

A cell passes when the command exits with one of ``ok_exit_codes``; it fails on another status or
on its timeout. A cell whose interpreter or executable does not exist on this machine is an *error*:
the outcome then carries ``error`` (the matrix could not be measured), with the other cells kept.
``pass_ratio`` = passed cells / declared cells x 100.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from verifier.probe import (
    Finding,
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Table,
)
from verifier.probekit import (
    COMMON_PLACEHOLDERS,
    Deadline,
    EnvValue,
    RepoPath,
    ToolRun,
    declared_values,
    expand_command,
    failure_reason,
    inside_repo,
    interpreter_env,
    placeholders,
    product_python,
    resolve_python,
    run_evidence,
    run_tool,
    safe_name,
    substitute,
    which,
)

from ._labels import TEST_OUTCOMES, TESTS_CHART

_BUILTIN = ("name", "python", "repo")


class MatrixEnvironment(BaseModel):
    """One cell of the matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Label of the cell (``py3.11``, ``sqlite``, ``backend-b``)."""
    python: str | None = None
    """Interpreter for this cell: a path (relative to the repository when relative) or a name;
    default: the product's (``runtime:``), else the interpreter running verifier."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Environment variables for this cell (placeholders allowed in values)."""
    base_url: str | None = None
    """A backend URL, available as ``{base_url}``."""
    vars: dict[str, EnvValue] = Field(default_factory=dict)
    """Further substitutions, each available as ``{key}``."""

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not key.isidentifier() or key in (*_BUILTIN, "base_url"):
                raise ValueError(f"vars key {key!r} must be an identifier other than "
                                 f"{', '.join((*_BUILTIN, 'base_url'))}")
        return value

    def substitutions(self, python: str, repo: str) -> dict[str, str]:
        """The placeholder values of this cell."""
        values = {"name": self.name, "python": python, "repo": repo, **self.vars}
        if self.base_url is not None:
            values["base_url"] = self.base_url
        return values


class MatrixArgs(ProbeArgs):
    """``with:`` arguments of the matrix probe."""

    command: list[str] | str
    """The command (argv list preferred; a string is split like a POSIX shell would)."""
    environments: list[MatrixEnvironment] = Field(min_length=1)
    """The cells."""
    shell: bool = False
    """Run the command through ``/bin/sh -c`` (placeholder values are shell-quoted)."""
    cwd: RepoPath = "."
    """Working directory, relative to the repository."""
    env: dict[str, EnvValue] = Field(default_factory=dict)
    """Environment variables common to every cell (a cell's own ``env`` wins)."""
    cell_timeout: float | None = Field(None, gt=0)
    """Seconds per cell; default: the indicator's budget shared evenly among the cells."""
    ok_exit_codes: list[int] = Field(default_factory=lambda: [0], min_length=1)
    """Exit statuses that mean the cell passed."""

    @field_validator("command")
    @classmethod
    def _command(cls, value: list[str] | str) -> list[str] | str:
        parts = shlex.split(value) if isinstance(value, str) else value
        if not parts or not str(parts[0]).strip():
            raise ValueError("command is empty")
        return value

    @model_validator(mode="after")
    def _cells(self) -> MatrixArgs:
        names = [cell.name for cell in self.environments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"environment names must be unique: {', '.join(duplicates)}")
        texts = [self.command] if isinstance(self.command, str) else list(self.command)
        texts += list(self.env.values())
        for cell in self.environments:
            known = set(cell.substitutions("", "")) | set(COMMON_PLACEHOLDERS)
            used = set().union(*(placeholders(t) for t in [*texts, *cell.env.values()]))
            missing = sorted(used - known)
            if missing:
                raise ValueError(f"environment {cell.name!r} does not define "
                                 f"{', '.join('{' + m + '}' for m in missing)} used in the command or env")
        return self


class MatrixProbe(Probe):
    """Share of declared environments in which a declared command succeeds."""

    name = "matrix"
    characteristic = "compatibility"
    description = ("Runs a declared command once per declared environment (interpreter, variables, "
                   "backend URL): share of environments where it succeeds.")
    metrics = {
        "pass_ratio": MetricInfo("%", "environments where the command succeeded", "higher"),
        "passed": MetricInfo("count", "environments where the command succeeded", "higher"),
        "failed": MetricInfo("count", "environments where the command failed or timed out"),
        "cells": MetricInfo("count", "environments declared", "higher"),
    }
    Args = MatrixArgs

    presentation = Presentation(
        phrases=(
            Phrase("cell {name} failed: {reason}", "环境 {name} 未通过：{reason}"),
            Phrase("cell {name} {status}: {reason}", "环境 {name} {status}：{reason}"),
            Phrase("exit status {code}", "退出状态 {code}"),
        ),
        labels={
            **TEST_OUTCOMES,
            "pass_ratio": ("通过比例（%）", "Pass ratio (%)"),
            "cells": ("兼容性矩阵", "Compatibility matrix"),
            "name": ("名称", "Name"),
            "status": ("状态", "Status"),
            "reason": ("依据", "Reason"),
            "returncode": ("退出码", "Exit status"),
            "duration_s": ("耗时（秒）", "Duration (s)"),
            "tail": ("输出末尾", "Output tail"),
            "python": ("解释器", "Interpreter"),
            "python_version": ("解释器版本", "Interpreter version"),
            "variables": ("环境变量", "Variables set"),
        },
        words={"status": TEST_OUTCOMES},
        tables={"cells": Table(("name", "status", "reason", "python", "python_version", "variables",
                                "returncode", "duration_s"))},
        metric_bars=(TESTS_CHART,),
    )

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Run the command in every cell, keep each cell's log, count the cells that passed."""
        args: MatrixArgs = ctx.args  # type: ignore[assignment]
        cwd = inside_repo(ctx.repo, args.cwd, what="cwd")
        repo = str(ctx.repo.resolve())
        deadline = Deadline(ctx.timeout_s)
        cells: list[dict[str, Any]] = []
        evidence: list[str] = []
        commands: list[tuple[str, ...]] = []
        versions: dict[str, str | None] = {}
        for index, cell in enumerate(args.environments, start=1):
            row: dict[str, Any] = {"name": cell.name, "status": "error", "returncode": None,
                                   "duration_s": None, "reason": "", "command": [], "evidence": [],
                                   "python": None, "python_version": None, "env": {}, "variables": ""}
            cells.append(row)
            try:
                python = resolve_python(ctx.repo, cell.python, default=product_python(ctx))
                row["python"] = _shown(python, ctx)
                values = {**declared_values(ctx), **cell.substitutions(python, repo)}
                env_vars = {k: substitute(v, values) for k, v in {**args.env, **cell.env}.items()}
                row["env"] = env_vars
                row["variables"] = " ".join(f"{k}={v}" for k, v in env_vars.items())
                env = interpreter_env(python, env_vars)
                if python not in versions:
                    versions[python] = _python_version(python, ctx, env, deadline,
                                                       f"cell-{index:02d}-{safe_name(cell.name)}-version")
                row["python_version"] = versions[python]
                argv = expand_command(args.command, values, shell=args.shell)
                row["command"] = argv
                if which(argv[0], env, cwd) is None:
                    raise ProbeError(f"executable {argv[0]!r} not found")
                left = len(args.environments) - index + 1
                budget = deadline.remaining(what=f"cell {cell.name}")
                timeout = min(args.cell_timeout or budget / left, budget)
            except ProbeError as exc:
                row["reason"] = exc.reason
                continue
            run = run_tool(argv, cwd=cwd, timeout_s=timeout, out_dir=ctx.evidence_dir,
                           name=f"cell-{index:02d}-{safe_name(cell.name)}", env=env)
            commands.append(run.argv)
            row["evidence"] = list(run_evidence(ctx, run, keep_empty=True))
            evidence.extend(row["evidence"])
            row["returncode"] = run.returncode
            row["duration_s"] = round(run.duration_s, 3)
            if not run.timed_out and run.returncode in args.ok_exit_codes:
                row["status"], row["reason"] = "passed", f"exit status {run.returncode}"
            else:
                row["status"] = "failed"
                row["reason"] = failure_reason(run, "command", timeout)
                row["tail"] = run.tail(10)
        return summarize(cells, evidence=tuple(evidence), commands=tuple(commands))


def _shown(python: str, ctx: ProbeContext) -> str:
    """The interpreter as a cell records it: relative to the repository when it lies there."""
    path = Path(python)
    root = ctx.repo.resolve()
    try:
        return path.relative_to(root).as_posix() if path.is_absolute() else python
    except ValueError:
        return python


def _python_version(python: str, ctx: ProbeContext, env: dict[str, str], deadline: Deadline,
                    name: str) -> str | None:
    """What ``python`` says its version is (``3.11.7``; its answer kept as ``name``), or None when
    it cannot say."""
    try:
        timeout = min(15.0, deadline.remaining(what="interpreter version"))
    except ProbeError:
        return None
    run: ToolRun = run_tool([python, "-c", "import platform; print(platform.python_version())"],
                            cwd=ctx.repo, timeout_s=timeout, out_dir=ctx.evidence_dir, name=name, env=env)
    if run.timed_out or run.returncode != 0:
        return None
    text = run.stdout_path.read_text("utf-8", errors="replace").strip()
    return text.splitlines()[-1] if text else None


def summarize(cells: list[dict[str, Any]], *, evidence: tuple[str, ...] = (),
              commands: tuple[tuple[str, ...], ...] = ()) -> ProbeOutcome:
    """The matrix outcome from its cells (each with ``name``, ``status``, ``reason``)."""
    passed = sum(c["status"] == "passed" for c in cells)
    failed = sum(c["status"] == "failed" for c in cells)
    errors = [c for c in cells if c["status"] == "error"]
    notes = [f"cell {c['name']} failed: {c['reason']}" for c in cells if c["status"] == "failed"]
    error = None
    if errors:
        error = "; ".join(f"cell {c['name']} could not run: {c['reason']}" for c in errors)
    measurements = (
        Measurement("pass_ratio", round(100.0 * passed / len(cells), 4) if cells else None, "%"),
        Measurement("passed", float(passed), "count"),
        Measurement("failed", float(failed), "count"),
        Measurement("cells", float(len(cells)), "count"),
    )
    return ProbeOutcome(measurements=measurements, notes=tuple(notes), details={"cells": cells},
                        evidence=evidence, commands=commands, error=error,
                        findings=tuple(
                            Finding(message=f"cell {c['name']} {c['status']}: {c['reason']}",
                                    rule=f"cell:{c['name']}", extra={"tail": c.get("tail", "")})
                            for c in cells if c["status"] != "passed"))
