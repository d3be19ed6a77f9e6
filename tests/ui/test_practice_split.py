"""Splitting and merging steps in the practice view: every step's reading and verdict stays with its ink.

After a split, the step whose ink was cut and the new step are read again; the later steps keep their
readings and verdicts (moved with their bands, not read again); a read that was running for ink that has
changed is dropped, one running for a step that only moved lands on it; undo brings back the earlier
readings and verdicts without reading again. The recogniser and checker are fakes (see test_practice.py).
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtCore import Qt  # noqa: E402

from tests.ui.fakes import fake_check  # noqa: E402
from tests.ui.tablet import tablet_stroke  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.recognition.base import Candidate, RecognitionResult  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.ui.practice_view import PracticeServices, PracticeView  # noqa: E402

WRONG = "x_{AB}"


class TickClock(FakeClock):
    """A fake clock that moves 1 ms each time it is read, so that session events are ordered in time."""

    def now_ms(self) -> float:
        self.advance(1.0)
        return super().now_ms()


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "sigmoid-derivative.toml")


class BandRecognizer:
    """Reads each stroke as the letter of where it was written (canvas y: A above 60 px, B above 150 px,
    else C) and a step as ``readings[letters]``; records the letters of every call; may wait on a gate."""

    name = "bands"

    def __init__(self, readings, gate: threading.Event | None = None):
        self.readings, self.gate, self.calls = readings, gate, []

    def recognize(self, ink, context=None):
        letters = "".join(
            sorted("A" if s.points[0].y < 60 else "B" if s.points[0].y < 150 else "C" for s in ink.strokes)
        )
        self.calls.append(letters)
        if self.gate is not None:
            self.gate.wait(10)
        latex = self.readings.get(letters)
        if latex is None:
            return RecognitionResult(message="nothing matched")
        return RecognitionResult(
            (Candidate(latex, -0.1), Candidate(latex + "+1", -2.0)), ms=2.0, engine=self.name
        )


def readings(card):
    s = [st.latex for st in card.steps]
    return {"AB": WRONG, "A": s[0], "B": s[1], "C": s[2]}


def make_view(qtbot, card, rec):
    services = PracticeServices(
        recognizer=lambda: rec, pause_ms=40, clock=TickClock(), check=fake_check(card), near_misses=False
    )
    view = PracticeView(card, services)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    return view


def write(view, canvas_y, x=60):
    """One stroke at canvas y (the view starts unzoomed: widget = canvas + offset)."""
    vx, vy = view.canvas.canvas_to_view(x, canvas_y)
    tablet_stroke(view.canvas, [(vx, vy), (vx + 20, vy + 8), (vx + 40, vy)], [0.4, 0.8, 0.5])


def two_steps(qtbot, view):
    """Step 1 holds strokes A and B, step 2 stroke C."""
    write(view, 24)
    write(view, 94, x=160)
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Return)
    top, _ = view.page_model.page.band(1)
    write(view, top + 40)
    assert [len(s) for s in view.page_model.page.steps] == [2, 1]


def state(view, k):
    st = view.model.step(k)
    return st.latex, (st.verdict.verdict, st.verdict.reference_step) if st.verdict is not None else None


def all_done(view, n):
    return lambda: len(view.model) == n and all(view.model.step(k).status == "done" for k in range(n))


def session_latexes(view):
    return [
        view.session.step(k).latex if k in {r.index for r in view.session.steps} else None
        for k in range(len(view.model))
    ]


def test_split_reads_the_cut_steps_and_moves_the_later_ones(qtbot, card):
    refs = [s.latex for s in card.steps]
    rec = BandRecognizer(readings(card))
    view = make_view(qtbot, card, rec)
    two_steps(qtbot, view)
    qtbot.waitUntil(all_done(view, 2), timeout=15_000)
    assert state(view, 0) == (WRONG, ("wrong", None)) and state(view, 1) == (refs[2], ("correct", 3))
    calls = list(rec.calls)

    view.canvas.split_step(0, 60.0)
    # at once, before any reading: step 3 is what step 2 was, with its reading and verdict
    assert len(view.model) == 3 and len(view.panels) == 3
    assert state(view, 2) == (refs[2], ("correct", 3)) and view.model.step(2).status == "done"
    assert (
        view.panels[2].chip.text() == "\u2713 correct"
        and view.panels[2].detail.text() == "matches reference step 3"
    )
    assert view.model.step(1).latex is None and view.model.step(1).status != "done"
    assert (
        view.page_model.reading(2) == {"latex": refs[2], "source": "ink"}
        and view.page_model.reading(1) is None
    )
    assert view.canvas.step_mark(2) == (
        "\u2713",
        "#1b7f3b",
    )  # the verdict beside the step's number on the board

    qtbot.waitUntil(all_done(view, 3), timeout=15_000)
    assert [state(view, k) for k in range(3)] == [
        (refs[0], ("correct", 1)),
        (refs[1], ("correct", 2)),
        (refs[2], ("correct", 3)),
    ]
    assert sorted(rec.calls[len(calls) :]) == ["A", "B"]  # only the cut step's two halves were read
    # the session (the saved board) agrees: ink, readings and verdicts per step
    page = view.page_model.page
    for k in range(3):
        record = view.session.step(k)
        assert [s.id for s in record.ink.strokes] == [s.id for s in page.steps[k].strokes]
        assert (
            record.latex == refs[k]
            and record.verdict.verdict == "correct"
            and record.verdict.reference_step == k + 1
        )

    # undo: the earlier readings and verdicts come back at once, nothing is read again
    n_calls = len(rec.calls)
    view.undo_stack.undo()
    assert len(view.model) == 2 and len(view.panels) == 2
    assert state(view, 0) == (WRONG, ("wrong", None)) and state(view, 1) == (refs[2], ("correct", 3))
    assert view.panels[0].chip.text() == "\u2717 wrong" and view.model.step(0).status == "done"
    assert [view.canvas.step_mark(k)[0] for k in range(2)] == ["\u2717", "\u2713"]
    assert session_latexes(view) == [WRONG, refs[2]]
    assert [s.id for s in view.session.step(1).ink.strokes] == [
        s.id for s in view.page_model.page.steps[1].strokes
    ]
    assert view.session.step(2).latex is None and view.session.step(2).ink.is_empty
    assert view.session.board().latexes() == [WRONG, refs[2]]

    # redo: the split's readings come back too
    view.undo_stack.redo()
    assert [state(view, k) for k in range(3)] == [
        (refs[0], ("correct", 1)),
        (refs[1], ("correct", 2)),
        (refs[2], ("correct", 3)),
    ]
    qtbot.wait(150)
    assert len(rec.calls) == n_calls
    assert session_latexes(view) == refs[:3]


def test_a_read_running_during_a_split_lands_on_the_right_step(qtbot, card):
    refs = [s.latex for s in card.steps]
    gate = threading.Event()
    rec = BandRecognizer(readings(card), gate)
    view = make_view(qtbot, card, rec)
    stale = []
    view.reader.stale_dropped.connect(stale.append)
    two_steps(qtbot, view)
    qtbot.waitUntil(lambda: sorted(rec.calls) == ["AB", "C"], timeout=15_000)  # both reads running, blocked
    view.canvas.split_step(0, 60.0)
    gate.set()
    qtbot.waitUntil(all_done(view, 3), timeout=15_000)
    # the read of the whole first step is for ink that has changed: it never lands (the WRONG check
    # below). It is dropped when it returns (stale_dropped(0)), or earlier, without the signal, when the
    # new read of step 0 has replaced it first (its pause can end before the old read's thread runs on a
    # busy machine: CI saw that)
    assert stale in ([], [0])
    assert [state(view, k) for k in range(3)] == [
        (refs[0], ("correct", 1)),
        (refs[1], ("correct", 2)),
        (refs[2], ("correct", 3)),
    ]
    assert rec.calls.count("C") == 1  # the moved step's running read landed on it; not read again
    assert all(r.latex != WRONG for rec_ in view.session.steps for r in rec_.readings)
    assert session_latexes(view) == refs[:3]


def test_merge_steps_and_undo(qtbot, card):
    refs = [s.latex for s in card.steps]
    rec = BandRecognizer({**readings(card), "ABC": "x_{ABC}"})
    view = make_view(qtbot, card, rec)
    two_steps(qtbot, view)
    qtbot.waitUntil(all_done(view, 2), timeout=15_000)
    view.canvas.split_step(0, 60.0)
    qtbot.waitUntil(all_done(view, 3), timeout=15_000)
    view.canvas.merge_with_next(1)  # B joins C
    assert len(view.model) == 2 and state(view, 0) == (refs[0], ("correct", 1))
    qtbot.waitUntil(
        lambda: view.model.step(1).status == "done" and view.model.step(1).latex is None, timeout=15_000
    )
    assert rec.calls[-1] == "BC"
    assert view.panels[1].chip.text() == "? could not read"
    view.undo_stack.undo()
    assert [state(view, k) for k in range(3)] == [
        (refs[0], ("correct", 1)),
        (refs[1], ("correct", 2)),
        (refs[2], ("correct", 3)),
    ]
    assert session_latexes(view) == refs[:3]


def test_the_step_menu_offers_split_merge_and_clear(qtbot, card):
    view = make_view(qtbot, card, BandRecognizer(readings(card)))
    two_steps(qtbot, view)
    menu = view.canvas.step_menu(60.0)
    actions = {a.text(): a for a in menu.actions()}
    assert set(actions) == {"Split step 1 here", "Merge step 1 with step 2", "Clear step 1"}
    assert all(a.isEnabled() for a in actions.values())
    actions["Split step 1 here"].trigger()
    assert [len(s) for s in view.page_model.page.steps] == [1, 1, 1]
    last = view.canvas.step_menu(view.page_model.page.band(2)[0] + 5)
    assert [a.isEnabled() for a in last.actions()] == [
        False,
        False,
        True,
    ]  # above its ink: nothing to split off
    view.finish_run()
    assert view.canvas.step_menu(60.0) is None  # the run is over: the board is read-only


def test_the_stylus_barrel_button_opens_the_step_menu(qtbot, card):
    from PySide6.QtCore import QEvent

    from tests.ui.tablet import send_tablet

    view = make_view(qtbot, card, BandRecognizer(readings(card)))
    two_steps(qtbot, view)
    vx, vy = view.canvas.canvas_to_view(300, 60.0)
    for kind in (QEvent.Type.TabletPress, QEvent.Type.TabletRelease):
        send_tablet(view.canvas, kind, vx, vy, 0.3, pen_button=Qt.MouseButton.RightButton)
    menu = view.canvas.last_menu
    assert menu is not None and menu.actions()[0].text() == "Split step 1 here"
    assert [len(s) for s in view.page_model.page.steps] == [2, 1]  # the barrel button wrote nothing
    menu.actions()[0].trigger()
    menu.close()
    assert [len(s) for s in view.page_model.page.steps] == [1, 1, 1]


def test_undo_of_a_stroke_brings_the_earlier_reading_back_without_reading(qtbot, card):
    refs = [s.latex for s in card.steps]
    rec = BandRecognizer(readings(card))
    view = make_view(qtbot, card, rec)
    write(view, 24)
    qtbot.waitUntil(lambda: view.model.step(0).latex == refs[0], timeout=15_000)
    view.reader.pause_ms = 5000
    write(view, 94, x=160)  # A and B: read after a (long) pause
    assert view.reader.pending(0)
    view.undo()  # back to A alone: its reading and verdict are known
    assert state(view, 0) == (refs[0], ("correct", 1)) and not view.reader.pending(0)
    assert rec.calls == ["A"]
