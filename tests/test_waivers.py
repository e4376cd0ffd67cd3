"""Waivers: an expert's judgement on a finding, by fingerprint, beside the task book (never a ``# nosec``
in the product): the finding is listed as waived, not counted; a waiver whose finding is gone is
stale; the file is hashed into the run and ``verify`` recomputes; SARIF shows a suppression."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from support import write_tree
from support.live_service import ROBUSTNESS_ARGS, context, fixture_service, values
from support.runner_specs import FIVE, OWN_CODE, task_book
from verifier.builtin_probes.bandit_probe import BanditProbe, summarize
from verifier.builtin_probes.robustness_probe import RobustnessProbe
from verifier.consistency import check_run
from verifier.probe import available_probes, finding_fingerprint, with_fingerprints
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
    assert {name for name, cls in probes.items() if cls.waivable} >= {"bandit", "robustness", "semgrep", "secrets"}
    assert not probes["pytest"].waivable and not probes["locust"].waivable
    loaded = parse_waivers(b"waivers:\n- {fingerprint: 'robustness:bad_json:POST /x:0123', justification: j, "
                           b"reviewer: r, date: 2026-01-01}\n", "w.yaml", probes)
    assert list(loaded.entries) == ["robustness:bad_json:POST /x:0123"] and len(loaded.sha256) == 64


# ------------------------------------------------------------------ semgrep and secrets

#: A hard-coded password, assembled so that no scanner finds it in this file.
_PASSWORD = "Wq9" + "#zT4!pLm8"

CALC = '''
# Copyright (c) 2026 Hunan Example Software Co., Ltd. All rights reserved.
"""Calculator endpoint."""
from flask import request

DB_PASSWORD = "{password}"


def calculate():
    """Evaluate the expression the panel's admin console sends."""
    return eval(request.args.get("expr"))
