"""The system under test on record (issue 13): the machine, the product's runtime versions and its
installed packages with their licenses, asked of the product's own interpreter."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import version
from pathlib import Path

from verifier.product.runtime import ProductRuntime
from verifier.product.system import describe_system, machine_facts, shown_path


def test_the_packages_are_asked_of_the_products_interpreter(tmp_path):
    # verifier's own interpreter stands in for a product's here: its packages are known to the test.
    run_dir = tmp_path / "run"
    sut = describe_system(ProductRuntime(python=sys.executable), repo=tmp_path, spec_dir=tmp_path,
                          out_dir=run_dir / "system", run_dir=run_dir)
    assert [(r.name, r.version) for r in sut.runtimes] == [("python", platform.python_version())]
    assert sut.runtimes[0].detail.startswith(platform.python_implementation())
    packages = {p.name.lower(): p for p in sut.packages}
    assert packages["pytest"].version == version("pytest") and packages["pytest"].license == "MIT"
    assert packages["pydantic"].version == version("pydantic") and packages["pydantic"].license
    assert sut.packages_from == sys.executable and sut.notes == []
    assert sut.evidence == ["system/python.stdout.txt"] and (run_dir / sut.evidence[0]).is_file()


def test_an_interpreter_that_cannot_answer_leaves_a_note_not_an_error(tmp_path):
    run_dir = tmp_path / "run"
    sut = describe_system(ProductRuntime(node=str(tmp_path / "no-node"), java=str(tmp_path / "no-java")),
                          repo=tmp_path, spec_dir=tmp_path, out_dir=run_dir / "system", run_dir=run_dir)
    assert [(r.name, r.path, r.version) for r in sut.runtimes] == [("node", "no-node", None), ("java", "no-java", None)]
    assert [n.split(":")[0] for n in sut.notes] == ["node", "java"] and sut.packages == []


def test_no_runtime_still_records_the_machine(tmp_path):
    sut = describe_system(None, repo=tmp_path, spec_dir=tmp_path, out_dir=tmp_path / "s", run_dir=tmp_path)
    facts = machine_facts()
    assert (sut.os, sut.cpu_count, sut.memory_mb) == (facts.os, os.cpu_count(), facts.memory_mb)
    assert sut.runtimes == [] and sut.packages_from is None
    assert sut.memory_mb and sut.memory_mb > 100


def test_paths_are_shown_where_they_are(tmp_path):
    repo, agency = tmp_path / "repo", tmp_path / "agency"
    assert shown_path(str(repo / ".venv/bin/python"), repo=repo, spec_dir=agency) == ".venv/bin/python"
    assert shown_path(str(agency / "bin/node"), repo=repo, spec_dir=agency) == "{spec_dir}/bin/node"
    assert shown_path("/usr/bin/java", repo=repo, spec_dir=agency) == str(Path("/usr/bin/java"))


def test_other_stacks_report_their_versions(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, script in (("node", "echo v20.11.1"),
                         ("java", 'echo \'openjdk version "17.0.2" 2022-01-18\' >&2')):
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o755)
    sut = describe_system(ProductRuntime(node=str(bin_dir / "node"), java=str(bin_dir / "java")), repo=tmp_path,
                          spec_dir=tmp_path, out_dir=tmp_path / "run" / "system", run_dir=tmp_path / "run")
    assert [(r.name, r.path, r.version) for r in sut.runtimes] == [("node", "bin/node", "v20.11.1"),
                                                                   ("java", "bin/java", "17.0.2")]


def test_the_report_shows_the_system_under_test_and_the_assets(tmp_path):
    from support.report_sample import build_sample_run
    from verifier.report import load_run, render_html, render_markdown, run_files
    from verifier.results import AssetRecord, PackageRecord, RuntimeRecord, SetupRecord, SystemUnderTest

    run = build_sample_run(tmp_path / "sample")
    sut = SystemUnderTest(os="Debian GNU/Linux 12 (bookworm) (Linux 6.1)", machine="x86_64", cpu="AMD EPYC",
                          cpu_count=2, memory_mb=25277,
                          runtimes=[RuntimeRecord(name="python", path=".venv/bin/python", version="3.11.7")],
                          packages=[PackageRecord(name="<script>evil</script>", version="1.0", license="MIT")],
                          packages_from=".venv/bin/python",
                          setup=[SetupRecord(command=["python3", "-m", "venv", ".venv"], cwd=".", returncode=0,
                                             duration_s=1.5)])
    result = load_run(run).model_copy(update={"system_under_test": sut, "assets": [
        AssetRecord(path="locustfile.py", sha256="ef" * 32, size=1508, copied_to="assets/locustfile.py")]})
    files = run_files(run)
    md = render_markdown(result, files, "en")
    assert "**System under test**" in md and "| Memory (MB) | 25,277 |" in md
    assert "| python | 3.11.7 | .venv/bin/python |" in md and "python3 -m venv .venv" in md
    assert "\\{spec_dir\\}/locustfile.py" in md and "ef" * 32 in md
    html = render_html(result, files, "zh")
    assert "被测系统" in html and "已安装的依赖包（.venv/bin/python）" in html
    assert "<script>evil" not in html and "&lt;script&gt;evil&lt;/script&gt;" in html
