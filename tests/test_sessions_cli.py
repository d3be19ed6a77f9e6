"""``boards list`` and ``grade`` (re-check a saved board headlessly, same JSON as ``check``)."""

from __future__ import annotations

import json

import pytest

from whiteboard_app.cli import main
from whiteboard_app.paths import ENV_VAR, boards_dir
from whiteboard_app.sessions import FakeClock
from whiteboard_app.sessions.store import BoardStore

from .test_sessions_board import SIGMOID_STEPS, record_attempt


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    store = BoardStore(boards_dir(tmp_path))
    done = record_attempt(FakeClock(), card_id="sigmoid-derivative").board()
    open_ = record_attempt(FakeClock(), card_id="sigmoid-derivative", finish=False, seed=4).board()
    return store, store.save(done), store.save(open_), done, open_


def test_boards_list(data, capsys):
    store, p_done, p_open, done, open_ = data
    assert main(["boards", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {b["board_id"]: b["finished"] for b in out["boards"]} == {
        done.board_id: True,
        open_.board_id: False,
    }
    assert out["errors"] == []
    row = next(b for b in out["boards"] if b["board_id"] == done.board_id)
    assert row["steps"] == 3 and row["correct"] == 3 and row["path"] == str(p_done)
    (store.root / "zz.board.json").write_text('{"format": "whiteboard-board", "version": 5}')
    assert main(["boards", "list"]) == 1
    cap = capsys.readouterr()
    assert "UNFINISHED" in cap.out and len(cap.out.splitlines()) == 2
    assert "zz.board.json" in cap.err and "newer program" in cap.err


def test_grade_gives_the_same_json_as_check(data, capsys):
    _, p_done, _, done, _ = data
    assert main(["grade", str(p_done), "--json"]) == 0
    graded = json.loads(capsys.readouterr().out)
    assert main(["check", "sigmoid-derivative", *SIGMOID_STEPS, "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "ms"} for r in rows]  # noqa: E731
    assert strip(graded) == strip(checked)
    assert [r["latex"] for r in graded] == done.latexes()
    assert set(graded[0]) >= {"latex", "verdict", "reference_step", "diagnosis", "shape", "ms"}


def test_grade_bad_input(data, tmp_path, capsys):
    bad = tmp_path / "x.board.json"
    bad.write_text("{")
    assert main(["grade", str(bad)]) == 2
    assert "truncated JSON" in capsys.readouterr().err
    _, p_done, _, done, _ = data
    doc = json.loads(p_done.read_text())
    doc["card_id"] = "no-such-card"
    other = tmp_path / "other.board.json"
    other.write_text(json.dumps(doc))
    assert main(["grade", str(other)]) == 2
    err = capsys.readouterr().err
    assert "no-such-card" in err and err.count("\n") == 1


def test_grade_summary_judges_the_run_as_check_does(data, capsys):
    store, p_done, p_open, done, open_ = data
    assert main(["grade", str(p_done), "--json", "--summary"]) == 0
    graded = json.loads(capsys.readouterr().out)
    assert main(["check", done.card_id, *done.latexes(), "--json", "--summary"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert graded["run"] == checked["run"]
    assert set(graded["run"]) >= {"complete", "reached_goal", "missing_milestones", "jumps"}
