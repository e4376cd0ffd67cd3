"""Evidence reports of a run: HTML, PDF, Markdown and JSON, in Chinese or English.

``build_view`` turns the canonical ``RunResult`` (plus the run directory's evidence files) into a view
model of ready-to-print strings and SVG charts; the Jinja2 templates in ``report_templates/`` only lay
it out. What a panel reads first: the indicator table with each weight and credit and the score they
add up to; indicators that share a measurement show its charts and tables once (the others refer to
it); a repeated measurement shows its runs and whether it is unstable; each indicator states its test
method (tool, version, arguments, environment) and the function list its test records (GB/T
25000.51). The Chinese report speaks Chinese for everything verifier writes: sentences recorded in
English are shown through their phrases (``verifier.phrases``); text verifier did not write is
``Raw`` (marked ``translate="no"``; a tool's sentence labelled as the tool's own words). The report knows no probe: each indicator's measurements and details are shown as its probe's
``presentation`` declares (``verifier.probe.Presentation``: labels, tables, series, bars), any key it
does not declare under its own name, laid out by its shape. HTML is autoescaped; Markdown escapes every value through ``md_escape`` (the environment's
``finalize``), so nothing from the delivered repository is ever rendered as markup.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import pydantic
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from verifier import charts
from verifier.errors import InputError
from verifier.evidence import canonical_json
from verifier.i18n import LANGS, SEVERITY_LABELS, VERIFIER_WORDS, labels
from verifier.paths import check_output_file, read_file
from verifier.probe import SEVERITIES, Bars, Label, Presentation, Series, Table, presentation_of
from verifier.results import FindingRecord, IndicatorResult, OriginSummary, RunResult
from verifier.run_files import RunFiles
from verifier.scoring import gate_figure, ready_to_apply, score_figure, score_reaches
from verifier.units import format_number
from verifier.vocabulary import CHARACTERISTIC_KEYS
from verifier.waivers import is_waived

FORMATS = ("html", "pdf", "md", "json")
#: the package holding the Jinja2 templates and the CSS (the folder ``report_templates/``, installed
#: inside verifier's namespace), read as package resources
TEMPLATES_PACKAGE = "verifier.report_templates"
ORIGIN_CLASSES = ("self", "third_party", "generated", "unknown", "excluded")
COUNTED_CLASSES = ("self", "third_party", "generated", "unknown")

#: per-format caps that keep large repositories readable: rows of the file table, findings per
#: indicator, directories in the roll-up, rows of a details table
LIMITS: dict[str, dict[str, int]] = {
    "html": {"files": 100_000, "file_bytes": 3_000_000, "findings": 500, "dirs": 200, "table": 100,
             "self_files": 100_000, "evidence_refs": 6, "command_chars": 100_000},
    "pdf": {"files": 300, "file_bytes": 300_000, "findings": 100, "dirs": 60, "table": 30, "self_files": 0,
            "evidence_refs": 2, "command_chars": 240},
    "md": {"files": 500, "file_bytes": 300_000, "findings": 100, "dirs": 60, "table": 30, "self_files": 100_000,
           "evidence_refs": 6, "command_chars": 100_000},
}
#: markup bytes around one row of the file table (tags, cell separators, line end)
_ROW_OVERHEAD = 40
_MAX_RESULTS_BYTES = 256 << 20
_MAX_FILES_TABLE_BYTES = 1 << 30
_MAX_CELL = 300


# --------------------------------------------------------------------------- loading

def load_run(run_dir: str | os.PathLike[str]) -> RunResult:
    """Read and validate ``RUN_DIR/results.json``; ``InputError`` naming what is wrong otherwise."""
    path = Path(run_dir) / "results.json"
    if not Path(run_dir).is_dir():
        raise InputError(f"{run_dir}: not a run directory")
    if not os.path.lexists(path):
        raise InputError(f"{path}: no results.json in the run directory")
    data = read_file(path, what="results file", max_bytes=_MAX_RESULTS_BYTES)
    try:
        return RunResult.model_validate_json(data)
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise InputError(f"{path}: {where}: {first['msg']} ({err.error_count()} problem(s))") from None


def default_output(run_dir: str | os.PathLike[str], fmt: str, lang: str) -> Path:
    """Where ``verifier report`` writes without ``-o``: ``RUN_DIR/reports/report.LANG.EXT``."""
    ext = {"html": "html", "pdf": "pdf", "md": "md", "json": "json"}[fmt]
    return Path(run_dir) / "reports" / f"report.{lang}.{ext}"


def check_output(target: str | os.PathLike[str]) -> None:
    """Fail fast, before any rendering, when the report cannot be written to ``target``:
    ``InputError`` naming the problem (a missing or unwritable folder, a directory, a FIFO, a
    device or a ``/proc`` file as the file)."""
    check_output_file(target, what="report")


#: where a run's files come from: its directory, or a listing with a reader (``verifier.run_files``)
RunSource = str | os.PathLike[str] | RunFiles


def run_files(run: RunSource) -> RunFiles:
    """``run`` as ``RunFiles``: a run directory is listed and hashed (its reports left out)."""
    return run if isinstance(run, RunFiles) else RunFiles.from_dir(run)


def render_report(run_dir: str | os.PathLike[str], fmt: str, lang: str = "zh", *,
                  base: str | None = "../") -> bytes:
    """The report of ``run_dir`` in ``fmt`` (html, pdf, md, json) and ``lang`` as bytes.

    ``base``: the run directory as seen from where the report will sit (``"../"`` for
    ``RUN_DIR/reports/``), used to link evidence files; None for no file links. The output is a
    function of ``results.json``, the run's files (their names, hashes, sizes and the origin
    analysis) and the presentation the run's probes declare (the same installed probes ``verify``
    needs to check the run's spec): no clock, no host, no locale; the same run renders to the same
    bytes anywhere.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    labels(lang)
    result = load_run(run_dir)
    if fmt == "json":  # lone surrogates become \\udcXX escapes: valid JSON, same strings
        return render_json(result).encode("utf-8", errors="backslashreplace")
    files = run_files(run_dir)
    if fmt == "html":
        return render_html(result, files, lang, base=base).encode("utf-8")
    if fmt == "md":
        return render_markdown(result, files, lang, base=base).encode("utf-8")
    return render_pdf(result, files, lang)


