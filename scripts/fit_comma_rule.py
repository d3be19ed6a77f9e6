"""Fit the comma-or-1 model of recognition/decimals.py (``COMMA_WEIGHTS``) on the training ink.

Data: ../shared/handwriting/train.jsonl.gz, the training split's writers (the writer-disjoint split of the
training commands, seed 0: the held-out writers are left for measuring; dev.jsonl is never read). Every
ground-truth comma or 1 that :func:`~whiteboard_app.recognition.decimals.comma_features` takes as a
candidate (a low mark between two symbols of a line) is classified by the shipped classifier alone, as
the engine classifies a group, and a logistic regression (Newton's method, L2 weight 1 on the slopes)
is fitted to "it is a comma" over its features. Prints the weights (paste them into ``COMMA_WEIGHTS``)
and the candidates' counts; with ``--check`` also the held-out writers' candidates read by the model
at each threshold.

Usage (about 3 minutes on the shared 2-core machine, one torch thread)::

    nice -n 10 env OMP_NUM_THREADS=1 python scripts/fit_comma_rule.py --data ../shared/handwriting/train.jsonl.gz --check
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float


@dataclass
class _Sym:
    name: str
    bbox: _Box
    confidence: float
    alternatives: list


def candidates(exprs, classifier) -> list[tuple[bool, dict[str, float]]]:
    """(is a comma, features) of every candidate mark of *exprs* (training Expressions), each mark's
    ground-truth strokes read by *classifier* alone (boxes and classification as in the engine)."""
    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.decimals import COMMA_MARKS, comma_features
    from whiteboard_app.recognition.training.data import normalise_strokes

    out = []
    for e in exprs:
        if not any(name in COMMA_MARKS for name, _ids in e.symbols):
            continue
        ms = mc.to_strokes(normalise_strokes(e.strokes))
        syms = []
        for name, ids in e.symbols:
            st = [ms[i] for i in ids]
            x0, y0 = min(s.bbox.x for s in st), min(s.bbox.y for s in st)
            x1, y1 = max(s.bbox.x + s.bbox.w for s in st), max(s.bbox.y + s.bbox.h for s in st)
            syms.append(_Sym(name, _Box(x0, y0, x1 - x0, y1 - y0), 1.0, []))
        truth = [s.name for s in syms]
        cand = [
            k for k, s in enumerate(syms) if s.name in COMMA_MARKS and comma_features(syms, k) is not None
        ]
        if not cand:
            continue
        groups = [frozenset(e.symbols[k][1]) for k in cand]
        cache = mc.grouper_cache()
        with mc.raw_names():
            mc.classify_groups(ms, groups, classifier, cache=cache, source_size=mc.autocanvas(ms, 800))
        for k, g in zip(cand, groups, strict=True):
            r = cache.get(g)
            if r is not None:
                alts = [(r.symbol, float(r.confidence))]
                alts += [(n, float(c)) for n, c in (r.alternatives or []) if n != r.symbol]
                syms[k] = _Sym(r.symbol, syms[k].bbox, float(r.confidence), alts)
        for k in cand:
            f = comma_features(syms, k)
            if f is not None:
                out.append((truth[k] == ",", f))
    return out


def fit(rows: list[tuple[bool, dict[str, float]]], l2: float = 1.0) -> dict[str, float]:
    """Logistic regression weights (feature -> weight, intercept under "") by Newton's method."""
    import numpy as np

    names = sorted(rows[0][1])
    x = np.array([[f[n] for n in names] for _y, f in rows])
    y = np.array([float(t) for t, _f in rows])
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    reg = l2 * np.diag(np.r_[np.ones(len(names)), 0.0])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        w -= np.linalg.solve((a.T * (p * (1 - p))) @ a + reg, a.T @ (p - y) + reg @ w)
    return {**{n: round(float(v), 3) for n, v in zip(names, w[:-1], strict=True)}, "": round(float(w[-1]), 3)}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns 0."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/handwriting/train.jsonl.gz")
    p.add_argument("--check", action="store_true", help="also read the held-out writers' candidates")
    args = p.parse_args(argv)
    from whiteboard_app.recognition.decimals import comma_probability
    from whiteboard_app.recognition.trained import TrainedRecognizer
    from whiteboard_app.recognition.training.data import load_expressions, writer_split

    train, val = writer_split(load_expressions(args.data), 0.1, 0)
    classifier = TrainedRecognizer()._load().classifier
    rows = candidates(train, classifier)
    print(f"{len(rows)} candidates, {sum(t for t, _f in rows)} commas", file=sys.stderr)
    weights = fit(rows)
    print(json.dumps(weights, indent=1))
    if args.check:
        import whiteboard_app.recognition.decimals as dec

        dec.COMMA_WEIGHTS = weights
        held = candidates(val, classifier)
        for th in (0.5, 0.6, 0.7):
            got = [(t, comma_probability(f) > th) for t, f in held]
            print(
                f"threshold {th}: held-out commas {sum(t and c for t, c in got)} of {sum(t for t, _c in got)}, "
                f"ones taken for commas {sum(c and not t for t, c in got)} of {sum(not t for t, _c in got)}",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
