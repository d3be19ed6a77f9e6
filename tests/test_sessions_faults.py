"""Issue 15 (1, 3, 4): two writers on one board, two processes creating the history at once, a broken
history, hostile board files, the stroke journal's replay. Each test failed on the code before."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from whiteboard_app.sessions import BoardError, FakeClock
from whiteboard_app.sessions.history import SCHEMA_VERSION, History
from whiteboard_app.sessions.store import BoardStore, journal_path

from .test_sessions_board import record_attempt

REPO = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(REPO))

_WRITER = textwrap.dedent("""
    import sys, time
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.sessions import Session, SystemClock
    from whiteboard_app.sessions.store import Autosaver, BoardStore

    root, n_strokes, tag = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pool = synthesize("x^2+y", seed=3).ink.strokes
    store = BoardStore(root)
    entry = store.unfinished()[0]
    board = store.adopt(entry.path, entry.board)   # the same board as the other instance
    session = Session.resume(board, SystemClock())
    saver = Autosaver(store)
    session.subscribe(lambda kind, step: saver.submit(session.board()))
    print("resumed", board.board_id, flush=True)
    sys.stdin.readline()                           # both instances have resumed: write together
    for k in range(n_strokes):
        session.add_stroke(pool[k % len(pool)].translated(tag, 50.0 * k))
        time.sleep(0.01)
    saver.close()
    print("done", flush=True)
""")


def test_two_instances_resuming_one_board_lose_nothing(tmp_path):
    """Issue 15 (1): two processes resume the same unfinished board and write 25 strokes each at the
    same time. Before: both wrote the same file, the last save won (25 strokes lost, no error). Now the
    second gets a copy with a new id in a new file; every stroke of both is on disk."""
    store = BoardStore(tmp_path)
    start = record_attempt(FakeClock(), finish=False).board()
    store.save(start)
    store.close()
    n0 = start.stroke_count()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), "25", str(1000.0 * (k + 1))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for k in range(2)
    ]
    ids = []
    for p in procs:
        line = p.stdout.readline()
        assert line.startswith("resumed"), p.stderr.read()
        ids.append(line.split()[1])
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0 and "done" in out, err
    assert len(set(ids)) == 2 and start.board_id in ids  # one resumed the board, the other a copy
    boards = BoardStore(tmp_path).list().boards
    assert len(boards) == 2
    assert sorted(e.board.stroke_count() for e in boards) == [n0 + 25, n0 + 25]
    # every stroke of each instance is on its own board (instances are told apart by x offset)
    for e in boards:
        xs = {
            round(s.points[0].x, -3) for st in e.board.steps for s in st.ink.strokes if s.points[0].x >= 900
        }
        assert len(xs) == 1


def test_adopt_gives_a_copy_while_another_store_writes_the_board(tmp_path):
    first, second = BoardStore(tmp_path), BoardStore(tmp_path)
    board = record_attempt(FakeClock(), finish=False).board()
    path = first.save(board)
    assert second.is_locked_elsewhere(path) and not first.is_locked_elsewhere(path)
    copy = second.adopt(path, board)
    assert copy.board_id != board.board_id and copy.steps == board.steps
    assert second.save(copy) != path
    first.close()
    assert not second.is_locked_elsewhere(path)
    assert second.adopt(path, board) is board  # free again: resumed in place


_HISTORY = textwrap.dedent("""
    import sys, time
    from whiteboard_app.sessions.history import History
    print("ready", flush=True)
    t = float(sys.stdin.readline())                # the release instant, the same for every process
    time.sleep(max(0.0, t - time.time() - 0.005))  # sleep, then spin only the last 5 ms
    while time.time() < t:
        pass
    h = History(sys.argv[1])
    print(h.conn.execute("PRAGMA user_version").fetchone()[0], flush=True)