def printable(text: str) -> str:
    """``text`` with undecodable bytes of file names (kept as surrogate escapes) shown as ``\\xNN``."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def render_json(result: RunResult) -> str:
    """The canonical data: ``results.json`` re-emitted after validation, as canonical JSON."""
    return canonical_json(result.model_dump(mode="json", by_alias=True))


def render_html(result: RunResult, run_dir: RunSource, lang: str, *,
                base: str | None = "../", fmt: str = "html") -> str:
    """One self-contained HTML file (inline CSS and SVG, no request of any kind)."""
    view = build_view(result, run_dir, lang, fmt=fmt, base=base)
    return printable(_html_env().get_template("report.html.j2").render(v=view, L=view["L"]))


def render_markdown(result: RunResult, run_dir: RunSource, lang: str, *,
                    base: str | None = "../") -> str:
    """The report as Markdown (GitHub/CommonMark), every value escaped."""
    view = build_view(result, run_dir, lang, fmt="md", base=base)
    return printable(_md_env().get_template("report.md.j2").render(v=view, L=view["L"]))


def render_pdf(result: RunResult, run_dir: RunSource, lang: str) -> bytes:
    """The HTML report printed to PDF by WeasyPrint (print stylesheet, Noto Sans CJK SC)."""
    import weasyprint  # heavy: about 1.5 s (Pango, fonts), only for PDF

    html = render_html(result, run_dir, lang, base=None, fmt="pdf")
    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing: {url}")


# --------------------------------------------------------------------------- templates

def md_escape(value: Any) -> str:
    """``value`` as Markdown text: markup characters backslash-escaped, ``&`` and line breaks defused."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\n", " ")
    text = text.replace("&", "&amp;")
    text = re.sub(r"([\\`*{}\[\]<>|~$])", r"\\\1", text)
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)
    # what would start a heading, list, quote or rule when the value begins a line
    text = re.sub(r"^(\s*)(#{1,6}|[-+=])(?=\s|$)", r"\1\\\2", text)
    return re.sub(r"^(\s*\d+)([.)])(?=\s|$)", r"\1\\\2", text)


class MdSafe(str):
    """A string already safe for Markdown (not escaped again)."""


class Raw(str):
    """Text verifier did not write: data from the delivered repository or the task book (names,
    paths, commands) or a tool's own words. Shown as written; in HTML marked ``translate="no"``
    (class ``raw``), so that neither a translator nor a reader takes it for the report's prose."""


class Said(str):
    """A sentence verifier wrote, in the report's language, whose fields are data (``parts``: each
    piece and whether it is data): in HTML the data pieces are marked as ``Raw`` is."""

    parts: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def of(cls, parts: Sequence[tuple[str, bool]]) -> Said:
        """The sentence these pieces make."""
        said = cls("".join(piece for piece, _ in parts))
        said.parts = tuple(parts)
        return said


def _raw_markup(text: str) -> Markup:
    return Markup('<span class="raw" translate="no">') + escape(text) + Markup("</span>")


def _html_finalize(value: Any) -> Any:
    if isinstance(value, Raw):
        return _raw_markup(str(value))
    if isinstance(value, Said) and value.parts:
        return Markup("").join(_raw_markup(piece) if data else escape(piece) for piece, data in value.parts)
    return value


def md_code(value: Any) -> MdSafe:
    """``value`` as a fenced Markdown code block whose fence no line of the value can close."""
    text = str(value).replace("\r\n", "\n").rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return MdSafe(f"{fence}text\n{text}\n{fence}")


def _md_finalize(value: Any) -> str:
    if isinstance(value, MdSafe):
        return value
    if isinstance(value, Markup):  # SVG charts have no place in Markdown
        return ""
    return md_escape(value)


_ENVS: dict[str, Environment] = {}


def _html_env() -> Environment:
    if "html" not in _ENVS:
        _ENVS["html"] = Environment(loader=PackageLoader(TEMPLATES_PACKAGE, "."), autoescape=True,
                                    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                    finalize=_html_finalize)
    return _ENVS["html"]


def _md_env() -> Environment:
    if "md" not in _ENVS:
        env = Environment(loader=PackageLoader(TEMPLATES_PACKAGE, "."), autoescape=False,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                          finalize=_md_finalize, keep_trailing_newline=True)
        env.filters["code"] = md_code
        _ENVS["md"] = env
    return _ENVS["md"]


# --------------------------------------------------------------------------- the view model

def build_view(result: RunResult, run_dir: RunSource, lang: str, *, fmt: str = "html",
               base: str | None = "../") -> dict[str, Any]:
    """Everything a template shows, as strings, lists and SVG markup: no template computes.

    ``run_dir``: the run directory or its ``RunFiles``; only the files listed there are shown or read.
    """
    L = labels(lang)
    limits = LIMITS["html" if fmt not in LIMITS else fmt]
    run = run_files(run_dir)
    appendix = _appendix(run, result, base)
    ev_index = {row["path"]: row for row in appendix}
    ordered = _in_report_order(result.indicators)
    indicators = [_indicator_row(i, n, L, ev_index, limits) for n, i in enumerate(ordered, 1)]
    anchors = {row["id"]: row["anchor"] for row in indicators}
    css = resources.files(TEMPLATES_PACKAGE).joinpath("report.css").read_text(encoding="utf-8")
    sections = _sections(L, with_functions=bool(result.functions))
    return {
        "L": L,
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "collapse": fmt == "html",
        "is_pdf": fmt == "pdf",
        "css": Markup(css),
        "notice": result.notice.get(lang) or next(iter(result.notice.values()), ""),
        "cover": _cover(result, L),
        "summary": _summary(result, L, lang),
        "groups": _groups(indicators, L),
        "score_formula": _score_formula(result, L),
        "waivers": _waivers(result, L, lang),
        "origin": _origin(result.origin, run, L, limits, ev_index, lang),
        "functions": [_function_row(f, L) for f in result.functions],
        "details": [_detail(i, row, L, lang, limits, ev_index, result, anchors)
                    for i, row in zip(ordered, indicators)],
        "environment": _environment(result, L),
        "materials": [_material_row(m, lang, L) for m in result.materials],
        "appendix": appendix,
        "footer": L["generated_by"].format(version=result.verifier_version),
        "sections": sections,
        "no": {s["id"]: s["no"] for s in sections},
    }


def _sections(L: Mapping[str, str], *, with_functions: bool) -> list[dict[str, str]]:
    """The report's sections in order with their numbers (the same in every format); the appendix
    carries none. The function list section is there only when the task book declares functions."""
    ids = ["summary", "indicators", "origin", *(["functions"] if with_functions else []), "details",
           "environment", "materials"]
    out = [{"id": sid, "title": L[f"sec_{sid}"], "no": str(n)} for n, sid in enumerate(ids, 1)]
    return out + [{"id": "appendix", "title": L["sec_appendix"], "no": ""}]


