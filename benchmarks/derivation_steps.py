"""Derivation steps written with real glyphs: reading the cards' reference steps and their mistakes.

There is no real ink of the cards' steps, so it is composed (the approach of
../shared/tools/ml_synth_eval.py): each step's LaTeX is typeset by mathnote-ocr's glyph-box helper
(``latex_utils.glyphs._extract_glyphs``, ziamath layout) and every glyph box is filled with a randomly chosen
real handwritten instance of that symbol. The glyphs come from ../shared/handwriting/train.jsonl.gz, only from
the writers of the training command's writer-disjoint VALIDATION split (seed 0, 10 % of writers): the
recogniser's weights never saw their ink. Layout is typeset-perfect and glyphs mix writers, so this measures
vocabulary and structure on the cards' own expressions, not real handwriting accuracy (benchmarks.recognition
does that). Steps needing a symbol CROHME lacks (\\partial, \\hat, ...) cannot be composed and are counted.

For each composable step (the cards' reference steps and declared mistakes) and each of --samples glyph draws,
the "whiteboard" engine reads the ink (under the app's 3 s limit) (a) open, without context, and (b) with the card's context
(recognition.context.rerank with the card's reference steps, mistakes, generated near-misses and the
previous reference step), scored with ../shared/tools/ocr_eval.py's normalisation. Reported: exact reading
with and without context (floor with context: 85 %), and how often a wrong step (a mistake) is read as a
right one (its reading equals one of the card's reference steps; floor: under 2 %).

Usage: ``python -m benchmarks.derivation_steps [--samples N] [--quick]``; writes the "derivation_steps"
section of docs/benchmarks.md unless --no-write.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import sys
import time
from pathlib import Path

from benchmarks.recognition import OCR_EVAL, SHARED, _alarm, _Timeout, load_ocr_eval

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"


def glyph_bank(ev, path: Path = TRAIN, seed: int = 0, val_fraction: float = 0.1) -> dict[str, list]:
    """Normalised label token -> list of glyph inks (lists of strokes of [x, y]) from the validation writers."""
    from whiteboard_app.recognition.training.data import (
        iter_rows,
        raw_writer,
        row_to_expression,
        writer_split,
    )

    rows = list(iter_rows(path))
    exprs = [row_to_expression(r) for r in rows]
    _train, val = writer_split(exprs, val_fraction, seed)
    keep = {e.id for e in val}
    bank: dict[str, list] = {}
    for r in rows:
        if r.get("id") not in keep or raw_writer(r) is None:
            continue
        for g in r["symbols"]:
            lab = ev.normalize(g["label"])
            if len(lab) != 1:
                continue
            ink = [r["strokes"][i] for i in g["strokes"] if r["strokes"][i]]
            if ink:
                bank.setdefault(lab[0], []).append(ink)
    return bank


def place(ink, box, unit):
    """Fit a glyph's ink into a layout box (x, y, w, h in layout units; *unit* px each). From ml_synth_eval."""
    x, y, w, h = [v * unit for v in box]
    pts = [p for s in ink for p in s]
    minx, maxx = min(p[0] for p in pts), max(p[0] for p in pts)
    miny, maxy = min(p[1] for p in pts), max(p[1] for p in pts)
    gw, gh = max(maxx - minx, 1e-6), max(maxy - miny, 1e-6)
    if h < 0.2 * w:  # flat glyph (minus, fraction bar): fit the width
        sx = w / gw
        sy = min(sx, h / gh) if gh > 1e-3 else sx
    else:
        sx = sy = min(w / gw, h / gh)
    ox = x + (w - gw * sx) / 2
    oy = y + (h - gh * sy) / 2
    return [[(ox + (p[0] - minx) * sx, oy + (p[1] - miny) * sy) for p in s] for s in ink]


