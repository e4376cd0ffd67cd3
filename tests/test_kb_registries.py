"""``verifier kb build/add --pypi/--npm/--debian-source/--list``: packages fetched with the real
clients (pip, npm; apt-get's refusal) from local stand-ins of the registries configured the way a
user configures them (``PIP_INDEX_URL``, ``npm_config_registry``), read as hostile archives,
named by their own metadata; a package that cannot be fetched is listed with the client's reason
and never stops the rest; what the KB holds is skipped. One slow test uses the real registries."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.registry_standins import (
    CRC_C,
    LEDGER,
    SCHEDULE_JS,
    debian_source,
    npm_registry,
    npm_tarball,
    sdist,
    simple_index,
    wheel,
)
from verifier.errors import InputError
from verifier.kb import KnowledgeBase, match_texts
from verifier.kb.registries import FetchFailure, PackageSpec, fetch, parse_spec, read_list

WHEEL_CODE = LEDGER.replace("Ledger", "Stockbook").replace("sku", "item")


@pytest.fixture(scope="module")
def index_url(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("pypi")
    made = root / "made"
    made.mkdir()
    dists = [sdist(made, "demo-ledger", "1.0", "MIT", {"demo_ledger/core.py": LEDGER}),
             wheel(made, "wheelonly", "2.0", "BSD-3-Clause", {"wheelonly/book.py": WHEEL_CODE})]
    return simple_index(root, dists)


@pytest.fixture
def pip_env(index_url, monkeypatch, tmp_path):
    """pip configured as a user would: its index is the local one, no other configuration."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", index_url)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    for name in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_CONSTRAINT"):
        monkeypatch.delenv(name, raising=False)
    return index_url


def _matches(kb: Path, name: str, text: str):
    found = match_texts(kb, [(name, text)])
    return found[name].matches if name in found else ()


def test_pypi_sdist_then_wheel_fallback_then_a_missing_package(cli, pip_env, tmp_path):
    kb = tmp_path / "kb.sqlite"
    result = cli("kb", "build", "-o", kb, "--pypi", "demo-ledger==1.0", "--pypi", "wheelonly",
                 "--pypi", "no-such-package==9.9")
    assert result.exit_code == 0, result.output
    assert "could not fetch no-such-package==9.9: " in result.stderr
    assert "sdist: pip:" in result.stderr and "wheel: pip:" in result.stderr
    assert "2 fetched, 0 already held (skipped), 1 could not be fetched" in result.stdout
    with KnowledgeBase.open(kb) as opened:
        listing = {(c["kind"], c["name"], c["version"], c["license"], c["purl"])
                   for c in opened.info()["component_list"]}
    assert listing == {("python", "demo-ledger", "1.0", "MIT", "pkg:pypi/demo-ledger@1.0"),
                       ("python", "wheelonly", "2.0", "BSD-3-Clause", "pkg:pypi/wheelonly@2.0")}
    (match,) = _matches(kb, "app/stock.py", "# ours now\n" + LEDGER)
    assert (match.component, match.version, match.kb_file) == ("demo-ledger", "1.0",
                                                               "demo_ledger/core.py")
    (match,) = _matches(kb, "app/book.py", WHEEL_CODE)
    assert (match.component, match.kb_file) == ("wheelonly", "wheelonly/book.py")


def test_add_skips_what_the_kb_holds_without_asking_the_registry(cli, pip_env, tmp_path,
                                                                monkeypatch):
    kb = tmp_path / "kb.sqlite"
    assert cli("kb", "build", "-o", kb, "--pypi", "demo-ledger==1.0").exit_code == 0
    monkeypatch.setenv("PIP_INDEX_URL", (tmp_path / "gone").as_uri())  # nothing to fetch from
    result = cli("kb", "add", kb, "--pypi", "demo-ledger==1.0", "--pypi", "wheelonly==2.0")
    assert result.exit_code == 0, result.output
    assert "0 fetched, 1 already held (skipped), 1 could not be fetched" in result.stdout
    assert "could not fetch wheelonly==2.0: sdist: pip:" in result.stderr


