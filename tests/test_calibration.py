"""The calibration model (recognition/calibration.py): the list, the store, the adaptation hook."""

from __future__ import annotations

import pytest

from tests.fake_engines import CountingEngine, FailingEngine
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.calibration import (
    CALIBRATION_SYMBOLS,
    DEFAULT_CHOICE,
    SAMPLES_PER_SYMBOL,
    CalibrationStore,
    apply,
    missed_symbols,
    plan,
    preview,
    usable,
)
from whiteboard_app.recognition.registry import get_recognizer, register_engine

register_engine("counting", "tests.fake_engines:CountingEngine")


@pytest.fixture()
def store(tmp_path):
    return CalibrationStore(tmp_path / "cal")


def test_default_list_covers_ml_symbols_the_training_ink_lacks(store):
    labels = [item.label for item in plan(store)]
    assert labels == [label for label, _ in CALIBRATION_SYMBOLS]
    ml = {r"\partial", r"\nabla", r"\epsilon", r"\eta", r"\tau", r"\rho", r"\delta", r"\kappa", r"\omega"}
    assert ml | {r"\ell", r"\|", r"\hat", "K", "D", "Q", "W", "Z", "U", "J"} <= set(labels)
    # shapes that only their place tells apart (a bar is a minus, a transpose a T) are not offered
    assert not {r"\bar", r"\top"} & set(labels)
    assert all(item.needed == SAMPLES_PER_SYMBOL == 3 and item.have == 0 for item in plan(store))
    assert len(DEFAULT_CHOICE) == 15 and set(DEFAULT_CHOICE) <= set(labels)
    assert {r"\partial", r"\hat", "K", "D", r"\nabla", r"\|"} <= set(DEFAULT_CHOICE)


def test_samples_are_stored_counted_and_read_back(store):
    inks = [synthesize(r"\eta", seed=k).ink for k in range(2)]
    for ink in inks:
        store.add(r"\eta", ink)
    store.add(r"\rho", synthesize(r"\rho").ink)
    assert store.path.parent == store.root and store.path.exists()
    assert store.counts() == {r"\eta": 2, r"\rho": 1}
    assert [ink for _, ink in store.samples(r"\eta")] == inks
    eta = next(item for item in plan(store) if item.label == r"\eta")
    assert (eta.have, eta.needed) == (2, 1)
    store.add(r"\eta", synthesize(r"\eta", seed=10).ink)
    assert next(item for item in plan(store) if item.label == r"\eta").needed == 0
    # a new store on the same folder sees the same samples (they are on disk)
    assert CalibrationStore(store.root).counts() == {r"\eta": 3, r"\rho": 1}


def test_one_sample_can_be_redrawn(store):
    first = store.add("K", synthesize("K", seed=1).ink)
    second = store.add("K", synthesize("K", seed=2).ink)
    assert store.remove_record(first.id) is True
    assert [r.id for r in store.records()] == [second.id]
    assert store.remove_record(first.id) is False


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
        ("X", 3, "missed 4 times")
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


class ReplacingEngine(CountingEngine):
    """A CountingEngine with the replacing hook: ``set_adaptation`` makes the labels exactly these."""

    def set_adaptation(self, samples):
        self.adapted = [label for label, _ink in samples]
        return len(self.adapted)


def test_apply_prefers_the_replacing_hook_so_applying_twice_changes_nothing(store):
    store.add(r"\eta", synthesize(r"\eta").ink)
    store.add("K", synthesize("K").ink)
    engine = ReplacingEngine()
    assert apply(engine, store) == 2 and apply(engine, store) == 2
    assert engine.adapted == [r"\eta", "K"]  # not four: the second call replaced the first


def test_unusable_samples_are_left_out():
    from whiteboard_app.ink import Point, StepInk, Stroke

    good = synthesize("K").ink
    nan = StepInk((Stroke((Point(float("nan"), 1.0, 0), Point(2.0, 2.0, 1))),))
    kept = usable([("K", good), (" ", good), ("D", StepInk()), ("Q", nan)])
    assert [label for label, _ in kept] == ["K"] and kept[0][1] == good.strokes


def test_preview_reads_the_new_sample_adapted_to_the_ones_before_it():
    engine = ReplacingEngine()
    ink = synthesize("K", seed=3).ink
    before = [("K", synthesize("K", seed=k).ink) for k in range(2)]
    p = preview(engine, "K", ink, before)
    assert p.error is None and p.adapted == 2
    assert p.reading == f"{len(ink.strokes)} strokes +K +K" and not p.correct
    assert engine.adapted == ["K", "K"]  # the sample itself is not among what the engine learnt from


def test_preview_says_what_went_wrong_instead_of_raising():
    one_stroke = synthesize("1").ink  # FailingEngine: one stroke raises RecognitionError
    assert len(one_stroke.strokes) == 1
    p = preview(FailingEngine(), "1", one_stroke, [])
    assert p.error == "cannot read this" and p.reading == "" and not p.correct


def test_preview_marks_a_reading_of_the_label_as_correct():
    class Echo:
        def recognize(self, ink, context=None):
            from whiteboard_app.recognition.base import Candidate, RecognitionResult

            return RecognitionResult((Candidate(r"\partial", 0.0),), engine="echo")

    assert preview(Echo(), r"\partial", synthesize("x").ink, []).correct
    assert not preview(Echo(), r"\nabla", synthesize("x").ink, []).correct


def test_preview_takes_a_caret_read_alone_as_its_shape_for_the_caret():
    class Wedge:
        def recognize(self, ink, context=None):
            from whiteboard_app.recognition.base import Candidate, RecognitionResult

            return RecognitionResult((Candidate(r"\wedge", 0.0),), engine="wedge")

    # a lone caret reads as \wedge (recognition/accents.py: no bare \hat): a right sample of the caret
    assert preview(Wedge(), r"\hat", synthesize("x").ink, []).correct
    assert not preview(Wedge(), r"\tilde", synthesize("x").ink, []).correct
