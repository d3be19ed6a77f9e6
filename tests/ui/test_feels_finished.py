"""Issue 16 ("feels finished"): the board browser, verdict words in the window, n-best chips, the flow
after a run (next card, confirmations, deck search and filter), small screens and the portrait layout."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from tests.test_sessions_board import record_attempt  # noqa: E402
from tests.ui._support import open_window, show_practice_view, window_args  # noqa: E402
from tests.ui.fakes import fake_check  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, deck_errors, load_card  # noqa: E402
from whiteboard_app.maths.checker import StepVerdict as Verdict  # noqa: E402
from whiteboard_app.paths import boards_dir  # noqa: E402
from whiteboard_app.sessions import FakeClock  # noqa: E402
from whiteboard_app.sessions.store import BoardStore  # noqa: E402
from whiteboard_app.ui.deck_browser import CardStats, DeckBrowser  # noqa: E402
from whiteboard_app.ui.main_window import AppContext, MainWindow  # noqa: E402


@pytest.fixture(scope="module")
def deck():
    d, _errors = deck_errors([bundled_deck_dir()])
    return d


class Answer:
    """A stand-in for QMessageBox.question that records the questions and gives ``reply``."""

    def __init__(self, reply):
        self.reply, self.asked = reply, []

    def __call__(self, parent, title, text, *args, **kwargs):
        self.asked.append(title)
        return self.reply


def saved_boards(data: Path, cards: list[tuple[str, str | None]]) -> BoardStore:
    """Boards of ``cards`` ((card id, verdict of step 2 or None)) saved in ``data``'s boards folder."""
    store = BoardStore(boards_dir(data))
    for k, (card_id, wrong) in enumerate(cards):
        clock = FakeClock(1_000.0 + k)
        session = record_attempt(
            clock, latexes=["a", "b"], card_id=card_id, verdicts={1: wrong} if wrong else None, seed=k
        )
        store.save(session.board())
    return store


