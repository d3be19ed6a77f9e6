"""Pure geometry for the board's gestures and selection tools (no Qt): scratch-out, lasso, stroke eraser.

All coordinates are canvas px. The functions take candidate strokes as any iterable of ``Stroke`` and
return stroke ids, so callers decide which strokes are eligible (e.g. only the active step's).

- Scratch-out: a pen stroke that zig-zags (at least ``min_reversals`` direction reversals along its main
  axis, each sweep at least ``min_sweep_px`` long) over existing ink deletes the strokes it covers. The
  rule follows the usual pen-computing heuristic (e.g. Windows Ink / Xournal++'s "strike-through"
  erasing): many reversals in a compact area plus overlap with ink.
- Lasso: a stroke is selected when at least ``min_fraction`` of its points lie inside the lasso polygon
  (even-odd ray casting, as in the classic point-in-polygon test of W. R. Franklin's ``pnpoly``).
- Stroke eraser: a stroke is erased when any of its segments passes within ``radius`` px of the eraser's
  path segment (segment-to-segment distance).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from whiteboard_app.ink.model import BBox, Point, Stroke

XY = tuple[float, float]


# --------------------------------------------------------------------------------------- scratch-out
def _principal_axis(pts: Sequence[Point]) -> tuple[float, float, float, float]:
    """(mean x, mean y, ux, uy): the centre and unit main axis (principal component) of the points."""
    mx = sum(p.x for p in pts) / len(pts)
    my = sum(p.y for p in pts) / len(pts)
    sxx = sum((p.x - mx) ** 2 for p in pts)
    syy = sum((p.y - my) ** 2 for p in pts)
    sxy = sum((p.x - mx) * (p.y - my) for p in pts)
    angle = 0.5 * math.atan2(2 * sxy, sxx - syy)  # principal axis of the 2x2 covariance
    return mx, my, math.cos(angle), math.sin(angle)


def _reversals_along(proj: Sequence[float], min_sweep_px: float) -> int:
    """Direction reversals of a 1-D path with hysteresis ``min_sweep_px`` (see direction_reversals)."""
    reversals = 0
    direction = 0  # +1 going up the axis, -1 going down, 0 not yet moved min_sweep_px
    extreme = proj[0]
    for v in proj[1:]:
        if direction == 0:
            if abs(v - proj[0]) >= min_sweep_px:
                direction, extreme = (1 if v > proj[0] else -1), v
        elif direction * (v - extreme) > 0:
            extreme = v
        elif abs(v - extreme) >= min_sweep_px:
            reversals += 1
            direction, extreme = -direction, v
    return reversals


def direction_reversals(stroke: Stroke, min_sweep_px: float = 8.0, across: bool = False) -> int:
    """How many times the stroke turns back along its main axis (the axis of largest spread), or, with
    ``across``, along the perpendicular axis (a "WWW"-shaped scribble: its sweeps go up and down while
    the stroke travels along its main axis).

    The projection onto the axis is scanned with hysteresis: a reversal counts only after the pen has
    travelled ``min_sweep_px`` back from the last extreme, so jitter does not count. A straight line has
    0, a "Z" 2, a five-sweep scribble 4.
    """
    pts = stroke.points
    if len(pts) < 3:
        return 0
    mx, my, ux, uy = _principal_axis(pts)
    if across:
        ux, uy = -uy, ux
    return _reversals_along([(p.x - mx) * ux + (p.y - my) * uy for p in pts], min_sweep_px)


def _extent_along(stroke: Stroke, across: bool) -> float:
    pts = stroke.points
    mx, my, ux, uy = _principal_axis(pts)
    if across:
        ux, uy = -uy, ux
    proj = [(p.x - mx) * ux + (p.y - my) * uy for p in pts]
    return max(proj) - min(proj)


def _inside_box(p: Point, box: BBox, pad: float) -> bool:
    return box.left - pad <= p.x <= box.right + pad and box.top - pad <= p.y <= box.bottom + pad


#: Extra reversals a scribble whose sweeps run across its main axis ("WWW") needs: one-stroke letters
#: zig-zag that way too (a "w" has 3 reversals across, an "m" 4), a scratch-out has many more.
ACROSS_EXTRA_REVERSALS = 2


def is_zigzag(stroke: Stroke, min_reversals: int = 4, min_sweep_px: float = 8.0) -> bool:
    """The shape test of a scratch-out (without looking at ink), at least 6 points and either

    * sweeps along the main axis (a horizontal scribble drifting down): ``min_reversals`` reversals
      and a path at least 3 times the larger side of its box; or
    * sweeps across the main axis (a "WWW" or a vertical zig-zag travelling sideways):
      ``min_reversals + ACROSS_EXTRA_REVERSALS`` reversals across, sweeps at least a quarter of the
      scribble's length and 2 ``min_sweep_px`` tall, and a path at least 3 times the scribble's length
      or 6 times its sweep, whichever is less.
    """
    if len(stroke.points) < 6:
        return False
    box = stroke.bbox
    length = stroke.length()
    if direction_reversals(stroke, min_sweep_px) >= min_reversals:
        if length >= 3.0 * max(box.width, box.height, 1.0):
            return True
    if direction_reversals(stroke, min_sweep_px, across=True) >= min_reversals + ACROSS_EXTRA_REVERSALS:
        along, across = _extent_along(stroke, False), _extent_along(stroke, True)
        return across >= max(0.25 * along, 2.0 * min_sweep_px) and length >= min(3.0 * along, 6.0 * across)
    return False


def scratch_out_targets(
    gesture: Stroke,
    strokes: Iterable[Stroke],
    min_reversals: int = 4,
    min_sweep_px: float = 8.0,
    min_covered: float = 0.6,
    pad_px: float = 4.0,
) -> tuple[int, ...]:
    """Ids of the strokes a scratch-out gesture deletes, or () when ``gesture`` is not a scratch-out.

    ``gesture`` is a scratch-out when ``is_zigzag`` holds (at least ``min_reversals`` direction reversals,
    see ``direction_reversals``, and a path at least 3 times the main extent of its box); it deletes every candidate stroke with at least ``min_covered`` of its points inside the
    gesture's box grown by ``pad_px``. A zig-zag over no ink deletes nothing and is ordinary ink.
    Four reversals (five sweeps) by default, because maths has zig-zag letters: a one-stroke capital
    sigma has three, a "Z" or a zeta two.
    """
    if not is_zigzag(gesture, min_reversals, min_sweep_px):
        return ()
    box = gesture.bbox
    hit = []
    for s in strokes:
        if s.id == gesture.id or not s.bbox.intersects(
            BBox(box.left - pad_px, box.top - pad_px, box.right + pad_px, box.bottom + pad_px)
        ):
            continue
        inside = sum(_inside_box(p, box, pad_px) for p in s.points)
        if inside >= min_covered * len(s.points):
            hit.append(s.id)
    return tuple(hit)


# --------------------------------------------------------------------------------------------- lasso
def point_in_polygon(x: float, y: float, polygon: Sequence[XY]) -> bool:
    """Even-odd rule: True when (x, y) lies inside the closed polygon (vertices in order, >= 3).

    Source: W. R. Franklin, "PNPOLY - Point Inclusion in Polygon Test" (ray casting).
    """
    inside = False
    n = len(polygon)
    if n < 3:
        return False
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def lasso_select(
    polygon: Sequence[XY], strokes: Iterable[Stroke], min_fraction: float = 0.5
) -> tuple[int, ...]:
    """Ids of the strokes with at least ``min_fraction`` of their points inside the lasso ``polygon``."""
    if len(polygon) < 3:
        return ()
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    hull = BBox(min(xs), min(ys), max(xs), max(ys))
    chosen = []
    for s in strokes:
        if not s.bbox.intersects(hull):
            continue
        inside = sum(point_in_polygon(p.x, p.y, polygon) for p in s.points)
        if inside >= min_fraction * len(s.points) and inside > 0:
            chosen.append(s.id)
    return tuple(chosen)


# -------------------------------------------------------------------------------------- stroke eraser
def _seg_point_dist2(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    t = 0.0 if len2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / len2))
    qx, qy = ax + t * dx - px, ay + t * dy - py
    return qx * qx + qy * qy


def _segments_intersect(a: XY, b: XY, c: XY, d: XY) -> bool:
    def orient(p: XY, q: XY, r: XY) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    d1, d2 = orient(c, d, a), orient(c, d, b)
    d3, d4 = orient(a, b, c), orient(a, b, d)
    return (d1 > 0) != (d2 > 0) and (d3 > 0) != (d4 > 0) and d1 * d2 < 0 and d3 * d4 < 0


def segment_distance(a: XY, b: XY, c: XY, d: XY) -> float:
    """Shortest distance in px between segments ab and cd (0 when they cross)."""
    if _segments_intersect(a, b, c, d):
        return 0.0
    return math.sqrt(
        min(
            _seg_point_dist2(*a, *c, *d),
            _seg_point_dist2(*b, *c, *d),
            _seg_point_dist2(*c, *a, *b),
            _seg_point_dist2(*d, *a, *b),
        )
    )


def eraser_hits(a: XY, b: XY, strokes: Iterable[Stroke], radius: float = 8.0) -> tuple[int, ...]:
    """Ids of the strokes that the eraser, moving from canvas point ``a`` to ``b``, touches: some segment
    (or the single point) of the stroke lies within ``radius`` px of segment ab."""
    reach = BBox(
        min(a[0], b[0]) - radius, min(a[1], b[1]) - radius, max(a[0], b[0]) + radius, max(a[1], b[1]) + radius
    )
    hits = []
    for s in strokes:
        if not s.bbox.intersects(reach):
            continue
        pts = s.points
        if len(pts) == 1:
            near = _seg_point_dist2(pts[0].x, pts[0].y, *a, *b) <= radius * radius
        else:
            near = any(
                segment_distance(a, b, (p.x, p.y), (q.x, q.y)) <= radius
                for p, q in zip(pts, pts[1:], strict=False)
            )
        if near:
            hits.append(s.id)
    return tuple(hits)
