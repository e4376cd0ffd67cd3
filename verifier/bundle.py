"""Tamper-evident bundles of a run, and their verification on site.

A bundle is a zip written in one canonical way (members stored uncompressed, fixed timestamps and
attributes, fixed order) holding:

- ``manifest.json``: sha256 and size of every other file, tool versions, the spec hash, run id and
  project, and the repository: commit, subpath, dirtiness, tree hash and the mode it was taken in;
- ``manifest.sig`` (when signed): an Ed25519 signature of the exact ``manifest.json`` bytes;
- ``run/…``: the run directory (``results.json``, ``spec.yaml``, evidence) and ``run/reports/report.{zh,en}.html``,
  rendered from those files when packing (a report file found in the run directory is never packed).

Because the layout is canonical, ``verify_bundle`` rebuilds the zip from its verified contents and
compares the bytes, so a change to any byte of the file — content or zip metadata — is caught.

What a bundle proves. The hashes prove nothing changed since it was packed; a signature proves who
signed the manifest — neither proves the figures in ``results.json`` are consistent. So
``build_bundle`` refuses, and ``verify_bundle`` reports, a ``results.json`` that disagrees with what
the run's own data recomputes (``verifier.consistency``: statuses and credits from values and the
bundled ``spec.yaml``'s targets, gates, score, verdict). The measured values themselves are taken as
recorded: re-running on site is what checks them. Reports prove nothing either: ``verify_bundle``
re-renders each from the bundled results and the manifest's files and compares the bytes (rendering
depends on nothing else), and fails any report it cannot reproduce. A run consistent with a weakened
copy of the task book is caught by comparing the bundled ``spec.yaml`` with the task book itself
(``verifier.task_book``: the repository's, or the agency's copy).

The repository (``repo_identity``). A delivered directory inside a git work tree (its top or any
sub-directory) records the work tree's ``HEAD`` commit, the directory's ``subpath`` within it, and
``dirty`` (``git status`` limited to that subpath: changes, or untracked files that are not
ignored). Its tree hash is then taken in mode ``git-tracked``: the files git tracks under the
directory with their working-tree content — what an expert gets from a clean checkout of the
recorded commit (without line-ending conversion), so untracked and ignored files (``.venv``,
``node_modules``, build output) do not count. A directory outside git is hashed in mode
``all-files``: every file and link, ``.git`` left out. ``tree_hash`` defines both exactly; the
manifest states the mode and its rule. ``verify --repo`` compares commit and subpath when they are
recorded, and hashes the given tree in the recorded mode (the top of a clone is accepted for a
recorded subpath). The identity itself is ``verifier.repository``'s; git is read only through
``verifier.git`` (isolated: nothing the repository configures runs).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from verifier import __version__
from verifier.consistency import Check, check_run
from verifier.errors import InputError
from verifier.evidence import canonical_json, sha256_file
from verifier.git import GitState
from verifier.repository import (
    REPOSITORY_FILES,
    TREE_HASH_ALGORITHM,
    TREE_HASH_RULES,
    TREE_MODES,
    TreeEntry,
    current_entries,
    named_differences,
    recorded_entries,
    tracked_state,
    tracked_tree_hash,
    tree_hash,
)
from verifier.run_files import RunFile, RunFiles, is_report, run_dir_files
from verifier.signing import fingerprint, load_private_key, sign, verify_signature

FORMAT = "verifier/bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: the in-toto attestation (``verifier.attestation``), when the bundle has one
ATTESTATION = "attestation.intoto.jsonl"
PAYLOAD = "run/"

#: reading limits for bundles from elsewhere
MAX_MEMBERS = 200_000
MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 8 << 30
MAX_MANIFEST_BYTES = 256 << 20

_CHUNK = 1 << 20
#: what reading a damaged or hostile zip can raise (zipfile, zlib and struct errors, bad names …)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, struct.error, EOFError, OSError, ValueError, KeyError,
               TypeError, IndexError, OverflowError, RuntimeError, NotImplementedError)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# --------------------------------------------------------------------------- writing

@dataclass(frozen=True)
class BundleInfo:
    """What ``build_bundle`` wrote."""

    path: Path
    files: int
    """Number of payload files (everything but the manifest and signature)."""
    sha256: str
    """sha256 of the bundle file."""
    signed_by: str | None
    """Fingerprint of the signing key, when signed."""
    rendered: tuple[str, ...]
    """The reports rendered into the bundle from the run's data (``BUNDLE_REPORTS``)."""
    left_out: tuple[str, ...] = ()
    """Report files found in the run directory and not packed (a bundle's reports are rendered)."""
    documents: tuple[str, ...] = ()
    """The standard documents (SPDX, CycloneDX, SARIF, JUnit) rendered into the bundle from the run's data."""
    attestation: str | None = None
    """The in-toto attestation's member name, when one was added."""


