"""``verifier kb``: build, update and inspect a snippet knowledge base of open-source code."""

from __future__ import annotations

import json
import sys

import click

from verifier.cli.output import emit, say, status
from verifier.cli.params import InputFile, InputPath, OutputFile
from verifier.kb.build import BuildReport, add_to_kb, build_kb
from verifier.kb.store import KnowledgeBase

_SOURCE_HELP = """\b
SOURCE: a directory of open-source code (one component, named by its package.json, PKG-INFO
or pyproject.toml, else by the directory; node_modules inside become one npm component per
package.json), a node_modules directory, or a source archive (.zip, .tar, .tar.gz, .tgz,
.tar.bz2, .tar.xz; read in memory, nothing extracted)."""


def _sources_options(func):
    func = click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None,
                        help="Worker processes (default: number of CPUs, at most 8).")(func)
    func = click.option("--only", "only", multiple=True, metavar="NAME",
                        help="With --python-env: index only this distribution (repeatable).")(func)
    func = click.option("--python-env", "python_envs", multiple=True, metavar="PATH",
                        type=InputPath("Python environment", path_type=str),
                        help="Index the installed distributions of a Python environment: a "
                             "virtualenv, a site-packages directory or its python (never run). "
                             "Name, version and license come from each distribution's metadata. "
                             "Repeatable.")(func)
    return func


@click.group("kb")
def kb() -> None:
    """Snippet knowledge base (同源比对): fingerprints of open-source code for `verifier origin --kb`.

    Files are normalized (comments, whitespace, case and line endings do not matter) and
    winnowed (k = 30 bytes, window 80: any shared run of 109 normalized bytes, about 4 lines,
    is seen). Exit codes: 0 done, 2 bad input (missing, empty or unreadable source, corrupt or
    incompatible KB), 3 a fingerprinting worker stalled.
    """


@kb.command("build", epilog=_SOURCE_HELP)
@click.argument("sources", nargs=-1, type=InputPath("source", path_type=str))
@click.option("--output", "-o", required=True, type=OutputFile("knowledge base", path_type=str),
              help="The knowledge base file to write (SQLite).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@_sources_options
def build(sources: tuple[str, ...], output: str, force: bool, python_envs: tuple[str, ...],
          only: tuple[str, ...], jobs: int | None) -> None:
    """Build a knowledge base from SOURCE... and/or --python-env PATH."""
    report = build_kb(output, sources, python_envs=python_envs, only=only, jobs=jobs, force=force,
                      progress=_progress())
    _print_report("built", report)


@kb.command("add", epilog=_SOURCE_HELP)
@click.argument("kb_path", metavar="KB", type=InputFile("knowledge base", path_type=str))
@click.argument("sources", nargs=-1, type=InputPath("source", path_type=str))
@_sources_options
def add(kb_path: str, sources: tuple[str, ...], python_envs: tuple[str, ...],
        only: tuple[str, ...], jobs: int | None) -> None:
    """Add SOURCE... to the knowledge base KB; a component already held (same kind, name and
    version) is re-indexed and replaced."""
    report = add_to_kb(kb_path, sources, python_envs=python_envs, only=only, jobs=jobs,
                       progress=_progress())
    _print_report("updated", report)


@kb.command("info")
@click.argument("kb_path", metavar="KB", type=InputFile("knowledge base", path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print the full description as JSON.")
@click.option("--components/--no-components", default=True, show_default=True,
              help="List the components.")
def info(kb_path: str, as_json: bool, components: bool) -> None:
    """Show what the knowledge base KB holds: parameters, counts, size, components."""
    with KnowledgeBase.open(kb_path) as opened:
        data = opened.info()
    if as_json:
        emit(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    ratio = f"{data['kb_ratio'] * 100:.1f}%" if data["kb_ratio"] is not None else "n/a"
    kinds = ", ".join(f"{n} {kind}" for kind, n in data["components_by_kind"].items()) or "none"
    say(f"knowledge base {data['path']}")
    say(f"  schema {data['schema_version']}, normalizer {data['normalizer_version']}, "
        f"written by verifier {data['tool_version']}, created {data['created']}, "
        f"updated {data['updated']}")
    say(f"  winnowing k={data['k']} w={data['w']} (shared runs of {data['guarantee_bytes']} "
        "normalized bytes are always seen)")
    say(f"  {data['components']} components ({kinds}), {data['files']} files "
        f"({data['distinct_files']} distinct), {data['lines']} effective lines, "
        f"{data['fingerprints']} fingerprints")
    say(f"  corpus {_size(data['corpus_bytes'])}, index {_size(data['kb_bytes'])} ({ratio})")
    if components:
        for item in data["component_list"]:
            version = f" {item['version']}" if item["version"] else ""
            say(f"  - {item['name']}{version} [{item['kind']}] "
                f"{item['license'] or 'license not declared'}: {item['files']} files, "
                f"{_size(item['bytes'])}")


def _print_report(verb: str, report: BuildReport) -> None:
    for warning in report.warnings:
        say(f"verifier: warning: {warning}", err=True)
    ratio = (f" ({report.kb_bytes / report.kb_corpus_bytes * 100:.1f}% of its "
             f"{_size(report.kb_corpus_bytes)} corpus)") if report.kb_corpus_bytes else ""
    replaced = f", {report.components_replaced} replaced" if report.components_replaced else ""
    say(f"{verb} {report.kb}: {report.components_added} components added{replaced}, "
        f"{report.files_indexed} files indexed ({_size(report.corpus_bytes)}), "
        f"{report.files_skipped} skipped, knowledge base {_size(report.kb_bytes)}{ratio}, "
        f"{report.seconds:.1f} s")


def _progress():
    if not sys.stderr.isatty():
        return None
    state = {"shown": -1}

    def show(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != state["shown"]:
            state["shown"] = percent
            status(f"fingerprinting {done}/{total} files ({percent}%)", final=done == total)
    return show


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
