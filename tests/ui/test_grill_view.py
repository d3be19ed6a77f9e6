"""The grill view: a session of 5 questions answered by ink and by keyboard, a word answer self-graded
after the key points, a time-out; the verdicts are the real checker's (in-process), the recogniser a
fake; every answer is scheduled (FSRS per question) and logged in the history."""

from __future__ import annotations

from datetime import UTC, datetime

import fsrs
import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.ui.tablet import tablet_stroke  # noqa: E402
from whiteboard_app.decks import load_deck  # noqa: E402
from whiteboard_app.recognition.base import Candidate, RecognitionResult  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.sessions.grill import InProcessCompare, find_item  # noqa: E402
from whiteboard_app.sessions.history import History  # noqa: E402
from whiteboard_app.sessions.scheduler import Scheduler  # noqa: E402
from whiteboard_app.ui.grill_view import GrillView  # noqa: E402

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
IDS = [
    "sigmoid-derivative/derivative-in-terms-of-sigma",  # ink, correct in another form
    "ols-closed-form/hessian",  # keyboard, wrong (missing factor)
    "sample-variance-n-minus-1/why-n-minus-1",  # words, self-graded
    "conditional-probability-dice/both-six-given-one",  # ink, misread -> wrong, shown as read
    "softmax-cross-entropy-gradient/gradient-wrt-logits",  # time runs out
]


class FakeRecognizer:
    """Reads any ink as the next of ``readings`` and remembers the context it was given."""

    name = "fake"

    def __init__(self, readings):
        self.readings, self.contexts = list(readings), []

    def recognize(self, ink, context=None):
        self.contexts.append(context)
        return RecognitionResult((Candidate(self.readings.pop(0), -0.1),), ms=1.0, engine=self.name)


@pytest.fixture
def setup(qtbot, tmp_path):
    deck = load_deck()
    items = [find_item(deck, i) for i in IDS]
    history = History(tmp_path / "h.sqlite3")
    sched = Scheduler(history, fsrs.Scheduler(enable_fuzzing=False))
    clock = FakeClock()
    rec = FakeRecognizer([r"\frac{e^{-z}}{(1+e^{-z})^2}", r"\frac{1}{6}"])
    view = GrillView(
        items,
        scheduler=sched,
        recognizer=lambda: rec,
        compare=InProcessCompare(),
        clock=clock,
        now=lambda: T0,
        read_pause_ms=0,
    )
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    yield view, sched, clock, rec, items
    view.shutdown()
    view.pool.wait(10_000)
    history.close()


def _write(view):
    tablet_stroke(view.canvas, [(60, 60), (90, 80), (120, 60)], [0.3, 0.8, 0.5])
    tablet_stroke(view.canvas, [(140, 50), (140, 90)], 0.6)


def _answered(view, n):
    return lambda: len(view.session.results) == n


