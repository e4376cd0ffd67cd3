"""Origin rules as pure functions: owner matching, globs, classification order, components,
ratio accounting (with line-level matches), adjudication. No scancode run here (see
test_origin_scan.py for that): detections are built by hand."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from verifier.errors import InputError
from verifier.origin.adjudication import Adjudication, apply_adjudications, load_adjudications
from verifier.origin.classify import Declared, LineMatch, classify, glob_match
from verifier.origin.components import find_components, owner_licenses
from verifier.origin.detect import FileDetection, LicenseHit, PackageHit, TextHit, trim_spill
from verifier.origin.model import InventoryEntry
from verifier.origin.owners import OwnerMatcher
from verifier.origin.result import ratio_of, totals_of

OWNERS = ("湖南示例软件有限公司", "Hunan Example Software Co., Ltd.")


@pytest.fixture
def matcher() -> OwnerMatcher:
    return OwnerMatcher(OWNERS)


@pytest.mark.parametrize("holder", [
    "Hunan Example Software Co., Ltd.",
    "HUNAN EXAMPLE SOFTWARE CO., LTD.",
    "Hunan Example Software Co. Ltd",
    "Hunan Example Software Co Ltd.",
    "hunan example software co., ltd. and contributors",
    "Hunan Example Software Co., Ltd. All rights reserved.",
    "(c) 2019-2024 Hunan Example Software Co., Ltd.",
    "Hunan Example Software Company Limited",
    "Hunan Example Software Co., Ltd. and its affiliates",
    "湖南示例软件有限公司",
    "湖南示例软件有限公司 版权所有",
    "Hu Nan Shi Li Ruan Jian",            # scancode's pinyin of the Chinese name, cut short
    "Hu Nan Shi Li Ruan Jian You Xian Gong Si",
])
def test_owner_spellings_are_the_owner(matcher, holder):
    assert matcher.is_owner(holder), holder


@pytest.mark.parametrize("holder", [
    "Jane Roe", "Acme Widgets Inc.", "The Authors", "Example Software Co., Ltd.",
    "Hunan Example", "北京示例科技有限公司", "Hu Nan Ke Ji",
])
def test_other_holders_are_foreign(matcher, holder):
    result = matcher.match(holder)
    assert result.foreign == holder and not result.owners


def test_owner_beside_a_foreign_holder_is_mixed(matcher):
    result = matcher.match("The Foo Authors and Hunan Example Software Co., Ltd.")
    assert result.owners == ("Hunan Example Software Co., Ltd.",)
    assert result.foreign is not None


def test_without_owners_everyone_is_foreign():
    assert not OwnerMatcher([]).is_owner("Hunan Example Software Co., Ltd.")


def test_trim_spill_drops_only_next_line_prefix():
    lines = ["# Copyright 2025 Hunan Example Software Co. Ltd", "# Proprietary and confidential."]
    assert trim_spill("Hunan Example Software Co. Ltd Proprietary", 1, 2, lines) == (
        "Hunan Example Software Co. Ltd", "Proprietary")
    # a whole next line is a genuine second holder: kept
    lines = ["# Copyright 2025 Hunan Example Software Co. Ltd", "#   Acme Inc."]
    assert trim_spill("Hunan Example Software Co. Ltd Acme Inc.", 1, 2, lines)[1] is None
    # a Chinese next line, which scancode reads as pinyin
    lines = ["# Copyright 2026 Foo Ltd.", '"""入库登记与查询"""']
    assert trim_spill("Foo Ltd. Ru Ku Deng", 1, 2, lines) == ("Foo Ltd.", "Ru Ku Deng")


@pytest.mark.parametrize("path,pattern,expected", [
    ("docs/a/b.md", "docs/**", True), ("src/docs/x", "docs/**", False),
    ("web/static/lib/x.min.js", "web/static/lib/**", True), ("a/b/c.py", "**/c.py", True),
    ("c.py", "**/c.py", True), ("a/x.min.js", "*.min.js", False), ("x.min.js", "*.min.js", True),
    ("vendor/foo/bar.py", "vendor", True), ("vendorx/a", "vendor", False),
    ("src/a1.py", "src/a[0-9].py", True), ("src/ab.py", "src/a?.py", True),
])
def test_glob_match(path, pattern, expected):
    assert glob_match(path, pattern) is expected


def entry(path: str, lines: int = 10, *, kind: str = "source", language: str | None = "Python",
          is_test: bool = False, sha: str | None = None, problem: str | None = None,
          max_line: int = 80) -> InventoryEntry:
    digest = sha or (format(abs(hash(path)), "x") * 8)[:64].ljust(64, "0")
    return InventoryEntry(path=path, size=lines * 30, sha256=digest, kind=kind,  # type: ignore[arg-type]
                          language=language if kind == "source" else None,
                          lines=lines if kind == "source" else 0, is_test=is_test,
                          problem=problem, max_line_length=max_line)


def det(*, holders=(), licenses=(), generated=None, mean=30.0, error=None, packages=(),
        scope="head", role="source") -> FileDetection:
    return FileDetection(
        role=role, scope=scope,
        holders=tuple(TextHit(h, 1, 1) for h in holders),
        licenses=tuple(LicenseHit(spdx, key, 2, 2) for spdx, key in licenses),
        generated=TextHit(generated, 1, 1) if generated else None,
        mean_line_length=mean, error=error, packages=tuple(packages))


NOTHING_DECLARED = Declared()


def run(entries, detections, *, declared=NOTHING_DECLARED, owners=OWNERS):
    matcher = OwnerMatcher(owners)
    own = owner_licenses(entries, detections, matcher)
    components = find_components(entries, detections, matcher, own)
    files = classify(entries, detections, declared=declared, components=components,
                     matcher=matcher, own_licenses=own)
    return {f.path: f for f in files}, components


def test_rules_in_order():
    entries = [
        entry("src/own.py"), entry("src/plain.py"), entry("src/foreign.py"),
        entry("src/modified.py"), entry("src/mit_only.py"), entry("src/gen.py"),
        entry("src/gen_foreign.py"), entry("web/app.min.js", language="JavaScript"),
        entry("web/bundle.js", language="JavaScript", max_line=5000),
        entry("src/timeout.py"), entry("src/undecodable.py", problem="undecodable"),
        entry("docs/guide.py"), entry("src/api_pb2.py"), entry("README.md", kind="doc"),
        entry("package-lock.json", kind="data"),
    ]
    detections = {
        "src/own.py": det(holders=["Hunan Example Software Co., Ltd."]),
        "src/plain.py": det(scope="none"),
        "src/foreign.py": det(holders=["Acme Inc."], licenses=[("MIT", "mit")]),
        "src/modified.py": det(holders=["Acme Inc.", "湖南示例软件有限公司"]),
        "src/mit_only.py": det(licenses=[("MIT", "mit")]),
        "src/gen.py": det(generated="# Code generated by tool. DO NOT EDIT."),
        "src/gen_foreign.py": det(holders=["Acme Inc."], generated="# generated by x"),
        "web/app.min.js": det(), "web/bundle.js": det(),
        "src/timeout.py": det(error="detection did not finish within 60 s"),
        "docs/guide.py": det(holders=["Acme Inc."]), "src/api_pb2.py": det(),
    }
    files, _ = run(entries, detections, declared=Declared(exclude=("docs/**",)))
    expect = {
        "src/own.py": ("self", "notice"), "src/plain.py": ("self", "default"),
        "src/foreign.py": ("third_party", "notice"), "src/modified.py": ("third_party", "notice"),
        "src/mit_only.py": ("third_party", "notice"), "src/gen.py": ("generated", "generated"),
        "src/gen_foreign.py": ("third_party", "notice"),
        "web/app.min.js": ("third_party", "minified"), "web/bundle.js": ("third_party", "minified"),
        "src/timeout.py": ("unknown", "undetected"), "src/undecodable.py": ("unknown", "undetected"),
        "docs/guide.py": ("excluded", "declared"), "src/api_pb2.py": ("generated", "generated"),
        "README.md": ("excluded", "not-counted"), "package-lock.json": ("generated", "generated"),
    }
    assert {p: (f.origin, f.rule) for p, f in files.items()} == expect
    assert files["src/modified.py"].reason.startswith("modified third-party")
    assert "Acme Inc." in files["src/foreign.py"].reason
    assert any("line 1" in e for e in files["src/foreign.py"].evidence)
    assert "not counted as self" in files["src/timeout.py"].reason


def test_owner_license_only_notice_is_self_when_root_license_is_the_owners():
    entries = [entry("LICENSE", kind="doc"), entry("src/a.py"), entry("src/b.py")]
    detections = {
        "LICENSE": det(role="legal", scope="whole", licenses=[("Apache-2.0", "apache-2.0")],
                       holders=["Hunan Example Software Co., Ltd."]),
        "src/a.py": det(licenses=[("Apache-2.0", "apache-2.0")]),
        "src/b.py": det(licenses=[("GPL-2.0-only", "gpl-2.0")]),
    }
    files, _ = run(entries, detections)
    assert files["src/a.py"].origin == "self"
    assert files["src/b.py"].origin == "third_party"


def test_components_vendor_dirs_and_foreign_license_dirs():
    entries = [
        entry("libs/tiny/LICENSE", kind="doc"), entry("libs/tiny/tiny.py"),
        entry("libs/tiny/sub/deep.py"),
        entry("node_modules/leftpad/package.json", kind="data"),
        entry("node_modules/leftpad/index.js", language="JavaScript"),
        entry("node_modules/noman/index.js", language="JavaScript"),
        entry("vendor/loose.c", language="C"),
        entry("tools/own/LICENSE", kind="doc"), entry("tools/own/run.py"),
        entry("third_party/ours/LICENSE", kind="doc"), entry("third_party/ours/x.py"),
        entry("app/main.py"),
    ]
    detections = {
        "libs/tiny/LICENSE": det(role="legal", scope="whole", licenses=[("MIT", "mit")],
                                 holders=["Jane Roe"]),
        "node_modules/leftpad/package.json": det(role="manifest", packages=[PackageHit(
            "npm", "leftpad", "1.3.0", "MIT", "mit", ("Azer Koculu",))]),
        "tools/own/LICENSE": det(role="legal", licenses=[("MIT", "mit")],
                                 holders=["Hunan Example Software Co., Ltd."]),
        "third_party/ours/LICENSE": det(role="legal", holders=["湖南示例软件有限公司"]),
        "libs/tiny/tiny.py": det(), "libs/tiny/sub/deep.py": det(), "tools/own/run.py": det(),
        "app/main.py": det(), "third_party/ours/x.py": det(),
    }
    files, components = run(entries, detections)
    by_path = {c.path: c for c in components}
    assert set(by_path) == {"libs/tiny", "node_modules/leftpad", "node_modules/noman", "vendor"}
    assert (by_path["node_modules/leftpad"].name, by_path["node_modules/leftpad"].version,
            by_path["node_modules/leftpad"].license) == ("leftpad", "1.3.0", "MIT")
    assert by_path["libs/tiny"].license == "MIT" and by_path["libs/tiny"].holders == ("Jane Roe",)
    assert files["libs/tiny/sub/deep.py"].component == "libs/tiny"
    assert files["node_modules/noman/index.js"].origin == "third_party"
    assert files["vendor/loose.c"].component == "vendor"
    assert files["tools/own/run.py"].origin == "self"        # the owner's own sub-project
    assert files["third_party/ours/x.py"].origin == "self"   # owner's code in a vendor dir
    assert files["app/main.py"].origin == "self"


def test_ratio_counts_matched_lines_of_self_files_as_third_party():
    entries = [entry("a.py", 100), entry("b.py", 50), entry("t/test_a.py", 50, is_test=True),
               entry("docs/x.py", 1000)]
    detections = {p.path: det() for p in entries}
    detections["b.py"] = det(holders=["Acme"])
    files, _ = run(entries, detections, declared=Declared(exclude=("docs/**",)))
    totals = totals_of(files.values())
    assert totals["self"] == {"files": 2, "lines": 150}
    assert ratio_of(totals) == pytest.approx(150 / 200)
    matched = files["a.py"].with_matches([LineMatch(1, 40, 30, "zlib", "1.3", "Zlib")])
    totals = totals_of([matched, files["b.py"], files["t/test_a.py"], files["docs/x.py"]])
    assert totals["self"]["lines"] == 120 and totals["third_party"]["lines"] == 80
    assert totals["self"]["files"] == 2
    assert ratio_of(totals) == pytest.approx(120 / 200)
    assert ratio_of(totals_of([files["docs/x.py"]])) is None


def adj(**kw) -> Adjudication:
    base = {"origin": "self", "justification": "rewritten", "reviewer": "张三",
            "date": dt.date(2024, 5, 20)}
    return Adjudication.model_validate({**base, **kw})


def test_adjudication_applies_while_hash_matches_and_reports_stale():
    entries = [entry("a.py", sha="a" * 64), entry("b.py", sha="b" * 64),
               entry("c.py", sha="c" * 64), entry("README.md", kind="doc", sha="d" * 64)]
    detections = {"a.py": det(holders=["Acme"]), "b.py": det(holders=["Acme"]),
                  "c.py": det(holders=["Acme"])}
    files, _ = run(entries, detections)
    out, applied, stale = apply_adjudications(tuple(files.values()), [
        adj(path="a.py", sha256="a" * 64),                         # applies
        adj(path="b.py", sha256="e" * 64),                         # content changed: stale
        adj(sha256="c" * 64, origin="generated"),                  # by content: applies
        adj(sha256="f" * 64),                                      # no such content: stale
        adj(path="gone.py", sha256="1" * 64),                      # no such file: stale
        adj(sha256="d" * 64),                                      # not counted: stale
    ])
    result = {f.path: f for f in out}
    assert result["a.py"].origin == "self" and result["a.py"].rule == "adjudicated"
    assert "张三" in result["a.py"].reason and "tools said third_party" in result["a.py"].reason
    assert result["b.py"].origin == "third_party"
    assert result["c.py"].origin == "generated"
    assert [a["file"] for a in applied] == ["a.py", "c.py"]
    assert applied[0]["previous_origin"] == "third_party"
    reasons = {(s.adjudication.path, s.adjudication.sha256[:1]): s.reason for s in stale}
    assert "content changed" in reasons[("b.py", "e")]
    assert "no file" in reasons[(None, "f")]
    assert "no such file" in reasons[("gone.py", "1")]
    assert "not counted" in reasons[(None, "d")]


def test_adjudication_file_yaml_and_json(tmp_path):
    good = tmp_path / "adj.yaml"
    good.write_text(f"- path: src/a.py\n  sha256: {'a' * 64}\n  origin: self\n"
                    "  justification: 由本公司重写\n  reviewer: 张三\n  date: 2024-05-20\n",
                    encoding="utf-8")
    (entry_,) = load_adjudications(good)
    assert entry_.path == "src/a.py" and entry_.date == dt.date(2024, 5, 20)
    as_json = tmp_path / "adj.json"
    as_json.write_text(json.dumps({"adjudications": [
        {"sha256": "B" * 64, "origin": "third_party", "justification": "copy of zlib",
         "reviewer": "Li Si", "date": "2024-05-21"}]}))
    assert load_adjudications(as_json)[0].sha256 == "b" * 64


@pytest.mark.parametrize("text,message", [
    ("- path: a.py\n  origin: self\n  justification: x\n  reviewer: y\n  date: 2024-01-01\n",
     "entry 1: needs sha256"),
    (f"- sha256: {'a' * 64}\n  origin: mine\n  justification: x\n  reviewer: y\n"
     "  date: 2024-01-01\n", "entry 1: origin: 'mine' is not one of"),
    (f"- sha256: {'a' * 64}\n  origin: self\n  justification: x\n  date: 2024-01-01\n",
     "entry 1: reviewer: Field required"),
    (f"- sha256: {'a' * 64}\n  origin: self\n  justification: x\n  reviewer: y\n"
     "  date: someday\n", "entry 1: date:"),
    ("- sha256: abc\n  origin: self\n  justification: x\n  reviewer: y\n  date: 2024-01-01\n",
     "entry 1: sha256: must be a 64-digit hex SHA-256"),
    (f"- path: ../x.py\n  sha256: {'a' * 64}\n  origin: self\n  justification: x\n"
     "  reviewer: y\n  date: 2024-01-01\n", "entry 1: path:"),
    ("key: [unclosed\n", ":2: not valid YAML"),
    ("just a string\n", "is a list of entries"),
])
def test_bad_adjudication_files_are_one_line_input_errors(tmp_path, text, message):
    path = tmp_path / "adj.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_adjudications(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(path) in str(err.value)


def test_chinese_notice_patterns_and_pinyin_readings():
    from verifier.origin.detect import cjk_notices
    from verifier.origin.owners import is_transliteration

    holders, licenses = cjk_notices(["# 著作权归 X公司 所有，遵循 LGPL 2.1 协议", "x = 1",
                                     "// 版權所有 台灣某某科技股份有限公司", "# HTTP协议 MIT"])
    assert [(h["text"], h["start_line"]) for h in holders] == [
        ("X公司", 1), ("台灣某某科技股份有限公司", 3)]
    assert [(h["spdx"], h["start_line"]) for h in licenses] == [("LGPL-2.1-only", 1)]
    assert is_transliteration("Bei Jing Mou Mou Ke", "北京某某科技有限公司")
    assert not is_transliteration("Acme Widgets Inc.", "北京某某科技有限公司")
    assert not is_transliteration("Bei", "北京某某科技有限公司")  # too short to tell
