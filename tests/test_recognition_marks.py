"""Open-reading rules on the symbols before the layout parse (issue 13): a comma read as 1
(recognition/decimals.py, ``commas``) and a root's index (recognition/root_index.py), on symbol boxes
the tests make themselves."""

from __future__ import annotations

import pytest

from tests._symbol_boxes import Box, Sym
from whiteboard_app.recognition.decimals import (
    COMMA_THRESHOLD,
    comma_features,
    comma_probability,
    commas,
)
from whiteboard_app.recognition.root_index import (
    insert_root_indices,
    is_root_index,
    split_root_indices,
)

ONE_OR_COMMA = [("1", 0.7), (",", 0.2)]


def _line(*names_after: str) -> list[Sym]:
    """``( x <low mark read 1> y ...``: a letter, a short low stroke read as 1, a letter, then *names_after*
    on the line (boxes in px, letters 10 px high on the line y 10-20)."""
    syms = [
        Sym("(", Box(0, 5, 4, 20)),
        Sym("x", Box(6, 10, 10, 10)),
        Sym("1", Box(18, 17, 2, 7), 0.7, ONE_OR_COMMA),
        Sym("y", Box(24, 10, 10, 10)),
    ]
    x = 36
    for name in names_after:
        syms.append(Sym(name, Box(x, 5 if name == ")" else 10, 10, 20 if name == ")" else 10)))
        x += 12
    return syms


def test_low_mark_between_letters_in_brackets_becomes_a_comma():
    syms = _line(")")
    f = comma_features(syms, 2)
    assert f is not None and f["in_brackets"] == 1.0 and f["right_operator"] == 0.0
    assert comma_probability(f) > COMMA_THRESHOLD
    out = commas(syms)
    assert [s.name for s in out] == ["(", "x", ",", "y", ")"]
    assert out[2].confidence == pytest.approx(0.2)
    assert syms[2].name == "1"  # input unchanged


def test_subscript_one_before_an_operator_or_a_closing_bracket_stays():
    before_plus = [Sym("x", Box(6, 10, 10, 10)), Sym("1", Box(18, 17, 2, 7), 0.7, ONE_OR_COMMA)]
    before_plus += [Sym("+", Box(24, 10, 10, 10)), Sym("y", Box(36, 10, 10, 10))]
    assert [s.name for s in commas(before_plus)] == ["x", "1", "+", "y"]
    closed = [Sym("(", Box(0, 5, 4, 20)), Sym("x", Box(6, 10, 10, 10))]
    closed += [Sym("1", Box(18, 17, 2, 7), 0.7, ONE_OR_COMMA), Sym(")", Box(24, 5, 4, 20))]
    assert [s.name for s in commas(closed)][2] == "1"


def test_a_confident_one_or_a_full_height_one_is_not_a_comma_candidate():
    sure = _line(")")
    sure[2] = Sym("1", Box(18, 17, 2, 7), 0.99, [("1", 0.99), (",", 0.001)])
    assert commas(sure)[2].name == "1"
    tall = _line(")")
    tall[2] = Sym("1", Box(18, 10, 2, 10), 0.7, ONE_OR_COMMA)  # a digit on the line: x1 y
    assert comma_features(tall, 2) is None
    assert commas(tall)[2].name == "1"


def test_a_descending_comma_or_one_wholly_below_the_letter_is_a_candidate():
    """A comma after a small letter is often taller than the letter (it descends), or written wholly below
    the line (``(X, p)``): both are candidates (decimals.MAX_HEIGHT, BELOW_LEFT) and read as commas."""
    for mark in (Box(18, 15, 2, 12), Box(18, 22, 2, 6)):
        syms = _line(")")
        syms[2] = Sym("1", mark, 0.7, ONE_OR_COMMA)
        assert comma_features(syms, 2) is not None
        assert [s.name for s in commas(syms)] == ["(", "x", ",", "y", ")"]
    far = _line(")")
    far[2] = Sym("1", Box(18, 27, 2, 6), 0.7, ONE_OR_COMMA)  # more than half a letter below: not beside it
    assert comma_features(far, 2) is None


