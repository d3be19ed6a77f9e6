"""Settings apply at once to the running practice: the writing pause from the next pause, the pressure
curve to the strokes, palm rejection, the time target on the running timer, a new recogniser engine from
the next reading (not only from the next card)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.ui.tablet import tablet_stroke  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, deck_errors  # noqa: E402
from whiteboard_app.maths.checker import StepVerdict as Verdict  # noqa: E402
from whiteboard_app.recognition.base import Candidate, RecognitionResult  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.ui.main_window import AppContext, MainWindow, RecognizerService  # noqa: E402


@pytest.fixture(scope="module")
def deck():
    d, _ = deck_errors([bundled_deck_dir() / "sigmoid-derivative.toml"])
    return d


class Named:
    """A recogniser that reads every step as its own name."""

    def __init__(self, name):
        self.name = name

    def recognize(self, ink, context=None):
        return RecognitionResult((Candidate(self.name, -0.1),), ms=1.0, engine=self.name)


def check(card, latex, previous):
    return Verdict(latex, "wrong", diagnosis="sign flip")


def window_with(qtbot, deck, recognizers, changes):
    """A main window whose settings dialog 'accepts' ``changes`` (context fields) as the real one does."""
    clock = FakeClock()

    def dialog(parent):
        for key, value in changes.items():
            setattr(window.context, key, value)
        return True

    window = MainWindow(
        AppContext(
            deck=deck,
            pause_ms=5000,
            clock=clock,
            check=check,
            settings_dialog=dialog,
            target_s=lambda card: 300.0,
        ),
        recognizers,
    )
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    view = window.open_card("sigmoid-derivative")
    view.services.near_misses = False
    return window, view, clock


def stroke(view, x0=60, y=60, pressure=0.5):
    tablet_stroke(view.canvas, [(x0, y), (x0 + 20, y + 10), (x0 + 40, y)], pressure)


def test_pause_pressure_palm_rejection_and_target_apply_at_once(qtbot, deck):
    service = RecognizerService()
    service.recognizer, service.name, service.status = Named("a"), "a", "recogniser: a"
    window, view, clock = window_with(
        qtbot,
        deck,
        service,
        {"pause_ms": 40, "pressure_gamma": 2.0, "stylus_only": False, "target_s": lambda card: 120.0},
    )
    stroke(view)
    qtbot.wait(200)
    assert view.model.step(0).status == "waiting"  # the 5 s pause of the settings at the start
    first = view.page_model.page.steps[0].strokes[0]
    wide = view.canvas.stroke_path(first).boundingRect().height()
    clock.advance(30_000)
    view.timer.refresh()
    assert view.timer.clock_label.text() == "0:30 / 5:00"

    window.open_settings()  # accepted: the new values apply to the run in progress
    assert view.reader.pause_ms == 40
    assert view.canvas.pressure_curve() == 2.0 and not view.canvas.adapter.stylus_only
    assert view.canvas.stroke_path(first).boundingRect().height() < wide  # width = base * 0.5^2 now
    assert view.timer.clock_label.text() == "0:30 / 2:00"
    stroke(view, x0=160)  # the next pause is the new one
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=2000)
    clock.advance(100_000)
    view.finish_run()
    assert view.summary().splitlines()[0] == "Time 2:10 against a target of 2:00 (0:10 over)"


def test_a_new_engine_reads_the_next_step(qtbot, deck):
    service = RecognizerService()
    service.recognizer, service.name, service.status = Named("a"), "a", "recogniser: a"
    window, view, clock = window_with(qtbot, deck, service, {"pause_ms": 40})
    window.open_settings()
    stroke(view)
    qtbot.waitUntil(lambda: view.model.step(0).latex == "a", timeout=5000)
    # the settings chose another engine: the composition root starts loading it (app.open_settings_dialog)
    with qtbot.waitSignal(service.loaded, timeout=5000):
        service.start("b", lambda: Named("b"))
        window._recognizer_changed()
    stroke(view, x0=160)
    qtbot.waitUntil(lambda: view.model.step(0).latex == "b", timeout=5000)
    assert view.model.step(0).status == "done"
