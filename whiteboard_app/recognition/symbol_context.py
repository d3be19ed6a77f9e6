"""Symbol labels the classifier cannot tell apart alone, decided by the symbols around them.

The classifier reads each symbol drawn alone; two errors it makes on real handwriting are decided by
the neighbours far better:

1. **x or \\times.** Written alike; the letter is 8.6 times as frequent as the cross in the training ink,
   so the classifier mostly says x. Which one is meant depends strongly on the neighbours: between two
   digits (``21 \\times 20``) the cross is 11 times likelier than the letter's average share, after a
   closing bracket or ``!`` before a digit 29 times, after an operator 0.02-0.25 times
   (:data:`TIMES_CONTEXT`). :func:`times_or_x` multiplies the classifier's odds (cross : letter) by that
   factor (Bayes: the classifier's probabilities carry the training prior, the factor is the
   neighbours' likelihood ratio) and takes the likelier.
2. **\\lim with nothing below.** 132 of 136 \\lim in the training ink have their limit written below;
   a ``lim`` symbol with no ink under it is far more often another function name the classifier
   confused with it (``\\tan \\theta`` read ``\\lim \\theta``). :func:`lim_without_limit` takes the
   likeliest other function name among the symbol's classifier alternatives.

:data:`TIMES_CONTEXT` is ``training.structure.times_context_table`` of the training ink
(../shared/handwriting/train.jsonl.gz, all 10,334 expressions: 5,884 x, 685 \\times between
neighbours) with add-one smoothing, contexts of at least 20 symbols; other contexts count 1.

Works on any objects with ``name``, ``bbox`` (x, y, w, h) and ``alternatives`` ((name, probability)
pairs) attributes, such as mathnote-ocr's ``DetectedSymbol``; changed symbols are copied with
:func:`dataclasses.replace`. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace

#: (left neighbour's kind, right neighbour's kind) -> likelihood ratio cross : letter (1 when absent).
TIMES_CONTEXT: dict[tuple[str, str], float] = {
    ("edge", "digit"): 0.03,
    ("edge", "op"): 0.04,
    ("edge", "letter"): 0.05,
    ("edge", "other"): 0.07,
    ("digit", "edge"): 0.57,
    ("digit", "digit"): 11.37,
    ("digit", "close"): 0.26,
    ("digit", "op"): 1.59,
    ("digit", "letter"): 6.09,
    ("digit", "other"): 2.15,
    ("close", "digit"): 28.63,
    ("close", "op"): 8.92,
    ("op", "edge"): 0.09,
    ("op", "digit"): 0.16,
    ("op", "close"): 0.02,
    ("op", "op"): 0.25,
    ("op", "letter"): 0.09,
    ("op", "other"): 0.04,
    ("letter", "edge"): 0.03,
    ("letter", "digit"): 0.5,
    ("letter", "close"): 0.09,
    ("letter", "op"): 0.19,
    ("letter", "letter"): 2.57,
    ("letter", "other"): 1.47,
    ("other", "edge"): 0.14,
    ("other", "digit"): 0.2,
    ("other", "close"): 0.18,
    ("other", "op"): 0.08,
    ("other", "letter"): 0.41,
    ("other", "other"): 0.25,
}
#: Function names a ``lim`` without a limit may be instead.
OTHER_FUNCTIONS = ("tan", "sin", "cos", "log")
#: ... when the classifier gives that name at least this probability.
MIN_FUNCTION_PROB = 0.01

_CLOSE = frozenset({"!", ")", "]", "frac_bar", "rbrace"})
_OP = frozenset({"(", "[", "+", "-", "=", "<", ">", "leq", "geq", "neq", "lbrace", "pm"})


def neighbour_kind(name: str | None) -> str:
    """The kind of a neighbour as :data:`TIMES_CONTEXT` counts it: edge (none), digit, close (a closing
    bracket, ``!``, a fraction bar), op (an operator, relation or opening bracket), letter (Latin, any
    case: ``x``, ``X_cap``) or other."""
    if name is None:
        return "edge"
    if len(name) == 1 and name.isdigit():
        return "digit"
    if name in _CLOSE:
        return "close"
    if name in _OP:
        return "op"
    if (len(name) == 1 and name.isalpha()) or (name.endswith("_cap") and len(name) == 5):
        return "letter"
    return "other"


def _by_centre(symbols: list) -> list[int]:
    return sorted(range(len(symbols)), key=lambda k: symbols[k].bbox.x + symbols[k].bbox.w / 2)


def times_or_x(symbols: list) -> list:
    """The symbols with each ``x`` / ``times`` relabelled by its neighbours (module docstring, 1): the
    odds p(times) / p(x) from its ``alternatives`` times :data:`TIMES_CONTEXT` of its neighbours (by
    horizontal centre) decide. A symbol whose alternatives lack either label is left alone. Returns a
    new list in the given order; the input is not changed."""
    order = _by_centre(symbols)
    out = list(symbols)
    for j, k in enumerate(order):
        s = symbols[k]
        if s.name not in ("x", "times"):
            continue
        probs = dict(s.alternatives or [])
        probs.setdefault(s.name, float(getattr(s, "confidence", 0.0)))
        p_x, p_t = probs.get("x", 0.0), probs.get("times", 0.0)
        if p_x <= 0 or p_t <= 0:
            continue
        left = symbols[order[j - 1]].name if j > 0 else None
        right = symbols[order[j + 1]].name if j + 1 < len(order) else None
        factor = TIMES_CONTEXT.get((neighbour_kind(left), neighbour_kind(right)), 1.0)
        new = "times" if p_t * factor > p_x else "x"
        if new != s.name:
            out[k] = replace(s, name=new, confidence=probs[new])
    return out


def lim_without_limit(symbols: list) -> list:
    """The symbols with a ``lim`` that has no symbol below it (no other symbol's centre within its
    horizontal extent and below its bottom) relabelled as the likeliest of :data:`OTHER_FUNCTIONS`
    among its alternatives (probability >= :data:`MIN_FUNCTION_PROB`); left alone otherwise. Returns a
    new list in the given order."""
    out = list(symbols)
    for k, s in enumerate(symbols):
        if s.name != "lim":
            continue
        b = s.bbox
        below = any(
            o.bbox.y + o.bbox.h / 2 > b.y + b.h and b.x <= o.bbox.x + o.bbox.w / 2 <= b.x + b.w
            for m, o in enumerate(symbols)
            if m != k
        )
        if below:
            continue
        probs = dict(s.alternatives or [])
        name, p = max(((f, probs.get(f, 0.0)) for f in OTHER_FUNCTIONS), key=lambda t: t[1])
        if p >= MIN_FUNCTION_PROB:
            out[k] = replace(s, name=name, confidence=p)
    return out


def in_context(symbols: list) -> list:
    """All the neighbour rules in turn: decimal points (recognition/decimals.py), x or \\times,
    \\lim without a limit. Returns a new list in the given order."""
    from whiteboard_app.recognition.decimals import decimal_points

    return lim_without_limit(times_or_x(decimal_points(symbols)))
