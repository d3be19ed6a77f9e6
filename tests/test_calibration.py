"""The calibration model (recognition/calibration.py): the list, the store, the adaptation hook."""

from __future__ import annotations

import pytest

from tests.fake_engines import CountingEngine, FailingEngine
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.calibration import (
    CALIBRATION_SYMBOLS,
    SAMPLES_PER_SYMBOL,
    CalibrationStore,
    apply,
    missed_symbols,
    plan,
)
from whiteboard_app.recognition.registry import get_recognizer, register_engine

register_engine("counting", "tests.fake_engines:CountingEngine")


@pytest.fixture()
def store(tmp_path):
    return CalibrationStore(tmp_path / "cal")


def test_default_list_covers_what_crohme_lacks(store):
    labels = [item.label for item in plan(store)]
    assert labels == [label for label, _ in CALIBRATION_SYMBOLS]
    assert {
        r"\partial",
        r"\hat",
        r"\bar",
        r"\eta",
        r"\rho",
        r"\tau",
        "*",
        r"\top",
        r"\|",
        r"\mathbb{R}",
        "E",
    } == set(labels)
    assert all(item.needed == SAMPLES_PER_SYMBOL == 5 and item.have == 0 for item in plan(store))


def test_samples_are_stored_counted_and_read_back(store):
    inks = [synthesize(r"\eta", seed=k).ink for k in range(3)]
    for ink in inks:
        store.add(r"\eta", ink)
    store.add(r"\rho", synthesize(r"\rho").ink)
    assert store.path.parent == store.root and store.path.exists()
    assert store.counts() == {r"\eta": 3, r"\rho": 1}
    assert [ink for _, ink in store.samples(r"\eta")] == inks
    eta = next(item for item in plan(store) if item.label == r"\eta")
    assert (eta.have, eta.needed) == (3, 2)
    for k in range(3):
        store.add(r"\eta", synthesize(r"\eta", seed=10 + k).ink)
    assert next(item for item in plan(store) if item.label == r"\eta").needed == 0
    # a new store on the same folder sees the same samples (they are on disk)
    assert CalibrationStore(store.root).counts() == {r"\eta": 6, r"\rho": 1}


def test_default_root_is_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WHITEBOARD_DATA_DIR", str(tmp_path / "data"))
    s = CalibrationStore()
    assert s.root == tmp_path / "data" / "calibration"


def test_bad_samples_are_refused(store):
    from whiteboard_app.ink import StepInk

    with pytest.raises(ValueError, match="no ink"):
        store.add(r"\eta", StepInk())
    with pytest.raises(ValueError, match="label"):
        store.add(" ", synthesize("x").ink)


def test_a_damaged_line_is_skipped_reported_and_kept(store):
    store.add(r"\tau", synthesize(r"\tau").ink)
    with open(store.path, "a", encoding="utf-8") as fh:
        fh.write('{"id": "cut", "latex": "\\\\tau", "strokes": [[[1, 2], [3\n')
    store.add(r"\tau", synthesize(r"\tau", seed=1).ink)
    before = store.path.read_bytes()
    assert store.counts() == {r"\tau": 2}
    (problem,) = store.problems
    assert "samples.jsonl" in str(problem) and "line 2" in str(problem)
    assert store.path.read_bytes() == before  # nothing lost


def test_remove_deletes_one_label_only(store):
    store.add("*", synthesize("*").ink)
    store.add("E", synthesize("E").ink)
    store.add("*", synthesize("*", seed=2).ink)
    assert store.remove("*") == 2
    assert store.counts() == {"E": 1}


@pytest.mark.parametrize(
    "corrections, min_misses, expected",
    [
        ([("x^2", "X^2")] * 3, 3, [("X", 3)]),
        ([("x^2", "X^2")] * 2, 3, []),
        ([("a+b", r"a+\eta"), ("y", r"\eta y"), (r"\partial", r"\partial\eta")], 3, [(r"\eta", 3)]),
        ([(r"\frac{a}{b}", r"\frac{a}{c}")] * 3, 3, [("c", 3)]),  # structure is not a symbol
        ([("x", "x")] * 5, 1, []),  # nothing corrected
        ([("X X X", "x x x")] * 3, 3, [("x", 3)]),  # counted once per correction
    ],
)
def test_symbols_missed_in_corrections(corrections, min_misses, expected):
    assert missed_symbols(corrections, min_misses) == expected


def test_missed_symbols_join_the_list(store):
    items = plan(store, [("x^2", "X^2")] * 4 + [("a", r"\eta")] * 4)
    extra = [i for i in items if i.reason.startswith("missed")]
    assert [(i.label, i.needed, i.reason) for i in extra] == [
        ("X", 5, "missed 4 times")
    ]  # \eta is already listed


def test_apply_calls_the_adaptation_hook(store):
    store.add(r"\eta", synthesize(r"\eta").ink)
    store.add(r"\partial", synthesize(r"\partial").ink)
    engine = CountingEngine()
    assert apply(engine, store) == 2
    assert engine.adapted == [r"\eta", r"\partial"]
    assert apply(FailingEngine(), store) == 0  # no hook: unchanged, nothing to do
    assert apply(CountingEngine(), CalibrationStore(store.root / "empty")) == 0


def test_apply_reaches_an_engine_in_its_worker_process(store):
    store.add(r"\rho", synthesize(r"\rho").ink)
    with get_recognizer("counting", time_limit_s=2.0) as rec:
        assert apply(rec, store) == 1
        assert rec.recognize(synthesize("1").ink).best == r"1 strokes +\rho"
