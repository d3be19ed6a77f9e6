"""Accents as structure (recognition/accents.py): a caret, tilde or bar above one symbol folds into it."""

from __future__ import annotations

import pytest

pytest.importorskip("mathnote_ocr")

from mathnote_ocr.bbox import BBox
from mathnote_ocr.expression import DetectedSymbol

from whiteboard_app.recognition.accents import accent_pairs, merge_accents


def sym(name, x, y, w, h):
    return DetectedSymbol(name=name, bbox=BBox(x, y, w, h), strokes=[], confidence=0.9)


def test_caret_above_a_letter_becomes_hat():
    syms = [
        sym("\\hat", 102, 40, 16, 8),
        sym("y", 100, 55, 20, 30),
        sym("=", 130, 60, 20, 10),
        sym("1", 160, 45, 8, 30),
    ]
    out = merge_accents(syms)
    assert [s.name for s in out] == ["\\hat{y}", "=", "1"]
    assert out[0].bbox == syms[1].bbox  # the base keeps its box: the layout is the one without the accent


def test_bar_above_a_capital_and_tilde_above_greek():
    syms = [
        sym("-", 98, 30, 26, 2),
        sym("X_cap", 100, 40, 24, 30),
        sym("\\tilde", 140, 30, 18, 6),
        sym("theta", 140, 42, 16, 28),
    ]
    assert [s.name for s in merge_accents(syms)] == ["\\bar{X}", "\\tilde{\\theta}"]


def test_fraction_and_minus_are_not_bars():
    # a fraction bar: symbols above and below it
    frac = [sym("1", 110, 10, 8, 25), sym("frac_bar", 100, 40, 30, 2), sym("x", 105, 50, 20, 20)]
    assert accent_pairs(frac) == {}
    # a fraction whose numerator is one letter over a bar over one letter: the bar has ink above
    frac2 = [sym("a", 105, 5, 18, 18), sym("frac_bar", 100, 30, 28, 2), sym("b", 104, 40, 20, 28)]
    assert accent_pairs(frac2) == {}
    # a minus on the baseline beside a letter, not above it
    minus = [sym("-", 70, 60, 20, 2), sym("x", 100, 50, 20, 20)]
    assert accent_pairs(minus) == {}
    # a bar much wider than the letter below (over a whole group): left alone
    wide = [sym("-", 60, 30, 100, 2), sym("x", 100, 40, 20, 20)]
    assert accent_pairs(wide) == {}


def test_mark_over_two_symbols_or_over_an_operator_is_left_alone():
    two = [sym("\\hat", 100, 30, 40, 8), sym("x", 95, 45, 20, 20), sym("y", 118, 45, 20, 25)]
    assert accent_pairs(two) == {}
    op = [sym("\\hat", 100, 30, 16, 8), sym("+", 98, 45, 20, 20)]
    assert accent_pairs(op) == {}
    far = [sym("\\hat", 100, 0, 16, 8), sym("y", 100, 60, 20, 25)]  # far above: a superscript, not an accent
    assert accent_pairs(far) == {}
    assert merge_accents([]) == []


def test_a_caret_or_tilde_over_no_base_reads_as_its_shape_not_as_a_bare_accent():
    from whiteboard_app.latex.wellformed import check_structure

    alone = [sym("\\hat", 100, 30, 16, 8)]
    assert [s.name for s in merge_accents(alone)] == ["\\wedge"]
    over_two = [sym("\\tilde", 100, 30, 40, 8), sym("x", 95, 45, 20, 20), sym("y", 118, 45, 20, 25)]
    assert [s.name for s in merge_accents(over_two)] == ["\\sim", "x", "y"]
    # an accent with its base still folds into it; a bar alone stays a minus
    assert [s.name for s in merge_accents([sym("\\hat", 102, 40, 16, 8), sym("y", 100, 55, 20, 30)])] == [
        "\\hat{y}"
    ]
    assert [s.name for s in merge_accents([sym("-", 100, 40, 16, 2)])] == ["-"]
    for name in ("\\wedge", "\\sim"):
        check_structure(name)  # valid LaTeX (a bare \hat is not)
