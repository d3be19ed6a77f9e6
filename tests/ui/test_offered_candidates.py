"""The readings a step offers as chips: the recogniser's n-best without malformed alternatives."""

from __future__ import annotations

from whiteboard_app.pipeline import StepResult
from whiteboard_app.recognition.base import Candidate, RecognitionResult
from whiteboard_app.ui.practice_model import PracticeModel, offered_candidates

GOOD = r"\sigma(z) = (1+e^{-z})^{-1}"
EMPTY_DENOMINATOR = r"\sigma \left( z \right) = \left( 1 + e^{- z} \right)^{\frac{1}{}}"
UNPAIRED = r"\sigma(z = (1+e^{-z})^{-1}"
OTHER = r"\sigma \left( z \right) = \left( 1 + e^{- z} \right)^{i}"


def _cands(*latex):
    return tuple(Candidate(s, -k) for k, s in enumerate(latex))


def test_malformed_alternatives_are_not_offered_and_the_order_is_kept():
    got = offered_candidates(_cands(GOOD, EMPTY_DENOMINATOR, UNPAIRED, OTHER), GOOD)
    assert [s for s, _ in got] == [GOOD, OTHER]
    assert [score for _, score in got] == [0, -3]


def test_the_reading_in_use_is_kept_even_when_malformed():
    got = offered_candidates(_cands(EMPTY_DENOMINATOR, GOOD), EMPTY_DENOMINATOR)
    assert [s for s, _ in got] == [EMPTY_DENOMINATOR, GOOD]


def test_a_step_result_stores_only_the_offered_readings(qtbot):
    from whiteboard_app.decks import load_deck

    card = load_deck().get("sigmoid-derivative")
    model = PracticeModel(card)
    model.ensure_steps(1)
    result = StepResult(RecognitionResult(_cands(GOOD, EMPTY_DENOMINATOR, OTHER)), GOOD, None)
    assert model.apply_result(0, None, result)
    assert [s for s, _ in model.step(0).candidates] == [GOOD, OTHER]
