"""Tamper-evident bundles of a run, and their verification on site.

A bundle is a zip written in one canonical way (members stored uncompressed, fixed timestamps and
attributes, fixed order) holding:

- ``manifest.json``: sha256 and size of every other file, tool versions, the spec hash, the repository
  commit and tree hash (see ``tree_hash``), run id and project;
- ``manifest.sig`` (when signed): an Ed25519 signature of the exact ``manifest.json`` bytes;
- ``run/…``: the run directory (``results.json``, evidence, rendered reports).

Because the layout is canonical, ``verify_bundle`` rebuilds the zip from its verified contents and
compares the bytes, so a change to any byte of the file — content or zip metadata — is caught.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from verifier import __version__
from verifier.errors import InputError
from verifier.evidence import canonical_json, sha256_file
from verifier.signing import fingerprint, load_private_key, sign, verify_signature

FORMAT = "verifier/bundle/1"
TREE_HASH_ALGORITHM = "verifier-tree/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
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


# --------------------------------------------------------------------------- repository identity

def tree_hash(repo: str | os.PathLike[str]) -> str:
    """Content hash of a repository tree (hex sha256), independent of git, mtimes and permissions.

    Entries: every regular file and symbolic link under ``repo``, any path component named ``.git``
    skipped, directories themselves not entries (empty ones leave no trace). Each entry contributes
    ``TYPE SP SHA256HEX SP PATH NUL`` where PATH is the relative POSIX path as UTF-8 bytes (file-system
    bytes for undecodable names), TYPE is ``f`` for a file (sha256 of its content) or ``l`` for a link
    (sha256 of the link's target text: links are never followed). Entries are sorted by PATH bytes;
    the result is the sha256 of their concatenation.
    """
    root = Path(repo)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    digest = hashlib.sha256()
    for rel, kind, value in sorted(_tree_entries(root)):
        digest.update(kind + b" " + value.encode("ascii") + b" " + rel + b"\0")
    return digest.hexdigest()


def _tree_entries(root: Path) -> Iterator[tuple[bytes, bytes, str]]:
    base = os.fsencode(root)
    stack = [b""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(base, rel_dir) if rel_dir else base) as entries:
            for entry in entries:
                if entry.name == b".git" or entry.name == ".git":
                    continue
                name = os.fsencode(entry.name)
                rel = rel_dir + b"/" + name if rel_dir else name
                if entry.is_symlink():
                    target = os.fsencode(os.readlink(entry.path))
                    yield rel, b"l", hashlib.sha256(target).hexdigest()
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    yield rel, b"f", sha256_file(Path(os.fsdecode(entry.path)))


def repo_commit(repo: str | os.PathLike[str], timeout_s: float = 30.0) -> str | None:
    """The commit checked out in ``repo`` (``git rev-parse HEAD``), or None when it is not a git work tree."""
    root = Path(repo)
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(root), "rev-parse", "--verify",
                               "HEAD"], capture_output=True, timeout=timeout_s, check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.decode("ascii", "replace").strip()
    return commit if done.returncode == 0 and commit else None


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
    """Report files rendered for the bundle because the run directory had none."""


#: the reports a bundle carries, rendered when the run directory lacks them: (lang, member name)
BUNDLE_REPORTS = (("zh", "reports/report.zh.html"), ("en", "reports/report.en.html"))


def build_bundle(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 key_path: str | os.PathLike[str] | None = None,
                 render: Callable[[Path, str], bytes] | None = None) -> BundleInfo:
    """Pack ``run_dir`` (results, evidence, reports) with a manifest into the zip ``out``, optionally signed.

    ``render(run_dir, lang)`` makes the HTML report for a language the run directory lacks (default:
    ``verifier.report.render_report``). Links inside the run directory are not packed.
    """
    run = Path(run_dir)
    from verifier.report import load_run  # noqa: PLC0415 - the report module is heavy (jinja, charts)

    result = load_run(run)
    key = load_private_key(key_path) if key_path is not None else None
    out_path = Path(out)
    if out_path.resolve().is_relative_to(run.resolve()):
        raise InputError(f"{out_path}: the bundle must be written outside the run directory {run}")
    payload: dict[str, bytes | Path] = {rel: run / rel for rel in _run_files(run)}
    rendered = []
    for lang, rel in BUNDLE_REPORTS:
        if rel not in payload:
            if render is None:
                from verifier.report import render_report  # noqa: PLC0415

                payload[rel] = render_report(run, "html", lang, base="../")
            else:
                payload[rel] = render(run, lang)
            rendered.append(rel)
    files = []
    for rel in sorted(payload):
        src = payload[rel]
        if isinstance(src, bytes):
            files.append({"path": PAYLOAD + rel, "sha256": hashlib.sha256(src).hexdigest(), "size": len(src)})
        else:
            files.append({"path": PAYLOAD + rel, "sha256": sha256_file(src), "size": src.stat().st_size})
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
        "repository": {"commit": result.repository.commit, "tree_sha256": result.repository.tree_sha256,
                       "tree_hash_algorithm": TREE_HASH_ALGORITHM},
        "tools": tools,
        "files": files,
    }
    manifest_bytes = canonical_json(manifest).encode("utf-8")
    members: list[tuple[str, bytes | Path]] = [(MANIFEST, manifest_bytes)]
    signed_by = None
    if key is not None:
        signed_by = fingerprint(key.public_key())
        members.append((SIGNATURE, _signature_bytes(manifest_bytes, key)))
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
                      rendered=tuple(rendered))


def _signature_bytes(manifest_bytes: bytes, key: Any) -> bytes:
    record = {"algorithm": "Ed25519", "key": fingerprint(key.public_key()),
              "signature": sign(manifest_bytes, key).strip()}
    return canonical_json(record).encode("utf-8")


def _run_files(run: Path) -> list[str]:
    """Relative POSIX paths of the regular files of a run directory (links and temp files left out)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(run, followlinks=False):
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
        for name in filenames:
            full = Path(dirpath, name)
            if full.is_symlink() or not full.is_file() or (name.startswith(".") and name.endswith(".tmp")):
                continue
            found.append(full.relative_to(run).as_posix())
    return sorted(found)


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

@dataclass(frozen=True)
class Check:
    """One verification statement and whether it holds (None: not checked, for information)."""

    ok: bool | None
    what: str


def verify_bundle(bundle: str | os.PathLike[str], *, public_key: Any = None,
                  repo: str | os.PathLike[str] | None = None) -> list[Check]:
    """Check a bundle: container bytes, every file hash, no file added or removed, the signature
    (given ``public_key``) and, given ``repo``, its commit and tree hash. Never extracts anything.

    Raises ``InputError`` when ``bundle`` is not a readable zip or has no usable manifest.
    """
    path = Path(bundle)
    if not path.is_file():
        raise InputError(f"{path}: no such bundle file")
    if repo is not None and not Path(repo).is_dir():
        raise InputError(f"{repo}: repository is not a directory")
    try:
        zf = zipfile.ZipFile(path)
    except _ZIP_ERRORS as err:
        raise InputError(f"{path}: not a readable zip ({err})") from None
    with zf:
        return _verify_open(path, zf, public_key, repo)


def _verify_open(path: Path, zf: zipfile.ZipFile, public_key: Any, repo: Any) -> list[Check]:
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
    extra = sorted(n for n in names if n not in listed and n not in (MANIFEST, SIGNATURE)
                   and not n.endswith("/"))
    checks += [Check(False, f"file {n}: in the bundle, not in the manifest (added)") for n in extra]
    if not extra:
        checks.append(Check(True, "no file added: every member is in the manifest"))

    # the container itself: canonical bytes
    has_sig = SIGNATURE in names
    if not bad_members and not extra and good == len(listed):
        checks.append(_check_container(path, zf, listed, has_sig))
    else:
        checks.append(Check(False, "zip container: not checked byte for byte, its contents already differ"))

    checks.append(_check_results(zf, names, manifest))
    checks.append(_check_signature(zf, names, manifest_bytes, public_key))
    if repo is not None:
        checks += _check_repo(Path(repo), manifest)
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
                     has_sig: bool) -> Check:
    order = [MANIFEST] + ([SIGNATURE] if has_sig else []) + sorted(listed)
    sink = _Sink()
    try:
        _write_canonical(sink, ((n, (lambda n=n: zf.open(n)), zf.getinfo(n).file_size) for n in order))
    except _ZIP_ERRORS as err:
        return Check(False, f"zip container: could not be rebuilt ({err})")
    if sink.digest.hexdigest() == sha256_file(path):
        return Check(True, "zip container: every byte is the canonical bundle of these contents")
    return Check(False, "zip container: its bytes differ from the canonical bundle of these contents "
                        "(zip metadata or layout changed)")


