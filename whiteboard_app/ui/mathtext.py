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
    from matplotlib import mathtext  # lazy: matplotlib takes ~0.4 s to import
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        with _transparent():
            mathtext.math_to_image(f"${to_mathtext(latex)}$", buf, prop=FontProperties(size=size_pt),
                                   dpi=dpi, format="png", color=color)
    except Exception:  # noqa: BLE001 - any mathtext parse/layout failure means "show the source"
        return None
    return buf.getvalue()


@lru_cache(maxsize=512)
def _cached_png(latex: str, size_pt: float, color: str, dpi: int) -> bytes | None:
    return render_png(latex, size_pt, color, dpi)


def render_pixmap(latex: str, size_pt: float = 15.0, color: str = "#1a1a1a", dpi: int = 100) -> QPixmap | None:
    """A QPixmap of ``latex`` rendered as maths, or None when it cannot be rendered."""
    data = _cached_png(latex, float(size_pt), color, int(dpi))
    if data is None:
        return None
    pix = QPixmap()
    return pix if pix.loadFromData(data, "PNG") else None


def render_text_pixmap(text: str, size_pt: float = 11.0, color: str = "#444444", dpi: int = 100) -> QPixmap | None:
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
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        with _transparent():
            mathtext.math_to_image(source, buf, prop=FontProperties(size=size_pt), dpi=dpi, format="png", color=color)
    except Exception:  # noqa: BLE001 - shown as text instead
        return None
    return buf.getvalue()


def strip_dollars(text: str) -> str:
    """Prose with its ``$`` delimiters removed (the plain-text fallback)."""
    return text.replace("$", "")
