"""Real `verifier run` directories for the bundle tests: small deliveries in git work trees, measured
with the real ``command`` probe and origin scan, so results.json is what the runner writes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from support import write_tree
from verifier.cli import main

OWN_CODE = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.
"""Stock arithmetic."""


def add(stock: int, delta: int) -> int:
    """Stock after a movement."""
    return stock + delta
'''


def indicator(ind_id: str, characteristic: str, figure: int | float, target: str, unit: str = "count",
              floor: str | None = None) -> str:
    """One spec indicator measured by the command probe printing ``figure``."""
    lines = [f"  - id: {ind_id}", f"    name: 指标 {ind_id}", f"    characteristic: {characteristic}",
             "    probe: command", "    with:", f"      command: ['{{python}}', '-c', 'print({figure})']",
             r"      regex: '(\d+(?:\.\d+)?)'", f"      unit: '{unit}'", "    metric: value",
             f"    target: '{target}'"]
    if floor is not None:
        lines.append(f"    floor: '{floor}'")
    return "\n".join(lines)


#: five indicators that all meet their targets
PASSING = [indicator("F1", "functionality", 100, ">= 95", "%"),
           indicator("P1", "performance_efficiency", 120, "<= 500", "ms"),
           indicator("R1", "reliability", 0, "== 0"), indicator("S1", "security", 0, "== 0"),
           indicator("C1", "compatibility", 3, ">= 2")]
#: the audited case: S1 finds 3 issues against == 0, C1 misses too (score 60 < 70: fail)
FAILING = [*PASSING[:3], indicator("S1", "security", 3, "== 0"),
           indicator("C1", "compatibility", 90, ">= 100", "%")]


def spec_text(indicators: list[str], *, materials: bool = False, extra: str = "") -> str:
    """A task book with ``indicators``; ``materials`` declares a dossier of two items."""
    lines = ["project:", "  name: 测试系统", "  version: '1.0.0'", "  applicant: 湖南示例软件有限公司",
             "  owners: [Hunan Example Software Co., Ltd.]", "indicators:", *indicators]
    if materials:
        lines += ["materials:", "  test_report: docs/test-report.pdf",
                  "  user_evaluations: {patterns: ['docs/user-eval-*.pdf'], min: 2}"]
    return "\n".join(lines) + "\n" + extra


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a fixed identity; its stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(repo), *args], check=True,
                          capture_output=True, text=True, env=env, timeout=60)
    return done.stdout.strip()


def git_delivery(root: Path, spec: str, files: dict[str, str] | None = None) -> Path:
    """A committed git repository at ``root`` holding own code, ``acceptance.yaml`` and ``files``."""
    write_tree(root, {"stock/core.py": OWN_CODE, "acceptance.yaml": spec, ".gitignore": ".venv/\n",
                      **(files or {})})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "delivery")
    return root


def real_run(spec_path: Path, out: Path, *args: str) -> tuple[Path, dict]:
    """`verifier run SPEC --out OUT --no-cache` in process; the run directory and its results.json."""
    result = CliRunner().invoke(main, ["run", str(spec_path), "--out", str(out), "--quiet", "--no-cache", *args],
                                catch_exceptions=False)
    assert result.exit_code in (0, 1, 3), result.output
    return out, json.loads((out / "results.json").read_text("utf-8"))
