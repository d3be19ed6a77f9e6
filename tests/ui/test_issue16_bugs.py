"""Issue 16, the bugs left: undo history after Resume, a fragment written as a step ("n - 1"), and the
summary of an abandoned run (no "under" the target for a derivation that was not complete)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtWidgets import QMessageBox  # noqa: E402

from tests.ui._support import show_practice_view  # noqa: E402
from tests.ui.fakes import fake_check  # noqa: E402
from tests.ui.tablet import tablet_stroke  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.sessions import FakeClock  # noqa: E402
from whiteboard_app.ui.undo import EraseCommand, board_history  # noqa: E402


def _view(qtbot, card, clock, check=None, resume=None):
    return show_practice_view(
        qtbot, card, resume=resume, clock=clock, check=check or fake_check(card), pause_ms=60_000
    )


def _ids(view):
    return [[s.id for s in ink.strokes] for ink in view.page_model.page.steps]


# ------------------------------------------------------------------------------- undo after Resume
def test_undo_after_resume_takes_back_what_was_written_before(qtbot):
    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    clock = FakeClock(1_000.0)
    view = _view(qtbot, card, clock)
    for k in range(4):  # four strokes on step 1, a second apart
        clock.advance(1_000.0)
        x = 60 + 40 * k
        tablet_stroke(view.canvas, [(x, 60), (x + 15, 75), (x + 30, 60)], [0.4, 0.8, 0.5])
    first = _ids(view)[0]
    assert len(first) == 4
    clock.advance(1_000.0)
    view.undo_stack.push(EraseCommand(view.page_model, [first[1]]))  # the eraser takes the second
    clock.advance(1_000.0)
    board = view.session.board()
    assert [kind for kind, *_ in board_history(board)] == ["add"] * 4 + ["erase"]
    view.close()

    resumed = _view(qtbot, card, FakeClock(50_000.0), resume=board)  # the program was restarted
    assert _ids(resumed)[0] == [first[0], first[2], first[3]]
    assert resumed.undo_button.isEnabled()
    resumed.undo()  # the erasure comes back first, in its old place
    assert _ids(resumed)[0] == first
    resumed.undo()  # then the strokes, last written first
    assert _ids(resumed)[0] == first[:3]
    assert [e.stroke.id for e in resumed.session.step(0).strokes if e.erased_ms is None] == first[:3]
    resumed.redo()
    assert _ids(resumed)[0] == first
    for _ in range(4):
        resumed.undo()
    assert _ids(resumed)[0] == [] and not resumed.undo_stack.canUndo()
    assert not resumed.undo_button.isEnabled()
    saved = resumed.session.board()  # what Undo did is recorded on the board as erasures
    assert all(e.erased_ms is not None for e in saved.steps[0].strokes)


def test_a_board_moved_stroke_is_erased_before_it_is_added_again():
    from datetime import UTC, datetime

    from whiteboard_app.ink.model import Stroke
    from whiteboard_app.sessions.board import Board, StepRecord, StrokeEntry

    a = Stroke.from_xy([(0, 10), (20, 20)], t0=0)
    b = Stroke.from_xy([(0, 200), (20, 210)], t0=0)
    moved = a.translated(0, 200)
    board = Board(
        "c",
        datetime(2026, 12, 7, tzinfo=UTC),
        steps=(
            StepRecord(0, 0.0, 5000.0, (StrokeEntry(a, 0.0, 100.0, erased_ms=3000.4),)),
            # the moved stroke's new entry was made a moment before the old one's erasure
            StepRecord(1, 1000.0, None, (StrokeEntry(b, 1000.0, 1200.0), StrokeEntry(moved, 3000.0, 3000.0))),
        ),
    )
    assert [(k, s, st.id) for k, s, st, _t in board_history(board)] == [
        ("add", 0, a.id),
        ("add", 1, b.id),
        ("erase", 0, a.id),
        ("add", 1, a.id),
    ]


# ---------------------------------------------------------------------- a fragment is not a step
def test_a_factor_written_as_a_step_is_not_called_a_missing_factor(qtbot):
    from whiteboard_app.maths import check_step

    card = load_card(bundled_deck_dir() / "sample-variance-n-minus-1.toml")
    view = _view(qtbot, card, FakeClock(), check=check_step)
    view.set_keyboard_mode(True)
    view.panels[0].edit.setText("n - 1")
    view.panels[0].edit.returnPressed.emit()
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=60_000)
    verdict = view.model.step(0).verdict
    assert verdict.verdict == "cannot_check" and verdict.diagnosis is None
    panel = view.panels[0]
    assert "not a whole step" in panel.chip.text()
    assert "missing factor" not in panel.chip.text() + panel.detail.text()
    assert "reference step 5" in panel.detail.text()  # where it belongs: (n-1)\sigma^2


@pytest.mark.parametrize(
    ("card_id", "latex", "verdict"),
    [
        ("sample-variance-n-minus-1", r"\frac{\sigma^2}{n}", "correct"),  # a whole expression of a step
        ("sample-variance-n-minus-1", r"2(n-1)\sigma^2", "wrong"),  # a wrong whole: still diagnosed
        ("sigmoid-derivative", r"1+e^{-z}", "cannot_check"),  # a part of step 1 on another card
        ("sigmoid-derivative", r"\sigma(z)(1+\sigma(z))", "wrong"),
    ],
)
def test_fragments_and_whole_expressions(card_id, latex, verdict):
    from whiteboard_app.maths import check_step
    from whiteboard_app.sessions.wording import describe_verdict

    card = load_card(bundled_deck_dir() / f"{card_id}.toml")
    v = check_step(card, latex, [])
    assert v.verdict == verdict
    words = describe_verdict(v)
    if verdict == "cannot_check":
        assert words.headline == "not a whole step" and "part of reference step" in words.detail
    if verdict == "wrong":
        assert v.diagnosis  # a diagnosis is still given to a wrong whole expression


# ------------------------------------------------------------------- an abandoned run is not praised
def test_done_on_an_abandoned_one_step_run_is_not_under_the_target(qtbot, monkeypatch):
    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    clock = FakeClock()
    view = _view(qtbot, card, clock)
    view.set_keyboard_mode(True)
    view.panels[0].edit.setText(card.steps[0].latex)
    view.panels[0].edit.returnPressed.emit()
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=15_000)
    clock.advance(47_000.0)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    view.finish_button.click()
    assert view.session.finished
    text = view.summary()
    head = text.splitlines()[0]
    assert "under" not in head and "not complete" in head
    assert "Not complete yet" in text


def test_a_complete_run_and_an_abandoned_run_over_time_keep_their_words():
    from whiteboard_app.sessions.board import Split
    from whiteboard_app.ui.timer_widget import summary_text

    split = [Split(0, 60_000, 60_000)]
    assert "(2:00 under)" in summary_text(60_000, 180, split, [], ["correct"], complete=True)
    assert "(1:00 over)" in summary_text(240_000, 180, split, [], ["correct"], complete=False)
    assert "not compared" in summary_text(60_000, 180, split, [], ["correct"], complete=False)


# ------------------------------------------------- the confirmation before Done is not at the board
def test_done_stops_the_clock_and_the_freeze_when_pressed_not_when_confirmed(qtbot, monkeypatch):
    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    clock = FakeClock(1_000.0)
    view = _view(qtbot, card, clock)
    tablet_stroke(view.canvas, [(60, 60), (75, 75), (90, 60)], [0.4, 0.8, 0.5])
    clock.advance(18_000.0)  # idle at the board: the badge says "frozen 0:18"
    pressed = view.session.elapsed_ms()

    def answer_after_reading(*_a, **_k):
        clock.advance(3_000.0)  # reading "End the run?"
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer_after_reading)
    view.finish_button.click()
    assert view.session.finished and view.session.elapsed_ms() == pytest.approx(pressed)
    (freeze,) = view.session.freezes()
    assert freeze.step is None and freeze.end_ms == pytest.approx(pressed)
    assert "Before Done: froze 0:18" in view.summary()
