"""The secrets probe runs real detect-secrets on files written here with credentials in them (built
at test time, so that this source holds none), and never lets a secret's value out."""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import pytest

from verifier.builtin_probes.secrets_probe import SecretsArgs, SecretsProbe, summarize
from verifier.probe import ProbeContext, ProbeError, get_probe

# The values, assembled so that no scanner finds them in this file.
DB_PASSWORD = "Wq9" + "#zT4!pLm8"
AWS_KEY = "AKIA" + "QX7Z" + "P2LK9WB3MT4R"
STRIPE = "sk_" + "live_" + "9fK2mQ7xLp3RtV8wZc1nBd4h"
PRIVATE_KEY = ("-----BEGIN " + "RSA PRIVATE KEY-----\n" + "MIIEowIBAAKCAQEAx" * 4 + "\n-----END "
               + "RSA PRIVATE KEY-----\n")
ALLOWED = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
EXCLUDED = "Zr8" + "!kQ2#vN6"
VALUES = (DB_PASSWORD, AWS_KEY, STRIPE, "MIIEowIBAAKCAQEAx", ALLOWED, EXCLUDED)


def _files() -> dict[str, str]:
    return {
        "config/settings.py": f'DEBUG = False\nDB_PASSWORD = "{DB_PASSWORD}"\n',
        "deploy/prod.env": f"REGION=cn-central-1\nAWS_ACCESS_KEY_ID={AWS_KEY}\n",
        "keys/service.pem": PRIVATE_KEY,
        "web/pay.js": f'const stripeKey = "{STRIPE}";\nmodule.exports = {{ stripeKey }};\n',
        "tools/ci.py": f'TOKEN = "{ALLOWED}"  # pragma: allowlist secret\n',
        "samples/fixture.py": f'password = "{EXCLUDED}"\n',
        "node_modules/lib/config.js": f'const password = "{EXCLUDED}";\n',
        "README.md": "# product\n\nSet DB_PASSWORD in the environment.\n",
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in _files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "web" / "logo.png").write_bytes(bytes(range(256)) * 8)
    outside = tmp_path / "outside.py"
    outside.write_text(f'password = "{EXCLUDED}"\n')
    (root / "config" / "linked.py").symlink_to(outside)
    return root


def context(tmp_path: Path, repo: Path, timeout: float = 120, **args) -> ProbeContext:
    run_dir = tmp_path / "run"
    evidence = run_dir / "evidence" / "S2"
    evidence.mkdir(parents=True, exist_ok=True)
    return ProbeContext(repo=repo, run_dir=run_dir, evidence_dir=evidence,
                        args=SecretsArgs.model_validate(args), spec=None, timeout_s=timeout)


def values(outcome) -> dict[str, float | None]:
    return {m.metric: m.value for m in outcome.measurements}


def test_registered_under_entry_point():
    assert get_probe("secrets") is SecretsProbe
    assert "detect-secrets" in SecretsProbe().tool_versions()


def test_finds_each_credential_with_its_file_line_and_type(tmp_path, repo):
    outcome = SecretsProbe().run(context(tmp_path, repo, exclude=["samples/**"]))
    located = {(f.file, f.line): set(f.extra["types"]) for f in outcome.findings}
    assert set(located) == {("config/settings.py", 2), ("deploy/prod.env", 2), ("keys/service.pem", 1),
                            ("web/pay.js", 1)}
    assert "Secret Keyword" in located[("config/settings.py", 2)]
    assert "AWS Access Key" in located[("deploy/prod.env", 2)]
    assert "Private Key" in located[("keys/service.pem", 1)]
    assert "Stripe Access Key" in located[("web/pay.js", 1)]
    got = values(outcome)
    assert got["secrets"] == 4 and got["files"] == 4
    # settings.py, prod.env, service.pem, pay.js, ci.py, README.md, logo.png; not node_modules,
    # samples/ (excluded) or the link out of the tree
    assert got["scanned"] == 7
    assert all(f.severity == "high" for f in outcome.findings)
    assert sum(outcome.details["by_type"].values()) >= 4
    assert outcome.details["allowlisted_lines"] == 1
    assert any("1 line(s) are marked 'pragma: allowlist secret'" in n for n in outcome.notes)
    digest = next(f for f in outcome.findings if f.file == "config/settings.py").extra["hashed_secret"]
    assert digest == hashlib.sha1(DB_PASSWORD.encode()).hexdigest()
    assert "--no-verify" in outcome.commands[0]


