"""The ink model: Point, Stroke, StepInk as frozen dataclasses, and pure edits on them.

Units: x and y are canvas pixels (y grows downwards), t is milliseconds since the start of the
session (0 where the device gave no time channel), pressure is 0..1 (0.5 where the device gave none).
Every edit returns a new object; nothing is mutated, which is what undo/redo commands rely on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

DEFAULT_PRESSURE = 0.5

_ids = itertools.count(1)


def new_stroke_id() -> int:
    """Return a process-unique stroke id (positive int)."""
    return next(_ids)


@dataclass(frozen=True, slots=True)
class Point:
    """One sampled pen position: x, y in canvas px, t in ms, pressure in 0..1."""

    x: float
    y: float
    t: float = 0.0
    pressure: float = DEFAULT_PRESSURE

    def as_list(self) -> list[float]:
        """[x, y, t, pressure] as stored in JSON lines."""
        return [self.x, self.y, self.t, self.pressure]


@dataclass(frozen=True, slots=True)
class BBox:
    """Axis-aligned bounding box in canvas px."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def union(self, other: BBox) -> BBox:
        return BBox(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )

    def intersects(self, other: BBox) -> bool:
        return not (
            other.left > self.right
            or other.right < self.left
            or other.top > self.bottom
            or other.bottom < self.top
        )


@dataclass(frozen=True, slots=True)
class Stroke:
    """One pen-down..pen-up trace: a tuple of Points (at least one) and a stable id.

    Raises ValueError when built with no points.
    """

    points: tuple[Point, ...]
    id: int = field(default_factory=new_stroke_id, compare=False)

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a stroke needs at least one point")
        if not isinstance(self.points, tuple):
            object.__setattr__(self, "points", tuple(self.points))

    @classmethod
    def from_xy(
        cls,
        xy: Iterable[Sequence[float]],
        t0: float = 0.0,
        dt: float = 10.0,
        pressure: float = DEFAULT_PRESSURE,
    ) -> Stroke:
        """Build a stroke from (x, y[, t[, pressure]]) rows; missing t is t0 + k*dt ms."""
        pts = []
        for k, row in enumerate(xy):
            x, y = float(row[0]), float(row[1])
            t = float(row[2]) if len(row) > 2 and row[2] is not None else t0 + k * dt
            p = float(row[3]) if len(row) > 3 and row[3] is not None else pressure
            pts.append(Point(x, y, t, p))
        return cls(tuple(pts))

    @property
    def bbox(self) -> BBox:
        xs = [p.x for p in self.points]
        ys = [p.y for p in self.points]
        return BBox(min(xs), min(ys), max(xs), max(ys))

    @property
    def start_ms(self) -> float:
        return self.points[0].t

    @property
    def end_ms(self) -> float:
        return self.points[-1].t

    def length(self) -> float:
        """Arc length in px."""
        return sum(
            math.dist((a.x, a.y), (b.x, b.y)) for a, b in zip(self.points, self.points[1:], strict=False)
        )

    def translated(self, dx: float, dy: float) -> Stroke:
        """The same stroke (same id) moved by (dx, dy) px."""
        return replace(self, points=tuple(Point(p.x + dx, p.y + dy, p.t, p.pressure) for p in self.points))


@dataclass(frozen=True, slots=True)
class StepInk:
    """The ink of one step of a derivation: strokes in writing order."""

    strokes: tuple[Stroke, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.strokes, tuple):
            object.__setattr__(self, "strokes", tuple(self.strokes))

    def __len__(self) -> int:
        return len(self.strokes)

    @property
    def is_empty(self) -> bool:
        return not self.strokes

    @property
    def bbox(self) -> BBox | None:
        """Union of the strokes' boxes, or None for empty ink."""
        box = None
        for s in self.strokes:
            box = s.bbox if box is None else box.union(s.bbox)
        return box

    def with_stroke(self, stroke: Stroke, index: int | None = None) -> StepInk:
        """A copy with ``stroke`` appended (or inserted at ``index``)."""
        strokes = list(self.strokes)
        strokes.insert(len(strokes) if index is None else index, stroke)
        return StepInk(tuple(strokes))

    def without(self, stroke_ids: Iterable[int]) -> StepInk:
        """A copy without the strokes whose ids are given."""
        drop = set(stroke_ids)
        return StepInk(tuple(s for s in self.strokes if s.id not in drop))

    def replaced(self, new: Iterable[Stroke]) -> StepInk:
        """A copy where strokes with the ids of ``new`` are replaced by them (e.g. after a move)."""
        by_id = {s.id: s for s in new}
        return StepInk(tuple(by_id.get(s.id, s) for s in self.strokes))

    def signature(self) -> tuple[int, ...]:
        """Ids of the strokes in order: changes whenever the ink changes (used to drop stale results)."""
        return tuple(s.id for s in self.strokes) + (hash(tuple(s.points[-1] for s in self.strokes)),)
