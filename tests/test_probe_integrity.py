"""integrity probe: acknowledged writes survive SIGKILL on the sample, are lost on the weak service —
through HTTP requests or through the products' own command-line tools."""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from pydantic import ValidationError

from support.live_service import WEAK, context, fixture_config, fixture_service, values
from verifier.builtin_probes.integrity_probe import IntegrityProbe
from verifier.probe import ProbeError
from verifier.service import Service

WRITE = {"method": "POST", "path": "/api/items",
         "body": {"sku": "INT-{uid}-{i}", "name": "完整性 {i}", "quantity": 1}}
COLLECTION = {"write": WRITE, "read": {"path": "/api/items"}, "marker": "INT-{uid}-{i}", "count": 40}
PER_RECORD = {"write": WRITE, "read": {"path": "/api/items/{id}"}, "id_field": "id",
              "marker": "INT-{uid}-{i}", "count": 40}


@pytest.mark.parametrize("args", [COLLECTION, PER_RECORD], ids=["collection", "per-record"])
def test_sample_loses_nothing(tmp_path, args):
    with fixture_service(tmp_path) as svc:
        first_pid = svc.pid
        ctx = context(IntegrityProbe, tmp_path, svc, args)
        outcome = IntegrityProbe().run(ctx)
        assert svc.alive() and svc.pid != first_pid
    assert values(outcome) == {"lost_records": 0, "written": 40, "read_back": 40}
    assert outcome.findings == ()
    log = (ctx.run_dir / outcome.evidence[0]).read_text().splitlines()
    assert len(log) == 40 + (1 if args is COLLECTION else 40)


def test_weak_loses_unflushed_writes(tmp_path):
    with fixture_service(tmp_path, "weak") as svc:
        outcome = IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, COLLECTION))
    got = values(outcome)
    assert got["written"] == 40 and got["lost_records"] == 40 and got["read_back"] == 0
    assert outcome.findings[0].severity == "high"
    assert "record 1 acknowledged before the crash is missing" in outcome.findings[0].message


def test_read_that_returns_garbage(tmp_path):
    # GET / answers the HTML console, not JSON: declared format: json, the records cannot be checked,
    # and the error says which format would read text.
    with fixture_service(tmp_path) as svc:
        ctx = context(IntegrityProbe, tmp_path, svc, {**COLLECTION, "read": {"path": "/"}, "count": 3,
                                                       "format": "json"})
        with pytest.raises(ProbeError, match=r"read GET / returned garbage, not JSON \(.*format: json\).*"
                                             r"needs format: text"):
            IntegrityProbe().run(ctx)
        # The default infers the format from the answer: HTML is text, searched for the markers.
        ctx = context(IntegrityProbe, tmp_path, svc, {**COLLECTION, "read": {"path": "/"}, "count": 3})
        outcome = IntegrityProbe().run(ctx)
    assert values(outcome) == {"lost_records": 3, "written": 3, "read_back": 0}


def test_read_that_fails_and_write_that_is_refused(tmp_path):
    with fixture_service(tmp_path) as svc:
        bad_read = {**COLLECTION, "read": {"method": "POST", "path": "/api/items"}, "count": 2}
        with pytest.raises(ProbeError, match=r"read POST /api/items answered 400, so the records cannot"):
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, bad_read))
        refused = {**COLLECTION, "write": {**WRITE, "body": {"sku": "x"}}, "count": 2}
        with pytest.raises(ProbeError, match=r"no write was acknowledged: POST /api/items -> 400"):
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, refused))


