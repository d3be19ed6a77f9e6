"""The n-best candidates of a step as one-tap chips: each reading rendered as maths (mathtext), the
current one checked, no raw recogniser scores. A tap on a chip emits ``activated(row)``; the chips wrap
onto as many lines as the panel's width needs (a flow layout, after Qt's "Flow Layout" example).
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtWidgets import QLayout, QSizePolicy, QToolButton, QWidget

from whiteboard_app.ui.mathtext import render_pixmap

#: Largest chip icon (px): a long reading is scaled down to fit, never widening the panel.
CHIP_MAX_W, CHIP_MAX_H = 240, 34


class FlowLayout(QLayout):
    """Lays its items out left to right and wraps to a new line when the width runs out
    (Qt for Python's Flow Layout example, trimmed). ``spacing`` in px between items and lines."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list = []
        self._gap = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), test=True)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, test=False)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _do_layout(self, rect: QRect, test: bool) -> int:
        x, y, line_h = rect.x(), rect.y(), 0
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            w = min(hint.width(), max(1, rect.width()))
            if x > rect.x() and x + w > rect.right() + 1:
                x, y, line_h = rect.x(), y + line_h + self._gap, 0
            if not test:
                item.setGeometry(QRect(QPoint(x, y), QSize(w, hint.height())))
            x += w + self._gap
            line_h = max(line_h, hint.height())
        return y + line_h - rect.y()


class CandidateChips(QWidget):
    """The n-best list as chips. ``set_candidates(latex_list, current)``; ``count()``; ``itemData(row)``
    the LaTeX of chip ``row``; ``activated(row)`` when the user taps a chip that is not the current
    reading. Readings repeated in the list appear once."""

    activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("candidateChips")
        self._flow = FlowLayout(self)
        self._latex: list[str] = []
        self.buttons: list[QToolButton] = []
        sp = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._flow.heightForWidth(width)

    def set_candidates(self, latex: list[str], current: str | None) -> None:
        """Show ``latex`` (best first) as chips, the one equal to ``current`` checked."""
        unique: list[str] = []
        for s in latex:
            if s and s not in unique:
                unique.append(s)
        if unique == self._latex and self.buttons:
            for b, s in zip(self.buttons, unique, strict=True):
                b.setChecked(s == current)
            return
        for b in self.buttons:
            self._flow.removeWidget(b)
            b.setParent(None)
            b.deleteLater()
        self.buttons, self._latex = [], unique
        for row, s in enumerate(unique):
            b = QToolButton(self)
            b.setCheckable(True)
            b.setChecked(s == current)
            b.setAutoRaise(False)
            b.setToolTip(f"Use this reading: {s}")
            b.setAccessibleName(f"reading {row + 1}: {s}")
            pix = render_pixmap(s, 13.0)
            if pix is not None and not pix.isNull():
                if pix.width() > CHIP_MAX_W or pix.height() > CHIP_MAX_H:
                    pix = pix.scaled(
                        CHIP_MAX_W,
                        CHIP_MAX_H,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                b.setIcon(pix)
                b.setIconSize(pix.size())
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            else:
                b.setText(s if len(s) <= 40 else s[:39] + "\u2026")
            b.setStyleSheet(
                "QToolButton { background: #f4f6fb; border: 1px solid #c8d0e0; border-radius: 10px;"
                " padding: 2px 8px; } QToolButton:checked { background: #dce8fb;"
                " border: 2px solid #4a7bd0; }"
            )
            b.clicked.connect(lambda _=False, r=row: self._tapped(r))
            self._flow.addWidget(b)
            self.buttons.append(b)
        self._flow.invalidate()
        self.updateGeometry()

    def _tapped(self, row: int) -> None:
        b = self.buttons[row]
        b.setChecked(True)  # a chip stays checked: it is the reading now
        for k, other in enumerate(self.buttons):
            if k != row:
                other.setChecked(False)
        self.activated.emit(row)

    def count(self) -> int:
        """Number of chips (distinct readings)."""
        return len(self._latex)

    def itemData(self, row: int) -> str | None:
        """The LaTeX of chip ``row`` (None out of range)."""
        return self._latex[row] if 0 <= row < len(self._latex) else None

    def current_row(self) -> int:
        """The checked chip's row, or -1."""
        return next((k for k, b in enumerate(self.buttons) if b.isChecked()), -1)


__all__ = ["CandidateChips", "FlowLayout"]
