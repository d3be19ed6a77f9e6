"""The n - 1 card by second moments (Casella & Berger 5.2.4; Wasserman 3.17: E[X^2] = Var X + (EX)^2):
``E[X_i^2] = \\sigma^2 + \\mu^2``, ``E[\\bar X^2] = \\sigma^2/n + \\mu^2`` were "cannot check" (session 11)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

CARD = "sample-variance-n-minus-1"


@pytest.mark.parametrize(
    "step,verdict",
    [
        (r"E[X_i^2] = \sigma^2 + \mu^2", "correct"),
        (r"E[\bar X^2] = \frac{\sigma^2}{n} + \mu^2", "correct"),
        (r"\mathbb{E}[X_i^2] = \sigma^2 - \mu^2", "wrong"),
        (r"E[\bar X^2] = \sigma^2 + \mu^2", "wrong"),
        (
            r"E\left[\sum_{i=1}^n (X_i-\bar X)^2\right] = n(\sigma^2+\mu^2) - n\left(\frac{\sigma^2}{n}+\mu^2\right)",
            "correct",
        ),
        (
            r"E\left[\sum_{i=1}^n (X_i-\bar X)^2\right] = n(\sigma^2+\mu^2) - n\left(\sigma^2+\mu^2\right)",
            "wrong",
        ),
    ],
)
def test_second_moments_on_the_n_minus_1_card(step, verdict):
    assert card_checker(CARD).check(step, []).verdict == verdict
