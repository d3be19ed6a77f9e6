"""Scratch-out, lasso and stroke-eraser geometry (pure, no Qt)."""

from __future__ import annotations

import math

import pytest

from whiteboard_app.ink.gestures import (
    direction_reversals,
    eraser_hits,
    lasso_select,
    point_in_polygon,
    scratch_out_targets,
    segment_distance,
)
from whiteboard_app.ink.model import Stroke


def zigzag(x0, x1, y0, y1, sweeps, per_sweep=6):
    """A scribble sweeping between x0 and x1 ``sweeps`` times while drifting from y0 to y1."""
    pts = []
    n = sweeps * per_sweep
    for i in range(n + 1):
        sweep, frac = divmod(i, per_sweep)
        frac /= per_sweep
        x = x0 + (x1 - x0) * (frac if sweep % 2 == 0 else 1 - frac)
        pts.append((x, y0 + (y1 - y0) * i / n))
    return Stroke.from_xy(pts)


def letter_x(cx, cy, r=10):
    return [
        Stroke.from_xy([(cx - r, cy - r), (cx, cy), (cx + r, cy + r)]),
        Stroke.from_xy([(cx + r, cy - r), (cx, cy), (cx - r, cy + r)]),
    ]


@pytest.mark.parametrize(
    "stroke,expected",
    [
        (Stroke.from_xy([(0, 0), (50, 0), (100, 0)]), 0),
        (Stroke.from_xy([(0, 0), (100, 0), (0, 10), (100, 20)]), 2),  # a "Z"
        (zigzag(0, 60, 0, 20, 5), 4),
        (Stroke.from_xy([(0, 0), (50, 0), (48, 0), (100, 0)]), 0),  # jitter below the hysteresis
    ],
)
def test_direction_reversals(stroke, expected):
    assert direction_reversals(stroke) == expected


def test_scratch_out_over_ink_deletes_covered_strokes_only():
    covered = letter_x(30, 10)
    far = Stroke.from_xy([(200, 0), (240, 20)])
    gesture = zigzag(10, 55, -5, 25, 6)
    assert set(scratch_out_targets(gesture, covered + [far])) == {s.id for s in covered}


def test_zigzag_over_nothing_is_ink():
    far = Stroke.from_xy([(200, 0), (240, 20)])
    assert scratch_out_targets(zigzag(0, 50, 0, 20, 6), [far]) == ()


def dense(corners, per=8):
    """A stroke through ``corners`` with ``per`` samples on each segment (as a pen would give)."""
    pts = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:], strict=False):
        pts += [(x0 + (x1 - x0) * i / per, y0 + (y1 - y0) * i / per) for i in range(per)]
    return Stroke.from_xy(pts + [corners[-1]])


@pytest.mark.parametrize(
    "corners,reversals",
    [
        ([(0, 10), (60, 10)], 0),  # a straight line (e.g. a fraction bar)
        ([(0, 0), (60, 0), (0, 15), (60, 15)], 2),  # a "Z"
        ([(60, -5), (0, -5), (30, 10), (0, 25), (60, 25)], 3),  # a one-stroke capital sigma
    ],
)
def test_ordinary_strokes_over_ink_are_not_scratch_outs(corners, reversals):
    gesture = dense(corners)
    assert direction_reversals(gesture) == reversals
    assert scratch_out_targets(gesture, letter_x(30, 10)) == ()


def test_five_sweeps_over_ink_is_a_scratch_out():
    gesture = dense([(0, -5), (60, 0), (0, 5), (60, 10), (0, 15), (60, 25)])
    assert direction_reversals(gesture) == 4
    assert len(scratch_out_targets(gesture, letter_x(30, 10))) == 2


def test_scratch_out_spares_strokes_mostly_outside():
    long_line = Stroke.from_xy([(x, 10) for x in range(0, 300, 10)])  # mostly right of the scribble
    assert scratch_out_targets(zigzag(0, 40, 0, 20, 6), [long_line]) == ()


SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]


@pytest.mark.parametrize(
    "x,y,inside", [(5, 5, True), (15, 5, False), (-1, 5, False), (9.9, 0.1, True), (5, 11, False)]
)
def test_point_in_polygon(x, y, inside):
    assert point_in_polygon(x, y, SQUARE) is inside


