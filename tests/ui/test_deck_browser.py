"""The deck browser's due state compares due instants with the time now: a card graded "good" is due
again in 10 minutes (FSRS learning step) and shows "in 10 min", not "due", until then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.app import Services  # noqa: E402
from whiteboard_app.decks import bundled_deck_dir, deck_errors  # noqa: E402
from whiteboard_app.sessions.scheduler import Rating  # noqa: E402
from whiteboard_app.ui.deck_browser import CardStats, DeckBrowser, due_words, is_due  # noqa: E402

CET = timezone(timedelta(hours=1))
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=CET)


@pytest.mark.parametrize(
    "due, words, due_now",
    [
        (None, "new", True),
        (NOW - timedelta(minutes=1), "due", True),
        (NOW, "due", True),
        (NOW + timedelta(minutes=10), "in 10 min", False),
        (NOW + timedelta(minutes=9, seconds=1), "in 10 min", False),  # rounded up: never "in 0 min"
        (NOW + timedelta(hours=2, minutes=30), "in 3 h", False),
        (NOW + timedelta(hours=14, minutes=59), "in 15 h", False),  # 23:59 the same day
        (NOW + timedelta(hours=15), "in 1 d", False),  # midnight: the next day
        (NOW + timedelta(days=5), "in 5 d", False),
        (NOW - timedelta(days=3), "due (3 d late)", True),
        (
            (NOW - timedelta(hours=9, minutes=30)).astimezone(UTC),
            "due (1 d late)",
            True,
        ),  # 23:30 yesterday, CET
        ((NOW + timedelta(minutes=10)).astimezone(UTC), "in 10 min", False),  # another zone, same instant
    ],
)
def test_due_words_compare_times(due, words, due_now):
    stats = CardStats(due=due)
    assert due_words(stats, NOW) == words
    assert is_due(stats, NOW) is due_now


def test_a_card_graded_good_is_not_due_until_its_due_time(qtbot, tmp_path):
    """End to end through the application's services: FSRS schedules a new card graded Good 10 minutes
    later; the browser built on ``Services.stats`` shows it due only once those minutes have passed."""
    deck, _errors = deck_errors([bundled_deck_dir() / "sigmoid-derivative.toml"])
    services = Services(tmp_path)
    try:
        graded = datetime.now(UTC)
        due = services.scheduler.record("sigmoid-derivative", Rating.Good, when=graded)
        assert due - graded == timedelta(minutes=10)  # fsrs's second learning step
        stats = services.stats("sigmoid-derivative")
        assert stats.due == due  # the due time, not only the day
        now = [graded + timedelta(minutes=1)]
        browser = DeckBrowser(deck, services.stats, today=lambda: now[0], queue=lambda: services.queue(deck))
        qtbot.addWidget(browser)

        def row():
            return next(it for it in browser.card_items() if it.data(0, 256) == "sigmoid-derivative")

        assert row().text(1) == "in 9 min"
        later = ""
        if due.date() == datetime.now(UTC).date():  # not in the minutes before midnight UTC
            # due today (the scheduler's day) but not yet: not in the drill, counted in the footer (issue 16)
            assert browser.drill_card_ids() == []
            later = ", 1 due later today"
        browser.due_only.setChecked(True)
        assert browser.visible_card_ids() == []
        assert browser.summary.text() == "1 card: 0 due today, 0 never practised" + later
        now[0] = graded + timedelta(minutes=11)
        browser.refresh()
        assert row().text(1) == "due" and browser.visible_card_ids() == ["sigmoid-derivative"]
        if browser.drill_item is not None:
            assert browser.drill_item.child(0).text(0).endswith("(due)")
        assert browser.summary.text() == "1 card: 1 due today, 0 never practised"
    finally:
        services.close()
