"""History: an SQLite index of attempts (stdlib sqlite3, WAL) and the statistics read from it.

The boards are the truth; the database is an index of them (it can be rebuilt with ``reindex``) plus
the scheduler's state (FSRS card state and review log, see sessions/scheduler.py).

Schema versions live in ``PRAGMA user_version`` and are applied in order by ``_MIGRATIONS`` (the
upgrade path); a database from a newer program raises BoardError(path, reason) and is not touched.

v1 tables::

    attempts(id, board_id UNIQUE, card_id, started_at ISO UTC, duration_ms, target_ms, finished,
             self_grade, rating, board_path, n_steps, n_correct, n_wrong, n_misread, n_freezes, freeze_ms)
    step_results(attempt_id, step_index, latex, verdict, reference_step, diagnosis, misread, split_ms)
    freezes(attempt_id, step_index, start_ms, duration_ms)
    fsrs_cards(card_id PRIMARY KEY, card_json, due ISO UTC, first_review ISO UTC, last_review ISO UTC)
    reviews(id, card_id, reviewed_at ISO UTC, rating 1..4, attempt_board_id)

v2 adds the grill answers (sessions/grill.py; a question's FSRS state is a ``fsrs_cards`` row keyed by
its deck-wide id ``"<card id>/<question id>"``)::

    grill_answers(id, question_id, card_id, kind "maths"|"words", answered_at ISO UTC, latex,
                  verdict, self_grade, correct 0/1, ms, time_limit_ms, rating 1..4 or NULL)

Times are ms unless named ``*_s``; dates are ISO 8601 strings in UTC.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whiteboard_app.sessions.board import Board, BoardError

SCHEMA_VERSION = 2

_V1 = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    board_id TEXT NOT NULL UNIQUE,
    card_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    target_ms REAL,
    finished INTEGER NOT NULL,
    self_grade TEXT,
    rating INTEGER,
    board_path TEXT,
    n_steps INTEGER NOT NULL,
    n_correct INTEGER NOT NULL,
    n_wrong INTEGER NOT NULL,
    n_misread INTEGER NOT NULL,
    n_freezes INTEGER NOT NULL,
    freeze_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_by_card ON attempts(card_id, started_at);
CREATE TABLE IF NOT EXISTS step_results (
    attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    step_index INTEGER NOT NULL,
    latex TEXT,
    verdict TEXT,
    reference_step INTEGER,
    diagnosis TEXT,
    misread INTEGER NOT NULL,
    split_ms REAL,
    PRIMARY KEY (attempt_id, step_index)
);
CREATE TABLE IF NOT EXISTS freezes (
    attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
    step_index INTEGER,
    start_ms REAL NOT NULL,
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS freezes_by_attempt ON freezes(attempt_id);
CREATE TABLE IF NOT EXISTS fsrs_cards (
    card_id TEXT PRIMARY KEY,
    card_json TEXT NOT NULL,
    due TEXT NOT NULL,
    first_review TEXT NOT NULL,
    last_review TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY,
    card_id TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    rating INTEGER NOT NULL,
    attempt_board_id TEXT
);
CREATE INDEX IF NOT EXISTS reviews_by_card ON reviews(card_id, reviewed_at);
"""

_V2 = """
CREATE TABLE IF NOT EXISTS grill_answers (
    id INTEGER PRIMARY KEY,
    question_id TEXT NOT NULL,
    card_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    latex TEXT,
    verdict TEXT,
    self_grade TEXT,
    correct INTEGER NOT NULL,
    ms REAL NOT NULL,
    time_limit_ms REAL,
    rating INTEGER
);
CREATE INDEX IF NOT EXISTS grill_by_card ON grill_answers(card_id, answered_at);
CREATE INDEX IF NOT EXISTS grill_by_question ON grill_answers(question_id, answered_at);
"""

_MIGRATIONS = {0: _V1, 1: _V2}
"""schema version -> SQL script taking a database of that version to the next one."""

_TABLES = ("attempts", "step_results", "freezes", "fsrs_cards", "reviews", "grill_answers")


def _statements(script: str) -> list[str]:
    """The statements of a migration script (``executescript`` would COMMIT the open transaction)."""
    return [s.strip() for s in script.split(";") if s.strip()]


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One indexed attempt (a board)."""

    board_id: str
    card_id: str
    started_at: datetime
    duration_ms: float
    target_ms: float | None
    finished: bool
    self_grade: str | None
    rating: int | None
    board_path: str | None
    n_steps: int
    n_correct: int
    n_wrong: int
    n_misread: int
    n_freezes: int
    freeze_ms: float


@dataclass(frozen=True, slots=True)
class CardStats:
    """Times of the finished attempts at one card (ms): best, median, last; and the target (ms)."""

    card_id: str
    attempts: int
    finished: int
    best_ms: float | None
    median_ms: float | None
    last_ms: float | None
    target_ms: float | None

    @property
    def last_vs_target(self) -> float | None:
        """last / target (< 1: under target), None when either is missing."""
        if self.last_ms is None or not self.target_ms:
            return None
        return self.last_ms / self.target_ms


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One attempt in time order: when, how long (ms), fraction of checked steps correct, freezes."""

    started_at: datetime
    duration_ms: float
    finished: bool
    correct_fraction: float | None
    n_freezes: int


