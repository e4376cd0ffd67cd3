"""The delivery's declared dependencies and CDN assets in both SBOMs.

A delivery written here declares Python packages (requirements.txt, pinned and a range) and npm
packages (package.json and a package-lock.json 3 with a nested copy, a scoped name, a package no
lock entry requires, and a name holding quotes, '<', '&' and control characters), and its template
loads three CDN assets (one URL with '<', '&' and a control character). Each SBOM must validate with
its official validator and hold every dependency with its purl and its relationship: DEPENDS_ON from
the product for a direct one, from the locked package that requires it for a transitive one, from
the product with a comment for one no lock entry places. The fast tests render from the real
manifest readers' output; the slow one from a real ``verifier run`` through ``verifier report``,
then a bundle that ``verify`` re-renders."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from support.format_validators import cyclonedx_json, spdx_document
from verifier import formats
from verifier.kb.deps import cdn_assets, declared_dependencies
from verifier.results import Project

OWNER = "Hunan Example Software Co., Ltd."
EVIL = 'ev"il<&\x1b[31m\x01'
EVIL_SHOWN = 'ev"il<&\\x1b[31m\\x01'  # as every document prints it
EVIL_URL = "https://unpkg.com/ev<il&@1.0.0/x.js?a=1&b=<\x01"

PACKAGE_JSON = {"name": "web", "version": "1.0.0",
                "dependencies": {"express": "4.18.2", "@Scope/pkg": "2.0.0", "left-pad": "1.3.0", EVIL: "1.0.0"}}
PACKAGE_LOCK = {"name": "web", "lockfileVersion": 3, "packages": {
    "": {"name": "web", "dependencies": PACKAGE_JSON["dependencies"]},
    "node_modules/express": {"version": "4.18.2", "license": "MIT", "dependencies": {"debug": "2.6.9"}},
    "node_modules/express/node_modules/debug": {"version": "2.6.9", "license": "MIT"},
    "node_modules/@Scope/pkg": {"version": "2.0.0", "license": "ISC", "dependencies": {"debug": "^4"}},
    "node_modules/debug": {"version": "4.3.4", "license": "MIT"},
    "node_modules/left-pad": {"version": "1.3.0", "license": "WTFPL", "dependencies": {"tiny": "^1"}},
    f"node_modules/{EVIL}": {"version": "1.0.0", "license": "Apache-2.0 <&", "dependencies": {"tiny": "^1"}},
    "node_modules/tiny": {"version": "1.0.1", "license": "MIT"},
    "node_modules/orphan": {"version": "0.1.0", "license": 'Custom <&" License'}}}
TEMPLATE = ('<html><head>\n<script src="https://cdn.jsdelivr.net/npm/vue@3.4.21/dist/vue.global.js"></script>\n'
            '<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.5.1/css/all.min.css">\n'
            f'<script src="{EVIL_URL}"></script>\n</head></html>\n')

#: (ecosystem, name, version) -> purl as the purl specification writes it, percent-decoded
PURLS = {
    ("pypi", "Django", "4.2.11"): "pkg:pypi/django@4.2.11",
    ("pypi", "PyYAML", "6.0.1"): "pkg:pypi/pyyaml@6.0.1",
    ("pypi", "requests", None): "pkg:pypi/requests",
    ("npm", "express", "4.18.2"): "pkg:npm/express@4.18.2",
    ("npm", "debug", "2.6.9"): "pkg:npm/debug@2.6.9",
    ("npm", "debug", "4.3.4"): "pkg:npm/debug@4.3.4",
    ("npm", "@Scope/pkg", "2.0.0"): "pkg:npm/@scope/pkg@2.0.0",
    ("npm", "left-pad", "1.3.0"): "pkg:npm/left-pad@1.3.0",
    ("npm", "tiny", "1.0.1"): "pkg:npm/tiny@1.0.1",
    ("npm", "orphan", "0.1.0"): "pkg:npm/orphan@0.1.0",
    ("npm", EVIL, "1.0.0"): f"pkg:npm/{EVIL.lower()}@1.0.0",
}
#: what requires what (the product: "")
EDGES = {("", "Django"), ("", "PyYAML"), ("", "requests"), ("", "express"), ("", "@Scope/pkg"), ("", "left-pad"),
         ("", EVIL_SHOWN), ("", "orphan"), ("express", "debug 2.6.9"), ("@Scope/pkg", "debug 4.3.4"),
         ("left-pad", "tiny"), (EVIL_SHOWN, "tiny"), ("", "vue"), ("", "font-awesome"), ("", "ev<il&")}


def write_delivery(repo: Path) -> Path:
    """The delivery: a little own code, its manifests and lock file, a template loading CDN assets."""
    (repo / "app").mkdir(parents=True)
    (repo / "web" / "templates").mkdir(parents=True)
    (repo / "app" / "main.py").write_text(f"# Copyright (c) 2026 {OWNER}\n" + "".join(f"v{i} = {i}\n" for i in range(30)))
    (repo / "requirements.txt").write_text("Django==4.2.11\nrequests>=2.31\nPyYAML==6.0.1\n")
    (repo / "web" / "package.json").write_text(json.dumps(PACKAGE_JSON))
    (repo / "web" / "package-lock.json").write_text(json.dumps(PACKAGE_LOCK))
    (repo / "web" / "templates" / "index.html").write_text(TEMPLATE)
    return repo


def _analysis(repo: Path) -> dict:
    """What the origin analysis lists of ``repo`` beyond its files (the real manifest and template readers)."""
    deps, warnings = declared_dependencies(repo)
    assert not warnings, warnings
    return {"files": [], "dependencies": [d.to_json() for d in deps],
            "cdn_assets": [a.to_json() for a in cdn_assets(repo)]}


def _label(name: str, version: str | None) -> str:
    """A package as EDGES names it: the name, and the version where the name is not unique."""
    return f"{name} {version}" if name == "debug" else name


def _no_raw_controls(data: bytes) -> None:
    data.decode("utf-8")
    for raw in (b"\x1b", b"\x01", b"\\u001b", b"\\u0001"):
        assert raw not in data


def check_spdx(data: bytes, tmp_path: Path, dependencies: list[dict], product_name: str) -> None:
    """Every dependency and CDN asset of the SPDX document, with purl, license and relationship."""
    _no_raw_controls(data)
    doc = spdx_document(data, tmp_path)
    product = next(p for p in doc.packages if p.spdx_id == "SPDXRef-Product")
    assert product.name == product_name
    by_id = {p.spdx_id: p for p in doc.packages}
    listed = {}
    for p in doc.packages:
        purls = [r.locator for r in p.external_references if r.reference_type == "purl"]
        if p.comment and "dependency declared in" in p.comment:
            listed[(p.name, p.version)] = (p, purls)
    assert len(listed) == len(dependencies) == len(PURLS)
    for dep in dependencies:
        shown = EVIL_SHOWN if dep["name"] == EVIL else dep["name"]
        package, purls = listed[(shown, dep["version"])]
        assert [unquote(u) for u in purls] == [PURLS[(dep["ecosystem"], dep["name"], dep["version"])]]
        scope = "direct" if dep["direct"] else "transitive"
        assert package.comment.startswith(f"{scope} {dep['ecosystem']} dependency declared in {dep['declared_in']}")
        assert not package.files_analyzed
    assert listed[("@Scope/pkg", "2.0.0")][1] == ["pkg:npm/%40scope/pkg@2.0.0"]
    assert listed[(EVIL_SHOWN, "1.0.0")][1][0].lower().startswith("pkg:npm/ev%22il%3c%26%1b%5b31m%01@")
    assert str(listed[("express", "4.18.2")][0].license_declared) == "MIT"
    assert str(listed[("Django", "4.2.11")][0].license_declared) == "NOASSERTION"  # requirements.txt says none
    evil = listed[(EVIL_SHOWN, "1.0.0")][0]
    assert str(evil.license_declared) == "NOASSERTION" and evil.license_comment.endswith("Apache-2.0 <&")
    edges, comments = set(), {}
    for r in doc.relationships:
        if r.relationship_type.name == "DEPENDS_ON":
            parent = by_id[r.spdx_element_id]
            child = by_id[r.related_spdx_element_id]
            edge = ("" if parent is product else _label(parent.name, parent.version),
                    _label(child.name, child.version))
            edges.add(edge)
            comments[edge] = r.comment
    assert edges == EDGES
    assert "does not say which package requires it" in comments[("", "orphan")]
    assert comments[("", "express")] is None
    cdn = {p.name: p for p in doc.packages if p.comment and "public CDN" in p.comment}
    assert set(cdn) == {"vue", "font-awesome", "ev<il&"}
    assert cdn["vue"].download_location == "https://cdn.jsdelivr.net/npm/vue@3.4.21/dist/vue.global.js"
    assert [r.locator for r in cdn["vue"].external_references] == ["pkg:npm/vue@3.4.21"]
    assert cdn["font-awesome"].external_references == []  # cdnjs names are not npm names
    assert cdn["ev<il&"].download_location == "https://unpkg.com/ev%3Cil&@1.0.0/x.js?a=1&b=%3C%01"
    assert "index.html:4" in cdn["ev<il&"].comment


def check_cyclonedx(data: bytes, dependencies: list[dict]) -> None:
    """Every dependency and CDN asset of the CycloneDX document, in its dependency graph."""
    _no_raw_controls(data)
    doc = cyclonedx_json(data)
    comps = {c["bom-ref"]: c for c in doc["components"]}
    declared = {(c["name"], c.get("version")): c for c in comps.values()
                if any(p["name"] == "verifier:dependency:scope" for p in c.get("properties", []))}
    assert len(declared) == len(dependencies) == len(PURLS)
    for dep in dependencies:
        shown = EVIL_SHOWN if dep["name"] == EVIL else dep["name"]
        c = declared[(shown, dep["version"])]
        assert unquote(c["purl"]) == PURLS[(dep["ecosystem"], dep["name"], dep["version"])]
        assert c["scope"] == "required" and c["type"] == "library"
        props = {p["name"]: p["value"] for p in c["properties"]}
        assert props["verifier:dependency:scope"] == ("direct" if dep["direct"] else "transitive")
        assert props["verifier:dependency:declared_in"] == dep["declared_in"]
    assert declared[(EVIL_SHOWN, "1.0.0")]["licenses"] == [{"license": {"name": "Apache-2.0 <&"}}]
    assert declared[("tiny", "1.0.1")]["licenses"] == [{"license": {"id": "MIT"}}]
    assert "does not say which package requires it" in declared[("orphan", "0.1.0")]["description"]
    names = {ref: ("" if ref == "product" else _label(c["name"], c.get("version"))) for ref, c in comps.items()}
    names["product"] = ""
    edges = set()
    refs = set(comps) | {"product"}
    for entry in doc["dependencies"]:
        for target in entry.get("dependsOn", []):
            assert target in refs  # the graph names only components of the document
            edges.add((names[entry["ref"]], names[target]))
    assert edges == EDGES
    cdn = {c["name"]: c for c in comps.values() if any(p["name"] == "verifier:cdn:host" for p in c.get("properties", []))}
    assert cdn["ev<il&"]["externalReferences"] == [{"type": "distribution",
                                                    "url": "https://unpkg.com/ev%3Cil&@1.0.0/x.js?a=1&b=%3C%01"}]
    assert cdn["vue"]["purl"] == "pkg:npm/vue@3.4.21" and cdn["vue"]["scope"] == "required"
    assert {p["value"] for p in cdn["vue"]["properties"] if p["name"] == "verifier:cdn:loaded_by"} == {
        "web/templates/index.html:2"}


@pytest.fixture
def analysis(tmp_path: Path) -> dict:
    return _analysis(write_delivery(tmp_path / "repo"))


def test_both_sboms_hold_every_declared_dependency_with_purl_and_relationship(analysis, tmp_path):
    project = Project(name=f"仓储 {EVIL}", version="1.0.0")
    check_spdx(formats.render_origin(analysis, "spdx", project), tmp_path, analysis["dependencies"],
               f"仓储 {EVIL_SHOWN}")
    check_cyclonedx(formats.render_origin(analysis, "cyclonedx", project), analysis["dependencies"])


def test_an_analysis_made_before_parents_were_recorded_relates_everything_to_the_product(analysis, tmp_path):
    for dep in analysis["dependencies"]:
        del dep["required_by"]
    doc = spdx_document(formats.render_origin(analysis, "spdx", Project(name="p", version="1")), tmp_path)
    by_id = {p.spdx_id: p for p in doc.packages}
    depends = [(r.spdx_element_id, by_id[r.related_spdx_element_id]) for r in doc.relationships
               if r.relationship_type.name == "DEPENDS_ON"]
    assert {parent for parent, _ in depends} == {"SPDXRef-Product"}
    transitive = [r.comment for r in doc.relationships if r.relationship_type.name == "DEPENDS_ON"
                  and by_id[r.related_spdx_element_id].name == "tiny"]
    assert len(transitive) == 1 and "does not say which package requires it" in transitive[0]


def test_dependencies_not_from_the_registry_have_no_purl(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "requirements.txt").write_text("-e ./local\nmylib @ git+https://example.invalid/mylib.git\n")
    analysis = _analysis(repo)
    cdx = cyclonedx_json(formats.render_origin(analysis, "cyclonedx", Project(name="p", version="1")))
    local = {c["name"]: c for c in cdx["components"]}
    assert set(local) == {"./local", "mylib"}
    for c in local.values():
        assert "purl" not in c and "not from the package registry" in c["description"]
        assert {"name": "verifier:dependency:registry", "value": "false"} in c["properties"]
    spdx_document(formats.render_origin(analysis, "spdx", Project(name="p", version="1")), tmp_path)


def test_a_lock_of_2000_packages_keeps_every_edge(tmp_path):
    """2,000 locked packages, each required by an earlier one: every edge in the graph, each package once."""
    lock = {"name": "web", "lockfileVersion": 3, "packages": {"": {"name": "web"}}}
    for n in range(2000):
        lock["packages"][f"node_modules/p{n}"] = {"version": "1.0.0", "license": "MIT",
                                                  "dependencies": {f"p{m}": "1" for m in (2 * n + 1, 2 * n + 2)
                                                                   if m < 2000}}
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "package.json").write_text(json.dumps({"dependencies": {"p0": "1.0.0"}}))
    (repo / "package-lock.json").write_text(json.dumps(lock))
    doc = json.loads(formats.render_origin(_analysis(repo), "cyclonedx", Project(name="p", version="1")))
    names = {c["bom-ref"]: c["name"] for c in doc["components"]}
    graph = {e["ref"]: e.get("dependsOn", []) for e in doc["dependencies"]}
    assert len(names) == 2000 and [names[r] for r in graph["product"]] == ["p0"]
    assert sum(len(v) for v in graph.values()) == 1999 + 1
    assert sorted(names[r] for r in graph[next(r for r, n in names.items() if n == "p7")]) == ["p15", "p16"]


@pytest.mark.slow
def test_a_run_of_a_delivery_with_dependencies_carries_them_in_both_sboms_and_its_bundle(cli, tmp_path):
    import zipfile

    repo = write_delivery(tmp_path / "repo")
    (repo / "acceptance.yaml").write_text(f"""\
