"""Training data for the bundled recogniser: expressions of real ink with symbol-level stroke groups.

Input format: JSON lines (optionally gzip-compressed), one expression per line, as in CROHME-derived
files ``{"id", "writer", "latex", "strokes": [[[x, y(, t)], ...], ...], "symbols": [{"label",
"strokes": [stroke indices]}]}`` (see docs/recogniser.md for the data's provenance).

Ink normalisation (:func:`normalise_strokes`) is the one the engine applies at reading time: the
expression is translated so its top-left ink point is at (``MARGIN``, ``MARGIN``) px and scaled so
that the median stroke size (max of a stroke's bounding-box width and height) is ``STROKE_SIZE`` px.
Source: the rescaling of ../shared/tools/ocr_eval.py (``prepare_ink``), needed because mathnote-ocr's
grouper has absolute-pixel thresholds and the training sources' device scales differ by 1000x.

Labels: CROHME symbol labels are mapped to mathnote-ocr's class names (:data:`CROHME_TO_NAME`); the
multi-letter function symbols ``\\sin \\cos \\tan \\log \\lim`` get classes of their own
(:data:`FUNCTION_CLASSES`: CROHME does not segment their letters).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STROKE_SIZE = 24.0  # px: median stroke size after normalisation
MARGIN = 40.0  # px: offset of the top-left ink point

_GREEK = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "theta",
    "lambda",
    "mu",
    "pi",
    "sigma",
    "phi",
    "psi",
    "omega",
)
# CROHME label -> mathnote-ocr class name (letters, digits and brackets map to themselves)
CROHME_TO_NAME: dict[str, str] = {
    **{c: f"{c}_cap" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    **{"\\" + g: g for g in _GREEK},
    "\\Delta": "Delta_cap",
    "\\Gamma": "Gamma_cap",
    "\\Sigma": "Sigma_up",
    "\\Pi": "Pi_up",
    "\\Phi": "Phi_up",
    "\\Psi": "Psi_up",
    "\\Omega": "Omega_up",
    "\\sum": "sum",
    "\\int": "int",
    "\\sqrt": "sqrt",
    "\\prod": "prod",
    "\\infty": "infty",
    "\\times": "times",
    "\\div": "div",
    "\\pm": "pm",
    "\\neq": "neq",
    "\\leq": "leq",
    "\\geq": "geq",
    "\\lt": "<",
    "\\gt": ">",
    "<": "<",
    ">": ">",
    "\\in": "in",
    "\\exists": "exists",
    "\\forall": "forall",
    "\\rightarrow": "rightarrow",
    "\\ldots": "ldots",
    "\\cdots": "ldots",
    "\\prime": "prime",
    "\\{": "lbrace",
    "\\}": "rbrace",
    "/": "slash",
    ".": "dot",
    "\\cdot": "cdot",
    "\\partial": "partial",
    "\\nabla": "nabla",
}
# Multi-letter function names are one symbol in CROHME (its letters are not segmented): the classifier
# gets a class for each ("sin" ...); the layout parser sees it as a symbol it does not know (a token).
FUNCTION_CLASSES = {"\\sin": "sin", "\\cos": "cos", "\\tan": "tan", "\\log": "log", "\\lim": "lim"}
FUNCTION_LABELS = frozenset({"\\ln", "\\exp", "\\max", "\\min", "\\det"})


class TrainingDataError(ValueError):
    """The training data file is missing or malformed (the message names the file and line)."""


def label_to_name(label: str) -> str | None:
    """mathnote-ocr class name of a CROHME label ("sin" for \\sin ...), or None for a multi-letter function
    symbol without a class of its own."""
    if label in FUNCTION_CLASSES:
        return FUNCTION_CLASSES[label]
    if label in FUNCTION_LABELS:
        return None
    return CROHME_TO_NAME.get(label, label)


@dataclass
class Expression:
    """One expression: normalised strokes (lists of (x, y) px), symbols as (class name or None,
    stroke indices), the ground-truth LaTeX, and the raw writer annotation (None if unknown)."""

    id: str
    latex: str
    writer: str | None
    strokes: list[list[tuple[float, float]]]
    symbols: list[tuple[str | None, list[int]]] = field(default_factory=list)


def raw_writer(row: dict) -> str | None:
    """The writer annotation without its source prefix (the same person appears under two sources)."""
    w = row.get("writer")
    src = row.get("source") or ""
    if not w:
        return None
    return w[len(src) + 1 :] if src and w.startswith(src + "/") else w


def normalise_strokes(
    strokes: Sequence[Sequence[Sequence[float]]], stroke_size: float = STROKE_SIZE, margin: float = MARGIN
) -> list[list[tuple[float, float]]]:
    """Translate and scale raw strokes (device units) so the median stroke size is *stroke_size* px
    and the top-left ink point lies at (*margin*, *margin*). Empty strokes stay empty (indices are kept).
    """
    pts = [p for s in strokes for p in s]
    if not pts:
        return [[] for _ in strokes]
    minx = min(p[0] for p in pts)
    miny = min(p[1] for p in pts)
    sizes = []
    for s in strokes:
        if not s:
            continue
        xs = [p[0] for p in s]
        ys = [p[1] for p in s]
        sz = max(max(xs) - min(xs), max(ys) - min(ys))
        if sz > 0:
            sizes.append(sz)
    scale = stroke_size / statistics.median(sizes) if sizes else 1.0
    return [[((p[0] - minx) * scale + margin, (p[1] - miny) * scale + margin) for p in s] for s in strokes]


def iter_rows(path: str | Path) -> Iterator[dict]:
    """Rows of a JSON lines file (``.gz`` read as gzip). Raises TrainingDataError on bad JSON."""
    path = Path(path)
    if not path.exists():
        raise TrainingDataError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TrainingDataError(f"{path}:{i}: not JSON ({exc.msg})") from exc
            if "strokes" not in row or "symbols" not in row:
                raise TrainingDataError(f"{path}:{i}: needs 'strokes' and 'symbols'")
            yield row


def row_to_expression(row: dict) -> Expression:
    """Normalise one row's ink and map its labels (see module docstring)."""
    strokes = normalise_strokes(row["strokes"])
    syms = [(label_to_name(s["label"]), list(s["strokes"])) for s in row["symbols"]]
    return Expression(
        id=row.get("id", ""),
        latex=row.get("latex", ""),
        writer=raw_writer(row),
        strokes=strokes,
        symbols=syms,
    )


