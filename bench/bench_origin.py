"""Benchmark ``verifier origin`` against a plain full scancode scan of the same tree, in one run.

1. builds a tree (or copies PATH): own code under the owner's notices in several spellings, own
   code without notices, generated and minified files, real third-party packages copied from this
   environment's site-packages at run time (as vendored components with their LICENSE, and as
   loose files keeping their own notices) — nothing third-party is stored in this repository;
2. runs plain ``scancode -clpi --generated -n JOBS --json`` on it;
3. runs ``verifier origin`` cold (empty cache), then warm after one own file changed;
4. prints wall times, speed-ups, the ratios, peak memory (PSS and RSS summed over the process
   tree, sampled) and compares the third-party file sets: the full scan's findings are put through
   the same classification rules as ours (verifier.origin.classify), so a difference means our
   head-only, prefiltered detection missed or added something.

    .venv/bin/python bench/bench_origin.py [PATH] [--kloc 80] [--jobs 2] [--skip-plain]
        [--keep DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

OWNERS = ("湖南示例软件有限公司", "Hunan Example Software Co., Ltd.")
OWN_HEADERS = (
    "# Copyright (c) {y} Hunan Example Software Co., Ltd. All rights reserved.\n",
    "# (C) 2019-{y} HUNAN EXAMPLE SOFTWARE CO LTD\n",
    "# 版权所有 (C) {y} 湖南示例软件有限公司 保留所有权利。\n",
    "# Copyright {y} Hunan Example Software Co. Ltd and contributors\n"
    "# Licensed under the company's proprietary license; see LICENSE.\n",
    "",  # no notice at all
    "",
)
#: Distributions copied as vendored components (directory with LICENSE) and as loose files.
VENDORED = ("click", "jinja2", "rich", "yaml", "werkzeug", "flask", "requests", "urllib3",
            "attr", "psutil", "locust", "pydantic", "idna", "charset_normalizer", "gevent")
LOOSE = ("pygments",)  # files keep their ":copyright: ... :license:" docstrings


def _own_module(rng: random.Random, index: int, target_lines: int) -> str:
    out = [rng.choice(OWN_HEADERS).format(y=2020 + index % 6),
           f'"""Inventory module {index}: stock rules and reports."""\n\n',
           "import math\nimport os\n\n\n"]
    n = 0
    while n < target_lines:
        name = f"rule_{index}_{n}"
        out.append(f"def {name}(items, limit={rng.randint(1, 99)}):\n"
                   f'    """Apply {name} to the items."""\n'
                   "    total = 0\n"
                   "    for item in items:\n"
                   f"        if item.quantity > limit * {rng.randint(2, 9)}:\n"
                   "            total += math.ceil(item.quantity / limit)\n"
                   "        else:\n"
                   f"            total -= {rng.randint(1, 5)}  # keep a reserve\n"
                   "    return max(total, 0)\n\n\n")
        n += 9
    return "".join(out)


def _dist_license(package: str) -> Path | None:
    from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
    for dist_name in packages_distributions().get(package, []):
        try:
            dist = distribution(dist_name)
        except PackageNotFoundError:
            continue
        for file in dist.files or ():
            name = file.name.upper()
            if name.startswith(("LICENSE", "LICENCE", "COPYING")):
                path = Path(dist.locate_file(file))
                if path.is_file():
                    return path
    return None


def build_tree(root: Path, kloc: int, seed: int = 7) -> dict[str, int]:
    """Write a mixed tree of about ``kloc`` thousand lines; return counts by part."""
    rng = random.Random(seed)
    counts = {"own_files": 0, "vendored_files": 0, "loose_files": 0, "generated": 0, "minified": 0}
    budget = kloc * 1000
    copied = 0
    # ~25% vendored components (each package capped, so there are several), ~10% loose files
    # that keep their own notices (pygments' ":copyright: ... :license: BSD" docstrings)
    for packages, share, loose in ((VENDORED, 0.25, False), (LOOSE, 0.10, True)):
        part_budget = budget * share
        cap = part_budget / max(1, len(packages)) * (1 if loose else 2)
        used = 0.0
        for package in packages:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations or used >= part_budget:
                continue
            src = Path(list(spec.submodule_search_locations)[0])
            dest = root / ("app/compat" if loose else "third_party") / package
            taken = 0
            for py in sorted(src.rglob("*.py")):
                if "__pycache__" in py.parts or taken >= cap or used >= part_budget:
                    continue
                text = py.read_text("utf-8", errors="replace")
                if loose and ":copyright:" not in text[:2000]:
                    continue
                target = dest / py.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
                n = text.count("\n")
                taken += n
                used += n
                counts["loose_files" if loose else "vendored_files"] += 1
            license_file = _dist_license(package)
            if license_file is not None and not loose and dest.exists():
                shutil.copy(license_file, dest / "LICENSE")
        copied += int(used)
    own = 0
    index = 0
    while copied + own < budget:
        size = rng.choice((20, 40, 60, 90, 120, 180, 300))
        text = _own_module(rng, index, size)
        path = root / "app" / f"pkg{index % 40}" / f"module_{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        own += text.count("\n")
        index += 1
        counts["own_files"] += 1
    for i in range(max(2, kloc // 10)):
        (root / "app" / "proto").mkdir(parents=True, exist_ok=True)
        (root / "app" / "proto" / f"msg{i}_pb2.py").write_text(
            "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n"
            + "".join(f"FIELD_{j} = {j}\n" for j in range(100)), encoding="utf-8")
        counts["generated"] += 1
    (root / "web").mkdir(exist_ok=True)
    for i in range(max(1, kloc // 40)):
        (root / "web" / f"lib{i}.min.js").write_text(
            "/*! lib v1 (c) 2018 Sato Kenji | MIT */\n" + "var a=" + "1+" * 3000 + "1;\n",
            encoding="utf-8")
        counts["minified"] += 1
    (root / "LICENSE").write_text("Copyright (c) 2024 Hunan Example Software Co., Ltd.\n"
                                  "All rights reserved. Proprietary software.\n", encoding="utf-8")
    counts["approx_lines"] = copied + own
    return counts


class _Peak:
    """Samples PSS and RSS summed over a process and its children until stopped."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.root = psutil.Process(proc.pid)
        self.pss = self.rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            pss = rss = 0
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for p in procs:
                try:
                    info = p.memory_full_info()
                    pss += getattr(info, "pss", info.rss)
                    rss += info.rss
                except psutil.Error:
                    pass
            self.pss, self.rss = max(self.pss, pss), max(self.rss, rss)
            self._stop.wait(0.25)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)


