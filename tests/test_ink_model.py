"""The ink model's pure edits."""

import pytest

from whiteboard_app.ink import Point, StepInk, Stroke


def test_stroke_needs_points():
    with pytest.raises(ValueError):
        Stroke(())


def test_edits_are_pure_and_invertible():
    a = Stroke.from_xy([(0, 0), (10, 5)])
    b = Stroke.from_xy([(20, 0), (30, 40)], t0=100)
    ink = StepInk().with_stroke(a).with_stroke(b)
    assert [s.id for s in ink.strokes] == [a.id, b.id]
    removed = ink.without([a.id])
    assert [s.id for s in removed.strokes] == [b.id]
    assert len(ink) == 2  # the original is untouched
    restored = removed.with_stroke(a, index=0)
    assert restored.strokes == ink.strokes
    moved = ink.replaced([a.translated(5, 5)])
    assert moved.strokes[0].points[0] == Point(5, 5, 0.0, 0.5)
    assert moved.signature() != ink.signature()
    assert ink.bbox.right == 30 and ink.bbox.bottom == 40
