"""Waivers: an expert's judgement that a finding does not count, recorded beside the task book, never
in the delivered product (no ``# nosec`` edit).

The spec names a waiver file (``waivers:``, relative to the spec file's directory, or absolute); it is
YAML or JSON, a list (or ``{waivers: [...]}``) of entries::

    - fingerprint: bandit:B602:inventory_api/admin.py:3f2a9c1b2d4e5f60
      justification: 命令参数来自固定白名单，非用户输入
      reviewer: 张三（湖南省软件测评中心）
      date: 2026-05-20

A fingerprint names one finding of one probe (``verifier.probe.finding_fingerprint``: probe, rule,
place, a hash of what was flagged; ``results.json`` and the report list every finding's). Only the
findings of a probe that can recount its figures without them (``Probe.waivable``: bandit,
semgrep, secrets, robustness) may be waived; ``verifier check`` refuses any other.

A waived finding stays in the results, marked (``extra["waiver"]``, which SARIF turns into a
suppression), and is listed as waived in the report; the probe's figures are recounted without it
(``Probe.recount``) and the indicator is judged on the recounted figure. The figures as the probe
reported them are kept (``unwaived``). A waiver whose finding no longer exists in the run is
*stale*: reported, applied to nothing. The file is copied into the run directory, its sha256
recorded, and ``verify`` recomputes everything from it (``check_waivers``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from verifier.errors import InputError
from verifier.paths import read_file
from verifier.probe import Finding, Probe, ProbeOutcome
from verifier.results import (
    AppliedWaiver,
    FindingRecord,
    IndicatorResult,
    RunResult,
    StaleWaiver,
    WaiversRecord,
)

#: A waiver file larger than this is refused.
MAX_BYTES = 16 * 1024 * 1024
#: Tolerance when comparing recorded figures with recounted ones.
_TOL = 1e-6


class Waiver(BaseModel):
    """One expert judgement: the finding ``fingerprint`` names does not count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fingerprint: str = Field(min_length=3)
    justification: str = Field(min_length=1)
    reviewer: str = Field(min_length=1)
    date: dt.date

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        value = value.strip()
        if ":" not in value or value.startswith(":"):
            raise ValueError("not a finding fingerprint (probe:rule:place:hash, as results.json and "
                             "the report list them)")
        return value

    @field_validator("justification", "reviewer")
    @classmethod
    def _text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @property
    def probe(self) -> str:
        """The probe whose finding it names (the fingerprint up to its first ``:``)."""
        return self.fingerprint.split(":", 1)[0]

    def marker(self) -> dict[str, str]:
        """What a waived finding carries in ``extra["waiver"]`` (SARIF reads it as a suppression)."""
        return {"status": "accepted", "justification": self.justification, "reviewer": self.reviewer,
                "date": self.date.isoformat()}


@dataclass(frozen=True)
class WaiverFile:
    """A loaded waiver file: its entries by fingerprint, the bytes read and where from."""

    source: str
    raw: bytes
    entries: Mapping[str, Waiver]

    @property
    def sha256(self) -> str:
        """Hex sha256 of the file's bytes."""
        return hashlib.sha256(self.raw).hexdigest()


