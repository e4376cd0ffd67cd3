"""Waivers: an expert's judgement on a finding, by fingerprint, beside the task book (never a ``# nosec``
in the product): the finding is listed as waived, not counted; a waiver whose finding is gone is
stale; the file is hashed into the run and ``verify`` recomputes; SARIF shows a suppression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import write_tree
from support.live_service import ROBUSTNESS_ARGS, context, fixture_service, values
from support.runner_specs import FIVE, OWN_CODE, task_book
from verifier.builtin_probes.bandit_probe import BanditProbe, summarize
from verifier.builtin_probes.robustness_probe import RobustnessProbe
from verifier.consistency import check_run
from verifier.probe import available_probes, with_fingerprints
from verifier.report import render_report
from verifier.results import RunResult
from verifier.waivers import Waiver, WaiverFile, apply_waivers, parse_waivers

ADMIN = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.
"""Maintenance commands."""
import subprocess


def archive(name):
    """Archive a named backup."""
    return subprocess.call("tar czf /tmp/backup.tgz " + name, shell=True)
'''

SECURITY = "\n".join([
    "  - id: S1",
    "    name: 中高危安全问题数",
    "    characteristic: security",
    "    probe: bandit",
    "    with: {paths: [app], severity: medium, confidence: medium}",
    "    metric: total",
    "    target: '== 0'",
])


def _repo(tmp_path: Path, *, waivers: str | None = None, admin: str = ADMIN) -> Path:
    spec = task_book([*FIVE[:3], SECURITY, FIVE[4]])
    if waivers is not None:
        spec += "waivers: waivers.yaml\n"
    files = {"app/__init__.py": OWN_CODE, "app/admin.py": admin, "acceptance.yaml": spec}
    if waivers is not None:
        files["waivers.yaml"] = waivers
    return write_tree(tmp_path, files)


def _run(repo: Path, out: Path, cli) -> RunResult:
    result = cli("run", repo / "acceptance.yaml", "--out", out, "--quiet", "--no-cache")
    assert result.exit_code in (0, 1), result.output
    return RunResult.model_validate_json((out / "results.json").read_text("utf-8"))


def _s1(run: RunResult):
    return next(i for i in run.indicators if i.id == "S1")


def _waiver(fingerprint: str, who: str = "张三（测评中心）") -> str:
    return (f"- fingerprint: {fingerprint}\n  justification: 备份名来自固定白名单，非用户输入\n"
            f"  reviewer: {who}\n  date: 2026-05-20\n")


def _problems(out: Path, data: dict | None = None) -> list[str]:
    results = data if data is not None else json.loads((out / "results.json").read_text("utf-8"))
    copy = out / "waivers.yaml"
    return [c.what for c in check_run(results, (out / "spec.yaml").read_bytes(),
                                      waivers_bytes=copy.read_bytes() if copy.exists() else None)
            if c.ok is False]


@pytest.fixture
def unwaived(tmp_path: Path, cli) -> tuple[Path, RunResult]:
    repo = _repo(tmp_path / "plain")
    run = _run(repo, tmp_path / "run-plain", cli)
    return repo, run


def test_a_waived_finding_is_listed_not_counted_and_a_gone_one_is_stale(tmp_path: Path, cli, unwaived) -> None:
    _, plain = unwaived
    s1 = _s1(plain)
    assert (s1.value, s1.status) == (1, "not_met")
    shell = next(f for f in s1.findings if f.rule == "B602")
    assert shell.fingerprint.startswith("bandit:B602:app/admin.py:") and "waiver" not in shell.extra

    stale = "bandit:B101:app/gone.py:0123456789abcdef"
    repo = _repo(tmp_path / "waived", waivers=_waiver(shell.fingerprint) + _waiver(stale, "李四"))
    out = tmp_path / "run-waived"
    run = _run(repo, out, cli)
    s1 = _s1(run)
    assert (s1.value, s1.status, s1.credit) == (0, "met", 1.0)
    assert s1.unwaived["total"] == 1 and s1.measurements["total"] == 0 and s1.measurements["high"] == 0
    waived = next(f for f in s1.findings if f.fingerprint == shell.fingerprint)  # still listed
    assert waived.extra["waiver"] == {"status": "accepted", "justification": "备份名来自固定白名单，非用户输入",
                                      "reviewer": "张三（测评中心）", "date": "2026-05-20"}
    assert [(w.fingerprint, w.indicators) for w in run.waivers.applied] == [(shell.fingerprint, ["S1"])]
    assert [(w.fingerprint, w.reviewer) for w in run.waivers.stale] == [(stale, "李四")]
    assert "no longer exists" in run.waivers.stale[0].reason
    assert (out / "waivers.yaml").read_bytes() == (repo / "waivers.yaml").read_bytes()  # hashed evidence
    assert _problems(out) == []

    assert cli("report", out, "--format", "sarif", "-o", tmp_path / "f.sarif").exit_code == 0
    sarif = json.loads((tmp_path / "f.sarif").read_text("utf-8"))
    results = {r["properties"]["fingerprint"]: r for r in sarif["runs"][0]["results"]}
    assert results[shell.fingerprint]["suppressions"] == [{
        "kind": "external", "status": "accepted", "justification": "备份名来自固定白名单，非用户输入",
        "properties": {"reviewer": "张三（测评中心）", "date": "2026-05-20"}}]
    for lang, words in (("zh", ("已豁免的问题", "失效的豁免")), ("en", ("Waived findings", "Stale waivers"))):
        html = render_report(out, "html", lang).decode("utf-8")
        assert all(w in html for w in words) and shell.fingerprint in html and stale in html


def test_verify_recomputes_the_waivers(tmp_path: Path, cli, unwaived) -> None:
    shell = next(f for f in _s1(unwaived[1]).findings if f.rule == "B602")
    repo = _repo(tmp_path / "waived", waivers=_waiver(shell.fingerprint))
    out = tmp_path / "run-waived"
    _run(repo, out, cli)
    data = json.loads((out / "results.json").read_text("utf-8"))

    def s1(copy: dict) -> dict:
        return next(i for i in copy["indicators"] if i["id"] == "S1")

    def tampered(edit) -> list[str]:
        copy = json.loads(json.dumps(data))
        edit(copy)
        return _problems(out, copy)

    def unmark(copy):
        for f in s1(copy)["findings"]:
            f["extra"].pop("waiver", None)

    assert any("does not record" in p or "records figures before waivers" in p for p in tampered(unmark))
    assert any("recounted" in p for p in tampered(lambda c: s1(c)["unwaived"].update(total=2.0)))
    assert any("applied and stale" in p for p in tampered(lambda c: c["waivers"].update(applied=[])))
    assert any("not the waiver file's entry" in p for p in tampered(
        lambda c: next(f for f in s1(c)["findings"] if "waiver" in f["extra"])["extra"]["waiver"].update(
            reviewer="someone else")))
    # verify reads the bundled copy of the waiver file and recomputes from it
    bundle = out.parent / "run.zip"
    assert cli("bundle", out, "-o", bundle).exit_code == 0
    verified = cli("verify", bundle)
    assert verified.exit_code == 0 and "1 waiver(s) applied, recounted" in verified.output, verified.output
    (out / "waivers.yaml").write_text(_waiver(shell.fingerprint, "改过的人"), "utf-8")
    assert any("sha256" in p for p in _problems(out))


def test_the_fingerprint_survives_code_moving(tmp_path: Path, cli, unwaived) -> None:
    shell = next(f for f in _s1(unwaived[1]).findings if f.rule == "B602")
    moved = ADMIN.replace('import subprocess\n', 'import subprocess\n\nBACKUPS = ("daily", "weekly")\n\n')
    repo = _repo(tmp_path / "moved", waivers=_waiver(shell.fingerprint), admin=moved)
    run = _run(repo, tmp_path / "run-moved", cli)
    now = next(f for f in _s1(run).findings if f.rule == "B602")
    assert now.line > shell.line and now.fingerprint == shell.fingerprint
    assert _s1(run).status == "met" and not run.waivers.stale
    # the flagged line itself changed: a new finding, the waiver is stale
    changed = ADMIN.replace('"tar czf /tmp/backup.tgz "', '"tar cjf /tmp/backup.tbz "')
    repo = _repo(tmp_path / "changed", waivers=_waiver(shell.fingerprint), admin=changed)
    run = _run(repo, tmp_path / "run-changed", cli)
    assert _s1(run).status == "not_met" and [w.fingerprint for w in run.waivers.stale] == [shell.fingerprint]


@pytest.mark.parametrize("text, problem", [
    ("- fingerprint: pytest:tests/x.py::t:-:0123456789abcdef\n  justification: x\n  reviewer: y\n"
     "  date: 2026-01-01\n", "findings of probe 'pytest' cannot be waived"),
    ("- fingerprint: bandit:B101:a.py:0\n  justification: x\n  date: 2026-01-01\n", "entry 1: reviewer"),
    ("- {fingerprint: 'bandit:B1:a:1', justification: x, reviewer: y, date: 2026-01-01}\n"
     "- {fingerprint: 'bandit:B1:a:1', justification: z, reviewer: y, date: 2026-01-02}\n", "waived twice"),
    ("- fingerprint: nope\n  justification: x\n  reviewer: y\n  date: 2026-01-01\n", "not a finding fingerprint"),
    ("waivers: [\n", "not valid YAML"),
])
def test_check_refuses_a_bad_waiver_file_naming_the_entry(tmp_path: Path, cli, text: str, problem: str) -> None:
    repo = _repo(tmp_path, waivers=text)
    result = cli("check", repo / "acceptance.yaml")
    assert result.exit_code == 2 and problem in result.output, result.output
    assert "acceptance.yaml:" in result.output and "waivers" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_bandit_fingerprints_hash_the_flagged_line_not_its_number() -> None:
    def report(line: int) -> dict:
        return {"results": [{
            "filename": "app/admin.py", "test_id": "B602", "issue_severity": "HIGH", "issue_confidence": "HIGH",
            "issue_text": "subprocess call with shell=True identified", "line_number": line,
            "line_range": [line], "code": f"{line - 1} def archive(name):\n{line}     return call(name, shell=True)\n"}],
            "metrics": {"_totals": {"loc": 10}}}

    first, later = (summarize(report(n), confidence="medium", severity="medium").findings[0] for n in (9, 30))
    assert first.fingerprint == later.fingerprint and first.line != later.line
    waiver = Waiver(fingerprint=first.fingerprint, justification="j", reviewer="r", date="2026-01-01")
    outcome = summarize(report(9), confidence="medium", severity="medium")
    waived, before = apply_waivers(BanditProbe, outcome, WaiverFile("w.yaml", b"", {waiver.fingerprint: waiver}))
    assert before["total"] == 1 and values(waived) == {**before, "high": 0, "total": 0, "issues_per_kloc": 0.0}


def test_robustness_findings_keep_their_fingerprints_and_recount(tmp_path: Path) -> None:
    """Two runs against the weak service give the same fingerprints (declared cases carry a random
    uid in their path; the fingerprint does not); waiving answers recounts share_4xx."""
    runs = []
    for n in (1, 2):
        with fixture_service(tmp_path / f"s{n}", "weak") as svc:
            outcome = RobustnessProbe().run(context(RobustnessProbe, tmp_path / f"c{n}", svc, ROBUSTNESS_ARGS))
        runs.append(outcome.findings and outcome)
    fingerprints = [[f.fingerprint for f in with_fingerprints("robustness", o.findings)] for o in runs]
    assert fingerprints[0] == fingerprints[1] and len(set(fingerprints[0])) == len(fingerprints[0])
    outcome = runs[0]
    picked = [f for f in outcome.findings if f.extra["outcome"] != "4xx"][:3]
    entries = {f.fingerprint: Waiver(fingerprint=f.fingerprint, justification="j", reviewer="r", date="2026-01-01")
               for f in picked}
    waived, before = apply_waivers(RobustnessProbe, outcome, WaiverFile("w.yaml", b"", entries))
    after = values(waived)
    assert after["non4xx"] == before["non4xx"] - 3 and after["cases"] == before["cases"]
    assert after["share_4xx"] == pytest.approx(100 * (before["cases"] - after["non4xx"]) / before["cases"])
    assert sum("waiver" in f.extra for f in waived.findings) == 3


def test_only_probes_that_recount_may_be_waived() -> None:
    probes = available_probes()
    assert {name for name, cls in probes.items() if cls.waivable} >= {"bandit", "robustness"}
    assert not probes["pytest"].waivable and not probes["locust"].waivable
    loaded = parse_waivers(b"waivers:\n- {fingerprint: 'robustness:bad_json:POST /x:0123', justification: j, "
                           b"reviewer: r, date: 2026-01-01}\n", "w.yaml", probes)
    assert list(loaded.entries) == ["robustness:bad_json:POST /x:0123"] and len(loaded.sha256) == 64
