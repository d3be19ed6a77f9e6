"""Readings are rendered as maths with matplotlib mathtext (no TeX install); the LaTeX people write is
rewritten into what mathtext knows, and what it cannot lay out returns None (the panel shows the source)."""

import pytest

from whiteboard_app.ui.mathtext import render_png, to_mathtext


@pytest.mark.parametrize(
    "latex",
    [
        r"\|w\|^2",
        r"D_{KL}(p\|q) \ge 0",
        r"\lVert x \rVert",
        r"\sigma(z)(1-\sigma(z))",
        r"\dfrac{1}{n-1}\sum_{i=1}^{n}(x_i-\bar x)^2",
        r"a \le b",
        r"\operatorname{tr}(X^\top X)",
    ],
)
def test_written_forms_render(latex):
    png = render_png(latex)
    assert png is not None and png.startswith(b"\x89PNG")


def test_norm_bars_keep_a_space_before_letters():
    assert "\\Vertw" not in to_mathtext(r"\|w\|")
    assert "\\Vertq" not in to_mathtext(r"p\|q")


def test_unrenderable_latex_returns_none():
    assert render_png(r"\frac{1}{") is None
    assert render_png("   ") is None
