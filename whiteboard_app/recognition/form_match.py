"""Matching a step's ink against the card's expected forms, glyph by glyph (the verifier of the context prior).

The layout parser is the recogniser's weakest part: it often has every symbol right and the structure
wrong. While practising, the card says what is likely on the line (reference steps, declared mistakes,
generated near misses, the previous step). :func:`match_forms` asks, for each of these forms, how well
the ink's symbols fit it:

1. The ink's symbols are the engine's stroke groups with their class probabilities (the per-symbol
   alternatives of its best reading, :class:`~whiteboard_app.recognition.base.SymbolAlternatives`).
2. Each form is typeset (:func:`whiteboard_app.recognition.typeset.glyph_layout`); both sets of boxes are
   put in one frame: x in mean glyph advances from the left edge, y in median glyph heights from the
   median centre; the form's x is then fitted to the ink's by least squares over a first assignment.
3. Symbols and glyphs are assigned one to one (Hungarian method, ``scipy.optimize.linear_sum_assignment``)
   at a cost of ``-ln p(glyph's token | symbol)`` (floored at ``-ln EPS``) plus ``a |dx| + b |dy|``; a
   symbol or glyph left over costs ``UNMATCHED`` nats.
4. Left-over ink must be explained: a left-over symbol whose box lies mostly (>= 50 %) inside the box of a
   matched ordinary glyph is a split symbol (an "=" read as two strokes); a left-over glyph whose box lies
   mostly inside a matched symbol is a merged pair. Anything else (an extra "-1", a missing "\\sqrt",
   a container glyph such as a fraction bar or a bracket) is real evidence that the ink is not this form.

:func:`verified_form` then applies the decision rule, the same for right and wrong forms (nothing here
knows which is which): the best-fitting form wins when no left-over is unexplained, at most
``max_unmatched`` symbols and glyphs are left over, no matched symbol clearly contradicts its glyph (the
classifier is >= ``strong`` sure of another token and gives the glyph's < ``weak``), and the next
different form costs at least ``margin`` nats more. Otherwise None: the engine's open reading stands.

Measured on benchmarks/derivation_steps.py (docs/benchmarks.md). A wrong step that is not among the
card's forms may still be pulled to the nearest form when the only difference is a symbol the
classifier cannot tell apart; docs/recogniser.md gives that rate too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import RecognitionContext, SymbolAlternatives

__all__ = ["FormMatch", "InkSymbol", "ink_symbols", "match_form", "match_forms", "verified_form", "warm_up"]

#: Probability floor of a token the classifier did not list for a symbol (its cost is -ln EPS = 6.9 nats).
EPS = 1e-3
#: Cost in nats of a symbol or glyph that is left over.
UNMATCHED = 4.0
#: Position costs: nats per mean glyph advance (x) and per median glyph height (y).
X_COST = 2.5
Y_COST = 1.5
#: Glyphs that enclose or span others: ink inside them is not a split piece of them.
CONTAINERS = frozenset({"frac_bar", "sqrt", "sum", "prod", "int", "(", ")", "[", "]", "{", "}", "|",
                        "lbrace", "rbrace", "\\sqrt", "\\sum", "\\prod", "\\int"})


@dataclass(frozen=True, slots=True)
class InkSymbol:
    """One stroke group of the ink: box (x, y, w, h) in canvas px, y downwards, and token -> probability."""

    box: tuple[float, float, float, float]
    probs: dict[str, float]


@dataclass(frozen=True, slots=True)
class FormMatch:
    """How well the ink fits one expected form.

    ``cost`` in nats (label + position + left-over costs; lower is better); ``unmatched_ink`` /
    ``unmatched_glyphs`` count left-overs and ``unexplained`` those of them that are not split or merged
    symbols; ``contradictions`` are (top probability, glyph's probability) of matched symbols whose
    classifier's first choice is another token.
    """

    latex: str
    kind: str
    cost: float
    n_glyphs: int
    unmatched_ink: int
    unmatched_glyphs: int
    unexplained: int
    contradictions: tuple[tuple[float, float], ...]


def ink_symbols(ink: StepInk, symbols: Sequence[SymbolAlternatives]) -> list[InkSymbol]:
    """The engine's symbols as boxes (from the ink's strokes, by stroke id) with token probabilities
    (labels normalised by :func:`whiteboard_app.recognition.context.normalize_tokens`). Symbols whose
    strokes are not in the ink are skipped."""
    from whiteboard_app.recognition.context import normalize_tokens

    by_id = {s.id: s for s in ink.strokes}
    out = []
    for sym in symbols:
        pts = [(p.x, p.y) for i in sym.stroke_ids if i in by_id for p in by_id[i].points]
        if not pts or not sym.labels:
            continue
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        probs: dict[str, float] = {}
        for label, p in sym.labels:
            toks = normalize_tokens(label)
            key = toks[0] if len(toks) == 1 else label
            probs[key] = max(probs.get(key, 0.0), float(p))
        out.append(InkSymbol((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)), probs))
    return out


def _frame(boxes):
    """Centres and sizes in the common frame: (u, v, w, h) arrays; see the module docstring."""
    import numpy as np

    b = np.asarray(boxes, float)
    x0 = b[:, 0].min()
    x1 = (b[:, 0] + b[:, 2]).max()
    adv = max((x1 - x0) / len(b), 1e-9)
    tall = b[:, 3] > 0.3 * b[:, 2]
    mh = max(float(np.median(b[:, 3][tall] if tall.any() else b[:, 3])), 1e-9)
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    return (cx - x0) / adv, (cy - np.median(cy)) / mh, b[:, 2] / adv, b[:, 3] / mh


def _inside(a, b) -> float:
    """Share of box a's area inside box b; boxes as (u, v, w, h) centred."""
    ua, va, wa, ha = a
    ub, vb, wb, hb = b
    ox = max(0.0, min(ua + wa / 2, ub + wb / 2) - max(ua - wa / 2, ub - wb / 2))
    oy = max(0.0, min(va + ha / 2, vb + hb / 2) - max(va - ha / 2, vb - hb / 2))
    return ox * oy / max(wa * ha, 1e-9)


