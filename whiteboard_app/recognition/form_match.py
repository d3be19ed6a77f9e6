"""Matching a step's ink against the card's expected forms, glyph by glyph (the verifier of the context prior).

The layout parser is the recogniser's weakest part: it often has every symbol right and the structure
wrong. While practising, the card says what is likely on the line (reference steps, declared mistakes,
generated near misses, the previous step). :func:`match_forms` asks, for each of these forms, how well
the ink's symbols fit it:

1. The ink's symbols are the engine's stroke groups with their class probabilities (the per-symbol
   alternatives of its best reading, :class:`~whiteboard_app.recognition.base.SymbolAlternatives`).
2. Each form is typeset (:func:`whiteboard_app.recognition.typeset.glyph_layout`); both sets of boxes are
   put in one frame: x in mean glyph advances from the left edge, y in median glyph heights from the
   median centre; the form's x is then fitted to the ink's by least squares over a first assignment,
   and each glyph follows the median offset of its LOCAL_K nearest matched neighbours (local drift). A
   form with a function name (``\\log``) is fitted as its letters, as one glyph (the classifier has one
   class for it), and mixed (one glyph where the first fit's symbol reads the name, letters elsewhere),
   and the fit that leaves least unexplained is kept (measured on the derivation-step probe: 74.6 ->
   83.0 % exact with context for the first two, 87.3 -> 87.9 % for the mixed fit; wrong-as-right
   unchanged, 1 of 152).
3. Symbols and glyphs are assigned one to one (Hungarian method, ``scipy.optimize.linear_sum_assignment``)
   at a cost of ``-ln p(glyph's token | symbol)`` (floored at ``-ln EPS``) plus ``a |dx| + b |dy|``; a
   symbol or glyph left over costs ``UNMATCHED`` nats.
4. Left-over ink must be explained: a left-over symbol whose box lies mostly (>= 50 %) inside the box of a
   matched ordinary glyph is a split symbol (an "=" read as two strokes); a left-over glyph whose box lies
   mostly inside a matched symbol is a merged pair; a matched multi-stroke symbol much wider than its
   glyph holds stray ink. Two matched symbols written in each other's places, each nearer the other's
   glyph (:func:`_swaps`: "q_2 k_1" fitted to "q_1 k_2", a fraction upside down), are swapped. Given the
   engine's classifier, a matched multi-stroke symbol that reads as another token, with a stroke lying
   apart from its glyph while its other strokes alone read as the glyph, holds another glyph's ink
   (:func:`_merged_stray`: a superscript T grouped with the S before it). Anything
   else (an extra "-1", a missing "\\sqrt", a container glyph such as a fraction bar or a bracket) is
   real evidence that the ink is not this form.
5. Given the engine's ``classify_groups``, the best forms with left-overs are fitted again with the
   strokes regrouped by the form (:func:`regroup_form`): the engine's grouping is what fails most often.

:func:`verified_form` then applies the decision rule, the same for right and wrong forms (nothing here
knows which is which). First the ink's own evidence (:func:`evidence_ok`, issue 13): a form the user did
not write must not win for being the nearest of the card's forms, so each form is also judged on its own
terms, glyph by glyph (:func:`_evidence`): the classifier's deficit for the glyph's token against the best
token of its kind, the script level each glyph takes from the previous one (a superscript written raised),
and, given the engine's own reading fitted the same way, whether the form fits the ink better than that
reading (:func:`form_accepted`). Forms failing it are set aside; the thresholds are calibrated on real
layouts of the training ink's calibration writers (scripts/calibrate_evidence.py, weights/evidence.json;
measured on dev by benchmarks/context_real.py). Then, among the rest: the best-fitting form wins when no left-over is unexplained, at most
``max_unmatched`` symbols and glyphs are left over, no matched symbol clearly contradicts its glyph (the
classifier is >= ``strong`` sure of another token of the same kind, :func:`token_kind`: a digit for a
digit, a letter for a letter, an operator for an operator, and gives the glyph's < ``weak``; a symbol
of another kind, a "+" where a "t" is typeset or a dot where a "T" is, is a look-alike the classifier
confused, not another expression; but a root or a sum, typeset or read, against anything else is a
contradiction, :data:`STRUCTURES`), and the next different form costs at least ``margin`` nats more. Otherwise None: the engine's open reading stands.
(Measured alternatives: comparing only forms without unexplained left-overs read 0.7 % more steps right
but pulled 3.5 % more novel wrong steps to a reference step; assigning the symbols once more to the
glyphs moved by the local drift read 1.3 % more steps right but read one more declared wrong step as
right and pulled 1.3 % more novel wrong steps (the drift adapts the form to the ink, swaps included);
counting as stray ink any stroke of a matched symbol that lies less than 25 % inside its glyph's padded
box read the last declared wrong step right (softmax(S^T), its T grouped into the S) but lost 13.6 % of
the exact readings (the fitted boxes are not that exact); none taken.)

Measured on benchmarks/derivation_steps.py (docs/benchmarks.md). A wrong step that is not among the
card's forms may still be pulled to the nearest form when the only difference is a symbol the
classifier cannot tell apart; docs/recogniser.md gives that rate too.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import RecognitionContext, SymbolAlternatives
from whiteboard_app.recognition.relation_evidence import relation_llr, script_edges, typeset_tree

__all__ = [
    "CardVerifier",
    "FormMatch",
    "InkSymbol",
    "evidence_ok",
    "evidence_refusal",
    "evidence_thresholds",
    "form_accepted",
    "form_refusal",
    "ink_symbols",
    "match_form",
    "match_forms",
    "regroup_form",
    "verified_form",
    "warm_up",
    "is_warm",
    "warm_in_background",
    "why_not",
]

#: Probability floor of a token the classifier did not list for a symbol (its cost is -ln EPS = 6.9 nats).
EPS = 1e-3
#: Cost in nats of a symbol or glyph that is left over.
UNMATCHED = 4.0
#: Position costs: nats per mean glyph advance (x) and per median glyph height (y).
X_COST = 2.5
Y_COST = 1.5
#: Matched neighbours whose median offset moves a glyph's fitted box (local drift of the writing).
LOCAL_K = 4
#: Where a regrouped form's position costs are weighed: "fit" (the glyphs where the form's fit put them,
#: before the local drift, as every form's first fit is weighed) or "drift" (after it; before session 8).
REGROUP_COST_FRAME = "fit"
#: A multi-stroke symbol wider than this times its glyph's width (+ 0.2 advance) holds stray ink.
STRAY_WIDTH = 1.5
#: ... or taller than this times its glyph's height (+ 0.2 height).
STRAY_HEIGHT = 1.6
#: A symbol written wider or taller than its glyph holds stray ink only when one of its strokes lies less
#: than this share inside the glyph's padded box (the "-" of a "-z" grouped as one symbol lies beside the
#: z; the strokes of a "+" written wide, a tall "lim" or a round theta all lie on their glyph); 0: the
#: size alone decides (before session 8).
STRAY_OUTSIDE = 0.3
#: Glyphs that enclose or span others: ink inside them is not a split piece of them.
CONTAINERS = frozenset(
    {
        "frac_bar",
        "sqrt",
        "sum",
        "prod",
        "int",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "|",
        "lbrace",
        "rbrace",
        "\\sqrt",
        "\\sum",
        "\\prod",
        "\\int",
    }
)


@dataclass(frozen=True, slots=True)
class InkSymbol:
    """One stroke group of the ink: box (x, y, w, h) in canvas px, y downwards, and token -> probability."""

    box: tuple[float, float, float, float]
    probs: dict[str, float]
    stroke_ids: tuple[int, ...] = ()
    stroke_boxes: tuple[tuple[float, float, float, float], ...] = ()  # one per stroke id, canvas px


@dataclass(frozen=True, slots=True)
class FormMatch:
    """How well the ink fits one expected form.

    ``cost`` in nats (label + position + left-over costs; lower is better); ``unmatched_ink`` /
    ``unmatched_glyphs`` count left-overs and ``unexplained`` those of them that are not split or merged
    symbols; ``contradictions`` are (top probability, glyph's probability, top token, glyph's token) of
    matched symbols whose classifier's first choice is another token.
    """

    latex: str
    kind: str
    cost: float
    n_glyphs: int
    unmatched_ink: int
    unmatched_glyphs: int
    unexplained: int
    contradictions: tuple[tuple[float, float], ...]
    #: per matched glyph, in reading order: (token, class deficit, level residual, size residual, typeset
    #: offset), see :func:`_evidence`; what :func:`verified_form` weighs as the ink's own evidence.
    evidence: tuple[tuple[str, float, float, float, float], ...] = ()
    #: per matched glyph, in reading order: (token, script level, ln written / typeset height before the
    #: size model, the symbol's classifier probabilities as (token, p) pairs, the symbol's stroke ids, and
    #: for a Latin letter where it sits on its line, (top, bottom, mates) in the line's x-heights or None,
    #: :func:`_line_places`), see :func:`_evidence`; what :func:`favour` weighs between two look-alike
    #: tokens on the same strokes. Fits stored before session 10 have the first five items only.
    glyph_ink: tuple[tuple, ...] = ()
    #: the form's script edges over the matched ink symbols' boxes, for the relation model's evidence
    #: (:func:`whiteboard_app.recognition.relation_evidence.script_edges`; ``relation_llr`` threshold).
    relation_ink: tuple = ()


def ink_symbols(ink: StepInk, symbols: Sequence[SymbolAlternatives]) -> list[InkSymbol]:
    """The engine's symbols as boxes (from the ink's strokes, by stroke id) with token probabilities
    (labels normalised by :func:`whiteboard_app.recognition.context.normalize_tokens`). Symbols whose
    strokes are not in the ink are skipped."""
    by_id = {s.id: s for s in ink.strokes}
    out = []
    for sym in symbols:
        pts = [(p.x, p.y) for i in sym.stroke_ids if i in by_id for p in by_id[i].points]
        if not pts or not sym.labels:
            continue
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        sids = tuple(i for i in sym.stroke_ids if i in by_id)
        out.append(
            InkSymbol(
                (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)),
                _probs(sym.labels),
                sids,
                tuple(_box([(p.x, p.y) for p in by_id[i].points]) for i in sids),
            )
        )
    return out


def _box(pts) -> tuple[float, float, float, float]:
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _stray_strokes(stroke_boxes, glyph_box, params) -> int:
    """1 when a multi-stroke symbol is much wider than the glyph it is matched to (its strokes span
    more than STRAY_WIDTH x the glyph's width + 0.2 advance, or STRAY_HEIGHT x its height + 0.2) and one
    of its strokes lies less than STRAY_OUTSIDE inside the glyph's padded box: ink the form does not
    explain, e.g. the "-" of a "-z" the engine grouped as one symbol, matched to the glyph z. 0 otherwise
    (a "+" written wide, both strokes on its glyph). ``stroke_boxes``: canvas px (x, y, w, h);
    ``glyph_box``: the fitted glyph in the common frame (u, v, w, h); ``params``: the ink frame."""
    if len(stroke_boxes) < 2:
        return 0
    u, v, w, h = _frame(list(stroke_boxes), params)
    span_w = float(max(u + w / 2) - min(u - w / 2))
    span_h = float(max(v + h / 2) - min(v - h / 2))
    wide = (
        span_w > STRAY_WIDTH * max(glyph_box[2], 0.3) + 0.2
        or span_h > STRAY_HEIGHT * max(glyph_box[3], 0.3) + 0.2
    )
    if not wide or STRAY_OUTSIDE <= 0.0:
        return int(wide)
    pad = _padded(glyph_box)
    return int(any(_inside((a, b, c, d), pad) < STRAY_OUTSIDE for a, b, c, d in zip(u, v, w, h, strict=True)))


def _probs(labels) -> dict[str, float]:
    """(label LaTeX, probability) pairs as token -> probability."""
    from whiteboard_app.recognition.tokens import normalize_tokens

    probs: dict[str, float] = {}
    for label, p in labels:
        toks = normalize_tokens(label)
        key = toks[0] if len(toks) == 1 else label
        probs[key] = max(probs.get(key, 0.0), float(p))
    return probs


def _median(values: list[float]) -> float:
    """The median of a non-empty list as ``numpy.median`` gives it (the middle value, or the mean of the two
    middle ones: the same float), without numpy's overhead on a few values (issue 16: the fits of a
    card's forms took a fifth of the verdict's time in ``numpy.median``)."""
    v = sorted(values)
    k = len(v) // 2
    return v[k] if len(v) % 2 else (v[k - 1] + v[k]) / 2


def _frame_params(boxes) -> tuple[float, float, float, float]:
    """(left edge, mean advance, median centre y, median height) of boxes (x, y, w, h)."""
    b = [(float(x), float(y), float(w), float(h)) for x, y, w, h in boxes]
    x0 = min(x for x, _y, _w, _h in b)
    x1 = max(x + w for x, _y, w, _h in b)
    adv = max((x1 - x0) / len(b), 1e-9)
    tall = [h for _x, _y, w, h in b if h > 0.3 * w]
    mh = max(_median(tall or [h for _x, _y, _w, h in b]), 1e-9)
    return x0, adv, _median([y + h / 2 for _x, y, _w, h in b]), mh


def _frame(boxes, params=None):
    """Centres and sizes in the common frame: (u, v, w, h) arrays; see the module docstring."""
    import numpy as np

    b = np.asarray(boxes, float)
    x0, adv, cy0, mh = params or _frame_params(boxes)
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    return (cx - x0) / adv, (cy - cy0) / mh, b[:, 2] / adv, b[:, 3] / mh


@functools.lru_cache(maxsize=1024)
def _glyph_frame(boxes: tuple[tuple[float, float, float, float], ...]):
    """:func:`_frame` of a form's glyph boxes, made once per form (a card's forms are fitted to every step
    written for it, several ways each: issue 16); the arrays are read-only."""
    out = _frame(boxes)
    for a in out:
        a.setflags(write=False)
    return out


def _padded(box, pad: float = 0.2):
    """Box (u, v, w, h) grown by ``pad`` frame units (advances, heights) in each dimension: a fitted glyph
    box is only as exact as the fit."""
    return (box[0], box[1], box[2] + pad, box[3] + pad)


def _dist(a, b) -> float:
    """Distance between the centres of two boxes (u, v, w, h), each axis in units of box b's size."""
    return math.hypot((a[0] - b[0]) / max(b[2], 0.25), (a[1] - b[1]) / max(b[3], 0.25))


