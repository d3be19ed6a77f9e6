"""Scheduler: FSRS due dates for a sequence of grades, the rating rule, the drill plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import fsrs
import pytest

from whiteboard_app.sessions.history import History
from whiteboard_app.sessions.scheduler import DrillPlan, Rating, Scheduler, rating_for_board, rating_for_run

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sched(tmp_path):
    h = History(tmp_path / "h.sqlite3")
    yield Scheduler(h, fsrs.Scheduler(enable_fuzzing=False))
    h.close()


GRADES = [Rating.Good, Rating.Good, Rating.Good, Rating.Again, Rating.Good, Rating.Easy, Rating.Hard]


def test_due_dates_follow_fsrs_for_a_sequence_of_grades(sched, tmp_path):
    reference = fsrs.Scheduler(enable_fuzzing=False)
    ref_card = fsrs.Card(card_id=1, due=T0)
    when = T0
    dues = []
    for rating in GRADES:
        due = sched.record("ols-normal-equations", rating, when)
        ref_card, _ = reference.review_card(ref_card, rating, review_datetime=when)
        assert due == ref_card.due  # state survives the database between reviews
        dues.append(due)
        when = max(due, when + timedelta(minutes=1))  # practise when due
    # what FSRS says, in words: learning steps of minutes, then growing intervals of days;
    # a lapse (Again) brings the card back within minutes; Easy pushes it further than Good would
    assert dues[0] - T0 == timedelta(minutes=10)
    gaps = [(d - w).total_seconds() for d, w in zip(dues[1:4], [dues[0], dues[1], dues[2]], strict=True)]
    assert gaps[0] >= 86_400 and gaps[1] > gaps[0]
    assert dues[3] - dues[2] == timedelta(minutes=10)
    assert dues[5] - dues[4] > dues[4] - dues[3]
    rows = sched.history.conn.execute("SELECT rating FROM reviews ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [int(g) for g in GRADES]
    # a fresh Scheduler on the same database sees the same state
    again = Scheduler(History(tmp_path / "h.sqlite3"), fsrs.Scheduler(enable_fuzzing=False))
    assert again.due_date("ols-normal-equations") == dues[-1]


def test_due_today_queue(sched):
    sched.record("a", Rating.Good, T0)  # due 10 min later: due on day 1
    sched.record("b", Rating.Easy, T0)  # Easy: due days later
    assert sched.due(date(2026, 3, 1)) == ["a"]
    later = sched.due_date("b").date()
    assert sched.due(later) == ["a", "b"]  # most overdue first
    assert sched.due(later, ["b", "c"]) == ["b"]
    assert sched.due_date("never-seen") is None
    # "today" in the user's time zone: at 23:00 in UTC-8 on 28 Feb it is already 1 March in UTC, but the
    # user's day ends at 08:00 UTC on 1 March, before "a" is due (09:10 UTC)
    from datetime import timezone

    west = timezone(timedelta(hours=-8))
    assert sched.due(datetime(2026, 2, 28, 23, 0, tzinfo=west)) == []
    assert sched.due(datetime(2026, 3, 1, 9, 0, tzinfo=west)) == ["a"]


# (self-grade, final verdicts, finished, duration s, target s) -> rating
RATING_TABLE = [
    ("good", ["correct"] * 4, True, 200, 300, Rating.Good),
    ("easy", ["correct"] * 4, True, 200, 300, Rating.Easy),
    ("easy", ["correct"] * 4, True, 320, 300, Rating.Good),  # over target: no Easy
    ("good", ["correct"] * 4, True, 460, 300, Rating.Hard),  # over 1.5 x target
    ("easy", ["correct", "wrong", "correct", "correct"], True, 100, 300, Rating.Hard),
    ("good", ["correct", "wrong", "unparsed", "correct"], True, 100, 300, Rating.Again),  # half bad
    ("again", ["correct"] * 4, True, 100, 300, Rating.Again),  # the user's judgement stands
    (None, ["correct", None, "correct"], True, 100, 300, Rating.Good),
    ("easy", ["correct"] * 4, False, 100, 300, Rating.Again),  # abandoned
    ("hard", [], True, 100, None, Rating.Hard),
]


@pytest.mark.parametrize(("grade", "verdicts", "finished", "dur_s", "target_s", "expected"), RATING_TABLE)
def test_rating_rule(grade, verdicts, finished, dur_s, target_s, expected):
    target = target_s * 1000 if target_s else None
    assert rating_for_run(grade, verdicts, finished, dur_s * 1000, target) == expected


def test_record_board_rates_and_stores(sched):
    from whiteboard_app.sessions import FakeClock

    from .test_sessions_board import record_attempt

    s = record_attempt(FakeClock(), verdicts={1: "wrong"})
    s.set_self_grade("easy")
    board = s.board()
    sched.history.record_attempt(board)
    assert rating_for_board(board) == Rating.Hard
    rating, due = sched.record_board(board)
    assert rating == Rating.Hard and sched.history.attempts()[0].rating == int(Rating.Hard)
    assert due == sched.due_date(board.card_id)


def test_drill_plan_one_new_a_day_then_cycle(sched):
    deck = ["c1", "c2", "c3"]
    plan = DrillPlan()
    day = date(2026, 3, 1)
    q = plan.queue(sched, deck, day)
    assert [(i.card_id, i.reason, i.target_s) for i in q] == [("c1", "new", 300.0)]
    sched.record("c1", Rating.Good, T0)
    # started today: no second new card today; c1 is due again within the day (learning step)
    assert [(i.card_id, i.reason) for i in plan.queue(sched, deck, day)] == [("c1", "due")]
    for k, c in enumerate(["c1", "c2", "c3"]):
        sched.record(c, Rating.Easy, T0 + timedelta(days=k + 1))
    # every card introduced and none due: cycle to the least recently reviewed
    quiet = min(sched.due_date(c) for c in deck).date() - timedelta(days=1)
    assert [(i.card_id, i.reason) for i in plan.queue(sched, deck, quiet)] == [("c1", "cycle")]
    # 5 min cold until a week after the first practice, then 3 min; deck targets override
    assert plan.target_s(sched, "c1", date(2026, 3, 7)) == 300.0
    assert plan.target_s(sched, "c1", date(2026, 3, 8)) == 180.0
    assert plan.target_s(sched, "c1", date(2026, 3, 8), {"c1": (600, 240)}) == 240.0


# --- the honest grade (issue 12) -------------------------------------------------------------------
def test_help_and_an_unsupported_run_lower_the_rating():
    clean = dict(verdicts=["correct"] * 3, finished=True, duration_ms=100_000, target_ms=180_000)
    assert rating_for_run("easy", **clean) == Rating.Easy
    assert rating_for_run("easy", **clean, hints=1) == Rating.Good
    assert rating_for_run("easy", **clean, hints=2) == Rating.Hard
    assert rating_for_run("easy", **clean, reveals=1) == Rating.Hard
    assert rating_for_run("easy", **clean, reached_goal=True, complete=False) == Rating.Hard
    assert rating_for_run("good", **clean, reached_goal=False, complete=False) == Rating.Again
    assert rating_for_run("hard", **clean, hints=1) == Rating.Hard  # never raised


def test_suggested_rating_and_preview_from_a_board(tmp_path):
    from whiteboard_app.sessions import FakeClock
    from whiteboard_app.sessions.scheduler import suggested_rating

    from .test_sessions_board import record_attempt

    s = record_attempt(FakeClock())
    assert suggested_rating(s.board()) == Rating.Easy  # clean, fast, nothing marked
    s.set_run({"complete": False, "reached_goal": True})
    assert suggested_rating(s.board()) == Rating.Hard
    s.record_aid(1, "hint", 1)
    s.set_run({"complete": True, "reached_goal": True})
    assert suggested_rating(s.board()) == Rating.Good
    sched = Scheduler(History(tmp_path / "h.db"), fsrs.Scheduler(enable_fuzzing=False))
    when = datetime(2026, 1, 1, 12, tzinfo=UTC)
    dues = sched.preview("sigmoid-derivative", when)
    assert list(dues) == [Rating.Again, Rating.Hard, Rating.Good, Rating.Easy]
    assert dues[Rating.Again] <= dues[Rating.Hard] <= dues[Rating.Good] < dues[Rating.Easy]
    assert sched.due_date("sigmoid-derivative") is None  # nothing saved
    assert sched.record("sigmoid-derivative", Rating.Good, when) == dues[Rating.Good]