def match_form(symbols: Sequence[InkSymbol], glyphs: Sequence, latex: str = "", kind: str = "") -> FormMatch:
    """Fit the ink's symbols to one form's typeset glyphs (``typeset.Glyph``: name, token, box).
    Raises ValueError when either sequence is empty."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    n, m = len(symbols), len(glyphs)
    if not n or not m:
        raise ValueError("match_form needs ink symbols and glyphs")
    ui, vi, wi, hi = _frame([s.box for s in symbols])
    ug, vg, wg, hg = _frame([g.box for g in glyphs])
    ug, wg = ug * (m / n), wg * (m / n)  # both in the ink's advances
    lab = np.array([[-math.log(max(s.probs.get(g.token, 0.0), EPS)) for g in glyphs] for s in symbols])
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
    cost = float(sum(big[i, j] for i, j in pairs)) + UNMATCHED * ((n - len(pairs)) + (m - len(pairs)))
    mi = {i for i, _ in pairs}
    mj = {j for _, j in pairs}
    sbox = [(ui[i], vi[i], wi[i], hi[i]) for i in range(n)]
    gbox = [(ug[j], vg[j], wg[j], hg[j]) for j in range(m)]
    bad = sum(1 for i in range(n) if i not in mi and not any(
        glyphs[j].name not in CONTAINERS and _inside(sbox[i], gbox[j]) >= 0.5 for j in mj))
    bad += sum(1 for j in range(m) if j not in mj and (glyphs[j].name in CONTAINERS or not any(
        _inside(gbox[j], sbox[i]) >= 0.5 for i in mi)))
    contra = []
    for i, j in pairs:
        top, p_top = max(symbols[i].probs.items(), key=lambda kv: kv[1])
        if top != glyphs[j].token:
            contra.append((p_top, symbols[i].probs.get(glyphs[j].token, 0.0)))
    return FormMatch(latex, kind, cost, m, n - len(pairs), m - len(pairs), bad, tuple(contra))


def match_forms(ink: StepInk, symbols: Sequence[SymbolAlternatives],
                context: RecognitionContext | None) -> list[FormMatch]:
    """Every typesettable form of ``context`` fitted to the ink, best (lowest cost) first. Forms with the
    same tokens are fitted once (first kind kept); forms that cannot be typeset are skipped. Empty when
    there is no context, no ink symbol or no typesettable form."""
    from whiteboard_app.recognition.context import normalize_tokens
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
            glyphs = glyph_layout(latex)
        except LayoutError:
            continue
        if glyphs:
            out.append(match_form(syms, glyphs, latex, kind))
    out.sort(key=lambda fm: fm.cost)
    return out


def verified_form(matches: Sequence[FormMatch], *, margin: float = 2.0, max_unmatched: int = 3,
                  strong: float = 0.97, weak: float = 0.005) -> FormMatch | None:
    """The form the ink supports (see the module docstring for the rule), or None. ``matches`` best first,
    as :func:`match_forms` returns them."""
    from whiteboard_app.recognition.context import normalize_tokens

    if not matches:
        return None
    best = matches[0]
    toks = normalize_tokens(best.latex)
    runner_up = next((fm for fm in matches[1:] if normalize_tokens(fm.latex) != toks), None)
    if runner_up is not None and runner_up.cost - best.cost < margin:
        return None
    if best.unexplained or best.unmatched_ink + best.unmatched_glyphs > max_unmatched:
        return None
    if any(p_top >= strong and p_glyph < weak for p_top, p_glyph in best.contradictions):
        return None
    return best


def warm_up(context: RecognitionContext | None) -> int:
    """Typeset every form of ``context`` now (cached), so that the first step of a card does not wait
    for it (~10-20 ms a form, a few seconds for a card with many near misses). Returns the number of
    forms typeset; forms that cannot be typeset are skipped."""
    from whiteboard_app.recognition.typeset import LayoutError, glyph_layout

    n = 0
    for latex, _kind in (context.expected if context is not None else ()):
        try:
            glyph_layout(latex)
            n += 1
        except LayoutError:
            continue
    return n
