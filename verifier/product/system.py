"""The system under test on record: the machine, the product's runtime versions, its packages.

``describe_system`` asks each declared interpreter about itself (run under the watchdog, with a
timeout, its answer kept as evidence): the Python interpreter runs a small standard-library script
that reports its version and every installed distribution with name, version and license (from
the distribution's metadata: ``License-Expression``, else a one-line ``License``, else its license
classifiers); ``node --version`` and ``java -version`` give theirs. The machine's OS, CPU model,
logical CPUs and memory come from the kernel. An interpreter that cannot be asked leaves a note,
never an error: the record describes, it does not judge.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier.proc import run_tool, scrubbed_env
from verifier.product.runtime import ProductRuntime
from verifier.results import PackageRecord, RuntimeRecord, SetupRecord, SystemUnderTest

#: Most packages kept on record (a runtime with more is noted as cut).
MAX_PACKAGES = 2_000

_PYTHON_SCRIPT = r"""
import json, platform, sys
info = {"version": platform.python_version(), "implementation": platform.python_implementation(),
        "build": " ".join(platform.python_build()), "packages": None}
try:
    from importlib import metadata
except ImportError:
    metadata = None
if metadata is not None:
    found = {}
    for dist in metadata.distributions():
        meta = dist.metadata
        name = (meta.get("Name") or "").strip()
        if not name or name.lower() in found:
            continue
        lic = (meta.get("License-Expression") or "").strip()
        raw = (meta.get("License") or "").strip()
        if not lic and raw and "\n" not in raw and len(raw) <= 80 and raw.upper() != "UNKNOWN":
            lic = raw
        if not lic:
            kinds = [c.split("::")[-1].strip() for c in (meta.get_all("Classifier") or [])
                     if c.startswith("License ::") and c.split("::")[-1].strip() != "OSI Approved"]
            lic = ", ".join(kinds)
        if not lic and raw and raw.upper() != "UNKNOWN":
            lic = raw.splitlines()[0].strip()[:80]
        found[name.lower()] = {"name": name, "version": (meta.get("Version") or "").strip(), "license": lic}
    info["packages"] = sorted(found.values(), key=lambda d: d["name"].lower())
print(json.dumps(info))
"""
_JAVA_VERSION = re.compile(r'version "([^"]+)"')


@dataclass(frozen=True)
class Machine:
    """This machine, as the record describes it."""

    os: str
    """Distribution and kernel (``Debian GNU/Linux 12 (bookworm) (Linux 6.1.0)``)."""
    machine: str
    cpu: str
    cpu_count: int
    memory_mb: int | None


def machine_facts() -> Machine:
    """OS (distribution and kernel), machine, CPU model, logical CPUs and memory of this machine."""
    uname = platform.uname()
    distro = _os_release()
    return Machine(os=f"{distro} ({uname.system} {uname.release})" if distro else f"{uname.system} {uname.release}",
                   machine=uname.machine, cpu=_cpu_model() or uname.processor or uname.machine,
                   cpu_count=os.cpu_count() or 1, memory_mb=_memory_mb())


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text("utf-8", errors="replace").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return ""


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text("utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_mb() -> int | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e6)
    except (ValueError, OSError, AttributeError):
        return None


def shown_path(path: str, *, repo: Path, spec_dir: Path) -> str:
    """``path`` as the record shows it: relative to the repository, ``{spec_dir}/…`` beside the task
    book, else as it is (a name found on ``PATH`` is shown where it was found)."""
    absolute = Path(os.path.abspath(path))
    for base, prefix in ((repo, ""), (spec_dir, "{spec_dir}/")):
        root = Path(os.path.abspath(base))
        if absolute.is_relative_to(root):
            return prefix + absolute.relative_to(root).as_posix()
    return str(absolute)


def describe_system(runtime: ProductRuntime | None, *, repo: Path, spec_dir: Path, out_dir: Path,
                    run_dir: Path, setup: Sequence[SetupRecord] = (), timeout_s: float = 60.0) -> SystemUnderTest:
    """The record of the system under test; interpreters' answers kept in ``out_dir``."""
    facts = machine_facts()
    runtimes: list[RuntimeRecord] = []
    packages: list[PackageRecord] = []
    notes: list[str] = []
    evidence: list[str] = []
    packages_from = None
    env = runtime.environment() if runtime is not None else scrubbed_env()

    def ask(argv: list[str], name: str) -> tuple[str, str] | None:
        run = run_tool(argv, cwd=repo, timeout_s=timeout_s, out_dir=out_dir, name=name, env=env)
        evidence.extend(p.relative_to(run_dir).as_posix() for p in (run.stdout_path, run.stderr_path)
                        if p.exists() and p.stat().st_size)
        if run.timed_out or run.returncode != 0:
            notes.append(f"{name}: {Path(argv[0]).name} {' '.join(argv[1:2])} failed "
                         f"({'timed out' if run.timed_out else f'exit status {run.returncode}'}): "
                         f"{(run.tail(1) or '').strip()[:160]}")
            return None
        return (run.stdout_path.read_text("utf-8", errors="replace"),
                run.stderr_path.read_text("utf-8", errors="replace"))

    if runtime is not None and runtime.python is not None:
        shown = shown_path(runtime.python, repo=repo, spec_dir=spec_dir)
        answer = ask([runtime.python, "-I", "-c", _PYTHON_SCRIPT], "python")
        info = _json(answer[0]) if answer else None
        if info is None and answer is not None:
            notes.append("python: its answer was not the JSON asked for")
        runtimes.append(RuntimeRecord(name="python", path=shown,
                                      version=str(info["version"]) if info else None,
                                      detail=f"{info.get('implementation', '')} ({info.get('build', '')})" if info else ""))
        if info and isinstance(info.get("packages"), list):
            packages_from = shown
            listed = [PackageRecord(name=str(p.get("name", "")), version=str(p.get("version", "")),
                                    license=str(p.get("license", "")))
                      for p in info["packages"] if isinstance(p, dict)]
            if len(listed) > MAX_PACKAGES:
                notes.append(f"python: {len(listed)} packages installed; the first {MAX_PACKAGES} are listed")
            packages = listed[:MAX_PACKAGES]
        elif info:
            notes.append("python: importlib.metadata is not available, so its packages are not listed")
    for name in ("node", "java"):
        path = getattr(runtime, name) if runtime is not None else None
        if path is None:
            continue
        answer = ask([path, "--version" if name == "node" else "-version"], name)
        version = None
        if answer is not None:
            text = (answer[0] + answer[1]).strip()
            match = _JAVA_VERSION.search(text) if name == "java" else None
            version = match.group(1) if match else (text.splitlines()[0].strip() if text else None)
        runtimes.append(RuntimeRecord(name=name, path=shown_path(path, repo=repo, spec_dir=spec_dir),
                                      version=version))
    return SystemUnderTest(os=facts.os, machine=facts.machine, cpu=facts.cpu, cpu_count=facts.cpu_count,
                           memory_mb=facts.memory_mb, runtimes=runtimes, packages=packages,
                           packages_from=packages_from, setup=list(setup), notes=notes, evidence=evidence)


def _json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None
