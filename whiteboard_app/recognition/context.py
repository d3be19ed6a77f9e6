"""The card as a soft prior over readings, symmetric between right and wrong variants.

While practising, the window knows what is likely on the line (:class:`RecognitionContext`): the card's
reference steps ("reference"), its declared mistakes ("mistake"), generated wrong variants
("near_miss") and the user's previous step ("previous"). :func:`rerank` uses them on an engine's
n-best list:

* **Bonus by similarity, whatever the kind.** Each candidate gets ``max(0, weight - per_token * d)`` added
  to its engine score (a log-prior: each token edit away from an expected form costs ``per_token`` nats),
  where d is the token edit distance (Levenshtein over normalised LaTeX tokens) to the nearest expected
  form, counted only within that form's radius r (``max(1, round(radius_fraction * len(form)))`` tokens). A candidate close to a mistake gets exactly the bonus it would get if that form were
  a reference step.
* **Expected forms as candidates, only when the ink is close to them.** An expected form is added to the
  list (for the correction menu) when some engine candidate is within ``max_add_distance`` tokens (and
  within its radius) of it, scored as that candidate's final score minus ``add_penalty`` per token:
  always below the reading it came from and never the best reading (the user may have written exactly
  that one-token difference), unless the ink supports it (next point).
* **Forms the ink supports.** When an expected form is the engine's best reading with some symbols
  replaced by that symbol's own alternatives (probability >= ``min_alt_prob``; nothing inserted,
  deleted or moved; at most ``supported_fraction`` of the form's tokens), it is added scored as the best reading's engine score
  plus the full bonus, and it MAY become the best reading (same side rule below). This is how a "z"
  read as "2" (with "z" as its runner-up) becomes the card's "z": the ink says so, the card decides.
* **Only what the ink itself supports.** Given the step's ink (:func:`rerank` with ``ink``), a form may
  become "supported", or an engine candidate equal to a form be moved above the engine's best reading,
  only when the verifier's fit of that form passes its evidence test
  (:func:`~whiteboard_app.recognition.form_match.form_accepted`: per-glyph class evidence, script levels,
  and a better fit than the engine's own reading), not for being near a form (issue 13: a correct
  reading absent from the card's forms was turned into the nearest near miss).
* **Never across the line between right and wrong.** Each reading has a side: "right" when it is
  strictly nearer to a reference step than to any mistake or near miss, "wrong" when strictly nearer
  to a wrong variant, "open" otherwise (a tie, or no forms of one kind; "previous" steps count for
  the bonus only). A candidate may be moved above the engine's own best reading only when both are on
  the same side, and that side is not "open". So context can help read a right step or a wrong one,
  and can never turn a wrong step's reading into the right one (nor the reverse).
* **Far from everything, the open reading stands.** When no candidate is within the radius of any
  expected form, nothing changes.

Scores stay log-probability-like (higher is better). Cost: edit distances between the candidates and the
card's forms (a few dozen) and among the forms close to a candidate, ~1 us each (rapidfuzz).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionContext,
    RecognitionResult,
    Recognizer,
    SymbolAlternatives,
)
from whiteboard_app.recognition.tokens import normalize_tokens, token_distance

__all__ = [
    "ContextualRecognizer",
    "Scored",
    "normalize_tokens",
    "rerank",
    "score_candidates",
    "side_of",
    "token_distance",
]

RIGHT_KINDS = frozenset({"reference"})
WRONG_KINDS = frozenset({"mistake", "near_miss"})


@dataclass(frozen=True)
class _Form:
    latex: str
    kind: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class Scored:
    """One candidate after the prior: engine score, bonus, final score, nearest form, side, added?"""

    latex: str
    engine_score: float
    bonus: float
    score: float
    nearest: str | None
    distance: int | None
    side: str  # "right" | "wrong" | "open"
    added: bool = False
    supported: bool = False  # an added form the ink supports (per-symbol alternatives)


def _forms(context: RecognitionContext | None) -> list[_Form]:
    if context is None:
        return []
    seen = set()
    out = []
    for latex, kind in context.expected:
        toks = normalize_tokens(latex)
        if not toks or (toks, kind) in seen:
            continue
        seen.add((toks, kind))
        out.append(_Form(latex, kind, toks))
    return out


def side_of(tokens: Sequence[str], forms: Iterable[_Form]) -> str:
    """ "right", "wrong" or "open" for a reading's tokens (see the module docstring)."""
    d_right = d_wrong = None
    for f in forms:
        d = token_distance(tokens, f.tokens)
        if f.kind in RIGHT_KINDS:
            d_right = d if d_right is None else min(d_right, d)
        elif f.kind in WRONG_KINDS:
            d_wrong = d if d_wrong is None else min(d_wrong, d)
    if d_right is not None and (d_wrong is None or d_right < d_wrong):
        return "right"
    if d_wrong is not None and (d_right is None or d_wrong < d_right):
        return "wrong"
    return "open"


