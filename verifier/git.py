"""Read the git state of a delivered tree without letting the delivery run anything.

This module holds the only git invocation of verifier. A delivered repository is data: its
``.git/config`` (and a submodule's) can name commands git would run — content filters, an fsmonitor
hook, hooks, diff and merge drivers, a pager, an editor, ``core.sshCommand``, credential helpers —
and can pull in more config through ``include.path``. So git never reads the delivery's config:

- verifier makes a private git directory for each work tree it reads: the delivery's ``index`` (and
  ``sharedindex.*`` of a split index) and ``info/exclude``/``info/attributes`` copied, ``HEAD``
  resolved by verifier itself (loose or packed refs) and written as a plain commit id, and a
  ``config`` of verifier's own (``core.fsmonitor=false``, ``core.untrackedCache=false``,
  ``core.hooksPath=/dev/null``, no pager, no editor …) that carries over only a few inert settings
  of the delivery's config, each validated (``core.filemode``, ``core.symlinks``, ``core.ignorecase``,
  ``core.autocrlf``, ``core.eol``, the object format);
- the delivery's objects are reached through ``GIT_OBJECT_DIRECTORY``; alternates (object stores
  elsewhere) and links inside the object store are refused;
- git runs with ``GIT_DIR`` (the private directory) and ``GIT_WORK_TREE`` (the delivered tree),
  ``GIT_CONFIG_NOSYSTEM=1``, ``GIT_CONFIG_GLOBAL=/dev/null``, ``HOME`` and ``XDG_CONFIG_HOME`` in
  the private directory, ``GIT_ATTR_NOSYSTEM=1``, ``GIT_OPTIONAL_LOCKS=0``, no other ``GIT_*``
  variable of the caller, a timeout and the parent-death signal;
- git never looks into a submodule: submodule paths are excluded from ``git status`` by pathspec,
  and verifier reads a checked-out submodule's ``HEAD`` itself and its own state the same isolated
  way, recursively (at most ``MAX_SUBMODULES``);
- a ``.git`` that is a link, a ``.git`` file (worktree, submodule) naming a directory outside the
  delivered tree and its enclosing work trees (unless it is a linked worktree registered for this
  very path), a ``commondir`` leaving them: refused with a reason (``GitError``), the tree is then
  read as a plain directory by the callers. Every file verifier reads from a git directory is
  opened without following a link and must be a regular file of bounded size (no FIFO hangs).

Only read-only queries run (``rev-parse``, ``ls-files``, ``ls-tree``, ``status``, ``config
--file``), none of which runs hooks. Attributes in the delivered ``.gitattributes`` still apply
(line endings), but the drivers they name (``filter=``, ``diff=``, ``merge=``) are undefined in the
config git reads, so they run nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from verifier.errors import ExitCode, VerifierError
from verifier.proc import child_preexec, scrubbed_env

#: Seconds any one git command may take.
GIT_TIMEOUT_S = 30.0
#: Most submodules whose state is read (over all levels) before dirtiness is left unknown.
MAX_SUBMODULES = 100
#: Largest ``HEAD``/loose ref, ``config``, ``info/*`` file read from a delivered git directory.
MAX_SMALL_FILE = 1 << 20
#: Largest ``index``, shared index or ``packed-refs`` file read.
MAX_INDEX_BYTES = 1 << 30
GITLINK = "160000"

_OID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_BOOL = {"true": "true", "yes": "true", "on": "true", "1": "true",
         "false": "false", "no": "false", "off": "false", "0": "false", "": "true"}
#: the delivery's config settings carried into the private one: key -> allowed values (None: a bool)
_CARRIED: dict[str, frozenset[str] | None] = {
    "core.filemode": None, "core.symlinks": None, "core.ignorecase": None,
    "core.precomposeunicode": None, "core.trustctime": None,
    "core.autocrlf": frozenset({"true", "false", "input"}),
    "core.eol": frozenset({"lf", "crlf", "native"}),
    "core.checkstat": frozenset({"default", "minimal"}),
}
#: refs kept per worktree (in the worktree's own git directory), the others in the common one
_PER_WORKTREE_REFS = ("refs/worktree/", "refs/bisect/", "refs/rewritten/")
_OWN_CONFIG = """\
[core]
\trepositoryformatversion = {version}
\tbare = false
\tfsmonitor = false
\tuntrackedCache = false
\thooksPath = /dev/null
\tattributesFile = /dev/null
\texcludesFile = /dev/null
\tpager = cat
\teditor = false
\taskPass = false
\tsshCommand = false
\tgitProxy = false
{carried}[submodule]
\trecurse = false
[status]
\tsubmoduleSummary = false
[diff]
\tignoreSubmodules = all
[protocol]
\tallow = never
[credential]
\thelper =
[gc]
\tauto = 0
[maintenance]
\tauto = false
{extensions}"""


class GitError(VerifierError):
    """git cannot (or must not) be used on this tree; ``str(err)`` says why in one line."""

    exit_code = ExitCode.INCOMPLETE


class Tracked(NamedTuple):
    """One path of the index (stage 0, or the first stage listed of an unmerged path)."""

    mode: str
    """Octal mode as git records it: ``100644``, ``100755``, ``120000`` (link), ``160000`` (submodule)."""
    oid: str
    """Blob id (for a submodule: the commit its superproject records)."""
    path: bytes
    """POSIX path relative to the directory read, file-system bytes; never absolute, never with an
    empty, ``.``, ``..`` or ``.git`` component (an index listing one is refused)."""


@dataclass(frozen=True)
class GitState:
    """The git state of a directory inside a work tree, as ``read_state`` found it."""

    top: Path
    """The work tree's top directory (resolved)."""
    subpath: str
    """The directory's POSIX path within the work tree, ``"."`` at the top (undecodable bytes as ``\\xNN``)."""
    commit: str | None
    """``HEAD``'s commit id; None before the first commit."""
    dirty: bool | None
    """Changes, staged changes or untracked files that are not ignored under the directory, a
    submodule included (moved, changed, untracked files); None when that could not be read."""
    tracked: tuple[Tracked, ...]
    """The paths git tracks under the directory, sorted by path bytes."""
    ignored: tuple[str, ...] | None = None
    """Paths under the directory that git ignores and does not track (relative, POSIX, directories
    with a trailing ``/``); None unless asked for, or when git could not list them."""
    notes: tuple[str, ...] = field(default=())
    """What could not be read, and why (dirtiness, ignored paths)."""


