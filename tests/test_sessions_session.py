"""Session: live state of an attempt under a fake clock: splits, freezes, erase/restore, set_ink, resume."""

from __future__ import annotations

import pytest

from whiteboard_app.ink.model import StepInk, Stroke
from whiteboard_app.sessions import FREEZE_MS, FakeClock, Session
from whiteboard_app.sessions.board import Freeze, Split


def stroke(x0: float, duration_ms: float = 200.0) -> Stroke:
    n = 5
    return Stroke.from_xy([(x0 + k, k * 2.0) for k in range(n)], dt=duration_ms / (n - 1))


def test_stroke_times_come_from_the_session_clock():
    clock = FakeClock(50_000)  # arbitrary origin: session time starts at 0
    s = Session("c", clock)
    clock.advance(1000)
    e = s.add_stroke(stroke(0, 200))
    assert (e.start_ms, e.end_ms) == (800, 1000)


def test_splits_are_time_between_steps_done():
    clock = FakeClock()
    s = Session("c", clock)
    clock.advance(2000)
    s.add_stroke(stroke(0))
    clock.advance(1000)
    s.next_step()  # step 0 done at 3000
    clock.advance(4000)
    s.add_stroke(stroke(0))
    clock.advance(500)
    # the open step's split runs to now
    assert s.splits() == [Split(0, 3000, 3000), Split(1, 7500, 4500)]
    clock.advance(500)
    s.finish()
    clock.advance(10_000)  # the clock no longer counts
    assert s.splits() == [Split(0, 3000, 3000), Split(1, 8000, 5000)]
    assert s.elapsed_ms() == 8000


FREEZE_CASES = [
    # (gaps before each stroke in ms, expected freezes as (start, end, step-of-stroke-index))
    ([1000, 1000, 1000], []),
    ([9000], [(0, 9000, 0)]),  # froze at the very start
    ([1000, FREEZE_MS, 1000], []),  # exactly 8 s is not a freeze
    ([1000, FREEZE_MS + 1, 1000], [(1200, 1200 + FREEZE_MS + 1, 1)]),
    ([500, 20_000, 100, 12_000], [(700, 20_700, 1), (21_200, 33_200, 3)]),
]


@pytest.mark.parametrize(("gaps", "expected"), FREEZE_CASES)
def test_freezes_are_gaps_over_8_s_without_ink(gaps, expected):
    clock = FakeClock()
    s = Session("c", clock)
    for i, gap in enumerate(gaps):
        clock.advance(gap)
        clock.advance(200)  # the stroke takes 200 ms; its pen-down is after the gap
        s.add_stroke(stroke(i * 10, 200), step=i)
    assert [(f.start_ms, f.end_ms, f.step) for f in s.freezes()] == expected


def test_typed_steps_count_as_activity_in_a_keyboard_only_run():
    clock = FakeClock()
    s = Session("c", clock)
    for k, gap in enumerate([5000, 6000, 7000]):  # typing each step takes a few seconds, no ink at all
        clock.advance(gap)
        s.record_correction(k, f"x_{k} = {k}")
        s.next_step()
    assert s.freezes() == []
    clock.advance(9000)  # then nothing for 9 s: that is a freeze
    s.record_correction(3, "y = 1")
    assert [(f.start_ms, f.end_ms) for f in s.freezes()] == [(18_000, 27_000)]


def test_current_freeze_is_live():
    clock = FakeClock()
    s = Session("c", clock)
    clock.advance(300)
    s.add_stroke(stroke(0, 300))
    clock.advance(7000)
    assert s.current_freeze_ms() is None
    clock.advance(2000)
    assert s.current_freeze_ms() == 9000
    assert s.freezes() == [] and s.freezes(include_current=True) == [Freeze(300, 9300, None)]


