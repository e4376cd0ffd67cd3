"""Authenticated APIs (issue 13): ``service.login`` gives a token that the declared requests of the
live probes carry; a login that fails is the probe's recorded error; robustness cases answered
401/403 without credentials are not exercised, never counted as correct 4xx answers."""

from __future__ import annotations

import csv
import json

import pytest
from pydantic import ValidationError

from support.auth_service import LOGIN, auth_config, auth_context, auth_service
from support.live_service import values
from verifier.builtin_probes.integrity_probe import IntegrityProbe
from verifier.builtin_probes.recovery_probe import RecoveryProbe
from verifier.builtin_probes.robustness_probe import RobustnessProbe
from verifier.builtin_probes.soak_probe import SoakProbe
from verifier.probe import ProbeError
from verifier.product.login import LoginConfig, LoginFailed, token_from

NOTE = {"method": "POST", "path": "/api/notes", "body": {"title": "INT-{uid}-{i}", "body": "b"}, "expect": [201]}
INTEGRITY = {"write": NOTE, "read": {"path": "/api/notes"}, "marker": "INT-{uid}-{i}", "count": 10}
ROBUST = {"endpoints": [{"method": "POST", "path": "/api/notes", "body": {"title": "t", "body": "b"}},
                        {"method": "GET", "path": "/api/notes/1"}], "oversize_bytes": 131072}


# ---- the login model: where the token is, how it is sent -------------------------------------

def _login(**token) -> LoginConfig:
    return LoginConfig.model_validate({"request": {"path": "/login"}, "token": token})


@pytest.mark.parametrize("token, headers, body, expected", [
    ({"json": "access_token"}, [], b'{"access_token": "abc"}', "abc"),
    ({"json": "data.items[1].t"}, [], b'{"data": {"items": [{"t": "x"}, {"t": "y"}]}}', "y"),
    ({"json": "$.id"}, [], b'{"id": 42}', "42"),
    ({"header": "X-Auth-Token"}, [("x-auth-token", "hdr")], b"", "hdr"),
    ({"cookie": "session"}, [("Set-Cookie", "other=1; Path=/"), ("Set-Cookie", "session=s3; HttpOnly")], b"", "s3"),
])
def test_token_is_found_where_declared(token, headers, body, expected):
    assert token_from(_login(**token), 200, headers, body) == expected


@pytest.mark.parametrize("token, status, headers, body, reason", [
    ({"json": "access_token"}, 401, [], b'{"error": "bad credentials"}',
     r"^POST /login answered 401: \{\"error\": \"bad credentials\"\}$"),
    ({"json": "access_token"}, 200, [], b'{"token": "abc"}', r"no token at JSON path 'access_token'"),
    ({"json": "access_token"}, 200, [], b"<html>", r"no token at JSON path"),
    ({"json": "access_token"}, 200, [], b'{"access_token": ""}', r"token is empty"),
    ({"header": "X-Auth-Token"}, 200, [], b"", r"no X-Auth-Token header"),
    ({"cookie": "session"}, 200, [("Set-Cookie", "other=1")], b"", r"sets no cookie 'session'"),
])
def test_a_login_without_a_token_says_why(token, status, headers, body, reason):
    with pytest.raises(LoginFailed, match=reason):
        token_from(_login(**token), status, headers, body)


def test_how_the_token_is_sent():
    assert _login(json="t").auth_headers("abc") == {"Authorization": "Bearer abc"}
    assert _login(cookie="session").auth_headers("abc") == {"Cookie": "session=abc"}
    custom = LoginConfig.model_validate({"request": {"path": "/login"}, "token": {"header": "X-T"},
                                         "send": {"header": "X-Api-Key", "value": "{token}"}})
    assert custom.auth_headers("abc") == {"X-Api-Key": "abc"}
    per_user = LoginConfig.model_validate(LOGIN)
    assert json.loads(per_user.body_for(7)) == {"username": "tester7", "password": "pass-7"}


@pytest.mark.parametrize("data, problem", [
    ({"request": {"path": "/login"}, "token": {}}, "exactly one of json"),
    ({"request": {"path": "/login"}, "token": {"json": "a", "header": "b"}}, "exactly one of json"),
    ({"request": {"path": "login"}, "token": {"json": "a"}}, "must start with a single '/'"),
    ({"request": {"path": "/login"}, "token": {"json": "a..b["}}, "malformed"),
    ({"request": {"path": "/login"}, "token": {"json": "a"}, "send": {"value": "Bearer"}}, "must use {token}"),
])
def test_bad_login_declarations(data, problem):
    with pytest.raises(ValidationError, match=problem):
        LoginConfig.model_validate(data)


