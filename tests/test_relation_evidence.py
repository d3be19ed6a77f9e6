"""Script-level evidence from the layout relation model (recognition/relation_evidence.py, issue 13).

Ink is the project's own synthetic handwriting (whiteboard_app/ink/synth.py) with its ground-truth symbol
groups as the engine's symbols, so the relation model (weights/structure.pth) reads real stroke boxes
written the way the LaTeX says: raised superscripts, lowered subscripts.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("mathnote_ocr")
pytest.importorskip("scipy")

from whiteboard_app.ink.synth import synthesize
from whiteboard_app.recognition.base import RecognitionContext, SymbolAlternatives
from whiteboard_app.recognition.form_match import evidence_refusal, match_forms
from whiteboard_app.recognition.relation_evidence import (
    EDGE_SUB,
    EDGE_SUP,
    edge_log_probs,
    form_tree,
    relation_llr,
    script_edges,
)
from whiteboard_app.recognition.typeset import glyph_layout


def _fits(written: str, forms: list[str], seed: int = 0) -> dict[str, object]:
    """Each form's fit to ``written`` in synthetic ink (writer ``seed``), keyed by the form's LaTeX."""
    s = synthesize(written, seed=seed)
    ids = [st.id for st in s.ink.strokes]
    syms = [SymbolAlternatives(tuple(ids[k] for k in idx), ((lab, 0.9),)) for lab, idx in s.symbols]
    return {
        fm.latex: fm for fm in match_forms(s.ink, syms, RecognitionContext(tuple((f, "t") for f in forms)))
    }


def _names(latex: str) -> tuple[str, ...]:
    return tuple(g.name for g in glyph_layout(latex))


def test_form_tree_gives_each_script_glyph_its_base_as_parent():
    # x_i^2 + 1: i is x's subscript, 2 its superscript (the glyphs' reading order: x i 2 + 1)
    assert form_tree("x_{i}^{2}+1", _names("x_{i}^{2}+1")) == ((1, 0, EDGE_SUB), (2, 0, EDGE_SUP))
    # e^{-x^2}: the minus and the x both have e as parent; the 2 has x
    assert set(form_tree("e^{-x^{2}}", _names("e^{-x^{2}}"))) == {
        (1, 0, EDGE_SUP),
        (2, 0, EDGE_SUP),
        (3, 2, EDGE_SUP),
    }
    assert form_tree("a+b", _names("a+b")) == ()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("written", "swapped"),
    [("n^{2}", "n_{2}"), ("y_{0}", "y^{0}"), ("A^{T}", "A_{T}"), ("e^{-x^{2}}", "e^{-x_{2}}")],
)
def test_the_written_script_relation_has_a_clearly_positive_llr_and_its_swap_a_negative_one(
    written, swapped, seed
):
    fits = _fits(written, [written, swapped], seed)
    right, wrong = relation_llr(fits[written].relation_ink), relation_llr(fits[swapped].relation_ink)
    assert right is not None and wrong is not None
    assert right > 2.0, (written, right)
    assert wrong < -2.0, (swapped, wrong)


def test_edge_log_probs_are_normalised_log_probabilities_and_raised_means_superscript():
    # a base "n" and a "2" written raised at its top right, then the same "2" lowered at its bottom right
    names = ("n", "2")
    raised = edge_log_probs(names, ((0, 20, 20, 20), (22, 8, 10, 12)), [(1, 0)])
    lowered = edge_log_probs(names, ((0, 20, 20, 20), (22, 34, 10, 12)), [(1, 0)])
    assert raised is not None and lowered is not None
    for lp in (raised[0], lowered[0]):
        assert len(lp) == 8
        assert abs(sum(2.718281828459045**v for v in lp) - 1.0) < 1e-4
    assert raised[0][EDGE_SUP] - raised[0][EDGE_SUB] > 2.0
    assert lowered[0][EDGE_SUB] - lowered[0][EDGE_SUP] > 2.0


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="names for"):
        edge_log_probs(("n",), ((0, 0, 1, 1), (1, 1, 1, 1)), [(1, 0)])
    with pytest.raises(ValueError, match="pair"):
        edge_log_probs(("n", "2"), ((0, 0, 1, 1), (1, 1, 1, 1)), [(1, 1)])
    assert edge_log_probs(("n",), ((0, 0, 1, 1),), []) == []
    assert relation_llr(()) is None
    assert script_edges([], glyph_layout("n^{2}"), "n^{2}", (0.0, 1.0, 0.0, 1.0)) == ()


def test_a_form_without_scripts_has_no_relation_evidence():
    fits = _fits("a+b", ["a+b"])
    assert fits["a+b"].relation_ink == ()
    assert relation_llr(fits["a+b"].relation_ink) is None


def test_the_relation_llr_threshold_refuses_the_swap_and_absent_is_off():
    fits = _fits("n^{2}+1", ["n^{2}+1", "n_{2}+1"])
    swapped = fits["n_{2}+1"]
    # the geometric script rule off, so that only the new rule can refuse
    base = {"script": -99.0, "relation_llr": None}
    assert evidence_refusal(swapped, base) is None  # relation_llr None: the rule is off
    assert evidence_refusal(swapped, {**base, "relation_llr": 2.0}) == "relation_llr"
    assert evidence_refusal(fits["n^{2}+1"], {**base, "relation_llr": 2.0}) is None


def test_a_form_the_relation_models_typesetting_cannot_label_has_no_edges_not_an_error():
    # mathnote-ocr's own typesetting has no glyph for blackboard bold: no tree, the rule does not apply
    names = _names("\\mathbb{R}^{n}")
    got = form_tree("\\mathbb{R}^{n}", names)
    assert isinstance(got, tuple)
    assert all(0 <= c < len(names) and 0 <= p < len(names) for c, p, _e in got)


def test_warm_up_makes_each_form_s_relation_tree_once_per_latex():
    from whiteboard_app.recognition import relation_evidence as re_
    from whiteboard_app.recognition.form_match import warm_up

    forms = ["a_{k}^{2} + q_{1} = 7", "a_{k}^{3} + q_{1} = 7"]
    re_.typeset_tree.cache_clear()
    re_.form_tree.cache_clear()
    warm_up(RecognitionContext(tuple((f, "reference") for f in forms)))
    info = re_.typeset_tree.cache_info()
    assert info.currsize == 2 and info.misses == 2
    names = tuple(str(g.name) for g in glyph_layout(forms[0]))
    edges = form_tree(forms[0], names)
    assert re_.typeset_tree.cache_info().misses == 2  # the fit's tree comes from the warmed typesetting
    assert edges and all(e in (EDGE_SUP, EDGE_SUB) for _c, _p, e in edges)
    # another naming of the same form (a function name spelt otherwise) typesets it no second time
    form_tree(forms[0], names[:-1])
    assert re_.typeset_tree.cache_info().misses == 2
