"""Decimal points and commas between digits, told apart by their size.

The symbol classifier sees a small mark between two digits on its own and often reads a decimal point
as a comma (``0.99`` read ``0 , 9 9``): drawn alone, the two are one blob of ink at different sizes. Among
the training ink's marks written between two digits (../shared/handwriting/train.jsonl.gz, 280 points and
137 commas; the mark's height over the left digit's height): points 0.02 / 0.07 / 0.26 (10th percentile /
median / 90th), commas 0.33 / 0.53 / 1.18. :data:`POINT_MAX_HEIGHT` lies between the point's 90th and the
comma's 10th percentile. Only marks between two digits on one line are relabelled: elsewhere (``f(x, y)``,
``x_1, \\ldots``) a comma is what the writer means far more often.

Pure Python: works on any objects with ``name`` and ``bbox`` (x, y, w, h) attributes, such as mathnote-ocr's
``DetectedSymbol``; relabelled symbols are copied with :func:`dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import replace

#: A mark between two digits no taller than this share of the left digit's height is a decimal point ...
POINT_MAX_HEIGHT = 0.3
#: ... and one taller than this share, reaching below the digit's bottom, is a comma.
COMMA_MIN_HEIGHT = 0.3
#: Names of the mark as the classifier and the layout parser spell them.
POINT, COMMA, CDOT = "dot", ",", "cdot"


def _digit(sym) -> bool:
    return len(sym.name) == 1 and sym.name.isdigit()


def decimal_points(symbols: list) -> list:
    """The symbols with a comma or a raised dot written between two digits relabelled as a decimal point
    when it is small (height <= :data:`POINT_MAX_HEIGHT` x the left digit's height) and lies in the lower
    half of the digits, and a point relabelled as a comma when it is tall and descends below the left
    digit. *symbols*: objects with ``name`` and ``bbox`` (``x, y, w, h``; y grows downwards); a new list
    in the order given is returned (the input is not changed). Neighbours are taken in order of the
    symbols' right edges; a digit counts only when the mark's centre lies between the digits
    horizontally. The relabelled symbol keeps its box and strokes; its confidence becomes its
    classifier probability of the new label (from ``alternatives``) or 0.5 when not listed."""
    order = sorted(range(len(symbols)), key=lambda k: symbols[k].bbox.x + symbols[k].bbox.w)
    out = list(symbols)
    for j in range(1, len(order) - 1):
        k = order[j]
        s = symbols[k]
        if s.name not in (POINT, COMMA, CDOT):
            continue
        a, b = symbols[order[j - 1]], symbols[order[j + 1]]
        if not (_digit(a) and _digit(b)):
            continue
        cx = s.bbox.x + s.bbox.w / 2
        if not (a.bbox.x + a.bbox.w / 2 <= cx <= b.bbox.x + b.bbox.w / 2):
            continue
        h = max(a.bbox.h, 1e-6)
        rel_h = s.bbox.h / h
        mid = a.bbox.y + a.bbox.h / 2
        bottom = s.bbox.y + s.bbox.h
        if s.name != POINT and rel_h <= POINT_MAX_HEIGHT and s.bbox.y >= mid:
            new = POINT
        elif s.name == POINT and rel_h > COMMA_MIN_HEIGHT and bottom > a.bbox.y + a.bbox.h:
            new = COMMA
        else:
            continue
        probs = dict(getattr(s, "alternatives", None) or [])
        out[k] = replace(s, name=new, confidence=float(probs.get(new, 0.5)))
    return out


# ── a comma or a subscript 1 ──────────────────────────────────────────────
#: Names of the marks :func:`comma_features` looks at: a comma and the digit 1 (a short stroke written
#: low after a symbol is either; the classifier, seeing it alone, mostly says 1).
COMMA_MARKS = (COMMA, "1")
#: Logistic model of "this mark is a comma" over :func:`comma_features` (the intercept under ""), fitted
#: on the 1,245 candidate marks (497 commas, 748 ones) of the training ink's training-split writers, their
#: ground-truth symbols read by the shipped classifier (scripts/fit_comma_rule.py; session 10, with the
#: candidates of :data:`MAX_HEIGHT` and :data:`BELOW_LEFT`: 973 marks, 383 commas before). The classifier's odds
#: count about once; a right neighbour that is an operator or a closing bracket speaks for a subscript
#: (``x_1 + ``, ``(x_1)``), brackets around and a digit before for a comma (``f(x, y)``, ``(2, 3)``).
COMMA_WEIGHTS: dict[str, float] = {
    "log_odds": 1.028,
    "top": -0.198,
    "bottom": 0.675,
    "height": 0.873,
    "gap": -0.097,
    "right_gap": -0.29,
    "right_operator": -3.619,
    "right_close": -2.953,
    "left_digit": 1.525,
    "in_brackets": 2.135,
    "": 0.472,
}
#: A mark read as 1 becomes a comma when the model's probability is above this. On the 131 candidate
#: marks of the held-out training writers (49 commas, 82 ones): commas read as such 47, ones read as
#: commas 5 (0.5: 48 and 7; 0.7: 41 and 4). Before session 10's wider candidates: 104 marks (33 commas,
#: 71 ones), 32 and 4.
COMMA_THRESHOLD = 0.6
#: Names a comma's left neighbour may not have (a comma follows a letter, digit, closing bracket, dots).
_NOT_BEFORE_COMMA = frozenset({"frac_bar", "-", "+", "=", "(", "[", "lbrace", "sqrt", "int", "sum", "prod"})


#: A candidate mark is at most this many times its left neighbour's height (a comma after a small letter
#: such as ``u`` or ``x`` is often taller than the letter: it descends below the line).
MAX_HEIGHT = 1.5
#: A mark whose top is below its left neighbour's bottom is a candidate when the gap is at most this many
#: times the neighbour's height (a comma written wholly below the line, ``(X, p)``).
BELOW_LEFT = 0.5


_OPERATORS = frozenset(
    {
        "+",
        "-",
        "=",
        "<",
        ">",
        "leq",
        "geq",
        "neq",
        "pm",
        "times",
        "cdot",
        "div",
        "frac_bar",
        "rightarrow",
        "in",
    }
)
_OPENING = frozenset({"(", "[", "lbrace"})
_CLOSING = frozenset({")", "]", "rbrace"})


def _overlap(a, b) -> bool:
    """Boxes *a* and *b* overlap vertically."""
    return a.y < b.y + b.h and b.y < a.y + a.h


def comma_features(symbols: list, k: int) -> dict[str, float] | None:
    """Features of symbol *k* (a :data:`COMMA_MARKS` mark) for :func:`comma_or_one`, or None when it is
    not a low mark between two symbols of a line.

    Its left neighbour L: the other symbol, left of the mark's centre and overlapping it vertically,
    whose right edge is nearest (not an operator or an opening bracket); its right neighbour R: the
    nearest symbol right of the mark's centre that overlaps L vertically. A candidate is no taller than
    ``0.9 x`` L and starts below L's top quarter. Features, in L's heights: ``top`` (mark's top below
    L's top), ``bottom`` (mark's bottom below L's bottom), ``height``, ``gap`` (mark's centre right of
    L's right edge), ``right_gap`` (R's left edge right of the mark's right edge), and ``log_odds``:
    log (p(comma) + 0.001) / (p(1) + 0.001) of the classifier's alternatives. *symbols*: objects with
    ``name``, ``bbox`` (x, y, w, h; y downwards), ``confidence`` and ``alternatives``."""
    m = symbols[k].bbox
    cx = m.x + m.w / 2
    left = right = None
    for j, o in enumerate(symbols):
        if j == k:
            continue
        b = o.bbox
        if (
            b.x + b.w / 2 < cx
            and (_overlap(b, m) or 0 <= m.y - b.y - b.h <= BELOW_LEFT * b.h)
            and (left is None or b.x + b.w > symbols[left].bbox.x + symbols[left].bbox.w)
        ):
            left = j
    if left is None or symbols[left].name in _NOT_BEFORE_COMMA or symbols[left].name in COMMA_MARKS:
        return None
    lb = symbols[left].bbox
    for j, o in enumerate(symbols):
        b = o.bbox
        if j in (k, left) or b.x + b.w / 2 <= cx or not _overlap(b, lb):
            continue
        if right is None or b.x < symbols[right].bbox.x:
            right = j
    if right is None:
        return None
    lh = max(lb.h, 1e-6)
    if m.h > MAX_HEIGHT * lh or m.y < lb.y + 0.25 * lh:
        return None
    s = symbols[k]
    probs = dict(getattr(s, "alternatives", None) or [])
    probs.setdefault(s.name, float(getattr(s, "confidence", 0.0)))
    rb = symbols[right].bbox
    import math

    return {
        "log_odds": math.log((probs.get(COMMA, 0.0) + 1e-3) / (probs.get("1", 0.0) + 1e-3)),
        "top": (m.y - lb.y) / lh,
        "bottom": (m.y + m.h - lb.y - lb.h) / lh,
        "height": m.h / lh,
        "gap": (cx - lb.x - lb.w) / lh,
        "right_gap": (rb.x - m.x - m.w) / lh,
        "right_operator": float(symbols[right].name in _OPERATORS),
        "right_close": float(symbols[right].name in _CLOSING),
        "left_digit": float(_digit(symbols[left])),
        "in_brackets": float(_in_brackets(symbols, lb, cx)),
    }


def _in_brackets(symbols: list, line, cx: float) -> bool:
    """An opening bracket left of *cx* and a closing one right of it, both overlapping the box *line*
    vertically."""
    opened = any(s.name in _OPENING and s.bbox.x < cx and _overlap(s.bbox, line) for s in symbols)
    closed = any(s.name in _CLOSING and s.bbox.x > cx and _overlap(s.bbox, line) for s in symbols)
    return opened and closed


def comma_probability(features: dict[str, float]) -> float:
    """The probability (0-1) of :data:`COMMA_WEIGHTS`'s logistic model that a mark with these
    :func:`comma_features` is a comma."""
    import math

    z = COMMA_WEIGHTS[""] + sum(w * features[k] for k, w in COMMA_WEIGHTS.items() if k)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def commas(symbols: list) -> list:
    """The symbols with each mark read as ``1`` relabelled a comma when :func:`comma_probability` of its
    :func:`comma_features` is above :data:`COMMA_THRESHOLD` (``f(x,y)`` was read ``f(x_1 y)``: the
    classifier said 1 and the layout parser placed it as a subscript). The relabelled symbol keeps its
    box and strokes; its confidence becomes its classifier probability of a comma (0.5 when not
    listed). Returns a new list in the given order; the input is not changed."""
    out = list(symbols)
    for k, s in enumerate(symbols):
        if s.name != "1":
            continue
        f = comma_features(symbols, k)
        if f is None or comma_probability(f) <= COMMA_THRESHOLD:
            continue
        probs = dict(getattr(s, "alternatives", None) or [])
        out[k] = replace(s, name=COMMA, confidence=float(probs.get(COMMA, 0.5)))
    return out