""")


def test_two_processes_creating_the_history_at_once(tmp_path):
    """Issue 15 (3): before, 16 of 20 races raised 'table attempts already exists'. 6 races of 3
    processes released at the same instant: every process opens the history at the current version.
    Each process has imported History and says so before the release instant is sent, so the instant
    can be near (no second of busy waiting per race for the interpreters to start)."""
    for k in range(6):
        db = tmp_path / f"h{k}.sqlite3"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _HISTORY, str(db)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=ENV,
            )
            for _ in range(3)
        ]
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        at = time.time() + 0.05
        for p in procs:
            p.stdin.write(f"{at!r}\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            assert out.strip() == str(SCHEMA_VERSION)


def test_schema_is_idempotent_and_one_transaction(tmp_path, monkeypatch):
    """A kill during the first open used to leave user_version 0 with only the attempts table, which
    failed on every open. Now a failure midway leaves nothing, and a half-made schema is completed."""
    db = tmp_path / "half.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE attempts (id INTEGER PRIMARY KEY, board_id TEXT NOT NULL UNIQUE, card_id TEXT NOT "
        "NULL, started_at TEXT NOT NULL, duration_ms REAL NOT NULL, target_ms REAL, finished INTEGER "
        "NOT NULL, self_grade TEXT, rating INTEGER, board_path TEXT, n_steps INTEGER NOT NULL, n_correct "
        "INTEGER NOT NULL, n_wrong INTEGER NOT NULL, n_misread INTEGER NOT NULL, n_freezes INTEGER NOT "
        "NULL, freeze_ms REAL NOT NULL)"
    )
    conn.commit()
    conn.close()
    with History(db) as h:  # the state a killed first open of the old code left behind
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        h.record_attempt(record_attempt(FakeClock()).board())
        assert len(h.attempts()) == 1

    import whiteboard_app.sessions.history as hist

    fresh = tmp_path / "fresh.sqlite3"
    monkeypatch.setattr(hist, "_MIGRATIONS", {0: hist._V1 + ";\nCREATE TABLE broken (;"})
    with pytest.raises(BoardError):
        History(fresh)
    conn = sqlite3.connect(fresh)  # rolled back: no table and version 0, not a half schema
    assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()


def test_a_broken_history_is_moved_aside_and_reported(tmp_path):
    db = tmp_path / "history.sqlite3"
    db.write_bytes(b"this is not an sqlite file at all" * 100)
    with pytest.raises(BoardError):
        History(db)
    h = History.open_or_move_aside(db)
    assert h.moved_aside is not None and h.moved_aside.exists() and h.broken_reason
    assert h.moved_aside.read_bytes().startswith(b"this is not")
    assert h.attempts() == []
    h.close()
    # a database from a newer program is never moved
    conn = sqlite3.connect(tmp_path / "new.sqlite3")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(BoardError, match="newer program"):
        History.open_or_move_aside(tmp_path / "new.sqlite3")
    assert (tmp_path / "new.sqlite3").exists()


def test_services_report_a_broken_history(tmp_path):
    from whiteboard_app.app import Services

    (tmp_path / "history.sqlite3").write_bytes(b"\x00garbage" * 50)
    services = Services(tmp_path)
    try:
        assert services.history is not None and services.scheduler is not None
        assert any("moved to" in p for p in services.problems)
    finally:
        services.close()


def test_one_window_per_data_folder(tmp_path):
    from whiteboard_app.app import Services

    store = BoardStore(tmp_path / "boards")
    store.save(record_attempt(FakeClock(), finish=False).board())
    store.close()
    first = Services(tmp_path)
    try:
        assert len(first.unfinished()) == 1
        second = Services(tmp_path)
        try:
            assert second.second_instance and second.unfinished() == []
            assert any("Another whiteboard-app window" in p for p in second.problems)
        finally:
            second.close()
    finally:
        first.close()
    third = Services(tmp_path)
    try:
        assert not third.second_instance and len(third.unfinished()) == 1
    finally:
        third.close()


# ----------------------------------------------------------------------------- hostile files


def _hostile(tmp_path: Path, good_text: str) -> dict[str, str]:
    """name -> what the reason must mention; the files are written into tmp_path."""
    big_int = good_text.replace('"target_s":300', '"target_s":' + "9" * 5000, 1)
    assert big_int != good_text
    deep = '{"format":"whiteboard-board","version":1,"x":' + "[" * 100_000 + "]" * 100_000 + "}"
    (tmp_path / "bigint.board.json").write_text(big_int)
    (tmp_path / "deep.board.json").write_text(deep)
    (tmp_path / "surrogate.board.json").write_text(
        good_text.replace('"card_title":"', '"card_title":"\\ud800', 1)
    )
    os.mkfifo(tmp_path / "fifo.board.json")
    os.symlink("/dev/zero", tmp_path / "zero.board.json")
    with open(tmp_path / "huge.board.json", "wb") as f:
        f.truncate(70 * 1024 * 1024)  # sparse: a 70 MB file over the 64 MB limit
    return {
        "bigint": "digits",
        "deep": "deep",
        "fifo": "regular file",
        "zero": "regular file",
        "huge": "too large",
    }


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_hostile_board_files_are_each_a_clean_error(tmp_path):
    """Issue 15 (4): a 5,000-digit integer used to raise ValueError out of list() and unfinished() (the
    whole listing was lost); a FIFO hung the reader; /dev/zero grew without bound."""
    root = tmp_path / "boards"
    store = BoardStore(root)
    good = record_attempt(FakeClock(), finish=False).board()
    path = store.save(good)
    store.close()
    expect = _hostile(root, path.read_text())
    t0 = time.perf_counter()
    listing = store.list()
    unfinished = store.unfinished()
    assert time.perf_counter() - t0 < 10
    assert sorted(e.path.name for e in listing.boards) == sorted([path.name, "surrogate.board.json"])
    assert path in [e.path for e in unfinished]
    reasons = {e.path.name.split(".")[0]: e.reason for e in listing.errors}
    for name, word in expect.items():
        assert word in reasons[name], (name, reasons.get(name))
    # a board holding a lone surrogate saves and loads back the same
    odd = next(e.board for e in listing.boards if e.path.name.startswith("surrogate"))
    assert "\ud800" in odd.card_title
    again = BoardStore(tmp_path / "other")
    assert again.load(again.save(odd)) == odd
    # the CLI lists the good ones and names every bad file on stderr, no traceback
    r = subprocess.run(
        [sys.executable, "-m", "whiteboard_app.cli", "boards", "list", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert path.name in r.stdout
    for name in expect:
        assert f"{name}.board.json" in r.stderr


def test_journal_replay_ignores_a_torn_line_and_folds_on_recovery(tmp_path):
    store = BoardStore(tmp_path)
    session = record_attempt(FakeClock(), finish=False)
    b0 = session.board()
    path = store.save(b0)
    extra = session.step(session.current_step).strokes[0].stroke
    boards = []
    for k in range(3):  # journalled, never saved (as when the writer thread is killed)
        session.add_stroke(extra.translated(0, 400 + 50 * k))
        boards.append(session.board())
        store.journal(boards[-1])
    assert BoardStore.load(path) == boards[-1] != b0
    js = journal_path(path)
    with open(js, "ab") as f:  # a kill in the middle of an append
        f.write(b'{"seq":99,"head":{"format":"whiteb')
    assert BoardStore.load(path) == boards[-1]
    assert store.save(boards[-1], journal_seq=3) == path and js.stat().st_size == 0  # folded by the save
    store.journal(session.board())
    store.close()  # as a crash: the journal stays
    assert BoardStore(tmp_path).recover() == [path]
    assert not js.exists() and BoardStore.load(path) == session.board()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no lock, journal or temp file left