project: {{name: "仓储 &lt;<b>", version: "1.0.0", owners: ["{OWNER}"]}}
indicators:
  - {{id: O1, name: 自研代码率, characteristic: maintainability, probe: origin, metric: ratio, target: ">= 60%"}}
""", "utf-8")
    run = tmp_path / "run"
    made = cli("run", repo / "acceptance.yaml", "--out", run, "--quiet", "--no-cache")
    assert made.exit_code in (0, 1), made.output
    results = json.loads((run / "results.json").read_text("utf-8"))
    dependencies = results["origin"]["dependencies"]
    assert {d["name"] for d in dependencies} >= {EVIL, "tiny", "Django"}
    for fmt, check in (("spdx", lambda d: check_spdx(d, tmp_path, dependencies, "仓储 &lt;<b>")),
                       ("cyclonedx", lambda d: check_cyclonedx(d, dependencies))):
        out = tmp_path / f"sbom.{fmt}"
        done = cli("report", run, "--format", fmt, "-o", out)
        assert done.exit_code == 0, done.output
        check(out.read_bytes())
    assert cli("keygen", "-o", tmp_path / "agency").exit_code == 0
    bundle = tmp_path / "b.zip"
    packed = cli("bundle", run, "-o", bundle, "--sign", tmp_path / "agency.key")
    assert packed.exit_code == 0, packed.output
    with zipfile.ZipFile(bundle) as zf:
        check_cyclonedx(zf.read("run/reports/sbom.cdx.json"), dependencies)
    checked = cli("verify", bundle, "--key", tmp_path / "agency.pub")
    assert checked.exit_code == 0, checked.output
    assert "reports/sbom.spdx.json, reports/sbom.cdx.json" in checked.output
