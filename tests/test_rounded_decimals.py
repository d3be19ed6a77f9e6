"""Numbers worked out from rounded decimals (``H(Y|S) = 0.4 \\cdot 0 + 0.6 \\cdot 0.65 = 0.39``): checked to the
rounding the decimals carry, to first order (session 11, the lead's probes). Given values of one significant
digit (0.01, 0.05, 0.6) are exact, so a slip among them stays wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.parse import _rounding_spread


def test_the_spread_of_a_product_of_rounded_decimals():
    # 0.6 (one significant digit) is exact; 0.65 moves by 0.005, times 0.6
    tree = ("mul", (("num", 0.6), ("num", 0.65)))
    assert _rounding_spread(tree) == pytest.approx(0.003)


def test_no_spread_for_exact_values_names_or_coarse_decimals():
    assert _rounding_spread(("mul", (("num", 0.05), ("num", 0.01)))) == 0.0  # given values
    assert _rounding_spread(("mul", (("num", 0.65), ("var", "x")))) == 0.0  # a name
    assert _rounding_spread(("num", 0.65)) == 0.0  # alone: read as a rounding already
    # 0.11 / 0.13: the decimals move the value by more than 2 %: said nothing, exact
    assert _rounding_spread(("mul", (("num", 0.11), ("pow", ("num", 0.13), ("num", -1.0))))) == 0.0


@pytest.mark.parametrize(
    "card,steps,verdict",
    [
        ("information-gain", [r"H(Y|S) = 0.4 \cdot 0 + 0.6 \cdot 0.65 = 0.39"], "correct"),
        ("information-gain", [r"H(Y|S) = 0.6 \cdot 0.65"], "correct"),
        ("information-gain", [r"IG = 1 - 0.39 = 0.61"], "correct"),
        ("bayes-theorem", [r"P(D|T) = \frac{0.0099}{0.0594}"], "correct"),
        # slips: the wrong child weight, a misrounded entropy, the base rate's complement
        ("information-gain", [r"H(Y|S) = 0.4 \cdot 0 + 0.4 \cdot 0.65 = 0.26"], "wrong"),
        ("information-gain", [r"H(Y|S) = 0.6 \cdot 0.66"], "wrong"),
        ("information-gain", [r"IG = 1 - 0.26 = 0.74"], "wrong"),
        ("bayes-theorem", [r"P(D|T) = \frac{0.99\cdot 0.01}{0.99\cdot 0.01 + 0.05\cdot 0.01}"], "wrong"),
        ("bayes-theorem", [r"P(D|T) = \frac{0.0099}{0.0549}"], "wrong"),
    ],
)
def test_numbers_from_rounded_decimals(card, steps, verdict):
    chk = card_checker(card)
    for j, s in enumerate(steps):
        v = chk.check(s, steps[:j])
    assert v.verdict == verdict, v.message


def test_the_message_gives_both_values():
    v = card_checker("bayes-theorem").check(
        r"P(D|T) = \frac{0.99 \times 0.01}{0.99\times 0.01 + 0.05 \times 0.95}", []
    )
    assert v.verdict == "wrong"
    assert "0.1667" in v.message and "0.1725" in v.message and "rounding" in v.message
