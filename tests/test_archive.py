"""verifier.archive, the one reader of archives from elsewhere: each hostile kind in each format."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from verifier.archive import (
    TAR_HEADER_ALLOWANCE,
    ArchiveError,
    Limits,
    NotAnArchive,
    extract,
    name_problem,
    open_archive,
)
from verifier.errors import InputError

TAR_MODES = {"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz", "tar.bz2": "w:bz2"}
FORMATS = ["zip", *TAR_MODES]


def _tar_info(name: str, data: bytes = b"", **attrs) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data if info.isreg() else None


def _tar(path: Path, fmt: str, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    with tarfile.open(path, TAR_MODES[fmt], format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _zip(path: Path, files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _archive(tmp_path: Path, fmt: str, files: dict[str, bytes], name: str = "a") -> Path:
    """An archive of format ``fmt`` holding ``files`` (name -> bytes)."""
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "zip":
        return _zip(path, files)
    return _tar(path, fmt, [_tar_info(n, d) for n, d in files.items()])


def _listing(path: Path, limits: Limits | None = None, **kwargs) -> list[tuple[str, str, int, bytes | None]]:
    with open_archive(path, limits, **kwargs) as archive:
        return [(m.path, m.kind, m.size, archive.read(m, 1 << 20) if m.kind == "file" and not m.problem else None)
                for m in archive]


@pytest.mark.parametrize("fmt", FORMATS)
def test_members_are_listed_and_read(tmp_path, fmt):
    path = _archive(tmp_path, fmt, {"p/a.py": b"x = 1\n", "./p/sub/b.txt": b"bee\n", "p\\win.py": b"w\n"})
    with open_archive(path) as archive:
        assert archive.format == fmt
        assert [(m.name, m.path, m.kind, m.size, archive.read(m, 100)) for m in archive] == [
            ("p/a.py", "p/a.py", "file", 6, b"x = 1\n"), ("./p/sub/b.txt", "p/sub/b.txt", "file", 4, b"bee\n"),
            ("p\\win.py", "p/win.py", "file", 2, b"w\n")]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name, why", [("../evil.py", "leads outside the archive with '..'"),
                                       ("a/../../evil.py", "leads outside the archive with '..'"),
                                       ("..\\evil.py", "leads outside the archive with '..'"),
                                       ("/etc/evil.py", "absolute path"), ("\\\\server\\evil.py", "absolute path"),
                                       ("C:/evil.py", "absolute path")])
def test_an_unsafe_name_refuses_the_archive(tmp_path, fmt, name, why):
    path = _archive(tmp_path, fmt, {"ok.py": b"x = 1\n", name: b"pwned = True\n"})
    with pytest.raises(ArchiveError) as err:
        _listing(path)
    assert str(err.value) == f"{path}: unsafe entry {name!r} ({why}); refusing the whole archive"
    assert isinstance(err.value, InputError)  # one line, exit 2
    # a reader that reports: the member carries the problem and cannot be read
    listed = {}
    with open_archive(path, refuse=False) as archive:
        for member in archive:
            listed[member.name] = member
            if member.problem:
                with pytest.raises(ArchiveError, match="not read"):
                    archive.open(member)
    assert listed[name].problem == f"unsafe name ({why})" and listed[name].path == ""
    assert listed["ok.py"].problem is None and listed["ok.py"].path == "ok.py"


@pytest.mark.parametrize("fmt", list(TAR_MODES))
def test_a_nul_in_a_tar_name_refuses_the_archive(tmp_path, fmt):
    info, data = _tar_info("ok.py", b"x\n")
    info.pax_headers = {"path": "a\0b.py"}  # a pax path can hold what a tar header cannot
    path = _tar(tmp_path / f"nul.{fmt}", fmt, [(info, data)])
    with pytest.raises(ArchiveError, match=r"unsafe entry 'a\\x00b.py' \(NUL in name\)"):
        _listing(path)


def test_name_problem():
    assert name_problem("a/b.py") is None and name_problem("a..b/..c") is None
    assert name_problem("a/\0") == "NUL in name"
    assert name_problem("D:evil") == "absolute path"


@pytest.mark.parametrize("fmt", list(TAR_MODES))
def test_tar_links_devices_and_fifos_are_listed_never_created(tmp_path, fmt):
    path = _tar(tmp_path / f"links.{fmt}", fmt, [
        _tar_info("p/a.py", b"x = 1\n"),
        _tar_info("p/passwd", type=tarfile.SYMTYPE, linkname="/etc/passwd"),
        _tar_info("p/hard", type=tarfile.LNKTYPE, linkname="p/a.py"),
        _tar_info("p/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
        _tar_info("p/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0),
        _tar_info("p/fifo", type=tarfile.FIFOTYPE)])
    with open_archive(path) as archive:
        members = {m.path: m for m in archive}
    assert {p: (m.kind, m.target, m.what) for p, m in members.items()} == {
        "p/a.py": ("file", None, ""), "p/passwd": ("symlink", "/etc/passwd", ""),
        "p/hard": ("hardlink", "p/a.py", ""), "p/null": ("special", None, "character device"),
        "p/sda": ("special", None, "block device"), "p/fifo": ("special", None, "FIFO")}
    dest = tmp_path / "out"
    dest.mkdir()
    skipped = {s.path: s for s in extract(path, dest)}
    assert sorted(os.listdir(dest / "p")) == ["a.py"]
    assert skipped["p/passwd"].reason == "symbolic link to '/etc/passwd' in the archive, not created"
    assert skipped["p/passwd"].target == "/etc/passwd"
    assert skipped["p/hard"].reason == "hard link to 'p/a.py' in the archive, not created"
    assert skipped["p/null"].reason == "special file (character device) in the archive, not created"
    assert skipped["p/fifo"].reason == "special file (FIFO) in the archive, not created"


def test_zip_links_and_special_modes_are_listed_never_created(tmp_path):
    path = tmp_path / "links.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.py", b"x = 1\n")
        for name, mode, data in (("outside", stat.S_IFLNK | 0o777, b"../../../etc"),
                                 ("fifo", stat.S_IFIFO | 0o644, b"")):
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    with open_archive(path) as archive:
        members = {m.path: m for m in archive}
        with pytest.raises(ArchiveError, match="is a special, not a file"):
            archive.open(members["fifo"])
    assert (members["outside"].kind, members["outside"].target) == ("symlink", "../../../etc")
    assert (members["fifo"].kind, members["fifo"].what) == ("special", f"mode {oct(stat.S_IFIFO | 0o644)}")
    dest = tmp_path / "out"
    dest.mkdir()
    assert [(s.path, s.target) for s in extract(path, dest)] == [("outside", "../../../etc"), ("fifo", None)]
    assert os.listdir(dest) == ["a.py"]


def test_an_encrypted_zip_member_is_never_read(tmp_path):
    data = bytearray(_zip(tmp_path / "plain.zip", {"a.py": b"x = 1\n"}).read_bytes())
    data[6] |= 0x1  # the encryption flag, in the local header and in the central directory
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    path = tmp_path / "enc.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=r"entry 'a\.py' is encrypted; cannot read it"):
        _listing(path)
    assert _listing(path, refuse=False) == [("", "file", 6, None)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_entry_count_limit(tmp_path, fmt):
    path = _archive(tmp_path, fmt, {f"f{i}.py": b"x\n" for i in range(11)})
    with pytest.raises(ArchiveError, match=r"archive holds more than 10 entries \(limit max_files; refusing a "
                                           "possible archive bomb\\)"):
        _listing(path, Limits(max_files=10))
    with pytest.raises(ArchiveError, match="limit max_files"):  # a reader that reports refuses this too
        _listing(path, Limits(max_files=10), refuse=False)
    assert len(_listing(path, Limits(max_files=11))) == 11


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_limits(tmp_path, fmt):
    data = os.urandom(600)
    path = _archive(tmp_path, fmt, {"a.bin": data, "b.bin": data})
    with pytest.raises(ArchiveError, match=r"archive expands past 1000 bytes at entry 'b.bin' \(limit max_bytes"):
        _listing(path, Limits(max_bytes=1000))
    with pytest.raises(ArchiveError, match=r"entry 'a.bin': declared size 600 exceeds 500 bytes \(limit "
                                           "max_member_bytes"):
        _listing(path, Limits(max_member_bytes=500))
    reported = _listing(path, Limits(max_member_bytes=500, max_bytes=1000), refuse=False)
    assert [(p, content) for p, _, _, content in reported] == [("", None), ("", None)]
    assert len(_listing(path, Limits(max_bytes=1200))) == 2


def _names(path: Path, limits: Limits | None = None) -> list[str]:
    with open_archive(path, limits) as archive:
        return [m.path for m in archive]


@pytest.mark.parametrize("fmt", FORMATS)
def test_expansion_ratio_limit(tmp_path, fmt):
    """Zeros compress about 1000x: the ratio limit stops them once past its floor, before reading."""
    path = _archive(tmp_path, fmt, {f"z{i}.bin": bytes(3 << 20) for i in range(4)})
    if fmt == "tar":  # not compressed: it expands to its own size
        assert len(_names(path)) == 4
        return
    assert path.stat().st_size < 200_000
    with pytest.raises(ArchiveError, match=r"archive expands more than 200x its size at entry 'z2.bin' "
                                           r"\(limit max_ratio; refusing a possible archive bomb\)"):
        _names(path)
    assert len(_names(path, Limits(max_ratio=1e6))) == 4
    assert len(_names(path, Limits(ratio_floor=16 << 20))) == 4  # under the floor, the ratio is not checked


def test_zip_member_expansion_ratio(tmp_path):
    """A zip member declares its compressed size too: one bomb member is named, whatever else the zip holds."""
    path = _zip(tmp_path / "bomb.zip", {"pad.bin": os.urandom(200_000), "zeros.py": bytes(20 << 20)})
    with pytest.raises(ArchiveError, match=r"entry 'zeros.py' expands 20971520 bytes from \d+ \(more than 200x; "
                                           "limit max_ratio; refusing a possible archive bomb"):
        _names(path)
    with open_archive(path, refuse=False) as archive:
        assert [m.problem for m in archive][1].startswith("expands 20971520 bytes from ")


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.bz2"])
def test_members_not_read_still_count(tmp_path, fmt):
    """Members a caller skips are decompressed all the same (a tar is a stream): they count."""
    path = _archive(tmp_path, fmt, {f"z{i}.bin": bytes(3 << 20) for i in range(4)})
    with pytest.raises(ArchiveError, match="limit max_ratio"), open_archive(path) as archive:
        for _ in archive:
            pass


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz", "tar.bz2"])
def test_a_bomb_in_a_tar_header_is_stopped(tmp_path, fmt):
    """A pax header holds no member data, yet tarfile reads it whole into memory: the decompressed
    stream is counted, so a huge one stops at the header allowance."""
    info, data = _tar_info("a.py", b"x\n")
    info.pax_headers = {"comment": "x" * (4 << 20)}
    path = _tar(tmp_path / f"pax.{fmt}", fmt, [_tar_info("first.py", b"y\n"), (info, data)])
    assert path.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match=f"more than {TAR_HEADER_ALLOWANCE} bytes of headers for one entry "
                                           "after entry 'first.py'"):
        _listing(path)
    info.pax_headers = {"comment": "x" * 1000}  # an ordinary pax header
    path = _tar(tmp_path / f"ok.{fmt}", fmt, [(info, data)])
    assert _listing(path) == [("a.py", "file", 2, b"x\n")]


@pytest.mark.parametrize("fmt", list(TAR_MODES))
def test_a_compressed_stream_past_the_ratio_is_stopped_without_members(tmp_path, fmt):
    """Ratio on the stream itself: many members whose headers alone expand."""
    members = [_tar_info(f"d{i:06d}/", type=tarfile.DIRTYPE) for i in range(1000)]
    path = _tar(tmp_path / f"dirs.{fmt}", fmt, members)
    limits = Limits(max_ratio=2.0, ratio_floor=100_000)
    if fmt == "tar":
        assert len(_listing(path, limits)) == len(members)  # not compressed: nothing expands
    else:
        with pytest.raises(ArchiveError, match="archive expands more than 2x its size at entry 'd0"):
            _listing(path, limits)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bounded_reads(tmp_path, fmt):
    path = _archive(tmp_path, fmt, {"a.txt": b"0123456789"})
    with open_archive(path) as archive:
        for member in archive:
            assert archive.read(member, 10) == b"0123456789"
    with open_archive(path) as archive:
        for member in archive:
            with pytest.raises(ArchiveError, match=r"entry 'a\.txt' holds more than 4 bytes"):
                archive.read(member, 4)
    with open_archive(path) as archive:
        for member in archive:
            assert archive.read(member, 4, truncate=True) == b"0123"


@pytest.mark.parametrize("fmt", list(TAR_MODES))
def test_a_tar_member_is_read_only_while_current(tmp_path, fmt):
    path = _archive(tmp_path, fmt, {"a.txt": b"a", "b.txt": b"b"})
    with open_archive(path) as archive:
        members = list(archive)
        with pytest.raises(ValueError, match="after the iteration left it"):
            archive.read(members[0], 10)


def test_a_member_longer_than_declared_is_refused(tmp_path):
    """Neither zipfile nor tarfile yields more than the declared size; the reader checks it anyway."""
    path = _zip(tmp_path / "a.zip", {"a.txt": b"0123456789"})
    with open_archive(path) as archive:
        member = next(iter(archive))
        short = type(member)(member.name, member.path, member.kind, 4, ref=member.ref)
        with pytest.raises(ArchiveError, match=r"entry 'a\.txt' is longer than its declared size 4"):
            archive.read(short, 100)


@pytest.mark.parametrize("fmt", FORMATS)
def test_corrupt_archives(tmp_path, fmt):
    good = _archive(tmp_path, fmt, {"a.py": os.urandom(200_000)}).read_bytes()
    truncated = tmp_path / f"truncated.{fmt}"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveError) as err:
        _listing(truncated)
    assert str(err.value).startswith(f"{truncated}: corrupt"), str(err.value)
    assert "\n" not in str(err.value)
    if fmt not in ("zip", "tar"):  # listing alone decompresses a tar stream: it finds the damage too
        with pytest.raises(ArchiveError, match=f"^{truncated}: corrupt archive: "):
            _names(truncated)


def test_an_unreadable_zip_link(tmp_path):
    """A zip link's target is its content: a damaged one refuses the archive, or is the member's problem."""
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        link = zipfile.ZipInfo("link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        link.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(link, b"../" * 100)
    data = bytearray(path.read_bytes())
    data[30 + len("link") + 2] ^= 0xFF  # inside the deflated target
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match=f"^{path}: corrupt archive: "):
        _names(path)
    with open_archive(path, refuse=False) as archive:
        (member,) = list(archive)
    assert member.problem.startswith("unreadable link (corrupt archive: ")


def test_a_zip_with_a_bad_crc(tmp_path):
    data = _zip(tmp_path / "crc.zip", {"a.py": b"x = 1\n" * 1000}).read_bytes()
    start = data.index(b"a.py") + 4 + 5
    path = tmp_path / "bad.zip"
    path.write_bytes(data[:start] + bytes(b ^ 0xFF for b in data[start:start + 8]) + data[start + 8:])
    with pytest.raises(ArchiveError, match=f"^{path}: corrupt archive: "):
        _listing(path)


@pytest.mark.parametrize("content", [b"this is not an archive\n" * 10, b"", b"\x1f\x8b" + b"\0" * 30])
def test_not_an_archive(tmp_path, content):
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    with pytest.raises(ArchiveError) as err:
        _listing(path)
    assert str(err.value).startswith(f"{path}: corrupt")
    with pytest.raises(NotAnArchive, match=r"not a readable zip \(File is not a zip file\)"):
        _listing(_tar(tmp_path / "t.tar", "tar", [_tar_info("a", b"a")]), zip_only=True)
    with pytest.raises(ArchiveError, match="cannot read"):
        _listing(tmp_path / "missing.zip")


def test_gbk_names_are_re_decoded(tmp_path):
    placeholder, real = b"AAAA/BBBB.py", "模块/入库.py".encode("gbk")
    raw = _zip(tmp_path / "x.zip", {placeholder.decode(): b"print(1)\n"}).read_bytes()
    (tmp_path / "gbk.zip").write_bytes(raw.replace(placeholder, real))
    assert _listing(tmp_path / "gbk.zip") == [("模块/入库.py", "file", 9, b"print(1)\n")]


def test_extract_refuses_a_directory_made_a_link_by_an_earlier_entry(tmp_path):
    """A symbolic link is never created, so no later entry can be written through one."""
    path = _tar(tmp_path / "t.tar", "tar", [_tar_info("d", type=tarfile.SYMTYPE, linkname=str(tmp_path)),
                                            _tar_info("d/evil.py", b"x\n")])
    dest = tmp_path / "out"
    dest.mkdir()
    skipped = extract(path, dest)
    assert [s.path for s in skipped] == ["d"]
    assert (dest / "d" / "evil.py").read_bytes() == b"x\n" and not (tmp_path / "evil.py").exists()
