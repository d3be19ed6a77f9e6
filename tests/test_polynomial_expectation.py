"""Expectations of polynomials in the card's random quantities, expanded into monomials (the bias-variance
route of CS229 and Geman et al. 1992: ``E[(y - \\hat f)^2] = E[(f + \\epsilon - \\hat f)^2] = ...``); they were
"cannot check" (session 11, the lead's probes)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.evaluate import _expand_monomials, _monomial_key

CARD = "bias-variance-decomposition"
A, B, C = ("var", "a"), ("var", "b"), ("var", "c")


def test_a_square_of_a_sum_expands_into_its_monomials():
    got = _expand_monomials(("pow", ("add", (A, ("mul", (("num", -1.0), B)))), ("num", 2.0)), 64)
    assert sorted(map(repr, got)) == sorted(
        map(
            repr, [[A, A], [A, ("num", -1.0), B], [("num", -1.0), B, A], [("num", -1.0), B, ("num", -1.0), B]]
        )
    )


def test_the_expansion_gives_up_past_its_limit():
    big = ("pow", ("add", (A, B, C)), ("num", 4.0))  # 81 monomials
    assert _expand_monomials(big, 64) is None


def test_monomial_keys_ignore_factor_order_and_count_powers():
    assert _monomial_key(("mul", (A, B, A))) == _monomial_key(("mul", (("pow", A, ("num", 2.0)), B)))
    assert _monomial_key(("add", (A, B))) is None


@pytest.mark.parametrize(
    "steps",
    [
        [
            r"E[(y-\hat f)^2] = E[(f + \epsilon - \hat f)^2]",
            r"= E[(f-\hat f)^2] + 2E[\epsilon(f-\hat f)] + E[\epsilon^2]",
        ],
        [r"E[(y-\hat f)^2] = E[(f-\hat f)^2] + \sigma^2"],
        [
            r"E[(f-\hat f)^2] = E[(f - E[\hat f] + E[\hat f] - \hat f)^2]",
            r"= (f-E[\hat f])^2 + E[(E[\hat f]-\hat f)^2]",
        ],
        [r"E[(f-\hat f)^2] = (f-\bar f)^2 + \mathrm{Var}(\hat f)"],
        [r"E[(y-\hat f)^2] = E[y^2] - 2E[y\hat f] + E[\hat f^2]"],
    ],
)
def test_the_expanded_route_is_correct(steps):
    chk = card_checker(CARD)
    for j, s in enumerate(steps):
        assert chk.check(s, steps[:j]).verdict == "correct", s


@pytest.mark.parametrize(
    "step",
    [
        r"E[(y-\hat f)^2] = E[(f-\hat f)^2] + 2E[\epsilon(f-\hat f)] - E[\epsilon^2]",  # sign of the noise
        r"E[(f-\hat f)^2] = (f-\bar f)^2",  # the variance dropped
        r"E[\hat f^2] = \mathrm{Var}(\hat f) - \bar f^2",
        r"E[(f-\hat f)^2] = (f-E[\hat f])^2 - E[(E[\hat f]-\hat f)^2]",
    ],
)
def test_slips_in_the_expanded_route_stay_wrong(step):
    assert card_checker(CARD).check(step, []).verdict == "wrong"
