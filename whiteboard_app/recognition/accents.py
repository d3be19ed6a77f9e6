"""Accents as structure: a caret, tilde or bar written above one symbol is read as ``\\hat{y}``,
``\\tilde{x}``, ``\\bar{x}``.

The classifier reads the caret and the tilde as classes of their own (``\\hat``, ``\\tilde``: the added
classes, docs/recogniser.md) and a bar as a minus or fraction bar. The layout parser (mathnote-ocr's,
trained on layouts without accents) does not know what to do with a small mark above a letter: it reads
it as a superscript, a neighbour, or a fraction. So before the layout parse, :func:`merge_accents` finds
each accent mark standing directly above exactly one base symbol and folds it into the base: the base
keeps its box (so the layout around it is the one without the accent) and is renamed to its accented
LaTeX, which the parser passes through as an unknown symbol (``\\hat{y}``, then ``\\hat{y}_{i}`` ...).

The geometry (boxes in ink px, y down), for a mark *a* and a base *b*:

- the mark lies above the base: its bottom at most a quarter of the base's height below the base's top,
  and the gap between them at most 0.9 x the base's height;
- they overlap horizontally: the mark's centre lies within the base's x-span widened by 30 % of its
  width on each side; the mark is at most 2.2 x as wide as the base (a bar: 0.5 to 2.0 x);
- exactly one symbol qualifies as the base (a mark over two letters, ``\\hat{xy}``, is left alone);
- a bar (``-``, ``frac_bar``) has nothing above it within its span (else it is a fraction bar) and is
  not the widest part of a fraction: nothing below the base within its span either;
- the base is a letter, digit or Greek letter, not an operator, bracket or another mark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

#: class name of a mark -> the LaTeX accent it makes
ACCENT_MARKS = {"\\hat": "\\hat", "\\tilde": "\\tilde", "-": "\\bar", "frac_bar": "\\bar"}
#: A caret or tilde above no base is read as the symbol of that shape (an accent command with nothing
#: under it, ``\\hat``, is no valid LaTeX; ``\\hat{}`` has an empty argument).
LONE_MARKS = {"\\hat": "\\wedge", "\\tilde": "\\sim"}
_NOT_BASE = frozenset(
    {
        "+",
        "-",
        "=",
        "(",
        ")",
        "[",
        "]",
        "lbrace",
        "rbrace",
        ",",
        ";",
        "!",
        "<",
        ">",
        "|",
        "\\|",
        "dot",
        "cdot",
        "ldots",
        "frac_bar",
        "slash",
        "times",
        "div",
        "pm",
        "neq",
        "leq",
        "geq",
        "rightarrow",
        "leftarrow",
        "sum",
        "int",
        "prod",
        "sqrt",
        "in",
        "prime",
        "colon",
        "*",
        "\\hat",
        "\\tilde",
        "sin",
        "cos",
        "tan",
        "log",
        "lim",
        "forall",
        "exists",
        "infty",
    }
)


def _base_ok(name: str) -> bool:
    return name not in _NOT_BASE and "{" not in name


def _box(s):
    b = s.bbox
    return b.x, b.y, b.x + b.w, b.y + b.h


def accent_pairs(symbols: Sequence) -> dict[int, int]:
    """{mark index: base index} for the marks of *symbols* (objects with ``.name`` and ``.bbox`` with
    x, y, w, h) that stand above exactly one base, by the rules of the module docstring."""
    boxes = [_box(s) for s in symbols]
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for a, sa in enumerate(symbols):
        if sa.name not in ACCENT_MARKS:
            continue
        ax0, ay0, ax1, ay1 = boxes[a]
        aw, acx = ax1 - ax0, (ax0 + ax1) / 2
        bars = sa.name in ("-", "frac_bar")
        cands = []
        for b in range(len(symbols)):
            if b == a:
                continue
            bx0, by0, bx1, by1 = boxes[b]
            bw, bh = max(bx1 - bx0, 1e-6), max(by1 - by0, 1e-6)
            if not (bx0 - 0.3 * bw <= acx <= bx1 + 0.3 * bw):
                continue
            if ay1 > by0 + 0.25 * bh or by0 - ay1 > 0.9 * bh:
                continue
            cands.append(b)
        if len(cands) != 1:
            continue
        b = cands[0]
        sb = symbols[b]
        bx0, by0, bx1, by1 = boxes[b]
        bw = max(bx1 - bx0, 1e-6)
        if not _base_ok(sb.name) or b in used or b in pairs:
            continue
        if aw > 2.2 * max(bw, by1 - by0) or (bars and not 0.5 * bw <= aw <= 2.0 * bw):
            continue
        if bars:
            over = [
                k
                for k in range(len(symbols))
                if k not in (a, b)
                and min(boxes[k][2], ax1) - max(boxes[k][0], ax0) > 0.2 * min(aw, boxes[k][2] - boxes[k][0])
            ]
            above = any(boxes[k][3] <= ay0 + 1e-6 for k in over)
            below = any(boxes[k][1] >= by1 - 1e-6 for k in over)
            if above or below:
                continue
        pairs[a] = b
        used.add(b)
    return pairs


def merge_accents(symbols: Sequence) -> list:
    """*symbols* (mathnote-ocr ``DetectedSymbol``s, in reading order) with each accent mark folded into
    its base (:func:`accent_pairs`): the mark is dropped and the base renamed ``\\hat{<its LaTeX>}`` (box,
    strokes and confidence kept); a caret or tilde over no base is renamed as :data:`LONE_MARKS` says.
    Other symbols are returned unchanged (a new list)."""
    pairs = accent_pairs(symbols)
    if not pairs and not any(s.name in LONE_MARKS for s in symbols):
        return list(symbols)
    from whiteboard_app.recognition.vocabulary import name_to_latex

    accent_of = {b: ACCENT_MARKS[symbols[a].name] for a, b in pairs.items()}
    out = []
    for k, s in enumerate(symbols):
        if k in pairs:
            continue
        if k in accent_of:
            s = replace(s, name=f"{accent_of[k]}{{{name_to_latex(s.name)}}}", alternatives=[])
        elif s.name in LONE_MARKS:
            s = replace(s, name=LONE_MARKS[s.name])
        out.append(s)
    return out
