"""Building and updating a knowledge base from open-source code.

Sources: directories (one component, named by a manifest at its root or by the directory; any
``node_modules`` inside becomes one npm component per ``package.json``), source archives (.zip, .tar,
.tar.gz/.tgz, .tar.bz2, .tar.xz: read in memory, nothing extracted), ``node_modules`` trees, the
installed distributions of a Python environment (files from each distribution's RECORD; name,
version and license from its metadata), and registry packages fetched with the ordinary clients
(``verifier.kb.registries``: PyPI sdists or wheels, npm tarballs, Debian upstream tarballs; read by
``read_archive``, the one place archives are read). Symbolic links are never followed.

Fingerprinting runs in a process pool; the parent alone writes the SQLite file. ``build_kb`` writes
to a temporary file and renames it into place, so a failed build leaves nothing behind.
"""

from __future__ import annotations

import email.parser
import json
import multiprocessing
import os
import re
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath

import xxhash

from verifier.archive import open_archive
from verifier.errors import InputError, ToolError
from verifier.kb.normalize import decode_source, is_source_name, normalize
from verifier.kb.registries import Fetched, FetchFailure, PackageSpec, fetch
from verifier.kb.store import Component, KnowledgeBase, StoredFile
from verifier.kb.winnow import SHAPE_K, SHAPE_W, K, W, encode, fingerprint
from verifier.proc import pool_worker_init

#: Files larger than this are not indexed (data tables and bundles, not reusable code).
MAX_FILE_BYTES = 1 << 20
#: A fingerprinting task that takes longer than this stops the build (seconds).
TASK_TIMEOUT_S = 300

_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".mypy_cache"})

Progress = Callable[[int, int], None]
#: Called before each registry package is fetched: (package label, done, total).
FetchProgress = Callable[[str, int, int], None]
#: Fetches one package into a directory (``registries.fetch``; tests may pass a stand-in).
Fetcher = Callable[[PackageSpec, Path], "Fetched | FetchFailure"]


@dataclass(frozen=True)
class BuildReport:
    """What a build or an add did."""

    kb: str
    components_added: int
    components_replaced: int
    files_indexed: int
    """Files fingerprinted and stored (identical ones stored once, counted each)."""
    files_skipped: int
    """Source files not stored: too large, or too short to carry a fingerprint."""
    corpus_bytes: int
    """Bytes of the files stored by this run."""
    kb_bytes: int
    """Size of the KB file afterwards."""
    seconds: float
    warnings: tuple[str, ...] = ()
    kb_corpus_bytes: int = 0
    """Bytes of every file the KB holds afterwards (its whole corpus, what ``kb_bytes`` indexes);
    equal to ``corpus_bytes`` for a build."""
    unfetched: tuple[tuple[str, str], ...] = ()
    """Registry packages that could not be fetched: (package, the client's reason)."""
    already_held: tuple[str, ...] = ()
    """Registry packages skipped because the KB already held them."""
    fetched: tuple[str, ...] = ()
    """Registry packages fetched and indexed (``name version`` each)."""


@dataclass
class _Candidate:
    component: Component
    files: list[tuple[str, str | None, bytes | None]] = field(default_factory=list)
    """(path inside the component, file to read, or the bytes already read)."""
    skipped: int = 0


