"""Helpers for the live-service tests: the fixture services, tiny test services, probe contexts."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from support import FIXTURES
from verifier.probe import Probe, ProbeContext
from verifier.service import Service, ServiceConfig

SAMPLE = FIXTURES / "sample-delivery"
WEAK = FIXTURES / "weak-delivery"

ITEM_BODY = {"sku": "T-{uid}", "name": "测试货品 {i}", "quantity": 1}

#: the sample service's endpoints for the robustness probe, and two malformed requests declared as cases
ROBUSTNESS_ENDPOINTS = [{"path": "/api/items"},
                        {"method": "POST", "path": "/api/items", "body": ITEM_BODY},
                        {"path": "/api/items/1"},
                        {"method": "POST", "path": "/api/items/1/stock", "body": {"delta": 1}}]
ROBUSTNESS_ARGS = {"endpoints": ROBUSTNESS_ENDPOINTS,
                   "cases": [{"method": "POST", "path": "/api/items", "raw": "{\"sku\": \"A\", \"quantity\": "},
                             {"method": "POST", "path": "/api/items", "body": {**ITEM_BODY, "quantity": -5}}]}


def fixture_config(package: str, **extra: Any) -> ServiceConfig:
    """The service section of a fixture product (``inventory_api`` or ``weak_api``)."""
    return ServiceConfig(command=f"{{python}} -m {package} --port {{port}} --db {{data_dir}}/store.db",
                         ready="http://127.0.0.1:{port}/health", ready_timeout=20, grace_period=3,
                         **extra)


@contextlib.contextmanager
def fixture_service(tmp_path: Path, which: str = "sample") -> Iterator[Service]:
    """The sample (``inventory_api``) or weak (``weak_api``) fixture service, running."""
    repo, package = (SAMPLE, "inventory_api") if which == "sample" else (WEAK, "weak_api")
    with Service(fixture_config(package), repo=repo, log_dir=tmp_path / "service",
                 data_dir=tmp_path / "data") as svc:
        yield svc


def script_repo(tmp_path: Path, name: str, source: str) -> Path:
    """A throwaway repository holding one Python script ``name`` (a tiny test service)."""
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / name).write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return repo


def context(probe: type[Probe], tmp_path: Path, service: Service | None, args: dict[str, Any],
            *, repo: Path | None = None, timeout_s: float = 120) -> ProbeContext:
    """A probe context with validated ``args`` and its own evidence folder under ``tmp_path``."""
    run_dir = tmp_path / "run"
    evidence = run_dir / probe.name
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo or (service.repo if service else tmp_path), run_dir=run_dir,
                        evidence_dir=evidence, args=probe.Args.model_validate(args), spec=None,
                        timeout_s=timeout_s, service=service)


def values(outcome) -> dict[str, float | None]:
    """Metric -> value of an outcome."""
    return {m.metric: m.value for m in outcome.measurements}


def gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
