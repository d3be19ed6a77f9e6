"""The board browser: every saved board of the data folder, newest first, with its card, date, time,
verdicts, self-grade and a thumbnail of the ink; open (review at the end state), replay, export and
delete (after a confirmation).

The boards come from ``sessions.store.BoardStore.list()`` (a file that does not load is reported in
words below the list and the others are still listed). The window gives the browser callables, so
tests pass a store on a temporary folder:

* ``listing() -> BoardListing`` (``BoardStore.list``);
* ``titles``: card id -> card title (the deck's; a board's own ``card_title`` is used otherwise);
* ``delete(path)``: removes a board file (the window's Services; raises OSError).

Signals: ``review_requested(path)`` (open it at its end state), ``replay_requested(path)`` (play it
from the start), ``deleted(path)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.sessions.board import Board
from whiteboard_app.ui.confirm import confirm
from whiteboard_app.ui.timer_widget import format_ms

COLUMNS = ("Board", "Card", "Date", "Time", "Verdicts", "Grade")
THUMB = QSize(120, 68)
_MARKS = (("correct", "\u2713"), ("wrong", "\u2717"), ("unparsed", "?"), ("cannot_check", "\u2248"))


@dataclass(frozen=True, slots=True)
class BoardRow:
    """What the browser shows of one board: its file, card id and title, local start time, duration
    (ms), verdict counts of the steps' latest verdicts (kind -> count), self-grade, finished or not."""

    path: Path
    card_id: str
    title: str
    started: str
    duration_ms: float
    verdicts: dict[str, int]
    grade: str | None
    finished: bool

    def verdict_text(self) -> str:
        """ "✓3 ✗1 ?1" (kinds with a count only); "no verdicts" when no step was checked."""
        parts = [f"{mark}{self.verdicts[k]}" for k, mark in _MARKS if self.verdicts.get(k)]
        return " ".join(parts) or "no verdicts"

    def grade_text(self) -> str:
        """The self-grade ("Good"), else "not graded" for a finished run or "unfinished" for one that
        was left before Done (it is offered back at the next start)."""
        if self.grade:
            return self.grade.capitalize()
        return "not graded" if self.finished else "unfinished"


def board_row(path: Path, board: Board, titles: Mapping[str, str] | None = None) -> BoardRow:
    """The row of ``board`` saved at ``path`` (title from ``titles`` first, then the board's own)."""
    counts: dict[str, int] = {}
    for s in board.steps:
        v = s.verdict
        if v is not None:
            counts[v.verdict] = counts.get(v.verdict, 0) + 1
    title = (titles or {}).get(board.card_id) or board.card_title or board.card_id
    started = board.started_at.astimezone().strftime("%Y-%m-%d %H:%M")
    return BoardRow(
        Path(path), board.card_id, title, started, board.duration_ms, counts, board.self_grade, board.finished
    )


def thumbnail(board: Board, size: QSize = THUMB) -> QPixmap:
    """A small picture of the board's final ink (white background, aspect kept, centred)."""
    from whiteboard_app.ui.canvas import BoardCanvas
    from whiteboard_app.ui.export import board_page
    from whiteboard_app.ui.page_model import PageModel

    img = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(QColor("white"))
    page = board_page(board)
    if page.stroke_count:
        left, top, right, bottom = BoardCanvas._page_extent(page)
        w, h = max(1.0, right - left), max(1.0, bottom - top)
        k = min((size.width() - 4) / w, (size.height() - 4) / h)
        rect = QRectF((size.width() - w * k) / 2, (size.height() - h * k) / 2, w * k, h * k)
        painter = QPainter(img)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        canvas = BoardCanvas(PageModel(page))
        canvas.render_to(painter, rect)
        painter.end()
    painter = QPainter(img)
    painter.setPen(QColor("#c8ccd6"))
    painter.drawRect(0, 0, size.width() - 1, size.height() - 1)
    painter.end()
    return QPixmap.fromImage(img)