'''


def _scan_repo(tmp_path: Path, *, waivers: str | None = None, moved: bool = False) -> Path:
    """A delivery with an eval injection (semgrep) and a hard-coded password (secrets), and a task
    book measuring both; ``moved``: the same code with lines added above both findings."""
    semgrep = "\n".join(["  - id: S1", "    name: 注入类问题数", "    characteristic: security",
                         "    probe: semgrep", "    with: {rules: ['builtin:injection'], paths: [app]}",
                         "    metric: total", "    target: '== 0'"])
    secrets = "\n".join(["  - id: S2", "    name: 硬编码凭据数", "    characteristic: security",
                         "    probe: secrets", "    with: {paths: [app]}", "    metric: secrets",
                         "    target: '== 0'", "    required: false"])
    spec = task_book([*FIVE[:3], semgrep, FIVE[4], secrets])
    if waivers is not None:
        spec += "waivers: waivers.yaml\n"
    calc = CALC.replace("{password}", _PASSWORD)
    if moved:
        calc = calc.replace('from flask import request\n', 'from flask import request\n\nLIMIT = 10\nNAME = "c"\n')
    files = {"app/__init__.py": OWN_CODE, "app/calc.py": calc, "acceptance.yaml": spec}
    if waivers is not None:
        files["waivers.yaml"] = waivers
    return write_tree(tmp_path, files)


def _by_id(run: RunResult, rid: str):
    return next(i for i in run.indicators if i.id == rid)


@pytest.mark.slow
def test_semgrep_and_secrets_findings_are_waived_by_fingerprint(tmp_path: Path, cli) -> None:
    """The reproduction: findings of semgrep and secrets could not be waived (``check`` refused
    the entry, so the product had to carry ``# nosemgrep`` / ``pragma: allowlist secret``). Now
    both are waived like bandit's: the fingerprint survives the code moving, the finding is listed
    as waived and not counted, the run verifies, and the secret is in no fingerprint or evidence."""
    plain = _run(_scan_repo(tmp_path / "plain"), tmp_path / "run-plain", cli)
    s1, s2 = _by_id(plain, "S1"), _by_id(plain, "S2")
    assert (s1.value, s1.status, s2.value, s2.status) == (1, "not_met", 1, "not_met")
    (injection,) = [f for f in s1.findings if f.rule == "python-eval-injection"]
    (secret,) = s2.findings
    assert injection.fingerprint.startswith("semgrep:python-eval-injection:app/calc.py:")
    assert secret.fingerprint.startswith("secrets:Secret Keyword:app/calc.py:")
    assert _PASSWORD not in json.dumps(s2.model_dump(mode="json"))

    waivers = _waiver(injection.fingerprint) + _waiver(secret.fingerprint)
    repo = _scan_repo(tmp_path / "waived", waivers=waivers, moved=True)
    out = tmp_path / "run-waived"
    run = _run(repo, out, cli)
    s1, s2 = _by_id(run, "S1"), _by_id(run, "S2")
    moved = next(f for f in s1.findings if f.rule == "python-eval-injection")
    assert moved.line == injection.line + 3 and moved.fingerprint == injection.fingerprint
    assert s2.findings[0].line == secret.line + 3 and s2.findings[0].fingerprint == secret.fingerprint
    assert (s1.value, s1.status, s1.unwaived["total"], s1.measurements["high"]) == (0, "met", 1, 0)
    assert (s2.value, s2.status, s2.unwaived["secrets"], s2.measurements["files"]) == (0, "met", 1, 0)
    assert "waiver" in moved.extra and "waiver" in s2.findings[0].extra
    assert sorted(w.fingerprint for w in run.waivers.applied) == sorted([injection.fingerprint, secret.fingerprint])
    assert not run.waivers.stale and _problems(out) == []
    for path in out.rglob("*"):
        if path.is_file():
            assert _PASSWORD.encode() not in path.read_bytes(), path
    for lang in ("zh", "en"):
        html = render_report(out, "html", lang).decode("utf-8")
        assert injection.fingerprint in html and secret.fingerprint in html


def _semgrep_result(line: int, code: str, root: str = "/r") -> tuple[dict, dict]:
    """semgrep's JSON and SARIF for one eval finding at ``line`` flagging ``code``."""
    result = {"check_id": "r.python-eval-injection", "path": f"{root}/app/calc.py",
              "start": {"line": line, "col": 12}, "end": {"line": line, "col": 40},
              "extra": {"severity": "ERROR", "message": "eval of a value", "lines": "requires login"}}
    sarif = {"runs": [{"results": [{"ruleId": "r.python-eval-injection", "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": f"{root}/app/calc.py"},
        "region": {"startLine": line, "startColumn": 12, "snippet": {"text": code}}}}]}]}]}
    return {"results": [result], "paths": {"scanned": [f"{root}/app/calc.py"]}}, sarif


def test_semgrep_fingerprints_hash_the_flagged_line_not_its_number() -> None:
    from verifier.builtin_probes.semgrep_probe import SemgrepProbe
    from verifier.builtin_probes.semgrep_probe import summarize as semgrep_summary

    def outcome(line: int, code: str = "    return eval(request.args.get('expr'))"):
        data, sarif = _semgrep_result(line, code)
        return semgrep_summary(data, sarif, root=Path("/r"), rule_ids=["python-eval-injection"])

    first, later = outcome(9), outcome(30)
    assert first.findings[0].fingerprint == later.findings[0].fingerprint
    assert first.findings[0].fingerprint.startswith("semgrep:python-eval-injection:app/calc.py:")
    assert outcome(9, "return eval(data)").findings[0].fingerprint != first.findings[0].fingerprint
    waiver = Waiver(fingerprint=first.findings[0].fingerprint, justification="j", reviewer="r", date="2026-01-01")
    waived, before = apply_waivers(SemgrepProbe, first, WaiverFile("w.yaml", b"", {waiver.fingerprint: waiver}))
    assert before["total"] == before["high"] == 1
    assert values(waived) == {**before, "high": 0, "total": 0}  # rules and files do not change


def test_secrets_fingerprints_never_hold_the_secret_and_recount_files() -> None:
    from verifier.builtin_probes.secrets_probe import SecretsProbe
    from verifier.builtin_probes.secrets_probe import summarize as secrets_summary

    def entry(file: str, line: int, value: str) -> dict:
        return {"filename": file, "line_number": line, "type": "Secret Keyword",
                "hashed_secret": hashlib.sha1(value.encode()).hexdigest(), "is_verified": False}

    def outcome(line: int):
        return secrets_summary({"results": {
            "a.py": [entry("a.py", line, _PASSWORD), entry("a.py", line + 5, "other-" + _PASSWORD)],
            "b.py": [entry("b.py", 1, _PASSWORD)]}})

    first, later = outcome(3), outcome(40)
    assert [f.fingerprint for f in first.findings] == [f.fingerprint for f in later.findings]
    assert len({f.fingerprint for f in first.findings}) == 3
    for f in first.findings:  # neither the value nor a hash of the line holding it
        assert _PASSWORD not in f.fingerprint
        line_hash = finding_fingerprint("secrets", f.rule, f.file, f'DB_PASSWORD = "{_PASSWORD}"')
        assert f.fingerprint != line_hash
    entries = {}
    for f in first.findings[:2]:  # both secrets of a.py: a.py holds none left
        entries[f.fingerprint] = Waiver(fingerprint=f.fingerprint, justification="j", reviewer="r", date="2026-01-01")
    waived, before = apply_waivers(SecretsProbe, first, WaiverFile("w.yaml", b"", entries))
    assert (before["secrets"], before["files"]) == (3, 2)
    assert values(waived) == {"secrets": 1, "files": 1}
    one = dict(list(entries.items())[:1])  # one of a.py's two: the file still holds a secret
    assert values(apply_waivers(SecretsProbe, first, WaiverFile("w.yaml", b"", one))[0]) == {"secrets": 2, "files": 2}


def test_semgrep_and_secrets_say_what_they_write_in_chinese() -> None:
    """Every note, finding message and error the two probes write has its Chinese."""
    from verifier.builtin_probes.secrets_probe import summarize as secrets_summary
    from verifier.builtin_probes.semgrep_probe import summarize as semgrep_summary
    from verifier.i18n import VERIFIER_WORDS
    from verifier.probe import ProbeError, presentation_of

    data, sarif = _semgrep_result(9, "eval(x)")
    data["errors"] = [{"type": "Syntax error", "path": "/r/app/x.py", "message": "bad token"},
                      {"message": "rule crashed"}]
    data["paths"]["scanned"] = []
    sarif["runs"][0]["results"][0]["suppressions"] = [{"kind": "inSource"}]
    semgrep = semgrep_summary(data, sarif, root=Path("/r"), rule_ids=["python-eval-injection"], targets=3)
    secrets = secrets_summary({"results": {"a.py": [{"filename": "a.py", "line_number": 1, "type": "Secret Keyword",
                                                    "hashed_secret": "ab" * 20}]}})
    texts = {"semgrep": [*semgrep.notes, *(f.message for f in semgrep.findings)],
             "secrets": [*secrets.notes, *(f.message for f in secrets.findings),
                         "1 line(s) are marked 'pragma: allowlist secret' and were not reported "
                         "(ignore_allowlist: true reports them)",
                         "2 file(s) over 4194304 bytes were not scanned: a.bin, b.bin"]}
    for probe, bad in (("semgrep", {"errors": []}), ("secrets", {"results": []})):
        with pytest.raises(ProbeError) as caught:
            (semgrep_summary(bad, {}, root=Path("/r"), rule_ids=[]) if probe == "semgrep"
             else secrets_summary(bad))
        texts[probe].append(str(caught.value))
    assert len(texts["semgrep"]) >= 5
    for probe, sentences in texts.items():
        words = VERIFIER_WORDS.with_phrases(presentation_of(probe).phrases)
        assert [t for t in sentences if words.zh(t) is None] == [], probe


def test_bandit_and_semgrep_failures_say_themselves_in_chinese() -> None:
    """The errors bandit's probe raises itself, and semgrep's failure with the error it reported
    when it was killed or could not start, have their Chinese."""
    from verifier.i18n import VERIFIER_WORDS
    from verifier.probe import presentation_of

    sentences = {
        "bandit": ["no Python files under src, lib (after exclude tests/**): nothing to scan",
                   "bandit JSON has no 'results' list", "bandit JSON has a result that is not an object"],
        "semgrep": ["semgrep was killed by signal 9: rule crashed",
                    "semgrep could not be started: executable not found: no such file"],
    }
    for probe, texts in sentences.items():
        words = VERIFIER_WORDS.with_phrases(presentation_of(probe).phrases)
        assert [t for t in texts if words.zh(t) is None] == [], probe
