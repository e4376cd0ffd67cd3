"""Helpers for probe authors: the toolkit every built-in probe uses, public and stable.

A probe (``verifier.probe``) that runs an external tool needs the same few things: a time budget
shared by the tools it starts (``Deadline``), the tool run in its own process tree with a timeout
and its output kept (``run_tool`` -> ``ToolRun``; ``CANNOT_START``: the exit status of a command
that could not start), a failed run turned into a ``ProbeError`` carrying the reason, the output tail
and the evidence (``tool_failure``, ``failure_reason``, ``run_evidence``), the tool's JSON output read
safely (``read_json``), the files of the delivered tree it should look at (``source_files``, which
skips ``SKIPPED_DIRS``; ``glob_matches``, ``inside_repo``; ``check_argv_size`` against
``MAX_ARGV_BYTES``), a declared command or interpreter made
runnable (``split_command``, ``expand_command``, ``substitute``, ``placeholders``, ``which``,
``resolve_python``, ``interpreter_env``, ``scrubbed_env``), the product's side of a run — the
placeholders every declared command knows (``COMMON_PLACEHOLDERS``: ``{python}``, ``{repo}``,
``{spec_dir}``, ``{runtime.python}`` …, valued by ``declared_values``), the interpreter that runs
the product's code (``product_python``: the runtime's when the spec declares one) and a path that
may lie in the repository or beside the task book (``resolve_path``) — tool versions for the
environment record (``tool_version``), file-name-safe evidence names (``safe_name``) and a
scanner's counts without its waived findings (``recount_severities``, for ``Probe.recount``). Field types
for ``with:`` arguments: ``RepoPath`` and ``RepoGlob`` (a path or glob inside the delivered
repository, checked at its line of the spec), ``RepoOrAssetPath`` (the same, or ``{spec_dir}/PATH``:
an agency's own file beside the task book) and ``EnvValue`` (an environment variable value).

Everything here treats the delivered repository as data: paths never lead out of the tree, symbolic
links are not followed, declared commands are split like a POSIX shell would but run without one
unless the spec says ``shell: true``.

The names below are the stable API (``__all__``); the built-in probes import them from here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from verifier.fieldtypes import EnvValue
from verifier.globs import glob_covers
from verifier.placeholders import COMMON_PLACEHOLDERS, PLACEHOLDER
from verifier.probe import Finding, ProbeContext, ProbeError
from verifier.proc import ToolRun, run_tool, scrubbed_env
from verifier.repo_paths import SPEC_DIR_PREFIX, RepoGlob, RepoOrAssetPath, RepoPath
from verifier.vcs import VCS_DIRS, vcs_metadata

__all__ = [
    "CANNOT_START", "COMMON_PLACEHOLDERS", "MAX_ARGV_BYTES", "SKIPPED_DIRS", "Deadline", "EnvValue", "RepoGlob",
    "RepoOrAssetPath", "RepoPath", "ToolRun", "check_argv_size", "declared_values", "expand_command",
    "failure_reason", "glob_matches", "inside_repo", "interpreter_env", "placeholders", "product_python",
    "read_json", "recount_severities", "resolve_path", "resolve_python", "run_evidence", "run_tool",
    "safe_name", "scrubbed_env",
    "source_files", "split_command", "substitute", "tool_failure", "tool_version", "which",
]

#: Directories never walked into: version control (only when it holds that system's own files,
#: ``verifier.vcs``: code in a directory merely named ``CVS`` is scanned), caches, virtual
#: environments' usual names. (Any directory holding a ``pyvenv.cfg`` is skipped too: an
#: interpreter, not delivered code.)
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "__pycache__", ".tox", ".nox",
                          ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "node_modules"})

#: Exit code ``verifier.proc.run_tool`` reports when the executable could not be started.
CANNOT_START = 127

#: Longest command line (bytes) a probe builds from a file list; beyond it the probe asks the spec
#: to narrow ``paths`` rather than fail obscurely on the system's argument-size limit.
MAX_ARGV_BYTES = 1_500_000


# ---------------------------------------------------------------------------------------------
# Repository globs and file discovery


def glob_matches(path: str, pattern: str) -> bool:
    """Whether repository path ``path`` (POSIX) or one of its parent directories matches
    ``pattern``: ``*`` stays inside one directory, ``**`` spans any number of them
    (``verifier.globs``: linear time whatever the pattern)."""
    return glob_covers(path, pattern)


def inside_repo(repo: Path, rel: str, *, what: str) -> Path:
    """``repo/rel`` resolved; ``ProbeError`` when it does not exist or leads out of the repository."""
    root = repo.resolve()
    target = (root / rel).resolve()
    if target != root and not target.is_relative_to(root):
        raise ProbeError(f"{what} {rel!r} leads out of the repository")
    if not target.exists():
        raise ProbeError(f"{what} {rel!r} does not exist in the repository")
    return target


def source_files(repo: Path, paths: Sequence[str], *, exclude: Sequence[str] = (),
                 suffixes: tuple[str, ...] = (".py",)) -> list[str]:
    """Repository-relative POSIX paths of the files ending in ``suffixes`` under ``paths``, sorted,
    without symlinks, ``exclude`` matches, version-control/cache dirs and virtual environments."""
    root = repo.resolve()
    found: set[str] = set()
    for rel in paths:
        start = inside_repo(root, rel, what="path")
        if start.is_file():
            if start.name.endswith(suffixes):
                found.add(start.relative_to(root).as_posix())
            continue
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            here = Path(dirpath)
            kept = []
            for name in sorted(dirnames):
                sub = here / name
                sub_rel = sub.relative_to(root).as_posix()
                if ((name in SKIPPED_DIRS and (name not in VCS_DIRS
                                               or vcs_metadata(os.fspath(sub), name, True)))
                        or sub.is_symlink() or (sub / "pyvenv.cfg").exists()
                        or any(glob_matches(sub_rel, g) for g in exclude)):
                    continue
                kept.append(name)
            dirnames[:] = kept
            for name in filenames:
                if not name.endswith(suffixes):
                    continue
                file = here / name
                file_rel = file.relative_to(root).as_posix()
                if file.is_symlink() or any(glob_matches(file_rel, g) for g in exclude):
                    continue
                found.add(file_rel)
    return sorted(found)


def check_argv_size(argv: Sequence[str], *, what: str) -> None:
    """``ProbeError`` when a command line built from a file list is too long for the system."""
    size = sum(len(os.fsencode(a)) + 1 for a in argv)
    if size > MAX_ARGV_BYTES:
        raise ProbeError(f"{what}: {len(argv)} arguments ({size} bytes) exceed the command-line "
                         f"limit; narrow `paths` or add `exclude` globs")


# ---------------------------------------------------------------------------------------------
# Declared commands and interpreters


def split_command(command: str | Sequence[str], *, shell: bool = False) -> list[str]:
    """The argv of a declared command: a list as is, a string split like a POSIX shell would
    (``shlex``), or ``["/bin/sh", "-c", command]`` only when the spec declares ``shell: true``."""
    if shell:
        text = command if isinstance(command, str) else shlex.join(command)
        return ["/bin/sh", "-c", text]
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise ProbeError(f"command {command!r} cannot be split: {exc}") from None
    return [str(part) for part in command]


def resolve_path(ctx: ProbeContext, value: str, *, what: str) -> Path:
    """A ``RepoOrAssetPath`` resolved: ``{spec_dir}/PATH`` beside the task book, else a path in the
    repository; ``ProbeError`` when it does not exist or leads out of its directory."""
    if value.startswith(SPEC_DIR_PREFIX):
        rel = value[len(SPEC_DIR_PREFIX):]
        root = _spec_dir(ctx)
        target = (root / rel).resolve()
        if target != root and not target.is_relative_to(root):
            raise ProbeError(f"{what} {value!r} leads out of the task book's directory")
        if not target.exists():
            raise ProbeError(f"{what} {value!r} does not exist beside the task book ({root})")
        return target
    return inside_repo(ctx.repo, value, what=what)


def _spec_dir(ctx: ProbeContext) -> Path:
    """The task book's directory (the repository for a context built without a spec)."""
    base = getattr(ctx.spec, "base_dir", None)
    return Path(base if base is not None else ctx.repo).resolve()