def fmt_number(value: float | int | None) -> str:
    """A figure for people, rounded as everywhere else (``verifier.units.format_number``: whole
    numbers in full, others to 4 significant digits) with thousands separators; ``—`` for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    return format_number(float(value), group=True)


_UNIT_SUFFIX = {"%": "%", "ms": " ms", "s": " s", "rps": " rps", "per_kloc": " /kLOC", "MB": " MB",
                "count": "", "ratio": "", "score": "", "grade": ""}


def fmt_value(value: float | None, unit: str, L: Mapping[str, str]) -> str:
    """A measured value with its unit, or the 'not measured' label."""
    if value is None:
        return L["not_measured"]
    return fmt_number(value) + _UNIT_SUFFIX.get(unit, f" {unit}" if unit else "")


def _cell(value: Any, L: Mapping[str, str] | None = None) -> str:
    if isinstance(value, bool) and L is not None:
        return L["yes"] if value else L["no"]
    text = "" if value is None else (fmt_number(value) if isinstance(value, (int, float)) else str(value))
    if len(text) > _MAX_CELL:
        text = text[:_MAX_CELL - 1] + "…"
        return Raw(text) if isinstance(value, (Raw, Said)) else text
    return value if isinstance(value, (Raw, Said)) else text


def _status(status: str, L: Mapping[str, str]) -> dict[str, str]:
    return {"text": L[f"status_{status}"], "cls": f"st-{status}"}


def _cover(result: RunResult, L: Mapping[str, str]) -> dict[str, Any]:
    started = _date(result.started_at)
    finished = _date(result.finished_at) if result.finished_at else ""
    dates = started if not finished or finished == started else f"{started} — {finished}"
    repo = result.repository
    return {
        "title": f"{result.project.name} {result.project.version}",
        "product": Raw(result.project.name),
        "version": Raw(result.project.version),
        "applicant": Raw(result.project.applicant or "—"),
        "owners": Raw("; ".join(result.project.owners) or "—"),
        "report_id": result.run_id,
        "dates": dates,
        "basis": [Said.of([(L["basis_task_book"] + " ", False),
                           (f"{result.spec_path} (sha256 {result.spec_sha256[:16]}…)", True)]),
                  L["basis_standards"]],
        "repository": Raw(repo.path),
        "commit": Raw((repo.commit or "—") + (" (dirty)" if repo.dirty else "")),
        "tree": repo.tree_sha256 or "—",
        "signatures": [L["prepared_by"], L["reviewed_by"], L["approved_by"]],
    }


def _date(stamp: str | None) -> str:
    return (stamp or "")[:10]


def _summary(result: RunResult, L: Mapping[str, str], lang: str) -> dict[str, Any]:
    score = result.score
    gates = []
    for gate in result.gates:
        state = "holds" if gate.passed else ("fails" if gate.passed is False else "undecided")
        gates.append({"description": gate.description_zh if lang == "zh" else gate.description_en,
                      "figure": gate_figure(gate, lang), "text": L[state], "cls": f"gate-{state}"})
    counts = Counter(i.status for i in result.indicators)
    figures = {"score": fmt_number(score.value), "maximum": fmt_number(score.maximum),
               "pass_score": fmt_number(score.pass_score)}
    ranged = score.lowest is not None and score.highest is not None
    if ranged:  # errors leave the score open: the range is the headline, the measured figure beside it
        score_text = L["score_range"].format(range=score_figure(score), **figures)
        measured = any(i.status in ("met", "not_met") for i in result.indicators)
        score_detail = L["score_range_detail" if measured else "score_range_none"].format(**figures)
    else:
        score_text, score_detail = L["score_vs"].format(**figures), ""
    return {
        "verdict": L[f"verdict_{result.verdict}"],
        "verdict_cls": f"verdict-{result.verdict}",
        "conditions": _conditions(result, L, lang),
        "score": score_text,
        "score_detail": score_detail,
        "score_label": L["score_range_label"] if ranged else L["score"],
        "score_note": L["score_range_note"] if ranged else "",
        "reasons": [r.get(lang) or r.get("en", "") for r in result.verdict_reasons],
        "gates": gates,
        "counts": [{"n": str(counts.get(s, 0)), **_status(s, L)}
                   for s in ("met", "not_met", "not_applicable", "error")],
    }


def _conditions(result: RunResult, L: Mapping[str, str], lang: str) -> list[dict[str, str]]:
    """The verdict's two questions in plain words: ready to apply for acceptance (every gate holds,
    every task-book indicator met among them), and score ≥ the pass score."""
    ready = ready_to_apply(result.gates)
    s = result.score
    score = score_figure(s)
    state = {True: "yes", False: "no", None: "open"}
    wanted = False if ready is False else None
    named = "、".join(f"“{g.description_zh}”" for g in result.gates if g.passed is wanted) if lang == "zh" \
        else "; ".join(g.description_en for g in result.gates if g.passed is wanted)
    reaches = score_reaches(result.score)
    return [
        {"label": L["ready_label"], "text": L[f"ready_{state[ready]}"].format(gates=named),
         "cls": _CONDITION_CLS[ready]},
        {"label": L["reaches_label"].format(pass_score=fmt_number(result.score.pass_score)),
         "text": L[f"reaches_{state[reaches]}"].format(score=score), "cls": _CONDITION_CLS[reaches]},
    ]


_CONDITION_CLS = {True: "gate-holds", False: "gate-fails", None: "gate-undecided"}


def _indicator_row(ind: IndicatorResult, n: int, L: Mapping[str, str],
                   ev_index: Mapping[str, dict[str, Any]], limits: Mapping[str, int]) -> dict[str, Any]:
    refs = sorted((ev_index[p]["ref"] for p in set(ind.evidence) if p in ev_index),
                  key=lambda r: int(r["label"][1:]))
    notes = []
    if ind.repeats is not None:
        notes.append(L["repeat_row"].format(runs=len(ind.repeats.runs), low=fmt_value(ind.repeats.min, ind.unit, L),
                                            high=fmt_value(ind.repeats.max, ind.unit, L)))
    if ind.measured_with is not None:
        notes.append(L["shared_row"].format(id=ind.measured_with))
    shown = limits["evidence_refs"]
    return {
        "no": str(n),
        "anchor": f"ind-{n}",
        "id": ind.id,
        "name": Raw(ind.name),
        "characteristic": ind.characteristic,
        "target": ind.target,
        "beyond": "" if ind.required else L["beyond_task_book"],
        "result": fmt_value(ind.value, ind.unit, L),
        "result_notes": notes,
        "unstable": L["unstable"] if ind.repeats is not None and ind.repeats.unstable else "",
        "status": _status(ind.status, L),
        "weight": fmt_number(ind.weight),
        "credit": fmt_number(round(ind.credit, 4)) if ind.status in ("met", "not_met") else "—",
        "evidence": refs[:shown],
        "evidence_more": f"+{len(refs) - shown}" if len(refs) > shown else "",
    }


def _score_formula(result: RunResult, L: Mapping[str, str]) -> str:
    """How the score comes from the table's weights and credits, with the figures."""
    scored = [i for i in result.indicators if i.status in ("met", "not_met")]
    weight = sum(i.weight for i in scored)
    if not scored or weight <= 0:
        return L["score_formula_none"]
    earned = sum(i.weight * i.credit for i in scored)
    return L["score_formula"].format(earned=fmt_number(round(earned, 4)), weight=fmt_number(weight),
                                     score=fmt_number(result.score.value))


def _waivers(result: RunResult, L: Mapping[str, str], lang: str) -> dict[str, Any] | None:
    """The waiver file the run applied: what it waived and which of its entries are stale."""
    record = result.waivers
    if record is None:
        return None
    says = _Shown(Presentation(), lang).says
    return {
        "intro": L["waivers_intro"].format(path=record.path, sha=record.sha256[:16] + "…",
                                           applied=len(record.applied), stale=len(record.stale)),
        "applied": [{"fingerprint": Raw(w.fingerprint), "indicators": ", ".join(w.indicators),
                     "justification": Raw(w.justification), "reviewer": Raw(w.reviewer), "date": w.date}
                    for w in record.applied],
        "stale": [{"fingerprint": Raw(w.fingerprint), "reason": says(w.reason),
                   "justification": Raw(w.justification), "reviewer": Raw(w.reviewer), "date": w.date}
                  for w in record.stale],
    }


def _in_report_order(indicators: list[IndicatorResult]) -> list[IndicatorResult]:
    """Indicators grouped by characteristic (GB/T 25000.10 order, unknown ones last), task-book order within."""
    rank = {c: n for n, c in enumerate(CHARACTERISTIC_KEYS)}
    return sorted(indicators, key=lambda i: (rank.get(i.characteristic, len(rank)), i.characteristic))


