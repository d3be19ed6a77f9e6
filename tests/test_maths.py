"""The maths layer in-process: the normaliser's hand-written forms, ordered parsing, validation, numeric
evaluation with shapes, derivatives, diagnoses, compare and near misses (table-driven where it is a table)."""

from __future__ import annotations

import pytest

from tests._maths_support import toy_card
from whiteboard_app.decks.schema import Card, Declarations, Mistake, RefStep
from whiteboard_app.latex import ParseError, name_key
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.maths.evaluate import ShapeError
from whiteboard_app.maths.normalise import names_from_declarations
from whiteboard_app.maths.parse import parse_step
from whiteboard_app.maths.worker import compare_in_process

DECL = Declarations(
    symbols={
        "n": "positive_integer",
        "d": "positive_integer",
        "z": "real",
        "mu": "real",
        "sigma": "positive",
        "hat_y": "real",
        "y": "real",
        "a": "real",
        "b": "real",
        "theta": "probability",
        "beta": "positive",
        "hat_theta": "probability",
        "\\pi_\\theta(y_w|x)": "probability",
        "p_{data}": "positive",
    },
    indexed={"x": "i"},
    indices={"i": ("1", "n")},
    shapes={"X": ("n", "d"), "w": ("d", "1"), "v": ("d", "1"), "u": ("n", "1")},
    sizes={"n": 5, "d": 3},
    functions={"s": "sigmoid"},
    definitions={"\\bar{x}": "\\frac{1}{n}\\sum_{i=1}^{n} x_i", "L": "\\|u - Xw\\|^2", "E[a^2]": "a^2 + 1"},
)
NAMES = names_from_declarations(DECL)


def trees(latex: str):
    return parse_step(latex, NAMES).trees


# (sloppy, tidy): both must parse to the same tree
SAME = [
    (r"\hat y", r"\hat{y}"),
    (r"\bar x + 1", r"\bar{x} + 1"),
    (r"\frac1n", r"\frac{1}{n}"),
    (r"\frac12 a", r"\frac{1}{2} a"),
    (r"\sqrt n", r"\sqrt{n}"),
    (r"X^T u", r"X^{T} u"),
    (r"X^\top u", r"X^{T} u"),
    (r"X' u", r"X^{T} u"),
    (r"X^{\intercal} u", r"X^T u"),
    (r"\left(a + b\right)^2", r"(a + b)^2"),
    (r"\big(a + b\big)", r"(a + b)"),
    (r"a \cdot b", r"a \cdot b"),
    (r"\sum_i x_i", r"\sum_{i=1}^{n} x_i"),
    (r"\sum_{i} x_i^2", r"\sum_{i=1}^{n} x_{i}^{2}"),
    (r"\|v\|^2", r"\lVert v \rVert^2"),
    (r"\|v\|_2^2", r"\|v\|^2"),
    (r"\pi_\theta(y_w|x)", r"\pi_{\theta}(y_w \mid x)"),
    (r"E[a^2]", r"E\left[a^2\right]"),
    (r".5 a", r"0.5 a"),
    (r"\mathbf{w}^T v", r"w^T v"),
    (r"\boldsymbol{\mu}", r"\mu"),
    (r"p_{data}", r"p_{data}"),
    (r"\hat\theta", r"\hat{\theta}"),
    (r"\dfrac{a}{b}", r"\frac{a}{b}"),
    (r"a\,b", r"a b"),
]


@pytest.mark.parametrize("sloppy,tidy", SAME, ids=[s for s, _ in SAME])
def test_hand_written_forms_parse_like_the_tidy_ones(sloppy, tidy):
    assert trees(sloppy) == trees(tidy)


def test_products_keep_their_written_order():
    (t1,) = trees(r"X^T u")
    (t2,) = trees(r"u^T X")
    assert t1 == ("mul", (("T", ("var", "X")), ("var", "u")))
    assert t2 == ("mul", (("T", ("var", "u")), ("var", "X")))


def test_a_name_before_parentheses_is_a_product_and_the_power_stays_inside():
    (t,) = trees(r"n(a-b)^2")
    assert t[0] == "mul" and t[1][0] == ("var", "n") and t[1][-1][0] == "pow"


