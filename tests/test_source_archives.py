"""open_source on archives: safe extraction, refused entries, links not created, bombs, corruption."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

import verifier.archive as archive_module
from verifier.archive import ArchiveError, Limits
from verifier.errors import InputError
from verifier.origin.inventory import build_inventory
from verifier.source import open_source


@pytest.fixture(autouse=True)
def _own_tempdir(tmp_path, monkeypatch):
    """Extraction directories go under this test's tmp dir, so their removal can be checked."""
    extract = tmp_path / "tmp"
    extract.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(extract))
    return extract


def _leftovers(tmp_path: Path) -> list[str]:
    return os.listdir(tmp_path / "tmp")


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz"):
    with tarfile.open(path, mode) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("mode, suffix", [("w", ".tar"), ("w:gz", ".tar.gz"), ("w:gz", ".tgz"),
                                          ("w:xz", ".tar.xz"), ("w:bz2", ".tar.bz2")])
def test_tar_archives_are_extracted_and_removed(tmp_path, mode, suffix):
    archive = _tar(tmp_path / f"delivery{suffix}", [
        _file("proj-1.0/src/app.py", b"import os\n\nprint(os.sep)\n"),
        _file("proj-1.0/README.md", b"# proj\n")], mode)
    with open_source(archive) as info:
        assert info.kind == "archive" and info.root.name == "proj-1.0"
        assert info.archive_sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
        assert any("one top directory 'proj-1.0'" in n for n in info.notes)
        entries = {e.path: e.lines for e in build_inventory(info, jobs=1).entries}
        assert entries == {"src/app.py": 2, "README.md": 0}
        root = info.root
    assert not root.exists() and _leftovers(tmp_path) == []


def test_zip_archive_with_several_top_entries(tmp_path):
    archive = _zip(tmp_path / "d.zip", {"a.py": b"x = 1\n", "pkg/b.py": b"y = 2\n# c\n",
                                        "empty/": b""})
    with open_source(archive) as info:
        assert info.root.parent == tmp_path / "tmp" and info.notes == ()
        assert {e.path: e.lines for e in build_inventory(info, jobs=1).entries} == {
            "a.py": 1, "pkg/b.py": 1}
    assert _leftovers(tmp_path) == []


def test_zip_with_gbk_names_and_no_utf8_flag(tmp_path):
    """Chinese Windows zip tools write GBK names without the UTF-8 flag."""
    placeholder, real = b"AAAA/BBBB.py", "模块/入库.py".encode("gbk")
    assert len(placeholder) == len(real)
    raw = _zip(tmp_path / "x.zip", {placeholder.decode(): b"print(1)\n"}).read_bytes()
    (tmp_path / "gbk.zip").write_bytes(raw.replace(placeholder, real))
    with open_source(tmp_path / "gbk.zip") as info:
        assert [e.path for e in build_inventory(info, jobs=1).entries] == ["入库.py"]
        assert info.root.name == "模块"


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/tmp/evil.py",
                                  "C:/evil.py", "..\\evil.py", "\\\\server\\evil.py"])
def test_zip_entries_escaping_the_extraction_dir_refuse_the_archive(tmp_path, name):
    archive = _zip(tmp_path / "bad.zip", {"ok.py": b"x = 1\n", name: b"pwned = True\n"})
    with pytest.raises(InputError) as err:
        with open_source(archive):
            pass
    message = str(err.value)
    assert message.startswith(f"{archive}: unsafe entry {name!r}") and "\n" not in message
    assert not (tmp_path / "evil.py").exists() and not Path("/tmp/evil.py").exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "x/../../evil.py"])
def test_tar_entries_escaping_the_extraction_dir_refuse_the_archive(tmp_path, name):
    archive = _tar(tmp_path / "bad.tar.gz", [_file("ok.py", b"x = 1\n"),
                                              _file(name, b"pwned = True\n")])
    with pytest.raises(InputError, match="unsafe entry"):
        with open_source(archive):
            pass
    assert not (tmp_path / "evil.py").exists() and not Path("/etc/evil.py").exists()
    assert _leftovers(tmp_path) == []


def test_links_and_devices_in_tar_are_reported_not_created(tmp_path):
    sym = tarfile.TarInfo("p/passwd.py")
    sym.type, sym.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("p/hard.py")
    hard.type, hard.linkname = tarfile.LNKTYPE, "p/a.py"
    dev = tarfile.TarInfo("p/null")
    dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
    fifo = tarfile.TarInfo("p/fifo")
    fifo.type = tarfile.FIFOTYPE
    archive = _tar(tmp_path / "links.tar", [_file("p/a.py", b"x = 1\n"), (sym, None),
                                            (hard, None), (dev, None), (fifo, None)], "w")
    with open_source(archive) as info:
        assert sorted(os.listdir(info.root)) == ["a.py"]
        skipped = {s.path: s for s in info.skipped}
        assert set(skipped) == {"p/passwd.py", "p/hard.py", "p/null", "p/fifo"}
        assert skipped["p/passwd.py"].target == "/etc/passwd"
        assert "symbolic link" in skipped["p/passwd.py"].reason
        assert "hard link" in skipped["p/hard.py"].reason
        assert "character device" in skipped["p/null"].reason
        assert "FIFO" in skipped["p/fifo"].reason
        inventory = build_inventory(info, jobs=1)
        assert [e.path for e in inventory.entries] == ["a.py"]
        assert {s.path for s in inventory.skipped} == set(skipped)