def _groups(rows: list[dict[str, Any]], L: Mapping[str, str]) -> list[dict[str, Any]]:
    order = list(CHARACTERISTIC_KEYS) + sorted({r["characteristic"] for r in rows} - set(CHARACTERISTIC_KEYS))
    groups = []
    for char in order:
        members = [r for r in rows if r["characteristic"] == char]
        if members:
            groups.append({"name": L.get(f"char_{char}", char), "rows": members})
    return groups


def _function_row(f: Any, L: Mapping[str, str]) -> dict[str, Any]:
    return {"id": f.id, "name": Raw(f.name), "description": Raw(f.description) if f.description else "",
            "tests": Raw(", ".join(f.tests)) if f.tests else "—",
            "passed": str(f.passed), "failed": str(f.failed),
            "covered": {"text": L["covered"] if f.covered else L["not_covered"],
                        "cls": "st-met" if f.covered else "st-not_met"},
            "cases": _test_records(f, L)}


def _test_records(f: Any, L: Mapping[str, str]) -> list[dict[str, Any]]:
    """The test records of a function item: one row per test, the parameter sets of a
    parametrised test in one row (how many, how many did not pass)."""
    grouped: dict[str, list[Any]] = {}
    for case in f.cases:
        grouped.setdefault(case.nodeid.split("[", 1)[0], []).append(case)
    rows = []
    for n, (base, cases) in enumerate(grouped.items(), 1):
        failed = sum(c.outcome == "failed" for c in cases)
        passed = sum(c.outcome == "passed" for c in cases)
        outcome = "failed" if failed else ("passed" if passed else "skipped")
        text = L[f"outcome_{outcome}"]
        if len(cases) > 1:
            text += L["cases_of"].format(bad=failed, total=len(cases)) if failed else L["cases_all"].format(
                total=len(cases))
        descriptions = list(dict.fromkeys(c.description for c in cases if c.description))
        rows.append({"id": f"{f.id}.{n}", "name": Raw(base.rsplit("::", 1)[-1]), "nodeid": Raw(base),
                     "nodeid_attr": str(base),
                     "params": Raw(", ".join(c.name[len(c.name.split("[", 1)[0]):] for c in cases))
                     if len(cases) > 1 else "",
                     "description": Raw(" ".join(descriptions)) if descriptions else "—",
                     "result": {"text": text, "cls": {"passed": "st-met", "failed": "st-not_met"}.get(
                         outcome, "st-not_applicable")}})
    return rows


def _material_row(m: Any, lang: str, L: Mapping[str, str]) -> dict[str, Any]:
    if not m.patterns:
        state = {"text": f"{L['material_missing']} ({L['material_undeclared']})", "cls": "st-not_met"}
    else:
        state = {"text": L["material_ok"] if m.ok else L["material_missing"],
                 "cls": "st-met" if m.ok else "st-not_met"}
    return {"label": m.label_zh if lang == "zh" else m.label_en, "key": m.key,
            "required": str(m.required), "found": str(len(m.found)),
            "patterns": Raw(", ".join(m.patterns) or "—"), "state": state,
            "files": [{"path": Raw(f.path), "sha256": f.sha256, "size": fmt_number(f.size)} for f in m.found]}


def _environment(result: RunResult, L: Mapping[str, str]) -> dict[str, Any]:
    env = result.environment
    commands = [{"who": "verifier", "line": Raw(shlex.join(result.command))}] if result.command else []
    return {
        "facts": [(L["os"], Raw(env.os)), (L["machine"], Raw(env.machine)), (L["cpu"], Raw(env.cpu)),
                  (L["cpu_count"], str(env.cpu_count)), (L["python"], env.python),
                  (L["spec"], Raw(f"{result.spec_path} (sha256 {result.spec_sha256})")),
                  (L["run_started"], result.started_at), (L["run_finished"], result.finished_at or "—")],
        "tools": [(Raw(k), Raw(v)) for k, v in sorted(env.tools.items())],
        "commands": commands,
        "sut": _system_under_test(result, L),
        "assets": [{"path": "{spec_dir}/" + a.path, "sha256": a.sha256, "size": fmt_number(a.size)}
                   for a in result.assets],
    }


def _system_under_test(result: RunResult, L: Mapping[str, str]) -> dict[str, Any] | None:
    """The system under test as the report shows it; None for runs that did not record it."""
    sut = result.system_under_test
    if sut is None:
        return None
    return {
        "facts": [(L["os"], sut.os), (L["machine"], sut.machine), (L["cpu"], sut.cpu),
                  (L["cpu_count"], str(sut.cpu_count)),
                  (L["memory_mb"], fmt_number(sut.memory_mb))],
        "runtimes": [{"name": r.name, "path": r.path, "version": r.version or "—", "detail": r.detail}
                     for r in sut.runtimes],
        "packages_from": sut.packages_from,
        "packages_title": L["sut_packages"].format(source=sut.packages_from or "—"),
        "packages": [{"name": p.name, "version": p.version, "license": p.license or "—"} for p in sut.packages],
        "setup": [{"line": shlex.join(s.command) if not s.cached else " ".join(s.command),
                   "state": L["sut_cached"] if s.cached else f"{L['exit_status']} {s.returncode}"
                   + (f" · {s.duration_s:g} s" if s.duration_s else "")} for s in sut.setup],
        "notes": list(sut.notes),
    }


# --------------------------------------------------------------------------- appendix

#: Run-directory folders of verifier's own bookkeeping, not evidence: ``state/`` holds a copy of
#: each finished indicator's result for ``--resume`` (results.json has them all).
_BOOKKEEPING = ("state/",)


def _appendix(run: RunFiles, result: RunResult, base: str | None) -> list[dict[str, Any]]:
    """Every evidence file of the run (reports and the resume bookkeeping are not evidence) and
    every one the results name."""
    present = {rel: entry for rel, entry in run.entries.items() if not rel.startswith(_BOOKKEEPING)}
    referenced = {p for i in result.indicators for p in i.evidence}
    if result.origin and result.origin.files_path:
        referenced.add(result.origin.files_path)
    rows = []
    for n, rel in enumerate(sorted(set(present) | referenced), 1):
        entry = present.get(rel)
        rows.append({
            "ref": {"label": f"E{n}", "anchor": f"ev-{n}"},
            "path": rel,
            "sha256": entry.sha256 if entry else "",
            "size": fmt_number(entry.size) if entry else "",
            "missing": entry is None,
            "href": (base + quote(rel)) if base is not None and entry is not None else "",
        })
    return rows


# --------------------------------------------------------------------------- origin

