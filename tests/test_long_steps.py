"""Long steps in the bundled "whiteboard" engine (recognition/trained.py): the ink cut into chunks for the
grouping (:func:`ink_chunks`), the exact partition search keeping only what the readings can use, and the
layout parse's bar-labelling search under a time budget. On ink the project generates itself
(whiteboard_app.ink.synth); the speed and accuracy on the composed derivation steps and real handwriting are
measured by benchmarks/derivation_steps.py and benchmarks/recognition.py.
"""

from __future__ import annotations

import math
import random

import pytest

from whiteboard_app.recognition import trained
from whiteboard_app.recognition.trained import CHUNK_MAX_STROKES, ink_chunks

# ── ink_chunks: pure geometry ────────────────────────────────────────


def _overlap(a, b) -> bool:
    return not (a[1] < b[0] or b[1] < a[0])


@pytest.mark.parametrize("seed", range(20))
def test_chunks_never_split_strokes_overlapping_in_x(seed):
    rnd = random.Random(seed)
    extents = []
    x = 0.0
    for _ in range(rnd.randint(1, 120)):
        x += rnd.uniform(-10.0, 25.0)  # sometimes back over the previous strokes
        w = rnd.choice([0.0, rnd.uniform(1.0, 20.0), rnd.uniform(30.0, 120.0)])  # dots, letters, bars
        extents.append((x, x + w))
    chunks = ink_chunks(extents, max_strokes=8)
    assert sorted(i for c in chunks for i in c) == list(range(len(extents)))
    where = {i: k for k, c in enumerate(chunks) for i in c}
    for i in range(len(extents)):
        for j in range(len(extents)):
            if _overlap(extents[i], extents[j]):
                assert where[i] == where[j], (extents[i], extents[j])
    for left, right in zip(chunks, chunks[1:], strict=False):  # left to right, a gap between
        assert max(extents[i][1] for i in left) < min(extents[i][0] for i in right)


def test_chunks_are_at_most_max_strokes_when_the_ink_has_gaps():
    extents = [(10.0 * i, 10.0 * i + 6.0) for i in range(100)]
    chunks = ink_chunks(extents, max_strokes=CHUNK_MAX_STROKES)
    assert len(chunks) > 1
    assert all(len(c) <= CHUNK_MAX_STROKES for c in chunks)
    assert [i for c in chunks for i in c] == list(range(100))


def test_a_short_line_is_one_chunk():
    extents = [(10.0 * i, 10.0 * i + 6.0) for i in range(CHUNK_MAX_STROKES)]
    assert ink_chunks(extents, max_strokes=CHUNK_MAX_STROKES) == [list(range(CHUNK_MAX_STROKES))]


def test_the_widest_gap_is_cut_first():
    # 12 strokes, a wide gap after the 5th: with room for 10 a chunk, that is the only cut
    extents = [
        (10.0 * i + (200.0 if i >= 5 else 0.0), 10.0 * i + 6.0 + (200.0 if i >= 5 else 0.0))
        for i in range(12)
    ]
    assert ink_chunks(extents, max_strokes=10) == [list(range(5)), list(range(5, 12))]


def test_a_bar_over_everything_keeps_the_line_whole():
    extents = [(10.0 * i, 10.0 * i + 6.0) for i in range(50)] + [(-5.0, 600.0)]  # a long fraction bar
    chunks = ink_chunks(extents, max_strokes=10)
    assert len(chunks) == 1 and sorted(chunks[0]) == list(range(51))


def test_chunks_reject_a_bad_size_and_accept_no_ink():
    assert ink_chunks([]) == []
    with pytest.raises(ValueError):
        ink_chunks([(0.0, 1.0)], max_strokes=0)


# ── the engine (skipped without torch / mathnote-ocr) ────────────────

LONG = r"a+b=c+d-e+f=g+h-i+j=k+l-m+n=p+q"  # 47 strokes in the synthetic font


@pytest.fixture(scope="module")
def rec():
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    r = trained.TrainedRecognizer()
    r.load()
    return r


