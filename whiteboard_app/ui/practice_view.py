"""The practice view: the board canvas on the left, a column of step panels on the right, the run timer
on top, and the interviewer panel once the derivation is done.

Data flow (docs/INTERFACES.md, ../shared/DESIGN.md): the canvas edits a ``PageModel`` through undo
commands; for every step whose ink changed, the view updates the ``PracticeModel`` and the ``Session``
and asks the ``StepReader`` to read the step after a writing pause (or at once when the step ends).
Reading + checking (``pipeline.process_step``) and rechecking a correction (``pipeline.recheck``) run in
QThreadPool workers; their results update the models, which the panels display. A correction or a
pick from the n-best list is a ``ReadingCommand`` on the canvas's undo stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app import pipeline
from whiteboard_app.ink import StepInk
from whiteboard_app.ink.page import Page
from whiteboard_app.sessions import wording
from whiteboard_app.sessions.clock import Clock, SystemClock
from whiteboard_app.sessions.practice import (
    WALK_THROUGH_QUESTION,
    PracticeRun,
    StepResults,
    record_state,
    sync_after_shift,
)
from whiteboard_app.sessions.prompts import stall_prompt
from whiteboard_app.sessions.run import RunJudgement
from whiteboard_app.sessions.session import Session
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.confirm import confirm
from whiteboard_app.ui.interviewer import InterviewerPanel, Question
from whiteboard_app.ui.layout_helpers import FIRST_RUN_TEXT, SIDE_MIN, ElidedLabel, is_portrait, side_width
from whiteboard_app.ui.mathtext import render_text_pixmap
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.practice_model import CHECKING, DONE, EMPTY, READING, WAITING, PracticeModel, StepState
from whiteboard_app.ui.prose import prose_html
from whiteboard_app.ui.step_panel import VERDICT_STYLE, StepPanel, chip_style, verdict_words
from whiteboard_app.ui.timer_widget import TimerWidget, format_ms, summary_text
from whiteboard_app.ui.undo import NewStepCommand, ReadingCommand, push_board_history
from whiteboard_app.ui.workers import DEFAULT_PAUSE_MS, StepReader, Worker, WorkerPool

#: Thread pools of closed practice views, kept alive until their last read has finished (a QThreadPool
#: waits for its threads when destroyed, which would freeze the window on leaving a card).
_RETIRED_POOLS: list[QThreadPool] = []
#: A card's givens are shown as one rendered line beside the prompt up to this width (px); wider ones
#: wrap as rich text on a line of their own.
SETUP_PIXMAP_MAX_W = 520


@dataclass
class PracticeServices:
    """What the practice view needs from the application (all optional, so tests pass only what they use).

    ``recognizer()`` returns the loaded recogniser or None while it loads (``recognizer_status()`` says
    why in words); ``target_s(card)`` the run's time target in s; ``on_session(session)`` is called with each new Session (e.g. autosave);
    ``on_graded(card_id, grade, session)`` after the self-grade; ``on_ungraded(card_id, session)`` when a
    finished run is left without one (recorded with its suggested rating); ``grade_preview(card_id)``
    when each grade would make the card due ({"good": "3 d", ...}); ``check`` replaces
    ``maths.check_step`` and ``near_misses=False`` leaves the checker's generated near misses out of the
    recogniser's context (tests with fakes).
    """

    recognizer: Callable[[], Any] = lambda: None
    recognizer_status: Callable[[], str] = lambda: "the recogniser is loading"
    pause_ms: int = DEFAULT_PAUSE_MS
    clock: Clock = field(default_factory=SystemClock)
    target_s: Callable[[Any], float] = lambda card: float(card.targets.cold_s)
    on_session: Callable[[Session], None] = lambda session: None
    on_graded: Callable[[str, str, Session], None] = lambda card_id, grade, session: None
    on_ungraded: Callable[[str, Session], None] = lambda card_id, session: None
    grade_preview: Callable[[str], dict] = lambda card_id: {}
    check: Callable[..., Any] | None = None
    pressure_gamma: float = 1.0
    stylus_only: bool = True
    near_misses: bool = True
    make_canvas: Callable[..., QWidget] | None = None


def _make_canvas(page_model: PageModel, undo_stack: QUndoStack, services: PracticeServices) -> QWidget:
    """The board canvas (ui/canvas.py) sharing the view's undo stack, with the pressure curve set."""
    if services.make_canvas is not None:
        return services.make_canvas(page_model, undo_stack)
    canvas = BoardCanvas(page_model, undo_stack=undo_stack)
    canvas.set_pressure_curve(services.pressure_gamma)
    return canvas


__all__ = ["WALK_THROUGH_QUESTION", "PracticeServices", "PracticeView"]