# ------------------------------------------------------------------------------------ board browser
def test_board_browser_lists_the_data_folders_boards_with_card_names(qtbot, tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("WHITEBOARD_DATA_DIR", str(data))  # the environment variable moves the data folder
    store = saved_boards(
        data, [("sigmoid-derivative", None), ("bayes-theorem", "wrong"), ("pca-via-svd", None)]
    )
    (store.root / "20260101-000000_broken_deadbeef.board.json").write_text("{ not json")
    window, services, _settings = open_window(qtbot, window_args(tmp_path, data_dir=False))
    try:
        window.browser.boards_button.click()  # from the deck browser
        browser = window.board_browser
        assert browser is not None and browser.isVisible()
        deck = window.context.deck
        titles = sorted(browser.visible_titles())
        assert titles == sorted(
            deck.cards[c].title for c in ("sigmoid-derivative", "bayes-theorem", "pca-via-svd")
        )
        assert "1 file could not be read" in browser.problems.text() and "broken" in browser.problems.text()
        assert str(store.root) in browser.where.text()
        row = next(r for r in browser.rows if r.card_id == "bayes-theorem")
        assert row.verdict_text() == "\u2713" + "1 \u2717" + "1"
        browser.finish_thumbnails()
        assert not browser.tree.topLevelItem(0).icon(0).isNull()  # a thumbnail of the ink
        # a card's own boards (its context menu in the deck), then File > Review a saved board: all of them
        window.browser.boards_requested.emit("pca-via-svd")
        assert browser.visible_titles() == [deck.cards["pca-via-svd"].title]
        window.review_action.trigger()
        assert window.board_browser is browser and len(browser.visible_titles()) == 3
        browser.search.setText("bayes")
        assert browser.visible_titles() == [deck.cards["bayes-theorem"].title]
        # open: a review window at the board's end state; replay: one that plays from the start
        n = len(window._windows)
        browser.open_button.click()
        review = window._windows[n]
        assert not review.playing and review.shown_stroke_count() > 0
        browser.replay_button.click()
        assert window._windows[n + 1].playing
        window._windows[n + 1].pause()
        # export
        out = browser.export_selected(str(tmp_path / "bayes.png"))
        assert out is not None and out.stat().st_size > 0
        # delete asks first: "Cancel" keeps the file, "Yes" removes it and the list
        path = browser.selected_path()
        no = Answer(QMessageBox.StandardButton.Cancel)
        monkeypatch.setattr(QMessageBox, "question", no)
        assert not browser.delete_selected() and path.exists() and no.asked
        monkeypatch.setattr(QMessageBox, "question", Answer(QMessageBox.StandardButton.Yes))
        assert browser.delete_selected() and not path.exists()
        browser.search.clear()
        assert len(browser.rows) == 2 and deck.cards["bayes-theorem"].title not in browser.visible_titles()
        # a window of its own: Escape closes it (it stayed over the deck in a user trial)
        browser.activateWindow()
        browser.search.setFocus()
        qtbot.keyClick(browser.search, Qt.Key.Key_Escape)
        assert not browser.isVisible()
    finally:
        window.close()
        services.close()


def test_settings_show_the_data_folder_in_use(qtbot, tmp_path, monkeypatch):
    from whiteboard_app.ui.settings_dialog import AppSettings, SettingsDialog, open_settings

    monkeypatch.setenv("WHITEBOARD_DATA_DIR", str(tmp_path / "moved"))
    dialog = SettingsDialog(
        AppSettings(open_settings(tmp_path / "s.ini")), [], None, data_dir=str(tmp_path / "moved")
    )
    qtbot.addWidget(dialog)
    text = dialog.folder_in_use.text()
    assert str(tmp_path / "moved") in text and "WHITEBOARD_DATA_DIR" in text
    assert "platformdirs" not in dialog.folder.placeholderText()


# ---------------------------------------------------------------------------------------------- flow
def fake_window(qtbot, deck, queue=(), stats=None, graded=None):
    graded = graded if graded is not None else {}

    def on_graded(card_id, grade, session):
        graded[card_id] = grade

    def card_stats(card_id):
        if stats and card_id in stats:
            return stats[card_id]
        if card_id in graded:
            return CardStats(due=datetime.now().astimezone() + timedelta(days=4), attempts=1)
        return CardStats()

    context = AppContext(
        deck=deck,
        stats=card_stats,
        queue=lambda: list(queue),
        on_graded=on_graded,
        check=lambda card, latex, previous: fake_check(card)(card, latex, previous),
    )
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def answer_all(panel):
    while not panel.finished:
        panel.answer_box.setPlainText("an answer")
        panel.next_button.click()


def test_next_card_after_grading_with_the_next_due_date(qtbot, deck):
    window = fake_window(qtbot, deck, queue=[("sigmoid-derivative", "new"), ("bayes-theorem", "new")])
    view = window.open_card("sigmoid-derivative")
    view.finish_run()
    answer_all(view.interviewer)
    view.interviewer.grade_buttons["good"].click()
    panel = view.interviewer
    assert "in 4 d" in panel.done_label.text()  # when the card is due again
    assert (
        panel.next_button_card.isVisible()
        and deck.cards["bayes-theorem"].title in panel.next_button_card.text()
    )
    panel.next_button_card.click()
    assert window.practice is not None and window.practice.card.id == "bayes-theorem"


def test_grading_again_is_not_congratulated_and_a_new_card_is_offered(qtbot, deck):
    window = fake_window(qtbot, deck)  # an empty drill: the next card is the first never practised
    view = window.open_card("sigmoid-derivative")
    view.finish_run()
    answer_all(view.interviewer)
    view.interviewer.grade_buttons["again"].click()
    assert (
        "Well done" not in view.interviewer.done_label.text()
        and "Again" in view.interviewer.done_label.text()
    )
    first_new = sorted(
        (c for c in deck.cards.values() if c.id != "sigmoid-derivative"),
        key=lambda c: (c.topic, c.title.lower()),
    )[0]
    assert (
        view.interviewer.next_button_card.isVisible()
        and first_new.title in view.interviewer.next_button_card.text()
    )


def test_no_next_card_when_every_card_waits(qtbot, deck):
    later = CardStats(due=datetime.now().astimezone() + timedelta(days=2), attempts=1)
    window = fake_window(qtbot, deck, stats={cid: later for cid in deck.cards})
    view = window.open_card("sigmoid-derivative")
    view.finish_run()
    answer_all(view.interviewer)
    view.interviewer.grade_buttons["good"].click()
    assert view.interviewer.next_button_card.isHidden() and "in 2 d" in view.interviewer.done_label.text()


def type_a_step(qtbot, view, latex):
    view.set_keyboard_mode(True)
    view.panels[0].edit.setText(latex)
    view.panels[0].edit.returnPressed.emit()
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=15_000)


