"""Review window: replays a saved board stroke by stroke under a fake clock; timeline; jump to a step."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from tests.test_sessions_board import record_attempt  # noqa: E402
from tests.test_sessions_replay import tiny_board  # noqa: E402
from whiteboard_app.sessions import FakeClock  # noqa: E402
from whiteboard_app.sessions.replay import Replay  # noqa: E402
from whiteboard_app.ui.review import ReviewWindow  # noqa: E402


@pytest.fixture
def review(qtbot):
    clock = FakeClock()
    s = record_attempt(FakeClock(), verdicts={1: "wrong"}, think_ms=14_000, finish=False)
    s.record_correction(2, r"\sigma'(x)=\sigma(x)\left(1-\sigma(x)\right)")
    s.finish()
    board = s.board()
    w = ReviewWindow(board, clock)
    qtbot.addWidget(w)
    w.resize(900, 600)
    w.show()
    return clock, board, w


def test_replays_stroke_by_stroke_in_real_time(review):
    clock, board, w = review
    replay = Replay(board)
    assert w.shown_stroke_count() == 0 and not w.playing
    w.play()
    counts = []
    while w.playing:
        clock.advance(250)
        w.tick()
        t = w.player.position_ms()
        # the window shows exactly the strokes begun by now and not erased
        expected = replay.frame(t).stroke_count()
        assert w.shown_stroke_count() == expected
        counts.append(expected)
    assert counts == sorted(counts) and counts[-1] == board.stroke_count()
    assert clock.now_ms() == pytest.approx(board.duration_ms, abs=250)  # real time: 1 ms a ms
    assert w.step_row(1)[2] == "wrong" and w.step_row(0)[2] == "correct"
    assert w.step_row(2)[1].endswith("(reading corrected)")


def test_faster_and_jump_to_step(review):
    clock, board, w = review
    w.speed_box.setCurrentIndex(2)  # 4x
    w.play()
    clock.advance(1000)
    w.tick()
    assert w.player.position_ms() == pytest.approx(4000)
    w.jump_to_step(2)
    start2 = Replay(board).step_start_ms(2)
    assert w.player.position_ms() == pytest.approx(start2)
    # before step 2 began, the rows of steps 0 and 1 have their readings and verdicts; step 2 nothing yet
    assert w.step_row(0)[1] and w.step_row(1)[2] == "wrong" and w.step_row(2)[1:3] == ("", "")
    assert w.shown_stroke_count() == len(board.step(0).ink) + len(board.step(1).ink)
    # choosing a step in the list jumps too
    w.steps_view.itemClicked.emit(w.steps_view.topLevelItem(1), 0)
    assert w.player.position_ms() == pytest.approx(Replay(board).step_start_ms(1))


def test_timeline_marks_and_seek(review, qtbot):
    clock, board, w = review
    tl = w.timeline
    assert [i for i, _, _ in tl.segments] == [0, 1, 2]
    assert [v for _, v, _ in tl.verdicts] == ["correct", "wrong", "correct"]
    assert (
        len(tl.corrections) == 1 and len(tl.freezes) == 3
    )  # 14 s of thinking before each step (4 s reading the verdict)
    x = int(tl.x_for(board.duration_ms / 2))
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(x, 20))
    assert w.player.position_ms() == pytest.approx(board.duration_ms / 2, rel=0.02)
    img = QImage(tl.size(), QImage.Format.Format_ARGB32)
    tl.render(img)
    # a freeze span is painted reddish
    f = tl.freezes[0]
    px = img.pixelColor(int((tl.x_for(f.start_ms) + tl.x_for(f.end_ms)) / 2), tl.height() // 2)
    assert px.red() > px.blue()


def test_erased_stroke_disappears_in_replay(qtbot):
    clock = FakeClock()
    w = ReviewWindow(tiny_board(), clock)
    qtbot.addWidget(w)
    w.seek(2650)
    assert w.shown_stroke_count() == 2
    w.seek(2700)
    assert w.shown_stroke_count() == 1
    w.seek(1150)  # half of the first stroke
    assert [len(s.points) for _, s in w.model.page.strokes()] == [2]


def test_export_from_the_review_window(review, tmp_path):
    _, board, w = review
    assert w.export_to(str(tmp_path / "b.inkml")).startswith("Exported to")
    from whiteboard_app.ink.io import read_inkml

    assert [r.latex for r in read_inkml(tmp_path / "b.inkml")] == [s.latex for s in board.steps]
    assert w.export_to(str(tmp_path / "b.svg")).startswith("Export failed: unknown export format")


def test_empty_boards_open(qtbot):
    from datetime import UTC, datetime

    from whiteboard_app.sessions import Board, Session

    clock = FakeClock()
    for board in (
        Session("c", clock).board(),
        Board(card_id="c", started_at=datetime(2026, 1, 1, tzinfo=UTC)),
    ):
        w = ReviewWindow(board, clock)
        qtbot.addWidget(w)
        w.play()
        clock.advance(100)
        w.tick()
        assert w.player.done and w.shown_stroke_count() == 0
