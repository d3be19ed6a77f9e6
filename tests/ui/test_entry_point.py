"""Smoke test of the entry points a user starts: the installed gui-script and the packaged entry
(packaging/entry.py, what PyInstaller freezes) open the window offscreen and quit with status 0."""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(cmd: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHITEBOARD_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        cmd
        + [
            "--launch-probe",
            "--no-recognizer",
            "--data-dir",
            str(tmp_path / "data"),
            "--settings",
            str(tmp_path / "settings.ini"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_installed_gui_script_starts_offscreen_and_quits(tmp_path):
    script = Path(sys.executable).parent / "whiteboard-app-gui"
    if not script.exists():
        pytest.skip(f"the package is not installed with its scripts next to {sys.executable}")
    proc = _run([str(script)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "window-shown" in proc.stdout
    assert "Traceback" not in proc.stderr


def _torch_dir() -> Path:
    """torch's package folder, found without importing torch (seconds saved)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        pytest.skip("torch is not installed")
    return Path(spec.origin).resolve().parent


def _torch_load_time_libraries() -> dict[str, str]:
    """{path relative to site-packages: resolved path} of every library ``ldd`` resolves for torch._C."""
    site = _torch_dir().parent
    ext = next(_torch_dir().glob("_C.*.so"), None)
    if ext is None or shutil.which("ldd") is None:
        pytest.skip("needs Linux with ldd and torch's _C extension")
    out = subprocess.run(["ldd", str(ext)], capture_output=True, text=True, check=True).stdout
    found = {}
    for path in re.findall(r"=> (/\S+)", out):
        resolved = Path(path).resolve()
        if resolved.is_relative_to(site):
            found[resolved.relative_to(site).as_posix()] = path
    return found


def test_cpu_only_bundle_keeps_every_library_torch_loads():
    """packaging/cpu_only.py drops CUDA libraries from the bundle; none of them may be one that
    ``import torch`` loads (the closure ldd resolves for torch._C), or the packaged program cannot start."""
    keep = runpy.run_path(str(ROOT / "packaging" / "cpu_only.py"))["keep"]
    needed = _torch_load_time_libraries()
    assert any(p.startswith("torch/lib/libtorch_cpu") for p in needed), (
        needed
    )  # ldd saw torch's own libraries
    dropped = sorted(p for p in needed if not keep(p))
    assert dropped == [], f"load-time dependencies of torch dropped by packaging/cpu_only.py: {dropped}"


def test_cpu_only_drop_list_matches_real_files():
    """Every pattern of packaging/cpu_only.py that names a folder torch's wheel installs matches a file
    there, so a renamed CUDA package cannot silently bring its libraries back into the bundle."""
    site = _torch_dir().parent
    if not (site / "nvidia").is_dir():
        pytest.skip("torch here is not a CUDA build with nvidia-* packages")
    ns = runpy.run_path(str(ROOT / "packaging" / "cpu_only.py"))
    files = [p.relative_to(site).as_posix() for p in (site / "nvidia").rglob("*") if p.is_file()]
    for pattern in ns["CPU_ONLY_DROP"]:
        if pattern.startswith("nvidia/") and "/lib/" in pattern:
            assert any(fnmatch.fnmatch(f, pattern) for f in files), pattern
    assert not ns["keep"]("nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9")
    assert ns["keep"]("nvidia/cudnn/lib/libcudnn.so.9")


def test_smoke_script_passes_on_the_packaged_entry(tmp_path):
    """packaging/smoke-test.sh (what `make package` runs on the built binary) passes on the entry it
    freezes, run from source: window, bundled deck, three correct steps, "x+1" ink read as x + 1.

    This also covers packaging/entry.py's two ways (the window with ``--launch-probe``; the CLI's
    ``decks list --json`` naming sigmoid-derivative): the script checks both, with their exit status,
    through that entry, so no separate test starts them a second time (issue 18: CI time)."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    wrapper = tmp_path / "whiteboard-app"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "packaging" / "entry.py"}" "$@"\n')
    wrapper.chmod(0o755)
    proc = subprocess.run(
        ["bash", str(ROOT / "packaging" / "smoke-test.sh"), str(wrapper), sys.executable],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 of 3 reference steps correct" in proc.stdout
    assert '"latex": "x + 1"' in proc.stdout
    assert "smoke test passed" in proc.stdout
