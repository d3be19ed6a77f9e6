"""Quit with a run in progress: from the user's Quit (the window closed, the quit confirmed) to the end
of the process, with a step being read at that moment (floor: <= 0.5 s median; issue 16).

Each run is a fresh process running the real entry point (``whiteboard_app.ui.application.run``) with
the bundled recogniser, a throw-away data folder and offscreen Qt. Once the recogniser has loaded it
opens a card, writes a step as generated ink, asks for it to be read, and 0.3 s later quits (the
confirmation answered yes) after printing ``quit <time>``. The time is measured in this process, from
that line to the program's exit (the window is gone and the program's process has ended), and to the
end of its worker processes (recogniser, checker), which finish what they were doing and end by
themselves once the program's pipe closes. The recogniser's loading time is printed too (``loaded <s>``).

Usage: ``python -m benchmarks.quit [--runs N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import floor_words, machine, median, write_section

ROOT = Path(__file__).resolve().parents[1]
FLOOR_MS = 500.0


def _child(tmp: str, baseline: bool = False) -> None:
    """The measured program: the real entry point with a scripted run and Quit. ``baseline``: the
    quit path before issue 16 (close the recogniser, close the services, let the interpreter end)."""
    import whiteboard_app.ui.application as application

    if baseline:

        def old_shutdown(window, services) -> None:
            window.recognizers.close()
            services.close()

        application.shutdown = old_shutdown
        application.exit_now = lambda code: None
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from whiteboard_app.app import T0, build_window, install_excepthook, parse_args

    args = parse_args(["--settings", f"{tmp}/s.ini", "--data-dir", f"{tmp}/data"])
    t_start = time.perf_counter()

    def build(a):
        window, services, settings = build_window(a)

        def step() -> None:
            if window.recognizers.loading:
                QTimer.singleShot(50, step)
                return
            print(f"loaded {time.perf_counter() - t_start:.2f}", flush=True)
            from whiteboard_app.ui.screenshot_script import write_step

            view = window.open_card("sigmoid-derivative")
            write_step(view, view.card.steps[0].latex, seed=1)
            view.reader.step_ended(0)  # a reading in flight when the user quits

            def quit_now() -> None:
                QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes  # "Quit now?" -> yes
                print(f"quit {time.time():.6f}", flush=True)
                window.close()
                QApplication.instance().quit()

            QTimer.singleShot(300, quit_now)

        QTimer.singleShot(0, step)
        return window, services, settings

    application.run(args, build, install_excepthook, T0)


def _time_quit(tmp: Path, baseline: bool = False) -> tuple[float, float, float]:
    """(ms from the quit line to the program's exit, ms to the end of its worker processes too (their
    standard output, inherited, closes), recogniser load s)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "benchmarks.quit", "--child", str(tmp)] + (
        ["--baseline"] if baseline else []
    )
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    loaded = float("nan")
    t_quit = None
    for line in proc.stdout:
        if line.startswith("loaded "):
            loaded = float(line.split()[1])
        if line.startswith("quit "):
            t_quit = float(line.split()[1])
            break
    proc.wait(timeout=300)
    t_exit = time.time()
    proc.stdout.read()  # EOF once the worker processes, which inherited it, are gone too
    t_all = time.time()
    if t_quit is None:
        raise RuntimeError("the child never quit")
    return (t_exit - t_quit) * 1000.0, (t_all - t_quit) * 1000.0, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="quits measured (default 5, quick 3)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.baseline)
        return 0
    runs = args.runs or (3 if args.quick else 5)
    quits, alls, loads, before, before_all = [], [], [], [], []
    for _ in range(runs):  # interleaved with the baseline, so background load affects both alike
        with tempfile.TemporaryDirectory() as d:
            ms, ms_all, loaded = _time_quit(Path(d))
        quits.append(ms)
        alls.append(ms_all)
        loads.append(loaded)
        with tempfile.TemporaryDirectory() as d:
            ms, ms_all, _ = _time_quit(Path(d), baseline=True)
        before.append(ms)
        before_all.append(ms_all)
    m = median(quits)
    ok = m <= FLOOR_MS
    md = "\n".join(
        [
            "## Quit with a run in progress",
            "",
            f"{machine()}; {runs} fresh processes, offscreen Qt, the bundled recogniser; Quit 0.3 s after a step's",
            "reading was asked for, measured from the quit to the end of the program and of its worker processes",
            "(`python -m benchmarks.quit`; the baseline is the quit path before issue 16, interleaved).",
            "",
            "| | median | min | max |",
            "|---|---:|---:|---:|",
            f"| Quit to the program's end, ms | {m:.0f} | {min(quits):.0f} | {max(quits):.0f} |",
            f"| the same, quit path before issue 16 (baseline), ms | {median(before):.0f} | {min(before):.0f} | "
            f"{max(before):.0f} |",
            f"| Quit to the end of its worker processes too, ms | {median(alls):.0f} | {min(alls):.0f} | "
            f"{max(alls):.0f} |",
            f"| the same, baseline, ms | {median(before_all):.0f} | {min(before_all):.0f} | {max(before_all):.0f} |",
            f"| recogniser loaded after, s (same runs) | {median(loads):.1f} | {min(loads):.1f} | {max(loads):.1f} |",
            "",
            f"Floor: {floor_words('median', FLOOR_MS, m)}.",
        ]
    )
    write_section("quit", md)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