def build_kb(output: str | os.PathLike, sources: Sequence[str | os.PathLike] = (), *,
             python_envs: Sequence[str | os.PathLike] = (), only: Iterable[str] = (),
             packages: Sequence[PackageSpec] = (), jobs: int | None = None, force: bool = False,
             k: int = K, w: int = W, shape_k: int = SHAPE_K, shape_w: int = SHAPE_W,
             progress: Progress | None = None, fetch_progress: FetchProgress | None = None,
             fetcher: Fetcher | None = None) -> BuildReport:
    """Create the KB ``output`` from ``sources``, Python environments (``only``: restrict to
    these distribution names) and registry ``packages`` (fetched with their clients; one that
    cannot be is listed in ``unfetched``). ``InputError`` on a bad or empty source, nothing
    indexable at all, or an existing output."""
    started = time.monotonic()
    output = Path(output)
    if output.exists() and not force:
        raise InputError(f"{output}: already exists", hint="use --force to replace it, "
                         "or `verifier kb add` to update it")
    if output.is_dir():
        raise InputError(f"{output}: is a directory")
    if not output.parent.is_dir():
        raise InputError(f"{output.parent}: no such directory")
    with tempfile.TemporaryDirectory(prefix="verifier-kb-fetch-") as downloads:
        found = collect_sources(sources, python_envs, only, packages=packages,
                                downloads=Path(downloads), fetch_progress=fetch_progress,
                                fetcher=fetcher)
        candidates, warnings = found.candidates, found.warnings
        if not candidates:
            raise _nothing_fetched(found)
        temp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
        counts = _build_into(temp, output, candidates, jobs, progress, (k, w, shape_k, shape_w))
    return BuildReport(str(output), len(candidates), 0, counts[0], counts[1], counts[2],
                       output.stat().st_size, round(time.monotonic() - started, 2), tuple(warnings),
                       kb_corpus_bytes=counts[2], unfetched=found.unfetched,
                       already_held=found.held, fetched=found.fetched)


def _build_into(temp: Path, output: Path, candidates: list[_Candidate], jobs: int | None,
                progress: Progress | None, params: tuple[int, int, int, int]
                ) -> tuple[int, int, int, int]:
    """Index ``candidates`` into a new KB at ``temp`` and rename it to ``output``."""
    temp.unlink(missing_ok=True)
    try:
        k, w, shape_k, shape_w = params
        kb = KnowledgeBase.create(temp, k=k, w=w, shape_k=shape_k, shape_w=shape_w)
        try:
            counts = _index(kb, candidates, jobs, progress)
        finally:
            kb.close()
        os.replace(temp, output)
    finally:
        temp.unlink(missing_ok=True)
    return counts


def add_to_kb(kb_path: str | os.PathLike, sources: Sequence[str | os.PathLike] = (), *,
              python_envs: Sequence[str | os.PathLike] = (), only: Iterable[str] = (),
              packages: Sequence[PackageSpec] = (), jobs: int | None = None,
              progress: Progress | None = None, fetch_progress: FetchProgress | None = None,
              fetcher: Fetcher | None = None, require: bool = True) -> BuildReport:
    """Add components to an existing KB, replacing any of the same kind, name and version; a
    registry package the KB already holds is skipped (``already_held``), not fetched again.
    ``require``: ``InputError`` when nothing at all could be indexed (else an empty report)."""
    started = time.monotonic()
    with KnowledgeBase.open(kb_path, writable=True) as kb:
        held = {(c.kind, _canonical(c.name), c.version) for c in kb.components().values()}
        with tempfile.TemporaryDirectory(prefix="verifier-kb-fetch-") as downloads:
            found = collect_sources(sources, python_envs, only, packages=packages, held=held,
                                    downloads=Path(downloads), fetch_progress=fetch_progress,
                                    fetcher=fetcher)
            candidates, warnings = found.candidates, found.warnings
            if not candidates and require and not found.held:
                raise _nothing_fetched(found)
            files, skipped, corpus, replaced = (_index(kb, candidates, jobs, progress)
                                                if candidates else (0, 0, 0, 0))
        whole = kb.corpus_bytes()
    return BuildReport(str(kb_path), len(candidates) - replaced, replaced, files, skipped, corpus,
                       Path(kb_path).stat().st_size, round(time.monotonic() - started, 2),
                       tuple(warnings), kb_corpus_bytes=whole, unfetched=found.unfetched,
                       already_held=found.held, fetched=found.fetched)


def _nothing_fetched(found: Sources) -> InputError:
    if found.unfetched:
        label, reason = found.unfetched[0]
        more = f" (and {len(found.unfetched) - 1} more)" if len(found.unfetched) > 1 else ""
        return InputError(f"no package could be fetched: {label}: {reason}{more}")
    return InputError("nothing to index", hint=_EXT_HINT)