def _origin(origin: OriginSummary | None, run: RunFiles, L: Mapping[str, str], limits: Mapping[str, int],
            ev_index: Mapping[str, dict[str, Any]], lang: str) -> dict[str, Any] | None:
    if origin is None:
        return None
    says = _Shown(Presentation(), lang).says
    totals = {c: origin.totals.get(c, {}) for c in ORIGIN_CLASSES}
    numerator = int(totals["self"].get("lines", 0))
    denominator = sum(int(totals[c].get("lines", 0)) for c in COUNTED_CLASSES)
    state = "met" if origin.passed else ("not_met" if origin.passed is False else "error")
    rows = []
    for c in ORIGIN_CLASSES:
        lines = int(totals[c].get("lines", 0))
        share = (f"{lines / denominator * 100:.1f}%" if denominator and c in COUNTED_CLASSES else "—")
        rows.append({"cls": c, "label": L[f"class_{c}"], "files": fmt_number(totals[c].get("files", 0)),
                     "lines": fmt_number(lines), "share": share})
    chart = charts.share_bar([(L[f"class_{c}"], float(totals[c].get("lines", 0)), charts.STATUS_COLOURS[c])
                              for c in COUNTED_CLASSES], title=L["chart_origin"])
    files_view = _file_table(origin, run, L, limits, ev_index, says)
    return {
        "error": origin.error or "",
        "status": _status(state, L),
        "ratio": _pct(origin.ratio),
        "ratio_without_tests": _pct(origin.ratio_without_tests),
        "threshold": f"≥ {_pct(origin.threshold)}",
        "formula": L["origin_formula"],
        "numerator": fmt_number(numerator),
        "denominator": fmt_number(denominator),
        "equation": (f"{fmt_number(numerator)} ÷ {fmt_number(denominator)} = {_pct(origin.ratio)}"
                     if denominator else "—"),
        "counting": says(origin.counting) if origin.counting else "",
        "totals": rows,
        "chart": chart,
        "components": [_component(c) for c in origin.components],
        **_dependencies(origin, L),
        "adjudications": [_adjudication(a, L) for a in origin.adjudications],
        "warnings": [says(_cell(w)) for w in origin.warnings],
        "not_scanned": [{"path": Raw(_cell(item.get("path"))), "reason": says(_cell(item.get("reason")))}
                        for item in origin.not_scanned],
        "not_scanned_note": (L["not_scanned_more"].format(
            total=fmt_number(origin.not_scanned_total), shown=fmt_number(len(origin.not_scanned)),
            path=origin.files_path or "origin.json")
            if origin.not_scanned_total > len(origin.not_scanned) else ""),
        **files_view,
    }


def _pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


#: Most declared dependencies listed in a report (all of them are in origin.json).
_DEPENDENCY_ROWS = 300


def _dependencies(origin: OriginSummary, L: Mapping[str, str]) -> dict[str, Any]:
    """The declared dependencies and CDN assets of the components section."""
    deps = origin.dependencies
    rows = []
    for d in deps[:_DEPENDENCY_ROWS]:
        direct: Any = d.get("direct")
        scope = {True: L["dependency_direct"], False: L["dependency_transitive"]}.get(direct, "—")
        rows.append({"name": _cell(d.get("name")), "version": _cell(d.get("version") or "—"),
                     "license": _cell(d.get("license") or "—"), "scope": scope,
                     "declared_in": _cell(d.get("declared_in") or "—")})
    cdn = [{"url": _cell(a.get("url")), "package": _cell(a.get("package") or "—"),
            "version": _cell(a.get("version") or "—"),
            "file": _cell(f"{a.get('file')}:{a.get('line')}")}
           for a in origin.cdn_assets[:_DEPENDENCY_ROWS]]
    return {"dependencies": rows, "cdn_assets": cdn,
            "dependencies_note": (L["dependencies_more"].format(
                total=fmt_number(len(deps)), shown=fmt_number(len(rows)),
                path=origin.files_path or "origin.json") if len(deps) > len(rows) else ""),
            "kb_partial": L["kb_partial"] if origin.kb_partial else ""}


def _component(c: Mapping[str, Any]) -> dict[str, str]:
    version = c.get("version")
    name = str(c.get("name") or "—") + (f" {version}" if version else "")
    lic = c.get("license") or c.get("license_expression") or c.get("licenses") or "—"
    if isinstance(lic, list):
        lic = ", ".join(map(str, lic)) or "—"
    return {"name": Raw(_cell(name)), "license": Raw(_cell(lic)), "path": Raw(_cell(c.get("path") or "—")),
            "lines": fmt_number(c.get("lines")) if isinstance(c.get("lines"), (int, float)) else "—"}


def _adjudication(a: Mapping[str, Any], L: Mapping[str, str]) -> dict[str, str]:
    origin = str(a.get("origin") or "—")
    return {"target": Raw(_cell(a.get("path") or a.get("sha256") or "—")),
            "origin": L.get(f"class_{origin}", origin),
            "justification": Raw(_cell(a.get("justification") or "—")),
            "reviewer": Raw(_cell(a.get("reviewer") or "—")), "date": _cell(a.get("date") or "—")}


def _file_table(origin: OriginSummary, run: RunFiles, L: Mapping[str, str], limits: Mapping[str, int],
                ev_index: Mapping[str, dict[str, Any]], says: Any) -> dict[str, Any]:
    empty = {"file_groups": [], "dirs": [], "files_note": "", "files_error": "", "self_note": ""}
    if not origin.files_path:
        return empty
    files = _read_file_table(run.read(origin.files_path, _MAX_FILES_TABLE_BYTES))
    if files is None:
        return {**empty, "files_error": L["file_table_missing"].format(path=origin.files_path)}
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    dirs: dict[str, Counter[str]] = defaultdict(Counter)
    for f in files:
        cls = f["origin"] if f["origin"] in ORIGIN_CLASSES else "unknown"
        by_class[cls].append(f)
        parts = PurePosixPath(f["path"]).parts[:-1]
        key = "/".join(parts[:2]) + "/" if parts else "./"
        dirs[key][cls] += f["lines"]
        dirs[key]["_files"] += 1
    budget_rows, budget_bytes = limits["files"], limits["file_bytes"]
    groups = []
    shown_total = 0
    self_note = ""
    summarised: list[str] = []
    for cls in ("unknown", "third_party", "generated", "excluded", "self"):
        members: list[dict[str, Any]] = sorted(by_class.get(cls, []), key=lambda f: f["path"])
        if not members:
            continue
        if cls in ("self", "excluded") and len(members) > limits["self_files"]:
            # the PDF lists the files whose lines a panel questions; self-developed and excluded
            # ones are in the table by directory, the HTML report and the evidence file
            summarised.append(L["files_left_out"].format(
                label=L[f"class_{cls}"], count=fmt_number(len(members)),
                lines=fmt_number(sum(f["lines"] for f in members))))
            continue
        if limits["self_files"] == 0:  # the PDF: files that weigh nothing do not move the ratio
            weightless = [f for f in members if not f["lines"]]
            members = [f for f in members if f["lines"]]
            if weightless:
                summarised.append(L["files_left_out"].format(
                    label=L[f"class_{cls}"] + L["zero_lines"], count=fmt_number(len(weightless)), lines="0"))
            if not members:
                continue
        rows = []
        for f in members:
            row = (Raw(_cell(f["path"])), Raw(_cell(f["language"])), fmt_number(f["lines"]),
                   says(_cell(f["reason"])))
            cost = sum(len(escape(c)) for c in row) + _ROW_OVERHEAD
            if shown_total >= budget_rows or cost > budget_bytes:
                break
            budget_bytes -= cost
            shown_total += 1
            rows.append(row)
        groups.append({
            "label": L[f"class_{cls}"], "cls": cls, "count": fmt_number(len(members)),
            "shown": fmt_number(len(rows)), "open": cls != "self" and len(rows) <= 200,
            "rows": rows, "truncated": len(rows) < len(members),
        })
    if summarised:
        self_note = L["self_files_left_out"].format(files=L["list_sep"].join(summarised), path=origin.files_path)
    note = ""
    listed = len(files) - sum(len(by_class.get(c, [])) for c in ("self", "excluded")
                              if len(by_class.get(c, [])) > limits["self_files"])
    if limits["self_files"] == 0:
        listed -= sum(1 for c in ("unknown", "third_party", "generated") for f in by_class.get(c, []) if not f["lines"])
    if shown_total < listed:
        ev = ev_index.get(origin.files_path)
        note = L["rows_shown"].format(shown=fmt_number(shown_total), total=fmt_number(len(files)),
                                      path=origin.files_path, sha=(ev["sha256"] if ev else "—"))
    top_dirs = sorted(dirs.items(), key=lambda kv: (-sum(v for k, v in kv[1].items() if k != "_files"), kv[0]))
    dir_rows = []
    for name, counter in top_dirs[:limits["dirs"]]:
        counted = sum(counter[c] for c in COUNTED_CLASSES)
        dir_rows.append({"name": Raw(name), "files": fmt_number(counter["_files"]),
                         "cells": [fmt_number(counter[c]) for c in ORIGIN_CLASSES],
                         "share": f"{counter['self'] / counted * 100:.1f}%" if counted else "—"})
    return {"file_groups": groups, "dirs": dir_rows, "files_note": note, "files_error": "", "self_note": self_note}


