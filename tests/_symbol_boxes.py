"""Stand-ins for the recogniser's symbol boxes in tests of the layout passes: a bounding box in ink
pixels (x, y the top-left corner; w, h width and height) and a read symbol (class name, box, the
classifier's confidence and its n-best alternatives), with the attributes the passes read."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Sym:
    name: str
    bbox: Box
    confidence: float = 0.9
    alternatives: list = field(default_factory=list)