class PracticeView(QWidget):
    """One run on ``card``: canvas, step panels, timer, interviewer. ``run_finished(summary_text)`` is
    emitted when the run ends: the derivation complete (every milestone shown and the result reached,
    ``sessions/run.py``; the clock stops and a banner says so, with a button to the interviewer) or Done;
    ``back_requested()`` when the user leaves for the deck."""

    run_finished = Signal(str)
    back_requested = Signal()

    def __init__(
        self, card, services: PracticeServices | None = None, parent: QWidget | None = None, resume=None
    ) -> None:
        super().__init__(parent)
        self.card = card
        self.services = services or PracticeServices()
        if resume is not None:  # an unfinished board offered back on launch: its time goes on
            self.session = Session.resume(resume, self.services.clock)
        else:
            self.session = Session(
                card.id,
                self.services.clock,
                target_s=float(self.services.target_s(card)),
                card_title=card.title,
            )
        self.services.on_session(self.session)
        self.practice = PracticeRun(card, self.session)  # the run logic, Qt-free (sessions/practice.py)
        self.model = PracticeModel(card, self)
        self.page_model = PageModel(parent=self)
        if resume is not None:
            self._restore(resume)
        self.undo_stack = QUndoStack(self)
        if resume is not None:  # Undo after Resume takes back what was written before (issue 16)
            push_board_history(self.undo_stack, self.page_model, resume)
        # its own threads: a slow read on this board never waits behind other windows' work. The pool has
        # no Qt parent: leaving the card must not block on a read still running (see shutdown()).
        self.pool = WorkerPool(QThreadPool(), parent=self)
        self.pool.pool.setMaxThreadCount(2)
        self.reader = StepReader(
            self._read_job, self.model.signature, self.services.pause_ms, self.pool, self
        )
        self.reader.started.connect(self.model.mark_reading)
        self.reader.result_ready.connect(self._on_result)
        self.reader.failed.connect(self._on_read_failed)
        self._recheck_workers: dict[int, Worker] = {}
        self._chains: dict[tuple, list[int]] = {}  # (latex, previous readings) -> reference steps inside
        # finished step states by (ink signature, previous readings), for undo/redo, and the recogniser's
        # results by ink signature (the evidence pipeline.correction_kind fits corrections to)
        self.results = StepResults()
        self._shifting = False  # between PageModel.stepsShifted and the pageChanged that follows
        self._retried: set[tuple[int, tuple]] = set()  # (step, ink signature) read again after a time-out
        self.model.step_changed.connect(self._remember_from)
        self.model.step_changed.connect(self._mark_step)
        self.model.step_changed.connect(self._refresh_run_notes)
        self.panels: list[StepPanel] = []
        self._bands = 1  # number of step bands on the page last seen

        # --- header
        self.title = ElidedLabel(min_width=90)  # the whole title when the row has room, "…" only when not
        font = self.title.font()
        font.setPixelSize(16)
        font.setBold(True)
        self.title.setFont(font)
        self.title.set_full_text(card.title)
        self.prompt = QLabel(card.prompt)
        self.prompt.setWordWrap(True)
        self.setup = QLabel()
        setup_pix = render_text_pixmap(card.setup) if card.setup else None
        if setup_pix is not None and setup_pix.width() <= SETUP_PIXMAP_MAX_W:
            self.setup.setPixmap(setup_pix)
        else:  # a long setup: rich text with its maths (sup/sub, symbols) that wraps over the full width
            self.setup.setTextFormat(Qt.TextFormat.RichText)
            self.setup.setText(prose_html(card.setup or ""))
            self.setup.setWordWrap(True)
        self.setup.setToolTip(card.setup)
        self.setup.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.timer = TimerWidget(self.session)
        self.timer.stall_prompt = lambda step, ms, card=card: stall_prompt(
            card, step, ms
        )  # sessions/prompts.py
        self.back_button = QPushButton("\u2190 Deck")
        self.back_button.clicked.connect(self.back_requested.emit)
        self.new_step_button = QPushButton("New step")
        self.new_step_button.setToolTip("Start the next step (Enter on the board)")
        self.new_step_button.clicked.connect(self.new_step)
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.undo_button.setToolTip("Undo (Ctrl+Z): strokes, erasures, moves, splits, readings")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QToolButton()
        self.redo_button.setText("Redo")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z)")
        self.redo_button.clicked.connect(self.redo)
        self.undo_stack.canUndoChanged.connect(
            lambda on: self.undo_button.setEnabled(on and not self.session.finished)
        )
        self.undo_stack.canRedoChanged.connect(
            lambda on: self.redo_button.setEnabled(on and not self.session.finished)
        )
        self.undo_button.setEnabled(self.undo_stack.canUndo() and not self.session.finished)
        self.redo_button.setEnabled(False)
        self.keyboard_box = QCheckBox("Keyboard only")
        self.keyboard_box.setToolTip("Type each step's LaTeX instead of writing it (Ctrl+K)")
        self.keyboard_box.toggled.connect(self.set_keyboard_mode)
        self.interview_button = QPushButton("Interviewer")
        self.interview_button.clicked.connect(self.show_interviewer)
        self.finish_button = QPushButton("Done")
        self.finish_button.setToolTip("End the run: stop the clock and go to the interviewer")
        self.finish_button.clicked.connect(self.request_finish)
        bar = QHBoxLayout()
        for w in (self.back_button, self.title):
            bar.addWidget(w)
        bar.addWidget(self.timer, 1)
        for w in (
            self.new_step_button,
            self.undo_button,
            self.redo_button,
            self.interview_button,
            self.finish_button,
        ):
            bar.addWidget(w)

        self.status = QLabel()
        self.status.setObjectName("practiceStatus")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #8a6d00;")
        # the run as a derivation (sessions/run.py): "correct, but unsupported: ..." while milestones are
        # missing, then the end of the run ("Derivation complete in 3:12", a button to the interviewer)
        self.run_label = QLabel()
        self.run_label.setObjectName("runState")
        self.run_label.setWordWrap(True)
        self.run_button = QPushButton("&Interviewer →")
        self.run_button.setObjectName("runToInterviewer")
        self.run_button.setToolTip("The follow-up questions, then the grade")
        self.run_button.clicked.connect(self.show_interviewer)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):  # Enter on the focused button, as in a dialog
            QShortcut(
                QKeySequence(key),
                self.run_button,
                self.run_button.click,
                context=Qt.ShortcutContext.WidgetShortcut,
            )
        self.run_banner = QWidget()
        self.run_banner.setObjectName("runBanner")
        banner = QHBoxLayout(self.run_banner)
        banner.setContentsMargins(6, 2, 6, 2)
        banner.addWidget(self.run_label, 1)
        banner.addWidget(self.run_button)
        self.run_banner.setVisible(False)
        self._run: RunJudgement | None = None

        # --- canvas | steps / interviewer
        self.canvas = _make_canvas(self.page_model, self.undo_stack, self.services)
        self.steps_box = QWidget()
        self.steps_layout = QVBoxLayout(self.steps_box)
        self.steps_layout.setContentsMargins(4, 4, 4, 4)
        self.first_run = QLabel(FIRST_RUN_TEXT)  # the empty state teaches the three gestures
        self.first_run.setObjectName("firstRunHelp")
        self.first_run.setWordWrap(True)
        self.first_run.setTextFormat(Qt.TextFormat.RichText)
        self.first_run.setStyleSheet(
            "background: #f4f7fc; border: 1px solid #d5deee; border-radius: 4px; padding: 8px; color: #333;"
        )
        self.steps_layout.addWidget(self.first_run)
        self.steps_layout.addStretch(1)
        self.steps_scroll = QScrollArea()
        self.steps_scroll.setWidgetResizable(True)
        self.steps_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps_scroll.setWidget(self.steps_box)
        self.interviewer = InterviewerPanel(card)
        self.interviewer.answered.connect(lambda i, q, a: self.session.record_followup(i, q, a))
        self.interviewer.graded.connect(self._on_graded)
        self.side = QStackedWidget()
        self.side.addWidget(self.steps_scroll)
        self.side.addWidget(self.interviewer)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)  # the steps column keeps its width; the board takes the rest
        self.splitter.setChildrenCollapsible(False)
        self.side.setMinimumWidth(SIDE_MIN - 40)
        self._portrait: bool | None = None
        self._user_split = False
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_split", True))

        # --- tools of the canvas
        tools = QHBoxLayout()
        self.tool_buttons: dict[str, QPushButton] = {}
        for name, label in (("pen", "Pen"), ("eraser", "Eraser"), ("lasso", "Lasso")):
            b = QPushButton(label)
            b.setCheckable(True)
            b.setChecked(name == "pen")
            b.clicked.connect(lambda _=False, n=name: self.set_tool(n))
            self.tool_buttons[name] = b
            tools.addWidget(b)
        self.clear_button = QPushButton("Clear step")
        self.clear_button.clicked.connect(self.clear_active_step)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Zoom to fit the board (Ctrl+wheel zooms, wheel pans)")
        self.fit_button.clicked.connect(lambda: getattr(self.canvas, "zoom_to_fit", lambda: None)())
        tools.addWidget(self.clear_button)
        tools.addWidget(self.fit_button)
        tools.addWidget(self.keyboard_box)
        tools.addStretch(1)
        tools.addWidget(self.status, 3)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        prompt_row = QHBoxLayout()
        prompt_row.addWidget(self.prompt, 3)
        if self.setup.pixmap() is not None and not self.setup.pixmap().isNull():
            # short givens rendered as one line of maths, beside the prompt (the prompt wraps)
            prompt_row.addSpacing(16)
            prompt_row.addWidget(self.setup, 0)
            layout.addLayout(prompt_row)
        else:  # long givens: their own full-width line, wrapped (never a narrow column)
            layout.addLayout(prompt_row)
            layout.addWidget(self.setup)
        self.tools_box = QWidget()
        self.tools_box.setLayout(tools)
        tools.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tools_box)
        layout.addWidget(self.run_banner)
        layout.addWidget(self.splitter, 1)

        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo)
        QShortcut(QKeySequence.StandardKey.Redo, self, self.redo)

        if hasattr(self.canvas, "activeStepChanged"):
            self.canvas.activeStepChanged.connect(self._on_active_step)
        if hasattr(self.canvas, "inkActivity"):
            self.canvas.inkActivity.connect(self.reader.postpone)
        if hasattr(self.canvas, "set_clock"):
            self.canvas.set_clock(self.session.elapsed_ms)  # point times in session ms
        if hasattr(self.canvas, "set_stylus_only"):
            self.canvas.set_stylus_only(self.services.stylus_only)
        self.page_model.stepInkChanged.connect(self._on_step_ink)
        self.page_model.bandsChanged.connect(self._on_bands)
        self.page_model.readingChanged.connect(self._on_reading_changed)
        self.page_model.stepsShifted.connect(self._on_steps_shifted)
        self.page_model.pageChanged.connect(self._on_page_changed)
        self.model.steps_changed.connect(self._sync_panels)
        self.page_model.pageChanged.connect(self._update_first_run)
        self.model.step_changed.connect(self._update_first_run)
        self._bands = len(self.page_model.page.steps)
        self._sync_panels()
        self._update_first_run()
        for k in range(len(self.model)):  # a resumed board's verdicts beside its steps
            self._mark_step(k)
        self.update_status()
        if self.services.check is None:  # warm the real checker while the user reads the prompt
            # and the recogniser's worker typesets the card's forms for its verifier meanwhile
            self.pool.submit(Worker(pipeline.prepare, card, self.services.recognizer()))
        for k, st in enumerate(self.model.steps):  # resumed steps whose ink was never read
            if st.status == WAITING:
                self.reader.ink_changed(k)

    def _restore(self, board) -> None:
        """Lay out a resumed board's steps as bands and show their last readings and verdicts."""
        records = sorted(board.steps, key=lambda st: st.index)
        if not records:
            return
        by_index = {st.index: st for st in records}
        n = max(by_index) + 1
        inks = [by_index[k].ink if k in by_index else StepInk() for k in range(n)]
        self.page_model.set_page(Page.from_steps(inks))
        self.model.ensure_steps(len(self.page_model.page.steps))
        for k in range(len(self.page_model.page.steps)):
            st = by_index.get(k)
            ink = self.page_model.page.steps[k]
            latex = st.latex if st is not None else None
            verdict = st.verdict if st is not None else None
            status = DONE if (latex or verdict is not None) else (WAITING if not ink.is_empty else EMPTY)
            self.model.steps[k] = StepState(ink=ink, latex=latex, verdict=verdict, status=status)
            if latex:
                self.page_model.set_reading(k, {"latex": latex, "source": "ink"})

    # ---------------------------------------------------------------------------------- ink -> steps
    def _on_step_ink(self, k: int) -> None:
        page = self.page_model.page
        if k >= len(page.steps):
            return
        ink = page.steps[k]
        same = k < len(self.model) and ink.signature() == self.model.step(k).ink.signature()
        self.model.set_ink(k, ink)
        if not self.session.finished and not self._shifting:
            self.session.set_ink(ink, k)  # after a split or its undo: _sync_session_after_shift
        if same or ink.is_empty:
            return
        known = self.results.known(ink.signature(), self.model.previous_latex(k))
        if known is not None:  # this ink was read before (undo, redo): its reading and verdict come back
            self.reader.cancel(k)  # a pending read of the ink before is moot
            self.model.restore(k, known)
            self.page_model.set_reading(k, {"latex": known.latex, "source": known.source})
            if not self._shifting:
                self._record_state(k)
            return
        self.reader.ink_changed(k)

    # ------------------------------------------------------------------- split steps, known results
    def _on_steps_shifted(self, from_step: int, delta: int) -> None:
        """A step was split (delta=1) or a split undone (delta=-1): the readings, verdicts, pending reads
        and rechecks of the later steps move with their steps before the page changes; the steps whose
        ink changes are read again when ``stepInkChanged`` follows."""
        self._shifting = True
        self.model.shift_steps(from_step, delta)
        self.reader.shift(from_step, delta)
        moved = {}
        for k, w in self._recheck_workers.items():
            if k >= from_step:
                moved[k + delta] = w
            elif delta < 0 and k >= from_step + delta:
                w.cancel()
            else:
                moved[k] = w
        self._recheck_workers = moved
        self._bands += delta

    def _on_page_changed(self) -> None:
        if self._shifting:
            self._shifting = False
            self._sync_session_after_shift()

    def _sync_session_after_shift(self) -> None:
        """Bring the session's step records in line with the page and the panels after steps moved
        (``sessions.practice.sync_after_shift``)."""
        sync_after_shift(self.session, self.page_model.page.steps, self.model.steps)

    def _record_state(self, k: int) -> None:
        """Record step ``k``'s reading and verdict in the session when its record says otherwise
        (``sessions.practice.record_state``)."""
        if k < len(self.model):
            record_state(self.session, k, self.model.step(k))

    def _mark_step(self, k: int) -> None:
        """The verdict's symbol in its colour beside step k's number on the board (which ink is which)."""
        if k >= len(self.model) or not hasattr(self.canvas, "set_step_mark"):
            return
        st = self.model.step(k)
        kind = "unparsed" if st.error else (st.verdict.verdict if st.verdict is not None else None)
        if kind in VERDICT_STYLE and st.status == DONE:
            colour, symbol = chip_style(kind, verdict_words(st)[0])
            self.canvas.set_step_mark(k, symbol, colour)
        elif st.status in (READING, CHECKING):
            self.canvas.set_step_mark(k, "\u2026", "#666666")
        else:
            self.canvas.set_step_mark(k, "")

    def _remember_from(self, k: int) -> None:
        """Step ``k`` changed: remember it, and the later steps under their new previous readings."""
        for i in range(k, len(self.model)):
            self._remember(i)

    def _remember(self, k: int) -> None:
        """Keep step ``k``'s finished reading and verdict under its ink signature and previous readings,
        so that undo/redo bringing the same ink back shows them again without reading it again."""
        if k >= len(self.model):
            return
        st = self.model.step(k)
        if st.status != DONE or st.verdict is None or st.error or st.ink.is_empty:
            return
        self.results.remember(st.ink.signature(), self.model.previous_latex(k), st)

    def _on_bands(self) -> None:
        page = self.page_model.page
        before, self._bands = self._bands, len(page.steps)
        self.model.ensure_steps(len(page.steps))
        while len(self.model) > len(page.steps):
            self.model.remove_last_step()
            if len(self.model) > len(page.steps) and not self.model.step(len(self.model) - 1).ink.is_empty:
                break
        if len(page.steps) > before:
            for k in range(before - 1, len(page.steps) - 1):
                if k >= 0:
                    self.end_step(k)

    def end_step(self, k: int) -> None:
        """Step ``k`` is done (a new one started): read it now unless its reading is up to date with its
        ink (e.g. already read, or corrected by typing), and close its split in the session."""
        st = self.model.step(k)
        if not st.ink.is_empty and (self.reader.pending(k) or st.status == WAITING):
            self.reader.step_ended(k)
        if not self.session.finished and self.session.current_step <= k:
            self.session.next_step()

    def new_step(self) -> None:
        """Start a new step (Enter on the canvas / the button): a new band on the board and a new panel.
        A typed step has an empty band; it still gets a new one after it. Nothing once the run is over."""
        if self.session.finished:
            return
        page = self.page_model.page
        last = len(page.steps) - 1
        if not page.steps[last].is_empty:
            self.undo_stack.push(NewStepCommand(self.page_model))
        elif last < len(self.model) and self.model.step(last).latex:
            self.page_model.set_page(page.with_new_step(force=True))
        else:
            return
        if hasattr(self.canvas, "set_active_step"):
            self.canvas.set_active_step(len(self.page_model.page.steps) - 1)

    def undo(self) -> None:
        """Undo the last edit (Ctrl+Z); nothing once the run is over (the board is what was written)."""
        if not self.session.finished:
            self.undo_stack.undo()

    def redo(self) -> None:
        """Redo the last undone edit (Ctrl+Shift+Z); nothing once the run is over."""
        if not self.session.finished:
            self.undo_stack.redo()

    def set_tool(self, name: str) -> None:
        """Pen, eraser or lasso on the canvas."""
        self.canvas.set_tool(name)
        for n, b in self.tool_buttons.items():
            b.setChecked(n == name)

    def clear_active_step(self) -> None:
        """Remove the ink of the active step (undoable)."""
        k = (
            self.canvas.active_step()
            if hasattr(self.canvas, "active_step")
            else len(self.page_model.page.steps) - 1
        )
        self.canvas.clear_step(k)

    # ------------------------------------------------------------------------------------ reading
    def _read_job(self, k: int):
        ink = self.model.step(k).ink
        if ink.is_empty:
            return None
        recognizer = self.services.recognizer()
        if recognizer is None:
            self.update_status()
            return None
        card, previous, check = self.card, self.model.previous_latex(k), self.services.check
        near = self.services.near_misses

        def job():
            context = pipeline.build_context(card, previous, near_misses=near)
            return pipeline.process_step(ink, recognizer, card, previous, context, check=check)

        return job

    def read_waiting_steps(self) -> None:
        """Read every step whose ink has no reading yet (called when the recogniser has loaded). A
        recogniser that can get ready for the card (``prepare(context)``) is told so first: the card
        opened while it was loading (issue 16)."""
        self.update_status()
        recognizer = self.services.recognizer()
        if callable(getattr(recognizer, "prepare", None)):
            card, near = self.card, self.services.near_misses
            self.pool.submit(
                Worker(lambda: recognizer.prepare(pipeline.build_context(card, (), near_misses=near)))
            )
        for k, st in enumerate(self.model.steps):
            if not st.ink.is_empty and st.verdict is None and not self.reader.pending(k):
                self.reader.read_now(k)

    def _active_step(self) -> int:
        return self.canvas.active_step() if hasattr(self.canvas, "active_step") else -1

    def _on_active_step(self, k: int) -> None:
        """The board's active step changed: frame its panel and scroll the panels to it."""
        for i, panel in enumerate(self.panels):
            panel.set_active(i == k)
        if 0 <= k < len(self.panels):
            self.steps_scroll.ensureWidgetVisible(self.panels[k])

    def show_step(self, k: int) -> None:
        """Step ``k`` on the board: it becomes the active step and its band is brought into view."""
        if not 0 <= k < len(self.page_model.page.steps) or not hasattr(self.canvas, "set_active_step"):
            return
        self.canvas.set_active_step(k)
        self.canvas.show_step(k)
        self._on_active_step(k)

    def _retry_after_time_out(self, k: int, result) -> bool:
        """A reading that ran out of time is tried once more at once (the recogniser's worker restarts,
        and the first reading after loading can be slow on a busy machine); True when it was."""
        message = getattr(result.recognition, "message", None) or ""
        timed_out = result.latex is None and ("time limit" in message or "longer than" in message)
        key = (k, self.model.signature(k))
        if not timed_out or key in self._retried or k >= len(self.model):
            return False
        self._retried.add(key)
        return self.reader.read_now(k) is not None

    def read_again(self, k: int) -> None:
        """Read step ``k``'s ink again now (the panel's "Read again": the recogniser ran out of time or
        failed, or it was not loaded yet)."""
        if k < len(self.model) and not self.model.step(k).ink.is_empty and not self.session.finished:
            self.reader.read_now(k)

    def _on_result(self, k: int, result) -> None:
        if self._retry_after_time_out(k, result):
            return
        if self.model.keeps_typed(k):
            # ink written into a typed step: the typed LaTeX stays, the ink's readings become chips
            if self.model.offer_reading(k, None, result):
                self.results.remember_reading(self.model.signature(k), result.recognition)
            return
        if not self.model.apply_result(k, None, result):
            return
        self.page_model.set_reading(k, {"latex": result.latex, "source": "ink"})
        self.results.remember_reading(self.model.signature(k), result.recognition)
        self.session.record_reading(k, result.recognition)  # also after the run: a read that was running
        self.session.record_verdict(k, result.verdict)
        self._check_chain(k)
        self._maybe_complete(k)
        self._refresh_summary()

    def _on_read_failed(self, k: int, message: str) -> None:
        if self.model.keep_typed_after_failure(k):  # the typed LaTeX stands; its verdict is unchanged
            return
        self.model.set_error(k, f"could not read: {message}")

    # -------------------------------------------------------------------------------- corrections
    def correct(self, k: int, latex: str, source: str = "typed") -> None:
        """Replace step ``k``'s reading by ``latex`` (typed, or picked from the n-best list) as an
        undoable command; only parse + check run again."""
        text = "Pick reading" if source == "pick" else "Correct reading"
        self.undo_stack.push(
            ReadingCommand(self.page_model, k, {"latex": latex, "source": source}, text=text)
        )

    def _on_reading_changed(self, k: int) -> None:
        reading = self.page_model.reading(k) or {}
        latex, source = reading.get("latex"), reading.get("source", "typed")
        if k >= len(self.model) or (latex == self.model.step(k).latex and source == "ink"):
            return
        if latex == self.model.step(k).latex and self.model.step(k).verdict is not None:
            return
        before = self.model.step(k)
        self.model.set_reading(k, latex, source)
        if latex:  # also after the run: fixing a misreading keeps the record (and the grade) honest;
            # the correction is recorded with its kind (reading fix or answer change) with the new verdict
            self._recheck(k, latex, before)
        elif not self.model.step(k).ink.is_empty:
            self.reader.read_now(k)  # back to reading the ink

    def _recheck(self, k: int, latex: str, before: StepState | None = None) -> None:
        old = self._recheck_workers.pop(k, None)
        if old is not None:
            old.cancel()
        before = before or self.model.step(k)
        ink, read = before.ink, before.latex
        first = before.verdict.verdict if before.verdict is not None else None
        recognition = self.results.reading(before.ink.signature())
        recognizer = self.services.recognizer()
        classify = getattr(recognizer, "classify_groups", None)
        card, previous, check = self.card, self.model.previous_latex(k), self.services.check

        def job():
            kind = pipeline.correction_kind(
                ink, recognition, latex, read_latex=read, first_verdict=first, classify=classify
            )
            return kind, pipeline.recheck(card, latex, previous, check=check)

        worker = Worker(job)
        self._recheck_workers[k] = worker
        worker.signals.result.connect(lambda v, w=worker, latex=latex: self._on_verdict(w, latex, v))
        worker.signals.error.connect(lambda msg, w=worker: self._on_recheck_error(w, msg))
        self.pool.submit(worker)

    def _recheck_step(self, worker: Worker) -> int | None:
        """The step a recheck is for now (steps may have moved since it started), forgetting it."""
        k = next((i for i, w in self._recheck_workers.items() if w is worker), None)
        if k is not None:
            del self._recheck_workers[k]
        return None if worker.cancelled else k

    def _on_recheck_error(self, worker: Worker, message: str) -> None:
        k = self._recheck_step(worker)
        if k is not None:
            self.model.set_error(k, f"cannot check: {message}")
            self._record_state(k)  # the correction itself is still on the record

    def _on_verdict(self, worker: Worker, latex: str, result) -> None:
        kind, verdict = result
        k = self._recheck_step(worker)
        if k is not None and self.model.apply_verdict(k, latex, verdict):
            rec = next((r for r in self.session.steps if r.index == k), None)
            if rec is None or rec.latex != latex:
                self.session.record_correction(k, latex, kind)
                self.model.mark_correction(k, kind, self._first_verdict(k))
            self.session.record_verdict(k, verdict)
            self._check_chain(k)
            self._maybe_complete(k)
            self._refresh_summary()

    def _first_verdict(self, k: int) -> str | None:
        """Step ``k``'s change in words from the session's record ("wrong \u2192 changed by typing"), or
        None when its maths was never changed."""
        rec = next((r for r in self.session.steps if r.index == k), None)
        return rec.change_words() if rec is not None else None

    def _refresh_summary(self) -> None:
        """After the run, a corrected step's new verdict shows in the interviewer's summary too."""
        if self.session.finished:
            self.session.set_run(self.judge().to_json())
            self.interviewer.set_summary(self.summary())
            self._offer_grades()

    # ------------------------------------------------------------------------------------ panels
    def _sync_panels(self) -> None:
        while len(self.panels) < len(self.model):
            panel = StepPanel(self.model, len(self.panels))
            panel.reading_edited.connect(self._on_panel_edit)
            panel.next_requested.connect(self._on_panel_next)
            panel.candidate_picked.connect(lambda k, latex: self.correct(k, latex, "pick"))
            panel.hint_requested.connect(self.show_hint)
            panel.reveal_requested.connect(self.reveal_reference)
            panel.reread_requested.connect(self.read_again)
            panel.edit.textEdited.connect(lambda _text: self.session.note_typing())  # typing is no freeze
            panel.activated.connect(self.show_step)
            panel.set_active(len(self.panels) == self._active_step())
            self.steps_layout.insertWidget(self.steps_layout.count() - 1, panel)
            self.panels.append(panel)
        while len(self.panels) > len(self.model):
            panel = self.panels.pop()
            panel.setParent(None)
            panel.deleteLater()

    def show_hint(self, k: int) -> str | None:
        """The next hint on step ``k`` (it follows the user: about the reference step after the last one
        matched, ``PracticeModel.hints_for``), recorded on the board; None when none is left."""
        hint = self.model.show_hint(k)
        if hint is not None:
            self.session.record_aid(k, "hint", self.model.step(k).hints_shown)
            self._refresh_summary()
        return hint

    def reveal_reference(self, k: int) -> None:
        """Show the reference step beside step ``k`` and record it on the board."""
        if k < len(self.model) and not self.model.step(k).reference_shown:
            self.model.reveal_reference(k)
            ref = self.model.reference_for(k)
            number = list(self.card.steps).index(ref) + 1 if ref is not None and ref in self.card.steps else 0
            self.session.record_aid(k, "reveal", number)
            self._refresh_summary()

    @contextlib.contextmanager
    def dialog_open(self):
        """A context in which a dialog is open over the run: its time is not a freeze
        (``Session.begin_pause``/``end_pause``)."""
        self.session.begin_pause("dialog")
        try:
            yield
        finally:
            self.session.end_pause()

    def _on_panel_edit(self, k: int, latex: str) -> None:
        self.correct(k, latex, "typed")
        if self.keyboard_mode and k == len(self.model) - 1:
            self.new_step()
            if len(self.panels) > k + 1:
                self.panels[k + 1].edit.setFocus()

    def _on_panel_next(self, k: int) -> None:
        """Enter again in the box of the last step, its reading already checked: start the next step
        and put the cursor in its box (the keyboard is where the user's hands are)."""
        if k != len(self.model) - 1 or self.session.finished:
            return
        self.new_step()
        if len(self.panels) > k + 1:
            self.panels[k + 1].edit.setFocus()

    @property
    def keyboard_mode(self) -> bool:
        """True while practising with the keyboard only (canvas hidden)."""
        return self.keyboard_box.isChecked()

    def set_keyboard_mode(self, on: bool) -> None:
        """Keyboard-only practice: the canvas is hidden and each step's LaTeX is typed in its panel."""
        self.keyboard_box.setChecked(on)
        self.canvas.setVisible(not on)
        for w in (*self.tool_buttons.values(), self.clear_button, self.fit_button):
            w.setVisible(not on)  # no ink to edit; the status line stays
        self.timer.set_freezes_shown(not on)  # a freeze is time without ink: not a thing when typing
        if on and self.panels:
            self.panels[-1].edit.setFocus()

    # ------------------------------------------------------------------------------ end of the run
    def _run_inputs(self) -> tuple[list, list[int], list[int], list[list[int]]]:
        """(verdicts of the written steps, hints shown per step, steps whose reference was revealed,
        reference steps each step shows inside a chain a = b = c)."""
        steps = self._written_steps()
        also = [
            self._chains.get((st.latex, tuple(self.model.previous_latex(i))), []) if st.latex else []
            for i, st in enumerate(steps)
        ]
        return (
            [st.verdict for st in steps],
            [st.hints_shown for st in self.model.steps],
            [i for i, st in enumerate(self.model.steps) if st.reference_shown],
            also,
        )

    def _check_chain(self, k: int) -> None:
        """Step ``k`` is a correct chain ``a = b = c``: find the reference steps it shows on its way in a
        worker (``pipeline.intermediate_matches``), then judge the run again."""
        st = self.model.step(k)
        if (
            st.verdict is None
            or st.verdict.verdict != "correct"
            or not st.latex
            or not pipeline.chain_prefixes(st.latex)
        ):
            return
        key = (st.latex, tuple(self.model.previous_latex(k)))
        if key in self._chains:
            return
        self._chains[key] = []
        worker = Worker(
            pipeline.intermediate_matches, self.card, st.latex, list(key[1]), check=self.services.check
        )

        def done(found, key=key):
            self._chains[key] = list(found)
            if found:
                self._maybe_complete(-1)

        worker.signals.result.connect(done)
        self.pool.submit(worker)

    def judge(self) -> RunJudgement:
        """The run judged as a derivation now (sessions/run.py, the rule ``check --summary`` uses) from
        the steps' current verdicts, hints shown and references revealed."""
        return self.practice.judge(*self._run_inputs())

    @property
    def run(self) -> RunJudgement:
        """The latest judgement of the run (see :meth:`judge`)."""
        if self._run is None:
            self._run = self.judge()
        return self._run

    def _maybe_complete(self, k: int) -> None:
        """A step got a verdict: judge the run again; name what is missing beside the steps that jumped,
        and end the run when the derivation is complete (the result with every milestone)."""
        state, run = self.practice.after_verdict(*self._run_inputs())
        self._run = run
        for i, panel in enumerate(self.panels):
            panel.set_run_note(run.note_for(i))
        if self.session.finished:
            return
        if state == "complete":
            self.complete_run()
        elif state == "unsupported":
            self.run_label.setText(
                f"<b>{run.headline()}</b> — the run goes on: write what is missing, or press Done."
            )
            self.run_label.setStyleSheet("color: #8a6d00;")
            self.run_button.setVisible(False)
            self.run_banner.setVisible(True)
        else:
            self.run_banner.setVisible(False)

    def _refresh_run_notes(self, _k: int = -1) -> None:
        """Any step changed (undo, a split, a new reading): the notes beside the steps follow the run."""
        self._run = run = self.judge()
        for i, panel in enumerate(self.panels):
            panel.set_run_note(run.note_for(i))

    def complete_run(self) -> None:
        """The derivation is complete: stop the clock, say so with the time ("Derivation complete in
        3:12") and offer the interviewer with a button that takes the keyboard focus (the focus never
        jumps into the interviewer's answer box on its own)."""
        self._end_run(complete=True)
        self.run_label.setText(f"<b>Derivation complete in {format_ms(self.session.elapsed_ms())}</b>")
        self.run_label.setStyleSheet("color: #1b7f3b;")
        self.run_button.setVisible(True)
        self.run_banner.setVisible(True)
        self.run_button.setDefault(True)
        self.run_button.setFocus()
        self.run_finished.emit(self.interviewer.summary.text())

    def _written_steps(self) -> list:
        steps = list(self.model.steps)
        while len(steps) > 1 and steps[-1].ink.is_empty and not steps[-1].latex:
            steps.pop()  # the empty step a new line opened, never written
        return steps

    def summary(self) -> str:
        """The end-of-run summary (time against target, splits, verdicts, freezes, then the run as a
        derivation: complete or what is missing, hints and references used) as text."""
        verdicts, hints, reveals, also = self._run_inputs()
        run = self.practice.judge(verdicts, hints, reveals, also)
        words = self.practice.step_words([wording.summary_word(v) for v in verdicts], run)
        inked = any(not ink.is_empty for ink in self.page_model.page.steps) or any(
            rec.strokes for rec in self.session.steps
        )
        freezes = self.session.freezes() if inked else []  # a typed run has no ink, hence no freezes
        text = summary_text(
            self.session.elapsed_ms(),
            self.timer.target_s(),
            self.session.splits(),
            freezes,
            words,
            complete=run.complete,
        )
        return text + "\n" + "\n".join(self.practice.summary_lines(run, hints, reveals))

    def run_in_progress(self) -> bool:
        """True while the run is not over and something was written or typed on it."""
        if self.session.finished:
            return False
        return any(not ink.is_empty for ink in self.page_model.page.steps) or any(
            st.latex for st in self.model.steps
        )

    def request_finish(self) -> bool:
        """Done (the button, Ctrl+Shift+D): end a run in progress after a confirmation (``ui.confirm``);
        True when the run was ended."""
        if self.session.finished:
            return False
        pressed = self.session.elapsed_ms()
        if self.run_in_progress():
            with self.dialog_open():  # reading the question is neither run time nor a freeze
                answer = confirm(
                    self,
                    "End the run?",
                    "End this run now? The clock stops, the board can no longer be "
                    "changed and the interviewer's questions follow.",
                )
            if not answer:
                return False
        self.finish_run(at_ms=pressed)
        return True

    def _update_first_run(self, *_args) -> None:
        """The gestures' help shows until the first ink or typed step (and again on an empty board)."""
        self.first_run.setVisible(not self.run_in_progress() and not self.session.finished)

    # --------------------------------------------------------------------------------- layout
    @property
    def portrait(self) -> bool:
        """True when the step panels are under the board (a portrait window)."""
        return self.splitter.orientation() == Qt.Orientation.Vertical

    def set_portrait(self, on: bool) -> None:
        """Put the step panels under the board (portrait tablet) or beside it."""
        self.splitter.setOrientation(Qt.Orientation.Vertical if on else Qt.Orientation.Horizontal)
        self._portrait = bool(on)
        self._user_split = False
        self._size_side()

    def _size_side(self) -> None:
        """The steps column's width (side by side) or height (portrait) from the view's size: the same
        for every card (layout_helpers.side_width), until the user drags the splitter."""
        if self._user_split:
            return
        if self.portrait:
            total = max(1, self.splitter.height())
            side = max(220, int(0.4 * total))
        else:
            total = max(1, self.splitter.width())
            side = min(side_width(self.width()), max(SIDE_MIN - 40, total - 320))
        self.splitter.setSizes([max(1, total - side), side])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        portrait = is_portrait(self.width(), self.height())
        if portrait != self._portrait:
            self.set_portrait(portrait)
        else:
            self._size_side()

    def _end_run(self, complete: bool = False, at_ms: float | None = None) -> None:
        """Stop the clock (at ``at_ms``, session ms, if given) and freeze the board (``PracticeRun.end``);
        the summary goes to the interviewer,
        which starts with "walk me through how you got there" when the result came past missing
        milestones."""
        self._run, opening = self.practice.end(*self._run_inputs(), complete=complete, at_ms=at_ms)
        self.timer.refresh()
        for w in (
            self.new_step_button,
            self.finish_button,
            self.clear_button,
            self.undo_button,
            self.redo_button,
            *self.tool_buttons.values(),
        ):
            w.setEnabled(False)
        if hasattr(self.canvas, "set_read_only"):
            self.canvas.set_read_only(True)  # the run is over: the board is what was written
        if opening is not None and not self.interviewer.answers:
            self.interviewer.set_opening(Question(opening.question, opening.answer, opening.key_points))
        self.interviewer.set_summary(self.summary())
        self._offer_grades()

    def _offer_grades(self) -> None:
        """The grade buttons say which grade the run allows (scheduler.suggested_rating) and when each
        would make the card due again, as Anki's do."""
        try:
            preview = dict(self.services.grade_preview(self.card.id) or {})
        except Exception:  # noqa: BLE001 - no preview is no reason to fail the end of a run
            preview = {}
        self.interviewer.set_grade_hints(self.practice.suggested_grade(), preview)

    def finish_run(self, at_ms: float | None = None) -> None:
        """End the run now (Done): stop the clock (at ``at_ms``, session ms, when Done was pressed
        before a confirmation; see ``Session.finish``), show the summary and the interviewer."""
        was_over = self.session.finished
        self._end_run(at_ms=at_ms)
        if not self.practice.completed:
            self.run_label.setText(
                f"<b>Run over in {format_ms(self.session.elapsed_ms())}</b>: {self.run.headline()}"
            )
            self.run_label.setStyleSheet("color: #1b7f3b;" if self.run.complete else "color: #8a6d00;")
            self.run_button.setVisible(True)
            self.run_banner.setVisible(True)
        text = self.interviewer.summary.text()
        self.show_interviewer()
        if not was_over:
            self.run_finished.emit(text)

    def show_interviewer(self) -> None:
        """Show the interviewer panel instead of the step panels (on demand or at the end)."""
        self.side.setCurrentWidget(self.interviewer)
        self.run_button.setVisible(False)  # already there
        self.interviewer.focus_current()
        self.interview_button.setText("Steps")
        self.interview_button.clicked.disconnect()
        self.interview_button.clicked.connect(self.show_steps)

    def show_steps(self) -> None:
        """Show the step panels again."""
        self.side.setCurrentWidget(self.steps_scroll)
        self.run_button.setVisible(self.session.finished)
        self.interview_button.setText("Interviewer")
        self.interview_button.clicked.disconnect()
        self.interview_button.clicked.connect(self.show_interviewer)

    def _on_graded(self, grade: str) -> None:
        self.session.set_self_grade(grade)
        self.services.on_graded(self.card.id, grade, self.session)

    def apply_settings(
        self,
        *,
        pause_ms: int | None = None,
        pressure_gamma: float | None = None,
        stylus_only: bool | None = None,
        target_s: float | None = None,
    ) -> None:
        """Changed settings take effect in the running practice at once: the writing pause (ms) from the
        next pause, the pressure curve on the board's strokes (new ones included), palm rejection, and
        the time target (s) on the timer and the end-of-run summary. None leaves a setting as it is."""
        if pause_ms is not None:
            self.services.pause_ms = int(pause_ms)
            self.reader.pause_ms = int(pause_ms)
        if pressure_gamma is not None:
            self.services.pressure_gamma = float(pressure_gamma)
            if hasattr(self.canvas, "set_pressure_curve"):
                self.canvas.set_pressure_curve(float(pressure_gamma))
        if stylus_only is not None:
            self.services.stylus_only = bool(stylus_only)
            if hasattr(self.canvas, "set_stylus_only"):
                self.canvas.set_stylus_only(bool(stylus_only))
        if target_s is not None and not self.session.finished:
            self.timer.set_target_s(target_s)

    def update_status(self) -> None:
        """Say in words what is going on with the recogniser (loading, failed) above the board."""
        if self.services.recognizer() is None:
            status = self.services.recognizer_status()
            if "loading" not in status or "could not load" in status:  # none is coming: say so
                self.status.setText(
                    "No recogniser, so ink is not read: practise keyboard only (type each step's LaTeX in its panel)."
                )
            else:
                self.status.setText(
                    status + " \u2014 you can write now, or type each step's LaTeX in its panel."
                )
            self.status.setVisible(True)
        else:
            self.status.setVisible(False)

    def shutdown(self) -> None:
        """Cancel pending reads (leaving the card or closing the window); running ones finish in the
        background and deliver nothing. A finished run left without a grade is recorded as ungraded
        (``on_ungraded``), once."""
        if self.practice.leave():
            self.services.on_ungraded(self.card.id, self.session)
        self.reader.cancel_all()
        self.pool.cancel_all()
        self.pool.pool.clear()  # drop reads that have not started
        _RETIRED_POOLS.append(self.pool.pool)  # running ones finish there; the window does not wait