def _timed(argv: list[str], log: Path) -> tuple[float, int, int, int]:
    """Run argv; (seconds, exit code, peak PSS bytes, peak RSS bytes)."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        peak = _Peak(proc)
        try:
            code = proc.wait(timeout=6 * 3600)
        finally:
            peak.stop()
    return time.perf_counter() - start, code, peak.pss, peak.rss


def _full_scan_third_party(tree: Path, scan: dict, ours: dict) -> tuple[set[str], float | None]:
    """Put the full scan's findings through our classification rules."""
    from verifier.origin.classify import Declared, classify
    from verifier.origin.components import find_components, owner_licenses
    from verifier.origin.detect import FileDetection, trim_spill
    from verifier.origin.model import InventoryEntry
    from verifier.origin.owners import OwnerMatcher
    from verifier.origin.result import ratio_of, totals_of

    entries = [InventoryEntry(path=f["path"], size=0, sha256=f["sha256"], kind=f["kind"],
                              language=f["language"], lines=f["lines"], is_test=f["is_test"],
                              problem=f.get("problem"),
                              max_line_length=_max_line(tree / f["path"]) if f["kind"] == "source"
                              else 0)
               for f in ours["files"]]
    detections = {}
    for item in scan["files"]:
        if item.get("type") != "file":
            continue
        path = item["path"].split("/", 1)[1] if "/" in item["path"] else item["path"]
        lines = None
        holders = []
        for h in item.get("holders", []):
            text, spill = h["holder"], None
            if h["end_line"] > h["start_line"]:
                if lines is None:
                    lines = (tree / path).read_text("utf-8", errors="replace").splitlines()
                text, spill = trim_spill(text, h["start_line"], h["end_line"], lines)
            holders.append({"text": text, "start_line": h["start_line"],
                            "end_line": h["end_line"], "spill": spill})
        licenses = [{"spdx": m.get("license_expression_spdx") or m.get("license_expression", ""),
                     "expression": m.get("license_expression", ""),
                     "start_line": m.get("start_line", 0), "end_line": m.get("end_line", 0)}
                    for d in item.get("license_detections", []) for m in d.get("matches", [])]
        packages = [{"type": p.get("type"), "name": p.get("name"), "version": p.get("version"),
                     "license": p.get("declared_license_expression_spdx"),
                     "expression": p.get("declared_license_expression"),
                     "parties": [x["name"] for x in p.get("parties", []) if x.get("name")],
                     "holder": p.get("holder")} for p in item.get("package_data", [])]
        data = (tree / path).read_bytes() if (tree / path).is_file() else b""
        nonblank = [x for x in data.split(b"\n") if x.strip()]
        detections[path] = FileDetection.from_json({
            "role": "source", "scope": "whole", "holders": holders, "licenses": licenses,
            "packages": packages,
            "generated": {"text": "scancode is_generated", "start_line": 1, "end_line": 1}
            if item.get("is_generated") else None,
            "mean_line_length": sum(map(len, nonblank)) / len(nonblank) if nonblank else 0.0})
    matcher = OwnerMatcher(OWNERS)
    own = owner_licenses(entries, detections, matcher)
    components = find_components(entries, detections, matcher, own)
    files = classify(entries, detections, declared=Declared(), components=components,
                     matcher=matcher, own_licenses=own)
    return ({f.path for f in files if f.origin == "third_party" and f.counted},
            ratio_of(totals_of(files)))


