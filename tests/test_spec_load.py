"""load_spec: a valid task book loads; every malformed one stops with FILE:LINE: field.path: problem."""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

import pytest

from support.spec_fakes import PROBES
from verifier.errors import ExitCode, InputError
from verifier.spec import SpecError, load_spec, parse_spec

GOOD = textwrap.dedent("""\
    project:
      name: 智能仓储调度系统
      version: 1.0.0
      applicant: 湖南示例软件有限公司
      owners: [湖南示例软件有限公司, "Hunan Example Software Co., Ltd."]
    origin:
      min_ratio: 0.60
      exclude: [docs/**]
      third_party: [web/static/lib/**]
      adjudications: origin/adjudications.yaml
    service:
      command: python -m inventory_api --port {port}
      ready: http://127.0.0.1:{port}/health
    functions:
      - {id: F-01, name: 入库登记, tests: ["tests/test_items.py::test_create*"]}
      - id: F-02
        name: 出库
    indicators:
      - id: T1
        name: 测试通过率
        characteristic: functionality
        probe: counter
        with: {path: tests, users: 5}
        metric: pass_rate
        target: ">= 95%"
      - id: P1
        name: 95% 响应时间
        characteristic: performance_efficiency
        probe: live
        metric: p95_ms
        target: "<= 0.5 s"
        floor: "<= 1000 ms"
        weight: 2
        timeout: 120
    materials:
      user_evaluations: [docs/acceptance/user-eval-*.pdf]
    scoring:
      pass_score: 75
      partial_credit: true
    """)


def _write(tmp_path: Path, text: str, name: str = "acceptance.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _error(tmp_path: Path, text: str, **kwargs) -> SpecError:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(path, probes=PROBES, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return info.value


def _assert(err: SpecError, tmp_path: Path, line: int | None, field: str, problem: str) -> None:
    where = f"{tmp_path / 'acceptance.yaml'}:{line}" if line else f"{tmp_path / 'acceptance.yaml'}"
    assert str(err).startswith(f"{where}: {field}: " if field else f"{where}: "), str(err)
    assert re.search(problem, err.problem), err.problem
    assert (err.line, err.path) == (line, field)


# ----------------------------------------------------------------------------- the good one

def test_good_spec_loads_with_everything_bound(tmp_path):
    spec = load_spec(_write(tmp_path, GOOD), probes=PROBES)
    assert spec.project.owners == ["湖南示例软件有限公司", "Hunan Example Software Co., Ltd."]
    assert spec.project.major == 1
    assert spec.origin.exclude == ["docs/**"] and spec.origin.min_ratio == 0.60
    assert spec.service is not None and spec.service.command.startswith("python -m")
    assert spec.materials is not None and spec.materials.user_evaluations.patterns == [
        "docs/acceptance/user-eval-*.pdf"]
    t1, p1 = spec.indicators
    assert t1.args.path == "tests" and t1.args.users == 5 and t1.args.label == "x"
    assert (t1.parsed_target.op, t1.parsed_target.value, t1.unit) == (">=", 95.0, "%")
    assert (p1.parsed_target.op, p1.parsed_target.value, p1.unit) == ("<=", 500.0, "ms")
    assert p1.parsed_floor.value == 1000.0 and p1.weight == 2 and p1.timeout == 120
    assert spec.functions[0].tests == ["tests/test_items.py::test_create*"]
    assert spec.scoring.pass_score == 75 and spec.scoring.partial_credit is True
    assert spec.indicator("P1") is p1
    assert spec.path == (tmp_path / "acceptance.yaml").resolve()
    assert len(spec.sha256) == 64


def test_defaults_and_normalisation(tmp_path):
    text = textwrap.dedent("""\
        project: {name: x, version: V1.2, owners: [a]}
        origin: {min_ratio: "65%", exclude: [./docs//**]}
        indicators:
          - {id: A, name: a, characteristic: security, probe: counter, metric: files, target: 0 个}
        """)
    spec = load_spec(_write(tmp_path, text), probes=PROBES)
    assert spec.origin.min_ratio == pytest.approx(0.65)
    assert spec.origin.exclude == ["docs/**"]
    assert spec.scoring.pass_score == 70 and spec.scoring.partial_credit is False
    assert spec.indicators[0].parsed_target.op == "==" and spec.indicators[0].parsed_target.value == 0
    assert spec.indicators[0].weight == 1.0 and spec.indicators[0].timeout is None
    assert spec.service is None and spec.materials is None and spec.functions == []


def test_sha256_is_of_the_file_bytes(tmp_path):
    import hashlib
    path = _write(tmp_path, GOOD)
    assert load_spec(path, probes=PROBES).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unbound_indicator_says_so():
    from verifier.spec import Spec
    spec = Spec.model_validate({"project": {"name": "x", "version": "1.0", "owners": ["a"]},
                                "indicators": [{"id": "A", "name": "a", "characteristic": "security",
                                                "probe": "counter", "metric": "files", "target": "0"}]})
    with pytest.raises(RuntimeError, match="load_spec"):
        _ = spec.indicators[0].parsed_target


# ----------------------------------------------------------------------------- malformed specs

def test_yaml_syntax_error(tmp_path):
    text = GOOD.replace("exclude: [docs/**]", "exclude: [docs/**")
    err = _error(tmp_path, text)
    assert err.problem.startswith("invalid YAML")
    assert err.line == _line(text, "third_party")  # PyYAML notices at the next line


def test_unquoted_target_starting_with_gt_gets_a_hint(tmp_path):
    text = GOOD.replace('target: ">= 95%"', "target: >= 95%")
    err = _error(tmp_path, text)
    _assert(err, tmp_path, _line(text, "target: >= 95%"), "", r"invalid YAML.*quote targets")


def test_empty_file(tmp_path):
    _assert(_error(tmp_path, "# nothing\n"), tmp_path, 1, "", "empty")


def test_top_level_list(tmp_path):
    _assert(_error(tmp_path, "- a\n- b\n"), tmp_path, 1, "", "must be a mapping")


def test_not_utf8(tmp_path):
    path = tmp_path / "acceptance.yaml"
    path.write_bytes(b"project:\n  name: \xff\xfe\n")
    with pytest.raises(SpecError) as info:
        load_spec(path, probes=PROBES)
    assert str(info.value) == f"{path}:2: the spec is not UTF-8 text"


def test_missing_file(tmp_path):
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "nope.yaml", probes=PROBES)
    assert str(info.value).startswith(f"{tmp_path / 'nope.yaml'}: no such spec file")
    assert isinstance(info.value, InputError) and info.value.exit_code == ExitCode.INPUT_ERROR


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path, probes=PROBES)


