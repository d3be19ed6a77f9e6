"""Reader or maths (issue 12): a correction is a reading fix or an answer change. The record keeps them
apart (a board's ``misread`` and ``misreadings`` count reading fixes only), an answer change keeps the
first verdict for scoring ("wrong -> changed by typing"), hints and reveals are recorded; and
``pipeline.correction_kind`` tells the two apart from the step's ink with the recogniser's form
verifier, on ink the project generates (ink/synth.py) read by the real default recogniser."""

from __future__ import annotations

import json

import pytest

from whiteboard_app.ink.synth import synthesize
from whiteboard_app.sessions import FakeClock, Session
from whiteboard_app.sessions.board import Board, BoardError
from whiteboard_app.sessions.history import History
from whiteboard_app.sessions.run import board_counts
from whiteboard_app.sessions.scheduler import Rating, rating_for_board

WRONG = {
    "latex": r"= \sigma(z)(1+\sigma(z))",
    "verdict": "wrong",
    "reference_step": 5,
    "diagnosis": "sign flip",
}
RIGHT = {"latex": r"= \sigma(z)(1-\sigma(z))", "verdict": "correct", "reference_step": 5}


def _session(kind: str, reveal: bool = True) -> Session:
    clock = FakeClock()
    s = Session("sigmoid-derivative", clock, target_s=180)
    for stroke in synthesize(WRONG["latex"], seed=1).ink.strokes:
        clock.advance(300)
        s.add_stroke(stroke, 0)
    s.record_reading(0, WRONG["latex"])
    s.record_verdict(0, WRONG)
    clock.advance(5_000)
    if reveal:
        s.record_aid(0, "reveal", 5)
    s.record_correction(0, RIGHT["latex"], kind)
    s.record_verdict(0, RIGHT)
    s.finish()
    s.set_self_grade("good")
    return s


def test_an_answer_change_keeps_the_first_verdict_and_is_no_misreading():
    board = _session("answer").board()
    st = board.steps[0]
    assert st.verdict.verdict == "correct"  # what the step says now
    assert st.scored_verdict.verdict == "wrong"  # what it is scored by
    assert st.answer_changed and not st.misread and board.misreadings() == []
    assert st.change_words() == "wrong \u2192 changed by typing"
    assert rating_for_board(board) <= Rating.Hard  # the wrong first attempt counts, not the typed fix
    assert board_counts(board) == {"answer_changes": 1, "hints": 0, "reveals": 1}


def test_a_reading_fix_is_a_misreading_and_scores_the_fixed_reading():
    board = _session("reading", reveal=False).board()
    st = board.steps[0]
    assert st.misread and not st.answer_changed and st.change_words() is None
    assert st.scored_verdict.verdict == "correct"
    assert board.misreadings() == [(WRONG["latex"], RIGHT["latex"])]
    assert rating_for_board(board) == Rating.Good
    assert board_counts(board)["answer_changes"] == 0


def test_history_counts_misreadings_and_maths_errors_apart(tmp_path):
    h = History(tmp_path / "h.db")
    h.record_attempt(_session("answer").board())
    h.record_attempt(_session("reading").board())
    rows = sorted((a.n_correct, a.n_wrong, a.n_misread) for a in h.attempts("sigmoid-derivative"))
    assert rows == [(0, 1, 0), (1, 0, 1)]  # the answer change is a maths error; the fix a misreading


def test_kinds_and_aids_survive_a_save_and_old_boards_read_as_reading_fixes():
    board = _session("answer").board()
    again = Board.loads(board.dumps())
    assert again.steps[0].corrections[0].kind == "answer" and again.aids == board.aids
    doc = json.loads(board.dumps())
    del doc["steps"][0]["corrections"][0]["kind"]
    del doc["aids"]
    old = Board.from_dict(doc)
    assert old.steps[0].corrections[0].kind == "reading" and old.aids == ()
    doc["steps"][0]["corrections"][0]["kind"] = "maths"
    with pytest.raises(BoardError, match="kind"):
        Board.from_dict(doc)


def test_bad_kinds_are_errors():
    s = Session("x", FakeClock())
    with pytest.raises(ValueError):
        s.record_correction(0, "x", "guess")
    with pytest.raises(ValueError):
        s.record_aid(0, "peek")


