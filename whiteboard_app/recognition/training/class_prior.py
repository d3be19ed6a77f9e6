"""Fit the symbol classifier's per-class logit prior (``weights/class_prior.json``; issue 14).

The correction (recognition/class_prior.py) adds an offset ``b_c`` to the logit of each *added* class
(``symbol_synth.ADDED_CLASSES``: ∂ ∇ η κ ... K Z; the old classes keep 0). It is fitted on the TRAINING
writers only (the writer split of the training command, seed 0; the held-out writers that
benchmarks/added_symbols.py reads are never used):

* the real symbols of the training writers (the old classes, as the training ink has them), and
* made samples of every added class from the training writers' ink, drawn by the current recipes with
  another seed than the training's (``--per-class`` a class; ``HARD_REAL_SHARE`` of the look-alike
  classes as transforms of real glyphs, as in training).

Criterion (:func:`fit_prior`): maximise the *capped balanced accuracy* of the added classes,
``sum_c min(acc_c, cap)`` over the made samples (each added class counts alike: the issue's floor is per
class), while the real symbols' error may rise by at most ``budget`` (a share; default 0.001 = 0.1
point) over the classifier's own. A greedy coordinate search: each round takes the single ``+step``
change of one class offset with the most gain per unit of added real error (a change that loses no gain
and lowers the real error first; never one that loses gain), until no change fits the budget; offsets
stay within [0, ``bound``] (``--both-ways``: within +-``bound``; made skeletons are easier to read than
real hands, so a class is not made less likely on the made ink's evidence: measured in
docs/benchmarks.md, "Added classes: per-class logit prior").

The log-likelihood fit under the class frequencies of the card steps (Menon et al. 2021's logit
adjustment, fitted) was measured first and *lowers* the added classes' offsets (card steps have 6.8 %
added-class symbols, the training mix ~20 %): docs/benchmarks.md, "Added classes: per-class logit prior".

Usage (reproduces the shipped file; docs/recogniser.md, Training)::

    python -m whiteboard_app.recognition.training.class_prior --data ../shared/handwriting/train.jsonl.gz \\
        --classifier whiteboard_app/recognition/weights/classifier.pth \\
        --out whiteboard_app/recognition/weights/class_prior.json
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

#: Defaults of the shipped fit.
BUDGET = 0.001
CAP = 0.95
STEP = 0.5
BOUND = 4.0
PER_CLASS = 150
SEED = 4242


class _TopTwo:
    """The best and second-best class of every row of ``logits + b`` (N, C), to tell quickly which
    predictions one changed offset moves."""

    def __init__(self, logits: np.ndarray) -> None:
        self.z = np.asarray(logits, dtype=np.float32)

    def set(self, b: np.ndarray) -> None:
        a = self.z + b
        top = np.argpartition(-a, 1, axis=1)[:, :2]
        r = np.arange(len(a))
        v0, v1 = a[r, top[:, 0]], a[r, top[:, 1]]
        swap = v1 > v0
        self.i1 = np.where(swap, top[:, 1], top[:, 0])
        self.i2 = np.where(swap, top[:, 0], top[:, 1])
        self.m1, self.m2 = np.maximum(v0, v1), np.minimum(v0, v1)
        self.a = a

    def pred(self, c: int, s: float) -> np.ndarray:
        """Top-1 class of every row when class *c*'s offset changes by *s*."""
        ac = self.a[:, c] + s
        return np.where(self.i1 == c, np.where(ac >= self.m2, c, self.i2), np.where(ac > self.m1, c, self.i1))


def fit_prior(
    real_logits: np.ndarray,
    real_labels: np.ndarray,
    made_logits: np.ndarray,
    made_labels: np.ndarray,
    classes: Sequence[int],
    *,
    budget: float = BUDGET,
    cap: float = CAP,
    step: float = STEP,
    bound: float = BOUND,
    lift_only: bool = True,
) -> np.ndarray:
    """Per-class logit offsets (C,) for the classes *classes* (indices; the others stay 0), fitted by the
    greedy search of the module doc. *real_logits* (N, C) / *real_labels* (N,): the real symbols whose
    error may rise by at most *budget* (a share); *made_logits* (M, C) / *made_labels* (M,): samples of
    *classes*, whose per-class accuracy, capped at *cap*, is summed. Raises ValueError for mismatched
    shapes, a class without made samples, or a negative budget. With *lift_only* (the default) an
    offset is never negative: a class the made ink reads easily is not made less likely on that
    evidence (made skeletons are easier than real hands; docs/benchmarks.md, "class_prior")."""
    real_logits, made_logits = np.asarray(real_logits), np.asarray(made_logits)
    real_labels, made_labels = np.asarray(real_labels), np.asarray(made_labels)
    if real_logits.ndim != 2 or made_logits.ndim != 2 or real_logits.shape[1] != made_logits.shape[1]:
        raise ValueError("logits must be (N, C) arrays of one class count")
    if len(real_logits) != len(real_labels) or len(made_logits) != len(made_labels):
        raise ValueError("one label per row of logits")
    if budget < 0 or step <= 0 or bound <= 0:
        raise ValueError("budget must be >= 0, step and bound > 0")
    n_cls = real_logits.shape[1]
    masks = {c: made_labels == c for c in classes}
    if not all(m.any() for m in masks.values()):
        raise ValueError("every fitted class needs made samples")
    real, made = _TopTwo(real_logits), _TopTwo(made_logits)
    b = np.zeros(n_cls, dtype=np.float32)
    real.set(b)
    made.set(b)

    def score(c: int, s: float) -> tuple[float, float]:
        pm = made.pred(c, s)
        gain = sum(min(float((pm[m] == k).mean()), cap) for k, m in masks.items())
        return gain, float((real.pred(c, s) != real_labels).mean())

    cur, err = score(classes[0], 0.0)
    err0 = err
    while True:
        best = None
        for c in classes:
            for s in (step,) if lift_only else (step, -step):
                if abs(b[c] + s) > bound + 1e-9:
                    continue
                g, e = score(c, s)
                gain, cost = g - cur, e - err
                if e - err0 > budget + 1e-12 or gain < -1e-9 or (gain <= 1e-9 and cost >= 0):
                    continue
                ratio = gain / cost if cost > 0 else 1e9 + gain - cost
                if best is None or ratio > best[0]:
                    best = (ratio, c, s, g, e)
        if best is None:
            return b
        _r, c, s, cur, err = best
        b[c] += s
        real.set(b)
        made.set(b)


