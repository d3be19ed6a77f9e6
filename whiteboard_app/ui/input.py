"""THE input adapter: turns QTabletEvent / QMouseEvent into ``PenEvent`` carrying an ``ink.Point``.

Nothing past this module sees a Qt event type (Rnote's ``penevent.rs`` is the model). A ``PenEvent``
holds the point in canvas px (after the view transform), the time in ms from the adapter's clock, the
pressure 0..1 (tablet pressure; 0.5 for the mouse), where it came from ("stylus", "mouse", "touch"),
whether the stylus is flipped to its eraser end, the button ("left", "middle", "right", "none") and the
widget (view) position, which panning needs. Tilt is ignored.

Stylus-only mode (palm rejection): once a tablet event has been seen, left-button mouse and touch
drawing is ignored (the adapter returns None); middle-button and right-button events (panning, menus)
still pass. The mode is a setting (``stylus_only``); it does nothing until a stylus has been seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QInputDevice, QMouseEvent, QPointingDevice, QTabletEvent

from whiteboard_app.ink.model import DEFAULT_PRESSURE, Point

_KINDS = {
    QEvent.Type.TabletPress: "press",
    QEvent.Type.TabletMove: "move",
    QEvent.Type.TabletRelease: "release",
    QEvent.Type.MouseButtonPress: "press",
    QEvent.Type.MouseMove: "move",
    QEvent.Type.MouseButtonRelease: "release",
    QEvent.Type.MouseButtonDblClick: "press",
}
_BUTTONS = {
    Qt.MouseButton.LeftButton: "left",
    Qt.MouseButton.MiddleButton: "middle",
    Qt.MouseButton.RightButton: "right",
}


@dataclass(frozen=True, slots=True)
class PenEvent:
    """One pen, mouse or touch sample, free of Qt: ``kind`` is "press", "move" or "release"; ``point`` in
    canvas px / ms / pressure 0..1; ``view_x``, ``view_y`` in widget px."""

    kind: str
    point: Point
    source: str = "mouse"
    button: str = "left"
    eraser: bool = False
    view_x: float = 0.0
    view_y: float = 0.0


def _monotonic_ms() -> Callable[[], float]:
    t0 = time.perf_counter()
    return lambda: (time.perf_counter() - t0) * 1000.0


class InputAdapter:
    """Converts Qt pointer events to ``PenEvent``.

    ``to_canvas(x, y) -> (x, y)`` maps widget px to canvas px (the view transform); ``clock() -> ms``
    stamps the points (default: ms since the adapter was made; a window passes its session clock).
    """

    def __init__(
        self,
        to_canvas: Callable[[float, float], tuple[float, float]],
        clock: Callable[[], float] | None = None,
        stylus_only: bool = True,
    ) -> None:
        self.to_canvas = to_canvas
        self.clock = clock or _monotonic_ms()
        self.stylus_only = stylus_only
        self.tablet_seen = False
        self._pen_down = False
        self._last_pressure = DEFAULT_PRESSURE

    def _point(self, x: float, y: float, pressure: float) -> Point:
        cx, cy = self.to_canvas(x, y)
        return Point(cx, cy, float(self.clock()), pressure)

    def tablet(self, event: QTabletEvent) -> PenEvent | None:
        """A PenEvent for a tablet press/move/release, or None for hover (moves with the pen up)."""
        kind = _KINDS.get(event.type())
        if kind is None:
            return None
        self.tablet_seen = True
        if kind == "move" and not self._pen_down:
            return None  # proximity / hover
        if kind == "press":
            self._pen_down = True
        elif kind == "release":
            self._pen_down = False
        pressure = min(1.0, max(0.0, float(event.pressure())))
        if kind == "release" and pressure == 0.0:
            pressure = self._last_pressure  # a release reports 0; keep the stroke's last width
        self._last_pressure = pressure
        pos = event.position()
        eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
        button = "left" if kind == "move" else _BUTTONS.get(event.button(), "left")
        return PenEvent(
            kind, self._point(pos.x(), pos.y(), pressure), "stylus", button, eraser, pos.x(), pos.y()
        )

    def mouse(self, event: QMouseEvent) -> PenEvent | None:
        """A PenEvent for a mouse (or touch-synthesised mouse) event, or None when it must be ignored:
        a mouse event Qt synthesised from a stylus (the tablet event already counted), or left-button
        drawing in stylus-only mode after a tablet was seen."""
        kind = _KINDS.get(event.type())
        if kind is None:
            return None
        dev = event.device()
        dev_type = dev.type() if dev is not None else QInputDevice.DeviceType.Mouse
        if dev_type in (QInputDevice.DeviceType.Stylus, QInputDevice.DeviceType.Airbrush):
            return None
        source = (
            "touch"
            if dev_type in (QInputDevice.DeviceType.TouchScreen, QInputDevice.DeviceType.TouchPad)
            else "mouse"
        )
        if kind == "move":
            buttons = event.buttons()
            button = next((name for b, name in _BUTTONS.items() if buttons & b), "none")
        else:
            button = _BUTTONS.get(event.button(), "none")
        if button == "left" and self.stylus_only and self.tablet_seen:
            return None
        pos = event.position()
        return PenEvent(
            kind, self._point(pos.x(), pos.y(), DEFAULT_PRESSURE), source, button, False, pos.x(), pos.y()
        )
