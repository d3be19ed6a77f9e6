"""What a user sees in the practice view beyond the verdicts: the window fits a laptop screen whatever
the card (long title, wide givens, long readings, many splits), keyboard-only practice shows no ink tools
and no freezes, a revealed reference says what it is, a corrected reading says it was typed or picked,
and a missing recogniser is said in words."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.ui._support import show_practice_view  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.maths.checker import StepVerdict as Verdict  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402

LONG = r"\sum_{i=1}^{n}(x_i-\bar{x})^2 = \sum_{i=1}^{n}(x_i-\mu)^2 - 2(\bar{x}-\mu)\sum_{i=1}^{n}(x_i-\mu) + n(\bar{x}-\mu)^2"


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "sample-variance-n-minus-1.toml")


def check(card, latex, previous):
    refs = [s.latex for s in card.steps]
    if latex in refs:
        return Verdict(latex, "correct", refs.index(latex) + 1)
    return Verdict(latex, "cannot_check")


def make_view(qtbot, card, status="no recogniser (keyboard only)"):
    clock = FakeClock()
    view = show_practice_view(
        qtbot,
        card,
        size=None,
        recognizer=lambda: None,
        recognizer_status=lambda: status,
        pause_ms=40,
        clock=clock,
        check=check,
    )
    return view, clock


def type_step(qtbot, view, k, latex, clock):
    clock.advance(3_000)
    view.panels[k].edit.setText(latex)
    view.panels[k].edit.returnPressed.emit()
    qtbot.waitUntil(lambda: view.model.step(k).status == "done", timeout=10_000)


def test_the_view_fits_a_laptop_screen(qtbot, card):
    view, clock = make_view(qtbot, card)
    view.resize(1260, 800)
    view.set_keyboard_mode(True)
    for k in range(9):  # many steps, a very long reading, many splits
        type_step(
            qtbot, view, k, LONG if k == 0 else card.steps[k % 5].latex, clock
        )  # never the last: the run goes on
    view.set_keyboard_mode(False)
    view.timer.refresh()
    qtbot.wait(50)
    assert view.minimumSizeHint().width() <= 1260
    reading = view.panels[0].rendered
    assert reading.full_pixmap().width() > reading.width()  # the reading is wider than its column...
    assert reading.pixmap().width() <= reading.width()  # ...and is shown scaled down, not clipped or widening
    assert view.timer.splits_label.text().startswith("\u2026")  # only the latest splits in the header
    assert "1: 0:03" in view.timer.splits_label.toolTip()  # all of them in its tooltip


def test_keyboard_only_practice_has_no_ink_tools_and_no_freezes(qtbot, card):
    view, clock = make_view(qtbot, card)
    view.set_keyboard_mode(True)
    assert all(b.isHidden() for b in view.tool_buttons.values()) and view.clear_button.isHidden()
    type_step(qtbot, view, 0, card.steps[0].latex, clock)
    clock.advance(20_000)  # thinking for 20 s without ink: a freeze when writing, not when typing
    view.timer.refresh()
    assert not view.timer.frozen_shown and "*" not in view.timer.split_label.text()
    type_step(qtbot, view, 1, card.steps[1].latex, clock)
    view.finish_run()
    lines = view.summary().splitlines()
    end = lines.index("No freezes")  # the run's own lines (complete or not, hints, reveals) follow
    assert "froze" not in view.summary()
    assert [line.split(":")[0] for line in lines[1:end]] == ["Step 1", "Step 2"]  # not the empty new line
    assert len(view.model) == 3


def test_a_written_run_still_shows_its_freezes(qtbot, card):
    from tests.ui.tablet import tablet_stroke

    view, clock = make_view(qtbot, card)
    clock.advance(12_000)
    tablet_stroke(view.canvas, [(60, 60), (90, 70)], 0.5)
    view.timer.refresh()
    assert "*" in view.timer.split_label.text()
    clock.advance(9_000)
    view.timer.refresh()
    assert view.timer.frozen_shown and view.timer.freeze_label.text() == "frozen 0:09"
    view.finish_run()
    assert "froze" in view.summary()


def test_reference_caption_and_reading_source(qtbot, card):
    view, clock = make_view(qtbot, card)
    panel = view.panels[0]
    panel.reveal_button.click()
    assert not panel.reference_caption.isHidden()
    assert panel.reference_caption.text().startswith("Reference step 1")
    type_step(qtbot, view, 0, r"\frac{d}{dz}\lim", clock)
    assert panel.source.text() == "\u00b7 typed"
    assert panel.chip.text().endswith("cannot check")  # the reference shows for self-comparison, captioned
    assert not panel.reference.isHidden() and not panel.reference_caption.isHidden()


@pytest.mark.parametrize(
    "status, words",
    [
        ("no recogniser (keyboard only)", "No recogniser, so ink is not read"),
        (
            "the whiteboard recogniser could not load (no weights); type each step",
            "No recogniser, so ink is not read",
        ),
        ("loading the whiteboard recogniser\u2026", "you can write now"),
    ],
)
def test_the_recogniser_state_is_said_in_words(qtbot, card, status, words):
    view, _ = make_view(qtbot, card, status)
    assert words in view.status.text() and not view.status.isHidden()


def test_read_again_after_the_recogniser_ran_out_of_time(qtbot, card):
    from tests.ui.tablet import tablet_stroke
    from whiteboard_app.recognition.base import Candidate, RecognitionResult

    class SlowTwice:
        name = "slow-twice"

        def __init__(self):
            self.calls = 0

        def recognize(self, ink, context=None):
            self.calls += 1
            if self.calls <= 2:  # the automatic second try runs out of time too
                return RecognitionResult(message="the recogniser took longer than 7 s")
            return RecognitionResult((Candidate(card.steps[0].latex, -0.1),), ms=1.0)

    rec = SlowTwice()
    view = show_practice_view(qtbot, card, size=None, recognizer=lambda: rec, pause_ms=40, check=check)
    panel = view.panels[0]
    assert panel.reread_button.isHidden()  # nothing written, nothing to read
    tablet_stroke(view.canvas, [(60, 60), (90, 70)], 0.5)
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=10_000)
    assert panel.chip.text() == "? could not read"
    assert panel.detail.text() == "the recogniser took longer than 7 s; type the LaTeX, or read the ink again"
    assert not panel.reread_button.isHidden() and panel.rendered.text() == "(no reading)"
    panel.reread_button.click()
    qtbot.waitUntil(lambda: view.model.step(0).latex == card.steps[0].latex, timeout=10_000)
    assert panel.chip.text() == "\u2713 correct" and panel.reread_button.isHidden() and rec.calls == 3


def test_a_long_checker_message_is_cut_to_its_first_line(qtbot, card):
    from whiteboard_app.ui.practice_model import StepState
    from whiteboard_app.ui.step_panel import verdict_words

    v = Verdict(
        "x",
        "cannot_check",
        message="checker error: \n  An attempt has been made\n  to start a process" + "x" * 300,
    )
    head, detail = verdict_words(StepState(latex="x", verdict=v, status="done"))
    assert head == "cannot check" and detail.endswith("(checker error:)") and "\n" not in detail
    head, detail = verdict_words(StepState(error="could not read: " + "y" * 500, status="done"))
    assert head == "could not read" and len(detail) == 200 and detail.endswith("\u2026")


def test_a_reading_out_of_time_is_tried_once_more_by_itself(qtbot, card):
    from tests.ui.tablet import tablet_stroke
    from whiteboard_app.recognition.base import Candidate, RecognitionResult

    calls = []

    class SlowFirst:
        name = "slow-first"

        def recognize(self, ink, context=None):
            calls.append(len(ink))
            if len(calls) == 1:
                return RecognitionResult(message="could not read: time limit 3 s")
            return RecognitionResult((Candidate(card.steps[0].latex, -0.1),), ms=1.0)

    rec = SlowFirst()
    view = show_practice_view(qtbot, card, size=None, recognizer=lambda: rec, pause_ms=40, check=check)
    tablet_stroke(view.canvas, [(60, 60), (90, 70)], 0.5)
    qtbot.waitUntil(lambda: view.model.step(0).latex == card.steps[0].latex, timeout=10_000)
    assert calls == [1, 1] and view.panels[0].chip.text() == "\u2713 correct"
    assert [r.latex for r in view.session.step(0).readings] == [
        card.steps[0].latex
    ]  # the hiccup is not recorded
