"""Bishop's letters (PRML 3.1, 4.3.2, 5.2-5.3): t is the target and y the model's prediction. On a card whose
target is y (with the alias t) and whose prediction has a hat form, a step that writes y in a run that writes
t, or that defines y (``y_n = \\sigma(w^T\\phi_n)``), is read with y as the prediction. These steps were false
"wrong" verdicts (``\\nabla E = \\sum_n (y_n - t_n)\\phi_n`` read as (y - y) = 0, "missing factor"). Slips stay
wrong, and a step in the card's own letters is not re-read."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

BISHOP_LOGISTIC = [
    r"y_n = \sigma(\mathbf{w}^\top\boldsymbol{\phi}_n)",
    r"E(\mathbf{w}) = -\sum_{n=1}^{N}\{t_n\ln y_n + (1-t_n)\ln(1-y_n)\}",
    r"\nabla E(\mathbf{w}) = \sum_{n=1}^{N}(y_n - t_n)\boldsymbol{\phi}_n",
    r"= \Phi^T(\mathbf{y} - \mathbf{t})",
]


def test_bishop_logistic_regression_chain():
    chk = card_checker("logistic-regression-gradient")
    for k, step in enumerate(BISHOP_LOGISTIC):
        v = chk.check(step, BISHOP_LOGISTIC[:k])
        assert v.verdict == "correct", (step, v.message)
    assert "prediction" in chk.check(BISHOP_LOGISTIC[2], BISHOP_LOGISTIC[:2]).message


@pytest.mark.parametrize(
    "card_id,previous,latex,verdict",
    [
        # slips in Bishop's letters
        (
            "logistic-regression-gradient",
            BISHOP_LOGISTIC[:2],
            r"\nabla E = \sum_{n=1}^{N}(t_n - y_n)\phi_n",
            "wrong",
        ),
        (
            "logistic-regression-gradient",
            BISHOP_LOGISTIC[:2],
            r"\nabla E = \sum_{n=1}^{N}y_n(y_n - t_n)\phi_n",
            "wrong",
        ),
        ("logistic-regression-gradient", [], r"y_n = \sigma(-\mathbf{w}^\top\boldsymbol{\phi}_n)", "wrong"),
        # softmax (Bishop 4.3.4: a_k activations, y_k = softmax, t_k one-hot)
        ("softmax-cross-entropy-gradient", [], r"E = -\sum_{k=1}^{K} t_k\ln y_k", "correct"),
        ("softmax-cross-entropy-gradient", [], r"\frac{\partial E}{\partial a_j} = y_j - t_j", "correct"),
        ("softmax-cross-entropy-gradient", [], r"\frac{\partial E}{\partial a_j} = t_j - y_j", "wrong"),
        # a network's output y and target t (Bishop 5.3), on a card whose prediction is \hat{y}
        (
            "backprop-two-layer-mlp",
            [],
            r"\frac{\partial E}{\partial \mathbf{y}} = \mathbf{y} - \mathbf{t}",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            [],
            r"\frac{\partial E}{\partial \mathbf{y}} = \mathbf{t} - \mathbf{y}",
            "wrong",
        ),
        # the card's own letters: y is the label, no re-reading
        ("logistic-regression-gradient", [], r"\nabla_w L = \sum_{i=1}^{n}(y_i - p_i)x_i", "wrong"),
        ("logistic-regression-gradient", [], r"\nabla_w L = \sum_{i=1}^{n}(p_i - y_i)x_i", "correct"),
    ],
)
def test_prediction_letters_on_other_cards(card_id, previous, latex, verdict):
    v = card_checker(card_id).check(latex, previous)
    assert v.verdict == verdict, v.message
