"""BoardCanvas: synthesised tablet and mouse input, pressure widths, stylus-only mode, steps, zoom and
pan, incremental painting, read-only replay, export."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, Qt
from PySide6.QtGui import (
    QImage,
    QInputDevice,
    QKeyEvent,
    QMouseEvent,
    QNativeGestureEvent,
    QPainter,
    QPointingDevice,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication

from tests.ui.tablet import make_canvas, mouse_stroke, send_tablet, tablet_stroke, write_ink
from whiteboard_app.ink.model import BBox, StepInk, Stroke
from whiteboard_app.ink.page import Page
from whiteboard_app.ui.canvas import stroke_width
from whiteboard_app.ui.undo import MoveCommand

pytestmark = pytest.mark.qt


def dark_run(img: QImage, x: int, y0: int, y1: int) -> float:
    """Ink coverage of column x between rows y0..y1, in px (the ink's thickness there, antialiasing
    counted as fractions)."""
    return sum((255 - QColor_lightness(img.pixel(x, y))) / 255 for y in range(y0, y1))


def QColor_lightness(rgb: int) -> int:  # noqa: N802
    r, g, b = (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255
    return (r + g + b) // 3


def hline(x0, x1, y, n=12):
    return [(x0 + (x1 - x0) * i / (n - 1), y) for i in range(n)]


def key(canvas, k, kind=QEvent.Type.KeyPress, mods=Qt.KeyboardModifier.NoModifier, auto=False):
    QApplication.sendEvent(canvas, QKeyEvent(kind, k, mods, "", auto))


def test_tablet_stroke_becomes_ink_in_canvas_coordinates(qtbot):
    canvas, model = make_canvas(qtbot)
    canvas.set_clock(iter(range(0, 10_000, 8)).__next__)
    finished = []
    canvas.strokeFinished.connect(lambda k, s: finished.append((k, s)))
    ox, oy = canvas.view_offset()
    tablet_stroke(canvas, [(100, 60), (130, 70), (160, 80)], [0.2, 0.5, 0.9])
    (stroke,) = model.page.steps[0].strokes
    assert [(p.x, p.y, p.pressure) for p in stroke.points] == [
        (100 - ox, 60 - oy, 0.2),
        (130 - ox, 70 - oy, 0.5),
        (160 - ox, 80 - oy, 0.9),
    ]
    assert [p.t for p in stroke.points] == sorted(p.t for p in stroke.points)
    assert finished == [(0, stroke)]


def test_width_follows_pressure(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, hline(100, 400, 60), 0.1)
    tablet_stroke(canvas, hline(100, 400, 110), 1.0)
    img = canvas.grab().toImage()
    thin, thick = dark_run(img, 250, 45, 80), dark_run(img, 250, 95, 130)
    assert 0.3 < thin < thick
    assert thick >= 3 * thin
    assert stroke_width(1.0) == pytest.approx(9 * stroke_width(0.0))


def test_pressure_curve_changes_widths(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, hline(100, 400, 60), 0.5)
    before = dark_run(canvas.grab().toImage(), 250, 40, 80)
    canvas.set_pressure_curve(3.0)  # a harder pen: mid pressure draws thinner
    after = dark_run(canvas.grab().toImage(), 250, 40, 80)
    assert 0.3 < after < 0.8 * before
    with pytest.raises(ValueError):
        canvas.set_pressure_curve(0.0)


def test_mouse_draws_with_default_pressure(qtbot):
    canvas, model = make_canvas(qtbot)
    mouse_stroke(canvas, [(100, 60), (140, 62), (180, 64)])
    (stroke,) = model.page.steps[0].strokes
    assert {p.pressure for p in stroke.points} == {0.5}
    assert len(stroke.points) == 3


def test_stylus_only_mode_ignores_the_mouse_after_a_tablet_event(qtbot):
    canvas, model = make_canvas(qtbot)
    mouse_stroke(canvas, [(100, 60), (140, 62)])  # no stylus seen yet: the mouse draws
    tablet_stroke(canvas, [(100, 90), (140, 92)], 0.5)
    mouse_stroke(canvas, [(100, 120), (140, 122)])  # a palm / mouse after the stylus: ignored
    assert model.page.stroke_count == 2
    canvas.set_stylus_only(False)
    mouse_stroke(canvas, [(100, 120), (140, 122)])
    assert model.page.stroke_count == 3


def test_hover_moves_draw_nothing(qtbot):
    canvas, model = make_canvas(qtbot)
    send_tablet(canvas, QEvent.Type.TabletMove, 100, 100, 0.0)
    send_tablet(canvas, QEvent.Type.TabletMove, 120, 100, 0.0)
    assert model.page.stroke_count == 0


def test_new_point_repaints_only_its_segment(qtbot):
    canvas, model = make_canvas(qtbot)
    send_tablet(canvas, QEvent.Type.TabletPress, 200, 200, 0.5)
    QApplication.processEvents()
    send_tablet(canvas, QEvent.Type.TabletMove, 206, 203, 0.5)
    QApplication.processEvents()
    r = canvas.last_paint_rect
    assert r.contains(QPoint(203, 201)) and r.width() * r.height() < 600  # a few px, not the 800x600 board
    send_tablet(canvas, QEvent.Type.TabletRelease, 206, 203, 0.0)
    assert model.page.stroke_count == 1


def test_enter_starts_a_new_step(qtbot):
    canvas, model = make_canvas(qtbot)
    requested = []
    canvas.stepRequested.connect(lambda: requested.append(True))
    tablet_stroke(canvas, hline(100, 200, 60), 0.5)
    with qtbot.waitSignal(canvas.activeStepChanged) as sig:
        key(canvas, Qt.Key.Key_Return)
    assert sig.args == [1] and len(model.page) == 2 and requested == [True]
    key(canvas, Qt.Key.Key_Return)  # the new step is still empty: no second band
    assert len(model.page) == 2
    top = model.page.tops[1]
    y = canvas.canvas_to_view(0, top + 40)[1]
    tablet_stroke(canvas, hline(100, 200, y), 0.5)
    assert len(model.page.steps[1]) == 1
    canvas.undo_stack().undo()
    canvas.undo_stack().undo()
    assert len(model.page) == 1


def test_writing_below_the_last_band_starts_a_step_and_above_goes_back(qtbot):
    canvas, model = make_canvas(qtbot)
    requested = []
    canvas.stepRequested.connect(lambda: requested.append(True))
    tablet_stroke(canvas, hline(100, 200, 60), 0.5)
    below = canvas.canvas_to_view(0, model.page.bottom + 30)[1]
    tablet_stroke(canvas, hline(100, 200, below), 0.5)
    assert len(model.page) == 2 and len(model.page.steps[1]) == 1
    assert canvas.active_step() == 1 and requested == [True]
    tablet_stroke(canvas, hline(250, 300, 70), 0.5)  # back in the first band
    assert len(model.page.steps[0]) == 2 and canvas.active_step() == 0
    canvas.undo_stack().undo()
    canvas.undo_stack().undo()  # the stroke that opened step 2: the band goes too
    assert len(model.page) == 1


def test_clear_and_split_step(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, hline(100, 200, 40), 0.5)
    tablet_stroke(canvas, hline(100, 200, 110), 0.5)
    y_cut = canvas.view_to_canvas(0, 80)[1]
    canvas.split_step(0, y_cut)
    assert [len(s) for s in model.page.steps] == [1, 1]
    canvas.clear_step(1)
    assert [len(s) for s in model.page.steps] == [1, 0]
    canvas.undo_stack().undo()
    canvas.undo_stack().undo()
    assert [len(s) for s in model.page.steps] == [2]
    with pytest.raises(IndexError):
        canvas.clear_step(4)


def test_zoom_keeps_the_anchor_and_canvas_coordinates(qtbot):
    canvas, model = make_canvas(qtbot)
    anchor = (300.0, 200.0)
    before = canvas.view_to_canvas(*anchor)
    canvas.zoom_by(2.0, anchor)
    assert canvas.scale() == 2.0
    assert canvas.view_to_canvas(*anchor) == pytest.approx(before)
    tablet_stroke(canvas, [(300, 200), (320, 200)], 0.5)
    (stroke,) = model.page.steps[0].strokes
    assert (stroke.points[0].x, stroke.points[0].y) == pytest.approx(before)
    assert stroke.points[1].x - stroke.points[0].x == pytest.approx(10.0)  # 20 widget px at 2x


def test_ctrl_wheel_zooms_about_the_cursor_and_wheel_pans(qtbot):
    canvas, model = make_canvas(qtbot)
    pos = QPointF(400, 300)
    under = canvas.view_to_canvas(400, 300)

    def wheel(dy, mods):
        ev = QWheelEvent(
            pos,
            QPointF(canvas.mapToGlobal(pos.toPoint())),
            QPoint(0, 0),
            QPoint(0, dy),
            Qt.MouseButton.NoButton,
            mods,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(canvas, ev)

    wheel(120 * 4, Qt.KeyboardModifier.ControlModifier)
    assert canvas.scale() == pytest.approx(2.0)
    assert canvas.view_to_canvas(400, 300) == pytest.approx(under)
    ox, oy = canvas.view_offset()
    wheel(-120, Qt.KeyboardModifier.NoModifier)  # scroll down: content moves up
    assert canvas.view_offset() == pytest.approx((ox, oy - 48))


def test_middle_drag_and_space_drag_pan_without_drawing(qtbot):
    canvas, model = make_canvas(qtbot)
    ox, oy = canvas.view_offset()
    mouse_stroke(canvas, [(300, 300), (320, 330)], button=Qt.MouseButton.MiddleButton)
    assert canvas.view_offset() == pytest.approx((ox + 20, oy + 30))
    key(canvas, Qt.Key.Key_Space)
    tablet_stroke(canvas, [(300, 300), (290, 310)], 0.5)
    key(canvas, Qt.Key.Key_Space, QEvent.Type.KeyRelease)
    assert canvas.view_offset() == pytest.approx((ox + 10, oy + 40))
    assert model.page.stroke_count == 0
    # after panning, a stroke still lands at the canvas point under the pen
    tablet_stroke(canvas, [(300, 300), (310, 300)], 0.5)
    p0 = model.page.steps[0].strokes[0].points[0]
    assert (p0.x, p0.y) == pytest.approx((300 - ox - 10, 300 - oy - 40))


def test_zoom_to_fit_shows_all_ink(qtbot):
    page = Page().with_stroke(0, Stroke.from_xy([(0, 0), (2000, 1500)]))
    canvas, model = make_canvas(qtbot, page)
    canvas.zoom_to_fit()
    x, y = canvas.canvas_to_view(2000, 1500)
    assert 0 <= x <= canvas.width() and 0 <= y <= canvas.height()
    assert canvas.scale() < 0.5


def test_eraser_end_of_the_stylus_erases(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, hline(100, 300, 60), 0.5)
    tablet_stroke(canvas, [(200, 40), (200, 80)], 0.5, eraser=True)
    assert model.page.stroke_count == 0
    assert canvas.tool() == "pen"


def test_read_only_ignores_ink_and_replay_shows_strokes_until(qtbot):
    a = Stroke.from_xy([(100, 40), (300, 40)], t0=0, dt=100)
    b = Stroke.from_xy([(100, 100), (300, 100)], t0=5000, dt=100)
    canvas, model = make_canvas(qtbot, Page().with_stroke(0, a).with_stroke(0, b))
    canvas.set_read_only(True)
    tablet_stroke(canvas, hline(100, 300, 200), 0.5)
    assert model.page.stroke_count == 2
    canvas.show_strokes_until(1000)
    img = canvas.grab().toImage()
    xa, ya = map(int, canvas.canvas_to_view(200, 40))
    xb, yb = map(int, canvas.canvas_to_view(200, 100))
    assert dark_run(img, xa, ya - 5, ya + 5) > 1 and dark_run(img, xb, yb - 5, yb + 5) < 0.05
    canvas.show_strokes_until(None)
    assert dark_run(canvas.grab().toImage(), xb, yb - 5, yb + 5) > 1


def test_ink_activity_is_signalled_while_writing(qtbot):
    canvas, model = make_canvas(qtbot)
    seen = []
    canvas.inkActivity.connect(lambda: seen.append(True))
    tablet_stroke(canvas, hline(100, 300, 60), 0.5)
    assert len(seen) >= 2  # pen down and pen up at least


def test_render_to_exports_the_page(qtbot):
    page = Page.from_steps(
        [
            StepInk((Stroke.from_xy([(0, 20), (400, 20)], pressure=1.0),)),
            StepInk((Stroke.from_xy([(0, 160), (400, 160)], pressure=1.0),)),
        ]
    )
    canvas, model = make_canvas(qtbot, page)
    img = QImage(400, 300, QImage.Format.Format_ARGB32)
    img.fill(0)
    painter = QPainter(img)
    canvas.render_to(painter, QRect(0, 0, 400, 300))
    painter.end()
    column = [QColor_lightness(img.pixel(200, y)) for y in range(300)]
    dark_rows = [y for y, v in enumerate(column) if v < 100]
    assert dark_rows and max(dark_rows) - min(dark_rows) > 50  # both steps' lines are there
    assert QColor_lightness(img.pixel(200, 5)) > 200  # white paper


def test_write_ink_helper_reproduces_generated_ink(qtbot):
    ink = StepInk((Stroke.from_xy([(10, 10, 0, 0.3), (40, 30, 10, 0.7)]),))
    canvas, model = make_canvas(qtbot)
    canvas.zoom_by(1.5)
    write_ink(canvas, ink)
    (s,) = model.page.steps[0].strokes
    assert [(round(p.x, 6), round(p.y, 6), p.pressure) for p in s.points] == [(10, 10, 0.3), (40, 30, 0.7)]


def test_scrolling_pan_matches_a_full_render(qtbot):
    page = Page().with_stroke(0, Stroke.from_xy([(x, 40 + (x % 37)) for x in range(0, 700, 7)], pressure=0.8))
    page = page.with_stroke(0, Stroke.from_xy([(300, 0), (320, 120)]))
    canvas, model = make_canvas(qtbot, page)
    canvas.pan_by(33, -21)  # scrolls the cached board, renders the two uncovered strips
    canvas.pan_by(-50, 64)
    scrolled = canvas.grab().toImage()
    canvas._full_render()
    assert canvas.grab().toImage() == scrolled
    assert dark_run(scrolled, int(canvas.canvas_to_view(310, 0)[0]), 0, 600) > 5


def test_undo_in_the_middle_of_a_stroke_leaves_the_board_drawn_right(qtbot):
    canvas, model = make_canvas(qtbot)
    tablet_stroke(canvas, hline(100, 300, 60), 0.8)
    send_tablet(canvas, QEvent.Type.TabletPress, 150, 40, 0.8)
    send_tablet(canvas, QEvent.Type.TabletMove, 250, 80, 0.8)  # crosses the first line
    canvas.undo_stack().undo()  # the first line goes while the pen is down
    send_tablet(canvas, QEvent.Type.TabletRelease, 250, 80, 0.0)
    assert model.page.stroke_count == 1
    drawn = canvas.grab().toImage()
    canvas._full_render()
    assert canvas.grab().toImage() == drawn  # the cache matches a render from the model


def big_differences(a: QImage, b: QImage, tol: int = 80) -> int:
    """Pixels whose lightness differs by more than ``tol`` (antialiasing of live vs. re-rendered ink
    differs by a few levels only)."""
    return int((np.abs(lightness(a) - lightness(b)) > tol).sum())


def lightness(img: QImage) -> np.ndarray:
    """(height, width) int array of (r + g + b) / 3."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    bgra = raw[:, : 4 * img.width()].reshape(img.height(), img.width(), 4).astype(int)
    return bgra[..., :3].sum(axis=2) // 3


