"""The deck browser: the cards grouped by topic with their due state, best and last time against the
target; a search box and a "due only" filter; double-click (or Enter, or Practise) opens a card.

The numbers come from a ``stats(card_id) -> CardStats`` callable the application builds from the
sessions layer (History, Scheduler); without one every card is "new". A card's due state compares its
due instant (the scheduler's, FSRS) with the time now: right after a "good" grade a card in its learning
steps is due again in minutes, and it shows "in 10 min", not "due", until then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
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

from whiteboard_app.ui.timer_widget import format_ms

COLUMNS = ("Card", "Due", "Best", "Last", "Target", "Attempts")

#: The details pane before a card is chosen: what to do first (issue 16, first run).
FIRST_STEPS = (
    "Pick a card and press <b>Practise</b> (or double-click it, or type its name and press Enter). "
    "On the board: write one step, pause and it is checked; Enter starts the next step; a zig-zag "
    "over ink erases it. File \u2192 Calibrate the recogniser teaches it your writing."
)


@dataclass(frozen=True)
class CardStats:
    """What the history knows about one card: when it is due (an aware ``datetime``, the scheduler's due
    instant; a plain ``date`` is taken as the start of that day; None: never practised, "new"), best and
    last run time in ms (None when never finished) and the number of attempts."""

    due: datetime | date | None = None
    best_ms: float | None = None
    last_ms: float | None = None
    attempts: int = 0


def _local_now() -> datetime:
    return datetime.now().astimezone()


def _instants(due: datetime | date, now: datetime | date) -> tuple[datetime, datetime]:
    """``due`` and ``now`` as comparable aware datetimes in ``now``'s time zone (a date is the start of
    that day there; a naive datetime is taken as local time)."""
    if not isinstance(now, datetime):
        now = datetime.combine(now, datetime.min.time()).astimezone()
    elif now.tzinfo is None:
        now = now.astimezone()
    if not isinstance(due, datetime):
        due = datetime.combine(due, datetime.min.time(), now.tzinfo)
    elif due.tzinfo is None:
        due = due.astimezone()
    return due.astimezone(now.tzinfo), now


def due_words(stats: CardStats, now: datetime | date) -> str:
    """The Due column: "new"; "due" once the due instant has passed ("due (3 d late)" when it fell on an
    earlier day than ``now``'s); before it, "in N min" or "in N h" (rounded up) when it is later the
    same day, else "in N d" (calendar days in ``now``'s time zone). ``now`` is an aware datetime (or a
    date: then only days count and a card due that day is "due")."""
    if stats.due is None:
        return "new"
    due, at = _instants(stats.due, now)
    days = (due.date() - at.date()).days
    if due <= at or (days == 0 and not isinstance(now, datetime)):
        return "due" if days >= 0 else f"due ({-days} d late)"
    if days == 0:
        minutes = -(-(due - at) // timedelta(minutes=1))  # ceiling
        return f"in {minutes} min" if minutes < 60 else f"in {-(-minutes // 60)} h"
    return f"in {days} d"


def is_due(stats: CardStats, now: datetime | date) -> bool:
    """A card is due when it is new or its due instant is ``now`` or earlier (with a date ``now``: its
    due day is that day or earlier)."""
    if stats.due is None:
        return True
    due, at = _instants(stats.due, now)
    return due <= at or (not isinstance(now, datetime) and due.date() <= at.date())


class DeckBrowser(QWidget):
    """Lists ``deck``'s cards by topic. ``card_chosen(card_id)`` when the user opens one.

    ``today()`` gives the time now (default: local aware datetime) against which due instants are
    compared (:func:`due_words`, :func:`is_due`)."""

    card_chosen = Signal(str)
    boards_requested = Signal(str)  # a card id ("" for every card)

    def __init__(
        self,
        deck,
        stats: Callable[[str], CardStats] | None = None,
        today: Callable[[], datetime | date] = _local_now,
        parent: QWidget | None = None,
        queue: Callable[[], list[tuple[str, str]]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.deck = deck
        self._stats = stats or (lambda card_id: CardStats())
        self._queue = queue or (lambda: [])
        self.drill_item: QTreeWidgetItem | None = None
        self._today = today
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search cards (title, topic, prompt)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.apply_filter)
        self.search.returnPressed.connect(self._search_entered)
        self.due_only = QCheckBox("Due only")
        self.due_only.toggled.connect(self.apply_filter)
        self.summary = QLabel()
        self.open_button = QPushButton("Practise")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self._open_current)
        self.boards_button = QPushButton("Saved boards\u2026")
        self.boards_button.setToolTip("Every saved run: review, replay, export or delete it (Ctrl+B)")
        self.boards_button.clicked.connect(lambda: self.boards_requested.emit(""))
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.due_only)
        top.addWidget(self.open_button)
        top.addWidget(self.boards_button)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.itemDoubleClicked.connect(self._activated)

        self.prompt = QLabel(FIRST_STEPS)
        self.prompt.setWordWrap(True)
        self.prompt.setStyleSheet("color: #333; padding: 4px;")
        self.tree.currentItemChanged.connect(self._show_prompt)

        layout = QVBoxLayout(self)
        title = QLabel("<h2>Derivations</h2>")
        layout.addWidget(title)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.prompt)
        layout.addWidget(self.summary)
        self.refresh()

    def set_deck(self, deck) -> None:
        """Show another deck."""
        self.deck = deck
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list from the deck and the history (after a run, or a new deck)."""
        self.tree.clear()
        today = self._today()
        topics: dict[str, QTreeWidgetItem] = {}
        try:
            queue = [(cid, why) for cid, why in self._queue() if cid in self.deck.cards]
        except Exception:  # noqa: BLE001 - a broken scheduler must not hide the deck
            queue = []
        self.drill_item = None
        later = [cid for cid, why in queue if why == "due" and not self._due_now(cid, today)]
        queue = [(cid, why) for cid, why in queue if cid not in later]  # the footer counts them instead
        if queue:
            top = self.drill_item = QTreeWidgetItem(["Today's drill"])
            top.setFlags(top.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            f = top.font(0)
            f.setBold(True)
            top.setFont(0, f)
            self.tree.addTopLevelItem(top)
            for cid, why in queue:
                card = self.deck.cards[cid]
                row = QTreeWidgetItem(
                    [f"{card.title}   ({self._drill_words(cid, why, today)})", "", "", "", "", ""]
                )
                row.setData(0, Qt.ItemDataRole.UserRole, cid)
                row.setForeground(0, QBrush(QColor("#1b5fa8")))
                top.addChild(row)
        due_count = new_count = 0
        cards = sorted(self.deck.cards.values(), key=lambda c: (c.topic, c.title.lower()))
        for card in cards:
            try:
                st = self._stats(card.id)
            except Exception:  # noqa: BLE001 - a broken history must not hide the deck
                st = CardStats()
            parent = topics.get(card.topic)
            if parent is None:
                parent = QTreeWidgetItem([card.topic.replace("-", " ").capitalize()])
                parent.setFlags(parent.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                f = parent.font(0)
                f.setBold(True)
                parent.setFont(0, f)
                topics[card.topic] = parent
                self.tree.addTopLevelItem(parent)
            target = card.targets.cold_s * 1000.0
            row = QTreeWidgetItem(
                [
                    card.title,
                    due_words(st, today),
                    format_ms(st.best_ms) if st.best_ms is not None else "-",
                    format_ms(st.last_ms) if st.last_ms is not None else "-",
                    format_ms(target),
                    str(st.attempts),
                ]
            )
            row.setData(0, Qt.ItemDataRole.UserRole, card.id)
            row.setToolTip(0, card.prompt)
            due_now = is_due(st, today)
            row.setData(1, Qt.ItemDataRole.UserRole, due_now)
            if isinstance(st.due, datetime):
                row.setToolTip(1, f"due {st.due.astimezone():%Y-%m-%d %H:%M}")
            if due_now:
                if st.due is None:
                    new_count += 1
                else:
                    due_count += 1
                row.setForeground(1, QBrush(QColor("#b3261e" if st.due is not None else "#1b5fa8")))
            if st.best_ms is not None:
                row.setForeground(2, QBrush(QColor("#1b7f3b" if st.best_ms <= target else "#8a6d00")))
            parent.addChild(row)
        self.tree.expandAll()
        self.summary.setText(
            f"{len(cards)} card{'' if len(cards) == 1 else 's'}: {due_count} due today, "
            f"{new_count} never practised" + (f", {len(later)} due later today" if later else "")
        )
        self.apply_filter()

    def _due_now(self, card_id: str, now: datetime | date) -> bool:
        """True when the card is due at ``now`` (or new) by its stats; a broken history counts as due."""
        try:
            return is_due(self._stats(card_id), now)
        except Exception:  # noqa: BLE001 - a broken history must not hide the deck
            return True

    def _drill_words(self, card_id: str, why: str, now: datetime | date) -> str:
        """The drill's reason in words: the queue lists the cards due before the end of the day, so a
        card whose due time has not come yet says when ("due in 7 min") rather than "due"."""
        if why != "due":
            return why
        try:
            st = self._stats(card_id)
        except Exception:  # noqa: BLE001 - a broken history must not hide the deck
            return why
        return why if is_due(st, now) else f"due {due_words(st, now)}"

    def card_items(self) -> list[QTreeWidgetItem]:
        """Every card row under its topic (not the topic rows, not today's drill)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is not self.drill_item:
                out.extend(top.child(j) for j in range(top.childCount()))
        return out

    def drill_card_ids(self) -> list[str]:
        """Today's drill (the scheduler's queue), in order."""
        top = self.drill_item
        return (
            [top.child(j).data(0, Qt.ItemDataRole.UserRole) for j in range(top.childCount())] if top else []
        )

    def visible_card_ids(self) -> list[str]:
        """Ids of the card rows the search and the filter leave visible, in list order."""
        return [it.data(0, Qt.ItemDataRole.UserRole) for it in self.card_items() if not it.isHidden()]

    def apply_filter(self) -> None:
        """Hide the cards that do not match the search words (all of them, any field) or are not due."""
        words = self.search.text().lower().split()
        due_only = self.due_only.isChecked()
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                item = top.child(j)
                card = self.deck.cards[item.data(0, Qt.ItemDataRole.UserRole)]
                hay = " ".join([card.id, card.title, card.topic, card.prompt]).lower()
                ok = all(w in hay for w in words)
                if ok and due_only:
                    ok = item.data(1, Qt.ItemDataRole.UserRole) or top.text(0) == "Today's drill"
                item.setHidden(not ok)
                shown += ok
            top.setHidden(shown == 0)
        current = self.tree.currentItem()
        if current is not None and (
            current.isHidden() or (current.parent() is not None and current.parent().isHidden())
        ):
            # the details pane and Practise must never be about a card the filter hides
            ids = self.visible_card_ids()
            if ids:
                self.select(ids[0])
            else:
                self.tree.setCurrentItem(None)

    def select(self, card_id: str) -> None:
        """Make the row of ``card_id`` current."""
        for item in self.card_items():
            if item.data(0, Qt.ItemDataRole.UserRole) == card_id:
                self.tree.setCurrentItem(item)

    def _show_prompt(self, item, _previous=None) -> None:
        card_id = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        card = self.deck.cards.get(card_id) if card_id else None
        self.prompt.setText(f"<b>{card.title}.</b> {card.prompt}" if card else FIRST_STEPS)

    def current_card_id(self) -> str | None:
        """The card the details pane describes (and Practise opens), or None."""
        item = self.tree.currentItem()
        if item is None or item.isHidden():
            return None
        return item.data(0, Qt.ItemDataRole.UserRole)

    def _activated(self, item, _column=0) -> None:
        card_id = item.data(0, Qt.ItemDataRole.UserRole)
        if card_id:
            self.card_chosen.emit(card_id)

    def _context_menu(self, pos) -> None:
        """Right-click on a card: practise it, or list its saved boards."""
        from PySide6.QtWidgets import QMenu

        item = self.tree.itemAt(pos)
        card_id = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not card_id:
            return
        menu = QMenu(self)
        menu.addAction("Practise", lambda: self.card_chosen.emit(card_id))
        menu.addAction("Saved boards of this card\u2026", lambda: self.boards_requested.emit(card_id))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _search_entered(self) -> None:
        """Enter in the search box: open the only card left, or the current visible one."""
        ids = self.visible_card_ids()
        if len(ids) == 1:
            self.card_chosen.emit(ids[0])
        elif ids:
            self._open_current()

    def _open_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None and item.isHidden():
            item = None
        if item is None:
            ids = self.visible_card_ids()
            if ids:
                self.card_chosen.emit(ids[0])
            return
        self._activated(item)