def compose(ev, latex: str, bank, rng: random.Random, unit: float = 300.0):
    """Strokes of the step written with real glyphs, or (None, reason) when it cannot be composed."""
    from mathnote_ocr.latex_utils.glyphs import _extract_glyphs
    from mathnote_ocr.tree_parser.tree_latex import _sym_to_latex

    try:
        glyphs = _extract_glyphs(latex)
    except Exception as exc:  # the layout helper's own failure
        return None, f"layout failed: {type(exc).__name__}"
    if not glyphs:
        return None, "layout failed"
    labels = []
    for g in glyphs:
        t = ev.normalize("-" if g["name"] == "frac_bar" else _sym_to_latex(g["name"]))
        labels.append(t[0] if len(t) == 1 else None)
    missing = sorted({str(lab) for lab in labels if lab not in bank})
    if missing:
        return None, "no glyphs for " + " ".join(missing)
    ink = []
    for g, lab in zip(glyphs, labels, strict=True):
        ink += place(rng.choice(bank[lab]), g["bbox"], unit)
    return ink, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3, help="glyph draws per step")
    ap.add_argument("--quick", action="store_true", help="1 draw per step")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest for these small models)")
    ap.add_argument("--timeout-s", type=float, default=3.0, help="the app's time limit per step (s)")
    ap.add_argument("--out", help="per-reading results (JSON lines)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples = 1
    if not TRAIN.exists() or not OCR_EVAL.exists():
        print(f"benchmarks.derivation_steps: needs {TRAIN} and {OCR_EVAL}", file=sys.stderr)
        return 2
    import torch

    from whiteboard_app.decks import load_deck
    from whiteboard_app.ink import Point, StepInk, Stroke
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import rerank
    from whiteboard_app.recognition.trained import TrainedRecognizer

    try:
        from whiteboard_app.maths import near_misses
    except ImportError:  # pragma: no cover - maths layer without near misses
        near_misses = None
    torch.set_num_threads(args.threads)
    signal.signal(signal.SIGALRM, _alarm)
    ev = load_ocr_eval()
    bank = glyph_bank(ev)
    rec = TrainedRecognizer()
    rec.load()
    deck = load_deck()
    rng = random.Random(args.seed)
    out_f = open(args.out, "w", encoding="utf-8") if args.out else None
    n_steps = {"reference": 0, "mistake": 0}
    composable = {"reference": 0, "mistake": 0}
    why: dict[str, int] = {}
    res = []
    for card in sorted(deck.cards.values(), key=lambda c: c.id):
        refs = [s.latex for s in card.steps]
        mistakes = [m.latex for m in card.mistakes]
        try:
            nm = [lat for lat, _d in near_misses(card)] if near_misses else []
        except Exception:  # a card the generator cannot vary: no near misses
            nm = []
        ref_norm = {tuple(ev.normalize(r)) for r in refs}
        items = [(r, "reference", k) for k, r in enumerate(refs)] + \
                [(m.latex, "mistake", m.after_step) for m in card.mistakes]
        for latex, kind, pos in items:
            n_steps[kind] += 1
            prev = refs[pos - 1] if kind == "reference" and pos > 0 else (refs[pos] if kind == "mistake"
                                                                          and 0 <= pos < len(refs) else None)
            expected = tuple([(r, "reference") for r in refs] + [(m, "mistake") for m in mistakes]
                             + [(x, "near_miss") for x in nm] + ([(prev, "previous")] if prev else []))
            ctx = RecognitionContext(expected)
            truth = tuple(ev.normalize(latex))
            ok_once = False
            for _s in range(args.samples):
                strokes, reason = compose(ev, latex, bank, rng)
                if strokes is None:
                    why[reason] = why.get(reason, 0) + 1
                    break
                ok_once = True
                ink = StepInk(tuple(Stroke(tuple(Point(float(x), float(y)) for x, y in s)) for s in strokes))
                t0 = time.perf_counter()
                signal.setitimer(signal.ITIMER_REAL, args.timeout_s)
                try:
                    r = rec.recognize(ink)
                except _Timeout:  # over the app's time limit: "could not read"
                    from whiteboard_app.recognition.base import RecognitionResult

                    r = RecognitionResult()
                except Exception as exc:  # a failure reads nothing
                    print(f"{card.id}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    from whiteboard_app.recognition.base import RecognitionResult

                    r = RecognitionResult()
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                ms = (time.perf_counter() - t0) * 1000
                open_read = r.best or ""
                ctx_read = rerank(r, ctx).best or ""
                o, c = tuple(ev.normalize(open_read)), tuple(ev.normalize(ctx_read))
                item = {"card": card.id, "kind": kind, "truth": latex, "open": open_read, "context": ctx_read,
                        "timeout": ms >= args.timeout_s * 1000 and not r.candidates,
                        "open_ok": o == truth, "context_ok": c == truth, "ms": round(ms, 1),
                        "n_strokes": len(strokes),
                        "wrong_as_right_open": kind == "mistake" and o in ref_norm and o != truth,
                        "wrong_as_right_context": kind == "mistake" and c in ref_norm and c != truth}
                res.append(item)
                if out_f:
                    out_f.write(json.dumps(item) + "\n")
            composable[kind] += ok_once
    if out_f:
        out_f.close()

    def pct(sel, key):
        return round(100.0 * sum(x[key] for x in sel) / max(1, len(sel)), 1)

    refs_r = [x for x in res if x["kind"] == "reference"]
    mist_r = [x for x in res if x["kind"] == "mistake"]
    summary = {"readings": len(res), "steps": n_steps, "composable": composable,
               "exact_open_pct": pct(res, "open_ok"), "exact_context_pct": pct(res, "context_ok"),
               "reference_open_pct": pct(refs_r, "open_ok"), "reference_context_pct": pct(refs_r, "context_ok"),
               "mistake_open_pct": pct(mist_r, "open_ok"), "mistake_context_pct": pct(mist_r, "context_ok"),
               "wrong_as_right_open_pct": pct(mist_r, "wrong_as_right_open"),
               "wrong_as_right_context_pct": pct(mist_r, "wrong_as_right_context"),
               "timeouts": sum(x["timeout"] for x in res),
               "median_ms": round(statistics.median([x["ms"] for x in res]), 1) if res else None,
               "not_composable_top": sorted(why.items(), key=lambda kv: -kv[1])[:8]}
    print(json.dumps(summary, indent=1))
    if not args.no_write:
        from benchmarks._report import machine, write_section

        md = [f"## Derivation steps written with real glyphs ({len(res)} readings)", "",
              f"{machine()}. `python -m benchmarks.derivation_steps --samples {args.samples}`. Glyphs of the "
              "training data's held-out validation writers placed in typeset layouts of the cards' steps "
              "(see the module docstring: a probe, not real handwriting).", "",
              f"Composable: {composable['reference']}/{n_steps['reference']} reference steps, "
              f"{composable['mistake']}/{n_steps['mistake']} mistakes; the others cannot be composed: "
              + "; ".join(f"{k} ({v})" for k, v in summary["not_composable_top"][:5]) + ".", "",
              "| | without context | with card context |", "|---|---|---|",
              f"| exact reading, all steps | {summary['exact_open_pct']}% | {summary['exact_context_pct']}% |",
              f"| exact reading, reference steps | {summary['reference_open_pct']}% | {summary['reference_context_pct']}% |",
              f"| exact reading, mistakes | {summary['mistake_open_pct']}% | {summary['mistake_context_pct']}% |",
              f"| wrong step read as a right one | {summary['wrong_as_right_open_pct']}% | "
              f"{summary['wrong_as_right_context_pct']}% |", "",
              f"Median reading time {summary['median_ms']} ms; {summary['timeouts']} readings over the app's "
              f"{args.timeout_s:g} s limit (counted as not read). Floors: >= 85 % exact with context, < 2 % "
              "wrong-as-right."]
        write_section("derivation_steps", "\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