def _inside(a, b) -> float:
    """Share of box a's area inside box b; boxes as (u, v, w, h) centred."""
    ua, va, wa, ha = a
    wa, ha = max(wa, 0.05), max(ha, 0.05)  # a dot or a straight line still has a place
    ub, vb, wb, hb = b
    ox = max(0.0, min(ua + wa / 2, ub + wb / 2) - max(ua - wa / 2, ub - wb / 2))
    oy = max(0.0, min(va + ha / 2, vb + hb / 2) - max(va - ha / 2, vb - hb / 2))
    return ox * oy / max(wa * ha, 1e-9)


@dataclass
class _Fit:
    """One assignment of ink symbols to a form's glyphs, in the common frame."""

    pairs: list[tuple[int, int]]
    cost: float
    sbox: list[tuple[float, float, float, float]]
    gbox: list[tuple[float, float, float, float]]
    params: tuple[float, float, float, float]  # the ink frame (see _frame_params)
    gbox0: list[
        tuple[float, float, float, float]
    ]  # the glyphs where the fit put them, before the local drift


def _fit(symbols: Sequence[InkSymbol], glyphs: Sequence) -> _Fit:
    import numpy as np

    from whiteboard_app.recognition.fastload import linear_sum_assignment

    n, m = len(symbols), len(glyphs)
    params = _frame_params([s.box for s in symbols])
    ui, vi, wi, hi = _frame([s.box for s in symbols], params)
    ug, vg, wg, hg = _glyph_frame(tuple(tuple(g.box) for g in glyphs))
    ug, wg = ug * (m / n), wg * (m / n)  # both in the ink's advances
    tokens = [g.token for g in glyphs]
    floor = -math.log(EPS)  # a token the classifier did not list
    lab = np.array(
        [
            [costs.get(t, floor) for t in tokens]
            for costs in ({t: -math.log(max(p, EPS)) for t, p in s.probs.items()} for s in symbols)
        ]
    )
    big = np.zeros((n + m, n + m))
    big[:n, m:] = big[n:, :m] = 1e6
    big[np.arange(n), m + np.arange(n)] = UNMATCHED
    big[n + np.arange(m), np.arange(m)] = UNMATCHED
    pairs: list[tuple[int, int]] = []
    for it in range(2):
        pos = X_COST * np.abs(ui[:, None] - ug[None, :]) + Y_COST * np.abs(vi[:, None] - vg[None, :])
        big[:n, :m] = lab + pos
        rows, cols = linear_sum_assignment(big)
        pairs = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if i < n and j < m]
        if it == 0 and len(pairs) >= 3:  # refit the form's x to the ink's (spacing differs)
            ii = np.array([p[0] for p in pairs])
            jj = np.array([p[1] for p in pairs])
            (scale, shift), *_ = np.linalg.lstsq(np.vstack([ug[jj], np.ones(len(jj))]).T, ui[ii], rcond=None)
            if scale > 0:
                ug, wg = scale * ug + shift, wg * scale
    # summed in pair order as Python floats (the same sum as over numpy scalars, much faster)
    cost = float(sum(big[[i for i, _ in pairs], [j for _, j in pairs]].tolist())) + UNMATCHED * (
        (n - len(pairs)) + (m - len(pairs))
    )
    gbox0 = [(ug[j], vg[j], wg[j], hg[j]) for j in range(m)]
    if (
        len(pairs) >= 3
    ):  # local drift of handwriting: shift each glyph by its nearest matched neighbours' offset
        ii = np.array([p[0] for p in pairs])
        jj = np.array([p[1] for p in pairs])
        du, dv = ui[ii] - ug[jj], vi[ii] - vg[jj]
        near = np.argsort(np.abs(ug[:, None] - ug[jj][None, :]), axis=1)[:, :LOCAL_K]
        ug = ug + np.median(du[near], axis=1)
        vg = vg + np.median(dv[near], axis=1)
    return _Fit(
        pairs,
        cost,
        [(ui[i], vi[i], wi[i], hi[i]) for i in range(n)],
        [(ug[j], vg[j], wg[j], hg[j]) for j in range(m)],
        params,
        gbox0,
    )


#: Two matched symbols whose glyphs lie at least SWAP_GAP apart (in nats of the position cost: X_COST per
#: advance, Y_COST per height), each nearer the other's glyph than its own, are swapped.
SWAP_GAP = 0.75


def _swaps(pairs) -> int:
    """How many pairs of matched symbols are swapped (see SWAP_GAP): the ink writes them in each other's
    places (a "q_2 k_1" fitted to "q_1 k_2", or a fraction written upside down, each symbol moved to the
    other's glyph), which the position cost alone lets through when the classifier is sure of both.
    ``pairs``: (ink box, glyph box) in the common frame, (u, v, w, h); the glyph where the form's fit
    put it, before the local drift (which follows the ink, swaps included)."""
    import numpy as np

    if len(pairs) < 2:
        return 0
    su = np.array([float(a[0]) for a, _ in pairs])
    sv = np.array([float(a[1]) for a, _ in pairs])
    gu = np.array([float(b[0]) for _, b in pairs])
    gv = np.array([float(b[1]) for _, b in pairs])
    d = X_COST * np.abs(su[:, None] - gu[None, :]) + Y_COST * np.abs(
        sv[:, None] - gv[None, :]
    )  # ink a, glyph b
    own = np.diag(d)
    sep = X_COST * np.abs(gu[:, None] - gu[None, :]) + Y_COST * np.abs(gv[:, None] - gv[None, :])
    swapped = (sep > SWAP_GAP) & (d < own[:, None]) & (d.T < own[None, :])  # symmetric: each pair twice
    return int(swapped.sum()) // 2


def _contradictions(pairs, probs_of, glyphs) -> tuple[tuple[float, float, str, str], ...]:
    out = []
    for i, j in pairs:
        probs = probs_of(i)
        if not probs:
            continue
        top, p_top = max(probs.items(), key=lambda kv: kv[1])
        if top != glyphs[j].token:
            out.append((p_top, probs.get(glyphs[j].token, 0.0), top, glyphs[j].token))
    return tuple(out)


#: Binary operators and relations (tokens as :func:`~whiteboard_app.recognition.context.normalize_tokens`
#: gives them): one of them written for another changes the expression.
OPERATORS = frozenset(
    {
        "+",
        "-",
        "=",
        "<",
        ">",
        "\\pm",
        "\\mp",
        "\\times",
        "\\div",
        "\\cdot",
        "\\le",
        "\\ge",
        "\\leq",
        "\\geq",
        "\\ne",
        "\\neq",
        "\\approx",
        "\\to",
        "\\rightarrow",
        "\\propto",
    }
)


#: Glyphs that give an expression its structure: a confident other symbol where one is typeset, or one of
#: them where another glyph is, is another expression whatever the kinds.
STRUCTURES = frozenset({"\\sqrt", "sqrt", "\\sum", "\\prod", "\\int", "\\frac", "frac_bar"})


def token_kind(token: str) -> str:
    """The kind of a token: "digit", "letter" (a Latin letter, or a Greek one by its LaTeX name, looked up in
    the Unicode character names: ``\\theta`` is GREEK SMALL LETTER THETA), "operator" (:data:`OPERATORS`)
    or "other" (brackets, dots, big operators, function names)."""
    import unicodedata

    if len(token) == 1:
        if token.isdigit():
            return "digit"
        if token.isascii() and token.isalpha():
            return "letter"
    if token in OPERATORS:
        return "operator"
    if token.startswith("\\") and token[1:].isalpha():
        name = token[1:]
        case = "CAPITAL" if name[0].isupper() else "SMALL"
        try:
            unicodedata.lookup(
                f"GREEK {case} LETTER {name.upper().replace('LAMBDA', 'LAMDA')}"
            )  # Unicode's spelling
            return "letter"
        except KeyError:
            pass
    return "other"


def match_form(symbols: Sequence[InkSymbol], glyphs: Sequence, latex: str = "", kind: str = "") -> FormMatch:
    """Fit the ink's symbols to one form's typeset glyphs (``typeset.Glyph``: name, token, box).
    Raises ValueError when either sequence is empty."""
    if not symbols or not glyphs:
        raise ValueError("match_form needs ink symbols and glyphs")
    return _match(symbols, glyphs, latex, kind, _fit(symbols, glyphs))


def _match(symbols: Sequence[InkSymbol], glyphs: Sequence, latex: str, kind: str, fit: _Fit) -> FormMatch:
    """:func:`match_form` on a fit already made."""
    n, m = len(symbols), len(glyphs)
    pairs, sbox, gbox = fit.pairs, fit.sbox, fit.gbox
    mi = {i for i, _ in pairs}
    mj = {j for _, j in pairs}
    bad = sum(
        1
        for i in range(n)
        if i not in mi
        and not any(
            glyphs[j].name not in CONTAINERS and _inside(sbox[i], _padded(gbox[j])) >= 0.5 for j in mj
        )
    )
    bad += sum(
        1
        for j in range(m)
        if j not in mj
        and (glyphs[j].name in CONTAINERS or not any(_inside(gbox[j], sbox[i]) >= 0.5 for i in mi))
    )
    bad += sum(
        _stray_strokes(symbols[i].stroke_boxes, gbox[j], fit.params)
        for i, j in pairs
        if glyphs[j].name not in CONTAINERS
    )
    bad += _swaps([(sbox[i], fit.gbox0[j]) for i, j in pairs])
    contra = _contradictions(pairs, lambda i: symbols[i].probs, glyphs)
    evid, gink = _evidence(
        [(j, sbox[i], symbols[i].probs, symbols[i].stroke_ids) for i, j in pairs], glyphs, fit.gbox0
    )
    rel = script_edges([(j, sbox[i]) for i, j in pairs], glyphs, latex, fit.params)
    return FormMatch(
        latex, kind, float(fit.cost), m, n - len(pairs), m - len(pairs), bad, contra, evid, gink, rel
    )


