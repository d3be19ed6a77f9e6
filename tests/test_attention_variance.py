"""Vaswani et al.'s footnote 4 as users write it: the variance of q.k as a sum of the terms' variances,
``\\mathrm{Var}(q\\cdot k) = \\sum_i \\mathrm{Var}(q_ik_i) = d_k`` and ``\\mathrm{Var}(q_ik_i) = 1``, were "cannot
check" (the card defined no variance of one term). The slip d_k^2 stays wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(
    "latex,verdict",
    [
        (r"\mathrm{Var}(q\cdot k) = \sum_{i=1}^{d_k}\mathrm{Var}(q_ik_i) = d_k", "correct"),
        (r"\mathrm{Var}(q_ik_i) = \mathrm{Var}(q_i)\mathrm{Var}(k_i) = 1", "correct"),
        (r"\mathrm{Var}(q\cdot k) = \sum_{i=1}^{d_k}\mathrm{Var}(q_ik_i) = d_k^2", "wrong"),
    ],
)
def test_variance_of_the_dot_product_term_by_term(latex, verdict):
    v = card_checker("scaled-dot-product-attention").check(latex, [])
    assert v.verdict == verdict, v.message
