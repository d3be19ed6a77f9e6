"""The index of a root (``\\sqrt[3]{x}``), which mathnote-ocr's layout parser has no relation for.

The parser's relations are right neighbour, sub/superscript, numerator, denominator, root content, upper
and lower limit: a root's index has none, so it was read as a symbol before the root or inside it
(``\\sqrt[n]{x}`` read ``n \\sqrt{x}`` or ``\\sqrt{n x}``: 8 of 400 expressions of the training ink's
held-out writers). Here the index is found by its place (small, over the root's hook), left out of the
layout parse, and written into the parsed LaTeX.

Where an index lies, learnt from the training ink (../shared/handwriting/train.jsonl.gz, the training
split's writers: the 54 expressions with one root and a one-symbol index, against the 8,894 other symbols
of expressions with one root): in the root's heights from its top-left corner, the index's centre lies
-0.22 to 0.30 right and 0.05 to 0.68 down, its height is 0.07-0.42 of the root's. The rule
(:func:`is_root_index`) takes 52 of the 54 indices and 3 of the 8,894 other symbols.

Pure Python: works on any objects with ``name`` and ``bbox`` (x, y, w, h; y downwards), such as
mathnote-ocr's ``DetectedSymbol``.
"""

from __future__ import annotations

#: Class names that are never a root's index (operators, brackets, bars, dots).
NOT_AN_INDEX = frozenset(
    {
        "+",
        "-",
        "=",
        "frac_bar",
        "(",
        ")",
        "[",
        "]",
        "lbrace",
        "rbrace",
        "dot",
        ",",
        "sqrt",
        "leq",
        "geq",
        "neq",
        "<",
        ">",
        "pm",
        "times",
        "cdot",
        "ldots",
        "|",
        "int",
        "sum",
        "prod",
        "lim",
        "rightarrow",
    }
)
ROOT = "sqrt"


def is_root_index(sym, root) -> bool:
    """Whether *sym* lies where the index of the root symbol *root* is written: its centre -0.15 to
    0.32 root heights right of the root's left edge (and in the left 35 % of the root's width) and 0 to
    0.5 root heights below its top, its height at most 0.45 root heights, its right edge at most 0.45 and
    its bottom at most 0.66 root heights from the root's left edge and top; and its class not one of
    :data:`NOT_AN_INDEX`. Thresholds: the module docstring's training measurements."""
    if sym.name in NOT_AN_INDEX:
        return False
    r, b = root.bbox, sym.bbox
    rh, rw = max(r.h, 1e-6), max(r.w, 1e-6)
    cx, cy = b.x + b.w / 2 - r.x, b.y + b.h / 2 - r.y
    return (
        -0.15 <= cx / rh <= 0.32
        and cx / rw <= 0.35
        and 0.0 <= cy / rh <= 0.5
        and b.h / rh <= 0.45
        and (b.x + b.w - r.x) / rh <= 0.45
        and (b.y + b.h - r.y) / rh <= 0.66
    )


def split_root_indices(symbols: list) -> tuple[list, list[list]]:
    """(the symbols without root indices, each root's index symbols) for the layout parse.

    *symbols*: one reading's symbols. Each root (class ``sqrt``, in the given order) claims the symbols
    :func:`is_root_index` places over its hook that no earlier root claimed; the second list has one
    entry per root left in the first (``[]`` for a root without an index), its symbols sorted by x.
    When no root has an index the symbols come back unchanged (the same list) with ``[]``."""
    roots = [s for s in symbols if s.name == ROOT]
    if not roots:
        return symbols, []
    claimed: set[int] = set()
    per_root: list[list] = []
    for root in roots:
        mine = [
            k for k, s in enumerate(symbols) if s is not root and k not in claimed and is_root_index(s, root)
        ]
        claimed.update(mine)
        per_root.append(sorted((symbols[k] for k in mine), key=lambda s: s.bbox.x))
    if not claimed:
        return symbols, []
    return [s for k, s in enumerate(symbols) if k not in claimed], per_root


def insert_root_indices(latex: str, indices: list[str]) -> str | None:
    """*latex* (a parse of symbols with ``len(indices)`` roots, as :func:`split_root_indices` left them)
    with each root's index written in: ``\\sqrt{`` -> ``\\sqrt[i]{``. *indices*: each root's index LaTeX
    ("" for none), in the symbols' order. The parse orders roots its own way, so this answers only when
    that order does not matter: one root, or every root with the same index. Returns None when it cannot
    (then parse the symbols with their indices, as before); *latex* itself when no index is given."""
    if not any(indices):
        return latex
    if latex.count("\\sqrt{") != len(indices) or len(set(indices)) != 1:
        return None
    return latex.replace("\\sqrt{", f"\\sqrt[{indices[0]}]{{")