#: Classes written with the same shape as a glyph's own class: the classifier's reading of that shape
#: counts as the glyph's for its class evidence (a centred dot is how people write \cdot).
SAME_SHAPE = {"cdot": (".",)}


def _evidence(items, glyphs, gbox0) -> tuple[tuple, tuple]:
    """The ink's own evidence for each matched glyph, in reading order (the glyphs' order):
    (glyph's token, class deficit, level residual, size residual, typeset offset).

    * class deficit: ``ln p(top token) - ln p(glyph's token)`` of the symbol's classifier probabilities
      when the top token is of the glyph's kind (:func:`token_kind`: a digit against a digit, a letter
      against a letter; 0 when the glyph's token is the top one; its probability floored at EPS): how much
      more the classifier believes another symbol of that kind. A top token of another kind (a dot where a
      "T" is, a "0" where a sigma is) is a look-alike the classifier confused: 0, as for the
      contradictions; a class of the same shape, :data:`SAME_SHAPE`, counts as the glyph's;
    * level residual: the symbol's vertical offset from the previous matched glyph's symbol (reading order:
      a script from its base, a denominator from its numerator) minus the same offset between the typeset
      glyphs, in median glyph heights (ink's and form's frames); a superscript written where the form has a
      subscript gives about -1, a symbol on the line where the form raises it about +0.5 (0 for the first);
    * size residual: ``ln`` of the symbol's height over the glyph's, each in its frame's median heights,
      less what real handwriting writes for that token at the glyph's script level where that is more
      lenient than the typeset size (:func:`_size_allowance`; :func:`expected_size`, the size model
      learnt from the training ink); a capital written where the form has a small letter: about +0.3;
    * typeset offset: the form's own vertical offset from the previous glyph (median glyph heights).

    ``items``: (glyph index, ink box in the common frame (u, v, w, h), token probabilities, stroke ids);
    ``gbox0``: the glyphs where the form's fit puts them (before the local drift, which follows the ink).
    Returns (those records, the glyphs' :attr:`FormMatch.glyph_ink` records)."""
    out = []
    ink_out = []
    prev = None
    levels = glyph_levels(tuple(glyphs))
    items = sorted(items, key=lambda t: t[0])
    places = _line_places(items, glyphs, levels)
    for (j, box, probs, ids), place in zip(items, places, strict=True):
        tok = glyphs[j].token
        p_tok = max(
            probs.get(tok, 0.0), *(probs.get(t, 0.0) for t in SAME_SHAPE.get(glyphs[j].name, ())), EPS
        )
        kind = token_kind(tok)
        first = max(probs, key=probs.get) if probs else tok
        if token_kind(first) != kind:  # the classifier reads a look-alike of another kind ("0" for a sigma)
            deficit = 0.0
        else:
            deficit = max(0.0, math.log(max(probs[first], EPS)) - math.log(p_tok))
        g = gbox0[j]
        level = offset = 0.0
        if prev is not None:
            pbox, pg = prev
            offset = float(g[1]) - float(pg[1])
            level = (float(box[1]) - float(pbox[1])) - offset
        raw = math.log(max(float(box[3]), 0.05)) - math.log(max(float(g[3]), 0.05))
        size = raw - _size_allowance(tok, levels[j])
        out.append((tok, round(deficit, 4), round(level, 4), round(size, 4), round(offset, 4)))
        top = tuple(sorted(((t, round(float(p), 6)) for t, p in probs.items()), key=lambda tp: -tp[1])[:8])
        ink_out.append((tok, levels[j], round(raw, 4), top, tuple(ids), place))
        prev = (box, g)
    return tuple(out), tuple(ink_out)


def _line_places(items, glyphs, levels) -> list:
    """Where each matched Latin letter sits on its line (:func:`.case_evidence.line_positions`: ``(top,
    bottom, mates)`` over the line its mates write, in its x-heights, rounded), None for other glyphs or a
    letter without line mates. ``items`` as :func:`_evidence`'s, sorted by glyph index."""
    from whiteboard_app.recognition.case_evidence import line_positions

    toks = [glyphs[j].token for j, *_ in items]
    want = [len(t) == 1 and t.isascii() and t.isalpha() for t in toks]
    if not any(want):
        return [None] * len(items)
    got = line_positions(
        toks,
        [tuple(glyphs[j].box) for j, *_ in items],
        [levels[j] for j, *_ in items],
        [
            (float(b[0]) - float(b[2]) / 2, float(b[1]) - float(b[3]) / 2, float(b[2]), float(b[3]))
            for _j, b, *_ in items
        ],
        want=want,
    )
    return [None if g is None else (round(g[0], 4), round(g[1], 4), g[2]) for g in got]


#: Typeset scale of a script level: TeX draws a script at 70 % and a script of a script at 50 %; a glyph
#: whose scale lies below the geometric mean of two neighbouring levels' scales is at the deeper one.
SCRIPT_SCALES = (1.0, 0.7, 0.5)


def _base_height(token: str) -> float | None:
    """Typeset height of ``token`` at base size over an ``M``'s (both typeset on one line), or None for a
    token that is not a single letter, digit or Greek letter, or cannot be typeset."""
    if not (
        (len(token) == 1 and token.isascii() and token.isalnum())
        or (token.startswith("\\") and token[1:].isalpha())
    ):
        return None
    got = _BASE_HEIGHTS.get(token, False)
    if got is not False:
        return got
    from whiteboard_app.recognition.typeset import LayoutError, glyph_layout

    try:
        layout = glyph_layout("M" + token if token.startswith("\\") else f"M {token}")
        got = layout[1].box[3] / layout[0].box[3] if len(layout) == 2 and layout[0].box[3] > 0 else None
    except LayoutError:
        got = None
    _BASE_HEIGHTS[token] = got
    return got


_BASE_HEIGHTS: dict[str, float | None] = {}


def glyph_levels(glyphs: tuple) -> tuple[int, ...]:
    """Script level of each typeset glyph (0 on the line, 1 a script, 2 a script of a script), from its
    typeset height against the same token's at base size (:func:`_base_height`), relative to the largest
    such scale in the form (a form always has a glyph on its line); 0 for glyphs other than letters,
    digits and Greek letters (no size evidence is weighed for them)."""
    got = _LEVELS.get(glyphs)
    if got is not None:
        return got
    rel = [None if (b := _base_height(g.token)) is None or b <= 0 else g.box[3] / b for g in glyphs]
    top = max((r for r in rel if r is not None), default=0.0)
    out = []
    for r in rel:
        scale = r / top if r is not None and top > 0 else 1.0
        level = 0
        while level + 1 < len(SCRIPT_SCALES) and scale < math.sqrt(
            SCRIPT_SCALES[level] * SCRIPT_SCALES[level + 1]
        ):
            level += 1
        out.append(level)
    got = tuple(out)
    if len(_LEVELS) > 4096:
        _LEVELS.clear()
    _LEVELS[glyphs] = got
    return got


_LEVELS: dict[tuple, tuple[int, ...]] = {}


def size_class(token: str) -> str:
    """The size model's class of a token: ``lower``, ``upper``, ``digit``, ``greek`` or ``other``."""
    if len(token) == 1 and token.isascii():
        if token.isdigit():
            return "digit"
        if token.isalpha():
            return "lower" if token.islower() else "upper"
    if token.startswith("\\") and token[1:].isalpha():
        return "greek"
    return "other"


def expected_size(token: str, level: int) -> float:
    """What real handwriting writes for ``token`` at script ``level``: the median of ``ln`` (written
    height / typeset height), each in its expression's median glyph heights, over the training ink's
    glyphs of that token at that level (``weights/size_model.json``, written by
    ``scripts/calibrate_evidence.py sizes`` from the training split's writers, never the calibration
    writers nor dev), else of the token's class (:func:`size_class`) at that level; 0 (the typeset size)
    when neither was seen often enough or the model is missing."""
    model = size_model()
    key = f"{token}|{level}"
    if key in model["tokens"]:
        return model["tokens"][key]
    return model["classes"].get(f"{size_class(token)}|{level}", 0.0)


def _size_allowance(token: str, level: int) -> float:
    """:func:`expected_size` for the size residual of the case evidence, taken only where it makes the
    rule more lenient: a small letter real handwriting writes larger than typeset (a script the writer
    did not shrink to TeX's 70 %), a capital written smaller; never stricter than the typeset size (ink
    composed in typeset proportions, as the tests and the composed benchmark make it, is judged as before).
    """
    expected = expected_size(token, level)
    if len(token) == 1 and token.isascii() and token.isalpha():
        return max(expected, 0.0) if token.islower() else min(expected, 0.0)
    return expected


