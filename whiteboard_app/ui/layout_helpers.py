"""Small layout pieces of the run screen that keep it usable from a 1920 px desktop down to half of
it, 1024x768 and a portrait tablet (issue 16, items 4 and 5).

* :class:`ElidedLabel` shows as much of a title as the width allows ("…" only when it must), instead of
  a fixed cut at a few hundred px;
* :func:`side_width` the steps column's width for a window width (stable from card to card);
* :func:`is_portrait` when the board and the panels go one under the other;
* :data:`FIRST_RUN_TEXT` the empty-state text that teaches the three gestures.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: Steps column width: this share of the window, clamped to [SIDE_MIN, SIDE_MAX] px.
SIDE_SHARE, SIDE_MIN, SIDE_MAX = 0.36, 300, 480
#: Portrait layout (panels under the board) when the view is this much taller than wide.
PORTRAIT_RATIO = 1.1

FIRST_RUN_TEXT = (
    "<b>How to write a derivation</b><br>"
    "\u270d\ufe0e <b>Write</b> one step on the board with the pen (or the mouse). When you pause, the step is read "
    "and checked; its verdict shows here.<br>"
    "\u21b5 <b>New step</b>: press Enter (or the New step button) to start the next step in a new band.<br>"
    "\u2307 <b>Scratch out</b>: scribble a zig-zag over ink to erase it.<br>"
    "A wrong reading? Tap another reading or type the LaTeX in the step's box. "
    "File \u2192 Calibrate the recogniser teaches it your handwriting."
)


class ElidedLabel(QLabel):
    """A one-line label that elides its text on the right to the width it is given (full text in the
    tooltip). Minimum width ``min_width`` px; it grows up to the width of the whole text."""

    def __init__(self, text: str = "", min_width: int = 80, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._min = min_width
        self.setSizePolicy(
            QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred
        )  # up to the whole title
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        """Show ``text`` (elided as needed)."""
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        """The whole text, whatever is shown."""
        return self._full

    def is_elided(self) -> bool:
        """True when the label shows less than its whole text."""
        return self.text() != self._full

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 8, super().sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self._min, self.width()) - 4
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width))


def side_width(window_width: int) -> int:
    """Width (px) of the steps column for a view ``window_width`` px wide (see SIDE_*)."""
    return int(max(SIDE_MIN, min(SIDE_MAX, SIDE_SHARE * window_width)))


def is_portrait(width: int, height: int) -> bool:
    """True when a ``width`` x ``height`` view should put the panels under the board."""
    return height > PORTRAIT_RATIO * width
