"""Keyboard-only practice through the whole window, with keys alone: Ctrl+K, each step typed and Enter,
the run ending complete (a banner and a focused button to the interviewer), the interviewer answered with Ctrl+Enter, the grade with Alt+G."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from whiteboard_app.decks import bundled_deck_dir, deck_errors  # noqa: E402
from whiteboard_app.maths.checker import StepVerdict as Verdict  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.ui.main_window import AppContext, MainWindow  # noqa: E402


def check(card, latex, previous):
    refs = [s.latex for s in card.steps]
    if latex in refs:
        return Verdict(latex, "correct", refs.index(latex) + 1)
    return Verdict(latex, "wrong", diagnosis="sign flip")


def focused():
    w = QApplication.focusWidget()
    assert w is not None
    return w


def test_a_whole_run_with_the_keyboard_alone(qtbot):
    deck, _ = deck_errors([bundled_deck_dir() / "sigmoid-derivative.toml"])
    graded = []
    window = MainWindow(
        AppContext(
            deck=deck,
            clock=FakeClock(),
            check=check,
            on_graded=lambda cid, grade, session: graded.append((cid, grade)),
        )
    )
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    view = window.open_card("sigmoid-derivative")
    card = view.card
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.canvas, timeout=2000)  # ready to write
    qtbot.keyClick(focused(), Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert view.keyboard_mode and window.keyboard_action.isChecked() and view.canvas.isHidden()
    for k, step in enumerate(card.steps):
        assert focused() is view.panels[k].edit  # the next step's field has the focus
        qtbot.keyClicks(focused(), step.latex)
        qtbot.keyClick(focused(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda k=k: view.model.step(k).status == "done", timeout=10_000)
        assert view.panels[k].chip.text() == "\u2713 correct"
    qtbot.waitUntil(lambda: view.session.finished, timeout=10_000)
    assert "Derivation complete in" in view.run_label.text()
    assert focused() is view.run_button  # the end is shown; the focus never jumps into the answer box
    qtbot.keyClick(focused(), Qt.Key.Key_Return)
    panel = view.interviewer
    assert view.side.currentWidget() is panel
    for i in range(len(panel.questions)):
        assert focused() is panel.answer_box
        qtbot.keyClicks(focused(), f"answer {i}")
        qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # the model answer
        assert panel.revealed and not panel.model_answer.isHidden()
        qtbot.keyClick(focused(), Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # the next question
    assert panel.finished and panel.answers == [f"answer {i}" for i in range(len(panel.questions))]
    assert focused() is panel.grade_buttons["again"]
    qtbot.keyClick(focused(), Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)  # the button's mnemonic
    qtbot.waitUntil(lambda: bool(graded), timeout=2000)  # a mnemonic "animates" the click first
    assert graded == [("sigmoid-derivative", "good")]
    assert [f.answer for f in view.session.board().followups] == panel.answers


def test_enter_again_in_a_checked_box_starts_the_next_step(qtbot):
    """With the pen mode on, a step typed in its box and checked with Enter: Enter again (nothing
    changed) starts the next step with the cursor in its box; on an earlier step it adds nothing."""
    deck, _ = deck_errors([bundled_deck_dir() / "sigmoid-derivative.toml"])
    window = MainWindow(AppContext(deck=deck, clock=FakeClock(), check=check))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    view = window.open_card("sigmoid-derivative")
    assert not view.keyboard_mode
    first = view.card.steps[0].latex
    view.panels[0].edit.setFocus()
    qtbot.keyClicks(view.panels[0].edit, first)
    qtbot.keyClick(view.panels[0].edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=10_000)
    assert len(view.model) == 1  # the first Enter checks; it does not move on
    qtbot.keyClick(view.panels[0].edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(view.panels) == 2, timeout=2000)
    assert len(view.model) == 2
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.panels[1].edit, timeout=2000)
    qtbot.keyClick(view.panels[0].edit, Qt.Key.Key_Return)  # an earlier step: no third step
    assert len(view.model) == 2 and view.model.step(0).latex == first