def size_model() -> dict:
    """``weights/size_model.json`` as {"tokens": {"x|1": median}, "classes": {"lower|1": median}} (entries
    seen at least :data:`SIZE_MIN_COUNT` times); empty tables when the file is missing or unreadable."""
    global _SIZE_MODEL
    if _SIZE_MODEL is None:
        import json
        from pathlib import Path

        path = Path(__file__).resolve().parent / "weights" / "size_model.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            _SIZE_MODEL = {
                part: {k: float(v[0]) for k, v in raw[part].items() if int(v[1]) >= SIZE_MIN_COUNT}
                for part in ("tokens", "classes")
            }
            _SIZE_MODEL.update(
                {
                    f"{part}_spread": {
                        k: float(v[2])
                        for k, v in raw[part].items()
                        if int(v[1]) >= SIZE_MIN_COUNT and len(v) > 2
                    }
                    for part in ("tokens", "classes")
                }
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            _SIZE_MODEL = {"tokens": {}, "classes": {}}
    return _SIZE_MODEL


def size_spread(token: str, level: int) -> float:
    """How widely real handwriting's size of ``token`` at script ``level`` scatters around
    :func:`expected_size`: the standard deviation of ``ln`` (written / typeset height), estimated as 1.4826
    times the size model's median absolute deviation (the normal distribution's consistency factor), of
    the token's entry, else its class's; at least :data:`SIZE_SPREAD_FLOOR`, and
    :data:`SIZE_SPREAD_DEFAULT` when the model has neither."""
    model = size_model()
    key = f"{token}|{level}"
    mad = model.get("tokens_spread", {}).get(key)
    if mad is None or key not in model["tokens"]:
        mad = model.get("classes_spread", {}).get(f"{size_class(token)}|{level}")
    if mad is None:
        return SIZE_SPREAD_DEFAULT
    return max(SIZE_SPREAD_FLOOR, 1.4826 * mad)


#: Floor of :func:`size_spread` (a token seen 20 times written all alike is not that exact a ruler).
SIZE_SPREAD_FLOOR = 0.12
#: :func:`size_spread` without a size model: about the spread of the training ink's letters.
SIZE_SPREAD_DEFAULT = 0.25


#: A token's (or class's) entry of the size model is used when it was seen this many times in training.
SIZE_MIN_COUNT = 20
_SIZE_MODEL: dict | None = None


#: Share of a stroke's box inside a glyph's box for the stroke to join that glyph when regrouping.
JOIN_SHARE = 0.3
#: Share of a stroke's box inside an empty glyph's box for it to move there from its symbol.
MOVE_SHARE = 0.6
#: ... or that share of it when the stroke's centre is nearer the empty glyph's centre than its own glyph's.
TOUCH_SHARE = 0.1
#: Distance (in advances and heights of the frame) within which a left-over stroke fills an empty glyph.
NEAR = 0.75
#: A left-over stroke at most this big (advances, heights) and at most DOT_RISE heights above the top of an
#: "i" or "j" glyph is its dot.
DOT_SIZE = 0.25
DOT_RISE = 1.0

Classify = Callable[[StepInk, Sequence[Sequence[int]]], Sequence[Sequence[tuple[str, float]]]]


def _split_merged(
    ink, glyphs, group: dict[int, list[int]], fit: _Fit, fbox, classify: Classify, keep=()
) -> None:
    """Give each still empty glyph a share of a neighbouring symbol's strokes when the engine merged two
    symbols into one: the neighbour (the nearest glyph on each side, in x, with >= 2 strokes) is cut
    between its strokes in x order at every cut point, both parts are classified, and the cut that
    reads best as (neighbour's token, empty glyph's token) is taken if it costs less than leaving the
    glyph empty. No cut separates the strokes of a symbol in ``keep`` (stroke-id sets of engine symbols
    the classifier read confidently, :data:`KEEP_READ`: a "+" is not cut into a "-" and a stroke of the
    next glyph). Changes ``group`` in place."""
    empty = [j for j in range(len(glyphs)) if j not in group]
    if not empty:
        return
    trials = []  # (j, k, part for k, part for j)
    for j in empty:
        gu = fit.gbox[j][0]
        left = [k for k in group if fit.gbox[k][0] <= gu and len(group[k]) >= 2]
        right = [k for k in group if fit.gbox[k][0] > gu and len(group[k]) >= 2]
        for k, j_right in (
            (max(left, key=lambda k: fit.gbox[k][0], default=None), True),
            (min(right, key=lambda k: fit.gbox[k][0], default=None), False),
        ):
            if k is None or abs(fit.gbox[k][0] - gu) > 2.0:
                continue
            ids = sorted(group[k], key=lambda sid: fbox([sid])[0])
            for c in range(1, len(ids)):
                first, second = ids[:c], ids[c:]
                if any(not one.isdisjoint(first) and not one.isdisjoint(second) for one in keep):
                    continue
                trials.append((j, k, first, second) if j_right else (j, k, second, first))
    if not trials:
        return
    parts = [t[2] for t in trials] + [t[3] for t in trials] + [group[k] for k in {t[1] for t in trials}]
    labels = classify(ink, parts)
    n_t = len(trials)
    whole = {
        k: _probs(lab)
        for k, lab in zip(
            sorted({t[1] for t in trials}, key=list({t[1]: 0 for t in trials}).index),
            labels[2 * n_t :],
            strict=True,
        )
    }

    def nll(probs, j):
        return -math.log(max(probs.get(glyphs[j].token, 0.0), EPS))

    best: dict[int, tuple[float, int, list[int], list[int]]] = {}
    for t, (j, k, part_k, part_j) in enumerate(trials):
        gain = nll(whole[k], k) + UNMATCHED - nll(_probs(labels[t]), k) - nll(_probs(labels[n_t + t]), j)
        if gain > 0 and (j not in best or gain > best[j][0]):
            best[j] = (gain, k, part_k, part_j)
    for j, (_gain, k, part_k, part_j) in sorted(best.items(), key=lambda kv: -kv[1][0]):
        if j in group or sorted(group.get(k, [])) != sorted(part_k + part_j):
            continue  # that neighbour was split for another glyph already
        group[k], group[j] = list(part_k), list(part_j)


#: An engine symbol the classifier reads as another token than its glyph's with at least this probability
#: is that one symbol: the regrouping does not give its strokes away as stray ink to make the form fit (a
#: "+" matched to a near miss's "-" glyph is a "+", not a "-" and a stroke of the next glyph). A symbol
#: read as its glyph's token may still give away a stroke that lies in another glyph (a "y" holding a bar
#: of the "=" beside it).
KEEP_READ = 0.9


def _read_as_one(symbols: Sequence[InkSymbol], i: int | None, ids: Sequence[int], token: str) -> bool:
    """Whether the stroke group ``ids`` is the engine's symbol ``i`` unchanged and the classifier reads it
    as a token other than ``token`` (its glyph's) with at least :data:`KEEP_READ`."""
    if i is None or KEEP_READ > 1.0:
        return False
    sym = symbols[i]
    if sorted(ids) != sorted(sym.stroke_ids) or not sym.probs:
        return False
    top, p = max(sym.probs.items(), key=lambda kv: kv[1])
    return top != token and p >= KEEP_READ


def regroup_form(
    ink: StepInk,
    symbols: Sequence[InkSymbol],
    glyphs: Sequence,
    classify: Classify,
    latex: str = "",
    kind: str = "",
) -> FormMatch:
    """:func:`match_form` with the ink's strokes regrouped by the form (the engine's grouping is often what
    fails): strokes of a left-over symbol join the glyph whose fitted box holds >= JOIN_SHARE of them; an
    empty glyph takes the strokes of other symbols that lie >= MOVE_SHARE inside it (and more inside it
    than inside their own glyph); left-over strokes centred within NEAR of a still empty glyph fill it (a
    symbol the engine misread); a left-over dot just above an "i" or "j" glyph joins it; a symbol that
    holds stray ink (much wider or taller than its glyph) gives each of its strokes that lies >= MOVE_SHARE
    inside another glyph that holds strokes (and < JOIN_SHARE inside its own) to that glyph (an "i" whose stem the engine grouped with the "2" beside it); each changed group is
    classified again by ``classify`` (the engine's ``classify_groups``) and the changed groups are
    assigned to their glyphs once more (by label and position, so that two regrouped symbols do not sit
    on each other's glyphs). A glyph left empty, a stroke left over, stray ink or a swap (:func:`_swaps`)
    is unexplained. Raises ValueError when either sequence is empty; ``classify`` errors propagate."""
    if not symbols or not glyphs:
        raise ValueError("regroup_form needs ink symbols and glyphs")
    return _regroup(ink, symbols, glyphs, classify, latex, kind, _fit(symbols, glyphs))


def _regroup(
    ink: StepInk,
    symbols: Sequence[InkSymbol],
    glyphs: Sequence,
    classify: Classify,
    latex: str,
    kind: str,
    fit: _Fit,
) -> FormMatch:
    """:func:`regroup_form` on a fit already made."""
    n, m = len(symbols), len(glyphs)
    by_id = {s.id: s for s in ink.strokes if s.points}

    def box_of(ids):
        pts = [(p.x, p.y) for i in ids for p in by_id[i].points]
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))

    def fbox(ids):
        u, v, w, h = _frame([box_of(ids)], fit.params)
        return (float(u[0]), float(v[0]), float(w[0]), float(h[0]))

    group: dict[int, list[int]] = {j: [k for k in symbols[i].stroke_ids if k in by_id] for i, j in fit.pairs}
    source = {j: i for i, j in fit.pairs}
    leftover: list[int] = []
    matched = {i for i, _ in fit.pairs}
    for i in range(n):
        if i in matched:
            continue
        for sid in symbols[i].stroke_ids:
            if sid not in by_id:
                continue
            b = fbox([sid])
            share, j = max(((_inside(b, _padded(fit.gbox[j])), j) for j in range(m)), default=(0.0, -1))
            if share >= JOIN_SHARE:
                group.setdefault(j, []).append(sid)
            else:
                leftover.append(sid)
    for j in range(m):
        if group.get(j):
            continue
        for k in list(group):
            if k == j or len(group[k]) < 2:
                continue
            for sid in list(group[k]):
                b = fbox([sid])
                here = _inside(b, fit.gbox[j])
                nearer = _dist(b, fit.gbox[j]) < _dist(b, fit.gbox[k])
                if (
                    here >= MOVE_SHARE and here > _inside(b, fit.gbox[k]) or here >= TOUCH_SHARE and nearer
                ) and len(group[k]) > 1:
                    group[k].remove(sid)
                    group.setdefault(j, []).append(sid)
    for j in range(m):  # an empty glyph takes the left-over strokes centred near it (a misread symbol)
        if group.get(j) or not leftover:
            continue
        gu, gv, gw, gh = fit.gbox[j]
        near = [
            sid
            for sid in leftover
            if abs(fbox([sid])[0] - gu) <= max(NEAR, gw / 2) and abs(fbox([sid])[1] - gv) <= max(NEAR, gh / 2)
        ]
        if near:
            group[j] = near
            leftover = [sid for sid in leftover if sid not in near]
    for sid in list(leftover):  # the dot of an i or a j, written apart from its stem
        u, v, w, h = fbox([sid])
        if max(w, h) > DOT_SIZE:
            continue
        dots = [
            (abs(u - fit.gbox[j][0]), j)
            for j in range(m)
            if glyphs[j].token in ("i", "j")
            and abs(u - fit.gbox[j][0]) <= max(NEAR, fit.gbox[j][2])
            and 0.0 <= fit.gbox[j][1] - fit.gbox[j][3] / 2 - v <= DOT_RISE
        ]
        if dots:
            group.setdefault(min(dots)[1], []).append(sid)
            leftover.remove(sid)
    for j in list(group):  # a symbol holding stray ink: its strokes that lie in another glyph move there
        ids = group[j]
        if (
            glyphs[j].name in CONTAINERS
            or len(ids) < 2
            or not _stray_strokes([box_of([sid]) for sid in ids], fit.gbox[j], fit.params)
            or _read_as_one(symbols, source.get(j), ids, glyphs[j].token)
        ):
            continue
        for sid in list(ids):
            b = fbox([sid])
            own = _inside(b, _padded(fit.gbox[j]))
            share, k = max(
                ((_inside(b, _padded(fit.gbox[k])), k) for k in range(m) if k != j and group.get(k)),
                default=(0.0, -1),
            )  # an empty glyph is _split_merged's: it weighs the cuts
            if share >= MOVE_SHARE and own < JOIN_SHARE and len(ids) > 1:
                ids.remove(sid)
                group.setdefault(k, []).append(sid)
    group = {j: ids for j, ids in group.items() if ids}
    keep = [
        frozenset(s.stroke_ids)
        for s in symbols
        if len(s.stroke_ids) > 1 and max(s.probs.values(), default=0.0) >= KEEP_READ
    ]
    _split_merged(ink, glyphs, group, fit, fbox, classify, keep)
    changed = [
        j for j in group if j not in source or sorted(group[j]) != sorted(symbols[source[j]].stroke_ids)
    ]
    probs: dict[int, dict[str, float]] = {j: symbols[source[j]].probs for j in group if j not in changed}
    if changed:
        for j, labels in zip(changed, classify(ink, [group[j] for j in changed]), strict=True):
            probs[j] = _probs(labels)
        if len(changed) > 1:  # the regrouped symbols may sit on each other's glyphs: assign them again
            import numpy as np

            from whiteboard_app.recognition.fastload import linear_sum_assignment

            boxes = {j: fbox(group[j]) for j in changed}
            cost_m = np.array(
                [
                    [
                        -math.log(max(probs[a].get(glyphs[b].token, 0.0), EPS))
                        + X_COST * abs(boxes[a][0] - fit.gbox[b][0])
                        + Y_COST * abs(boxes[a][1] - fit.gbox[b][1])
                        for b in changed
                    ]
                    for a in changed
                ]
            )
            rows, cols = linear_sum_assignment(cost_m)
            moved = {
                changed[c]: (group[changed[r]], probs[changed[r]]) for r, c in zip(rows, cols, strict=True)
            }
            for j, (ids, pr) in moved.items():
                group[j], probs[j] = ids, pr
    cost = 0.0
    # positions weighed where the form's fit put the glyphs, before the local drift, as _fit weighs every
    # form: against the drifted glyphs (which follow the ink) a regrouped form cost several nats less
    # than the same form unregrouped, and a regrouped near miss won over the unregrouped truth
    ref = fit.gbox0 if REGROUP_COST_FRAME == "fit" else fit.gbox
    for j, ids in group.items():
        u, v, _w, _h = fbox(ids)
        gu, gv, _gw, _gh = ref[j]
        cost += (
            -math.log(max(probs[j].get(glyphs[j].token, 0.0), EPS))
            + X_COST * abs(u - gu)
            + Y_COST * abs(v - gv)
        )
    empty = m - len(group)
    stray = sum(
        _stray_strokes([box_of([sid]) for sid in ids], fit.gbox[j], fit.params)
        for j, ids in group.items()
        if glyphs[j].name not in CONTAINERS
    )
    cost += UNMATCHED * (empty + len(leftover) + stray)
    swaps = _swaps([(fbox(ids), fit.gbox0[j]) for j, ids in group.items()])
    contra = _contradictions([(j, j) for j in group], lambda j: probs[j], glyphs)

    def level_box(
        ids,
    ):  # a dot the regrouping joined (an i's, written apart) does not move the symbol's level
        body = [sid for sid in ids if max(fbox([sid])[2:]) > DOT_SIZE]
        return fbox(body if body and len(body) < len(ids) else ids)

    evid, gink = _evidence(
        [(j, level_box(ids), probs[j], tuple(ids)) for j, ids in group.items()], glyphs, fit.gbox0
    )
    return FormMatch(
        latex,
        kind,
        float(cost),
        m,
        len(leftover),
        empty,
        empty + len(leftover) + stray + swaps,
        contra,
        evid,
        gink,
        script_edges([(j, level_box(ids)) for j, ids in group.items()], glyphs, latex, fit.params),
    )