def parse_waivers(raw: bytes, name: str, probes: Mapping[str, type[Probe]] | None = None) -> WaiverFile:
    """A waiver file's bytes (``name`` in messages) as entries; ``InputError`` naming the entry at
    fault. With ``probes``, an entry whose probe is not one of them, or cannot recount its figures
    (``Probe.waivable``), is refused."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"{name}: not UTF-8 text ({err.reason})") from None
    try:
        data = json.loads(text) if name.lower().endswith(".json") else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{name}:{err.lineno}: not valid JSON: {err.msg}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark is not None else name
        raise InputError(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}") from None
    if isinstance(data, dict) and set(data) == {"waivers"}:
        data = data["waivers"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InputError(f"{name}: a waiver file is a list of entries (fingerprint, justification, "
                         "reviewer, date)")
    entries: dict[str, Waiver] = {}
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InputError(f"{name}: entry {index}: expected a mapping, got {type(item).__name__}")
        try:
            entry = Waiver.model_validate(item)
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            message = first["msg"].removeprefix("Value error, ")
            raise InputError(f"{name}: entry {index}: {field + ': ' if field else ''}{message}") from None
        if entry.fingerprint in entries:
            raise InputError(f"{name}: entry {index}: fingerprint {entry.fingerprint} is waived twice")
        if probes is not None:
            probe = probes.get(entry.probe)
            if probe is None:
                raise InputError(f"{name}: entry {index}: no probe {entry.probe!r} "
                                 f"(fingerprint {entry.fingerprint})")
            if not probe.waivable:
                raise InputError(f"{name}: entry {index}: findings of probe {entry.probe!r} cannot be "
                                 "waived: its figures are not counts of its findings")
        entries[entry.fingerprint] = entry
    return WaiverFile(source=name, raw=raw, entries=entries)


def load_waivers(path: Path | str, probes: Mapping[str, type[Probe]] | None = None) -> WaiverFile:
    """Read and parse the waiver file at ``path`` (see ``parse_waivers``)."""
    path = Path(path)
    raw = read_file(path, what="waiver file", max_bytes=MAX_BYTES)
    return parse_waivers(raw, str(path), probes)


def apply_waivers(probe: type[Probe], outcome: ProbeOutcome, waivers: WaiverFile | None
                  ) -> tuple[ProbeOutcome, dict[str, float | None] | None]:
    """``outcome`` with the findings ``waivers`` names marked and the probe's figures recounted
    without them (``Probe.recount``), and the figures as the probe reported them (None when
    nothing was waived). Findings must carry their fingerprints already."""
    if waivers is None or not probe.waivable:
        return outcome, None
    hits = {f.fingerprint for f in outcome.findings if f.fingerprint in waivers.entries}
    if not hits:
        return outcome, None
    findings = tuple(
        replace(f, extra={**f.extra, "waiver": waivers.entries[f.fingerprint].marker()})
        if f.fingerprint is not None and f.fingerprint in hits else f for f in outcome.findings)
    before = {m.metric: m.value for m in outcome.measurements}
    after = probe.recount(before, [f for f in findings if f.fingerprint in hits])
    measurements = tuple(replace(m, value=after.get(m.metric, m.value)) for m in outcome.measurements)
    return replace(outcome, findings=findings, measurements=measurements), before


def is_waived(finding: FindingRecord) -> bool:
    """Whether an expert waived this recorded finding."""
    return isinstance(finding.extra.get("waiver"), Mapping)


def _waived_everywhere(indicators: Sequence[IndicatorResult]) -> dict[str, list[str]]:
    """Fingerprint -> the indicators in which a finding with it was waived (every run of each)."""
    out: dict[str, list[str]] = {}
    for r in indicators:
        found = [f for f in r.findings if is_waived(f)]
        if r.repeats is not None:
            found += [f for run in r.repeats.runs for f in run.waived]
        for f in found:
            if f.fingerprint and r.id not in out.setdefault(f.fingerprint, []):
                out[f.fingerprint].append(r.id)
    return out


def waivers_record(waivers: WaiverFile, path: str, indicators: Sequence[IndicatorResult]) -> WaiversRecord:
    """What a run records of its waivers: the file (``path`` in the run directory, sha256), each
    entry applied (with the indicators) or stale (with the reason)."""
    applied = _waived_everywhere(indicators)
    probes_run = {r.probe for r in indicators}
    done, stale = [], []
    for fp, w in waivers.entries.items():
        common = {"fingerprint": fp, "justification": w.justification, "reviewer": w.reviewer,
                  "date": w.date.isoformat()}
        if fp in applied:
            done.append(AppliedWaiver(**common, indicators=applied[fp]))
        elif w.probe not in probes_run:
            stale.append(StaleWaiver(**common, reason=f"no indicator of this run uses probe {w.probe!r}"))
        else:
            stale.append(StaleWaiver(**common, reason="no finding with this fingerprint in this run: "
                                                      "the finding no longer exists"))
    return WaiversRecord(source=waivers.source, path=path, sha256=waivers.sha256, applied=done, stale=stale)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=_TOL, abs_tol=_TOL)


def _recount_problems(where: str, probe: type[Probe], measurements: Mapping[str, float | None],
                      unwaived: Mapping[str, float | None] | None, waived: Sequence[FindingRecord],
                      entries: Mapping[str, Waiver]) -> list[str]:
    problems = []
    for f in waived:
        entry = entries.get(f.fingerprint or "")
        if entry is None:
            problems.append(f"{where}: finding {f.fingerprint} is marked waived, but the waiver file "
                            "has no such entry")
        elif f.extra.get("waiver") != entry.marker():
            problems.append(f"{where}: finding {f.fingerprint}'s waiver is not the waiver file's entry")
    if not waived:
        if unwaived is not None:
            problems.append(f"{where}: records figures before waivers, but no finding is waived")
        return problems
    if unwaived is None:
        problems.append(f"{where}: waives findings but does not record the figures before waivers")
        return problems
    again = probe.recount(dict(unwaived), [Finding(message=f.message, file=f.file, line=f.line,
                                                   severity=f.severity, rule=f.rule, extra=f.extra,
                                                   fingerprint=f.fingerprint) for f in waived])
    for metric, value in sorted(measurements.items()):
        want = again.get(metric, unwaived.get(metric))
        if not _close(value, want):
            problems.append(f"{where}: {metric} says {value!r}, recounted without the waived findings "
                            f"{want!r}")
    return problems


def check_waivers(result: RunResult, waivers_bytes: bytes | None, probes: Mapping[str, type[Probe]],
                  *, spec_names_waivers: bool) -> list[str]:
    """What disagrees between a run's waivers and the waiver file it records (``waivers_bytes``,
    the copy in the run directory): the file's hash, each waived finding against its entry, each
    waived figure recounted by its probe (``Probe.recount``), findings a waiver names but the run
    counted, and the applied and stale lists."""
    record = result.waivers
    marked = [(r.id, f) for r in result.indicators for f in r.findings if is_waived(f)]
    if record is None:
        unrecorded = [f"indicator {rid}: finding {f.fingerprint} is marked waived, but the run records "
                      "no waiver file" for rid, f in marked]
        if spec_names_waivers:
            unrecorded.append("the spec names a waiver file, but the run records none")
        return unrecorded
    if not spec_names_waivers:
        return ["the run records a waiver file, but its spec names none"]
    if waivers_bytes is None:
        return [f"waiver file {record.path}: missing from the run, so its waivers cannot be recomputed"]
    digest = hashlib.sha256(waivers_bytes).hexdigest()
    if digest != record.sha256:
        return [f"waiver file {record.path}: sha256 {digest[:16]}… is not the one the run records "
                f"({record.sha256[:16]}…)"]
    try:
        waivers = parse_waivers(waivers_bytes, record.source)
    except InputError as err:
        return [f"waiver file {record.path}: {err}"]
    problems: list[str] = []
    for r in result.indicators:
        probe = probes.get(r.probe)
        waived_here = [f for f in r.findings if is_waived(f)]
        if probe is None:
            if waived_here:
                problems.append(f"indicator {r.id}: probe {r.probe!r} is not installed here, so its "
                                "waived figures cannot be recounted")
            continue
        if probe.waivable:
            for f in r.findings:
                entry = waivers.entries.get(f.fingerprint or "")
                if entry is not None and entry.probe == r.probe and not is_waived(f):
                    problems.append(f"indicator {r.id}: finding {f.fingerprint} is waived by the waiver "
                                    "file but counted")
        if r.repeats is None:
            problems += _recount_problems(f"indicator {r.id}", probe, r.measurements, r.unwaived,
                                          waived_here, waivers.entries)
            metric = r.measurements.get(r.metric)
            if r.unwaived is not None and r.status != "error" and not _close(r.value, metric):
                problems.append(f"indicator {r.id}: value {r.value!r} is not its recounted {r.metric} "
                                f"{metric!r}")
        else:
            for run in r.repeats.runs:
                problems += _recount_problems(f"indicator {r.id} run {run.run}", probe, run.measurements,
                                              run.unwaived, run.waived, waivers.entries)
    again = waivers_record(waivers, record.path, result.indicators)
    if again.model_dump() != record.model_dump():
        problems.append("the applied and stale waivers are not what the run's findings and the waiver "
                        "file give")
    return problems