def test_unknown_top_level_key(tmp_path):
    text = GOOD.replace("scoring:", "scoring_rules:")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "scoring_rules:"), "scoring_rules",
            r"unknown key \(allowed: project, origin, runtime, service, functions, indicators, materials, scoring, waivers\)")


def test_unknown_key_in_indicator(tmp_path):
    text = GOOD.replace("    weight: 2\n", "    weight: 2\n    treshold: 3\n")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "treshold"), "indicators[1].treshold",
            r"unknown key \(allowed: id, name, characteristic, probe, with, metric, target")


def test_duplicate_yaml_key(tmp_path):
    text = GOOD.replace('    target: ">= 95%"\n', '    target: ">= 95%"\n    target: ">= 90%"\n')
    _assert(_error(tmp_path, text), tmp_path, _line(text, '">= 90%"'), "indicators[0].target",
            rf"duplicate key \(first at line {_line(text, '>= 95%')}\)")


def test_missing_owners(tmp_path):
    text = GOOD.replace('  owners: [湖南示例软件有限公司, "Hunan Example Software Co., Ltd."]\n', "")
    _assert(_error(tmp_path, text), tmp_path, 1, "project.owners", "required field missing")


def test_empty_owners(tmp_path):
    text = GOOD.replace('[湖南示例软件有限公司, "Hunan Example Software Co., Ltd."]', "[]")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "owners"), "project.owners", "at least 1 item")


def test_missing_indicators_section(tmp_path):
    text = GOOD[: GOOD.index("indicators:")] + GOOD[GOOD.index("materials:"):]
    _assert(_error(tmp_path, text), tmp_path, 1, "indicators", "required field missing")


def test_missing_metric_in_indicator(tmp_path):
    text = GOOD.replace("    metric: p95_ms\n", "")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "id: P1"), "indicators[1].metric",
            "required field missing")


def test_wrong_type_weight(tmp_path):
    text = GOOD.replace("weight: 2", "weight: heavy")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "weight"), "indicators[1].weight",
            r"valid number.*got 'heavy'")


