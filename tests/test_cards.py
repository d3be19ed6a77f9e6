"""Generic per-card tests, over every card in decks/ (whoever wrote it):

every card loads; every checkable reference step parses; every consecutive pair of reference steps is
verified (step k is correct, as reference step k, with step k-1 as the user's previous step); every
declared mistake is judged wrong with its declared diagnosis and the step it imitates.
"""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.decks import DeckError, bundled_deck_dir, load_card, load_deck
from whiteboard_app.maths import check_step, parse_step

CARD_FILES = sorted(bundled_deck_dir().glob("*.toml"))
try:
    _DECK = load_deck()
except DeckError:  # reported by test_card_loads
    _DECK = None


def _steps():
    if _DECK is None:
        return []
    return [
        pytest.param(c.id, k, id=f"{c.id}-step{k}")
        for c in _DECK
        for k, s in enumerate(c.steps, 1)
        if s.checkable
    ]


def _mistakes():
    if _DECK is None:
        return []
    return [
        pytest.param(c.id, k, id=f"{c.id}-mistake{k}") for c in _DECK for k in range(1, len(c.mistakes) + 1)
    ]


@pytest.mark.parametrize("path", CARD_FILES, ids=[p.stem for p in CARD_FILES])
def test_card_loads(path):
    card = load_card(path)
    assert card.id == path.stem
    assert len(card.steps) >= 2 and 2 <= len(card.mistakes) <= 5


def test_bundled_deck_is_consistent():
    assert _DECK is not None, "the bundled deck does not load"
    assert "sigmoid-derivative" in _DECK.cards


@pytest.mark.parametrize("card_id,k", _steps())
def test_reference_step_parses(card_id, k):
    card = _DECK.get(card_id)
    parsed = parse_step(card, card.steps[k - 1].latex)
    assert parsed.trees


@pytest.mark.parametrize("card_id,k", _steps())
def test_reference_step_follows_from_the_one_before(card_id, k):
    """Each consecutive pair: step k is verified with step k-1 as the user's previous step."""
    card = _DECK.get(card_id)
    previous = [card.steps[k - 2].latex] if k >= 2 else []
    v = check_step(card, card.steps[k - 1].latex, previous)
    assert v.verdict == "correct", f"step {k}: {v.verdict} ({v.diagnosis}; {v.message})"
    assert v.reference_step == k


@pytest.mark.parametrize("card_id,k", _mistakes())
def test_declared_mistake_is_wrong_with_its_diagnosis(card_id, k):
    card = _DECK.get(card_id)
    m = card.mistakes[k - 1]
    previous = [s.latex for s in card.steps[: m.after_step - 1]]
    v = check_step(card, m.latex, previous)
    assert v.verdict == "wrong", f"mistake {k}: {v.verdict} ({v.message})"
    assert v.diagnosis == m.diagnosis
    assert v.reference_step == m.after_step


@pytest.mark.parametrize("path", CARD_FILES, ids=[p.stem for p in CARD_FILES])
def test_card_marks_its_milestones(path):
    """Every bundled card marks the steps that make its derivation, its result among them (issue 12)."""
    card = load_card(path)
    kinds = [s.milestone for s in card.steps if s.milestone]
    assert "result" in kinds and len(kinds) >= 2, f"{card.id}: milestones {kinds}"