def test_done_and_quit_ask_first_on_a_run_in_progress(qtbot, deck, monkeypatch):
    window = fake_window(qtbot, deck)
    view = window.open_card("sigmoid-derivative")
    no = Answer(QMessageBox.StandardButton.Cancel)
    monkeypatch.setattr(QMessageBox, "question", no)
    view.finish_button.click()  # nothing written: nothing to lose, no question
    assert view.session.finished and no.asked == []
    view = window.open_card("sigmoid-derivative")
    type_a_step(qtbot, view, view.card.steps[0].latex)
    view.finish_button.click()
    assert no.asked == ["End the run?"] and not view.session.finished
    window.finish_action.trigger()
    assert len(no.asked) == 2 and not view.session.finished
    assert not window.close() and window.isVisible()  # Quit: asked, cancelled, still running
    assert no.asked[-1].startswith("Quit")
    yes = Answer(QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "question", yes)
    view.finish_button.click()
    assert view.session.finished and yes.asked == ["End the run?"]
    assert window.close()  # the run is over: no question
    assert yes.asked == ["End the run?"]


def test_enter_in_the_deck_search_opens_the_only_match(qtbot, deck):
    browser = DeckBrowser(deck)
    qtbot.addWidget(browser)
    card = deck.cards["kmeans-centroid-update"]
    browser.search.setText(card.title.lower())
    assert browser.visible_card_ids() == [card.id]
    with qtbot.waitSignal(browser.card_chosen, timeout=2000) as blocker:
        qtbot.keyClick(browser.search, Qt.Key.Key_Return)
    assert blocker.args == [card.id]


def test_practise_opens_the_card_the_details_pane_describes(qtbot, deck):
    browser = DeckBrowser(deck)
    qtbot.addWidget(browser)
    first, other = deck.cards["sigmoid-derivative"], deck.cards["bayes-theorem"]
    browser.select(first.id)
    assert first.title in browser.prompt.text()
    browser.search.setText("bayes")  # hides the selected card
    assert browser.current_card_id() == other.id and other.title in browser.prompt.text()
    with qtbot.waitSignal(browser.card_chosen, timeout=2000) as blocker:
        browser.open_button.click()
    assert blocker.args == [other.id]


def test_todays_drill_agrees_with_the_footer(qtbot, deck):
    now = datetime.now().astimezone()
    soon = CardStats(due=now + timedelta(minutes=10), attempts=1)
    stats = {"sigmoid-derivative": soon}
    browser = DeckBrowser(
        deck,
        lambda cid: stats.get(cid, CardStats()),
        today=lambda: now,
        queue=lambda: [("sigmoid-derivative", "due"), ("bayes-theorem", "new")],
    )
    qtbot.addWidget(browser)
    assert browser.drill_card_ids() == [
        "bayes-theorem"
    ]  # the card due in 10 min waits; the new one is offered
    assert "0 due today" in browser.summary.text() and "1 due later today" in browser.summary.text()


# ------------------------------------------------------------------------------------ small screens
def visible_in_window(window, widget) -> bool:
    if not widget.isVisible():
        return False
    top_left = widget.mapTo(window, QPoint(0, 0))
    rect = widget.rect().translated(top_left)
    return window.rect().contains(rect)


@pytest.mark.parametrize("size", [(1024, 768), (960, 1000)])  # 1024x768 and half of a 1920 screen
def test_the_run_screen_fits_small_screens(qtbot, deck, size):
    window = fake_window(qtbot, deck)
    for card_id in ("bayes-theorem", "logistic-regression-gradient", "svm-dual"):
        view = window.open_card(card_id)
        window.resize(*size)
        qtbot.waitUntil(lambda: window.width() <= size[0] + 1, timeout=2000)
        qtbot.wait(20)
        assert window.minimumSizeHint().width() <= size[0]
        assert visible_in_window(window, view.finish_button), card_id
        assert visible_in_window(window, view.panels[0].chip.parentWidget()), card_id
        assert view.side.width() >= 250 and not view.portrait


