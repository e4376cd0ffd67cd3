"""Git repositories for the tests of ``verifier.git``: git run as a person runs it (the repository's
own config read), and deliveries copied with tar as an applicant ships them."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path


def plain_git(cwd: Path, *args: str, home: Path, check: bool = True,
              env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``git ARGS`` in ``cwd`` with a fixed identity, no system config and ``home`` as HOME; the
    repository's own config is read (this is not how verifier runs git)."""
    env = {**(env_extra or {}), "PATH": os.environ["PATH"], "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
           "LC_ALL": "C", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", "-c", "protocol.file.allow=always", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=60, check=check, stdin=subprocess.DEVNULL)


def plain_out(cwd: Path, *args: str, home: Path) -> str:
    """The stripped text output of ``plain_git``."""
    return plain_git(cwd, *args, home=home).stdout.decode("utf-8", "surrogateescape").strip()


def tar_copy(top: Path, dest: Path) -> Path:
    """``top`` as shipped: tarred, untarred into the new directory ``dest``; the copy's top."""
    archive = dest.parent / f"{dest.name}.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(top, arcname=top.name)
    dest.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="tar")
    return dest / top.name