def classifier_logits(model, exprs, items, canvas_size: int, batch: int = 512) -> np.ndarray:
    """The classifier's logits (N, C) for *items* ((expression index, stroke indices, _)) of *exprs*,
    drawn as the engine draws them (``classifier.render_items``)."""
    import torch

    from whiteboard_app.recognition.training.classifier import _to_tensor, render_items

    imgs, sizes = render_items(exprs, items, canvas_size)
    out = []
    model.eval()
    with torch.no_grad():
        for i in range(0, len(items), batch):
            logits, _f = model(_to_tensor(imgs[i : i + batch]), torch.from_numpy(sizes[i : i + batch]))
            out.append(logits.numpy())
    return np.concatenate(out) if out else np.zeros((0, model.fc2.out_features), np.float32)


def main(argv: list[str] | None = None) -> int:
    """Fit and write the prior; returns 0, or 2 with a message for missing files."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="training JSON lines (train.jsonl.gz)")
    ap.add_argument("--classifier", required=True, help="the classifier.pth to fit the prior for")
    ap.add_argument("--out", required=True, help="class_prior.json to write")
    ap.add_argument("--budget", type=float, default=BUDGET, help="real error rise allowed (share)")
    ap.add_argument("--cap", type=float, default=CAP)
    ap.add_argument("--step", type=float, default=STEP)
    ap.add_argument("--bound", type=float, default=BOUND)
    ap.add_argument(
        "--both-ways", action="store_true", help="offsets may also be negative (default: lift only)"
    )
    ap.add_argument("--per-class", type=int, default=PER_CLASS, help="made samples of each added class")
    ap.add_argument("--seed", type=int, default=SEED, help="the made samples' seed (training: 0)")
    args = ap.parse_args(argv)
    for p in (args.data, args.classifier):
        if not Path(p).exists():
            print(f"class_prior: {p} is missing", file=sys.stderr)
            return 2
    import torch

    from whiteboard_app.recognition.class_prior import file_sha256, write_class_prior
    from whiteboard_app.recognition.training.classifier import load_base, symbol_items
    from whiteboard_app.recognition.training.data import load_expressions, mark_fraction_bars, writer_split
    from whiteboard_app.recognition.training.symbol_synth import (
        ADDED_CLASSES,
        HARD_CLASSES,
        HARD_REAL_SHARE,
        build_pool,
        make_samples,
    )

    torch.set_num_threads(1)
    t0 = time.time()
    exprs = load_expressions(args.data)
    for e in exprs:
        mark_fraction_bars(e)
    train, _val = writer_split(exprs, 0.1, 0)
    model, ck = load_base(args.classifier)
    names = list(ck["label_names"])
    index = {n: i for i, n in enumerate(names)}
    canvas = ck.get("canvas_size", 32)
    pool = build_pool(train)
    easy = [c for c in ADDED_CLASSES if c not in HARD_CLASSES]
    hard = [c for c in ADDED_CLASSES if c in HARD_CLASSES]
    made = make_samples(train, easy, args.per_class, args.seed, pool=pool)
    made += make_samples(train, hard, args.per_class, args.seed + 1, pool=pool, real_share=HARD_REAL_SHARE)
    m_items = [(k, m.strokes, index[m.cls]) for k, m in enumerate(made)]
    m_logits = classifier_logits(model, [m.expr for m in made], m_items, canvas)
    r_items = symbol_items(train, index)
    r_logits = classifier_logits(model, train, r_items, canvas)
    classes = [index[c] for c in ADDED_CLASSES]
    b = fit_prior(
        r_logits,
        np.array([c for *_x, c in r_items]),
        m_logits,
        np.array([c for *_x, c in m_items]),
        classes,
        budget=args.budget,
        cap=args.cap,
        step=args.step,
        bound=args.bound,
        lift_only=not args.both_ways,
    )
    meta = {
        "criterion": "capped balanced accuracy of the added classes, real error rise <= budget",
        "budget": args.budget,
        "cap": args.cap,
        "step": args.step,
        "bound": args.bound,
        "lift_only": not args.both_ways,
        "per_class": args.per_class,
        "seed": args.seed,
        "real_symbols": len(r_items),
        "made_symbols": len(m_items),
        "writers": "training split (seed 0, 10 % held out); held-out writers not used",
    }
    write_class_prior(args.out, names, b.tolist(), classifier_sha256=file_sha256(args.classifier), meta=meta)
    print({names[c]: float(b[c]) for c in classes if b[c] != 0}, f"{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
