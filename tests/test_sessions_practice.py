"""The practice run's logic without widgets (sessions/practice.py): when a run completes, what ending
it records, the interview's opening, the summary's words, the suggested grade, the ungraded record."""

from __future__ import annotations

from whiteboard_app.decks import bundled_deck_dir, load_card
from whiteboard_app.maths.checker import StepVerdict
from whiteboard_app.sessions import FakeClock, Session
from whiteboard_app.sessions.practice import WALK_THROUGH_QUESTION, PracticeRun

CARD = load_card(bundled_deck_dir() / "softmax-cross-entropy-gradient.toml")


def ok(k: int) -> StepVerdict:
    return StepVerdict(CARD.steps[k - 1].latex, "correct", k)


def test_a_complete_run_ends_by_itself_without_a_walk_through():
    clock = FakeClock()
    s = Session(CARD.id, clock, target_s=300)
    run = PracticeRun(CARD, s)
    verdicts = []
    for k in (1, 2, 3, 4):
        verdicts.append(ok(k))
        assert run.after_verdict(verdicts)[0] == ""
    verdicts.append(ok(5))
    clock.advance(192_000)
    state, judged = run.after_verdict(verdicts)
    assert state == "complete" and judged.complete
    judged, opening = run.end(verdicts, complete=True)
    assert s.finished and run.completed and opening is None
    assert s.board().run["complete"] is True
    assert run.after_verdict(verdicts)[0] == ""  # over: nothing more to decide
    assert run.suggested_grade() == "easy"
    assert run.leave() is True and run.leave() is False  # recorded as ungraded once


def test_a_final_answer_alone_goes_on_then_done_opens_with_walk_me_through():
    s = Session(CARD.id, FakeClock(), target_s=300)
    run = PracticeRun(CARD, s)
    verdicts = [ok(5)]
    state, judged = run.after_verdict(verdicts, hints=[1])
    assert state == "unsupported" and not s.finished
    judged, opening = run.end(verdicts, hints=[1])
    assert not run.completed and opening.question == WALK_THROUGH_QUESTION
    assert "show the chain rule step (reference step 4)" in opening.key_points
    assert run.step_words(["correct"], judged) == ["correct, but unsupported"]
    lines = run.summary_lines(judged, hints=[1], reveals=[])
    assert lines[0].startswith("Correct, but unsupported: ")
    assert "Hints used: 1 (step 1: 1)" in lines and "No references revealed" in lines
    assert lines[-1].startswith("Suggested grade: Hard")
    s.set_self_grade("hard")
    assert run.leave() is False  # graded: nothing to record on leaving


def test_an_unfinished_run_is_not_recorded_on_leaving():
    run = PracticeRun(CARD, Session(CARD.id, FakeClock()))
    assert run.leave() is False


# --- the result cache and the session sync, without widgets -------------------------------------------
def test_step_results_are_kept_by_ink_and_previous_readings_and_bounded():
    from whiteboard_app.sessions import practice

    r = practice.StepResults()
    r.remember(("a",), ["x"], "state-a")
    assert r.known(("a",), ["x"]) == "state-a" and r.known(("a",), ["y"]) is None
    for i in range(practice.RESULTS_KEPT + 5):
        r.remember((i,), [], i)
    assert (
        r.known(("a",), ["x"]) is None
        and r.known((practice.RESULTS_KEPT + 4,), []) == practice.RESULTS_KEPT + 4
    )
    r.remember_reading(("a",), "reading")
    assert r.reading(("a",)) == "reading" and r.reading(("b",)) is None


def test_sync_after_a_split_moves_strokes_readings_and_verdicts():
    from dataclasses import dataclass

    from whiteboard_app.ink import StepInk
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.sessions.practice import record_state, sync_after_shift

    @dataclass
    class State:  # the window's step state, as far as the sync reads it
        latex: str | None
        status: str = "done"
        source: str = "ink"
        candidates: tuple = ()
        read_ms: float = 0.0
        verdict: object = None
        change: str | None = None

    clock = FakeClock()
    s = Session(CARD.id, clock)
    strokes = synthesize("a+b", seed=1).ink.strokes
    for st in strokes:
        clock.advance(200)
        s.add_stroke(st, 0)
    record_state(s, 0, State("a+b", verdict=StepVerdict("a+b", "wrong")))
    assert s.step(0).latex == "a+b" and s.step(0).verdict.verdict == "wrong"
    # split: the first stroke stays, the rest move to a new step 1 with its own reading
    inks = [StepInk(strokes[:1]), StepInk(strokes[1:])]
    states = [
        State("a", verdict=StepVerdict("a", "wrong")),
        State("+b", source="typed", change="answer", verdict=StepVerdict("+b", "wrong")),
    ]
    clock.advance(1_000)
    sync_after_shift(s, inks, states)
    assert len(s.step(0).ink) == 1 and len(s.step(1).ink) == len(strokes) - 1
    assert (s.step(0).latex, s.step(1).latex) == ("a", "+b")
    assert s.step(1).corrections[-1].kind == "answer"
    # and back (the split undone): step 1 is gone and reads as nothing
    clock.advance(1_000)
    sync_after_shift(s, [StepInk(strokes)], [State("a+b", verdict=StepVerdict("a+b", "wrong"))])
    assert len(s.step(0).ink) == len(strokes) and s.step(1).ink.is_empty and s.step(1).latex is None