@dataclass
class Sources:
    """What ``collect_sources`` found."""

    candidates: list[_Candidate]
    warnings: list[str]
    unfetched: tuple[tuple[str, str], ...] = ()
    held: tuple[str, ...] = ()
    fetched: tuple[str, ...] = ()


def collect_sources(sources: Sequence[str | os.PathLike], python_envs: Sequence[str | os.PathLike],
                    only: Iterable[str] = (), *, packages: Sequence[PackageSpec] = (),
                    held: set[tuple[str, str, str]] | frozenset = frozenset(),
                    downloads: Path | None = None, fetch_progress: FetchProgress | None = None,
                    fetcher: Fetcher | None = None) -> Sources:
    """Enumerate the components and files of every source and registry package (fetched into
    ``downloads``; those whose (kind, canonical name, version) is in ``held`` are skipped);
    ``InputError`` if a local source has nothing to index."""
    if not sources and not python_envs and not packages:
        raise InputError("no source given", hint="give directories, archives, --python-env PATH "
                         "or registry packages (--pypi, --npm, --debian-source, --deps, --list)")
    wanted = {_canonical(name) for name in only}
    if wanted and not python_envs:
        raise InputError("--only selects distributions of a --python-env; none given")
    candidates: list[_Candidate] = []
    warnings: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_symlink() and not path.exists():
            raise InputError(f"{source}: broken symbolic link")
        if not path.exists():
            raise InputError(f"{source}: no such file or directory")
        if path.is_dir():
            found = _directory_candidates(path, warnings)
        elif path.is_file() and path.name.lower().endswith(_ARCHIVE_SUFFIXES):
            found = [_archive_candidate(path)]
        else:
            raise InputError(f"{source}: not a directory or a source archive "
                             "(.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz)")
        found = [c for c in found if c.files]
        if not found:
            raise InputError(f"{source}: no source files to index", hint=_EXT_HINT)
        candidates += found
    for env in python_envs:
        found = _python_env_candidates(Path(env), wanted, warnings)
        if not found:
            raise InputError(f"{env}: no installed distribution with source files to index")
        candidates += found
    fetched = _registry_candidates(packages, held, downloads, fetch_progress, fetcher or fetch)
    candidates += fetched.candidates
    warnings += fetched.warnings
    seen: set[tuple[str, str, str]] = set()
    unique: list[_Candidate] = []
    for cand in candidates:
        key = (cand.component.kind, cand.component.name, cand.component.version)
        if key in seen:
            warnings.append(f"{cand.component.name} {cand.component.version}: given twice, "
                            f"indexed once (from {_origin_of(unique, key)})")
            continue
        seen.add(key)
        unique.append(cand)
    return Sources(unique, warnings, fetched.unfetched, fetched.held, fetched.fetched)


def _registry_candidates(packages: Sequence[PackageSpec], held: set | frozenset,
                         downloads: Path | None, progress: FetchProgress | None,
                         fetcher: Fetcher) -> Sources:
    """Fetch each package (unless held) and read it as a component."""
    out = Sources([], [])
    unfetched: list[tuple[str, str]] = []
    skipped: list[str] = []
    fetched: list[str] = []
    specs = list(dict.fromkeys(packages))
    if specs and downloads is None:
        raise ValueError("downloads directory needed to fetch packages")
    where = downloads or Path()  # never used without packages to fetch
    for done, spec in enumerate(specs):
        if progress:
            progress(spec.label, done, len(specs))
        kind = _REGISTRY_KIND[spec.ecosystem]
        if spec.version and (kind, _canonical(spec.name), spec.version) in held:
            skipped.append(spec.label)
            continue
        result = fetcher(spec, where / f"{done:05d}")
        if isinstance(result, FetchFailure):
            unfetched.append((spec.label, result.reason))
            continue
        try:
            cand = registry_candidate(result)
        except InputError as err:
            unfetched.append((spec.label, str(err)))
            continue
        comp = cand.component
        if (comp.kind, _canonical(comp.name), comp.version) in held:
            skipped.append(spec.label)
            continue
        if not cand.files:
            out.warnings.append(f"{spec.label}: no source files to index in {result.archive.name}")
            continue
        fetched.append(f"{comp.name} {comp.version}".strip())
        out.candidates.append(cand)
    if progress and specs:
        progress("", len(specs), len(specs))
    out.unfetched, out.held, out.fetched = tuple(unfetched), tuple(skipped), tuple(fetched)
    return out