def product_python(ctx: ProbeContext) -> str:
    """The interpreter that runs the product's code: the runtime's (``ctx.runtime``) when the spec
    declares one, else the one running verifier."""
    if ctx.runtime is not None and ctx.runtime.python is not None:
        return ctx.runtime.python
    return sys.executable


def declared_values(ctx: ProbeContext) -> dict[str, str]:
    """The values of ``COMMON_PLACEHOLDERS`` in this run: ``{python}`` (verifier's interpreter),
    ``{repo}``, ``{spec_dir}`` and the runtime's ``{runtime.…}`` the spec declares."""
    values = {"python": sys.executable, "repo": str(ctx.repo.resolve()), "spec_dir": str(_spec_dir(ctx))}
    if ctx.runtime is not None:
        values.update(ctx.runtime.placeholders())
    return values


def resolve_python(repo: Path, python: str | None = None, venv: str | None = None,
                   default: str | None = None) -> str:
    """The interpreter to run: ``venv``'s ``bin/python``, the declared ``python`` (a path, relative
    to the repository when relative, or a name looked up on ``PATH``), else ``default`` (the
    product's, ``product_python``), else the harness's own."""
    if venv:
        base = Path(venv).expanduser()
        base = base if base.is_absolute() else repo / base
        for candidate in (base / "bin" / "python", base / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate.absolute())
        raise ProbeError(f"virtual environment {venv!r} has no bin/python")
    if python:
        if "/" not in python and os.sep not in python:
            found = shutil.which(python, path=scrubbed_env().get("PATH"))
            if found is None:
                raise ProbeError(f"interpreter {python!r} is not on PATH")
            return found
        path = Path(python).expanduser()
        path = path if path.is_absolute() else repo / path
        if not path.exists():
            raise ProbeError(f"interpreter {python!r} does not exist")
        return str(path.absolute())
    return default or sys.executable