#: the reports a bundle carries, rendered from the packed data: (lang, path in the run)
BUNDLE_REPORTS = (("zh", "reports/report.zh.html"), ("en", "reports/report.en.html"))


def build_bundle(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 key_path: str | os.PathLike[str] | None = None, attestation: bool = False) -> BundleInfo:
    """Pack ``run_dir`` (results, evidence) and its reports with a manifest into the zip ``out``,
    optionally signed.

    ``InputError`` when results.json disagrees with what the run's own data recomputes (see
    ``verifier.consistency``): a forged verdict, score, status or gate is never packed.

    The reports (``BUNDLE_REPORTS``) are rendered here from the packed results.json and files; report
    files found in the run directory (``verifier.run_files.is_report``) are never packed, so that
    ``verify_bundle`` can re-render each report and compare it byte for byte. Links inside the run
    directory are not packed.
    """
    run = Path(run_dir)
    from verifier.report import load_run  # noqa: PLC0415 - the report module is heavy (jinja, charts)

    result = load_run(run)
    wrong = [c.what.removeprefix("results.json: ") for c in _run_consistency(run, result) if c.ok is False]
    if wrong:
        more = f"; and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        raise InputError(f"{run}: results.json does not agree with the run's own data, not bundled: "
                         f"{'; '.join(wrong[:5])}{more}")
    if attestation and key_path is None:
        raise InputError("an attestation is signed with the bundle's key: give --sign KEY with --attestation")
    key = load_private_key(key_path) if key_path is not None else None
    out_path = Path(out)
    if out_path.resolve().is_relative_to(run.resolve()):
        raise InputError(f"{out_path}: the bundle must be written outside the run directory {run}")
    found = run_dir_files(run)
    left_out = tuple(rel for rel in found if is_report(rel))
    evidence = RunFiles.from_dir(run, [rel for rel in found if not is_report(rel)])
    payload: dict[str, bytes | Path] = {rel: run / rel for rel in evidence.entries}
    for lang, rel in BUNDLE_REPORTS:
        payload[rel] = render_bundle_report(result, evidence, lang)
    documents, _ = _standard_documents(result, evidence)
    payload.update(documents)
    files = []
    for rel in sorted(payload):
        src = payload[rel]
        if isinstance(src, bytes):
            files.append({"path": PAYLOAD + rel, "sha256": hashlib.sha256(src).hexdigest(), "size": len(src)})
        else:
            entry = evidence.entries[rel]
            files.append({"path": PAYLOAD + rel, "sha256": entry.sha256, "size": entry.size})
    tools = {"verifier": __version__, **dict(sorted(result.environment.tools.items()))}
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "verifier_version": __version__,
        "run_id": result.run_id,
        "project": {"name": result.project.name, "version": result.project.version,
                    "applicant": result.project.applicant},
        "verdict": result.verdict,
        "score": result.score.value,
        "spec": {"path": result.spec_path, "sha256": result.spec_sha256},
        "repository": _manifest_repository(result.repository),
        "tools": tools,
        "files": files,
    }
    attested = _attestation(run / "results.json", files, key) if attestation else None
    if attested is not None:
        manifest["attestation"] = attested[1]
    manifest_bytes = canonical_json(manifest).encode("utf-8")
    members: list[tuple[str, bytes | Path]] = [(MANIFEST, manifest_bytes)]
    signed_by = None
    if key is not None:
        signed_by = fingerprint(key.public_key())
        members.append((SIGNATURE, _signature_bytes(manifest_bytes, key)))
    if attested is not None:
        members.append((ATTESTATION, attested[0]))
    members += [(PAYLOAD + rel, payload[rel]) for rel in sorted(payload)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            sink = _Sink(handle)
            _write_canonical(sink, ((name, _opener(src), _size(src)) for name, src in members))
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return BundleInfo(path=out_path, files=len(files), sha256=sha256_file(out_path), signed_by=signed_by,
                      rendered=tuple(rel for _, rel in BUNDLE_REPORTS), left_out=left_out,
                      documents=tuple(sorted(documents)), attestation=ATTESTATION if attested is not None else None)


def _standard_documents(result: Any, files: RunFiles) -> tuple[dict[str, bytes], dict[str, str]]:
    """The SPDX, CycloneDX, SARIF and JUnit documents a bundle carries (``verifier.formats.bundled``)."""
    from verifier.formats.bundled import bundle_documents  # noqa: PLC0415 - spdx-tools, cyclonedx: heavy

    return bundle_documents(result, files)


def _attestation(results_path: Path, files: list[dict[str, Any]], key: Any) -> tuple[bytes, dict[str, Any]]:
    """The signed in-toto attestation of the bundle's files (``verifier.attestation``) and its manifest entry."""
    from verifier.attestation import PREDICATE_TYPE, sign_statement, statement, subjects_of  # noqa: PLC0415

    try:
        results = json.loads(results_path.read_bytes())
    except (OSError, ValueError) as err:
        raise InputError(f"{results_path}: unreadable for the attestation ({err})") from None
    envelope = sign_statement(statement(subjects_of(files), results, verifier_version=__version__,
                                        bundle_format=FORMAT), key)
    return envelope, {"path": ATTESTATION, "sha256": hashlib.sha256(envelope).hexdigest(),
                      "size": len(envelope), "predicate_type": PREDICATE_TYPE}


def render_bundle_report(result: Any, files: RunFiles, lang: str) -> bytes:
    """The HTML report a bundle carries for ``lang``: rendered from ``result`` and the packed files
    alone (evidence linked from ``reports/``), so the same bundle re-renders to the same bytes."""
    from verifier.report import render_html  # noqa: PLC0415 - the report module is heavy (jinja, charts)

    return render_html(result, files, lang, base="../").encode("utf-8")


def _manifest_repository(repo: Any) -> dict[str, Any]:
    """The manifest's ``repository``: commit, subpath, dirtiness, tree hash, its mode and rule."""
    mode = _recorded_mode(repo.tree_hash_mode, repo.tree_sha256)
    return {"commit": repo.commit, "subpath": repo.subpath, "dirty": repo.dirty,
            "tree_sha256": repo.tree_sha256, "tree_hash_algorithm": TREE_HASH_ALGORITHM,
            "tree_hash_mode": mode, "tree_hash_rule": TREE_HASH_RULES.get(mode or "")}


def _recorded_mode(mode: Any, tree: Any) -> str | None:
    """The tree hash mode of a record; runs from before modes were recorded hashed all files."""
    if mode is None and tree is not None:
        return "all-files"
    return mode


def _signature_bytes(manifest_bytes: bytes, key: Any) -> bytes:
    record = {"algorithm": "Ed25519", "key": fingerprint(key.public_key()),
              "signature": sign(manifest_bytes, key).strip()}
    return canonical_json(record).encode("utf-8")


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream that hashes what passes through (and optionally keeps it)."""

    def __init__(self, target: BinaryIO | None = None) -> None:
        self._target = target
        self._pos = 0
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        if self._target is not None:
            self._target.write(view)
        self._pos += len(view)
        return len(view)

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return False

    def seek(self, *args: Any) -> int:
        raise io.UnsupportedOperation("seek")


def _write_canonical(sink: _Sink, members: Iterator[tuple[str, Callable[[], BinaryIO], int]]) -> None:
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, open_src, size in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.file_size = size
            with open_src() as src, zf.open(info, "w", force_zip64=size > 0x7FFF0000) as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)


def _opener(src: bytes | Path) -> Callable[[], BinaryIO]:
    if isinstance(src, bytes):
        return lambda: io.BytesIO(src)
    return lambda: open(src, "rb")


def _size(src: bytes | Path) -> int:
    return len(src) if isinstance(src, bytes) else src.stat().st_size


# --------------------------------------------------------------------------- verifying

def verify_bundle(bundle: str | os.PathLike[str], *, public_key: Any = None,
                  repo: str | os.PathLike[str] | None = None,
                  task_book: str | os.PathLike[str] | None = None) -> list[Check]:
    """Check a bundle: container bytes, every file hash, no file added or removed, results.json against
    what its own data recomputes, each packed report against its re-rendering, the signature (given
    ``public_key``), given ``repo`` its commit, subpath and tree hash, and the bundled spec against
    the task book (``task_book``, else the repository's: ``verifier.task_book``). Never extracts
    anything.

    Raises ``InputError`` when ``bundle`` is not a readable zip or has no usable manifest, or
    ``task_book`` is not a readable file.
    """
    from verifier.task_book import read_given  # noqa: PLC0415

    path = Path(bundle)
    if not path.is_file():
        raise InputError(f"{path}: no such bundle file")
    if repo is not None and not Path(repo).is_dir():
        raise InputError(f"{repo}: repository is not a directory")
    given = read_given(Path(task_book)) if task_book is not None else None
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as err:
        raise InputError(f"{path}: not a readable zip ({err})") from None
    with zf:
        return _verify_open(path, zf, public_key, repo, given)


def _verify_open(path: Path, zf: zipfile.ZipFile, public_key: Any, repo: Any,
                 given: tuple[str, bytes] | None = None) -> list[Check]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{path}: {len(infos)} members, more than the {MAX_MEMBERS} a bundle may hold")
    manifest, manifest_bytes = _read_manifest(path, zf)
    checks: list[Check] = []

    # the zip's members: safe names, no duplicates, no links, within limits
    names: dict[str, zipfile.ZipInfo] = {}
    bad_members = []
    total = 0
    for info in infos:
        problem = _member_problem(info, names)
        total += info.file_size
        if problem:
            bad_members.append(f"{info.filename!r}: {problem}")
        names.setdefault(info.filename, info)
    if total > MAX_TOTAL_BYTES:
        bad_members.append(f"declared total size {total} exceeds {MAX_TOTAL_BYTES} bytes")
    checks += [Check(False, f"zip member {b}") for b in bad_members]

    # every file of the manifest, present with its hash
    listed = _manifest_files(path, manifest)
    good = 0
    for rel, (want_sha, want_size) in listed.items():
        info = names.get(rel)
        if info is None:
            checks.append(Check(False, f"file {rel}: listed in the manifest, missing from the bundle"))
            continue
        got_sha, got_size, error = _hash_member(zf, info)
        if error:
            checks.append(Check(False, f"file {rel}: unreadable ({error})"))
        elif got_sha != want_sha or got_size != want_size:
            checks.append(Check(False, f"file {rel}: sha256 {got_sha[:16]}… differs from the manifest's "
                                       f"{want_sha[:16]}…"))
        else:
            good += 1
    checks.insert(len(bad_members), Check(good == len(listed),
                                          f"file hashes: {good} of {len(listed)} match the manifest"))
    extra = sorted(n for n in names if n not in listed and n not in (MANIFEST, SIGNATURE, ATTESTATION)
                   and not n.endswith("/"))
    checks += [Check(False, f"file {n}: in the bundle, not in the manifest (added)") for n in extra]
    if not extra:
        checks.append(Check(True, "no file added: every member is in the manifest"))

    # the container itself: canonical bytes
    has_sig = SIGNATURE in names
    if not bad_members and not extra and good == len(listed):
        checks.append(_check_container(path, zf, listed, has_sig, ATTESTATION in names))
    else:
        checks.append(Check(False, "zip container: not checked byte for byte, its contents already differ"))

    results, problem = _read_json_member(zf, names, PAYLOAD + "results.json")
    checks.append(_check_results(results, problem, manifest))
    if results is not None:
        checks += _check_consistency(zf, names, results)
    checks += _check_reports(zf, names, listed, manifest)
    checks.append(_check_signature(zf, names, manifest_bytes, public_key))
    checks += _check_attestation(zf, names, manifest, listed, results, public_key)
    if repo is not None:
        listing, _ = _read_json_member(zf, names, PAYLOAD + REPOSITORY_FILES)
        checks += _check_repo(Path(repo), manifest, recorded_entries(listing))
    checks += _check_spec(zf, names, manifest, repo, given)
    checks.append(Check(None, "note: a signature proves who signed, the recomputation that the figures agree "
                              "with each other; the measured values are as recorded (re-run to check them)"))
    return checks


def _read_manifest(path: Path, zf: zipfile.ZipFile) -> tuple[dict[str, Any], bytes]:
    try:
        info = zf.getinfo(MANIFEST)
    except KeyError:
        raise InputError(f"{path}: no {MANIFEST}; not a verifier bundle") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise InputError(f"{path}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        data = _read_limited(zf, info, MAX_MANIFEST_BYTES)
        manifest = json.loads(data.decode("utf-8"))
    except _ZIP_ERRORS as err:
        raise InputError(f"{path}: {MANIFEST} unreadable ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: {MANIFEST} is not a {FORMAT} manifest")
    return manifest, data


def _manifest_files(path: Path, manifest: dict[str, Any]) -> dict[str, tuple[str, int]]:
    files = manifest.get("files")
    if not isinstance(files, list):
        raise InputError(f"{path}: {MANIFEST} has no file list")
    listed: dict[str, tuple[str, int]] = {}
    for entry in files:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str) and isinstance(entry.get("size"), int)):
            raise InputError(f"{path}: {MANIFEST}: malformed file entry {entry!r:.80}")
        listed[entry["path"]] = (entry["sha256"], entry["size"])
    return listed


def _member_problem(info: zipfile.ZipInfo, seen: dict[str, zipfile.ZipInfo]) -> str | None:
    name = info.filename
    if name in seen:
        return "duplicate name"
    if "\\" in name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "unsafe name (absolute or not POSIX)"
    if ".." in PurePosixPath(name).parts:
        return "unsafe name (leaves the bundle with '..')"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"declared size {info.file_size} exceeds {MAX_MEMBER_BYTES} bytes"
    return None


def _read_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    out = bytearray()
    with zf.open(info) as handle:
        while chunk := handle.read(_CHUNK):
            out += chunk
            if len(out) > limit:
                raise ValueError(f"more than {limit} bytes")
    return bytes(out)


def _hash_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, int, str | None]:
    digest = hashlib.sha256()
    size = 0
    try:
        with zf.open(info) as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > min(MAX_MEMBER_BYTES, info.file_size):
                    return digest.hexdigest(), size, "longer than its declared size"
                digest.update(chunk)
    except _ZIP_ERRORS as err:
        return digest.hexdigest(), size, str(err)
    return digest.hexdigest(), size, None


def _check_container(path: Path, zf: zipfile.ZipFile, listed: dict[str, tuple[str, int]],
                     has_sig: bool, has_attestation: bool = False) -> Check:
    order = [MANIFEST] + ([SIGNATURE] if has_sig else []) + ([ATTESTATION] if has_attestation else []) + sorted(listed)
    sink = _Sink()
    try:
        _write_canonical(sink, ((n, (lambda n=n: zf.open(n)), zf.getinfo(n).file_size) for n in order))
    except _ZIP_ERRORS as err:
        return Check(False, f"zip container: could not be rebuilt ({err})")
    if sink.digest.hexdigest() == sha256_file(path):
        return Check(True, "zip container: every byte is the canonical bundle of these contents")
    return Check(False, "zip container: its bytes differ from the canonical bundle of these contents "
                        "(zip metadata or layout changed)")


def _read_json_member(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], rel: str
                      ) -> tuple[Any, str | None]:
    """The parsed JSON of member ``rel``, or None and why not."""
    if rel not in names:
        return None, "missing from the bundle"
    try:
        return json.loads(_read_limited(zf, names[rel], MAX_MANIFEST_BYTES).decode("utf-8")), None
    except _ZIP_ERRORS as err:
        return None, f"unreadable ({err})"


def _check_results(results: Any, problem: str | None, manifest: dict[str, Any]) -> Check:
    if problem is not None:
        return Check(False, f"results.json: {problem}")
    if not isinstance(results, dict):
        return Check(False, "results.json: not a JSON object")
    repo = results.get("repository") if isinstance(results.get("repository"), dict) else {}
    recorded = manifest.get("repository") if isinstance(manifest.get("repository"), dict) else {}
    score = results.get("score") if isinstance(results.get("score"), dict) else {}
    pairs = [("run id", results.get("run_id"), manifest.get("run_id")),
             ("spec sha256", results.get("spec_sha256"), (manifest.get("spec") or {}).get("sha256")),
             ("verdict", results.get("verdict"), manifest.get("verdict")),
             ("score", score.get("value"), manifest.get("score")),
             ("commit", repo.get("commit"), recorded.get("commit")),
             ("subpath", repo.get("subpath"), recorded.get("subpath")),
             ("dirty", repo.get("dirty"), recorded.get("dirty")),
             ("tree hash", repo.get("tree_sha256"), recorded.get("tree_sha256")),
             ("tree hash mode", _recorded_mode(repo.get("tree_hash_mode"), repo.get("tree_sha256")),
              recorded.get("tree_hash_mode"))]
    differ = [name for name, a, b in pairs if a != b]
    if differ:
        return Check(False, f"results.json and the manifest disagree on: {', '.join(differ)}")
    return Check(True, "results.json agrees with the manifest (run id, spec hash, verdict, score, "
                       "commit, subpath, tree hash and its mode)")


def _check_consistency(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], results: Any) -> list[Check]:
    """``verifier.consistency.check_run`` on the bundled results, spec.yaml and origin.json."""
    spec_rel = PAYLOAD + "spec.yaml"
    spec_bytes = None
    if spec_rel in names:
        from verifier.spec import MAX_BYTES  # noqa: PLC0415

        try:
            spec_bytes = _read_limited(zf, names[spec_rel], MAX_BYTES)
        except _ZIP_ERRORS as err:
            return [Check(False, f"spec.yaml: unreadable ({err})")]
    origin_json = None
    files_path = ((results.get("origin") or {}).get("files_path") if isinstance(results, dict)
                  and isinstance(results.get("origin"), dict) else None)
    if isinstance(files_path, str):
        origin_json, _ = _read_json_member(zf, names, PAYLOAD + files_path)
    return check_run(results, spec_bytes, origin_json=origin_json)


def _check_reports(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], listed: dict[str, tuple[str, int]],
                   manifest: dict[str, Any]) -> list[Check]:
    """Each packed report re-rendered from the bundled results.json and the manifest's files, compared
    byte for byte; a report the bundle should carry and does not, or one it should not carry, fails."""
    expected = {PAYLOAD + rel: lang for lang, rel in BUNDLE_REPORTS}
    from verifier.formats.bundled import document_paths  # noqa: PLC0415 - spdx-tools, cyclonedx: heavy

    documents = {PAYLOAD + rel for rel in document_paths().values()}
    checks = [Check(False, f"report {name}: not a report verify can re-render from the bundle's data "
                           "(a report file is never packed from the run directory; its reports are rendered)")
              for name in sorted(listed) if name.startswith(PAYLOAD) and name not in expected
              and name not in documents and is_report(name[len(PAYLOAD):])]
    raw, problem = _read_member(zf, names, PAYLOAD + "results.json", MAX_MANIFEST_BYTES)
    result = None
    if raw is not None:
        from verifier.results import RunResult  # noqa: PLC0415

        try:
            result = RunResult.model_validate_json(raw)
        except ValueError as err:  # pydantic's ValidationError is a ValueError
            problem = f"not a valid results file ({str(err).splitlines()[0]})"
    if result is None:
        return checks + [Check(False, f"reports: cannot be re-rendered, results.json is {problem}")]
    entries = {name[len(PAYLOAD):]: RunFile(sha256=sha, size=size)
               for name, (sha, size) in listed.items() if name.startswith(PAYLOAD)}
    cache: dict[str, bytes | None] = {}

    def read(rel: str, limit: int) -> bytes | None:
        if rel not in cache:
            cache[rel] = _read_member(zf, names, PAYLOAD + rel, limit)[0]
        return cache[rel]

    files = RunFiles(entries, read)
    packer = manifest.get("verifier_version")
    other = (f" (packed by verifier {packer}, this is verifier {__version__}: verify with the version "
             "that packed it)" if packer != __version__ else "")
    good = []
    for name, lang in expected.items():
        if name not in listed:
            checks.append(Check(False, f"report {name}: missing; a bundle carries its reports, rendered "
                                       "from its data"))
            continue
        packed, problem = _read_member(zf, names, name, MAX_MANIFEST_BYTES)
        if packed is None:
            checks.append(Check(False, f"report {name}: {problem}"))
            continue
        try:
            want = render_bundle_report(result, files, lang)
        except Exception as err:  # noqa: BLE001 - whatever the data makes the renderer do is a failed check
            checks.append(Check(False, f"report {name}: cannot be re-rendered from the bundle's data "
                                       f"({type(err).__name__}: {err})"))
            continue
        if packed == want:
            good.append(name)
        else:
            checks.append(Check(False, f"report {name}: differs from what the bundled results.json and "
                                       f"evidence render to ({_first_difference(packed, want)}){other}"))
    if len(good) == len(expected) and not checks:
        checks.append(Check(True, f"reports: {', '.join(good)} are byte for byte what the bundled "
                                  "results.json and evidence render to"))
    from verifier.formats.bundled import check_documents  # noqa: PLC0415 - spdx-tools, cyclonedx: heavy

    listed_rel = {name[len(PAYLOAD):] for name in listed if name.startswith(PAYLOAD)}
    return checks + check_documents(result, files, lambda rel: read(rel, MAX_MANIFEST_BYTES), listed_rel)


def _check_attestation(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], manifest: dict[str, Any],
                       listed: dict[str, tuple[str, int]], results: Any, public_key: Any) -> list[Check]:
    """The in-toto attestation, when the bundle has or its manifest names one (``verifier.attestation``)."""
    recorded = manifest.get("attestation")
    if ATTESTATION not in names and recorded is None:
        return [Check(None, "attestation: none (bundle --attestation adds an in-toto attestation)")]
    if not isinstance(recorded, dict):
        return [Check(False, f"attestation: {ATTESTATION} is in the bundle but the manifest does not list it")]
    from verifier.attestation import MAX_ATTESTATION_BYTES, check_attestation  # noqa: PLC0415

    raw, problem = _read_member(zf, names, ATTESTATION, MAX_ATTESTATION_BYTES)
    checks = []
    if raw is not None and hashlib.sha256(raw).hexdigest() != recorded.get("sha256"):
        checks.append(Check(False, f"attestation: {ATTESTATION}'s sha256 differs from the manifest's"))
    files = {name: sha for name, (sha, _size) in listed.items()}
    return checks + check_attestation(raw, problem, files=files, results=results, public_key=public_key)


def _check_spec(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], manifest: dict[str, Any],
                repo: Any, given: tuple[str, bytes] | None) -> list[Check]:
    """The bundled spec.yaml against the agency's task book or the repository's (``verifier.task_book``)."""
    from verifier.spec import MAX_BYTES  # noqa: PLC0415
    from verifier.task_book import check_task_book, recorded_location  # noqa: PLC0415

    spec, _ = _read_member(zf, names, PAYLOAD + "spec.yaml", MAX_BYTES)
    run_record, _ = _read_json_member(zf, names, PAYLOAD + "run.json")
    delivered = _delivered_dir(Path(repo), manifest) if repo is not None else None
    return check_task_book(spec, delivered=delivered, recorded=recorded_location(run_record), given=given)


def _delivered_dir(repo: Path, manifest: dict[str, Any]) -> Path:
    """The delivered directory ``verify --repo REPO`` checks: REPO, or REPO/SUBPATH when REPO is the top
    of a work tree and holds the recorded subpath (as ``_check_repo`` descends)."""
    recorded = manifest.get("repository") if isinstance(manifest.get("repository"), dict) else {}
    sub = recorded.get("subpath")
    if not isinstance(sub, str) or sub in ("", ".") or not (repo / ".git").exists():
        return repo
    if not _safe_subpath(sub) or not (repo / sub).is_dir():
        return repo
    return repo / sub


def _safe_subpath(sub: Any) -> bool:
    """Whether a manifest's recorded subpath stays inside the directory it is joined to (a hostile
    manifest could name ``../..``, an absolute path or a NUL)."""
    if not isinstance(sub, str) or not sub or "\0" in sub:
        return False
    path = PurePosixPath(sub)
    return not path.is_absolute() and ".." not in path.parts


def _read_member(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], name: str, limit: int
                 ) -> tuple[bytes | None, str | None]:
    """The bytes of member ``name`` (at most ``limit``), or None and why not."""
    if name not in names:
        return None, "missing from the bundle"
    try:
        return _read_limited(zf, names[name], limit), None
    except _ZIP_ERRORS as err:
        return None, f"unreadable ({err})"


def _first_difference(got: bytes, want: bytes) -> str:
    """Where two renderings part: the line number and the start of the packed line there."""
    got_lines, want_lines = got.split(b"\n"), want.split(b"\n")
    for n, (a, b) in enumerate(zip(got_lines, want_lines), 1):
        if a != b:
            text = a.decode("utf-8", "replace").strip()
            return f"first at line {n}: {text if len(text) <= 60 else text[:59] + '…'!r}"
    return (f"{len(got_lines)} lines packed, {len(want_lines)} rendered" if len(got_lines) != len(want_lines)
            else f"{len(got)} bytes packed, {len(want)} rendered")


def _run_consistency(run: Path, result: Any) -> list[Check]:
    """``verifier.consistency.check_run`` on a run directory's results, spec.yaml and origin.json."""
    spec_path = run / "spec.yaml"
    spec_bytes = spec_path.read_bytes() if spec_path.is_file() and not spec_path.is_symlink() else None
    origin_json = None
    files_path = result.origin.files_path if result.origin is not None else None
    if files_path:
        origin_path = run / files_path
        if origin_path.resolve().is_relative_to(run.resolve()) and origin_path.is_file():
            try:
                origin_json = json.loads(origin_path.read_text("utf-8"))
            except (OSError, ValueError):
                origin_json = None
    return check_run(result, spec_bytes, origin_json=origin_json)


def _check_signature(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], manifest_bytes: bytes,
                     public_key: Any) -> Check:
    if SIGNATURE not in names:
        if public_key is None:
            return Check(None, "signature: the bundle is not signed (no key given either)")
        return Check(False, "signature: the bundle is not signed, but a key was given")
    if public_key is None:
        return Check(None, "signature: present, not checked (give --key PUB to check it)")
    want = fingerprint(public_key)
    try:
        record = json.loads(_read_limited(zf, names[SIGNATURE], 64 * 1024).decode("utf-8"))
        text = record["signature"]
    except _ZIP_ERRORS as err:
        return Check(False, f"signature: unreadable ({err})")
    if isinstance(text, str) and verify_signature(manifest_bytes, text, public_key):
        return Check(True, f"signature: valid Ed25519 signature of the manifest by key {want}")
    return Check(False, f"signature: NOT a valid signature of this manifest by key {want}")