@dataclass(frozen=True)
class _Layout:
    top: Path
    """The work tree's top (resolved)."""
    gitdir: Path
    """Its git directory (resolved): HEAD, index."""
    common: Path
    """The common git directory (resolved): objects, refs, packed-refs, config, info."""


def read_state(root: str | os.PathLike[str], *, ignored: bool = False) -> GitState | None:
    """The git state of ``root`` (a work tree or a directory inside one); None when ``root`` is in no
    git work tree. Raises ``GitError`` when it is in one that cannot be read safely or git fails
    (``git`` missing, a ``.git`` leading out of the tree, alternates, a broken index …).

    With ``ignored``, also the paths git ignores (``ls-files --others --ignored --exclude-standard
    --directory``). Nothing configured by the repository or its submodules runs (module docstring).
    """
    base = Path(os.path.realpath(root))
    layout = _find_layout(base)
    if layout is None:
        return None
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed")
    prefix = os.fsencode(base.relative_to(layout.top)) if base != layout.top else b""
    with _Session(git, layout) as session:
        index = session.index()
        under = [_rebase(entry, prefix) for entry in index]
        tracked = tuple(sorted((e for e in under if e is not None), key=lambda e: e.path))
        notes: list[str] = []
        budget = [MAX_SUBMODULES]
        try:
            dirty: bool | None = _dirty(session, base, prefix, index, budget)
        except GitError as err:
            dirty = None
            notes.append(f"{err}: whether the tree is dirty is unknown")
        listed = None
        if ignored:
            try:
                listed = session.ignored(base)
            except GitError as err:
                notes.append(f"{err}: the files git ignores could not be listed")
        commit = session.commit
    subpath = prefix.decode("utf-8", "backslashreplace") or "."
    return GitState(top=layout.top, subpath=subpath, commit=commit, dirty=dirty, tracked=tracked,
                    ignored=listed, notes=tuple(notes))


