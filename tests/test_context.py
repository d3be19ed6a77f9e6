"""The card's context as a soft prior (recognition/context.py): exactly the properties of issue 3.

R is a reference step and M its sign-flip mistake (one token apart); G_R / G_M are misreadings one
token away from R / M (and two from the other).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionContext,
    RecognitionResult,
    SymbolAlternatives,
)
from whiteboard_app.recognition.context import (
    ContextualRecognizer,
    normalize_tokens,
    rerank,
    score_candidates,
    token_distance,
)

R = r"\sigma(z)(1-\sigma(z))"
M = r"\sigma(z)(1+\sigma(z))"
G_R = r"\sigma(z)(1-\sigma(2))"
G_M = r"\sigma(z)(1+\sigma(2))"
CTX = RecognitionContext(((R, "reference"), (M, "mistake")))
SWAPPED = RecognitionContext(((R, "mistake"), (M, "reference")))


def _result(*pairs, symbols=()):
    return RecognitionResult(
        tuple(Candidate(latex, score) for latex, score in pairs), engine="test", symbols=tuple(symbols)
    )


def _alts(*rows):
    """Per-symbol alternatives: rows of (read, [(alternative, p), ...])."""
    return [SymbolAlternatives((k,), ((read, 0.6), *alts)) for k, (read, alts) in enumerate(rows)]


SIGMA_Z = _alts(("0", [(r"\sigma", 0.3)]), ("2", [("z", 0.25)]), ("+", [("-", 0.3)]), ("-", [("+", 0.3)]))


def _latexes(result):
    return [c.latex for c in result.candidates]


@pytest.mark.parametrize(
    "a, b, d",
    [
        ("x^{2}", "x^2", 0),
        (r"a \le b", r"a\leq b", 0),
        (r"\left( x \right) \cdot y", r"(x) \times y", 0),
        (r"\mathrm{d}x", "dx", 0),
        (R, M, 1),
        (G_R, M, 2),
        ("abc", "", 3),
    ],
)
def test_token_distance_after_normalisation(a, b, d):
    assert token_distance(normalize_tokens(a), normalize_tokens(b)) == d


# (engine n-best, context, expected best, why)
CASES = [
    ([(G_R, -0.2), (R, -0.9)], CTX, R, "context helps read the right step"),
    ([(G_M, -0.2), (M, -0.9)], CTX, M, "and, symmetrically, the wrong one"),
    ([(G_M, -0.2), (R, -0.6)], CTX, G_M, "a wrong reading is never turned into the right one"),
    ([(G_R, -0.2), (M, -0.6)], CTX, G_R, "nor a right reading into the wrong one"),
    ([(M, -0.2), (R, -0.3)], CTX, M, "an exact mistake stays the mistake"),
    ([("a+b", -0.1), ("c", -0.3)], CTX, "a+b", "far from every expected form: the open reading stands"),
    ([(G_R, -0.2), (R, -5.0)], CTX, G_R, "a soft prior: a much less likely reading is not forced"),
    (
        [(G_R, -0.2), (R, -0.9)],
        RecognitionContext(((R, "previous"),)),
        G_R,
        "the previous step gives a bonus but cannot move a reading above the engine's best",
    ),
    ([(G_R, -0.2), (R, -0.9)], None, G_R, "no context: unchanged"),
]


@pytest.mark.parametrize("nbest, context, best, why", CASES, ids=[c[3] for c in CASES])
def test_rerank_properties(nbest, context, best, why):
    assert rerank(_result(*nbest), context).best == best, why


def test_bonus_is_the_same_for_right_and_wrong_variants():
    right = {s.latex: s for s in score_candidates([Candidate(G_R, -0.2), Candidate(R, -0.9)], CTX)}
    wrong = {s.latex: s for s in score_candidates([Candidate(G_M, -0.2), Candidate(M, -0.9)], CTX)}
    assert right[R].bonus == wrong[M].bonus > 0
    assert right[G_R].bonus == wrong[G_M].bonus > 0
    assert right[R].side == "right" and wrong[M].side == "wrong"


def test_far_readings_are_left_exactly_as_they_were():
    result = _result(("a+b", -0.1), ("c", -0.3))
    assert rerank(result, CTX).candidates == result.candidates


@pytest.mark.parametrize(
    "nbest, added",
    [
        ([(G_R, -0.2)], [R, M]),  # 1 token from R, 2 from M: both offered
        ([(G_M, -0.2)], [M, R]),  # symmetric
        ([(r"\sigma(z)(1-\sigma(22))", -0.2)], [R]),  # 2 tokens from R (the radius of a 12-token form)
        ([(r"\sigma(2)(1-\sigma(22))", -0.2)], []),  # 3 tokens: too far to add
        ([("a+b", -0.1)], []),
    ],
)
def test_expected_forms_are_added_only_when_close_and_never_above_the_reading(nbest, added):
    out = rerank(_result(*nbest), CTX)
    assert out.best == nbest[0][0]
    extra = _latexes(out)[len(nbest) :]
    assert sorted(extra) == sorted(added)
    scores = [c.score for c in out.candidates]
    assert scores == sorted(scores, reverse=True)


# (engine's best reading, its per-symbol alternatives, expected best, why)
SUPPORTED = [
    (r"0(2)(1-\sigma(2))", SIGMA_Z, R, "the ink's own alternatives (0->sigma, 2->z) make it the reference"),
    (r"0(2)(1+\sigma(2))", SIGMA_Z, M, "and, symmetrically, the mistake"),
    (G_M, SIGMA_Z, M, "the alternative + -> - would reach R, but a wrong reading stays on its side"),
    (G_R, SIGMA_Z, R, "nor is a right reading carried to the mistake"),
    (G_R, _alts(("2", [("z", 0.01)])), G_R, "an alternative below 2% is no support"),
    (r"\sigma(z)(1-\sigma)", _alts(("2", [("z", 0.3)])), r"\sigma(z)(1-\sigma)", "insertions are no support"),
    (G_R, (), G_R, "no per-symbol alternatives: the reading stands"),
]


@pytest.mark.parametrize("best, symbols, expected, why", SUPPORTED, ids=[c[3] for c in SUPPORTED])
def test_expected_forms_supported_by_the_ink(best, symbols, expected, why):
    assert rerank(_result((best, -0.3), symbols=symbols), CTX).best == expected, why


_FORMS = {
    "R": R,
    "M": M,
    "G_R": G_R,
    "G_M": G_M,
    "X": "a+b",
    "R2": r"\sigma(z)(1-\sigma(22))",
    "M2": r"\sigma(2)(1+\sigma(z))",
}
_nbest = st.lists(
    st.tuples(st.sampled_from(sorted(_FORMS)), st.floats(-4.0, 0.0)),
    min_size=1,
    max_size=5,
    unique_by=lambda t: t[0],
)


@settings(max_examples=200, deadline=None)
@given(_nbest, st.lists(st.sampled_from(SIGMA_Z), max_size=4))
def test_swapping_right_and_wrong_labels_changes_nothing_and_sides_are_kept(nbest, symbols):
    result = _result(*[(_FORMS[k], s) for k, s in nbest], symbols=symbols)
    a, b = rerank(result, CTX), rerank(result, SWAPPED)
    assert a.candidates == b.candidates  # symmetric: only distances matter, never which side is right
    top = result.candidates[0].latex
    scored = {s.latex: s for s in score_candidates(result.candidates, CTX, symbols=result.symbols)}
    if a.best != top:  # moved only within the engine's best reading's side
        assert scored[a.best].side == scored[top].side != "open"
    if normalize_tokens(top) != normalize_tokens(R) and scored[top].side != "right":
        assert a.best != R  # never turns a reading that is not right into the right step


def test_contextual_recognizer_wraps_an_engine():
    class Engine:
        name = "e"
        calls = 0

        def recognize(self, ink, context=None):
            Engine.calls += 1
            return _result((G_R, -0.2), (R, -0.9))

        def adapt(self, samples):
            return len(samples)

    rec = ContextualRecognizer(Engine())
    assert rec.recognize(None, CTX).best == R
    assert rec.recognize(None, None).best == G_R
    assert rec.adapt([1, 2]) == 2 and rec.name == "e"
