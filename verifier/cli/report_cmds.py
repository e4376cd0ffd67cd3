"""``verifier report``, ``bundle``, ``verify`` and ``keygen``: the evidence a panel reads and checks."""

from __future__ import annotations

import os
from pathlib import Path

import click

from verifier import formats
from verifier.cli.output import emit, say
from verifier.cli.params import InputDirectory, InputFile, OutputFile
from verifier.errors import ExitCode, InputError
from verifier.evidence import atomic_write_bytes

_RUN_DIR = InputDirectory("run directory")


@click.command("report")
@click.argument("run_dir", type=_RUN_DIR)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md", "json", *formats.format_names()]), default="html",
              show_default=True, help="html: one self-contained file; pdf: printed from it; md: Markdown; "
                                      "json: the canonical results.json, validated; spdx, cyclonedx: SBOMs with "
                                      "file- and snippet-level origin; sarif: security findings and robustness "
                                      "failures; junit: indicators and gates as test cases.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Report language (中文 / English).")
@click.option("-o", "--output", type=OutputFile("report", allow_dash=True), default=None,
              help="Output file; '-' for standard output. Default: RUN_DIR/reports/report.LANG.EXT "
                   "(sbom.spdx.json, sbom.cdx.json, findings.sarif, junit.xml for the standard documents).")
def report(run_dir: Path, fmt: str, lang: str, output: Path | None) -> None:
    """Render the evidence report of RUN_DIR (a `verifier run` directory), or one of the standard
    documents other tools read (SPDX, CycloneDX, SARIF, JUnit XML; --lang does not apply to them)."""
    from verifier.report import (  # heavy: Jinja2, WeasyPrint
        FORMATS,
        check_output,
        default_output,
        render_report,
    )

    standard = fmt not in FORMATS
    if standard:
        target = output if output is not None else formats.default_output(run_dir, fmt)
    else:
        target = output if output is not None else default_output(run_dir, fmt, lang)
    to_stdout = str(target) == "-"
    if not to_stdout and (output is not None or target.parent.exists()):
        check_output(target)  # before rendering, which takes seconds for a PDF
    base = _evidence_base(run_dir, target) if not to_stdout else None
    data = formats.render_run(run_dir, fmt) if standard else render_report(run_dir, fmt, lang, base=base)
    if to_stdout:
        emit(data)
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{target.parent}: cannot create the report's directory ({exc.strerror})") from None
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise InputError(f"{target}: cannot write the report: {exc.strerror or exc}") from None
    say(target)


def _evidence_base(run_dir: Path, target: Path) -> str | None:
    """The run directory relative to the report's folder (for evidence links), or None if there is none."""
    try:
        rel = os.path.relpath(run_dir.resolve(), target.resolve().parent)
    except ValueError:
        return None
    if os.path.isabs(rel):
        return None
    return "" if rel == "." else Path(rel).as_posix() + "/"


@click.command("bundle")
@click.argument("run_dir", type=_RUN_DIR)
@click.option("-o", "--output", type=OutputFile("bundle"), required=True,
              help="The bundle zip to write (outside RUN_DIR).")
@click.option("--sign", "key", type=InputFile("key file"), default=None,
              help="Sign the manifest with this Ed25519 private key (PEM, from `verifier keygen`).")
@click.option("--attestation", is_flag=True,
              help="Also add an in-toto attestation (Statement v1 over the bundle's files, the results as "
                   "predicate) in a DSSE envelope signed with the --sign key.")
