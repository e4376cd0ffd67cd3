"""Fetching open-source packages from their registries through the ordinary clients, so that the
user's configured indexes, mirrors, proxies and credentials are honoured: ``pip download`` for
PyPI, ``npm pack`` for npm, ``apt-get source --download-only`` for Debian source packages.

- PyPI ``NAME[==VERSION]``: the source distribution (``pip download --no-deps --no-binary :all:``;
  pip prepares an sdist's metadata with its build backend, as any ``pip download`` does), else a
  wheel (``--only-binary :all:``).
- npm ``NAME[@VERSION]`` (``@scope/name`` too): the published tarball (``npm pack
  --ignore-scripts``).
- Debian ``PACKAGE[=VERSION]``: the upstream tarball of the source package (``apt-get source
  --download-only``; needs ``deb-src`` entries in the apt sources), or a local ``.dsc`` file with
  its tarballs beside it.

A name or version is checked against what the registry allows before it reaches a command line
(never an option, a path or a URL: names can come from a delivery's manifests). A package that
cannot be fetched is a ``FetchFailure`` with the client's own reason, never an exception. What is
fetched is a hostile archive: ``verifier.kb.build`` reads it in memory with its archive limits.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier.errors import InputError

#: One client call (a download) may take this long before it is stopped (seconds).
FETCH_TIMEOUT_S = 600
ECOSYSTEMS = ("pypi", "npm", "debian")

_PYPI_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,200}[A-Za-z0-9])?$")
_PYPI_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+!_-]{0,100}$")
_NPM_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]{0,100}/)?[a-z0-9][a-z0-9._~-]{0,200}$",
                       re.IGNORECASE)
_NPM_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,100}$")
_DEB_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]{1,100}$")
_DEB_VERSION = re.compile(r"^[A-Za-z0-9.+~:-]{1,100}$")
_ORIG = re.compile(r"\.orig\.tar\.(?:gz|bz2|xz)$")
_TARBALL = re.compile(r"\.tar\.(?:gz|bz2|xz)$")


@dataclass(frozen=True)
class PackageSpec:
    """A package to fetch from a registry."""

    ecosystem: str
    """``pypi``, ``npm`` or ``debian``."""
    name: str
    version: str | None = None
    """Exact version; ``None``: the latest the registry offers."""
    local: str | None = None
    """Debian only: a local ``.dsc`` file to read instead of asking apt."""

    @property
    def label(self) -> str:
        """How the user wrote it: ``name==1.0``, ``name@1.0``, ``name=1.0``."""
        if self.local:
            return self.local
        sep = {"pypi": "==", "npm": "@", "debian": "="}[self.ecosystem]
        return f"{self.name}{sep}{self.version}" if self.version else self.name

    @property
    def key(self) -> str:
        """The name as the registry compares it."""
        if self.ecosystem == "pypi":
            return re.sub(r"[-_.]+", "-", self.name).lower()
        return self.name.lower() if self.ecosystem == "npm" else self.name


@dataclass(frozen=True)
class Fetched:
    """A package fetched into a download directory."""

    spec: PackageSpec
    archive: Path
    """The sdist, wheel, npm tarball or Debian upstream tarball."""
    kind: str
    """``sdist``, ``wheel``, ``npm``, ``debian``."""
    companions: tuple[Path, ...] = ()
    """Debian: the ``.debian.tar.*`` (its ``debian/copyright`` gives the license) and ``.dsc``."""


@dataclass(frozen=True)
class FetchFailure:
    """A package that could not be fetched, with the client's reason."""

    spec: PackageSpec
    reason: str


