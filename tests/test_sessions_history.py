"""History database (SQLite, WAL, versioned schema) and its statistics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from whiteboard_app.sessions import BoardError, FakeClock
from whiteboard_app.sessions.history import SCHEMA_VERSION, History

from .test_sessions_board import SIGMOID_STEPS, record_attempt


def make_board(*, think_ms=3000.0, verdicts=None, misread_step=None, finish=True, day=0, seed=0):
    clock = FakeClock()
    s = record_attempt(clock, think_ms=think_ms, verdicts=verdicts, finish=False, seed=seed)
    if misread_step is not None:
        s.record_correction(misread_step, SIGMOID_STEPS[misread_step] + " ")
    if finish:
        s.finish()
    b = s.board()
    from dataclasses import replace

    return replace(b, started_at=datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(days=day))


def test_schema_is_versioned_and_wal(tmp_path):
    db = tmp_path / "h.sqlite3"
    History(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute("PRAGMA user_version=99")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(BoardError, match="newer program"):
        History(db)
    assert db.read_bytes() == before
    (tmp_path / "junk.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BoardError, match="not a history database"):
        History(tmp_path / "junk.sqlite3")


def test_statistics(tmp_path):
    h = History(tmp_path / "h.sqlite3")
    # four attempts: think time per step 14 s, 3 s (with a wrong step 2), 1 s (misread step 1), 30 s
    # (the first 4 s after each verdict are reading it, not a freeze)
    boards = [
        make_board(think_ms=14_000, day=0),
        make_board(think_ms=3_000, verdicts={2: "wrong"}, day=1, seed=3),
        make_board(think_ms=1_000, misread_step=1, day=2, seed=5),
        make_board(think_ms=30_000, verdicts={1: "wrong"}, day=3, seed=7),
        make_board(think_ms=500, finish=False, day=4, seed=9),
    ]
    for b in boards:
        h.record_attempt(b, f"/boards/{b.board_id}.board.json")
    h.record_attempt(boards[0])  # re-indexing the same board replaces it
    assert len(h.attempts()) == 5 and h.card_ids() == ["sigmoid-derivative"]

    times = [b.duration_ms for b in boards[:4]]
    st = h.card_stats("sigmoid-derivative")
    assert (st.attempts, st.finished) == (5, 4)
    assert st.best_ms == min(times) == boards[2].duration_ms
    assert st.median_ms == pytest.approx(sorted(times)[1] / 2 + sorted(times)[2] / 2)
    assert st.last_ms == boards[3].duration_ms and st.target_ms == 300_000
    assert st.last_vs_target == pytest.approx(boards[3].duration_ms / 300_000)

    trend = h.trend("sigmoid-derivative")
    assert [p.started_at.day for p in trend] == [1, 2, 3, 4, 5]
    assert [p.correct_fraction for p in trend[:4]] == [1.0, pytest.approx(2 / 3), 1.0, pytest.approx(2 / 3)]
    assert trend[4].finished is False

    trouble = h.trouble_steps("sigmoid-derivative")
    assert [(t.step_index, t.wrong, t.misread) for t in trouble] == [(1, 1, 1), (2, 1, 0)]
    assert trouble[0].attempts == 5

    # 14 s and 30 s of thinking before each step are freezes (> 8 s after reading the verdict); 3 s, 1 s are not
    freezes = {f.step_index: f for f in h.freeze_stats("sigmoid-derivative")}
    assert set(freezes) == {0, 1, 2}
    assert all(f.count == 2 for f in freezes.values())
    assert freezes[0].longest_ms == pytest.approx(30_000, abs=1)
    assert h.attempts()[1].n_freezes == 0 and h.attempts()[3].n_freezes == 3
    h.close()


def test_reindex_from_store(tmp_path):
    from whiteboard_app.sessions.store import BoardStore

    store = BoardStore(tmp_path / "boards")
    for k in range(3):
        store.save(make_board(day=k, seed=k))
    with History(tmp_path / "h.sqlite3") as h:
        assert h.reindex((e.path, e.board) for e in store.list().boards) == 3
        assert all(a.board_path.endswith(".board.json") for a in h.attempts())
