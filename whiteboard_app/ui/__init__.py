"""ui layer (see docs/INTERFACES.md)."""
