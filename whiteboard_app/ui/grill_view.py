"""The grill view: rapid questions one at a time, timed, answered with the pen or the keyboard.

A :class:`~whiteboard_app.sessions.grill.GrillSession` holds the questions and records the answers (FSRS
per question, history). Per question: the prompt, a countdown (the question's ``time_s``, 15-120 s) and

- a **maths** question: a small board to write on (read by the recogniser in a worker after "Read ink" or
  a pause in writing) and a LaTeX line (Enter checks). The checker judges equivalence in a worker
  (``sessions.grill.check_answer``); the verdict, the expected answer and the time are shown.
- a **words** question: a notes box; "Show key points" reveals the model answer and its key points, then
  Again / Hard / Good / Easy grade it.

When the time runs out before an answer, the question is recorded as not answered (Again) and the answer
is shown. "Next" moves on; the last question shows the session's accuracy and median time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import whiteboard_app.ui.pyside_guard  # noqa: F401 - PySide6 6.12 workaround, before any Qt widget
from whiteboard_app.ink.model import StepInk
from whiteboard_app.ink.page import Page
from whiteboard_app.recognition.base import RecognitionContext
from whiteboard_app.sessions.clock import Clock, SystemClock
from whiteboard_app.sessions.grill import GrillItem, GrillResult, GrillSession, check_answer
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.mathtext import render_pixmap
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.workers import Worker, WorkerPool

VERDICT_TEXT = {
    "correct": ("\u2713 correct", "#1b7a2b"),
    "wrong": ("\u2717 wrong", "#b3261e"),
    "unparsed": ("? could not read that", "#8a5a00"),
    "cannot_check": ("? cannot check that", "#8a5a00"),
}


def _fmt_s(ms: float) -> str:
    s = max(0, int(round(ms / 1000.0)))
    return f"{s // 60}:{s % 60:02d}"


class GrillView(QWidget):
    """One grill session in a widget. ``items``: the questions (``sessions.grill.pick_questions``);
    ``scheduler``: a ``sessions.scheduler.Scheduler`` (None: nothing recorded); ``recognizer()``: the
    loaded recogniser or None; ``compare``: the checker's compare (default ``maths.compare``); ``clock`` and
    ``now`` for tests; ``read_pause_ms``: writing pause before the ink is read (0: only on "Read ink").

    Signals: ``answered(object GrillResult)``, ``finished(dict summary)``, ``back_requested()``.
    """

    answered = Signal(object)
    finished = Signal(dict)
    back_requested = Signal()

    def __init__(
        self,
        items: Sequence[GrillItem],
        *,
        scheduler=None,
        recognizer: Callable[[], Any] = lambda: None,
        compare=None,
        clock: Clock | None = None,
        now: Callable[[], datetime] | None = None,
        read_pause_ms: int = 900,
        tick_ms: int = 200,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = GrillSession(items, scheduler, clock or SystemClock(), compare=compare, now=now)
        self.recognizer = recognizer
        self.compare = compare
        self.pool = WorkerPool(QThreadPool(), parent=self)
        self.pool.pool.setMaxThreadCount(1)
        self._answer_ms: float | None = None
        self._pending: Worker | None = None
        self._revealed = False
        self.last_result: GrillResult | None = None

        self.progress_label = QLabel()
        self.progress_label.setObjectName("grillProgress")
        self.clock_label = QLabel()
        self.clock_label.setObjectName("grillClock")
        self.clock_label.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.time_bar = QProgressBar()
        self.time_bar.setTextVisible(False)
        self.time_bar.setMaximumHeight(10)
        back = QPushButton("\u2190 Deck")
        back.clicked.connect(self.back_requested.emit)
        top = QHBoxLayout()
        top.addWidget(back)
        top.addWidget(self.progress_label, 1)
        top.addWidget(self.clock_label)

        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("grillPrompt")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setStyleSheet("font-size: 19px; padding: 8px 2px;")

        # maths: ink + keyboard
        self.page_model = PageModel(Page(), parent=self)
        self.canvas = BoardCanvas(self.page_model)
        self.canvas.setMinimumHeight(180)
        if hasattr(self.canvas, "set_stylus_only"):
            self.canvas.set_stylus_only(False)
        self.read_button = QPushButton("Read ink")
        self.read_button.clicked.connect(self.read_ink)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self._clear_ink)
        self.latex_edit = QLineEdit()
        self.latex_edit.setPlaceholderText("or type the answer in LaTeX and press Enter")
        self.latex_edit.returnPressed.connect(self.submit_keyboard)
        self.check_button = QPushButton("Check")
        self.check_button.clicked.connect(self.submit_keyboard)
        self.reading_label = QLabel()
        self.reading_label.setObjectName("grillReading")
        ink_row = QHBoxLayout()
        ink_row.addWidget(self.read_button)
        ink_row.addWidget(self.clear_button)
        ink_row.addWidget(self.reading_label, 1)
        key_row = QHBoxLayout()
        key_row.addWidget(self.latex_edit, 1)
        key_row.addWidget(self.check_button)
        maths = QWidget()
        ml = QVBoxLayout(maths)
        ml.setContentsMargins(0, 0, 0, 0)
        ml.addWidget(self.canvas, 1)
        ml.addLayout(ink_row)
        ml.addLayout(key_row)

        # words: notes, reveal, self-grade
        self.notes = QPlainTextEdit()
        self.notes.setPlaceholderText("Answer out loud or jot the key points here, then show the key points.")
        self.reveal_button = QPushButton("Show key points")
        self.reveal_button.clicked.connect(self.reveal)
        self.grade_buttons: dict[str, QPushButton] = {}
        grade_row = QHBoxLayout()
        grade_row.addWidget(self.reveal_button)
        for g in ("again", "hard", "good", "easy"):
            b = QPushButton(g.capitalize())
            b.setObjectName(f"grade_{g}")
            b.clicked.connect(lambda _=False, g=g: self.grade(g))
            self.grade_buttons[g] = b
            grade_row.addWidget(b)
        words = QWidget()
        wl = QVBoxLayout(words)
        wl.setContentsMargins(0, 0, 0, 0)
        wl.addWidget(self.notes, 1)
        wl.addLayout(grade_row)

        self.answer_stack = QStackedWidget()
        self.answer_stack.addWidget(maths)
        self.answer_stack.addWidget(words)

        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("grillVerdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setStyleSheet("font-size: 17px;")
        self.expected_label = QLabel()
        self.expected_label.setObjectName("grillExpected")
        self.expected_label.setWordWrap(True)
        self.expected_label.setTextFormat(Qt.TextFormat.RichText)
        self.expected_pix = QLabel()
        self.next_button = QPushButton("Next question \u2192")
        self.next_button.clicked.connect(self.next_question)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("grillSummary")
        self.summary_label.setWordWrap(True)
        self.summary_label.setStyleSheet("font-size: 17px;")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.time_bar)
        layout.addWidget(self.prompt_label)
        layout.addWidget(self.answer_stack, 1)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.expected_pix)
        layout.addWidget(self.expected_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.next_button, 0, Qt.AlignmentFlag.AlignRight)

        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        self.read_timer = QTimer(self)
        self.read_timer.setSingleShot(True)
        self.read_timer.timeout.connect(self.read_ink)
        self.read_pause_ms = read_pause_ms
        if hasattr(self.canvas, "inkActivity") and read_pause_ms > 0:
            self.canvas.inkActivity.connect(lambda: self.read_timer.start(self.read_pause_ms))
        self.next_question()

    # ------------------------------------------------------------------------------------ flow
    @property
    def current(self) -> GrillItem | None:
        return self.session.current

    def next_question(self) -> None:
        """Open the next question (or show the summary after the last)."""
        if self._pending is not None:
            return
        item = self.session.start()
        self._answer_ms, self._revealed, self.last_result = None, False, None
        self.verdict_label.clear()
        self.expected_label.clear()
        self.expected_pix.clear()
        self.reading_label.clear()
        self.latex_edit.clear()
        self.notes.clear()
        self.page_model.set_page(Page())
        if item is None:
            self._show_summary()
            return
        n = len(self.session.items)
        self.progress_label.setText(f"Question {self.session.index + 1} of {n} \u00b7 {item.card.title}")
        self.prompt_label.setText(item.question.prompt)
        self.answer_stack.setCurrentIndex(0 if item.kind == "maths" else 1)
        self.time_bar.setRange(0, int(item.time_limit_ms))
        self._set_answering(True)
        self.next_button.setEnabled(False)
        self.summary_label.clear()
        self.tick()
        self.timer.start()

    def tick(self) -> None:
        """Update the countdown; record a time-out when it reaches zero with no answer."""
        item = self.current
        if item is None or self._answer_ms is not None:
            return
        left = self.session.remaining_ms()
        self.clock_label.setText(_fmt_s(left))
        self.time_bar.setValue(int(max(0.0, left)))
        self.clock_label.setStyleSheet(
            "font-size: 20px; font-weight: bold;" + (" color: #b3261e;" if left < 10_000 else "")
        )
        if left <= 0 and not self._revealed:
            self.timer.stop()
            self.read_timer.stop()
            self._answer_ms = self.session.elapsed_ms()
            self._done(self.session.time_out(), "\u231b time is up")

    # ----------------------------------------------------------------------------------- maths
    def submit_keyboard(self) -> None:
        """Check the typed LaTeX answer."""
        text = self.latex_edit.text().strip()
        if text:
            self.submit_latex(text)

    def submit_latex(self, latex: str) -> None:
        """Check ``latex`` as the answer to the current maths question (in a worker)."""
        item = self.current
        if item is None or item.kind != "maths" or self._answer_ms is not None or self._pending is not None:
            return
        self._answer_ms = self.session.elapsed_ms()
        self.timer.stop()
        self.read_timer.stop()
        self._set_answering(False)
        self.verdict_label.setText("checking\u2026")
        self.verdict_label.setStyleSheet("font-size: 17px; color: #555;")
        worker = Worker(check_answer, item, latex, self.compare)
        self._pending = worker
        self.pool.submit(
            worker, on_result=lambda v, latex=latex: self._on_verdict(latex, v), on_error=self._on_check_error
        )

    def read_ink(self) -> None:
        """Read the ink with the recogniser (in a worker), then check the best reading."""
        item = self.current
        self.read_timer.stop()
        if item is None or item.kind != "maths" or self._answer_ms is not None or self._pending is not None:
            return
        # the answer is one line: the ink of every band (a tall fraction may spill into a second one)
        ink = StepInk(tuple(s for step in self.page_model.page.steps for s in step.strokes))
        if ink.is_empty:
            self.reading_label.setText("write the answer on the board first")
            return
        recognizer = self.recognizer()
        if recognizer is None:
            self.reading_label.setText("the recogniser is still loading: type the answer meanwhile")
            return
        q = item.question
        context = RecognitionContext(((q.answer, "reference"), *((r, "mistake") for r in q.reject)))
        self._answer_ms = self.session.elapsed_ms()
        self.timer.stop()
        self._set_answering(False)
        self.reading_label.setText("reading\u2026")

        def job():
            result = recognizer.recognize(ink, context)
            latex = result.best
            return latex, (check_answer(item, latex, self.compare) if latex else None)

        worker = Worker(job)
        self._pending = worker
        self.pool.submit(worker, on_result=self._on_ink_read, on_error=self._on_check_error)

    def _on_ink_read(self, value) -> None:
        latex, verdict = value
        self._pending = None
        if latex is None:  # nothing read: the user may write again or type
            self._answer_ms = None
            self._set_answering(True)
            self.reading_label.setText("could not read the ink: write it again or type it")
            self.timer.start()
            self.tick()
            return
        self.reading_label.setText(f"read: {latex}")
        self._record_maths(latex, verdict)

    def _on_verdict(self, latex: str, verdict) -> None:
        self._pending = None
        self._record_maths(latex, verdict)

    def _record_maths(self, latex: str, verdict) -> None:
        result = self.session.answer_latex(latex, verdict=verdict, ms=self._answer_ms)
        text, colour = VERDICT_TEXT.get(verdict.verdict, (verdict.verdict, "#555"))
        if verdict.diagnosis:
            text += f" [{verdict.diagnosis}]"
        if verdict.verdict in ("unparsed", "cannot_check") and verdict.message:
            text += f": {verdict.message}"
        self._done(result, text, colour)

    def _on_check_error(self, message: str) -> None:
        self._pending = None
        self._answer_ms = None
        self._set_answering(True)
        self.verdict_label.setText(f"The answer could not be checked: {message}")
        self.timer.start()

    # ----------------------------------------------------------------------------------- words
    def reveal(self) -> None:
        """Show the model answer and key points of a word question (the time to answer stops here)."""
        item = self.current
        if item is None or item.kind != "words" or self._revealed or self._answer_ms is not None:
            return
        self._revealed = True
        self._reveal_ms = self.session.elapsed_ms()
        self.timer.stop()
        self.reveal_button.setEnabled(False)
        for b in self.grade_buttons.values():
            b.setEnabled(True)
        self._show_expected(item)
        self.verdict_label.setText("Compare with the key points, then grade yourself.")
        self.verdict_label.setStyleSheet("font-size: 17px; color: #333;")

    def grade(self, self_grade: str) -> None:
        """Self-grade the revealed word answer (again / hard / good / easy)."""
        item = self.current
        if item is None or item.kind != "words" or not self._revealed or self.last_result is not None:
            return
        result = self.session.answer_words(self_grade, ms=self._reveal_ms)
        self._answer_ms = self._reveal_ms
        self._done(result, f"graded: {self_grade}", "#1b7a2b" if result.correct else "#b3261e")

    # ---------------------------------------------------------------------------------- common
    def _set_answering(self, on: bool) -> None:
        words = self.current is not None and self.current.kind == "words"
        for w in (self.read_button, self.clear_button, self.latex_edit, self.check_button):
            w.setEnabled(on and not words)
        self.canvas.set_read_only(not on) if hasattr(self.canvas, "set_read_only") else None
        self.reveal_button.setEnabled(on and words)
        for b in self.grade_buttons.values():
            b.setEnabled(False)

    def _clear_ink(self) -> None:
        self.page_model.set_page(Page())
        self.reading_label.clear()

    def _show_expected(self, item: GrillItem) -> None:
        q = item.question
        if item.kind == "maths":
            pix = render_pixmap(q.answer, 16.0)
            if pix is not None:
                self.expected_pix.setPixmap(pix)
            self.expected_label.setText(
                f"expected: <code>{_esc(q.answer)}</code>"
                + (
                    f" &nbsp;(also {', '.join(f'<code>{_esc(a)}</code>' for a in q.accept[:2])})"
                    if q.accept
                    else ""
                )
            )
        else:
            points = "".join(f"<li>{_esc(p)}</li>" for p in q.key_points)
            self.expected_label.setText(
                f"<ul style='margin:0'>{points}</ul><p style='color:#444'>{_esc(q.answer)}</p>"
            )

    def _done(self, result: GrillResult, text: str, colour: str = "#b3261e") -> None:
        self.last_result = result
        self._set_answering(False)
        ms = result.ms
        when = f" in {ms / 1000:.1f} s" if ms is not None else ""
        self.verdict_label.setText(text + when)
        self.verdict_label.setStyleSheet(f"font-size: 17px; color: {colour};")
        if not self._revealed or result.item.kind == "maths":
            self._show_expected(result.item)
        self.next_button.setEnabled(True)
        last = self.session.index + 1 >= len(self.session.items)
        self.next_button.setText("Finish" if last else "Next question \u2192")
        self.next_button.setFocus()
        self.answered.emit(result)

    def _show_summary(self) -> None:
        self.timer.stop()
        s = self.session.summary()
        self.progress_label.setText("Grill finished")
        self.prompt_label.setText("")
        self.clock_label.clear()
        acc = f"{100 * s['accuracy']:.0f} %" if s["accuracy"] is not None else "-"
        med = f"{s['median_ms'] / 1000:.1f} s" if s["median_ms"] is not None else "-"
        self.summary_label.setText(
            f"{s['correct']} of {s['answered']} right ({acc}), median {med} a question."
        )
        self.next_button.setEnabled(False)
        self._set_answering(False)
        self.finished.emit(s)

    def shutdown(self) -> None:
        """Stop the timers and drop running work (the view is being closed)."""
        self.timer.stop()
        self.read_timer.stop()
        self.pool.cancel_all()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
