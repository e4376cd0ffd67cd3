"""Getting the product ready for a run, before its first indicator: the agency's assets hashed into
the run, the runtime set up (or its setup found unchanged), the runtime checked, the system under
test put on record. The runner calls ``prepare_product`` once per run (again when it is resumed).

Run directory::

    assets/…               copies of the agency's own assets ({spec_dir}/…)
    runtime/setup-N.*      stdout/stderr of each runtime.setup step
    system/…               what the product's interpreters said about themselves
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from verifier.placeholders import fill
from verifier.product.assets import collect_assets
from verifier.product.runtime import (
    ProductRuntime,
    RuntimeConfig,
    declared_runtime,
    location_problem,
    resolve_runtime,
)
from verifier.product.setup import input_files, run_steps, setup_key, stamped, write_stamp
from verifier.product.system import describe_system
from verifier.results import AssetRecord, SetupRecord, SystemUnderTest
from verifier.spec.model import Spec


@dataclass(frozen=True)
class PreparedProduct:
    """What ``prepare_product`` found and made."""

    runtime: ProductRuntime | None
    """The runtime, checked; None when the spec declares none."""
    system: SystemUnderTest
    assets: list[AssetRecord]


def prepare_product(spec: Spec, repo: Path, run_dir: Path) -> PreparedProduct:
    """Assets, runtime setup, runtime check, system record. ``SetupFailed`` (a step failed) and
    ``InputError`` (a declared interpreter missing after the setup) stop the run, one line, exit 2."""
    spec_dir = spec.base_dir.resolve()
    assets = [AssetRecord(path=a.path, sha256=a.sha256, size=a.size, copied_to=a.copied_to)
              for a in collect_assets(spec_dir, list(spec.assets), run_dir)]
    runtime = None
    setup: list[SetupRecord] = []
    if spec.runtime is not None:
        setup = set_up_runtime(spec.runtime, repo=repo, spec_dir=spec_dir, run_dir=run_dir)
        runtime = resolve_runtime(spec.runtime, repo=repo, spec_dir=spec_dir,
                                  spec_file=str(spec.path) if spec.path else "")
    system = describe_system(runtime, repo=repo, spec_dir=spec_dir, out_dir=run_dir / "system",
                             run_dir=run_dir, setup=setup)
    return PreparedProduct(runtime=runtime, system=system, assets=assets)


def set_up_runtime(config: RuntimeConfig, *, repo: Path, spec_dir: Path, run_dir: Path) -> list[SetupRecord]:
    """Run ``runtime.setup`` (logs in ``run_dir/runtime``), unless it is cacheable (``venv`` and
    ``setup_inputs`` declared) and the venv holds the stamp of the same setup with the same inputs."""
    if not config.setup:
        return []
    declared = declared_runtime(config, repo=repo, spec_dir=spec_dir)
    values = {"python": sys.executable, "repo": str(repo), "spec_dir": str(spec_dir), **declared.placeholders()}
    env = declared.environment({k: fill(v, values, strict=False) for k, v in config.env.items()})
    venv = Path(declared.venv) if declared.venv is not None else None
    key = None
    inputs: list[str] = []
    if venv is not None and config.setup_inputs is not None:
        inputs = input_files(repo, config.setup_inputs, skip=[venv])
        key = setup_key({"runtime": config.cache_record(), "venv": str(venv)}, repo, inputs)
        if stamped(venv, key) and location_problem("venv", str(venv), repo=repo, spec_dir=spec_dir) is None:
            return [SetupRecord(command=[step.label], cwd=step.cwd, cached=True) for step in config.setup]
    out_dir = run_dir / "runtime"
    runs = run_steps(config.setup, where="runtime.setup", values=values, env=env, repo=repo, out_dir=out_dir,
                     name="setup", timeout_s=config.setup_timeout)
    if key is not None and venv is not None and venv.is_dir():
        write_stamp(venv, key, inputs)
    return [SetupRecord(command=list(run.argv), cwd=_relative(run.cwd, repo), returncode=run.returncode,
                        duration_s=run.duration_s,
                        evidence=[p.relative_to(run_dir).as_posix() for p in (run.stdout, run.stderr)
                                  if p.exists()])
            for run in runs]


def _relative(path: str, repo: Path) -> str:
    absolute = Path(path)
    root = repo.resolve()
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else path