def _synth(latex: str, seed: int):
    from whiteboard_app.ink.synth import synthesize

    return synthesize(latex, seed=seed, height_px=40).ink


def _symbols(result):
    return [(s.stroke_ids, s.labels[0][0]) for s in result.symbols]


@pytest.mark.parametrize("seed", [0, 1])
def test_a_long_step_reads_the_same_symbols_chunked_and_whole(rec, monkeypatch, seed):
    ink = _synth(LONG, seed)
    assert len(ink.strokes) >= trained.CHUNK_FROM_STROKES
    seen = []
    real_chunks = trained.ink_chunks

    def spy(*a, **kw):
        out = real_chunks(*a, **kw)
        seen.append(out)
        return out

    monkeypatch.setattr(trained, "ink_chunks", spy)
    chunked = rec.recognize(ink)
    assert seen and len(seen[0]) > 1 and all(len(c) <= CHUNK_MAX_STROKES for c in seen[0])
    monkeypatch.setattr(trained, "CHUNK_FROM_STROKES", 10_000)
    whole = rec.recognize(ink)
    assert len(seen) == 1  # the whole reading did not chunk
    assert _symbols(chunked) == _symbols(whole)
    assert chunked.best == whole.best
    assert len(chunked.symbols) == len(LONG)  # one symbol per character: grouped right


def test_the_exact_search_keeps_only_what_the_readings_use(rec, monkeypatch):
    from mathnote_ocr.engine import grouper

    from whiteboard_app.recognition import trained

    # every partition parsed in both readings: the time budget for extra parses must not decide the
    # n-best (a busy machine or a cold first reading would otherwise parse fewer in one of them)
    monkeypatch.setattr(trained, "EXTRA_PARSE_BUDGET_MS", 1e9)
    ink = _synth(r"x^{2}+3x-4=\frac{a}{b}", 2)  # short: 2 partitions read
    fast = rec.recognize(ink)
    ours = grouper._find_partitions_exact
    assert getattr(ours, "_whiteboard_keep", False)
    calls = []

    def keep_40(n, scored, top_k, **kw):  # mathnote-ocr's own keep
        kw.setdefault("keep", 40)
        calls.append(top_k)
        return ours(n, scored, top_k, **kw)

    monkeypatch.setattr(grouper, "_find_partitions_exact", keep_40)
    full = rec.recognize(ink)
    assert calls == [rec.partitions_for(len(ink.strokes))] and calls[0] >= 2
    assert [c.latex for c in full.candidates] == [c.latex for c in fast.candidates]
    assert [c.score for c in full.candidates] == pytest.approx([c.score for c in fast.candidates])
    assert _symbols(full) == _symbols(fast)


@pytest.mark.parametrize("latex", [r"\frac{a-b}{c}-d", r"y-2=\frac{a}{b}", r"x-\frac{1}{2}=0"])
def test_the_label_search_reads_as_the_parser_does(rec, latex):
    ocr = rec._load()
    detected = _detected(rec, _synth(latex, 0))
    expected = ocr.tree_parser.parse_with_tree(detected, None, relations=ocr.relations)
    import time

    assert trained.TrainedRecognizer._parse(ocr, detected, time.perf_counter()) == (expected[0], expected[1])