class BoardBrowser(QWidget):
    """The saved boards of the data folder; see the module doc. ``refresh()`` lists them again."""

    review_requested = Signal(object)
    replay_requested = Signal(object)
    deleted = Signal(object)

    def __init__(
        self,
        listing: Callable[[], object],
        titles: Mapping[str, str] | None = None,
        delete: Callable[[Path], None] | None = None,
        folder: str | os.PathLike[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Saved boards")
        self._listing = listing
        self._titles = dict(titles or {})
        self._delete = delete or (lambda path: Path(path).unlink())
        self.folder = Path(folder) if folder else None
        self.rows: list[BoardRow] = []
        self._boards: dict[Path, Board] = {}
        self._thumbs_todo: list[QTreeWidgetItem] = []

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by card")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Review the board as it was at the end (Enter, or double-click)")
        self.open_button.clicked.connect(lambda: self._emit(self.review_requested))
        self.replay_button = QPushButton("Replay")
        self.replay_button.setToolTip("Replay the board stroke by stroke from the start")
        self.replay_button.clicked.connect(lambda: self._emit(self.replay_requested))
        self.export_button = QPushButton("Export\u2026")
        self.export_button.setToolTip("Save the board as PNG, PDF or InkML")
        self.export_button.clicked.connect(self.export_selected)
        self.delete_button = QPushButton("Delete\u2026")
        self.delete_button.clicked.connect(self.delete_selected)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        for b in (self.open_button, self.replay_button, self.export_button, self.delete_button):
            top.addWidget(b)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setIconSize(THUMB)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, THUMB.width() + 16)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for c in range(2, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(lambda *_: self._emit(self.review_requested))
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())

        self.where = QLabel()
        self.where.setObjectName("boardsFolder")
        self.where.setStyleSheet("color: #555;")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.setWordWrap(True)
        self.problems = QLabel()
        self.problems.setObjectName("boardProblems")
        self.problems.setStyleSheet("color: #8a6d00;")
        self.problems.setWordWrap(True)
        self.empty = QLabel(
            "No saved boards yet. Every run is saved here as you write: pick a card in the deck "
            "and press Practise."
        )
        self.empty.setWordWrap(True)
        self.empty.setObjectName("boardsEmpty")

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h2>Saved boards</h2>"))
        layout.addLayout(top)
        layout.addWidget(self.empty)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.problems)
        layout.addWidget(self.where)
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setInterval(0)
        self._thumb_timer.timeout.connect(self._next_thumbnail)
        self.refresh()
        self.resize(900, 600)

    # ------------------------------------------------------------------------------------ listing
    def refresh(self) -> None:
        """List the boards again (after a run, a delete, or a change of folder)."""
        self.tree.clear()
        self.rows, self._boards, self._thumbs_todo = [], {}, []
        try:
            listing = self._listing()
            entries, errors = list(listing.boards), list(listing.errors)
        except Exception as exc:  # noqa: BLE001 - a folder that cannot be read is said in words
            entries, errors = [], [f"the boards folder cannot be read: {exc}"]
        for entry in entries:
            row = board_row(entry.path, entry.board, self._titles)
            self.rows.append(row)
            self._boards[row.path] = entry.board
            item = QTreeWidgetItem(
                [
                    "",
                    row.title,
                    row.started,
                    format_ms(row.duration_ms),
                    row.verdict_text(),
                    row.grade_text(),
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, str(row.path))
            item.setToolTip(1, f"{row.title} ({row.card_id})\n{row.path.name}")
            item.setSizeHint(0, QSize(THUMB.width() + 8, THUMB.height() + 6))
            self.tree.addTopLevelItem(item)
            self._thumbs_todo.append(item)
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.problems.setText(self._problem_words(errors))
        self.problems.setVisible(bool(errors))
        self.where.setText(f"Boards folder: {self.folder}" if self.folder else "")
        self.empty.setVisible(not self.rows)
        self.tree.setVisible(bool(self.rows))
        self.apply_filter()
        self._update_buttons()
        if self._thumbs_todo:
            self._thumb_timer.start()  # thumbnails one per event-loop turn: the list shows at once

    @staticmethod
    def _problem_words(errors: list) -> str:
        if not errors:
            return ""
        names = []
        for e in errors[:3]:
            path = getattr(e, "path", None)
            reason = getattr(e, "reason", None) or str(e)
            names.append(f"{Path(path).name}: {reason}" if path else str(reason))
        more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
        n = len(errors)
        return (
            f"{n} file{'s' if n != 1 else ''} could not be read and {'are' if n != 1 else 'is'} left out "
            f"(never changed): " + "; ".join(names) + more
        )

    def _next_thumbnail(self) -> None:
        if not self._thumbs_todo:
            self._thumb_timer.stop()
            return
        item = self._thumbs_todo.pop(0)
        board = self._boards.get(Path(item.data(0, Qt.ItemDataRole.UserRole)))
        if board is not None:
            try:
                item.setIcon(0, QIcon(thumbnail(board)))
            except Exception:  # noqa: BLE001 - a thumbnail is decoration
                pass

    def finish_thumbnails(self) -> None:
        """Draw every thumbnail still waiting, now (tests, screenshots)."""
        while self._thumbs_todo:
            self._next_thumbnail()
        self._thumb_timer.stop()

    def apply_filter(self) -> None:
        """Hide the boards whose card title or id does not contain every word of the filter."""
        words = self.search.text().lower().split()
        for k in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(k)
            row = self.rows[k]
            hay = f"{row.title} {row.card_id}".lower()
            item.setHidden(not all(w in hay for w in words))
        current = self.tree.currentItem()
        if current is None or current.isHidden():
            first = next(
                (
                    self.tree.topLevelItem(k)
                    for k in range(self.tree.topLevelItemCount())
                    if not self.tree.topLevelItem(k).isHidden()
                ),
                None,
            )
            self.tree.setCurrentItem(first)
        self._update_buttons()

    def visible_titles(self) -> list[str]:
        """Card titles of the listed (not filtered out) boards, in order (tests)."""
        return [
            self.tree.topLevelItem(k).text(1)
            for k in range(self.tree.topLevelItemCount())
            if not self.tree.topLevelItem(k).isHidden()
        ]

    # ------------------------------------------------------------------------------------ actions
    def selected_path(self) -> Path | None:
        """The file of the current (visible) board, or None."""
        item = self.tree.currentItem()
        if item is None or item.isHidden():
            return None
        return Path(item.data(0, Qt.ItemDataRole.UserRole))

    def select(self, path: str | os.PathLike[str]) -> None:
        """Make the board saved at ``path`` current."""
        for k in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(k)
            if Path(item.data(0, Qt.ItemDataRole.UserRole)) == Path(path):
                self.tree.setCurrentItem(item)

    def _update_buttons(self) -> None:
        on = self.selected_path() is not None
        for b in (self.open_button, self.replay_button, self.export_button, self.delete_button):
            b.setEnabled(on)

    def _emit(self, signal) -> None:
        path = self.selected_path()
        if path is not None:
            signal.emit(path)

    def export_selected(self, path: str | None = None) -> Path | None:
        """Export the current board (PNG, PDF or InkML by the extension of ``path``; asked when None).
        Returns the written file or None; a failure is said in the problems line."""
        src = self.selected_path()
        if src is None:
            return None
        board = self._boards[src]
        if not path:
            suggested = str(
                (self.folder or Path.home()) / f"{board.card_id}-{board.started_at:%Y%m%d-%H%M}.png"
            )
            path, _ = QFileDialog.getSaveFileName(
                self, "Export the board", suggested, "PNG (*.png);;PDF (*.pdf);;InkML (*.inkml)"
            )
            if not path:
                return None
        from whiteboard_app.ui.export import export_board

        try:
            out = export_board(board, path)
        except Exception as exc:  # noqa: BLE001 - ExportError / OSError in words
            self.problems.setText(f"The board could not be exported: {exc}")
            self.problems.setVisible(True)
            return None
        self.problems.setText(f"Exported to {out}")
        self.problems.setVisible(True)
        return Path(out)

    def delete_selected(self, ask: bool = True) -> bool:
        """Delete the current board's file after a confirmation (``confirm``); True when it was."""
        path = self.selected_path()
        if path is None:
            return False
        row = next(r for r in self.rows if r.path == path)
        if ask and not confirm(
            self,
            "Delete this board?",
            f"Delete the board of \u201c{row.title}\u201d from {row.started}?\n"
            f"The file {path.name} is removed; its replay is lost.",
        ):
            return False
        try:
            self._delete(path)
        except OSError as exc:
            self.problems.setText(f"The board could not be deleted: {exc.strerror or exc}")
            self.problems.setVisible(True)
            return False
        self.deleted.emit(path)
        self.refresh()
        return True

    def keyPressEvent(self, event) -> None:
        """Delete deletes the selected board (asking first); Escape closes the window (a window of its own,
        not a dialog, so Qt does not close it by itself)."""
        if event.key() == Qt.Key.Key_Delete:
            self.delete_selected()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)
