"""Derivation steps written with real glyphs: reading the cards' reference steps and their mistakes.

There is no real ink of the cards' steps, so it is composed (the approach of
../shared/tools/ml_synth_eval.py): each step's LaTeX is typeset by
:func:`whiteboard_app.recognition.typeset.glyph_layout` (ziamath layout, one box and class name per glyph,
the layout the card-context verifier compares the ink with) and every glyph box is filled with a randomly
chosen real handwritten instance of that class from ../shared/handwriting/train.jsonl.gz. Glyphs come from
the writers of the training command's writer-disjoint VALIDATION split (seed 0, 10 % of writers: the
recogniser's weights never saw their ink); a class those writers never wrote (D, I in this data) is taken
from the training writers instead, and the readings that needed one are counted. Two classes borrow
the ink of the same shape: a centred dot (``cdot``) is written with a dot, a fraction bar with a minus
when no fraction bar is at hand. Steps needing a symbol CROHME has no ink for (\\hat, \\bar, \\|,
\\partial, \\nabla, K, Z, ...) cannot be composed and are counted by symbol, unless ``--synthetic``:
then those glyphs are MADE (never real): the added classes of the classifier
(``recognition.training.symbol_synth``: transforms of the validation writers' own glyphs and stroke-font
skeletons in their style, a fresh glyph each draw), ``\\top`` / ``\\bar`` / ``\\Sigma`` / O with the ink
of the class of the same shape (T, minus, \\sum, 0) and ``\\mathbb{X}`` as the writer's X with a second
stem. Readings that used made ink are reported apart ("synthetic") in the "derivation_steps_synthetic"
section, never mixed into the real-glyph figures.

Layouts: typeset-perfect (``--no-jitter``), or jittered like handwriting (``--jitter``, the default):
each glyph scaled by a random factor in [0.85, 1.15] about its centre and moved up or down by up to 10 % of
its height, every horizontal gap between glyphs stretched or shrunk by up to 20 %, and the baseline tilted
by up to 2 degrees; uniform draws, seeded. ``--both`` reads each glyph draw in both layouts (paired).
Glyphs mix writers and the layout is the typesetter's, so this measures vocabulary and structure on the
cards' own expressions, not real handwriting accuracy (benchmarks.recognition does that).

For each composable step (the cards' reference steps and declared mistakes) and each of --samples glyph
draws, the "whiteboard" engine reads the ink (under the app's 3 s limit), then the reading is re-ranked
with the card's context as the app does (``pipeline.build_context``: the card's reference steps,
mistakes, generated near misses and the previous reference step; ``recognition.context.rerank(result,
context, ink=ink)``, which fits the ink to each form's typeset glyphs). Scored with
../shared/tools/ocr_eval.py's normalisation. Reported: exact reading without context (the engine's best)
and with context (floor: 85 %), and how often a wrong step (a mistake) is read as a right one (its
reading equals one of the card's reference steps; floor: under 2 %). Reading time: engine and context
together, per reading (the forms' layouts are typeset before, as the app's ``pipeline.prepare`` does).

Usage: ``python -m benchmarks.derivation_steps [--samples N] [--quick] [--both | --no-jitter]
[--out FILE.jsonl] [--diagnose]``; writes the "derivation_steps" section of docs/benchmarks.md unless
--no-write. ``--diagnose`` (no report written) says, for each reading whose step is among the card's forms
but is not read exactly with context, why (:func:`diagnose`: the time limit, the engine's own check taking
another form, or the verifier's refusing rule, ``form_match.why_not``, with the glyphs behind it), prints
one line a reading and the counts per reason, and keeps ``why`` / ``why_detail`` in ``--out``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import random
import signal
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.recognition import OCR_EVAL, SHARED, _alarm, _Timeout, load_ocr_eval

TRAIN = SHARED / "handwriting" / "train.jsonl.gz"

#: A class without ink of its own borrows the ink of a class of the same shape.
SAME_SHAPE = {"cdot": "dot", "frac_bar": "-"}
#: The interval timer the time limit runs on (``--cpu-time``: ITIMER_PROF).
TIMER = signal.ITIMER_REAL
#: Jitter amplitudes (see the module docstring): glyph scale, vertical offset (share of the glyph's height),
#: gap change (share of the gap), baseline slope (degrees).
SCALE, LIFT, GAP, SLOPE_DEG = 0.15, 0.10, 0.20, 2.0


def glyph_banks(path: Path = TRAIN, seed: int = 0, val_fraction: float = 0.1) -> tuple[dict, dict]:
    """(validation bank, training bank): class name -> list of glyph inks (lists of strokes of (x, y) px),
    from the writer-disjoint split of the training command (same seed and fraction). Fraction bars are
    told from minus signs as the training does (``frac_bar``); symbols without a class are skipped."""
    from whiteboard_app.recognition.training.data import (
        iter_rows,
        mark_fraction_bars,
        row_to_expression,
        writer_split,
    )

    exprs = [row_to_expression(r) for r in iter_rows(path)]
    train, val = writer_split(exprs, val_fraction, seed)
    banks: tuple[dict, dict] = ({}, {})
    for bank, part in zip(banks, (val, train), strict=True):
        for e in part:
            mark_fraction_bars(e)
            for name, idx in e.symbols:
                ink = [e.strokes[i] for i in idx if i < len(e.strokes) and e.strokes[i]]
                if name is not None and ink:
                    bank.setdefault(name, []).append(ink)
    return banks


#: With --synthetic: symbols written with the ink of a class of the same shape (read as that class).
SYNTH_SAME_SHAPE = {"\\top": "T_cap", "\\bar": "-", "Sigma_up": "sum", "O_cap": "0"}


class SynthBank:
    """Made glyphs (never real ink) for the classes CROHME has no ink of, in the hand of the training data's
    held-out validation writers (the same writer split as :func:`glyph_banks`): the classifier's added
    classes from ``symbol_synth.make_glyph``, \\mathbb{X} as a real X of those writers with a second stem."""

    def __init__(self, val: dict, path: Path = TRAIN, seed: int = 0, val_fraction: float = 0.1) -> None:
        from whiteboard_app.recognition.training.data import iter_rows, row_to_expression, writer_split
        from whiteboard_app.recognition.training.symbol_synth import build_pool

        exprs = [row_to_expression(r) for r in iter_rows(path)]
        _train, held = writer_split(exprs, val_fraction, seed)
        self.exprs = held
        self.pool = build_pool(held)
        self.writers = sorted(self.pool.by_writer)
        self.val = val
        self._styles: dict = {}

    def _style(self, w: str):
        from whiteboard_app.recognition.training.symbol_synth import measure_style

        if w not in self._styles:
            self._styles[w] = measure_style([e for e in self.exprs if e.writer == w])
        return self._styles[w]

    def make(self, name: str, rng: random.Random) -> list | None:
        """A made ink of class *name* (strokes of (x, y)), or None when there is no recipe for it."""
        from whiteboard_app.recognition.training.symbol_synth import ADDED_CLASSES, make_glyph

        if name in ADDED_CLASSES:
            w = rng.choice(self.writers)
            glyph, _recipe = make_glyph(name, w, self.pool, self._style(w), rng)
            return glyph
        if name.startswith("\\mathbb{") and len(name) == 10 and self.val.get(f"{name[8]}_cap"):
            ink = [list(s) for s in rng.choice(self.val[f"{name[8]}_cap"])]
            pts = [p for s in ink for p in s]
            x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
            y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
            x = x0 + 0.18 * (x1 - x0)
            return ink + [[(x, y0 + t * (y1 - y0) / 8) for t in range(9)]]
        return None


def pick_ink(name: str, val: dict, train: dict) -> tuple[list | None, bool]:
    """(the instances to draw *name* from, whether they are training writers'), or (None, False)."""
    for bank, is_train in ((val, False), (train, True)):
        for n in (name, SAME_SHAPE.get(name)):
            if n and bank.get(n):
                return bank[n], is_train
    return None, False


def jitter_boxes(boxes: list[tuple[float, float, float, float]], rng: random.Random) -> list[tuple]:
    """Boxes (x, y, w, h) moved like handwriting (module docstring): per-glyph scale and vertical offset,
    horizontal gaps stretched, baseline tilted. Same units as given; the order is kept."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
    shift = [0.0] * len(boxes)
    acc, right = 0.0, -math.inf
    for i in order:
        x, _y, w, _h = boxes[i]
        gap = x - right
        if right > -math.inf and gap > 0:
            acc += gap * rng.uniform(-GAP, GAP)
        shift[i] = acc
        right = max(right, x + w)
    slope = math.tan(math.radians(rng.uniform(-SLOPE_DEG, SLOPE_DEG)))
    x_mid = (min(b[0] for b in boxes) + max(b[0] + b[2] for b in boxes)) / 2
    out = []
    for i, (x, y, w, h) in enumerate(boxes):
        s = 1.0 + rng.uniform(-SCALE, SCALE)
        cx, cy = x + w / 2 + shift[i], y + h / 2
        cy += h * rng.uniform(-LIFT, LIFT) + slope * (cx - x_mid)
        out.append((cx - w * s / 2, cy - h * s / 2, w * s, h * s))
    return out


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


def draw_glyphs(latex: str, val: dict, train: dict, rng: random.Random, synth: SynthBank | None = None):
    """(glyphs, inks, classes drawn from training writers) for one draw, or (None, reason, missing LaTeX).
    With *synth*, classes without real ink are made (:class:`SynthBank`) and the third item is
    (classes drawn from training writers, classes made)."""
    from whiteboard_app.recognition.typeset import LayoutError, glyph_layout
    from whiteboard_app.recognition.vocabulary import name_to_latex

    try:
        glyphs = glyph_layout(latex)
    except LayoutError as exc:
        return None, f"layout failed: {exc}", ()
    pools = [pick_ink(g.name, val, train) for g in glyphs]
    made: set[str] = set()
    if synth is not None:
        for k, g in enumerate(glyphs):
            if pools[k][0] is None:
                if g.name in SYNTH_SAME_SHAPE:
                    pools[k] = pick_ink(SYNTH_SAME_SHAPE[g.name], val, train)
                else:
                    ink = synth.make(g.name, rng)
                    pools[k] = ([ink], False) if ink is not None else (None, False)
                if pools[k][0] is not None:
                    made.add(name_to_latex(g.name))
    missing = sorted(
        {name_to_latex(g.name) for g, (pool, _t) in zip(glyphs, pools, strict=True) if pool is None}
    )
    if missing:
        return None, "no glyphs for " + " ".join(missing), tuple(missing)
    inks = [rng.choice(pool) for pool, _t in pools]
    from_train = sorted({name_to_latex(g.name) for g, (_p, t) in zip(glyphs, pools, strict=True) if t})
    if synth is not None:
        return glyphs, inks, (from_train, sorted(made))
    return glyphs, inks, from_train


def compose(glyphs, inks, jitter_rng: random.Random | None, unit: float = 300.0):
    """Strokes of the step: each ink placed in its glyph's box (jittered when *jitter_rng* is given)."""
    boxes = [g.box for g in glyphs]
    if jitter_rng is not None:
        boxes = jitter_boxes(boxes, jitter_rng)
    strokes = []
    for ink, box in zip(inks, boxes, strict=True):
        strokes += place(ink, box, unit)
    return strokes


def _read(rec, ink, ctx, timeout_s: float, card_id: str):
    """(result, ms): ``rec.recognize(ink, ctx)`` under the app's time limit (wall time, SIGALRM; CPU time
    with ``--cpu-time``); over the limit or on a failure, an empty result ("could not read")."""
    from whiteboard_app.recognition.base import RecognitionResult

    t0 = time.perf_counter()
    try:
        signal.setitimer(TIMER, timeout_s)
        try:
            result = rec.recognize(ink, ctx)
        finally:
            signal.setitimer(TIMER, 0)
    except _Timeout:  # over the time limit (or firing as the timer stops): "could not read"
        result = RecognitionResult()
    except Exception as exc:  # noqa: BLE001 - a failure reads nothing
        print(f"{card_id}: {type(exc).__name__}: {exc}", file=sys.stderr)
        result = RecognitionResult()
    return result, (time.perf_counter() - t0) * 1000


def _detail(fm, why: str, t: dict) -> str:
    """The glyphs behind an evidence refusal of fit ``fm`` (for --diagnose): the glyph(s) whose class
    deficit, script offset, look-alike or case evidence the rule ``why`` refused, with the classifier's
    first choice."""
    from whiteboard_app.recognition import form_match as fmod

    out = []
    for (tok, d, level, size, off), rec in zip(fm.evidence, fm.glyph_ink, strict=False):
        top = rec[3][0] if rec[3] else ("", 0.0)
        if why in ("deficit", "total_deficit") and d > 0.5:
            f = fmod._favour_t(rec, top[0], t) if fmod.look_alike(tok, top[0]) else None
            place = rec[5] if len(rec) > 5 else None
            where = "" if place is None else f" place({place[0]:+.2f},{place[1]:+.2f};{place[2]})"
            size_llr = "" if f is None else f" favour{f:+.2f} size{size:+.2f} lvl{rec[1]}{where}"
            out.append(f"{tok}<{top[0]}:{top[1]:.2f} d{d:.1f}{size_llr}")
        elif (
            why == "script"
            and fmod.SCRIPT_OFFSET <= abs(off) < fmod.LEVEL_SPAN
            and (level + off) / off < t["script"]
        ):
            out.append(f"{tok} off{off:+.2f} ink{level + off:+.2f}")
        elif why in ("case_llr", "favour", "case_swap", "case_size"):
            others = {tok.swapcase()} if len(tok) == 1 and tok.isalpha() else set()
            if fmod.look_alike(tok, top[0]):
                others.add(top[0])
            fav = {o: fmod._favour_t(rec, o, t) for o in others}
            bad = {o: round(f, 2) for o, f in fav.items() if f is not None and f < 0.5}
            if bad:
                place = rec[5] if len(rec) > 5 else None
                where = "" if place is None else f" place({place[0]:+.2f},{place[1]:+.2f};{place[2]})"
                out.append(f"{tok} size{size:+.2f} lvl{rec[1]} favour{bad} top {top[0]}:{top[1]:.2f}{where}")
        elif why == "kind_deficit" and top[0] and fmod.token_kind(top[0]) != fmod.token_kind(tok):
            out.append(f"{tok}<{top[0]}:{top[1]:.2f}")
    return "; ".join(out[:6])


def diagnose(latex: str, ink, rc, rr, ctx, rec, ev) -> tuple[str, str]:
    """(why, detail): why a step whose LaTeX ``latex`` is among the card's forms (``ctx``) was not read
    exactly with context, from the engine's result with context ``rc`` and the re-ranked ``rr``: "not a
    card form", "time limit", "engine verified another form", the verifier's reason for not taking it
    (:func:`~whiteboard_app.recognition.form_match.why_not`, with the engine's own reading fitted as
    ``rerank`` fits it) or, when the verifier would take it, the stage of ``rerank`` that kept another
    reading ("passes: the engine's reading is another card form", "passes: other")."""
    from whiteboard_app.recognition import form_match as fmod
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import _case_by_size, _fits_context
    from whiteboard_app.recognition.tokens import normalize_tokens

    target = normalize_tokens(latex)
    if not any(normalize_tokens(lat) == target for lat, _k in ctx.expected):
        return "not a card form", ""
    if not rc.candidates:
        return "time limit", ""
    if rc.verified:
        return "engine verified another form", rc.best or ""
    if not rc.symbols:
        return "no ink symbols", ""
    fits = (
        list(rc.fits)
        if _fits_context(rc.fits, ctx)
        else fmod.match_forms(ink, rc.symbols, ctx, rec.classify_groups)
    )
    own = fmod.match_forms(
        ink, rc.symbols, RecognitionContext(((rc.candidates[0].latex, "open"),)), rec.classify_groups
    )
    open_fit = own[0] if own else None
    if open_fit is not None:
        _r, open_fit = _case_by_size(rc, open_fit)
    t = fmod.evidence_thresholds()
    why = fmod.why_not(fits, latex, open_fit, t)
    fm = next((f for f in fits if normalize_tokens(f.latex) == target), None)
    if why == "passes":
        engine_best = normalize_tokens(rc.candidates[0].latex)
        if any(normalize_tokens(lat) == engine_best for lat, _k in ctx.expected):
            return "passes: the engine's reading is another card form", rc.candidates[0].latex
        return "passes: other", rr.best or ""
    if why in ("another form fits better", "margin"):
        other = next((f for f in fits if normalize_tokens(f.latex) != target), None)
        return why, f"{other.latex if other else ''} ({(other.cost - fm.cost) if other and fm else 0:+.2f})"
    if why == "open_margin" and fm is not None and open_fit is not None:
        return why, f"open {open_fit.cost:.2f} form {fm.cost:.2f}"
    if why.startswith("unexplained") and fm is not None:
        return why, f"ink {fm.unmatched_ink} glyphs {fm.unmatched_glyphs} unexplained {fm.unexplained}"
    return why, _detail(fm, why, t) if fm is not None else ""


def _summary(res: list[dict]) -> dict:
    def pct(sel, key):
        return round(100.0 * sum(x[key] for x in sel) / max(1, len(sel)), 1)

    refs_r = [x for x in res if x["kind"] == "reference"]
    mist_r = [x for x in res if x["kind"] == "mistake"]
    return {
        "readings": len(res),
        "exact_open_pct": pct(res, "open_ok"),
        "exact_context_pct": pct(res, "context_ok"),
        "reference_open_pct": pct(refs_r, "open_ok"),
        "reference_context_pct": pct(refs_r, "context_ok"),
        "mistake_open_pct": pct(mist_r, "open_ok"),
        "mistake_context_pct": pct(mist_r, "context_ok"),
        "wrong_as_right_open_pct": pct(mist_r, "wrong_as_right_open"),
        "wrong_as_right_context_pct": pct(mist_r, "wrong_as_right_context"),
        "wrong_as_right_context_n": sum(x["wrong_as_right_context"] for x in mist_r),
        "mistakes_read": len(mist_r),
        "novel_wrong_as_right_pct": pct(
            [x for x in mist_r if x.get("novel_wrong_as_right") is not None], "novel_wrong_as_right"
        ),
        "novel_n": sum(x.get("novel_wrong_as_right") is not None for x in mist_r),
        "timeouts": sum(x["timeout"] for x in res),
        "open_timeouts": sum(x.get("open_timeout", False) for x in res),
        "median_ms": round(statistics.median([x["ms"] for x in res]), 1) if res else None,
        "median_engine_ms": round(statistics.median([x["engine_ms"] for x in res]), 1) if res else None,
        "p95_ms": round(sorted(x["ms"] for x in res)[max(0, math.ceil(0.95 * len(res)) - 1)], 1)
        if res
        else None,
        "exact_context_within_limit_pct": pct([x for x in res if not x["timeout"]], "context_ok"),
        "with_training_glyphs": sum(bool(x["train_glyphs"]) for x in res),
        "training_glyph_classes": sorted({c for x in res for c in x["train_glyphs"]}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3, help="glyph draws per step")
    ap.add_argument("--quick", action="store_true", help="1 draw per step")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--jitter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="jitter the layout like handwriting (default); --no-jitter: typeset-perfect",
    )
    ap.add_argument("--both", action="store_true", help="read every draw typeset-perfect and jittered")
    ap.add_argument(
        "--val-only",
        action="store_true",
        help="glyphs of validation writers only (no training writers' glyph for missing classes)",
    )
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: fastest for these small models)"
    )
    ap.add_argument("--timeout-s", type=float, default=3.0, help="the app's time limit per step (s)")
    ap.add_argument("--out", help="per-reading results (JSON lines)")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="count the time limit in the process's CPU time (ITIMER_PROF), not wall time: on a "
        "machine busy with other jobs (one torch thread: what a reading costs on an idle core)",
    )
    ap.add_argument("--card", action="append", help="only this card (repeatable; for quick checks)")
    ap.add_argument(
        "--compose-only",
        action="store_true",
        help="count the composable steps and the missing symbols; read nothing, write nothing",
    )
    ap.add_argument(
        "--synthetic",
        action="store_true",
        help="make the glyphs CROHME has no ink for (SynthBank); read only the steps that need them "
        "and write the 'derivation_steps_synthetic' section",
    )
    ap.add_argument(
        "--diagnose",
        action="store_true",
        help="for each reading whose step is among the card's forms but is not read exactly with context, "
        "say why the verifier did not take it (form_match.why_not; printed, and 'why' in --out); "
        "implies --no-write",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.diagnose:
        args.no_write = True
    if args.quick:
        args.samples = 1
    if not TRAIN.exists() or not OCR_EVAL.exists():
        print(f"benchmarks.derivation_steps: needs {TRAIN} and {OCR_EVAL}", file=sys.stderr)
        return 2
    import torch

    from whiteboard_app.decks import load_deck
    from whiteboard_app.ink import Point, StepInk, Stroke
    from whiteboard_app.pipeline import build_context
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import rerank
    from whiteboard_app.recognition.form_match import warm_up
    from whiteboard_app.recognition.whiteboard import create

    with_ink = "ink" in inspect.signature(rerank).parameters  # the verifier's keyword (older rerank: none)
    conditions = ["typeset", "jittered"] if args.both else (["jittered"] if args.jitter else ["typeset"])
    torch.set_num_threads(args.threads)
    global TIMER
    if args.cpu_time:
        TIMER = signal.ITIMER_PROF
    signal.signal(signal.SIGPROF if args.cpu_time else signal.SIGALRM, _alarm)
    ev = load_ocr_eval()
    val, train = glyph_banks()
    if args.val_only:
        train = {}
    synth = SynthBank(val) if args.synthetic else None
    rec = create()  # the engine with the card-context verifier as its hook, as the app builds it
    if args.compose_only:
        args.no_write, conditions = True, []
    else:
        rec.load()
    deck = load_deck()
    rng = random.Random(args.seed)
    out_f = open(args.out, "w", encoding="utf-8") if args.out else None
    n_steps = {"reference": 0, "mistake": 0}
    composable = {"reference": 0, "mistake": 0}
    real_only = {"reference": 0, "mistake": 0}  # --synthetic: composable without made ink (not read)
    with_made = {"reference": 0, "mistake": 0}  # --synthetic: composable with made ink
    made_symbols: dict[str, int] = {}
    why: dict[str, int] = {}
    by_symbol: dict[str, int] = {}
    res: list[dict] = []
    t_start = time.perf_counter()
    for card in sorted(deck.cards.values(), key=lambda c: c.id):
        if args.card and card.id not in args.card:
            continue
        refs = [s.latex for s in card.steps]
        ref_norm = {tuple(ev.normalize(r)) for r in refs}
        items = [(r, "reference", k) for k, r in enumerate(refs)] + [
            (m.latex, "mistake", m.after_step) for m in card.mistakes
        ]
        for latex, kind, pos in items:
            n_steps[kind] += 1
            if kind == "reference":
                prev = refs[pos - 1] if pos > 0 else None
            else:
                prev = refs[pos] if 0 <= pos < len(refs) else None
            ctx = build_context(card, [prev] if prev else [])
            if conditions:
                warm_up(ctx)  # as pipeline.prepare does when a card opens: typesetting is not reading time
            truth = tuple(ev.normalize(latex))
            ok_once = False
            for _s in range(args.samples):
                glyphs, inks, from_train = draw_glyphs(latex, val, train, rng, synth)
                if glyphs is None:
                    why[inks] = why.get(inks, 0) + 1
                    for sym in from_train:
                        by_symbol[sym] = by_symbol.get(sym, 0) + 1
                    break
                made: list[str] = []
                if synth is not None:
                    from_train, made = from_train
                    if not made:  # the real-glyph steps are the main benchmark's: read only the others
                        ok_once = True
                        real_only[kind] += 1 if _s == 0 else 0
                        break
                    for sym in made:
                        made_symbols[sym] = made_symbols.get(sym, 0) + (1 if _s == 0 else 0)
                    with_made[kind] += 1 if _s == 0 else 0
                ok_once = True
                jit_seed = rng.randrange(2**32)
                for cond in conditions:
                    strokes = compose(glyphs, inks, random.Random(jit_seed) if cond == "jittered" else None)
                    ink = StepInk(
                        tuple(Stroke(tuple(Point(float(x), float(y)) for x, y in s)) for s in strokes)
                    )
                    r, open_ms = _read(rec, ink, None, args.timeout_s, card.id)
                    # with the card: as the app reads (the engine sees the context: long steps are
                    # fitted to the card's forms before the parse; then the prior and the verifier)
                    t0 = time.perf_counter()
                    rc, engine_ms = _read(rec, ink, ctx, args.timeout_s, card.id)
                    rr = (
                        rerank(rc, ctx, ink=ink, classify=rec.classify_groups)
                        if with_ink
                        else rerank(rc, ctx)
                    )
                    ms = (time.perf_counter() - t0) * 1000
                    novel = None
                    if kind == "mistake" and with_ink and r.candidates:
                        # the same ink if the card had not declared this mistake and the generator had not
                        # made it: is it pulled to a reference step?
                        held = RecognitionContext(
                            tuple((lat, k) for lat, k in ctx.expected if tuple(ev.normalize(lat)) != truth)
                        )
                        hn = tuple(
                            ev.normalize(rerank(r, held, ink=ink, classify=rec.classify_groups).best or "")
                        )
                        novel = hn in ref_norm and hn != truth
                    open_read = r.best or ""
                    ctx_read = rr.best or ""
                    o, c = tuple(ev.normalize(open_read)), tuple(ev.normalize(ctx_read))
                    item = {
                        "card": card.id,
                        "kind": kind,
                        "condition": cond,
                        "truth": latex,
                        "open": open_read,
                        "context": ctx_read,
                        "timeout": engine_ms >= args.timeout_s * 1000 and not rc.candidates,
                        "open_timeout": open_ms >= args.timeout_s * 1000 and not r.candidates,
                        "novel_wrong_as_right": novel,
                        "open_ok": o == truth,
                        "context_ok": c == truth,
                        "ms": round(ms, 1),
                        "engine_ms": round(engine_ms, 1),
                        "n_strokes": len(strokes),
                        "n_glyphs": len(glyphs),
                        "train_glyphs": from_train,
                        "made_glyphs": made,
                        "wrong_as_right_open": kind == "mistake" and o in ref_norm and o != truth,
                        "wrong_as_right_context": kind == "mistake" and c in ref_norm and c != truth,
                    }
                    if args.diagnose and not item["context_ok"]:
                        item["why"], item["why_detail"] = diagnose(latex, ink, rc, rr, ctx, rec, ev)
                        print(f"{card.id} [{cond}] {item['why']}: {latex} -> {ctx_read} {item['why_detail']}")
                    res.append(item)
                    if out_f:
                        out_f.write(json.dumps(item) + "\n")
            composable[kind] += ok_once
    if out_f:
        out_f.close()

    per = {cond: _summary([x for x in res if x["condition"] == cond]) for cond in conditions}
    summary = {
        "steps": n_steps,
        "composable": composable,
        "conditions": per,
        "not_composable": sorted(why.items(), key=lambda kv: -kv[1]),
        "missing_symbols": sorted(by_symbol.items(), key=lambda kv: (-kv[1], kv[0])),
        "rerank_with_ink": with_ink,
        "minutes": round((time.perf_counter() - t_start) / 60, 1),
    }
    if synth is not None:
        summary.update(
            {
                "real_only": real_only,
                "with_made": with_made,
                "made_symbols": sorted(made_symbols.items(), key=lambda kv: (-kv[1], kv[0])),
            }
        )
        for cond in conditions:  # the steps with the new symbols, read without context, by symbol
            sel = [x for x in res if x["condition"] == cond]
            per[cond]["open_by_made_symbol"] = {
                sym: [
                    sum(x["open_ok"] for x in sel if sym in x["made_glyphs"]),
                    sum(sym in x["made_glyphs"] for x in sel),
                ]
                for sym, _n in summary["made_symbols"]
            }
    if args.diagnose:
        summary["why"] = {
            cond: sorted(
                Counter(x["why"] for x in res if x["condition"] == cond and "why" in x).items(),
                key=lambda kv: -kv[1],
            )
            for cond in conditions
        }
    print(json.dumps(summary, indent=1))
    if not args.no_write:
        if synth is not None:
            write_synthetic_report(args, summary, conditions)
        else:
            write_report(args, summary, conditions)
    return 0


_TITLES = {"typeset": "typeset-perfect layout", "jittered": "jittered layout"}


def write_synthetic_report(args, summary: dict, conditions: list[str]) -> None:
    """The "derivation_steps_synthetic" section of docs/benchmarks.md (steps that need made glyphs)."""
    from benchmarks._report import machine, write_section

    per = summary["conditions"]
    n_steps, composable = summary["steps"], summary["composable"]
    tot = n_steps["reference"] + n_steps["mistake"]
    comp = composable["reference"] + composable["mistake"]
    real = summary["real_only"]["reference"] + summary["real_only"]["mistake"]
    made = summary["with_made"]["reference"] + summary["with_made"]["mistake"]
    flags = " --both" if args.both else ("" if args.jitter else " --no-jitter")
    md = [
        "## Derivation steps that need symbols CROHME has no ink for (MADE glyphs, not real)",
        "",
        f"{machine()}. `python -m benchmarks.derivation_steps --synthetic --samples {args.samples}{flags}` "
        f"({summary['minutes']} min). As the section above, but the glyphs CROHME has no ink for are made "
        "(`SynthBank`: the classifier's added classes drawn by `symbol_synth` from the held-out writers' "
        "glyphs and style; \\top, \\bar, \\Sigma, O with the ink of T, minus, \\sum, 0; \\mathbb{X} as an "
        "X with a second stem). Synthetic ink: these figures are not real handwriting accuracy.",
        "",
        f"Composable: {comp} of {tot} card steps (reference steps and declared mistakes): {real} with real "
        f"glyphs only (read in the section above), {made} with made glyphs (read here)."
        + (
            " Still not composable (steps): "
            + ", ".join(f"{s} ({n})" for s, n in summary["missing_symbols"])
            + "."
            if summary["missing_symbols"]
            else ""
        ),
        "Made symbols (steps using them): "
        + ", ".join(f"{s} ({n})" for s, n in summary["made_symbols"])
        + ".",
        "",
        "| | " + " | ".join(f"{_TITLES[c]}: without context | with card context" for c in conditions) + " |",
        "|---|" + "---|---|" * len(conditions),
    ]
    for label, ko, kc in (
        ("exact reading, all steps", "exact_open_pct", "exact_context_pct"),
        ("exact reading, reference steps", "reference_open_pct", "reference_context_pct"),
        ("exact reading, mistakes", "mistake_open_pct", "mistake_context_pct"),
        ("wrong step read as a right one", "wrong_as_right_open_pct", "wrong_as_right_context_pct"),
    ):
        md.append(f"| {label} |" + "".join(f" {per[c][ko]}% | {per[c][kc]}% |" for c in conditions))
    md.append("")
    for c in conditions:
        p = per[c]
        md.append(
            f"- {_TITLES[c]}: {p['readings']} readings; median {p['median_ms']} ms, p95 {p['p95_ms']} ms; "
            f"{p['timeouts']} over the {args.timeout_s:g} s limit. Open reading (no context) of the steps "
            "with each made symbol: "
            + ", ".join(f"{s} {ok}/{n}" for s, (ok, n) in p["open_by_made_symbol"].items())
            + "."
        )
    write_section("derivation_steps_synthetic", "\n".join(md))


def write_report(args, summary: dict, conditions: list[str]) -> None:
    """The "derivation_steps" section of docs/benchmarks.md."""
    from benchmarks._report import machine, write_section

    per = summary["conditions"]
    n_steps, composable = summary["steps"], summary["composable"]
    flags = (" --both" if args.both else ("" if args.jitter else " --no-jitter")) + "".join(
        f" --card {c}" for c in args.card or ()
    )
    n_read = sum(p["readings"] for p in per.values())
    not_comp = (n_steps["reference"] - composable["reference"]) + (n_steps["mistake"] - composable["mistake"])
    rows = [
        ("exact reading, all steps", "exact_open_pct", "exact_context_pct"),
        ("exact reading, reference steps", "reference_open_pct", "reference_context_pct"),
        ("exact reading, mistakes", "mistake_open_pct", "mistake_context_pct"),
        ("wrong step read as a right one", "wrong_as_right_open_pct", "wrong_as_right_context_pct"),
        (
            "wrong step the card does not know (its form and its same-token variants removed from the "
            "context) read as a right one",
            None,
            "novel_wrong_as_right_pct",
        ),
    ]
    head = "| |" + "".join(f" {_TITLES[c]}: without context | with card context |" for c in conditions)
    md = [
        f"## Derivation steps written with real glyphs ({n_read} readings)",
        "",
        f"{machine()}. `python -m benchmarks.derivation_steps --samples {args.samples}{flags}` "
        f"({summary['minutes']} min). Glyphs of the training data's held-out validation writers (training "
        "writers' for a class they never wrote) placed in the typeset layouts of the cards' steps "
        "(`recognition.typeset`), typeset-perfect or jittered like handwriting (glyph scale ±15 %, "
        "vertical offset ±10 % of the glyph, gaps ±20 %, baseline ±2°); see the module docstring: a "
        "probe, not real handwriting. Context as the app applies it: "
        + (
            "the engine reads with the context (`recognize(ink, context)`: long steps are fitted to the "
            "card's forms before the layout parse), then `rerank(result, context, ink=ink, "
            "classify=engine.classify_groups)` (the n-best prior and the verifier, "
            "recognition/form_match.py). 'Without context' is the engine's open reading."
            if summary["rerank_with_ink"]
            else "`rerank(result, context)` (no verifier)."
        ),
        "",
        f"Composable: {composable['reference']}/{n_steps['reference']} reference steps, "
        f"{composable['mistake']}/{n_steps['mistake']} mistakes."
        + (
            f" The other {not_comp} need a symbol CROHME has no ink for (steps needing it): "
            + ", ".join(f"{s} ({n})" for s, n in summary["missing_symbols"])
            + "."
            if not_comp
            else ""
        ),
        "",
        head,
        "|---|" + "---|---|" * len(conditions),
    ]
    for label, ko, kc in rows:
        md.append(
            f"| {label} |"
            + "".join(
                f" {per[c][ko] if ko else '-'}{'%' if ko else ''} | {per[c][kc]}% |" for c in conditions
            )
        )
    md.append("")
    for c in conditions:
        p = per[c]
        md.append(
            f"- {_TITLES[c]}: {p['readings']} readings ({p['mistakes_read']} of mistakes, "
            f"{p['wrong_as_right_context_n']} read as a right step with context); reading time "
            f"(engine + context) median {p['median_ms']} ms, p95 {p['p95_ms']} ms (engine alone: median "
            f"{p['median_engine_ms']} ms); {p['timeouts']} with context and {p['open_timeouts']} without "
            f"over the app's {args.timeout_s:g} s limit "
            f"(counted as not read; exact with context among the others: "
            f"{p['exact_context_within_limit_pct']}%); {p['with_training_glyphs']} used a training "
            f"writer's glyph ({' '.join(p['training_glyph_classes']) or '-'})."
        )
    md += ["", "Floors (issue 3): >= 85 % exact with context, < 2 % wrong-as-right."]
    write_section("derivation_steps", "\n".join(md))


if __name__ == "__main__":
    sys.exit(main())
