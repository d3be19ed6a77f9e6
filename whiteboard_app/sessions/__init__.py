"""sessions layer (see docs/INTERFACES.md)."""