def test_symlink_in_zip_is_reported_not_created(tmp_path):
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.py", b"x = 1\n")
        link = zipfile.ZipInfo("outside")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, b"../../../etc")
    with open_source(path) as info:
        assert os.listdir(info.root) == ["a.py"]
        assert [(s.path, s.target) for s in info.skipped] == [("outside", "../../../etc")]


def test_conflicting_entries_are_reported(tmp_path):
    archive = _tar(tmp_path / "c.tar", [_file("a", b"file\n"), _file("a/b.py", b"x = 1\n"),
                                        _file("c.py", b"y = 2\n")], "w")
    with open_source(archive) as info:
        assert sorted(os.listdir(info.root)) == ["a", "c.py"]
        assert [s.path for s in info.skipped] == ["a"]
        assert "conflicts with another entry" in info.skipped[0].reason


def test_zip_bomb_by_compression_ratio(tmp_path):
    archive = _zip(tmp_path / "bomb.zip", {"zeros.py": b"\0" * (20 * 1024 * 1024)})
    assert archive.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"zeros\.py.*max_ratio.*archive bomb"):
        with open_source(archive):
            pass
    assert _leftovers(tmp_path) == []


def test_tar_bomb_by_overall_ratio(tmp_path):
    members = [_file(f"f{i}.txt", b"\0" * (3 * 1024 * 1024)) for i in range(5)]
    archive = _tar(tmp_path / "bomb.tar.gz", members)
    with pytest.raises(InputError, match="more than 200x its size.*max_ratio"):
        with open_source(archive):
            pass
    with open_source(archive, limits=Limits(max_ratio=1e9)) as info:  # the limit is adjustable
        assert len(os.listdir(info.root)) == 5
    assert _leftovers(tmp_path) == []


def test_file_count_limit(tmp_path):
    files = {f"f{i}.py": b"x = 1\n" for i in range(20)}
    zipped = _zip(tmp_path / "many.zip", files)
    with pytest.raises(InputError, match="more than 10 .*max_files"):
        with open_source(zipped, limits=Limits(max_files=10)):
            pass
    tarred = _tar(tmp_path / "many.tgz", [_file(n, d) for n, d in files.items()])
    with pytest.raises(InputError, match="more than 10 entries.*max_files"):
        with open_source(tarred, limits=Limits(max_files=10)):
            pass
    with open_source(tarred, limits=Limits(max_files=20)) as info:
        assert len(os.listdir(info.root)) == 20
    assert _leftovers(tmp_path) == []


def test_size_limit(tmp_path):
    data = os.urandom(600_000)  # incompressible: only the byte limit can stop it
    archive = _tar(tmp_path / "big.tar.gz", [_file("a.bin", data), _file("b.bin", data)])
    with pytest.raises(InputError, match="expands past 1000000 bytes at entry 'b.bin'"):
        with open_source(archive, limits=Limits(max_bytes=1_000_000)):
            pass
    zipped = _zip(tmp_path / "big.zip", {"a.bin": data, "b.bin": data})
    with pytest.raises(InputError, match="max_bytes"):
        with open_source(zipped, limits=Limits(max_bytes=1_000_000)):
            pass
    assert _leftovers(tmp_path) == []


def test_corrupt_archives(tmp_path):
    good = _tar(tmp_path / "good.tar.gz", [_file("a.py", os.urandom(200_000))]).read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip file at all\n" * 10)
    zipped = _zip(tmp_path / "crc.zip", {"a.py": b"x = 1\n" * 1000}).read_bytes()
    start = zipped.index(b"a.py") + 4 + 5  # inside the compressed data of the first entry
    bad_crc = tmp_path / "crc.zip"
    bad_crc.write_bytes(zipped[:start] + bytes(b ^ 0xFF for b in zipped[start:start + 8])
                        + zipped[start + 8:])
    for path, expected in [(truncated, "corrupt"), (garbage, "corrupt or unsupported archive"),
                           (bad_crc, "corrupt archive")]:
        with pytest.raises(InputError) as err:
            with open_source(path):
                pass
        assert str(err.value).startswith(f"{path}: {expected}"), str(err.value)
        assert "\n" not in str(err.value)
    assert _leftovers(tmp_path) == []


def test_archive_without_files(tmp_path):
    archive = _zip(tmp_path / "empty.zip", {"only/dirs/": b""})
    with pytest.raises(InputError, match="no files to inventory"):
        with open_source(archive):
            pass
    assert _leftovers(tmp_path) == []


def test_extraction_dir_is_removed_when_the_body_raises(tmp_path):
    archive = _zip(tmp_path / "d.zip", {"a.py": b"x = 1\n"})
    with pytest.raises(RuntimeError):
        with open_source(archive):
            raise RuntimeError("boom")
    assert _leftovers(tmp_path) == []


def test_archives_are_read_under_the_shared_limits(tmp_path, monkeypatch):
    """open_source reads through verifier.archive: its default limits are the shared ones (here a
    per-member limit, which extraction had none of), and its error type is the shared one."""
    archive = _tar(tmp_path / "d.tar.gz", [_file("a.py", b"x = 1\n" * 100)])
    monkeypatch.setattr(archive_module, "DEFAULT_LIMITS", Limits(max_member_bytes=100))
    with pytest.raises(ArchiveError, match=r"entry 'a.py': declared size 600 exceeds 100 bytes \(limit "
                                           "max_member_bytes"):
        with open_source(archive):
            pass
    assert _leftovers(tmp_path) == []
    with open_source(archive, limits=Limits(max_member_bytes=600)) as info:
        assert os.listdir(info.root) == ["a.py"]
