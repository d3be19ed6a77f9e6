"""Card notations together with the user's own names (issue 11 items 1 and 2 combined): a name the user
defines is theirs, an alias on the left side of ``ALIAS = EXPR`` is the user's definition only when it
reduces to the card's quantity, otherwise a claim about the card's name (so a wrong step stays wrong)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.maths.notation import rewrite_step


def _run(card_id, steps):
    chk = CardChecker(deck().get(card_id))
    return [chk.check(s, steps[:k]) for k, s in enumerate(steps)]


def test_an_alias_on_the_left_that_reduces_to_the_card_defines_the_users_name():
    vs = _run("logistic-regression-gradient", [r"\hat{y} = \sigma(w^T x + b)"])
    assert vs[0].verdict == "correct" and vs[0].defines == r"\hat{y}"
    assert vs[0].reference_step == 1  # the card's model with the user's bias at 0


@pytest.mark.parametrize(
    "card_id,latex",
    [
        ("logistic-regression-gradient", r"\hat{y}_k = \sigma(-z_k)"),  # the sign of the score flipped
        ("logistic-regression-gradient", r"\hat{y} = \sigma(w^T x)^2"),
        ("bernoulli-mle", r"\hat{p} = \frac{1}{n-1}\sum_{i=1}^{n} x_i"),  # a declared mistake in an alias
        ("softmax-cross-entropy-gradient", r"q_k = \frac{e^{z_k}}{\sum_{j=1}^{K} z_j}"),
    ],
)
def test_an_alias_on_the_left_with_a_wrong_value_is_a_wrong_claim_not_a_definition(card_id, latex):
    (v,) = _run(card_id, [latex])
    assert v.verdict == "wrong" and v.defines is None, v.message


def test_a_name_the_user_defined_is_not_rewritten_by_an_alias_afterwards():
    # on logistic-regression-gradient, \ell is an alias of -L (the log-likelihood); here the user's ell is
    # the loss of one example, and z (an alias of w^T x_i) is the user's score with a bias
    steps = [
        "z = w^T x + b",
        r"\hat{y} = \sigma(z)",
        r"\ell = -y\log\hat{y} - (1-y)\log(1-\hat{y})",
        r"\frac{\partial \ell}{\partial z} = \hat{y} - y",
        r"\frac{\partial \ell}{\partial b} = \hat{y} - y",
    ]
    vs = _run("logistic-regression-gradient", steps)
    assert [v.verdict for v in vs] == ["correct"] * 5, [v.message for v in vs]
    assert [v.defines for v in vs[:3]] == ["z", r"\hat{y}", r"\ell"]
    (wrong,) = _run(
        "logistic-regression-gradient", steps[:3] + [r"\frac{\partial \ell}{\partial z} = y - \hat{y}"]
    )[3:]
    assert wrong.verdict == "wrong" and wrong.diagnosis == "sign flip"


def test_the_rewrite_keeps_the_users_names_and_new_parameters():
    card = deck().get("logistic-regression-gradient")
    assert rewrite_step(card, r"\hat{y} = \sigma(z)") == r"p_{i}=\sigma((w^{T}x_{i}))"  # the card's names
    assert rewrite_step(card, r"\hat{y} = \sigma(z)", frozenset({"hat_y", "z"})) == r"\hat{y} = \sigma(z)"
    # in the user's own definition the card's absent bias (b = 0) is the user's new parameter
    assert "b" in rewrite_step(card, r"z = w^T x + b", frozenset({"z"}), params=True)
    assert "b" not in rewrite_step(card, r"z_i = w^T x_i + b")


@pytest.mark.parametrize("latex", [r"u := 1 + e^{-z}", r"\text{let } t = e^{-z}", r"u = 1 + e^{-z}"])
def test_an_explicit_definition_or_one_written_in_the_aliased_name_defines(latex):
    # u and t are the card's other names for z (sigma(u)); 1 + e^{-z} is no claim about z
    (v,) = _run("sigmoid-derivative", [latex])
    assert v.verdict == "correct" and v.defines in ("u", "t"), v.message


def test_the_onsite_derivation_with_unicode_accents():
    steps = [
        "ŷ = \\sigma(w^T x + b)",
        "L = -[y\\log ŷ + (1-y)\\log(1-ŷ)]",
        "\\frac{\\partial L}{\\partial w_j} = -(\\frac{y}{ŷ} - \\frac{1-y}{1-ŷ})ŷ(1-ŷ)x_j",
        "= (ŷ-y)x_j",
    ]
    vs = _run("logistic-regression-gradient", steps)
    assert [v.verdict for v in vs] == ["correct"] * 4, [v.message for v in vs]
    assert vs[0].defines == r"\hat{y}"
    (last,) = _run("logistic-regression-gradient", steps[:3] + ["= (y-ŷ)x_j"])[3:]
    assert (last.verdict, last.diagnosis) == ("wrong", "sign flip")


def test_an_example_letter_renamed_by_the_notation_is_still_a_condition():
    vs = _run("svm-dual", [r"y_s(w^Tx_s + b) = 1", r"b = y_s - w^Tx_s"])
    assert (vs[0].verdict, vs[0].diagnosis) == ("cannot_check", "condition")
    assert vs[1].verdict == "correct"
    (wrong,) = _run("svm-dual", [r"y_s(w^Tx_s + b) = 1", r"b = w^Tx_s - y_s"])[1:]
    assert wrong.verdict == "wrong"
