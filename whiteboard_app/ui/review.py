"""Review window: replay a saved board stroke by stroke, in real time or faster.

Layout: the board (the canvas in its read-only mode, fed one frame of the replay at a time: ink written
so far, a stroke being written drawn up to its current point, erased strokes gone once erased), a list
of the steps with the reading and verdict each had at the current instant and its split time, a
timeline of the attempt (steps as segments, verdicts as coloured ticks, corrections as triangles,
freezes as red spans, the playhead) and the controls (play / pause, speed, position). Clicking the
timeline seeks; choosing a step in the list jumps to the moment it began.

All timing comes from ``sessions.replay.ReplayPlayer`` driven by a ``Clock``: the window's QTimer only
calls ``tick()``, so tests pass a FakeClock, advance it and call ``tick()`` themselves.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.ink.model import StepInk
from whiteboard_app.ink.page import Page
from whiteboard_app.sessions.board import Board
from whiteboard_app.sessions.clock import Clock, SystemClock
from whiteboard_app.sessions.replay import Frame, Replay, ReplayPlayer
from whiteboard_app.ui import pyside_guard  # noqa: F401  (PySide6 6.12 None refcount defect)
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.page_model import PageModel

VERDICT_COLOURS = {
    "correct": QColor(46, 125, 50),
    "wrong": QColor(179, 38, 30),
    "unparsed": QColor(120, 120, 120),
    "cannot_check": QColor(196, 134, 0),
}
FREEZE_COLOUR = QColor(211, 47, 47, 70)
SPEEDS = (1.0, 2.0, 4.0, 8.0, 16.0)
TICK_MS = 33


def format_ms(ms: float) -> str:
    """m:ss of a duration in ms (rounded down to the second)."""
    s = int(max(0.0, ms) // 1000)
    return f"{s // 60}:{s % 60:02d}"


def replay_page(board: Board) -> Page:
    """The band layout of the whole board (every stroke ever written, erased ones too, so bands do not
    move during the replay), one band per step index from 0 to the last."""
    n = max((s.index for s in board.steps), default=0) + 1
    inks = [StepInk()] * n
    for s in board.steps:
        inks[s.index] = StepInk(tuple(e.stroke for e in s.strokes))
    return Page.from_steps(inks)


class Timeline(QWidget):
    """The attempt on a time axis: step segments, verdict ticks, correction triangles, freezes, playhead.

    ``seekRequested(float ms)`` is emitted when the user clicks or drags on it.
    """

    seekRequested = Signal(float)

    def __init__(self, replay: Replay, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.replay = replay
        self.position_ms = 0.0
        self.setMinimumHeight(54)
        self.setToolTip("Steps, verdicts (ticks), corrections (triangles) and freezes (red); click to seek")
        idx = self.replay.step_indices()
        ends = [self.replay.step_start_ms(i) for i in idx[1:]] + [replay.duration_ms]
        self.segments = [(i, self.replay.step_start_ms(i), end) for i, end in zip(idx, ends, strict=False)]
        self.verdicts = [(v.t_ms, v.verdict, s.index) for s in replay.board.steps for v in s.verdicts]
        self.corrections = [(c.t_ms, s.index) for s in replay.board.steps for c in s.corrections]
        self.freezes = list(replay.board.freezes())

    def set_position(self, ms: float) -> None:
        self.position_ms = ms
        self.update()

    def _span(self) -> tuple[float, float]:
        return 8.0, max(9.0, self.width() - 8.0)

    def x_for(self, ms: float) -> float:
        """Widget x (px) of session time ``ms``."""
        x0, x1 = self._span()
        return x0 + (x1 - x0) * (ms / max(1.0, self.replay.duration_ms))

    def ms_for(self, x: float) -> float:
        """Session time (ms) at widget x (px), clamped to the attempt."""
        x0, x1 = self._span()
        return min(max((x - x0) / (x1 - x0), 0.0), 1.0) * self.replay.duration_ms

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(250, 250, 252))
        h = self.height()
        bar = QRectF(0, 14, 0, h - 30)
        for k, (i, start, end) in enumerate(self.segments):
            r = QRectF(
                self.x_for(start), bar.top(), max(1.0, self.x_for(end) - self.x_for(start)), bar.height()
            )
            p.fillRect(r, QColor(226, 232, 244) if k % 2 == 0 else QColor(208, 216, 234))
            p.setPen(QColor(70, 80, 100))
            p.drawText(
                r.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, str(i + 1)
            )
        for f in self.freezes:
            p.fillRect(
                QRectF(
                    self.x_for(f.start_ms),
                    bar.top(),
                    self.x_for(f.end_ms) - self.x_for(f.start_ms),
                    bar.height(),
                ),
                QBrush(FREEZE_COLOUR, Qt.BrushStyle.SolidPattern),
            )
        for t, verdict, _ in self.verdicts:
            p.setPen(QPen(VERDICT_COLOURS.get(verdict, QColor(0, 0, 0)), 3))
            x = self.x_for(t)
            p.drawLine(QPointF(x, bar.bottom() - 2), QPointF(x, h - 2))
        p.setBrush(QColor(196, 134, 0))
        p.setPen(Qt.PenStyle.NoPen)
        for t, _ in self.corrections:
            x = self.x_for(t)
            p.drawPolygon(QPolygonF([QPointF(x - 5, 2), QPointF(x + 5, 2), QPointF(x, 12)]))
        x = self.x_for(self.position_ms)
        p.setPen(QPen(QColor(20, 24, 36), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, h))
        p.end()

    def mousePressEvent(self, event) -> None:
        self.seekRequested.emit(self.ms_for(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.ms_for(event.position().x()))


class ReviewWindow(QWidget):
    """Replays ``board`` (see the module doc). ``clock`` drives the player (SystemClock by default);
    ``speed`` is the starting speed factor. ``autoplay`` starts playing at once."""

    def __init__(
        self,
        board: Board,
        clock: Clock | None = None,
        parent: QWidget | None = None,
        speed: float = 1.0,
        autoplay: bool = False,
    ) -> None:
        super().__init__(parent)
        self.board = board
        self.replay = Replay(board)
        self.player = ReplayPlayer(self.replay, clock or SystemClock(), speed)
        title = board.card_title or board.card_id
        self.setWindowTitle(f"Review: {title} ({board.started_at:%Y-%m-%d %H:%M})")

        self._layout_page = replay_page(board)
        self.model = PageModel(self._layout_page)
        self.canvas = BoardCanvas(self.model, self)
        self.canvas.set_read_only(True)
        self._shown: tuple = ()

        self.steps_view = QTreeWidget(self)
        self.steps_view.setColumnCount(4)
        self.steps_view.setHeaderLabels(["Step", "Reading", "Verdict", "Split"])
        self.steps_view.setRootIsDecorated(False)
        self.steps_view.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        splits = {sp.step: sp.ms for sp in board.splits()}
        self._items: dict[int, QTreeWidgetItem] = {}
        for i in self.replay.step_indices():
            item = QTreeWidgetItem([str(i + 1), "", "", format_ms(splits[i]) if i in splits else ""])
            item.setData(0, Qt.ItemDataRole.UserRole, i)
            self.steps_view.addTopLevelItem(item)
            self._items[i] = item
        self.steps_view.itemActivated.connect(self._on_item)
        self.steps_view.itemClicked.connect(self._on_item)

        self.reading_view = QLabel(self)
        self.reading_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reading_view.setMinimumHeight(70)
        self.reading_view.setWordWrap(True)
        self._reading_key: tuple | None = None

        self.timeline = Timeline(self.replay, self)
        self.timeline.seekRequested.connect(self.seek)

        self.play_button = QPushButton("Play", self)
        self.play_button.clicked.connect(self.toggle)
        self.speed_box = QComboBox(self)
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}x", s)
        self.speed_box.setCurrentIndex(min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - speed)))
        self.speed_box.currentIndexChanged.connect(lambda k: self.set_speed(SPEEDS[k]))
        self.position_label = QLabel(self)
        self.export_button = QPushButton("Export...", self)
        self.export_button.setToolTip("Save this board as PNG, PDF or InkML")
        self.export_button.clicked.connect(self._ask_export)
        freezes = board.freezes()
        target = f" / target {format_ms(board.target_s * 1000)}" if board.target_s else ""
        grade = f", self-grade {board.self_grade}" if board.self_grade else ""
        state = "" if board.finished else " (unfinished)"
        self.summary_label = QLabel(
            f"<b>{title}</b>: {format_ms(board.duration_ms)}{target}{state}, {len(self.replay.step_indices())} "
            f"steps, {len(freezes)} freeze{'s' if len(freezes) != 1 else ''}{grade}",
            self,
        )

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(QLabel("Speed", self))
        controls.addWidget(self.speed_box)
        controls.addWidget(self.position_label, 1)
        controls.addWidget(self.export_button)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.canvas)
        side = QWidget(self)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.steps_view, 1)
        side_layout.addWidget(self.reading_view)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(split, 1)
        layout.addWidget(self.timeline)
        layout.addLayout(controls)
        self.resize(1100, 700)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        self.tick()
        if autoplay:
            self.play()

    # ------------------------------------------------------------------------------- control
    @property
    def playing(self) -> bool:
        return self.player.playing

    def play(self) -> None:
        self.player.play()
        self.play_button.setText("Pause")
        self.timer.start()
        self.tick()

    def pause(self) -> None:
        self.player.pause()
        self.play_button.setText("Play")
        self.timer.stop()
        self.tick()

    def toggle(self) -> None:
        self.pause() if self.player.playing else self.play()

    def set_speed(self, speed: float) -> None:
        self.player.set_speed(speed)

    def seek(self, ms: float) -> None:
        self.player.seek(ms)
        self.tick()

    def jump_to_step(self, step: int) -> None:
        """Go to the moment step ``step`` (0-based) began; KeyError for a step the board lacks."""
        self.player.jump_to_step(step)
        self.tick()

    def _on_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.jump_to_step(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def export_to(self, path: str, fmt: str | None = None) -> str:
        """Export the board (format from ``fmt`` or the suffix: png, pdf, inkml); returns a message in
        words, also shown in the position line's tooltip. Errors are reported, never raised."""
        from whiteboard_app.ui.export import ExportError, export_board

        try:
            out = export_board(self.board, path, fmt)
            msg = f"Exported to {out}"
        except (ExportError, OSError) as exc:
            msg = f"Export failed: {exc}"
        self.position_label.setToolTip(msg)
        self.last_export_message = msg
        return msg

    def _ask_export(self) -> None:
        from PySide6.QtWidgets import QFileDialog, QMessageBox

        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export board",
            f"{self.board.card_id}.pdf",
            "PDF (*.pdf);;PNG image (*.png);;InkML ink (*.inkml)",
        )
        if not path:
            return
        fmt = {"PDF": "pdf", "PNG": "png", "Ink": "inkml"}.get(chosen.split(" ")[0], None)
        if fmt and not path.lower().endswith("." + fmt):
            path += "." + fmt
        msg = self.export_to(path, fmt)
        if msg.startswith("Export failed"):
            QMessageBox.warning(self, "Export", msg)

    # ------------------------------------------------------------------------------- display
    def tick(self) -> None:
        """Show the frame at the player's position (called by the timer while playing)."""
        self.player.poll()
        frame = self.player.frame()
        self._show(frame)
        self.timeline.set_position(frame.t_ms)
        self.position_label.setText(f"{format_ms(frame.t_ms)} / {format_ms(self.replay.duration_ms)}")
        if self.player.done and self.timer.isActive():
            self.timer.stop()
            self.play_button.setText("Play")

    def _show(self, frame: Frame) -> None:
        inks = [StepInk()] * len(self._layout_page.steps)
        for sf in frame.steps:
            inks[sf.index] = sf.ink
        key = tuple(tuple((id(s), len(s.points)) for s in ink.strokes) for ink in inks)
        if key != self._shown:
            self._shown = key
            self.model.set_page(Page(tuple(inks), self._layout_page.tops))
        current = None
        by_index = {sf.index: sf for sf in frame.steps}
        for i, item in self._items.items():
            sf = by_index.get(i)
            latex = sf.latex if sf else None
            verdict = sf.verdict if sf else None
            item.setText(
                1,
                (latex or "")
                + (" (reading corrected)" if sf and sf.corrected else "")
                + (" (answer changed)" if sf and getattr(sf, "changed", False) else ""),
            )
            words = self._verdict_words(i, sf) if verdict else None
            item.setText(2, words.headline if words else "")
            item.setToolTip(2, words.line() if words else "")
            item.setForeground(2, QBrush(VERDICT_COLOURS.get(verdict or "", QColor(0, 0, 0))))
            if sf is not None:
                current = i
        if current is not None:
            for i, item in self._items.items():
                f = item.font(0)
                f.setBold(i == current)
                item.setFont(0, f)
        self._show_reading(by_index.get(current) if current is not None else None)

    def _verdict_words(self, index: int, sf):
        """The shared words (sessions.wording) of the verdict step ``index`` shows at this frame."""
        from whiteboard_app.sessions import wording

        try:
            entries = self.board.step(index).verdicts
        except (KeyError, IndexError, AttributeError):
            entries = ()
        entry = next((v for v in reversed(entries) if v.verdict == sf.verdict and v.latex == sf.latex), None)
        if entry is None:
            entry = next((v for v in reversed(entries) if v.verdict == sf.verdict), None)
        if entry is None:
            return wording.Words(sf.verdict, wording.headline(sf.verdict), "")
        return wording.describe_verdict(entry, latex=sf.latex or "")

    def _show_reading(self, sf) -> None:
        """The current step's reading rendered as maths (mathtext), with its verdict and diagnosis."""
        key = (sf.index, sf.latex, sf.verdict) if sf is not None else None
        if key == self._reading_key:
            return
        self._reading_key = key
        if sf is None or not sf.latex:
            self.reading_view.setText("" if sf is None else f"step {sf.index + 1}: not read yet")
            return
        from whiteboard_app.ui.mathtext import render_pixmap

        pix = render_pixmap(sf.latex, 14.0)
        if pix is not None:
            self.reading_view.setPixmap(pix)
        else:
            self.reading_view.setText(sf.latex)
        step = self.board.step(sf.index)
        diag = next(
            (v.diagnosis for v in reversed(step.verdicts) if v.verdict == sf.verdict and v.diagnosis), None
        )
        words = self._verdict_words(sf.index, sf).line() if sf.verdict else "not checked"
        self.reading_view.setToolTip(
            f"step {sf.index + 1}: {words}" + (f" ({diag})" if diag and diag not in words else "")
        )

    # ------------------------------------------------------------------------------- for tests
    def shown_stroke_count(self) -> int:
        """Strokes (whole or partly written) the canvas shows now."""
        return self.model.page.stroke_count

    def step_row(self, step: int) -> tuple[str, str, str, str]:
        """The texts of step ``step``'s row: (number, reading, verdict, split)."""
        item = self._items[step]
        return tuple(item.text(c) for c in range(4))  # type: ignore[return-value]