def test_mark_at_the_end_of_a_line_has_no_comma_features():
    syms = [Sym("x", Box(6, 10, 10, 10)), Sym("1", Box(18, 17, 2, 7), 0.7, ONE_OR_COMMA)]
    assert comma_features(syms, 1) is None


# ── root indices ───────────────────────────────────────────────────────
ROOT = Sym("sqrt", Box(10, 10, 40, 30))


def test_small_symbol_over_the_roots_hook_is_its_index():
    assert is_root_index(Sym("3", Box(8, 14, 6, 9)), ROOT)
    assert not is_root_index(Sym("2", Box(0, 20, 8, 18)), ROOT)  # a coefficient before the root
    assert not is_root_index(Sym("x", Box(25, 22, 10, 12)), ROOT)  # the root's content
    assert not is_root_index(Sym("+", Box(8, 14, 6, 9)), ROOT)  # an operator is never an index
    assert not is_root_index(Sym("n", Box(8, 14, 6, 20)), ROOT)  # too tall for an index


def test_split_and_insert_root_index():
    syms = [Sym("3", Box(8, 14, 6, 9)), ROOT, Sym("x", Box(25, 22, 10, 12))]
    rest, per_root = split_root_indices(syms)
    assert [s.name for s in rest] == ["sqrt", "x"]
    assert [[s.name for s in r] for r in per_root] == [["3"]]
    assert insert_root_indices("\\sqrt{x}", ["3"]) == "\\sqrt[3]{x}"
    assert insert_root_indices("\\sqrt{a} + \\sqrt{b}", ["n", "n"]) == "\\sqrt[n]{a} + \\sqrt[n]{b}"


def test_roots_without_index_or_with_different_indices():
    syms = [Sym("2", Box(0, 20, 8, 18)), ROOT, Sym("x", Box(25, 22, 10, 12))]
    assert split_root_indices(syms) == (syms, [])
    assert insert_root_indices("\\sqrt{x}", [""]) == "\\sqrt{x}"
    assert insert_root_indices("\\sqrt{a} + \\sqrt{b}", ["3", "n"]) is None  # which root is which?
    assert insert_root_indices("x", ["3"]) is None  # the parse lost the root


def test_engine_parses_without_the_index_and_writes_it_in(monkeypatch):
    from whiteboard_app.recognition.trained import TrainedRecognizer

    seen = []

    def fake_parse(ocr, detected, t0):
        seen.append([s.name for s in detected])
        return " ".join("\\sqrt{x}" if s.name == "sqrt" else "" for s in detected).strip(), 0.5

    monkeypatch.setattr(TrainedRecognizer, "_parse", staticmethod(fake_parse))
    syms = [Sym("3", Box(8, 14, 6, 9)), ROOT, Sym("x", Box(25, 22, 10, 12))]
    assert TrainedRecognizer._parse_with_root_indices(None, syms, 0.0) == ("\\sqrt[3]{x}", 0.5)
    assert seen == [["sqrt", "x"]]
    two = [Sym("3", Box(8, 14, 6, 9)), ROOT, Sym("n", Box(58, 14, 6, 9)), Sym("sqrt", Box(60, 10, 40, 30))]
    seen.clear()
    TrainedRecognizer._parse_with_root_indices(None, two, 0.0)  # different indices: parsed as before
    assert seen == [["3", "sqrt", "n", "sqrt"]]


# ── a digit or a letter like it ───────────────────────────────────────
def _row_of(*named: tuple[str, list]) -> list[Sym]:
    """Symbols side by side on one line (10 px boxes, 12 px apart), each (name, alternatives)."""
    return [Sym(n, Box(12 * k, 0, 10, 10), alternatives=a) for k, (n, a) in enumerate(named)]


