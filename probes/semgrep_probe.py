"""``semgrep`` probe (security): findings of the rules the task book names, counted by severity, with
semgrep's SARIF and JSON kept as evidence.

Rules are local only: a rules file or directory in the repository (the applicant's), an absolute path
(the agency's own), or ``builtin:injection``, the starter ruleset shipped with verifier
(``probes/rules/semgrep/injection``: command, SQL, path and eval injection in Python,
JavaScript/TypeScript and Java, each rule with an annotated test file for ``semgrep --test``).
semgrep runs offline: ``--metrics=off``, ``--disable-version-check``, no registry (``p/…``,
``auto``) and no URL is ever passed, a private ``HOME``.

The probe selects the files itself (``paths`` minus ``exclude``, never through symlinks, never into
version-control, ``node_modules`` or virtual-environment folders) by the languages the rules name,
and passes them to semgrep explicitly, so a ``.semgrepignore`` or ``.gitignore`` in the delivered
repository cannot hide a file. A ``nosemgrep`` comment is honoured unless ``ignore_nosem``; the lines
it silenced are counted and reported. Severities: ``ERROR`` (and ``CRITICAL``/``HIGH``) -> high,
``WARNING``/``MEDIUM`` -> medium, ``INFO``/``LOW`` -> low.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import Field, field_validator

from verifier.probe import (
    Bars,
    Finding,
    Measurement,
    MetricInfo,
    Phrase,
    Presentation,
    Probe,
    ProbeArgs,
    ProbeContext,
    ProbeError,
    ProbeOutcome,
    Table,
    finding_fingerprint,
)
from verifier.probekit import (
    Deadline,
    RepoGlob,
    RepoPath,
    check_argv_size,
    inside_repo,
    read_json,
    recount_severities,
    run_evidence,
    run_tool,
    scrubbed_env,
    source_files,
    tool_version,
)
from verifier.repo_paths import normalize_repo_path

from ._pypi_tools import harness_tool_failure

Level = Literal["low", "medium", "high"]
_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
_SEVERITY = {"error": "high", "critical": "high", "high": "high", "warning": "medium",
             "medium": "medium", "info": "low", "low": "low", "inventory": "info", "experiment": "info"}
#: The rulesets shipped with verifier, by ``builtin:`` name.
BUILTIN_DIR = Path(__file__).with_name("rules") / "semgrep"
BUILTIN_PREFIX = "builtin:"
#: Largest rules file read to learn its rule ids and languages.
MAX_RULES_BYTES = 8 * 1024 * 1024
#: File suffixes (and exact names) of the languages rules name; a language not listed here (generic,
#: regex, …) makes every file a target.
LANGUAGE_FILES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi", ".pyw"), "py": (".py", ".pyi", ".pyw"),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"), "js": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"), "ts": (".ts", ".tsx", ".mts", ".cts"),
    "java": (".java",), "kotlin": (".kt", ".kts"), "kt": (".kt", ".kts"), "scala": (".scala",),
    "go": (".go",), "golang": (".go",), "c": (".c", ".h"), "cpp": (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".h"),
    "c++": (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".h"), "csharp": (".cs",), "c#": (".cs",),
    "ruby": (".rb",), "php": (".php",), "swift": (".swift",), "rust": (".rs",), "lua": (".lua",),
    "bash": (".sh", ".bash"), "sh": (".sh", ".bash"), "yaml": (".yml", ".yaml"), "json": (".json",),
    "html": (".html", ".htm"), "terraform": (".tf", ".hcl"), "hcl": (".tf", ".hcl"),
    "dockerfile": ("Dockerfile", ".dockerfile"), "docker": ("Dockerfile", ".dockerfile"),
    "solidity": (".sol",), "dart": (".dart",), "elixir": (".ex", ".exs"), "ocaml": (".ml", ".mli"),
    "vue": (".vue",),
}



class SemgrepArgs(ProbeArgs):
    """``with:`` arguments of the semgrep probe."""

    rules: list[str] = Field(min_length=1)
    """Rules files or directories: repository-relative, absolute (the agency's own), or
    ``builtin:injection`` (verifier's starter ruleset)."""
    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    """Files or directories to scan, relative to the repository."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Repository globs left out (``test/**``, ``vendor/**``)."""
    severity: Level = "low"
    """Severity floor for ``total``."""
    ignore_nosem: bool = False
    """Count findings on lines marked ``nosemgrep`` too."""
    jobs: int | None = Field(None, ge=1, le=64)
    """semgrep's ``--jobs`` (default: semgrep's own)."""

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[str]) -> list[str]:
        out = []
        for entry in value:
            text = entry.strip()
            if text.startswith(BUILTIN_PREFIX):
                name = text[len(BUILTIN_PREFIX):]
                if not name or not (BUILTIN_DIR / name).is_dir() or "/" in name or name.startswith("."):
                    known = ", ".join(sorted(BUILTIN_PREFIX + p.name for p in BUILTIN_DIR.iterdir()
                                             if p.is_dir()))
                    raise ValueError(f"unknown built-in ruleset {text!r} (known: {known})")
            elif "://" in text:
                raise ValueError(f"{text!r} is a URL: rules must be local files or directories "
                                 "(verifier runs semgrep offline)")
            elif not os.path.isabs(text):
                text = normalize_repo_path(text)
            out.append(text)
        return out


class SemgrepProbe(Probe):
    """Security findings of local semgrep rules, counted by severity."""

    name = "semgrep"
    characteristic = "security"
    description = ("Security findings of the semgrep rules the task book names (local rules, run "
                   "offline), counted by severity; SARIF kept as evidence.")
    metrics = {
        "high": MetricInfo("count", "high-severity findings (semgrep ERROR)"),
        "medium": MetricInfo("count", "medium-severity findings (semgrep WARNING)"),
        "low": MetricInfo("count", "low-severity findings (semgrep INFO)"),
        "total": MetricInfo("count", "findings at or above the severity floor"),
        "rules": MetricInfo("count", "rules run", "higher"),
        "files": MetricInfo("count", "files scanned", "higher"),
    }
    Args = SemgrepArgs

    presentation = Presentation(
        labels={
            "high": ("高危问题数", "High-severity findings"),
            "medium": ("中危问题数", "Medium-severity findings"),
            "low": ("低危问题数", "Low-severity findings"),
            "total": ("合计", "Total"),
            "rules": ("规则数", "Rules"),
            "files": ("扫描文件数", "Files scanned"),
            "by_severity": ("问题严重程度", "Severity"),
            "by_rule": ("问题所属规则", "semgrep rule"),
            "severity_floor": ("严重程度下限", "Severity floor"),
            "nosem": ("nosemgrep 屏蔽的问题数", "Findings silenced by nosemgrep"),
            "errors": ("semgrep 报告的错误数", "Errors reported by semgrep"),
            "not_scanned": ("未扫描的文件数", "Files not scanned"),
            "semgrep_version": ("semgrep 版本", "semgrep version"),
            "rulesets": ("规则集", "Rulesets"),
            "source": ("来源", "Source"),
            "rules_sha256": ("规则文件摘要（SHA-256）", "Rules digest (SHA-256)"),
        },
        severity=frozenset({"by_severity", "severity_floor"}),
        tables={"rulesets": Table(("source", "rules", "files", "rules_sha256"))},
        bars={"by_severity": Bars(("high", "medium", "low"))},
        phrases=(
            Phrase("semgrep reported an error in {file}: {message}", "semgrep 在 {file} 中报告错误：{message}"),
            Phrase("semgrep reported an error: {message}", "semgrep 报告错误：{message}"),
            Phrase("semgrep reported {kind} in {file}: {message}", "semgrep 在 {file} 中报告 {kind}：{message}"),
            Phrase("semgrep reported {kind}: {message}", "semgrep 报告 {kind}：{message}"),
            Phrase("semgrep error: {message}", "semgrep 错误：{message}"),
            Phrase("{count} finding(s) on lines marked 'nosemgrep' were not counted (ignore_nosem: true counts them)",
                   "{count} 个问题位于标有 'nosemgrep' 的行，未计入（ignore_nosem: true 可计入）"),
            Phrase("{count} finding(s) on lines marked 'nosemgrep' are counted (ignore_nosem)",
                   "{count} 个问题位于标有 'nosemgrep' 的行，已计入（ignore_nosem）"),
            Phrase("{count} selected file(s) were not scanned by semgrep (over its size limit, minified, binary, or "
                   "in no language of the rules)",
                   "{count} 个选中的文件未被 semgrep 扫描（超过其大小上限、经压缩、二进制，或不属于规则所针对的任何语言）"),
            Phrase("no file in a language the rules name ({languages}) under {paths} (after exclude {exclude})",
                   "{paths} 下（排除 {exclude} 之后）没有规则所针对语言（{languages}）的文件"),
            Phrase("rules {entry} do not exist", "规则 {entry} 不存在"),
            Phrase("rules {entry} are neither a file nor a directory", "规则 {entry} 既不是文件也不是目录"),
            Phrase("rules file {file} in {entry} is over {limit} bytes", "{entry} 中的规则文件 {file} 超过 {limit} 字节"),
            Phrase("rules file {file} in {entry} is not YAML: {error}", "{entry} 中的规则文件 {file} 不是 YAML：{error}"),
            Phrase("rules file {file} in {entry} has no 'rules' list", "{entry} 中的规则文件 {file} 没有 'rules' 列表"),
            Phrase("rules {entry} hold no rule", "规则 {entry} 中没有任何规则"),
            Phrase("semgrep JSON has no 'results' list", "semgrep 的 JSON 输出没有 'results' 列表"),
            Phrase("semgrep JSON has a result that is not an object", "semgrep 的 JSON 输出中有一项结果不是对象"),
            Phrase("semgrep exited with status {status}: {error}", "semgrep 以状态 {status} 退出：{error}"),
            Phrase("semgrep was killed by signal {signal}: {error}", "semgrep 被信号 {signal} 终止：{error}"),
            Phrase("semgrep could not be started: {why}: {error}", "semgrep 无法启动：{why}：{error}"),
        ),
    )

    waivable = True

    @classmethod
    def recount(cls, measurements: Mapping[str, float | None],
                waived: Sequence[Finding]) -> dict[str, float | None]:
        """The counts without the waived findings: each leaves its severity's count, and ``total``
        when it counted there (``extra["counted"]``). An error semgrep reported
        (``semgrep-error``) counts nowhere; ``rules`` and ``files`` do not change."""
        return recount_severities(measurements, waived, tool_error="semgrep-error")

    #: How semgrep is started (tests substitute it to simulate a missing, hanging or broken tool).
    command: ClassVar[tuple[str, ...]] = (
        sys.executable, "-c",
        "import sys; from semgrep.console_scripts.entrypoint import main; sys.argv[0] = 'semgrep'; "
        "sys.exit(main())")

    def tool_versions(self) -> dict[str, str]:
        """semgrep's installed version."""
        return tool_version("semgrep")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Scan the declared paths with the declared rules and count the findings."""
        args: SemgrepArgs = ctx.args  # type: ignore[assignment]
        rulesets = [_ruleset(ctx.repo, entry) for entry in args.rules]
        ids = sorted({rule_id for rs in rulesets for rule_id in rs["ids"]}, key=len, reverse=True)
        languages = {lang for rs in rulesets for lang in rs["languages"]}
        suffixes = _suffixes(languages)
        files = source_files(ctx.repo, args.paths, exclude=args.exclude, suffixes=suffixes)
        if not files:
            raise ProbeError(f"no file in a language the rules name ({', '.join(sorted(languages)) or '?'}) "
                             f"under {', '.join(args.paths)} (after exclude {args.exclude or 'none'})")
        root = ctx.repo.resolve()
        json_out = ctx.evidence_dir / "semgrep.json"
        sarif_out = ctx.evidence_dir / "semgrep.sarif"
        rules_out = ctx.evidence_dir / "semgrep-rules.json"
        for stale in (json_out, sarif_out):
            stale.unlink(missing_ok=True)
        rules_out.write_text(json.dumps([{k: v for k, v in rs.items() if k != "path"} for rs in rulesets],
                                        ensure_ascii=False, indent=2) + "\n", "utf-8")
        argv = [*self.command, "scan", "--metrics=off", "--disable-version-check", "--oss-only",
                "--no-git-ignore", "--quiet", f"--json-output={json_out}", f"--sarif-output={sarif_out}"]
        for rs in rulesets:
            argv += ["--config", str(rs["path"])]
        if args.ignore_nosem:
            argv.append("--disable-nosem")
        if args.jobs:
            argv += ["--jobs", str(args.jobs)]
        argv += ["--", *(str(root / f) for f in files)]
        check_argv_size(argv, what="semgrep")
        timeout = Deadline(ctx.timeout_s).remaining(what="semgrep")
        with tempfile.TemporaryDirectory(prefix="verifier-semgrep-") as home:
            env = scrubbed_env({"HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home,
                                "SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0",
                                "SEMGREP_USER_AGENT_APPEND": "verifier", "NO_COLOR": "1"})
            run = run_tool(argv, cwd=home, timeout_s=timeout, out_dir=ctx.evidence_dir, name="semgrep",
                           env=env)
        evidence = [ctx.rel(p) for p in (sarif_out, json_out, rules_out) if p.exists()]
        if run.timed_out or run.returncode != 0:
            failure = harness_tool_failure(ctx, run, "semgrep", timeout, package="semgrep",
                                           evidence=evidence)
            reported = _first_error(json_out)
            if reported and not run.timed_out:
                raise ProbeError(f"{failure.reason}: {reported}", tail=failure.tail, evidence=failure.evidence)
            raise failure
        data = read_json(json_out, what="semgrep", run=run, ctx=ctx)
        sarif = _read_sarif(sarif_out)
        outcome = summarize(data, sarif, root=root, rule_ids=ids, severity=args.severity,
                            targets=len(files), ignore_nosem=args.ignore_nosem)
        notes = list(outcome.notes)
        details = {**outcome.details,
                   "rulesets": [{"source": rs["source"], "rules": len(rs["ids"]), "files": rs["files"],
                                 "rules_sha256": rs["sha256"]} for rs in rulesets]}
        return ProbeOutcome(measurements=outcome.measurements, findings=outcome.findings,
                            notes=tuple(notes), details=details,
                            evidence=(*evidence, *run_evidence(ctx, run)), commands=(run.argv,))


def _ruleset(repo: Path, entry: str) -> dict[str, Any]:
    """A declared rules source: its path, rule ids, languages, files and a digest of their content."""
    if entry.startswith(BUILTIN_PREFIX):
        path = BUILTIN_DIR / entry[len(BUILTIN_PREFIX):]
    elif os.path.isabs(entry):
        path = Path(entry)
        if not path.exists():
            raise ProbeError(f"rules {entry!r} do not exist")
    else:
        path = inside_repo(repo, entry, what="rules")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()
                       and not p.is_symlink()
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
    elif path.is_file():
        files = [path]
    else:
        raise ProbeError(f"rules {entry!r} are neither a file nor a directory")
    ids: list[str] = []
    languages: set[str] = set()
    digest = hashlib.sha256()
    for file in files:
        if file.stat().st_size > MAX_RULES_BYTES:
            raise ProbeError(f"rules file {file.name} in {entry!r} is over {MAX_RULES_BYTES} bytes")
        raw = file.read_bytes()
        digest.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        digest.update(hashlib.sha256(raw).digest())
        try:
            doc = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ProbeError(f"rules file {file.name} in {entry!r} is not YAML: "
                             f"{str(exc).splitlines()[0]}") from None
        rules = doc.get("rules") if isinstance(doc, dict) else None
        if not isinstance(rules, list):
            raise ProbeError(f"rules file {file.name} in {entry!r} has no 'rules' list")
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                ids.append(rule["id"])
                languages.update(str(lang).lower() for lang in rule.get("languages") or [])
    if not ids:
        raise ProbeError(f"rules {entry!r} hold no rule")
    return {"source": entry, "path": path, "files": len(files), "ids": ids,
            "languages": sorted(languages), "sha256": digest.hexdigest()}


def _suffixes(languages: set[str]) -> tuple[str, ...]:
    """The file suffixes the rules' languages read; ``("",)`` (every file) when one is generic."""
    out: list[str] = []
    for lang in sorted(languages):
        if lang not in LANGUAGE_FILES:
            return ("",)
        out += LANGUAGE_FILES[lang]
    return tuple(dict.fromkeys(out)) or ("",)


def _first_error(path: Path) -> str | None:
    """The first error semgrep wrote into its JSON output (a rule it cannot parse …), one line."""
    try:
        data = json.loads(path.read_text("utf-8", errors="replace"))
    except (OSError, ValueError):
        return None
    for error in data.get("errors") or [] if isinstance(data, dict) else []:
        if isinstance(error, dict) and error.get("level", "error") == "error":
            message = " ".join(str(error.get("message") or error.get("type") or "").split())
            return message[:300] or None
    return None


def _read_sarif(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8", errors="replace"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def rule_id(check_id: str, ids: list[str]) -> str:
    """The declared rule id behind semgrep's ``check_id`` (semgrep prefixes the rule file's folder,
    ``work.rules.py-eval``); ``ids`` longest first."""
    for known in ids:
        if check_id == known or check_id.endswith("." + known):
            return known
    return check_id


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def _relative(name: str, root: Path) -> str:
    try:
        return Path(name).relative_to(root).as_posix()
    except ValueError:
        return name


def _sarif_results(sarif: dict[str, Any]) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Every SARIF result keyed like the JSON results: (rule, path, line, column)."""
    out: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for run in sarif.get("runs") or [] if isinstance(sarif.get("runs"), list) else []:
        for result in (run.get("results") or []) if isinstance(run, dict) else []:
            if not isinstance(result, dict):
                continue
            try:
                physical = result["locations"][0]["physicalLocation"]
                region = physical.get("region") or {}
                out.append(((result.get("ruleId"), physical["artifactLocation"]["uri"], region.get("startLine"),
                             region.get("startColumn")), result))
            except (KeyError, IndexError, TypeError, AttributeError):
                continue
    return out


def _snippets(sarif: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    """The source text of the flagged lines of each SARIF result (``region.snippet.text``: whole
    lines, the code as written; semgrep's JSON says "requires login" in its place), by key."""
    out: dict[tuple[Any, ...], str] = {}
    for key, result in _sarif_results(sarif):
        try:
            text = result["locations"][0]["physicalLocation"]["region"]["snippet"]["text"]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(text, str) and text.strip():
            out[key] = text
    return out


def _silenced(sarif: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The results semgrep's SARIF marks as suppressed in the source (``nosemgrep``), keyed like the
    JSON results: (rule, path, line, column)."""
    return {key for key, result in _sarif_results(sarif) if result.get("suppressions")}


def summarize(data: object, sarif: dict[str, Any], *, root: Path, rule_ids: list[str],
              severity: str = "low", targets: int | None = None, ignore_nosem: bool = False) -> ProbeOutcome:
    """Measurements, findings, notes and details from semgrep's JSON and SARIF (the rules run, the
    findings ``nosemgrep`` silenced): a pure function.

    A result the SARIF marks as suppressed in the source is not counted unless ``ignore_nosem``
    (semgrep 1.121 leaves such results in its JSON when SARIF is written too; 1.185 does not)."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise ProbeError("semgrep JSON has no 'results' list")
    silenced = _silenced(sarif)
    snippets = _snippets(sarif)
    floor = _RANK[severity]
    counts: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    findings: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for result in data["results"]:
        if not isinstance(result, dict):
            raise ProbeError("semgrep JSON has a result that is not an object")
        extra = _dict(result.get("extra"))
        start = _dict(result.get("start"))
        end = _dict(result.get("end"))
        rid = rule_id(str(result.get("check_id") or "semgrep"), rule_ids)
        key = (rid, result.get("path"), start.get("line"), start.get("col"), end.get("line"), end.get("col"))
        if key in seen:  # semgrep reports a match once per way its metavariables bind
            continue
        seen.add(key)
        if not ignore_nosem and (result.get("check_id"), result.get("path"), start.get("line"),
                                 start.get("col")) in silenced:
            continue
        raw = str(extra.get("severity") or "").lower()
        level = _SEVERITY.get(raw, "medium")
        counts[level] += 1
        counted = _RANK.get(level, 0) >= floor
        if counted:
            counts["_total"] += 1
        by_rule[rid] += 1
        metadata = _dict(extra.get("metadata"))
        cwe = metadata.get("cwe")
        message = " ".join(str(extra.get("message") or rid).split())[:1000]
        file = _relative(str(result.get("path") or ""), root) or None
        # the flagged lines' text, not their number: a waiver survives code moving up or down
        flagged = snippets.get((result.get("check_id"), result.get("path"), start.get("line"), start.get("col")))
        findings.append(Finding(
            message=message, file=file,
            fingerprint=finding_fingerprint("semgrep", rid, file, flagged or message),
            line=start.get("line") if isinstance(start.get("line"), int) else None,
            severity=level, rule=rid,
            extra={"semgrep_severity": raw.upper(), "column": start.get("col"), "end_line": end.get("line"),
                   "end_column": end.get("col"), "cwe": cwe if isinstance(cwe, (str, list)) else None,
                   "category": metadata.get("category"), "subcategory": metadata.get("subcategory"),
                   "counted": counted}))
    findings.sort(key=lambda f: (-_RANK.get(f.severity or "", 0), f.file or "", f.line or 0, f.rule or ""))
    notes: list[str] = []
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    for error in errors:
        spans = _list(error.get("spans"))
        file = error.get("path") or (spans[0].get("file") if spans and isinstance(spans[0], dict) else None)
        message = " ".join(str(error.get("message") or error.get("type") or "error").split())[:300]
        rel = _relative(str(file), root) if file else None
        notes.append(f"semgrep reported {error.get('type') or 'an error'}"
                     f"{f' in {rel}' if rel else ''}: {message}")
        findings.append(Finding(message=f"semgrep error: {message}", file=rel, severity="info",
                                rule="semgrep-error"))
    runs = _list(sarif.get("runs"))
    sarif_rules = sum(len(((run.get("tool") or {}).get("driver") or {}).get("rules") or [])
                      for run in runs if isinstance(run, dict))
    nosem = len(silenced)
    if nosem and not ignore_nosem:
        notes.append(f"{nosem} finding(s) on lines marked 'nosemgrep' were not counted "
                     "(ignore_nosem: true counts them)")
    elif nosem:
        notes.append(f"{nosem} finding(s) on lines marked 'nosemgrep' are counted (ignore_nosem)")
    paths = _dict(data.get("paths"))
    scanned = _list(paths.get("scanned"))
    not_scanned = max(0, targets - len(scanned)) if targets is not None else 0
    if not_scanned:
        notes.append(f"{not_scanned} selected file(s) were not scanned by semgrep (over its size limit, "
                     "minified, binary, or in no language of the rules)")
    measurements = (
        Measurement("high", float(counts["high"]), "count"),
        Measurement("medium", float(counts["medium"]), "count"),
        Measurement("low", float(counts["low"]), "count"),
        Measurement("total", float(counts["_total"]), "count"),
        Measurement("rules", float(sarif_rules or len(rule_ids)), "count"),
        Measurement("files", float(len(scanned)), "count"),
    )
    details = {
        "by_severity": {k: counts[k] for k in ("high", "medium", "low")},
        "by_rule": dict(sorted(by_rule.items())),
        "severity_floor": severity,
        "nosem": nosem,
        "errors": len(errors),
        "not_scanned": not_scanned,
        "semgrep_version": str(data.get("version") or ""),
    }
    return ProbeOutcome(measurements=measurements, findings=tuple(findings), notes=tuple(notes),
                        details=details)