def bundle(run_dir: Path, output: Path, key: Path | None, attestation: bool) -> None:
    """Pack RUN_DIR (results, evidence), its HTML reports (zh, en) and its standard documents (SPDX,
    CycloneDX, SARIF, JUnit XML) with a manifest of hashes into a zip.

    The reports and documents are rendered from the packed data, so `verify` can re-render and compare
    them; report files found in RUN_DIR are never packed.

    Refuses (exit 2) when results.json disagrees with what the run's own data recomputes
    (statuses, gates, score, verdict), so an edited results.json is never packed or signed.
    """
    from verifier.bundle import build_bundle  # heavy: the report, the standard formats, cryptography

    info = build_bundle(run_dir, output, key_path=key, attestation=attestation)
    say(f"{info.path}  ({info.files} files, sha256 {info.sha256})")
    say(f"reports rendered from the run's data: {', '.join(info.rendered)}")
    if info.documents:
        say(f"standard documents rendered from the run's data: {', '.join(info.documents)}")
    if info.left_out:
        say("not packed (a bundle's reports are rendered, never taken from the run directory): "
            + ", ".join(info.left_out))
    say(f"signed by {info.signed_by}" if info.signed_by else "not signed (use --sign KEY to sign)")
    if info.attestation:
        say(f"in-toto attestation: {info.attestation} (DSSE, signed by the same key)")


@click.command("verify")
@click.argument("bundle_path", metavar="BUNDLE", type=InputFile("bundle"))
@click.option("--key", type=InputFile("key file"), default=None,
              help="Ed25519 public key (PEM) the manifest must be signed with.")
@click.option("--repo", type=InputDirectory("repository"), default=None,
              help="The delivered repository (or the top of a clone holding it): its commit, subpath "
                   "and tree hash (in the recorded mode) must match the bundle's, and its task book "
                   "(acceptance.yaml, and the spec the run read when it lay in the repository) the "
                   "bundled spec.yaml.")
@click.option("--spec", "task_book", type=InputFile("task book"), default=None,
              help="The task book the bundled spec.yaml must be (e.g. the agency's own copy), "
                   "instead of the repository's.")
def verify(bundle_path: Path, key: Path | None, repo: Path | None, task_book: Path | None) -> None:
    """Check a bundle: every hash, no file added or removed, the figures, the signature, the repository.

    results.json is checked against what the bundle's own data recomputes (each indicator's status
    and credit from its value and the bundled spec's target, the gates, score and verdict): a
    signature proves who signed, not that the figures are consistent. Each packed report must be
    byte for byte what the bundled data renders to. With --repo or --spec, the bundled spec.yaml
    must be the task book (a run against a weakened copy fails). Measured values are taken as
    recorded; re-run to check those.

    \b
    Prints one line per check. Exit 0 when everything holds, 1 when something does not,
    2 when the input is unusable (not a zip, no manifest, bad key file).
    """
    from verifier.bundle import verify_bundle  # heavy: the report, the standard formats, cryptography
    from verifier.signing import load_public_key  # heavy: cryptography

    public_key = load_public_key(key) if key is not None else None
    checks = verify_bundle(bundle_path, public_key=public_key, repo=repo, task_book=task_book)
    for check in checks:
        mark = {True: "OK  ", False: "FAIL", None: "--  "}[check.ok]
        say(f"{mark} {check.what}")
    failed = sum(1 for c in checks if c.ok is False)
    if failed:
        say(f"{bundle_path}: {failed} check(s) do not hold")
        raise click.exceptions.Exit(int(ExitCode.NOT_MET))
    say(f"{bundle_path}: everything checked holds")


@click.command("keygen")
@click.option("-o", "--output", "prefix", type=click.Path(path_type=Path), required=True,
              help="Prefix of the key files: PREFIX.key (private, mode 0600) and PREFIX.pub; missing "
                   "directories (keys/ in keys/agency) are made, mode 0700.")
def keygen(prefix: Path) -> None:
    """Make an Ed25519 key pair for signing bundles (e.g. a testing agency's key)."""
    from verifier.signing import fingerprint, load_public_key, write_keypair  # heavy: cryptography

    private_path, public_path = write_keypair(prefix)
    say(f"private key: {private_path} (keep it secret; mode 0600)")
    say(f"public key:  {public_path} ({fingerprint(load_public_key(public_path))})")
