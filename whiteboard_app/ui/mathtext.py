"""Render a step's LaTeX as maths into a QPixmap with matplotlib's mathtext (no TeX install needed).

mathtext covers the usual whiteboard LaTeX (fractions, sums, sub/superscripts, Greek, \\hat, \\bar,
\\mathbb); a few macros it lacks are rewritten first (``\\le`` -> ``\\leq``, ``\\top`` -> ``T``...).
Anything it still cannot lay out is returned as None and the caller shows the LaTeX source instead.
Rendered pixmaps are cached by (latex, size, colour).
"""

from __future__ import annotations

import io
import re
from functools import lru_cache

from PySide6.QtGui import QPixmap

# mathtext lacks these macros (matplotlib 3.x); rewrite to what it knows.
_REWRITES = (
    (r"\\le(?![a-zA-Z])", r"\\leq"),
    (r"\\ge(?![a-zA-Z])", r"\\geq"),
    (r"\\lVert|\\rVert|\\\|", r"\\Vert "),  # the space: \|x must not become \Vertx
    (r"\\[dt]frac(?![a-zA-Z])", r"\\frac"),
    (r"\\operatorname\{([A-Za-z]+)\}", r"\\mathrm{\1}"),
    (r"\\text\{([^{}]*)\}", r"\\mathrm{\1}"),
    (r"\\[!,;:]", " "),
)


def _transparent():
    """matplotlib settings for a PNG without a background (the widget's colour shows through)."""
    import matplotlib

    return matplotlib.rc_context({"savefig.transparent": True})


def to_mathtext(latex: str) -> str:
    """The mathtext source for ``latex`` (without the surrounding ``$``)."""
    s = latex.strip()
    for pattern, repl in _REWRITES:
        s = re.sub(pattern, repl, s)
    return s


def render_png(latex: str, size_pt: float = 15.0, color: str = "#1a1a1a", dpi: int = 100) -> bytes | None:
    """PNG bytes of ``latex`` rendered by mathtext, or None when mathtext cannot lay it out."""
    if not latex or not latex.strip():
        return None
    from matplotlib.font_manager import FontProperties  # lazy: matplotlib takes ~0.4 s to import

    buf = io.BytesIO()
    try:
        with _transparent():
            _math_to_png(f"${to_mathtext(latex)}$", buf, FontProperties(size=size_pt), dpi, color)
    except Exception:  # noqa: BLE001 - any mathtext parse/layout failure means "show the source"
        return None
    return buf.getvalue()


#: Transparent margin around rendered maths, pt. matplotlib's ``math_to_image`` sizes the figure to the
#: exact ink box rounded down to whole pixels, which cut the top of a superscript T ("w^T" looked like
#: "w^I", issue 16); a margin of 2 pt keeps every glyph whole.
PAD_PT = 2.0


def _math_to_png(source: str, buf, prop, dpi: int, color: str) -> None:
    """``matplotlib.mathtext.math_to_image`` with a margin of ``PAD_PT`` on every side (same layout:
    parse once for the extent, draw the text on a figure of that size plus the margin)."""
    from matplotlib import figure
    from matplotlib.mathtext import MathTextParser

    width, height, depth, _, _ = MathTextParser("path").parse(source, dpi=72, prop=prop)
    w, h = width + 2 * PAD_PT, height + 2 * PAD_PT
    fig = figure.Figure(figsize=(w / 72.0, h / 72.0))
    fig.text(PAD_PT / w, (depth + PAD_PT) / h, source, fontproperties=prop, color=color)
    fig.savefig(buf, dpi=dpi, format="png", transparent=True)


@lru_cache(maxsize=512)
def _cached_png(latex: str, size_pt: float, color: str, dpi: int) -> bytes | None:
    return render_png(latex, size_pt, color, dpi)


def render_pixmap(
    latex: str, size_pt: float = 15.0, color: str = "#1a1a1a", dpi: int = 100
) -> QPixmap | None:
    """A QPixmap of ``latex`` rendered as maths, or None when it cannot be rendered."""
    data = _cached_png(latex, float(size_pt), color, int(dpi))
    if data is None:
        return None
    pix = QPixmap()
    return pix if pix.loadFromData(data, "PNG") else None


def render_text_pixmap(
    text: str, size_pt: float = 11.0, color: str = "#444444", dpi: int = 100
) -> QPixmap | None:
    """A QPixmap of prose with inline maths in ``$...$`` (e.g. a card's setup), or None when mathtext
    cannot lay it out. No line wrapping: the caller falls back to text for long paragraphs."""
    if not text or "$" not in text:
        return None
    parts = text.split("$")
    if len(parts) % 2 == 0:  # unbalanced dollars
        return None
    source = "".join(p if i % 2 == 0 else f"${to_mathtext(p)}$" for i, p in enumerate(parts))
    data = _cached_text_png(source, float(size_pt), color, int(dpi))
    if data is None:
        return None
    pix = QPixmap()
    return pix if pix.loadFromData(data, "PNG") else None


@lru_cache(maxsize=128)
def _cached_text_png(source: str, size_pt: float, color: str, dpi: int) -> bytes | None:
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        with _transparent():
            _math_to_png(source, buf, FontProperties(size=size_pt), dpi, color)
    except Exception:  # noqa: BLE001 - shown as text instead
        return None
    return buf.getvalue()


def strip_dollars(text: str) -> str:
    """Prose with its ``$`` delimiters removed (the plain-text fallback)."""
    return text.replace("$", "")
