"""The step panel puts a correct step's own words in the detail line when it carries them (issue 11):
a definition, a continuation's note, skipped steps, a step that follows on its merits."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from whiteboard_app.maths.checker import StepVerdict
from whiteboard_app.ui.practice_model import DONE, StepState
from whiteboard_app.ui.step_panel import verdict_words


@pytest.mark.parametrize(
    "verdict,detail",
    [
        (
            StepVerdict("a", "correct", reference_step=3, message="matches reference step 3"),
            "matches reference step 3",
        ),
        (StepVerdict("a", "correct", message="defines \\hat{y}", defines="\\hat{y}"), "defines \\hat{y}"),
        (
            StepVerdict(
                "a",
                "correct",
                reference_step=3,
                diagnosis="missing left side",
                note="write what this equals: x = …",
                message="matches reference step 3, missing its left side: write what this equals: x = …",
            ),
            "matches reference step 3, missing its left side: write what this equals: x = …",
        ),
        (
            StepVerdict(
                "a",
                "correct",
                reference_step=5,
                skipped=[3, 4],
                message="matches reference step 5; skipped 3-4",
            ),
            "matches reference step 5; skipped 3-4",
        ),
        (StepVerdict("a", "correct", message="follows: derivative of L"), "follows: derivative of L"),
        (StepVerdict("a", "correct"), "follows from your previous step"),
    ],
)
def test_a_correct_step_shows_its_own_words(verdict, detail):
    state = StepState(status=DONE, latex="a", verdict=verdict)
    assert verdict_words(state) == ("correct", detail)