def _check_results(zf: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], manifest: dict[str, Any]) -> Check:
    rel = PAYLOAD + "results.json"
    if rel not in names:
        return Check(False, "results.json: missing from the bundle")
    try:
        results = json.loads(_read_limited(zf, names[rel], MAX_MANIFEST_BYTES).decode("utf-8"))
    except _ZIP_ERRORS as err:
        return Check(False, f"results.json: unreadable ({err})")
    repo = results.get("repository") or {}
    pairs = [("run id", results.get("run_id"), manifest.get("run_id")),
             ("spec sha256", results.get("spec_sha256"), (manifest.get("spec") or {}).get("sha256")),
             ("commit", repo.get("commit"), (manifest.get("repository") or {}).get("commit")),
             ("tree hash", repo.get("tree_sha256"), (manifest.get("repository") or {}).get("tree_sha256"))]
    differ = [name for name, a, b in pairs if a != b]
    if differ:
        return Check(False, f"results.json and the manifest disagree on: {', '.join(differ)}")
    return Check(True, "results.json agrees with the manifest (run id, spec hash, commit, tree hash)")


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


def _check_repo(repo: Path, manifest: dict[str, Any]) -> list[Check]:
    recorded = manifest.get("repository") or {}
    checks = []
    want_commit = recorded.get("commit")
    got_commit = repo_commit(repo)
    if want_commit is None:
        checks.append(Check(None, f"repository commit: none recorded; {repo} is at {got_commit or 'no commit'}"))
    elif got_commit == want_commit:
        checks.append(Check(True, f"repository commit: {repo} is at {got_commit}, as recorded"))
    else:
        checks.append(Check(False, f"repository commit: {repo} is at {got_commit or 'no commit'}, "
                                   f"the bundle records {want_commit}"))
    want_tree = recorded.get("tree_sha256")
    got_tree = tree_hash(repo)
    if want_tree is None:
        checks.append(Check(False, f"repository tree hash: none recorded in the bundle ({repo}: {got_tree})"))
    elif got_tree == want_tree:
        checks.append(Check(True, f"repository tree hash: {got_tree} matches"))
    else:
        checks.append(Check(False, f"repository tree hash: {repo} hashes to {got_tree}, "
                                   f"the bundle records {want_tree}"))
    return checks
