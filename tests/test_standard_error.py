"""``\\mathrm{SE}(\\bar x)`` (Wasserman 6.3: the standard error of an estimator, written with its argument) on the
confidence-interval card, whose alias SE had no argument: it was read as SE times x-bar, a false "wrong:
missing factor". Its slip stays wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(
    "latex,verdict",
    [
        (r"\mathrm{SE}(\bar{x}) = \frac{\sigma}{\sqrt{n}}", "correct"),
        (r"h = 1.96\,\mathrm{SE}(\bar{X})", "correct"),
        (r"\mathrm{SE}(\bar{X}_n) = \frac{\sigma}{n}", "wrong"),
    ],
)
def test_standard_error_with_its_argument(latex, verdict):
    v = card_checker("confidence-interval-mean").check(latex, [])
    assert v.verdict == verdict, v.message
