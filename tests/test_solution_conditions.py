"""Steps that hold only where the card's unknowns take their solutions and the reference chain's own
conditions hold (a KKT condition such as the SVM's sum_i alpha_i y_i = 0), written before the user has
written those steps; and Bishop's double sums over n and m on a card whose count is n.

A correct dual written straight after the card's Lagrangian was judged "wrong: missing term" (the term
b sum_i alpha_i y_i vanishes by reference step 5); Bishop's 7.10 with n, m as summation letters was judged
wrong because both letters were renamed to the card's i. Each correct form below has slips (sign, factor,
a merged index) that must stay wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker, toy_card  # noqa: F401 (autouse fixture)
from whiteboard_app.decks.schema import Declarations
from whiteboard_app.maths.checker import CardChecker

DUAL = r"L = \sum_{i=1}^{n}\alpha_i - \frac{1}{2}\sum_{i=1}^{n}\sum_{j=1}^{n}\alpha_i\alpha_jy_iy_jx_i^Tx_j"
BISHOP = r"L = \sum_{n=1}^{N} a_n - \frac{1}{2}\sum_{n=1}^{N}\sum_{m=1}^{N} a_na_mt_nt_m k(x_n, x_m)"


@pytest.mark.parametrize(
    "previous,latex,verdict",
    [
        # the dual with no earlier step, after the KKT condition alone, after the Lagrangian
        ([], DUAL, "correct"),
        ([r"\sum_{i=1}^{n}\alpha_iy_i = 0"], DUAL, "correct"),
        ([r"L = \frac{1}{2}\|w\|^2 - \sum_{i=1}^{n}\alpha_i(y_i(w^Tx_i + b) - 1)"], DUAL, "correct"),
        ([], BISHOP, "correct"),
        (
            [],
            r"L = \sum_{i}\alpha_i - \frac12\sum_{i,j}\alpha_i\alpha_jy_iy_j\langle x_i, x_j\rangle",
            "correct",
        ),
        # slips
        ([], DUAL.replace(r"- \frac{1}{2}", r"+ \frac{1}{2}"), "wrong"),
        ([], DUAL.replace(r"\frac{1}{2}", ""), "wrong"),
        ([], DUAL.replace(r"\sum_{i=1}^{n}\alpha_i -", r"2\sum_{i=1}^{n}\alpha_i -"), "wrong"),
        ([], BISHOP.replace("a_na_m", "a_na_n"), "wrong"),
        ([], BISHOP.replace("- \\frac{1}{2}", "+ \\frac{1}{2}"), "wrong"),
        # the squared norm with w at its solution, after w = sum_n a_n t_n x_n in Bishop's letters
        (
            [r"w = \sum_{n=1}^{N} a_nt_nx_n"],
            r"\frac12\|w\|^2 = \frac12\sum_{n=1}^{N}\sum_{m=1}^{N}a_na_mt_nt_mx_n^Tx_m",
            "correct",
        ),
        (
            [r"w = \sum_{n=1}^{N} a_nt_nx_n"],
            r"\frac12\|w\|^2 = \frac12\sum_{n=1}^{N}\sum_{m=1}^{N}a_na_nt_nt_mx_n^Tx_m",
            "wrong",
        ),
    ],
)
def test_svm_dual_in_other_orders_and_letters(previous, latex, verdict):
    v = card_checker("svm-dual").check(latex, previous)
    assert v.verdict == verdict, v.message


def test_the_message_names_the_condition_used():
    v = card_checker("svm-dual").check(DUAL, [])
    assert v.reference_step == 7
    assert "condition of reference step 5" in v.message


# a toy Lagrangian with two multipliers p, q: stationarity in w gives w = p - q, in b the condition
# p + q = 0, and the dual on that condition is -(p - q)^2 / 2
TOY = Declarations(
    symbols={"p": "real", "q": "real", "b": "real", "w": "real"},
    definitions={"L": r"\frac{1}{2}w^2 - p(w + b - 1) - q(-w + b - 1)"},
    solutions={"w": "p - q"},
    unknowns=("w",),
)
TOY_STEPS = [
    r"L = \frac{1}{2}w^2 - p(w + b - 1) - q(-w + b - 1)",
    r"\frac{\partial L}{\partial w} = w - p + q",
    r"w = p - q",
    r"p + q = 0",
    r"L = -\frac{1}{2}(p - q)^2 + (1 - b)(p + q)",
]


@pytest.fixture(scope="module")
def toy():
    return CardChecker(toy_card(TOY_STEPS, TOY, cid="toy-kkt"), prove=False)


@pytest.mark.parametrize(
    "latex,verdict",
    [
        (r"L = -\frac{1}{2}(p - q)^2", "correct"),
        (r"L = -2p^2", "correct"),
        (r"L = \frac{1}{2}(p - q)^2", "wrong"),
        (r"L = -(p - q)^2", "wrong"),
    ],
)
def test_a_reference_condition_is_used_on_another_card(toy, latex, verdict):
    v = toy.check(latex, [])
    assert v.verdict == verdict, v.message
    if verdict == "correct":
        assert "reference step 4" in v.message
