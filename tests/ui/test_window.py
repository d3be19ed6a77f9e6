"""The main window: deck browser (topics, due state, search), opening a card, errors in words (bad deck,
recogniser that cannot load, unknown card), the recogniser loading in the background with progress."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.decks import bundled_deck_dir, deck_errors  # noqa: E402
from whiteboard_app.ui.deck_browser import CardStats, DeckBrowser, due_words  # noqa: E402
from whiteboard_app.ui.main_window import AppContext, MainWindow, RecognizerService  # noqa: E402

TODAY = date(2026, 11, 22)


@pytest.fixture(scope="module")
def deck():
    d, _errors = deck_errors(
        [bundled_deck_dir() / "sigmoid-derivative.toml"] + sorted(bundled_deck_dir().glob("*.toml"))[:6]
    )
    return d


@pytest.mark.parametrize(
    "stats, words",
    [
        (CardStats(), "new"),
        (CardStats(due=TODAY), "due"),
        (CardStats(due=TODAY - timedelta(days=3)), "due (3 d late)"),
        (CardStats(due=TODAY + timedelta(days=5)), "in 5 d"),
    ],
)
def test_due_words(stats, words):
    assert due_words(stats, TODAY) == words


def test_deck_browser_groups_by_topic_and_shows_times(qtbot, deck):
    stats = {
        "sigmoid-derivative": CardStats(
            due=TODAY + timedelta(days=2), best_ms=150_000, last_ms=200_000, attempts=3
        )
    }
    browser = DeckBrowser(deck, lambda cid: stats.get(cid, CardStats()), today=lambda: TODAY)
    qtbot.addWidget(browser)
    topics = {browser.tree.topLevelItem(i).text(0) for i in range(browser.tree.topLevelItemCount())}
    assert topics == {c.topic.replace("-", " ").capitalize() for c in deck.cards.values()}
    row = next(it for it in browser.card_items() if it.data(0, 256) == "sigmoid-derivative")
    assert [row.text(c) for c in range(1, 6)] == ["in 2 d", "2:30", "3:20", "5:00", "3"]
    assert browser.summary.text() == f"{len(deck)} cards: 0 due today, {len(deck) - 1} never practised"


def test_deck_browser_search_and_due_filter(qtbot, deck):
    stats = {"sigmoid-derivative": CardStats(due=TODAY + timedelta(days=2))}
    browser = DeckBrowser(deck, lambda cid: stats.get(cid, CardStats()), today=lambda: TODAY)
    qtbot.addWidget(browser)
    browser.search.setText("sigmoid DERIVATIVE")
    assert browser.visible_card_ids() == ["sigmoid-derivative"]
    browser.due_only.setChecked(True)
    assert browser.visible_card_ids() == []
    browser.search.clear()
    assert "sigmoid-derivative" not in browser.visible_card_ids()
    assert len(browser.visible_card_ids()) == len(deck) - 1
    browser.search.setText("no such words anywhere")
    browser.due_only.setChecked(False)
    assert browser.visible_card_ids() == []


def test_choosing_a_card_opens_the_practice_view_and_back(qtbot, deck):
    window = MainWindow(AppContext(deck=deck))
    qtbot.addWidget(window)
    window.show()
    window.browser.select("sigmoid-derivative")
    with qtbot.waitSignal(window.browser.card_chosen) as sig:
        window.browser.open_button.click()
    assert sig.args == ["sigmoid-derivative"]
    assert window.stack.currentWidget() is window.practice
    assert window.practice.card.id == "sigmoid-derivative"
    window.practice.back_button.click()
    assert window.practice is None and window.stack.currentWidget() is window.browser


def test_unknown_card_is_said_in_words(qtbot, deck):
    window = MainWindow(AppContext(deck=deck))
    qtbot.addWidget(window)
    window.show()
    assert window.open_card("no-such-card") is None
    assert "no-such-card" in window.error_text and "Traceback" not in window.error_text


def test_bad_deck_is_shown_in_words_and_good_cards_still_open(qtbot, tmp_path):
    from whiteboard_app.app import build_window, parse_args

    good = bundled_deck_dir() / "sigmoid-derivative.toml"
    (tmp_path / "sigmoid-derivative.toml").write_text(good.read_text("utf-8"), "utf-8")
    (tmp_path / "broken.toml").write_text('schema_version = 1\nid = "broken"\ntitle = 3\n', "utf-8")
    args = parse_args(
        [
            "--no-recognizer",
            "--deck",
            str(tmp_path),
            "--settings",
            str(tmp_path / "s.ini"),
            "--data-dir",
            str(tmp_path / "data"),
        ]
    )
    window, services, _settings = build_window(args)
    qtbot.addWidget(window)
    window.show()
    try:
        assert "broken.toml" in window.error_text and "Some cards could not be loaded" in window.error_text
        assert window.browser.visible_card_ids() == ["sigmoid-derivative"]
        assert window.open_card("sigmoid-derivative") is not None
        assert "keyboard" in window.practice.status.text()
    finally:
        window.close()
        services.close()


def test_recogniser_loads_in_the_background_with_progress(qtbot, deck):
    gate = threading.Event()

    class Rec:
        name = "fake"

        def recognize(self, ink, context=None):
            raise AssertionError("not called here")

    service = RecognizerService()
    window = MainWindow(AppContext(deck=deck), service)
    qtbot.addWidget(window)
    window.show()
    service.start("fake", lambda: gate.wait(5) and Rec())
    window._recognizer_changed()
    assert service.loading and window.rec_progress.isVisibleTo(window)
    assert "loading the fake recogniser" in window.rec_label.text()
    view = window.open_card("sigmoid-derivative")
    assert "loading the fake recogniser" in view.status.text()  # the window is usable meanwhile
    with qtbot.waitSignal(service.loaded, timeout=15_000):
        gate.set()
    assert isinstance(service.recognizer, Rec)
    assert not window.rec_progress.isVisibleTo(window)
    assert window.rec_label.text() == "recogniser: fake"
    assert view.status.isHidden()


def test_recogniser_that_cannot_load_is_said_in_words(qtbot, deck):
    from whiteboard_app.recognition.base import RecognizerUnavailable

    service = RecognizerService()
    window = MainWindow(AppContext(deck=deck), service)
    qtbot.addWidget(window)
    window.show()

    def fail():
        raise RecognizerUnavailable("no weights for the whiteboard engine")

    with qtbot.waitSignal(service.failed, timeout=15_000):
        service.start("whiteboard", fail)
    assert "could not load" in window.error_text and "no weights" in window.error_text
    assert "Traceback" not in window.error_text
    assert service.recognizer is None and not window.rec_progress.isVisibleTo(window)


def test_a_superseded_load_is_discarded(qtbot):
    closed = []

    class Rec:
        def __init__(self, tag):
            self.tag = tag

        def close(self):
            closed.append(self.tag)

    gate = threading.Event()
    service = RecognizerService()
    service.start("a", lambda: gate.wait(5) and Rec("a"))
    with qtbot.waitSignal(service.loaded, timeout=15_000):
        service.start("b", lambda: Rec("b"))
    assert service.recognizer.tag == "b"
    gate.set()
    qtbot.waitUntil(lambda: closed == ["a"], timeout=15_000)
    assert service.recognizer.tag == "b"


def test_gui_entry_point_starts_and_shows_the_window(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WHITEBOARD_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "whiteboard_app.app",
            "--launch-probe",
            "--no-recognizer",
            "--settings",
            str(tmp_path / "s.ini"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("window-shown ")
    assert "Traceback" not in out.stderr


def test_calibration_dialog_stores_samples_and_adapts(qtbot, tmp_path):
    from tests.ui.tablet import tablet_stroke
    from whiteboard_app.recognition.calibration import SAMPLES_PER_SYMBOL, CalibrationStore
    from whiteboard_app.ui.calibration_dialog import CalibrationDialog

    class Adaptable:
        name = "fake"

        def __init__(self):
            self.samples = []

        def adapt(self, samples):
            self.samples.extend(samples)
            return len(samples)

    rec = Adaptable()  # adapt only, and no recognize: the previews say so, the samples still go in
    dialog = CalibrationDialog(rec, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    first = dialog.current_label
    assert first == "\\hat" and "hat" in dialog.instructions.text()
    assert not dialog.take_sample(dialog.boxes[0])  # nothing drawn yet
    for i, box in enumerate(dialog.boxes):
        tablet_stroke(box.canvas, [(60, 60), (90, 40 + i), (110, 90)], [0.4, 0.8, 0.5])
        assert dialog.take_sample(box)
        qtbot.waitUntil(lambda b=box: b.reading.text().startswith("could not read"), timeout=10_000)
    assert CalibrationStore(tmp_path / "calibration").counts() == {first: SAMPLES_PER_SYMBOL}
    dialog.next_symbol()
    assert dialog.current_label != first  # enough samples: on to the next symbol
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        dialog.done_button.click()
    assert [label for label, _ in rec.samples] == [first] * SAMPLES_PER_SYMBOL
    assert dialog.adapted == SAMPLES_PER_SYMBOL


def test_settings_round_trip_and_bad_values(qtbot, tmp_path):
    from whiteboard_app.ui.settings_dialog import AppSettings, SettingsDialog, open_settings

    path = tmp_path / "settings.ini"
    settings = AppSettings(open_settings(path))
    assert (settings.engine, settings.pause_ms, settings.cold_s, settings.practised_s) == (
        "whiteboard",
        600,
        300,
        180,
    )
    dialog = SettingsDialog(
        settings, [("whiteboard", True, ""), ("mathnote", True, ""), ("pix2tex", False, "not installed")]
    )
    qtbot.addWidget(dialog)
    assert "unavailable: not installed" in dialog.engine.itemText(2)
    dialog.engine.setCurrentIndex(1)
    dialog.pause.setValue(900)
    dialog.gamma.setValue(0.7)
    dialog.override.setChecked(True)
    dialog.cold.setValue(240)
    dialog.folder.setText(str(tmp_path / "elsewhere"))
    dialog.apply()
    again = AppSettings(open_settings(path))
    assert (again.engine, again.pause_ms, again.pressure_gamma, again.cold_s) == ("mathnote", 900, 0.7, 240)
    assert again.data_folder == str(tmp_path / "elsewhere")

    class Card:
        class targets:  # noqa: N801 - stands in for a card's `targets` table
            cold_s, practised_s = 300, 180

    assert again.target_s(Card, practised=False) == 240.0  # overridden
    again.set("targets/override", False)
    assert again.target_s(Card, practised=True) == 180.0  # the card's own
    again.set("practice/pause_ms", "not a number")
    assert again.pause_ms == 600
    with pytest.raises(KeyError):
        again.set("no/such/key", 1)


def test_a_graded_run_is_saved_scheduled_and_listed(qtbot, tmp_path):
    from whiteboard_app.app import build_window, parse_args

    args = parse_args(
        ["--no-recognizer", "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")]
    )
    window, services, _settings = build_window(args)
    qtbot.addWidget(window)
    window.show()
    try:
        view = window.open_card("sigmoid-derivative")
        view.set_keyboard_mode(True)
        for k, step in enumerate(view.card.steps):
            view.panels[k].edit.setText(step.latex)
            view.panels[k].edit.returnPressed.emit()
            qtbot.waitUntil(lambda k=k: view.model.step(k).status == "done", timeout=20_000)
        qtbot.waitUntil(lambda: view.session.finished, timeout=15_000)
        panel = view.interviewer
        while not panel.finished:
            panel.answer_box.setPlainText("an answer")
            panel.next_button.click()
        panel.grade_buttons["good"].click()
        stats = services.history.card_stats("sigmoid-derivative")
        assert stats.attempts == 1 and stats.best_ms is not None
        assert services.scheduler.due_date("sigmoid-derivative") is not None
        assert len(list(services.store.files())) == 1
        board = services.store.load(next(services.store.files()))
        assert board.self_grade == "good" and len(board.followups) == len(view.card.followups) + 1
        window.show_deck()
        row = next(it for it in window.browser.card_items() if it.data(0, 256) == "sigmoid-derivative")
        assert row.text(1) != "new" and row.text(5) == "1"
    finally:
        window.close()
        services.close()


def test_an_unfinished_board_is_offered_back_and_resumed(qtbot, tmp_path):
    from tests.ui.tablet import tablet_stroke
    from whiteboard_app.app import build_window, parse_args

    args = parse_args(
        ["--no-recognizer", "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")]
    )
    window, services, _ = build_window(args)
    qtbot.addWidget(window)
    window.show()
    assert window.resume_box.isHidden()
    view = window.open_card("sigmoid-derivative")
    first = view.card.steps[0].latex
    view.panels[0].edit.setText(first)
    view.panels[0].edit.returnPressed.emit()
    qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=20_000)
    view.new_step()
    top = view.page_model.page.tops[-1]
    y = view.canvas.canvas_to_view(60.0, top + 60.0)[1]
    tablet_stroke(view.canvas, [(60, y), (90, y + 10), (120, y)], [0.4, 0.9, 0.5])
    assert len(view.page_model.page.steps[1]) == 1
    window.close()  # quit without finishing the run
    services.close()  # flushes the autosave

    window2, services2, _ = build_window(args)
    qtbot.addWidget(window2)
    window2.show()
    try:
        assert not window2.resume_box.isHidden()
        assert "Derivative of the sigmoid" in window2.resume_label.text()
        resumed = window2.resume_offered()
        assert resumed is not None and window2.resume_box.isHidden()
        assert resumed.model.step(0).latex == first
        assert resumed.model.step(0).verdict.verdict == "correct"
        assert resumed.panels[0].chip.text() == "\u2713 correct"
        assert len(resumed.page_model.page.steps) == 2 and len(resumed.page_model.page.steps[1]) == 1
        resumed.finish_run()
        services2.autosaver.flush()
        assert len(list(services2.store.files())) == 1  # resumed into the same file
        assert services2.unfinished() == []
    finally:
        window2.close()
        services2.close()


def test_stats_window_and_export_from_the_menu(qtbot, tmp_path):
    from whiteboard_app.app import build_window, parse_args

    args = parse_args(
        ["--no-recognizer", "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")]
    )
    window, services, _ = build_window(args)
    qtbot.addWidget(window)
    window.show()
    try:
        stats = window.open_stats()
        assert stats is not None
        qtbot.addWidget(stats)
        window.export_current()  # no card open: said in words
        assert "Open a card first" in window.error_text
        view = window.open_card("sigmoid-derivative")
        view.panels[0].edit.setText(view.card.steps[0].latex)
        view.panels[0].edit.returnPressed.emit()
        qtbot.waitUntil(lambda: view.model.step(0).status == "done", timeout=20_000)
        out = tmp_path / "board.inkml"
        assert not window.export_board_to(out)  # a typed step has no ink: said in words
        assert "no ink" in window.error_text
        from tests.ui.tablet import tablet_stroke

        tablet_stroke(view.canvas, [(60, 60), (90, 70), (120, 60)], [0.4, 0.9, 0.5])
        ok = window.export_board_to(out)
        assert ok, window.error_text
        assert out.read_text("utf-8").lstrip().startswith("<")
        assert window.open_review(tmp_path / "missing.json") is None
        assert "could not be opened" in window.error_text
    finally:
        window.close()
        services.close()


def test_todays_drill_is_listed_first(qtbot, deck):
    browser = DeckBrowser(
        deck, today=lambda: TODAY, queue=lambda: [("sigmoid-derivative", "due"), ("no-such-card", "new")]
    )
    qtbot.addWidget(browser)
    assert browser.tree.topLevelItem(0).text(0) == "Today's drill"
    assert browser.drill_card_ids() == ["sigmoid-derivative"]  # unknown ids are left out
    assert "(due)" in browser.drill_item.child(0).text(0)
    assert browser.visible_card_ids().count("sigmoid-derivative") == 1  # the topic list is unchanged
    browser.due_only.setChecked(True)
    assert not browser.drill_item.child(0).isHidden()


def test_a_bug_in_a_slot_is_shown_in_words(qtbot, deck, monkeypatch):
    import sys

    from whiteboard_app.app import install_excepthook

    window = MainWindow(AppContext(deck=deck))
    qtbot.addWidget(window)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    install_excepthook(window)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        sys.excepthook(*sys.exc_info())
    assert "Something went wrong (ZeroDivisionError: division by zero)" in window.error_text
    assert "Traceback" not in window.error_text


def test_resuming_a_board_another_instance_writes_continues_a_copy(qtbot, tmp_path):
    """Issue 15 (1): the board offered back is taken by another instance before the user resumes it: this
    window continues a copy (new board id, new file) and says so; the other instance's file is untouched."""
    from tests.test_sessions_board import record_attempt
    from whiteboard_app.app import build_window, parse_args
    from whiteboard_app.sessions import FakeClock
    from whiteboard_app.sessions.store import BoardStore

    root = tmp_path / "data" / "boards"
    store = BoardStore(root)
    board = record_attempt(FakeClock(), finish=False).board()
    path = store.save(board)
    store.close()
    before = path.read_bytes()
    args = parse_args(
        ["--no-recognizer", "--settings", str(tmp_path / "s.ini"), "--data-dir", str(tmp_path / "data")]
    )
    window, services, _ = build_window(args)
    qtbot.addWidget(window)
    window.show()
    other = BoardStore(root)  # another instance takes the board now
    try:
        assert not window.resume_box.isHidden()
        assert other.adopt(path, board) is board
        view = window.resume_offered()
        assert view is not None and view.session.board_id != board.board_id
        assert "another whiteboard-app window" in window.banner.text()
        services.autosaver.submit(view.session.board())
        assert services.autosaver.flush(10)
        assert services.autosaver.last_path != path and path.read_bytes() == before
    finally:
        other.close()
        window.close()
        services.close()
