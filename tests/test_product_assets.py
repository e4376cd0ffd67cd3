"""The agency's own test assets (issue 13): ``{spec_dir}/PATH`` anywhere in a task book names a file
beside it; each must stay below the task book's directory and exist, and a run hashes and copies
every one of them (every file below a directory) into its own directory."""

from __future__ import annotations

import hashlib

from verifier.product.assets import asset_problem, asset_references, collect_assets


def test_references_are_found_anywhere_in_the_spec():
    data = {"service": {"command": "{runtime.python} {spec_dir}/tools/serve.py --port {port}"},
            "indicators": [{"with": {"locustfile": "{spec_dir}/locustfile.py"}},
                           {"with": {"command": ["sh", "-c", "cat '{spec_dir}/data/seed.json'; true"]}},
                           {"with": {"command": "{spec_dir}/x.py, and prose"}}]}
    assert list(asset_references(data)) == [
        (("service", "command"), "tools/serve.py"),
        (("indicators", 0, "with", "locustfile"), "locustfile.py"),
        (("indicators", 1, "with", "command", 2), "data/seed.json"),
        (("indicators", 2, "with", "command"), "x.py")]


def test_an_asset_must_exist_below_the_task_books_directory(tmp_path):
    agency = tmp_path / "agency"
    (agency / "data").mkdir(parents=True)
    (agency / "locustfile.py").write_text("# load\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    (agency / "out").symlink_to(tmp_path / "secret.txt")
    assert asset_problem(agency, "locustfile.py") is None and asset_problem(agency, "data") is None
    assert "does not exist beside the task book" in asset_problem(agency, "missing.py")
    assert "escapes the task book's directory" in asset_problem(agency, "../secret.txt")
    assert "leads out of the task book's directory" in asset_problem(agency, "out")


def test_a_run_hashes_and_copies_every_asset(tmp_path):
    agency, run = tmp_path / "agency", tmp_path / "run"
    (agency / "data" / "sub").mkdir(parents=True)
    (agency / "locustfile.py").write_text("# load\n")
    (agency / "data" / "a.json").write_text("[1]\n")
    (agency / "data" / "sub" / "b.csv").write_text("x\n")
    (agency / "data" / "link.json").symlink_to(agency / "data" / "a.json")  # links are not followed
    assets = collect_assets(agency, ["locustfile.py", "data"], run)
    assert [(a.path, a.copied_to) for a in assets] == [
        ("data/a.json", "assets/data/a.json"), ("data/sub/b.csv", "assets/data/sub/b.csv"),
        ("locustfile.py", "assets/locustfile.py")]
    for asset in assets:
        assert asset.sha256 == hashlib.sha256((agency / asset.path).read_bytes()).hexdigest()
        assert (run / asset.copied_to).read_bytes() == (agency / asset.path).read_bytes()
