"""scripts/screenshots.sh hands the program the output folder once (as --screenshot-script DIR) and only
the arguments after it as program options. Run with stand-ins for xvfb-run and the program, which
record the command line they were given (no display, no Qt)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "screenshots.sh"

XVFB_RUN = """#!/usr/bin/env bash
while [[ $# -gt 0 ]]; do case "$1" in -a) shift;; -s) shift 2;; *) break;; esac; done
exec "$@"
"""

# The program's stand-in: records its arguments, one a line, and saves a PNG where it was told to.
PROGRAM = """#!/usr/bin/env bash
printf '%s\\n' "$@" > "$ARGS_FILE"
while [[ $# -gt 0 ]]; do
  if [[ "$1" == --screenshot-script && -z "${NO_PNG:-}" ]]; then touch "$2/run.png"; fi
  shift
done
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(
    tmp_path: Path, *args: str, cwd: Path | None = None, **extra_env: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("xvfb-run", XVFB_RUN), ("program", PROGRAM)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        PYTHON=str(bin_dir / "program"),
        ARGS_FILE=str(tmp_path / "args.txt"),
        **extra_env,
    )
    done = subprocess.run(
        ["bash", str(SCRIPT), *args], cwd=cwd or tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    got = (tmp_path / "args.txt").read_text().splitlines() if (tmp_path / "args.txt").exists() else []
    return done, got


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_output_folder_is_not_passed_on_as_a_program_argument(tmp_path):
    out = tmp_path / "shots"
    done, argv = run(tmp_path, str(out))
    assert done.returncode == 0, done.stderr
    assert argv[:2] == ["-m", "whiteboard_app.app"]
    assert option(argv, "--screenshot-script") == str(out)
    assert str(out) not in argv[argv.index("--screenshot-script") + 2 :]  # once, as the option's value
    assert len(argv) == 6  # -m whiteboard_app.app --settings FILE --screenshot-script DIR
    assert (out / "run.png").exists()


def test_a_relative_folder_is_taken_from_the_current_folder_and_more_options_go_on(tmp_path):
    here = tmp_path / "elsewhere"
    here.mkdir()
    done, argv = run(tmp_path, "shots", "--engine", "mathnote", cwd=here)
    assert done.returncode == 0, done.stderr
    assert option(argv, "--screenshot-script") == str(here / "shots")
    assert argv[-2:] == ["--engine", "mathnote"]
    assert (here / "shots" / "run.png").exists()


def test_without_a_folder_the_pngs_go_to_docs_screenshots_and_options_go_on(tmp_path):
    if not list((ROOT / "docs" / "screenshots").glob("*.png")):
        pytest.skip("no PNGs in docs/screenshots for the script to list")
    done, argv = run(tmp_path, "--no-recognizer", "--engine", "x", NO_PNG="1")  # leave docs/ as it is
    assert done.returncode == 0, done.stderr
    assert option(argv, "--screenshot-script") == "docs/screenshots"
    assert argv[-3:] == ["--no-recognizer", "--engine", "x"]
