"""Stroke groups for ‖ and accents (recognition/regroup.py): bars merged into ‖, accent marks split off.

The pure passes are tested with made boxes and a stand-in classifier (what it would read is the test's
input); the engine's use of them with the project's own synthetic ink (whiteboard_app/ink/synth.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests._symbol_boxes import Box
from whiteboard_app.recognition import regroup as rg
from whiteboard_app.recognition.regroup import Reading, merge_bars, regroup, split_accents


@dataclass(frozen=True)
class St:
    id: int
    bbox: Box


@dataclass
class Sym:
    name: str
    strokes: list
    confidence: float = 0.9
    alternatives: list = field(default_factory=list)


_ids = iter(range(10_000))


def stroke(x, y, w, h) -> St:
    return St(next(_ids), Box(x, y, w, h))


def sym(name, *strokes, conf=0.9) -> Sym:
    return Sym(name, list(strokes), conf)


class FakeClassifier:
    """Reads a group by the names its strokes' symbols were given in *table* (frozenset of stroke ids ->
    Reading); anything else reads as ``?`` with 0.2. Counts the groups it was asked about."""

    def __init__(self, table: dict):
        self.table = table
        self.asked: list[frozenset] = []

    def __call__(self, groups):
        out = []
        for g in groups:
            self.asked.append(frozenset(g))
            out.append(self.table.get(frozenset(g), Reading("?", 0.2)))
        return out


def make_symbol(strokes, r):
    return Sym(r.name, list(strokes), r.confidence, list(r.alternatives))


def ids(*syms):
    return frozenset(st.id for s in syms for st in s.strokes)


def norm_line(p_left=0.8, p_right=0.8):
    """‖ w ‖ as four bars and a w: the bars 40 px tall, 8 px apart."""
    a, b = sym("1", stroke(0, 0, 2, 40)), sym("|", stroke(10, 1, 2, 39))
    w = sym("w", stroke(20, 15, 20, 20))
    c, d = sym("1", stroke(48, 0, 2, 40)), sym("1", stroke(57, 0, 3, 41))
    table = {ids(a, b): Reading("\\|", p_left), ids(c, d): Reading("1", 0.4, (("1", 0.4), ("\\|", p_right)))}
    return [a, b, w, c, d], FakeClassifier(table)


def test_two_pairs_of_bars_around_content_become_norm_bars():
    syms, clf = norm_line()
    out = merge_bars(syms, clf, make_symbol)
    assert [s.name for s in out] == ["\\|", "w", "\\|"]
    assert len(out[0].strokes) == 2 and len(out[2].strokes) == 2
    assert out[2].confidence == pytest.approx(0.8)  # the ‖ probability, though "1" was on top
    assert out[1] is syms[2]  # untouched symbols are the same objects


def test_a_pair_the_classifier_doubts_is_not_merged_and_then_neither_is_its_partner():
    syms, clf = norm_line(p_right=0.3)
    assert [s.name for s in merge_bars(syms, clf, make_symbol)] == ["1", "|", "w", "1", "1"]


def test_a_single_pair_among_other_symbols_stays_two_symbols():
    # 11 + 12: the 11 looks like a norm bar, but norm bars come in pairs
    one, one2 = sym("1", stroke(0, 0, 2, 40)), sym("1", stroke(10, 0, 2, 40))
    plus, one3, two = (
        sym("+", stroke(25, 10, 20, 20)),
        sym("1", stroke(55, 0, 2, 40)),
        sym("2", stroke(70, 0, 20, 40)),
    )
    clf = FakeClassifier({ids(one, one2): Reading("\\|", 0.99)})
    assert [s.name for s in merge_bars([one, one2, plus, one3, two], clf, make_symbol)] == [
        "1",
        "1",
        "+",
        "1",
        "2",
    ]


@pytest.mark.parametrize(
    ("gap", "p", "merged"),
    [(8, 0.95, True), (8, 0.8, False), (14, 0.95, False)],  # 14 px = 0.35 x the height: too far alone
)
def test_two_bars_alone_need_stronger_evidence(gap, p, merged):
    a, b = sym("1", stroke(0, 0, 2, 40)), sym("1", stroke(2 + gap, 0, 2, 40))
    clf = FakeClassifier({ids(a, b): Reading("\\|", p)})
    out = merge_bars([a, b], clf, make_symbol)
    assert ([s.name for s in out] == ["\\|"]) is merged


def test_a_symbol_already_read_as_norm_bar_counts_and_a_two_bar_group_is_relabelled():
    # ‖ w ‖: the left ‖ read right by the grouper and classifier, the right one grouped but read as U
    left = sym("\\|", stroke(0, 0, 2, 40), stroke(10, 0, 2, 40))
    w = sym("w", stroke(20, 15, 20, 20))
    right = sym("U_cap", stroke(48, 0, 2, 40), stroke(57, 1, 2, 39), conf=0.5)
    clf = FakeClassifier({ids(right): Reading("U_cap", 0.5, (("U_cap", 0.5), ("\\|", 0.45)))})
    out = merge_bars([left, w, right], clf, make_symbol)
    assert [s.name for s in out] == ["\\|", "w", "\\|"]
    assert out[0] is left and len(out[2].strokes) == 2
    # without the left one, the U stays a U (a single pair among other symbols)
    assert [s.name for s in merge_bars([w, right], clf, make_symbol)] == ["w", "U_cap"]


def test_bars_must_be_thin_level_and_have_nothing_between():
    # flagged 1s (wide strokes), bars of unequal height, and a bar pair with a dot between
    wide = [sym("1", stroke(0, 0, 16, 40)), sym("1", stroke(20, 0, 16, 40))]
    uneven = [sym("1", stroke(0, 0, 2, 40)), sym("1", stroke(10, 12, 2, 28))]
    between = [sym("1", stroke(0, 0, 2, 40)), sym("dot", stroke(5, 38, 2, 2)), sym("1", stroke(10, 0, 2, 40))]
    for case in (wide, uneven):
        assert rg.bar_pairs(case) == []
    assert rg.bar_pairs(between) == []


def bar_x(conf=0.3):
    """x̄ grouped as one symbol: a bar 8 px above the two strokes of an x."""
    bar = stroke(0, 0, 30, 2)
    s1, s2 = stroke(2, 10, 26, 30), stroke(2, 10, 26, 30)
    return sym("E_cap", bar, s1, s2, conf=conf), bar, (s1, s2)


def test_a_mark_grouped_with_its_base_is_split_off():
    merged, bar, xs = bar_x()
    clf = FakeClassifier(
        {frozenset([bar.id]): Reading("-", 0.95), frozenset(s.id for s in xs): Reading("x", 0.9)}
    )
    out = split_accents([merged], clf, make_symbol)
    assert [s.name for s in out] == ["-", "x"]
    assert [len(s.strokes) for s in out] == [1, 2]


def test_a_mark_read_partly_as_each_accent_still_counts_as_a_mark():
    merged, bar, xs = bar_x()
    hat = Reading("\\hat", 0.3, (("\\hat", 0.3), ("-", 0.25), ("n", 0.2)))  # 0.55 a mark, \hat on top
    clf = FakeClassifier({frozenset([bar.id]): hat, frozenset(s.id for s in xs): Reading("x", 0.9)})
    assert [s.name for s in split_accents([merged], clf, make_symbol)] == ["\\hat", "x"]
    # a mark that is not on top (n over x) is no mark
    n = Reading("n", 0.4, (("n", 0.4), ("\\hat", 0.3), ("-", 0.25)))
    clf = FakeClassifier({frozenset([bar.id]): n, frozenset(s.id for s in xs): Reading("x", 0.9)})
    assert [s.name for s in split_accents([merged], clf, make_symbol)] == ["E_cap"]


def test_a_confident_merged_symbol_or_a_poor_base_is_not_split():
    merged, bar, xs = bar_x(conf=0.9)  # the classifier is sure of the whole: 0.95 x 0.9 < 0.9
    table = {frozenset([bar.id]): Reading("-", 0.95), frozenset(s.id for s in xs): Reading("x", 0.9)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["E_cap"]
    merged, bar, xs = bar_x()
    table = {frozenset([bar.id]): Reading("-", 0.95), frozenset(s.id for s in xs): Reading("+", 0.9)}
    # a bar over an operator is no accent (accents.accent_pairs)
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["E_cap"]


def test_an_i_whose_dot_is_a_dash_is_not_split():
    dash, stem = stroke(0, 0, 14, 2), stroke(2, 8, 10, 30)
    clf = FakeClassifier({frozenset([dash.id]): Reading("-", 0.99), frozenset([stem.id]): Reading("x", 0.9)})
    for name in ("i", "j"):
        assert [s.name for s in split_accents([sym(name, dash, stem, conf=0.3)], clf, make_symbol)] == [name]
    # the same strokes read as something else are split (the width and gap rules hold)
    assert [s.name for s in split_accents([sym("t", dash, stem, conf=0.3)], clf, make_symbol)] == ["-", "x"]


def test_a_mark_touching_the_rest_is_not_split():
    # an E's top bar: its foot is level with the stem's top, no gap
    top, stem, mid, low = stroke(0, 0, 20, 2), stroke(0, 1, 2, 39), stroke(0, 19, 16, 2), stroke(0, 38, 20, 2)
    e = sym("E_cap", top, stem, mid, low, conf=0.2)
    clf = FakeClassifier({frozenset([top.id]): Reading("-", 0.99)})
    assert [s.name for s in split_accents([e], clf, make_symbol)] == ["E_cap"]
    assert all(top.id not in g or len(g) > 1 for g in clf.asked) or clf.asked == []


def test_regroup_runs_both_passes_and_leaves_other_symbols_alone():
    merged, bar, xs = bar_x()
    other = sym("y", stroke(60, 10, 20, 30))
    table = {frozenset([bar.id]): Reading("\\hat", 0.9), frozenset(s.id for s in xs): Reading("x", 0.9)}
    out = regroup([merged, other], FakeClassifier(table), make_symbol)
    assert [s.name for s in out] == ["\\hat", "x", "y"]
    assert out[2] is other


# ── the engine, on the project's own synthetic ink ──────────────────────────────────────────────
def test_the_engine_reads_made_norm_bars_and_accents_with_their_own_groups():
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.trained import TrainedRecognizer

    rec = TrainedRecognizer()
    on = rg.regroup
    seen = {}
    for latex in (r"\|w\|", r"\hat{y}"):
        made = synthesize(latex, seed=3)
        got = {}
        for tag, fn in (("off", lambda s, c, m: list(s)), ("on", on)):
            rg.regroup = fn
            try:
                got[tag] = rec.recognize(made.ink)
            finally:
                rg.regroup = on
        seen[latex] = got
    # ‖: with the pass, two strokes of the ink are one symbol read as \|
    norm_on = [s for s in seen[r"\|w\|"]["on"].symbols if s.labels[0][0] == r"\|"]
    assert norm_on and all(len(s.stroke_ids) == 2 for s in norm_on)
    # the caret: with the pass it is a symbol of its own (then placed as the accent)
    assert seen[r"\hat{y}"]["on"].candidates[0].latex.replace(" ", "") == r"\hat{y}"


# ── session 8: small carets and bars, ŷ read as j, a single ‖ between letters ──────────────────────
def caret_y(name="j", conf=0.75, width=6):
    """ŷ grouped as one symbol: a small caret (*width* px) 5 px above a y 30 px tall (its tail included)."""
    caret = stroke(8, 0, width, 5)
    y = stroke(0, 10, 20, 30)
    return sym(name, caret, y, conf=conf), caret, y


def test_a_small_clear_caret_is_split_off_the_y_it_was_merged_with():
    merged, caret, y = caret_y()  # the caret is 0.2 of the y's height: narrower than MARK_MIN_WIDTH
    table = {frozenset([caret.id]): Reading("\\hat", 0.84), frozenset([y.id]): Reading("y", 0.77)}
    out = split_accents([merged], FakeClassifier(table), make_symbol)
    assert [s.name for s in out] == ["\\hat", "y"]  # 0.84 x 0.77 >= CARET_SPLIT_MIN_RATIO x 0.75
    # the same mark read as a bar is not clear enough to be split off a j
    table = {frozenset([caret.id]): Reading("-", 0.95), frozenset([y.id]): Reading("y", 0.9)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["j"]
    # a caret the classifier doubts is no accent when it is narrow
    doubt = Reading("\\hat", 0.55, (("\\hat", 0.55), ("n", 0.4)))
    table = {frozenset([caret.id]): doubt, frozenset([y.id]): Reading("y", 0.99)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["j"]
    # narrower than CARET_MIN_WIDTH: not even a candidate
    merged, caret, y = caret_y(width=3)
    table = {frozenset([caret.id]): Reading("\\hat", 0.99), frozenset([y.id]): Reading("y", 0.99)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["j"]


def test_an_i_is_not_split_even_when_its_dot_looks_like_a_caret():
    merged, caret, stem = caret_y(name="i", conf=0.4)
    table = {frozenset([caret.id]): Reading("\\hat", 0.95), frozenset([stem.id]): Reading("1", 0.9)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["i"]


def test_a_clear_bar_over_a_clear_letter_is_split_off_a_three_stroke_group_read_as_i():
    bar = stroke(4, 0, 9, 2)  # 0.3 of the x's height: narrower than MARK_MIN_WIDTH
    s1, s2 = stroke(2, 10, 14, 30), stroke(2, 10, 14, 30)
    merged = sym("i", bar, s1, s2, conf=0.3)
    table = {frozenset([bar.id]): Reading("-", 0.95), frozenset([s1.id, s2.id]): Reading("x", 0.9)}
    assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["-", "x"]
    # a bar or a base read less clearly, narrow as it is, is left alone
    for bar_p, base_p in ((0.7, 0.9), (0.95, 0.6)):
        table = {
            frozenset([bar.id]): Reading("-", bar_p),
            frozenset([s1.id, s2.id]): Reading("x", base_p),
        }
        assert [s.name for s in split_accents([merged], FakeClassifier(table), make_symbol)] == ["i"]


def single_norm_line(left="p", right="q", extra=None):
    """p ‖ q: a letter, two bars 40 px tall, a letter; *extra*: one more symbol at the end of the line."""
    p = sym(left, stroke(-30, 10, 20, 30))
    a, b = sym("1", stroke(0, 0, 2, 40)), sym("1", stroke(9, 0, 2, 40))
    q = sym(right, stroke(22, 10, 20, 30))
    line = [p, a, b, q] + ([extra] if extra is not None else [])
    return line, ids(a, b)


def test_a_single_norm_bar_between_letters_is_merged_when_read_clearly():
    line, pair = single_norm_line()
    out = merge_bars(line, FakeClassifier({pair: Reading("\\|", 0.97)}), make_symbol)
    assert [s.name for s in out] == ["p", "\\|", "q"]
    # not clearly enough: two symbols, as a single pair among others was
    out = merge_bars(line, FakeClassifier({pair: Reading("\\|", 0.7)}), make_symbol)
    assert [s.name for s in out] == ["p", "1", "1", "q"]


def test_a_single_pair_between_digits_or_beside_another_bar_is_not_merged():
    line, pair = single_norm_line("2", "3")  # 2 11 3
    assert len(merge_bars(line, FakeClassifier({pair: Reading("\\|", 0.99)}), make_symbol)) == 4
    # |a||b|-like: another bar as tall on the line could pair with one of them
    line, pair = single_norm_line(extra=sym("|", stroke(50, 0, 2, 40)))
    assert len(merge_bars(line, FakeClassifier({pair: Reading("\\|", 0.99)}), make_symbol)) == 5
    # a subscript 11 after a letter twice its height is no ‖
    big = sym("x", stroke(-50, -30, 45, 80))
    line = [big] + single_norm_line()[0][1:]
    pair = ids(line[1], line[2])
    assert len(merge_bars(line, FakeClassifier({pair: Reading("\\|", 0.99)}), make_symbol)) == 4
