"""The interviewer panel: follow-ups one at a time, model answer and key points, the interpretation
sentence, then the self-grade handed on."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.decks import bundled_deck_dir, load_card  # noqa: E402
from whiteboard_app.ui.interviewer import GRADES, INTERPRETATION_QUESTION, InterviewerPanel, questions_for  # noqa: E402


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / "sigmoid-derivative.toml")


def test_questions_are_the_followups_then_the_interpretation(card):
    qs = questions_for(card)
    assert [q.question for q in qs[:-1]] == [f.question for f in card.followups]
    assert qs[-1].question == INTERPRETATION_QUESTION and qs[-1].answer == card.interpretation


def test_follow_up_flow(qtbot, card):
    panel = InterviewerPanel(card)
    qtbot.addWidget(panel)
    panel.show()
    answered, graded = [], []
    panel.answered.connect(lambda i, q, a: answered.append((i, q, a)))
    panel.graded.connect(graded.append)
    n = len(card.followups) + 1

    # first question, model answer hidden until asked for
    assert panel.question.text() == card.followups[0].question
    assert panel.progress.text() == f"Question 1 of {n}"
    assert panel.model_answer.isHidden()
    assert all(b.isHidden() for b in panel.grade_buttons.values())

    panel.answer_box.setPlainText("At zero, slope 1/4")
    panel.reveal_button.click()
    assert not panel.model_answer.isHidden()
    from whiteboard_app.ui.prose import prose_html  # the model answer's maths is rendered (sigma -> σ)

    assert prose_html(card.followups[0].answer) in panel.model_answer.text()
    for point in card.followups[0].key_points:
        assert prose_html(point) in panel.model_answer.text()
    assert panel.answer_box.isReadOnly()
    assert answered == [(0, card.followups[0].question, "At zero, slope 1/4")]

    panel.next_button.click()
    assert panel.question.text() == card.followups[1].question
    assert panel.model_answer.isHidden() and panel.answer_box.toPlainText() == ""

    # Next without revealing still keeps the answer and moves on
    panel.answer_box.setPlainText("no, logistic ODE")
    panel.next_button.click()
    assert answered[-1][2] == "no, logistic ODE"
    assert panel.question.text() == INTERPRETATION_QUESTION
    assert panel.next_button.text() == "&Finish"
    panel.reveal_button.click()
    assert prose_html(card.interpretation) in panel.model_answer.text()
    panel.next_button.click()

    assert panel.finished
    assert panel.question.isHidden()
    assert all(not b.isHidden() for b in panel.grade_buttons.values())
    panel.grade_buttons["good"].click()
    assert graded == ["good"] and panel.grade == "good"
    assert not any(b.isEnabled() for b in panel.grade_buttons.values())  # graded once
    assert len(answered) == n


def test_grades_are_fsrs_rating_names(qtbot, card):
    assert GRADES == ("again", "hard", "good", "easy")
    panel = InterviewerPanel(card)
    qtbot.addWidget(panel)
    with pytest.raises(ValueError):
        panel.give_grade("great")


def test_summary_is_shown_above_the_questions(qtbot, card):
    panel = InterviewerPanel(card)
    qtbot.addWidget(panel)
    panel.show()
    assert panel.summary.isHidden()
    panel.set_summary("Time 2:10 against a target of 5:00")
    assert not panel.summary.isHidden() and "2:10" in panel.summary.text()


def test_the_interview_closes_with_the_when_did_you_use_it_question(qtbot, card):
    from whiteboard_app.ui.interviewer import CLOSING_QUESTION

    panel = InterviewerPanel(card)
    qtbot.addWidget(panel)
    for _ in panel.questions:
        panel.next()
    assert "when did the framework hide it" not in panel.done_label.text()
    panel.give_grade("good")
    assert CLOSING_QUESTION in panel.done_label.text() and "framework hide it from you" in CLOSING_QUESTION
