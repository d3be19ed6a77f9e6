"""decks layer (see docs/INTERFACES.md)."""