def test_incremental_painting_matches_a_full_render_after_many_edits(qtbot):
    canvas, model = make_canvas(qtbot, size=(500, 400))
    stack = canvas.undo_stack()
    for i in range(6):
        tablet_stroke(canvas, [(60 + 50 * i, 40), (80 + 50 * i, 90), (100 + 50 * i, 50)], [0.3, 0.9, 0.5])
    below = canvas.canvas_to_view(0, model.page.bottom + 20)[1]
    tablet_stroke(canvas, hline(60, 300, below), 0.7)  # opens step 2
    canvas.set_tool("eraser")
    tablet_stroke(canvas, [(130, 30), (130, 100)], 0.5)
    assert model.page.stroke_count == 6 and len(model.page) == 2
    canvas.set_tool("lasso")
    tablet_stroke(canvas, [(200, 20), (330, 20), (330, 110), (200, 110)], 0.5)
    assert len(canvas.selected_ids()) >= 2
    tablet_stroke(canvas, [(260, 60), (250, 90)], 0.5)  # move the selection
    stack.undo()
    stack.undo()
    stack.redo()
    canvas.pan_by(-17, 9)
    canvas.set_tool("pen")
    tablet_stroke(canvas, [(60, 140), (200, 150)], 0.6)
    drawn = canvas.grab().toImage()
    canvas._full_render()
    assert big_differences(drawn, canvas.grab().toImage()) == 0


