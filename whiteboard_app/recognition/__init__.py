"""recognition layer (see docs/INTERFACES.md)."""