def _find_layout(root: Path) -> _Layout | None:
    """The work tree holding ``root`` (resolved) and its git directories; None outside any.

    The nearest ``.git`` upwards decides, as for git. Raises ``GitError`` for a ``.git`` that cannot
    be read safely (see the module docstring)."""
    for top in (root, *root.parents):
        dot_git = top / ".git"
        try:
            info = os.lstat(dot_git)
        except FileNotFoundError:
            continue
        except OSError as err:
            raise GitError(f"{dot_git}: cannot be read ({err.strerror or err})") from None
        return _layout(top, dot_git, info, _bounds(top))
    return None


def _bounds(top: Path) -> list[Path]:
    """Where a git directory may lie: the work tree and the work trees enclosing it."""
    return [top, *(p for p in top.parents if os.path.lexists(p / ".git"))]


def _inside(path: Path, bounds: list[Path]) -> bool:
    return any(path == b or path.is_relative_to(b) for b in bounds)


def _layout(top: Path, dot_git: Path, info: os.stat_result, bounds: list[Path]) -> _Layout:
    if stat.S_ISLNK(info.st_mode):
        raise GitError(f"{dot_git} is a symbolic link: not followed")
    if stat.S_ISDIR(info.st_mode):
        gitdir, registered = dot_git, False
    elif stat.S_ISREG(info.st_mode):
        text = _read_small(dot_git).decode("utf-8", "surrogateescape").strip()
        if not text.startswith("gitdir:"):
            raise GitError(f"{dot_git}: a .git file without a 'gitdir:' line")
        gitdir = Path(os.path.realpath(top / text[len("gitdir:"):].strip()))
        registered = not _inside(gitdir, bounds) and _registered_worktree(gitdir, dot_git)
        if not (registered or _inside(gitdir, bounds)):
            raise GitError(f"{dot_git} names the git directory {gitdir}, outside the delivered tree: "
                           "not followed (a linked worktree must be registered for this path)")
    else:
        raise GitError(f"{dot_git} is neither a directory nor a file")
    if not gitdir.is_dir():
        raise GitError(f"{gitdir}: not a git directory")
    common = gitdir
    if os.path.lexists(gitdir / "commondir"):
        text = _read_small(gitdir / "commondir").decode("utf-8", "surrogateescape").strip()
        common = Path(os.path.realpath(gitdir / text))
        if not (registered or _inside(common, bounds)):
            raise GitError(f"{gitdir}/commondir names {common}, outside the delivered tree: not followed")
    for need in ("objects", "refs"):
        if not (common / need).is_dir() or (common / need).is_symlink():
            raise GitError(f"{common}: not a git directory (no {need}/)")
    return _Layout(top=top, gitdir=Path(os.path.realpath(gitdir)), common=common)


def _registered_worktree(gitdir: Path, dot_git: Path) -> bool:
    """Whether ``gitdir`` is a linked worktree's directory registered for ``dot_git`` (its ``gitdir``
    file names it back): set up on this machine, not by the delivery, which cannot write there."""
    try:
        back = _read_small(gitdir / "gitdir").decode("utf-8", "surrogateescape").strip()
    except GitError:
        return False
    return os.path.realpath(gitdir / back) == os.path.realpath(dot_git)


def _rebase(entry: Tracked, prefix: bytes) -> Tracked | None:
    """``entry`` (path from the top) relative to the directory ``prefix``; None outside it."""
    if not prefix:
        return entry
    if entry.path.startswith(prefix + b"/"):
        return entry._replace(path=entry.path[len(prefix) + 1:])
    return None


def _dirty(session: _Session, cwd: Path, prefix: bytes, index: list[Tracked], budget: list[int]) -> bool:
    """Whether the work tree under ``prefix`` differs from ``HEAD`` or holds untracked files that
    are not ignored, submodules included (read by verifier, git never enters one)."""
    links = [e for e in index if e.mode == GITLINK and _rebase(e, prefix) is not None]
    if session.status(cwd, [e.path for e in links]):
        return True
    if not links:
        return False
    if session.commit is None:
        return True  # a submodule staged before the first commit
    recorded = session.head_gitlinks([e.path for e in links])
    for entry in links:
        if recorded.get(entry.path) != entry.oid:
            return True  # staged: the index records another commit than HEAD
        if _submodule_dirty(session.layout, entry, budget):
            return True
    return False