def _device(name, dtype, ptype):
    dev = QPointingDevice(name, 900 + int(dtype.value), dtype, ptype, QInputDevice.Capability.Position, 10, 1)
    _KEEP.append(dev)
    return dev


_KEEP: list = []


def send_mouse(canvas, kind, x, y, device, buttons=Qt.MouseButton.LeftButton):
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    pos = QPointF(x, y)
    QApplication.sendEvent(
        canvas, QMouseEvent(kind, pos, pos, pos, button, buttons, Qt.KeyboardModifier.NoModifier, device)
    )


def test_touch_and_stylus_synthesised_mouse_events(qtbot):
    canvas, model = make_canvas(qtbot)
    touch = _device("touchscreen", QInputDevice.DeviceType.TouchScreen, QPointingDevice.PointerType.Finger)
    pen = _device("pen as mouse", QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen)
    # a mouse event Qt made from a stylus never draws (the tablet event already did)
    for kind, x in (
        (QEvent.Type.MouseButtonPress, 100),
        (QEvent.Type.MouseMove, 150),
        (QEvent.Type.MouseButtonRelease, 150),
    ):
        send_mouse(canvas, kind, x, 60, pen)
    assert model.page.stroke_count == 0
    # a finger draws until a stylus has been seen (palm rejection afterwards)
    for kind, x in (
        (QEvent.Type.MouseButtonPress, 100),
        (QEvent.Type.MouseMove, 150),
        (QEvent.Type.MouseButtonRelease, 150),
    ):
        send_mouse(canvas, kind, x, 60, touch)
    assert model.page.stroke_count == 1
    tablet_stroke(canvas, [(100, 100), (150, 100)], 0.5)
    for kind, x in (
        (QEvent.Type.MouseButtonPress, 100),
        (QEvent.Type.MouseMove, 150),
        (QEvent.Type.MouseButtonRelease, 150),
    ):
        send_mouse(canvas, kind, x, 140, touch)
    assert model.page.stroke_count == 2


