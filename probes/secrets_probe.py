"""``secrets`` probe (security): hard-coded credentials in any file of the delivery, found by Yelp's
detect-secrets (keywords such as ``password = "…"``, AWS/GitHub/Stripe/Slack/… key formats, private
keys, JWTs, high-entropy strings).

The probe selects the files itself (``paths`` minus ``exclude``, never through symlinks, never into
version-control, ``node_modules`` or virtual-environment folders) and passes them to
``detect-secrets scan`` explicitly; secrets are never verified over the network (``--no-verify``).
A line marked ``pragma: allowlist secret`` is not reported unless ``ignore_allowlist``; such lines
are counted.

**The secret itself never leaves detect-secrets.** Its output (kept as evidence) and every finding
carry the SHA-1 digest detect-secrets computes (``hashed_secret``), the type, the file and the line;
never the value.

Counting: ``secrets`` = lines holding a secret (one value found by several detectors, which may
capture it differently, counts once, with all its types and digests); ``files`` = files holding at
least one; counts by type are in the details.

Waivers: a finding's fingerprint is ``secrets:TYPE:FILE:HASH``, HASH taken over the SHA-1 digests
detect-secrets gives the secret (never over the value, nor the line holding it), so it survives the
code moving and changes when the secret does. A waived finding leaves ``secrets``, and ``files``
when every secret of its file is waived.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator

from verifier.probe import (
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
    finding_fingerprint,
)
from verifier.probekit import (
    Deadline,
    RepoGlob,
    RepoPath,
    check_argv_size,
    read_json,
    run_evidence,
    run_tool,
    scrubbed_env,
    source_files,
    tool_version,
)

from ._pypi_tools import harness_tool_failure

_ALLOWLIST_MARKERS = (b"pragma: allowlist secret", b"pragma: allowlist nextline secret")
#: Files larger than this are not given to detect-secrets (they are listed): generated data, dumps.
DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024
_ALLOWLIST_FILTER = "detect_secrets.filters.allowlist.is_line_allowlisted"



class SecretsArgs(ProbeArgs):
    """``with:`` arguments of the secrets probe."""

    paths: list[RepoPath] = Field(default_factory=lambda: ["."])
    """Files or directories to scan, relative to the repository."""
    exclude: list[RepoGlob] = Field(default_factory=list)
    """Repository globs left out (``docs/**``, ``test/fixtures/**``)."""
    disable_plugins: list[str] = Field(default_factory=list)
    """detect-secrets detectors not run, by class name (``HexHighEntropyString``, ``IPPublicDetector``)."""
    base64_limit: float | None = Field(None, ge=0.0, le=8.0)
    """Entropy limit of the base64 high-entropy detector (detect-secrets' default 4.5)."""
    hex_limit: float | None = Field(None, ge=0.0, le=8.0)
    """Entropy limit of the hex high-entropy detector (detect-secrets' default 3.0)."""
    ignore_allowlist: bool = False
    """Report lines marked ``pragma: allowlist secret`` too."""
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, ge=1)
    """Files larger than this are not scanned (they are listed)."""

    @field_validator("disable_plugins")
    @classmethod
    def _plugin_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.isidentifier():
                raise ValueError(f"{name!r} is not a detect-secrets detector class name such as "
                                 "'HexHighEntropyString'")
        return value


class SecretsProbe(Probe):
    """Hard-coded credentials found by detect-secrets, counted, located, never shown."""

    name = "secrets"
    characteristic = "security"
    description = ("Hard-coded credentials (passwords, API keys, tokens, private keys) in any file, "
                   "found by detect-secrets; each with its type, file and line, never its value.")
    metrics = {
        "secrets": MetricInfo("count", "lines holding a hard-coded secret"),
        "files": MetricInfo("count", "files holding at least one secret"),
        "scanned": MetricInfo("count", "files scanned", "higher"),
    }
    Args = SecretsArgs

    presentation = Presentation(
        labels={
            "secrets": ("硬编码凭据数", "Hard-coded secrets"),
            "files": ("含凭据的文件数", "Files holding a secret"),
            "scanned": ("扫描文件数", "Files scanned"),
            "by_type": ("凭据类型", "Secret type"),
            "by_file": ("各文件凭据数", "Secrets by file"),
            "allowlisted_lines": ("标注 allowlist 的行数", "Lines marked 'allowlist secret'"),
            "too_large": ("过大未扫描的文件数", "Files too large to scan"),
            "plugins": ("检测器数", "Detectors"),
            "detect_secrets_version": ("detect-secrets 版本", "detect-secrets version"),
        },
        phrases=(
            Phrase("hard-coded secret ({types})", "硬编码凭据（{types}）"),
            Phrase("{count} line(s) are marked 'pragma: allowlist secret' and were not reported "
                   "(ignore_allowlist: true reports them)",
                   "{count} 行标有 'pragma: allowlist secret'，未报告（ignore_allowlist: true 可报告）"),
            Phrase("{count} file(s) over {limit} bytes were not scanned: {paths}",
                   "{count} 个超过 {limit} 字节的文件未扫描：{paths}"),
            Phrase("no file under {paths} (after exclude {exclude}): nothing to scan",
                   "{paths} 下（排除 {exclude} 之后）没有文件：无可扫描"),
            Phrase("detect-secrets output has no 'results' object", "detect-secrets 的输出没有 'results' 对象"),
            Phrase("detect-secrets results for {file} are not a list", "detect-secrets 对 {file} 的结果不是列表"),
            Phrase("detect-secrets result for {file} is not an object", "detect-secrets 对 {file} 的一项结果不是对象"),
        ),
    )

    waivable = True

    @classmethod
    def recount(cls, measurements: Mapping[str, float | None],
                waived: Sequence[Finding]) -> dict[str, float | None]:
        """The counts without the waived secrets: each leaves ``secrets``; a file leaves ``files``
        when all its secrets are waived (each finding carries its file's count,
        ``extra["file_secrets"]``). ``scanned`` does not change."""
        out = dict(measurements)
        if out.get("secrets") is not None:
            out["secrets"] = max(float(out["secrets"] or 0) - len(waived), 0.0)
        by_file: dict[str | None, list[Finding]] = {}
        for f in waived:
            by_file.setdefault(f.file, []).append(f)
        cleared = sum(1 for found in by_file.values()
                      if len(found) >= int(found[0].extra.get("file_secrets") or 0) > 0)
        if out.get("files") is not None:
            out["files"] = max(float(out["files"] or 0) - cleared, 0.0)
        return out

    #: How detect-secrets is started (tests substitute it to simulate a missing or broken tool).
    command: ClassVar[tuple[str, ...]] = (sys.executable, "-m", "detect_secrets")

    def tool_versions(self) -> dict[str, str]:
        """detect-secrets' installed version."""
        return tool_version("detect-secrets")

    def run(self, ctx: ProbeContext) -> ProbeOutcome:
        """Scan the declared paths with detect-secrets and count what it found."""
        args: SecretsArgs = ctx.args  # type: ignore[assignment]
        root = ctx.repo.resolve()
        selected = source_files(ctx.repo, args.paths, exclude=args.exclude, suffixes=("",))
        files: list[str] = []
        too_large: list[str] = []
        allowlisted = 0
        for rel in selected:
            try:
                size = (root / rel).stat().st_size
            except OSError:
                continue
            if size > args.max_file_bytes:
                too_large.append(rel)
                continue
            files.append(rel)
            allowlisted += _allowlisted_lines(root / rel)
        if not files:
            raise ProbeError(f"no file under {', '.join(args.paths)} (after exclude "
                             f"{args.exclude or 'none'}): nothing to scan")
        argv = [*self.command, "scan", "--no-verify"]
        for plugin in args.disable_plugins:
            argv += ["--disable-plugin", plugin]
        if args.base64_limit is not None:
            argv += ["--base64-limit", f"{args.base64_limit:g}"]
        if args.hex_limit is not None:
            argv += ["--hex-limit", f"{args.hex_limit:g}"]
        if args.ignore_allowlist:
            argv += ["--disable-filter", _ALLOWLIST_FILTER]
        argv += ["--", *files]
        check_argv_size(argv, what="detect-secrets")
        timeout = Deadline(ctx.timeout_s).remaining(what="detect-secrets")
        with tempfile.TemporaryDirectory(prefix="verifier-secrets-") as home:
            run = run_tool(argv, cwd=root, timeout_s=timeout, out_dir=ctx.evidence_dir,
                           name="detect-secrets", env=scrubbed_env({"HOME": home}))
        if run.timed_out or run.returncode != 0:
            raise harness_tool_failure(ctx, run, "detect-secrets", timeout, package="detect-secrets")
        data = read_json(run.stdout_path, what="detect-secrets", run=run, ctx=ctx)
        outcome = summarize(data)
        notes = list(outcome.notes)
        if allowlisted and not args.ignore_allowlist:
            notes.append(f"{allowlisted} line(s) are marked 'pragma: allowlist secret' and were not "
                         "reported (ignore_allowlist: true reports them)")
        if too_large:
            notes.append(f"{len(too_large)} file(s) over {args.max_file_bytes} bytes were not scanned: "
                         f"{', '.join(too_large[:5])}{' …' if len(too_large) > 5 else ''}")
        details = {**outcome.details, "allowlisted_lines": allowlisted, "too_large": len(too_large)}
        measurements = (*outcome.measurements, Measurement("scanned", float(len(files)), "count"))
        return ProbeOutcome(measurements=measurements, findings=outcome.findings, notes=tuple(notes),
                            details=details, evidence=run_evidence(ctx, run), commands=(run.argv,))


def _allowlisted_lines(path: Path) -> int:
    """Lines of ``path`` carrying detect-secrets' allowlist pragma (0 when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if any(m in line for m in _ALLOWLIST_MARKERS))
    except OSError:
        return 0


def summarize(data: object) -> ProbeOutcome:
    """Measurements (``secrets``, ``files``), findings (one per line holding a secret) and details
    from detect-secrets' baseline JSON (a pure function). Findings carry digests, never the secret."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ProbeError("detect-secrets output has no 'results' object")
    secrets: dict[tuple[str, int], dict[str, list[str]]] = {}
    by_type: Counter[str] = Counter()
    for filename, entries in data["results"].items():
        if not isinstance(entries, list):
            raise ProbeError(f"detect-secrets results for {filename} are not a list")
        for entry in entries:
            if not isinstance(entry, dict):
                raise ProbeError(f"detect-secrets result for {filename} is not an object")
            file = os.path.normpath(str(entry.get("filename") or filename)).replace(os.sep, "/")
            number = entry.get("line_number")
            line = number if isinstance(number, int) else 0
            digest = str(entry.get("hashed_secret") or "")
            kind = str(entry.get("type") or "secret")
            by_type[kind] += 1
            found = secrets.setdefault((file, line), {"types": [], "digests": []})
            if kind not in found["types"]:
                found["types"].append(kind)
            if digest and digest not in found["digests"]:
                found["digests"].append(digest)
    files = Counter(file for file, _ in secrets)
    findings = tuple(
        Finding(message=f"hard-coded secret ({', '.join(found['types'])})", file=file, line=line or None,
                severity="high", rule=found["types"][0],
                # the digests detect-secrets gives, not the value nor its line: the secret never
                # reaches a fingerprint, and moving code does not change it
                fingerprint=finding_fingerprint("secrets", found["types"][0], file,
                                                " ".join(sorted(found["digests"]))),
                extra={"types": found["types"], "hashed_secret": found["digests"][0] if found["digests"] else "",
                       "hashed_secrets": found["digests"], "hash": "sha1", "file_secrets": files[file]})
        for (file, line), found in sorted(secrets.items()))
    plugins = data.get("plugins_used")
    plugins = plugins if isinstance(plugins, list) else []
    measurements = (
        Measurement("secrets", float(len(secrets)), "count"),
        Measurement("files", float(len(files)), "count"),
    )
    details = {
        "by_type": dict(sorted(by_type.items())),
        "by_file": dict(sorted(files.items())[:100]),
        "plugins": len(plugins),
        "detect_secrets_version": str(data.get("version") or ""),
    }
    return ProbeOutcome(measurements=measurements, findings=findings, details=details)
