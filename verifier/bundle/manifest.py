"""The bundle format: member names, the manifest's repository record and signature, and the one
canonical way a bundle's zip is written (members stored uncompressed, fixed timestamps and
attributes, given order), so that ``verify`` can rebuild the container from its contents and compare
every byte."""

from __future__ import annotations

import hashlib
import io
import stat
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

from verifier.evidence import canonical_json
from verifier.repository import TREE_HASH_ALGORITHM, TREE_HASH_RULES
from verifier.signing import fingerprint, sign

FORMAT = "verifier/bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: the in-toto attestation (``verifier.attestation``), when the bundle has one
ATTESTATION = "attestation.intoto.jsonl"
#: the folder of the run's files inside a bundle
PAYLOAD = "run/"

_CHUNK = 1 << 20
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

#: a member of a canonical zip: its name, a way to open its bytes, their size
Entry = tuple[str, Callable[[], IO[bytes]], int]


def manifest_repository(repo: Any) -> dict[str, Any]:
    """The manifest's ``repository`` from a run's record: commit, subpath, dirtiness, tree hash, its
    mode and the rule of that mode."""
    mode = recorded_mode(repo.tree_hash_mode, repo.tree_sha256)
    return {"commit": repo.commit, "subpath": repo.subpath, "dirty": repo.dirty,
            "tree_sha256": repo.tree_sha256, "tree_hash_algorithm": TREE_HASH_ALGORITHM,
            "tree_hash_mode": mode, "tree_hash_rule": TREE_HASH_RULES.get(mode or "")}


def recorded_mode(mode: Any, tree: Any) -> str | None:
    """The tree hash mode of a record; runs from before modes were recorded hashed all files."""
    if mode is None and tree is not None:
        return "all-files"
    return mode


def signature_bytes(manifest_bytes: bytes, key: Any) -> bytes:
    """The ``manifest.sig`` member: an Ed25519 signature of the exact manifest bytes by ``key``."""
    record = {"algorithm": "Ed25519", "key": fingerprint(key.public_key()),
              "signature": sign(manifest_bytes, key).strip()}
    return canonical_json(record).encode("utf-8")


class HashingSink(io.RawIOBase):
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


def write_canonical(sink: HashingSink, members: Iterable[Entry]) -> None:
    """Write ``members`` in the given order as the canonical bundle zip into ``sink``."""
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


def entry_of(name: str, src: bytes | Path) -> Entry:
    """A member of the canonical zip from bytes or a file."""
    if isinstance(src, bytes):
        return name, (lambda: io.BytesIO(src)), len(src)
    return name, (lambda: open(src, "rb")), src.stat().st_size
