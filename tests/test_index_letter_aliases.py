"""An alias the card writes with its own index letter (adam's ``'E[g_i]' = 'E[g]'``) applies when the user
sums over another letter (``\\sum_{k=1}^{t}\\beta_1^{t-k}E[g_k]``, Kingma & Ba's own j or k); it used to be
"cannot check: an expectation needs a definition". And an earlier wrong step used as a constraint does not
make a later step right by forcing a common factor to 0 (mu = 0 makes any E[m_t] = c E[g] read 0 = 0)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize("letter", ["i", "j", "k", "n"])
@pytest.mark.parametrize("expect", ["E", "\\mathbb{E}"])
def test_expectation_alias_with_any_summation_letter(letter, expect):
    chk = card_checker("adam-bias-correction")
    right = (
        rf"{expect}[m_t] = (1-\beta_1)\sum_{{{letter}=1}}^{{t}}\beta_1^{{t-{letter}}}{expect}[g_{{{letter}}}]"
    )
    v = chk.check(right, [])
    assert (v.verdict, v.reference_step) == ("correct", 3), v.message
    slip = right.replace(f"^{{t-{letter}}}", f"^{{{letter}}}")
    assert chk.check(slip, []).verdict == "wrong"


def test_a_wrong_earlier_step_does_not_zero_a_later_one():
    chk = card_checker("adam-bias-correction")
    first = r"E[m_t] = (1-\beta_1)\sum_{k=1}^{t}\beta_1^{k}E[g_k]"
    assert chk.check(first, []).verdict == "wrong"
    later = r"E[m_t] = \beta_1\sum_{k=1}^{t}\beta_1^{t-k}E[g_k]"
    v = chk.check(later, [first])
    assert v.verdict == "wrong", v.message