def test_wrong_type_owners_string(tmp_path):
    text = GOOD.replace('[湖南示例软件有限公司, "Hunan Example Software Co., Ltd."]', "湖南示例")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "owners"), "project.owners", "valid list")


def test_wrong_type_in_union_is_one_problem(tmp_path):
    text = GOOD.replace("command: python -m inventory_api --port {port}", "command: 5")
    err = _error(tmp_path, text)
    _assert(err, tmp_path, _line(text, "command: 5"), "service.command", r"valid string.*; or .*valid list")
    assert "more problem" not in str(err)


def test_unknown_probe(tmp_path):
    text = GOOD.replace("probe: counter", "probe: jmeter")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "jmeter"), "indicators[0].probe",
            r"unknown probe 'jmeter' \(known: counter, live, reading\)")


def test_unknown_metric(tmp_path):
    text = GOOD.replace("metric: pass_rate", "metric: passrate")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "passrate"), "indicators[0].metric",
            r"probe 'counter' has no metric 'passrate' \(its metrics: files, pass_rate")


def test_probe_args_wrong_type(tmp_path):
    text = GOOD.replace("with: {path: tests, users: 5}", "with:\n      path: tests\n      users: many")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "users: many"), "indicators[0].with.users",
            r"valid integer.*got 'many'")


def test_probe_args_unknown_key(tmp_path):
    text = GOOD.replace("with: {path: tests, users: 5}", "with:\n      path: tests\n      user: 5")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "user: 5"), "indicators[0].with.user",
            r"unknown key \(allowed: path, users, label\)")


def test_probe_args_out_of_range(tmp_path):
    text = GOOD.replace("users: 5", "users: 0")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "users: 0"), "indicators[0].with.users",
            "greater than or equal to 1")


def test_probe_args_path_escaping(tmp_path):
    text = GOOD.replace("with: {path: tests, users: 5}", "with: {path: ../../etc, users: 5}")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "../../etc"), "indicators[0].with.path",
            r"escapes the repository")


def test_bad_target_expression(tmp_path):
    text = GOOD.replace('target: ">= 95%"', 'target: "about ninety-five"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "about"), "indicators[0].target",
            "not a comparison and a number")


def test_target_unit_mismatch(tmp_path):
    text = GOOD.replace('target: "<= 0.5 s"', 'target: "<= 5 MB"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "5 MB"), "indicators[1].target",
            r"unit mismatch: 'MB' is size, the metric is in 'ms' \(time\)")


def test_target_unknown_unit(tmp_path):
    text = GOOD.replace('target: "<= 0.5 s"', 'target: "<= 5 parsecs"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "parsecs"), "indicators[1].target",
            "unknown unit 'parsecs'")


def test_floor_in_the_wrong_direction(tmp_path):
    text = GOOD.replace('floor: "<= 1000 ms"', 'floor: ">= 1000 ms"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "floor"), "indicators[1].floor",
            "same direction")


def test_floor_stricter_than_target(tmp_path):
    text = GOOD.replace('floor: "<= 1000 ms"', 'floor: "<= 0.2 s"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "floor"), "indicators[1].floor",
            "less strict")


def test_floor_with_an_exact_target(tmp_path):
    text = GOOD.replace('target: "<= 0.5 s"', 'target: "== 500 ms"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, "floor"), "indicators[1].floor",
            "floor needs a target with")


def test_duplicate_indicator_id(tmp_path):
    text = GOOD.replace("id: P1", "id: T1")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "id: T1", 2), "indicators[1].id",
            rf"duplicate id 'T1' \(first at line {_line(text, 'id: T1')}\)")


def test_duplicate_function_id(tmp_path):
    text = GOOD.replace("id: F-02", "id: F-01")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "id: F-01", 2), "functions[1].id",
            "duplicate id 'F-01'")


def test_characteristic_not_one_of_the_eight(tmp_path):
    text = GOOD.replace("characteristic: functionality", "characteristic: 功能性")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "功能性"), "indicators[0].characteristic",
            r"'functionality', 'performance_efficiency'.*got '功能性'")


def test_glob_escaping_the_repository(tmp_path):
    text = GOOD.replace("exclude: [docs/**]", "exclude: [docs/**, ../other/**]")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "../other"), "origin.exclude[1]",
            r"escapes the repository \('\.\.'\)")