def _max_line(path: Path) -> int:
    try:
        return max((len(x) for x in path.read_text("utf-8", errors="replace").splitlines()),
                   default=0)
    except OSError:
        return 0


def main() -> None:
    """Build or copy the tree, run both tools, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="Tree to scan (copied); default: build one.")
    parser.add_argument("--kloc", type=int, default=80, help="Size of the built tree (kLOC).")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-plain", action="store_true",
                        help="Only run verifier origin (e.g. for the memory figure on 1 MLOC).")
    parser.add_argument("--keep", type=Path, help="Work in DIR and keep it.")
    parser.add_argument("--json", type=Path, help="Write the figures as JSON here.")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-origin-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        tree = work / "tree"
        if tree.exists():
            shutil.rmtree(tree)
        if args.path:
            shutil.copytree(args.path, tree, symlinks=True)
            counts = {}
        else:
            counts = build_tree(tree, args.kloc)
        n_files = sum(1 for p in tree.rglob("*") if p.is_file())
        print(f"tree: {tree} ({n_files} files) {counts}", flush=True)
        figures: dict = {"files": n_files, "tree": counts, "jobs": args.jobs}

        if not args.skip_plain:
            scan_json = work / "scancode.json"
            plain_s, code, pss, rss = _timed(
                [str(bin_dir / "scancode"), "-clpi", "--generated", "-n", str(args.jobs),
                 "--json", str(scan_json), "--quiet", str(tree)], work / "scancode.log")
            print(f"plain scancode -clpi --generated -n {args.jobs}: {plain_s:.1f} s "
                  f"(exit {code}), peak PSS {pss / 2**20:.0f} MB, RSS {rss / 2**20:.0f} MB",
                  flush=True)
            figures["plain"] = {"seconds": plain_s, "exit": code, "peak_pss_mb": pss / 2**20,
                                "peak_rss_mb": rss / 2**20}

        cache = work / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        owners = [a for o in OWNERS for a in ("--owner", o)]

        def ours(name: str) -> tuple[float, dict]:
            """Run verifier origin once; its seconds and JSON report."""
            out = work / f"{name}.json"
            seconds, code, pss, rss = _timed(
                [str(bin_dir / "verifier"), "origin", str(tree), *owners, "--no-spec",
                 "--cache-dir", str(cache), "--jobs", str(args.jobs), "--json", str(out), "-q"],
                work / f"{name}.log")
            data = json.loads(out.read_text(encoding="utf-8"))
            figures[name] = {"seconds": seconds, "exit": code, "peak_pss_mb": pss / 2**20,
                             "peak_rss_mb": rss / 2**20, "ratio": data["ratio"],
                             "detection": data["detection"]}
            print(f"verifier origin {name}: {seconds:.1f} s (exit {code}), ratio "
                  f"{data['ratio']:.4f}, peak PSS {pss / 2**20:.0f} MB, RSS {rss / 2**20:.0f} MB, "
                  f"scancode files {data['detection']['scancode_files']}, "
                  f"cache hits {data['detection']['cache_hits']}", flush=True)
            return seconds, data

        cold_s, cold = ours("cold")
        own = sorted((tree / "app").rglob("module_*.py"))
        changed = own[len(own) // 2] if own else max(tree.rglob("*.py"), key=lambda p: p.stat().st_size)
        changed.write_text(changed.read_text(encoding="utf-8") + "\nEXTRA = 1\n",
                           encoding="utf-8")
        print(f"changed: {changed.relative_to(tree)}", flush=True)
        warm_s, warm = ours("warm_one_changed")

        if not args.skip_plain:
            scan = json.loads(scan_json.read_text(encoding="utf-8"))
            full_tp, full_ratio = _full_scan_third_party(tree, scan, cold)
            ours_tp = {f["path"] for f in cold["files"]
                       if f["origin"] == "third_party" and f["kind"] == "source"}
            missed, extra = sorted(full_tp - ours_tp), sorted(ours_tp - full_tp)
            figures["compare"] = {"full_third_party": len(full_tp), "ours": len(ours_tp),
                                  "missed": missed, "extra": extra, "full_ratio": full_ratio}
            print(f"third-party files: full scan {len(full_tp)}, verifier {len(ours_tp)}, "
                  f"missed {len(missed)} {missed[:5]}, extra {len(extra)} {extra[:5]}")
            print(f"ratio: full-scan findings {full_ratio:.4f}, verifier {cold['ratio']:.4f}")
            print(f"speed-up cold: {plain_s / cold_s:.1f}x (target >= 5x); warm after one "
                  f"change: {plain_s / warm_s:.1f}x (target >= 50x)")
            figures["speedup_cold"] = plain_s / cold_s
            figures["speedup_warm"] = plain_s / warm_s
        print(f"peak memory verifier cold: PSS {figures['cold']['peak_pss_mb']:.0f} MB "
              f"(target <= 2048 MB on 1 MLOC)")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
