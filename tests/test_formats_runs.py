"""The standard documents of real runs: the sample delivery (passes) and the weak delivery (fails every
probe: bandit issues, 5xx answers to malformed requests), each rendered through ``verifier report
--format`` and checked with the format's official validator, then read for what it must say."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from support import FIXTURES
from support.format_validators import cyclonedx_json, junit_xml, sarif_json, spdx_document

pytestmark = pytest.mark.slow


def _cli(*args: object):
    from click.testing import CliRunner

    from verifier.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _run(tmp_path_factory, name: str) -> Path:
    """A real `verifier run` of a fixture delivery (once per module: the sample takes about a minute)."""
    out = tmp_path_factory.mktemp(name) / "run"
    result = _cli("run", FIXTURES / name / "acceptance.yaml", "--repo", FIXTURES / name, "--out", out,
                  "--quiet", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory, "sample-delivery")


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory) -> Path:
    return _run(tmp_path_factory, "weak-delivery")


def _report(cli, run: Path, fmt: str, tmp_path: Path) -> bytes:
    out = tmp_path / f"out.{fmt}"
    result = cli("report", run, "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text("utf-8"))


def _origin(run: Path) -> dict:
    return json.loads((run / "origin" / "origin.json").read_text("utf-8"))


def test_spdx_of_the_sample_validates_and_holds_every_file_with_its_origin(sample_run, cli, tmp_path):
    doc = spdx_document(_report(cli, sample_run, "spdx", tmp_path), tmp_path)
    origin = _origin(sample_run)
    assert doc.creation_info.spdx_version == "SPDX-2.3"
    product = next(p for p in doc.packages if p.spdx_id == "SPDXRef-Product")
    assert product.name == "智能仓储调度系统 — 库存服务" and product.version == "1.0.0"
    assert any(r.relationship_type.name == "DESCRIBES" and r.related_spdx_element_id == product.spdx_id
               for r in doc.relationships)
    ratio = _results(sample_run)["origin"]["ratio"]
    assert f"{ratio:.2%}" in product.comment and "Counting rule" in product.comment
    # the vendored component: a package with version, license and purl, containing its files
    mini = next(p for p in doc.packages if p.name == "minischema")
    assert mini.version == "0.4.2" and str(mini.license_declared) == "MIT"
    assert [r.locator for r in mini.external_references] == ["pkg:pypi/minischema@0.4.2"]
    contains = {(r.spdx_element_id, r.related_spdx_element_id) for r in doc.relationships
                if r.relationship_type.name == "CONTAINS"}
    assert (product.spdx_id, mini.spdx_id) in contains
    # every inventoried file, with both checksums and its origin class
    by_name = {f.name: f for f in doc.files}
    assert set(by_name) == {"./" + f["path"] for f in origin["files"]}
    for entry in origin["files"]:
        spdx_file = by_name["./" + entry["path"]]
        sums = {c.algorithm.name: c.value for c in spdx_file.checksums}
        data = (FIXTURES / "sample-delivery" / entry["path"]).read_bytes()
        assert sums == {"SHA1": hashlib.sha1(data).hexdigest(), "SHA256": hashlib.sha256(data).hexdigest()}
        assert spdx_file.comment.startswith(f"verifier origin: {entry['origin']} (rule {entry['rule']})")
        parent = mini.spdx_id if entry["component"] == "vendor/minischema" else product.spdx_id
        assert (parent, spdx_file.spdx_id) in contains
    annotations = {a.spdx_id: a.annotation_comment for a in doc.annotations}
    retry = by_name["./inventory_api/retry.py"]
    assert [str(x) for x in retry.license_info_in_file] == ["Apache-2.0"]
    assert retry.copyright_text == "Copyright 2017 Jane Roe"
    assert "origin=third_party; rule=notice" in annotations[retry.spdx_id]
    assert "origin=generated" in annotations[by_name["./uv.lock"].spdx_id]
    assert str(by_name["./README.md"].license_info_in_file[0]) == "NOASSERTION"  # not looked at
    assert by_name["./inventory_api/server.py"].file_types[0].name == "SOURCE"
    # uv.lock's packages: pytest direct, what it requires DEPENDS_ON from it
    names = {p.spdx_id: p.name for p in doc.packages}
    depends = {(names[r.spdx_element_id], names[r.related_spdx_element_id]) for r in doc.relationships
               if r.relationship_type.name == "DEPENDS_ON"}
    assert depends == {(product.name, "pytest"), ("pytest", "iniconfig"), ("pytest", "packaging"), ("pytest", "pluggy")}
    pytest_ = next(p for p in doc.packages if p.name == "pytest")
    assert [r.locator for r in pytest_.external_references] == ["pkg:pypi/pytest@8.3.4"]
    assert pytest_.comment.startswith("direct pypi dependency declared in uv.lock")
    # protoc output GENERATED_FROM its .proto
    generated = by_name["./inventory_api/proto/inventory_pb2.py"].spdx_id
    proto = by_name["./inventory_api/proto/inventory.proto"].spdx_id
    assert any(r.relationship_type.name == "GENERATED_FROM" and (r.spdx_element_id, r.related_spdx_element_id)
               == (generated, proto) for r in doc.relationships)


def test_cyclonedx_of_the_sample_validates_with_the_ratio_on_the_product(sample_run, cli, tmp_path):
    doc = cyclonedx_json(_report(cli, sample_run, "cyclonedx", tmp_path))
    results = _results(sample_run)
    product = doc["metadata"]["component"]
    props = {p["name"]: p["value"] for p in product["properties"]}
    assert product["type"] == "application" and product["version"] == "1.0.0"
    assert float(props["verifier:origin:ratio"]) == pytest.approx(results["origin"]["ratio"])
    assert props["verifier:origin:counting_rule"] == results["origin"]["counting"]
    assert props["verifier:origin:lines:self"] == str(results["origin"]["totals"]["self"]["lines"])
    assert doc["metadata"]["tools"]["components"][0]["name"] == "verifier"
    mini = next(c for c in doc["components"] if c["name"] == "minischema")
    assert mini["purl"] == "pkg:pypi/minischema@0.4.2" and mini["licenses"] == [{"license": {"id": "MIT"}}]
    assert {c["name"] for c in mini["components"]} >= {"vendor/minischema/minischema/schema.py"}
    # the product depends on the vendored component and on pytest, which its uv.lock declares directly;
    # pytest on what uv.lock says it requires
    by_name = {c["name"]: c for c in doc["components"]}
    graph = {e["ref"]: e.get("dependsOn", []) for e in doc["dependencies"]}
    assert graph["product"] == sorted([mini["bom-ref"], by_name["pytest"]["bom-ref"]])
    assert by_name["pytest"]["purl"] == "pkg:pypi/pytest@8.3.4" and by_name["pytest"]["scope"] == "required"
    assert sorted(by_name[n]["bom-ref"] for n in ("iniconfig", "packaging", "pluggy")) == graph[by_name["pytest"]["bom-ref"]]
    files = {c["name"]: c for c in product["components"]}
    assert all(c["type"] == "file" for c in files.values())
    origin = _origin(sample_run)
    assert set(files) == {f["path"] for f in origin["files"] if f["component"] is None}
    retry = {p["name"]: p["value"] for p in files["inventory_api/retry.py"]["properties"]}
    assert retry["verifier:origin:class"] == "third_party" and retry["verifier:origin:rule"] == "notice"
    assert files["inventory_api/retry.py"]["evidence"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    # the same run renders to the same bytes (what verify relies on)
    assert _report(cli, sample_run, "cyclonedx", tmp_path) == _report(cli, sample_run, "cyclonedx", tmp_path)


def test_sarif_of_the_weak_delivery_has_bandit_radon_and_robustness_runs(weak_run, cli, tmp_path):
    log = sarif_json(_report(cli, weak_run, "sarif", tmp_path))
    results = _results(weak_run)
    runs = {r["tool"]["driver"]["name"]: r for r in log["runs"]}
    assert set(runs) == {"bandit", "radon", "verifier-robustness"}  # pytest's failures have no severity: JUnit
    assert runs["bandit"]["tool"]["driver"]["version"] == results["environment"]["tools"]["bandit"]
    sec = next(i for i in results["indicators"] if i["probe"] == "bandit")
    issues = [f for f in sec["findings"] if f["rule"] != "bandit-error"]
    bandit_results = runs["bandit"]["results"]
    assert sorted(r["ruleId"] for r in bandit_results) == sorted(f["rule"] for f in issues)
    b602 = next(r for r in bandit_results if r["ruleId"] == "B602")
    assert b602["level"] == "error" and b602["properties"]["cwe"] == "CWE-78"
    region = b602["locations"][0]["physicalLocation"]
    assert region["artifactLocation"] == {"uri": "weak_api/admin.py", "uriBaseId": "SRCROOT"}
    assert region["region"]["startLine"] == 23
    rules = runs["bandit"]["tool"]["driver"]["rules"]
    assert rules[b602["ruleIndex"]]["id"] == "B602"
    # robustness: one result per answer that was not a 4xx, against the service, with its evidence
    rob = next(i for i in results["indicators"] if i["probe"] == "robustness")
    got = runs["verifier-robustness"]["results"]
    assert len(got) == len(rob["findings"]) and got
    five = [r for r in got if r["properties"]["outcome"] == "5xx"]
    assert five and all(r["level"] == "error" and r["webResponse"]["statusCode"] >= 500 for r in five)
    for r in got:
        assert r["locations"][0]["logicalLocations"][0]["kind"] == "resource"
        evidence = r["attachments"][0]["artifactLocation"]
        assert evidence["uriBaseId"] == "RUNDIR" and (weak_run / evidence["uri"]).is_file()
    artifact = runs["verifier-robustness"]["artifacts"][0]
    assert artifact["hashes"]["sha-256"] == hashlib.sha256((weak_run / artifact["location"]["uri"]).read_bytes()).hexdigest()
    # radon's worst functions, through the generic path: the function's span, a maintainability rule
    maint = next(i for i in results["indicators"] if i["probe"] == "radon")
    assert runs["radon"]["tool"]["driver"]["version"] == results["environment"]["tools"]["radon"]
    worst = runs["radon"]["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]) for r in worst] == [
        (f["rule"], {"startLine": f["line"], "endLine": f["extra"]["endline"]}) for f in maint["findings"]]
    rules = runs["radon"]["tool"]["driver"]["rules"]
    assert rules[worst[0]["ruleIndex"]]["properties"]["tags"] == ["maintainability"]
    assert worst[0]["level"] == "error" and worst[0]["properties"]["severity"] == "high"
    # radon's reports are its stdout: attached, its empty stderr not
    attached = [a["location"]["uri"] for a in runs["radon"]["artifacts"]]
    assert attached and all((weak_run / uri).stat().st_size > 0 for uri in attached)


def test_junit_of_the_weak_delivery_fails_the_unmet_indicators_and_gates(weak_run, cli, tmp_path):
    xml = junit_xml(_report(cli, weak_run, "junit", tmp_path), tmp_path)
    results = _results(weak_run)
    cases = {case.name: (suite.name, case) for suite in xml for case in suite}
    assert len(cases) == len(results["indicators"]) + len(results["gates"])
    for ind in results["indicators"]:
        suite, case = cases[f"{ind['id']} {ind['name']}"]
        assert suite == ind["characteristic"]
        kinds = [type(r).__name__ for r in case.result]
        if ind["status"] == "met":
            assert case.is_passed
        elif ind["status"] == "not_met":
            assert kinds == ["Failure"] and ind["target"] in case.result[0].message
            assert case.result[0].message.startswith(f"{ind['metric']} = ")
        elif ind["status"] == "error":
            assert kinds == ["Error"]
    version_gate = cases["project.version: Product version is 1.x"][1]
    assert [type(r).__name__ for r in version_gate.result] == ["Failure"] and "0.9.0" in version_gate.result[0].message
    assert xml.failures == sum(i["status"] == "not_met" for i in results["indicators"]) + sum(
        g["passed"] is False for g in results["gates"])


def test_a_bundle_of_the_sample_carries_all_five_and_verify_checks_them(sample_run, cli, tmp_path):
    import zipfile

    assert cli("keygen", "-o", tmp_path / "agency").exit_code == 0
    bundle = tmp_path / "b.zip"
    made = cli("bundle", sample_run, "-o", bundle, "--sign", tmp_path / "agency.key", "--attestation")
    assert made.exit_code == 0, made.output
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        spdx_document(zf.read("run/reports/sbom.spdx.json"), tmp_path)
        cyclonedx_json(zf.read("run/reports/sbom.cdx.json"))
        sarif_json(zf.read("run/reports/findings.sarif"))
        junit_xml(zf.read("run/reports/junit.xml"), tmp_path)
    assert "attestation.intoto.jsonl" in names
    checked = cli("verify", bundle, "--key", tmp_path / "agency.pub")
    assert checked.exit_code == 0, checked.output
    assert "OK   documents: reports/sbom.spdx.json, reports/sbom.cdx.json, reports/findings.sarif, " \
           "reports/junit.xml are byte for byte" in checked.output
    assert "OK   attestation signature: valid DSSE" in checked.output