def test_absolute_adjudications_path(tmp_path):
    text = GOOD.replace("adjudications: origin/adjudications.yaml", "adjudications: /etc/passwd")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "/etc/passwd"), "origin.adjudications",
            "is absolute")


def test_windows_path(tmp_path):
    text = GOOD.replace("third_party: [web/static/lib/**]", r"third_party: ['web\static\**']")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "third_party"), "origin.third_party[0]",
            "write repository paths with '/'")


def test_function_test_path_escaping(tmp_path):
    text = GOOD.replace("tests/test_items.py::test_create*", "../x/test_a.py::test_b")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "../x"), "functions[0].tests[0]",
            "escapes the repository")


def test_min_ratio_above_one(tmp_path):
    text = GOOD.replace("min_ratio: 0.60", "min_ratio: 60")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "min_ratio"), "origin.min_ratio",
            r"fraction between 0 and 1, not 60")


def test_min_ratio_negative(tmp_path):
    text = GOOD.replace("min_ratio: 0.60", "min_ratio: -0.1")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "min_ratio"), "origin.min_ratio",
            "greater than or equal to 0")


@pytest.mark.parametrize("weight", ["0", "-1"])
def test_weight_not_positive(tmp_path, weight):
    text = GOOD.replace("weight: 2", f"weight: {weight}")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "weight"), "indicators[1].weight",
            "greater than 0")


def test_timeout_not_positive(tmp_path):
    text = GOOD.replace("timeout: 120", "timeout: -5")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "timeout"), "indicators[1].timeout",
            "greater than 0")


def test_pass_score_above_100(tmp_path):
    text = GOOD.replace("pass_score: 75", "pass_score: 150")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "pass_score"), "scoring.pass_score",
            "less than or equal to 100")


def test_version_not_a_version(tmp_path):
    text = GOOD.replace("version: 1.0.0", "version: 第一版")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "version"), "project.version",
            "not a version number like 1.0.0")


def test_version_unquoted_number(tmp_path):
    text = GOOD.replace("version: 1.0.0", "version: 1.10")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "version"), "project.version",
            "quoted string")


def test_probe_needing_a_service_without_one(tmp_path):
    text = GOOD.replace("service:\n  command: python -m inventory_api --port {port}\n"
                        "  ready: http://127.0.0.1:{port}/health\n", "")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "probe: live"), "indicators[1].probe",
            "declare how to start it in the service: section")


def test_service_section_validated_by_service_config(tmp_path):
    text = GOOD.replace("ready: http://127.0.0.1:{port}/health", "ready: http://example.com:{port}/")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "example.com"), "service.ready",
            "loopback")


def test_materials_section_validated_by_materials_config(tmp_path):
    text = GOOD.replace("user_evaluations: [docs/acceptance/user-eval-*.pdf]",
                        "user_evaluation: [docs/acceptance/user-eval-*.pdf]")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "user_evaluation:"),
            "materials.user_evaluation", "unknown key")


def test_empty_name(tmp_path):
    text = GOOD.replace("name: 出库", 'name: "  "')
    _assert(_error(tmp_path, text), tmp_path, _line(text, 'name: "  "'), "functions[1].name",
            "must not be empty")


def test_first_problem_by_line_and_a_count_of_the_rest(tmp_path):
    text = GOOD.replace("weight: 2", "weight: heavy").replace("min_ratio: 0.60", "min_ratio: 7")
    err = _error(tmp_path, text)
    _assert(err, tmp_path, _line(text, "min_ratio"), "origin.min_ratio", r"\(\+1 more problem\)$")


# ----------------------------------------------------------------------------- with a repository

def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "origin").mkdir(parents=True)
    (repo / "origin" / "adjudications.yaml").write_text("[]\n", encoding="utf-8")
    (repo / "tests").mkdir()
    return repo


def test_repository_checks_pass_on_a_good_tree(tmp_path):
    repo = _repo(tmp_path)
    assert load_spec(_write(tmp_path, GOOD), repo=repo, probes=PROBES).origin.adjudications == \
        "origin/adjudications.yaml"