def test_over_the_budget_only_the_first_labelling_is_parsed(rec, monkeypatch):
    ocr = rec._load()
    # the labelling search belongs to the beam search ("backtrack"); with the fine-tuned refiner the
    # engine's parser builds Edmonds trees, which decide bars in one parse (recognition/structure.py)
    monkeypatch.setattr(ocr.tree_parser, "tree_strategy", "backtrack")
    detected = _detected(rec, _synth(r"\frac{a-b}{c}-d", 0))
    # an uncertain bar, so that the parser would compare labellings
    from dataclasses import replace

    bars = [k for k, s in enumerate(detected) if s.name in ("-", "frac_bar")]
    assert bars
    k = bars[0]
    other = "frac_bar" if detected[k].name == "-" else "-"
    for j in bars:  # that bar uncertain, the others certain
        own = detected[j].name
        detected[j] = replace(detected[j], alternatives=[(own, 0.6), (other if j == k else own, 0.4)])
    parses = []
    real = ocr.tree_parser._parse_labelled

    def counting(*a, **kw):
        parses.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(ocr.tree_parser, "_parse_labelled", counting)
    import time

    monkeypatch.setattr(trained, "LABEL_SEARCH_BUDGET_MS", 1e9)
    full = trained.TrainedRecognizer._parse(ocr, detected, time.perf_counter())
    assert len(parses) == 2  # both labellings, the winner's parse reused
    parses.clear()
    monkeypatch.setattr(trained, "LABEL_SEARCH_BUDGET_MS", 0.0)
    first = trained.TrainedRecognizer._parse(ocr, detected, time.perf_counter())
    assert len(parses) == 1
    assert first[0] and full[0]


def _detected(rec, ink):
    """The best partition's symbols (sorted by x), as _detect hands them to the parser."""
    from mathnote_ocr.engine.stroke import Stroke as MStroke
    from mathnote_ocr.engine.stroke import StrokePoint

    from whiteboard_app.recognition.training.data import normalise_strokes

    ocr = rec._load()
    norm = normalise_strokes([[(p.x, p.y) for p in s.points] for s in ink.strokes])
    mstrokes = [MStroke.from_points([StrokePoint(x, y) for x, y in pts], id=i) for i, pts in enumerate(norm)]
    readings, _ = rec._detect(ocr, mstrokes)
    return list(readings[0][2])


@pytest.mark.parametrize("seed", range(6))
def test_best_partition_is_mathnote_ocrs_best_reading(seed):
    pytest.importorskip("mathnote_ocr")
    from mathnote_ocr.engine import grouper
    from mathnote_ocr.engine.grouper import DetectedSymbol
    from mathnote_ocr.engine.stroke import Stroke as MStroke
    from mathnote_ocr.engine.stroke import StrokePoint

    from whiteboard_app.recognition.trained import best_partition

    original = grouper._find_partitions_exact
    while getattr(original, "_whiteboard_keep", False):  # the engine's wrapper: the library's own
        original = next(
            c.cell_contents
            for c in original.__closure__
            if getattr(c.cell_contents, "__name__", "") == "_find_partitions_exact"
        )
    rnd = random.Random(seed)
    n = rnd.randint(6, 16)
    strokes = [
        MStroke.from_points([StrokePoint(10.0 * i, 0.0), StrokePoint(10.0 * i + 5, 9.0)], id=i)
        for i in range(n)
    ]
    groups = {frozenset([i]) for i in range(n)}
    for _ in range(3 * n):  # overlapping candidate groups of 2-3 strokes
        i = rnd.randrange(n)
        groups.add(frozenset(range(i, min(n, i + rnd.randint(2, 3)))))
    scored = []
    for g in sorted(groups, key=lambda g: (len(g), sorted(g))):
        sym = DetectedSymbol(
            name=f"s{min(g)}_{len(g)}",
            bbox=strokes[min(g)].bbox,
            strokes=[strokes[i] for i in sorted(g)],
            confidence=1.0,
            prototype_distance=0.0,
            alternatives=[],
        )
        scored.append((g, math.exp(rnd.uniform(-4.0, 4.0)), sym))
    order = list(range(n))
    want = original(n, scored, 1, geometric_mean=False, clashes=False, order=order)
    got = best_partition(n, scored, order=order)
    assert got is not None and len(got) == len(want) == 1
    assert got[0][0] == pytest.approx(want[0][0], rel=1e-9)
    assert [(s.name, s.grouping_prob) for s in got[0][1]] == [(s.name, s.grouping_prob) for s in want[0][1]]


def test_best_partition_says_when_the_strokes_have_no_cover():
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.trained import best_partition

    # stroke 2 is in no group
    assert (
        best_partition(3, [(frozenset([0]), 1.0, None), (frozenset([1]), 1.0, None)], order=[0, 1, 2]) is None
    )
