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


def test_a_definition_is_not_shown_as_progress(qtbot):
    """A step that only defines a name of the user's own says "definition" on a neutral chip; one whose
    value is a reference step's stays "correct" in green."""
    from whiteboard_app.ui import step_panel

    own = StepVerdict("y = 1", "correct", message="defines y", defines="y")
    state = StepState(status=DONE, latex="y = 1", verdict=own)
    assert verdict_words(state) == ("definition", "defines y")
    stated = StepVerdict(
        "u",
        "correct",
        reference_step=2,
        message="defines u; its value is that of reference step 2",
        defines="u",
    )
    head, _ = verdict_words(StepState(status=DONE, latex="u = 1 + e^{-z}", verdict=stated))
    assert head == "correct"
    assert step_panel.DEFINITION_STYLE[0] != step_panel.VERDICT_STYLE["correct"][0]
