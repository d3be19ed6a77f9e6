"""The calibration dialog: the writer draws each calibration symbol a few times (the symbols CROHME
lacks, and any symbol the recogniser keeps missing); the samples are stored in the user's data folder
(``recognition.calibration.CalibrationStore``) and handed to the recogniser's ``adapt`` hook.

The model of the flow (which symbols, how many samples, where they go) is the recognition layer's
``recognition/calibration.py``; this dialog only draws and displays it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.calibration import CalibrationStore, apply, plan
from whiteboard_app.ui.canvas import BoardCanvas
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.workers import Worker, WorkerPool


class CalibrationDialog(QDialog):
    """Draw calibration samples. ``recognizer`` (may be None) gets them through ``adapt`` on Done.

    ``data_dir`` is the user's data folder (samples go to ``<data_dir>/calibration``); ``corrections``
    are the user's (read, corrected) LaTeX pairs, which add the symbols the recogniser keeps missing.
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
        self.pool = WorkerPool(parent=self)
        self.adapted: int | None = None

        self.items = QListWidget()
        self.items.currentRowChanged.connect(self._show_item)
        self.instructions = QLabel()
        self.instructions.setWordWrap(True)
        self.instructions.setStyleSheet("font-size: 15px;")
        self.page_model = PageModel(parent=self)
        self.canvas = BoardCanvas(self.page_model, undo_stack=QUndoStack(self))
        self.canvas.setMinimumSize(420, 220)
        self.save_button = QPushButton("Save this sample")
        self.save_button.clicked.connect(self.save_sample)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear_canvas)
        self.done_button = QPushButton("Done")
        self.done_button.clicked.connect(self.finish)
        self.message = QLabel()
        self.message.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        buttons.addWidget(self.done_button)
        right = QVBoxLayout()
        right.addWidget(self.instructions)
        right.addWidget(self.canvas, 1)
        right.addLayout(buttons)
        right.addWidget(self.message)
        layout = QHBoxLayout(self)
        layout.addWidget(self.items, 1)
        layout.addLayout(right, 2)
        self.resize(900, 480)
        self.refresh()

    def refresh(self) -> None:
        """Reload the plan (samples stored per symbol) and keep the current row."""
        row = max(0, self.items.currentRow())
        self.plan = plan(self.store, self.corrections)
        self.items.blockSignals(True)
        self.items.clear()
        for item in self.plan:
            mark = "\u2713 " if item.needed == 0 else ""
            w = QListWidgetItem(
                f"{mark}{item.label}   {item.have}/{item.have + item.needed}   ({item.reason})"
            )
            w.setData(Qt.ItemDataRole.UserRole, item.label)
            self.items.addItem(w)
        self.items.blockSignals(False)
        if self.plan:
            self.items.setCurrentRow(min(row, len(self.plan) - 1))
            self._show_item(self.items.currentRow())
        if self.store.problems:
            self.message.setText("; ".join(str(p) for p in self.store.problems[:3]))

    @property
    def current_label(self) -> str | None:
        """Label of the symbol being drawn, or None."""
        row = self.items.currentRow()
        return self.plan[row].label if 0 <= row < len(self.plan) else None

    def _show_item(self, row: int) -> None:
        if not 0 <= row < len(self.plan):
            self.instructions.setText("Nothing to calibrate.")
            return
        item = self.plan[row]
        left = f"{item.needed} more" if item.needed else "enough samples; more still help"
        self.instructions.setText(f"Draw {item.description} ({left}), then save it.")

    def sample_ink(self) -> StepInk:
        """All ink on the drawing area, as one sample."""
        return StepInk(tuple(s for _, s in self.page_model.page.strokes()))

    def clear_canvas(self) -> None:
        """Wipe the drawing area (the stored samples stay)."""
        from whiteboard_app.ink.page import Page

        self.page_model.set_page(Page())

    def save_sample(self) -> bool:
        """Store the drawn ink as a sample of the current symbol; move on once it has enough."""
        label, ink = self.current_label, self.sample_ink()
        if label is None:
            return False
        if ink.is_empty:
            self.message.setText("Draw the symbol first.")
            return False
        try:
            self.store.add(label, ink)
        except (OSError, ValueError) as exc:
            self.message.setText(f"The sample could not be saved: {exc}")
            return False
        self.clear_canvas()
        row = self.items.currentRow()
        self.refresh()
        self.message.setText(f"Saved a sample of {label}.")
        if self.plan[row].needed == 0 and row + 1 < len(self.plan):
            self.items.setCurrentRow(row + 1)
        return True

    def finish(self) -> None:
        """Give every stored sample to the recogniser (in a worker), then close."""
        if self.recognizer is None or not callable(getattr(self.recognizer, "adapt", None)):
            self.message.setText(
                "Samples saved. The recogniser is not loaded (or cannot adapt); they will be "
                "used the next time it loads."
            )
            self.accept()
            return
        self.done_button.setEnabled(False)
        self.message.setText("Adapting the recogniser\u2026")
        w = Worker(apply, self.recognizer, self.store)
        w.signals.result.connect(self._adapted)
        w.signals.error.connect(self._adapt_failed)
        self.pool.submit(w)

    def _adapted(self, n: int) -> None:
        self.adapted = n
        self.message.setText(f"The recogniser now knows {n} samples of your handwriting.")
        self.accept()

    def _adapt_failed(self, message: str) -> None:
        self.done_button.setEnabled(True)
        self.message.setText(f"The recogniser could not adapt: {message}")
