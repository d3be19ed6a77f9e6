"""Linearity of expectation over the card's defined expectations (Wasserman, All of Statistics, Thm 3.11):
on the n - 1 card, E[(1/n) sum_i (x_i - xbar)^2] = (n - 1)/n sigma^2 (the bias of the ML estimate, the
heart of "why n - 1?") was "cannot check"; now it is checked, and its slips are wrong. A factor that a
defined expectation mentions (mu) is not pulled out, so no expectation is invented. The ML estimate is
also written sigma^2_{ML} (superscript first) and hat sigma^2."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(
    "latex,verdict",
    [
        (r"E\left[\frac{1}{n}\sum_{i=1}^{n}(x_i-\bar{x})^2\right] = \frac{n-1}{n}\sigma^2", "correct"),
        (r"E\left[\frac{1}{n-1}\sum_{i=1}^{n}(x_i-\bar{x})^2\right] = \sigma^2", "correct"),
        (r"E\left[\frac{1}{n}\sum_{i=1}^{n}(x_i-\bar{x})^2\right] = \sigma^2", "wrong"),
        (r"E\left[\sum_{i=1}^{n}(x_i-\mu)^2\right] = n\sigma^2", "correct"),
        (r"E\left[\sum_{i=1}^{n}(x_i-\mu)^2\right] = (n-1)\sigma^2", "wrong"),
        (r"E\left[2\sum_{i=1}^{n}(x_i-\bar{x})^2 + 3\right] = 2(n-1)\sigma^2 + 3", "correct"),
        (r"E\left[2\sum_{i=1}^{n}(x_i-\bar{x})^2 + 3\right] = 2(n-1)\sigma^2", "wrong"),
        (r"\mathbb{E}[\sigma^2_{ML}] = \frac{N-1}{N}\sigma^2", "correct"),
        (r"\mathbb{E}[\hat{\sigma}^2] = \frac{n-1}{n}\sigma^2", "correct"),
        (r"\mathbb{E}[\sigma^2_{ML}] = \sigma^2", "wrong"),
        (r"\mathbb{E}[\hat{\sigma}^2] = \frac{n+1}{n}\sigma^2", "wrong"),
    ],
)
def test_expectations_by_linearity_on_the_n_minus_1_card(latex, verdict):
    v = card_checker("sample-variance-n-minus-1").check(latex, [])
    assert v.verdict == verdict, v.message


def test_a_random_factor_is_not_pulled_out():
    # linearity alone does not pull mu (mentioned by a defined expectation) out of E[mu X]; the expanded
    # polynomial does, as mu is a declared constant and x-bar the atom of E[x-bar] (session 11)
    chk = card_checker("sample-variance-n-minus-1")
    assert chk.check(r"E[\mu\bar{x}] = \mu^2", []).verdict == "correct"
    assert chk.check(r"E[\mu\bar{x}] = \mu", []).verdict == "wrong"
    # a product of two atoms whose expectation the card does not give (no independence assumed): not judged
    assert chk.check(r"E[x_i\bar{x}] = \mu^2", []).verdict != "correct"
