"""The likelihood written as a product (``L(\\mu,\\sigma^2) = \\prod_i p(x_i|\\mu,\\sigma^2)``, Casella & Berger
7.2.2, CS229's L(theta), Bishop's p(D|theta)) on cards that derive its log, and earlier steps that a card
definition judges (``\\ell = ...``) never imposed as constraints on later steps (session 11, the lead's probes)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

GAUSS = r"\frac{1}{\sqrt{2\pi\sigma^2}}e^{-\frac{(x_i-\mu)^2}{2\sigma^2}}"
GAUSS_SLIP = r"\frac{1}{\sqrt{2\pi\sigma^2}}e^{\frac{(x_i-\mu)^2}{2\sigma^2}}"
LOGISTIC = r"\sigma(w^Tx_i)^{y_i}(1-\sigma(w^Tx_i))^{1-y_i}"
LOGISTIC_SLIP = r"\sigma(w^Tx_i)^{y_i}(1-\sigma(w^Tx_i))^{y_i}"


def _check(card, step, previous=()):
    return card_checker(card).check(step, list(previous))


@pytest.mark.parametrize(
    "card,step",
    [
        ("gaussian-mle", rf"L(\mu,\sigma^2) = \prod_{{i=1}}^{{n}}{GAUSS}"),
        ("gaussian-mle", rf"\mathcal{{L}}(\mu,\sigma^2) = \prod_{{i=1}}^{{n}}{GAUSS}"),
        ("gaussian-mle", r"L = \prod_{i=1}^{n}p(x_i|\mu,\sigma^2)"),
        ("bernoulli-mle", r"p(D|\theta) = \prod_{i=1}^{n}\theta^{x_i}(1-\theta)^{1-x_i}"),
        # the card's L is the negative log-likelihood (alias l -> -L): the product's log is -L
        ("logistic-regression-gradient", rf"L(w) = \prod_{{i=1}}^{{n}}{LOGISTIC}"),
    ],
)
def test_the_likelihood_as_a_product_is_correct_with_a_note(card, step):
    v = _check(card, step)
    assert v.verdict == "correct", v
    assert "as the likelihood" in v.message


@pytest.mark.parametrize(
    "card,step",
    [
        ("gaussian-mle", rf"L(\mu,\sigma^2) = \prod_{{i=1}}^{{n}}{GAUSS_SLIP}"),  # sign slip in the exponent
        (
            "logistic-regression-gradient",
            rf"L(w) = \prod_{{i=1}}^{{n}}{LOGISTIC_SLIP}",
        ),  # exponent y_i for 1-y_i
        (
            "gaussian-mle",
            rf"\ell = \prod_{{i=1}}^{{n}}{GAUSS}",
        ),  # the log-likelihood's own name: no log taken
        ("gaussian-mle", rf"L = \prod_{{i=1}}^{{n}}{GAUSS} = \prod_{{i=1}}^{{n}}{GAUSS_SLIP}"),
    ],
)
def test_a_slip_in_the_likelihood_stays_wrong(card, step):
    assert _check(card, step).verdict == "wrong"


def test_the_log_of_the_product_follows_in_the_next_step():
    first = rf"L(\mu,\sigma^2) = \prod_{{i=1}}^{{n}}{GAUSS}"
    nxt = r"\log L = -\frac{n}{2}\log(2\pi\sigma^2) - \frac{1}{2\sigma^2}\sum_{i=1}^{n}(x_i-\mu)^2"
    assert _check("gaussian-mle", nxt, [first]).verdict == "correct"


def test_a_false_claim_about_a_defined_name_is_never_imposed_on_later_steps():
    # l = prod p (the likelihood, not its log) is wrong; imposed as a constraint it made the sign slip in
    # the derivative by sigma^2 below "correct: follows from your earlier steps"
    wrong_first = rf"\ell = \prod_{{i=1}}^{{n}}{GAUSS}"
    slip = r"\frac{\partial \log L}{\partial \sigma^2} = -\frac{n}{2\sigma^2} - \frac{1}{2\sigma^4}\sum_{i=1}^n(x_i-\mu)^2"
    right = r"\frac{\partial \log L}{\partial \sigma^2} = -\frac{n}{2\sigma^2} + \frac{1}{2\sigma^4}\sum_{i=1}^n(x_i-\mu)^2"
    assert _check("gaussian-mle", wrong_first).verdict == "wrong"
    assert _check("gaussian-mle", slip, [wrong_first]).verdict == "wrong"
    assert _check("gaussian-mle", right, [wrong_first]).verdict == "correct"


def test_the_likelihood_step_sets_no_convention_of_scale():
    # the product is the likelihood, not the (summed) loss: a later gradient of the mean loss stays correct
    first = rf"L(w) = \prod_{{i=1}}^{{n}}{LOGISTIC}"
    mean = r"\nabla_w\mathcal{L} = \frac1N\sum_n(\sigma(w^\top x_n) - y_n)x_n"
    slip = r"\nabla_w\mathcal{L} = \frac1N\sum_n(\sigma(w^\top x_n) + y_n)x_n"
    assert _check("logistic-regression-gradient", mean, [first]).verdict == "correct"
    assert _check("logistic-regression-gradient", slip, [first]).verdict == "wrong"
