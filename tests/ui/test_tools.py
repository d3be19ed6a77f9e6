"""Tools driven through the canvas with synthesised stylus strokes: pen scratch-out, stroke eraser,
lasso select / move / delete, cancel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from tests.ui.tablet import make_canvas, send_tablet, tablet_stroke

pytestmark = pytest.mark.qt


def key(canvas, k):
    QApplication.sendEvent(canvas, QKeyEvent(QEvent.Type.KeyPress, k, Qt.KeyboardModifier.NoModifier))


def write_x(canvas, cx, cy, r=12):
    tablet_stroke(canvas, [(cx - r, cy - r), (cx, cy), (cx + r, cy + r)], 0.6)
    tablet_stroke(canvas, [(cx + r, cy - r), (cx, cy), (cx - r, cy + r)], 0.6)


def scribble(cx, cy, half_w=22, half_h=16, sweeps=7, per=5):
    pts = []
    n = sweeps * per
    for i in range(n + 1):
        sweep, f = divmod(i, per)
        f /= per
        x = cx - half_w + 2 * half_w * (f if sweep % 2 == 0 else 1 - f)
        pts.append((x, cy - half_h + 2 * half_h * i / n))
    return pts


def test_scratch_out_deletes_the_ink_it_covers_and_undo_brings_it_back(qtbot):
    canvas, model = make_canvas(qtbot)
    write_x(canvas, 150, 70)
    write_x(canvas, 400, 70)
    assert model.page.stroke_count == 4
    kept = {s.id for s in model.page.steps[0].strokes[2:]}
    tablet_stroke(canvas, scribble(150, 70), 0.5)
    assert {s.id for s in model.page.steps[0].strokes} == kept  # the gesture is not ink either
    assert canvas.undo_stack().undoText() == "Scratch out"
    canvas.undo_stack().undo()
    assert model.page.stroke_count == 4
    canvas.undo_stack().redo()
    assert model.page.stroke_count == 2


def test_scribble_on_empty_paper_is_ink(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, scribble(300, 70), 0.5)
    assert model.page.stroke_count == 1


def test_eraser_tool_erases_touched_strokes_in_one_command(qtbot):
    canvas, model = make_canvas(qtbot)
    write_x(canvas, 150, 70)
    tablet_stroke(canvas, [(300, 60), (400, 60)], 0.5)
    canvas.set_tool("eraser")
    stack = canvas.undo_stack()
    n = stack.count()
    tablet_stroke(canvas, [(150, 40), (150, 100)], 0.5)  # through both strokes of the x
    assert model.page.stroke_count == 1 and stack.count() == n + 1
    stack.undo()
    assert model.page.stroke_count == 3
    with pytest.raises(ValueError):
        canvas.set_tool("spray")


def test_eraser_hides_strokes_while_moving_and_cancel_restores(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, [(100, 60), (300, 60)], 0.5)
    canvas.set_tool("eraser")
    send_tablet(canvas, QEvent.Type.TabletPress, 200, 50, 0.5)
    send_tablet(canvas, QEvent.Type.TabletMove, 200, 70, 0.5)
    assert canvas._hidden  # shown as erased at once
    key(canvas, Qt.Key.Key_Escape)
    send_tablet(canvas, QEvent.Type.TabletRelease, 200, 70, 0.0)
    assert model.page.stroke_count == 1 and not canvas._hidden


def test_lasso_selects_then_drag_moves_and_undo_restores(qtbot):
    canvas, model = make_canvas(qtbot)
    write_x(canvas, 150, 70)
    tablet_stroke(canvas, [(400, 60), (450, 60)], 0.5)
    original = {s.id: s for s in model.page.steps[0].strokes}
    canvas.set_tool("lasso")
    tablet_stroke(canvas, [(120, 40), (180, 40), (180, 100), (120, 100), (120, 40)], 0.5)
    x_ids = {s.id for s in model.page.steps[0].strokes[:2]}
    assert set(canvas.selected_ids()) == x_ids
    assert model.page.stroke_count == 3  # the lasso drew nothing
    tablet_stroke(canvas, [(150, 70), (170, 80), (190, 100)], 0.5)  # drag from inside the selection
    for sid in x_ids:
        a, b = original[sid].points[0], model.page.stroke(sid).points[0]
        assert (b.x - a.x, b.y - a.y) == pytest.approx((40, 30))
    other = next(iter(set(original) - x_ids))
    assert model.page.stroke(other) is original[other]
    canvas.undo_stack().undo()
    assert all(model.page.stroke(sid) is original[sid] for sid in original)


def test_lasso_delete_key_erases_the_selection(qtbot):
    canvas, model = make_canvas(qtbot)
    write_x(canvas, 150, 70)
    canvas.set_tool("lasso")
    tablet_stroke(canvas, [(120, 40), (180, 40), (180, 100), (120, 100)], 0.5)
    key(canvas, Qt.Key.Key_Delete)
    assert model.page.stroke_count == 0 and canvas.selected_ids() == ()
    canvas.undo_stack().undo()
    assert model.page.stroke_count == 2


def test_switching_tool_drops_the_selection(qtbot):
    canvas, model = make_canvas(qtbot)
    write_x(canvas, 150, 70)
    canvas.set_tool("lasso")
    tablet_stroke(canvas, [(120, 40), (180, 40), (180, 100), (120, 100)], 0.5)
    assert canvas.selected_ids()
    canvas.set_tool("pen")
    assert canvas.selected_ids() == ()


def test_escape_cancels_a_pen_stroke(qtbot):
    canvas, model = make_canvas(qtbot)
    send_tablet(canvas, QEvent.Type.TabletPress, 100, 60, 0.5)
    send_tablet(canvas, QEvent.Type.TabletMove, 160, 60, 0.5)
    key(canvas, Qt.Key.Key_Escape)
    send_tablet(canvas, QEvent.Type.TabletRelease, 160, 60, 0.0)
    assert model.page.stroke_count == 0
    img = canvas.grab().toImage()
    assert all((img.pixel(130, y) & 0xFF) > 240 for y in range(50, 70))  # the live ink was wiped


def test_eraser_reach_is_in_screen_pixels_at_any_zoom(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, [(100, 60), (300, 60)], 0.5)
    canvas.set_tool("eraser")
    tablet_stroke(canvas, [(200, 72), (210, 72)], 0.5)  # 12 widget px away: out of reach (8 px)
    assert model.page.stroke_count == 1
    canvas.zoom_by(0.25, (200, 60))  # zoomed out about a point of the line, which stays at (200, 60)
    tablet_stroke(canvas, [(200, 66), (202, 66)], 0.5)  # 6 widget px = 24 canvas px away: in reach
    assert model.page.stroke_count == 0
