"""Verdict on screen after the writing pause: the window's job from the end of the pause to the verdict
(build the card's context, read the ink in the recogniser's worker, rerank by the card, parse and check),
for steps of at most 20 strokes (floor: <= 300 ms median, the pause itself excluded; issue 16).

Runs ``benchmarks/_verdict_child.py`` for each card (a fresh process: recogniser loaded and warmed up,
the card prepared as the window does when it opens; then each reference step written as generated ink).
With ``--baseline REF`` the same runs against that commit's files (``benchmarks/_trees.py``), card by
card interleaved with this tree. Columns: ``reading`` the recogniser's worker time (inside its 3 s limit),
``context`` building the card's context prior, ``rest`` the remainder (shipping the ink, reranking by the
card's forms, parsing and checking the best reading). Qt's signal delivery and the repaint are not
included (under 5 ms: docs/benchmarks.md, "Paint").

Usage: ``python -m benchmarks.verdict_time [--cards ID ...] [--baseline REF]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._report import machine, median, p95, write_section

ROOT = Path(__file__).resolve().parents[1]
CHILD = Path(__file__).with_name("_verdict_child.py")
FLOOR_MS = 300.0
MAX_STROKES = 20
CARDS = ("sigmoid-derivative", "sample-variance-n-minus-1", "bernoulli-mle", "gaussian-mle")


def _run(tree: Path, card: str, cache: Path) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(tree), WHITEBOARD_CACHE_DIR=str(cache))
    env.pop("WHITEBOARD_DATA_DIR", None)
    out = subprocess.run(
        [sys.executable, str(CHILD), card],
        cwd=cache.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{card} on {tree}: {out.stderr.strip()[-500:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", nargs="+", default=list(CARDS))
    parser.add_argument("--baseline", default=None, metavar="REF")
    args = parser.parse_args(argv)
    import tempfile

    from benchmarks._trees import baseline_tree, resolve

    t_start = time.time()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        trees = {"this tree": ROOT}
        if args.baseline:
            trees[f"baseline {resolve(args.baseline)[:7]}"] = stack.enter_context(
                baseline_tree(args.baseline)
            )
        rows: dict[str, list[dict]] = {name: [] for name in trees}
        for card in args.cards:
            for k, (name, tree) in enumerate(trees.items()):
                rows[name] += _run(tree, card, tmp / f"cache-{k}")
    load = os.getloadavg()[0]
    lines = [
        "## Verdict after the writing pause",
        "",
        f"{machine()}; `python -m benchmarks.verdict_time"
        + (f" --baseline {args.baseline}`" if args.baseline else "`")
        + f" ({time.time() - t_start:.0f} s): every reference step of {len(args.cards)} cards",
        f"({', '.join(args.cards)}) written as generated ink, one fresh process per card and tree, the",
        "recogniser warmed up and the card prepared first (as in the window); times from the end of the",
        f"pause to the verdict, steps of at most {MAX_STROKES} strokes; trees interleaved card by card.",
        "",
        "| tree | steps | total median ms | total p95 ms | reading median ms | context median ms | rest median ms | correct |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    medians = {}
    for name, rs in rows.items():
        small = [r for r in rs if r["strokes"] <= MAX_STROKES]
        if not small:
            continue
        tot = [r["total_ms"] for r in small]
        rest = [r["total_ms"] - r["reading_ms"] - r["context_ms"] for r in small]
        medians[name] = median(tot)
        correct = sum(r["verdict"] == "correct" for r in small)
        lines.append(
            f"| {name} | {len(small)} | {median(tot):.0f} | {p95(tot):.0f} | "
            f"{median([r['reading_ms'] for r in small]):.0f} | {median([r['context_ms'] for r in small]):.0f} | "
            f"{median(rest):.0f} | {correct}/{len(small)} |"
        )
    mine = medians.get("this tree", float("nan"))
    ok = mine <= FLOOR_MS
    lines += [
        "",
        f"Load average (1 min) at the end: {load:.1f} on 2 cores (other sessions' work shares them).",
        f"Floor: median <= {FLOOR_MS:.0f} ms \u2014 **{'met' if ok else 'NOT met'}** ({mine:.0f} ms).",
    ]
    md = "\n".join(lines)
    write_section("verdict_time", md)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
