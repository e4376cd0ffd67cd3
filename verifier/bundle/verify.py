"""Verifying a bundle on site, without extracting anything: its zip members (read with
``verifier.archive`` under ``LIMITS``), every file's hash against the manifest, the container's bytes
against the canonical bundle of its contents, results.json against the manifest and against what the
bundled data recomputes (``verifier.consistency``), each packed report against its re-rendering, the
signature, the repository (``verifier.bundle.repo_check``) and the task book
(``verifier.bundle.task_book``)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from verifier import __version__
from verifier.archive import READ_ERRORS, ArchiveError, ArchiveReader, Limits, Member, open_archive
from verifier.attestation import MAX_ATTESTATION_BYTES, check_attestation
from verifier.bundle.manifest import (
    ATTESTATION,
    FORMAT,
    MANIFEST,
    PAYLOAD,
    SIGNATURE,
    HashingSink,
    recorded_mode,
    write_canonical,
)
from verifier.bundle.repo_check import check_repo, delivered_dir
from verifier.bundle.reports import BUNDLE_REPORTS, render_bundle_report
from verifier.bundle.task_book import check_task_book, read_given, recorded_location
from verifier.consistency import Check, check_run
from verifier.errors import InputError
from verifier.evidence import sha256_file
from verifier.formats.bundled import check_documents, document_paths
from verifier.repository import REPOSITORY_FILES, recorded_entries
from verifier.results import RunResult
from verifier.run_files import RunFile, RunFiles, is_report
from verifier.signing import fingerprint, verify_signature
from verifier.spec import MAX_BYTES as SPEC_MAX_BYTES
from verifier.waivers import MAX_BYTES as WAIVERS_MAX_BYTES

#: the archive limits of a bundle from elsewhere (``verifier.archive``): a member past one is reported
LIMITS = Limits(max_files=200_000, max_bytes=8 << 30, max_member_bytes=2 << 30)
#: the most bytes of the manifest, results.json, a report or another JSON member read into memory
MAX_MANIFEST_BYTES = 256 << 20
MAX_SIGNATURE_BYTES = 64 * 1024

_CHUNK = 1 << 20
#: what reading or rebuilding a damaged zip can raise, past ``verifier.archive``'s own errors
_ZIP_ERRORS = (ArchiveError, *READ_ERRORS)
Names = dict[str, Member]


def verify_bundle(bundle: str | os.PathLike[str], *, public_key: Any = None,
                  repo: str | os.PathLike[str] | None = None,
                  task_book: str | os.PathLike[str] | None = None) -> list[Check]:
    """Check a bundle: container bytes, every file hash, no file added or removed, results.json against
    what its own data recomputes, each packed report against its re-rendering, the signature (given
    ``public_key``), given ``repo`` its commit, subpath and tree hash, and the bundled spec against
    the task book (``task_book``, else the repository's: ``verifier.bundle.task_book``). Never extracts
    anything.

    Raises ``InputError`` when ``bundle`` is not a readable zip (or holds more entries than ``LIMITS``
    allow) or has no usable manifest, or ``task_book`` is not a readable file.
    """
    path = Path(bundle)
    if not path.is_file():
        raise InputError(f"{path}: no such bundle file")
    if repo is not None and not Path(repo).is_dir():
        raise InputError(f"{repo}: repository is not a directory")
    given = read_given(Path(task_book)) if task_book is not None else None
    with open_archive(path, LIMITS, refuse=False, zip_only=True) as archive:
        return _verify_open(path, archive, public_key, repo, given)


def _verify_open(path: Path, archive: ArchiveReader, public_key: Any, repo: Any,
                 given: tuple[str, bytes] | None = None) -> list[Check]:
    # the zip's members: safe names, no duplicates, no links, within limits
    names: Names = {}
    bad_members = []
    for member in archive:
        problem = _member_problem(member, names)
        if problem:
            bad_members.append(f"{member.name!r}: {problem}")
        names.setdefault(member.name, member)
    manifest, manifest_bytes = _read_manifest(path, archive, names)
    checks = [Check(False, f"zip member {b}") for b in bad_members]

    # every file of the manifest, present with its hash
    listed = _manifest_files(path, manifest)
    good = 0
    for rel, (want_sha, want_size) in listed.items():
        found = names.get(rel)
        if found is None:
            checks.append(Check(False, f"file {rel}: listed in the manifest, missing from the bundle"))
            continue
        got_sha, got_size, error = _hash_member(archive, found)
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
        checks.append(_check_container(path, archive, names, listed, has_sig, ATTESTATION in names))
    else:
        checks.append(Check(False, "zip container: not checked byte for byte, its contents already differ"))

    results, problem = _read_json_member(archive, names, PAYLOAD + "results.json")
    checks.append(_check_results(results, problem, manifest))
    if results is not None:
        checks += _check_consistency(archive, names, results)
    checks += _check_reports(archive, names, listed, manifest)
    checks.append(_check_signature(archive, names, manifest_bytes, public_key))
    checks += _check_attestation(archive, names, manifest, listed, results, public_key)
    if repo is not None:
        listing, _ = _read_json_member(archive, names, PAYLOAD + REPOSITORY_FILES)
        checks += check_repo(Path(repo), manifest, recorded_entries(listing))
    checks += _check_spec(archive, names, manifest, repo, given)
    checks.append(Check(None, "note: a signature proves who signed, the recomputation that the figures agree "
                              "with each other; the measured values are as recorded (re-run to check them)"))
    return checks


def _read_manifest(path: Path, archive: ArchiveReader, names: Names) -> tuple[dict[str, Any], bytes]:
    member = names.get(MANIFEST)
    if member is None:
        raise InputError(f"{path}: no {MANIFEST}; not a verifier bundle")
    if member.size > MAX_MANIFEST_BYTES:
        raise InputError(f"{path}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        data = archive.read(member, MAX_MANIFEST_BYTES)
        manifest = json.loads(data.decode("utf-8"))
    except ArchiveError as err:
        raise InputError(f"{path}: {MANIFEST} unreadable ({err.detail})") from None
    except ValueError as err:
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


def _member_problem(member: Member, seen: Names) -> str | None:
    """What is wrong with a member of a bundle: what ``verifier.archive`` found (unsafe name, encrypted,
    past a limit), then what a bundle never holds: a duplicate, a backslash, anything but a file."""
    if member.name in seen:
        return "duplicate name"
    if member.problem:
        return member.problem
    if "\\" in member.name:
        return "unsafe name (not a POSIX name)"
    if member.kind == "symlink":
        return "a symbolic link"
    if member.kind not in ("file", "dir"):
        return f"a {member.kind} ({member.what})" if member.what else f"a {member.kind}"
    return None


def _hash_member(archive: ArchiveReader, member: Member) -> tuple[str, int, str | None]:
    """sha256 and size of a member's bytes, or why they could not all be read."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(member) as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                digest.update(chunk)
    except ArchiveError as err:
        return digest.hexdigest(), size, err.detail
    return digest.hexdigest(), size, None


def _check_container(path: Path, archive: ArchiveReader, names: Names, listed: dict[str, tuple[str, int]],
                     has_sig: bool, has_attestation: bool = False) -> Check:
    order = [MANIFEST] + ([SIGNATURE] if has_sig else []) + ([ATTESTATION] if has_attestation else []) \
        + sorted(listed)
    sink = HashingSink()
    try:
        write_canonical(sink, ((n, functools.partial(archive.open, names[n]), names[n].size) for n in order))
    except _ZIP_ERRORS as err:
        return Check(False, f"zip container: could not be rebuilt ({_detail(err)})")
    if sink.digest.hexdigest() == sha256_file(path):
        return Check(True, "zip container: every byte is the canonical bundle of these contents")
    return Check(False, "zip container: its bytes differ from the canonical bundle of these contents "
                        "(zip metadata or layout changed)")


def _detail(err: BaseException) -> str:
    return err.detail if isinstance(err, ArchiveError) else str(err)


def _read_json_member(archive: ArchiveReader, names: Names, rel: str) -> tuple[Any, str | None]:
    """The parsed JSON of member ``rel``, or None and why not."""
    raw, problem = _read_member(archive, names, rel, MAX_MANIFEST_BYTES)
    if raw is None:
        return None, problem
    try:
        return json.loads(raw.decode("utf-8")), None
    except ValueError as err:
        return None, f"unreadable ({err})"


def _check_results(results: Any, problem: str | None, manifest: dict[str, Any]) -> Check:
    if problem is not None:
        return Check(False, f"results.json: {problem}")
    if not isinstance(results, dict):
        return Check(False, "results.json: not a JSON object")
    repo, recorded, score = results.get("repository"), manifest.get("repository"), results.get("score")
    repo = repo if isinstance(repo, dict) else {}
    recorded = recorded if isinstance(recorded, dict) else {}
    score = score if isinstance(score, dict) else {}
    pairs = [("run id", results.get("run_id"), manifest.get("run_id")),
             ("spec sha256", results.get("spec_sha256"), (manifest.get("spec") or {}).get("sha256")),
             ("verdict", results.get("verdict"), manifest.get("verdict")),
             ("score", score.get("value"), manifest.get("score")),
             ("commit", repo.get("commit"), recorded.get("commit")),
             ("subpath", repo.get("subpath"), recorded.get("subpath")),
             ("dirty", repo.get("dirty"), recorded.get("dirty")),
             ("tree hash", repo.get("tree_sha256"), recorded.get("tree_sha256")),
             ("tree hash mode", recorded_mode(repo.get("tree_hash_mode"), repo.get("tree_sha256")),
              recorded.get("tree_hash_mode"))]
    differ = [name for name, a, b in pairs if a != b]
    if differ:
        return Check(False, f"results.json and the manifest disagree on: {', '.join(differ)}")
    return Check(True, "results.json agrees with the manifest (run id, spec hash, verdict, score, "
                       "commit, subpath, tree hash and its mode)")


def _check_consistency(archive: ArchiveReader, names: Names, results: Any) -> list[Check]:
    """``verifier.consistency.check_run`` on the bundled results, spec.yaml and origin.json."""
    spec_rel = PAYLOAD + "spec.yaml"
    spec_bytes = None
    if spec_rel in names:
        spec_bytes, problem = _read_member(archive, names, spec_rel, SPEC_MAX_BYTES)
        if spec_bytes is None:
            return [Check(False, f"spec.yaml: {problem}")]
    origin_json = None
    files_path = ((results.get("origin") or {}).get("files_path") if isinstance(results, dict)
                  and isinstance(results.get("origin"), dict) else None)
    if isinstance(files_path, str):
        origin_json, _ = _read_json_member(archive, names, PAYLOAD + files_path)
    waivers = results.get("waivers") if isinstance(results, dict) else None
    waivers_bytes = None
    if isinstance(waivers, dict) and isinstance(waivers.get("path"), str):
        waivers_bytes, _ = _read_member(archive, names, PAYLOAD + waivers["path"], WAIVERS_MAX_BYTES)
    return check_run(results, spec_bytes, origin_json=origin_json, waivers_bytes=waivers_bytes)


def _check_reports(archive: ArchiveReader, names: Names, listed: dict[str, tuple[str, int]],
                   manifest: dict[str, Any]) -> list[Check]:
    """Each packed report re-rendered from the bundled results.json and the manifest's files, compared
    byte for byte; a report the bundle should carry and does not, or one it should not carry, fails."""
    expected = {PAYLOAD + rel: lang for lang, rel in BUNDLE_REPORTS}
    documents = {PAYLOAD + rel for rel in document_paths().values()}
    checks = [Check(False, f"report {name}: not a report verify can re-render from the bundle's data "
                           "(a report file is never packed from the run directory; its reports are rendered)")
              for name in sorted(listed) if name.startswith(PAYLOAD) and name not in expected
              and name not in documents and is_report(name[len(PAYLOAD):])]
    raw, problem = _read_member(archive, names, PAYLOAD + "results.json", MAX_MANIFEST_BYTES)
    result = None
    if raw is not None:
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
            cache[rel] = _read_member(archive, names, PAYLOAD + rel, limit)[0]
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
        packed, problem = _read_member(archive, names, name, MAX_MANIFEST_BYTES)
        if packed is None:
            checks.append(Check(False, f"report {name}: {problem}"))
            continue
        try:
            want = render_bundle_report(result, files, lang)
        except Exception as err:  # whatever the data makes the renderer do is a failed check
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
    listed_rel = {name[len(PAYLOAD):] for name in listed if name.startswith(PAYLOAD)}
    return checks + check_documents(result, files, lambda rel: read(rel, MAX_MANIFEST_BYTES), listed_rel)


def _check_attestation(archive: ArchiveReader, names: Names, manifest: dict[str, Any],
                       listed: dict[str, tuple[str, int]], results: Any, public_key: Any) -> list[Check]:
    """The in-toto attestation, when the bundle has or its manifest names one (``verifier.attestation``)."""
    recorded = manifest.get("attestation")
    if ATTESTATION not in names and recorded is None:
        return [Check(None, "attestation: none (bundle --attestation adds an in-toto attestation)")]
    if not isinstance(recorded, dict):
        return [Check(False, f"attestation: {ATTESTATION} is in the bundle but the manifest does not list it")]
    raw, problem = _read_member(archive, names, ATTESTATION, MAX_ATTESTATION_BYTES)
    checks = []
    if raw is not None and hashlib.sha256(raw).hexdigest() != recorded.get("sha256"):
        checks.append(Check(False, f"attestation: {ATTESTATION}'s sha256 differs from the manifest's"))
    files = {name: sha for name, (sha, _size) in listed.items()}
    return checks + check_attestation(raw, problem, files=files, results=results, public_key=public_key)


def _check_spec(archive: ArchiveReader, names: Names, manifest: dict[str, Any], repo: Any,
                given: tuple[str, bytes] | None) -> list[Check]:
    """The bundled spec.yaml against the agency's task book or the repository's (``verifier.bundle.task_book``)."""
    spec, _ = _read_member(archive, names, PAYLOAD + "spec.yaml", SPEC_MAX_BYTES)
    run_record, _ = _read_json_member(archive, names, PAYLOAD + "run.json")
    delivered = delivered_dir(Path(repo), manifest) if repo is not None else None
    return check_task_book(spec, delivered=delivered, recorded=recorded_location(run_record), given=given)


def _read_member(archive: ArchiveReader, names: Names, name: str, limit: int) -> tuple[bytes | None, str | None]:
    """The bytes of member ``name`` (at most ``limit``), or None and why not."""
    if name not in names:
        return None, "missing from the bundle"
    try:
        return archive.read(names[name], limit), None
    except ArchiveError as err:
        return None, f"unreadable ({err.detail})"


def _first_difference(got: bytes, want: bytes) -> str:
    """Where two renderings part: the line number and the start of the packed line there."""
    got_lines, want_lines = got.split(b"\n"), want.split(b"\n")
    for n, (a, b) in enumerate(zip(got_lines, want_lines), 1):
        if a != b:
            text = a.decode("utf-8", "replace").strip()
            return f"first at line {n}: {text if len(text) <= 60 else text[:59] + '…'!r}"
    return (f"{len(got_lines)} lines packed, {len(want_lines)} rendered" if len(got_lines) != len(want_lines)
            else f"{len(got)} bytes packed, {len(want)} rendered")


def _check_signature(archive: ArchiveReader, names: Names, manifest_bytes: bytes,
                     public_key: Any) -> Check:
    if SIGNATURE not in names:
        if public_key is None:
            return Check(None, "signature: the bundle is not signed (no key given either)")
        return Check(False, "signature: the bundle is not signed, but a key was given")
    if public_key is None:
        return Check(None, "signature: present, not checked (give --key PUB to check it)")
    want = fingerprint(public_key)
    try:
        record = json.loads(archive.read(names[SIGNATURE], MAX_SIGNATURE_BYTES).decode("utf-8"))
        text = record["signature"]
    except (ArchiveError, ValueError, KeyError, TypeError) as err:
        return Check(False, f"signature: unreadable ({_detail(err)})")
    if isinstance(text, str) and verify_signature(manifest_bytes, text, public_key):
        return Check(True, f"signature: valid Ed25519 signature of the manifest by key {want}")
    return Check(False, f"signature: NOT a valid signature of this manifest by key {want}")
