"""Interviewer prompts when a run stalls (the overview's advice, said as an interviewer would).

A run *stalls* when no ink arrives for a while (a freeze, ``board.FREEZE_MS`` = 8 s). The prompts grow
with the stall: first "intuition first, then the algebra", then "forgot a step? restart from the
objective" naming the card's first reference step (what is being minimised or defined), then a nudge
towards a hint. Pure functions: the practice view shows the text next to its freeze marker.
"""

from __future__ import annotations

from whiteboard_app.decks.schema import Card
from whiteboard_app.sessions.board import FREEZE_MS

#: (stall in ms from which it is said, key) in order; see :func:`stall_prompt`
STALL_LEVELS = ((FREEZE_MS, "intuition"), (20_000.0, "objective"), (45_000.0, "hint"))

INTUITION = "Say the intuition first, then do the algebra: what should the result look like?"
HINT = "Still stuck? Take a hint, or say out loud which rule you would apply next."


def stall_level(freeze_ms: float | None) -> str | None:
    """Which prompt a stall of ``freeze_ms`` (ms without ink; None: not stalled) calls for: "intuition",
    "objective", "hint" or None."""
    if freeze_ms is None:
        return None
    level = None
    for start, key in STALL_LEVELS:
        if freeze_ms >= start:
            level = key
    return level


def stall_prompt(card: Card | None, step: int, freeze_ms: float | None) -> str | None:
    """The interviewer's prompt for a run of ``card`` stalled on ``step`` (0-based) for ``freeze_ms``;
    None when it is not stalled. The "objective" prompt names the card's first reference step's rule
    (e.g. "negative log-likelihood") when the user is past step 1."""
    level = stall_level(freeze_ms)
    if level is None:
        return None
    if level == "intuition":
        return INTUITION
    if level == "objective":
        first = card.steps[0] if card is not None and card.steps else None
        where = f" ({first.rule})" if first is not None and first.rule else ""
        if step == 0:
            return f"Forgot how it starts? Write down the objective or the definition first{where}."
        return f"Forgot a step? Restart from the objective{where} and redo the algebra from there."
    return HINT
