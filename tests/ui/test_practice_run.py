"""The window's run as a derivation (issue 12): a final answer alone is "correct, but unsupported" and
the run goes on, the step panel names what is missing, the end of a complete run is visible with the
time and a button to the interviewer, the focus never jumps into the interviewer's answer box, and the
interviewer starts with "walk me through how you got there" after an unsupported jump. The window's
judgement is the one ``check --summary`` prints for the same steps."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.ui._support import open_window, show_practice_view, window_args  # noqa: E402
from tests.ui.fakes import fake_check  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.sessions.run import judge_run  # noqa: E402
from whiteboard_app.ui.practice_view import WALK_THROUGH_QUESTION, PracticeServices, PracticeView  # noqa: E402


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "softmax-cross-entropy-gradient.toml")


def make_view(qtbot, card, check=None):
    clock = FakeClock()
    view = show_practice_view(
        qtbot,
        card,
        size=(1280, 800),
        activate=True,
        recognizer=lambda: None,
        pause_ms=40,
        clock=clock,
        check=check or fake_check(card),
    )
    view.set_keyboard_mode(True)
    return view, clock


def type_step(qtbot, view, latex):
    """Type a step into the last panel as a keyboard user does (keys, then Enter)."""
    k = len(view.panels) - 1
    edit = view.panels[k].edit
    edit.setFocus()
    qtbot.keyClicks(edit, latex)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.model.step(k).status == "done", timeout=10_000)
    return k


def test_a_final_answer_alone_is_unsupported_and_the_run_goes_on(qtbot, card):
    view, clock = make_view(qtbot, card)
    clock.advance(22_000)
    k = type_step(qtbot, view, card.steps[4].latex)  # "= p_i - y_i", the result and nothing else
    assert view.model.step(k).verdict.verdict == "correct"
    assert not view.session.finished  # the run goes on
    note = view.panels[k].run_note
    assert not note.isHidden() and note.text().startswith("correct, but unsupported: ")
    assert "show the chain rule step (reference step 4)" in note.text()
    assert "Correct, but unsupported" in view.run_label.text() and not view.run_banner.isHidden()
    assert view.run_button.isHidden()  # no way out but Done: the derivation is not complete
    assert len(view.panels) == k + 2 and QApplication.focusWidget() is view.panels[k + 1].edit  # next step
    assert view.new_step_button.isEnabled()


def test_walking_back_completes_the_run_and_the_end_is_visible(qtbot, card):
    view, clock = make_view(qtbot, card)
    finished = []
    view.run_finished.connect(finished.append)
    type_step(qtbot, view, card.steps[4].latex)
    for step in card.steps[:4]:  # the milestones, written after the answer
        clock.advance(48_000)
        type_step(qtbot, view, step.latex)
    qtbot.waitUntil(lambda: view.session.finished, timeout=10_000)
    assert view.run.complete and not view.run.jumps
    assert all(p.run_note.isHidden() for p in view.panels)  # the jump was mended
    assert "Derivation complete in 3:12" in view.run_label.text() and not view.run_banner.isHidden()
    assert view.side.currentWidget() is view.steps_scroll  # the interviewer is offered, not forced
    assert QApplication.focusWidget() is view.run_button
    qtbot.keyClicks(QApplication.focusWidget(), "more")  # typing on: nothing lands in the answer box
    assert view.interviewer.answer_box.toPlainText() == ""
    qtbot.keyClick(view.run_button, Qt.Key.Key_Space)  # the button takes the user there
    assert view.side.currentWidget() is view.interviewer
    assert view.interviewer.questions[0].question != WALK_THROUGH_QUESTION
    assert finished and "Derivation complete" in finished[0]


def test_done_after_a_jump_starts_the_interview_with_walk_me_through(qtbot, card):
    view, clock = make_view(qtbot, card)
    type_step(qtbot, view, card.steps[0].latex)
    type_step(qtbot, view, card.steps[4].latex)
    clock.advance(61_000)
    view.finish_button.click()
    assert view.session.finished and view.side.currentWidget() is view.interviewer
    q = view.interviewer.questions[0]
    assert q.question == WALK_THROUGH_QUESTION
    assert "show the chain rule step (reference step 4)" in q.key_points
    assert view.interviewer.question.text() == WALK_THROUGH_QUESTION
    summary = view.interviewer.summary.text()
    assert "Step 2: " in summary and "correct, but unsupported" in summary
    assert "Correct, but unsupported: " in summary and "No hints" in summary
    assert "Suggested grade: Hard" in summary  # an unsupported result allows no better
    assert "Run over in 1:01" in view.run_label.text()


def test_hints_and_reveals_are_counted_in_the_run(qtbot, card):
    view, clock = make_view(qtbot, card)
    type_step(qtbot, view, card.steps[0].latex)
    view.panels[0].hint_button.click()
    view.panels[0].reveal_button.click()
    run = view.judge()
    assert (run.hints, run.reveals) == (1, 1)
    view.finish_button.click()
    assert "Hints used: 1" in view.interviewer.summary.text()
    assert "References revealed: 1 (step 1)" in view.interviewer.summary.text()


def test_the_window_judges_as_check_summary_does(qtbot, card):
    """The same steps through the window (a real-shaped checker: the fake's verdicts) and through
    judge_run directly (what check --summary prints) give the same run."""
    steps = [card.steps[0].latex, card.steps[3].latex, card.steps[4].latex]
    check = fake_check(card)
    view, _ = make_view(qtbot, card, check)
    for latex in steps:
        type_step(qtbot, view, latex)
    direct = judge_run(card, [check(card, latex, []) for latex in steps])
    assert view.run.to_json() == direct.to_json()
    assert [m.steps for m in view.run.missing_milestones] == [(2,), (3,)]


def test_the_window_with_the_real_checker_agrees_with_check_summary(qtbot, card, capsys, monkeypatch):
    from whiteboard_app.maths import worker

    monkeypatch.setattr(worker, "PARSE_TIMEOUT_S", 30.0)
    monkeypatch.setattr(worker, "CHECK_TIMEOUT_S", 30.0)
    steps = [r"L = -\sum_{k=1}^{K} y_k \log p_k", r"\frac{\partial L}{\partial z_i} = p_i - y_i"]
    chain = [
        r"L = -\sum_{k=1}^{K} y_k \log p_k",
        r"\log p_k = z_k - \log\sum_{j=1}^{K} e^{z_j}",
        r"L = -\sum_{k=1}^{K} y_k z_k + \log\sum_{j=1}^{K} e^{z_j}",
        r"\frac{\partial L}{\partial z_i} = -y_i + \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}} = p_i - y_i",
    ]
    for run_steps, complete in ((steps, False), (chain, True)):
        _window_and_headless_agree(qtbot, card, capsys, run_steps, complete)


def _window_and_headless_agree(qtbot, card, capsys, steps, complete):
    import json

    from whiteboard_app.cli import main

    clock = FakeClock()
    view = PracticeView(card, PracticeServices(recognizer=lambda: None, clock=clock, near_misses=False))
    qtbot.addWidget(view)
    view.show()
    view.set_keyboard_mode(True)
    for k, latex in enumerate(steps):
        view.panels[k].edit.setText(latex)
        view.panels[k].edit.returnPressed.emit()
        qtbot.waitUntil(lambda k=k: view.model.step(k).status == "done", timeout=60_000)
    if complete:  # the chain's inner steps are checked in a worker; the run then completes
        qtbot.waitUntil(lambda: view.session.finished, timeout=60_000)
    assert main(["check", card.id, *steps, "--json", "--summary"]) == 0
    headless = json.loads(capsys.readouterr().out)
    assert view.run.to_json() == headless["run"]
    assert headless["run"]["reached_goal"] and headless["run"]["complete"] is complete
    view.shutdown()


def test_hints_follow_the_user_to_the_next_reference_step(qtbot, card):
    view, clock = make_view(qtbot, card)
    for step in card.steps[:3]:
        type_step(qtbot, view, step.latex)
    k = len(view.panels) - 1  # the step being written: after reference step 3
    assert view.show_hint(k) == f"Next, reference step 4: {card.steps[3].rule}."
    assert view.show_hint(k) == card.steps[3].say
    assert [(a.step, a.kind, a.index) for a in view.session.board().aids] == [(k, "hint", 1), (k, "hint", 2)]
    # a step judged wrong against a reference step gets the hints of that step
    type_step(qtbot, view, r"\frac{\partial L}{\partial z_i} = y_i - p_i")  # the card's sign flip
    view.model.apply_verdict(
        k,
        view.model.step(k).latex,
        type(view.model.step(k).verdict)(view.model.step(k).latex, "wrong", 5, "sign flip"),
    )
    assert view.model.hints_for(k)[0] == f"Next, reference step 5: {card.steps[4].rule}."


def test_a_typed_change_of_a_wrong_step_is_an_answer_change(qtbot, card):
    """Keyboard only: the step was typed wrong, then typed right: the maths changed (no ink supports it).
    The record keeps the first verdict, the panel and the summary say so, the run counts it."""
    view, clock = make_view(qtbot, card)
    k = type_step(qtbot, view, card.steps[0].latex)
    mistake = card.mistakes[0].latex
    k = type_step(qtbot, view, mistake)
    assert view.model.step(k).verdict.verdict == "wrong"
    edit = view.panels[k].edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, card.steps[4].latex)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: view.model.step(k).verdict is not None and view.model.step(k).verdict.verdict == "correct",
        timeout=10_000,
    )
    rec = next(r for r in view.session.board().steps if r.index == k)
    assert rec.answer_changed and not rec.misread and rec.scored_verdict.verdict == "wrong"
    assert view.panels[k].source.text() == "\u00b7 wrong \u2192 changed by typing"
    assert view.judge().answer_changes == 1
    view.finish_button.click()
    assert "wrong \u2192 changed by typing, now correct" in view.interviewer.summary.text()


def test_typing_in_a_step_panel_and_a_dialog_are_no_freeze(qtbot, card):
    view, clock = make_view(qtbot, card)
    view.set_keyboard_mode(False)  # freezes are shown when writing
    from tests.ui.tablet import tablet_stroke

    tablet_stroke(view.canvas, [(60, 60), (90, 70)], 0.5)
    edit = view.panels[0].edit
    edit.setFocus()
    for ch in r"\alpha + \beta":  # a correction typed slowly: 14 s
        clock.advance(1_000)
        qtbot.keyClicks(edit, ch)
    view.timer.refresh()
    assert not view.timer.frozen_shown
    assert [p.why for p in view.session.board().pauses] == ["typing"]
    with view.dialog_open():  # e.g. the export dialog, 30 s
        clock.advance(30_000)
        view.timer.refresh()
        assert not view.timer.frozen_shown
    clock.advance(9_000)  # then 9 s of nothing at the board: a freeze
    view.timer.refresh()
    assert view.timer.frozen_shown and view.timer.freeze_label.text() == "frozen 0:09"
    assert "typing and dialogs do not count" in view.timer.freeze_label.toolTip()


def test_grade_buttons_suggest_and_preview(qtbot, card):
    view, clock = make_view(qtbot, card)
    view.services.grade_preview = lambda card_id: {
        "again": "10 min",
        "hard": "1 d",
        "good": "3 d",
        "easy": "8 d",
    }
    for step in card.steps:
        type_step(qtbot, view, step.latex)
    qtbot.waitUntil(lambda: view.session.finished, timeout=10_000)
    panel = view.interviewer
    assert panel.grade_buttons["good"].text() == "&Good \u00b7 3 d"
    assert panel.suggested == "easy" and panel.grade_buttons["easy"].font().bold()  # clean, fast, no help
    assert view.session.board().run["complete"] is True


def test_a_finished_run_left_ungraded_is_recorded(qtbot, tmp_path):
    window, services, _settings = open_window(qtbot, window_args(tmp_path))
    try:
        view = window.open_card("sigmoid-derivative")
        view.set_keyboard_mode(True)
        view.panels[0].edit.setText(view.card.steps[4].latex)  # the answer alone: unsupported
        view.panels[0].edit.returnPressed.emit()
        qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=30_000)
        view.show_hint(1)
        view.finish_button.click()
        assert view.interviewer.suggested == "hard"  # a hint and an unsupported result
        window.show_deck()  # <- Deck without grading
        attempts = services.history.attempts("sigmoid-derivative")
        assert len(attempts) == 1 and attempts[0].self_grade is None and attempts[0].rating == 2  # Hard
        assert services.scheduler.due_date("sigmoid-derivative") is not None  # no longer "new"
        board = services.store.load(next(services.store.files()))
        assert board.run["reached_goal"] is True and board.run["complete"] is False
    finally:
        window.close()
        services.close()