def test_s_between_digits_becomes_5_and_a_5_among_letters_becomes_s():
    from whiteboard_app.recognition.symbol_context import digits_or_letters, in_context

    s_or_5 = [("s", 0.6), ("5", 0.35)]
    out = digits_or_letters(_row_of(("1", []), ("4", []), ("s", s_or_5), ("-", [])))
    assert [s.name for s in out] == ["1", "4", "5", "-"]
    assert out[2].confidence == pytest.approx(0.35)
    five_or_s = [("5", 0.6), ("s", 0.35)]
    assert digits_or_letters(_row_of(("x", []), ("5", five_or_s), ("y", [])))[1].name == "s"
    # an s the classifier is sure of, or one with no digit listed, stays
    assert digits_or_letters(_row_of(("1", []), ("s", [("s", 0.99)]), ("2", [])))[1].name == "s"
    # in_context applies it with the other neighbour rules
    assert [s.name for s in in_context(_row_of(("9", []), ("g", [("g", 0.5), ("9", 0.4)]), ("1", [])))] == [
        "9",
        "9",
        "1",
    ]


def test_pair_context_table_counts_neighbours_of_generated_ink():
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.training.data import row_to_expression
    from whiteboard_app.recognition.training.structure import pair_context_table

    def row(latex: str, seed: int) -> dict:
        s = synthesize(latex, seed=seed)
        strokes = [[[p.x, p.y] for p in st.points] for st in s.ink.strokes]
        return {
            "id": latex,
            "latex": latex,
            "strokes": strokes,
            "symbols": [{"label": lab, "strokes": list(i)} for lab, i in s.symbols],
        }

    exprs = [row_to_expression(row(t, k)) for k in range(10) for t in ("152", "a+s")]
    table = pair_context_table(exprs, "5", "s", min_count=5)
    assert table[("digit", "digit")] > 1 > table[("op", "edge")]
    assert pair_context_table(exprs[::2], "5", "s") == {}


def test_another_x_in_the_expression_speaks_for_the_letter():
    from whiteboard_app.recognition.symbol_context import times_or_x

    unsure = [("times", 0.55), ("x", 0.45)]
    # "5 x - 7": after a digit, before an operator the cross is likelier on its own ...
    alone = times_or_x(_row_of(("5", []), ("times", unsure), ("-", []), ("7", [])))
    assert alone[1].name == "times"
    # ... but not when the same expression has a letter x elsewhere (a cross is rare beside one)
    with_x = _row_of(("5", []), ("times", unsure), ("-", []), ("7", []), ("=", []), ("x", [("x", 0.95)]))
    assert times_or_x(with_x)[1].name == "x"


# ── brackets balanced, a lone bar (session 9) ──────────────────────────
def _made(latex: str, seed: int, read: dict[int, tuple[str, list]]) -> list[Sym]:
    """The symbols of *latex* drawn by ink/synth.py (their boxes in ink px, names as the classifier's
    classes), with the symbols at the indices of *read* read as (name, alternatives) instead."""
    from whiteboard_app.ink.synth import synthesize

    made = synthesize(latex, seed=seed)
    syms = []
    for k, (label, ids) in enumerate(made.symbols):
        pts = [p for i in ids for p in made.ink.strokes[i].points]
        xs, ys = [p.x for p in pts], [p.y for p in pts]
        box = Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        name = label + "_cap" if label.isupper() and len(label) == 1 else label
        name, alts = read.get(k, (name, []))
        syms.append(Sym(name, box, 0.9, alts))
    return syms


