"""Count the label context table of recognition/label_context.py and choose its settings.

Data: ../shared/handwriting/train.jsonl.gz. ``fit`` counts the training split's writers only (the
writer-disjoint split of the training commands, ``training.data.writer_split`` fraction 0.1, seed 0);
the settings are chosen on the other part, the 648 held-out writers' expressions
(``python -m benchmarks.open_errors heldout HELDOUT.jsonl``). dev.jsonl is never read.

1. ``fit``: writes ``whiteboard_app/recognition/weights/label_context.json`` (counts of each class name
   by the classes of its line neighbours, ``label_context.count_contexts``, and the chosen settings).
2. ``capture HELDOUT.jsonl OUT.pkl``: reads the held-out ink with the engine and keeps, per expression,
   the symbols of its partitions as the engine has them before the neighbour rules (name, box,
   alternatives, stroke indices) beside the ground-truth stroke groups.
3. ``tune OUT.pkl``: the neighbour rules (``symbol_context.in_context``) with the label context rule
   at each setting of a grid, scored on the best partition's symbols whose stroke group is right: labels
   right, and expressions with every such label right.

Usage (one torch thread; ``fit`` about 1 minute, ``capture`` a few minutes)::

    nice -n 10 env OMP_NUM_THREADS=1 python scripts/fit_label_context.py fit
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "handwriting" / "train.jsonl.gz"
OUT = ROOT / "whiteboard_app" / "recognition" / "weights" / "label_context.json"
#: The settings chosen on the held-out writers (``tune``), stored with the counts.
SETTINGS = {
    "weight": 0.5,
    "alpha": 20.0,
    "top_k": 3,
    "min_prob": 0.02,
    "max_top": 0.95,
    "min_count": 20,
    "passes": 1,
}


def fit(train: Path, out: Path) -> dict:
    """Count the training split's writers of *train* and write the document to *out*; returns it."""
    from whiteboard_app.recognition.label_context import count_contexts
    from whiteboard_app.recognition.training.data import load_expressions, writer_split
    from whiteboard_app.recognition.training.structure import truth_symbols

    exprs, _val = writer_split(load_expressions(train), 0.1, 0)
    doc = count_contexts(truth_symbols(e) for e in exprs)
    doc = {
        "source": f"{train.name}: training split's writers ({len(exprs)} expressions), "
        "writer_split(0.1, seed 0); scripts/fit_label_context.py fit",
        "settings": SETTINGS,
        **doc,
    }
    out.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=False) + "\n", encoding="utf-8")
    return doc


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Sym:
    """A captured symbol (what the neighbour rules read of mathnote-ocr's ``DetectedSymbol``)."""

    name: str
    bbox: _Box
    confidence: float
    alternatives: list
    strokes: tuple


def capture(heldout: Path, out: Path) -> None:
    """Read every expression of *heldout* with the engine and pickle the partitions' symbols as the
    neighbour rules receive them, with the truth, to *out*."""
    from benchmarks.recognition import WhiteboardEngine
    from whiteboard_app.recognition import symbol_context
    from whiteboard_app.recognition.training.data import label_to_name

    seen: list = []
    original = symbol_context.in_context

    def spy(symbols):
        seen.append(
            [
                Sym(
                    s.name,
                    _Box(s.bbox.x, s.bbox.y, s.bbox.w, s.bbox.h),
                    float(s.confidence),
                    list(s.alternatives or []),
                    tuple(sorted(getattr(st, "id", -1) for st in s.strokes)),
                )
                for s in symbols
            ]
        )
        return original(symbols)

    symbol_context.in_context = spy
    eng = WhiteboardEngine(top_k=3)
    rows = [json.loads(line) for line in heldout.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = []
    for i, row in enumerate(rows):
        seen.clear()
        try:
            eng.read(row["strokes"])
        except Exception as exc:  # noqa: BLE001 - a failed reading has no partitions
            print(f"{row['id']}: {exc}", file=sys.stderr)
        truth = [(label_to_name(s["label"]), tuple(sorted(s["strokes"]))) for s in row["symbols"]]
        data.append({"id": row["id"], "latex": row["latex"], "truth": truth, "partitions": list(seen)})
        if i % 50 == 0:
            print(f"{i}/{len(rows)}", file=sys.stderr)
    symbol_context.in_context = original
    out.write_bytes(pickle.dumps(data))


def _stroke_ids(sym: Sym, offset: int = 0) -> tuple:
    return tuple(i - offset for i in sym.strokes)


def score(data: list, rule) -> tuple[int, int, int, int]:
    """(labels right, symbols scored, expressions with all scored labels right, expressions) of the best
    partition's symbols whose stroke group matches a ground-truth symbol, after *rule*."""
    right = total = all_right = n = 0
    for d in data:
        if not d["partitions"]:
            continue
        truth = {st: name for name, st in d["truth"] if name is not None}
        syms = rule(d["partitions"][0])
        n += 1
        ok = True
        for s in syms:
            t = truth.get(_stroke_ids(s))
            if t is None:
                continue
            t = "-" if t == "frac_bar" else t
            got = "-" if s.name == "frac_bar" else s.name
            total += 1
            right += got == t
            ok &= got == t
        all_right += ok
    return right, total, all_right, n


def tune(path: Path) -> None:
    """Print :func:`score` of the neighbour rules alone and with the label context rule at each setting."""
    from whiteboard_app.recognition.label_context import load_model, relabel
    from whiteboard_app.recognition.symbol_context import in_context

    data = pickle.loads(path.read_bytes())
    print("base", score(data, in_context))
    grid = itertools.product((0.3, 0.5, 0.7, 1.0), (5.0, 20.0, 100.0), (2, 3, 5), (0.02, 0.1), (0.9, 1.01))
    for w, a, k, mp, mt in grid:
        model = load_model(weight=w, alpha=a, top_k=k, min_prob=mp, max_top=mt)
        before = score(data, lambda s, m=model: in_context(relabel(s, m)))
        after = score(data, lambda s, m=model: relabel(in_context(s), m))
        print(f"w={w} a={a} k={k} min_prob={mp} max_top={mt} before {before} after {after}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--data", type=Path, default=TRAIN)
    f.add_argument("--out", type=Path, default=OUT)
    c = sub.add_parser("capture")
    c.add_argument("heldout", type=Path)
    c.add_argument("out", type=Path)
    t = sub.add_parser("tune")
    t.add_argument("captured", type=Path)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one
    if args.cmd == "fit":
        doc = fit(args.data, args.out)
        print(f"{sum(doc['totals'].values())} symbols, {len(doc['contexts'])} contexts -> {args.out}")
    elif args.cmd == "capture":
        capture(args.heldout, args.out)
    else:
        tune(args.captured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
