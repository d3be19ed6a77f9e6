"""Interviewer prompts when a run stalls (sessions/prompts.py): the level grows with the stall, the
"objective" prompt names the card's first step's rule, none while ink flows."""

from __future__ import annotations

import pytest

from tests._maths_support import deck
from whiteboard_app.sessions.prompts import HINT, INTUITION, stall_level, stall_prompt

DECK = deck()  # the bundled deck, loaded once per test process (tests/_maths_support.py)


@pytest.mark.parametrize(
    "ms, level",
    [
        (None, None),
        (0, None),
        (7_999, None),
        (8_000, "intuition"),
        (19_999, "intuition"),
        (20_000, "objective"),
        (44_000, "objective"),
        (45_000, "hint"),
        (600_000, "hint"),
    ],
)
def test_levels(ms, level):
    assert stall_level(ms) == level


def test_prompts_name_the_objective_of_the_card():
    card = DECK.get("logistic-regression-gradient")
    assert stall_prompt(card, 3, 5_000) is None
    assert stall_prompt(card, 3, 9_000) == INTUITION
    later = stall_prompt(card, 3, 25_000)
    assert later.startswith("Forgot a step? Restart from the objective") and "(model)" in later
    first = stall_prompt(DECK.get("bernoulli-mle"), 0, 25_000)
    assert first.startswith("Forgot how it starts?") and DECK.get("bernoulli-mle").steps[0].rule in first
    assert stall_prompt(card, 3, 50_000) == HINT
    assert stall_prompt(None, 2, 25_000).endswith("redo the algebra from there.")
