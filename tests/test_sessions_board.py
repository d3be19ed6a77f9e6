"""Boards: the saved form of an attempt. Round trip, the v0 -> v1 upgrade, and bad documents.

``record_attempt`` (also used by the other sessions and ui tests) writes a derivation with the
project's synthetic ink (whiteboard_app.ink.synth) into a Session driven by a FakeClock, pausing
between strokes as the writer's own timing says.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from whiteboard_app.ink.model import Stroke
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.sessions import BOARD_FORMAT_VERSION, Board, BoardError, FakeClock, Session
from whiteboard_app.sessions.board import detect_version, upgrade

SIGMOID_STEPS = [
    r"\sigma(x)=\frac{1}{1+e^{-x}}",
    r"\sigma'(x)=\frac{e^{-x}}{(1+e^{-x})^2}",
    r"\sigma'(x)=\sigma(x)(1-\sigma(x))",
]


def record_attempt(
    clock: FakeClock,
    latexes=SIGMOID_STEPS,
    *,
    card_id: str = "sigmoid-derivative",
    verdicts=None,
    pause_ms: float = 1500.0,
    think_ms: float = 3000.0,
    finish: bool = True,
    seed: int = 0,
) -> Session:
    """A Session in which every step of ``latexes`` is written with synthetic ink (strokes added at
    their pen-up times), read as its LaTeX, given ``verdicts[i]`` (default "correct") and closed."""
    session = Session(card_id, clock, target_s=300, card_title="Derivative of the sigmoid")
    for i, latex in enumerate(latexes):
        clock.advance(think_ms)
        synth = synthesize(latex, seed=seed + i, origin=(20.0, 80.0 + 130.0 * i))
        prev_end = None
        for stroke in synth.ink.strokes:
            gap = stroke.start_ms - prev_end if prev_end is not None else 0.0
            clock.advance(gap + (stroke.end_ms - stroke.start_ms))
            session.add_stroke(stroke)
            prev_end = stroke.end_ms
        clock.advance(pause_ms)
        session.record_reading(i, latex)
        v = (verdicts or {}).get(i, "correct") if isinstance(verdicts, dict) else "correct"
        session.record_verdict(
            i,
            {
                "latex": latex,
                "verdict": v,
                "reference_step": i + 1 if v == "correct" else None,
                "diagnosis": None if v == "correct" else "sign flip",
                "shape": None,
                "ms": 12.0,
                "message": None,
            },
        )
        if i < len(latexes) - 1:
            session.next_step()
    if finish:
        session.finish()
    return session


def test_round_trip_is_exact():
    clock = FakeClock(1_000.0)
    s = record_attempt(clock, finish=False)
    s.record_correction(1, r"\sigma'(x)=\frac{e^{-x}}{(1+e^{-x})^{2}}")
    s.erase_strokes([s.step(2).strokes[0].stroke.id])
    s.finish()
    s.record_followup(0, "Why is the derivative maximal at 0?", "sigma = 1/2 there", "good")
    s.set_self_grade("hard")
    board = s.board()
    text = board.dumps()
    back = Board.loads(text)
    assert back == board
    assert back.dumps() == text
    assert json.loads(text) == board.to_dict()  # the cached per-step encoding is the same document
    assert json.loads(text)["version"] == BOARD_FORMAT_VERSION
    # what the board says, after the round trip
    assert back.step(1).misread and not back.step(0).misread
    assert back.step(1).latex == r"\sigma'(x)=\frac{e^{-x}}{(1+e^{-x})^{2}}"
    assert len(back.step(2).ink) == len(back.step(2).strokes) - 1
    assert back.self_grade == "hard" and back.followups[0].grade == "good"
    assert [sp.step for sp in back.splits()] == [0, 1, 2]
    assert back.finished and back.duration_ms == pytest.approx(s.elapsed_ms())


def test_pressure_and_point_times_survive():
    clock = FakeClock()
    s = Session("c", clock)
    stroke = Stroke.from_xy([(0, 0, 0, 0.1), (5, 5, 16.7, 0.35), (9, 1, 33.3, 0.9)])
    clock.advance(40)
    s.add_stroke(stroke)
    got = Board.loads(s.board().dumps()).step(0).strokes[0]
    assert [p.pressure for p in got.stroke.points] == [0.1, 0.35, 0.9]
    assert [p.t for p in got.stroke.points] == [0.0, 16.7, 33.3]
    assert (got.start_ms, got.end_ms) == (pytest.approx(40 - 33.3), 40)


V0_DOC = {
    "card": "gaussian-mle",
    "started": 1_700_000_000.0,
    "duration_s": 95.5,
    "grade": "good",
    "steps": [
        {
            "strokes": [[[0, 0, 2000, 0.4], [10, 10, 2300, 0.6]], [[20, 0, 2600], [25, 8, 2900]]],
            "latex": r"\hat\mu=\frac{1}{n}\sum_i x_i",
            "verdict": "correct",
            "t_s": [2.0, 3.0],
        },
        {
            "strokes": [[[0, 90, 40000, 0.5], [30, 95, 40500, 0.5]]],
            "latex": "x",
            "verdict": "wrong",
            "t_s": [40.0, 41.0],
        },
    ],
}


def test_v0_board_is_upgraded():
    assert detect_version(V0_DOC) == 0
    board = Board.from_dict(json.loads(json.dumps(V0_DOC)))
    assert board.card_id == "gaussian-mle"
    assert board.started_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert board.finished and board.finished_ms == 95_500.0
    assert board.self_grade == "good"
    s0, s1 = board.steps
    assert len(s0.ink) == 2 and s0.strokes[0].start_ms == 2000 and s0.strokes[0].end_ms == 2300
    assert s0.strokes[1].stroke.points[0].pressure == 0.5  # v0 stroke without pressure: the default
    assert s0.latex == r"\hat\mu=\frac{1}{n}\sum_i x_i" and s0.verdict.verdict == "correct"
    assert s1.verdict.verdict == "wrong" and (s1.opened_ms, s1.closed_ms) == (40_000, 41_000)
    # the freeze between the two steps survives the upgrade: from the end of reading step 1's verdict
    # (given at 3 s, read for READ_MS = 4 s) to 40 s; then the one from reading step 2's verdict
    # (41 s + 4 s) to Done at 95.5 s, "at the end" (step None)
    assert [(f.start_ms, f.end_ms, f.step) for f in board.freezes()] == [
        (7000.0, 40_000.0, 1),
        (45_000.0, 95_500.0, None),
    ]
    # upgrading is in memory only and gives a current document that round-trips
    doc = upgrade(json.loads(json.dumps(V0_DOC)))
    assert doc["version"] == BOARD_FORMAT_VERSION
    assert Board.loads(board.dumps()) == board


BAD_DOCS = [
    ("", "empty file"),
    ('{"format": "whiteboard-board", "version": 1, "card_id": "x", "st', "truncated JSON"),
    ("[1, 2]", "not a board"),
    ('{"format": "something-else", "version": 1}', "not a board"),
    ('{"format": "whiteboard-board", "version": 99, "card_id": "x"}', "newer program"),
    ('{"format": "whiteboard-board", "version": "1"}', "bad version"),
    (
        '{"format": "whiteboard-board", "version": 1, "board_id": "b", "started_at": "2026-01-01T00:00:00+00:00"}',
        "missing field 'card_id'",
    ),
    ('{"card": "x", "started": "yesterday", "steps": []}', "cannot upgrade board format v0"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_DOCS)
def test_bad_documents_raise_board_error_with_reason(text, reason):
    with pytest.raises(BoardError) as info:
        Board.loads(text, "some/file.board.json")
    assert reason in info.value.reason
    assert str(info.value).startswith("some/file.board.json: ")


def test_malformed_field_is_named():
    doc = record_attempt(FakeClock()).board().to_dict()
    doc["steps"][1]["strokes"][0]["points"][3] = ["a", 1]
    with pytest.raises(BoardError, match=r"steps\[1\]\.strokes\[0\]\.points\[3\]"):
        Board.from_dict(doc, "b.json")
    doc = record_attempt(FakeClock()).board().to_dict()
    doc["steps"][0]["verdicts"][0]["verdict"] = "maybe"
    with pytest.raises(BoardError, match="unknown verdict 'maybe'"):
        Board.from_dict(doc, "b.json")


def test_misreadings_pair_each_corrected_reading_with_its_last_correction():
    """What the calibration learns from: recogniser readings the user corrected, survived a save."""
    clock = FakeClock()
    s = Session("c", clock)
    steps = [
        # (events on the step, the misreadings expected)
        ([("read", "a x = 1"), ("fix", r"\alpha x = 1")], [("a x = 1", r"\alpha x = 1")]),
        # corrected twice (a typo fixed): one misreading, with the final text
        ([("read", "d a"), ("fix", r"\partial b"), ("fix", r"\partial a")], [("d a", r"\partial a")]),
        # read again after a correction: each reading with its own corrections
        (
            [("read", "p"), ("fix", r"\rho"), ("read", "t"), ("fix", r"\tau")],
            [("p", r"\rho"), ("t", r"\tau")],
        ),
        ([("fix", r"\eta = 1")], []),  # typed (keyboard only): nothing was read
        ([("read", None), ("fix", r"\eta = 1")], []),  # "could not read": no reading to blame
        ([("read", "x"), ("fix", "x")], []),  # a correction that changed nothing
        ([("read", "y")], []),  # read right
    ]
    for k, (events, _expected) in enumerate(steps):
        for what, latex in events:
            clock.advance(100)
            if what == "read":
                s.record_reading(k, latex)
            else:
                s.record_correction(k, latex)
    board = Board.loads(s.board().dumps())
    for k, (_events, expected) in enumerate(steps):
        assert board.step(k).misreadings() == expected, k
    assert board.misreadings() == [m for _events, expected in steps for m in expected]
