"""Launch-to-window time: from starting the program to its main window being shown, with the
recogniser still loading in the background (floor: < 2 s median; issue 4).

Each run is a fresh process ``python -m whiteboard_app.app --launch-probe`` (offscreen Qt, a throw-away
data folder and settings file) which prints ``window-shown <ms> recognizer-loading=<bool>`` from the
event loop's first turn after ``show()`` and quits. The time is measured in this process, from
``Popen`` to that line (so Python's own start-up counts). For comparison, in the same run: the same
with ``--no-recognizer`` (keyboard only), and a bare ``python -c pass``.

Usage: ``python -m benchmarks.launch [--runs N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import machine, median, write_section

ROOT = Path(__file__).resolve().parents[1]
FLOOR_MS = 2000.0


def _time_launch(extra: list[str], tmp: Path) -> tuple[float, bool]:
    """(ms from Popen to the window-shown line, whether the recogniser was still loading)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHITEBOARD_DATA_DIR=str(tmp / "data"))
    cmd = [
        sys.executable,
        "-m",
        "whiteboard_app.app",
        "--launch-probe",
        "--settings",
        str(tmp / "s.ini"),
        *extra,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        for line in proc.stdout:
            if line.startswith("window-shown"):
                ms = (time.perf_counter() - t0) * 1000.0
                loading = "recognizer-loading=True" in line
                break
        else:
            raise RuntimeError(f"the window was never shown ({' '.join(cmd)})")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return ms, loading


def _time_bare(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="launches per variant (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _time_launch(["--no-recognizer"], tmp)  # warm the OS file cache once, not counted
        with_rec, loading_flags, keyboard = [], [], []
        for _ in range(runs):  # interleaved, so background load affects both alike
            ms, loading = _time_launch([], tmp)
            with_rec.append(ms)
            loading_flags.append(loading)
            keyboard.append(_time_launch(["--no-recognizer"], tmp)[0])
        bare = _time_bare(runs)
    m, k, b = median(with_rec), median(keyboard), median(bare)
    ok = m < FLOOR_MS
    still_loading = sum(loading_flags)
    md = "\n".join(
        [
            "## Launch to window",
            "",
            f"{machine()}; {runs} launches per variant, fresh processes, offscreen Qt, measured from `Popen` to the",
            "window's first event-loop turn after `show()` (`python -m benchmarks.launch`).",
            "",
            "| variant | median ms | min ms | max ms |",
            "|---|---:|---:|---:|",
            f"| window, recogniser loading in the background | {m:.0f} | {min(with_rec):.0f} | {max(with_rec):.0f} |",
            f"| window, no recogniser (keyboard only) | {k:.0f} | {min(keyboard):.0f} | {max(keyboard):.0f} |",
            f"| bare `python -c pass` | {b:.0f} | {min(bare):.0f} | {max(bare):.0f} |",
            "",
            f"Recogniser still loading when the window was shown: {still_loading} of {runs} launches. "
            f"Ratio with / without recogniser start: {m / k:.2f}.",
            f"Floor: median < {FLOOR_MS:.0f} ms \u2014 **{'met' if ok else 'NOT met'}** ({m:.0f} ms).",
        ]
    )
    write_section("launch", md)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
