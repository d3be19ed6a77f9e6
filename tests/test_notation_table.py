"""The notation table (tests/data/notation_table.toml, built by tests/notation_cases.py): every card's reference
steps and declared mistakes written in other notations (the card's ``[notation]`` aliases, other transposes,
``\\ln``, other index letters, ``x^{(i)}``) and hand-written steps in per-example, component, inner-product
and structured notations. Every case must come out as expected: the verdict, the reference step where the
table gives one and the diagnosis where it gives one.

The property test: no declared mistake, rendered in any notation its card declares, is judged correct.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths import check_step
from whiteboard_app.maths.notation import render_variant, rewrite_step, written_forms

TABLE = Path(__file__).parent / "data" / "notation_table.toml"
CASES = tomllib.loads(TABLE.read_text(encoding="utf-8"))["case"]


def test_table_is_big_and_covers_every_card():
    counts = Counter(c["expected"] for c in CASES)
    assert len(CASES) >= 300
    assert len({c["card"] for c in CASES}) == len(deck()) >= 31  # every card of the deck (36 since issue 17)
    assert counts["wrong"] >= 0.3 * len(CASES)
    # every case is written in another notation than its card's: the rewrite changes it
    changed = sum(rewrite_step(deck().get(c["card"]), c["candidate"]) != c["candidate"] for c in CASES)
    assert changed >= 0.8 * len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[f"{k:03d}-{c['card']}" for k, c in enumerate(CASES)])
def test_notation_case(case):
    card = deck().get(case["card"])
    v = check_step(card, case["candidate"], case.get("previous", []))
    assert v.verdict == case["expected"], f"{case['candidate']}: {v.verdict} ({v.diagnosis}; {v.message})"
    if "ref" in case and (case["expected"] == "correct" or "diagnosis" in case):
        assert v.reference_step == case["ref"], f"{case['candidate']}: step {v.reference_step}"
    if "diagnosis" in case:
        assert v.diagnosis == case["diagnosis"]


def _mistakes():
    return [(c.id, k) for c in deck() for k in range(len(c.mistakes))]


@st.composite
def _notation(draw):
    card_id, k = draw(st.sampled_from(_mistakes()))
    card = deck().get(card_id)
    forms = written_forms(card)
    choice, used = {}, set()
    for name in sorted(forms):
        w = draw(st.sampled_from([None, *forms[name]]))
        if w is not None and w not in used:
            choice[name] = w
            used.add(w)
    transpose = draw(st.sampled_from(["T", "top", "intercal"]))
    ln = draw(st.booleans())
    return card, k, choice, transpose, ln


@settings(max_examples=40)
@given(_notation())
def test_no_declared_mistake_is_correct_in_any_declared_notation(spec):
    card, k, choice, transpose, ln = spec
    m = card.mistakes[k]
    written = render_variant(card, m.latex, choice, transpose=transpose, ln=ln)
    previous = [
        render_variant(card, s.latex, choice, transpose=transpose, ln=ln)
        for s in card.steps[: m.after_step - 1]
    ][-1:]
    v = check_step(card, written, previous)
    assert v.verdict != "correct", f"{card.id}: {written!r} judged correct ({v.message})"


def test_card_steps_are_not_rewritten():
    """The rules never change a card's own steps and mistakes (they read exactly as before)."""
    for card in deck():
        for s in [st_.latex for st_ in card.steps] + [m.latex for m in card.mistakes]:
            assert rewrite_step(card, s) == s, (card.id, s)


@pytest.mark.parametrize(
    "written,expected",
    [
        (r"\hat{y} = \sigma(w^T x + b)", r"p_{i}=\sigma(w^{T}x_{i}+(0))"),
        (r"= (\hat{y}-y)x_j", r"=(p_{i}-y_{i})x_{i}"),
        (r"\hat{y}^{(k)} = \sigma(\theta \cdot x^{(k)})", r"p_{i}=\sigma(w^{T}x_{i})"),
        (r"\nabla_w L = \sum_{n=1}^{N}(\mu_n - t_n)\phi_n", r"\nabla_{w}L=\sum_{i=1}^{n}(p_{i}-y_{i})x_{i}"),
        (r"= \Phi^\top(\mu - t)", r"=X^{\top}(p-y)"),
    ],
)
def test_rewrites_on_the_logistic_card(written, expected):
    assert rewrite_step(deck().get("logistic-regression-gradient"), written) == expected
