"""The main window: the deck browser and the practice view in one stack, a banner for errors in words,
and the recogniser's loading progress in the status bar.

Services come from the composition root (``whiteboard_app.app``) through :class:`AppContext`; the window
never builds them itself, so tests give it fakes.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from whiteboard_app.sessions.clock import Clock, SystemClock
from whiteboard_app.ui.deck_browser import CardStats, DeckBrowser
from whiteboard_app.ui.practice_view import PracticeServices, PracticeView


class RecognizerService(QObject):
    """Loads a recogniser in the background and keeps it.

    ``start(name, factory)`` runs ``factory()`` (build + warm up: seconds, torch and weights) on a
    daemon thread, so that closing the window never waits for a model still loading; ``loaded()`` or
    ``failed(message)`` follow on the GUI thread. ``recognizer`` is None until loaded; ``status`` says
    what is going on in words ("loading the whiteboard recogniser...", "... could not load (...)").
    A load that was superseded by another ``start`` (or ``close``) is discarded and closed.
    """

    loaded = Signal()
    failed = Signal(str)
    _finished = Signal(int, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recognizer: Any = None
        self.name = ""
        self.status = "no recogniser"
        self.loading = False
        self.error: str | None = None
        self._generation = 0
        self._finished.connect(self._on_finished)

    def start(self, name: str, factory: Callable[[], Any]) -> None:
        """Load recogniser ``name`` with ``factory`` in the background (replaces the current one)."""
        self.close()
        self._generation += 1
        gen = self._generation
        self.name, self.loading, self.error = name, True, None
        self.status = f"loading the {name} recogniser\u2026"

        def run() -> None:
            try:
                rec = factory()
            except Exception as exc:  # noqa: BLE001 - reported in words
                from whiteboard_app.recognition.base import RecognitionError

                words = (
                    str(exc)
                    if isinstance(exc, RecognitionError) and str(exc)
                    else f"{type(exc).__name__}: {exc}"
                )
                self._finished.emit(gen, None, words)
                return
            self._finished.emit(gen, rec, "")

        threading.Thread(target=run, name=f"load-recognizer-{name}", daemon=True).start()

    def start_soon(self, name: str, factory: Callable[[], Any]) -> None:
        """:meth:`start` at the event loop's next turn: called before the window is shown, the loading
        thread (imports, the worker's spawn) does not compete with building the window for the GIL
        (issue 16: the window usable first, the recogniser loading right after). ``loading`` is True
        from now on."""
        self.close()
        self.name, self.loading, self.error = name, True, None
        self.status = f"loading the {name} recogniser\u2026"
        gen = self._generation

        def go() -> None:
            if gen == self._generation:  # not superseded or closed meanwhile
                self.start(name, factory)

        QTimer.singleShot(0, go)

    def _on_finished(self, gen: int, recognizer, error: str) -> None:
        if gen != self._generation:  # superseded
            _close(recognizer)
            return
        self.loading = False
        if recognizer is None:
            self.error = error
            self.status = (
                f"the {self.name} recogniser could not load ({error}); type each step's LaTeX instead, "
                "or choose another engine in File > Settings"
            )
            self.failed.emit(error)
        else:
            self.recognizer = recognizer
            self.status = f"recogniser: {self.name}"
            self.loaded.emit()

    def close(self) -> None:
        """Drop the current recogniser (and any load in progress)."""
        self._generation += 1
        self.loading = False
        rec, self.recognizer = self.recognizer, None
        _close(rec)


def _close(recognizer) -> None:
    closer = getattr(recognizer, "close", None)
    if callable(closer):
        try:
            closer()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


@dataclass
class AppContext:
    """What the window is built on (the composition root fills it; tests pass fakes).

    ``deck`` the loaded deck (may be empty when the deck failed: ``deck_error`` says why in words);
    ``stats(card_id)`` the deck browser's numbers; ``target_s(card)`` the run target;
    ``on_session(session)`` (autosave) and ``on_graded(card_id, grade, session)`` (history, scheduler).
    ``list_boards()`` the store's BoardListing for the board browser, ``delete_board(path)`` removes a
    board file, ``boards_folder`` where they are (shown in the browser).
    """

    deck: Any
    deck_error: str | None = None
    stats: Callable[[str], CardStats] = lambda card_id: CardStats()
    target_s: Callable[[Any], float] = lambda card: float(card.targets.cold_s)
    on_session: Callable[[Any], None] = lambda session: None
    on_graded: Callable[[str, str, Any], None] = lambda card_id, grade, session: None
    on_ungraded: Callable[[str, Any], None] = lambda card_id, session: None
    grade_preview: Callable[[str], dict] = lambda card_id: {}
    pause_ms: int = 600
    pressure_gamma: float = 1.0
    stylus_only: bool = True
    clock: Clock = field(default_factory=SystemClock)
    check: Callable[..., Any] | None = None
    settings_dialog: Callable[[QWidget], bool] | None = None
    calibration_dialog: Callable[[QWidget, Any], None] | None = None
    unfinished: Callable[[], list] = lambda: []
    adopt: Callable[[Any, Any], None] = lambda path, board: None
    discard: Callable[[Any], None] = lambda path: None
    history: Any = None
    queue: Callable[[], list[tuple[str, str]]] = lambda: []
    load_board: Callable[[Any], Any] | None = None
    list_boards: Callable[[], Any] | None = None
    delete_board: Callable[[Any], None] | None = None
    boards_folder: Any = None


class MainWindow(QMainWindow):
    """Deck browser and practice view. ``show_error(text)`` puts a message in words in the banner."""

    def __init__(
        self, context: AppContext, recognizers: RecognizerService | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Whiteboard \u2014 ML derivations")
        self.context = context
        self.recognizers = recognizers or RecognizerService(self)
        self.practice: PracticeView | None = None
        self.grill = None  # the GrillView while a grill session is open

        self.banner = QLabel()
        self.banner.setObjectName("errorBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #fde7e4; color: #7a1b12; padding: 6px; border: 1px solid #e8b4ad;"
        )
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_close = QPushButton("\u2715")
        self.banner_close.setFlat(True)
        self.banner_close.setFixedWidth(28)
        self.banner_close.clicked.connect(self.clear_error)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(0, 0, 0, 0)
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.banner_close)
        self.banner_box = QWidget()
        self.banner_box.setLayout(banner_row)
        self.banner_box.setVisible(False)

        self.browser = DeckBrowser(context.deck, context.stats, queue=context.queue)
        self.browser.card_chosen.connect(self.open_card)
        self.browser.boards_requested.connect(self.open_board_browser)
        self.board_browser = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self.browser)
        self.resume_label = QLabel()
        self.resume_label.setWordWrap(True)
        self.resume_button = QPushButton("Resume")
        self.resume_button.clicked.connect(self.resume_offered)
        self.discard_button = QPushButton("Discard")
        self.discard_button.clicked.connect(self.discard_offered)
        resume_row = QHBoxLayout()
        resume_row.setContentsMargins(6, 2, 6, 2)
        resume_row.addWidget(self.resume_label, 1)
        resume_row.addWidget(self.resume_button)
        resume_row.addWidget(self.discard_button)
        self.resume_box = QWidget()
        self.resume_box.setLayout(resume_row)
        self.resume_box.setStyleSheet("background: #e8f0fb;")
        self.resume_box.setVisible(False)
        self._offers: list = []
        self._windows: list[QWidget] = []

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.banner_box)
        layout.addWidget(self.resume_box)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.rec_label = QLabel()
        self.rec_progress = QProgressBar()
        self.rec_progress.setRange(0, 0)  # busy indicator while the model loads
        self.rec_progress.setMaximumWidth(140)
        self.rec_progress.setTextVisible(False)
        self.statusBar().addPermanentWidget(self.rec_label)
        self.statusBar().addPermanentWidget(self.rec_progress)
        self.recognizers.loaded.connect(self._recognizer_changed)
        self.recognizers.failed.connect(self._recognizer_failed)
        self._build_menus()
        self._recognizer_changed()
        if context.deck_error:
            self.show_error(context.deck_error)
        self.offer_unfinished()
        self.resize(1280, 820)

    # ----------------------------------------------------------------------------------- menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.deck_action = QAction("&Deck", self, shortcut=QKeySequence("Ctrl+D"), triggered=self.show_deck)
        self.settings_action = QAction(
            "&Settings\u2026", self, shortcut=QKeySequence("Ctrl+,"), triggered=self.open_settings
        )
        self.calibrate_action = QAction(
            "&Calibrate the recogniser\u2026", self, triggered=self.open_calibration
        )
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        self.stats_action = QAction(
            "&History and statistics\u2026", self, shortcut=QKeySequence("Ctrl+H"), triggered=self.open_stats
        )
        self.review_action = QAction(
            "&Review a saved board\u2026",
            self,
            shortcut=QKeySequence("Ctrl+B"),
            triggered=self.open_board_browser,
        )
        self.review_file_action = QAction("Open a board &file\u2026", self, triggered=self.open_review_file)
        self.export_action = QAction(
            "&Export this board\u2026", self, shortcut=QKeySequence("Ctrl+E"), triggered=self.export_current
        )
        for a in (
            self.deck_action,
            self.stats_action,
            self.review_action,
            self.review_file_action,
            self.export_action,
            self.settings_action,
            self.calibrate_action,
        ):
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        practice_menu = self.menuBar().addMenu("&Practice")
        self.interviewer_action = QAction(
            "&Interviewer",
            self,
            shortcut=QKeySequence("Ctrl+I"),
            triggered=lambda: self.practice and self.practice.show_interviewer(),
        )
        self.finish_action = QAction(
            "&Done (end the run)",
            self,
            shortcut=QKeySequence("Ctrl+Shift+D"),
            triggered=lambda: self.practice and self.practice.request_finish(),
        )
        self.keyboard_action = QAction(
            "&Keyboard only",
            self,
            checkable=True,
            shortcut=QKeySequence("Ctrl+K"),
            triggered=lambda on: self.practice and self.practice.set_keyboard_mode(on),
        )
        self.grill_action = QAction(
            "&Grill (rapid questions)",
            self,
            shortcut=QKeySequence("Ctrl+G"),
            triggered=lambda: self.open_grill(),
        )
        for a in (self.interviewer_action, self.finish_action, self.keyboard_action, self.grill_action):
            practice_menu.addAction(a)

    # ------------------------------------------------------------------------------ errors
    def show_error(self, text: str) -> None:
        """Show ``text`` (words, never a traceback) in the banner above the window's content."""
        self.banner.setText(text)
        self.banner_box.setVisible(True)

    def clear_error(self) -> None:
        """Hide the error banner."""
        self.banner.clear()
        self.banner_box.setVisible(False)

    @property
    def error_text(self) -> str:
        """The banner's text while it is shown, else "" (tests)."""
        return self.banner.text() if self.banner_box.isVisibleTo(self) else ""

    # ------------------------------------------------------------------------- recogniser
    def _recognizer_changed(self) -> None:
        r = self.recognizers
        self.rec_label.setText("recogniser: not loaded" if r.error else r.status)
        self.rec_label.setToolTip(r.status)
        self.rec_progress.setVisible(r.loading)
        if self.practice is not None:
            self.practice.read_waiting_steps() if r.recognizer is not None else self.practice.update_status()

    def _recognizer_failed(self, message: str) -> None:
        self._recognizer_changed()
        self.show_error(self.recognizers.status)

    def _recognizer_status(self) -> str:
        return self.recognizers.status

    # --------------------------------------------------------------------------- navigation
    def open_card(self, card_id: str, resume=None) -> PracticeView | None:
        """Start a run on ``card_id`` (or go on with ``resume``, an unfinished Board of it); an unknown card
        or a failure is shown in the banner."""
        try:
            card = self.context.deck.get(card_id)
        except KeyError as exc:
            self.show_error(str(exc).strip("'\""))
            return None
        self.close_practice()
        self.close_grill()
        c = self.context
        services = PracticeServices(
            recognizer=lambda: self.recognizers.recognizer,
            recognizer_status=self._recognizer_status,
            pause_ms=c.pause_ms,
            clock=c.clock,
            target_s=c.target_s,
            on_session=self._guard(c.on_session, "saving the board"),
            on_graded=self._guard(c.on_graded, "recording the grade"),
            on_ungraded=self._guard(c.on_ungraded, "recording the ungraded run"),
            grade_preview=c.grade_preview,
            check=c.check,
            pressure_gamma=c.pressure_gamma,
            stylus_only=c.stylus_only,
        )
        try:
            view = PracticeView(card, services, resume=resume)
        except Exception as exc:  # noqa: BLE001 - shown in words, the deck stays usable
            self.show_error(f"Could not open {card_id}: {type(exc).__name__}: {exc}")
            return None
        view.back_requested.connect(self.show_deck)
        view.interviewer.graded.connect(lambda _grade, v=view: self._after_grade(v))  # after the view's own
        view.interviewer.next_card_requested.connect(self.open_next_card)
        view.keyboard_box.toggled.connect(
            self.keyboard_action.setChecked
        )  # the view's box and the menu agree
        self.practice = view
        self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)
        self.keyboard_action.setChecked(False)
        view.canvas.setFocus()
        self.setWindowTitle(f"{card.title} \u2014 Whiteboard")
        return view

    def _guard(self, fn: Callable[..., None], doing: str) -> Callable[..., None]:
        def call(*args):
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - shown in words
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
                self.show_error(f"Problem while {doing}: {detail}")

        return call

    # ------------------------------------------------------------------ unfinished boards
    def offer_unfinished(self) -> None:
        """Offer back the newest unfinished board (autosaved before a crash or a quit) above the deck."""
        try:
            self._offers = [
                e for e in self.context.unfinished() if e.board.card_id in self.context.deck.cards
            ]
        except Exception as exc:  # noqa: BLE001 - the deck still opens
            self._offers = []
            self.show_error(f"Unfinished boards could not be listed: {exc}")
        if not self._offers:
            self.resume_box.setVisible(False)
            return
        b = self._offers[0].board
        title = b.card_title or b.card_id
        more = f" ({len(self._offers) - 1} more)" if len(self._offers) > 1 else ""
        self.resume_label.setText(
            f"An unfinished run on \u201c{title}\u201d from {b.started_at:%Y-%m-%d %H:%M}"
            f" was saved{more}. Resume it?"
        )
        self.resume_box.setVisible(True)

    def resume_offered(self) -> PracticeView | None:
        """Resume the offered board: same file, its clock going on from where it stopped."""
        if not self._offers:
            return None
        entry = self._offers.pop(0)
        board = self.context.adopt(entry.path, entry.board) or entry.board  # a copy when open elsewhere
        view = self.open_card(board.card_id, resume=board)
        if board.board_id != entry.board.board_id:
            self.show_error(
                "That board is being written by another whiteboard-app window; you are "
                "continuing a copy of it, saved as a separate board."
            )
        self.offer_unfinished_rest()
        return view

    def discard_offered(self) -> None:
        """Discard the offered unfinished board (moved aside by the store, not deleted)."""
        if not self._offers:
            return
        entry = self._offers.pop(0)
        try:
            self.context.discard(entry.path)
        except Exception as exc:  # noqa: BLE001 - shown in words, the board list stays usable
            self.show_error(f"The board could not be discarded: {exc}")
        self.offer_unfinished_rest()

    def offer_unfinished_rest(self) -> None:
        """Offer the next unfinished board, if any, or hide the offer."""
        if self._offers:
            rest = self._offers
            b = rest[0].board
            self.resume_label.setText(
                f"Another unfinished run on \u201c{b.card_title or b.card_id}\u201d from "
                f"{b.started_at:%Y-%m-%d %H:%M}. Resume it?"
            )
            self.resume_box.setVisible(True)
        else:
            self.resume_box.setVisible(False)

    # --------------------------------------------------------------- history, review, export
    def open_stats(self) -> QWidget | None:
        """Open the history and statistics window (sessions' StatsWindow); None without a history."""
        if self.context.history is None:
            self.show_error("There is no practice history yet (it could not be opened).")
            return None
        from whiteboard_app.ui.stats import StatsWindow

        titles = {cid: c.title for cid, c in self.context.deck.cards.items()}
        w = StatsWindow(self.context.history, titles)
        w.reviewRequested.connect(self.open_review)
        self._windows.append(w)
        w.show()
        return w

    # ------------------------------------------------------------------------------- next card
    def next_card_id(self, after: str | None = None) -> str | None:
        """The card to practise next (never ``after``): the first of today's drill that is due now or
        new; else the first card that is due now by its stats, then the first never practised, in the
        deck browser's order (topic, title); None when every card waits for a later due time."""
        from whiteboard_app.ui.deck_browser import is_due

        try:
            queue = [
                cid for cid, _why in self.context.queue() if cid in self.context.deck.cards and cid != after
            ]
        except Exception:  # noqa: BLE001 - no drill: the deck order below
            queue = []
        now = self.browser._today()

        def stats(cid):
            try:
                return self.context.stats(cid)
            except Exception:  # noqa: BLE001 - a broken history: the card counts as new
                return None

        for cid in queue:
            st = stats(cid)
            if st is None or is_due(st, now):
                return cid
        cards = sorted(self.context.deck.cards.values(), key=lambda c: (c.topic, c.title.lower()))
        rest = [(c.id, stats(c.id)) for c in cards if c.id != after]
        due = [cid for cid, st in rest if st is not None and st.due is not None and is_due(st, now)]
        new = [cid for cid, st in rest if st is None or st.due is None]
        return (due or new or [None])[0]

    def _after_grade(self, view) -> None:
        """After the self-grade: the card's next due date and a "Next card" button in the interviewer."""
        due = None
        try:
            due = self.context.stats(view.card.id).due
        except Exception:  # noqa: BLE001 - the grade is recorded; the date is extra
            pass
        if due is not None and not hasattr(due, "hour"):  # a date: the start of that day
            from datetime import datetime

            due = datetime.combine(due, datetime.min.time()).astimezone()
        nxt = self.next_card_id(after=view.card.id)
        view.interviewer.offer_next(self.context.deck.cards[nxt].title if nxt else None, due)
        self._next_card = nxt

    def open_next_card(self) -> PracticeView | None:
        """Open the card the interviewer offered after the grade (or the next of today's drill)."""
        nxt = getattr(self, "_next_card", None) or self.next_card_id(
            after=self.practice.card.id if self.practice else None
        )
        return self.open_card(nxt) if nxt else None

    # ----------------------------------------------------------------------------- saved boards
    def open_board_browser(self, card_id: str = "") -> QWidget | None:
        """The board browser on the data folder's boards (File > Review a saved board, the deck's
        "Saved boards" button, a card's context menu: filtered to ``card_id``); None without a board
        store (said in words)."""
        if self.context.list_boards is None:
            self.show_error(
                "Boards are not saved in this session (no data folder), so there is nothing to list."
            )
            return None
        from whiteboard_app.ui.board_browser import BoardBrowser

        if self.board_browser is not None:
            self.board_browser.refresh()
        else:
            titles = {cid: c.title for cid, c in self.context.deck.cards.items()}
            b = BoardBrowser(
                self.context.list_boards, titles, self.context.delete_board, self.context.boards_folder
            )
            b.review_requested.connect(lambda path: self.open_review(path))
            b.replay_requested.connect(lambda path: self.open_review(path, replay=True))
            self.board_browser = b
        self.board_browser.search.setText(card_id if isinstance(card_id, str) else "")
        self.board_browser.show()
        self.board_browser.raise_()
        self.board_browser.activateWindow()
        return self.board_browser

    def open_review(self, path, replay: bool = False) -> QWidget | None:
        """Review a saved board in a review window: at its end state, or played from the start with
        ``replay``; a board that cannot be read is said in words."""
        from whiteboard_app.ui.review import ReviewWindow

        try:
            board = self.context.load_board(path) if self.context.load_board else None
        except Exception as exc:  # noqa: BLE001 - BoardError names the file and the reason
            self.show_error(f"The board could not be opened: {exc}")
            return None
        if board is None:
            return None
        w = ReviewWindow(board, autoplay=replay)
        if not replay:
            w.seek(board.duration_ms)  # the board as it was left
        self._windows.append(w)
        w.show()
        return w

    def open_review_file(self) -> None:
        """Choose a saved board file and replay it."""
        from PySide6.QtWidgets import QFileDialog

        start = str(self.context.boards_folder or "")
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a board file", start, "Boards (*.board.json);;JSON (*.json);;All files (*)"
        )
        if path:
            self.open_review(path)

    def export_current(self) -> None:
        """Export the board of the current run as PNG, PDF or InkML (by the file name's extension)."""
        if self.practice is None:
            self.show_error("Open a card first: there is no board to export.")
            return
        from PySide6.QtWidgets import QFileDialog

        with self.practice.dialog_open():  # time in a dialog is no freeze
            path, _ = QFileDialog.getSaveFileName(
                self,
                "Export the board",
                f"{self.practice.card.id}.png",
                "PNG (*.png);;PDF (*.pdf);;InkML (*.inkml)",
            )
        if path:
            self.export_board_to(path)

    def export_board_to(self, path) -> bool:
        """Export the current run's board to ``path`` (format from the extension); False and a message in the banner on failure."""
        from whiteboard_app.ui.export import export_board

        try:
            export_board(self.practice.session.board(), path)
        except Exception as exc:  # noqa: BLE001 - ExportError / OSError in words
            self.show_error(f"The board could not be exported: {exc}")
            return False
        self.statusBar().showMessage(f"Exported to {path}", 5000)
        return True

    def close_practice(self) -> None:
        """Leave the current run (its board stays autosaved) and drop its view."""
        if self.practice is not None:
            self.practice.shutdown()
            self.stack.removeWidget(self.practice)
            self.practice.deleteLater()
            self.practice = None

    def open_grill(self, n: int = 10, items=None):
        """Start a grill session of ``n`` questions across the deck (due first, then new ones spread over
        the cards; sessions/grill.py), scheduled in the history when there is one; ``items`` (GrillItems)
        replaces the choice. Returns the GrillView (None when it could not start: said in the banner)."""
        from datetime import UTC, datetime

        from whiteboard_app.sessions.grill import grill_items, pick_questions
        from whiteboard_app.ui.grill_view import GrillView

        self.close_practice()
        self.close_grill()
        scheduler = None
        if self.context.history is not None:
            from whiteboard_app.sessions.scheduler import Scheduler

            scheduler = Scheduler(self.context.history)
        chosen = list(items) if items is not None else None
        items = grill_items(self.context.deck)
        if not items:
            self.show_error("This deck has no grill questions ([[questions]] in the card files).")
            return None
        try:
            if chosen is None:
                chosen = pick_questions(items, scheduler, datetime.now(UTC), n) if scheduler else items[:n]
            view = GrillView(chosen, scheduler=scheduler, recognizer=lambda: self.recognizers.recognizer)
        except Exception as exc:  # noqa: BLE001 - shown in words, the deck stays usable
            self.show_error(f"Could not start the grill: {type(exc).__name__}: {exc}")
            return None
        view.back_requested.connect(self.show_deck)
        self.grill = view
        self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)
        self.setWindowTitle("Whiteboard \u2014 grill")
        return view

    def close_grill(self) -> None:
        """Leave the grill session (answers so far are recorded) and drop its view."""
        view = getattr(self, "grill", None)
        if view is not None:
            view.shutdown()
            self.stack.removeWidget(view)
            view.deleteLater()
            self.grill = None

    def show_deck(self) -> None:
        """Back to the deck browser, refreshed with the latest history."""
        self.close_practice()
        self.close_grill()
        self.browser.refresh()
        self.stack.setCurrentWidget(self.browser)
        self.setWindowTitle("Whiteboard \u2014 ML derivations")

    def open_settings(self) -> None:
        """Open the settings dialog (built by the composition root, which stores the new values in the
        context); accepted settings apply at once (``apply_settings``)."""
        with self._dialog_pause():
            accepted = self.context.settings_dialog is not None and self.context.settings_dialog(self)
        if accepted:
            self.apply_settings()

    def apply_settings(self) -> None:
        """Apply the context's settings to the running practice, if any: pause, pressure curve, palm
        rejection, and the run's target recomputed with ``context.target_s``. A new engine is loaded by
        the composition root and reads the next step."""
        view, c = self.practice, self.context
        if view is None:
            return
        try:
            target = float(c.target_s(view.card))
        except Exception as exc:  # noqa: BLE001 - the run goes on with its target; said in words
            target = None
            self.show_error(f"The new time target could not be computed: {exc}")
        view.apply_settings(
            pause_ms=c.pause_ms, pressure_gamma=c.pressure_gamma, stylus_only=c.stylus_only, target_s=target
        )

    def open_calibration(self) -> None:
        """Open the calibration dialog with the loaded recogniser (or None)."""
        if self.context.calibration_dialog is not None:
            with self._dialog_pause():
                self.context.calibration_dialog(self, self.recognizers.recognizer)

    def _dialog_pause(self):
        """While a dialog is open over a run, its time is no freeze (PracticeView.dialog_open)."""
        import contextlib

        return self.practice.dialog_open() if self.practice is not None else contextlib.nullcontext()

    def closeEvent(self, event) -> None:
        if self.practice is not None and self.practice.run_in_progress():
            from whiteboard_app.ui.confirm import confirm

            if not confirm(
                self,
                "Quit with a run in progress?",
                "A run is in progress. Quit now? Its board is saved and offered back (Resume) "
                "when you start again.",
            ):
                event.ignore()
                return
        self.close_practice()
        self.close_grill()
        for w in [*self._windows, self.board_browser]:
            if w is not None:
                w.close()
        super().closeEvent(event)
