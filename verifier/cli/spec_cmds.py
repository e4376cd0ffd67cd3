"""``verifier init`` (write a commented task-book template) and ``verifier check`` (validate one)."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import click

from verifier.cli.output import say
from verifier.cli.params import InputDirectory, InputFile
from verifier.errors import ExitCode, InputError
from verifier.evidence import atomic_write_text
from verifier.materials import check_materials
from verifier.paths import check_output_file, default_file_inside
from verifier.scoring import (
    TASK_BOOK_GATE,
    count_gate,
    coverage_gates,
    materials_gate,
    task_book_indicators,
    version_gate,
)
from verifier.spec import DEFAULT_SPEC_NAME, load_spec
from verifier.vocabulary import characteristic


def template_text() -> str:
    """The commented spec template shipped with verifier (Chinese and English comments)."""
    return resources.files("verifier").joinpath("spec_template.yaml").read_text(encoding="utf-8")


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path), default=DEFAULT_SPEC_NAME)
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
def init(path: Path, force: bool) -> None:
    """Write a commented task-book template (项目任务书模板) to PATH (default acceptance.yaml).

    When PATH is a directory, the template goes to PATH/acceptance.yaml. Edit it to your task
    book's indicators and targets, then run `verifier check FILE`.
    """
    if path.is_dir():
        path = path / DEFAULT_SPEC_NAME
    if path.is_dir():
        raise InputError(f"{path} is a directory")
    check_output_file(path, what="task book")
    if path.exists() and not force:
        raise InputError(f"{path} already exists", hint="use --force to overwrite it")
    try:
        atomic_write_text(path, template_text())
    except OSError as err:
        raise InputError(f"{path}: cannot write the task book: {err.strerror or err}") from None
    say(f"wrote {path}: edit it, then run `verifier check {path}`")


@click.command("check")
@click.argument("spec", type=InputFile("spec file"), required=False)
@click.option("--repo", type=InputDirectory("repository"),
              help="Also check the spec's paths against this repository: each path it names must "
                   "exist and stay inside (no symlink out); a glob or dossier item matching nothing "
                   "is a warning. Adds the acceptance-materials gate.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when a policy gate decidable without a run fails (fewer than 5 "
                   "task-book indicators, a required characteristic not covered by one, version "
                   "not 1.x, and with --repo an incomplete dossier). Indicators with required: "
                   "false do not count for these gates.")
def check(spec: Path | None, repo: Path | None, strict: bool) -> None:
    """Validate the task book SPEC (default: acceptance.yaml in the current directory, refused
    when it is a symbolic link out of it) without running anything.

    A malformed spec stops with one line, FILE:LINE: field.path: what is wrong, exit 2. A valid
    one prints a summary and the policy gates that can be decided without a run (ok / FAIL), then
    a "gates:" summary line; it exits 0 even when a gate fails, unless --strict (exit 1). Doubts
    that do not make the spec invalid (a bare ">= 0.6" on a metric in %, meaning 0.6%) are printed
    to stderr as "verifier: warning: FILE:LINE: field.path: ..." lines and never change the exit code.
    """
    if spec is None:
        spec = default_file_inside(Path("."), DEFAULT_SPEC_NAME, what="spec file") \
            or Path(DEFAULT_SPEC_NAME)
    loaded = load_spec(spec, repo=repo)
    for warning in loaded.warnings:
        say(f"verifier: warning: {warning}", err=True)
    decidable = [count_gate(loaded), *coverage_gates(loaded), version_gate(loaded)]
    if repo is not None:
        dossier = materials_gate(loaded, check_materials(loaded.materials, repo))
        if dossier is not None:
            decidable.append(dossier)
    failed = [gate for gate in decidable if not gate.passed]
    counts = Counter(item.characteristic for item in loaded.indicators)
    project = loaded.project
    say(f"{spec}: OK" if not failed else f"{spec}: valid, but {len(failed)} policy "
        f"gate{'s' if len(failed) > 1 else ''} FAIL")
    say(f"  project:    {project.name} {project.version}"
        + (f" ({project.applicant})" if project.applicant else ""))
    say(f"  indicators: {len(loaded.indicators)} ("
        + ", ".join(f"{characteristic(c).en_text} {n}" for c, n in sorted(counts.items()))
        + ")")
    say(f"  functions:  {len(loaded.functions)}")
    if loaded.runtime is not None:
        where = ", ".join(f"{k} {v}" for k, v in loaded.runtime.locations().items()) or "no interpreter"
        steps = len(loaded.runtime.setup)
        say(f"  runtime:    {where}" + (f"; setup: {steps} step{'s' if steps != 1 else ''}" if steps else ""))
    if loaded.assets:
        say(f"  assets:     {', '.join('{spec_dir}/' + a for a in loaded.assets)} (beside the task book)")
    say(f"  pass score: {loaded.scoring.pass_score:g}"
        + (" (partial credit)" if loaded.scoring.partial_credit else ""))
    for gate in decidable:
        mark = "ok  " if gate.passed else "FAIL"
        say(f"  gate {mark} {gate.id}: {gate.description_en} ({gate.figure})")
    required = task_book_indicators(loaded)
    beyond = [item.id for item in loaded.indicators if not item.required]
    say(f"  gate run  {TASK_BOOK_GATE}: Every task-book indicator met (decided by `verifier run`: "
        f"{len(required)} task-book indicator{'s' if len(required) != 1 else ''} must meet their targets"
        + (f"; beyond the task book, not blocking: {', '.join(beyond)}" if beyond else "") + ")")
    say(_gates_summary(decidable, failed, len(loaded.warnings), strict))
    if strict and failed:
        click.get_current_context().exit(int(ExitCode.NOT_MET))


def _gates_summary(decidable: list, failed: list, warnings: int, strict: bool) -> str:
    later = ("the self-developed ratio and whether every task-book indicator is met are decided by "
             "`verifier run`")
    noted = f"; {warnings} warning{'s' if warnings != 1 else ''} on stderr" if warnings else ""
    if not failed:
        return f"gates: all {len(decidable)} decidable without a run hold; {later}{noted}"
    ids = ", ".join(gate.id for gate in failed)
    consequence = "exit 1 (--strict)" if strict else "a run cannot pass; --strict exits 1"
    return (f"gates: {len(failed)} of {len(decidable)} decidable without a run FAIL ({ids}): "
            f"{consequence}{noted}")
