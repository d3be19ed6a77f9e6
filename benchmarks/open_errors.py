"""Open-reading errors by kind, and the held-out training writers' ink to find them on (issue 13).

Changes to the open reading are chosen on the training ink's held-out writers, never on dev.jsonl:

1. ``python -m benchmarks.open_errors heldout OUT.jsonl`` writes the expressions of
   ../shared/handwriting/train.jsonl.gz whose writer falls in the training commands' writer-disjoint
   validation split (``training.data.writer_split``, fraction 0.1, seed 0: 648 expressions, writers the
   weights never saw), one JSON row each, in dev.jsonl's format; read them with
   ``python -m benchmarks.recognition --data OUT.jsonl --limit 400 --seed 1 --engines whiteboard
   --timeout-s 20 --no-write --out READ.jsonl``.
2. ``python -m benchmarks.open_errors tally READ.jsonl [--show KIND,KIND]`` counts the wrong readings of
   such a ``--out`` file by kind, both sides normalised as ../shared/tools/ocr_eval.py does:

   * ``A:40+strokes``: a step of 40 strokes or more (grouped in chunks before the parse; counted apart);
   * ``B:struct-only:*``: every symbol right, the structure wrong (``sub-lost``, ``sub-spur``,
     ``sup-lost``, ``sup-spur``, ``frac-count``, ``sqrt-count``, else ``extent/swap``: a script's,
     fraction's or root's extent, or a script level swapped);
   * ``C:struct+sym:*``: the same kinds with some symbols wrong too; ``C:symcount-differs``: symbols
     missing or extra (stroke groups joined or split);
   * ``D:symbols-only``: the structure skeleton right (scripts, fractions, roots, symbol count), with its
     substitutions as ``D:case`` (x / X), ``D:digit/letter`` (5 / s), ``D:func`` (a function name),
     ``D:dot/comma``, ``D:prime``, ``D:other-sub``;
   * ``X:has-*``: the truth holds a function name, a decimal number, a prime (across the kinds above).

   A reading counts once in each kind it shows (the kinds overlap). The skeleton is the normalised
   tokens with every symbol replaced by one placeholder (the structure-error count of docs/benchmarks.md).
3. ``python -m benchmarks.open_errors rewrite READ.jsonl OUT.jsonl`` writes READ.jsonl with the engine's
   rules on the parsed LaTeX (``recognition.symbol_context.rewrite_reading``) applied to every reading:
   those rules are a pure function of each reading's LaTeX, so a change to them is scored on readings
   already made (session 11; checked against a real run: 1,474 of 1,477 dev readings identical, 3 moved
   by the load). Tally OUT.jsonl, or compare it with ``benchmarks.recognition``'s figures.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import gzip
import json
import re
import sys
from pathlib import Path

from benchmarks.recognition import SHARED, load_ocr_eval

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"
#: Tokens of the structure (scripts, groups, fractions, roots, a root's index brackets).
STRUCT = frozenset({"^", "_", "{", "}", "\\frac", "\\sqrt", "[", "]"})
#: The tokens a skeleton keeps.
SKELETON = ("^", "_", "{", "}", "\\frac", "\\sqrt")
FUNCTIONS = ("\\sin", "\\cos", "\\tan", "\\log", "\\lim", "\\exp", "\\ln")
DIGITS = frozenset("0123456789")


def skeleton(tokens: list[str]) -> list[str]:
    """*tokens* (normalised) with every symbol replaced by ``S``."""
    return [t if t in SKELETON else "S" for t in tokens]


def _symbols(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in STRUCT]


def _structure_kinds(truth: list[str], read: list[str]) -> list[str]:
    """The B / C kinds of a reading whose skeleton differs from the truth's."""
    if len(_symbols(truth)) != len(_symbols(read)):
        return ["C:symcount-differs"]
    pre = "B:struct-only:" if _symbols(truth) == _symbols(read) else "C:struct+sym:"
    kinds = []
    for tok, name in (("_", "sub"), ("^", "sup")):
        if truth.count(tok) > read.count(tok):
            kinds.append(f"{name}-lost")
        elif truth.count(tok) < read.count(tok):
            kinds.append(f"{name}-spur")
    for tok, name in (("\\frac", "frac-count"), ("\\sqrt", "sqrt-count")):
        if truth.count(tok) != read.count(tok):
            kinds.append(name)
    return [pre + k for k in kinds or ["extent/swap"]]


def _substitution_kind(a: str, b: str) -> str:
    """The D kind of truth tokens *a* read as *b* (each a space-joined token run)."""
    if a.lower() == b.lower():
        return "D:case"
    if (a in DIGITS) != (b in DIGITS):
        return "D:digit/letter"
    if a in FUNCTIONS or b in FUNCTIONS:
        return "D:func"
    if a in (".", ",", "\\cdot") or b in (".", ",", "\\cdot"):
        return "D:dot/comma"
    if "\\prime" in a or "\\prime" in b:
        return "D:prime"
    return "D:other-sub"