def test_pinch_zooms_about_the_fingers(qtbot):
    canvas, model = make_canvas(qtbot)
    pad = _device("touchpad", QInputDevice.DeviceType.TouchPad, QPointingDevice.PointerType.Finger)
    pos = QPointF(250, 150)
    under = canvas.view_to_canvas(250, 150)
    ev = QNativeGestureEvent(
        Qt.NativeGestureType.ZoomNativeGesture, pad, 2, pos, pos, pos, 0.5, QPointF(0, 0)
    )
    QApplication.sendEvent(canvas, ev)
    assert canvas.scale() == pytest.approx(1.5)
    assert canvas.view_to_canvas(250, 150) == pytest.approx(under)


def test_replay_forward_is_incremental_and_matches_a_full_render(qtbot):
    strokes = [
        Stroke.from_xy([(60 + 40 * i, 40), (80 + 40 * i, 90), (95 + 40 * i, 50)], t0=1000 * i, dt=200)
        for i in range(8)
    ]
    page = Page()
    for s in strokes:
        page = page.with_stroke(0, s)
    canvas, model = make_canvas(qtbot, page, size=(500, 300))
    canvas.set_read_only(True)
    canvas.show_strokes_until(0)
    for ms in (300, 1300, 2500, 2600, 5100):
        canvas.show_strokes_until(ms)
    drawn = canvas.grab().toImage()
    canvas._full_render()
    assert big_differences(drawn, canvas.grab().toImage()) == 0
    x6 = int(canvas.canvas_to_view(80 + 40 * 6, 60)[0])
    x4 = int(canvas.canvas_to_view(75 + 40 * 4, 60)[0])
    assert dark_run(drawn, x6, 0, 200) < 0.05 and dark_run(drawn, x4, 0, 200) > 1  # stroke 6 not yet, 4 done
    canvas.show_strokes_until(100)  # seek back
    assert dark_run(canvas.grab().toImage(), x4, 0, 200) < 0.05


