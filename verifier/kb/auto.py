"""The knowledge base of a delivery's own declared dependencies (``origin.knowledge_base: auto``).

The dependencies its manifests and lock files declare (``verifier.kb.deps``) are fetched from the
registries with the ordinary clients (``verifier.kb.registries``) into a KB in the cache directory,
one per set of dependencies (``kb/deps-<digest>.kb``), so the same delivery matches against the
same KB run after run and never against packages another delivery declared. A later run fetches
what an earlier one could not (offline, a registry refusing) and skips what the KB holds. What
could not be fetched is said, and the match is partial; it never stops the analysis.

``VERIFIER_KB_AUTO=off`` turns the auto KB off (an air-gapped machine, a test suite).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from verifier.errors import InputError
from verifier.kb.build import Fetcher, FetchProgress, add_to_kb
from verifier.kb.deps import Dependency, declared_dependencies
from verifier.kb.registries import PackageSpec, parse_spec
from verifier.kb.store import KnowledgeBase
from verifier.kb.winnow import K, W

AUTO = "auto"
AUTO_ENV = "VERIFIER_KB_AUTO"


@dataclass
class AutoKB:
    """What ``auto_knowledge_base`` built or found."""

    path: Path | None
    """The KB to match against; ``None`` when it holds nothing (no dependency fetched)."""
    dependencies: list[Dependency]
    unfetched: tuple[tuple[str, str], ...] = ()
    """(package, the client's reason) of each declared package that could not be fetched."""
    fetched: tuple[str, ...] = ()
    """Packages fetched by this call."""
    held: int = 0
    """Packages the KB already held."""
    warnings: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        """Whether some declared packages are missing from the KB."""
        return bool(self.unfetched)

    def to_json(self) -> dict:
        """Plain JSON-ready dict (the dependencies are listed separately)."""
        return {"path": str(self.path) if self.path else None, "partial": self.partial,
                "unfetched": [{"package": p, "reason": r} for p, r in self.unfetched],
                "fetched": list(self.fetched), "held": self.held}


def auto_disabled() -> bool:
    """Whether ``VERIFIER_KB_AUTO`` turns the auto KB off."""
    return os.environ.get(AUTO_ENV, "").strip().lower() in ("0", "off", "no", "false")


def auto_knowledge_base(repo: str | os.PathLike, cache_dir: str | os.PathLike, *,
                        jobs: int | None = None, fetcher: Fetcher | None = None,
                        fetch_progress: FetchProgress | None = None) -> AutoKB:
    """Build or update the KB of ``repo``'s declared dependencies in ``cache_dir``."""
    deps, warnings = declared_dependencies(repo)
    specs: list[PackageSpec] = []
    for dep in deps:
        if not dep.registry:
            continue
        try:
            specs.append(parse_spec(dep.ecosystem, dep.spec.label))
        except InputError as err:
            warnings.append(f"{dep.declared_in}: {err}")
    specs = sorted(set(specs), key=lambda s: (s.ecosystem, s.key, s.version or ""))
    if not specs:
        return AutoKB(None, deps, warnings=warnings)
    digest = hashlib.sha256("\n".join(f"{s.ecosystem}:{s.key}=={s.version or ''}"
                                      for s in specs).encode()).hexdigest()[:16]
    folder = Path(cache_dir) / "kb"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"deps-{digest}.kb"
    kinds = {"pypi": "python", "npm": "npm", "debian": "debian"}
    with _locked(path.with_suffix(".lock")):
        names: set[tuple[str, str]] = set()
        if path.exists():
            try:
                with KnowledgeBase.open(path) as kb:
                    names = {(c.kind, _key(c.name)) for c in kb.components().values()}
            except InputError:
                path.unlink()  # a damaged cache file is rebuilt
        if not path.exists():
            _empty(path)
        # an unpinned dependency fetched once is not fetched again on every run
        wanted = [s for s in specs if s.version or (kinds[s.ecosystem], _key(s.name)) not in names]
        report = add_to_kb(path, packages=wanted, jobs=jobs, fetcher=fetcher,
                           fetch_progress=fetch_progress, require=False) if wanted else None
        with KnowledgeBase.open(path) as kb:
            holds_any = bool(kb.components())
    if report is None:
        return AutoKB(path if holds_any else None, deps, held=len(specs), warnings=warnings)
    warnings += list(report.warnings)
    return AutoKB(path if holds_any else None, deps, report.unfetched, report.fetched,
                  len(report.already_held) + len(specs) - len(wanted), warnings)


def _key(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _empty(path: Path) -> None:
    """An empty KB at ``path``: the next run adds what it can fetch."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with KnowledgeBase.create(temp, k=K, w=W) as kb:
        kb.writer().finish()
    os.replace(temp, path)


@contextlib.contextmanager
def _locked(lock: Path) -> Iterator[None]:
    """One process at a time builds or updates a cached KB."""
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