def test_an_unmatched_bracket_takes_the_vertical_stroke_the_classifier_allows():
    from whiteboard_app.recognition.symbol_context import balance_brackets

    for seed in range(3):
        # F(b)-F(a) with the second "(" read as 1: the ")" after it has no partner
        syms = _made("F(b)-F(a)", seed, {6: ("1", [("1", 0.6), ("(", 0.3)])})
        out = balance_brackets(syms)
        assert [s.name for s in out] == ["F_cap", "(", "b", ")", "-", "F_cap", "(", "a", ")"]
        assert out[6].confidence == pytest.approx(0.3)
        assert syms[6].name == "1"  # input unchanged
    # the other way: an unmatched "(" and a 1 after it that may be ")"
    out = balance_brackets(_made("F(b)-F(a)", 0, {8: ("1", [("1", 0.55), (")", 0.4)])}))
    assert [s.name for s in out][-1] == ")"
    # a classifier sure of its reading is not overruled
    sure = _made("F(b)-F(a)", 0, {6: ("1", [("1", 0.99), ("(", 0.001)])})
    assert [s.name for s in balance_brackets(sure)][6] == "1"


def test_a_lone_bar_becomes_1_unless_letters_stand_beside_it():
    from whiteboard_app.recognition.symbol_context import balance_brackets, in_context

    bar_or_one = [("|", 0.7), ("1", 0.2)]
    for seed in range(3):
        out = balance_brackets(_made("x+1=2", seed, {2: ("|", bar_or_one)}))
        assert [s.name for s in out] == ["x", "+", "1", "=", "2"]
        # p(y|x): a conditional bar between letters stays a bar
        cond = _made("p(y|x)", seed, {3: ("|", bar_or_one)})
        assert [s.name for s in balance_brackets(cond)] == ["p", "(", "y", "|", "x", ")"]
    # in_context applies it with the other neighbour rules
    assert [s.name for s in in_context(_made("x+1=2", 0, {2: ("|", bar_or_one)}))][2] == "1"


def test_a_half_open_interval_is_left_alone():
    from whiteboard_app.recognition.symbol_context import balance_brackets

    for seed in range(3):
        # [0,1): the ")" pairs with the "[", so neither it nor the 1 before it changes
        syms = _made("[0,1)", seed, {3: ("1", [("1", 0.6), ("(", 0.3)]), 4: (")", [(")", 0.6), ("1", 0.3)])})
        assert [s.name for s in balance_brackets(syms)] == ["[", "0", ",", "1", ")"]


def test_a_comma_is_found_again_once_its_closing_bracket_is_balanced():
    """``(x, y)`` with the closing bracket read 1: the comma rule sees no brackets around the low mark
    (it stays 1, a subscript to be); after the brackets are balanced it does (symbol_context.in_context)."""
    from whiteboard_app.recognition.symbol_context import in_context

    syms = _line()
    syms.append(Sym("1", Box(36, 5, 4, 20), 0.6, [("1", 0.6), (")", 0.3)]))
    assert [s.name for s in commas(syms)] == ["(", "x", "1", "y", "1"]
    assert [s.name for s in in_context(syms)] == ["(", "x", ",", "y", ")"]


@pytest.mark.parametrize(
    "parsed,written",
    [
        ("f 1 + f 2", "f_{1} + f_{2}"),  # subscripts the layout left on the line
        ("k_{1} = k 2", "k_{1} = k_{2}"),
        (r"\theta 3 = \theta 1 + \theta 2", r"\theta_{3} = \theta_{1} + \theta_{2}"),
        ("N 2^{3} + a", "N_{2}^{3} + a"),  # a superscript after the digit stays on it
        (r"x^{1} = x \cos \theta", r"x^{\prime} = x \cos \theta"),  # a lone superscript 1 is a prime
        ("x^{1} + x^{3} = b", "x^{1} + x^{3} = b"),  # ... unless it is one of a numbered series
        ("A 3 6 + b", "A 3 6 + b"),  # two digits: a number, not a subscript
        ("1 2 3 4 > q 0", "1 2 3 4 > q 0"),  # a lone letter among numbers: likelier a digit misread
        ("3 0 x 2 9 + y", "3 0 x 2 9 + y"),  # x right after a digit: a cross
        (r"\log 5 + \sin 2 x", r"\log 5 + \sin 2 x"),  # function names are not letters
        ("2 x + 3 y", "2 x + 3 y"),  # a coefficient before a letter stays
        ("x^{12} + y^{1 0}", "x^{12} + y^{1 0}"),
        ("a_{n 2} x^{b 3} + c 4", "a_{n 2} x^{b 3} + c_{4}"),  # inside a script: left alone
        (r"f \left( x_{1} y \right) = x y", r"f \left( x , y \right) = x y"),  # a comma read as subscript 1
        (r"F \left( x , y_{1} z \right)", r"F \left( x , y , z \right)"),
        (r"\left( a_{1} b + c \right)", r"\left( a_{1} b + c \right)"),  # not a list: a product stays
        (r"1 x 1 \leq 1 y 1 + b 2", r"1 x 1 \leq 1 y 1 + b_{2}"),  # bars read 1 around a letter stay
        ("", ""),
    ],
)
def test_written_scripts(parsed, written):
    from whiteboard_app.recognition.symbol_context import written_scripts

    assert written_scripts(parsed) == written


