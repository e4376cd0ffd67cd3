"""integrity probe: acknowledged writes survive SIGKILL on the sample, are lost on the weak service."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from probes.integrity_probe import IntegrityProbe
from tests.live_service_support import context, fixture_service, values
from verifier.probe import ProbeError

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
    # GET / answers the HTML console, not JSON: the records cannot be checked.
    with fixture_service(tmp_path) as svc:
        ctx = context(IntegrityProbe, tmp_path, svc, {**COLLECTION, "read": {"path": "/"}, "count": 3})
        with pytest.raises(ProbeError, match=r"read GET / returned garbage, not JSON"):
            IntegrityProbe().run(ctx)


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