# ---- the probes, against the token-protected fixture ------------------------------------------

def test_integrity_logs_in_before_the_writes_and_after_the_restart(tmp_path):
    with auth_service(tmp_path) as svc:
        ctx = auth_context(IntegrityProbe, tmp_path, svc, INTEGRITY)
        outcome = IntegrityProbe().run(ctx)
    assert values(outcome) == {"lost_records": 0, "written": 10, "read_back": 10}
    logins = [json.loads(line) for line in (ctx.evidence_dir / "login.jsonl").read_text().splitlines()]
    assert [(e["status"], e["outcome"]) for e in logins] == [(200, "ok"), (200, "ok")]
    assert any("logged in 2 times" in n for n in outcome.notes)
    assert "access_token" not in (ctx.evidence_dir / "login.jsonl").read_text()  # no token in evidence


def test_without_a_login_the_protected_api_refuses_every_write(tmp_path):
    with auth_service(tmp_path, auth_config()) as svc:
        with pytest.raises(ProbeError, match=r"no write was acknowledged: POST /api/notes -> 401"):
            IntegrityProbe().run(auth_context(IntegrityProbe, tmp_path, svc, INTEGRITY))


def test_a_login_that_fails_is_the_probes_error(tmp_path):
    wrong = {**LOGIN, "request": {**LOGIN["request"], "body": {"username": "tester1", "password": "nope"}}}
    with auth_service(tmp_path, auth_config(login=wrong)) as svc:
        for probe, args in ((IntegrityProbe, INTEGRITY), (RobustnessProbe, ROBUST),
                            (SoakProbe, {"duration": 2, "requests": [{"path": "/api/notes"}]})):
            with pytest.raises(ProbeError, match=r"^login failed: POST /api/login answered 401: "
                                                 r"\{\"error\": \"bad credentials\"\}$"):
                probe().run(auth_context(probe, tmp_path, svc, args))


def test_robustness_with_a_login_exercises_every_case(tmp_path):
    with auth_service(tmp_path) as svc:
        ctx = auth_context(RobustnessProbe, tmp_path, svc, ROBUST)
        outcome = RobustnessProbe().run(ctx)
    got = values(outcome)
    assert got["share_4xx"] == 100.0 and got["not_exercised"] == 0 and got["cases"] > 20, got
    log = [json.loads(line) for line in (ctx.evidence_dir / "robustness-exchanges.jsonl").read_text().splitlines()]
    assert all(e["credentials"] for e in log) and 401 not in {e["status"] for e in log}
    assert {e["status"] for e in log if e["kind"] == "oversize"} == {413}


def test_robustness_without_credentials_is_not_exercised(tmp_path):
    # Without a login the protected API answers 401 before any validation. Only the unknown route at
    # the root (outside /api/) reaches the product's own checks: its 404 is the only exercised case,
    # and a 100% share of one case must not pass for the measurement the indicator asks for.
    with auth_service(tmp_path, auth_config()) as svc:
        outcome = RobustnessProbe().run(auth_context(RobustnessProbe, tmp_path, svc, ROBUST))
    got = values(outcome)
    assert got["not_exercised"] == got["cases"] - 1 > 20 and got["non4xx"] == 0 and got["share_4xx"] == 100.0
    assert outcome.error and outcome.error.startswith(f"{got['not_exercised']:g} of {got['cases']:g} cases were "
                                                      "answered 401/403 without credentials")
    assert "declare service.login" in outcome.error and outcome.findings == ()
    assert any("declare service.login" in n for n in outcome.notes)


def test_robustness_where_nothing_is_exercised(tmp_path):
    args = {"cases": [{"method": "POST", "path": "/api/notes", "raw": "{broken"},
                      {"method": "GET", "path": "/api/notes/abc"}], "skip": ["unknown_route"]}
    with auth_service(tmp_path, auth_config()) as svc:
        outcome = RobustnessProbe().run(auth_context(RobustnessProbe, tmp_path, svc, args))
    assert values(outcome) == {"share_4xx": None, "non4xx": 0, "cases": 2, "crashes": 0, "not_exercised": 2}
    assert outcome.error == ("no case was exercised: 2 of 2 were answered 401/403 without credentials "
                             "(declare service.login)")