@pytest.mark.parametrize(
    "parsed,read",
    [
        (
            r"L_{0} ) L_{1} , \ldots",
            r"L_{0} , L_{1} , \ldots",
        ),  # a comma read as a bracket that closes nothing
        (r"x_{1} , \ldots ) x_{n}", r"x_{1} , \ldots , x_{n}"),
        (r"f \left( x \right) , g ) y", r"f \left( x \right) , g , y"),
        (r"( a , b ) c", r"( a , b ) c"),  # the bracket closes one: left alone
        (r"a ) b + c", r"a ) b + c"),  # no comma in the reading: not a list
        (r"a , b ) = c", r"a , b ) = c"),  # not between two items
    ],
)
def test_unmatched_bracket_commas(parsed, read):
    from whiteboard_app.recognition.symbol_context import rewrite_reading, unmatched_bracket_commas

    assert unmatched_bracket_commas(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (r"\sqrt{x - y + \cdot z^{2}}", r"\sqrt{x - y + z^{2}}"),  # a product sign with no left operand
        (r"\left( x + 1 \right)^{n \cdot + 1}", r"\left( x + 1 \right)^{n + 1}"),  # ... no right operand
        (
            r"2 \times \times \left( 6 - 3 \right)",
            r"2 \times \left( 6 - 3 \right)",
        ),  # two in a row: one stays
        (r"\times \sqrt{a} = b", r"\sqrt{a} = b"),  # at the start
        (r"2 \times 3 \cdot a", r"2 \times 3 \cdot a"),  # operands on both sides: kept
        (
            r"f \left( \cdot \right) + g ( \cdot , y )",
            r"f \left( \cdot \right) + g ( \cdot , y )",
        ),  # placeholders
        (r"a + \cdot \cdot \cdot + b", r"a + \cdot \cdot \cdot + b"),  # dots of an ellipsis
        (r"x^{\times}", r"x^{\times}"),  # alone in a group
    ],
)
def test_operand_less_products(parsed, read):
    from whiteboard_app.recognition.symbol_context import operand_less_products, rewrite_reading

    assert operand_less_products(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (r"\sum_{n = \wedge}^{\infty} b_{n + \wedge}", r"\sum_{n = 1}^{\infty} b_{n + 1}"),  # no operand: a 1
        (r"\theta_{\wedge} ( p )", r"\theta_{1} ( p )"),
        (r"a \wedge b = c", r"a \wedge b = c"),  # a logical and with its operands stays
        (r"y^{\wedge}_{1}", r"y^{\wedge}_{1}"),  # after a caret: an accent left unplaced, not a 1
    ],
)
def test_operand_less_wedges(parsed, read):
    from whiteboard_app.recognition.symbol_context import operand_less_wedges, rewrite_reading

    assert operand_less_wedges(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (r"x^{5} = x + 1 .", r"x^{5} = x + 1"),  # a stray point at the end
        (r"a_{n} = q^{n - 1} ,", r"a_{n} = q^{n - 1}"),  # ... a stray comma
        (r", a + b", r"a + b"),  # ... at the start
        (r"a , b , \ldots", r"a , b , \ldots"),  # an ellipsis ends a list
        (r"x_{1 ,} + y", r"x_{1 ,} + y"),  # inside a group: left alone
        (r".", r"."),  # a reading of one mark stays
        (r"a + b + . . .", r"a + b + . . ."),  # an ellipsis written as points stays
        (r"\left\lbrace x \right.", r"\left\lbrace x \right."),  # an invisible delimiter stays
    ],
)
def test_stray_end_marks(parsed, read):
    from whiteboard_app.recognition.symbol_context import rewrite_reading, stray_end_marks

    assert stray_end_marks(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (r"1 0^{-} 6", r"1 0^{- 6}"),  # the exponent's digit left on the line
        (r"1 0^{-} 1 2 + a", r"1 0^{- 1 2} + a"),  # a number's digits together
        (r"\frac{x^{n +} 1}{n + 1}", r"\frac{x^{n + 1}}{n + 1}"),
        (r"\sqrt{n + 2 -} \sqrt{n}", r"\sqrt{n + 2} - \sqrt{n}"),  # a root's bar over the sign after it
        (r"y^{2 -} \right)", r"y^{2 -} \right)"),  # nothing to take in: left alone
        (r"\sqrt{a +}^{2} b", r"\sqrt{a +}^{2} b"),  # the root's own script: the sign stays in
        (r"x^{a -} b_{2}", r"x^{a -} b_{2}"),  # the letter has its own script: left alone
        (r"x^{a - b} c", r"x^{a - b} c"),  # no sign at the end
    ],
)
def test_dangling_group_signs(parsed, read):
    from whiteboard_app.recognition.symbol_context import dangling_group_signs, rewrite_reading

    assert dangling_group_signs(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (r"0 \int^{+ \infty} e^{- x} d x", r"\int_{0}^{+ \infty} e^{- x} d x"),  # the lower limit on the left
        (r"y = 0 \int^{1} x d x", r"y = \int_{0}^{1} x d x"),
        (r"\int_{3 2}^{6} \int^{4} d x d y", r"\int_{3}^{6} \int_{2}^{4} d x d y"),  # in the integral before
        (
            r"\lim_{b \rightarrow \infty 0} \int^{b} f d x",
            r"\lim_{b \rightarrow \infty} \int_{0}^{b} f d x",
        ),
        (r"2 x \int^{1} f", r"2 x \int^{1} f"),  # a factor, not a lone operand: left alone
        (r"\int_{0}^{1} x d x", r"\int_{0}^{1} x d x"),  # both limits: left alone
        (r"\int x d x", r"\int x d x"),  # no limits: left alone
    ],
)
def test_integral_lower_limits(parsed, read):
    from whiteboard_app.recognition.symbol_context import integral_lower_limits, rewrite_reading

    assert integral_lower_limits(parsed) == read
    assert rewrite_reading(parsed) == read


@pytest.mark.parametrize(
    "parsed,read",
    [
        (
            r"\left( y^{4} - 1 \right) 1 \left( y^{2} - 1 \right)",
            r"\left( y^{4} - 1 \right) / \left( y^{2} - 1 \right)",
        ),  # a slash read 1 between brackets
        (r"\left( a \right) 1 2", r"\left( a \right) 1 2"),  # no bracket after: left alone
        (
            r"\frac{1}{*^{2}} + f \left( * \right)",
            r"\frac{1}{x^{2}} + f \left( x \right)",
        ),  # a star as operand
        (r"\theta^{*} = f * g", r"\theta^{*} = f * g"),  # a script's star and a convolution stay
    ],
)
def test_bracket_slashes_and_operand_stars(parsed, read):
    from whiteboard_app.recognition.symbol_context import rewrite_reading

    assert rewrite_reading(parsed) == read
