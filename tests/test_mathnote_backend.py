"""The mathnote-ocr engine (recognition/mathnote_backend.py) on ink the project synthesises."""

from __future__ import annotations

import importlib.util
import statistics
from types import SimpleNamespace

import pytest

from whiteboard_app.ink import StepInk, Stroke
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition import mathnote_backend
from whiteboard_app.recognition.base import RecognizerUnavailable
from whiteboard_app.recognition.mathnote_backend import MathnoteRecognizer, _candidates, normalise_strokes

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mathnote_ocr") is None, reason="mathnote-ocr missing"
)


@pytest.fixture(scope="module")
def engine():
    e = MathnoteRecognizer(top_k=3)
    e.load()
    return e


@pytest.mark.parametrize("latex, height", [("x+1", 40.0), (r"\frac{a}{b}", 200.0), ("y=2", 5.0)])
def test_ink_is_normalised_to_the_median_stroke_size(latex, height):
    ink = synthesize(latex, seed=2, origin=(1000.0, 3000.0), height_px=height).ink
    strokes = normalise_strokes(ink, stroke_size=24.0, margin=40.0)
    sizes = [
        max(max(p[0] for p in s) - min(p[0] for p in s), max(p[1] for p in s) - min(p[1] for p in s))
        for s in strokes
    ]
    assert statistics.median([v for v in sizes if v > 0]) == pytest.approx(24.0)
    assert min(p[0] for s in strokes for p in s) == pytest.approx(40.0)
    assert min(p[1] for s in strokes for p in s) == pytest.approx(40.0)
    assert [len(s) for s in strokes] == [len(s.points) for s in ink.strokes]


def test_reads_synthetic_ink_with_an_n_best_and_symbol_alternatives(engine):
    ink = synthesize(r"\frac{1}{2}", seed=1).ink
    result = engine.recognize(ink)
    assert result.engine == "mathnote" and result.ms > 0
    assert result.best is not None and result.best.startswith(r"\frac")
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)
    assert len({c.latex for c in result.candidates}) == len(result.candidates)
    ids = {s.id for s in ink.strokes}
    covered = set()
    for sym in result.symbols:
        assert set(sym.stroke_ids) <= ids and sym.labels
        assert all(0.0 <= p <= 1.0 for _, p in sym.labels)
        covered |= set(sym.stroke_ids)
    assert covered == ids


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_plus_sign_is_read_as_plus(engine, seed):
    assert engine.recognize(synthesize("+", seed=seed).ink).best == "+"


def test_empty_ink_reads_nothing(engine):
    result = engine.recognize(StepInk())
    assert result.candidates == () and result.message == "no ink"


def test_candidates_drop_left_right_and_duplicates():
    exprs = [
        SimpleNamespace(latex=r"\left( a \right)", confidence=0.5),
        SimpleNamespace(latex="( a )", confidence=0.7),
        SimpleNamespace(latex="b", confidence=0.0),
    ]
    cands = _candidates(exprs)
    assert [c.latex for c in cands] == ["( a )", "b"]
    assert cands[0].score == pytest.approx(-0.35667, abs=1e-4)


def test_not_installed_is_a_clear_message(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mathnote_ocr" else real(name, *a)
    )
    assert mathnote_backend.available() == (
        False,
        "mathnote-ocr is not installed (pip install mathnote-ocr==0.2.1)",
    )
    with pytest.raises(RecognizerUnavailable, match="not installed"):
        MathnoteRecognizer()


def test_runs_through_the_registry_under_the_time_limit():
    from whiteboard_app.recognition.registry import get_recognizer

    with get_recognizer("mathnote", time_limit_s=20.0, top_k=1) as rec:
        result = rec.recognize(
            StepInk((Stroke.from_xy([(0, 0), (0, 40)]), Stroke.from_xy([(-20, 20), (20, 20)])))
        )
        assert result.best == "+"