@dataclass(frozen=True, slots=True)
class StepTrouble:
    """How often step ``step_index`` of ``card_id`` went wrong: attempts reaching it, final verdict
    wrong, unparsed, and readings the user had to correct (misread)."""

    card_id: str
    step_index: int
    attempts: int
    wrong: int
    unparsed: int
    misread: int


@dataclass(frozen=True, slots=True)
class FreezeStat:
    """Freezes before ink on step ``step_index`` of ``card_id``: how many, total and longest (ms)."""

    card_id: str
    step_index: int | None
    count: int
    total_ms: float
    longest_ms: float


@dataclass(frozen=True, slots=True)
class GrillAnswerRow:
    """One answered grill question (see sessions/grill.py): ``correct`` is the checker's verdict
    "correct" (maths) or a self-grade other than "again" (words); ``ms`` the time to answer."""

    question_id: str
    card_id: str
    kind: str
    answered_at: datetime
    latex: str | None
    verdict: str | None
    self_grade: str | None
    correct: bool
    ms: float
    time_limit_ms: float | None
    rating: int | None


@dataclass(frozen=True, slots=True)
class GrillStats:
    """Grill accuracy and speed over a set of answers (one card's, or all when ``card_id`` is None):
    ``accuracy`` = correct / answered (None with no answers), ``median_ms`` the median time to answer,
    ``over_time`` how many answers came after the question's time limit."""

    card_id: str | None
    answered: int
    correct: int
    median_ms: float | None
    over_time: int

    @property
    def accuracy(self) -> float | None:
        """correct / answered in 0..1, None when nothing was answered."""
        return self.correct / self.answered if self.answered else None