def score_candidates(
    candidates: Sequence[Candidate],
    context: RecognitionContext | None,
    *,
    weight: float = 2.0,
    per_token: float = 1.0,
    radius_fraction: float = 0.2,
    add_expected: bool = True,
    max_add_distance: int = 2,
    add_penalty: float = 0.5,
    symbols: Sequence[SymbolAlternatives] = (),
    min_alt_prob: float = 0.02,
    supported_fraction: float = 0.34,
    form_ok=None,
) -> list[Scored]:
    """Every candidate (and any expected form close enough to be added) with its bonus and side,
    in the order :func:`rerank` puts them (best first). ``symbols``: the engine's per-symbol
    alternatives of its best reading (they make an expected form "supported by the ink", see the module
    docstring). ``form_ok(latex) -> bool``, when given, is the ink's own evidence for an expected form
    (:func:`rerank` passes the verifier's :func:`~whiteboard_app.recognition.form_match.evidence_ok` of the
    form's fit): a form it rejects is never "supported" and, when it is one of the engine's own
    candidates, never moved above the engine's best reading. See the module docstring for the rules."""
    forms = _forms(context)
    if not candidates:
        return []
    scored: list[Scored] = []
    added: dict[str, Scored] = {}
    for c in candidates:
        toks = normalize_tokens(c.latex)
        best = None  # (bonus, distance, form)
        near: list[tuple[int, _Form]] = []
        for f in forms:
            d = token_distance(toks, f.tokens)
            r = max(1, round(radius_fraction * len(f.tokens)))
            if d > r:
                continue
            bonus = max(0.0, weight - per_token * d)
            if best is None or bonus > best[0]:
                best = (bonus, d, f)
            if 0 < d <= max_add_distance:
                near.append((d, f))
        side = side_of(toks, forms) if forms else "open"
        bonus = best[0] if best else 0.0
        final = c.score + bonus
        scored.append(
            Scored(
                c.latex,
                c.score,
                bonus,
                final,
                best[2].latex if best else None,
                best[1] if best else None,
                side,
            )
        )
        if add_expected:
            for d, f in near:  # offered for correction, always below the candidate it came from
                s = final - add_penalty * d
                if f.latex not in added or added[f.latex].score < s:
                    added[f.latex] = Scored(f.latex, s, 0.0, s, f.latex, 0, side_of(f.tokens, forms), True)
    alts = _alternatives(symbols, min_alt_prob)
    if alts:  # expected forms the engine's best reading becomes by its own per-symbol alternatives
        top_tokens = normalize_tokens(candidates[0].latex)
        for f in forms:
            r = max(1, round(supported_fraction * len(f.tokens)))
            if (
                f.tokens != top_tokens
                and token_distance(top_tokens, f.tokens) <= r
                and _supported(top_tokens, f.tokens, alts)
                and (form_ok is None or form_ok(f.latex))
            ):
                s = candidates[0].score + weight
                if f.latex not in added or not added[f.latex].supported or added[f.latex].score < s:
                    added[f.latex] = Scored(
                        f.latex,
                        candidates[0].score,
                        weight,
                        s,
                        f.latex,
                        0,
                        side_of(f.tokens, forms),
                        True,
                        True,
                    )
    present = {normalize_tokens(s.latex) for s in scored}
    scored += [s for s in added.values() if normalize_tokens(s.latex) not in present]
    if all(s.nearest is None for s in scored):
        return scored  # far from every expected form: the open reading stands
    top = scored[0]  # the engine's own best reading
    # only the engine's own readings may replace it (an added form is an offer for correction)
    movable = [
        s
        for s in scored[1:]
        if (not s.added or s.supported)
        and top.side != "open"
        and s.side == top.side
        and s.score > top.score
        and (form_ok is None or s.supported or s.distance != 0 or form_ok(s.latex))
    ]
    if movable:
        new_top = max(movable, key=lambda s: s.score)
        rest = [s for s in scored if s is not new_top]
    else:
        new_top, rest = top, scored[1:]
    # below the best, order by score, but never put a reading of the other side above the engine's best
    return [new_top] + sorted(rest, key=lambda s: -s.score)