@pytest.mark.parametrize("args, message", [
    ({"write": WRITE, "read": {"path": "/api/items"}}, "needs a marker"),
    ({"write": WRITE, "read": {"path": "/api/items/{id}"}}, "declare id_field"),
    ({**COLLECTION, "count": 0}, "greater than or equal to 1"),
    ({**COLLECTION, "count": 1_000_000}, "less than or equal to 10000"),
    ({**COLLECTION, "restart": "reboot"}, "'harness' or 'supervisor'"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValidationError, match=message):
        IntegrityProbe.Args.model_validate(args)


# ---- the command variant: the product's own CLI writes and/or reads --------------------------

ADMIN = ["{python}", "-m", "inventory_api.admin"]
ADMIN_ADD = {"command": [*ADMIN, "add", "--db", "{data_dir}/store.db", "--sku", "INT-{run}-{i}",
                         "--name", "命令行 {i}", "--quantity", "1"]}
ADMIN_LIST = {"command": [*ADMIN, "list", "--db", "{data_dir}/store.db"]}
CLIENT = ["{python}", "-m", "weak_api.client", "--url", "{base_url}"]


@contextlib.contextmanager
def weak_service(tmp_path):
    """The weak service with its flush interval far beyond the test, so nothing reaches disk early."""
    config = fixture_config("weak_api", env={"WEAK_FLUSH_SECONDS": "120"})
    with Service(config, repo=WEAK, log_dir=tmp_path / "service", data_dir=tmp_path / "data") as svc:
        yield svc


@pytest.mark.parametrize("args, lines", [
    ({"write": ADMIN_ADD, "read": ADMIN_LIST, "marker": "INT-{run}-{i}", "count": 6}, 7),
    ({"write": WRITE, "read": ADMIN_LIST, "marker": "INT-{uid}-{i}", "count": 6}, 7),
    ({"write": ADMIN_ADD, "read": {"path": "/api/items/{id}"}, "id_field": "id",
      "marker": "INT-{run}-{i}", "count": 6}, 12),
], ids=["command-command", "http-command", "command-http"])
def test_sample_commands_lose_nothing(tmp_path, args, lines):
    with fixture_service(tmp_path) as svc:
        first_pid = svc.pid
        ctx = context(IntegrityProbe, tmp_path, svc, args)
        outcome = IntegrityProbe().run(ctx)
        assert svc.alive() and svc.pid != first_pid
    assert values(outcome) == {"lost_records": 0, "written": 6, "read_back": 6}
    assert outcome.findings == ()
    log = [json.loads(line) for line in (ctx.run_dir / outcome.evidence[0]).read_text().splitlines()]
    assert len(log) == lines
    runs = [e for e in log if "argv" in e]
    assert all(e["returncode"] == 0 and not e["timed_out"] for e in runs)
    if "command" in args["write"]:
        token = outcome.details["token"]
        assert [e["argv"][e["argv"].index("--sku") + 1] for e in runs if e["phase"] == "write"] == [
            f"INT-{token}-{i}" for i in range(1, 7)]
        assert outcome.commands[1][-6:] == ("--sku", f"INT-{token}-1", "--name", "命令行 1", "--quantity", "1")
        assert any("ran once per record (6 runs" in n for n in outcome.notes)
    if "command" in args["read"]:
        assert "integrity/read.stdout.txt" in outcome.evidence
        listed = json.loads((ctx.run_dir / "integrity" / "read.stdout.txt").read_text())
        ours = [item["sku"] for item in listed if item["sku"].startswith("INT-")]
        assert len(ours) == 6
        if "command" in args["write"]:
            assert all(sku.startswith(f"INT-{outcome.details['token']}-") for sku in ours)
        else:  # {uid}: a token of each record's own
            assert len({sku.rsplit("-", 1)[0] for sku in ours}) == 6
        assert outcome.commands[-1][-3:] == ("list", "--db", str(svc.data_dir / "store.db"))


@pytest.mark.parametrize("read", [{"command": [*CLIENT, "list"]}, {"path": "/api/items"}],
                         ids=["command-read", "http-read"])
def test_weak_cli_writes_through_the_service_are_lost(tmp_path, read):
    args = {"write": {"command": [*CLIENT, "add", "--sku", "INT-{uid}-{i}", "--name", "丢失 {i}"]},
            "read": read, "marker": "INT-{uid}-{i}", "count": 5}
    with weak_service(tmp_path) as svc:
        outcome = IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, args))
    assert values(outcome) == {"lost_records": 5, "written": 5, "read_back": 0}
    assert [f.extra["i"] for f in outcome.findings] == [1, 2, 3, 4, 5]
    assert outcome.findings[0].rule == ("command: {python} -m weak_api.client --url {base_url} list"
                                        if "command" in read else "GET /api/items")


def test_refused_command_writes_are_not_acknowledged(tmp_path):
    # One sku for every record: the first registration succeeds, the rest exit 1 (duplicate sku).
    same_sku = {"command": [*ADMIN, "add", "--db", "{data_dir}/store.db", "--sku", "ONE-{run}",
                            "--name", "x"]}
    args = {"write": same_sku, "read": ADMIN_LIST, "marker": "ONE-{run}", "count": 3}
    with fixture_service(tmp_path) as svc:
        outcome = IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, args))
    assert values(outcome) == {"lost_records": 0, "written": 1, "read_back": 1}
    assert [f.severity for f in outcome.findings] == ["low", "low"]
    assert outcome.findings[0].message.startswith("write command (record 2) not acknowledged: exit status 1")
    assert "already registered" in outcome.findings[0].message


def test_shell_only_when_declared(tmp_path):
    piped = "{python} -m inventory_api.admin list --db {data_dir}/store.db | cat"
    with fixture_service(tmp_path) as svc:
        args = {"write": WRITE, "read": {"command": piped, "shell": True}, "marker": "INT-{uid}-{i}",
                "count": 2}
        assert values(IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, args)))["read_back"] == 2
        # Without shell: true the '|' is just an argument, which the product's CLI refuses.
        args = {**args, "read": {"command": piped}}
        with pytest.raises(ProbeError, match=r"read command exited with status 2, so the records cannot"):
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, args))


