"""Calibrate the card-context verifier's evidence thresholds on real layouts of the training ink.

Data: the calibration split of ../shared/handwriting/train.jsonl.gz (the writers of the training command's
writer-disjoint validation split, seed 0, 10 %: the recogniser's weights never saw their ink; see
``benchmarks.context_real.calibration_rows``). dev.jsonl is never read here.

Step 1 (``features``): each expression is read by the engine (open reading; the benchmark's cache is used
when present), its context is built as benchmarks/context_real.py builds it (the truth plus about 8 near
misses in the writer's notation), and every form is fitted to the ink with
:func:`whiteboard_app.recognition.form_match.match_forms` (all forms regrouped). The fits (with their
per-glyph evidence) are stored in a pickle.

Step 2 (``fit``): the rule of :func:`~whiteboard_app.recognition.form_match.verified_form` is simulated on
the stored fits for a grid of thresholds, with the truth present (condition A: the truth should be taken)
and absent (condition B: every form taken is a wrong one), and the thresholds that take the truth most
often while B takes a wrong form in at most ``--max-wrong`` of the expressions (and A a wrong form no more
often), and that replace at most ``--max-turned`` of the correct open readings in B, are written to
``whiteboard_app/recognition/weights/evidence.json``.

Usage::

    python scripts/calibrate_evidence.py features --limit 400 --seed 1 --out runs/context_real/cal-features.pkl
    python scripts/calibrate_evidence.py open --limit 400 --seed 1   # adds the open readings' own fits
    python scripts/calibrate_evidence.py fit [--max-wrong 0.05] [--max-turned 0.01]
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import random
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.context_real import CACHE_DIR, calibration_rows, near_misses, read, step_ink  # noqa: E402
from benchmarks.recognition import _alarm, load_ocr_eval  # noqa: E402

EVIDENCE_JSON = ROOT / "whiteboard_app" / "recognition" / "weights" / "evidence.json"


def features(args) -> None:
    import torch

    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.form_match import match_forms, warm_up
    from whiteboard_app.recognition.trained import TrainedRecognizer

    torch.set_num_threads(1)
    signal.signal(signal.SIGPROF, _alarm)
    ev = load_ocr_eval()
    rows = calibration_rows(args.limit, args.seed)
    cache_path = CACHE_DIR / "calibration-open.pkl"
    cache = pickle.load(open(cache_path, "rb")) if cache_path.exists() else {}
    rec = TrainedRecognizer()
    rec.load()
    out = []
    t0 = time.perf_counter()
    for n, row in enumerate(rows, 1):
        truth = row["latex"]
        tn = tuple(ev.normalize(truth))
        nms = near_misses(truth, random.Random(f"{args.seed}:{row['id']}"), normalize=ev.normalize)
        ink = step_ink(row)
        r = cache.get(row["id"])
        if r is None:
            r, _ms = read(rec, ink, None, 3.0)
            cache[row["id"]] = r
        ctx = RecognitionContext(((truth, "reference"),) + tuple((lat, "near_miss") for lat, _k in nms))
        warm_up(ctx)
        kinds = {tuple(ev.normalize(lat)): k for lat, k in nms}
        try:
            fms = (
                match_forms(ink, r.symbols, ctx, rec.classify_groups, regroup_top=len(ctx.expected))
                if r.symbols
                else []
            )
        except Exception as exc:  # noqa: BLE001 - a failed reading counts as no match, reported
            print(f"{row['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            fms = []
        out.append(
            {
                "id": row["id"],
                "n_strokes": len(ink.strokes),
                "truth": truth,
                "open_ok": tuple(ev.normalize(r.best or "")) == tn,
                "open_is_form": kinds.get(tuple(ev.normalize(r.best or ""))),
                "forms": [
                    (fm, tuple(ev.normalize(fm.latex)) == tn, kinds.get(tuple(ev.normalize(fm.latex))))
                    for fm in fms
                ],
            }
        )
        if n % 25 == 0:
            print(f"{n}/{len(rows)} {time.perf_counter() - t0:.0f}s", flush=True)
            pickle.dump(out, open(args.out, "wb"))
    pickle.dump(out, open(args.out, "wb"))
    pickle.dump(cache, open(cache_path, "wb"))


def open_fits(args) -> None:
    """Add to stored fits the fit of the engine's own open reading (its ``open_fm``, None when it cannot
    be typeset or nothing was read)."""
    import torch

    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.form_match import match_forms
    from whiteboard_app.recognition.trained import TrainedRecognizer

    torch.set_num_threads(1)
    data = pickle.load(open(args.features, "rb"))
    rows = {r["id"]: r for r in calibration_rows(args.limit, args.seed)}
    cache = pickle.load(open(CACHE_DIR / "calibration-open.pkl", "rb"))
    rec = TrainedRecognizer()
    rec.load()
    for n, x in enumerate(data, 1):
        r = cache.get(x["id"])
        x["open_fm"] = None
        if r is None or not r.best or not r.symbols:
            continue
        try:
            fms = match_forms(
                step_ink(rows[x["id"]]),
                r.symbols,
                RecognitionContext(((r.best, "open"),)),
                rec.classify_groups,
            )
        except Exception as exc:  # noqa: BLE001 - a failed reading counts as no match, reported
            print(f"{x['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            fms = []
        x["open_fm"] = fms[0] if fms else None
        if n % 50 == 0:
            print(n, flush=True)
    pickle.dump(data, open(args.features, "wb"))


def simulate(data, params: dict) -> dict:
    """Figures of the rule with ``params`` on stored fits: A (truth present) exact / wrong, B wrong."""
    from whiteboard_app.recognition.form_match import verified_form
    from whiteboard_app.recognition.tokens import normalize_tokens

    a_ok = a_wrong = b_wrong = a_kept = b_turned = b_became = 0
    for x in data:
        fms = [fm for fm, _t, _k in x["forms"]]
        truth_of = {id(fm): t for fm, t, _k in x["forms"]}
        own = x.get("open_fm")
        fa = verified_form(fms, evidence=params, open_fit=own) if fms else None
        fb = (
            verified_form([fm for fm in fms if not truth_of[id(fm)]], evidence=params, open_fit=own)
            if fms
            else None
        )
        if fa is not None:
            a_ok += truth_of[id(fa)]
            a_wrong += not truth_of[id(fa)]
        else:
            a_kept += x["open_ok"]
        if fb is not None:
            b_wrong += 1
            b_became += own is None or normalize_tokens(own.latex) != normalize_tokens(fb.latex)
            b_turned += x["open_ok"]
    n = max(1, len(data))
    return {
        "A_exact": round(100 * (a_ok + a_kept) / n, 1),
        "A_truth_taken": round(100 * a_ok / n, 1),
        "A_wrong": round(100 * a_wrong / n, 1),
        "B_wrong": round(100 * b_wrong / n, 1),
        "B_became": round(100 * b_became / n, 1),
        "B_turned": b_turned,
        "open_ok": sum(x["open_ok"] for x in data),
        "n": len(data),
    }


GRID = {
    "deficit": [1.5, 2.0, 2.5, 3.0, 4.0, 99.0],
    "total_deficit": [4.0, 6.0, 99.0],
    "script": [-99.0, -0.5, -0.3, 0.0, 0.2],
    "filter": [0, 1],
    "open_margin": [-99.0, -2.0, -1.0, -0.5, 0.0, 1.0, 2.0],
}


#: Second stage (:func:`fit`): searched with the first stage's choice fixed. ``margin``: the verifier's
#: margin over the next form (verified_form's, 2.0 before); ``case_size``: the written size of the letters
#: whose case is only their size (form_match.SAME_SHAPE_CASE; 99: not weighed).
GRID2 = {
    "margin": [1.0, 1.5, 2.0, 2.5, 3.0],
    "case_size": [99.0, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2],
}


def _search(data, grid: dict, fixed: dict, base: dict, args, best=None):
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        params = {**fixed, **dict(zip(keys, values, strict=True))}
        s = simulate(data, params)
        ok = (
            s["B_wrong"] <= 100 * args.max_wrong
            and s["A_wrong"] <= base["A_wrong"]
            and s["B_turned"] <= args.max_turned * s["open_ok"]
        )
        key = (ok, s["A_exact"], -s["B_wrong"])
        if best is None or key > best[0]:
            best = (key, params, s)
    return best


def fit(args) -> None:
    data = pickle.load(open(args.features, "rb"))
    base = simulate(data, {"off": True})
    print("no evidence rule:", base)
    if args.first:  # the first stage's choice of an earlier run (printed as "first stage:")
        fixed = json.loads(args.first)
        best = _search(data, {k: [v] for k, v in fixed.items()}, {}, base, args)
    else:
        best = _search(data, GRID, {}, base, args)
    print("first stage:", best[1], best[2])
    best = _search(data, GRID2, best[1], base, args, best)
    print("chosen:", best[1], best[2])
    if not args.dry_run:
        EVIDENCE_JSON.write_text(
            json.dumps(
                {
                    "thresholds": best[1],
                    "calibration": best[2],
                    "no_rule": base,
                    "data": "calibration split of train.jsonl.gz (validation writers, seed 0, 10 %), "
                    f"{len(data)} expressions, near misses as benchmarks/context_real.py",
                    "max_wrong": args.max_wrong,
                    "max_turned": args.max_turned,
                },
                indent=1,
            )
            + "\n"
        )
        print("wrote", EVIDENCE_JSON)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--limit", type=int, default=400)
    f.add_argument("--seed", type=int, default=1)
    f.add_argument("--out", default=str(CACHE_DIR / "cal-features.pkl"))
    o = sub.add_parser("open")
    o.add_argument("--limit", type=int, default=400)
    o.add_argument("--seed", type=int, default=1)
    o.add_argument("--features", default=str(CACHE_DIR / "cal-features.pkl"))
    g = sub.add_parser("fit")
    g.add_argument("--features", default=str(CACHE_DIR / "cal-features.pkl"))
    g.add_argument(
        "--max-wrong",
        type=float,
        default=0.05,
        help="share of B expressions read as a wrong form (the issue's floor, 0.02, was not reached "
        "on the calibration split without taking the truth less often than with no rule)",
    )
    g.add_argument(
        "--max-turned",
        type=float,
        default=0.0,
        help="share of the correct open readings a wrong form may replace in B (default 0: never)",
    )
    g.add_argument("--dry-run", action="store_true")
    g.add_argument("--first", help="skip the first stage: its chosen thresholds (JSON) from an earlier run")
    args = ap.parse_args(argv)
    {"features": features, "open": open_fits, "fit": fit}[args.cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
