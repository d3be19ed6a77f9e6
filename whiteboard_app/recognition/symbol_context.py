"""Symbol labels the classifier cannot tell apart alone, decided by the symbols around them.

The classifier reads each symbol drawn alone; two errors it makes on real handwriting are decided by
the neighbours far better:

1. **x or \\times.** Written alike; the letter is 8.6 times as frequent as the cross in the training ink,
   so the classifier mostly says x. Which one is meant depends strongly on the neighbours on the line:
   between two digits (``21 \\times 20``) the odds of the cross are 61 times its average odds, after a
   closing bracket or ``!`` before a digit 22 times, after an operator 0.01-0.08 times
   (:data:`TIMES_CONTEXT`). :func:`times_or_x` multiplies the classifier's odds (cross : letter) by that
   factor (Bayes: the classifier's probabilities carry the training prior, the factor is the
   neighbours' likelihood ratio) and takes the likelier.
2. **\\lim with nothing below.** 132 of 136 \\lim in the training ink (its first 6,000 expressions)
   have their limit written below; a ``lim`` symbol with no ink under it is far more often another
   function name the classifier confused with it (``\\tan \\theta`` read ``\\lim \\theta``). :func:`lim_without_limit` takes the
   likeliest other function name among the symbol's classifier alternatives.

:data:`TIMES_CONTEXT` is ``training.structure.times_context_table`` of the training ink
(../shared/handwriting/train.jsonl.gz, all 10,334 expressions) with add-one smoothing, contexts of at
least 20 symbols; other contexts count 1.

Works on any objects with ``name``, ``bbox`` (x, y, w, h) and ``alternatives`` ((name, probability)
pairs) attributes, such as mathnote-ocr's ``DetectedSymbol``; changed symbols are copied with
:func:`dataclasses.replace`. Pure Python.
"""

from __future__ import annotations

from dataclasses import replace

#: (left neighbour's kind, right neighbour's kind) -> likelihood ratio cross : letter (1 when absent).
TIMES_CONTEXT: dict[tuple[str, str], float] = {
    ("close", "close"): 0.55,
    ("close", "digit"): 22.41,
    ("close", "edge"): 0.15,
    ("close", "letter"): 6.06,
    ("close", "op"): 8.44,
    ("digit", "close"): 0.61,
    ("digit", "digit"): 60.81,
    ("digit", "edge"): 0.08,
    ("digit", "letter"): 12.52,
    ("digit", "op"): 1.85,
    ("edge", "digit"): 0.05,
    ("edge", "edge"): 0.06,
    ("edge", "letter"): 0.05,
    ("edge", "op"): 0.02,
    ("edge", "other"): 0.06,
    ("letter", "close"): 0.37,
    ("letter", "digit"): 12.17,
    ("letter", "edge"): 0.02,
    ("letter", "letter"): 7.3,
    ("letter", "op"): 0.15,
    ("letter", "other"): 1.17,
    ("op", "close"): 0.01,
    ("op", "digit"): 0.08,
    ("op", "edge"): 0.05,
    ("op", "letter"): 0.03,
    ("op", "op"): 0.02,
    ("op", "other"): 0.07,
    ("other", "close"): 0.21,
    ("other", "digit"): 0.12,
    ("other", "edge"): 0.14,
    ("other", "letter"): 0.33,
    ("other", "op"): 0.06,
    ("other", "other"): 0.17,
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


def line_neighbours(boxes: list, k: int) -> tuple[int | None, int | None]:
    """Indices of the nearest symbols left and right of symbol *k* on its line: among the others whose
    vertical centre lies within *k*'s vertical extent or whose extent holds *k*'s centre (so scripts,
    numerators and denominators around it do not count), the nearest by horizontal centre on each side (None: none). *boxes*: (x, y, w, h)
    per symbol, y downwards."""
    x, y, w, h = boxes[k]
    cx = x + w / 2
    left = right = None
    for m, (ox, oy, ow, oh) in enumerate(boxes):
        if m == k or not (y <= oy + oh / 2 <= y + h or oy <= y + h / 2 <= oy + oh):
            continue
        ocx = ox + ow / 2
        if ocx < cx or (ocx == cx and m < k):
            if left is None or ocx > boxes[left][0] + boxes[left][2] / 2:
                left = m
        elif right is None or ocx < boxes[right][0] + boxes[right][2] / 2:
            right = m
    return left, right


def times_or_x(symbols: list) -> list:
    """The symbols with each ``x`` / ``times`` relabelled by its neighbours (module docstring, 1): the
    odds p(times) / p(x) from its ``alternatives`` times :data:`TIMES_CONTEXT` of its neighbours on its
    line (:func:`line_neighbours`) decide. A symbol whose alternatives lack either label is left alone. Returns a
    new list in the given order; the input is not changed."""
    boxes = [(s.bbox.x, s.bbox.y, s.bbox.w, s.bbox.h) for s in symbols]
    out = list(symbols)
    for k, s in enumerate(symbols):
        if s.name not in ("x", "times"):
            continue
        probs = dict(s.alternatives or [])
        probs.setdefault(s.name, float(getattr(s, "confidence", 0.0)))
        p_x, p_t = probs.get("x", 0.0), probs.get("times", 0.0)
        if p_x <= 0 or p_t <= 0:
            continue
        lk, rk = line_neighbours(boxes, k)
        left = symbols[lk].name if lk is not None else None
        right = symbols[rk].name if rk is not None else None
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
    """All the neighbour rules in turn: a comma read as 1, decimal points (recognition/decimals.py), x or \\times,
    \\lim without a limit. Returns a new list in the given order."""
    from whiteboard_app.recognition.decimals import commas, decimal_points

    return lim_without_limit(times_or_x(decimal_points(commas(symbols))))