@pytest.mark.parametrize("which", ["write", "read"])
def test_missing_command_fails_before_any_write(tmp_path, which):
    missing = {"command": ["no-such-inventory-tool-4711", "--sku", "x"]}
    args = {"write": ADMIN_ADD, "read": ADMIN_LIST, "marker": "INT-{uid}-{i}", "count": 2, which: missing}
    with fixture_service(tmp_path) as svc:
        pid = svc.pid
        ctx = context(IntegrityProbe, tmp_path, svc, args)
        with pytest.raises(ProbeError, match=rf"{which} command 'no-such-inventory-tool-4711' not found"):
            IntegrityProbe().run(ctx)
        assert svc.pid == pid  # not crashed: nothing was measured
    assert (ctx.evidence_dir / "integrity-exchanges.jsonl").read_text() == ""


def test_command_that_hangs_is_killed_at_its_timeout(tmp_path):
    hang = {"command": ["{python}", "-c", "import time; time.sleep(60)"], "timeout": 1}
    with fixture_service(tmp_path) as svc:
        began = time.monotonic()
        with pytest.raises(ProbeError, match=r"write command \(record 1\) did not finish within 1 s") as err:
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc,
                                         {**COLLECTION, "write": hang, "count": 3}))
        assert time.monotonic() - began < 15
        with pytest.raises(ProbeError, match=r"read command did not finish within 1 s and was killed, so"):
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc,
                                         {**COLLECTION, "read": hang, "count": 2}))
    assert "integrity/integrity-exchanges.jsonl" in err.value.evidence


@pytest.mark.parametrize("read, message", [
    # The product's own --version prints text, not the JSON the spec declared.
    ({"command": ["{python}", "-m", "inventory_api", "--version"]},
     r"read command returned garbage, not JSON .*format: json\): 'python -m inventory_api 1\.0\.0.*"
     r"\(a read that returns text needs format: text\)"),
    ({"command": ["{python}", "-c", "import sys; sys.stdout.buffer.write(b'\\xff\\xfe[]')"]},
     r"read command returned garbage \(not UTF-8\)"),
    ({"command": [*ADMIN, "list", "--db", "{data_dir}/elsewhere.db"]},
     r"read command exited with status 2, so the records cannot be checked"),
], ids=["not-json", "not-utf8", "fails"])
def test_read_command_garbage_or_failure(tmp_path, read, message):
    with fixture_service(tmp_path) as svc:
        with pytest.raises(ProbeError, match=message) as err:
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, {**COLLECTION, "read": read,
                                                                          "count": 2, "format": "json"}))
    assert "integrity/read.stdout.txt" in err.value.evidence
    if "elsewhere" in str(read):
        assert "database" in err.value.tail and "does not exist" in err.value.tail


def test_command_writes_all_refused(tmp_path):
    bad = {"command": [*ADMIN, "add", "--db", "{data_dir}/store.db", "--sku", "bad sku {i}", "--name", "x"]}
    with fixture_service(tmp_path) as svc:
        with pytest.raises(ProbeError, match=r"no write was acknowledged: command \(record 1\) -> "
                                             r"exit status 1 error: sku: must match") as err:
            IntegrityProbe().run(context(IntegrityProbe, tmp_path, svc, {**COLLECTION, "write": bad,
                                                                          "count": 2}))
    assert "error: sku" in err.value.tail


@pytest.mark.parametrize("args, message", [
    ({**COLLECTION, "write": {**WRITE, **ADMIN_ADD}}, "either an HTTP request .* or a command, not both"),
    ({**COLLECTION, "read": {"method": "GET"}}, r"read: declare an HTTP request \(path"),
    ({**COLLECTION, "read": {"command": [*ADMIN, "show", "{i}"]}}, "cannot use {i}, {id} or {uid}"),
    ({**COLLECTION, "read": {"command": [*ADMIN, "show", "{uid}"]}}, r"\{run\} is the token of the whole run"),
    ({**COLLECTION, "read": {"path": "/api/items?sku={uid}"}}, r"cannot use \{uid\} \(one per record\)"),
    ({**COLLECTION, "write": {"command": ["tool", "{nope}"]}}, r"write: unknown placeholder\(s\) {nope}"),
    ({"write": WRITE, "read": ADMIN_LIST}, "a read command is one collection read: it needs a marker"),
    ({**COLLECTION, "write": {"command": []}}, "command is empty"),
    ({**COLLECTION, "write": {**ADMIN_ADD, "cwd": "../elsewhere"}}, "escapes the repository"),
    ({**COLLECTION, "write": {**ADMIN_ADD, "timeout": "2h"}}, "less than or equal to 3600"),
    ({**COLLECTION, "write": {**ADMIN_ADD, "env": {"BAD NAME": "1"}}}, "bad environment variable name"),
])
def test_bad_command_arguments(args, message):
    with pytest.raises(ValidationError, match=message):
        IntegrityProbe.Args.model_validate(args)