def test_point_in_concave_polygon():
    u_shape = [(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)]
    assert point_in_polygon(5, 20, u_shape) and not point_in_polygon(15, 20, u_shape)


def test_lasso_selects_strokes_mostly_inside():
    inside = Stroke.from_xy([(2, 2), (5, 5), (8, 8)])
    half_out = Stroke.from_xy([(5, 5), (15, 5), (25, 5), (35, 5)])
    outside = Stroke.from_xy([(50, 50), (60, 60)])
    assert lasso_select(SQUARE, [inside, half_out, outside]) == (inside.id,)
    assert set(lasso_select(SQUARE, [inside, half_out], min_fraction=0.25)) == {inside.id, half_out.id}
    assert lasso_select([(0, 0), (1, 1)], [inside]) == ()


@pytest.mark.parametrize(
    "a,b,c,d,dist",
    [
        ((0, 0), (10, 0), (0, 5), (10, 5), 5.0),
        ((0, 0), (10, 10), (0, 10), (10, 0), 0.0),  # crossing
        ((0, 0), (0, 0), (3, 4), (3, 4), 5.0),  # two points
        ((0, 0), (10, 0), (13, 4), (20, 4), 5.0),  # end to end
    ],
)
def test_segment_distance(a, b, c, d, dist):
    assert math.isclose(segment_distance(a, b, c, d), dist, abs_tol=1e-9)


def test_eraser_hits_by_distance_and_along_its_path():
    s1 = Stroke.from_xy([(0, 0), (100, 0)])
    s2 = Stroke.from_xy([(0, 50), (100, 50)])
    dot = Stroke.from_xy([(200, 200)])
    assert eraser_hits((50, 6), (50, 6), [s1, s2, dot], radius=8) == (s1.id,)
    assert eraser_hits((50, 10), (50, 10), [s1, s2], radius=8) == ()
    # a fast eraser movement crossing both lines between two samples hits both
    assert set(eraser_hits((50, -20), (50, 70), [s1, s2, dot], radius=2)) == {s1.id, s2.id}
    assert eraser_hits((203, 204), (203, 204), [dot], radius=5) == (dot.id,)


def www(x0, y0, width, height, letters=3):
    """A "WWW" written in one stroke: each W is four strokes down-up-down-up, side by side."""
    corners = []
    for k in range(letters):
        left = x0 + k * width
        corners += [
            (left, y0),
            (left + width / 4, y0 + height),
            (left + width / 2, y0 + height / 3),
            (left + 3 * width / 4, y0 + height),
            (left + width, y0),
        ]
    return dense(corners)


@pytest.mark.parametrize("width, height, letters", [(20, 20, 3), (30, 25, 3), (15, 30, 4), (25, 18, 2)])
def test_a_www_scribble_over_ink_is_a_scratch_out(width, height, letters):
    gesture = www(30 - width * letters / 2, 0, width, height, letters)
    assert direction_reversals(gesture, across=True) >= 6
    ink = letter_x(30, height / 2, r=min(8, height / 2 - 1))
    assert set(scratch_out_targets(gesture, ink)) == {s.id for s in ink}


@pytest.mark.parametrize(
    "corners",
    [
        [(0, 0), (8, 20), (15, 8), (22, 20), (30, 0)],  # a "w"
        [(0, 20), (0, 0), (0, 20), (10, 0), (15, 20), (20, 0), (30, 20)],  # an "m" (humps as V)
        [(0, 0), (0, 20), (5, 5), (10, 20), (15, 0)],  # an "N"/"W"-like letter
    ],
)
def test_one_letter_zigzags_across_are_not_scratch_outs(corners):
    gesture = dense(corners)
    assert scratch_out_targets(gesture, letter_x(15, 10, r=6)) == ()


def test_a_tall_vertical_scribble_over_ink_is_a_scratch_out():
    # sweeps left-right while travelling down a tall column: the main axis is vertical
    pts = []
    for k in range(8):
        pts += [(0, k * 10), (20, k * 10 + 5)]
    gesture = dense(pts)
    ink = [Stroke.from_xy([(10, 10), (10, 60)])]
    assert scratch_out_targets(gesture, ink) == (ink[0].id,)
