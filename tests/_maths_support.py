"""Shared helpers for the maths tests: generous time limits so a busy machine cannot make them flaky
(the limits themselves are tested in tests/test_maths_worker.py), and the bundled deck."""

from __future__ import annotations

import os

import pytest

# the checker's extras (diagnosis search) get more time in tests, so a busy machine cannot change a
# diagnosis; set before the worker process starts (it inherits the environment)
os.environ.setdefault("WHITEBOARD_CHECK_BUDGET_S", "5")

from whiteboard_app.decks import load_deck
from whiteboard_app.decks.schema import Card, RefStep
from whiteboard_app.maths import worker


@pytest.fixture(autouse=True)
def _generous_limits(monkeypatch):
    monkeypatch.setattr(worker, "PARSE_TIMEOUT_S", 30.0)
    monkeypatch.setattr(worker, "CHECK_TIMEOUT_S", 30.0)


# the keys of one verdict in `check --json` (docs/user-guide.md); issue 11 added the last three.
# The CLI keeps its shape: a test that compares against this set fails when a key goes or comes.
CHECK_JSON_KEYS = frozenset(
    {
        "latex",
        "verdict",
        "reference_step",
        "diagnosis",
        "shape",
        "ms",
        "message",
        "defines",
        "skipped",
        "note",
    }
)

_deck = None


def deck():
    global _deck
    if _deck is None:
        _deck = load_deck()
    return _deck


def toy_card(steps, decl, mistakes=(), cid: str = "toy") -> Card:
    """A minimal card for checker tests: the reference chain ``steps`` (LaTeX), declarations ``decl``
    and declared ``mistakes`` (``Mistake`` objects); every other field a placeholder."""
    return Card(
        id=cid,
        title="t",
        topic="calculus",
        prompt="p",
        setup="s",
        assumptions=(),
        declarations=decl,
        steps=tuple(RefStep(s) for s in steps),
        interpretation="i",
        followups=(),
        mistakes=tuple(mistakes),
        hints=("h",),
    )