def interpreter_env(python: str, extra: Mapping[str, str] | None = None,
                    pythonpath: Iterable[str] = ()) -> dict[str, str]:
    """A scrubbed environment for running ``python``: its directory first on ``PATH`` (as a
    venv's activation would), ``extra`` variables, and ``pythonpath`` entries before any declared."""
    env = scrubbed_env(extra)
    bin_dir = str(Path(python).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", os.defpath)])
    entries = [*pythonpath, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(entries)
    return env


# ---------------------------------------------------------------------------------------------
# Budgets and tool failures


class Deadline:
    """The wall-clock budget of one probe run, shared by the tools it starts."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._end = time.monotonic() + self.seconds

    def remaining(self, *, what: str = "probe") -> float:
        """Seconds left; ``ProbeError`` when the budget is spent."""
        left = self._end - time.monotonic()
        if left <= 0.05:
            raise ProbeError(f"{what}: time budget of {self.seconds:g} s spent before it could run")
        return left


def run_evidence(ctx: ProbeContext, run: ToolRun, *, keep_empty: bool = False) -> tuple[str, ...]:
    """The run's stdout/stderr files (only those that hold something unless ``keep_empty``),
    relative to the run directory."""
    return tuple(ctx.rel(p) for p in (run.stdout_path, run.stderr_path)
                 if p.exists() and (keep_empty or p.stat().st_size > 0))


def failure_reason(run: ToolRun, what: str, timeout_s: float) -> str:
    """One line saying why ``run`` failed (timeout, cannot start, signal, exit status)."""
    if run.timed_out:
        return f"{what} did not finish within {round(timeout_s, 1):g} s and was killed"
    if run.returncode == CANNOT_START:
        first = run.tail(1) or "executable not found"
        return f"{what} could not be started: {first}"
    if run.returncode is not None and run.returncode < 0:
        return f"{what} was killed by signal {-run.returncode}"
    return f"{what} exited with status {run.returncode}"


def tool_failure(ctx: ProbeContext, run: ToolRun, what: str, timeout_s: float,
                 evidence: Iterable[str] = ()) -> ProbeError:
    """A ``ProbeError`` for a failed tool run, with the output tail and every evidence file."""
    return ProbeError(failure_reason(run, what, timeout_s), tail=run.tail(),
                      evidence=tuple(dict.fromkeys([*evidence, *run_evidence(ctx, run)])))


def read_json(path: Path, *, what: str, run: ToolRun, ctx: ProbeContext) -> Any:
    """The JSON a tool wrote to ``path``; ``ProbeError`` (with the tail) when missing or garbled."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise ProbeError(f"{what} wrote no output file ({exc.strerror})", tail=run.tail(),
                         evidence=run_evidence(ctx, run)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        excerpt = text.strip()[:200].replace("\n", " ")
        raise ProbeError(f"{what} output is not JSON ({exc.msg} at line {exc.lineno}): {excerpt!r}",
                         tail=run.tail(), evidence=run_evidence(ctx, run)) from None


def tool_version(distribution: str) -> dict[str, str]:
    """``{distribution: version}`` of an installed distribution, or ``{}`` when it is missing."""
    try:
        return {distribution: version(distribution)}
    except PackageNotFoundError:
        return {}


def safe_name(text: str, *, limit: int = 40) -> str:
    """``text`` reduced to a file-name-safe slug (for evidence file names)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return (slug or "item")[:limit]


# ---------------------------------------------------------------------------------------------
# Placeholders in declared commands

_PLACEHOLDER = PLACEHOLDER


def placeholders(text: str) -> set[str]:
    """The ``{name}`` placeholders in ``text`` (``{{`` and ``}}`` are literal braces)."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1)}


def substitute(text: str, values: Mapping[str, str], *, quote: bool = False) -> str:
    """``text`` with each ``{name}`` replaced by ``values[name]`` (shell-quoted when ``quote``);
    ``{{``/``}}`` become literal braces. ``ProbeError`` for a name not in ``values``."""

    def _replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            raise ProbeError(f"placeholder {{{name}}} is not defined (known: {', '.join(sorted(values))})")
        return shlex.quote(values[name]) if quote else values[name]

    return _PLACEHOLDER.sub(_replace, text)


def expand_command(command: str | Sequence[str], values: Mapping[str, str], *,
                   shell: bool = False) -> list[str]:
    """A declared command as argv with placeholders filled in: a string is split first (so a value
    with spaces stays one argument) unless it runs through the shell, where values are quoted."""
    if shell:
        text = command if isinstance(command, str) else shlex.join(command)
        return ["/bin/sh", "-c", substitute(text, values, quote=True)]
    return [substitute(part, values) for part in split_command(command)]


def which(executable: str, env: Mapping[str, str], cwd: Path) -> str | None:
    """Where ``executable`` would be found by the child (a path relative to ``cwd``, or ``PATH``)."""
    if "/" in executable:
        path = Path(executable) if Path(executable).is_absolute() else cwd / executable
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(executable, path=env.get("PATH"))


def recount_severities(measurements: Mapping[str, float | None], waived: Sequence[Finding], *,
                       tool_error: str) -> dict[str, float | None]:
    """A scanner's counts without the waived findings (``Probe.recount`` of bandit, semgrep): each
    leaves its severity's count (``high``, ``medium``, ``low``) and ``total`` when it counted there
    (``extra["counted"]``); a finding of rule ``tool_error`` (a file the tool could not scan, an
    error it reported) counts nowhere. Other figures are returned as they were."""
    out = dict(measurements)
    for finding in waived:
        if finding.rule == tool_error:
            continue
        severity = (finding.severity or "").lower()
        if severity in ("high", "medium", "low") and out.get(severity) is not None:
            out[severity] = max(float(out[severity] or 0) - 1, 0.0)
        if finding.extra.get("counted") and out.get("total") is not None:
            out["total"] = max(float(out["total"] or 0) - 1, 0.0)
    return out