def test_relations_chains_and_a_leading_equals():
    p = parse_step(r"= a = b \le \sigma", NAMES)
    assert p.continues and p.relations == ("=", "=", "<=") and len(p.trees) == 3
    assert parse_step(r"\hat\theta \approx a", NAMES).undecidable
    assert parse_step(r"\arg\max_\theta a", NAMES).undecidable


@pytest.mark.parametrize(
    "latex,words",
    [
        (r"\hat z", "hat_z"),
        (r"q + 1", "'q'"),
        (r"\text{both dice}", "unknown name"),
        (r"\frac{1}{", "unbalanced"),
        (r"p(y|x)", ""),
        (r"\sum_{k^2} x_k", "sum index"),
        (r"\sum x_k", "needs its index"),
        (r"a +", "nothing after it"),
        (r"a \cdot\cdot b", "two operators in a row"),
        (r"\foo a", "\\foo"),
    ],
)
def test_unreadable_steps_raise_parse_error(latex, words):
    with pytest.raises(ParseError, match=None) as exc:
        parse_step(latex, NAMES)
    assert words in str(exc.value)


def test_name_keys():
    assert name_key(r"\hat{\theta}") == name_key("hat_theta") == "hat_theta"
    assert name_key("p_{data}") == "p_data"
    assert name_key(r"\pi_\theta") == "pi_theta"


def _card(steps, mistakes=(), decl=DECL, cid="toy"):
    return toy_card(steps, decl, mistakes, cid)


@pytest.fixture(scope="module")
def ols():
    return CardChecker(
        _card(
            [r"L = \|u - Xw\|^2", r"\nabla_w L = -2X^T(u - Xw)", r"= 2X^TXw - 2X^Tu"],
            [Mistake(r"\nabla_w L = -2X^T(u + Xw)", "forgot the bracket", 2)],
        )
    )


# (candidate, previous, verdict, reference step, diagnosis)
OLS = [
    (r"\nabla_w L = 2X^T(Xw - u)", [], "correct", 2, None),
    (r"= 2X'Xw - 2X'u", [r"\nabla_w L = -2X^T(u - Xw)"], "correct", 3, None),
    (r"\nabla_w L = 2X^T(u - Xw)", [], "wrong", 2, "sign flip"),
    (r"\nabla_w L = X^T(Xw - u)", [], "wrong", 2, "missing factor"),
    (r"\nabla_w L = -2X^T(u + Xw)", [], "wrong", 2, "forgot the bracket"),
    (r"\nabla_w L = 2(Xw - u)^T X", [], "wrong", None, "dropped transpose"),
    (r"\nabla_w L = -2X(u - Xw)", [], "wrong", None, "dropped transpose"),
    (r"\nabla_w L = -2(u - Xw)X^T", [], "wrong", None, "wrong multiplication order"),
    (r"\nabla_w L = -2X^T(u - Xw) \cdot", [], "unparsed", None, None),
    (r"L \approx 0", [], "cannot_check", None, None),
]


@pytest.mark.parametrize("latex,previous,verdict,ref,diag", OLS, ids=[c[0] for c in OLS])
def test_ols_toy_card(ols, latex, previous, verdict, ref, diag):
    v = ols.check(latex, previous)
    assert v.verdict == verdict, v.message
    if ref is not None:
        assert v.reference_step == ref
    assert v.diagnosis == diag
    if verdict in ("correct", "wrong") and diag not in ("dropped transpose", "wrong multiplication order"):
        assert v.shape in ("(d x 1)", "(1 x d)")


def test_shape_errors_name_the_shapes(ols):
    v = ols.check(r"\nabla_w L = -2X(u - Xw)", [])
    assert v.shape == "cannot multiply (n x d) by (n x 1)"
    with pytest.raises(ShapeError, match=r"\(n x d\) by \(n x 1\)"):
        ols.values(trees(r"X u")[0])


def test_generic_diagnoses_from_values():
    chk = CardChecker(_card([r"\bar x = \frac{1}{n}\sum_i x_i", r"\mu = \frac{a}{b}"]))
    cases = [
        (r"\bar x = \frac{1}{n-1}\sum_i x_i", "n vs n-1"),
        (r"\bar x = -\frac{1}{n}\sum_i x_i", "sign flip"),
        (r"\bar x = \sum_i x_i", "missing factor"),
        (r"\bar x = \frac{n}{\sum_i x_i}", "inverted ratio"),
        (r"\bar x = \frac{1}{n}\sum_i x_{i+1}", "wrong index"),
    ]
    for latex, diag in cases:
        v = chk.check(latex)
        assert (v.verdict, v.diagnosis) == ("wrong", diag), latex