def test_a_grill_session_of_five_questions(qtbot, setup):
    view, sched, clock, rec, items = setup
    results = []
    view.answered.connect(results.append)

    # 1. maths by ink: the recogniser reads another form of sigma(1 - sigma); the checker says correct
    assert view.prompt_label.text() == items[0].question.prompt
    assert "Question 1 of 5" in view.progress_label.text()
    clock.advance(8_000)
    view.tick()
    assert view.clock_label.text() == "0:22"  # 30 s limit
    view.read_ink()  # nothing written yet: said in words
    assert "write the answer" in view.reading_label.text()
    _write(view)
    view.read_ink()
    qtbot.waitUntil(_answered(view, 1), timeout=30_000)
    assert rec.contexts[0].expected[0] == (items[0].question.answer, "reference")
    assert "correct" in view.verdict_label.text() and "8.0 s" in view.verdict_label.text()
    assert "read:" in view.reading_label.text()
    assert results[0].correct and results[0].rating == 4  # within a third of the limit: easy
    assert view.next_button.isEnabled()

    # 2. maths by keyboard: X^T X for the Hessian 2 X^T X is wrong, with the checker's diagnosis
    view.next_button.click()
    assert "Question 2 of 5" in view.progress_label.text()
    assert view.page_model.page.steps[0].is_empty  # a fresh board
    clock.advance(20_000)
    qtbot.keyClicks(view.latex_edit, "X^TX")
    qtbot.keyClick(view.latex_edit, "\r")
    qtbot.waitUntil(_answered(view, 2), timeout=30_000)
    assert "wrong" in view.verdict_label.text() and "missing factor" in view.verdict_label.text()
    assert "2X^TX" in view.expected_label.text()
    assert results[1].rating == 1

    # 3. words: key points after answering, then a self-grade
    view.next_button.click()
    assert view.answer_stack.currentIndex() == 1
    assert not view.grade_buttons["good"].isEnabled()  # grade only after seeing the key points
    clock.advance(15_000)
    view.reveal_button.click()
    assert "degree of freedom" in view.expected_label.text()
    clock.advance(30_000)  # reading the key points does not count
    view.grade_buttons["good"].click()
    assert results[2].self_grade == "good" and results[2].ms == 15_000 and results[2].rating == 3

    # 4. maths by ink, read as 1/6: wrong (the user sees what was read)
    view.next_button.click()
    _write(view)
    clock.advance(12_000)
    view.read_ink()
    qtbot.waitUntil(_answered(view, 3 + 1), timeout=30_000)
    assert "\\frac{1}{6}" in view.reading_label.text() and "wrong" in view.verdict_label.text()

    # 5. time runs out with no answer: Again, and the answer is shown
    view.next_button.click()
    assert view.next_button.text() == "Next question \u2192" or view.next_button.text() == "Finish"
    clock.advance(31_000)
    view.tick()
    assert len(view.session.results) == 5
    assert "time is up" in view.verdict_label.text() and "p_k - y_k" in view.expected_label.text()
    assert not view.latex_edit.isEnabled()
    assert view.next_button.text() == "Finish"

    summaries = []
    view.finished.connect(summaries.append)
    view.next_button.click()
    assert summaries == [
        {"answered": 5, "correct": 2, "accuracy": 0.4, "median_ms": 13_500}
    ]  # timed-out answers have no time
    assert "2 of 5 right (40 %)" in view.summary_label.text()

    # scheduling updated: every question has its FSRS state; the history has the five answers
    for it, r in zip(items, results, strict=True):
        assert sched.due_date(it.id) == r.question_due is not None
    rows = sched.history.grill_answers()
    assert [r.question_id for r in rows] == [it.id for it in items]
    assert [r.correct for r in rows] == [True, False, True, False, False]
    stats = sched.history.grill_stats()
    assert stats.answered == 5 and stats.correct == 2


def test_the_grill_is_reachable_from_the_menu_and_scheduled_in_the_history(qtbot, tmp_path):
    from whiteboard_app.ui.main_window import AppContext, MainWindow
    from whiteboard_app.ui.stats import StatsWindow

    deck = load_deck()
    history = History(tmp_path / "h.sqlite3")
    window = MainWindow(AppContext(deck=deck, history=history))
    qtbot.addWidget(window)
    window.grill_action.trigger()
    view = window.grill
    assert view is not None and window.stack.currentWidget() is view
    items = view.session.items
    assert len(items) == 10 and len({it.card.id for it in items}) == 10  # new questions, one card each
    words = next(i for i, it in enumerate(items) if it.kind == "words")
    while view.session.index < words:
        view.session.time_out()
        view.next_question()
    view.reveal()
    view.grade("easy")
    assert history.grill_stats().answered == words + 1
    window.show_deck()  # leaving closes the grill
    assert window.grill is None and window.stack.currentWidget() is window.browser
    stats = StatsWindow(history, {c.id: c.title for c in deck}, open_reviews=False)
    qtbot.addWidget(stats)
    rows = stats.grill_rows()
    assert rows[-1][:4] == ["All cards", str(words + 1), "1", f"{1 / (words + 1):.0%}"]
    history.close()