def error_kinds(truth: list[str], read: list[str], n_strokes: int) -> set[str]:
    """The kinds (module docstring) of a reading: *truth* and *read* normalised token lists; empty when
    they are equal."""
    if truth == read:
        return set()
    kinds: list[str] = []
    if n_strokes >= 40:
        kinds.append("A:40+strokes")
    elif skeleton(truth) != skeleton(read):
        kinds += _structure_kinds(truth, read)
    else:
        kinds.append("D:symbols-only")
        ops = difflib.SequenceMatcher(a=truth, b=read, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in ops:
            if tag != "equal":
                kinds.append(_substitution_kind(" ".join(truth[i1:i2]), " ".join(read[j1:j2])))
    text = " ".join(truth)
    if any(f in truth for f in FUNCTIONS):
        kinds.append("X:has-func")
    if re.search(r"\d \. \d", text):
        kinds.append("X:has-decimal")
    if "\\prime" in truth:
        kinds.append("X:has-prime")
    return set(kinds)


def tally(rows: list[dict], normalize) -> tuple[collections.Counter, dict[str, list]]:
    """(count per kind, examples per kind as (strokes, truth, reading)) of ``benchmarks.recognition --out``
    rows (``truth``, ``pred``, ``n_strokes``); *normalize*: ocr_eval's ``normalize``."""
    counts: collections.Counter = collections.Counter()
    examples: dict[str, list] = collections.defaultdict(list)
    for r in rows:
        g, p = normalize(r["truth"]), normalize(r["pred"])
        for k in error_kinds(g, p, int(r["n_strokes"])):
            counts[k] += 1
            examples[k].append((r["n_strokes"], " ".join(g), " ".join(p)))
    return counts, examples


def rewrite_rows(rows: list[dict], rewrite=None) -> list[dict]:
    """*rows* (``benchmarks.recognition --out`` rows) with *rewrite* (default: the engine's
    ``symbol_context.rewrite_reading``) applied to each ``pred``; the rows are copied, not changed."""
    if rewrite is None:
        from whiteboard_app.recognition.symbol_context import rewrite_reading as rewrite
    return [{**r, "pred": rewrite(r.get("pred") or "")} for r in rows]


def write_heldout(out: Path, train: Path = TRAIN, fraction: float = 0.1, seed: int = 0) -> int:
    """Write the rows of *train* whose writer is in ``writer_split``'s validation part to *out*; returns
    their number. Raises FileNotFoundError when *train* is missing."""
    from whiteboard_app.recognition.training.data import raw_writer, row_to_expression, writer_split

    rows = []
    with gzip.open(train, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    exprs = [row_to_expression(r) for r in rows]
    _train, val = writer_split(exprs, fraction, seed)
    keep = {e.id for e in val}
    n = 0
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            if r["id"] in keep and raw_writer(r) is not None:
                f.write(json.dumps(r) + "\n")
                n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0 (2 when the shared data is missing)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("heldout", help="write the held-out training writers' expressions")
    h.add_argument("out", type=Path)
    t = sub.add_parser("tally", help="count the wrong readings of a benchmarks.recognition --out file")
    t.add_argument("results", type=Path)
    t.add_argument("--show", default="", help="kinds whose examples to print, comma-separated")
    w = sub.add_parser(
        "rewrite", help="apply the engine's rules on the parsed LaTeX to a --out file's readings"
    )
    w.add_argument("results", type=Path)
    w.add_argument("out", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "rewrite":
        rows = [json.loads(line) for line in open(args.results, encoding="utf-8") if line.strip()]
        with open(args.out, "w", encoding="utf-8") as f:
            for r in rewrite_rows(rows):
                f.write(json.dumps(r) + "\n")
        print(f"{len(rows)} readings -> {args.out}")
        return 0
    if args.cmd == "heldout":
        if not TRAIN.exists():
            print(f"benchmarks.open_errors: needs {TRAIN}", file=sys.stderr)
            return 2
        print(f"{write_heldout(args.out)} expressions -> {args.out}")
        return 0
    ev = load_ocr_eval()
    rows = [json.loads(line) for line in open(args.results, encoding="utf-8") if line.strip()]
    counts, examples = tally(rows, ev.normalize)
    wrong = sum(1 for r in rows if ev.normalize(r["truth"]) != ev.normalize(r["pred"]))
    print(f"{len(rows)} readings, {len(rows) - wrong} exact, {wrong} wrong")
    for k in sorted(counts):
        print(f"  {k:30s} {counts[k]}")
    for k in [k for k in args.show.split(",") if k]:
        print(f"== {k}")
        for n, g, r in examples.get(k, []):
            print(f"  {n:3d} | {g}  =>  {r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
