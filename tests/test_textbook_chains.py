"""Whole derivation chains in textbook notations the cards do not use (issue 11, session 6).

tests/data/textbook_chains.toml holds, for every card, chains written as Bishop (PRML), Hastie et al. (ESL),
Goodfellow et al. (DL book), the CS229 notes or a candidate would write them: other letters, vector vs
summation form, ln vs log, transposes as \\top / T / ', hats or plain parameters, N vs n, integrals and
expectations for a discrete card's sums. Each chain is checked step by step; each has exactly one variant
with one wrong step (a sign or factor slip), which must be caught.
"""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    card_checker,
    chain_table_tests,
    deck,
)

(
    CHAINS,
    VARIANTS,
    test_every_card_has_textbook_chains_and_half_of_the_variants_hold_one_wrong_step,
    test_textbook_chain_step_by_step,
) = chain_table_tests("textbook_chains")


# ------------------------------------------------------------------ the messages name the right parameter and step
@pytest.mark.parametrize(
    "card_id,latex,step,words",
    [
        # the sigma equations of gaussian-mle name sigma and its own reference step (6), not mu's (3)
        (
            "gaussian-mle",
            r"-\frac{n}{\sigma} + \frac{1}{\sigma^3}\sum_i(x_i-\mu)^2 = 0",
            5,
            "sets the derivative",
        ),
        ("gaussian-mle", r"n\sigma^2 = \sum_i (x_i-\mu)^2", 6, "σ"),
        ("gaussian-mle", r"\sigma^2 = \frac{1}{n}\sum_i (x_i-\bar{x})^2", 6, "σ"),
        ("gaussian-mle", r"\sigma = \sqrt{\frac{1}{n}\sum_i (x_i-\mu)^2}", 6, "solved for σ"),
        ("gaussian-mle", r"n\mu = \sum_i x_i", (3, 4), "μ"),
        # the parameter families of em-gmm: mu_k, sigma_k, pi_k written without hats
        ("em-gmm", r"\mu_k = \frac{\sum_i\gamma_{ik}x_i}{\sum_i\gamma_{ik}}", 5, "solved for μ"),
        ("em-gmm", r"\sigma_k^2 = \frac{1}{N_k}\sum_i \gamma_{ik}(x_i-\mu_k)^2", 6, "σ"),
        ("em-gmm", r"\pi_k = \frac{N_k}{n}", 9, "π"),
        ("em-gmm", r"\sum_i \gamma_{ik}(\mu_k - x_i) = 0", 4, "μ"),
    ],
)
def test_an_equation_in_a_parameter_names_that_parameter_and_its_reference_step(card_id, latex, step, words):
    v = card_checker(card_id).check(latex)
    assert v.verdict == "correct", v.message
    assert v.reference_step in (step if isinstance(step, tuple) else (step,)), v.message
    assert words in v.message


@pytest.mark.parametrize(
    "card_id,latex,diagnosis",
    [
        ("em-gmm", r"\mu_k = \frac{1}{n}\sum_{i=1}^n \gamma_{ik}x_i", "divided by n instead of N_k"),
        ("em-gmm", r"\pi_k = \frac{N_k}{K}", "wrong normaliser"),
        ("em-gmm", r"\sigma_k^2 = \frac{1}{n}\sum_i \gamma_{ik}(x_i-\mu_k)^2", None),
        ("em-gmm", r"\sum_i \gamma_{ik}(x_i + \mu_k) = 0", None),
        ("gaussian-mle", r"\sigma^2 = \frac{1}{n}\sum_i (x_i-\bar{x}-1)^2", None),
        ("gaussian-mle", r"\sigma^3 = \frac{1}{n}\sum_i (x_i-\bar{x})^2", None),
        ("gaussian-mle", r"\sigma^2 = \frac{1}{n-1}\sum_i (x_i-\mu)^2", "n vs n-1"),
    ],
)
def test_wrong_equations_in_a_parameter_stay_wrong(card_id, latex, diagnosis):
    v = card_checker(card_id).check(latex)
    assert v.verdict == "wrong", v.message
    if diagnosis is not None:
        assert v.diagnosis == diagnosis, v.message
