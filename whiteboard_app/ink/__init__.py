"""Ink: points, strokes and step ink (frozen dataclasses), pure edits, JSON lines and InkML io."""

from whiteboard_app.ink.model import BBox, Point, StepInk, Stroke, new_stroke_id


class InkFormatError(ValueError):
    """Malformed ink data (JSON lines or InkML): names the source, the line or element, and the reason."""

    #: set by the readers (whiteboard_app.ink.io): the file, the line or element, the reason
    path: str
    where: str
    reason: str


__all__ = ["BBox", "InkFormatError", "Point", "StepInk", "Stroke", "new_stroke_id"]
