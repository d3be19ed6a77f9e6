"""``NAME = EXPR`` where a card alias reads NAME as a structured quantity the card defines (``H_R``, ``H(R)``
for ``H(Y|R)`` on the information-gain card) is a claim about that quantity unless it reduces to it: a sign
slip was "correct: defines H_R" (session 11, the lead's probes)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

ENTROPY = r"-\frac16\log_2\frac16 - \frac56\log_2\frac56"
SLIP = r"\frac16\log_2\frac16 + \frac56\log_2\frac56"


@pytest.mark.parametrize("name", ["H_R", "H(R)"])
def test_an_aliased_structured_name_is_judged_as_the_cards_quantity(name):
    chk = card_checker("information-gain")
    right = chk.check(f"{name} = {ENTROPY}", [])
    assert right.verdict == "correct" and right.reference_step == 5
    assert chk.check(f"{name} = {SLIP}", []).verdict == "wrong"


def test_a_wrong_value_of_an_aliased_child_entropy_is_wrong():
    chk = card_checker("information-gain")
    assert chk.check("H(L) = 0", []).verdict == "correct"
    assert chk.check("H(L) = 1", []).verdict == "wrong"
