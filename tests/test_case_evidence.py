"""Letter-case evidence from where a glyph sits on its line (recognition/case_evidence.py), on ink the
project makes itself: each typeset glyph drawn as one box-outline stroke (tests/test_form_match.py's
``ink_for``), so that a glyph's place on its line is the typeset one and can be moved at will."""

from __future__ import annotations

import pytest

from whiteboard_app.ink import Point, StepInk, Stroke
from whiteboard_app.recognition import case_evidence as ce
from whiteboard_app.recognition import form_match as fmod
from whiteboard_app.recognition.base import RecognitionContext, SymbolAlternatives
from whiteboard_app.recognition.typeset import glyph_layout


def _metrics(tokens) -> dict:
    """Typeset line metrics measured here with the project's typesetter (an x beside each token)."""
    out = {}
    for tok in tokens:
        (_a, y0, _b, h0), (_c, y1, _d, h1) = (g.box for g in glyph_layout(f"x {tok}"))
        out[tok] = ((y0 + h0 - y1) / h0, (y0 + h0 - y1 - h1) / h0)
    return out


def _items(latex: str):
    glyphs = glyph_layout(latex)
    levels = fmod.glyph_levels(tuple(glyphs))
    return [g.token for g in glyphs], [tuple(g.box) for g in glyphs], list(levels)


@pytest.mark.parametrize(
    ("token", "fam"),
    [
        ("x", "small"),
        ("b", "ascender"),
        ("p", "descender"),
        ("X", "capital"),
        ("7", "digit"),
        ("\\pi", "greek"),
        ("(", "bracket"),
        ("]", "bracket"),
        ("+", "other"),
    ],
)
def test_position_families(token, fam):
    assert ce.family(token) == fam


def test_typeset_glyphs_sit_where_their_metrics_say():
    toks, gb, lv = _items("a x + b p = X")
    m = _metrics({"a", "x", "b", "p", "X"})
    pos = ce.line_positions(toks, gb, lv, gb, typeset=m, profile=m)
    got = dict(zip(toks, pos, strict=True))
    assert got["x"][:2] == pytest.approx(m["x"], abs=0.05)  # about (1, 0): the x-height and the baseline
    assert got["x"][2] == 4  # measured by its four nearest line mates
    assert got["p"][1] < -0.3 < got["x"][1]  # a p descends below the baseline
    assert got["X"][0] > got["x"][0] + 0.2  # a capital reaches above the x-height
    assert got["+"] is None  # no metrics: neither measured nor a line mate


def test_brackets_outside_the_glyph_are_line_mates_where_letters_are_too_few():
    # P(A): one letter mate, too few for evidence; the opening bracket after the P makes two
    toks, gb, lv = _items("P(A)")
    m = _metrics({"P", "A", "(", ")"})
    mates = ce.line_mates(toks, gb, lv, m)
    assert sorted(mates[toks.index("P")]) == [toks.index("("), toks.index("A")]
    # the A is inside both brackets: they do not measure it
    assert mates[toks.index("A")] == [toks.index("P")]
    pos = ce.line_positions(toks, gb, lv, gb, typeset=m, profile=m)
    assert pos[toks.index("P")][2] == 2
    assert pos[toks.index("P")][:2] == pytest.approx(m["P"], abs=0.05)
    without = {k: v for k, v in m.items() if k not in "()"}
    assert ce.line_positions(toks, gb, lv, gb, typeset=without, profile=without)[toks.index("P")][2] == 1


def test_brackets_are_no_mates_where_the_line_has_enough_letters():
    toks, gb, lv = _items("a b (x) c")
    m = _metrics({"a", "b", "c", "x", "(", ")"})
    mates = ce.line_mates(toks, gb, lv, m)
    assert not {toks.index("("), toks.index(")")} & set(mates[toks.index("b")])
    assert set(mates[toks.index("b")]) == {toks.index("a"), toks.index("x"), toks.index("c")}


def test_a_bracket_grown_around_a_fraction_is_no_line_mate():
    toks, gb, lv = _items(r"P \left(\frac{a}{b}\right) + Q")
    m = _metrics({"P", "Q", "a", "b", "(", ")"})
    mates = ce.line_mates(toks, gb, lv, m)
    assert mates[toks.index("P")] == [toks.index("Q")]


def test_a_fraction_s_numerator_and_denominator_are_different_lines():
    toks, gb, lv = _items(r"\frac{a x}{b c} + d")
    m = _metrics({"a", "x", "b", "c", "d"})
    mates = ce.line_mates(toks, gb, lv, m)
    ix, ib, ic = toks.index("x"), toks.index("b"), toks.index("c")
    assert toks.index("a") in mates[ix] and ib not in mates[ix] and ic not in mates[ix]
    assert mates[ic] == [ib] or ib in mates[ic]


def test_a_script_is_measured_against_its_own_line():
    toks, gb, lv = _items("a b^{x y}")
    m = _metrics({"a", "b", "x", "y"})
    mates = ce.line_mates(toks, gb, lv, m)
    assert mates[toks.index("x")] == [toks.index("y")]
    pos = ce.line_positions(toks, gb, lv, gb, typeset=m, profile=m)
    assert pos[toks.index("x")][:2] == pytest.approx(m["x"], abs=0.05)  # the scale is the script's own
    assert pos[toks.index("x")][2] == 1  # one mate: too few for evidence
    assert ce.position_llr(pos[toks.index("x")], "x", "X") is None