def _submodule_dirty(parent: _Layout, entry: Tracked, budget: list[int]) -> bool:
    """Whether the checked-out submodule at ``entry`` is at another commit than recorded or has
    changes of its own; an empty (not checked-out) submodule directory is clean, as for git."""
    path = parent.top / os.fsdecode(entry.path)
    shown = os.fsdecode(entry.path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True  # deleted
    except OSError as err:
        raise GitError(f"submodule {shown}: cannot be read ({err.strerror or err})") from None
    if not stat.S_ISDIR(info.st_mode):
        return True  # replaced by a file or a link
    if Path(os.path.realpath(path)) != path:
        raise GitError(f"submodule {shown}: its path leads through a symbolic link")
    dot_git = path / ".git"
    try:
        dot_info = os.lstat(dot_git)
    except FileNotFoundError:
        return False  # not checked out
    except OSError as err:
        raise GitError(f"submodule {shown}: cannot be read ({err.strerror or err})") from None
    budget[0] -= 1
    if budget[0] < 0:
        raise GitError(f"more than {MAX_SUBMODULES} submodules")
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed")
    try:
        with _Session(git, _layout(path, dot_git, dot_info, _bounds(path))) as session:
            if session.commit != entry.oid:
                return True
            return _dirty(session, path, b"", session.index(), budget)
    except GitError as err:
        raise GitError(f"submodule {shown}: {err}") from None


class _Session:
    """A private git directory standing for one delivered work tree (see the module docstring)."""

    def __init__(self, git: str, layout: _Layout) -> None:
        self.git = git
        self.layout = layout
        self._dir = Path(tempfile.mkdtemp(prefix="verifier-git-"))
        try:
            self.commit = self._prepare()
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- setting up

    def _prepare(self) -> str | None:
        layout, private = self.layout, self._dir
        _check_objects(layout.common / "objects")
        (private / "refs").mkdir()
        (private / "info").mkdir()
        (private / "home").mkdir()
        (private / "HEAD").write_text("ref: refs/heads/unborn\n", "ascii")
        (private / "config").write_text(_OWN_CONFIG.format(version=0, carried="", extensions=""), "ascii")
        carried, sha256 = self._carried_config()
        (private / "config").write_text(_OWN_CONFIG.format(
            version=1 if sha256 else 0, carried=carried,
            extensions="[extensions]\n\tobjectFormat = sha256\n" if sha256 else ""), "ascii")
        for name in ("exclude", "attributes"):
            _copy_if_present(layout.common / "info" / name, private / "info" / name, MAX_SMALL_FILE)
        _copy_if_present(layout.gitdir / "index", private / "index", MAX_INDEX_BYTES)
        shared = sorted({p.name for d in {layout.gitdir, layout.common} for p in d.glob("sharedindex.*")})
        if len(shared) > 16:
            raise GitError(f"{layout.gitdir}: {len(shared)} shared index files")
        for name in shared:
            src = layout.gitdir / name if (layout.gitdir / name).exists() else layout.common / name
            _copy_if_present(src, private / name, MAX_INDEX_BYTES)
        head = _resolve_head(layout)
        if head is None:
            return None
        got = self.run(["rev-parse", "--verify", "--quiet", f"{head}^{{commit}}"],
                       self._dir, ok=(0, 1)).decode("ascii", "replace").strip()
        if got != head:
            raise GitError(f"HEAD names {head}, which is not a commit of the repository")
        (private / "HEAD").write_text(head + "\n", "ascii")
        return head

    def _carried_config(self) -> tuple[str, bool]:
        """The inert settings of the delivery's config, validated, as config text; and whether the
        repository uses SHA-256 object ids."""
        copy = self._dir / "delivered-config"
        if not _copy_if_present(self.layout.common / "config", copy, MAX_SMALL_FILE):
            return "", False
        listed = self.run(["config", "--file", str(copy), "--no-includes", "--list", "-z"], self._dir)
        values: dict[str, str] = {}
        for record in listed.split(b"\0"):
            key, _, raw = record.decode("utf-8", "replace").partition("\n")
            values[key.lower()] = raw.strip()  # the last one wins, as for git
        lines = []
        for key, allowed in _CARRIED.items():
            value = values.get(key)
            if value is None:
                continue
            value = value.lower()
            if allowed is None:
                value = _BOOL.get(value, "")
            elif "true" in allowed and value in _BOOL:  # core.autocrlf: a bool or "input"
                value = _BOOL[value]
            if value and (allowed is None or value in allowed):
                lines.append(f"\t{key.split('.', 1)[1]} = {value}\n")
        sha256 = values.get("extensions.objectformat", "sha1").lower() == "sha256"
        return "[core]\n" + "".join(lines) if lines else "", sha256

    # -- queries

    def run(self, args: list[str], cwd: Path, *, ok: tuple[int, ...] = (0,),
            literal: bool = False) -> bytes:
        """Run ``git ARGS`` in ``cwd`` against the private git directory; its stdout.
        ``GitError`` on a timeout or an exit status outside ``ok``."""
        env = scrubbed_env({
            "HOME": str(self._dir / "home"), "XDG_CONFIG_HOME": str(self._dir / "home" / ".config"),
            "GIT_DIR": str(self._dir), "GIT_WORK_TREE": str(self.layout.top),
            "GIT_OBJECT_DIRECTORY": str(self.layout.common / "objects"),
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_ATTR_NOSYSTEM": "1",
            "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "GIT_NO_REPLACE_OBJECTS": "1",
            "GIT_PAGER": "cat", "PAGER": "cat", "LC_ALL": "C", "LANG": "C",
            **({"GIT_LITERAL_PATHSPECS": "1"} if literal else {})})
        what = f"git {args[0]}"
        try:
            proc = subprocess.run([self.git, *args], cwd=cwd, env=env, capture_output=True,
                                  timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL,
                                  preexec_fn=child_preexec())
        except subprocess.TimeoutExpired:
            raise GitError(f"{what} timed out after {GIT_TIMEOUT_S:.0f} s") from None
        except OSError as err:
            raise GitError(f"{what} could not run: {err.strerror or err}") from None
        if proc.returncode not in ok:
            reason = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"{what} failed: {reason[0] if reason else f'exit status {proc.returncode}'}")
        return proc.stdout

    def index(self) -> list[Tracked]:
        """Every path of the index with its mode and object id, paths from the top."""
        listing = self.run(["ls-files", "-z", "--stage", "--full-name"], self.layout.top)
        entries: dict[bytes, Tracked] = {}
        for record in listing.split(b"\0"):
            meta, tab, name = record.partition(b"\t")
            if not tab:
                continue
            mode, oid = meta.decode("ascii", "replace").split(" ")[:2]
            if not _safe_path(name):
                raise GitError(f"the index lists the unsafe path {name!r} (absolute, '..' or '.git')")
            entries.setdefault(name, Tracked(mode, oid, name))  # unmerged paths: once per stage
        return list(entries.values())

    def status(self, cwd: Path, gitlinks: list[bytes]) -> bool:
        """Whether ``git status`` reports anything under ``cwd``, the submodules left out."""
        spec = [".", *(":(top,literal,exclude)" + os.fsdecode(p) for p in gitlinks)]
        out = self.run(["status", "--porcelain", "-z", "--untracked-files=normal",
                        "--ignore-submodules=all", "--", *spec], cwd)
        return bool(out.strip(b"\0"))

    def head_gitlinks(self, paths: list[bytes]) -> dict[bytes, str]:
        """The commit ``HEAD`` records for each of the submodule ``paths`` that it has."""
        out = self.run(["ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *map(os.fsdecode, paths)],
                       self.layout.top, literal=True)
        found = {}
        for record in out.split(b"\0"):
            meta, tab, name = record.partition(b"\t")
            parts = meta.decode("ascii", "replace").split(" ")
            if tab and len(parts) == 3 and parts[0] == GITLINK:
                found[name] = parts[2]
        return found

    def ignored(self, cwd: Path) -> tuple[str, ...]:
        """Paths under ``cwd`` that git ignores and does not track, relative to it."""
        out = self.run(["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory",
                        "--", "."], cwd)
        return tuple(sorted(p for p in (os.fsdecode(r) for r in out.split(b"\0")) if p and p != "./"))


# --------------------------------------------------------------------------- reading git files

def _open_regular(path: Path) -> int:
    """A descriptor of the regular file ``path``, opened without following a link or blocking."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise GitError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise GitError(f"{path}: not a regular file")
    return fd


def _read_small(path: Path, limit: int = MAX_SMALL_FILE) -> bytes:
    fd = _open_regular(path)
    try:
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as err:
        raise GitError(f"{path}: cannot be read ({err.strerror or err})") from None
    if len(data) > limit:
        raise GitError(f"{path}: larger than {limit} bytes")
    return data


def _copy_if_present(src: Path, dst: Path, limit: int) -> bool:
    """Copy the regular file ``src`` (not a link, at most ``limit`` bytes) to ``dst``; False when absent."""
    if not os.path.lexists(src):
        return False
    fd = _open_regular(src)
    try:
        with os.fdopen(fd, "rb") as handle, open(dst, "wb") as out:
            copied = 0
            while chunk := handle.read(1 << 20):
                copied += len(chunk)
                if copied > limit:
                    raise GitError(f"{src}: larger than {limit} bytes")
                out.write(chunk)
    except OSError as err:
        raise GitError(f"{src}: cannot be copied ({err.strerror or err})") from None
    return True


def _check_objects(objects: Path) -> None:
    """Refuse an object store that reaches outside: alternates, or links inside it."""
    if os.path.lexists(objects / "info" / "alternates"):
        raise GitError(f"{objects}/info/alternates: objects stored elsewhere (alternates) are not read")
    try:
        with os.scandir(objects) as top:
            for entry in top:
                if entry.is_symlink():
                    raise GitError(f"{entry.path}: a symbolic link in the object store")
                if entry.is_dir(follow_symlinks=False):
                    with os.scandir(entry.path) as inner:
                        for sub in inner:
                            if sub.is_symlink():
                                raise GitError(f"{sub.path}: a symbolic link in the object store")
    except OSError as err:
        raise GitError(f"{objects}: cannot be read ({err.strerror or err})") from None


def _safe_path(path: bytes) -> bool:
    """A relative path with no empty, ``.``, ``..`` or ``.git`` component (git refuses to add
    others, but an index can be written by hand)."""
    return all(part not in (b"", b".", b"..") and part.lower() != b".git" for part in path.split(b"/"))


def _valid_refname(name: str) -> bool:
    if not name.startswith("refs/") or name.endswith(("/", ".lock", ".")):
        return False
    parts = name.split("/")
    return all(p and not p.startswith(".") and ".." not in p and "@{" not in p
               and not any(c in p for c in " ~^:?*[\\\x7f") and all(ord(c) >= 0x20 for c in p)
               for p in parts)


def _resolve_head(layout: _Layout) -> str | None:
    """The commit id ``HEAD`` names, following symbolic and packed refs; None for an unborn branch."""
    data = _read_small(layout.gitdir / "HEAD").strip()
    for _ in range(6):
        if _OID.fullmatch(data):
            return data.decode("ascii")
        if not data.startswith(b"ref:"):
            raise GitError(f"{layout.gitdir}/HEAD: neither a commit id nor a reference")
        name = data[4:].strip().decode("utf-8", "replace")
        if not _valid_refname(name):
            raise GitError(f"{layout.gitdir}/HEAD: names an invalid reference {name!r}")
        base = layout.gitdir if name.startswith(_PER_WORKTREE_REFS) else layout.common
        loose = base / name
        if os.path.lexists(loose):
            if not Path(os.path.realpath(loose)).is_relative_to(base):
                raise GitError(f"{loose}: leads out of the git directory")
            data = _read_small(loose).strip()
            continue
        return _packed_ref(layout.common / "packed-refs", name)
    raise GitError(f"{layout.gitdir}/HEAD: symbolic references nest too deep")


def _packed_ref(path: Path, name: str) -> str | None:
    if not os.path.lexists(path):
        return None
    want = name.encode("utf-8")
    fd = _open_regular(path)
    try:
        with os.fdopen(fd, "rb") as handle:
            read = 0
            for line in handle:
                read += len(line)
                if read > MAX_INDEX_BYTES:
                    raise GitError(f"{path}: larger than {MAX_INDEX_BYTES} bytes")
                oid, _, ref = line.rstrip(b"\r\n").partition(b" ")
                if ref == want and _OID.fullmatch(oid):
                    return oid.decode("ascii")
    except OSError as err:
        raise GitError(f"{path}: cannot be read ({err.strerror or err})") from None
    return None