def test_erase_restore_and_set_ink_keep_history():
    clock = FakeClock()
    s = Session("c", clock)
    a, b, c = stroke(0), stroke(10), stroke(20)
    for st in (a, b):
        clock.advance(300)
        s.add_stroke(st)
    clock.advance(100)
    s.erase_strokes([a.id])
    assert s.ink().strokes == (b,)
    assert s.step(0).strokes[0].erased_ms == 700
    s.restore_strokes([a.id])
    assert s.ink().strokes == (a, b)
    # an undo stack hands over whole ink: b moved, a gone, c new
    clock.advance(300)
    moved = b.translated(5, 0)
    s.set_ink(StepInk((moved, c)))
    assert s.ink().strokes == (moved, c)
    assert len(s.step(0).strokes) == 3  # a is kept (erased) for replay
    assert s.step(0).strokes[1].start_ms == 400  # a move keeps the stroke's times
    with pytest.raises(KeyError):
        s.erase_strokes([10**9])


def test_reading_correction_verdict_and_listeners():
    from whiteboard_app.recognition.base import Candidate, RecognitionResult

    clock = FakeClock()
    s = Session("c", clock)
    heard = []
    unsubscribe = s.subscribe(lambda kind, step: heard.append((kind, step)))
    s.add_stroke(stroke(0))
    s.record_reading(
        0, RecognitionResult((Candidate("x^2", -0.1), Candidate("x^z", -2.0)), ms=40, engine="e")
    )
    s.record_correction(0, "x^{2}")
    s.record_verdict(
        0,
        {
            "latex": "x^{2}",
            "verdict": "wrong",
            "reference_step": None,
            "diagnosis": "missing factor",
            "shape": None,
            "ms": 3.0,
        },
    )
    unsubscribe()
    s.next_step()
    assert heard == [("stroke", 0), ("reading", 0), ("correction", 0), ("verdict", 0)]
    st = s.step(0)
    assert st.readings[0].candidates == (("x^2", -0.1), ("x^z", -2.0)) and st.readings[0].engine == "e"
    assert st.latex == "x^{2}" and st.misread
    assert st.corrections[0].before == "x^2"
    assert s.verdicts_json()[0]["diagnosis"] == "missing factor"
    assert s.record_verdict(0, None) is None and len(s.step(0).verdicts) == 1  # nothing was checked
    with pytest.raises(ValueError):
        s.record_verdict(0, {"verdict": "fine"})
    with pytest.raises(ValueError):
        s.set_self_grade("great")


def test_resume_continues_time_from_the_last_event():
    clock = FakeClock()
    s = Session("c", clock)
    clock.advance(1000)
    s.add_stroke(stroke(0))
    clock.advance(60_000)  # the program was closed for a minute: not counted, not a freeze
    r = Session.resume(s.board(), clock)
    assert r.board_id == s.board_id and r.elapsed_ms() == 1000
    clock.advance(500)
    r.add_stroke(stroke(10, 100))
    assert r.board().stroke_count() == 2 and r.freezes() == []
    assert r.step(0).strokes[1].end_ms == 1500


def test_finish_drops_an_empty_open_step_and_refuses_more_ink():
    clock = FakeClock()
    s = Session("c", clock)
    clock.advance(500)
    s.add_stroke(stroke(0))
    s.next_step()
    clock.advance(500)
    s.finish()
    assert [st.index for st in s.steps] == [0]
    with pytest.raises(RuntimeError):
        s.add_stroke(stroke(1))


def test_finish_keeps_a_typed_open_step_with_its_split():
    # a step typed without ink (no strokes, no recogniser reading) is not an empty step: Done kept
    # dropping it, so the board lost the last typed step and the summary showed no time for it
    clock = FakeClock()
    s = Session("c", clock)
    clock.advance(4000)
    s.record_correction(0, "u = 1 + e^{-z}")
    s.record_verdict(0, {"latex": "u = 1 + e^{-z}", "verdict": "correct"})
    clock.advance(1000)
    s.finish()
    assert [st.index for st in s.steps] == [0]
    assert s.steps[0].latex == "u = 1 + e^{-z}"
    assert s.steps[0].closed_ms == 5000.0
    assert s.splits() == [Split(0, 5000.0, 5000.0)]
    assert s.board().steps[0].verdict.verdict == "correct"