def load_expressions(path: str | Path, limit: int = 0) -> list[Expression]:
    """All expressions of *path* (at most *limit* when > 0), normalised."""
    out = []
    for row in iter_rows(path):
        out.append(row_to_expression(row))
        if limit and len(out) >= limit:
            break
    return out


def writer_split(
    exprs: Sequence[Expression], val_fraction: float = 0.08, seed: int = 0
) -> tuple[list[Expression], list[Expression]]:
    """Writer-disjoint (train, validation) split: a writer goes to validation when a hash of
    (seed, raw writer) falls under *val_fraction*; expressions without a writer always train."""
    train, val = [], []
    for e in exprs:
        if e.writer is None:
            train.append(e)
            continue
        h = hashlib.sha256(f"{seed}:{e.writer}".encode()).digest()
        (val if h[0] / 256.0 < val_fraction else train).append(e)
    return train, val


def mark_fraction_bars(expr: Expression) -> None:
    """Relabel '-' symbols that are fraction bars as ``frac_bar`` (in place).

    CROHME labels fraction bars '-'; mathnote-ocr's layout parser expects ``frac_bar``. A bar counts
    as a fraction bar when other symbols' centres lie within its x-span both above and below it; at
    most as many bars as the LaTeX has ``\\frac`` are relabelled (the widest first).
    """
    n_frac = expr.latex.count("\\frac")
    if n_frac == 0:
        return
    boxes = []
    for _name, idx in expr.symbols:
        pts = [p for i in idx if i < len(expr.strokes) for p in expr.strokes[i]]
        if not pts:
            boxes.append(None)
            continue
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    cands = []
    for k, (name, _idx) in enumerate(expr.symbols):
        if name != "-" or boxes[k] is None:
            continue
        x0, y0, x1, y1 = boxes[k]
        ym = (y0 + y1) / 2
        above = below = False
        for j, b in enumerate(boxes):
            if j == k or b is None:
                continue
            cx = (b[0] + b[2]) / 2
            if not x0 <= cx <= x1:
                continue
            if b[3] <= ym:
                above = True
            elif b[1] >= ym:
                below = True
        if above and below:
            cands.append((x1 - x0, k))
    for _w, k in sorted(cands, reverse=True)[:n_frac]:
        expr.symbols[k] = ("frac_bar", expr.symbols[k][1])
