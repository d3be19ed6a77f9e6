"""decks layer: the card schema, the TOML loader and its validation (see docs/INTERFACES.md).

Card files live in the top-level ``decks/`` (bundled as package data); the schema is described in
docs/deck-authoring.md. Nothing in a deck is ever executed.
"""

from .loader import bundled_deck_dir, card_errors, deck_errors, load_card, load_deck
from .schema import (
    Card,
    Deck,
    DeckError,
    Declarations,
    Followup,
    Mistake,
    RefStep,
    Targets,
    UnknownCardError,
)

__all__ = [
    "Card",
    "Deck",
    "DeckError",
    "Declarations",
    "Followup",
    "Mistake",
    "RefStep",
    "Targets",
    "UnknownCardError",
    "bundled_deck_dir",
    "card_errors",
    "deck_errors",
    "load_card",
    "load_deck",
]
