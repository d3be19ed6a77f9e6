"""Smoke test of the entry points a user starts: the installed gui-script and the packaged entry
(packaging/entry.py, what PyInstaller freezes) open the window offscreen and quit with status 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHITEBOARD_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(cmd + ["--launch-probe", "--no-recognizer", "--data-dir", str(tmp_path / "data"),
                                 "--settings", str(tmp_path / "settings.ini")],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_installed_gui_script_starts_offscreen_and_quits(tmp_path):
    script = Path(sys.executable).parent / "whiteboard-app-gui"
    if not script.exists():
        pytest.skip(f"the package is not installed with its scripts next to {sys.executable}")
    proc = _run([str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "window-shown" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_packaged_entry_opens_the_window_or_runs_the_cli(tmp_path):
    entry = ROOT / "packaging" / "entry.py"
    proc = _run([sys.executable, str(entry)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "window-shown" in proc.stdout
    cli = subprocess.run([sys.executable, str(entry), "decks", "list", "--json"], capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert cli.returncode == 0, cli.stderr
    assert "sigmoid-derivative" in cli.stdout
