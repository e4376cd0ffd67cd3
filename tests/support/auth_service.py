"""Helpers for the tests of the token-protected fixture (``fixtures/auth-delivery``, with the agency's
task book and assets in ``fixtures/auth-agency``): its service, run with the harness's interpreter
for probe-level tests, and probe contexts whose spec declares its login."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from support import REPO_ROOT
from verifier.probe import Probe, ProbeContext
from verifier.service import Service, ServiceConfig
from verifier.spec import Spec

AUTH = REPO_ROOT / "fixtures" / "auth-delivery"
AGENCY = REPO_ROOT / "fixtures" / "auth-agency"

LOGIN = {"request": {"method": "POST", "path": "/api/login",
                     "body": {"username": "tester{user}", "password": "pass-{user}"}},
         "token": {"json": "access_token"}}


def auth_config(*, login: dict[str, Any] | None = None, users: int = 5, **extra: Any) -> ServiceConfig:
    """The fixture's service section: migrated by ``service.setup``, logging in with ``login``."""
    return ServiceConfig.model_validate({
        "command": "{python} -m authapp --port {port} --db {data_dir}/notes.db",
        "ready": "http://127.0.0.1:{port}/health", "ready_timeout": 20, "grace_period": 3,
        "setup": [f"{{python}} -m authapp.migrate --db {{data_dir}}/notes.db --seed-users {users}"],
        **({"login": login} if login is not None else {}), **extra})


@contextlib.contextmanager
def auth_service(tmp_path: Path, config: ServiceConfig | None = None) -> Iterator[Service]:
    """The fixture service, migrated and running."""
    with Service(config or auth_config(login=LOGIN), repo=AUTH, log_dir=tmp_path / "service",
                 data_dir=tmp_path / "data") as svc:
        yield svc


def spec_with(service: ServiceConfig) -> Spec:
    """A spec holding ``service`` (what a probe reads of it: the login), not bound to any probe."""
    return Spec.model_validate({"project": {"name": "笔记", "version": "1.0.0", "owners": ["x"]},
                                "service": service.model_dump(by_alias=True), "indicators": []})


def auth_context(probe: type[Probe], tmp_path: Path, service: Service, args: dict[str, Any],
                 *, timeout_s: float = 120) -> ProbeContext:
    """A probe context for ``service`` whose spec declares the service's login (if any)."""
    run_dir = tmp_path / "run"
    evidence = run_dir / probe.name
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=service.repo, run_dir=run_dir, evidence_dir=evidence,
                        args=probe.Args.model_validate(args), spec=spec_with(service.config),
                        timeout_s=timeout_s, service=service)


def copies(tmp_path: Path, *, git: bool = False) -> tuple[Path, Path]:
    """Fresh copies of the delivery and of the agency's directory under ``tmp_path`` (the delivery
    as a git repository with one commit when ``git``)."""
    delivery, agency = tmp_path / "delivery", tmp_path / "agency"
    shutil.copytree(AUTH, delivery, ignore=shutil.ignore_patterns(".venv", "__pycache__", "*.db"))
    shutil.copytree(AGENCY, agency, ignore=shutil.ignore_patterns("__pycache__"))
    if git:
        env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
        for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "delivery"]):
            subprocess.run(argv, cwd=delivery, check=True, env=env, capture_output=True)
    return delivery, agency