def test_nothing_fetchable_is_one_line_exit_2(cli, pip_env, tmp_path):
    result = cli("kb", "build", "-o", tmp_path / "kb.sqlite", "--pypi", "no-such-package")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("verifier: error: no package could be fetched: no-such-package: ")
    assert not (tmp_path / "kb.sqlite").exists()


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_tarball_from_a_registry_the_user_configured(cli, tmp_path, monkeypatch):
    packages = {"demo-slots": {"1.2.0": npm_tarball("demo-slots", "1.2.0", "ISC",
                                                    {"lib/slots.js": SCHEDULE_JS})},
                "@acme/slots": {"0.1.0": npm_tarball("@acme/slots", "0.1.0", "Apache-2.0",
                                                     {"index.js": SCHEDULE_JS})}}
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_userconfig", str(tmp_path / "npmrc"))
    with npm_registry(packages) as url:
        monkeypatch.setenv("npm_config_registry", url)
        kb = tmp_path / "kb.sqlite"
        result = cli("kb", "build", "-o", kb, "--npm", "demo-slots@1.2.0", "--npm", "@acme/slots",
                     "--npm", "left-pad-nowhere@1.0.0")
    assert result.exit_code == 0, result.output
    assert "could not fetch left-pad-nowhere@1.0.0: npm: " in result.stderr
    with KnowledgeBase.open(kb) as opened:
        listing = {(c["kind"], c["name"], c["version"], c["license"], c["purl"])
                   for c in opened.info()["component_list"]}
    assert listing == {("npm", "demo-slots", "1.2.0", "ISC", "pkg:npm/demo-slots@1.2.0"),
                       ("npm", "@acme/slots", "0.1.0", "Apache-2.0",
                        "pkg:npm/%40acme/slots@0.1.0")}
    matches = _matches(kb, "web/slots.js", SCHEDULE_JS)
    assert matches and matches[0].component in {"demo-slots", "@acme/slots"}


def test_debian_source_from_a_local_dsc_without_its_license_header(cli, tmp_path):
    """The upstream tarball is indexed (not the debian/ packaging); a C file copied into a
    delivery with its license header removed is found, the license from debian/copyright."""
    header = "/* demo crc: Copyright (c) 2020 Demo Authors. Zlib license. */\n"
    dsc = debian_source(tmp_path / "deb", "democrc", "1.3", "2", {"src/crc.c": header + CRC_C})
    kb = tmp_path / "kb.sqlite"
    result = cli("kb", "build", "-o", kb, "--debian-source", dsc)
    assert result.exit_code == 0, result.output
    with KnowledgeBase.open(kb) as opened:
        (component,) = opened.info()["component_list"]
    assert (component["kind"], component["name"], component["version"], component["license"],
            component["purl"], component["files"]) == (
        "debian", "democrc", "1.3-2", "Zlib", "pkg:deb/debian/democrc@1.3-2?arch=source", 1)
    (match,) = _matches(kb, "drivers/checksum.c", CRC_C)
    assert (match.component, match.kb_file, match.license) == ("democrc", "src/crc.c", "Zlib")


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="no apt-get")
def test_apt_without_deb_src_is_a_listed_reason(tmp_path):
    """apt-get's own refusal is the reason given (this machine's apt has no deb-src entries; a
    private empty source list makes that so everywhere)."""
    empty = tmp_path / "sources.d"
    empty.mkdir()
    options = ["-o", f"Dir::Etc::SourceList={os.devnull}", "-o", f"Dir::Etc::SourceParts={empty}",
               "-o", f"Dir::State::Lists={tmp_path / 'lists'}"]
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    result = fetch(PackageSpec("debian", "zlib"), tmp_path / "dl", apt_options=options)
    assert isinstance(result, FetchFailure)
    assert result.reason.startswith("apt-get: ") and "deb-src" in result.reason


def test_list_file_of_packages(cli, pip_env, tmp_path):
    dsc = debian_source(tmp_path / "deb", "democrc", "1.3", "2", {"src/crc.c": CRC_C})
    listing = tmp_path / "corpus.txt"
    listing.write_text(f"# the agency's standing corpus\npypi:demo-ledger==1.0\n\n"
                       f"debian:{dsc}  # a local source package\n")
    kb = tmp_path / "kb.sqlite"
    result = cli("kb", "build", "-o", kb, "--list", listing)
    assert result.exit_code == 0, result.output
    with KnowledgeBase.open(kb) as opened:
        assert {c["name"] for c in opened.info()["component_list"]} == {"demo-ledger", "democrc"}