def test_adjudications_missing_from_the_repository(tmp_path):
    repo = _repo(tmp_path)
    (repo / "origin" / "adjudications.yaml").unlink()
    _assert(_error(tmp_path, GOOD, repo=repo), tmp_path, _line(GOOD, "adjudications"),
            "origin.adjudications", f"^path 'origin/adjudications.yaml' does not exist in {re.escape(str(repo))}$")
    (repo / "origin" / "adjudications.yaml").mkdir()
    _assert(_error(tmp_path, GOOD, repo=repo), tmp_path, _line(GOOD, "adjudications"),
            "origin.adjudications", "is not a file in the repository")


def test_probe_path_missing_from_the_repository(tmp_path):
    repo = _repo(tmp_path)
    text = GOOD.replace("path: tests", "path: myapp")
    err = _error(tmp_path, text, repo=repo)
    _assert(err, tmp_path, _line(text, "path: myapp"), "indicators[0].with.path",
            f"^path 'myapp' does not exist in {re.escape(str(repo))}$")
    assert str(err) == (f"{tmp_path / 'acceptance.yaml'}:{err.line}: indicators[0].with.path: "
                        f"path 'myapp' does not exist in {repo}")
    assert load_spec(_write(tmp_path, text), probes=PROBES).indicators[0].args.path == "myapp"  # no --repo
    (repo / "myapp").mkdir()
    assert load_spec(_write(tmp_path, text), repo=repo, probes=PROBES).indicators[0].args.path == "myapp"


def test_node_id_paths_are_checked_by_their_file(tmp_path):
    repo = _repo(tmp_path)
    text = GOOD.replace("path: tests", 'path: "tests/test_a.py::test_one[x]"')
    _assert(_error(tmp_path, text, repo=repo), tmp_path, _line(text, "test_a.py"), "indicators[0].with.path",
            "path 'tests/test_a.py::test_one\\[x\\]' does not exist")
    (repo / "tests" / "test_a.py").write_text("def test_one(): pass\n", encoding="utf-8")
    assert load_spec(_write(tmp_path, text), repo=repo, probes=PROBES).indicators[0].args.path == \
        "tests/test_a.py::test_one[x]"


def test_service_cwd_missing_from_the_repository(tmp_path):
    repo = _repo(tmp_path)
    text = GOOD.replace("  ready: http", "  cwd: server\n  ready: http")
    _assert(_error(tmp_path, text, repo=repo), tmp_path, _line(text, "cwd: server"), "service.cwd",
            "path 'server' does not exist in")


def test_missing_paths_are_reported_first_by_line_with_a_count(tmp_path):
    repo = _repo(tmp_path)
    text = GOOD.replace("path: tests", "path: myapp").replace("  ready: http", "  cwd: server\n  ready: http")
    err = _error(tmp_path, text, repo=repo)
    assert err.path == "service.cwd" and err.problem.endswith("(+1 more problem)")


def test_globs_matching_nothing_are_warnings(tmp_path):
    repo = _repo(tmp_path)
    spec = load_spec(_write(tmp_path, GOOD), repo=repo, probes=PROBES)
    found = {(w.path, w.line): w.problem for w in spec.warnings}
    assert found == {
        ("origin.exclude[0]", _line(GOOD, "exclude")): f"'docs/**' matches nothing in {repo}",
        ("origin.third_party[0]", _line(GOOD, "third_party")): f"'web/static/lib/**' matches nothing in {repo}",
        ("functions[0].tests[0]", _line(GOOD, "F-01")):
            f"'tests/test_items.py::test_create*' matches nothing in {repo}",
        ("materials.user_evaluations", _line(GOOD, "user_evaluations")):
            f"0 file(s) in {repo} match docs/acceptance/user-eval-*.pdf (2 required)",
    }
    assert [w.line for w in spec.warnings] == sorted(w.line for w in spec.warnings)
    for rel in ("docs/acceptance/user-eval-1.pdf", "docs/acceptance/user-eval-2.pdf",
                "web/static/lib/jquery.js", "tests/test_items.py"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text("x\n", encoding="utf-8")
    assert load_spec(_write(tmp_path, GOOD), repo=repo, probes=PROBES).warnings == ()
    assert load_spec(_write(tmp_path, GOOD), probes=PROBES).warnings == ()   # no repository: no check


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_glob_matching_only_through_a_symlink_out_is_a_warning(tmp_path):
    repo = _repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "user-eval-1.pdf").write_text("x\n", encoding="utf-8")
    (repo / "docs" / "acceptance").mkdir(parents=True)
    (repo / "docs" / "acceptance" / "user-eval-1.pdf").symlink_to(outside / "user-eval-1.pdf")
    text = GOOD.replace("exclude: [docs/**]", "exclude: [docs/acceptance/*.pdf]")
    spec = load_spec(_write(tmp_path, text), repo=repo, probes=PROBES)
    assert "origin.exclude[0]" in {w.path for w in spec.warnings}


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_out_of_the_repository(tmp_path):
    repo = _repo(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "docs").symlink_to(outside)
    _assert(_error(tmp_path, GOOD, repo=repo), tmp_path, _line(GOOD, "exclude"), "origin.exclude[0]",
            "leads out of the repository")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_probe_path_symlinked_out_of_the_repository(tmp_path):
    repo = _repo(tmp_path)
    (repo / "suite").symlink_to(tmp_path)
    text = GOOD.replace("path: tests", "path: suite")
    _assert(_error(tmp_path, text, repo=repo), tmp_path, _line(GOOD, "with:"), "indicators[0].with.path",
            "leads out of the repository")


