"""The label context rule (recognition/label_context.py): ambiguous labels decided by the line neighbours,
with counts made from the project's generated ink."""

from __future__ import annotations

import json

import pytest

from tests._symbol_boxes import Box, Sym
from whiteboard_app.recognition.label_context import (
    ContextModel,
    count_contexts,
    load_model,
    neighbour_class,
    relabel,
    symbol_contexts,
)


def _row_of(*named: tuple[str, list]) -> list[Sym]:
    """Symbols side by side on one line (10 px boxes, 12 px apart), each (name, alternatives)."""
    return [Sym(n, Box(12 * k, 0, 10, 10), alternatives=a) for k, (n, a) in enumerate(named)]


def _generated_counts(texts: tuple[str, ...], copies: int = 10) -> dict:
    """count_contexts of *texts* drawn by ink/synth.py (*copies* seeds each), their ground-truth
    symbols named and boxed as the fitting script takes them."""
    from whiteboard_app.ink.synth import synthesize
    from whiteboard_app.recognition.training.data import row_to_expression
    from whiteboard_app.recognition.training.structure import truth_symbols

    exprs = []
    for seed in range(copies):
        for t in texts:
            s = synthesize(t, seed=seed)
            strokes = [[[p.x, p.y] for p in st.points] for st in s.ink.strokes]
            row = {
                "id": t,
                "latex": t,
                "strokes": strokes,
                "symbols": [{"label": lab, "strokes": list(i)} for lab, i in s.symbols],
            }
            exprs.append(row_to_expression(row))
    return count_contexts(truth_symbols(e) for e in exprs)


@pytest.fixture(scope="module")
def generated() -> dict:
    return _generated_counts(("152", "a+s", "b+s", "74", "x=g"))


def test_counts_of_generated_ink_hold_each_symbol_in_its_line_context(generated):
    assert generated["totals"]["5"] == 10 and generated["totals"]["s"] == 20
    assert generated["contexts"]["digit|digit"]["5"] == 10
    assert generated["contexts"]["op|edge"]["s"] == 20
    assert sum(sum(r.values()) for r in generated["contexts"].values()) == sum(generated["totals"].values())


def test_an_ambiguous_label_follows_its_neighbours(generated):
    model = ContextModel(generated["contexts"], generated["totals"], weight=1.0, alpha=1.0, min_count=5)
    unsure_s = [("s", 0.55), ("5", 0.4)]
    # between two digits a symbol read s (5 its second choice) is the digit ...
    assert [s.name for s in relabel(_row_of(("1", []), ("s", unsure_s), ("2", [])), model)] == ["1", "5", "2"]
    # ... after an operator at the end of the line it stays the letter
    assert relabel(_row_of(("a", []), ("+", []), ("s", unsure_s)), model)[2].name == "s"
    # a label the classifier is sure of is not questioned, whatever its neighbours
    sure = [("s", 0.97), ("5", 0.02)]
    assert relabel(_row_of(("1", []), ("s", sure), ("2", [])), model)[1].name == "s"
    # the input is not changed; a relabelled symbol carries its new label's probability
    row = _row_of(("1", []), ("s", unsure_s), ("2", []))
    out = relabel(row, model)
    assert row[1].name == "s" and out[1].confidence == pytest.approx(0.4)


def test_a_label_the_training_ink_never_writes_stays_neutral(generated):
    model = ContextModel(generated["contexts"], generated["totals"], weight=1.0, alpha=1.0, min_count=5)
    # J_cap is not in the counts: its ratio is 1 in every context, so the classifier's choice stands
    assert model.log_ratio("J_cap", "digit|digit") == 0.0
    assert model.log_ratio("5", "digit|digit") > 0 > model.log_ratio("s", "digit|digit")
    unsure_j = [("J_cap", 0.6), ("s", 0.35)]
    assert relabel(_row_of(("1", []), ("J_cap", unsure_j), ("2", [])), model)[1].name == "J_cap"
    # ... nor is it given where the context speaks against the classifier's label (its ratio of 1 would
    # beat the letter's there): the letter stays, the digit the context likes is taken
    assert relabel(_row_of(("1", []), ("s", [("s", 0.5), ("J_cap", 0.45)]), ("2", [])), model)[1].name == "s"
    s_j_5 = [("s", 0.5), ("J_cap", 0.3), ("5", 0.15)]
    assert relabel(_row_of(("1", []), ("s", s_j_5), ("2", [])), model)[1].name == "5"


def test_neighbour_classes_and_contexts():
    assert [
        neighbour_class(n) for n in (None, "7", "x", "X_cap", "theta", "+", "leq", "(", "!", "frac_bar")
    ] == [
        "edge",
        "digit",
        "letter",
        "cap",
        "greek",
        "op",
        "rel",
        "open",
        "close",
        "bar",
    ]
    # a superscript is not on its base's line: the base's right neighbour is the symbol after the script
    boxes = [(0, 10, 10, 10), (11, 0, 5, 5), (20, 10, 10, 10)]
    assert symbol_contexts(["x", "2", "+"], boxes)[0] == "edge|op"


def test_model_file_round_trip_and_the_bundled_table(tmp_path, generated):
    path = tmp_path / "label_context.json"
    path.write_text(json.dumps({"settings": {"weight": 0.25}, **generated}), encoding="utf-8")
    model = load_model(path, alpha=3.0)
    assert model is not None and model.weight == 0.25 and model.alpha == 3.0
    assert load_model(tmp_path / "missing.json") is None
    bundled = load_model()
    assert bundled is not None
    # the training ink: a digit between two digits is likelier than on average, a letter less likely
    assert bundled.log_ratio("5", "digit|digit") > 0 > bundled.log_ratio("s", "digit|digit")


def test_a_second_pass_reads_the_labels_of_the_first():
    contexts = {
        "op|digit": {"5": 30, "s": 1},
        "letter|close": {"5": 1, "s": 30},
        "digit|close": {"5": 30, "s": 1},
    }
    totals = {"5": 61, "s": 32}
    row = _row_of(("-", []), ("s", [("s", 0.55), ("5", 0.4)]), ("5", [("5", 0.5), ("s", 0.45)]), (")", []))
    settings = {"weight": 1.0, "alpha": 1.0, "min_count": 5}
    once = relabel(row, ContextModel(contexts, totals, passes=1, **settings))
    twice = relabel(row, ContextModel(contexts, totals, passes=2, **settings))
    # one pass: the first symbol sees a digit after it and becomes 5, the second still sees a letter
    assert [s.name for s in once] == ["-", "5", "s", ")"]
    # the second pass: the second symbol sees the digit the first became (the first, now beside a
    # letter in an unseen context, keeps its classifier label)
    assert [s.name for s in twice][2] == "5"