@pytest.mark.parametrize("line,message", [
    ("cargo:serde==1.0", "is not REGISTRY:PACKAGE"),
    ("pypi:--index-url=http://x", "not a package name"),
    ("npm:../../etc", "not a package name"),
    ("debian:-oAPT::x=1", "not a package name"),
])
def test_a_bad_list_line_is_one_line_naming_it(cli, tmp_path, line, message):
    listing = tmp_path / "corpus.txt"
    listing.write_text(f"pypi:six\n{line}\n")
    result = cli("kb", "build", "-o", tmp_path / "kb.sqlite", "--list", listing)
    assert result.exit_code == 2
    (error,) = result.stderr.strip().splitlines()
    assert error.startswith(f"verifier: error: {listing}:2: ") and message in error


@pytest.mark.parametrize("ecosystem,text", [
    ("pypi", "-r requirements.txt"), ("pypi", "x==1 --hash"), ("pypi", "name==$(id)"),
    ("npm", "--registry=http://evil"), ("npm", "git+https://x/y.git"), ("npm", "a@1 b"),
    ("debian", "hello;id"), ("debian", "../x"),
])
def test_names_never_become_options_or_paths(ecosystem, text):
    with pytest.raises(InputError, match="not a package name"):
        parse_spec(ecosystem, text)


def test_specs_parse_as_written():
    assert parse_spec("pypi", "Demo_Pkg==1.0rc1") == PackageSpec("pypi", "Demo_Pkg", "1.0rc1")
    assert parse_spec("npm", "@scope/name@2.0.0") == PackageSpec("npm", "@scope/name", "2.0.0")
    assert parse_spec("npm", "left-pad") == PackageSpec("npm", "left-pad", None)
    assert parse_spec("debian", "zlib=1:1.2.13.dfsg-1") == PackageSpec("debian", "zlib",
                                                                       "1:1.2.13.dfsg-1")


def test_read_list_names_the_line(tmp_path):
    listing = tmp_path / "l.txt"
    listing.write_text("npm:is-number@7.0.0\npypi:six==1.16.0\n")
    assert [s.label for s in read_list(listing)] == ["is-number@7.0.0", "six==1.16.0"]


@pytest.mark.slow
def test_the_real_registries_this_machine_reaches(tmp_path, cli):
    """PyPI through pip, npm through npm pack, Debian through apt-get source with a private
    deb-src list (the machine's own apt configuration is left alone). Skips a registry that
    does not answer (offline)."""
    from verifier.kb.build import registry_candidate

    done = []
    for spec in (PackageSpec("pypi", "six", "1.16.0"), PackageSpec("npm", "is-number", "7.0.0")):
        result = fetch(spec, tmp_path / spec.name, timeout=300)
        if isinstance(result, FetchFailure):
            pytest.skip(f"{spec.label}: {result.reason}")
        cand = registry_candidate(result)
        assert cand.component.name == spec.name and cand.component.version == spec.version
        assert cand.component.license and cand.files
        done.append(cand.component.purl)
    sources = tmp_path / "apt" / "sources.d"
    sources.mkdir(parents=True)
    (sources / "src.sources").write_text(
        "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
    lists = tmp_path / "apt" / "lists"
    (lists / "partial").mkdir(parents=True)
    options = ["-o", f"Dir::Etc::SourceList={os.devnull}", "-o", f"Dir::Etc::SourceParts={sources}",
               "-o", f"Dir::State::Lists={lists}"]
    update = subprocess.run(["apt-get", *options, "update", "-q"], capture_output=True, text=True,
                            timeout=600)
    if update.returncode:
        pytest.skip(f"apt-get update: {update.stderr[-300:]}")
    result = fetch(PackageSpec("debian", "zlib"), tmp_path / "zlib", apt_options=options)
    assert not isinstance(result, FetchFailure), result.reason
    cand = registry_candidate(result)
    assert cand.component.kind == "debian" and cand.component.license
    (crc,) = [(p, data) for p, _, data in cand.files if p.endswith("/crc32.c") or p == "crc32.c"]
    done.append(cand.component.purl)
    assert len(done) == 3
    # zlib's crc32.c copied into a delivery with its license header removed is found
    kb = tmp_path / "zlib.kb"
    dsc = next((tmp_path / "zlib").glob("*.dsc"))
    assert cli("kb", "build", "-o", kb, "--debian-source", dsc).exit_code == 0
    text = crc[1].decode("utf-8", "replace")
    body = text[text.index("*/") + 2:]  # the notice comment opening the file
    found = match_texts(kb, [("src/checksum.c", body)])
    assert found["src/checksum.c"].matches[0].component == "zlib"
    assert found["src/checksum.c"].matched_lines >= 0.9 * found["src/checksum.c"].effective_lines