def test_the_measurement_scales_and_shifts_with_the_ink():
    toks, gb, lv = _items("a x b")
    m = _metrics(set(toks))
    moved = [(3 * x + 7, 3 * y - 2, 3 * w, 3 * h) for x, y, w, h in gb]
    a = ce.line_positions(toks, gb, lv, gb, typeset=m, profile=m)
    b = ce.line_positions(toks, gb, lv, moved, typeset=m, profile=m)
    assert all(p == pytest.approx(q) for p, q in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="one box"):
        ce.line_positions(toks, gb, lv, gb[:-1], typeset=m, profile=m)


def test_the_shipped_model_tells_a_capital_from_its_small_letter_by_place():
    model = ce.position_model()
    assert model["tokens"] and model["profile"]
    x, big_x = ce._params("x"), ce._params("X")
    assert big_x[0] > x[0] + 0.2  # real handwriting writes an X taller than an x
    assert ce.position_llr(tuple(x[:2]), "x", "X") > 1.0
    assert ce.position_llr(tuple(big_x[:2]), "X", "x") > 1.0
    p, big_p = ce._params("p"), ce._params("P")
    assert ce.position_llr(tuple(p[:2]), "p", "P") > 1.0 and ce.position_llr(tuple(big_p[:2]), "P", "p") > 1.0
    # bounded: one stray box gives finite evidence
    assert abs(ce.position_llr((9.0, 5.0), "x", "X")) < 10
    assert ce.position_llr((*x[:2], 2), "x", "X") == ce.position_llr(tuple(x[:2]), "x", "X")
    assert ce.position_llr(None, "x", "X") is None and ce.position_llr((1.0, 0.0), "x", "+") is None


# --- in the verifier ---------------------------------------------------------------------------------

SMALL = "a + b x + d e"
BIG = "a + b X + d e"


def _ink(latex: str, scale_x: float = 1.0, case_odds: float = 0.85):
    """Box-outline ink of ``latex`` (one stroke per glyph, 400 px a typeset unit) with a case-blind
    classifier that prefers the small x (``case_odds``), the x/X glyph's box scaled about its bottom by
    ``scale_x``."""
    strokes, symbols = [], []
    for k, g in enumerate(glyph_layout(latex)):
        x, y, w, h = (v * 400 for v in g.box)
        if g.token in ("x", "X"):
            y, w, h = y + h - h * scale_x, w * scale_x, h * scale_x
            labels = (("x", case_odds), ("X", 1 - case_odds))
        else:
            labels = ((g.token, 0.97), ("?", 0.03))
        pts = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
        strokes.append(
            Stroke(tuple(Point(px + 100, py + 100, 10.0 * i) for i, (px, py) in enumerate(pts)), id=k)
        )
        symbols.append(SymbolAlternatives((k,), labels))
    return StepInk(tuple(strokes)), symbols


def _fit(latex_ink: str, form: str, scale_x: float = 1.0):
    ink, syms = _ink(latex_ink, scale_x)
    return fmod.match_forms(ink, syms, RecognitionContext(((form, "reference"),)))[0]


def test_fits_record_where_each_letter_sits():
    fm = _fit(BIG, SMALL)
    places = {rec[0]: rec[5] for rec in fm.glyph_ink}
    assert places["+"] is None
    assert places["x"] is not None and places["x"][0] > 1.2  # an X written where the form has x
    assert _fit(SMALL, SMALL).glyph_ink[3][5][0] < 1.15


def test_the_place_on_the_line_favours_the_case_it_is_written_in():
    big = next(r for r in _fit(BIG, SMALL).glyph_ink if r[0] == "x")
    small = next(r for r in _fit(SMALL, SMALL).glyph_ink if r[0] == "x")
    # the classifier prefers x by ln(0.85 / 0.15) = 1.7 nats on both: the place outweighs it on the X
    assert fmod.favour(big, "X", pos_weight=1.0) < 0.0 < fmod.favour(big, "X", pos_weight=0.5)
    assert fmod.favour(small, "X", pos_weight=1.0) > 2.5
    # off (weight 0): the written-height term of the size model, as before
    assert fmod.favour(big, "X") == fmod.favour(big, "X", pos_weight=0.0)
    # a record without a place (a fit stored before session 10) is weighed by its height
    assert fmod.favour(big[:5], "X", pos_weight=1.0) == fmod.favour(big, "X")


def test_the_card_s_capital_is_taken_only_when_the_ink_sits_like_one():
    t = {**fmod.evidence_thresholds(), "case_pos": 1.0, "lookalike_deficit": 1}
    open_big, form_big = _fit(BIG, SMALL), _fit(BIG, BIG)
    assert fmod.form_refusal(form_big, open_big, t) is None  # an X written as an X: the card's X
    assert fmod.form_refusal(form_big, open_big, {**t, "lookalike_deficit": 0}) == "deficit"
    # 2: only the other case of a letter whose place is known is left to favour
    assert fmod.form_refusal(form_big, open_big, {**t, "lookalike_deficit": 2}) is None
    rec = next(r for r in form_big.glyph_ink if r[0] == "X")
    assert fmod._placed_case(rec, "x") and not fmod._placed_case(rec, "\\chi")
    assert not fmod._placed_case((*rec[:5], None), "x") and not fmod._placed_case(rec[:5], "x")
    open_small, form_small = _fit(SMALL, SMALL), _fit(SMALL, BIG)
    assert fmod.form_refusal(form_small, open_small, t) is not None  # an x written as an x stays x
