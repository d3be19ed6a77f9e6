"""``whiteboard-app recognize`` (commands/recognize.py) on synthetic ink files, with fake and real engines."""

from __future__ import annotations

import json

import pytest

from whiteboard_app.cli import main
from whiteboard_app.ink.io import InkRecord, write_inkml, write_jsonl
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.registry import register_engine

register_engine("counting", "tests.fake_engines:CountingEngine")
register_engine("scripted", "tests.fake_engines:ScriptedEngine")

REFERENCE = r"= \sigma(z)(1-\sigma(z))"  # a reference step of the bundled card sigmoid-derivative
GARBLED = r"= \sigma(z)(1-\sigma(2))"


def _records(*latexes):
    return [
        InkRecord(f"step-{k}", synthesize(latex, seed=k).ink, latex, None) for k, latex in enumerate(latexes)
    ]


@pytest.fixture()
def ink_file(tmp_path):
    path = tmp_path / "steps.jsonl"
    write_jsonl(path, _records("x", "x+1"))  # 2 and 5 strokes
    return path


def _json_lines(out: str):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_one_json_object_per_record(ink_file, capsys):
    assert main(["recognize", "--ink", str(ink_file), "--engine", "counting", "--json"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["step-0", "step-1"]
    assert [r["latex"] for r in rows] == ["2 strokes", "5 strokes"]
    for r in rows:
        assert set(r) == {"id", "latex", "candidates", "ms"}
        assert r["candidates"][0] == {"latex": r["latex"], "score": 0.0}
        assert r["ms"] >= 0


def test_plain_output_and_inkml_input(tmp_path, capsys):
    path = tmp_path / "steps.inkml"
    write_inkml(path, _records("x", "1"))
    assert main(["recognize", "--ink", str(path), "--engine", "counting"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["step-0", "2 strokes"], ["step-1", "1 strokes"]]


def test_a_slow_step_reads_nothing_and_the_next_one_is_read(tmp_path, capsys):
    path = tmp_path / "s.jsonl"
    write_jsonl(path, _records("x+y=2", "x"))  # 8 strokes (slow), then 2
    # the fake is slow from 5 strokes on; 0.5 s limit
    register_engine("slowcount", "tests.fake_engines:SlowCounting")
    assert (
        main(["recognize", "--ink", str(path), "--engine", "slowcount", "--json", "--time-limit", "0.5"]) == 0
    )
    first, second = _json_lines(capsys.readouterr().out)
    assert first["latex"] is None and first["candidates"] == []
    assert first["message"] == "could not read: time limit 0.5 s"
    assert second["latex"] == "2 strokes"


def test_card_context_reranks_symmetrically(tmp_path, capsys, monkeypatch):
    script = tmp_path / "script.json"
    n = len(synthesize(REFERENCE, seed=0).ink.strokes)
    script.write_text(json.dumps({str(n): [[GARBLED, -0.2], [REFERENCE, -0.9]]}))
    monkeypatch.setenv("WHITEBOARD_FAKE_SCRIPT", str(script))
    path = tmp_path / "s.jsonl"
    write_jsonl(path, _records(REFERENCE))
    assert main(["recognize", "--ink", str(path), "--engine", "scripted", "--json"]) == 0
    assert _json_lines(capsys.readouterr().out)[0]["latex"] == GARBLED
    assert (
        main(
            [
                "recognize",
                "--ink",
                str(path),
                "--engine",
                "scripted",
                "--json",
                "--card",
                "sigmoid-derivative",
            ]
        )
        == 0
    )
    (row,) = _json_lines(capsys.readouterr().out)
    assert row["latex"] == REFERENCE
    assert GARBLED in [c["latex"] for c in row["candidates"]]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--engine", "no-such-engine"], "unknown recogniser 'no-such-engine'"),
        (["--engine", "counting", "--card", "no-such-card"], "unknown card: 'no-such-card'"),
        (["--engine", "counting", "--time-limit", "0"], "--time-limit must be positive"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(ink_file, capsys, argv, fragment):
    assert main(["recognize", "--ink", str(ink_file), *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_bad_ink_file_exits_2_naming_file_and_line(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "strokes": [[[1, 2]]]}\nnot json\n')
    assert main(["recognize", "--ink", str(bad), "--engine", "counting"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 2" in err and "not valid JSON" in err
    assert main(["recognize", "--ink", str(tmp_path / "missing.jsonl"), "--engine", "counting"]) == 2


def test_list_engines(capsys):
    assert main(["recognize", "--list-engines"]) == 0
    out = capsys.readouterr().out
    assert "whiteboard (default):" in out and "mathnote: available" in out and "pix2tex:" in out