def _letters(glyphs: Sequence, keep: frozenset[int] = frozenset()) -> tuple:
    """Function names typeset as one glyph (``\\log``) as the letters people write, each in its share
    of the word's box (the classifier reads handwritten function names letter by letter); the glyphs at
    the indices in ``keep`` stay one glyph."""
    from whiteboard_app.recognition.training.data import FUNCTION_CLASSES
    from whiteboard_app.recognition.typeset import Glyph

    out = []
    for k, g in enumerate(glyphs):
        word = FUNCTION_CLASSES.get(g.token)
        if word is None or k in keep:
            out.append(g)
            continue
        x, y, w, h = g.box
        out += [Glyph(c, c, (x + i * w / len(word), y, w / len(word), h)) for i, c in enumerate(word)]
    return tuple(out)


#: A function name's glyph stays one glyph in the mixed fit when its symbol gives the name this probability.
WORD_READ = 0.1


def _best_fit(syms: Sequence[InkSymbol], layout: tuple, latex: str, kind: str) -> tuple:
    """(FormMatch, glyphs, fit) of the way of writing the form's glyphs that the ink fits best (least
    unexplained, then lowest cost): function names (``\\log``) letter by letter (:func:`_letters`); when
    the form has one, also as one symbol each (the classifier has a class for each of
    :data:`~whiteboard_app.recognition.training.data.FUNCTION_CLASSES`, and the engine's grouper often
    reads a written "log" as that one symbol), and mixed: one glyph where that fit's symbol gives the name
    at least :data:`WORD_READ`, letters elsewhere."""
    from whiteboard_app.recognition.training.data import FUNCTION_CLASSES

    def fitted(glyphs):
        fit = _fit(syms, glyphs)
        return _match(syms, glyphs, latex, kind, fit), glyphs, fit

    letters = fitted(_letters(layout))
    if not any(g.token in FUNCTION_CLASSES for g in layout):
        return letters
    words = fitted(layout)
    read = frozenset(j for i, j in words[2].pairs if syms[i].probs.get(layout[j].token, 0.0) >= WORD_READ)
    mixed = _letters(layout, read)
    fits = [letters, words] + ([fitted(mixed)] if mixed not in (letters[1], layout) else [])
    return min(fits, key=lambda f: (f[0].unexplained, f[0].cost))


def match_forms(
    ink: StepInk,
    symbols: Sequence[SymbolAlternatives],
    context: RecognitionContext | None,
    classify: Classify | None = None,
    regroup_top: int = 4,
) -> list[FormMatch]:
    """Every typesettable form of ``context`` fitted to the ink, best (lowest cost) first. Forms with the
    same tokens are fitted once (first kind kept); forms that cannot be typeset are skipped. Empty when
    there is no context, no ink symbol or no typesettable form.

    Given ``classify`` (the engine's ``classify_groups``), the ``regroup_top`` best forms that leave
    symbols or glyphs over are fitted again with the strokes regrouped (:func:`regroup_form`); the
    regrouped fit replaces the first when it explains more of the ink, or as much at a lower cost. A
    ``classify`` failure keeps the first fits."""
    from whiteboard_app.recognition.tokens import normalize_tokens
    from whiteboard_app.recognition.typeset import LayoutError, glyph_layout

    if context is None or not context.expected:
        return []
    syms = ink_symbols(ink, symbols)
    if not syms:
        return []
    out = []
    seen = set()
    for latex, kind in context.expected:
        toks = normalize_tokens(latex)
        if not toks or toks in seen:
            continue
        seen.add(toks)
        try:
            layout = tuple(glyph_layout(latex))
        except LayoutError:
            continue
        if not layout:
            continue
        out.append(_best_fit(syms, layout, latex, kind))
    out.sort(key=lambda item: item[0].cost)
    if classify is not None:
        regrouped: set[int] = set()
        for k, (fm, glyphs, fit) in enumerate(out[:regroup_top]):
            if not (fm.unmatched_ink or fm.unmatched_glyphs or fm.unexplained):
                continue
            try:
                rg = _regroup(ink, syms, glyphs, classify, fm.latex, fm.kind, fit)
            except Exception:  # the engine's classifier failed: keep the first fit
                logging.getLogger(__name__).exception(
                    "regrouping %r with the engine's classifier failed", fm.latex
                )
                break
            if (rg.unexplained, rg.cost) < (fm.unexplained, fm.cost):
                out[k] = (rg, glyphs, fit)
                regrouped.add(id(rg))
        if MERGED_GAP < 99.0:
            cache: dict[tuple[int, ...], dict[str, float]] = {}
            for k, (fm, glyphs, fit) in enumerate(out[:regroup_top]):
                if fm.unexplained or id(fm) in regrouped:
                    continue  # a regrouped fit's symbols are not the engine's: _regroup weighs them
                try:
                    held = _merged_stray(ink, syms, glyphs, fit, classify, cache)
                except Exception:  # the engine's classifier failed: keep the fit
                    logging.getLogger(__name__).exception("checking merged symbols of %r failed", fm.latex)
                    break
                if held:
                    from dataclasses import replace

                    out[k] = (
                        replace(fm, cost=fm.cost + UNMATCHED * held, unexplained=fm.unexplained + held),
                        glyphs,
                        fit,
                    )
        out.sort(key=lambda item: item[0].cost)
    return [fm for fm, _glyphs, _fit_ in out]


#: A matched multi-stroke symbol that the classifier reads as another token by at least this many nats
#: (``ln p(first) - ln p(glyph's token)``) is checked for ink of another glyph merged into it
#: (:func:`_merged_stray`; 99: off).
MERGED_GAP = 2.0
#: ... and its strokes that lie apart from the glyph's padded box are the other glyph's when the rest of
#: its strokes reads first as the glyph's token (a letter in either case: the classifier cannot see the
#: case of a glyph read alone) with at least this probability, both cases together ...
MERGED_READ = 0.5
#: ... and its token at least this many nats better than the whole symbol did.
MERGED_GAIN = 1.0


def _merged_stray(
    ink: StepInk,
    syms: Sequence[InkSymbol],
    glyphs: Sequence,
    fit: _Fit,
    classify: Classify,
    cache: dict[tuple[int, ...], dict[str, float]] | None = None,
) -> int:
    """How many matched symbols of ``fit`` hold the ink of a glyph the form does not have, by their shape:
    a symbol of at least two strokes that the classifier reads as another token than its glyph's (by at
    least :data:`MERGED_GAP` nats), with strokes lying apart from the glyph (less than ``STRAY_OUTSIDE``
    of the stroke's box inside the glyph's padded fitted box), whose other strokes, classified alone
    (``classify``, the engine's ``classify_groups``), read first as the glyph's token or its other case,
    the two together with at least :data:`MERGED_READ`, and the glyph's token :data:`MERGED_GAIN` nats
    better than the whole symbol. E.g. a superscript T
    the engine grouped with the S before it (the whole read "5"): the form ``S`` fits the S's strokes and
    leaves the T's ink unexplained, where the form ``S^T`` has a glyph for it (the declared wrong step
    ``\\mathrm{softmax}(S^T)`` was read as the right ``\\mathrm{softmax}(S)``, session 12). The geometry
    alone was measured and not taken (session 11: correct glyphs of real handwriting often have a stroke
    apart from their fitted box); the whole misread and the rest read as the glyph make it the shape's
    evidence. ``cache``: classifier readings by stroke-id tuple, shared by the forms of one step."""
    held = 0
    cache = {} if cache is None else cache
    for i, j in fit.pairs:
        sym, glyph = syms[i], glyphs[j]
        if (
            glyph.name in CONTAINERS
            or len(sym.stroke_ids) < 2
            or len(sym.stroke_boxes) != len(sym.stroke_ids)
        ):
            continue
        probs = sym.probs
        if not probs:
            continue
        first, p_first = max(probs.items(), key=lambda kv: kv[1])
        p_tok = max(probs.get(glyph.token, 0.0), EPS)
        if first == glyph.token or math.log(max(p_first, EPS)) - math.log(p_tok) < MERGED_GAP:
            continue
        u, v, w, h = _frame(list(sym.stroke_boxes), fit.params)
        pad = _padded(fit.gbox[j])
        rest = tuple(
            sid
            for sid, a, b, c, d in zip(sym.stroke_ids, u, v, w, h, strict=True)
            if _inside((a, b, c, d), pad) >= STRAY_OUTSIDE
        )
        if not rest or len(rest) == len(sym.stroke_ids):
            continue
        key = tuple(sorted(rest))
        if key not in cache:
            cache[key] = _probs(classify(ink, [list(key)])[0])
        read = cache[key]
        cases = {glyph.token, glyph.token.swapcase()}
        top = max(read, key=read.get, default="")
        p_rest = read.get(glyph.token, 0.0)
        if (
            top in cases
            and sum(read.get(t, 0.0) for t in cases) >= MERGED_READ
            and math.log(max(p_rest, EPS)) - math.log(p_tok) >= MERGED_GAIN
        ):
            held += 1
    return held


#: The engine's own reading competes with a form (``open_margin``) only when they differ by at most this many
#: tokens: a near miss of a correctly read step does; a reading the engine got wrong in several places (a
#: composed step's sigma read "0" and "1.96" read "n96") does not hold the card's step back.
OPEN_NEAR = 2
#: Evidence thresholds used when weights/evidence.json is missing (the values it was calibrated to).
EVIDENCE_DEFAULTS = {
    "relation_llr": 4.5,  # relation_evidence.relation_llr below -4.5 nats refuses; None: off
    "deficit": 1.5,
    "total_deficit": 4.0,
    "script": 0.2,
    "level": 99.0,
    "size": 99.0,
    "case_size": 0.25,
    "margin": 1.0,
    "filter": 0,
    "open_margin": -0.5,
    "filter_gap": 99.0,
    "case_extra": "",
    "case_swap": 0.1,
    "case_llr": 0.0,
    "favour": 0.0,
    "case_flip": 99.0,
    "case_deficit": 0,
    "kind_deficit": 2.0,
    "lookalike_deficit": 2,  # 2: a placed letter's other case is left to favour (session 10)
    "added_deficit": 1,
    "added_cap": 0.0,
    "case_pos": 1.0,  # weight of the line-position evidence in favour (case_evidence; 0: off)
    "decimal_comma": 1,  # a decimal point's class deficit leaves out the comma (session 11; 0: off)
}
#: Letters whose capital is the small letter drawn larger (the same shape): their case shows only in the
#: written size, which :func:`evidence_ok` weighs with ``case_size`` (the classifier reads the shape).
SAME_SHAPE_CASE = frozenset("cosuvwxzCOSUVWXZ")
#: Level residuals are weighed only where the form's own offset from the previous glyph is under this
#: (median glyph heights): scripts and the line, not a denominator under its numerator.
LEVEL_SPAN = 1.2
#: A glyph the form moves at least this far up or down from the previous one (median glyph heights) is a
#: script level change the ink must show in the same direction (see :func:`evidence_ok`). A descender
#: moves a glyph less (a "g" after ")": 0.29), a script more (a superscript about 0.5).
SCRIPT_OFFSET = 0.3


def evidence_thresholds() -> dict:
    """The verifier's evidence thresholds (see :func:`evidence_ok`): ``weights/evidence.json``'s
    "thresholds" (written by scripts/calibrate_evidence.py from real layouts of the training ink's
    calibration writers), or :data:`EVIDENCE_DEFAULTS` when that file is missing or unreadable."""
    global _THRESHOLDS
    if _THRESHOLDS is None:
        import json
        from pathlib import Path

        path = Path(__file__).resolve().parent / "weights" / "evidence.json"
        try:
            _THRESHOLDS = {**EVIDENCE_DEFAULTS, **json.loads(path.read_text(encoding="utf-8"))["thresholds"]}
        except (OSError, ValueError, KeyError, TypeError):
            _THRESHOLDS = dict(EVIDENCE_DEFAULTS)
    return _THRESHOLDS


_THRESHOLDS: dict | None = None


