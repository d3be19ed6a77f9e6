"""Cost of autosaving a board at every stroke end, by board size.

For boards of 50, 200 and 1,000 strokes of the project's synthetic handwriting (whiteboard_app.ink.synth,
about 15 points a stroke), measured in one run: the UI-thread cost per stroke end
(``Session.add_stroke`` + ``Session.board()`` snapshot + ``Autosaver.submit``), the JSON encoding
(``Board.dumps``, all steps), the atomic save (``BoardStore.save``: encode, write temp file, fsync, rename, fsync
folder), the time from ``submit`` until the file is on disk, the load time and the file size.
The Autosaver's claim (a save is well under the time between two hand strokes, > 100 ms) rests on these.

Usage: ``python -m benchmarks.board_save [--quick]``; writes the "board_save" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._report import machine, median, p95, write_section
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.sessions import FakeClock, Session
from whiteboard_app.sessions import board as board_mod
from whiteboard_app.sessions.store import Autosaver, BoardStore

EXPR = [
    r"\frac{\partial L}{\partial w}=\sum_i (y_i-\sigma(w^\top x_i)) x_i",
    r"\hat\mu=\frac{1}{n}\sum_{i=1}^n x_i",
    r"\mathbb{E}[(x-\mu)^2]=\sigma^2",
]


def make_session(n_strokes: int) -> tuple[Session, FakeClock, list]:
    pool = [s for k, e in enumerate(EXPR) for s in synthesize(e, seed=k).ink.strokes]
    clock = FakeClock()
    session = Session("bench", clock, target_s=300)
    for k in range(n_strokes):
        clock.advance(400)
        session.add_stroke(pool[k % len(pool)].translated(0, 60.0 * (k // 40)))
        if k % 40 == 39:
            session.next_step()
    return session, clock, pool


def measure(n_strokes: int, reps: int, root: Path) -> dict:
    session, clock, pool = make_session(n_strokes)
    store = BoardStore(root / f"b{n_strokes}")
    board = session.board()
    dumps = []
    saves = []
    loads = []
    for _ in range(reps):
        board_mod._STEP_JSON.clear()  # cold: every step encoded (the first save after a load or resume)
        t = time.perf_counter()
        board.dumps()
        dumps.append(time.perf_counter() - t)
        t = time.perf_counter()
        path = store.save(board)
        saves.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.load(path)
        loads.append(time.perf_counter() - t)
    # stroke end on the UI thread, and submit -> on disk through the autosaver
    done = threading.Event()
    saver = Autosaver(store, on_saved=lambda p: done.set())
    session.subscribe(lambda kind, step: saver.submit(session.board()))
    ui, disk = [], []
    for k in range(reps):
        done.clear()
        clock.advance(400)
        t = time.perf_counter()
        session.add_stroke(pool[k % len(pool)])
        ui.append(time.perf_counter() - t)
        done.wait(10)
        disk.append(time.perf_counter() - t)
        time.sleep(0.005)
    saver.close()
    return {
        "n": n_strokes,
        "points": sum(len(e.stroke.points) for s in board.steps for e in s.strokes),
        "kb": path.stat().st_size / 1024,
        "dumps": dumps,
        "save": saves,
        "load": loads,
        "ui": ui,
        "disk": disk,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args(argv)
    reps = 10 if args.quick else 40
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (50, 200, 1000):
            r = measure(n, reps, Path(tmp))
            ms = lambda xs: f"{median(xs) * 1000:.1f} / {p95(xs) * 1000:.1f}"  # noqa: E731
            rows.append(
                f"| {r['n']} | {r['points']} | {r['kb']:.0f} | {ms(r['ui'])} | {ms(r['dumps'])} | "
                f"{ms(r['save'])} | {ms(r['disk'])} | {ms(r['load'])} |"
            )
            print(rows[-1], flush=True)
    md = "\n".join(
        [
            "## board_save: autosave cost by board size",
            "",
            f"{machine()}; {reps} repetitions each; times in ms as median / p95, measured in one run.",
            "UI = stroke end on the UI thread (add_stroke + snapshot + submit, which appends the changed step to",
            "the stroke journal and fsyncs it: the stroke is durable when submit returns); JSON encode = every step encoded",
            "(cold cache); save = atomic write with fsync of an unchanged board (step JSON cached);",
            "submit -> disk = one stroke added to the current step, until the Autosaver's writer thread has the",
            "file on disk (only the changed step is encoded again).",
            "",
            "| strokes | points | file KiB | UI per stroke | JSON encode (cold) | save | submit -> disk | load |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    write_section("board_save", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
