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
