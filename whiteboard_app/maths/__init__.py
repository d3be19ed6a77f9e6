"""maths layer (see docs/INTERFACES.md)."""
