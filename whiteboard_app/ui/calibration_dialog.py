"""The calibration screen: the writer ticks the symbols they want read (the ML symbols the training ink
lacks, and any symbol the recogniser keeps missing), draws each one in three boxes, and sees after every
sample what the recogniser now reads it as ("now reads: ∂ ✓"), adapted to the samples before it. About
two minutes for 15 symbols. The samples are stored in the user's data folder
(``recognition.calibration.CalibrationStore``) and handed to the recogniser's adaptation hook.

The model of the flow (which symbols, how many samples, where they go, the preview) is the recognition
layer's ``recognition/calibration.py``; this dialog only draws and displays it. Every call into the
recogniser runs on a one-thread pool of the dialog (never the UI thread), so previews come in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtGui import QFont, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.calibration import (
    CALIBRATION_SYMBOLS,
    DEFAULT_CHOICE,
    SAMPLES_PER_SYMBOL,
    CalibrationItem,
    CalibrationStore,
    Preview,
    apply,
    plan,
    preview,
)
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.workers import Worker, WorkerPool

#: A sample is taken this long after the pen last left the box (ms): time for a second stroke (‖, K, ∇).
SAMPLE_PAUSE_MS = 900


_SHOWN = {
    "\\hat": "^",
    "\\tilde": "~",
    "\\|": "\u2016",
    "\\mathbb{R}": "\u211d",
    "\\ell": "\u2113",
    "\\epsilon": "\u03b5",
}


def _glyph(latex: str) -> str:
    """LaTeX as the screen shows it: commands as their characters (``\\partial`` -> ∂, ``\\hat`` -> ^),
    the rest as it is."""
    import re

    from whiteboard_app.maths.latex import UNICODE

    table = {}
    for ch, tex in UNICODE.items():
        table.setdefault(tex.strip(), ch)
    table.update(_SHOWN)
    return re.sub(r"\\mathbb\{R\}|\\\||\\[A-Za-z]+", lambda m: table.get(m.group(0), m.group(0)), latex)


class SampleBox(QFrame):
    """One of the three boxes: a small drawing area, what the recogniser reads the sample as, and Redo."""

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.record_id: str | None = None
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.page_model = PageModel(parent=self)
        self.canvas = BoardCanvas(self.page_model, undo_stack=QUndoStack(self))
        self.canvas.setMinimumSize(200, 170)
        self.canvas.set_step_marks_shown(False)  # one sample, not a derivation: no step number or bar
        self.reading = QLabel(f"sample {index + 1}: draw here")
        self.reading.setWordWrap(True)
        self.reading.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reading.setMinimumHeight(44)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Clear this box and draw the sample again")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.reading)
        layout.addWidget(self.redo_button)

    def ink(self) -> StepInk:
        """The box's ink as one sample."""
        return StepInk(tuple(s for _, s in self.page_model.page.strokes()))

    def show_ink(self, ink: StepInk | None) -> None:
        """Show a stored sample (or nothing)."""
        from whiteboard_app.ink.page import Page

        self.page_model.set_page(Page.from_steps([ink]) if ink is not None and not ink.is_empty else Page())


