"""Scheduler: when each card (derivation) is due, by spaced repetition with the ``fsrs`` package.

Each card has an FSRS state (stability, difficulty, due date) kept in the history database; every
finished (or abandoned) run is one review with a rating computed by :func:`rating_for_run`.

The rating rule (documented here and shown in the window's help):

1. A run that was not finished is **Again**.
2. Start from the user's self-grade (again=1, hard=2, good=3, easy=4); without one, **Good**.
3. Verdicts: if half or more of the steps end "wrong" or "unparsed", **Again**; else if any step ends
   "wrong", at most **Hard** (a derivation with a wrong step was not recalled well).
4. Time against the target: over 1.5 x target, at most **Hard**; over the target, at most **Good**
   (Easy needs a run within the target).
5. Help taken (issue 12): a revealed reference step, or two hints or more, at most **Hard**; one hint,
   at most **Good**.
6. The run as a derivation (sessions/run.py, kept on the board): the result never reached, **Again**;
   reached with milestones missing ("correct, but unsupported"), at most **Hard**.

Step verdicts are the scored ones (``StepRecord.scored_verdict``): a step whose answer was changed by
typing counts with its first verdict. :func:`suggested_rating` is the rule applied to a self-grade of
Easy: the best the run allows, offered as the suggested grade (and recorded for a run left ungraded).

The rule only lowers the self-grade, never raises it: the user's own judgement of a clean run stands.

Grill questions (sessions/grill.py) have FSRS states of their own, keyed ``"<card id>/<question id>"``
(card ids never contain ``/``; :meth:`Scheduler.due` leaves them out unless asked for by id). A failed
grill answer brings its card's due date forward to at most one day later (:meth:`Scheduler.pull_due`):
quick recall that fails says the derivation needs practice; a correct one leaves the card's date alone
(recalling a key identity is not re-deriving it).

The drill plan (the seeds' option, :class:`DrillPlan`): one new derivation a day in deck order, the due
ones first, then cycle through the deck (oldest review first) when nothing is due; the time target is
the card's cold target (5 min) until a week after the card was first practised, then the practised
target (3 min).

Dates: ``today`` is a ``date`` (a UTC day) or an aware ``datetime`` (its day in its own time zone, e.g.
``datetime.now().astimezone()`` for the user's local day); a card is due today when its due instant is
before the end of that day. FSRS: Jarrett Ye et al., open-spaced-repetition/py-fsrs (``fsrs.Scheduler``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import fsrs

from whiteboard_app.sessions.board import SELF_GRADES, Board
from whiteboard_app.sessions.history import History

Rating = fsrs.Rating

_GRADE_RATING = {g: Rating(i + 1) for i, g in enumerate(SELF_GRADES)}


def rating_for_run(
    self_grade: str | None,
    verdicts: Sequence[str | None],
    finished: bool,
    duration_ms: float | None,
    target_ms: float | None,
    *,
    hints: int = 0,
    reveals: int = 0,
    reached_goal: bool | None = None,
    complete: bool | None = None,
) -> Rating:
    """The FSRS rating of a run by the rule in the module docstring.

    ``verdicts``: the scored verdict of each step (None: never checked); ``hints``/``reveals``: help
    taken; ``reached_goal``/``complete``: the run's judgement (None: not judged, rule 6 skipped).
    Raises ValueError for an unknown self-grade.
    """
    if not finished:
        return Rating.Again
    if self_grade is not None and self_grade not in _GRADE_RATING:
        raise ValueError(f"self-grade must be one of {SELF_GRADES}, got {self_grade!r}")
    rating = _GRADE_RATING[self_grade] if self_grade else Rating.Good
    bad = sum(v in ("wrong", "unparsed") for v in verdicts)
    if verdicts and bad * 2 >= len(verdicts):
        return Rating.Again
    if any(v == "wrong" for v in verdicts):
        rating = min(rating, Rating.Hard)
    if duration_ms is not None and target_ms:
        if duration_ms > 1.5 * target_ms:
            rating = min(rating, Rating.Hard)
        elif duration_ms > target_ms:
            rating = min(rating, Rating.Good)
    if reveals > 0 or hints >= 2:
        rating = min(rating, Rating.Hard)
    elif hints == 1:
        rating = min(rating, Rating.Good)
    if reached_goal is False:
        return Rating.Again
    if complete is False:
        rating = min(rating, Rating.Hard)
    return Rating(rating)


def _board_run_facts(board: Board) -> dict[str, Any]:
    run = board.run if isinstance(board.run, dict) else {}
    aids = board.aids
    return {
        "hints": sum(1 for a in aids if a.kind == "hint"),
        "reveals": sum(1 for a in aids if a.kind == "reveal"),
        "reached_goal": run.get("reached_goal") if isinstance(run.get("reached_goal"), bool) else None,
        "complete": run.get("complete") if isinstance(run.get("complete"), bool) else None,
    }


def suggested_rating(board: Board) -> Rating:
    """The grade the run allows (the rule applied to a self-grade of Easy, as if finished)."""
    verdicts = [
        s.scored_verdict.verdict if s.scored_verdict else None
        for s in sorted(board.steps, key=lambda s: s.index)
    ]
    target = board.target_s * 1000.0 if board.target_s else None
    return rating_for_run("easy", verdicts, True, board.duration_ms, target, **_board_run_facts(board))


def rating_for_board(board: Board) -> Rating:
    """:func:`rating_for_run` applied to a saved board."""
    verdicts = [
        s.scored_verdict.verdict if s.scored_verdict else None  # an answer change keeps its first verdict
        for s in sorted(board.steps, key=lambda s: s.index)
    ]
    target = board.target_s * 1000.0 if board.target_s else None
    return rating_for_run(
        board.self_grade, verdicts, board.finished, board.duration_ms, target, **_board_run_facts(board)
    )


def _end_of_day(today: date | datetime) -> datetime:
    """End of the day ``today``: a date is a UTC day; an aware datetime's day is taken in its own time
    zone (pass ``datetime.now().astimezone()`` for the user's local day); a naive datetime is UTC."""
    if isinstance(today, datetime):
        tz = today.tzinfo or UTC
        return datetime.combine(today.date() + timedelta(days=1), time(0), tz).astimezone(UTC)
    return datetime.combine(today + timedelta(days=1), time(0), UTC)


def _as_utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("review time must be timezone-aware")
    return when.astimezone(UTC)


class Scheduler:
    """FSRS scheduling of cards, persisted in ``history``'s database.

    ``fsrs_scheduler`` defaults to ``fsrs.Scheduler()`` (desired retention 0.9, learning steps 1 min and
    10 min, interval fuzzing on); tests pass ``fsrs.Scheduler(enable_fuzzing=False)``.
    """

    def __init__(self, history: History, fsrs_scheduler: fsrs.Scheduler | None = None) -> None:
        self.history = history
        self.fsrs = fsrs_scheduler or fsrs.Scheduler()

    def card_state(self, card_id: str) -> fsrs.Card | None:
        """The FSRS card of ``card_id`` (None: never reviewed)."""
        row = self.history.conn.execute(
            "SELECT card_json FROM fsrs_cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        return fsrs.Card.from_json(row[0]) if row else None

    def due_date(self, card_id: str) -> datetime | None:
        """When ``card_id`` is next due (UTC), None when it was never reviewed (new)."""
        card = self.card_state(card_id)
        return card.due if card else None

    def record(
        self, card_id: str, rating: Rating | int, when: datetime | None = None, board_id: str | None = None
    ) -> datetime:
        """Review ``card_id`` with ``rating`` (1..4) at ``when`` (aware datetime; default now) and return
        its new due date (UTC)."""
        when = _as_utc(when)
        rating = Rating(int(rating))
        card = self.card_state(card_id) or fsrs.Card(card_id=zlib.crc32(card_id.encode()) or 1, due=when)
        card, _log = self.fsrs.review_card(card, rating, review_datetime=when)
        first = self.history.conn.execute(
            "SELECT first_review FROM fsrs_cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        with self.history.conn:
            self.history.conn.execute(
                "INSERT OR REPLACE INTO fsrs_cards (card_id, card_json, due, first_review, last_review) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    card_id,
                    card.to_json(),
                    card.due.astimezone(UTC).isoformat(),
                    first[0] if first else when.isoformat(),
                    when.isoformat(),
                ),
            )
            self.history.conn.execute(
                "INSERT INTO reviews (card_id, reviewed_at, rating, attempt_board_id) VALUES (?, ?, ?, ?)",
                (card_id, when.isoformat(), int(rating), board_id),
            )
        if board_id:
            self.history.set_rating(board_id, int(rating))
        return card.due

    def preview(self, card_id: str, when: datetime | None = None) -> dict[Rating, datetime]:
        """The due date each rating would give ``card_id`` if reviewed at ``when`` (default now), as
        Anki's grade buttons show it; nothing is saved."""
        when = _as_utc(when)
        state = self.card_state(card_id)
        out = {}
        for rating in Rating:
            card = (
                fsrs.Card.from_json(state.to_json())
                if state is not None
                else fsrs.Card(card_id=zlib.crc32(card_id.encode()) or 1, due=when)
            )
            card, _log = self.fsrs.review_card(card, rating, review_datetime=when)
            out[rating] = card.due
        return out

    def record_board(self, board: Board, when: datetime | None = None) -> tuple[Rating, datetime]:
        """Rate a finished board by :func:`rating_for_board`, review its card at ``when`` (default: the
        board's start plus its duration) and return (rating, new due date)."""
        rating = rating_for_board(board)
        if when is None:
            when = board.started_at.astimezone(UTC) + timedelta(milliseconds=board.duration_ms)
        return rating, self.record(board.card_id, rating, when, board.board_id)

    def due(self, today: date | datetime, card_ids: Iterable[str] | None = None) -> list[str]:
        """Reviewed cards due before the end of ``today`` (see the module doc), most overdue first; limited to
        ``card_ids`` (e.g. the deck's) when given. New cards are not "due" (see DrillPlan)."""
        end = _end_of_day(today).isoformat()
        rows = self.history.conn.execute(
            "SELECT card_id FROM fsrs_cards WHERE due < ? ORDER BY due, card_id", (end,)
        ).fetchall()
        keep = set(card_ids) if card_ids is not None else None
        return [r[0] for r in rows if (r[0] in keep if keep is not None else "/" not in r[0])]

    def pull_due(self, card_id: str, latest: datetime) -> datetime | None:
        """Bring ``card_id``'s due date forward to ``latest`` (aware) when it is later; return the due date
        after the change (None: the card was never reviewed, so it is new and left alone)."""
        latest = _as_utc(latest)
        card = self.card_state(card_id)
        if card is None:
            return None
        if card.due.astimezone(UTC) > latest:
            card.due = latest
            with self.history.conn:
                self.history.conn.execute(
                    "UPDATE fsrs_cards SET card_json = ?, due = ? WHERE card_id = ?",
                    (card.to_json(), latest.isoformat(), card_id),
                )
        return card.due.astimezone(UTC)

    def first_review(self, card_id: str) -> datetime | None:
        row = self.history.conn.execute(
            "SELECT first_review FROM fsrs_cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def last_review(self, card_id: str) -> datetime | None:
        row = self.history.conn.execute(
            "SELECT last_review FROM fsrs_cards WHERE card_id = ?", (card_id,)
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A card to practise today: why ("due", "new" or "cycle") and its time target (s)."""

    card_id: str
    reason: str
    target_s: float


@dataclass(frozen=True, slots=True)
class DrillPlan:
    """The seeds' drill plan: ``new_per_day`` new derivations a day in deck order, then cycle; time
    target ``cold_s`` (300 s) until ``practised_after_days`` (7) after the first practice, then
    ``practised_s`` (180 s). Per-card targets from the deck (``targets[card_id] = (cold_s,
    practised_s)``) replace the defaults."""

    new_per_day: int = 1
    cold_s: float = 300.0
    practised_s: float = 180.0
    practised_after_days: int = 7

    def target_s(
        self,
        scheduler: Scheduler,
        card_id: str,
        today: date | datetime,
        targets: Mapping[str, tuple[float, float]] | None = None,
    ) -> float:
        """The time target (s) of ``card_id`` on ``today``."""
        cold, practised = (targets or {}).get(card_id, (self.cold_s, self.practised_s))
        first = scheduler.first_review(card_id)
        if first is None:
            return float(cold)
        days = ((_end_of_day(today) - timedelta(days=1)).date() - first.astimezone(UTC).date()).days
        return float(practised if days >= self.practised_after_days else cold)

    def queue(
        self,
        scheduler: Scheduler,
        deck_card_ids: Sequence[str],
        today: date | datetime,
        targets: Mapping[str, tuple[float, float]] | None = None,
    ) -> list[QueueItem]:
        """Today's queue: the due cards (most overdue first), then up to ``new_per_day`` new cards (fewer
        if some were already started today), and when that leaves nothing, the card least recently
        reviewed (the cycle)."""
        end = _end_of_day(today)
        start = end - timedelta(days=1)
        due = scheduler.due(today, deck_card_ids)
        items = [QueueItem(c, "due", self.target_s(scheduler, c, today, targets)) for c in due]
        started_today = sum(
            1 for c in deck_card_ids if (f := scheduler.first_review(c)) is not None and start <= f < end
        )
        new = [c for c in deck_card_ids if scheduler.first_review(c) is None]
        for c in new[: max(0, self.new_per_day - started_today)]:
            items.append(QueueItem(c, "new", self.target_s(scheduler, c, today, targets)))
        if not items:
            seen = [(scheduler.last_review(c), c) for c in deck_card_ids if c not in new]
            if seen:
                c = min(seen)[1]
                items.append(QueueItem(c, "cycle", self.target_s(scheduler, c, today, targets)))
        return items
