"""Statistics view: the card table, the plots' data, opening an attempt's board for review."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.test_sessions_history import make_board  # noqa: E402
from whiteboard_app.sessions.history import History  # noqa: E402
from whiteboard_app.sessions.store import BoardStore  # noqa: E402
from whiteboard_app.ui.stats import StatsWindow  # noqa: E402


@pytest.fixture
def stats(qtbot, tmp_path):
    store = BoardStore(tmp_path / "boards")
    history = History(tmp_path / "h.sqlite3")
    boards = [
        make_board(think_ms=14_000, day=0),
        make_board(think_ms=3_000, verdicts={2: "wrong"}, day=1, seed=3),
        make_board(think_ms=1_000, misread_step=1, day=2, seed=5),
    ]
    for b in boards:
        history.record_attempt(b, store.save(b))
    w = StatsWindow(history, {"sigmoid-derivative": "Derivative of the sigmoid"}, open_reviews=False)
    qtbot.addWidget(w)
    yield w, boards, store
    history.close()


def test_card_table_and_plots(stats):
    w, boards, _ = stats
    times = sorted(b.duration_ms for b in boards)
    row = w.card_row("sigmoid-derivative")
    fmt = lambda ms: f"{int(round(ms / 1000)) // 60}:{int(round(ms / 1000)) % 60:02d}"  # noqa: E731
    assert row[:6] == [
        "Derivative of the sigmoid",
        "3",
        fmt(times[0]),
        fmt(times[1]),
        fmt(boards[-1].duration_ms),
        "5:00",
    ]
    assert w.attempts.rowCount() == 3
    # trend: one point per attempt, in minutes, and the target line at 5 min
    ax = w.trend_fig.axes[0]
    line = ax.lines[0]
    assert list(line.get_xdata()) == [1, 2, 3]
    assert list(line.get_ydata()) == pytest.approx([b.duration_ms / 60_000 for b in boards])
    assert any(list(ln.get_ydata()) == [5.0, 5.0] for ln in ax.lines[1:])
    # troublesome steps: step 2 misread once, step 3 wrong once
    sax = w.steps_fig.axes[0]
    assert [t.get_text() for t in sax.get_yticklabels()] == ["step 2", "step 3"]
    # freezes: the first attempt thought 14 s before each of its 3 steps (after the first, the 4 s
    # reading the previous step's verdict do not count); the other attempts never paused 8 s
    fax = w.freeze_fig.axes[0]
    assert [p.get_height() for p in fax.patches] == pytest.approx([14, 10, 10], abs=0.01)


def test_attempt_opens_in_review(stats, qtbot, tmp_path):
    w, boards, store = stats
    with qtbot.waitSignal(w.reviewRequested) as sig:
        w.attempts.cellDoubleClicked.emit(0, 0)  # newest first
    assert sig.args[0] == str(store.path_for(boards[-1]))
    review = w.open_review(sig.args[0])
    qtbot.addWidget(review)
    assert review.board == boards[-1]
    bad = tmp_path / "bad.board.json"
    bad.write_text('{"format": "whiteboard-board", "version": 9}')
    assert w.open_review(str(bad)) is None and "newer program" in w.status.text()


def test_empty_history(qtbot, tmp_path):
    with History(tmp_path / "h.sqlite3") as h:
        w = StatsWindow(h, open_reviews=False)
        qtbot.addWidget(w)
        assert w.cards.rowCount() == 0 and "No attempts yet" in w.status.text()
