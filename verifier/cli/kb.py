"""``verifier kb``: build, update and inspect a snippet knowledge base of open-source code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from verifier.cli.output import SafeConsole, emit, say
from verifier.cli.params import InputDirectory, InputFile, InputPath, OutputFile
from verifier.errors import InputError
from verifier.kb.build import BuildReport, add_to_kb, build_kb
from verifier.kb.deps import declared_dependencies
from verifier.kb.registries import PackageSpec, parse_spec, read_list
from verifier.kb.store import KnowledgeBase

_SOURCE_HELP = """\b
SOURCE: a directory of open-source code (one component, named by its package.json, PKG-INFO
or pyproject.toml, else by the directory; node_modules inside become one npm component per
package.json), a node_modules directory, or a source archive (.zip, .tar, .tar.gz, .tgz,
.tar.bz2, .tar.xz; read in memory, nothing extracted).

\b
Registry packages are fetched with the ordinary clients (your pip, npm and apt
configuration, indexes and mirrors apply): --pypi NAME[==VERSION] (the source
distribution, else a wheel), --npm NAME[@VERSION] (the published tarball),
--debian-source PACKAGE[=VERSION] (the upstream tarball of a Debian source package:
apt needs deb-src entries; or a local FILE.dsc), --deps REPO (the dependencies REPO's
manifests and lock files declare, at their pinned or locked versions), --list FILE
(lines like pypi:NAME==1.0, npm:NAME@1.0, debian:PACKAGE). A package that cannot be
fetched is listed with the client's reason and the rest go on; kb add skips what the
KB already holds."""


def _sources_options(func):
    func = click.option("--list", "lists", multiple=True, metavar="FILE",
                        type=InputFile("package list", path_type=str),
                        help="Fetch the packages FILE lists, one a line: pypi:NAME[==VERSION], "
                             "npm:NAME[@VERSION], debian:PACKAGE[=VERSION]. Repeatable.")(func)
    func = click.option("--deps", "deps", multiple=True, metavar="REPO",
                        type=InputDirectory("repository", path_type=str),
                        help="Fetch the dependencies REPO declares (requirements*.txt, "
                             "pyproject.toml, poetry.lock, uv.lock, Pipfile.lock, package.json, "
                             "package-lock.json, yarn.lock, pnpm-lock.yaml) at their pinned or "
                             "locked versions. Repeatable.")(func)
    func = click.option("--debian-source", "debian", multiple=True, metavar="PACKAGE",
                        help="Fetch the upstream source of a Debian source package "
                             "(apt-get source --download-only), or read a local FILE.dsc. "
                             "Repeatable.")(func)
    func = click.option("--npm", "npm", multiple=True, metavar="NAME[@VERSION]",
                        help="Fetch an npm package's tarball (npm pack). Repeatable.")(func)
    func = click.option("--pypi", "pypi", multiple=True, metavar="NAME[==VERSION]",
                        help="Fetch a PyPI package's source distribution, else a wheel (pip "
                             "download). Repeatable.")(func)
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
          only: tuple[str, ...], jobs: int | None, **registry) -> None:
    """Build a knowledge base from SOURCE..., --python-env PATH and registry packages."""
    packages, notes = _packages(**registry)
    with _Progress() as bar:
        report = build_kb(output, sources, python_envs=python_envs, only=only, packages=packages,
                          jobs=jobs, force=force, progress=bar.fingerprinting,
                          fetch_progress=bar.fetching)
    _print_report("built", report, notes)


@kb.command("add", epilog=_SOURCE_HELP)
@click.argument("kb_path", metavar="KB", type=InputFile("knowledge base", path_type=str))
@click.argument("sources", nargs=-1, type=InputPath("source", path_type=str))
@_sources_options
def add(kb_path: str, sources: tuple[str, ...], python_envs: tuple[str, ...],
        only: tuple[str, ...], jobs: int | None, **registry) -> None:
    """Add SOURCE... and registry packages to the knowledge base KB; a local source already held
    (same kind, name and version) is re-indexed and replaced, a registry package already held is
    skipped."""
    packages, notes = _packages(**registry)
    with _Progress() as bar:
        report = add_to_kb(kb_path, sources, python_envs=python_envs, only=only,
                           packages=packages, jobs=jobs, progress=bar.fingerprinting,
                           fetch_progress=bar.fetching)
    _print_report("updated", report, notes)


def _packages(pypi: tuple[str, ...] = (), npm: tuple[str, ...] = (), debian: tuple[str, ...] = (),
              deps: tuple[str, ...] = (), lists: tuple[str, ...] = ()
              ) -> tuple[list[PackageSpec], list[str]]:
    """The registry packages the options name, and notes on declared dependencies that are not
    fetched (not from a registry) or not pinned."""
    specs = [parse_spec("pypi", t) for t in pypi] + [parse_spec("npm", t) for t in npm]
    specs += [parse_spec("debian", t) for t in debian]
    for path in lists:
        specs += read_list(Path(path))
    notes: list[str] = []
    for repo in deps:
        found, warnings = declared_dependencies(repo)
        notes += warnings
        unpinned = [d for d in found if d.registry and not d.version]
        local = [d for d in found if not d.registry]
        for dep in found:
            if not dep.registry:
                continue
            try:
                specs.append(parse_spec(dep.ecosystem, dep.spec.label))
            except InputError as err:  # a name no registry allows: say so, fetch the rest
                notes.append(f"{dep.declared_in}: {dep.name}: {err}")
        if unpinned:
            notes.append(f"{repo}: {len(unpinned)} dependencies declared without a pinned or "
                         f"locked version, fetched at the latest: "
                         f"{', '.join(d.name for d in unpinned[:8])}"
                         f"{' …' if len(unpinned) > 8 else ''}")
        if local:
            notes.append(f"{repo}: {len(local)} dependencies not from a registry (git, path, "
                         f"workspace), not fetched: {', '.join(d.name for d in local[:8])}")
        if not found:
            notes.append(f"{repo}: no declared dependencies found")
    return list(dict.fromkeys(specs)), notes


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
        f"normalized bytes are always seen), shape grams k={data['shape_k']} w={data['shape_w']}")
    say(f"  {data['components']} components ({kinds}), {data['files']} files "
        f"({data['distinct_files']} distinct), {data['lines']} effective lines, "
        f"{data['fingerprints']} fingerprints")
    say(f"  corpus {_size(data['corpus_bytes'])}, index {_size(data['kb_bytes'])} ({ratio}): "
        f"{data['postings']} fingerprint occurrences in 2^{data['index_bits']} buckets")
    if components:
        for item in data["component_list"]:
            version = f" {item['version']}" if item["version"] else ""
            say(f"  - {item['name']}{version} [{item['kind']}] "
                f"{item['license'] or 'license not declared'}: {item['files']} files, "
                f"{_size(item['bytes'])}")


def _print_report(verb: str, report: BuildReport, notes: list[str] | None = None) -> None:
    for warning in [*(notes or ()), *report.warnings]:
        say(f"verifier: warning: {warning}", err=True)
    for label, reason in report.unfetched:
        say(f"verifier: warning: could not fetch {label}: {reason}", err=True)
    if report.fetched or report.already_held or report.unfetched:
        say(f"registry packages: {len(report.fetched)} fetched, {len(report.already_held)} "
            f"already held (skipped), {len(report.unfetched)} could not be fetched")
    ratio = (f" ({report.kb_bytes / report.kb_corpus_bytes * 100:.1f}% of its "
             f"{_size(report.kb_corpus_bytes)} corpus)") if report.kb_corpus_bytes else ""
    replaced = f", {report.components_replaced} replaced" if report.components_replaced else ""
    say(f"{verb} {report.kb}: {report.components_added} components added{replaced}, "
        f"{report.files_indexed} files indexed ({_size(report.corpus_bytes)}), "
        f"{report.files_skipped} skipped, knowledge base {_size(report.kb_bytes)}{ratio}, "
        f"{report.seconds:.1f} s")


class _Progress:
    """A rich progress bar on a terminal's stderr (fetching, then fingerprinting); nothing
    elsewhere."""

    def __init__(self) -> None:
        self._bar = None
        self._tasks: dict[str, TaskID] = {}
        if sys.stderr.isatty():
            self._bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                                 MofNCompleteColumn(), console=SafeConsole(stderr=True),
                                 transient=False)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _update(self, name: str, description: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if name not in self._tasks:
            self._tasks[name] = self._bar.add_task(description, total=total)
        self._bar.update(self._tasks[name], completed=done, total=total, description=description)

    def fetching(self, label: str, done: int, total: int) -> None:
        """Progress of fetching registry packages."""
        text = f"fetching {label}" if label else "fetched"  # a SafeConsole: no markup, escaped
        self._update("fetch", text[:60], done, total)

    def fingerprinting(self, done: int, total: int) -> None:
        """Progress of fingerprinting files."""
        self._update("index", "fingerprinting files", done, total)


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