_REGISTRY_KIND = {"pypi": "python", "npm": "npm", "debian": "debian"}


def registry_candidate(fetched: Fetched) -> _Candidate:
    """The component and files of a fetched package, its archive read in memory (name, version
    and license from its own metadata; purl from its registry)."""
    members = read_archive(fetched.archive)
    prefix = _common_top(list(members))
    spec = fetched.spec
    if fetched.kind in ("sdist", "wheel"):
        meta = members.get(prefix + "PKG-INFO") or next(
            (data for name, data in members.items()
             if name.count("/") == 1 and name.endswith(".dist-info/METADATA")), None)
        name, version, license_ = (_metadata_info(meta.decode("utf-8", "replace")) if meta
                                   else (None, None, None))
        name, version = name or spec.name, version or spec.version or ""
        component = Component("python", name, version, license_, f"pypi {fetched.archive.name}",
                              f"pkg:pypi/{_canonical(name)}@{version}")
    elif fetched.kind == "npm":
        name, version, license_ = _archive_manifest(members, prefix)
        name, version = name or spec.name, version or spec.version or ""
        component = Component("npm", name, version, license_, f"npm {fetched.archive.name}",
                              f"pkg:npm/{name.replace('@', '%40')}@{version}")
    else:
        version = spec.version or ""
        component = Component("debian", spec.name, version, _debian_license(fetched),
                              f"debian {fetched.archive.name}",
                              f"pkg:deb/debian/{spec.name}@{version}?arch=source")
    cand = _Candidate(component)
    _add_members(cand, members, prefix)
    return cand


def _debian_license(fetched: Fetched) -> str | None:
    """The license of ``Files: *`` in ``debian/copyright`` (machine-readable format), if any."""
    for companion in fetched.companions:
        if ".debian.tar." not in companion.name:
            continue
        try:
            members = read_archive(companion, names=("copyright",))
        except InputError:
            return None
        text = (members.get("debian/copyright") or b"").decode("utf-8", "replace")
        for paragraph in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([A-Za-z-]+):[ \t]*(.*)$", paragraph, re.MULTILINE))
            if fields.get("Files", "").strip() == "*" and fields.get("License", "").strip():
                return fields["License"].strip()[:100]
    return None


_EXT_HINT = "it indexes source code files such as .py, .js, .ts, .java, .c, .go, .php, .rs"


def _origin_of(candidates: list[_Candidate], key: tuple[str, str, str]) -> str:
    for cand in candidates:
        if (cand.component.kind, cand.component.name, cand.component.version) == key:
            return cand.component.origin or "?"
    return "?"


