"""Local stand-ins for the package registries, made at test time from files we write: a PyPI
simple index directory (for ``pip --index-url file://…``), an npm registry served on 127.0.0.1
(for ``npm --registry``), and a Debian source package (.dsc, upstream and debian tarballs).
The real clients (pip, npm) run against them; nothing leaves the machine."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

#: A module of our own making, distinct enough to be matched on its own.
LEDGER = '''
class Ledger:
    def __init__(self, rows=None):
        self.rows = dict(rows or {})
        self.history = []

    def receive(self, sku, quantity, note=""):
        if quantity <= 0:
            raise ValueError(f"quantity must be positive for {sku}")
        row = self.rows.setdefault(sku, {"sku": sku, "quantity": 0, "notes": []})
        row["quantity"] += quantity
        if note:
            row["notes"].append(note)
        self.history.append(("in", sku, quantity))
        return row["quantity"]

    def ship(self, sku, quantity):
        row = self.rows.get(sku)
        if row is None:
            raise KeyError(f"unknown sku {sku}")
        if row["quantity"] < quantity:
            raise ValueError(f"only {row['quantity']} of {sku} left, {quantity} asked")
        row["quantity"] -= quantity
        self.history.append(("out", sku, quantity))
        return row["quantity"]

    def report(self):
        lines = []
        for sku in sorted(self.rows):
            lines.append(f"{sku:<12}{self.rows[sku]['quantity']:>8}")
        return "\\n".join(lines)
'''

SCHEDULE_JS = '''
function nextSlot(slots, now, minutes) {
  const sorted = slots.slice().sort((a, b) => a.start - b.start);
  for (let i = 0; i < sorted.length; i += 1) {
    const slot = sorted[i];
    if (slot.start < now) {
      continue;
    }
    const free = slot.end - slot.start;
    if (free >= minutes * 60000) {
      return { start: slot.start, end: slot.start + minutes * 60000, index: i };
    }
  }
  const last = sorted.length ? sorted[sorted.length - 1].end : now;
  return { start: Math.max(last, now), end: Math.max(last, now) + minutes * 60000, index: -1 };
}
module.exports = { nextSlot };
'''

CRC_C = '''
#include <stdint.h>
#include <stddef.h>

static uint32_t table[256];

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            if (c & 1) {
                c = 0xEDB88320u ^ (c >> 1);
            } else {
                c = c >> 1;
            }
        }
        table[i] = c;
    }
}

uint32_t demo_crc32(uint32_t crc, const unsigned char *buf, size_t len)
{
    if (table[1] == 0) {
        build_table();
    }
    crc = crc ^ 0xFFFFFFFFu;
    while (len--) {
        crc = table[(crc ^ *buf++) & 0xFF] ^ (crc >> 8);
    }
    return crc ^ 0xFFFFFFFFu;
}
'''

_BACKEND = '''
import os

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name = "{dist}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    with open(os.path.join(metadata_directory, name, "METADATA"), "w") as handle:
        handle.write("Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n")
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("only metadata is prepared here")
'''


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return path


def sdist(folder: Path, name: str, version: str, license_: str, files: dict[str, str]) -> Path:
    """A source distribution whose metadata an in-tree PEP 517 backend prepares (no build
    requirement to fetch)."""
    dist = name.replace("-", "_")
    top = f"{dist}-{version}"
    content = {f"{top}/PKG-INFO": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                   f"License: {license_}\n").encode(),
               f"{top}/pyproject.toml": (b'[build-system]\nrequires = []\n'
                                         b'build-backend = "demo_backend"\nbackend-path = ["."]\n'),
               f"{top}/demo_backend.py": _BACKEND.format(dist=dist, name=name,
                                                         version=version).encode()}
    content.update({f"{top}/{rel}": text.encode() for rel, text in files.items()})
    return _tar(folder / f"{top}.tar.gz", content)


def wheel(folder: Path, name: str, version: str, license_: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel."""
    dist = name.replace("-", "_")
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        for rel, text in files.items():
            archive.writestr(rel, text)
        archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\n"
                                             f"Version: {version}\nLicense: {license_}\n")
        archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: tests\n"
                                          "Root-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{info}/RECORD", "")
    return path