class History:
    """The attempt index and statistics in the SQLite file ``db_path`` (created if missing; WAL mode).

    One connection per History; use it from one thread (the window's) at a time. Raises BoardError
    when the database is from a newer program or is not an SQLite database.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = Path(db_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        self.broken_reason: str | None = None
        try:
            # switching a new file to WAL can fail at once with "database is locked" (SQLite does not
            # wait on its busy handler there) while another process creates the schema: try again
            for attempt in range(40):
                try:
                    self._open()
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or attempt == 39:
                        raise
                    time.sleep(0.05 + 0.01 * attempt)
        except BoardError:
            raise
        except sqlite3.DatabaseError as exc:
            raise BoardError(self.path, f"not a history database: {exc}") from exc

    def _open(self) -> None:
        """Connect and bring the schema up to SCHEMA_VERSION: each migration and the new user_version
        in ONE write transaction (``BEGIN IMMEDIATE``: a second process opening the same new database
        waits for it, then sees the version and does nothing), with ``IF NOT EXISTS`` everywhere so a
        half-made schema from an older program is completed, not refused."""
        self.conn = sqlite3.connect(self.path, timeout=15.0, isolation_level=None)
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise BoardError(
                    self.path,
                    f"written by a newer program (history schema v{version}; this "
                    f"program reads up to v{SCHEMA_VERSION}); left untouched",
                )
            if version < SCHEMA_VERSION:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    version = self.conn.execute("PRAGMA user_version").fetchone()[
                        0
                    ]  # another process may have done it
                    while version < SCHEMA_VERSION:
                        for statement in _statements(_MIGRATIONS[version]):
                            self.conn.execute(statement)
                        version += 1
                    self.conn.execute(f"PRAGMA user_version={version}")
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
            self._check_tables()
        except BaseException:
            self.conn.close()
            raise
        # back to a deferred BEGIN (the default ""): ``with self.conn`` opens transactions
        self.conn.isolation_level = "DEFERRED"

    def _check_tables(self) -> None:
        have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(set(_TABLES) - have)
        if missing:
            raise sqlite3.DatabaseError(f"tables missing: {', '.join(missing)}")

    @classmethod
    def open_or_move_aside(cls, db_path: str | os.PathLike[str]) -> History:
        """Open the history; a file that is not a usable history database (corrupt, half made, not
        SQLite) is moved aside to ``<name>.broken-<UTC time>`` (with its -wal/-shm files), never
        deleted, and a new empty history is created; ``moved_aside`` then names the moved file so the
        window can say so. A database from a newer program is left untouched and raises BoardError."""
        path = Path(db_path)
        try:
            return cls(path)
        except BoardError as exc:
            if "newer program" in exc.reason:
                raise
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            aside = path.with_name(f"{path.name}.broken-{stamp}")
            for suffix in ("", "-wal", "-shm"):
                src = path.with_name(path.name + suffix)
                if src.exists():
                    os.replace(src, aside.with_name(aside.name + suffix))
            h = cls(path)
            h.moved_aside = aside
            h.broken_reason = exc.reason
            return h

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------- writing
    def record_attempt(
        self, board: Board, board_path: str | os.PathLike[str] | None = None, rating: int | None = None
    ) -> int:
        """Index ``board`` (insert, or replace the rows of the same board_id, e.g. after a resume).
        Returns the attempt's row id."""
        steps = sorted(board.steps, key=lambda s: s.index)
        splits = {sp.step: sp.ms for sp in board.splits()}
        freezes = board.freezes()
        # a step whose answer was changed is scored by its first attempt (issue 12): scored_verdict
        finals = [s.scored_verdict.verdict if s.scored_verdict else None for s in steps]
        with self.conn:
            self.conn.execute("DELETE FROM attempts WHERE board_id = ?", (board.board_id,))
            cur = self.conn.execute(
                "INSERT INTO attempts (board_id, card_id, started_at, duration_ms, target_ms, finished, "
                "self_grade, rating, board_path, n_steps, n_correct, n_wrong, n_misread, n_freezes, freeze_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    board.board_id,
                    board.card_id,
                    board.started_at.isoformat(),
                    board.duration_ms,
                    board.target_s * 1000.0 if board.target_s else None,
                    int(board.finished),
                    board.self_grade,
                    rating,
                    str(board_path) if board_path else None,
                    len(steps),
                    finals.count("correct"),
                    finals.count("wrong"),
                    sum(s.misread for s in steps),
                    len(freezes),
                    sum(f.ms for f in freezes),
                ),
            )
            aid = cur.lastrowid
            assert aid is not None  # set by every INSERT
            self.conn.executemany(
                "INSERT INTO step_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        aid,
                        s.index,
                        s.latex,
                        v.verdict if v else None,
                        v.reference_step if v else None,
                        v.diagnosis if v else None,
                        int(s.misread),
                        splits.get(s.index),
                    )
                    for s, v in ((s, s.scored_verdict) for s in steps)
                ],
            )
            self.conn.executemany(
                "INSERT INTO freezes VALUES (?, ?, ?, ?)", [(aid, f.step, f.start_ms, f.ms) for f in freezes]
            )
        return aid

    def set_rating(self, board_id: str, rating: int) -> None:
        """Store the scheduler rating (1..4) given to an indexed attempt."""
        with self.conn:
            self.conn.execute("UPDATE attempts SET rating = ? WHERE board_id = ?", (rating, board_id))

    def reindex(self, entries: Iterable[tuple[Path, Board]]) -> int:
        """(Re)index boards, e.g. ``(e.path, e.board) for e in store.list().boards``; returns how many."""
        n = 0
        for path, board in entries:
            self.record_attempt(board, path)
            n += 1
        return n

    def record_grill_answer(self, row: GrillAnswerRow) -> int:
        """Log one grill answer (sessions/grill.py); returns its row id."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO grill_answers (question_id, card_id, kind, answered_at, latex, verdict, self_grade, "
                "correct, ms, time_limit_ms, rating) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.question_id,
                    row.card_id,
                    row.kind,
                    row.answered_at.isoformat(),
                    row.latex,
                    row.verdict,
                    row.self_grade,
                    int(row.correct),
                    float(row.ms),
                    row.time_limit_ms,
                    row.rating,
                ),
            )
        assert cur.lastrowid is not None  # set by every INSERT
        return cur.lastrowid

    # ------------------------------------------------------------------------------- reading
    def grill_answers(
        self, card_id: str | None = None, question_id: str | None = None
    ) -> list[GrillAnswerRow]:
        """Logged grill answers (all, one card's or one question's), oldest first."""
        sql = (
            "SELECT question_id, card_id, kind, answered_at, latex, verdict, self_grade, correct, ms, "
            "time_limit_ms, rating FROM grill_answers"
        )
        where, args = [], []
        if card_id is not None:
            where.append("card_id = ?")
            args.append(card_id)
        if question_id is not None:
            where.append("question_id = ?")
            args.append(question_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY answered_at, id", args).fetchall()
        return [
            GrillAnswerRow(
                r[0],
                r[1],
                r[2],
                datetime.fromisoformat(r[3]),
                r[4],
                r[5],
                r[6],
                bool(r[7]),
                r[8],
                r[9],
                r[10],
            )
            for r in rows
        ]

    def grill_stats(self, card_id: str | None = None) -> GrillStats:
        """Grill accuracy and speed (:class:`GrillStats`) of one card's questions, or of all."""
        rows = self.grill_answers(card_id)
        times = [r.ms for r in rows]
        over = sum(1 for r in rows if r.time_limit_ms and r.ms > r.time_limit_ms)
        return GrillStats(
            card_id,
            len(rows),
            sum(r.correct for r in rows),
            statistics.median(times) if times else None,
            over,
        )

    def grill_card_ids(self) -> list[str]:
        """Cards with at least one answered grill question, alphabetical."""
        return [
            r[0] for r in self.conn.execute("SELECT DISTINCT card_id FROM grill_answers ORDER BY card_id")
        ]

    def attempts(self, card_id: str | None = None) -> list[AttemptRow]:
        """Indexed attempts (all cards or one), oldest first."""
        sql = (
            "SELECT board_id, card_id, started_at, duration_ms, target_ms, finished, self_grade, rating, "
            "board_path, n_steps, n_correct, n_wrong, n_misread, n_freezes, freeze_ms FROM attempts"
        )
        args: tuple[Any, ...] = ()
        if card_id is not None:
            sql += " WHERE card_id = ?"
            args = (card_id,)
        rows = self.conn.execute(sql + " ORDER BY started_at, id", args).fetchall()
        return [
            AttemptRow(r[0], r[1], datetime.fromisoformat(r[2]), r[3], r[4], bool(r[5]), *r[6:]) for r in rows
        ]

    def card_ids(self) -> list[str]:
        """Cards with at least one attempt, alphabetical."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT card_id FROM attempts ORDER BY card_id")]

    def card_stats(self, card_id: str, target_ms: float | None = None) -> CardStats:
        """Best / median / last time (ms) of the finished attempts at ``card_id``; the target is the
        given one, else the one recorded with the last attempt."""
        rows = self.attempts(card_id)
        done = [r for r in rows if r.finished]
        times = [r.duration_ms for r in done]
        if target_ms is None and rows:
            target_ms = rows[-1].target_ms
        return CardStats(
            card_id,
            len(rows),
            len(done),
            min(times) if times else None,
            statistics.median(times) if times else None,
            times[-1] if times else None,
            target_ms,
        )

    def trend(self, card_id: str) -> list[TrendPoint]:
        """Every attempt at ``card_id``, oldest first, for a plot of time and correctness over attempts."""
        out = []
        for r in self.attempts(card_id):
            checked = r.n_steps and (r.n_correct + r.n_wrong)
            out.append(
                TrendPoint(
                    r.started_at,
                    r.duration_ms,
                    r.finished,
                    r.n_correct / checked if checked else None,
                    r.n_freezes,
                )
            )
        return out

    def trouble_steps(self, card_id: str | None = None, limit: int = 10) -> list[StepTrouble]:
        """Steps most often wrong, unparsed or misread (worst first; steps with none left out)."""
        sql = (
            "SELECT a.card_id, s.step_index, COUNT(*), SUM(s.verdict = 'wrong'), SUM(s.verdict = 'unparsed'), "
            "SUM(s.misread) FROM step_results s JOIN attempts a ON a.id = s.attempt_id"
        )
        args: tuple[Any, ...] = ()
        if card_id is not None:
            sql += " WHERE a.card_id = ?"
            args = (card_id,)
        sql += (
            " GROUP BY a.card_id, s.step_index HAVING SUM(s.verdict = 'wrong') + SUM(s.verdict = 'unparsed')"
            " + SUM(s.misread) > 0 ORDER BY SUM(s.verdict = 'wrong') + SUM(s.verdict = 'unparsed') + "
            "SUM(s.misread) DESC, a.card_id, s.step_index LIMIT ?"
        )
        return [
            StepTrouble(r[0], r[1], r[2], r[3] or 0, r[4] or 0, r[5] or 0)
            for r in self.conn.execute(sql, args + (limit,))
        ]

    def freeze_stats(self, card_id: str | None = None) -> list[FreezeStat]:
        """Freezes grouped by card and the step they came before, most total time first."""
        sql = (
            "SELECT a.card_id, f.step_index, COUNT(*), SUM(f.duration_ms), MAX(f.duration_ms) "
            "FROM freezes f JOIN attempts a ON a.id = f.attempt_id"
        )
        args: tuple[Any, ...] = ()
        if card_id is not None:
            sql += " WHERE a.card_id = ?"
            args = (card_id,)
        sql += " GROUP BY a.card_id, f.step_index ORDER BY SUM(f.duration_ms) DESC"
        return [FreezeStat(*r) for r in self.conn.execute(sql, args)]
