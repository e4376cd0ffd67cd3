"""Version-control metadata in a delivered tree: which directories are a version-control system's own
data (not delivered files), told by the files that system keeps there, never by the name alone.

A directory named like a version-control directory that does not hold that system's files (code in
``src/CVS/`` or ``lib/_darcs/``) is an ordinary directory and is scanned like any other.
"""

from __future__ import annotations

import os
import stat

#: Directory name -> (system, marker sets): the directory is that system's metadata when every
#: marker of one of the sets is there (a name ending in ``/`` is a directory, others regular files).
VCS_MARKERS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    ".git": ("git", (("HEAD", "objects/", "refs/"),)),
    "CVS": ("CVS", (("Root", "Repository", "Entries"),)),
    ".svn": ("Subversion", (("wc.db",), ("entries",))),
    ".hg": ("Mercurial", (("requires",), ("store/",), ("00changelog.i",))),
    ".bzr": ("Bazaar", (("branch-format",),)),
    "_darcs": ("darcs", (("format",), ("hashed_inventory",), ("inventory",))),
}
#: Names of version-control directories (what is checked; see ``vcs_metadata``).
VCS_DIRS = frozenset(VCS_MARKERS)
#: Start of the reason given for every skipped version-control directory or git link file.
VCS_REASON = "version-control metadata"


def _is(path: str, directory: bool) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISDIR(mode) if directory else stat.S_ISREG(mode)


def _gitfile(path: str) -> bool:
    """Whether ``path`` is a ``.git`` file of a linked work tree or submodule (``gitdir: …``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, 8) == b"gitdir: "
    except OSError:
        return False
    finally:
        os.close(fd)


def vcs_metadata(path: str, name: str, is_dir: bool) -> str | None:
    """Why the directory entry at ``path`` (called ``name``) is version-control metadata and not
    delivered files (``VCS_REASON`` + the system + the files that show it), or None when it is not:
    a directory named ``.git``, ``CVS``, ``.svn``, ``.hg``, ``.bzr`` or ``_darcs`` holding that
    system's own files (``VCS_MARKERS``), or a ``.git`` file pointing to a git directory. Links are
    never followed (a link is never metadata)."""
    if not is_dir:
        if name == ".git" and _gitfile(path):
            return (f"{VCS_REASON} (a git link file 'gitdir: …' of a linked work tree or "
                    "submodule), not part of the delivered files; not scanned")
        return None
    known = VCS_MARKERS.get(name)
    if known is None:
        return None
    system, marker_sets = known
    for markers in marker_sets:
        if all(_is(os.path.join(path, m.rstrip("/")), m.endswith("/")) for m in markers):
            return (f"{VCS_REASON} ({system}: holds {', '.join(markers)}), not part of the "
                    "delivered files; not scanned")
    return None
