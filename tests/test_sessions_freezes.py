"""Freeze accounting with a fake clock (issue 12): a freeze is pen-idle time at the board only, not
reading a verdict or a hint that just arrived, not typing, not a dialog open."""

from __future__ import annotations

import pytest

from whiteboard_app.ink.model import Point, Stroke
from whiteboard_app.sessions import FakeClock, Session
from whiteboard_app.sessions.board import FREEZE_MS, READ_MS, Board


def _stroke(clock: FakeClock, s: Session, step: int = 0) -> None:
    t = clock.now_ms()
    clock.advance(300)
    s.add_stroke(Stroke((Point(0, 0, t), Point(10, 5, t + 300))), step)


def _verdict(s: Session, step: int = 0) -> None:
    s.record_verdict(step, {"latex": "x", "verdict": "correct", "reference_step": 1})


def test_reading_a_verdict_is_not_a_freeze():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(600)
    _verdict(s)  # arrives 0.6 s after pen-up
    clock.advance(11_000)  # 11.6 s without ink, 4 of them reading the verdict: 7 s idle
    assert s.current_freeze_ms() is None
    _stroke(clock, s)
    assert s.freezes() == []
    clock.advance(READ_MS + FREEZE_MS + 1_000)  # no verdict this time: 13 s idle
    assert s.current_freeze_ms() == pytest.approx(READ_MS + FREEZE_MS + 1_000)
    _stroke(clock, s)
    assert [round(f.ms) for f in s.freezes()] == [13_000]


def test_idle_after_the_reading_time_is_a_freeze_from_its_end():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    _verdict(s)
    verdict_at = clock.now_ms()
    clock.advance(READ_MS + 9_000)
    assert s.current_freeze_ms() == pytest.approx(9_000)
    _stroke(clock, s)
    (f,) = s.freezes()
    assert (f.start_ms, f.ms) == (verdict_at + READ_MS, pytest.approx(9_000))


def test_typing_is_not_a_freeze_but_stopping_to_think_is():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    for _ in range(20):  # 20 s of typing a correction, a key a second
        clock.advance(1_000)
        s.note_typing()
        assert s.current_freeze_ms() is None
    assert [(p.why, p.end_ms - p.start_ms) for p in s.board().pauses] == [("typing", 19_000)]
    clock.advance(9_000)  # then nothing
    assert s.current_freeze_ms() == pytest.approx(9_000)
    s.note_typing()
    assert [round(f.ms) for f in s.freezes()] == [9_000]
    assert len(s.board().pauses) == 2  # a gap longer than TYPING_GAP_MS starts a new stretch


def test_a_dialog_open_is_not_a_freeze_and_survives_a_save():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(2_000)
    s.begin_pause("dialog")  # e.g. the export dialog
    s.begin_pause("dialog")  # nested: counted once
    clock.advance(40_000)
    assert s.paused and s.current_freeze_ms() is None and s.freezes(include_current=True) == []
    s.end_pause()
    assert s.paused  # the outer dialog is still open
    s.end_pause()
    assert not s.paused
    clock.advance(3_000)
    _stroke(clock, s)
    assert s.freezes() == []
    board = s.board()
    assert [(p.why, p.end_ms - p.start_ms) for p in board.pauses] == [("dialog", 40_000)]
    again = Board.loads(board.dumps())
    assert again.pauses == board.pauses and again.freezes() == []
    with pytest.raises(ValueError):
        s.begin_pause("coffee")


def test_reading_a_hint_is_not_a_freeze():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(5_000)
    s.record_aid(0, "hint", 1)
    clock.advance(7_000)  # 12 s without ink: 5 s, a hint read for 4 s, then 7 s
    _stroke(clock, s)
    assert s.freezes() == []


def test_a_board_saved_before_pauses_existed_loads():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    s.note_typing()
    doc = s.board().to_dict()
    del doc["pauses"]
    assert Board.from_dict(doc).pauses == ()


def test_the_gap_before_done_is_a_freeze_in_the_session_and_the_saved_board():
    """The live clock shows "frozen" while the user sits idle before Done; the session and the saved
    board must count that freeze too (the summary used to say "No freezes")."""
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(FREEZE_MS + 3_000)
    assert s.current_freeze_ms() == pytest.approx(FREEZE_MS + 3_000)
    s.finish()
    (f,) = s.freezes()
    assert f.step is None and f.ms == pytest.approx(FREEZE_MS + 3_000)
    assert s.board().freezes() == [f]
    assert Board.loads(s.board().dumps()).freezes() == [f]


def test_a_short_gap_before_done_is_not_a_freeze():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(FREEZE_MS - 1_000)
    s.finish()
    assert s.freezes() == [] and s.board().freezes() == []


def test_the_gap_before_done_ends_when_the_confirmation_opens():
    """Done asks "End the run?": the time the dialog is open is not at the board, so the freeze before
    Done ends when it opens (it ran to the answer: 0:21 in the summary against the badge's 0:18)."""
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(FREEZE_MS + 3_000)
    pressed = s.elapsed_ms()
    s.begin_pause("dialog")
    clock.advance(4_000)  # reading the question
    s.end_pause()
    s.finish(at_ms=pressed)
    (f,) = s.freezes()
    assert f.step is None and f.ms == pytest.approx(FREEZE_MS + 3_000)
    assert s.elapsed_ms() == pytest.approx(pressed)  # the run's time stops at Done, not at the answer
    assert Board.loads(s.board().dumps()).freezes() == [f]


def test_a_cancelled_confirmation_is_a_pause_not_a_freeze():
    clock = FakeClock()
    s = Session("c", clock)
    _stroke(clock, s)
    clock.advance(5_000)
    s.begin_pause("dialog")
    clock.advance(30_000)  # "End the run?" left open, then Cancel
    s.end_pause()
    _stroke(clock, s)
    assert s.freezes() == []
