"""``whiteboard-app recognize --card CARD`` on one small ink file, cold process (floor: <= 4 s median;
issue 16: 13.5-17 s measured with --card, 4.2 s without).

The ink file holds one generated step (the card's first reference step, ``ink.synth``; 10-20 strokes).
Each run is a fresh ``python -m whiteboard_app.cli recognize --ink FILE --card CARD`` process, timed
from ``Popen`` to its exit; its output (the reading) is kept. With ``--baseline REF`` the same command
runs against that commit's files (``benchmarks/_trees.py``), interleaved with this tree. The first run of
each tree starts from an empty cache folder (``WHITEBOARD_CACHE_DIR``: the derived tables of
``whiteboard_app.cache``, filled by that run); the medians are of the runs after it, each a cold process
with the cache as a second launch finds it.

Usage: ``python -m benchmarks.recognize_cli [--runs N] [--card ID] [--baseline REF]``.
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

from benchmarks._report import machine, median, write_section

ROOT = Path(__file__).resolve().parents[1]
FLOOR_MS = 4000.0


def _ink_file(card_id: str, path: Path) -> int:
    """Write the card's first reference step as generated ink; returns its stroke count."""
    from whiteboard_app.decks import deck_errors
    from whiteboard_app.ink.io import InkRecord, write_jsonl
    from whiteboard_app.ink.synth import synthesize

    deck, _ = deck_errors(None)
    latex = deck.get(card_id).steps[0].latex
    ink = synthesize(latex, seed=5).ink
    write_jsonl(path, [InkRecord("step-1", ink, latex)])
    return len(ink.strokes)


def _run(tree: Path, ink: Path, card: str, cache: Path) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(tree), WHITEBOARD_CACHE_DIR=str(cache))
    env.pop("WHITEBOARD_DATA_DIR", None)
    cmd = [sys.executable, "-m", "whiteboard_app.cli", "recognize", "--ink", str(ink), "--card", card]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cache.parent, env=env, capture_output=True, text=True, timeout=600)
    ms = (time.perf_counter() - t0) * 1000.0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return ms, out.stdout.strip().split("\t")[1] if "\t" in out.stdout else out.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per tree after the first (default 5)")
    parser.add_argument("--card", default="sigmoid-derivative")
    parser.add_argument("--baseline", default=None, metavar="REF")
    args = parser.parse_args(argv)
    from benchmarks._trees import baseline_tree, resolve

    t_start = time.time()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        ink = tmp / "step.jsonl"
        n_strokes = _ink_file(args.card, ink)
        trees = {"this tree": ROOT}
        if args.baseline:
            trees[f"baseline {resolve(args.baseline)[:7]}"] = stack.enter_context(
                baseline_tree(args.baseline)
            )
        first: dict[str, float] = {}
        times: dict[str, list[float]] = {name: [] for name in trees}
        readings: dict[str, set[str]] = {name: set() for name in trees}
        for name, tree in trees.items():
            ms, read = _run(tree, ink, args.card, tmp / f"cache-{len(first)}")
            first[name] = ms
            readings[name].add(read)
        for _ in range(args.runs):
            for k, (name, tree) in enumerate(trees.items()):
                ms, read = _run(tree, ink, args.card, tmp / f"cache-{k}")
                times[name].append(ms)
                readings[name].add(read)
    load = os.getloadavg()[0]
    mine = median(times["this tree"])
    ok = mine <= FLOOR_MS
    lines = [
        "## `recognize --card` on one small ink file, cold process",
        "",
        f"{machine()}; `whiteboard-app recognize --ink STEP --card {args.card}`, STEP = the card's first reference",
        f"step as generated ink ({n_strokes} strokes); fresh processes, timed from `Popen` to exit",
        "(`python -m benchmarks.recognize_cli"
        + (f" --baseline {args.baseline}`" if args.baseline else "`")
        + f"; {time.time() - t_start:.0f} s). Trees interleaved run by run; the first run of each",
        "tree starts with an empty cache folder, the others find what it stored (a second launch).",
        "",
        "| tree | first run (empty cache) ms | median ms | min ms | max ms | readings |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in trees:
        xs = times[name]
        shown = "; ".join(f"`{r}`" for r in sorted(readings[name]))
        lines.append(
            f"| {name} | {first[name]:.0f} | {median(xs):.0f} | {min(xs):.0f} | {max(xs):.0f} | {shown} |"
        )
    lines += [
        "",
        f"Load average (1 min) at the end: {load:.1f} on 2 cores (other sessions' work shares them).",
        f"Floor: median <= {FLOOR_MS:.0f} ms \u2014 **{'met' if ok else 'NOT met'}** ({mine:.0f} ms).",
    ]
    md = "\n".join(lines)
    write_section("recognize_cli", md)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
