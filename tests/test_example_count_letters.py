"""CS229 writes m for the number of examples (``J(\\theta) = \\frac{1}{2m}\\sum_{i=1}^{m}...``): on the cards whose
count is n and that use no m of their own, m is an alias of n, not a new parameter (session 11, the lead's probes;
before, the gradient ``\\frac1m X^T(X\\theta - y)`` was a false "wrong")."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize("card", ["ols-closed-form", "map-gaussian-prior-l2", "pca-via-svd", "em-gmm"])
def test_m_is_the_example_count_as_in_cs229(card):
    # CS229 writes m for the number of examples (J = 1/(2m) sum_i ...): an alias of n, not a new parameter
    from whiteboard_app.maths.notation import rewrite_step

    assert rewrite_step(card_checker(card).card, r"\frac{1}{m}") == rewrite_step(
        card_checker(card).card, r"\frac{1}{n}"
    )


def test_cs229_least_squares_with_m_examples():
    chk = card_checker("ols-closed-form")
    first = r"J(\theta) = \frac{1}{2m}\sum_{i=1}^{m}(\theta^Tx^{(i)} - y^{(i)})^2"
    assert "new parameter" not in chk.check(first, []).message
    assert chk.check(r"\nabla_\theta J = \frac{1}{m}X^T(X\theta - y)", [first]).verdict == "correct"
    assert chk.check(r"\nabla_\theta J = \frac{1}{m}X^T(X\theta + y)", [first]).verdict == "wrong"