def _read_file_table(raw: bytes | None) -> list[dict[str, Any]] | None:
    """The ``files`` list of the origin evidence file's bytes, each entry normalised; None when unusable."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        return None
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str):
            continue
        lines = f.get("lines")
        out.append({"path": f["path"], "language": str(f.get("language") or ""),
                    "lines": int(lines) if isinstance(lines, (int, float)) and not isinstance(lines, bool) else 0,
                    "origin": str(f.get("origin") or "unknown"), "reason": str(f.get("reason") or "")})
    return out


# --------------------------------------------------------------------------- per-indicator detail

class _Shown:
    """A probe's declared presentation (``verifier.probe.Presentation``) in the report's language:
    its labels and value words; a key or value it does not declare is shown as written."""

    def __init__(self, presentation: Presentation, lang: str) -> None:
        self.p = presentation
        self.lang = lang
        self.index = LANGS.index(lang)
        self.severities = SEVERITY_LABELS[lang]
        words = {key: {value: pair[0] for value, pair in values.items()} for key, values in presentation.words.items()}
        words.update({key: dict(SEVERITY_LABELS["zh"]) for key in presentation.severity})
        self.translator = VERIFIER_WORDS.with_phrases(presentation.phrases, words)

    def says(self, text: str) -> str:
        """A sentence the probe (or verifier) wrote, in the report's language: in Chinese when one
        of its phrases matches it (``verifier.phrases``), else as written, marked as the tool's own
        words (``Raw``). English reports show it as written."""
        if self.lang == "en":
            return text
        parts = self.translator.parts(text)
        return Raw(text) if parts is None else Said.of(parts)

    def label(self, key: str) -> str:
        """The readable name of ``key``, or ``key`` itself."""
        pair = self.p.labels.get(key)
        return pair[self.index] if pair else key

    def text(self, pair: Label | None, default: str) -> str:
        """A declared phrase in this language, or ``default``."""
        return pair[self.index] if pair else default

    def alias(self, key: str) -> str:
        """The readable name of ``key``, empty when there is none or it only respells the key
        (``p95 (ms)`` for ``p95_ms``): the key is then shown alone."""
        alias = self.label(key)
        return "" if re.sub(r"[\W_]", "", alias.lower()) == re.sub(r"[\W_]", "", key.lower()) else alias

    def severity(self, value: str) -> str:
        """A finding severity in the report's words (high → 高); an unknown one as written."""
        return self.severities.get(value.lower(), value)

    def word(self, key: str, value: Any) -> Any:
        """``value`` of column or details key ``key`` in the report's words, where the probe
        declares them (severities, ``words``) or a phrase matches it; any other text as written,
        marked as data (``Raw``)."""
        if not isinstance(value, str):
            return value
        if key in self.p.severity:
            return self.severity(value)
        words = self.p.words.get(key)
        pair = words.get(value) if words else None
        if pair:
            return pair[self.index]
        return self.says(value) if value else value


def _detail(ind: IndicatorResult, row: dict[str, Any], L: Mapping[str, str], lang: str,
            limits: Mapping[str, int], ev_index: Mapping[str, dict[str, Any]], result: RunResult,
            anchors: Mapping[str, str]) -> dict[str, Any]:
    shown = _Shown(presentation_of(ind.probe), lang)
    alias = shown.alias(ind.metric)
    metric = f"{ind.metric} · {alias}" if alias else ind.metric
    facts: list[tuple[str, Any, str]] = [
        (L["characteristic"], L.get(f"char_{ind.characteristic}", ind.characteristic), ""),
        (L["metric"], metric, ""), (L["target"], ind.target, "target"), (L["value"], row["result"], "target"),
        (L["col_weight"], f"{row['weight']} · {L['col_credit']} {row['credit']}", "")]
    if ind.started_at:
        facts.append((L["started"], ind.started_at, ""))
    if ind.duration_s is not None:
        facts.append((L["duration"], f"{fmt_number(round(ind.duration_s, 1))} s", ""))
    view: dict[str, Any] = {
        "anchor": row["anchor"],
        "title": Raw(f"{ind.id} {ind.name}"),
        "status": row["status"],
        "reason": ind.reason if lang == "en" else _judgement(ind, row, L),
        "reason_more": _note(shown.says(ind.reason)) if lang == "zh" and ind.status == "error" else None,
        "facts": facts,
        "method": _method(ind, result, L, shown),
        "shared": "", "shared_anchor": "", "repeats": None,
        "measurements": [], "scalars": [], "commands": [], "notes": [], "charts": [], "tables": [],
        "findings": [], "findings_note": "", "waived": [], "evidence": [], "evidence_refs": [],
    }
    if ind.measured_with is not None:  # the same measurement as another indicator: shown there, once
        view["shared"] = L["shared_with"].format(id=ind.measured_with)
        view["shared_anchor"] = anchors.get(ind.measured_with, "")
        return view
    sections = {"functions"} if result.functions else set()
    charts_, tables, scalars = _details_views(ind, L, shown, limits, sections)
    counted = [f for f in ind.findings if not is_waived(f)]
    findings = counted[: limits["findings"]]
    evidence = sorted((ev_index[p] for p in set(ind.evidence) if p in ev_index),
                      key=lambda e: int(e["ref"]["label"][1:]))
    view.update({
        "repeats": _repeats(ind, L) if ind.repeats is not None else None,
        "measurements": [(name, shown.alias(name), fmt_number(value))
                         for name, value in sorted(ind.measurements.items())],
        "scalars": scalars,
        "commands": [_command(c, limits["command_chars"], L) for c in ind.commands],
        "notes": [_note(shown.says(n)) for n in ind.notes],
        "charts": charts_,
        "tables": tables,
        "findings": [{"severity": shown.severity(f.severity) if f.severity else "—",
                      "cls": f"sev-{(f.severity or '').lower()}",
                      "location": Raw(_location(f.file, f.line)), "rule": Raw(_cell(f.rule or "—")),
                      "message": _note(shown.says(_cell(f.message)))} for f in findings],
        "findings_note": (L["findings_shown"].format(shown=len(findings), total=len(counted))
                          if len(findings) < len(counted) else ""),
        "waived": [_waived_finding(f, shown) for f in ind.findings if is_waived(f)],
        "evidence": evidence,
        "evidence_refs": [e["ref"] for e in evidence],
    })
    return view