def test_strokes_in_matches_a_brute_force_box_test(qtbot):
    rng = random.Random(3)
    page = Page()
    for k in range(4):
        for _ in range(30):
            x, y = rng.uniform(0, 600), 150 * k + rng.uniform(0, 120)
            end = (x + rng.uniform(-30, 30), y + rng.uniform(0, 40))
            page = page.with_stroke(min(k, len(page)), Stroke.from_xy([(x, y), end]))
    canvas, model = make_canvas(qtbot, page)
    for _ in range(50):
        x, y = rng.uniform(-50, 650), rng.uniform(-50, 650)
        box = BBox(x, y, x + rng.uniform(1, 120), y + rng.uniform(1, 120))
        expected = {s.id for _, s in model.page.strokes() if s.bbox.intersects(box)}
        assert {s.id for s in canvas.strokes_in(box)} == expected
    # after an edit the cache follows the page
    s0 = model.page.steps[0].strokes[0]
    canvas.undo_stack().push(MoveCommand(model, [s0.id], 1000, 0))
    moved = model.page.stroke(s0.id)
    assert s0.id in {s.id for s in canvas.strokes_in(moved.bbox)}
    assert s0.id not in {s.id for s in canvas.strokes_in(s0.bbox)} or s0.bbox.intersects(moved.bbox)
