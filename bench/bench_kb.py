"""Benchmark the snippet knowledge base: build time and size on a whole Python environment, and the
time line-level matching adds to a cold ``verifier origin``.

1. ``verifier kb build --python-env PREFIX`` over every installed distribution of this environment
   (process pool), timed; KB size against the size of the source it fingerprints (target: build
   <= 5 minutes on 2 cores, index <= 10% of the corpus).
2. A sample delivered tree: ``fixtures/sample-delivery`` copied to a temporary directory, plus
   third-party modules copied from installed packages with their headers stripped (so matching has
   real work to do). ``verifier origin`` runs cold (``--no-cache``, fresh process) on it without
   and with the KB, alternately, ``--rounds`` times each; the medians and their ratio are printed
   (target: matching adds <= 20%). ``--kb`` is used when the origin CLI has it, else the same pass
   runs through ``verifier.origin.analyze(kb=open_matcher(KB))`` in a fresh interpreter.

3. With ``--auto``: the same cold passes without and with ``--kb auto`` (the KB of the sample's
   declared dependencies, fetched from the registries once before the timed passes, in a
   temporary cache directory: a cold origin run does not re-fetch what the cache holds). Target:
   ``origin --kb auto`` adds <= 20%.

    .venv/bin/python bench/bench_kb.py [--jobs N] [--rounds N] [--kb EXISTING_KB] [--auto]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "fixtures" / "sample-delivery"

_ANALYZE = """
import json, sys, time
from pathlib import Path
from verifier.origin import analyze, origin_options_from_spec
from verifier.spec import load_spec
tree, kb = Path(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
options = origin_options_from_spec(load_spec(tree / "acceptance.yaml", repo=tree), tree)
matcher = None
if kb:
    from verifier.kb import open_matcher
    matcher = open_matcher(kb)
report = analyze(tree, no_cache=True, kb=matcher, **options)
summary = report.summary()
print(json.dumps({"ratio": summary.get("ratio"), "seconds": time.perf_counter() - start,
                  "matched_files": sum(1 for f in report.files if f.matched_lines),
                  "matched_lines": sum(f.matched_lines for f in report.files)}))
"""


def _copy_third_party(tree: Path) -> list[str]:
    """Copy a few installed modules into the tree as if they were own code, headers stripped."""
    import click.core
    import jinja2.lexer
    import rich.table

    copied = []
    for module, target in ((rich.table, "inventory_api/tables.py"),
                           (jinja2.lexer, "inventory_api/lexing.py"),
                           (click.core, "inventory_api/commands.py")):
        source = Path(module.__file__).read_text(encoding="utf-8")
        body = ast.parse(source).body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            source = "\n".join(source.splitlines()[body[0].end_lineno:]) + "\n"
        (tree / target).write_text(source.replace("    ", "  "), encoding="utf-8")
        copied.append(target)
    return copied


def _origin_has_kb() -> bool:
    out = subprocess.run([sys.executable, "-m", "verifier", "origin", "--help"],
                         capture_output=True, text=True, timeout=120, cwd=REPO).stdout
    return "--kb" in out


def _origin_pass(tree: Path, kb: Path | str | None, cli: bool, env: dict | None = None) -> float:
    start = time.perf_counter()
    if cli:
        argv = [sys.executable, "-m", "verifier", "origin", str(tree), "--no-cache", "-q"]
        if kb:
            argv += ["--kb", str(kb)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=1800, cwd=REPO,
                                env=env)
        if result.returncode not in (0, 1):
            raise SystemExit(f"verifier origin failed ({result.returncode}): {result.stderr[-2000:]}")
    else:
        result = subprocess.run([sys.executable, "-c", _ANALYZE, str(tree), str(kb or "")],
                                capture_output=True, text=True, timeout=1800, cwd=REPO)
        if result.returncode:
            raise SystemExit(f"origin pass failed: {result.stderr[-2000:]}")
        _origin_pass.last = json.loads(result.stdout.strip().splitlines()[-1])
    return time.perf_counter() - start


def main() -> None:
    """Build the KB, time origin with and without matching, print the figures."""
    from verifier.kb import KnowledgeBase, build_kb, match_paths

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kb", type=Path, help="reuse this KB instead of building one")
    parser.add_argument("--auto", action="store_true",
                        help="also time origin --kb auto (fetches the sample's dependencies)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-kb-") as work:
        work_dir = Path(work)
        if args.kb:
            kb_path = args.kb
            print(f"knowledge base: reusing {kb_path}")
        else:
            kb_path = work_dir / "site-packages.kb"
            start = time.perf_counter()
            report = build_kb(kb_path, python_envs=[sys.prefix], jobs=args.jobs)
            build_s = time.perf_counter() - start
            print(f"kb build --python-env {sys.prefix} --jobs {args.jobs}: {build_s:.1f} s "
                  f"(target <= 300 s on 2 cores: {'met' if build_s <= 300 else 'NOT met'})")
            print(f"  {report.components_added} distributions, {report.files_indexed} files "
                  f"indexed, {report.files_skipped} skipped")
        with KnowledgeBase.open(kb_path) as kb:
            info = kb.info()
        print(f"  corpus {info['corpus_bytes'] / 2**20:.1f} MiB of source, KB "
              f"{info['kb_bytes'] / 2**20:.2f} MiB = {info['kb_ratio'] * 100:.2f}% of the corpus "
              f"(target <= 10%); {info['fingerprints']} fingerprints over {info['lines']} lines")

        tree = work_dir / "delivery"
        shutil.copytree(SAMPLE, tree, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        copied = _copy_third_party(tree)
        paths = sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*.py"))
        start = time.perf_counter()
        found = match_paths(kb_path, tree, paths)
        match_s = time.perf_counter() - start
        print(f"sample tree: {SAMPLE.name} + {len(copied)} copied modules ({', '.join(copied)}); "
              f"matching its {len(paths)} Python files alone: {match_s:.2f} s, "
              f"{sum(f.matched_lines for f in found.values())} lines matched in {len(found)} files")

        cli = _origin_has_kb()
        how = "verifier origin --no-cache [--kb]" if cli else \
            "verifier.origin.analyze(no_cache=True[, kb=open_matcher(KB)]) in a fresh process"
        plain, matched = [], []
        for _ in range(args.rounds):
            plain.append(_origin_pass(tree, None, cli))
            without = getattr(_origin_pass, "last", None)
            matched.append(_origin_pass(tree, kb_path, cli))
            with_kb = getattr(_origin_pass, "last", None)
        base, with_m = statistics.median(plain), statistics.median(matched)
        extra = (with_m - base) / base * 100
        print(f"cold origin ({how}), median of {args.rounds}: without KB {base:.1f} s, with KB "
              f"{with_m:.1f} s -> matching adds {extra:+.1f}% "
              f"(target <= 20%: {'met' if extra <= 20 else 'NOT met'})")
        print(f"  runs without: {', '.join(f'{t:.1f}' for t in plain)} s; with: "
              f"{', '.join(f'{t:.1f}' for t in matched)} s")
        if args.auto and cli:
            _auto(tree, work_dir, args.rounds)
        if not cli and without and with_kb:
            print(f"  ratio without KB {without['ratio']:.3f}, with KB {with_kb['ratio']:.3f} "
                  f"({with_kb['matched_lines']} lines in {with_kb['matched_files']} files matched)")


def _auto(tree: Path, work_dir: Path, rounds: int) -> None:
    """Cold origin passes without and with ``--kb auto`` (its KB built once first)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(work_dir / "cache")}
    env.pop("VERIFIER_KB_AUTO", None)
    start = time.perf_counter()
    _origin_pass(tree, "auto", True, env)
    kbs = sorted((work_dir / "cache" / "verifier" / "kb").glob("deps-*.kb"))
    print(f"auto KB of {tree.name}'s declared dependencies built in "
          f"{time.perf_counter() - start:.1f} s (first run, fetching): "
          f"{', '.join(p.name for p in kbs) or 'none'}")
    if kbs:
        from verifier.kb import KnowledgeBase

        with KnowledgeBase.open(kbs[0]) as kb:
            names = [f"{c['name']} {c['version']}" for c in kb.info()["component_list"]]
        print(f"  holds {', '.join(names)}")
    plain, auto = [], []
    for _ in range(rounds):
        plain.append(_origin_pass(tree, None, True, env))
        auto.append(_origin_pass(tree, "auto", True, env))
    base, with_auto = statistics.median(plain), statistics.median(auto)
    extra = (with_auto - base) / base * 100
    print(f"cold origin, median of {rounds}: without KB {base:.1f} s, with --kb auto "
          f"{with_auto:.1f} s -> {extra:+.1f}% (target <= 20%: "
          f"{'met' if extra <= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