def test_the_secret_itself_never_leaves_detect_secrets(tmp_path, repo):
    ctx = context(tmp_path, repo, ignore_allowlist=True)
    outcome = SecretsProbe().run(ctx)
    assert values(outcome)["secrets"] == 6  # with the allowlisted line and samples/
    ci = next(f for f in outcome.findings if f.file == "tools/ci.py")
    assert "GitHub Token" in ci.extra["types"] and ci.extra["hashed_secret"] in ci.extra["hashed_secrets"]
    shown = repr((outcome.findings, outcome.details, outcome.notes))
    for secret in VALUES:
        assert secret not in shown
        for path in ctx.run_dir.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path


def test_options_reach_detect_secrets(tmp_path, repo):
    quiet = SecretsProbe().run(context(tmp_path, repo, exclude=["samples/**"], disable_plugins=[
        "StripeDetector", "KeywordDetector", "Base64HighEntropyString"]))
    assert ("web/pay.js", 1) not in {(f.file, f.line) for f in quiet.findings}
    small = SecretsProbe().run(context(tmp_path, repo, max_file_bytes=200, exclude=["samples/**"]))
    assert any("over 200 bytes were not scanned" in n for n in small.notes)
    assert small.details["too_large"] >= 1


def test_nothing_to_scan_is_an_error(tmp_path):
    (tmp_path / "repo" / "node_modules").mkdir(parents=True)
    (tmp_path / "repo" / "node_modules" / "x.js").write_text("const password = 'x';\n")
    with pytest.raises(ProbeError, match="nothing to scan"):
        SecretsProbe().run(context(tmp_path, tmp_path / "repo"))


@pytest.mark.parametrize("args, message", [
    ({"disable_plugins": ["Keyword Detector"]}, "not a detect-secrets detector class name"),
    ({"base64_limit": 9}, "less than or equal to 8"),
    ({"max_file_bytes": 0}, "greater than or equal to 1"),
    ({"paths": ["../up"]}, "escapes"),
    ({"verify": True}, "Extra inputs"),
])
def test_bad_arguments_are_validation_errors(args, message):
    with pytest.raises(ValueError, match=message):
        SecretsArgs.model_validate(args)


class _Substitute(SecretsProbe):
    """detect-secrets replaced by another real program, to exercise the failure paths."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command


def test_detect_secrets_not_installed_names_the_package(tmp_path, repo):
    with pytest.raises(ProbeError, match=r"detect-secrets is not installed .*PyPI package 'detect-secrets'"):
        _Substitute((sys.executable, "-m", "detect_secrets_is_missing")).run(context(tmp_path, repo))


def test_crashing_hanging_and_garbled_tool(tmp_path, repo):
    crash = _Substitute((sys.executable, "-c", "import sys; sys.stderr.write('UnicodeDecodeError in scan\\n'); "
                                               "sys.exit(1)"))
    with pytest.raises(ProbeError, match="exited with status 1") as info:
        crash.run(context(tmp_path, repo))
    assert "UnicodeDecodeError in scan" in info.value.tail
    start = time.monotonic()
    with pytest.raises(ProbeError, match="did not finish within 2 s"):
        _Substitute((sys.executable, "-c", "import time; time.sleep(60)")).run(context(tmp_path, repo, timeout=2))
    assert time.monotonic() - start < 15
    with pytest.raises(ProbeError, match="not JSON"):
        _Substitute((sys.executable, "-c", "print('<<garbage')")).run(context(tmp_path, repo))
    with pytest.raises(ProbeError, match="no 'results' object"):
        summarize({"results": []})


def test_one_line_found_by_several_detectors_counts_once():
    entry = {"filename": "a.js", "line_number": 3, "hashed_secret": "ab" * 20, "is_verified": False}
    outcome = summarize({"results": {"a.js": [{**entry, "type": "Secret Keyword"},
                                              {**entry, "type": "Stripe Access Key"},
                                              {**entry, "type": "Base64 High Entropy String",
                                               "hashed_secret": "cd" * 20}]}})
    assert values(outcome)["secrets"] == 1
    assert outcome.findings[0].extra["types"] == ["Secret Keyword", "Stripe Access Key",
                                                  "Base64 High Entropy String"]
    assert outcome.findings[0].extra["hashed_secrets"] == ["ab" * 20, "cd" * 20]
    assert outcome.details["by_type"] == {"Base64 High Entropy String": 1, "Secret Keyword": 1,
                                          "Stripe Access Key": 1}
