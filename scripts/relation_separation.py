"""How well the relation model's script evidence separates true forms from script / case near misses.

Data: the fits of ``scripts/calibrate_evidence.py features`` (the calibration split of train.jsonl.gz: the
training command's validation writers, never dev; each expression's open reading and its context, the
truth plus about 8 near misses in the writer's notation as benchmarks/context_real.py makes them). Every
form of condition A (truth present) is fitted again to the engine's symbols of the open reading
(``form_match.match_forms`` without the regrouping: no engine is loaded), and for each form this prints
or stores: its kind (``truth``, ``script``, ``case`` ... as the near-miss generator named it), whether the
fit leaves anything unexplained, the relation model's :func:`relation_llr`, today's
``evidence_refusal`` (thresholds of weights/evidence.json without ``relation_llr``) and today's case
evidence.

Table: at the relation-llr threshold that keeps at least ``--keep`` of the true forms with script edges,
the share of script-swap near misses refused, against today's rule ("script" alone, and every rule of
``evidence_refusal``), and both together, over all fits and over the fits that explain the ink (nothing
unexplained: the ones the verifier can take).

Usage (about 2 min for 648 expressions on the shared 2-core machine, one torch thread)::

    nice -n 10 env OMP_NUM_THREADS=1 python scripts/relation_separation.py --features FITS.pkl
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def collect(features: str, limit: int = 0) -> list[dict]:
    """One record per (expression, form of condition A) with the evidence values; see the module doc."""
    import torch

    from benchmarks.context_real import calibration_rows, step_ink
    from benchmarks.recognition import load_ocr_eval
    from scripts.fit_case_model import CASE_LETTERS, case_llr
    from whiteboard_app.recognition.form_match import (
        evidence_refusal,
        evidence_thresholds,
        favour,
        ink_symbols,
        match_forms,
    )
    from whiteboard_app.recognition.relation_evidence import relation_llr

    torch.set_num_threads(1)
    ev = load_ocr_eval()
    data = pickle.load(open(features, "rb"))
    if limit:
        data = data[:limit]
    rows = {r["id"]: r for r in calibration_rows(0, 1)}
    t = dict(evidence_thresholds())
    t.pop("relation_llr", None)
    out = []
    t0 = time.perf_counter()
    for n, x in enumerate(data, 1):
        row = rows.get(x["id"])
        r = x["r"]
        if row is None or not r.symbols:
            continue
        ink = step_ink(row)
        fms = match_forms(ink, r.symbols, x["ctx"]["A"])
        syms = ink_symbols(ink, r.symbols)
        stroke_box = {sid: b for s in syms for sid, b in zip(s.stroke_ids, s.stroke_boxes, strict=True)}
        for fm in fms:
            toks = tuple(ev.normalize(fm.latex))
            kind = "truth" if toks == tuple(x["truth"]) else x["kinds"].get(toks, "?")
            t1 = time.perf_counter()
            llr = relation_llr(fm.relation_ink)
            ms = (time.perf_counter() - t1) * 1000
            case_new, case_today = [], []
            for rec in fm.glyph_ink:
                tok, ids = rec[0], set(rec[4])
                if tok not in CASE_LETTERS or not ids or not ids <= set(stroke_box):
                    continue
                bs = [stroke_box[i] for i in ids]
                x0, y0 = min(b[0] for b in bs), min(b[1] for b in bs)
                box = (x0, y0, max(b[0] + b[2] for b in bs) - x0, max(b[1] + b[3] for b in bs) - y0)
                others = [s.box for s in syms if not ids & set(s.stroke_ids)]
                if (v := case_llr(tok, box, others)) is not None:
                    case_new.append(v)
                if (v := favour(rec, tok.swapcase())) is not None:
                    case_today.append(v)
            out.append(
                {
                    "id": x["id"],
                    "kind": kind,
                    "unexplained": fm.unexplained,
                    "llr": llr,
                    "edges": len(fm.relation_ink[2]) if fm.relation_ink else 0,
                    "today": evidence_refusal(fm, t),
                    "today_noscript": evidence_refusal(fm, {**t, "script": -99.0}),
                    "case_new": min(case_new, default=None),
                    "case_today": min(case_today, default=None),
                    "ms": ms,
                    "n_strokes": x["n_strokes"],
                }
            )
        if n % 100 == 0:
            print(f"{n}/{len(data)} {time.perf_counter() - t0:.0f}s", flush=True)
    return out


def cost(features: str, limit: int = 200, max_strokes: int = 20) -> dict:
    """CPU time (``time.process_time``, ms) the relation evidence adds to a step of at most ``max_strokes``
    strokes: the model's cache cleared, :func:`relation_llr` of every form of condition A's context in
    turn (an upper bound: the app asks it of the forms a rule weighs, not all); median and 90th percentile
    over the first ``limit`` such expressions."""
    import statistics

    import torch

    from benchmarks.context_real import calibration_rows, step_ink
    from whiteboard_app.recognition import relation_evidence as rel
    from whiteboard_app.recognition.form_match import match_forms

    torch.set_num_threads(1)
    data = [x for x in pickle.load(open(features, "rb")) if x["n_strokes"] <= max_strokes and x["r"].symbols]
    rows = {r["id"]: r for r in calibration_rows(0, 1)}
    rel.relation_llr(())  # nothing; then load the model once, outside the timing
    rel._model()
    per_step = []
    for x in data[:limit]:
        if x["id"] not in rows:
            continue
        fms = match_forms(step_ink(rows[x["id"]]), x["r"].symbols, x["ctx"]["A"])
        rel._edge_log_probs_cached.cache_clear()
        t0 = time.process_time()
        for fm in fms:
            rel.relation_llr(fm.relation_ink)
        per_step.append((time.process_time() - t0) * 1000)
    per_step.sort()
    return {
        "steps": len(per_step),
        "median_ms": round(statistics.median(per_step), 2),
        "p90_ms": round(per_step[int(0.9 * (len(per_step) - 1))], 2),
    }


def table(recs: list[dict], keep: float) -> list[str]:
    """The separation table (markdown lines) of :func:`collect`'s records."""
    lines = []
    for label, sel in (
        ("all fits", lambda r: True),
        ("fits explaining the ink", lambda r: not r["unexplained"]),
    ):
        truth = [r for r in recs if r["kind"] == "truth" and sel(r)]
        tl = sorted(r["llr"] for r in truth if r["llr"] is not None)
        if not tl:
            continue
        k = int((1.0 - keep) * len(tl))
        thr = tl[k] if k < len(tl) else tl[-1]  # refuse llr < thr: keeps >= keep of the true forms
        lines.append(
            f"**{label}**: {len(truth)} true forms, {len(tl)} with script edges; the relation rule "
            f"refuses llr < {thr:.2f} (keeps {sum(v >= thr for v in tl)} of {len(tl)})"
        )
        lines.append("")
        lines.append(
            "| forms | n | with script edges | refused: today's `script` | today's rules (any) | "
            "relation llr | relation or today's | relation instead of today's `script` |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        for kind in ("truth", "script", "case"):
            rs = [r for r in recs if r["kind"] == kind and sel(r)]
            if not rs:
                continue
            n = len(rs)
            rel = [r["llr"] is not None and r["llr"] < thr for r in rs]
            lines.append(
                f"| {kind} | {n} | {sum(r['llr'] is not None for r in rs)} | "
                f"{100 * sum(r['today'] == 'script' for r in rs) / n:.1f} % | "
                f"{100 * sum(r['today'] is not None for r in rs) / n:.1f} % | "
                f"{100 * sum(rel) / n:.1f} % | "
                f"{100 * sum(a or r['today'] is not None for a, r in zip(rel, rs, strict=True)) / n:.1f} % | "
                + (
                    f"{100 * sum(a or r['today_noscript'] is not None for a, r in zip(rel, rs, strict=True)) / n:.1f} % |"
                    if "today_noscript" in rs[0]
                    else "- |"
                )
            )
        lines.append("")
    return lines


def case_table(recs: list[dict], keep: float) -> list[str]:
    """Letter case: per evidence (today's :func:`~whiteboard_app.recognition.form_match.favour`, the
    size-among-neighbours model :func:`scripts.fit_case_model.case_llr`, their
    sum), the threshold keeping ``keep`` of the true forms with a same-shape letter, and the share of case
    near misses with one refused, in all and among those today's rules let through."""
    lines = [
        f"| evidence | threshold (keeps >= {100 * keep:.0f} % of true forms) | true forms kept | case near misses refused "
        "| of those today's rules pass |",
        "|---|---|---|---|---|",
    ]

    def both(r):
        if r["case_new"] is None or r["case_today"] is None:
            return None
        return r["case_new"] + r["case_today"]

    for label, get in (
        ("today: favour (classifier + size model)", lambda r: r["case_today"]),
        ("size among neighbours (case_llr)", lambda r: r["case_new"]),
        ("sum of both", both),
    ):
        tv = sorted(v for r in recs if r["kind"] == "truth" and (v := get(r)) is not None)
        cases = [r for r in recs if r["kind"] == "case" and get(r) is not None]
        if not tv or not cases:
            continue
        thr = tv[int((1.0 - keep) * len(tv))]
        passed = [r for r in cases if r["today"] is None]
        lines.append(
            f"| {label} | {thr:.2f} | {sum(v >= thr for v in tv)} of {len(tv)} | "
            f"{sum(get(r) < thr for r in cases)} of {len(cases)} | {sum(get(r) < thr for r in passed)} of {len(passed)} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", required=True, help="fits of scripts/calibrate_evidence.py features")
    ap.add_argument("--limit", type=int, default=0, help="first N expressions only (0: all)")
    ap.add_argument("--keep", type=float, default=0.99, help="share of true forms the threshold keeps")
    ap.add_argument("--out", default="", help="store the records (pickle) here")
    ap.add_argument("--records", default="", help="read stored records instead of fitting again")
    ap.add_argument("--cost", action="store_true", help="only the CPU time per step of <= 20 strokes")
    args = ap.parse_args(argv)
    if args.cost:
        print(json.dumps(cost(args.features, args.limit or 200)))
        return 0
    if args.records:
        recs = pickle.load(open(args.records, "rb"))
    else:
        recs = collect(args.features, args.limit)
        if args.out:
            pickle.dump(recs, open(args.out, "wb"))
    print("\n".join(table(recs, args.keep)))
    if any("case_new" in r for r in recs):
        print("\n".join(case_table(recs, args.keep)))
    ms = sorted(r["ms"] for r in recs if r["edges"])
    if ms:
        print(
            f"relation_llr per form with script edges: median {ms[len(ms) // 2]:.2f} ms (cached swaps included)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