def _command(argv: Sequence[str], limit: int, L: Mapping[str, str]) -> dict[str, Any]:
    """A command line as run; past ``limit`` characters (the PDF) cut, the rest in results.json."""
    line = shlex.join(argv)
    if len(line) <= limit:
        return {"line": Raw(line), "cut": ""}
    return {"line": Raw(line[:limit].rstrip() + " …"),
            "cut": L["command_cut"].format(total=fmt_number(len(line)))}


def _note(text: str) -> dict[str, Any]:
    """A sentence for a list: ``tool`` when it is a tool's own words (no phrase matched it)."""
    return {"text": text, "tool": isinstance(text, Raw)}


def _method(ind: IndicatorResult, result: RunResult, L: Mapping[str, str], shown: _Shown) -> list[tuple[str, Any]]:
    """The test method of an indicator (GB/T 25000.51 test records): the probe and the tools it ran
    with their versions, the arguments the task book declares, repetitions, and the environment."""
    tools = "; ".join(f"{name} {version}" for name, version in sorted(ind.tools.items()))
    probe = f"{ind.probe}" + (f" ({tools})" if tools else "")
    rows: list[tuple[str, Any]] = [(L["method_tool"], Raw(probe))]
    if ind.arguments:
        rows.append((L["method_arguments"], Raw(_flow(ind.arguments))))
    if ind.repeat > 1 or ind.repeats is not None:
        runs = len(ind.repeats.runs) if ind.repeats is not None else ind.repeat
        rows.append((L["method_repeat"], L["repeat_median"].format(runs=runs)))
    env = result.environment
    rows.append((L["method_environment"], L["method_environment_text"].format(
        os=Raw(env.os), python=env.python, cpus=env.cpu_count)))
    return rows


def _flow(value: Mapping[str, Any]) -> str:
    """Arguments as one line of YAML flow style, as a task book would write them."""
    text = yaml.safe_dump(dict(value), default_flow_style=True, allow_unicode=True, sort_keys=False, width=10**6)
    text = text.strip()
    return text[1:-1] if text.startswith("{") and text.endswith("}") else text


def _repeats(ind: IndicatorResult, L: Mapping[str, str]) -> dict[str, Any]:
    """A repeated measurement: every run with its value and judgement, the range, instability."""
    rep = ind.repeats
    assert rep is not None
    met = sum(r.status == "met" for r in rep.runs)
    return {
        "summary": L["repeats_summary"].format(
            runs=len(rep.runs), median=fmt_value(ind.value, ind.unit, L), low=fmt_value(rep.min, ind.unit, L),
            high=fmt_value(rep.max, ind.unit, L), spread=fmt_value(rep.spread, ind.unit, L), met=met,
            shown=rep.shown),
        "unstable": L["unstable_note"].format(met=met, runs=len(rep.runs)) if rep.unstable else "",
        "rows": [{"run": str(r.run), "value": fmt_value(r.value, ind.unit, L), "status": _status(r.status, L),
                  "evidence": Raw(r.evidence), "shown": r.run == rep.shown} for r in rep.runs],
    }


def _waived_finding(f: FindingRecord, shown: _Shown) -> dict[str, Any]:
    waiver = f.extra.get("waiver") or {}
    return {"location": Raw(_location(f.file, f.line)), "rule": Raw(_cell(f.rule or "—")),
            "message": _note(shown.says(_cell(f.message))), "fingerprint": Raw(f.fingerprint or "—"),
            "justification": Raw(_cell(waiver.get("justification") or "—")),
            "reviewer": Raw(_cell(waiver.get("reviewer") or "—")), "date": Raw(_cell(waiver.get("date") or "—"))}


def _judgement(ind: IndicatorResult, row: Mapping[str, Any], L: Mapping[str, str]) -> str:
    """The evaluation sentence in the report's language, from the recorded value, target and status
    (``reason`` is English); an error keeps the probe's own words, which are tool output."""
    if ind.status == "error":
        return L["judged_error"]
    if ind.status == "not_applicable":
        return L["judged_na"].format(metric=ind.metric)
    text = L["judged"].format(metric=ind.metric, value=row["result"], target=ind.target,
                              status=row["status"]["text"])
    if ind.status == "not_met" and 0 < ind.credit < 1:
        text += L["judged_partial"].format(credit=f"{ind.credit:.2f}")
    return text


def _location(file: str | None, line: int | None) -> str:
    if not file:
        return "—"
    return _cell(f"{file}:{line}" if line is not None else file)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _details_views(ind: IndicatorResult, L: Mapping[str, str], shown: _Shown, limits: Mapping[str, int],
                   sections: set[str] | frozenset[str] = frozenset()
                   ) -> tuple[list[Markup], list[dict[str, Any]], list[tuple]]:
    """Charts, small tables and scalar facts from an indicator's findings and free-form details,
    as the probe's presentation declares them; an undeclared key is laid out by its shape
    (``verifier.probe.Presentation``) under its own name."""
    p = shown.p
    out_charts: list[Markup] = []
    tables: list[dict[str, Any]] = []
    scalars: list[tuple[str, str, str, bool]] = []  # key, readable name, value, whether a figure
    details = ind.details
    seen: set[str] = set()  # series columns already charted
    totals = {t.total: name for name, t in p.tables.items() if t.total}
    for key, value in details.items():
        if key in totals and totals[key] in details:  # the total row of another table
            continue
        declared = p.tables.get(key)
        if declared is not None and declared.repeats_section in sections:  # shown in its own section
            continue
        series = p.series.get(key) or (Series() if key not in p.tables and _is_plain_series(value) else None)
        if series is not None and _is_timed(value, series.time):
            out_charts += _series_charts(key, value, series, L, shown, seen)
        elif isinstance(value, dict) and value and len(value) <= 40 and all(_is_number(v) for v in value.values()):
            out_charts.append(_bars(key, value, p.bars.get(key) or Bars(), L, shown))
        elif isinstance(value, dict) and value and all(_is_scalar(v) for v in value.values()):
            tables.append({"title": shown.label(key), "columns": [L["metric"], L["value"]],
                           "rows": [(_cell(shown.label(str(k))), _cell(shown.word(str(k), v), L))
                                    for k, v in list(value.items())[: limits["table"]]],
                           "note": "", "total": False})
        elif isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            table = p.tables.get(key) or Table()
            total = details.get(table.total) if table.total else None
            tables.append(_list_table(key, value, table, limits["table"], L, shown,
                                      total=total if isinstance(total, dict) else None))
        elif isinstance(value, list) and value and all(_is_scalar(v) for v in value):
            tables.append({"title": shown.label(key), "columns": [shown.label(key)],
                           "rows": [(_cell(shown.word(key, v), L),) for v in value[: limits["table"]]],
                           "total": False,
                           "note": "" if len(value) <= limits["table"] else
                           L["findings_shown"].format(shown=limits["table"], total=len(value))})
        elif _is_scalar(value):
            scalars.append((key, shown.alias(key), _cell(shown.word(key, value), L), _is_number(value)))
    severities = Counter((f.severity or "").lower() for f in ind.findings if f.severity)
    charted = any(k in p.severity and isinstance(v, dict) for k, v in details.items())
    if severities and not charted:
        order = [s for s in SEVERITIES if s in severities] + sorted(set(severities) - set(SEVERITIES))
        out_charts.append(charts.bar_chart(
            [(shown.severity(s), float(severities[s])) for s in order], title=L["chart_severity"],
            colours=[charts.SEVERITY_COLOURS.get(s, charts.PALETTE[7]) for s in order]))
    for shown_table in tables:
        shown_table["num"] = _numeric_columns(shown_table["rows"], len(shown_table["columns"]))
    for bars in p.metric_bars:
        figures = [(k, v) for k in bars.metrics if (v := ind.measurements.get(k)) is not None]
        if len(figures) >= 2 and not any(k in details for k in bars.unless):
            out_charts.append(charts.bar_chart(
                [(shown.label(k), float(v)) for k, v in figures], title=shown.text(bars.title, ""),
                colours=list(bars.colours) or None))
    return out_charts, tables, scalars


