"""The practice view: strokes on the canvas are read after a pause in a worker and the step panel shows
the reading and verdict; stale results are dropped; corrections re-run only the check and are undoable;
steps, hints, the reference, keyboard-only practice and the end of the run.

The recogniser and the checker are fakes here (their own tests cover them); test_e2e.py runs the real
ones.
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.ui._support import show_practice_view  # noqa: E402
from tests.ui.fakes import fake_check  # noqa: E402
from tests.ui.tablet import tablet_stroke  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.maths.checker import StepVerdict as Verdict  # noqa: E402
from whiteboard_app.recognition.base import Candidate, RecognitionResult  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.ui.practice_view import PracticeServices, PracticeView  # noqa: E402
from whiteboard_app.ui.step_panel import verdict_words  # noqa: E402


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "sigmoid-derivative.toml")


class ScriptedRecognizer:
    """Reads a step as ``readings[number of strokes]`` (n-best: that and a variant); may block on a gate."""

    name = "scripted"

    def __init__(self, readings, gate: threading.Event | None = None):
        self.readings, self.gate, self.calls = readings, gate, []

    def recognize(self, ink, context=None):
        self.calls.append(len(ink))
        if self.gate is not None:
            self.gate.wait(5)
        latex = self.readings.get(len(ink))
        if latex is None:
            return RecognitionResult(message="nothing matched")
        return RecognitionResult(
            (Candidate(latex, -0.1), Candidate(latex + "+1", -2.0)), ms=3.0, engine=self.name
        )


def make_view(qtbot, card, recognizer, **kw):
    return show_practice_view(qtbot, card, recognizer=lambda: recognizer, pause_ms=40, **kw)


def stroke(view, y=60, x0=60):
    tablet_stroke(view.canvas, [(x0, y), (x0 + 20, y + 10), (x0 + 40, y)], [0.3, 0.8, 0.5])


def done(view, k=0):
    return lambda: len(view.model) > k and view.model.step(k).status == "done"


def test_a_worker_result_updates_the_step_panel(qtbot, card):
    rec = ScriptedRecognizer({1: card.steps[0].latex})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    panel = view.panels[0]
    assert view.model.step(0).latex == card.steps[0].latex
    assert panel.chip.text() == "\u2713 correct"
    assert panel.detail.text() == "matches reference step 1"
    assert panel.rendered.pixmap() is not None and not panel.rendered.pixmap().isNull()  # maths, not text
    assert panel.edit.text() == card.steps[0].latex
    assert panel.candidates.count() == 2  # the n-best list
    # the session recorded the stroke, the reading and the verdict
    rec0 = view.session.step(0)
    assert len(rec0.strokes) == 1 and rec0.readings[-1].latex == card.steps[0].latex
    assert rec0.verdicts[-1].verdict == "correct"


def test_a_stale_result_is_dropped(qtbot, card):
    gate = threading.Event()
    rec = ScriptedRecognizer({1: "one stroke", 2: card.steps[0].latex}, gate)
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(lambda: rec.calls == [1], timeout=15_000)  # the first read is running
    view.reader.pause_ms = 1000  # the next read waits until the first one has come back
    stale = []
    view.reader.stale_dropped.connect(stale.append)
    stroke(view, x0=120)  # the ink changes under it
    gate.set()
    qtbot.waitUntil(lambda: bool(stale), timeout=15_000)
    qtbot.waitUntil(done(view), timeout=15_000)
    assert stale == [0]
    assert view.model.step(0).latex == card.steps[0].latex  # never "one stroke"
    assert [r.latex for r in view.session.step(0).readings] == [card.steps[0].latex]


def test_correction_rechecks_only_and_is_undoable(qtbot, card):
    rec = ScriptedRecognizer({1: "\\sigma(z) = (1-e^{-z})^{-1}"})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    panel = view.panels[0]
    assert panel.chip.text() == "\u2717 wrong" and "sign flip" in panel.detail.text()
    calls = list(rec.calls)

    panel.edit.setText(card.steps[0].latex)
    panel.edit.returnPressed.emit()
    qtbot.waitUntil(
        lambda: view.model.step(0).verdict is not None and view.model.step(0).verdict.verdict == "correct",
        timeout=15_000,
    )
    assert rec.calls == calls  # no new recognition: only parse + check
    assert view.model.step(0).source == "typed"
    assert view.session.step(0).corrections[-1].after == card.steps[0].latex

    view.undo_stack.undo()  # back to what the recogniser read
    qtbot.waitUntil(
        lambda: view.model.step(0).verdict is not None and view.model.step(0).verdict.verdict == "wrong",
        timeout=15_000,
    )
    assert view.model.step(0).latex == "\\sigma(z) = (1-e^{-z})^{-1}"
    view.undo_stack.redo()
    qtbot.waitUntil(
        lambda: view.model.step(0).latex == card.steps[0].latex and view.model.step(0).status == "done",
        timeout=15_000,
    )


def test_picking_from_the_n_best_list(qtbot, card):
    rec = ScriptedRecognizer({1: card.steps[0].latex})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    panel = view.panels[0]
    panel.candidates.activated.emit(1)
    qtbot.waitUntil(
        lambda: view.model.step(0).source == "pick" and view.model.step(0).status == "done", timeout=15_000
    )
    assert view.model.step(0).latex == card.steps[0].latex + "+1"
    assert view.model.step(0).verdict.verdict == "wrong"


def test_enter_starts_a_new_step_and_closes_the_split(qtbot, card):
    rec = ScriptedRecognizer({1: card.steps[0].latex})
    view = make_view(qtbot, card, rec)
    stroke(view)
    view.canvas.setFocus()
    from PySide6.QtCore import Qt

    qtbot.keyClick(view.canvas, Qt.Key.Key_Return)
    assert len(view.model) == 2 and len(view.panels) == 2
    assert view.session.current_step == 1
    assert [s.step for s in view.session.splits()][:1] == [0]
    qtbot.waitUntil(done(view), timeout=15_000)  # the ended step was read at once


def test_cannot_check_shows_the_reference_step(qtbot, card):
    rec = ScriptedRecognizer({1: "\\frac{d}{dz}\\lim"})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    panel = view.panels[0]
    assert panel.chip.text().endswith("cannot check")
    assert not panel.reference.isHidden()
    assert panel.reference.toolTip().startswith("reference: " + card.steps[0].latex)


@pytest.mark.skipif(
    not hasattr(__import__("whiteboard_app.maths").maths, "StepVerdict"),
    reason="whiteboard_app.maths (StepVerdict) has not landed yet",
)
def test_unreadable_ink_says_could_not_read(qtbot, card):
    view = make_view(qtbot, card, ScriptedRecognizer({}))
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    panel = view.panels[0]
    assert panel.chip.text() == "? could not read"
    assert "nothing matched" in panel.detail.text()


def test_hints_one_at_a_time_and_reveal_reference(qtbot, card):
    view = make_view(qtbot, card, ScriptedRecognizer({}))
    panel = view.panels[0]
    assert panel.hint.isHidden()
    panel.hint_button.click()  # hints follow the user: nothing matched yet, so reference step 1 first
    from whiteboard_app.ui.prose import prose_html

    assert (
        panel.hint.text() == f"<b>Hint 1:</b> {prose_html(f'Next, reference step 1: {card.steps[0].rule}.')}"
    )
    panel.hint_button.click()

    def lines():
        return panel.hint.text().split("<br>")

    assert lines()[1] == f"<b>Hint 2:</b> {prose_html(card.steps[0].say)}"
    for _ in card.hints:  # then the card's own hints, their maths rendered
        panel.hint_button.click()
    assert lines()[-1] == f"<b>Hint {len(card.hints) + 2}:</b> {prose_html(card.hints[-1])}"
    assert not panel.hint_button.isEnabled()
    assert panel.reference.isHidden()
    panel.reveal_button.click()
    assert not panel.reference.isHidden() and not panel.reveal_button.isEnabled()


def test_keyboard_only_derivation_to_the_interviewer(qtbot, card):
    finished = []
    view = make_view(qtbot, card, None)
    view.run_finished.connect(finished.append)
    view.set_keyboard_mode(True)
    assert view.canvas.isHidden()
    assert "loading" in view.status.text()  # no recogniser yet: said in words
    for k, step in enumerate(card.steps):
        panel = view.panels[k]
        panel.edit.setText(step.latex)
        panel.edit.returnPressed.emit()
        qtbot.waitUntil(lambda k=k: view.model.step(k).status == "done", timeout=15_000)
        assert panel.chip.text() == "\u2713 correct"
    qtbot.waitUntil(lambda: bool(finished), timeout=15_000)
    assert view.session.finished
    # the end is said on the board (issue 12); the interviewer is one button away, not forced open
    assert not view.run_banner.isHidden() and "Derivation complete in" in view.run_label.text()
    assert view.side.currentWidget() is view.steps_scroll
    view.run_button.click()
    assert view.side.currentWidget() is view.interviewer
    assert finished[0].splitlines()[1].startswith("Step 1:") and "correct" in finished[0]
    assert "Derivation complete" in finished[0]
    assert not view.interviewer.summary.isHidden()


def test_recogniser_arriving_later_reads_the_waiting_steps(qtbot, card):
    box = {"rec": None}
    view = show_practice_view(qtbot, card, size=(1000, 700), recognizer=lambda: box["rec"], pause_ms=30)
    stroke(view)
    qtbot.wait(100)
    assert view.model.step(0).verdict is None and not view.status.isHidden()
    box["rec"] = ScriptedRecognizer({1: card.steps[0].latex})
    view.read_waiting_steps()
    qtbot.waitUntil(done(view), timeout=15_000)
    assert view.status.isHidden()


@pytest.mark.parametrize(
    "verdict, headline, detail",
    [
        (Verdict("x", "correct", 3), "correct", "matches reference step 3"),
        (Verdict("x", "correct", None), "correct", "follows from your previous step"),
        (Verdict("x", "wrong", diagnosis="n vs n-1"), "wrong", "n vs n-1"),
        (Verdict("x", "wrong", shape="(n,d) @ (n,1)"), "wrong", "shapes: (n,d) @ (n,1)"),
        (Verdict("", "unparsed", message="could not read: time limit"), "could not read", "time limit"),
        (Verdict("x", "cannot_check"), "cannot check", "compare with the reference step"),
    ],
)
def test_verdict_words(verdict, headline, detail):
    from whiteboard_app.ui.practice_model import StepState

    h, d = verdict_words(StepState(verdict=verdict, status="done", latex="x"))
    assert h == headline and detail in d


def test_a_corrected_step_is_not_read_again_when_the_next_step_starts(qtbot, card):
    from PySide6.QtCore import Qt

    rec = ScriptedRecognizer({1: "\\sigma(z) = (1-e^{-z})^{-1}"})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    view.correct(0, card.steps[0].latex)
    qtbot.waitUntil(
        lambda: view.model.step(0).source == "typed" and view.model.step(0).status == "done", timeout=15_000
    )
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Return)
    qtbot.wait(200)
    assert len(view.model) == 2
    assert rec.calls == [1]  # no second reading of unchanged ink
    assert view.model.step(0).latex == card.steps[0].latex and view.model.step(0).verdict.verdict == "correct"


def test_undo_redo_and_eraser_reach_the_model_and_the_session(qtbot, card):
    rec = ScriptedRecognizer({1: card.steps[0].latex, 2: "two strokes"})
    view = make_view(qtbot, card, rec)
    stroke(view)
    stroke(view, x0=160)
    assert len(view.model.step(0).ink) == 2
    view.undo_stack.undo()
    assert len(view.model.step(0).ink) == 1
    erased = [e for e in view.session.step(0).strokes if e.erased_ms is not None]
    assert len(erased) == 1  # kept in the board for replay, marked erased
    qtbot.waitUntil(
        lambda: view.model.step(0).status == "done" and view.model.step(0).latex == card.steps[0].latex,
        timeout=15_000,
    )
    view.undo_stack.redo()
    qtbot.waitUntil(lambda: view.model.step(0).latex == "two strokes", timeout=15_000)
    view.set_tool("eraser")
    assert view.tool_buttons["eraser"].isChecked() and not view.tool_buttons["pen"].isChecked()
    tablet_stroke(view.canvas, [(150, 55), (210, 65)], 0.5)  # rub over the second stroke
    qtbot.waitUntil(lambda: len(view.model.step(0).ink) == 1, timeout=15_000)
    qtbot.waitUntil(lambda: view.model.step(0).latex == card.steps[0].latex, timeout=15_000)


def test_leaving_a_card_does_not_wait_for_a_running_read(qtbot, card):
    import time

    gate = threading.Event()
    rec = ScriptedRecognizer({1: card.steps[0].latex}, gate)
    services = PracticeServices(
        recognizer=lambda: rec, pause_ms=40, clock=FakeClock(), check=fake_check(card), near_misses=False
    )
    view = PracticeView(card, services)  # not handed to qtbot: this test deletes it
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    stroke(view)
    qtbot.waitUntil(lambda: rec.calls == [1], timeout=15_000)  # the read is running, blocked
    t0 = time.perf_counter()
    view.shutdown()
    view.deleteLater()
    qtbot.wait(50)
    assert time.perf_counter() - t0 < 1.0  # the window went on at once
    gate.set()


def test_a_misreading_fixed_after_the_run_is_recorded_and_summarised(qtbot, card):
    rec = ScriptedRecognizer({1: "\\sigma(z) = (1-e^{-z})^{-1}"})
    view = make_view(qtbot, card, rec)
    stroke(view)
    qtbot.waitUntil(done(view), timeout=15_000)
    view.finish_run()
    assert "Step 1: 0:00  wrong" in view.interviewer.summary.text()
    view.new_step()  # the run is over: no new line
    assert len(view.model) == 1
    view.correct(0, card.steps[0].latex)
    qtbot.waitUntil(
        lambda: view.model.step(0).status == "done" and view.model.step(0).verdict is not None, timeout=15_000
    )
    assert view.model.step(0).verdict.verdict == "correct"
    assert (
        view.session.step(0).latex == card.steps[0].latex
        and view.session.step(0).verdict.verdict == "correct"
    )
    # the scripted recogniser gives no per-symbol evidence that the ink says what was typed, and the
    # reading was judged wrong: an answer change (issue 12), scored by its first verdict
    assert view.session.step(0).answer_changed and not view.session.step(0).misread
    assert "Step 1: 0:00  wrong \u2192 changed by typing, now correct" in view.interviewer.summary.text()


def test_the_active_step_is_framed_and_a_panel_click_shows_its_step(qtbot, card):
    from PySide6.QtCore import Qt

    view = make_view(qtbot, card, ScriptedRecognizer({}))
    stroke(view)
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Return)
    assert view.canvas.active_step() == 1
    assert [p.active for p in view.panels] == [False, True]
    qtbot.mouseClick(view.panels[0].title, Qt.MouseButton.LeftButton)
    assert view.canvas.active_step() == 0 and [p.active for p in view.panels] == [True, False]
    view.canvas.pan_by(0, -2000)  # step 1 far out of view
    view.show_step(0)
    top = view.canvas.canvas_to_view(0, view.page_model.page.band(0)[0])[1]
    assert 0 <= top <= view.canvas.height() - 40


def test_ink_written_into_a_typed_step_does_not_replace_the_typed_latex(qtbot, card):
    """A typed step keeps its LaTeX and verdict when ink is then written in its band: the ink's reading
    is offered as a chip (one tap takes it), never silently swapped in (session-12 user trial: a typed
    correct step became ". -", the reading of two stray strokes)."""
    rec = ScriptedRecognizer({1: "y = 1"})
    view = make_view(qtbot, card, rec)
    panel = view.panels[0]
    panel.edit.setText(card.steps[0].latex)
    panel.edit.returnPressed.emit()
    qtbot.waitUntil(
        lambda: view.model.step(0).verdict is not None and view.model.step(0).verdict.verdict == "correct",
        timeout=15_000,
    )
    stroke(view)
    qtbot.waitUntil(lambda: rec.calls == [1], timeout=15_000)
    qtbot.waitUntil(lambda: view.model.step(0).candidates != (), timeout=15_000)
    qtbot.waitUntil(done(view), timeout=15_000)
    st = view.model.step(0)
    assert st.latex == card.steps[0].latex and st.source == "typed" and st.verdict.verdict == "correct"
    assert [c for c, _ in st.candidates][:2] == [card.steps[0].latex, "y = 1"]
    assert panel.chip.text() == "\u2713 correct"
    assert view.session.step(0).latex == card.steps[0].latex  # the board keeps the typed step
    view.correct(0, "y = 1", source="pick")  # the chip: one tap takes the ink's reading
    qtbot.waitUntil(
        lambda: view.model.step(0).latex == "y = 1" and view.model.step(0).status == "done", timeout=15_000
    )


def test_a_definition_shows_a_neutral_chip_and_board_mark(qtbot, card):
    """A step that only defines a name of the user's own is neither applauded in green on its chip nor
    beside its number on the board (session-12 user trial)."""
    from whiteboard_app.ui.step_panel import DEFINITION_STYLE

    rec = ScriptedRecognizer({})

    def define(c, latex, previous):
        return Verdict(latex, "correct", message="defines u", defines="u")

    view = make_view(qtbot, card, rec, check=define)
    panel = view.panels[0]
    panel.edit.setText("u = 1 + e^{-z}")
    panel.edit.returnPressed.emit()
    qtbot.waitUntil(done(view), timeout=15_000)
    assert panel.chip.text() == f"{DEFINITION_STYLE[1]} definition"
    assert view.canvas.step_mark(0) == (DEFINITION_STYLE[1], DEFINITION_STYLE[0])