class CalibrationDialog(QDialog):
    """The calibration screen. ``recognizer`` (may be None: samples are only stored) previews each sample
    and gets every sample through its adaptation hook on Done.

    ``data_dir`` is the user's data folder (samples go to ``<data_dir>/calibration``); ``corrections`` are
    the user's (read, corrected) LaTeX pairs, which add (and tick) the symbols the recogniser keeps missing.
    """

    def __init__(
        self,
        recognizer,
        data_dir: str | Path,
        parent: QWidget | None = None,
        corrections: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Calibrate the recogniser to your handwriting")
        self.recognizer = recognizer
        self.store = CalibrationStore(Path(data_dir) / "calibration")
        self.corrections = list(corrections)
        self._threads = QThreadPool(self)
        self._threads.setMaxThreadCount(1)  # previews and adaptation in order, one at a time
        self.pool = WorkerPool(self._threads, parent=self)
        self.adapted: int | None = None
        self.previews: list[Preview] = []  # every preview that came back (tests, the summary line)
        self._dirty = False  # the engine's adaptation differs from the stored samples
        self.current_label: str | None = None

        title = QLabel(
            "Draw each symbol you want read three times. After each sample you see what the recogniser now reads."
        )
        title.setWordWrap(True)
        self.choices = QListWidget()
        self.choices.setToolTip("Tick the symbols to calibrate; click one to draw it")
        self.choices.currentRowChanged.connect(self._on_row)
        self.choices.itemChanged.connect(lambda _item: self._update_progress())
        self.symbol = QLabel()
        font = QFont(self.symbol.font())
        font.setPointSize(34)
        self.symbol.setFont(font)
        self.symbol.setMinimumWidth(70)
        self.symbol.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.instructions = QLabel()
        self.instructions.setWordWrap(True)
        self.instructions.setStyleSheet("font-size: 15px;")
        self.progress = QLabel()
        self.boxes = [SampleBox(k, self) for k in range(SAMPLES_PER_SYMBOL)]
        self._timers = []
        for box in self.boxes:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(SAMPLE_PAUSE_MS)
            timer.timeout.connect(lambda b=box: self.take_sample(b))
            box.canvas.strokeFinished.connect(lambda *_a, t=timer: t.start())
            box.redo_button.clicked.connect(lambda _c=False, b=box: self.redo(b))
            self._timers.append(timer)
        self.skip_button = QPushButton("Skip")
        self.skip_button.setToolTip("Leave this symbol out and go to the next one")
        self.skip_button.clicked.connect(self.skip)
        self.next_button = QPushButton("Next symbol")
        self.next_button.clicked.connect(self.next_symbol)
        self.done_button = QPushButton("Done")
        self.done_button.setDefault(True)
        self.done_button.clicked.connect(self.finish)
        self.message = QLabel()
        self.message.setWordWrap(True)

        head = QHBoxLayout()
        head.addWidget(self.symbol)
        text = QVBoxLayout()
        text.addWidget(self.instructions)
        text.addWidget(self.progress)
        head.addLayout(text, 1)
        row = QHBoxLayout()
        for box in self.boxes:
            row.addWidget(box, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.next_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        right = QVBoxLayout()
        right.addLayout(head)
        right.addLayout(row, 1)
        right.addLayout(buttons)
        right.addWidget(self.message)
        body = QHBoxLayout()
        body.addWidget(self.choices, 1)
        body.addLayout(right, 3)
        outer = QVBoxLayout(self)
        outer.addWidget(title)
        outer.addLayout(body, 1)
        self.setMinimumSize(760, 480)
        self.resize(980, 600)  # fits a 1024x768 screen with its window frame
        self.refresh(select_first=True)

    # ── the list ──────────────────────────────────────────────────────
    def refresh(self, select_first: bool = False) -> None:
        """Reload the plan (samples stored per symbol) and keep the ticks and the current symbol."""
        ticked = self.chosen() if self.choices.count() else None
        self.plan: list[CalibrationItem] = plan(
            self.store, self.corrections, per_symbol=SAMPLES_PER_SYMBOL, symbols=CALIBRATION_SYMBOLS
        )
        self.choices.blockSignals(True)
        self.choices.clear()
        for item in self.plan:
            w = QListWidgetItem(self._item_text(item))
            w.setData(Qt.ItemDataRole.UserRole, item.label)
            w.setFlags(w.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = (
                item.label in ticked
                if ticked is not None
                else (item.label in DEFAULT_CHOICE or item.have > 0 or item.reason.startswith("missed"))
            )
            w.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            w.setToolTip(f"{item.description} ({item.reason})")
            self.choices.addItem(w)
        self.choices.blockSignals(False)
        if self.store.problems:
            self.message.setText("; ".join(str(p) for p in self.store.problems[:3]))
        target = self.current_label
        if select_first or target is None:
            todo = [i.label for i in self.plan if i.label in self.chosen() and i.needed]
            target = todo[0] if todo else (self.chosen() or [None])[0]
        self.select(target)
        self._update_progress()

    @staticmethod
    def _item_text(item: CalibrationItem) -> str:
        mark = "\u2713" if item.needed == 0 else f"{item.have}/{item.have + item.needed}"
        extra = f"  ({item.reason})" if item.reason.startswith("missed") else ""
        return f"{_glyph(item.label)}   {mark}{extra}"

    def chosen(self) -> list[str]:
        """Labels of the ticked symbols, in list order."""
        out = []
        for row in range(self.choices.count()):
            w = self.choices.item(row)
            if w.checkState() == Qt.CheckState.Checked:
                out.append(w.data(Qt.ItemDataRole.UserRole))
        return out

    def set_chosen(self, labels: Iterable[str]) -> None:
        """Tick exactly these symbols."""
        want = set(labels)
        for row in range(self.choices.count()):
            w = self.choices.item(row)
            on = w.data(Qt.ItemDataRole.UserRole) in want
            w.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def select(self, label: str | None) -> None:
        """Make *label* the symbol being drawn (its stored samples fill the boxes)."""
        for row in range(self.choices.count()):
            if self.choices.item(row).data(Qt.ItemDataRole.UserRole) == label:
                self.choices.setCurrentRow(row)
                self._on_row(row)
                return
        self.current_label = None
        self._show_symbol()

    def _item(self, label: str | None) -> CalibrationItem | None:
        return next((i for i in self.plan if i.label == label), None)

    def _on_row(self, row: int) -> None:
        w = self.choices.item(row) if 0 <= row < self.choices.count() else None
        label = w.data(Qt.ItemDataRole.UserRole) if w is not None else None
        if label != self.current_label:
            for t in self._timers:
                t.stop()
        self.current_label = label
        self._show_symbol()

    def _show_symbol(self) -> None:
        item = self._item(self.current_label)
        if item is None:
            self.symbol.setText("")
            self.instructions.setText("Nothing to calibrate: tick a symbol on the left.")
            for box in self.boxes:
                box.show_ink(None)
                box.record_id = None
            return
        self.symbol.setText(_glyph(item.label))
        self.instructions.setText(
            f"Draw {item.description} once in each box, as you write it in a derivation."
        )
        records = [r for r in self.store.records() if r.latex == item.label][-SAMPLES_PER_SYMBOL:]
        for k, box in enumerate(self.boxes):
            rec = records[k] if k < len(records) else None
            box.record_id = rec.id if rec else None
            box.show_ink(rec.ink if rec else None)
            box.reading.setText("stored" if rec else f"sample {k + 1}: draw here")
            box.reading.setStyleSheet("")

    def _update_progress(self) -> None:
        chosen = self.chosen()
        done = sum(1 for i in self.plan if i.label in chosen and i.needed == 0)
        left = sum(i.needed for i in self.plan if i.label in chosen)
        self.progress.setText(
            f"{done} of {len(chosen)} chosen symbols done; {left} samples to go "
            f"(about {max(0, round(left * 2.5 / 60))} min)."
        )

    # ── samples ───────────────────────────────────────────────────────
    def take_sample(self, box: SampleBox) -> bool:
        """Store the box's ink as a sample of the current symbol and ask what it now reads as."""
        label, ink = self.current_label, box.ink()
        if label is None or ink.is_empty:
            return False
        before = [(r.latex, r.ink) for r in self.store.records() if r.id != box.record_id]
        try:
            if box.record_id is not None:
                self.store.remove_record(box.record_id)
            rec = self.store.add(label, ink)
        except (OSError, ValueError) as exc:
            self.message.setText(f"The sample could not be saved: {exc}")
            return False
        box.record_id = rec.id
        self._dirty = True
        self._refresh_item(label)
        if self.recognizer is None:
            box.reading.setText("saved (the recogniser is not loaded yet)")
            return True
        box.reading.setText("reading\u2026")
        w = Worker(preview, self.recognizer, label, ink, before, tag=(box.index, rec.id))
        self.pool.submit(
            w,
            lambda p, b=box, rid=rec.id: self._previewed(b, rid, p),
            lambda msg, b=box, rid=rec.id: self._previewed(b, rid, Preview(label, "", False, 0, 0.0, msg)),
        )
        return True

    def _previewed(self, box: SampleBox, record_id: str, p: Preview) -> None:
        self.previews.append(p)
        if box.record_id != record_id:
            return  # redrawn or another symbol since
        if p.error:
            box.reading.setText(f"could not read: {p.error}")
            box.reading.setStyleSheet("color: #a04000;")
            return
        shown = _glyph(p.reading) if p.reading else "nothing"
        mark = "\u2713" if p.correct else "\u2717"
        box.reading.setText(f"now reads: {shown} {mark}")
        box.reading.setStyleSheet("color: #1b6e20;" if p.correct else "color: #a01010;")

    def _refresh_item(self, label: str) -> None:
        counts = self.store.counts()
        for n, item in enumerate(self.plan):
            if item.label == label:
                have = counts.get(label, 0)
                self.plan[n] = CalibrationItem(
                    item.label, item.description, have, max(0, SAMPLES_PER_SYMBOL - have), item.reason
                )
                w = self.choices.item(n)
                self.choices.blockSignals(True)
                w.setText(self._item_text(self.plan[n]))
                self.choices.blockSignals(False)
        self._update_progress()

    def redo(self, box: SampleBox) -> None:
        """Clear one box and forget its sample."""
        self._timers[box.index].stop()
        if box.record_id is not None:
            try:
                self.store.remove_record(box.record_id)
            except OSError as exc:
                self.message.setText(f"The sample could not be removed: {exc}")
                return
            self._dirty = True
        box.record_id = None
        box.show_ink(None)
        box.reading.setText(f"sample {box.index + 1}: draw here")
        box.reading.setStyleSheet("")
        if self.current_label is not None:
            self._refresh_item(self.current_label)

    def _flush(self) -> None:
        """Take any sample still waiting for its pause."""
        for box, timer in zip(self.boxes, self._timers, strict=True):
            if timer.isActive():
                timer.stop()
                self.take_sample(box)

    def next_symbol(self) -> None:
        """Go to the next ticked symbol that still needs samples (or the next ticked one)."""
        self._flush()
        chosen = self.chosen()
        if not chosen:
            return
        start = chosen.index(self.current_label) + 1 if self.current_label in chosen else 0
        order = chosen[start:] + chosen[:start]
        todo = [lab for lab in order if (it := self._item(lab)) is not None and it.needed]
        self.select((todo or order)[0])

    def skip(self) -> None:
        """Untick the current symbol (its stored samples stay) and go on."""
        label = self.current_label
        for row in range(self.choices.count()):
            w = self.choices.item(row)
            if w.data(Qt.ItemDataRole.UserRole) == label:
                w.setCheckState(Qt.CheckState.Unchecked)
        self.next_symbol() if self.chosen() else self.select(None)

    # ── done ──────────────────────────────────────────────────────────
    def finish(self) -> None:
        """Give every stored sample to the recogniser (in the dialog's worker), then close."""
        self._flush()
        if self.recognizer is None:
            self.message.setText(
                "Samples saved. The recogniser is not loaded (or cannot adapt); they will be "
                "used the next time it loads."
            )
            self.accept()
            return
        self.done_button.setEnabled(False)
        self.message.setText("Adapting the recogniser\u2026")
        self.pool.submit(Worker(apply, self.recognizer, self.store), self._adapted, self._adapt_failed)

    def _adapted(self, n: int) -> None:
        self.adapted = n
        self._dirty = False
        self.message.setText(f"The recogniser now knows {n} samples of your handwriting.")
        self.accept()

    def _adapt_failed(self, message: str) -> None:
        self.done_button.setEnabled(True)
        self.message.setText(f"The recogniser could not adapt: {message}")

    def reject(self) -> None:
        """Close without Done: the samples stay stored; the recogniser is still given all of them (the
        previews left it adapted to all but the last), in the background."""
        self._flush()
        if self._dirty and self.recognizer is not None:
            _BACKGROUND.submit(Worker(apply, self.recognizer, self.store))
        self.pool.cancel_all()
        super().reject()


#: Outlives the dialog: the adaptation that Cancel leaves to finish.
_BACKGROUND = WorkerPool()
