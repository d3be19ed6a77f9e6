"""The interviewer panel: after the last step (or on demand) the card's follow-ups one at a time, an
answer box, then the model answer and key points; the card's "say it out loud" interpretation sentence
is asked for as the last question; then a self-grade (Again / Hard / Good / Easy) for the scheduler, after
which the interviewer closes with ``CLOSING_QUESTION`` ("when did you last use this maths, and when did
the framework hide it from you?"), to answer out loud.

Signals: ``answered(index, question, answer)`` when a model answer is revealed (the user's answer is
kept as written), ``graded(rating)`` with rating one of ``GRADES`` (lower case, FSRS's rating names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.sessions import wording
from whiteboard_app.ui.prose import prose_html

GRADES = ("again", "hard", "good", "easy")

INTERPRETATION_QUESTION = "Say it out loud: what does the result mean?"

#: asked once the card is graded, as at the end of an onsite (its last 15 minutes): not graded, no model answer
CLOSING_QUESTION = (
    "One last question: when did you last use this maths in your own work, and when did the "
    "framework hide it from you?"
)


@dataclass(frozen=True)
class Question:
    """One question of the interview: the text, the model answer and its key points."""

    question: str
    answer: str
    key_points: tuple[str, ...] = ()


def questions_for(card) -> list[Question]:
    """The card's follow-ups in order, then the interpretation sentence as the last question."""
    qs = [Question(f.question, f.answer, tuple(f.key_points)) for f in getattr(card, "followups", [])]
    interpretation = getattr(card, "interpretation", "")
    if interpretation:
        qs.append(Question(INTERPRETATION_QUESTION, interpretation, ()))
    return qs


