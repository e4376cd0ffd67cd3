"""Tamper-evident bundles of a run, and their verification on site.

A bundle is a zip written in one canonical way (members stored uncompressed, fixed timestamps and
attributes, fixed order; see ``manifest``) holding:

- ``manifest.json``: sha256 and size of every other file, tool versions, the spec hash, run id and
  project, and the repository: commit, subpath, dirtiness, tree hash and the mode it was taken in;
- ``manifest.sig`` (when signed): an Ed25519 signature of the exact ``manifest.json`` bytes;
- ``run/…``: the run directory (``results.json``, ``spec.yaml``, evidence) and ``run/reports/report.{zh,en}.html``,
  rendered from those files when packing (a report file found in the run directory is never packed).

Because the layout is canonical, ``verify_bundle`` rebuilds the zip from its verified contents and
compares the bytes, so a change to any byte of the file — content or zip metadata — is caught. The
zip is read with ``verifier.archive`` (its limits, its name checks), never extracted.

What a bundle proves. The hashes prove nothing changed since it was packed; a signature proves who
signed the manifest — neither proves the figures in ``results.json`` are consistent. So
``build_bundle`` refuses, and ``verify_bundle`` reports, a ``results.json`` that disagrees with what
the run's own data recomputes (``verifier.consistency``: statuses and credits from values and the
bundled ``spec.yaml``'s targets, gates, score, verdict). The measured values themselves are taken as
recorded: re-running on site is what checks them. Reports prove nothing either: ``verify_bundle``
re-renders each from the bundled results and the manifest's files and compares the bytes (rendering
depends on nothing else: ``reports``), and fails any report it cannot reproduce. A run consistent
with a weakened copy of the task book is caught by comparing the bundled ``spec.yaml`` with the task
book itself (``task_book``: the repository's, or the agency's copy).

The repository (``verifier.repository``). A delivered directory inside a git work tree (its top or any
sub-directory) records the work tree's ``HEAD`` commit, the directory's ``subpath`` within it, and
``dirty`` (``git status`` limited to that subpath: changes, or untracked files that are not
ignored). Its tree hash is then taken in mode ``git-tracked``: the files git tracks under the
directory with their working-tree content — what an expert gets from a clean checkout of the
recorded commit (without line-ending conversion), so untracked and ignored files (``.venv``,
``node_modules``, build output) do not count. A directory outside git is hashed in mode
``all-files``: every file and link, ``.git`` left out. ``verifier.repository.tree_hash`` defines both
exactly; the manifest states the mode and its rule. ``verify --repo`` (``repo_check``) compares commit
and subpath when they are recorded, and hashes the given tree in the recorded mode (the top of a clone
is accepted for a recorded subpath). Git is read only through ``verifier.git`` (isolated: nothing the
repository configures runs).

Modules: ``manifest`` (the format and the canonical zip), ``reports`` (the reports a bundle carries),
``build`` (packing), ``verify`` (checking), ``repo_check`` (``--repo``), ``task_book`` (``--spec``).
"""

from verifier.bundle.build import BundleInfo, build_bundle
from verifier.bundle.manifest import FORMAT, MANIFEST, PAYLOAD, SIGNATURE
from verifier.bundle.reports import BUNDLE_REPORTS, render_bundle_report
from verifier.bundle.verify import LIMITS, MAX_MANIFEST_BYTES, verify_bundle

__all__ = ["BUNDLE_REPORTS", "FORMAT", "LIMITS", "MANIFEST", "MAX_MANIFEST_BYTES", "PAYLOAD", "SIGNATURE",
           "BundleInfo", "build_bundle", "render_bundle_report", "verify_bundle"]
