"""A letter-case model from the written size among the neighbours, fitted on training ink (issue 13 item 2).

Measured against today's case evidence (form_match.favour: the classifier and the size model) by
scripts/relation_separation.py on the calibration split: it separates same-shape case pairs far worse
(docs/recogniser.md, "Script level from the layout relation model"), so the app does not use it; the model
is written to ``runs/case_model.json`` for that measurement only.

Data: the training split of ../shared/handwriting/train.jsonl.gz without the calibration writers (the
writers of the training command's validation split, seed 0, 10 %; benchmarks.context_real.calibration_rows
takes those) and never dev. Every symbol labelled with a letter of :data:`CASE_LETTERS``` (c o s
u v w x z and their capitals, whose case is only their size) gives one example: its
:func:`case_features` from the ground-truth stroke groups'
boxes, and whether it is a capital. A logistic regression (standardised features, one intercept per
letter, a small L2 penalty, Newton's method in numpy) gives the log-odds of the capital.

Usage (about a minute on the shared machine)::

    nice -n 10 python scripts/fit_case_model.py --limit 0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Where the model is written and read (a measurement's file, not shipped: the case rule was not taken).
MODEL_PATH = ROOT / "runs" / "case_model.json"

# ── letter case from the written size among the neighbours (a small model fitted on training ink) ─────────
#: Letters whose capital is the small letter drawn larger (form_match.SAME_SHAPE_CASE): their case shows
#: only in the written size and position among the neighbours.
CASE_LETTERS = frozenset("cosuvwxzCOSUVWXZ")
#: Neighbours a letter's size is weighed against: the nearest symbols by horizontal centre distance.
CASE_NEIGHBOURS = 4
#: Names of :func:`case_features`' values, in order (the model file's ``features``).
CASE_FEATURES = ("ln_h_scale", "ln_h_neigh", "top_neigh", "bottom_neigh")
_CASE_MODEL: dict | None = None


def case_features(
    box: tuple[float, float, float, float], others: Sequence[tuple[float, float, float, float]]
) -> tuple[float, float, float, float]:
    """A letter's written size and position among its neighbours, from ink boxes (x, y, w, h; any one unit,
    y downwards): ``ln`` of its height over the writing scale (the median height of the expression's
    symbols that are not flat, height > 0.3 width, the letter's own box included), ``ln`` of its height
    over the median height of its :data:`CASE_NEIGHBOURS` nearest non-flat neighbours (by horizontal
    centre distance), and its top and bottom edges against those neighbours' median top and bottom, over
    the writing scale (a capital's top reaches a digit's, a small letter's does not). Without non-flat
    neighbours the last three are 0."""
    import statistics

    tall = [b for b in others if b[3] > 0.3 * b[2] and b[3] > 0]
    scale = statistics.median([b[3] for b in [*tall, box] if b[3] > 0] or [1.0])
    scale = max(scale, 1e-6)
    h = max(box[3], 1e-6)
    cx = box[0] + box[2] / 2
    near = sorted(tall, key=lambda b: abs(b[0] + b[2] / 2 - cx))[:CASE_NEIGHBOURS]
    if not near:
        return (math.log(h / scale), 0.0, 0.0, 0.0)
    nh = statistics.median([b[3] for b in near])
    ntop = statistics.median([b[1] for b in near])
    nbot = statistics.median([b[1] + b[3] for b in near])
    return (
        math.log(h / scale),
        math.log(h / max(nh, 1e-6)),
        (box[1] - ntop) / scale,
        (box[1] + box[3] - nbot) / scale,
    )


def case_model() -> dict | None:
    """The model file :data:`MODEL_PATH` (written by :func:`main` from the training split's
    writers, never the calibration writers nor dev): a logistic model of the capital against the small
    letter, ``{"coef": [4 floats], "intercept": {"all": float}, "prior": float, "mean": [4], "scale":
    [4]}`` (``prior``: the log-odds of a capital in those data); None when the file is missing or
    unreadable."""
    global _CASE_MODEL
    if _CASE_MODEL is None:
        try:
            path = Path(MODEL_PATH)
            raw = json.loads(path.read_text(encoding="utf-8"))
            _CASE_MODEL = {
                "coef": [float(v) for v in raw["coef"]],
                "intercept": {str(k): float(v) for k, v in raw["intercept"].items()},
                "prior": float(raw["prior"]),
                "mean": [float(v) for v in raw["mean"]],
                "scale": [float(v) for v in raw["scale"]],
            }
        except (OSError, ValueError, KeyError, TypeError):
            _CASE_MODEL = {}
    return _CASE_MODEL or None


def case_llr(
    token: str,
    box: tuple[float, float, float, float],
    others: Sequence[tuple[float, float, float, float]],
) -> float | None:
    """The ink's evidence, in nats, for ``token``'s case against the other case of the same letter, from
    its size and position among its neighbours (:func:`case_features`, the logistic :func:`case_model`:
    its log-odds of the capital less the log-odds of a capital in its training data: a likelihood ratio,
    not how often CROHME's writers wrote capitals); positive: the ink favours ``token``. None for a token
    outside :data:`CASE_LETTERS` or without a model."""
    if token not in CASE_LETTERS:
        return None
    model = case_model()
    if model is None:
        return None
    f = case_features(box, others)
    z = (
        model["intercept"].get("all", 0.0)
        - model["prior"]
        + sum(
            c * (v - m) / s
            for c, v, m, s in zip(model["coef"], f, model["mean"], model["scale"], strict=True)
        )
    )
    return z if token.isupper() else -z


def examples(limit: int) -> tuple[list, list, list]:
    """(features, letter, is capital) per same-shape letter of the training split (see the module doc)."""
    from benchmarks.context_real import TRAIN
    from whiteboard_app.recognition.training.data import iter_rows, raw_writer

    xs, letters, ys = [], [], []
    n = 0
    for row in iter_rows(TRAIN):
        w = raw_writer(row)
        if w is not None and hashlib.sha256(f"0:{w}".encode()).digest()[0] / 256.0 < 0.1:
            continue  # a calibration writer
        strokes = row["strokes"]
        boxes, labels = [], []
        for sym in row.get("symbols") or ():
            pts = [p for k in sym["strokes"] if 0 <= k < len(strokes) for p in strokes[k]]
            if not pts:
                continue
            px, py = [p[0] for p in pts], [p[1] for p in pts]
            boxes.append((min(px), min(py), max(px) - min(px), max(py) - min(py)))
            labels.append(sym["label"])
        if not any(lab in CASE_LETTERS for lab in labels):
            continue
        n += 1
        for k, lab in enumerate(labels):
            if lab in CASE_LETTERS:
                xs.append(case_features(boxes[k], boxes[:k] + boxes[k + 1 :]))
                letters.append(lab.lower())
                ys.append(1.0 if lab.isupper() else 0.0)
        if limit and n >= limit:
            break
    return xs, letters, ys


def fit(xs, letters, ys, l2: float = 1.0, iters: int = 25) -> dict:
    """Logistic regression by Newton's method on the letters written in both cases in the data:
    standardised features and one intercept; ``prior``: the log-odds of a capital among those letters
    (what :func:`case_llr` takes off: the ink's evidence,
    not how often CROHME's writers wrote capitals)."""
    import math

    import numpy as np

    both = {lt for lt in letters if any(a == lt and y == 1.0 for a, y in zip(letters, ys, strict=True))}
    both &= {lt for lt in letters if any(a == lt and y == 0.0 for a, y in zip(letters, ys, strict=True))}
    keep = [k for k, lt in enumerate(letters) if lt in both]
    x = np.asarray([xs[k] for k in keep], float)
    mean, sd = x.mean(0), x.std(0) + 1e-9
    z = (x - mean) / sd
    names = ["all"]
    a = np.hstack([z, np.ones((len(keep), 1))])
    y = np.asarray([ys[k] for k in keep], float)
    beta = np.zeros(a.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-a @ beta))
        g = a.T @ (p - y) + l2 * beta
        hess = (a * (p * (1 - p))[:, None]).T @ a + l2 * np.eye(a.shape[1])
        beta -= np.linalg.solve(hess, g)
    k = z.shape[1]
    return {
        "coef": [round(float(v), 5) for v in beta[:k]],
        "intercept": {nm: round(float(v), 5) for nm, v in zip(names, beta[k:], strict=True)},
        "prior": round(math.log(float(y.sum()) / float(len(y) - y.sum())), 5),
        "letters": sorted(both),
        "mean": [round(float(v), 5) for v in mean],
        "scale": [round(float(v), 5) for v in sd],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="expressions with such a letter (0: all)")
    ap.add_argument("--dry-run", action="store_true", help="print, do not write the model file")
    args = ap.parse_args(argv)
    xs, letters, ys = examples(args.limit)
    model = fit(xs, letters, ys)
    counts = {
        lt: [sum(1 for a, y in zip(letters, ys, strict=True) if a == lt and y == c) for c in (0.0, 1.0)]
        for lt in sorted(set(letters))
    }
    model.update(
        {
            "features": list(CASE_FEATURES),
            "counts": {lt: {"small": c[0], "capital": c[1]} for lt, c in counts.items()},
            "data": f"training split of train.jsonl.gz (not the calibration writers), {len(ys)} letters",
            "command": f"python scripts/fit_case_model.py --limit {args.limit}",
        }
    )
    print(json.dumps(model, indent=1))
    if not args.dry_run:
        MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
        MODEL_PATH.write_text(json.dumps(model, indent=1) + "\n")
        print("wrote", MODEL_PATH)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