def parse_spec(ecosystem: str, text: str) -> PackageSpec:
    """A ``PackageSpec`` from ``NAME[==VERSION]`` (pypi), ``NAME[@VERSION]`` (npm) or
    ``PACKAGE[=VERSION]`` / ``FILE.dsc`` (debian); ``InputError`` (one line) if it is not one."""
    text = text.strip()
    if ecosystem == "pypi":
        name, _, version = text.partition("==")
        ok = _PYPI_NAME.match(name) and (not version or _PYPI_VERSION.match(version))
        form = "NAME or NAME==VERSION"
    elif ecosystem == "npm":
        at = text.find("@", 1)
        name, version = (text[:at], text[at + 1:]) if at > 0 else (text, "")
        ok = _NPM_NAME.match(name) and (not version or _NPM_VERSION.match(version))
        form = "NAME, NAME@VERSION or @SCOPE/NAME@VERSION"
    elif ecosystem == "debian":
        if text.endswith(".dsc"):
            path = Path(text)
            if not path.is_file():
                raise InputError(f"{text}: no such .dsc file")
            return PackageSpec("debian", path.name[:-4].split("_")[0], None, str(path))
        name, _, version = text.partition("=")
        ok = _DEB_NAME.match(name) and (not version or _DEB_VERSION.match(version))
        form = "PACKAGE, PACKAGE=VERSION or a local FILE.dsc"
    else:
        raise InputError(f"unknown registry {ecosystem!r} (one of {', '.join(ECOSYSTEMS)})")
    if not ok:
        raise InputError(f"{ecosystem} package {text!r}: not a package name ({form})")
    return PackageSpec(ecosystem, name, version or None)


def read_list(path: Path) -> list[PackageSpec]:
    """Package specs from a list file: one per line, ``pypi:NAME[==VERSION]``,
    ``npm:NAME[@VERSION]`` or ``debian:PACKAGE[=VERSION]``; ``#`` comments and blank lines
    ignored. ``InputError`` naming the line for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the package list ({err})") from None
    specs = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        ecosystem, sep, rest = line.partition(":")
        if not sep or ecosystem.strip().lower() not in ECOSYSTEMS:
            raise InputError(f"{path}:{number}: {line[:80]!r} is not REGISTRY:PACKAGE "
                             f"(REGISTRY one of {', '.join(ECOSYSTEMS)})")
        try:
            specs.append(parse_spec(ecosystem.strip().lower(), rest))
        except InputError as err:
            raise InputError(f"{path}:{number}: {err}") from None
    return specs


def fetch(spec: PackageSpec, dest: Path, *, timeout: float = FETCH_TIMEOUT_S,
          apt_options: Sequence[str] = ()) -> Fetched | FetchFailure:
    """Fetch ``spec`` into the empty directory ``dest`` with its registry's client."""
    dest.mkdir(parents=True, exist_ok=True)
    if spec.ecosystem == "pypi":
        return _fetch_pypi(spec, dest, timeout)
    if spec.ecosystem == "npm":
        return _fetch_npm(spec, dest, timeout)
    return _fetch_debian(spec, dest, timeout, apt_options)


def _fetch_pypi(spec: PackageSpec, dest: Path, timeout: float) -> Fetched | FetchFailure:
    requirement = f"{spec.name}=={spec.version}" if spec.version else spec.name
    reasons = []
    for kind, choice in (("sdist", ["--no-binary", ":all:"]), ("wheel", ["--only-binary", ":all:"])):
        target = dest / kind
        target.mkdir(exist_ok=True)
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", *choice,
                "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
                "-d", str(target), requirement]
        failure = _run(argv, target, timeout, "pip")
        found = sorted(p for p in target.iterdir() if p.is_file())
        if failure is None and found:
            return Fetched(spec, found[0], kind)
        reasons.append(f"{kind}: {failure or 'pip downloaded nothing'}")
    return FetchFailure(spec, "; ".join(reasons))


def _fetch_npm(spec: PackageSpec, dest: Path, timeout: float) -> Fetched | FetchFailure:
    if shutil.which("npm") is None:
        return FetchFailure(spec, "npm is not installed")
    target = f"{spec.name}@{spec.version}" if spec.version else spec.name
    argv = ["npm", "pack", target, "--ignore-scripts", "--pack-destination", str(dest),
            "--loglevel", "error"]
    failure = _run(argv, dest, timeout, "npm")
    found = sorted(dest.glob("*.tgz"))
    if failure is None and found:
        return Fetched(spec, found[0], "npm")
    return FetchFailure(spec, failure or "npm pack wrote no tarball")