def _deficits(fm: FormMatch, t: dict) -> list[float]:
    """The class deficit of each glyph of ``fm`` (:func:`_evidence`); with ``case_deficit`` on, a letter of
    :data:`SAME_SHAPE_CASE` that the classifier reads in the other case has, instead, the ink's evidence
    for the other case, class and written size together (``-favour``, :func:`favour`, at least 0): the
    classifier cannot see the case of a letter whose capital is the small letter drawn larger, so its
    log-odds there are mostly how often each case is written, and the size speaks as well."""
    out = [d for _tok, d, *_ in fm.evidence]
    if len(fm.glyph_ink) != len(out):
        return out
    if t.get("lookalike_deficit") or t.get("added_deficit"):
        alike, added = int(t.get("lookalike_deficit") or 0), bool(t.get("added_deficit"))
        out = [
            min(d, _deficit_beyond_look_alikes(rec, alike, added))
            for d, rec in zip(out, fm.glyph_ink, strict=True)
        ]
    if t.get("decimal_comma"):
        for k in _decimal_points(fm):
            out[k] = min(out[k], _deficit_beyond_look_alikes(fm.glyph_ink[k], 0, False, DECIMAL_MARKS))
    if not t.get("case_deficit"):
        return out
    for k, rec in enumerate(fm.glyph_ink):
        tok = rec[0]
        if tok in SAME_SHAPE_CASE and rec[3] and rec[3][0][0] == tok.swapcase():
            f = _favour_t(rec, tok.swapcase(), t)
            if f is not None:
                out[k] = max(0.0, -f)
    return out


def _placed_case(record: tuple, other: str) -> bool:
    """Whether ``other`` is the other case of the glyph's Latin letter and the record says where the glyph
    sits on a line measured by enough mates (:func:`.case_evidence.position_llr` gives evidence)."""
    from whiteboard_app.recognition.case_evidence import MIN_MATES

    tok = record[0]
    place = record[5] if len(record) > 5 else None
    return (
        len(tok) == 1
        and tok.isascii()
        and tok.isalpha()
        and other == tok.swapcase()
        and place is not None
        and (len(place) < 3 or place[2] >= MIN_MATES)
    )


#: The two decimal separators: a point written between two digits of the form may be the writer's decimal
#: comma (``0,99``), and a handwritten point with a short tail reads as a comma (:func:`_decimal_points`).
DECIMAL_MARKS = frozenset({".", ","})


def _decimal_points(fm: FormMatch) -> list[int]:
    """Indices of the glyphs of ``fm`` that are a decimal point: a "." whose neighbours in reading order
    (:attr:`FormMatch.evidence`, the matched glyphs) are digits. The class deficit of such a glyph leaves
    out the comma (``decimal_comma`` in weights/evidence.json): ``0,99`` is ``0.99`` in the notation of
    half the world, and the classifier reads a point written with a short tail as a comma (the open
    reading of real ink: ``0.99`` read ``0 , 9 9``)."""
    toks = [tok for tok, *_ in fm.evidence]
    return [
        k
        for k in range(1, len(toks) - 1)
        if toks[k] == "." and token_kind(toks[k - 1]) == "digit" and token_kind(toks[k + 1]) == "digit"
    ]


def _deficit_beyond_look_alikes(
    record: tuple, look_alikes: int = 1, added: bool = False, also: frozenset[str] = frozenset()
) -> float:
    """The class deficit of one glyph (:func:`_evidence`) against the best token other than those left to
    other evidence: with ``look_alikes``, every look-alike of the glyph's token (:func:`look_alike`: its
    other case, or a letter of :data:`LOOK_ALIKES`), whose choice :func:`favour` weighs with the written
    size (``case_llr``; evidence.json's ``lookalike_deficit`` 1), or with ``look_alikes`` 2 only the other
    case of a Latin letter whose place on its line is known (:func:`_placed_case`: the position evidence
    of :mod:`.case_evidence` weighs it in :func:`favour`); with ``added``, every added class the
    classifier learnt from made ink only when the glyph's token is a real class (:func:`added_pair`,
    ``added_deficit``: a real g read as the added J 0.7, a real w as omega 0.8, is not the evidence of
    another symbol that a real class's reading is); ``also``: further tokens left out (a decimal point's
    comma, :func:`_decimal_points`). Returns ``ln p(first) - ln p(token)`` for the first
    remaining token when it is of the glyph's kind (:func:`token_kind`), else 0. ``record``: one of
    :attr:`FormMatch.glyph_ink` (its top 8 tokens)."""
    tok, _level, _raw, top, _ids = record[:5]
    if not top:
        return 0.0
    probs = dict(top)
    rest = [
        (t, p)
        for t, p in top
        if not (
            (look_alikes == 1 and look_alike(tok, t))
            or (look_alikes == 2 and _placed_case(record, t))
            or (added and added_pair(tok, t))
            or (t in also and t != tok)
        )
    ]
    if not rest:
        return 0.0
    first, p_first = rest[0]
    if first == tok or token_kind(first) != token_kind(tok):
        return 0.0
    return max(0.0, math.log(max(p_first, EPS)) - math.log(max(probs.get(tok, 0.0), EPS)))


def evidence_ok(fm: FormMatch, thresholds: dict | None = None) -> bool:
    """Whether the ink supports the form on its own terms, whatever the other forms: every matched glyph's
    class deficit (:func:`_evidence`) at most ``deficit`` nats and their sum at most ``total_deficit``
    (the classifier does not clearly read other symbols), every script level change the form makes (an
    offset from the previous glyph of :data:`SCRIPT_OFFSET` to :data:`LEVEL_SPAN` median heights) written
    in the same direction, the ink's offset at least ``script`` times the form's (a superscript raised, a
    subscript lowered: a sub/superscript swap gives about -1), every level residual at most ``level``
    median heights where the form's own offset is under :data:`LEVEL_SPAN`, and every Latin letter's size
    residual at most ``size``; a capital of :data:`SAME_SHAPE_CASE` must not be written more than
    ``case_size`` smaller than typeset, nor such a small letter more than ``case_size`` larger (size
    residual against the size model, :func:`expected_size`, ln; a small x fitted to an X: about -0.3);
    ``case_extra``: further letters weighed so (a calibrated choice: ``"pPkK"``, whose handwritten cases
    differ mostly in size too). The class deficit leaves out (:func:`_deficit_beyond_look_alikes`)
    with ``added_deficit`` the added classes the classifier learnt from made ink only when the glyph's
    token is a real class, and with ``lookalike_deficit`` every look-alike (session 9; shipped: the
    first, see docs/recogniser.md). ``thresholds``: as :func:`evidence_thresholds` (the
    default); ``{"off": True}`` accepts every form. A fit without evidence records is accepted."""
    return evidence_refusal(fm, thresholds) is None


def evidence_refusal(fm: FormMatch, thresholds: dict | None = None) -> str | None:
    """The first rule of :func:`evidence_ok` that refuses ``fm`` ("deficit", "total_deficit", "level",
    "script", "relation_llr", "case_llr", "case_size", "size"), or None when the ink supports the form.
    ``thresholds`` as :func:`evidence_ok`. "relation_llr": the layout relation model favours the swapped
    script relation (superscript <-> subscript) of one of the form's scripts by more than that many nats
    (:func:`whiteboard_app.recognition.relation_evidence.relation_llr`; None: off)."""
    t = evidence_thresholds() if thresholds is None else {**EVIDENCE_DEFAULTS, **thresholds}
    if t.get("off") or not fm.evidence:
        return None
    deficits = _deficits(fm, t)
    if max(deficits) > t["deficit"]:
        return "deficit"
    if sum(deficits) > t["total_deficit"]:
        return "total_deficit"
    if _kind_deficit_fails(fm, float(t.get("kind_deficit", 99.0))):
        return "kind_deficit"
    if any(
        abs(level) > t["level"] for _tok, _d, level, _s, offset in fm.evidence[1:] if abs(offset) < LEVEL_SPAN
    ):
        return "level"
    if any(
        (level + offset) / offset < t["script"]
        for _tok, _d, level, _s, offset in fm.evidence[1:]
        if SCRIPT_OFFSET <= abs(offset) < LEVEL_SPAN
    ):
        return "script"
    if (
        t.get("relation_llr") is not None
        and (llr := relation_llr(getattr(fm, "relation_ink", ()))) is not None
    ):
        if llr < -float(t["relation_llr"]):  # the relation model favours the swapped script relation
            return "relation_llr"
    if _case_llr_fails(fm, t):
        return "case_llr"
    case_letters = SAME_SHAPE_CASE | frozenset(t.get("case_extra") or "")
    if any(
        (size if tok.islower() else -size) > t["case_size"]
        for tok, _d, _l, size, _o in fm.evidence
        if tok in case_letters
    ):
        return "case_size"
    if any(
        abs(size) > t["size"]
        for tok, _d, _l, size, _o in fm.evidence
        if len(tok) == 1 and tok.isascii() and tok.isalpha()
    ):
        return "size"
    return None


def verified_form(
    matches: Sequence[FormMatch],
    *,
    margin: float | None = None,
    max_unmatched: int = 3,
    max_unmatched_share: float = 0.08,
    strong: float = 0.97,
    weak: float = 0.005,
    evidence: dict | None = None,
    open_fit: FormMatch | None = None,
) -> FormMatch | None:
    """The form the ink supports (see the module docstring for the rule), or None. ``matches`` best first,
    as :func:`match_forms` returns them. ``margin`` (nats over the next different form): default the
    thresholds' ``"margin"`` (calibrated with them: weights/evidence.json). At most ``max_unmatched`` explained left-overs, or
    ``max_unmatched_share`` of the form's glyphs on a long form. The form must also pass
    :func:`evidence_ok` with ``evidence`` (thresholds; default :func:`evidence_thresholds`): the ink's own
    evidence, not only a margin over the other forms, so that a form the card has but the user did not
    write (the truth absent) is not taken for being the nearest. With ``evidence["filter"]`` true, forms
    failing it are set aside before the margin is taken; with ``evidence["filter"]`` 2 as well, but a
    form set aside that fits more than ``evidence["filter_gap"]`` nats better than the best of the others
    leaves no form (the open reading stands: the ink is nearer something the evidence refused than the
    form that would win). ``open_fit``: the engine's own reading fitted the
    same way (:func:`match_forms` with that reading as the only form); when given and fitted with nothing
    unexplained, the form must fit at least ``evidence["open_margin"]`` nats
    better than it (negative: may fit that much worse): the context replaces the open reading only when the
    ink fits the form better than what the engine read."""
    from whiteboard_app.recognition.tokens import normalize_tokens

    if not matches:
        return None
    t = evidence_thresholds() if evidence is None else {**EVIDENCE_DEFAULTS, **evidence}
    if margin is None:
        margin = float(t["margin"])
    refused: list[FormMatch] = []
    if t.get("filter") and not t.get("off"):
        refused = [fm for fm in matches if not evidence_ok(fm, t)]
        matches = [fm for fm in matches if evidence_ok(fm, t)]
        if not matches:
            return None
    best = matches[0]
    if t.get("filter") == 2 and any(fm.cost < best.cost - float(t["filter_gap"]) for fm in refused):
        return None  # a form the ink fits much better was refused: the open reading stands
    toks = normalize_tokens(best.latex)
    runner_up = next((fm for fm in matches[1:] if normalize_tokens(fm.latex) != toks), None)
    if runner_up is not None and runner_up.cost - best.cost < margin:
        return None
    if best.unexplained or best.unmatched_ink + best.unmatched_glyphs > max(
        max_unmatched, round(max_unmatched_share * best.n_glyphs)
    ):
        return None
    if any(
        p_top >= strong
        and p_glyph < weak
        and (token_kind(top) == token_kind(tok) != "other" or top in STRUCTURES or tok in STRUCTURES)
        for p_top, p_glyph, top, tok in best.contradictions
    ):
        return None
    return best if form_accepted(best, open_fit, t) else None