def test_parse_spec_names_the_file_it_was_given():
    with pytest.raises(SpecError) as info:
        parse_spec("project: [\n", file="inline.yaml", probes=PROBES)
    assert str(info.value).startswith("inline.yaml:2: invalid YAML")


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_function_tests_symlinked_out_of_the_repository(tmp_path):
    repo = _repo(tmp_path)
    (repo / "tests").rmdir()
    (repo / "tests").symlink_to(tmp_path)
    _assert(_error(tmp_path, GOOD, repo=repo), tmp_path, _line(GOOD, "F-01"), "functions[0].tests[0]",
            "leads out of the repository")


READING = textwrap.dedent("""\
    project: {name: x, version: "1.0", owners: [a]}
    indicators:
      - id: C1
        name: 冷启动时间
        characteristic: performance_efficiency
        probe: reading
        with: {unit: ms}
        metric: value
        target: "<= 2 s"
    """)


def test_metric_unit_declared_by_the_probe_arguments(tmp_path):
    spec = load_spec(_write(tmp_path, READING), probes=PROBES)
    assert (spec.indicators[0].unit, spec.indicators[0].parsed_target.value) == ("ms", 2000.0)


def test_metric_unit_declared_by_the_arguments_mismatch(tmp_path):
    text = READING.replace("unit: ms", "unit: MB")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "target"), "indicators[0].target",
            "unit mismatch")


def test_metric_unit_arguments_invalid_reports_only_that(tmp_path):
    text = READING.replace("with: {unit: ms}", "with: {}")
    err = _error(tmp_path, text)
    _assert(err, tmp_path, _line(text, "with:"), "indicators[0].with.unit", "required field missing$")


def test_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
    _assert(_error(tmp_path, "\n".join(lines) + "\n"), tmp_path, 1, "", "expands to more than")


def test_aliases_within_limits_are_fine(tmp_path):
    text = GOOD.replace("with: {path: tests, users: 5}", "with: &args {path: tests, users: 5}")
    text = text.replace("    probe: live\n", "    probe: live\n    with: *args\n")
    with pytest.raises(SpecError) as info:   # the alias is expanded and validated by live's Args
        load_spec(_write(tmp_path, text), probes=PROBES)
    assert info.value.path == "indicators[1].with.path" and info.value.line == _line(text, "*args")


def test_deep_nesting_is_refused(tmp_path):
    err = _error(tmp_path, "project: " + "[" * 1500 + "]" * 1500 + "\n")
    assert "nested too deeply" in err.problem or "invalid YAML" in err.problem


def test_oversized_file_is_refused(tmp_path):
    from verifier.spec import MAX_BYTES
    _assert(_error(tmp_path, "#" * (MAX_BYTES + 1)), tmp_path, None, "",
            f"{MAX_BYTES + 1} bytes, more than a spec file may hold")


def test_python_tags_are_refused(tmp_path):
    text = GOOD.replace("name: 出库", "name: !!python/object/apply:os.system [echo hi]")
    err = _error(tmp_path, text)
    assert err.line == _line(text, "python/object") and err.problem.startswith("invalid YAML")