def simple_index(root: Path, dists: list[Path]) -> str:
    """A PEP 503 simple index directory over ``dists`` (moved under ``root/files``); its
    ``file://`` URL."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[str]] = {}
    for dist in dists:
        target = files / dist.name
        dist.replace(target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
        project = dist.name.split("-")[0].replace("_", "-").lower()
        projects.setdefault(project, []).append(
            f'<a href="../../files/{target.name}#sha256={digest}">{target.name}</a>')
    for project, links in projects.items():
        page = root / "simple" / project
        page.mkdir(parents=True)
        (page / "index.html").write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links)
                                         + "\n</body></html>\n")
    return (root / "simple").as_uri()


def npm_tarball(name: str, version: str, license_: str, files: dict[str, str]) -> bytes:
    """An npm package tarball (``package/`` prefix)."""
    manifest = {"name": name, "version": version, "license": license_, "main": "index.js"}
    content = {"package/package.json": json.dumps(manifest).encode()}
    content.update({f"package/{rel}": text.encode() for rel, text in files.items()})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for rel, data in content.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextmanager
def npm_registry(packages: dict[str, dict[str, bytes]]):
    """An npm registry on 127.0.0.1 serving ``{name: {version: tarball}}``; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NpmHandler)
    server.packages = packages  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    server.base = url  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


class _NpmHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # http.server's name
        from urllib.parse import unquote

        path = unquote(self.path.split("?", 1)[0]).lstrip("/")
        packages = self.server.packages  # type: ignore[attr-defined]
        base = self.server.base  # type: ignore[attr-defined]
        if "/-/" in path:
            name, _, file = path.partition("/-/")
            for version, data in packages.get(name, {}).items():
                if file == f"{name.split('/')[-1]}-{version}.tgz":
                    return self._send(data, "application/octet-stream")
            return self._send(b"{}", "application/json", 404)
        if path not in packages:
            return self._send(b'{"error":"Not found"}', "application/json", 404)
        versions = {}
        for version, data in packages[path].items():
            versions[version] = {
                "name": path, "version": version,
                "dist": {"tarball": f"{base}{path}/-/{path.split('/')[-1]}-{version}.tgz",
                         "shasum": hashlib.sha1(data).hexdigest(),
                         "integrity": "sha512-" + base64.b64encode(
                             hashlib.sha512(data).digest()).decode()}}
        document = {"name": path, "dist-tags": {"latest": sorted(versions)[-1]},
                    "versions": versions}
        return self._send(json.dumps(document).encode(), "application/json")

    def _send(self, data: bytes, kind: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def debian_source(folder: Path, name: str, upstream: str, revision: str,
                  files: dict[str, str], license_: str = "Zlib") -> Path:
    """A Debian source package: ``NAME_UPSTREAM.orig.tar.gz``, ``NAME_UPSTREAM-REV.debian.tar.gz``
    (with a machine-readable debian/copyright) and the .dsc naming them."""
    folder.mkdir(parents=True, exist_ok=True)
    orig = _tar(folder / f"{name}_{upstream}.orig.tar.gz",
                {f"{name}-{upstream}/{rel}": text.encode() for rel, text in files.items()})
    copyright_ = (f"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                  f"Upstream-Name: {name}\n\nFiles: *\nCopyright: 2020 Demo Authors\n"
                  f"License: {license_}\n\nFiles: debian/*\nCopyright: 2021 Packager\n"
                  f"License: GPL-2+\n")
    debian = _tar(folder / f"{name}_{upstream}-{revision}.debian.tar.gz",
                  {"debian/copyright": copyright_.encode(),
                   "debian/patches/series": b"",
                   "debian/rules": b"#!/usr/bin/make -f\n%:\n\tdh $@\n"})
    lines = []
    for tarball in (orig, debian):
        data = tarball.read_bytes()
        lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {tarball.name}")
    dsc = folder / f"{name}_{upstream}-{revision}.dsc"
    dsc.write_text(f"Format: 3.0 (quilt)\nSource: {name}\nBinary: lib{name}1\n"
                   f"Version: {upstream}-{revision}\nChecksums-Sha256:\n" + "\n".join(lines)
                   + "\nFiles:\n" + "\n".join(
                       f" {hashlib.md5(t.read_bytes()).hexdigest()} {t.stat().st_size} {t.name}"
                       for t in (orig, debian)) + "\n")
    return dsc
