"""The bundled "whiteboard" engine with its shipped weights, on ink the project generates itself
(whiteboard_app.ink.synth): readings, n-best, per-symbol alternatives, no forced renames, writer
adaptation, missing weights. Accuracy on real handwriting is measured by benchmarks/recognition.py.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("mathnote_ocr")

from whiteboard_app.ink import Point, StepInk, Stroke
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.base import (
    RecognitionError,
    RecognitionResult,
    Recognizer,
    RecognizerUnavailable,
)
from whiteboard_app.recognition.mathnote_compat import _RenameTable, raw_names
from whiteboard_app.recognition.trained import (
    ENGINE_NAME,
    TrainedRecognizer,
    available,
)


def _norm(latex: str) -> str:
    return latex.replace("\\left", "").replace("\\right", "").replace(" ", "")


@pytest.fixture(scope="module")
def rec() -> TrainedRecognizer:
    from whiteboard_app.recognition.whiteboard import create

    r = create()  # with the card-context verifier as its hook, as the app builds it
    r.load()
    return r


def test_is_a_recognizer_and_weights_ship():
    ok, why = available()
    assert ok, why
    assert isinstance(TrainedRecognizer(), Recognizer)
    assert TrainedRecognizer().name == ENGINE_NAME == "whiteboard"


# simple expressions in the project's own stroke font; the expected reading must be in the n-best
@pytest.mark.parametrize(
    "latex,expected",
    [
        ("x+1", "x+1"),
        ("a=b", "a=b"),
        ("y-2", "y-2"),
        (r"\frac{a}{b}", r"\frac{a}{b}"),
        ("x^{2}", "x^{2}"),
        ("n-1", "n-1"),
        (r"\sum x", r"\sumx"),
    ],
)
def test_reads_synthetic_expressions(rec, latex, expected):
    hits = 0
    for seed in (0, 1):
        res = rec.recognize(synthesize(latex, seed=seed, height_px=40).ink)
        hits += any(_norm(c.latex) == expected for c in res.candidates)
    assert hits >= 1


def test_result_shape_n_best_and_symbols(rec):
    ink = synthesize("x+1", seed=3, height_px=40).ink
    res = rec.recognize(ink)
    assert isinstance(res, RecognitionResult) and res.engine == ENGINE_NAME and res.ms > 0
    assert res.best == res.candidates[0].latex
    scores = [c.score for c in res.candidates]
    assert scores == sorted(scores, reverse=True)
    assert len({c.latex for c in res.candidates}) == len(res.candidates)
    ids = {s.id for s in ink.strokes}
    covered = [i for s in res.symbols for i in s.stroke_ids]
    assert set(covered) <= ids and len(covered) == len(set(covered))
    for s in res.symbols:
        assert s.labels and all(0.0 <= p <= 1.0 for _l, p in s.labels)


def test_scale_and_position_do_not_matter(rec):
    a = synthesize("a=b", seed=4, height_px=20).ink
    b = synthesize("a=b", seed=4, height_px=200, origin=(500.0, 900.0)).ink
    assert rec.recognize(a).best == rec.recognize(b).best


def test_empty_ink_reads_nothing(rec):
    res = rec.recognize(StepInk(()))
    assert res.candidates == () and res.best is None and res.message


def test_no_forced_renames_in_this_engine_only():
    table = _RenameTable({"X_cap": "x", "times": "x"})
    assert table.get("X_cap", "X_cap") == "x"  # the plain mathnote backend keeps its renames
    with raw_names():
        assert table.get("X_cap", "X_cap") == "X_cap"
        assert table.get("times", "times") == "times"
    assert table.get("X_cap", "X_cap") == "x"  # and back after the engine's call


def test_capital_x_can_be_read(rec):
    # mathnote-ocr as shipped renames every X to x; here the class can come out
    reads = [rec.recognize(synthesize("X+y", seed=s, height_px=40).ink).best for s in range(3)]
    assert any(r.startswith("X") for r in reads)


def test_adapt_learns_a_symbol_the_classifier_lacks(rec):
    # \xi has no class (not even among the added ones, docs/recogniser.md "Added classes")
    glyph = synthesize(r"\xi", seed=11, height_px=40).ink
    before = rec.recognize(glyph).best
    assert before != r"\xi"
    samples = [(r"\xi", synthesize(r"\xi", seed=s, height_px=40).ink.strokes) for s in range(4)]
    try:
        assert rec.adapt(samples) == 4
        assert rec.adapted_labels == [r"\xi"]
        assert rec.recognize(glyph).best == r"\xi"
        # an ordinary symbol is still read as itself
        assert rec.recognize(synthesize("a=b", seed=0, height_px=40).ink).best.replace(" ", "") == "a=b"
    finally:
        rec.clear_adaptation()
    assert rec.recognize(glyph).best == before


def test_added_class_is_read_without_calibration(rec):
    # \eta and \partial were read as n / 0 before the added classes (issue 14); the project's own ink
    for latex in (r"\eta", r"\partial"):
        assert rec.recognize(synthesize(latex, seed=11, height_px=40).ink).best == latex


def test_adapt_rejects_a_sample_without_ink(rec):
    with pytest.raises(RecognitionError, match="no ink"):
        rec.adapt([(r"\rho", ())])


def test_missing_weights_say_so(tmp_path):
    ok, why = available(tmp_path)
    assert not ok and "no weights" in why
    eng = TrainedRecognizer(weights_dir=tmp_path)
    ink = StepInk((Stroke((Point(0, 0), Point(10, 10))),))
    with pytest.raises(RecognizerUnavailable, match="no weights"):
        eng.recognize(ink)


def _sym(name, x, alts, y=0.0, h=20.0, w=14.0):
    from mathnote_ocr.bbox import BBox
    from mathnote_ocr.expression import DetectedSymbol

    return DetectedSymbol(
        name=name,
        bbox=BBox(x, y, w, h),
        strokes=[],
        confidence=alts[0][1] if alts else 0.9,
        alternatives=alts,
    )


@pytest.mark.parametrize(
    "reads,expected",
    [
        # c 0 5 -> cos (look-alikes with the letters among the alternatives)
        ([("c", [("c", 0.8)]), ("0", [("0", 0.6), ("o", 0.3)]), ("5", [("5", 0.5), ("s", 0.4)])], "cos"),
        # | 0 9 -> log
        (
            [
                ("|", [("|", 0.5), ("l", 0.3)]),
                ("0", [("0", 0.7), ("o", 0.2)]),
                ("9", [("9", 0.6), ("g", 0.3)]),
            ],
            "log",
        ),
        # a real 105: the letters are not among the alternatives -> unchanged
        ([("1", [("1", 0.99)]), ("0", [("0", 0.97), ("o", 0.01)]), ("5", [("5", 0.99)])], "105"),
        # x y z stays
        ([("x", [("x", 0.9)]), ("y", [("y", 0.9)]), ("z", [("z", 0.9)])], "xyz"),
    ],
)
def test_spell_functions(reads, expected):
    from whiteboard_app.recognition.trained import spell_functions

    syms = [_sym(n, 20.0 * k, alts) for k, (n, alts) in enumerate(reads)]
    assert "".join(s.name for s in spell_functions(syms)) == expected


def test_spell_functions_needs_one_line():
    from whiteboard_app.recognition.trained import spell_functions

    syms = [
        _sym("c", 0, [("c", 0.8)]),
        _sym("0", 20, [("0", 0.6), ("o", 0.3)], y=-40),
        _sym("5", 40, [("5", 0.5), ("s", 0.4)]),
    ]
    assert "".join(s.name for s in spell_functions(syms)) == "c05"


@pytest.mark.parametrize(
    "raw,latex",
    [
        (r"sin \theta", r"\sin \theta"),
        (r"\cos x", r"\cos x"),
        (r"lim_{n}", r"\lim_{n}"),
        ("signal", "signal"),
        (r"x log y", r"x \log y"),
    ],
)
def test_function_words_become_commands(raw, latex):
    from whiteboard_app.recognition.trained import function_words

    assert function_words(raw) == latex


def test_classify_groups_agrees_with_the_engines_own_symbols(rec):
    ink = synthesize(r"y-2=\frac{a}{b}", seed=3, height_px=40).ink
    res = rec.recognize(ink)
    groups = [s.stroke_ids for s in res.symbols]
    labels = rec.classify_groups(ink, groups + [(), (10**9,)])
    assert len(labels) == len(groups) + 2
    for sym, got in zip(
        res.symbols, labels, strict=False
    ):  # same top label (the grouper adjusts some confidences)
        assert got[0][0] == sym.labels[0][0]
    assert labels[-2] == () and labels[-1] == ()  # empty group, unknown stroke id
    # two symbols' strokes as one group: a different reading than either alone
    both = rec.classify_groups(ink, [groups[0] + groups[1]])[0]
    assert both and all(0.0 <= p <= 1.0 for _l, p in both)


def test_warm_up_loads_and_reads_once():
    r = TrainedRecognizer()
    assert r.load_ms is None
    r.warm_up()
    assert r.load_ms is not None and r.load_ms > 0


def test_long_steps_are_fitted_to_the_cards_forms_before_the_layout_parse(rec):
    from whiteboard_app.recognition import form_match
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import normalize_tokens
    from whiteboard_app.recognition.trained import VERIFY_FIRST_STROKES

    ref = r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-z}}"
    wrong = r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{z}}{1+e^{-z}}"
    ctx = RecognitionContext(
        ((ref, "reference"), (wrong, "near_miss"), (r"\sigma(z) = \frac{1}{1+e^{-z}}", "reference"))
    )
    form_match.warm_up(ctx)
    hits = 0
    for seed in (10, 11, 12):
        ink = synthesize(ref, seed=seed, origin=(40.0, 80.0), height_px=32.0).ink
        assert len(ink.strokes) >= VERIFY_FIRST_STROKES
        res = rec.recognize(ink, ctx)
        if res.verified is not None:
            hits += 1
            assert res.best == res.verified and len(res.candidates) == 1
            assert normalize_tokens(res.verified) != normalize_tokens(wrong)  # never the wrong variant
        assert rec.recognize(ink).verified is None  # no context: the open reading, parsed
    assert hits >= 1


def test_a_long_correct_step_is_not_verified_as_a_near_miss_when_the_card_lacks_it(rec):
    # issue 13: the user's correct step is not among the card's forms; the card has its sign flip and its
    # subscript/superscript swap. The engine's own check (16+ strokes) must take neither.
    from whiteboard_app.recognition import form_match
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import normalize_tokens, rerank

    written = r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-z}}"
    near = (
        r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1-e^{-z}}",  # sign flip
        r"= \frac{1}{1+e_{-z}} \cdot \frac{e^{-z}}{1+e^{-z}}",  # superscript -> subscript
        r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-x}}",
    )  # another letter
    ctx = RecognitionContext(tuple((f, "near_miss") for f in near))
    form_match.warm_up(ctx)
    wrong = {normalize_tokens(f) for f in near}
    for seed in (10, 11, 12):
        ink = synthesize(written, seed=seed, origin=(40.0, 80.0), height_px=32.0).ink
        res = rec.recognize(ink, ctx)
        assert res.verified is None or normalize_tokens(res.verified) not in wrong
        out = rerank(res, ctx, ink=ink, classify=rec.classify_groups)
        assert normalize_tokens(out.best or "") not in wrong


def test_the_engine_verifies_a_long_step_through_its_hook_only(rec, monkeypatch):
    # issue 13: the engine does not import the verifier; it asks the one it was given
    from whiteboard_app.recognition.base import ContextVerifier, RecognitionContext
    from whiteboard_app.recognition.trained import VERIFY_FIRST_STROKES

    calls = []

    class Spy:
        def is_warm(self, context):
            return True

        def warm_in_background(self, context):
            raise AssertionError("warm already")

        def warm_up(self, context):
            pass

        def verify(self, ink, symbols, context, classify):
            calls.append((symbols, context))
            assert classify(ink, [symbols[0].stroke_ids])[0]  # the engine's classifier, under its lock
            return type("Form", (), {"latex": "q = r"})()

    assert isinstance(Spy(), ContextVerifier)
    ctx = RecognitionContext((("a+b+c+d+e+f+g+h", "reference"),))
    ink = synthesize(r"\frac{a+b}{c+d} = e+f+g+h", seed=3).ink
    assert len(ink.strokes) >= VERIFY_FIRST_STROKES
    monkeypatch.setattr(rec, "verifier", Spy())
    res = rec.recognize(ink, ctx)
    assert res.verified == res.best == "q = r" and len(calls) == 1
    symbols, seen = calls[0]
    assert seen is ctx
    assert sorted(i for s in symbols for i in s.stroke_ids) == sorted(s.id for s in ink.strokes)
    assert rec.recognize(ink).verified is None  # no context: not asked
    assert len(calls) == 1
    monkeypatch.setattr(rec, "verifier", None)
    assert rec.recognize(ink, ctx).verified is None  # no hook: the context is not used by the engine


def test_the_verifiers_fits_are_made_once_and_rerank_reads_the_same_with_them(rec, monkeypatch):
    # issue 16: a long step the engine fitted to the card's forms but did not verify comes back with
    # those fits; rerank uses them instead of fitting the same forms again, with the same outcome
    from dataclasses import replace

    from whiteboard_app.recognition import form_match
    from whiteboard_app.recognition.base import RecognitionContext
    from whiteboard_app.recognition.context import rerank

    written = r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-z}}"
    near = (
        r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1-e^{-z}}",
        r"= \frac{1}{1+e^{-z}} \cdot \frac{e^{-z}}{1+e^{-x}}",
    )
    ctx = RecognitionContext(tuple((f, "near_miss") for f in near))
    form_match.warm_up(ctx)
    real = form_match.match_forms
    fitted: list = []  # the contexts match_forms is asked to fit while the spy is on

    def spy(ink, symbols, context, *args, **kwargs):
        fitted.append(context)
        return real(ink, symbols, context, *args, **kwargs)

    seen = 0
    for seed in (10, 11, 12, 13):
        ink = synthesize(written, seed=seed, origin=(40.0, 80.0), height_px=32.0).ink
        res = rec.recognize(ink, ctx)
        if res.verified is not None or res.fits is None:
            continue
        seen += 1
        assert list(res.fits) == real(ink, res.symbols, ctx, rec.classify_groups)  # the same fits afresh
        fitted.clear()
        monkeypatch.setattr(form_match, "match_forms", spy)
        shared = rerank(res, ctx, ink=ink, classify=rec.classify_groups)
        assert fitted and ctx not in fitted  # only the engine's own reading fitted: not the card's forms
        other = RecognitionContext(((r"x^{2} + y^{2} = r^{2}", "reference"),))
        rerank(res, other, ink=ink, classify=rec.classify_groups)  # fits of other forms: fitted afresh
        assert other in fitted
        monkeypatch.setattr(form_match, "match_forms", real)
        again = rerank(replace(res, fits=None), ctx, ink=ink, classify=rec.classify_groups)
        assert shared.candidates == again.candidates and shared.fits is None
    assert seen >= 1
    assert (
        rec.recognize(synthesize("x+1", seed=1).ink, ctx).fits is None
    )  # short step: not fitted while reading


def test_prepare_typesets_the_contexts_forms_in_the_background(rec):
    # issue 16: the card's forms are typeset when the card opens, so that its first long step is verified
    import time

    from whiteboard_app.recognition.base import RecognitionContext

    ctx = RecognitionContext(
        ((r"q_{7} = \frac{w_{3}}{k_{5}} + 11", "reference"), (r"q_{7} = 9", "near_miss"))
    )
    assert not rec.verifier.is_warm(ctx)
    rec.prepare(ctx)  # returns at once; the typesetting goes on in a thread
    deadline = time.monotonic() + 60
    while not rec.verifier.is_warm(ctx) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rec.verifier.is_warm(ctx)
    rec.prepare(None)  # nothing to do


def _box_symbol(name: str, strokes: list[list[tuple[float, float]]]):
    from whiteboard_app.recognition import mathnote_compat as mc

    return mc.detected_symbol(mc.to_strokes(strokes), name, 0.9, [(name, 0.9)])


def test_a_fraction_bar_with_one_part_is_read_as_a_minus(rec):
    """The layout parser alone reads a bar with ink above and none below ``\\frac{b}{}``; the engine's
    parse reads that bar as a minus (bars_without_both_parts)."""
    import time

    from whiteboard_app.recognition import mathnote_compat as mc

    syms = [
        _box_symbol("a", [[(0, 10), (20, 10), (20, 30), (0, 30)]]),
        _box_symbol("=", [[(30, 15), (50, 15)], [(30, 25), (50, 25)]]),
        _box_symbol("frac_bar", [[(60, 20), (100, 20)]]),
        _box_symbol("b", [[(70, -15), (90, -15), (90, 12), (70, 12)]]),
        _box_symbol("c", [[(110, 10), (130, 10), (130, 30), (110, 30)]]),
    ]
    syms.sort(key=lambda s: s.bbox.x)
    ocr = rec._load()
    with mc.raw_names():
        alone = ocr.tree_parser.parse_with_tree(syms, None, relations=ocr.relations)[0]
        latex, _conf = rec._parse(ocr, syms, time.perf_counter())
    assert _norm(alone) == "a=\\frac{b}{}c"  # what the fix is for
    assert "\\frac" not in latex and "-" in latex and "b" in latex


def test_bars_without_both_parts_lists_only_bars_missing_a_part():
    from types import SimpleNamespace

    from whiteboard_app.recognition.mathnote_compat import fraction_edges
    from whiteboard_app.recognition.trained import bars_without_both_parts

    num, den = fraction_edges()

    def node(name, parent=-1, edge=-1):
        return SimpleNamespace(symbol=SimpleNamespace(name=name), parent_id=parent, edge_type=edge)

    tree = SimpleNamespace(
        nodes={
            0: node("frac_bar"),  # both parts
            1: node("x", 0, num),
            2: node("y", 0, den),
            3: node("frac_bar"),  # a numerator only
            4: node("z", 3, num),
            5: node("frac_bar"),  # nothing
            6: node("-"),
        }
    )
    assert bars_without_both_parts(tree) == [3, 5]
    assert bars_without_both_parts(SimpleNamespace(nodes={})) == []
    assert bars_without_both_parts(object()) == []


def test_a_fraction_part_or_root_content_lies_over_its_bar_or_root():
    from whiteboard_app.recognition.trained import PART_MARGIN, placed_part

    bar = ("frac_bar", (100.0, 50.0, 200.0, 52.0))
    assert placed_part(("x", (140.0, 20.0, 160.0, 45.0)), bar, "num")
    assert placed_part(("x", (190.0, 60.0, 220.0, 80.0)), bar, "den")  # centre 205: within the margin
    far = 200.0 + (PART_MARGIN + 0.05) * 100.0  # centre beyond the widened extent
    assert not placed_part(("lim", (far - 10, 20.0, far + 10, 45.0)), bar, "num")
    assert not placed_part(("x", (40.0, 60.0, 60.0, 80.0)), bar, "den")
    assert not placed_part(("3", (240.0, 10.0, 260.0, 40.0)), ("sqrt", (100.0, 0.0, 200.0, 50.0)), "sqrt")
    assert placed_part(("2", (240.0, 10.0, 260.0, 40.0)), bar, "sup")  # other relations: always


def test_the_engine_reads_with_the_placement_rule_and_never_writes_an_empty_root(rec):
    from whiteboard_app.recognition.trained import ROOT_WITHOUT_CONTENT

    ocr = rec._load()
    assert ocr.relations and ocr.relations.allow is not None
    assert ROOT_WITHOUT_CONTENT.search("q = k sqrt d") and not ROOT_WITHOUT_CONTENT.search("\\sqrt{k}")


def test_a_digit_written_on_the_line_after_a_letter_is_read_as_its_subscript(rec):
    """The generated ink writes f1 and k2 flat, digits on the baseline at full size, as some writers write
    their subscripts; the engine reads them as subscripts (symbol_context.written_scripts), and a lone
    superscript 1 as a prime."""
    for seed in range(3):
        assert _norm(rec.recognize(synthesize("f1+f2", seed=seed, height_px=40).ink).best) == "f_{1}+f_{2}"
        assert (
            _norm(rec.recognize(synthesize("x^{1}=y", seed=seed, height_px=40).ink).best) == "x^{\\prime}=y"
        )
        assert _norm(rec.recognize(synthesize("30x2", seed=seed, height_px=40).ink).best) == "30\\times2"