# -- indexing --------------------------------------------------------------------------------------
def _index(kb: KnowledgeBase, candidates: list[_Candidate], jobs: int | None,
           progress: Progress | None) -> tuple[int, int, int, int]:
    tasks = [(path, disk, data, kb.k, kb.w, kb.shape_k, kb.shape_w)
             for cand in candidates for path, disk, data in cand.files]
    results = _run_tasks(tasks, jobs, progress)
    writer = kb.writer()
    writer.expect(sum(len(result[2]) // 4 for result in results if result is not None))
    files = skipped = corpus = 0
    at = 0
    for cand in candidates:
        stored = []
        for path, _, _ in cand.files:
            result = results[at]
            at += 1
            if result is None:
                skipped += 1
                continue
            size, n_lines, hash_bytes, meta_bytes = result
            digest = xxhash.xxh3_64_intdigest(hash_bytes + meta_bytes) - (1 << 63)
            stored.append(StoredFile(path, size, n_lines, hash_bytes, meta_bytes, digest))
            corpus += size
        files += len(stored)
        skipped += cand.skipped
        writer.add_component(cand.component, stored)
    writer.finish()
    return files, skipped, corpus, len(writer.replaced)


def _run_tasks(tasks: list[tuple], jobs: int | None, progress: Progress | None) -> list:
    jobs = jobs or min(os.cpu_count() or 1, 8)
    total = len(tasks)
    results = []
    if jobs <= 1 or total < 64:
        for done, task in enumerate(tasks, 1):
            results.append(fingerprint_task(task))
            if progress:
                progress(done, total)
        return results
    chunks = [tasks[at:at + _CHUNK] for at in range(0, total, _CHUNK)]
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    with multiprocessing.get_context(method).Pool(jobs, initializer=pool_worker_init,
                                                  initargs=(os.getpid(),)) as pool:
        stream = pool.imap(_fingerprint_chunk, chunks)
        for chunk in chunks:
            try:
                results += stream.next(timeout=TASK_TIMEOUT_S)
            except multiprocessing.TimeoutError:
                pool.terminate()
                raise ToolError(f"fingerprinting {chunk[0][0]} and the next {len(chunk) - 1} files "
                                f"took over {TASK_TIMEOUT_S} s; knowledge base not written") from None
            if progress:
                progress(len(results), total)
    return results


_CHUNK = 8


def _fingerprint_chunk(chunk: list[tuple]) -> list:
    return [fingerprint_task(task) for task in chunk]


def fingerprint_task(task: tuple) -> tuple[int, int, bytes, bytes] | None:
    """Worker: fingerprint one file; ``(size, effective lines, hashes, line data)`` or ``None`` when
    it is unreadable or too short to carry a fingerprint."""
    path, disk, data, k, w, shape_k, shape_w = task
    if data is None:
        try:
            with open(disk, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError:
            return None
    if len(data) > MAX_FILE_BYTES:
        return None
    text = normalize(decode_source(data), path)
    fps = fingerprint(text, k, w, shape_k, shape_w)
    if not fps.hashes:
        return None
    hash_bytes, meta_bytes = encode(fps)
    return len(data), len(text), hash_bytes, meta_bytes


# -- directories and node_modules --------------------------------------------------------------------
def _directory_candidates(root: Path, warnings: list[str]) -> list[_Candidate]:
    if root.name == "node_modules":
        return _node_modules_candidates(root, warnings)
    name, version, license_ = _manifest_info(root)
    component = Component("directory", name or root.resolve().name, version or "", license_,
                          str(root))
    own = _Candidate(component)
    found = [own]
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if "node_modules" in dirnames:
            found += _node_modules_candidates(here / "node_modules", warnings)
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and d != "node_modules")
        for filename in sorted(filenames):
            _add_file(own, root, here / filename)
    return found


def _node_modules_candidates(modules: Path, warnings: list[str]) -> list[_Candidate]:
    found: list[_Candidate] = []
    package_dirs: list[Path] = []
    for entry in sorted(_listdir(modules)):
        path = modules / entry
        if entry.startswith(".") or path.is_symlink() or not path.is_dir():
            continue
        if entry.startswith("@"):
            package_dirs += [path / sub for sub in sorted(_listdir(path))
                             if not (path / sub).is_symlink() and (path / sub).is_dir()]
        else:
            package_dirs.append(path)
    for package in package_dirs:
        manifest = _read_json(package / "package.json")
        if manifest is None:
            warnings.append(f"{package}: no readable package.json, skipped")
            continue
        name = str(manifest.get("name") or package.name)
        version = str(manifest.get("version") or "")
        cand = _Candidate(Component("npm", name, version, _npm_license(manifest), str(package),
                                    f"pkg:npm/{name.replace('@', '%40')}@{version}" if version
                                    else f"pkg:npm/{name.replace('@', '%40')}"))
        for dirpath, dirnames, filenames in os.walk(package):
            here = Path(dirpath)
            if "node_modules" in dirnames:
                found += _node_modules_candidates(here / "node_modules", warnings)
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and d != "node_modules")
            for filename in sorted(filenames):
                _add_file(cand, package, here / filename)
        found.append(cand)
    return found


def _add_file(cand: _Candidate, root: Path, path: Path) -> None:
    if not is_source_name(path.name) or path.is_symlink():
        return
    try:
        size = path.stat().st_size
    except OSError:
        cand.skipped += 1
        return
    if not path.is_file():
        return
    if size > MAX_FILE_BYTES:
        cand.skipped += 1
        return
    try:
        label = path.relative_to(root).as_posix()
    except ValueError:
        return
    cand.files.append((label, str(path), None))


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _npm_license(manifest: dict) -> str | None:
    value = manifest.get("license")
    if isinstance(value, dict):
        value = value.get("type")
    if not value and isinstance(manifest.get("licenses"), list):
        types = [item.get("type") for item in manifest["licenses"] if isinstance(item, dict)]
        value = " OR ".join(str(t) for t in types if t)
    return str(value) if value else None


def _manifest_info(root: Path) -> tuple[str | None, str | None, str | None]:
    """(name, version, license) from a manifest at ``root``: package.json, PKG-INFO, pyproject.toml."""
    manifest = _read_json(root / "package.json")
    if manifest is not None:
        return (manifest.get("name") and str(manifest["name"]),
                manifest.get("version") and str(manifest["version"]), _npm_license(manifest))
    for name in ("PKG-INFO", "METADATA"):
        try:
            text = (root / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        return _metadata_info(text)
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project")
    except (OSError, ValueError):
        project = None
    if isinstance(project, dict):
        license_ = project.get("license")
        if isinstance(license_, dict):
            license_ = license_.get("text")
        return (project.get("name") and str(project["name"]),
                project.get("version") and str(project["version"]),
                license_ if isinstance(license_, str) and "\n" not in license_.strip() else None)
    return None, None, None


def _metadata_info(text: str) -> tuple[str | None, str | None, str | None]:
    message = email.parser.Parser().parsestr(text, headersonly=True)
    return message.get("Name"), message.get("Version"), _license_from_metadata(message)


# -- archives --------------------------------------------------------------------------------------
def _archive_candidate(path: Path) -> _Candidate:
    lower = path.name.lower()
    stem = next(path.name[:-len(s)] for s in _ARCHIVE_SUFFIXES if lower.endswith(s))
    match = re.match(r"^(?P<name>.+?)-(?P<version>\d[\w.+!-]*)$", stem)
    name, version = (match["name"], match["version"]) if match else (stem, "")
    members = read_archive(path)
    prefix = _common_top(list(members))
    manifest_info = _archive_manifest(members, prefix)
    if manifest_info[0]:
        name = manifest_info[0]
        version = manifest_info[1] or version
    cand = _Candidate(Component("archive", name, version, manifest_info[2], str(path)))
    _add_members(cand, members, prefix)
    return cand


def _add_members(cand: _Candidate, members: dict[str, bytes | None], prefix: str) -> None:
    for member, data in members.items():
        label = member[len(prefix):] if prefix else member
        if not is_source_name(PurePosixPath(label).name):
            continue
        if data is None:
            cand.skipped += 1
            continue
        cand.files.append((label, None, data))


def read_archive(path: Path, names: Iterable[str] = ()) -> dict[str, bytes | None]:
    """The one place archives are read (sources, fetched packages): regular members by sanitized
    path — bytes for source files, manifests and members named ``names``, ``None`` for source
    files over the size limit — in memory, with ``verifier.archive``'s limits (an unsafe entry
    refuses the archive)."""
    return _archive_members(path, tuple(names))


def _archive_members(path: Path, extra: tuple[str, ...] = ()) -> dict[str, bytes | None]:
    """Regular members by path, read with ``verifier.archive``: their bytes for source files and
    manifests, ``None`` for source files over the size limit."""
    members: dict[str, bytes | None] = {}
    wanted = ("package.json", "PKG-INFO", "pyproject.toml", "METADATA", *extra)
    with open_archive(path) as archive:
        for member in archive:
            if member.kind != "file" or not member.path:
                continue
            base = PurePosixPath(member.path).name
            if not (is_source_name(base) or base in wanted):
                continue
            members[member.path] = (None if member.size > MAX_FILE_BYTES
                                    else archive.read(member, MAX_FILE_BYTES))
    return dict(sorted(members.items()))


def _common_top(names: list[str]) -> str:
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop() + "/"
    return ""


def _archive_manifest(members: dict[str, bytes | None], prefix: str
                      ) -> tuple[str | None, str | None, str | None]:
    data = members.get(prefix + "package.json")
    if data:
        try:
            manifest = json.loads(data.decode("utf-8"))
        except ValueError:
            manifest = None
        if isinstance(manifest, dict):
            return (manifest.get("name") and str(manifest["name"]),
                    manifest.get("version") and str(manifest["version"]), _npm_license(manifest))
    data = members.get(prefix + "PKG-INFO")
    if data:
        return _metadata_info(data.decode("utf-8", "replace"))
    return None, None, None


# -- Python environments -----------------------------------------------------------------------------
def site_packages_of(env: Path) -> Path:
    """The site-packages directory of a virtualenv root, a site-packages directory or an
    environment's ``python`` (never run); ``InputError`` if there is none."""
    if not env.exists():
        raise InputError(f"{env}: no such Python environment")
    if env.is_file():  # .../bin/python
        env = env.parent.parent
    if any(env.glob("*.dist-info")) or any(env.glob("*.egg-info")):
        return env
    for pattern in ("lib/python3*/site-packages", "lib64/python3*/site-packages", "Lib/site-packages"):
        found = sorted(p for p in env.glob(pattern) if p.is_dir())
        if found:
            return found[-1]
    raise InputError(f"{env}: no site-packages found",
                     hint="give a virtualenv, a site-packages directory or its python")


def _python_env_candidates(env: Path, wanted: set[str], warnings: list[str]) -> list[_Candidate]:
    site = site_packages_of(env)
    root = site.resolve()
    dists: dict[str, importlib_metadata.Distribution] = {}
    for dist in importlib_metadata.distributions(path=[str(site)]):
        name = dist.metadata["Name"]
        if not name:
            continue
        key = _canonical(name)
        if (wanted and key not in wanted) or key in dists:
            continue
        dists[key] = dist
    missing = sorted(wanted - set(dists))
    if missing:
        raise InputError(f"{env}: no installed distribution named {', '.join(missing)}")
    found = []
    for key in sorted(dists):
        dist = dists[key]
        name, version = dist.metadata["Name"], dist.version or ""
        cand = _Candidate(Component("python", name, version, _license_from_metadata(dist.metadata),
                                    str(site), f"pkg:pypi/{key}@{version}"))
        if dist.files is None:
            warnings.append(f"{name} {version}: no RECORD of its files, skipped")
            continue
        for item in sorted(dist.files, key=str):
            rel = PurePosixPath(str(item).replace("\\", "/"))
            if ".." in rel.parts or not is_source_name(rel.name):
                continue
            disk = Path(str(dist.locate_file(item)))
            try:
                inside = disk.resolve().is_relative_to(root)
            except OSError:
                inside = False
            if not inside:
                continue
            _add_file(cand, site, disk)
        if cand.files:
            found.append(cand)
    return found


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _license_from_metadata(message) -> str | None:
    expression = (message.get("License-Expression") or "").strip()
    if expression:
        return expression
    text = (message.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text
    classifiers = sorted({c.split("::")[-1].strip() for c in (message.get_all("Classifier") or [])
                          if c.startswith("License ::") and c.count("::") >= 2})
    if classifiers:
        return " OR ".join(classifiers)
    if text and text.upper() != "UNKNOWN":
        first = text.splitlines()[0].strip()
        return first[:100] or None
    return None