def test_derivatives_are_checked_numerically():
    decl = Declarations(symbols={"z": "real"}, functions={"s": "sigmoid"})
    chk = CardChecker(
        _card([r"\frac{ds}{dz} = s(z)(1-s(z))", r"\frac{d^2 s}{dz^2} = s(z)(1-s(z))(1-2s(z))"], decl=decl)
    )
    assert chk.check(r"\frac{d}{dz} s(z) = s(z) - s(z)^2").verdict == "correct"
    assert chk.check(r"\frac{d^2s}{dz^2} = s(z)(1-s(z))(1-2s(z))").verdict == "correct"
    assert chk.check(r"\frac{ds}{dz} = s(z)(1+s(z))").verdict == "wrong"


def test_inequalities_pointwise_and_as_conditions():
    decl = Declarations(symbols={"a": "real", "b": "positive", "mu": "real"})
    chk = CardChecker(_card([r"a^2 + b \ge 0", r"a - b \le \mu \le a + b"], decl=decl))
    assert chk.check(r"a^2 \ge -b").verdict == "correct"
    assert chk.check(r"a^2 \le b").verdict == "wrong"
    assert chk.check(r"-b \le \mu - a \le b").verdict == "correct"
    assert chk.check(r"a - 2b \le \mu \le a + 2b").verdict == "wrong"


def test_compare():
    chk = CardChecker(_card([r"\bar x = \frac{1}{n}\sum_i x_i", r"L = \|u - Xw\|^2"]))
    assert compare_in_process(chk, r"\frac1n\sum_i x_i", r"\bar x").equivalent is True
    c = compare_in_process(chk, r"\frac1n\sum_i x_i", r"\frac{1}{n-1}\sum_i x_i")
    assert (c.equivalent, c.diagnosis) == (False, "n vs n-1")
    assert compare_in_process(chk, r"X^TXw = X^Tu", r"X^T(u - Xw) = 0").equivalent is True
    assert compare_in_process(chk, r"\hat z", r"\bar x").equivalent is None


def test_near_misses_are_wrong_and_named(ols):
    from whiteboard_app.decks.schema import GENERIC_DIAGNOSES
    from whiteboard_app.maths.checker import near_misses_for

    misses = near_misses_for(ols)
    assert len(misses) >= 6
    for latex, diag in misses:
        assert diag in GENERIC_DIAGNOSES
        v = ols.check(latex, [s.latex for s in ols.card.steps[:1]])
        assert v.verdict == "wrong", latex


def test_simple_identities_are_labelled_proved_but_verdicts_do_not_need_it(monkeypatch):
    from whiteboard_app.maths import proof

    # the label is given only while the check's time budget lasts (0.6 s, proofs 0.25 s): on a loaded
    # test machine the parse alone can use it up, so this test of the label gives both room
    monkeypatch.setattr(CardChecker, "BUDGET_S", 30.0)
    monkeypatch.setattr(proof, "PROOF_TIMEOUT_S", 10.0)
    decl = Declarations(symbols={"z": "real"}, functions={"s": "sigmoid"})
    card = _card([r"\frac{ds}{dz} = s(z)(1-s(z))", r"s(z) = \frac{1}{1+e^{-z}}"], decl=decl)
    v = CardChecker(card).check(r"\frac{ds}{dz} = s(z) - s(z)^2")
    assert v.verdict == "correct" and "proved" in v.message
    v = CardChecker(card, prove=False).check(r"\frac{ds}{dz} = s(z) - s(z)^2")
    assert v.verdict == "correct" and "proved" not in v.message


@pytest.mark.parametrize(
    "latex", [r"\frac{1}{1+e^{-z}", r"= a}", r"\left( a", r"a = {b", r"\sqrt{", r"x_", r"\frac12{"]
)
def test_malformed_latex_is_unparsed_even_next_to_unchecked_steps(latex):
    card = _card([r"a = b", r"b = a"])
    steps = (RefStep("a = b"), RefStep(r"\arg\max_a b", checkable=False), RefStep("b = a"))
    chk = CardChecker(Card(**{**card.__dict__, "steps": steps}))
    v = chk.check(latex)
    assert v.verdict == "unparsed", v.message
