"""A result written with "=" and a decimal number (``P(D|T) = 0.167``, ``IG = 0.61``), as on a whiteboard, is the
value rounded to the digits written, checked like ``\\approx``: it was a false "wrong: missing factor". A value
that rounds otherwise (the base-rate slip 0.99, a sign) stays wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        ("bayes-theorem", r"P(D|T) = 0.167", "correct"),
        ("bayes-theorem", r"P(D|T) = \frac{0.0099}{0.0594} = 0.167", "correct"),
        ("bayes-theorem", r"P(D|T) = 0.99", "wrong"),
        ("bayes-theorem", r"P(D|T) = 0.18", "wrong"),
        ("information-gain", r"IG = 0.61", "correct"),
        ("information-gain", r"H(Y|R) = 0.65", "correct"),
        ("information-gain", r"IG = -0.61", "wrong"),
        ("information-gain", r"IG = 0.39", "wrong"),
    ],
)
def test_a_rounded_result_after_equals(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, v.message
