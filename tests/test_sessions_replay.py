"""Replay: events in time order with the right timings, under a fake clock; frames; jump to a step."""

from __future__ import annotations

import pytest

from whiteboard_app.ink.model import Stroke
from whiteboard_app.sessions import Board, FakeClock, Session
from whiteboard_app.sessions.replay import Replay, ReplayPlayer

from .test_sessions_board import record_attempt


def tiny_board() -> Board:
    """Step 0: stroke A 1000-1300 ms, reading at 1800, verdict at 1900; step 1 opened at 2000,
    stroke B 2500-2600, erased at 2700, stroke C 12 000-12 400 (a freeze 2600..11 999), finish 13 000."""
    clock = FakeClock()
    s = Session("c", clock)
    a = Stroke.from_xy([(0, 0), (10, 0), (20, 0), (30, 0)], dt=100)  # 300 ms long
    b = Stroke.from_xy([(0, 50), (10, 50)], dt=100)
    c = Stroke.from_xy([(0, 60), (10, 60), (20, 60), (30, 60), (40, 60)], dt=100)
    clock.set(1300)
    s.add_stroke(a)
    clock.set(1800)
    s.record_reading(0, "x=1")
    clock.set(1900)
    s.record_verdict(0, {"latex": "x=1", "verdict": "correct", "reference_step": 0})
    clock.set(2000)
    s.next_step()
    clock.set(2600)
    s.add_stroke(b)
    clock.set(2700)
    s.erase_strokes([b.id])
    clock.set(12_400)
    s.add_stroke(c)
    clock.set(13_000)
    s.finish()
    return s.board()


EXPECTED = [
    (0, "step", 0),
    (1000, "pen_down", 0),
    (1300, "pen_up", 0),
    (1800, "reading", 0),
    (1900, "verdict", 0),
    (2000, "step", 1),
    (2500, "pen_down", 1),
    (2600, "pen_up", 1),
    (2700, "erase", 1),
    (12_000, "pen_down", 1),
    (12_400, "pen_up", 1),
    (13_000, "finish", None),
]


def test_events_in_time_order():
    r = Replay(tiny_board())
    assert [(e.t_ms, e.kind, e.step) for e in r.events] == EXPECTED
    assert r.duration_ms == 13_000


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_player_hands_out_events_at_their_times(speed):
    clock = FakeClock(5_000)
    player = ReplayPlayer(Replay(tiny_board()), clock, speed=speed)
    player.play()
    seen = []
    while not player.done:
        clock.advance(50)  # a 50 ms timer tick
        for e in player.poll():
            # every event is handed out on the first tick at or after its time (scaled by speed)
            board_now = player.position_ms()
            assert e.t_ms <= board_now < e.t_ms + 50 * speed + 1e-6 or e.t_ms == 0
            seen.append((e.t_ms, e.kind, e.step))
    assert seen == EXPECTED
    assert clock.now_ms() - 5_000 == pytest.approx(13_000 / speed, abs=50)


def test_frames_show_partial_strokes_erases_and_readings():
    r = Replay(tiny_board())
    f = r.frame(1150)  # stroke A half written: points at 1000, 1100 (of 1000..1300)
    assert len(f.steps) == 1 and [len(s.points) for s in f.steps[0].ink.strokes] == [2]
    assert f.steps[0].latex is None and f.steps[0].verdict is None
    f = r.frame(1950)
    assert f.steps[0].latex == "x=1" and f.steps[0].verdict == "correct" and len(f.steps) == 1
    assert len(r.frame(2650).steps[1].ink) == 1 and len(r.frame(2700).steps[1].ink) == 0
    f = r.frame(13_000)
    # 9.4 s without ink before the last stroke, but step 0's verdict (1.9 s) is read until 5.9 s: 6.1 s
    # of pen-idle time is no freeze (issue 12)
    assert f.stroke_count() == 2 and f.freezes == ()
    assert r.frame(11_000).freezes == ()


def test_pause_speed_seek_and_jump_to_step():
    clock = FakeClock()
    player = ReplayPlayer(Replay(tiny_board()), clock)
    player.play()
    clock.advance(1000)
    player.pause()
    clock.advance(5000)
    assert player.position_ms() == 1000 and not player.playing
    player.set_speed(2.0)
    player.play()
    clock.advance(500)
    assert player.position_ms() == 2000
    player.jump_to_step(1)
    assert player.position_ms() == 2000
    assert [e.kind for e in player.poll()] == ["step"]
    player.jump_to_step(0)
    assert [(e.t_ms, e.kind) for e in player.poll()] == [(0, "step")]
    player.seek(12_100)
    clock.advance(1000)  # 2000 ms of board time at 2x: to the end (clamped)
    assert [e.kind for e in player.poll()] == ["pen_up", "finish"] and player.done
    with pytest.raises(KeyError):
        player.jump_to_step(5)
    with pytest.raises(ValueError):
        player.set_speed(0)


def test_real_attempt_replays_every_stroke_once():
    board = record_attempt(FakeClock()).board()
    r = Replay(board)
    downs = [e for e in r.events if e.kind == "pen_down"]
    assert len(downs) == board.stroke_count()
    assert [e.t_ms for e in r.events] == sorted(e.t_ms for e in r.events)
    assert r.frame(r.duration_ms).stroke_count() == board.stroke_count()


# ------------------------------------------------------------------ property: any sequence of edits
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

OPS = st.lists(
    st.tuples(
        st.sampled_from(["stroke", "erase", "restore", "read", "correct", "verdict", "next"]),
        st.integers(0, 10_000),
        st.integers(0, 50),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_any_session_round_trips_and_replays_to_its_final_ink(ops):
    clock = FakeClock()
    s = Session("c", clock)
    ids: list[int] = []
    for op, gap, k in ops:
        clock.advance(gap)
        if op == "stroke":
            st_ = Stroke.from_xy([(k, k), (k + 3, k + 1), (k + 5, k + 4)], dt=min(gap, 300) / 2)
            s.add_stroke(st_)
            ids.append(st_.id)
        elif op in ("erase", "restore") and ids:
            (s.erase_strokes if op == "erase" else s.restore_strokes)([ids[k % len(ids)]])
        elif op == "read":
            s.record_reading(s.current_step, f"x={k}")
        elif op == "correct":
            s.record_correction(s.current_step, f"y={k}")
        elif op == "verdict":
            s.record_verdict(
                s.current_step, {"latex": "x", "verdict": ["correct", "wrong", "unparsed"][k % 3]}
            )
        elif op == "next":
            s.next_step()
    s.finish()
    board = s.board()
    back = Board.loads(board.dumps())
    assert back == board
    r = Replay(back)
    end = r.frame(r.duration_ms)
    assert [sf.ink for sf in end.steps] == [st_.ink for st_ in back.steps]
    assert [sf.latex for sf in end.steps] == [st_.latex for st_ in back.steps]
    assert [e.t_ms for e in r.events] == sorted(e.t_ms for e in r.events)
    # splits add up to the time of the last step's end
    splits = back.splits()
    if splits:
        assert sum(sp.ms for sp in splits) == pytest.approx(splits[-1].at_ms)
