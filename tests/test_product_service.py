"""``service.setup`` (issue 13): commands run once before the service's first start — a database
migration here — in its environment and data directory, with their own timeout and log, never again
on a restart (so never inside a measured recovery)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from support.auth_service import AUTH, auth_config, auth_service
from verifier.service import Service, ServiceConfig, ServiceError


def test_setup_runs_once_before_the_first_start_and_never_on_a_restart(tmp_path):
    with auth_service(tmp_path) as svc:
        assert (svc.starts, len(svc.setup_runs)) == (1, 1)
        assert svc.setup_runs[0].returncode == 0
        assert svc.setup_runs[0].stdout.read_text().strip().endswith("schema 2, 5 accounts")
        assert svc.setup_commands[0][1:4] == ("-m", "authapp.migrate", "--db")
        svc.kill()
        svc.start()
        assert (svc.starts, len(svc.setup_runs)) == (2, 1)  # restarted, not migrated again
    assert (tmp_path / "service" / "setup-1.stdout.txt").is_file()


def test_without_its_migration_the_service_does_not_start(tmp_path):
    # The product refuses an unmigrated database: what service.setup is for.
    config = auth_config(setup=[])
    with pytest.raises(ServiceError, match=r"service exited with status 3 before it became ready") as err:
        with Service(config, repo=AUTH, log_dir=tmp_path / "service", data_dir=tmp_path / "data"):
            pass
    assert "run python -m authapp.migrate" in err.value.tail


def test_a_failing_setup_step_stops_the_start_with_its_reason(tmp_path):
    config = auth_config(setup=["{python} -m authapp.migrate --db {data_dir}/missing/notes.db"])
    service = Service(config, repo=AUTH, log_dir=tmp_path / "service", data_dir=tmp_path / "data")
    with pytest.raises(ServiceError, match=r"^service\.setup\[1\] \(\{python\} -m authapp\.migrate --db "
                                           r"\{data_dir\}/missing/notes\.db\) exited with status 1: "
                                           r"sqlite3\.OperationalError: unable to open database file "
                                           r"\(log: .*setup-1\.stderr\.txt\)$") as err:
        service.start()
    service.close()
    assert service.starts == 0 and "Traceback" in err.value.tail


def test_a_setup_step_that_hangs_is_killed_at_its_timeout(tmp_path):
    config = auth_config(setup=[{"command": ["{python}", "-c", "import time; time.sleep(60)"], "timeout": 1}])
    service = Service(config, repo=AUTH, log_dir=tmp_path / "service", data_dir=tmp_path / "data")
    with pytest.raises(ServiceError, match=r"did not finish within 1 s and was killed"):
        service.start()
    service.close()
    assert service.starts == 0


def test_setup_steps_see_the_services_placeholders_and_environment(tmp_path):
    script = "import os, sys; print(sys.argv[1], os.environ['APP_MODE'], os.getcwd())"
    config = auth_config(env={"APP_MODE": "acceptance"},
                         setup=[["{python}", "-c", script, "{data_dir}"],
                                "{python} -m authapp.migrate --db {data_dir}/notes.db"])
    with Service(config, repo=AUTH, log_dir=tmp_path / "service", data_dir=tmp_path / "data") as svc:
        said = svc.setup_runs[0].stdout.read_text().split()
    assert said == [str(tmp_path / "data"), "acceptance", str(AUTH)]


@pytest.mark.parametrize("setup, problem", [
    (["migrate --to {version}"], r"setup\[1\]: unknown placeholder\(s\) \{version\}"),
    ([""], "command is empty"),
    ([{"command": "x", "timeout": "soon"}], "bad duration"),
])
def test_bad_setup_declarations(setup, problem):
    with pytest.raises(ValidationError, match=problem):
        ServiceConfig.model_validate({"command": "run --port {port}", "setup": setup})