# --- the ink decides: real recogniser, generated ink ------------------------------------------------
@pytest.fixture(scope="module")
def recognizer():
    from whiteboard_app.recognition.base import RecognizerUnavailable
    from whiteboard_app.recognition.registry import DEFAULT_ENGINE, get_recognizer

    try:
        rec = get_recognizer(DEFAULT_ENGINE, time_limit_s=None, context_prior=False)
        rec.recognize(synthesize("x", seed=0, origin=(0.0, 40.0)).ink)
    except RecognizerUnavailable as exc:
        pytest.skip(f"the default recogniser cannot run here: {exc}")
    return rec


# (ink written, what the user typed or picked, the kind): wrong ink + the right answer typed is an answer
# change; right ink + its right reading typed is a reading fix (whatever the engine read)
CASES = [
    (r"= \sigma(z)(1+\sigma(z))", r"= \sigma(z)(1-\sigma(z))", "answer"),
    (
        r"\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})",
        r"\frac{d\sigma}{dz} = (1+e^{-z})^{-2} \cdot (-e^{-z})",
        "answer",
    ),
    (r"= \sigma(z)(1-\sigma(z))", r"= \sigma(z)(1-\sigma(z))", "reading"),
    (r"\sigma(z) = (1+e^{-z})^{-1}", r"\sigma(z) = (1+e^{-z})^{-1}", "reading"),
    (r"= \frac{e^{-z}}{(1+e^{-z})^2}", r"= \frac{e^{-z}}{(1+e^{-z})^2}", "reading"),
    (
        r"\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})",
        r"\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})",
        "reading",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("ink_latex,typed,kind", CASES)
def test_reader_or_maths_from_the_ink(recognizer, seed, ink_latex, typed, kind):
    from whiteboard_app import pipeline

    ink = synthesize(ink_latex, seed=seed, origin=(40.0, 80.0), height_px=32.0).ink
    result = recognizer.recognize(ink)
    # the reading it replaces: the engine's, or (for a right step the engine read right) a misreading
    read = result.best if result.best != typed else typed.replace("-", "+", 1)
    got = pipeline.correction_kind(
        ink,
        result,
        typed,
        read_latex=read,
        first_verdict="wrong",
        classify=getattr(recognizer, "classify_groups", None),
    )
    assert got == kind, (result.best, typed)


def test_without_ink_or_evidence():
    from whiteboard_app import pipeline
    from whiteboard_app.ink import StepInk
    from whiteboard_app.recognition.base import RecognitionResult

    assert pipeline.correction_kind(StepInk(), None, "x") == "answer"  # typed maths changed
    ink = synthesize("x+1", seed=0).ink
    assert pipeline.correction_kind(ink, RecognitionResult(), "x+1", first_verdict="unparsed") == "reading"
    assert pipeline.correction_kind(ink, RecognitionResult(), "x+1", first_verdict="wrong") == "answer"


@pytest.mark.slow
def test_typing_what_could_not_be_read_is_a_reading_fix_even_against_the_ink(recognizer):
    """A reading that never reached the maths (unparsed) leaves no answer to change: typing the step is
    a reading fix, even when the verifier would call the ink another form (the wrong ink below): the
    step is then judged on the typed maths instead of staying "could not read"."""
    from whiteboard_app import pipeline

    ink = synthesize(r"= \sigma(z)(1+\sigma(z))", seed=1, origin=(40.0, 80.0), height_px=32.0).ink
    result = recognizer.recognize(ink)
    typed = r"= \sigma(z)(1-\sigma(z))"
    kw = dict(read_latex=result.best, classify=getattr(recognizer, "classify_groups", None))
    assert pipeline.correction_kind(ink, result, typed, first_verdict="unparsed", **kw) == "reading"
    assert pipeline.correction_kind(ink, result, typed, first_verdict="wrong", **kw) == "answer"


def test_a_change_of_letter_case_only_is_a_reading_fix():
    # the recogniser's most frequent misreading on real ink; the ink's shape barely tells the case
    from whiteboard_app import pipeline
    from whiteboard_app.recognition.base import RecognitionResult

    ink = synthesize(r"\sigma(z)", seed=1).ink
    read = RecognitionResult(engine="t", candidates=(), symbols=())
    kw = {"read_latex": r"\sigma(Z)", "first_verdict": "wrong"}
    assert pipeline.correction_kind(ink, read, r"\sigma(z)", **kw) == "reading"
    # a change beside the case is judged from the ink as before: no symbols here, so no evidence
    assert pipeline.correction_kind(ink, read, r"\sigma(z) + 1", **kw) == "answer"
    assert not pipeline._case_only_change(["x", "+", "1"], ["x", "+", "1"])
    assert not pipeline._case_only_change(["x", "+", "1"], ["X", "-", "1"])
    assert pipeline._case_only_change(["x", "+", "1"], ["X", "+", "1"])