def _bars(key: str, value: Mapping[str, Any], declared: Bars, L: Mapping[str, str], shown: _Shown) -> Markup:
    """A bar chart of an object of numbers: severities ranked and coloured as such, other names in
    the declared order, then as they come (results.json keeps object keys sorted)."""
    items = [(str(k), float(v)) for k, v in value.items()]
    severity = key in shown.p.severity
    if {k.lower() for k, _ in items} <= set(SEVERITIES):
        items.sort(key=lambda kv: SEVERITIES.index(kv[0].lower()))
    elif declared.order:
        rank = {k: n for n, k in enumerate(declared.order)}
        items.sort(key=lambda kv: rank.get(kv[0], len(rank)))
    colours = ([charts.SEVERITY_COLOURS.get(k.lower(), charts.PALETTE[0]) for k, _ in items]
               if severity else None)
    names = [shown.severity(k) if severity else shown.label(k) for k, _ in items]
    title = shown.text(declared.title, L["chart_distribution"].format(name=shown.label(key)))
    return charts.bar_chart(list(zip(names, (v for _, v in items))), title=title, colours=colours)


_FIGURE = re.compile(r"-?[\d,]+(\.\d+)?")


def _numeric_columns(rows: list[tuple[str, ...]], width: int) -> list[bool]:
    """Per column: every filled cell is a figure (right-aligned, never broken inside)."""
    return [any(len(r) > i and r[i] for r in rows)
            and all(len(r) <= i or not r[i] or _FIGURE.fullmatch(r[i]) for r in rows) for i in range(width)]


#: in a table whose probe declares no column order, columns that say what a row is come first
_LEADING_COLUMNS = ("id", "name", "path", "file", "line")
MAX_COLUMNS = 12


#: the default of ``table_columns``: a table declared without columns
_NO_TABLE = Table()


def table_columns(rows: list[dict[str, Any]], table: Table = _NO_TABLE) -> list[str]:
    """The columns of a details table: scalar-valued keys of ``rows``, in the declared order
    (``Table.columns``; without one, identifying columns first), then the rest as they come, less a
    column another repeats (``Table.omit_repeated``); at most ``MAX_COLUMNS``."""
    present: list[str] = []
    for r in rows:
        present += [k for k, v in r.items() if k not in present and _is_scalar(v)]
    for column, repeated_in in table.omit_repeated.items():
        if column in present and repeated_in in present and all(
                str(r.get(repeated_in, "")).startswith(f"{r.get(column)} ") for r in rows):
            present.remove(column)
    first = table.columns or _LEADING_COLUMNS
    ordered = [c for c in first if c in present] + [c for c in present if c not in first]
    return ordered[:MAX_COLUMNS]


def _list_table(key: str, rows: list[dict[str, Any]], table: Table, limit: int, L: Mapping[str, str],
                shown: _Shown, *, total: Mapping[str, Any] | None = None) -> dict[str, Any]:
    columns = table_columns(rows[:limit], table)
    body = [tuple(_cell(shown.word(c, r.get(c)), L) for c in columns) for r in rows[:limit]]
    if total is not None and columns:  # the total row: its own name and identifying cells give way
        first = L["total"]
        cells = [first] + [_cell(shown.word(c, total.get(c)), L) if c not in _LEADING_COLUMNS + ("method",)
                           else "" for c in columns[1:]]
        body.append(tuple(cells))
    return {"title": shown.text(table.title, shown.label(key)), "columns": [shown.label(c) for c in columns],
            "rows": body, "total": total is not None and bool(columns),
            "note": "" if len(rows) <= limit else L["findings_shown"].format(shown=limit, total=len(rows))}


def _is_timed(value: Any, time_key: str) -> bool:
    """A non-empty list of rows, each with a numeric ``time_key``."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(r, dict) and _is_number(r.get(time_key)) for r in value))


def _is_plain_series(value: Any) -> bool:
    """Rows of figures over ``t`` and nothing else (at least two rows): charted when undeclared."""
    return (_is_timed(value, "t") and len(value) >= 2
            and all(_is_number(v) or v is None for r in value for v in r.values())
            and any(k != "t" and _is_number(v) for r in value for k, v in r.items()))


def _series_charts(key: str, rows: list[dict[str, Any]], series: Series, L: Mapping[str, str],
                   shown: _Shown, seen: set[str]) -> list[Markup]:
    """A series as the probe declares it: a timeline of its events when its rows carry one,
    else line charts (declared charts first, then up to ``others`` single columns); a column
    already in ``seen`` (charted from another details key) is not drawn again."""
    tkey = series.time
    if series.label is not None and any(r.get(series.label) not in (None, "") for r in rows):
        events = [(float(r[tkey]), str(r.get(series.label) or "")) for r in rows]
        title = shown.text(series.events_title, L["chart_events"].format(name=shown.label(key)))
        return [charts.timeline_chart(events, title=title, x_label=L["time_s"])]
    xs = [float(r[tkey]) for r in rows]
    if xs and xs[0] > 1e8:  # absolute timestamps: seconds since the first point
        xs = [x - xs[0] for x in xs]
    keys: list[str] = []
    for r in rows:
        keys += [k for k, v in r.items() if k != tkey and k not in keys and _is_number(v)]
    fresh = [k for k in keys if k not in seen]
    seen.update(fresh)

    def lines(ks: list[str]) -> dict[str, Sequence[float | None]]:
        return {shown.label(k): [float(r[k]) if _is_number(r.get(k)) else None for r in rows] for k in ks}

    out = []
    in_charts: set[str] = set()
    for chart in series.charts:
        in_charts.update(chart.columns)
        columns = [c for c in chart.columns if c in fresh]
        if columns:
            title = shown.text(chart.title, L["chart_series"].format(name=shown.label(columns[0])))
            out.append(charts.line_chart(xs, lines(columns), title=title, x_label=L["time_s"]))
    others = [k for k in fresh if k not in in_charts and k not in series.skip]
    for k in others[: series.others]:
        out.append(charts.line_chart(xs, lines([k]), title=L["chart_series"].format(name=shown.label(k)),
                                     x_label=L["time_s"]))
    return out