def why_not(
    matches: Sequence[FormMatch],
    latex: str,
    open_fit: FormMatch | None = None,
    thresholds: dict | None = None,
    *,
    margin: float | None = None,
    max_unmatched: int = 3,
    max_unmatched_share: float = 0.08,
    strong: float = 0.97,
    weak: float = 0.005,
) -> str:
    """Why :func:`verified_form` (same arguments) does not take the form ``latex`` from ``matches``: the
    first of "not fitted" (not typeset, or no ink symbols), "unexplained: more ink" / "unexplained: fewer
    ink" / "unexplained: swap or stray" (the fit leaves symbols, glyphs or stray ink it cannot explain),
    "left-overs", "another form fits better" (a form of other tokens costs less), "margin" (the next
    different form within ``margin`` nats), "contradiction", a rule of :func:`form_refusal`
    ("deficit", "script", "case_llr", "open_margin", ...), or "passes" (the verifier takes it). For a
    diagnosis (scripts/calibrate_evidence.py, benchmarks/derivation_steps.py --diagnose); the rule is
    :func:`verified_form`'s."""
    from whiteboard_app.recognition.tokens import normalize_tokens

    t = evidence_thresholds() if thresholds is None else {**EVIDENCE_DEFAULTS, **thresholds}
    if margin is None:
        margin = float(t["margin"])
    target = normalize_tokens(latex)
    fm = next((f for f in matches if normalize_tokens(f.latex) == target), None)
    if fm is None:
        return "not fitted"
    if fm.unexplained:
        if fm.unmatched_ink > fm.unmatched_glyphs:
            return "unexplained: more ink"
        if fm.unmatched_ink < fm.unmatched_glyphs:
            return "unexplained: fewer ink"
        return "unexplained: swap or stray"
    if fm.unmatched_ink + fm.unmatched_glyphs > max(max_unmatched, round(max_unmatched_share * fm.n_glyphs)):
        return "left-overs"
    pool = list(matches)
    if t.get("filter") and not t.get("off"):
        pool = [f for f in pool if f is fm or evidence_ok(f, t)]
    others = [f for f in pool if normalize_tokens(f.latex) != target]
    if others and min(f.cost for f in others) < fm.cost:
        return "another form fits better"
    if others and min(f.cost for f in others) - fm.cost < margin:
        return "margin"
    if any(
        p_top >= strong
        and p_glyph < weak
        and (token_kind(top) == token_kind(tok) != "other" or top in STRUCTURES or tok in STRUCTURES)
        for p_top, p_glyph, top, tok in fm.contradictions
    ):
        return "contradiction"
    return form_refusal(fm, open_fit, t) or "passes"


def form_accepted(fm: FormMatch, open_fit: FormMatch | None = None, thresholds: dict | None = None) -> bool:
    """The ink's own evidence for one form, whatever the other forms: :func:`evidence_ok`, and, given the
    engine's own reading fitted the same way (``open_fit``): no letter's case changed from that reading
    against its written size (:func:`_case_swapped_in`, ``case_swap``); and (``open_fit`` with nothing unexplained, other tokens and
    itself passing :func:`evidence_ok`: a reading the ink supports), a fit at least ``thresholds["open_margin"]`` nats better than that reading's. ``thresholds`` as
    :func:`evidence_thresholds` (the default)."""
    return form_refusal(fm, open_fit, thresholds) is None


def form_refusal(
    fm: FormMatch, open_fit: FormMatch | None = None, thresholds: dict | None = None
) -> str | None:
    """The first rule of :func:`form_accepted` that refuses ``fm``: one of :func:`evidence_refusal`'s, or
    "case_swap", "favour", "open_margin"; None when the form is accepted. Arguments as
    :func:`form_accepted`."""
    from whiteboard_app.recognition.tokens import normalize_tokens, token_distance

    t = evidence_thresholds() if thresholds is None else {**EVIDENCE_DEFAULTS, **thresholds}
    if t.get("off"):
        return None
    why = evidence_refusal(fm, t)
    if why is not None:
        return why
    if open_fit is not None:
        if _case_swapped_in(fm, open_fit, t):
            return "case_swap"
        if _unfavoured_look_alike(fm, open_fit, t):
            return "favour"
    if open_fit is None or open_fit.unexplained or not evidence_ok(open_fit, t):
        return None
    own, toks = normalize_tokens(open_fit.latex), normalize_tokens(fm.latex)
    if own == toks or token_distance(own, toks) > OPEN_NEAR:
        return None
    gap = open_fit.cost - fm.cost + _look_alike_cost_cap(fm, open_fit, float(t.get("added_cap", 99.0)))
    return None if gap >= t["open_margin"] else "open_margin"


def _look_alike_cost_cap(fm: FormMatch, open_fit: FormMatch, added_cap: float = 99.0) -> float:
    """What the difference of the fit costs (open minus form) of ``fm`` and the engine's reading
    ``open_fit`` gains when the classifier's log-odds between look-alikes on the same strokes (the form's
    token where the reading has a look-alike of it, :func:`look_alike`) are weighed as :func:`favour`
    weighs them (``added_cap``: a real class's glyph read as an added class, :func:`added_pair`): the
    costs hold ``-ln p`` of each token in full. 0 when ``added_cap`` >= 99 (off)."""
    if added_cap >= 99.0 or not fm.glyph_ink or not open_fit.glyph_ink:
        return 0.0
    own = {tuple(sorted(rec[4])): rec for rec in open_fit.glyph_ink if rec[4]}
    out = 0.0
    for rec in fm.glyph_ink:
        other = own.get(tuple(sorted(rec[4])))
        if other is None or not look_alike(rec[0], other[0]):
            continue
        probs = dict(rec[3])
        out += _class_log_odds(probs, rec[0], other[0], added_cap) - _class_log_odds(probs, rec[0], other[0])
    return out


def _case_swapped_in(fm: FormMatch, open_fit: FormMatch, t: dict) -> bool:
    """Whether the form changes the case of a letter whose case is only its size
    (:data:`SAME_SHAPE_CASE` and ``case_extra``) from the engine's own reading and the ink's size does not
    clearly show the form's case: a capital the form has more often than the open reading written more
    than ``case_swap`` smaller than expected, or such a small letter more than ``case_swap`` larger (the
    size residual of :func:`_evidence`; ``case_swap`` is stricter than ``case_size``, which any form
    must pass: the case the classifier read stands unless the size speaks for the other)."""
    from collections import Counter

    from whiteboard_app.recognition.tokens import normalize_tokens

    if float(t.get("case_swap", 99.0)) >= 99.0:
        return False
    letters = SAME_SHAPE_CASE | frozenset(t.get("case_extra") or "")
    mine, own = Counter(normalize_tokens(fm.latex)), Counter(normalize_tokens(open_fit.latex))
    swapped = {
        tok
        for tok in mine
        if tok in letters and mine[tok] > own[tok] and own[tok.swapcase()] > mine[tok.swapcase()]
    }
    return any(
        (size if tok.islower() else -size) > t["case_swap"]
        for tok, _d, _l, size, _o in fm.evidence
        if tok in swapped
    )


#: Letters people write alike (a Greek letter and the Latin letter it looks like): the classifier's choice
#: between them is weak evidence, so a form may put one where the engine read the other only when the ink
#: favours it (:func:`favour`, ``favour``). A Latin letter and its other case are always such a pair
#: (:func:`look_alike`). Look-alikes of another kind (a 0 for an O, an x for a times sign, a 1 for a bar)
#: are not weighed so: the class deficit already counts them 0, and on the calibration split the card's
#: form was right there every time the rule would have refused it (4 A readings, no B reading).
LOOK_ALIKES: tuple[frozenset[str], ...] = (
    frozenset({"y", "\\gamma"}),
    frozenset({"k", "\\kappa"}),
    frozenset({"w", "\\omega"}),
    frozenset({"x", "\\chi"}),
    frozenset({"v", "\\nu"}),
    frozenset({"u", "\\mu"}),
    frozenset({"p", "\\rho"}),
    frozenset({"e", "\\epsilon"}),
    frozenset({"B", "\\beta"}),
    frozenset({"t", "\\tau", "T"}),
    frozenset({"K", "\\kappa"}),
    frozenset({"i", "\\iota"}),
)


def look_alike(a: str, b: str) -> bool:
    """Whether tokens ``a`` and ``b`` (normalised, :func:`~whiteboard_app.recognition.tokens.normalize_tokens`)
    are letters written alike: one Latin letter in its two cases, or the two letters of one of
    :data:`LOOK_ALIKES`."""
    if a == b:
        return False
    if len(a) == 1 and len(b) == 1 and a.isascii() and a.isalpha() and a.swapcase() == b:
        return True
    return any(a in group and b in group for group in LOOK_ALIKES)


def _class_log_odds(probs: dict, tok: str, other: str, added_cap: float = 99.0) -> float:
    """``ln p(tok) - ln p(other)`` of a symbol's classifier probabilities (each floored at EPS); with
    ``added_cap`` < 99, at least ``-added_cap`` when ``tok`` is a real class and ``other`` an added look-alike
    (:func:`added_pair`; see :func:`favour`)."""
    out = math.log(max(probs.get(tok, 0.0), EPS)) - math.log(max(probs.get(other, 0.0), EPS))
    if added_cap < 99.0 and look_alike(tok, other) and added_pair(tok, other):
        out = max(-added_cap, out)
    return out


#: A token with fewer real training symbols than this is an added class (:func:`added_pair`).
CLASS_MIN_COUNT = 20


