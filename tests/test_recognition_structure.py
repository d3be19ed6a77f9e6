"""The layout relation model trained on real layouts (recognition/training/structure.py, recognition/structure.py)
and the decimal-point rule (recognition/decimals.py), on ink the project generates itself."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests._symbol_boxes import Box, Sym
from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.decimals import POINT_MAX_HEIGHT, decimal_points
from whiteboard_app.recognition.training.data import row_to_expression
from whiteboard_app.recognition.training.structure import match_symbols, merge_function_glyphs

SUB, SUP, NUM, DEN = 3, 2, 0, 1  # mathnote-ocr's edge ids (tree_v2.Edge)


def _row(latex: str, seed: int = 0) -> dict:
    s = synthesize(latex, seed=seed)
    return {
        "id": latex,
        "latex": latex,
        "strokes": [[[p.x, p.y] for p in st.points] for st in s.ink.strokes],
        "symbols": [{"label": lab, "strokes": list(idx)} for lab, idx in s.symbols],
    }


# ── decimal points ─────────────────────────────────────────────────────


def test_small_mark_between_digits_becomes_a_decimal_point():
    syms = [
        Sym("0", Box(0, 0, 10, 20)),
        Sym(",", Box(13, 17, 3, 3), alternatives=[(",", 0.7), ("dot", 0.25)]),
        Sym("9", Box(19, 0, 10, 20)),
        Sym("9", Box(32, 0, 10, 20)),
    ]
    out = decimal_points(syms)
    assert [s.name for s in out] == ["0", "dot", "9", "9"]
    assert out[1].confidence == pytest.approx(0.25)
    assert syms[1].name == ","  # input unchanged


def test_tall_descending_mark_between_digits_stays_or_becomes_a_comma():
    tall = Box(13, 14, 4, 0.6 * 20 + 2)  # 0.7 digit heights, bottom below the digits
    syms = [Sym("1", Box(0, 0, 10, 20)), Sym("dot", tall), Sym("2", Box(19, 0, 10, 20))]
    assert [s.name for s in decimal_points(syms)] == ["1", ",", "2"]
    syms[1] = Sym(",", tall)
    assert [s.name for s in decimal_points(syms)] == ["1", ",", "2"]


def test_comma_between_letters_or_a_raised_mark_is_left_alone():
    small = Box(13, 17, 3, 3)
    letters = [Sym("x", Box(0, 0, 10, 20)), Sym(",", small), Sym("y", Box(19, 0, 10, 20))]
    assert [s.name for s in decimal_points(letters)] == ["x", ",", "y"]
    raised = [Sym("2", Box(0, 0, 10, 20)), Sym(",", Box(13, 2, 3, 3)), Sym("3", Box(19, 0, 10, 20))]
    assert [s.name for s in decimal_points(raised)][1] == ","
    big = [Sym("2", Box(0, 0, 10, 20)), Sym(",", Box(13, 17, 3, 20 * (POINT_MAX_HEIGHT + 0.1)))]
    assert [s.name for s in decimal_points(big + [Sym("3", Box(19, 0, 10, 20))])][1] == ","


# ── layout examples from real-ink-like expressions ─────────────────────


def test_function_letters_merge_into_one_glyph_and_edges_follow():
    # "\log_c x": l o g (siblings of one command), c the subscript of g, x after
    glyphs = [{"name": n, "bbox": [i * 10.0, 0.0, 8.0, 10.0]} for i, n in enumerate("logcx")]
    labels = [(-1, -1, 0), (-1, -1, 0), (-1, -1, 0), (2, SUB, 0), (-1, -1, 1)]
    g2, l2 = merge_function_glyphs(glyphs, labels, {"log": 1})
    assert [g["name"] for g in g2] == ["log", "c", "x"]
    assert g2[0]["bbox"] == [0.0, 0.0, 28.0, 10.0]
    assert l2 == [(-1, -1, 0), (0, SUB, 0), (-1, -1, 1)]
    # nothing wanted: unchanged
    g3, l3 = merge_function_glyphs(glyphs, labels, {})
    assert [g["name"] for g in g3] == list("logcx") and l3 == labels


def test_match_pairs_same_names_by_position_and_refuses_other_names():
    glyphs = [
        {"name": "x", "bbox": [0, 0, 1, 1]},
        {"name": "x", "bbox": [10, 0, 1, 1]},
        {"name": "frac_bar", "bbox": [5, 5, 3, 0]},
    ]
    ink = [("x", [100, 0, 9, 9]), ("-", [50, 50, 30, 1]), ("x", [0, 0, 9, 9])]
    assert match_symbols(ink, glyphs) == [2, 0, 1]
    assert match_symbols([("y", [0, 0, 1, 1]), ("-", [5, 5, 3, 0]), ("x", [0, 0, 1, 1])], glyphs) is None
    assert match_symbols(ink[:2], glyphs) is None


def test_layout_example_of_generated_ink_has_the_true_tree():
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.training.structure import layout_example

    ex = layout_example(row_to_expression(_row(r"x_{1}^{2}+\frac{a}{b}=\log y")))
    assert ex is not None
    names = [s["name"] for s in ex["symbols"]]
    assert sorted(names) == sorted(["x", "1", "2", "+", "a", "b", "frac_bar", "=", "log", "y"])
    tree = ex["tree"]

    def rel(child: str) -> tuple[str | None, int]:
        t = tree[names.index(child)]
        return (names[t["parent"]] if t["parent"] >= 0 else None, t["edge_type"])

    assert rel("1") == ("x", SUB) and rel("2") == ("x", SUP)
    assert rel("a") == ("frac_bar", NUM) and rel("b") == ("frac_bar", DEN)
    assert rel("log")[0] is None and rel("y")[0] is None
    # the boxes are the ink's: the subscript lies lower than the superscript
    box = {n: s["bbox"] for n, s in zip(names, ex["symbols"], strict=True)}
    assert box["1"][1] > box["2"][1]
    json.dumps(ex)  # a JSON line


def test_layout_example_left_out_when_ink_and_latex_disagree():
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.training.structure import layout_example

    row = _row(r"a+b")
    row["latex"] = "a-b"
    assert layout_example(row_to_expression(row)) is None


# ── the relation model in the engine ───────────────────────────────────


def test_install_relation_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition.structure import STRUCTURE_FILE, install_relation_model
    from whiteboard_app.recognition.training.structure import base_checkpoint

    base = base_checkpoint()
    parser = SimpleNamespace(symbol_vocab=dict(base["symbol_vocab"]), subset_model=None)
    assert install_relation_model(parser, tmp_path) is False and parser.subset_model is None
    torch.save(
        {k: base[k] for k in ("model_state_dict", "symbol_vocab", "config")}, tmp_path / STRUCTURE_FILE
    )
    assert install_relation_model(parser, tmp_path) is True
    assert parser.subset_model is not None and not parser.subset_model.training
    assert parser.symbol_vocab.get("\\hat{y}") == parser.symbol_vocab["y"]  # an accent's base
    other = SimpleNamespace(symbol_vocab={"<pad>": 0}, subset_model=None)
    with pytest.raises(ValueError, match="vocabulary"):
        install_relation_model(other, tmp_path)
    torch.save({"weights": 1}, tmp_path / STRUCTURE_FILE)
    with pytest.raises(ValueError, match="not a relation-model"):
        install_relation_model(parser, tmp_path)


def test_fine_tuning_on_generated_layouts_writes_a_loadable_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    from whiteboard_app.recognition.structure import load_relation_model
    from whiteboard_app.recognition.training.structure import train_structure, write_examples

    exprs = [
        row_to_expression(_row(t, seed=k))
        for k, t in enumerate([r"x^{2}+y^{2}=z^{2}", r"\frac{a+b}{c}-d", r"a_{n}+b_{n}", r"\sqrt{x+1}=y"])
    ]
    assert write_examples(exprs[:3], tmp_path / "t.jsonl") == (3, 0)
    assert write_examples(exprs[3:], tmp_path / "v.jsonl") == (1, 0)
    logs: list[str] = []
    summary = train_structure(
        tmp_path / "t.jsonl", tmp_path / "v.jsonl", tmp_path / "s.pth", epochs=2, lr=1e-3, log_fn=logs.append
    )
    assert len(summary["history"]) == 3 and any("validation" in m for m in logs)
    if summary["best_epoch"]:
        model, vocab = load_relation_model(tmp_path / "s.pth")
        assert "frac_bar" in vocab and model is not None
    with pytest.raises(FileNotFoundError):
        load_relation_model(tmp_path / "missing.pth")


# ── the evidence refiner (the parser's GNN) fine-tuned on the relation model's evidence ──────────────


def _layouts(tmp_path, latexes, name):
    from whiteboard_app.recognition.training.structure import write_examples

    exprs = [row_to_expression(_row(t, seed=k)) for k, t in enumerate(latexes)]
    path = tmp_path / name
    assert write_examples(exprs, path) == (len(exprs), 0)
    return path


def test_batched_refiner_evidence_equals_the_one_by_one_evidence(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.training.structure import base_checkpoint

    base = base_checkpoint()
    model = mc.load_subset_model(base)
    vocab = dict(base["symbol_vocab"])
    path = _layouts(tmp_path, [r"x_{1}^{2}+\frac{a}{b}=y", r"\sqrt{a^{2}+b^{2}}=c_{0}"], "l.jsonl")
    one_by_one = mc._internal("tree_parser.gnn.dataset", "_compute_evidence_for_example")
    for line in path.read_text().splitlines():
        ex = json.loads(line)
        with torch.no_grad():
            a = one_by_one(ex["symbols"], ex["tree"], model, vocab, 8, torch.device("cpu"))
            b = mc.refiner_example(ex, model, vocab, 8)
        assert a["N"] == b["N"] == len(ex["symbols"])
        for k in ("symbol_ids", "gt_parent", "gt_edge_type", "gt_seq"):
            assert torch.equal(a[k], b[k])
        # the same evidence up to float rounding (masked entries are large negative numbers)
        assert torch.allclose(a["edge_features"], b["edge_features"], rtol=1e-5, atol=1e-3)
        collapsed = mc.refiner_example(ex, model, vocab, 8, augment=True)
        assert collapsed is None or 2 <= collapsed["N"] <= len(ex["symbols"])


def test_refiner_fine_tuning_on_generated_layouts_writes_a_loadable_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition.structure import REFINER_FILE, STRUCTURE_FILE, load_refiner
    from whiteboard_app.recognition.training.structure import base_checkpoint, train_refiner

    base = base_checkpoint()
    relation = tmp_path / STRUCTURE_FILE
    torch.save({k: base[k] for k in ("model_state_dict", "symbol_vocab", "config")}, relation)
    train = _layouts(tmp_path, [r"x^{2}+y^{2}=z^{2}", r"\frac{a+b}{c}-d", r"a_{n}+b_{n}"], "t.jsonl")
    val = _layouts(tmp_path, [r"\sqrt{x+1}=y_{1}"], "v.jsonl")
    logs: list[str] = []
    summary = train_refiner(
        train, val, relation, tmp_path / REFINER_FILE, epochs=2, lr=1e-3, copies=2, log_fn=logs.append
    )
    assert len(summary["history"]) == 3 and any("validation" in m for m in logs)
    if summary["best_epoch"]:  # an epoch beat the bundled refiner on validation: saved
        refiner, vocab = load_refiner(tmp_path / REFINER_FILE)
        assert vocab == dict(base["symbol_vocab"]) and not refiner.training
    else:
        assert not (tmp_path / REFINER_FILE).exists()


def test_install_refiner_beside_its_relation_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition import mathnote_compat as mc
    from whiteboard_app.recognition.structure import (
        REFINED_TREE_STRATEGY,
        REFINER_FILE,
        STRUCTURE_FILE,
        install_relation_model,
    )
    from whiteboard_app.recognition.training.structure import base_checkpoint

    base = base_checkpoint()
    vocab = dict(base["symbol_vocab"])
    gnn = mc.load_checkpoint("tree_gnn", mc.relation_refiner_run())
    torch.save({k: gnn[k] for k in ("model_state_dict", "symbol_vocab", "config")}, tmp_path / REFINER_FILE)

    def parser():
        return SimpleNamespace(
            symbol_vocab=vocab, subset_model=None, gnn_model="bundled", tree_strategy="backtrack"
        )

    # a refiner alone (no relation model beside it) is not installed: it learnt that model's evidence
    alone = parser()
    assert install_relation_model(alone, tmp_path) is False
    assert alone.gnn_model == "bundled" and alone.tree_strategy == "backtrack"
    torch.save(
        {k: base[k] for k in ("model_state_dict", "symbol_vocab", "config")}, tmp_path / STRUCTURE_FILE
    )
    both = parser()
    assert install_relation_model(both, tmp_path) is True
    assert both.gnn_model != "bundled" and not both.gnn_model.training
    assert both.tree_strategy == REFINED_TREE_STRATEGY
    # a parser without a refiner (mathnote-ocr's SubsetTreeParser) keeps its search
    plain = SimpleNamespace(symbol_vocab=vocab, subset_model=None, tree_strategy="backtrack")
    assert install_relation_model(plain, tmp_path) is True and plain.tree_strategy == "backtrack"
    # a refiner of another vocabulary is refused
    torch.save(
        {**{k: gnn[k] for k in ("model_state_dict", "config")}, "symbol_vocab": {"<pad>": 0}},
        tmp_path / REFINER_FILE,
    )
    with pytest.raises(ValueError, match="vocabulary"):
        install_relation_model(parser(), tmp_path)


def test_function_names_unknown_to_the_parser_read_as_their_alias(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition.structure import (
        PARSER_ALIASES,
        STRUCTURE_FILE,
        install_relation_model,
        with_aliases,
    )
    from whiteboard_app.recognition.training.structure import base_checkpoint

    vocab = {"<pad>": 0, "<unk>": 1, "sum": 7, "x": 9}
    read_as = with_aliases(vocab, {"lim": "sum", "foo": "missing", "x": "sum"})
    assert read_as["lim"] == 7 and "foo" not in read_as and read_as["x"] == 9  # only absent names
    assert "lim" not in vocab  # not changed
    base = base_checkpoint()
    assert all(name not in base["symbol_vocab"] for name in PARSER_ALIASES)
    torch.save(
        {k: base[k] for k in ("model_state_dict", "symbol_vocab", "config")}, tmp_path / STRUCTURE_FILE
    )
    parser = SimpleNamespace(symbol_vocab=dict(base["symbol_vocab"]), subset_model=None)
    assert install_relation_model(parser, tmp_path) is True
    assert parser.symbol_vocab["lim"] == base["symbol_vocab"]["sum"]
    assert install_relation_model(parser, tmp_path) is True  # installing again: the same vocabulary


def test_refiner_file_that_is_not_a_refiner_is_a_clear_error(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("mathnote_ocr")
    import torch

    from whiteboard_app.recognition.structure import REFINER_FILE, load_refiner

    with pytest.raises(FileNotFoundError):
        load_refiner(tmp_path / REFINER_FILE)
    torch.save({"weights": 1}, tmp_path / REFINER_FILE)
    with pytest.raises(ValueError, match="not an evidence-refiner"):
        load_refiner(tmp_path / REFINER_FILE)


# ── labels decided by neighbours ───────────────────────────────────────


def _line(names_alts):
    return [Sym(n, Box(12.0 * i, 0, 10, 20), alternatives=alts) for i, (n, alts) in enumerate(names_alts)]


def test_x_between_digits_becomes_times_and_after_an_operator_stays_a_letter():
    from whiteboard_app.recognition.symbol_context import times_or_x

    alts = [("x", 0.7), ("times", 0.3)]
    out = times_or_x(_line([("2", []), ("1", []), ("x", alts), ("2", []), ("0", [])]))
    assert out[2].name == "times" and out[2].confidence == pytest.approx(0.3)
    out = times_or_x(_line([("=", []), ("x", alts), ("2", [])]))
    assert out[1].name == "x"
    # a cross read as times after "=" goes back to the letter when the letter is listed
    out = times_or_x(_line([("=", []), ("times", [("times", 0.6), ("x", 0.4)]), ("y", [])]))
    assert out[1].name == "x"
    # no alternative: left alone
    assert times_or_x(_line([("2", []), ("x", [("x", 0.99)]), ("2", [])]))[1].name == "x"


def test_lim_without_a_limit_below_becomes_the_likeliest_other_function():
    from whiteboard_app.recognition.symbol_context import lim_without_limit

    alts = [("lim", 0.6), ("tan", 0.3), ("log", 0.05)]
    alone = [Sym("lim", Box(0, 0, 30, 15), alternatives=alts), Sym("theta", Box(35, 0, 10, 15))]
    assert [s.name for s in lim_without_limit(alone)] == ["tan", "theta"]
    with_limit = alone + [Sym("n", Box(5, 25, 8, 8))]
    assert lim_without_limit(with_limit)[0].name == "lim"
    no_alt = [Sym("lim", Box(0, 0, 30, 15), alternatives=[("lim", 0.99)])]
    assert lim_without_limit(no_alt)[0].name == "lim"


def test_times_context_table_counts_neighbours_of_generated_ink():
    from whiteboard_app.recognition.training.structure import times_context_table

    exprs = []
    for k in range(12):
        exprs.append(row_to_expression(_row(r"2\times 3", seed=k)))
        exprs.append(row_to_expression(_row(r"a+x", seed=k)))
    for e in exprs:  # the ink's labels as class names (times for \times)
        e.symbols = [("times" if n == "\\times" else n, i) for n, i in e.symbols]
    table = times_context_table(exprs, min_count=10)
    # the generated "2 \times 3" and "a + x": the cross's odds between digits, the letter's after "+"
    assert table[("digit", "digit")] > 1 > table[("op", "edge")]
    assert times_context_table(exprs[1::2]) == {}


def test_the_parser_reads_an_accented_symbol_as_its_base():
    pytest.importorskip("mathnote_ocr")  # the names' LaTeX is mathnote-ocr's table
    from whiteboard_app.recognition.structure import ParserVocab

    vocab = ParserVocab({"<unk>": 1, "y": 5, "X_cap": 6, "theta": 7})
    assert vocab.get("\\hat{y}", 1) == 5 and vocab.get("\\bar{X}", 1) == 6
    assert vocab.get("\\tilde{\\theta}", 1) == 7 and vocab.get("y", 1) == 5
    # what it does not know stays unknown; a plain dict lookup is unchanged
    assert vocab.get("\\hat{q}", 1) == 1 and vocab.get("\\wedge", 1) == 1 and vocab.get("zz") is None
    assert "\\hat{y}" not in vocab and vocab == {"<unk>": 1, "y": 5, "X_cap": 6, "theta": 7}