def _alternatives(symbols: Sequence[SymbolAlternatives], min_prob: float) -> dict[str, set[str]]:
    """token read -> tokens the engine also gave at least ``min_prob`` for that symbol (single tokens)."""
    out: dict[str, set[str]] = {}
    for sym in symbols:
        if not sym.labels:
            continue
        read = normalize_tokens(sym.labels[0][0])
        if len(read) != 1:
            continue
        for label, p in sym.labels[1:]:
            alt = normalize_tokens(label)
            if p >= min_prob and len(alt) == 1 and alt != read:
                out.setdefault(read[0], set()).add(alt[0])
    return out


def _supported(read: Sequence[str], form: Sequence[str], alts: dict[str, set[str]]) -> bool:
    """Whether ``form`` is ``read`` with some symbols replaced by their own alternatives (and nothing
    inserted, deleted or moved)."""
    ops = difflib.SequenceMatcher(a=read, b=form, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            continue
        if op != "replace" or i2 - i1 != j2 - j1:
            return False
        if any(b not in alts.get(a, ()) for a, b in zip(read[i1:i2], form[j1:j2], strict=True)):
            return False
    return True


def rerank(
    result: RecognitionResult,
    context: RecognitionContext | None,
    *,
    ink: StepInk | None = None,
    verify: bool = True,
    classify=None,
    **options,
) -> RecognitionResult:
    """``result`` with its candidates re-ordered (and possibly extended) by the card's context.

    Options as :func:`score_candidates`; the result's per-symbol alternatives are used. No context or
    no candidates: ``result`` unchanged.

    Given the step's ``ink`` (and ``verify``), the ink's symbols are also fitted to every expected form
    (:mod:`whiteboard_app.recognition.form_match`); a form the ink supports by the verifier's rule, which
    treats right and wrong forms alike, becomes the best reading, scored ``weight`` above the engine's
    best, and the other readings follow it (not again when the engine verified the ink itself,
    ``result.verified``; and not when the engine's own best reading is another of the card's forms). ``classify``: the engine's ``classify_groups``, which lets the
    verifier regroup strokes the engine grouped wrongly (:func:`~whiteboard_app.recognition.form_match.regroup_form`).
    When the engine's verifier fitted the same symbols to these forms while reading (``result.fits``),
    those fits are used rather than made again (the same fits; issue 16); the returned result does not
    keep them.
    """
    fits = result.fits
    if fits is not None:
        result = replace(result, fits=None)  # used here only; not kept with the reading
    if context is None or not context.expected or not result.candidates:
        return result
    options.setdefault("symbols", result.symbols)
    matches = open_fit = None
    if ink is not None and verify and result.symbols and not result.verified:
        from whiteboard_app.recognition.form_match import match_forms

        try:
            # the engine's verifier fitted these symbols to this context's forms already: not again
            matches = (
                list(fits)
                if _fits_context(fits, context)
                else match_forms(ink, result.symbols, context, classify)
            )
            own = match_forms(
                ink, result.symbols, RecognitionContext(((result.candidates[0].latex, "open"),)), classify
            )  # the engine's own reading, fitted as a form
            open_fit = own[0] if own else None
        except Exception:  # noqa: BLE001 - the verifier is optional; its failure must not cost the reading
            matches = None
        if matches is not None and open_fit is not None:
            result, open_fit = _case_by_size(result, open_fit)
    if matches is not None and "form_ok" not in options:
        options["form_ok"] = _form_evidence(matches, open_fit)
    scored = score_candidates(result.candidates, context, **options)
    cands = [Candidate(s.latex, s.score) for s in scored]
    if matches is not None:
        from whiteboard_app.recognition.form_match import verified_form

        try:
            form = verified_form(matches, open_fit=open_fit)
        except Exception:  # noqa: BLE001 - no verified form is the safe reading
            form = None
        engine_best = normalize_tokens(result.candidates[0].latex)
        if (
            form is not None
            and normalize_tokens(form.latex) != engine_best
            and any(f.tokens == engine_best for f in _forms(context))
        ):
            form = None  # the engine's own reading is one of the card's forms: the parse and the fit disagree
        if form is not None:
            toks = normalize_tokens(form.latex)
            top = max(c.score for c in cands) + options.get("weight", 2.0)
            cands = [Candidate(form.latex, top)] + [c for c in cands if normalize_tokens(c.latex) != toks]
    return replace(result, candidates=tuple(cands))


def _case_by_size(result: RecognitionResult, open_fit):
    """(result, open fit) with the engine's best reading's letter cases decided by the written size
    (:func:`~whiteboard_app.recognition.form_match.case_by_size`: a c written as large as the line's
    capitals is a C, whatever the classifier, which cannot tell them apart): the changed reading first,
    scored as the engine's best, and the engine's own reading kept below it (for the correction menu).
    Unchanged when the size does not clearly show the other case."""
    from whiteboard_app.recognition.form_match import case_by_size

    flipped = case_by_size(open_fit)
    if flipped is None:
        return result, open_fit
    toks = normalize_tokens(flipped.latex)
    first = result.candidates[0]
    rest = tuple(c for c in result.candidates if normalize_tokens(c.latex) != toks)
    return replace(result, candidates=(Candidate(flipped.latex, first.score), *rest)), flipped


def _fits_context(fits, context: RecognitionContext) -> bool:
    """Whether an engine's fits (``RecognitionResult.fits``) are of this context's forms (each fitted
    form one of them; forms that cannot be typeset have no fit)."""
    if fits is None:
        return False
    forms = {normalize_tokens(latex) for latex, _kind in context.expected}
    return all(normalize_tokens(fm.latex) in forms for fm in fits)


def _form_evidence(matches, open_fit=None):
    """``form_ok`` for :func:`score_candidates` from the verifier's fits: a form the ink supports on its own
    terms (fitted with nothing unexplained and passing
    :func:`~whiteboard_app.recognition.form_match.form_accepted` against the engine's reading fitted the
    same way, ``open_fit``, which it must fit at least as well: an open margin of at least 0 whatever the
    verifier's); a form without a fit (not typeset) is not."""
    from whiteboard_app.recognition.form_match import evidence_thresholds, form_accepted

    # the prior changes symbols of the engine's own reading (or takes another of its readings) for no
    # structural reason: the form must fit the ink at least as well as that reading does
    t = evidence_thresholds()
    supported = {**t, "open_margin": max(0.0, t["open_margin"])}

    by_tokens = {}
    for fm in matches:
        by_tokens.setdefault(normalize_tokens(fm.latex), fm)

    def form_ok(latex: str) -> bool:
        fm = by_tokens.get(normalize_tokens(latex))
        return fm is not None and not fm.unexplained and form_accepted(fm, open_fit, supported)

    return form_ok


class ContextualRecognizer:
    """A recogniser whose results go through :func:`rerank` with the context it is given.

    Other attributes (``load``, ``adapt``, ``close``, ...) are those of the wrapped engine.
    """

    def __init__(self, inner: Recognizer, **options):
        self.inner = inner
        self.options = options
        self.name = getattr(inner, "name", "recogniser")

    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult:
        result = self.inner.recognize(ink, context)
        t0 = time.perf_counter()
        classify = getattr(self.inner, "classify_groups", None)
        out = rerank(
            result, context, ink=ink, classify=classify if callable(classify) else None, **self.options
        )
        return replace(out, ms=out.ms + (time.perf_counter() - t0) * 1000.0) if out is not result else out

    def prepare(self, context: RecognitionContext | None) -> None:
        """The engine's ``prepare(context)`` when it has one (see ``TrainedRecognizer.prepare``)."""
        prepare = getattr(self.inner, "prepare", None)
        if callable(prepare):
            prepare(context)

    def __getattr__(self, attr: str):
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)
