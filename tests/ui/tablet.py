"""Test helpers that synthesise stylus (QTabletEvent) and mouse strokes on a widget.

Reusable by any Qt test (the window's end-to-end test writes generated ink through these)::

    from tests.ui.tablet import tablet_stroke, write_ink
    tablet_stroke(canvas, [(10, 10), (40, 30)], pressures=[0.2, 0.9])   # widget px
    write_ink(canvas, step_ink, origin=(0, 0))                            # canvas px, via the view transform

Events go through ``QApplication.sendEvent`` to the widget's viewport (``widget.viewport()`` when it has
one, else the widget), exactly as the platform would deliver them (press, moves, release).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QInputDevice, QMouseEvent, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication, QWidget

_DEVICES: dict[str, QPointingDevice] = {}


def stylus_device(eraser: bool = False) -> QPointingDevice:
    """A stylus QPointingDevice (pen or its eraser end) with position and pressure; kept alive here."""
    key = "eraser" if eraser else "pen"
    if key not in _DEVICES:
        caps = (
            QInputDevice.Capability.Position
            | QInputDevice.Capability.Pressure
            | QInputDevice.Capability.XTilt
            | QInputDevice.Capability.YTilt
        )
        ptype = QPointingDevice.PointerType.Eraser if eraser else QPointingDevice.PointerType.Pen
        _DEVICES[key] = QPointingDevice(
            f"synthetic stylus ({key})", 4242 + eraser, QInputDevice.DeviceType.Stylus, ptype, caps, 1, 2
        )
    return _DEVICES[key]


def _target(widget: QWidget) -> QWidget:
    vp = getattr(widget, "viewport", None)
    return vp() if callable(vp) else widget


def send_tablet(
    widget: QWidget,
    kind: QEvent.Type,
    x: float,
    y: float,
    pressure: float,
    eraser: bool = False,
    pen_button: Qt.MouseButton = Qt.MouseButton.LeftButton,
) -> bool:
    """Send one QTabletEvent (TabletPress / TabletMove / TabletRelease) at widget px (x, y); returns
    whether the widget accepted it. ``pen_button`` RightButton is the stylus's barrel button."""
    target = _target(widget)
    pos = QPointF(x, y)
    glob = QPointF(target.mapToGlobal(QPoint(round(x), round(y))))
    down = kind != QEvent.Type.TabletRelease
    button = pen_button if kind != QEvent.Type.TabletMove else Qt.MouseButton.NoButton
    buttons = pen_button if down else Qt.MouseButton.NoButton
    ev = QTabletEvent(
        kind,
        stylus_device(eraser),
        pos,
        glob,
        pressure,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        Qt.KeyboardModifier.NoModifier,
        button,
        buttons,
    )
    QApplication.sendEvent(target, ev)
    return ev.isAccepted()


def tablet_stroke(
    widget: QWidget,
    xy: Sequence[tuple[float, float]],
    pressures: Sequence[float] | float = 0.6,
    eraser: bool = False,
) -> None:
    """Press, move through and release the stylus along widget-px points ``xy`` with the given pressure
    (one value, or one per point)."""
    ps = [pressures] * len(xy) if isinstance(pressures, int | float) else list(pressures)
    assert len(ps) == len(xy), "one pressure per point"
    (x0, y0), *rest = xy
    send_tablet(widget, QEvent.Type.TabletPress, x0, y0, ps[0], eraser)
    for (x, y), p in zip(rest, ps[1:], strict=True):
        send_tablet(widget, QEvent.Type.TabletMove, x, y, p, eraser)
    xl, yl = xy[-1]
    send_tablet(widget, QEvent.Type.TabletRelease, xl, yl, 0.0, eraser)


def mouse_stroke(
    widget: QWidget, xy: Sequence[tuple[float, float]], button: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    """Press, drag through and release a mouse button along widget-px points ``xy``."""
    target = _target(widget)

    def send(kind: QEvent.Type, x: float, y: float, btn: Qt.MouseButton, btns: Qt.MouseButton) -> None:
        pos = QPointF(x, y)
        glob = QPointF(target.mapToGlobal(QPoint(round(x), round(y))))
        QApplication.sendEvent(
            target, QMouseEvent(kind, pos, glob, btn, btns, Qt.KeyboardModifier.NoModifier)
        )

    (x0, y0), *rest = xy
    send(QEvent.Type.MouseButtonPress, x0, y0, button, button)
    for x, y in rest:
        send(QEvent.Type.MouseMove, x, y, Qt.MouseButton.NoButton, button)
    xl, yl = xy[-1]
    send(QEvent.Type.MouseButtonRelease, xl, yl, button, Qt.MouseButton.NoButton)


def write_ink(canvas, ink, dx: float = 0.0, dy: float = 0.0) -> None:
    """Write every stroke of a ``StepInk`` (canvas px, shifted by (dx, dy)) onto a ``BoardCanvas`` as
    stylus strokes, mapping through the canvas's current view transform and keeping each point's
    pressure."""
    for stroke in ink.strokes:
        xy = [canvas.canvas_to_view(p.x + dx, p.y + dy) for p in stroke.points]
        tablet_stroke(canvas, xy, [p.pressure for p in stroke.points])


def make_canvas(qtbot, page=None, size=(800, 600)):
    """A shown ``BoardCanvas`` over a new ``PageModel`` (optionally holding ``page``), registered with
    qtbot; returns (canvas, model)."""
    from whiteboard_app.ui.canvas import BoardCanvas
    from whiteboard_app.ui.page_model import PageModel

    model = PageModel(page)
    canvas = BoardCanvas(model)
    qtbot.addWidget(canvas)
    canvas.resize(*size)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas, model
