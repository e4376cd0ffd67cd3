"""``verifier origin``: the fixtures' known answers, exit codes, --json fields, bad input."""

from __future__ import annotations

import json

import pytest

from support import write_tree
from support.fixture_expectations import (
    LOW_RATIO_ROOT,
    OWNERS,
    SAMPLE_COMPONENTS,
    SAMPLE_CONFIG_FILES,
    SAMPLE_ORIGINS,
    SAMPLE_RATIO_RANGE,
    SAMPLE_ROOT,
    SAMPLE_TEST_FILES,
)

pytestmark = pytest.mark.slow

FILE_FIELDS = {"path", "language", "lines", "origin", "reason", "evidence", "is_test", "sha256",
               "component", "rule", "kind", "matched_lines"}
TOP_FIELDS = {"ratio", "ratio_without_tests", "threshold", "passed", "counting", "test_rule",
              "totals", "components", "adjudications", "stale_adjudications", "skipped",
              "warnings", "source", "files", "owners", "declared", "detection"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The sample delivery's --json report and the CLI result (one scan for the module)."""
    from click.testing import CliRunner

    from verifier.cli import main

    out = tmp_path_factory.mktemp("sample") / "origin.json"
    result = CliRunner().invoke(main, ["origin", str(SAMPLE_ROOT), "--json", str(out),
                                       "--cache-dir", str(out.parent / "cache")])
    return result, json.loads(out.read_text(encoding="utf-8"))


def test_sample_delivery_every_file_classified_as_expected(sample):
    result, data = sample
    assert result.exit_code == 0, result.output
    files = {f["path"]: f for f in data["files"]}
    for path, expected in SAMPLE_ORIGINS.items():
        got = files[path]
        if path in SAMPLE_CONFIG_FILES and got["kind"] != "source" and got["rule"] == "not-counted":
            assert got["origin"] == "excluded" and got["lines"] == 0, path
            continue
        assert got["origin"] == expected, (path, got["reason"])
    assert all(files[p]["is_test"] for p in SAMPLE_TEST_FILES)
    assert SAMPLE_RATIO_RANGE[0] <= data["ratio"] <= SAMPLE_RATIO_RANGE[1]
    assert data["passed"] is True and data["threshold"] == 0.60
    assert data["owners"] == list(OWNERS)


def test_sample_delivery_json_fields(sample):
    _, data = sample
    assert set(data) >= TOP_FIELDS
    assert all(set(f) >= FILE_FIELDS for f in data["files"])
    assert set(data["totals"]) == {"self", "third_party", "generated", "excluded", "unknown"}
    assert all(set(v) == {"files", "lines"} for v in data["totals"].values())
    assert data["source"]["kind"] in {"directory", "git"}
    counted = sum(data["totals"][c]["lines"] for c in ("self", "third_party", "generated",
                                                          "unknown"))
    assert data["ratio"] == pytest.approx(data["totals"]["self"]["lines"] / counted, abs=1e-6)
    (expected,) = SAMPLE_COMPONENTS
    component = next(c for c in data["components"] if c["path"] == expected["path"])
    assert (component["name"], component["version"], component["license"].lower()) == (
        expected["name"], expected["version"], expected["license"].lower())
    assert expected["holder"] in component["holders"]
    assert component["lines"] == sum(f["lines"] for f in data["files"]
                                     if f["component"] == expected["path"])
    assert all(f["path"] == f["path"].strip("/") and "\\" not in f["path"] for f in data["files"])
    for path in ("inventory_api/retry.py", "web/static/lib/minichart.min.js"):
        assert next(f for f in data["files"] if f["path"] == path)["reason"]


def test_sample_delivery_summary_fits_the_results_model(sample, tmp_path):
    from verifier.origin import analyze, origin_options_from_spec
    from verifier.results import OriginSummary
    from verifier.spec import load_spec

    _, data = sample
    spec = load_spec(SAMPLE_ROOT / "acceptance.yaml", repo=SAMPLE_ROOT)
    report = analyze(SAMPLE_ROOT, **origin_options_from_spec(spec, SAMPLE_ROOT),
                     cache_dir=tmp_path / "cache")
    summary = OriginSummary.model_validate(report.summary(files_path="origin/origin.json"))
    assert summary.ratio == pytest.approx(data["ratio"])
    assert summary.totals == data["totals"]


def test_low_ratio_exits_1(cli, tmp_path):
    result = cli("origin", LOW_RATIO_ROOT, *[a for o in OWNERS for a in ("--owner", o)],
                 "--json", tmp_path / "o.json", "-q")
    assert result.exit_code == 1, result.output
    data = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert data["ratio"] < 0.60 and data["passed"] is False
    assert "FAIL" in result.output


def test_threshold_option_and_json_to_stdout(cli, tmp_path):
    root = write_tree(tmp_path / "repo", {
        "own.py": "# Copyright (c) 2024 Hunan Example Software Co., Ltd.\nA = 1\nB = 2\nC = 3\n",
        "theirs.py": "# Copyright (c) 2010 Acme Inc.\nD = 4\n"})
    result = cli("origin", root, "--owner", "Hunan Example Software Co., Ltd.", "--json", "-",
                 "--min-ratio", "70%", "--no-cache")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ratio"] == pytest.approx(0.75) and data["threshold"] == 0.70
    result = cli("origin", root, "--owner", "Hunan Example Software Co., Ltd.", "--min-ratio",
                 "0.8", "--no-cache")
    assert result.exit_code == 1
    result = cli("origin", root, "--owner", "Hunan Example Software Co., Ltd.",
                 "--third-party", "theirs.py", "--exclude", "own.py", "--no-cache", "--json", "-")
    data = json.loads(result.stdout)
    files = {f["path"]: f for f in data["files"]}
    assert files["own.py"]["origin"] == "excluded" and files["own.py"]["rule"] == "declared"
    assert data["ratio"] == 0.0 and result.exit_code == 1


def test_adjudication_option_overrides_and_lists(cli, tmp_path):
    root = write_tree(tmp_path / "repo", {
        "own.py": "A = 1\n", "theirs.py": "# Copyright (c) 2010 Acme Inc.\nD = 4\nE = 5\n"})
    import hashlib
    digest = hashlib.sha256((root / "theirs.py").read_bytes()).hexdigest()
    adj = tmp_path / "adj.yaml"
    adj.write_text(f"- path: theirs.py\n  sha256: {digest}\n  origin: self\n"
                   "  justification: Acme assigned the copyright to us (contract 2021-7)\n"
                   "  reviewer: 张三\n  date: 2024-05-20\n", encoding="utf-8")
    result = cli("origin", root, "--owner", "Hunan Example Software Co., Ltd.", "--no-cache",
                 "--adjudications", adj, "--json", "-")
    data = json.loads(result.stdout)
    assert result.exit_code == 0 and data["ratio"] == 1.0
    assert [a["file"] for a in data["adjudications"]] == ["theirs.py"]
    (root / "theirs.py").write_text("# Copyright (c) 2010 Acme Inc.\nD = 4\nE = 6\n")
    result = cli("origin", root, "--owner", "Hunan Example Software Co., Ltd.", "--no-cache",
                 "--adjudications", adj, "--json", "-")
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["adjudications"] == []
    assert "content changed" in data["stale_adjudications"][0]["stale"]
    assert any("stale adjudication" in w for w in data["warnings"])


@pytest.mark.parametrize("args,fragment", [
    (["--min-ratio", "1.5"], "--min-ratio"),
    (["--min-ratio", "abc"], "--min-ratio"),
    (["--jobs", "0"], "--jobs"),
    (["--bogus"], "--bogus"),
    (["--exclude", "../outside/**"], "--exclude"),
    (["--spec", "nonexistent.yaml"], "nonexistent.yaml"),
    (["--adjudications", "missing-adj.yaml"], "missing-adj.yaml"),
])
def test_bad_options_are_one_line_exit_2(cli, tmp_path, args, fragment):
    root = write_tree(tmp_path / "repo", {"a.py": "A = 1\n"})
    result = cli("origin", root, *args, "--no-cache")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("verifier: error:") and fragment in lines[0]


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_bad_paths_are_one_line_exit_2(cli, tmp_path, make):
    target = tmp_path / "target"
    if make == "file":
        target.write_text("A = 1\n")
    elif make == "empty":
        target.mkdir()
    result = cli("origin", target, "--no-cache")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("verifier: error:")


def test_help(cli):
    result = cli("origin", "--help")
    assert result.exit_code == 0
    for option in ("--spec", "--owner", "--exclude", "--third-party", "--generated",
                   "--adjudications", "--min-ratio", "--json", "--cache-dir", "--no-cache",
                   "--jobs", "--timeout"):
        assert option in result.output


def test_broken_scancode_is_incomplete_exit_3(tmp_path):
    import os
    import subprocess
    import sys

    root = write_tree(tmp_path / "repo", {
        "a.py": "# Copyright (c) 2015 Acme Inc.\n# SPDX-License-Identifier: MIT\nX = 1\n"})
    in_the_way = tmp_path / "not-a-directory"
    in_the_way.write_text("")
    env = {**os.environ, "SCANCODE_CACHE": str(in_the_way), "NO_COLOR": "1"}
    result = subprocess.run([sys.executable, "-m", "verifier", "origin", str(root), "--no-cache",
                             "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scancode-toolkit is not usable" in lines[0]
