"""End to end: ink the project generates (ink.synth) is written into the canvas as synthesised stylus
events (QTabletEvent with pressure), read by the real default recogniser with the card's context in a
worker after the step ends, checked by the real checker, and the step panels show the right verdicts,
for a correct and for a wrong derivation of sigmoid-derivative.

``test_generated_ink_flows_through_the_window`` holds whatever the recogniser reads: each step shows the
real engine's reading and n-best, and the checker's verdict on exactly that reading. The right-verdict
tests ask for the verdicts a person would get: correct, correct, correct; and correct, then wrong with
the card's diagnosis.
Skipped, with the reason, when the default recogniser cannot run here (e.g. its weights are not trained
yet): a recogniser that is not there is never faked in this test.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = [pytest.mark.qt, pytest.mark.slow]

from PySide6.QtCore import Qt  # noqa: E402

from tests.ui.tablet import write_ink  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.ink.synth import synthesize  # noqa: E402
from whiteboard_app.recognition.base import RecognizerUnavailable  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.ui.practice_view import PracticeServices, PracticeView  # noqa: E402

STEP_TIMEOUT_MS = 60_000  # the machine may be busy; the recogniser's own limit is 3 s a step


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "sigmoid-derivative.toml")


@pytest.fixture(scope="module")
def recognizer():
    from whiteboard_app.recognition.registry import DEFAULT_ENGINE, get_recognizer

    rec = None
    try:
        # a generous limit: this test is about the flow through the window, not speed (benchmarks/ time it;
        # tests/test_registry.py tests the limit itself), and a loaded machine must not turn it into "unparsed"
        rec = get_recognizer(DEFAULT_ENGINE, time_limit_s=30.0)
        rec.warm_up()
        rec.recognize(synthesize("x", seed=0, origin=(0.0, 40.0)).ink)
    except RecognizerUnavailable as exc:
        if rec is not None:
            rec.close()
        pytest.skip(f"the default recogniser cannot run here: {exc}")
    yield rec
    rec.close()


def run_derivation(qtbot, card, recognizer, latexes):
    view = PracticeView(
        card, PracticeServices(recognizer=lambda: recognizer, pause_ms=300, clock=FakeClock())
    )
    qtbot.addWidget(view)
    view.resize(1500, 1000)
    view.show()
    qtbot.waitExposed(view)
    for k, latex in enumerate(latexes):
        top = view.page_model.page.tops[-1]
        ink = synthesize(latex, seed=10 + k, origin=(40.0, top + 80.0), height_px=32.0).ink
        write_ink(view.canvas, ink)  # stylus events through the canvas's view transform
        assert len(view.page_model.page.steps[k]) == len(ink), "every generated stroke landed in step k"
        view.canvas.setFocus()
        qtbot.keyClick(view.canvas, Qt.Key.Key_Return)  # the step ends: it is read at once
        qtbot.waitUntil(lambda k=k: view.model.step(k).status == "done", timeout=STEP_TIMEOUT_MS)
    return view


def readings(view):
    return [
        (s.latex, s.verdict.verdict if s.verdict else None) for s in view.model.steps if not s.ink.is_empty
    ]


def test_generated_ink_flows_through_the_window(qtbot, card, recognizer):
    """Whatever the recogniser reads, each step shows that reading, its n-best, and the checker's
    verdict on that very reading after the steps before it (the window adds or loses nothing)."""
    from whiteboard_app import pipeline

    steps = [card.steps[1].latex, card.steps[2].latex]
    view = run_derivation(qtbot, card, recognizer, steps)
    previous: list[str] = []
    for k in range(len(steps)):
        st = view.model.step(k)
        rec0 = view.session.step(k).readings[-1]
        assert rec0.engine and st.read_ms > 0  # read by the real engine, in a worker
        assert st.latex == (rec0.latex or None)
        if st.latex is None:
            assert st.verdict.verdict == "unparsed" and view.panels[k].chip.text() == "? could not read"
            continue
        assert [c for c, _ in st.candidates][0] == st.latex
        expected = pipeline.recheck(card, st.latex, previous)
        assert st.verdict.verdict == expected.verdict, (st.latex, st.verdict, expected)
        assert view.session.step(k).verdicts[-1].verdict == expected.verdict
        previous.append(st.latex)


# The two tests below ask for the right verdicts from ink. The open reading of the engine alone gets 3 of
# these 5 steps right ("= \\frac{e^{-z}}{(1+e^{-z})^2}" and the product of fractions lose a superscript);
# with the card's context the verifier (recognition/form_match.py) regroups their strokes by the card's
# forms and reads all 5.


def test_correct_derivation_from_ink(qtbot, card, recognizer):
    steps = [card.steps[1].latex, card.steps[2].latex, card.steps[4].latex]
    view = run_derivation(qtbot, card, recognizer, steps)
    got = readings(view)
    assert [v for _, v in got] == ["correct"] * 3, got
    assert [view.model.step(k).verdict.reference_step for k in range(3)] == [2, 3, 5]
    assert all(view.panels[k].chip.text() == "\u2713 correct" for k in range(3))
    # the result without the definition written first: correct, but unsupported, and the run goes on
    assert not view.session.finished and view.run.reached_goal and not view.run.complete
    assert (
        "write the objective (reference step 1)" in view.panels[0].run_note.text()
    )  # the first step past it


def test_wrong_derivation_from_ink(qtbot, card, recognizer):
    mistake = next(m for m in card.mistakes if m.latex == "= \\sigma(z)(1+\\sigma(z))")
    steps = [card.steps[3].latex, mistake.latex]
    view = run_derivation(qtbot, card, recognizer, steps)
    got = readings(view)
    assert [v for _, v in got] == ["correct", "wrong"], got
    assert view.model.step(1).verdict.diagnosis == mistake.diagnosis
    assert view.panels[1].chip.text() == "\u2717 wrong"
    assert mistake.diagnosis in view.panels[1].detail.text()
    assert not view.session.finished