def test_robustness_counts_apart_the_cases_declared_without_credentials(tmp_path):
    args = {**ROBUST, "endpoints": [ROBUST["endpoints"][0], {**ROBUST["endpoints"][1], "auth": False}]}
    with auth_service(tmp_path) as svc:
        outcome = RobustnessProbe().run(auth_context(RobustnessProbe, tmp_path, svc, args))
    got = values(outcome)
    by_kind = outcome.details["by_kind"]
    assert got["not_exercised"] == sum(row.get("not_exercised", 0) for row in by_kind.values()) > 0
    assert got["share_4xx"] == 100.0  # every exercised case was a client error
    assert any("declared auth: false" in n for n in outcome.notes)


def _records(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_soak_logs_each_simulated_user_in(tmp_path):
    args = {"duration": 2, "rate": 40, "concurrency": 3,
            "requests": [{"path": "/api/notes", "weight": 3}, {**NOTE, "body": {"title": "S-{uid}", "body": ""}},
                         {"path": "/health", "auth": False}]}
    with auth_service(tmp_path) as svc:
        ctx = auth_context(SoakProbe, tmp_path, svc, args)
        outcome = SoakProbe().run(ctx)
    assert values(outcome)["failure_ratio"] == 0.0
    rows = _records(ctx.evidence_dir / "soak-records.csv")
    logins = [r for r in rows if r["label"] == "LOGIN POST /api/login"]
    assert len(logins) == 3 and all(r["status"] == "200" for r in logins)  # one per simulated user
    assert {r["status"] for r in rows if r["label"] == "GET /api/notes"} == {"200"}
    assert json.loads((ctx.evidence_dir / "soak-login.json").read_text())["token"] == {
        "kind": "json", "path": ["access_token"]}
    assert any("Each simulated user logged in first" in n for n in outcome.notes)


def test_recovery_under_login_loses_no_session(tmp_path):
    # The fixture keeps its sessions in SQLite: after the SIGKILL the same tokens still work.
    args = {"before": 1, "after": 1, "rate": 40, "requests": [{"path": "/api/notes"}]}
    with auth_service(tmp_path) as svc:
        ctx = auth_context(RecoveryProbe, tmp_path, svc, args)
        outcome = RecoveryProbe().run(ctx)
        assert len(svc.setup_runs) == 1 and svc.starts == 2  # migrated once, started twice
    assert values(outcome)["failures_after_recovery"] == 0
    rows = _records(ctx.evidence_dir / "recovery-records.csv")
    assert sum(r["label"].startswith("LOGIN") for r in rows) == 4  # each thread once: no 401 after the restart


def test_locust_does_not_start_when_the_login_cannot_work(tmp_path):
    from verifier.builtin_probes.locust_probe import LocustProbe

    wrong = {**LOGIN, "token": {"json": "session_id"}}
    args = {"endpoints": [{"path": "/api/notes"}], "users": 2, "run_time": 1}
    with auth_service(tmp_path, auth_config(login=wrong)) as svc:
        ctx = auth_context(LocustProbe, tmp_path, svc, args)
        with pytest.raises(ProbeError, match=r"^login failed: the login answer has no token at JSON path "
                                             r"'session_id': \{\"access_token\""):
            LocustProbe().run(ctx)
    assert not (ctx.evidence_dir / "locust_stats.csv").exists()


@pytest.mark.slow
def test_locust_logs_each_simulated_user_in(tmp_path):
    from verifier.builtin_probes.locust_probe import LocustProbe

    args = {"endpoints": [{"path": "/api/notes", "weight": 3}, {**NOTE, "body": {"title": "L-{uid}", "body": ""}}],
            "users": 3, "spawn_rate": 3, "run_time": 2}
    with auth_service(tmp_path) as svc:
        ctx = auth_context(LocustProbe, tmp_path, svc, args)
        outcome = LocustProbe().run(ctx)
    assert values(outcome)["failure_ratio"] == 0.0 and values(outcome)["requests"] > 10
    by_name = {row["name"]: row for row in outcome.details["endpoints"]}
    assert by_name["LOGIN POST /api/login"]["requests"] == 3  # one login per simulated user
    assert by_name["GET /api/notes"]["failures"] == 0
