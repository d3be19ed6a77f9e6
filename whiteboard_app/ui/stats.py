"""Statistics view: how the practice is going, card by card, from the history database.

Numbers a person reads (a table per card: attempts, best / median / last time against the target) and
plots where a person would rather look (matplotlib in Qt): the trend of the selected card's times over
its attempts with the target line and each attempt's correctness, the steps most often wrong, unread
or misread, and where the freezes happen. The selected card's attempts are listed; double-clicking one
opens its board in the review window.

``StatsWindow(history, titles=None, parent=None)``; ``refresh()`` re-reads the database;
``select_card(card_id)``; ``reviewRequested(str path)`` is emitted for an attempt to review (and by
default the window opens a ``ReviewWindow`` itself; unreadable boards are reported in the status line).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.sessions.history import History
from whiteboard_app.ui import pyside_guard  # noqa: F401  (PySide6 6.12 None refcount defect)


def _fmt(ms: float | None) -> str:
    if ms is None:
        return "-"
    s = int(round(ms / 1000.0))
    return f"{s // 60}:{s % 60:02d}"


class StatsWindow(QWidget):
    """The statistics of ``history`` (see the module doc); ``titles`` maps card ids to card titles."""

    reviewRequested = Signal(str)
    CARD_COLUMNS = ("Card", "Attempts", "Best", "Median", "Last", "Target", "Last / target")
    ATTEMPT_COLUMNS = ("Date", "Time", "Correct", "Freezes", "Self-grade", "Rating")
    GRILL_COLUMNS = ("Card", "Answered", "Correct", "Accuracy", "Median time", "Over time")

    def __init__(
        self,
        history: History,
        titles: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
        open_reviews: bool = True,
    ) -> None:
        super().__init__(parent)
        self.history = history
        self.titles = dict(titles or {})
        self.card_id: str | None = None
        self._reviews: list[QWidget] = []
        self.setWindowTitle("Practice statistics")

        self.cards = QTableWidget(0, len(self.CARD_COLUMNS), self)
        self.cards.setHorizontalHeaderLabels(self.CARD_COLUMNS)
        self.cards.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.cards.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.cards.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.cards.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.cards.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.cards.verticalHeader().setVisible(False)
        self.cards.itemSelectionChanged.connect(self._on_card_selected)

        self.attempts = QTableWidget(0, len(self.ATTEMPT_COLUMNS), self)
        self.attempts.setHorizontalHeaderLabels(self.ATTEMPT_COLUMNS)
        self.attempts.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.attempts.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.attempts.verticalHeader().setVisible(False)
        self.attempts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.attempts.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.attempts.cellDoubleClicked.connect(self._on_attempt)
        self.attempts.setToolTip("Double-click an attempt to replay its board")

        self.trend_fig = Figure(figsize=(6, 3), layout="constrained")
        self.trend_canvas = FigureCanvasQTAgg(self.trend_fig)
        self.steps_fig = Figure(figsize=(6, 3), layout="constrained")
        self.steps_canvas = FigureCanvasQTAgg(self.steps_fig)
        self.freeze_fig = Figure(figsize=(6, 3), layout="constrained")
        self.freeze_canvas = FigureCanvasQTAgg(self.freeze_fig)
        self.plots = QTabWidget(self)
        self.plots.addTab(self.trend_canvas, "Time over attempts")
        self.plots.addTab(self.steps_canvas, "Troublesome steps")
        self.plots.addTab(self.freeze_canvas, "Freezes")
        # grill mode (sessions/grill.py): accuracy and speed of the rapid questions, per card and overall
        self.grill_table = QTableWidget(0, len(self.GRILL_COLUMNS), self)
        self.grill_table.setHorizontalHeaderLabels(self.GRILL_COLUMNS)
        self.grill_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.grill_table.verticalHeader().setVisible(False)
        self.grill_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.grill_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.plots.addTab(self.grill_table, "Grill")

        self.status = QLabel(self)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.cards)
        left.addWidget(self.attempts)
        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(left)
        main.addWidget(self.plots)
        main.setStretchFactor(1, 2)
        main.setSizes([520, 680])
        layout = QVBoxLayout(self)
        layout.addWidget(main, 1)
        layout.addWidget(self.status)
        if open_reviews:
            self.reviewRequested.connect(self.open_review)
        self.resize(1200, 700)
        self.refresh()

    # ------------------------------------------------------------------------------- data
    def refresh(self) -> None:
        """Re-read the history and redraw everything (keeps the selected card)."""
        keep = self.card_id
        ids = self.history.card_ids()
        self.cards.blockSignals(True)
        self.cards.setRowCount(len(ids))
        for row, cid in enumerate(ids):
            st = self.history.card_stats(cid)
            ratio = st.last_vs_target
            cells = [
                self.titles.get(cid, cid),
                str(st.attempts),
                _fmt(st.best_ms),
                _fmt(st.median_ms),
                _fmt(st.last_ms),
                _fmt(st.target_ms),
                f"{ratio:.0%}" if ratio is not None else "-",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, cid)
                if col == 6 and ratio is not None:
                    item.setForeground(QBrush(QColor(46, 125, 50) if ratio <= 1 else QColor(179, 38, 30)))
                self.cards.setItem(row, col, item)
        self.cards.blockSignals(False)
        self.status.setText(
            f"{len(self.history.attempts())} attempts at {len(ids)} cards"
            if ids
            else "No attempts yet: practise a card and its statistics appear here."
        )
        self._fill_grill()
        target = keep if keep in ids else (ids[0] if ids else None)
        if target is not None:
            self.select_card(target)
        else:
            self._draw(None)

    def select_card(self, card_id: str) -> None:
        """Show ``card_id``'s attempts and plots (KeyError if it has no attempts)."""
        for row in range(self.cards.rowCount()):
            if self.cards.item(row, 0).data(Qt.ItemDataRole.UserRole) == card_id:
                self.card_id = card_id
                self.cards.blockSignals(True)
                self.cards.selectRow(row)
                self.cards.blockSignals(False)
                self._fill_attempts()
                self._draw(card_id)
                return
        raise KeyError(card_id)

    def _on_card_selected(self) -> None:
        items = self.cards.selectedItems()
        if items:
            self.select_card(items[0].data(Qt.ItemDataRole.UserRole))

    def _fill_attempts(self) -> None:
        rows = list(reversed(self.history.attempts(self.card_id)))  # newest first
        self.attempts.setRowCount(len(rows))
        for r, a in enumerate(rows):
            checked = a.n_correct + a.n_wrong
            cells = [
                a.started_at.strftime("%Y-%m-%d %H:%M") + ("" if a.finished else " (unfinished)"),
                _fmt(a.duration_ms),
                f"{a.n_correct}/{a.n_steps}" if checked else "-",
                str(a.n_freezes),
                a.self_grade or "-",
                {1: "again", 2: "hard", 3: "good", 4: "easy"}.get(a.rating or 0, "-"),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, a.board_path or "")
                self.attempts.setItem(r, c, item)

    def _on_attempt(self, row: int, _col: int) -> None:
        path = self.attempts.item(row, 0).data(Qt.ItemDataRole.UserRole)
        if path:
            self.reviewRequested.emit(path)
        else:
            self.status.setText("This attempt has no saved board.")

    def open_review(self, path: str) -> QWidget | None:
        """Open the board at ``path`` in a ReviewWindow; a board that cannot be read is reported."""
        from whiteboard_app.sessions.board import BoardError
        from whiteboard_app.sessions.store import BoardStore
        from whiteboard_app.ui.review import ReviewWindow

        try:
            board = BoardStore.load(path)
        except BoardError as exc:
            self.status.setText(f"Cannot open the board: {exc}")
            return None
        w = ReviewWindow(board)
        # kept alive by this list while open; closed ones are dropped (and freed by Python) on the next open
        self._reviews = [x for x in self._reviews if x.isVisible()] + [w]
        w.show()
        return w

    # ------------------------------------------------------------------------------- plots
    def _draw(self, card_id: str | None) -> None:
        self.trend_fig.clear()
        self.steps_fig.clear()
        self.freeze_fig.clear()
        ax = self.trend_fig.add_subplot()
        if card_id is None:
            ax.text(0.5, 0.5, "no attempts yet", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        else:
            self._draw_trend(ax, card_id)
            self._draw_steps(self.steps_fig.add_subplot(), card_id)
            self._draw_freezes(self.freeze_fig.add_subplot(), card_id)
        for c in (self.trend_canvas, self.steps_canvas, self.freeze_canvas):
            c.draw_idle()

    def _draw_trend(self, ax, card_id: str) -> None:
        points = self.history.trend(card_id)
        st = self.history.card_stats(card_id)
        xs = list(range(1, len(points) + 1))
        ys = [p.duration_ms / 60_000 for p in points]
        colours = [
            "#9e9e9e" if p.correct_fraction is None else ("#2e7d32" if p.correct_fraction == 1 else "#c62828")
            for p in points
        ]
        ax.plot(xs, ys, color="#5c6bc0", linewidth=1.5, zorder=1)
        ax.scatter(
            xs,
            ys,
            c=colours,
            s=[60 if p.finished else 25 for p in points],
            zorder=2,
            edgecolors=["none" if p.finished else "#000000" for p in points],
        )
        if st.target_ms:
            ax.axhline(st.target_ms / 60_000, color="#ef6c00", linestyle="--", label="target")
        if st.best_ms is not None:
            ax.axhline(st.best_ms / 60_000, color="#2e7d32", linestyle=":", label="best")
        ax.set_xlabel("attempt")
        ax.set_ylabel("time (min)")
        # two short lines, wrapped to the axes: one long line was cut at both ends (issue 16)
        title = textwrap.shorten(self.titles.get(card_id, card_id), 70, placeholder="\u2026")
        ax.set_title(f"{title}\ngreen: every checked step correct \u00b7 red: not", fontsize=10, wrap=True)
        ax.set_xticks(xs)
        ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right")

    def _draw_steps(self, ax, card_id: str) -> None:
        rows = sorted(self.history.trouble_steps(card_id, limit=20), key=lambda t: t.step_index)
        if not rows:
            ax.text(0.5, 0.5, "no step ever went wrong", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            return
        labels = [f"step {t.step_index + 1}" for t in rows]
        wrong = [t.wrong for t in rows]
        unparsed = [t.unparsed for t in rows]
        misread = [t.misread for t in rows]
        ax.barh(labels, wrong, color="#c62828", label="wrong")
        ax.barh(labels, unparsed, left=wrong, color="#9e9e9e", label="not read")
        ax.barh(
            labels,
            misread,
            left=[a + b for a, b in zip(wrong, unparsed, strict=True)],
            color="#ef6c00",
            label="misread (corrected)",
        )
        ax.invert_yaxis()
        ax.set_xlabel("attempts")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="lower right")
        ax.set_title("Steps most often wrong, unread or misread", fontsize=10, wrap=True)

    def _draw_freezes(self, ax, card_id: str) -> None:
        stats = sorted(
            self.history.freeze_stats(card_id), key=lambda f: (f.step_index is None, f.step_index or 0)
        )
        if not stats:
            ax.text(
                0.5, 0.5, "no freezes (pauses over 8 s)", ha="center", va="center", transform=ax.transAxes
            )
            ax.set_axis_off()
            return
        labels = [
            f"before step {f.step_index + 1}" if f.step_index is not None else "at the end" for f in stats
        ]
        ax.bar(labels, [f.total_ms / 1000 for f in stats], color="#d32f2f")
        for i, f in enumerate(stats):
            ax.annotate(f"{f.count}x", (i, f.total_ms / 1000), ha="center", va="bottom")
        ax.set_ylabel("total time frozen (s)")
        ax.set_title("Where the freezes happen\n(pauses over 8 s without ink)", fontsize=10)

    def _fill_grill(self) -> None:
        grill = getattr(self.history, "grill_card_ids", None)
        ids = grill() if grill is not None else []
        stats = [self.history.grill_stats(c) for c in ids] + ([self.history.grill_stats(None)] if ids else [])
        self.grill_table.setRowCount(len(stats))
        for row, s in enumerate(stats):
            cells = [
                self.titles.get(s.card_id, s.card_id) if s.card_id else "All cards",
                str(s.answered),
                str(s.correct),
                f"{s.accuracy:.0%}" if s.accuracy is not None else "-",
                f"{s.median_ms / 1000:.1f} s" if s.median_ms is not None else "-",
                str(s.over_time),
            ]
            for col, text in enumerate(cells):
                self.grill_table.setItem(row, col, QTableWidgetItem(text))

    # ------------------------------------------------------------------------------- for tests
    def grill_rows(self) -> list[list[str]]:
        """The texts of the grill table (one row per card, then "All cards")."""
        return [
            [self.grill_table.item(r, c).text() for c in range(self.grill_table.columnCount())]
            for r in range(self.grill_table.rowCount())
        ]

    def card_row(self, card_id: str) -> list[str]:
        """The texts of ``card_id``'s row in the card table."""
        for row in range(self.cards.rowCount()):
            if self.cards.item(row, 0).data(Qt.ItemDataRole.UserRole) == card_id:
                return [self.cards.item(row, c).text() for c in range(self.cards.columnCount())]
        raise KeyError(card_id)
