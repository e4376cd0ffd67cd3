"""Ed25519 keys and signatures for bundles (``cryptography``; nothing hand-rolled).

Keys are PEM files: the private key PKCS#8 (written with mode 0600), the public key
SubjectPublicKeyInfo. A signature is stored as base64 text of the 64 raw signature bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from verifier.errors import InputError
from verifier.paths import check_output_directory, check_output_file, read_file

_MAX_KEY_FILE = 64 * 1024


def write_keypair(prefix: str | os.PathLike[str], *, overwrite: bool = False) -> tuple[Path, Path]:
    """Make a new Ed25519 key pair as ``PREFIX.key`` (private, mode 0600) and ``PREFIX.pub``;
    ``InputError`` naming the path when either cannot be written (or exists, unless ``overwrite``).
    Missing directories of ``PREFIX`` (``keys/`` in ``keys/agency``) are made, mode 0700, once the
    nearest existing one is known to be a writable directory on a real filesystem."""
    given = os.fspath(prefix)
    if given.endswith(os.sep) or os.path.isdir(given):
        raise InputError(f"{given}: is a directory; give a name prefix for the key files "
                         f"(e.g. {os.path.join(given, 'agency')})")
    _private_directories(os.path.dirname(given))
    private_path = Path(f"{given}.key")
    public_path = Path(f"{given}.pub")
    for path in (private_path, public_path):
        if not overwrite and os.path.lexists(path):
            raise InputError(f"{path}: already exists; will not overwrite a key")
        check_output_file(path, what="key file")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (0 if overwrite else os.O_EXCL | os.O_NOFOLLOW)
    try:
        fd = os.open(private_path, flags, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        os.chmod(private_path, 0o600)
    except OSError as err:
        raise InputError(f"{private_path}: cannot write the key file: {err.strerror or err}") from None
    try:
        public_path.write_bytes(public_pem(key.public_key()))
    except OSError as err:
        raise InputError(f"{public_path}: cannot write the key file: {err.strerror or err}") from None
    return private_path, public_path


def _private_directories(directory: str) -> None:
    """Make ``directory`` and its missing parents, each mode 0700 (keys live there)."""
    if not directory or os.path.lexists(directory):
        return
    check_output_directory(directory, what="key directory")
    missing = []
    current = directory
    while current and not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current.rstrip(os.sep))
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)
        except OSError as err:
            raise InputError(f"{path}: cannot make the key directory: {err.strerror or err}") from None


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The PEM (SubjectPublicKeyInfo) encoding of ``key``."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:`` + hex digest of the raw 32-byte public key: how a key is named in output."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an unencrypted Ed25519 private key from a PEM file; ``InputError`` naming the file otherwise."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: not an unencrypted PEM private key ({_first_line(err)})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key ({type(key).__name__})")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Read an Ed25519 public key from a PEM file; ``InputError`` naming the file otherwise."""
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: not a PEM public key ({_first_line(err)})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key ({type(key).__name__})")
    return key


def sign(data: bytes, key: Ed25519PrivateKey) -> str:
    """The base64 text of the Ed25519 signature of ``data``."""
    return base64.b64encode(key.sign(data)).decode("ascii") + "\n"


def verify_signature(data: bytes, signature_text: str | bytes, key: Ed25519PublicKey) -> bool:
    """True when ``signature_text`` (base64) is ``key``'s valid Ed25519 signature of ``data``."""
    try:
        raw = base64.b64decode(signature_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def _read_key_file(path: str | os.PathLike[str]) -> bytes:
    return read_file(path, what="key file", max_bytes=_MAX_KEY_FILE)


def _first_line(err: Exception) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]
