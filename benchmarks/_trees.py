"""The program as it was at another commit, for benchmarks that measure "before" and "after" in one run
(issue 16: speed floors against a baseline, interleaved so that the shared machine's load hits both
alike). ``baseline_tree(ref)`` extracts that commit's files (``git archive``: no worktree, no change to
the repository) into a temporary folder; run a child with ``PYTHONPATH=<folder>`` to use its
``whiteboard_app``."""

from __future__ import annotations

import contextlib
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def resolve(ref: str) -> str:
    """The commit id of ``ref`` (a branch, tag or commit) in this repository. Raises
    subprocess.CalledProcessError for an unknown ref."""
    return subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@contextlib.contextmanager
def baseline_tree(ref: str) -> Iterator[Path]:
    """A temporary folder holding the files of commit ``ref`` (removed afterwards)."""
    commit = resolve(ref)
    with tempfile.TemporaryDirectory(prefix="whiteboard-baseline-") as d:
        archive = Path(d) / "tree.tar"
        with open(archive, "wb") as fh:
            subprocess.run(["git", "archive", commit], cwd=ROOT, stdout=fh, check=True)
        tree = Path(d) / "tree"
        tree.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="tar")
        archive.unlink()
        yield tree