@functools.lru_cache(maxsize=1)
def class_counts() -> dict[str, int]:
    """``weights/class_counts.json``'s "counts": token -> how many real symbols of it the classifier's
    training split holds (written by ``scripts/calibrate_evidence.py classes`` from the training split's
    writers, never the calibration writers nor dev); empty when the file is missing or unreadable. Read
    once per process."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parent / "weights" / "class_counts.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))["counts"]
        return {str(k): int(v) for k, v in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def added_pair(tok: str, other: str) -> bool:
    """Whether ``tok`` is a class the classifier learnt from real ink and ``other`` one it learnt from
    made ink only (an added class, ``symbol_synth.ADDED_CLASSES``: fewer than :data:`CLASS_MIN_COUNT` real
    symbols in its training ink, :func:`class_counts`): the classifier's preference for the added class
    on a real glyph is not calibrated on real ink (a real w read as the added omega 0.8, a real T as
    tau, a real g as J), its preference for the real class is. False when the counts are missing."""
    counts = class_counts()
    if not counts:
        return False
    return counts.get(tok, 0) >= CLASS_MIN_COUNT and counts.get(other, 0) < CLASS_MIN_COUNT


def _size_loglik(raw: float, token: str, level: int) -> float:
    """``ln`` of the normal density of a written size under ``token`` at script ``level``: ``raw`` is ``ln``
    (written / typeset height of ``token``), against :func:`expected_size` and :func:`size_spread`."""
    sd = size_spread(token, level)
    z = (raw - expected_size(token, level)) / sd
    return -0.5 * z * z - math.log(sd)


def favour(record: tuple, other: str, added_cap: float = 99.0, pos_weight: float = 0.0) -> float | None:
    """The ink's evidence, in nats, for a glyph's own token against ``other`` on the same strokes: the
    classifier's log-odds, ``ln p(token) - ln p(other)`` (each floored at EPS), plus the log-likelihood
    ratio of the written height under the two tokens (the size model per token and script level,
    :func:`expected_size`, with :func:`size_spread` as a normal's standard deviation; the ink's height
    measured against the token's typeset height and, for ``other``, against ``other``'s: a small c
    written as large as a C favours C by about 3 nats). Positive: the ink favours the glyph's token.
    ``record``: one of :attr:`FormMatch.glyph_ink`. None when either token has no typeset height
    (not a letter, digit or Greek letter: the classifier's log-odds alone are returned then).
    ``added_cap`` (evidence.json's): the log-odds are at least ``-added_cap`` when the token is a real
    class and ``other`` an added look-alike learnt from made ink only (:func:`added_pair`), and the
    written-height term is then left out (session 11: the size model has no real ink of an added class,
    only its family's, so a real T written small in a superscript is no evidence for the added tau; on
    the composed derivation steps such T's refused ``X^T`` five times).
    ``pos_weight`` (evidence.json's ``case_pos``; 0: off): when the record says where the glyph sits on
    its line (its sixth item, :func:`_line_places`), ``other`` is the glyph's Latin letter in its other
    case and both have a position model, the written-height
    term is replaced by ``pos_weight`` times the position's log-likelihood ratio
    (:func:`.case_evidence.position_llr`: top and bottom against the line's baseline and x-height, learnt
    from the training ink; session 10)."""
    tok, level, raw, top, _ids = record[:5]
    probs = dict(top)
    out = _class_log_odds(probs, tok, other, added_cap)
    if added_cap < 99.0 and look_alike(tok, other) and added_pair(tok, other):
        return out  # no size model of real ink for an added class: its written size is no evidence
    if pos_weight > 0 and len(record) > 5 and other == tok.swapcase():
        from whiteboard_app.recognition.case_evidence import position_llr

        llr = position_llr(record[5], tok, other)
        if llr is not None:
            return out + pos_weight * llr
    b_tok, b_other = _base_height(tok), _base_height(other)
    if not b_tok or not b_other:
        return out
    raw_other = raw - math.log(b_other / b_tok)
    return out + _size_loglik(raw, tok, level) - _size_loglik(raw_other, other, level)


def _favour_t(record: tuple, other: str, t: dict) -> float | None:
    """:func:`favour` with the thresholds' ``added_cap`` and ``case_pos``."""
    return favour(record, other, float(t.get("added_cap", 99.0)), float(t.get("case_pos", 0.0) or 0.0))


def _case_llr_fails(fm: FormMatch, t: dict) -> bool:
    """Whether the ink favours, by more than ``-case_llr`` nats (:func:`favour`), another reading of one of
    the form's glyphs that is written alike, whatever the open reading: the other case of a letter whose
    case shows only in its size (:data:`SAME_SHAPE_CASE` and ``case_extra``: the absolute counterpart of
    ``case_size``), or the classifier's first choice for the glyph's symbol when that is a look-alike of
    the glyph's token (:func:`look_alike`: a y read where the form has a gamma)."""
    limit = float(t.get("case_llr", -99.0))
    if limit <= -99.0:
        return False
    letters = SAME_SHAPE_CASE | frozenset(t.get("case_extra") or "")
    for rec in fm.glyph_ink:
        tok, top = rec[0], rec[3][0][0] if rec[3] else rec[0]
        others = {tok.swapcase()} if tok in letters else set()
        if look_alike(tok, top):
            others.add(top)
        if any((f := _favour_t(rec, other, t)) is not None and f < limit for other in others):
            return True
    return False


def _unfavoured_look_alike(fm: FormMatch, open_fit: FormMatch, t: dict) -> bool:
    """Whether the form puts a token where the engine's own reading (``open_fit``, fitted to the same
    ink) has a look-alike of it (:func:`look_alike`) on the same strokes, and the ink does not favour the
    form's token by at least ``favour`` nats (:func:`favour`): a same-shape case swap (c/C, x/X) or a
    look-alike (y/gamma, k/kappa) the written size and shape do not show is the engine's reading's, not
    the card's form's."""
    limit = float(t.get("favour", -99.0))
    if limit <= -99.0 or not fm.glyph_ink or not open_fit.glyph_ink:
        return False
    own = {tuple(sorted(rec[4])): rec[0] for rec in open_fit.glyph_ink if rec[4]}
    for rec in fm.glyph_ink:
        other = own.get(tuple(sorted(rec[4])))
        if other is None or not look_alike(rec[0], other):
            continue
        f = _favour_t(rec, other, t)
        if f is not None and f < limit:
            return True
    return False


#: A token of the glyph's own kind the classifier lists with at least this probability is its positive
#: suggestion of another symbol of that kind (see :func:`_kind_deficit_fails`).
KIND_FLOOR = 0.05


def _kind_deficit_fails(fm: FormMatch, limit: float) -> bool:
    """Whether a digit glyph the classifier reads as a token of another kind (a "s" where the form has a
    6, a "g" where it has a 9: the class deficit counts such look-alikes 0) is nevertheless read as
    another digit, listed with at least :data:`KIND_FLOOR`, more than ``limit`` nats more likely than the
    glyph's digit (``ln p(that digit) - ln p(glyph's digit)``, floored at EPS): the ink then says which
    digit it is, and it is not the form's. Letters are not weighed so: a made sigma read as "0" with an
    "o" beside it is still the card's sigma (the composed derivation steps lost 5 of 82 readings so)."""
    if limit >= 99.0:
        return False
    for rec in fm.glyph_ink:
        tok, top = rec[0], rec[3]
        if not top or token_kind(top[0][0]) == token_kind(tok):
            continue
        kind = token_kind(tok)
        if kind != "digit":
            continue
        probs = dict(top)
        same = [p for t, p in top if t != tok and token_kind(t) == kind and p >= KIND_FLOOR]
        if same and math.log(max(same)) - math.log(max(probs.get(tok, 0.0), EPS)) > limit:
            return True
    return False


#: Letters whose case :func:`case_by_size` may change in the engine's own reading: those whose capital
#: is the small letter drawn larger (:data:`SAME_SHAPE_CASE`) and two whose handwritten cases differ
#: mostly in size too.
CASE_BY_SIZE = SAME_SHAPE_CASE | frozenset("kKpP")

_RAW_TOKEN = None


def case_by_size(open_fit: FormMatch, thresholds: dict | None = None) -> FormMatch | None:
    """The engine's own reading with the case of its letters decided by the written size: ``open_fit`` (the
    reading fitted to its ink, :func:`match_forms`) with every letter of :data:`CASE_BY_SIZE` whose ink
    favours the other case by at least ``case_flip`` nats (:func:`favour`: the classifier cannot tell a c
    from a C, the size against the line's letters can) written in that case, as a new fit (its LaTeX,
    evidence and glyph records changed, its cost by the classifier's log-odds); None when nothing changes,
    the rule is off (``case_flip`` >= 99) or a letter's glyphs and its occurrences in the LaTeX do not
    correspond one to one (a function name fitted as letters). ``thresholds`` as
    :func:`evidence_thresholds` (the default)."""
    import re
    from dataclasses import replace

    global _RAW_TOKEN
    t = evidence_thresholds() if thresholds is None else {**EVIDENCE_DEFAULTS, **thresholds}
    limit = float(t.get("case_flip", 99.0))
    if (
        limit >= 99.0
        or t.get("off")
        or not open_fit.glyph_ink
        or len(open_fit.glyph_ink) != len(open_fit.evidence)
    ):
        return None
    flips = [
        k
        for k, rec in enumerate(open_fit.glyph_ink)
        if rec[0] in CASE_BY_SIZE and (f := _favour_t(rec, rec[0].swapcase(), t)) is not None and f <= -limit
    ]
    if not flips:
        return None
    if _RAW_TOKEN is None:
        _RAW_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|[\s\S]")
    raw = _RAW_TOKEN.findall(open_fit.latex)
    letters = [k for k, tok in enumerate(raw) if len(tok) == 1 and tok.isascii() and tok.isalpha()]
    glyph_ink, evid = list(open_fit.glyph_ink), list(open_fit.evidence)
    cost = open_fit.cost
    for k in flips:
        tok = glyph_ink[k][0]
        same = [i for i, rec in enumerate(glyph_ink) if rec[0].lower() == tok.lower()]
        where = [i for i in letters if raw[i].lower() == tok.lower()]
        if len(same) != len(where):
            return None
        i = where[same.index(k)]
        new = tok.swapcase()
        raw[i] = new
        _tok, level, raw_h, top, ids = glyph_ink[k][:5]
        probs = dict(top)
        new_raw = raw_h - math.log(_base_height(new) / _base_height(tok))
        glyph_ink[k] = (new, level, round(new_raw, 4), top, ids, *glyph_ink[k][5:])
        first = max(probs, key=probs.get) if probs else new
        deficit = (
            max(0.0, math.log(max(probs[first], EPS)) - math.log(max(probs.get(new, 0.0), EPS)))
            if token_kind(first) == "letter"
            else 0.0
        )
        _t, _d, lev, _s, off = evid[k]
        evid[k] = (new, round(deficit, 4), lev, round(new_raw - _size_allowance(new, level), 4), off)
        cost += math.log(max(probs.get(tok, 0.0), EPS)) - math.log(max(probs.get(new, 0.0), EPS))
    return replace(
        open_fit, latex="".join(raw), cost=float(cost), evidence=tuple(evid), glyph_ink=tuple(glyph_ink)
    )


def warm_up(context: RecognitionContext | None) -> int:
    """Typeset every form of ``context`` now (cached), so that the first step of a card does not wait
    for it (~10-20 ms a form, a few seconds for a card with many near misses). Returns the number of
    forms typeset; forms that cannot be typeset are skipped. Also imports scipy's assignment solver
    (~0.9 s the first time). Each form's relation tree (:func:`.relation_evidence.typeset_tree`,
    mathnote-ocr's typesetting, which every fit's script edges use) is made too, after the forms are marked
    warm (:func:`is_warm` does not wait for it)."""
    from whiteboard_app.recognition.fastload import linear_sum_assignment
    from whiteboard_app.recognition.typeset import LayoutError, glyph_layout

    linear_sum_assignment([[0.0]])  # the solver loaded now, not on the first step
    try:
        glyph_layout("x")  # the typesetter loads its font once (seconds)
    except LayoutError:
        pass
    n = 0
    for latex, _kind in context.expected if context is not None else ():
        try:
            glyph_levels(glyph_layout(latex))  # its tokens' base sizes typeset too (the size model's levels)
            n += 1
        except LayoutError:
            pass
        _WARM.add(latex)
    for latex, _kind in context.expected if context is not None else ():
        typeset_tree(latex)  # the relation evidence's tree of the form (session 13: 0.1-0.6 s a long form)
    return n


_WARM: set[str] = set()  # forms typeset (or found not typesettable) in this process
_WARMING: set = set()


def is_warm(context: RecognitionContext) -> bool:
    """Whether every form of ``context`` except the user's previous step (one form, typeset on the spot)
    has been typeset in this process by :func:`warm_up`."""
    return all(latex in _WARM for latex, kind in context.expected if kind != "previous")


def warm_in_background(context: RecognitionContext) -> None:
    """Start :func:`warm_up` for ``context`` in a daemon thread, once per context (no-op when warm or
    already warming)."""
    import threading

    key = context.expected
    if is_warm(context) or key in _WARMING:
        return
    _WARMING.add(key)

    def run():
        try:
            warm_up(context)
        except Exception:  # a failed warm-up only costs time later
            logging.getLogger(__name__).exception("warming up form layouts failed")
        finally:
            _WARMING.discard(key)

    threading.Thread(target=run, name="form-layouts", daemon=True).start()


class CardVerifier:
    """The verifier as an engine's hook (:class:`~whiteboard_app.recognition.base.ContextVerifier`): the
    bundled engine fits a long step's best grouping to the card's forms before its layout parse
    (:meth:`TrainedRecognizer.recognize <whiteboard_app.recognition.trained.TrainedRecognizer.recognize>`)
    without importing this module; the app's engine is built with it by
    :func:`whiteboard_app.recognition.whiteboard.create`. Stateless: the typeset forms are cached in this
    module."""

    def is_warm(self, context: RecognitionContext) -> bool:
        """:func:`is_warm`."""
        return is_warm(context)

    def warm_in_background(self, context: RecognitionContext) -> None:
        """:func:`warm_in_background`."""
        warm_in_background(context)

    def warm_up(self, context: RecognitionContext | None) -> None:
        """:func:`warm_up`."""
        warm_up(context)

    def verify(self, ink: StepInk, symbols, context: RecognitionContext, classify) -> FormMatch | None:
        """``verified_form(match_forms(ink, symbols, context, classify))``: the form the ink supports by
        the verifier's rule, or None. Raises what those raise (the engine then reads without context)."""
        return self.verify_fits(ink, symbols, context, classify)[0]

    def verify_fits(
        self, ink: StepInk, symbols, context: RecognitionContext, classify
    ) -> tuple[FormMatch | None, tuple[FormMatch, ...]]:
        """(:meth:`verify`'s form, the fits it weighed: ``match_forms(ink, symbols, context, classify)``,
        best first). The engine returns the fits with its reading (``RecognitionResult.fits``) so that
        :func:`~whiteboard_app.recognition.context.rerank` does not fit the same forms again."""
        matches = match_forms(ink, symbols, context, classify)
        return verified_form(matches), tuple(matches)
