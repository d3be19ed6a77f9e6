"""``PageModel``: the Qt wrapper around the pure ``ink.page.Page`` that widgets subscribe to.

Widgets get the model in their constructor and listen to its signals; every change of the page goes
through ``set_page`` (normally from an undo command in ``ui/undo.py``), which emits

- ``stepInkChanged(int step)`` for each step whose ink object changed (compared by identity, so an
  edit that leaves a step alone does not signal it),
- ``bandsChanged()`` when the band layout (number of steps or band tops) changed,
- ``pageChanged()`` once after the above.

The model also keeps one opaque *reading* per step (whatever the window stores: accepted LaTeX, a
correction, a verdict) so that ``ui.undo.ReadingCommand`` can undo accepting or correcting a reading;
``readingChanged(int step)`` is emitted when one changes. ``stepsShifted(int from_step, int delta)`` is
emitted by ``shift_readings`` before anything else changes, so that views holding per-step state (the
practice view's readings and verdicts) move it with the steps when a step is split or merged.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from whiteboard_app.ink.page import Page
from whiteboard_app.ui import pyside_guard  # noqa: F401  (PySide6 6.12 None refcount defect)


class PageModel(QObject):
    """Holds the current ``Page`` and the per-step readings; emits change signals (see module doc)."""

    pageChanged = Signal()
    stepInkChanged = Signal(int)
    bandsChanged = Signal()
    readingChanged = Signal(int)
    stepsShifted = Signal(int, int)

    def __init__(self, page: Page | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._page = page if page is not None else Page()
        self._readings: dict[int, object] = {}

    @property
    def page(self) -> Page:
        """The current page (immutable; replace it with ``set_page``)."""
        return self._page

    def set_page(self, page: Page) -> None:
        """Replace the page and emit the signals for what changed (nothing when ``page is self.page``)."""
        old = self._page
        if page is old:
            return
        self._page = page
        n = max(len(old.steps), len(page.steps))
        for k in range(n):
            a = old.steps[k] if k < len(old.steps) else None
            b = page.steps[k] if k < len(page.steps) else None
            if a is not b:
                self.stepInkChanged.emit(k)
        if old.tops != page.tops:
            self.bandsChanged.emit()
        self.pageChanged.emit()

    def reading(self, step: int) -> object | None:
        """The reading stored for a step, or None."""
        return self._readings.get(step)

    def shift_readings(self, from_step: int, delta: int) -> None:
        """Move the per-step state of steps >= ``from_step`` by ``delta`` places: a step was inserted before
        them (delta=1, e.g. a split) or removed (delta=-1, e.g. the split undone, the step at
        ``from_step - 1`` dropped). Emits ``stepsShifted(from_step, delta)`` first (always, even without
        readings), then ``readingChanged`` for every index touched. With delta < 0 the readings of the
        ``-delta`` steps before ``from_step`` are dropped. Raises ValueError when ``from_step + delta < 0``."""
        if from_step + delta < 0:
            raise ValueError(f"cannot shift steps from {from_step} by {delta}")
        self.stepsShifted.emit(from_step, delta)
        dropped = [k for k in self._readings if from_step + delta <= k < from_step] if delta < 0 else []
        moved = {k: r for k, r in self._readings.items() if k >= from_step}
        for k in [*dropped, *moved]:
            del self._readings[k]
        for k, r in moved.items():
            self._readings[k + delta] = r
        for k in sorted(set(moved) | {k + delta for k in moved} | set(dropped)):
            self.readingChanged.emit(k)

    def set_reading(self, step: int, reading: object | None) -> None:
        """Store (or with None, forget) a step's reading and emit ``readingChanged(step)``."""
        if reading is None:
            self._readings.pop(step, None)
        else:
            self._readings[step] = reading
        self.readingChanged.emit(step)