def test_knowledge_base_resolves_against_the_spec_directory(tmp_path):
    text = GOOD.replace("  adjudications:", "  knowledge_base: ../kb/oss.kb\n  adjudications:")
    spec = load_spec(_write(tmp_path, text), probes=PROBES)
    assert spec.knowledge_base_path() == (tmp_path.parent / "kb" / "oss.kb").resolve()
    assert load_spec(_write(tmp_path, GOOD), probes=PROBES).knowledge_base_path() is None


# ----------------------------------------------------------------------------- percentages

def test_impossible_percentage_target_is_refused(tmp_path):
    text = GOOD.replace('target: ">= 95%"', 'target: ">= 195%"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, ">= 195%"), "indicators[0].target",
            r"can never be met: a share is at most 100%")


def test_negative_percentage_floor_is_refused(tmp_path):
    text = GOOD.replace('target: ">= 95%"', 'target: ">= 95%"\n    floor: ">= -5%"')
    _assert(_error(tmp_path, text), tmp_path, _line(text, ">= -5%"), "indicators[0].floor",
            r"is below 0%")


def test_bare_fraction_on_a_percentage_is_a_warning_on_the_spec(tmp_path):
    text = GOOD.replace('target: ">= 95%"', 'target: ">= 0.6"')
    spec = load_spec(_write(tmp_path, text), probes=PROBES)
    (warning,) = spec.warnings
    assert (warning.line, warning.path) == (_line(text, '">= 0.6"'), "indicators[0].target")
    assert str(warning).startswith(f"{tmp_path / 'acceptance.yaml'}:{warning.line}: "
                                   "indicators[0].target: target '>= 0.6' means 0.6%")
    assert "did you mean >= 60%?" in warning.problem
    assert spec.indicators[0].parsed_target.value == 0.6     # still read as written


def test_good_spec_has_no_warnings(tmp_path):
    assert load_spec(_write(tmp_path, GOOD), probes=PROBES).warnings == ()


# ----------------------------------------------------------------------------- service port

def test_service_never_told_its_port_is_refused(tmp_path):
    text = GOOD.replace("command: python -m inventory_api --port {port}", "command: python -m inventory_api")
    _assert(_error(tmp_path, text), tmp_path, _line(text, "command: python -m inventory_api"),
            "service.command", r"never told the port the harness picks: put \{port\} in service.command")


@pytest.mark.parametrize("old, new", [
    ("command: python -m inventory_api --port {port}",            # a fixed port
     "command: python -m inventory_api\n  port: 8123"),
    ("command: python -m inventory_api --port {port}",            # through the environment
     "command: python -m inventory_api\n  env: {APP_PORT: \"{port}\"}"),
    ("command: python -m inventory_api --port {port}",            # in an argv list
     "command: [python, -m, inventory_api, \"--bind=127.0.0.1:{port}\"]"),
])
def test_service_port_told_or_fixed_is_accepted(tmp_path, old, new):
    spec = load_spec(_write(tmp_path, GOOD.replace(old, new)), probes=PROBES)
    assert spec.service is not None and spec.warnings == ()


def test_ready_on_another_port_is_a_warning(tmp_path):
    text = GOOD.replace("ready: http://127.0.0.1:{port}/health", "ready: http://127.0.0.1:9000/health")
    (warning,) = load_spec(_write(tmp_path, text), probes=PROBES).warnings
    assert (warning.path, warning.line) == ("service.ready", _line(text, "ready:"))
    assert warning.problem == ("ready checks port 9000 but the service listens on the port the harness "
                               "picks: write {port} in the ready URL")
    fixed = text.replace("  ready:", "  port: 9000\n  ready:").replace("--port {port}", "--port 9000")
    assert load_spec(_write(tmp_path, fixed), probes=PROBES).warnings == ()


def test_required_defaults_to_true_and_false_marks_an_indicator_beyond_the_task_book(tmp_path):
    spec = load_spec(_write(tmp_path, GOOD.replace("    timeout: 120\n", "    timeout: 120\n    required: false\n")),
                     probes=PROBES)
    assert [(i.id, i.required) for i in spec.indicators] == [("T1", True), ("P1", False)]
    err = _error(tmp_path, GOOD.replace("    timeout: 120\n", "    timeout: 120\n    required: sometimes\n"))
    assert str(err).startswith(f"{tmp_path / 'acceptance.yaml'}:{_line(GOOD, 'timeout: 120') + 1}: "
                               "indicators[1].required: ")