def _check_repo(repo: Path, manifest: dict[str, Any], files: list[TreeEntry] | None = None) -> list[Check]:
    """The repository against the manifest: commit and subpath (when recorded), then the tree hash
    in the recorded mode, and when it differs the files changed, added and removed (from the run's
    per-file record, ``files``). ``repo`` may be the delivered directory or the top of a work tree
    holding it at the recorded subpath."""
    recorded = manifest.get("repository") if isinstance(manifest.get("repository"), dict) else {}
    want_commit, want_sub = recorded.get("commit"), recorded.get("subpath")
    mode = _recorded_mode(recorded.get("tree_hash_mode"), recorded.get("tree_sha256"))
    checks: list[Check] = []
    state, notes = tracked_state(repo)
    if (state is not None and _safe_subpath(want_sub) and want_sub != "." and state.subpath == "."
            and (repo / want_sub).is_dir()):
        checks.append(Check(None, f"repository: {repo} is the top of its work tree; checking {want_sub} in it"))
        repo = repo / want_sub
        state, notes = tracked_state(repo)
    checks += [Check(None, f"repository: {note}") for note in notes]
    got_commit = state.commit if state is not None else None
    if want_commit is None:
        checks.append(Check(None, f"repository commit: none recorded; {repo} is at {got_commit or 'no commit'}"))
    elif got_commit == want_commit:
        checks.append(Check(True, f"repository commit: {repo} is at {got_commit}, as recorded"))
    else:
        checks.append(Check(False, f"repository commit: {repo} is at {got_commit or 'no commit'}, "
                                   f"the bundle records {want_commit}"))
    if want_sub is not None and state is not None:
        if state.subpath == want_sub:
            checks.append(Check(True, f"repository subpath: {want_sub} within the work tree, as recorded"))
        else:
            checks.append(Check(False, f"repository subpath: {repo} is {state.subpath} within its work "
                                       f"tree, the bundle records {want_sub}"))
    if recorded.get("dirty"):
        checks.append(Check(None, f"repository state: at the run, {want_sub or 'the tree'} had changes or "
                                  f"untracked files beyond commit {want_commit}; untracked files are not in "
                                  "a git-tracked tree hash"))
    tree = _check_tree(repo, state, recorded.get("tree_sha256"), mode)
    checks.append(tree)
    if tree.ok is False and mode in TREE_MODES:
        differences = named_differences(files, current_entries(repo, state, mode), recorded.get("tree_sha256"))
        checks.append(Check(False, f"repository files: {differences}"))
    return checks



def _check_tree(repo: Path, state: GitState | None, want: Any, mode: Any) -> Check:
    if mode not in TREE_MODES:
        return Check(False, f"repository tree hash: the bundle records an unknown mode {mode!r}")
    how = ""
    if mode == "git-tracked" and state is not None:
        got = tracked_tree_hash(repo, state.tracked)
    else:
        got = tree_hash(repo)
        if mode == "git-tracked":
            how = (" (not a git work tree: all its files hashed, which matches when it holds exactly the "
                   "tracked files, e.g. `git archive` output)")
    if want is None:
        return Check(False, f"repository tree hash: none recorded in the bundle ({repo}: {got})")
    if got == want:
        return Check(True, f"repository tree hash: {got} matches ({mode}){how}")
    return Check(False, f"repository tree hash: {repo} hashes to {got} ({mode}), the bundle records "
                        f"{want}{how}")