def test_real_step_verdict_and_a_move_between_steps():
    from whiteboard_app.maths.checker import StepVerdict

    clock = FakeClock()
    s = Session("c", clock)
    a, b = stroke(0), stroke(10)
    clock.advance(300)
    s.set_ink(StepInk((a, b)), 0)
    v = s.record_verdict(0, StepVerdict("x=1", "wrong", None, "sign flip", "(1 x 1)", 12.345, "a sign"))
    assert (v.verdict, v.diagnosis, v.shape, v.message, v.ms) == (
        "wrong",
        "sign flip",
        "(1 x 1)",
        "a sign",
        12.35,
    )
    # a lasso drops b into step 1's band: the window syncs both steps
    clock.advance(1000)
    moved = b.translated(0, 100)
    s.set_ink(StepInk((a,)), 0)
    s.set_ink(StepInk((moved,)), 1)
    assert s.ink(0).strokes == (a,) and s.ink(1).strokes == (moved,)
    assert s.step(0).strokes[1].erased_ms == 1300 and s.step(1).strokes[0].end_ms == 1300
    assert s.board().stroke_count() == 2


@pytest.mark.parametrize("order", ["leave first", "arrive first"])
def test_a_stroke_moved_to_the_next_step_and_back_is_marked_in_its_step(order):
    """set_ink looks a stroke up within the step it syncs, not where the stroke was seen last."""
    clock = FakeClock()
    s = Session("c", clock)
    a, b = stroke(0), stroke(10)
    s.set_ink(StepInk((a, b)), 0)
    clock.advance(100)
    down = b.translated(0, 100)
    s.set_ink(StepInk((a,)), 0)
    s.set_ink(StepInk((down,)), 1)
    clock.advance(100)  # the lasso (or an undo) brings it back to step 0
    syncs = [(StepInk(()), 1), (StepInk((a, b)), 0)]
    for ink, k in syncs if order == "leave first" else syncs[::-1]:
        s.set_ink(ink, k)
    assert s.ink(0).strokes == (a, b) and s.ink(1).strokes == ()
    assert s.board().stroke_count() == 2
    assert s.step(1).strokes[0].erased_ms == 200  # its time in step 1 stays in the board for replay
    # the replay shows b in one step at a time: on step 0 until 100, step 1 until 200, step 0 again
    shown = sorted(
        (e.end_ms, e.erased_ms, st.index) for st in s.steps for e in st.strokes if e.stroke.id == b.id
    )
    assert shown == [(0, 100, 0), (100, 200, 1), (200, None, 0)]
    # and the other way round once more: erase_strokes finds the live copy
    s.erase_strokes([b.id])
    assert s.ink(0).strokes == (a,) and s.ink(1).strokes == ()
    s.restore_strokes([b.id])
    assert s.ink(0).strokes == (a, b) and s.ink(1).strokes == ()


def test_a_resumed_board_knows_which_step_holds_a_moved_stroke():
    """A stroke written on step 1 and moved up to step 0 is in both records (erased in step 1); after
    resuming, erasing it and syncing step 0 act on step 0's live entry."""
    clock = FakeClock()
    s = Session("c", clock)
    a, b = stroke(0), stroke(10)
    s.set_ink(StepInk((a,)), 0)
    s.set_ink(StepInk((b,)), 1)
    clock.advance(100)
    up = b.translated(0, -100)
    s.set_ink(StepInk(()), 1)
    s.set_ink(StepInk((a, up)), 0)
    for act in ("erase", "set_ink"):
        r = Session.resume(s.board(), clock)
        clock.advance(100)
        if act == "erase":
            r.erase_strokes([b.id])
        else:
            r.set_ink(StepInk((a,)), 0)
        assert r.ink(0).strokes == (a,) and r.ink(1).strokes == (), act
        assert r.board().stroke_count() == 1, act