def _fetch_debian(spec: PackageSpec, dest: Path, timeout: float, apt_options: Sequence[str]
                  ) -> Fetched | FetchFailure:
    if spec.local:
        dsc = Path(spec.local)
        folder = dsc.parent
    else:
        if shutil.which("apt-get") is None:
            return FetchFailure(spec, "apt-get is not installed")
        target = f"{spec.name}={spec.version}" if spec.version else spec.name
        argv = ["apt-get", *apt_options, "source", "--download-only", "-q", target]
        failure = _run(argv, dest, timeout, "apt-get")
        if failure is not None:
            if "deb-src" in failure:
                failure += " (apt has no deb-src entries: add 'Types: deb deb-src' to a source " \
                           "in /etc/apt/sources.list.d/ and run apt-get update)"
            return FetchFailure(spec, failure)
        found = sorted(dest.glob("*.dsc"))
        if not found:
            return FetchFailure(spec, "apt-get source fetched no .dsc")
        dsc, folder = found[0], dest
    try:
        fields = parse_dsc(dsc.read_text(encoding="utf-8", errors="replace"))
    except OSError as err:
        return FetchFailure(spec, f"{dsc}: {err.strerror or err}")
    files = [name for name in fields.get("files", ()) if "/" not in name and name != ".."]
    upstream = sorted(n for n in files if _ORIG.search(n))
    native = sorted(n for n in files if _TARBALL.search(n) and ".debian.tar." not in n
                    and ".orig" not in n)
    main = (upstream or native or [None])[0]
    if main is None or not (folder / main).is_file():
        return FetchFailure(spec, f"{dsc.name}: no upstream tarball beside it")
    companions = tuple(folder / n for n in files if ".debian.tar." in n and (folder / n).is_file())
    return Fetched(PackageSpec("debian", fields.get("source") or spec.name,
                               fields.get("version") or spec.version, spec.local),
                   folder / main, "debian", companions + (dsc,))


def parse_dsc(text: str) -> dict:
    """``source``, ``version`` and ``files`` (names in its Files/Checksums-Sha256 section) of a
    Debian ``.dsc`` (a PGP signature around it is ignored)."""
    out: dict = {"files": []}
    section = None
    for line in text.splitlines():
        if line.startswith("-----BEGIN PGP SIGNATURE"):
            break
        if line.startswith((" ", "\t")):
            if section in ("files", "checksums-sha256"):
                parts = line.split()
                if len(parts) >= 3 and parts[-1] not in out["files"]:
                    out["files"].append(parts[-1])
            continue
        key, sep, value = line.partition(":")
        if not sep:
            section = None
            continue
        section = key.strip().lower()
        if section in ("source", "version") and value.strip():
            out[section] = value.strip()
    return out


def _run(argv: list[str], cwd: Path, timeout: float, client: str) -> str | None:
    """Run a client; ``None`` on success, else its reason (its last error line)."""
    env = dict(os.environ)
    env.setdefault("PIP_NO_INPUT", "1")
    try:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace",
                                timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except subprocess.TimeoutExpired:
        return f"{client} took over {timeout:g} s; stopped"
    except OSError as err:
        return f"{client} could not be started ({err.strerror or err})"
    if result.returncode == 0:
        return None
    return _reason(result.stderr or result.stdout, client, result.returncode)


def _reason(output: str, client: str, code: int) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    marks = ("ERROR:", "E:", "npm error", "npm ERR!", "error:")
    picked = [line for line in lines if line.startswith(marks)]
    text = (picked[0] if picked else (lines[-1] if lines else f"exit code {code}"))
    for mark in marks:
        if text.startswith(mark):
            text = text[len(mark):].strip()
    text = " ".join(text.split())
    return f"{client}: {text[:300]}"