class InterviewerPanel(QWidget):
    """Asks ``card``'s questions one at a time. ``start()`` (re)starts at the first question."""

    answered = Signal(int, str, str)
    graded = Signal(str)
    next_card_requested = Signal()

    def __init__(self, card, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.questions = questions_for(card)
        self.opening: Question | None = None
        self.suggested: str | None = None
        self.index = 0
        self.revealed = False
        self.answers: list[str] = []
        self.grade: str | None = None

        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("runSummary")
        self.summary.setStyleSheet("background: #f3f3f3; padding: 6px; font-family: monospace;")
        self.progress = QLabel()
        self.progress.setStyleSheet("color: #555;")
        self.question = QLabel()
        self.question.setWordWrap(True)
        self.question.setStyleSheet("font-size: 16px; font-weight: bold;")
        self.answer_box = QPlainTextEdit()
        self.answer_box.setPlaceholderText("Your answer, as you would say it to the interviewer")
        self.answer_box.setMaximumHeight(110)
        self.model_answer = QLabel()
        self.model_answer.setWordWrap(True)
        self.model_answer.setObjectName("modelAnswer")
        self.model_answer.setStyleSheet("background: #eef5ee; padding: 6px;")
        self.reveal_button = QPushButton("&Show the model answer")
        self.reveal_button.setToolTip("Ctrl+Enter")
        self.reveal_button.clicked.connect(self.reveal)
        self.next_button = QPushButton("&Next question")
        self.next_button.setToolTip("Ctrl+Enter once the model answer is shown")
        self.next_button.clicked.connect(self.next)
        self.grade_label = QLabel("How did this card go? Your grade sets when it is due again.")
        self.grade_buttons: dict[str, QPushButton] = {}
        grade_row = QHBoxLayout()
        for g in GRADES:
            b = QPushButton("&" + g.capitalize())  # Alt+A / Alt+H / Alt+G / Alt+E
            b.clicked.connect(lambda _=False, g=g: self.give_grade(g))
            self.grade_buttons[g] = b
            grade_row.addWidget(b)
        self.done_label = QLabel()
        self.done_label.setWordWrap(True)
        self.done_label.setObjectName("gradeMessage")
        self.due: datetime | None = None
        self.next_button_card = QPushButton("Next card \u2192")
        self.next_button_card.setObjectName("nextCard")
        self.next_button_card.clicked.connect(self.next_card_requested.emit)
        self.next_button_card.setVisible(False)

        buttons = QHBoxLayout()
        buttons.addWidget(self.reveal_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Interviewer</b>"))
        layout.addWidget(self.summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.question)
        layout.addWidget(self.answer_box)
        layout.addLayout(buttons)
        layout.addWidget(self.model_answer)
        layout.addWidget(self.grade_label)
        layout.addLayout(grade_row)
        layout.addWidget(self.done_label)
        layout.addWidget(self.next_button_card)
        layout.addStretch(1)
        self.summary.setVisible(False)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self, self.advance)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.start()

    def advance(self) -> None:
        """The keyboard's way through (Ctrl+Enter): show the model answer, then go to the next question."""
        if self.finished:
            return
        if self.revealed:
            self.next()
        else:
            self.reveal()
        self.focus_current()

    def focus_current(self) -> None:
        """Put the keyboard focus where the user acts next: the answer box, or the first grade button."""
        if not self.finished:
            self.answer_box.setFocus()
        elif self.grade is None:
            self.grade_buttons[GRADES[0]].setFocus()

    def set_summary(self, text: str) -> None:
        """Show the end-of-run summary above the questions (empty hides it)."""
        self.summary.setText(text)
        self.summary.setVisible(bool(text))

    def set_grade_hints(self, suggested: str | None, preview: dict | None = None) -> None:
        """Mark the grade the run allows as suggested and show on each button when the card would be due
        again ({"good": "3 d"}), as Anki does; unknown grades are left as they are."""
        self.suggested = suggested if suggested in GRADES else None
        for g, b in self.grade_buttons.items():
            due = (preview or {}).get(g)
            text = "&" + g.capitalize() + (f" \u00b7 {due}" if due else "")
            b.setText(text)
            b.setToolTip(
                (f"due again in {due}" if due else "")
                + (" (suggested by the run)" if g == self.suggested else "")
            )
            font = b.font()
            font.setBold(g == self.suggested)
            b.setFont(font)
        if self.suggested:
            self.grade_label.setText(
                "How did this card go? Your grade sets when it is due again; the run "
                f"suggests \u201c{self.suggested.capitalize()}\u201d."
            )

    def set_opening(self, question: Question | None) -> None:
        """Ask ``question`` first (e.g. "walk me through how you got there" after a run that jumped to
        its result), before the card's follow-ups; None takes it away. Restarts the interview."""
        self.questions = ([question] if question is not None else []) + questions_for(self.card)
        self.opening = question
        self.start()

    @property
    def finished(self) -> bool:
        """True once every question has been answered (the grade buttons are shown)."""
        return self.index >= len(self.questions)

    def start(self) -> None:
        """Start again at the first question, forgetting the answers and the grade."""
        self.index, self.revealed, self.answers, self.grade = 0, False, [], None
        self._show()

    def reveal(self) -> None:
        """Keep the user's answer and show the model answer and key points."""
        if self.finished or self.revealed:
            return
        q = self.questions[self.index]
        answer = self.answer_box.toPlainText().strip()
        self.answers.append(answer)
        self.revealed = True
        self.answered.emit(self.index, q.question, answer)
        self._show()

    def next(self) -> None:
        """Go to the next question (revealing the current model answer first if needed)."""
        if self.finished:
            return
        if not self.revealed:
            self.reveal()
        self.index += 1
        self.revealed = False
        self.answer_box.clear()
        self._show()

    def give_grade(self, grade: str) -> None:
        """Record the self-grade (one of GRADES) and emit ``graded``. Raises ValueError for another word."""
        if grade not in GRADES:
            raise ValueError(f"unknown grade {grade!r}; expected one of {GRADES}")
        self.grade = grade
        self.graded.emit(grade)
        self._show()

    def offer_next(self, title: str | None, due: datetime | None = None) -> None:
        """After the grade: say when this card is due again (``due``, the scheduler's instant; None:
        unknown) and offer a "Next card" button naming ``title`` (None: no next card, no button)."""
        self.due = due
        self.next_button_card.setText(f"Next card: {title} \u2192" if title else "Next card \u2192")
        self.next_button_card.setToolTip(title or "")
        self.next_button_card.setVisible(bool(title) and self.grade is not None)
        self._show()

    def _show(self) -> None:
        n = len(self.questions)
        done = self.finished
        self.progress.setText(
            f"Question {min(self.index + 1, n)} of {n}" if n else "This card has no follow-ups"
        )
        for w in (self.question, self.answer_box, self.reveal_button, self.next_button):
            w.setVisible(not done)
        for b in self.grade_buttons.values():
            b.setVisible(done)
            b.setEnabled(self.grade is None)
        self.grade_label.setVisible(done)
        msg = wording.grade_message(self.grade, self.due) if self.grade else ""
        self.done_label.setText(
            f"{msg}<br><br><i>Interviewer:</i> \u201c{CLOSING_QUESTION}\u201d" if msg else ""
        )
        self.done_label.setVisible(bool(self.grade))
        if done:
            self.model_answer.setVisible(False)
            self.progress.setText("All questions answered")
            return
        q = self.questions[self.index]
        self.question.setText(q.question)
        self.answer_box.setReadOnly(self.revealed)
        self.reveal_button.setEnabled(not self.revealed)
        self.next_button.setText("&Next question" if self.index + 1 < n else "&Finish")
        if self.revealed:
            points = "".join(f"<li>{prose_html(p)}</li>" for p in q.key_points)  # maths in prose rendered
            self.model_answer.setText(
                f"<b>Model answer.</b> {prose_html(q.answer)}" + (f"<ul>{points}</ul>" if points else "")
            )
        self.model_answer.setVisible(self.revealed)