def test_the_steps_column_keeps_its_width_from_card_to_card(qtbot, deck):
    window = fake_window(qtbot, deck)
    widths = set()
    for card_id in ("bayes-theorem", "sigmoid-derivative", "pca-via-svd", "svm-dual"):
        view = window.open_card(card_id)
        window.resize(1600, 1000)
        qtbot.wait(20)
        widths.add(view.side.width())
    assert len(widths) == 1


def test_the_title_is_whole_when_there_is_room(qtbot, deck):
    window = fake_window(qtbot, deck)
    view = window.open_card("logistic-regression-gradient")
    window.resize(1600, 1000)
    qtbot.wait(20)
    assert not view.title.is_elided() and view.title.text() == view.card.title


def test_portrait_layout_puts_the_panels_under_the_board(qtbot, deck):
    window = fake_window(qtbot, deck)
    view = window.open_card("sigmoid-derivative")
    window.resize(800, 1280)
    qtbot.waitUntil(lambda: view.portrait, timeout=2000)
    qtbot.wait(20)
    canvas_bottom = view.canvas.mapTo(view, QPoint(0, view.canvas.height())).y()
    assert view.side.mapTo(view, QPoint(0, 0)).y() >= canvas_bottom - 1  # under the board
    assert view.side.height() >= 200 and view.canvas.height() >= 300
    assert visible_in_window(window, view.finish_button)
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: not view.portrait, timeout=2000)


# ------------------------------------------------------------------------------------ step panel
def test_chips_show_rendered_readings_without_scores_and_a_tap_uses_one(qtbot):
    from tests.ui.tablet import tablet_stroke
    from whiteboard_app.recognition.base import Candidate, RecognitionResult

    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")
    right = card.steps[0].latex

    class TwoReadings:
        name = "scripted"

        def recognize(self, ink, context=None):
            return RecognitionResult(
                (Candidate("p_{", 1.98), Candidate(right, -0.02), Candidate(right, -0.5)), ms=1.0
            )

    view = show_practice_view(qtbot, card, recognizer=lambda: TwoReadings(), pause_ms=30)
    tablet_stroke(view.canvas, [(60, 60), (80, 70), (100, 60)], [0.3, 0.8, 0.5])
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=15_000)
    chips = view.panels[0].candidates
    assert chips.isVisible() and chips.count() == 2  # the repeated reading is shown once
    texts = [b.text() for b in chips.buttons]
    assert all("1.98" not in t and "0.02" not in t for t in texts)  # no raw scores
    assert not chips.buttons[1].icon().isNull()  # rendered maths
    assert chips.current_row() == 0
    chips.buttons[1].click()  # one tap
    qtbot.waitUntil(
        lambda: view.model.step(0).latex == right and view.model.step(0).status == "done", timeout=15_000
    )
    assert view.model.step(0).source == "pick" and view.panels[0].chip.text() == "\u2713 correct"
    assert chips.current_row() == 1


def test_an_undeclared_name_is_said_as_such_in_the_panel(qtbot):
    from whiteboard_app.ui.practice_view import PracticeServices, PracticeView

    card = load_card(bundled_deck_dir() / "sigmoid-derivative.toml")

    def check(c, latex, previous):
        return Verdict(latex, "unparsed", message="unknown name 'x': it is not declared on this card")

    view = PracticeView(card, PracticeServices(clock=FakeClock(), check=check, near_misses=False))
    qtbot.addWidget(view)
    view.show()
    assert view.first_run.isVisible() and "Scratch out" in view.first_run.text()  # the empty state teaches
    type_a_step(qtbot, view, "x + 1")
    assert view.panels[0].chip.text() == "? unknown name \u2018x\u2019"
    assert "could not read" not in view.panels[0].detail.text()
    assert view.first_run.isHidden()
    step_line = next(ln for ln in view.summary().splitlines() if ln.startswith("Step 1:"))
    assert (
        "unknown name \u2018x\u2019" in step_line and "could not read" not in step_line
    )  # the run's summary too


def test_board_rows_say_the_grade_or_why_there_is_none():
    from whiteboard_app.ui.board_browser import BoardRow

    def row(grade, finished):
        return BoardRow(Path("b.board.json"), "c", "C", "2026-12-07 04:51", 41_000.0, {}, grade, finished)

    assert row("good", True).grade_text() == "Good"
    assert row(None, True).grade_text() == "not graded"  # Done, then left without a self-grade
    assert row(None, False).grade_text() == "unfinished"  # left before Done: offered back at the start
