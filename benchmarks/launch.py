"""Launch: from starting the program to its main window being usable and to its recogniser being ready
(floors: window <= 1 s, recogniser ready <= 2.5 s, medians; issues 4 and 16).

Each run is a fresh process running ``benchmarks/_launch_child.py`` (the real start-up: ``build_window``
in ``ui.application.run``; offscreen Qt, a throw-away data folder and settings file), which prints
``shown`` at the event loop's first turn after ``show()``, ``ready`` when the recogniser has loaded (a
step written from then on is read) and ``warm`` when its warm-up is over too, then quits. Times are
taken in this process from ``Popen`` to each line (Python's own start-up counts). With ``--baseline REF``
the same child runs against that commit's files (``benchmarks/_trees.py``), interleaved with this tree
so that the shared machine's load hits both alike; each launch starts once every process of the one before
(its recogniser worker too) has ended. For comparison: a bare ``python -c pass``.

Usage: ``python -m benchmarks.launch [--runs N] [--quick] [--baseline REF]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._report import floor_words, machine, median, shared_load_line, write_section

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_launch_child.py")
WINDOW_FLOOR_MS = 1000.0
READY_FLOOR_MS = 2500.0
EVENTS = ("shown", "ready", "warm")


def _time_launch(tree: Path, tmp: Path) -> dict[str, float]:
    """ms from Popen to each of the child's lines (shown, ready, warm) for the program in ``tree``."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        PYTHONPATH=str(tree),
        WHITEBOARD_DATA_DIR=str(tmp / "data"),
        WHITEBOARD_CACHE_DIR=str(tmp / "cache"),
    )
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp)],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group: the launch's workers are waited for below
    )
    out: dict[str, float] = {}
    try:
        for line in proc.stdout:
            word = line.split()[0] if line.split() else ""
            if word in EVENTS:
                out[word] = (time.perf_counter() - t0) * 1000.0
            elif word == "failed":
                raise RuntimeError(f"the recogniser did not load: {line.strip()}")
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _wait_for_group(proc.pid)
    if set(out) != set(EVENTS):
        raise RuntimeError(f"the child printed only {sorted(out)} ({tree})")
    return out


def _wait_for_group(pgid: int, limit_s: float = 15.0) -> None:
    """Wait until every process of the launch's group (its recogniser worker, which ends by itself once
    the window's process is gone) has ended, so that the next launch, of either tree, does not share the
    CPUs with this one's ending (a tree whose worker took a second of CPU to tear down slowed the other
    tree's next launch when they are interleaved)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, 9)


def _time_bare(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def _row(label: str, xs: list[float]) -> str:
    return f"| {label} | {median(xs):.0f} | {min(xs):.0f} | {max(xs):.0f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=None, help="launches per tree (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--baseline", default=None, metavar="REF", help="also measure this commit, interleaved"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 7)
    from benchmarks._trees import trees as baseline_trees

    t_start = time.time()
    with contextlib.ExitStack() as stack:
        trees = baseline_trees(stack, args.baseline)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for name, tree in trees.items():  # warm the OS file cache and the derived-table cache once
            _time_launch(tree, tmp / name.replace(" ", "-"))
        for _ in range(runs):
            for name, tree in trees.items():
                results[name].append(_time_launch(tree, tmp / name.replace(" ", "-")))
        bare = _time_bare(runs)
    lines = [
        "## Launch to window and to a ready recogniser",
        "",
        f"{machine()}; {runs} launches per tree, fresh processes, offscreen Qt, measured from `Popen` to the",
        "window's first event-loop turn after `show()` (usable), to the recogniser loaded (a written step is",
        "read from then on) and to its warm-up done (`python -m benchmarks.launch"
        + (f" --baseline {args.baseline}`" if args.baseline else "`")
        + f"; {time.time() - t_start:.0f} s). Trees interleaved run by run.",
        "",
        "| tree: event | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, rs in results.items():
        for ev, words in (
            ("shown", "window usable"),
            ("ready", "recogniser ready"),
            ("warm", "recogniser warmed up"),
        ):
            lines.append(_row(f"{name}: {words}", [r[ev] for r in rs]))
    lines.append(_row("bare `python -c pass`", bare))
    mine = results["this tree"]
    shown, ready = median([r["shown"] for r in mine]), median([r["ready"] for r in mine])
    ok_w, ok_r = shown <= WINDOW_FLOOR_MS, ready <= READY_FLOOR_MS
    lines += [
        "",
        shared_load_line(),
        f"Floors: {floor_words('window usable', WINDOW_FLOOR_MS, shown)}; "
        f"{floor_words('recogniser ready', READY_FLOOR_MS, ready)}.",
    ]
    md = "\n".join(lines)
    write_section("launch", md)
    print(md)
    return 0 if ok_w and ok_r else 1


if __name__ == "__main__":
    sys.exit(main())
