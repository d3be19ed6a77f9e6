"""Where each glyph of a LaTeX expression goes when typeset: the layout the card's forms are compared with.

:func:`glyph_layout` typesets an expression with ziamath (through mathnote-ocr's glyph-box helper, which
reads the SVG ziamath draws) and returns one :class:`Glyph` per visible glyph: its class name in
mathnote-ocr's vocabulary (the classifier's labels), its comparable token (as
:func:`whiteboard_app.recognition.context.normalize_tokens` writes it) and its ink box.

Used by the card-context verifier (recognition/context.py) and the derivation-step benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Glyph", "LayoutError", "glyph_layout"]


class LayoutError(ValueError):
    """An expression that cannot be typeset (ziamath fails, or a glyph has no class name)."""


@dataclass(frozen=True, slots=True)
class Glyph:
    """One typeset glyph: class name (``"sigma"``, ``"frac_bar"``), token (``"\\sigma"``, ``"-"``) and
    ink box (x, y, w, h), y downwards, in the typesetter's units (the whole expression is about 1 wide)."""

    name: str
    token: str
    box: tuple[float, float, float, float]


@lru_cache(maxsize=2048)
def glyph_layout(latex: str) -> tuple[Glyph, ...]:
    """The glyphs of *latex* as typeset, left to right as the typesetter emits them.

    Raises :class:`LayoutError` when the expression cannot be typeset. Cached (a few ms the first time).
    """
    from mathnote_ocr.latex_utils.glyphs import _extract_glyphs
    from mathnote_ocr.tree_parser.tree_latex import _sym_to_latex

    from whiteboard_app.recognition.context import normalize_tokens

    try:
        raw = _extract_glyphs(latex)
    except Exception as exc:  # the typesetter's own failure
        raise LayoutError(f"cannot typeset {latex!r}: {type(exc).__name__}: {exc}") from exc
    if not raw:
        raise LayoutError(f"cannot typeset {latex!r}")
    out = []
    for g in raw:
        tex = "-" if g["name"] == "frac_bar" else _sym_to_latex(g["name"])
        toks = normalize_tokens(tex)
        token = toks[0] if len(toks) == 1 else tex
        out.append(Glyph(g["name"], token, tuple(float(v) for v in g["bbox"])))
    return tuple(out)
