"""The board canvas: a QWidget that draws a ``PageModel`` as step bands of pressure-sensitive ink.

Painting is incremental: the committed ink lives in a cached image (widget px); a new pen sample paints
only its new segment into the cache and repaints that segment's rectangle, and a model change
re-renders only the boxes of the strokes that changed (the whole cache is redrawn only on zoom, pan,
resize, a change of band layout or of the pressure curve). Each stroke is drawn as the union of a disc
per point and a trapezoid per segment, with the width following the pressure through
``stroke_width`` (a gamma curve), so live and re-rendered ink look the same.

Input goes through ``ui.input.InputAdapter`` (the one Qt -> ``ink.Point`` adapter) to the current tool
(``ui.tools``); edits are ``ui.undo`` commands on ``undo_stack()``. Zoom: Ctrl+wheel, pinch; pan: wheel /
Shift+wheel, middle-button drag, Space+drag. Enter starts a new step; Delete deletes the lasso selection;
Escape cancels the current gesture. A right click (or the stylus's barrel button) opens the step menu:
split the step at that height, merge it with the next one, clear it.

Public API (see docs/INTERFACES.md, section ui): ``BoardCanvas(model, parent=None, undo_stack=None)``;
signals ``strokeFinished(int step, object stroke)``, ``stepRequested()``, ``activeStepChanged(int)``,
``inkActivity()``; methods ``set_tool``, ``new_step``, ``clear_step``, ``split_step``, ``merge_with_next``,
``step_menu``, ``undo_stack``,
``set_pressure_curve``, ``zoom_to_fit``, ``render_to``, ``set_read_only``, ``show_strokes_until``,
``set_stylus_only``, ``set_clock``, ``view_to_canvas``, ``canvas_to_view``, ``zoom_by``, ``pan_by``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QTransform,
    QUndoStack,
)
from PySide6.QtWidgets import QGestureEvent, QMenu, QPinchGesture, QWidget

from whiteboard_app.ink.model import BBox, Point, Stroke
from whiteboard_app.ink.page import Page
from whiteboard_app.ui import pyside_guard  # noqa: F401  (PySide6 6.12 None refcount defect)
from whiteboard_app.ui.input import InputAdapter, PenEvent
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.tools import TOOLS, LassoTool, Tool
from whiteboard_app.ui.undo import (
    AddStrokeCommand,
    ClearStepCommand,
    MergeStepsCommand,
    NewStepCommand,
    SplitStepCommand,
)

#: Pen width in canvas px at pressure 0.5 with gamma 1 (see ``stroke_width``).
BASE_WIDTH = 2.6
MIN_SCALE, MAX_SCALE = 0.1, 8.0
INK = QColor(20, 24, 36)
PAPER = QColor(255, 255, 255)
BAND_LINE = QColor(222, 224, 230)
BAND_LABEL = QColor(160, 164, 175)
ACTIVE_MARK = QColor(70, 130, 220)


def stroke_width(pressure: float, gamma: float = 1.0, base: float = BASE_WIDTH) -> float:
    """Ink width in canvas px for a pressure 0..1: ``base * (0.2 + 1.6 * pressure ** gamma)``.

    So pressure 0.5 with gamma 1 (the mouse) gives ``base``, full pressure 1.8 x base, a feather touch
    0.2 x base; gamma > 1 makes light strokes thinner (a harder pen), gamma < 1 thicker.
    """
    p = min(1.0, max(0.0, pressure))
    return base * (0.2 + 1.6 * p**gamma)


def stroke_path(points: Sequence[Point], gamma: float = 1.0, base: float = BASE_WIDTH) -> QPainterPath:
    """The filled outline of a stroke in canvas px: a disc per point plus a trapezoid per segment."""
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.WindingFill)
    radii = [0.5 * stroke_width(p.pressure, gamma, base) for p in points]
    for p, r in zip(points, radii, strict=True):
        path.addEllipse(QPointF(p.x, p.y), r, r)
    for i in range(1, len(points)):
        quad = _segment_quad(points[i - 1], radii[i - 1], points[i], radii[i])
        if quad is not None:
            path.addPolygon(quad)
            path.closeSubpath()
    return path


def _segment_quad(a: Point, ra: float, b: Point, rb: float) -> QPolygonF | None:
    dx, dy = b.x - a.x, b.y - a.y
    length = math.hypot(dx, dy)
    if length == 0:
        return None
    nx, ny = -dy / length, dx / length
    # Same orientation as QPainterPath.addEllipse, so the winding fill unites discs and trapezoids.
    return QPolygonF(
        [
            QPointF(a.x - nx * ra, a.y - ny * ra),
            QPointF(b.x - nx * rb, b.y - ny * rb),
            QPointF(b.x + nx * rb, b.y + ny * rb),
            QPointF(a.x + nx * ra, a.y + ny * ra),
        ]
    )


class BoardCanvas(QWidget):
    """The board canvas for a ``PageModel`` (see the module doc for input, painting and the API).

    ``undo_stack``: the stack the canvas pushes its edits to (a new one when None); the window shares
    it with its reading commands (``ui.undo.ReadingCommand``).
    """

    strokeFinished = Signal(int, object)
    stepRequested = Signal()
    activeStepChanged = Signal(int)
    inkActivity = Signal()

    def __init__(
        self, model: PageModel, parent: QWidget | None = None, undo_stack: QUndoStack | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._undo = undo_stack if undo_stack is not None else QUndoStack(self)
        self._scale = 1.0
        self._offset = QPointF(36.0, 16.0)
        self._gamma = 1.0
        self._cache = QImage()
        self._paths: dict[int, tuple[Stroke, QPainterPath, tuple[float, float, float, float]]] = {}
        self._hidden: frozenset[int] = frozenset()
        self._boxes: dict[int, tuple[Stroke, float, float, float, float]] = {}
        self._step_boxes: dict[int, tuple] = {}  # step -> (its StepInk, union box, stroke entries)
        self._shown_page: Page = model.page
        self._live_id: int | None = None
        self._live_box: BBox | None = None
        self._live_base: Page | None = None
        self._read_only = False
        self._step_marks_shown = True  # step numbers and the active step's bar (off in calibration boxes)
        self._marks: dict[int, tuple[str, str]] = {}  # step -> (symbol, colour) beside its number
        self.last_menu: QMenu | None = None  # the step menu the stylus's barrel button opened (tests)
        self._until_ms: float | None = None
        self._active_step = len(model.page.steps) - 1
        self._tools: dict[str, Tool] = {name: cls(self) for name, cls in TOOLS.items()}
        self._tool: Tool = self._tools["pen"]
        self._stroke_tool: Tool | None = None
        self._pan_from: tuple[float, float] | None = None
        self._space = False
        self._last_activity_ms = -1e9
        self.eraser_radius_px = 8.0  # widget px; see ``eraser_radius``
        self.ink_colour = INK
        self.last_paint_rect = QRect()  # the rect of the latest paintEvent (tests, benchmark)
        self.adapter = InputAdapter(self.view_to_canvas)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setMinimumSize(200, 150)
        self.grabGesture(Qt.GestureType.PinchGesture)
        model.pageChanged.connect(self._on_page_changed)

    # ----------------------------------------------------------------------------- transforms
    def scale(self) -> float:
        """Zoom factor: widget px per canvas px."""
        return self._scale

    def view_offset(self) -> tuple[float, float]:
        """Widget position (px) of the canvas origin."""
        return self._offset.x(), self._offset.y()

    def view_to_canvas(self, x: float, y: float) -> tuple[float, float]:
        """Widget px -> canvas px."""
        return (x - self._offset.x()) / self._scale, (y - self._offset.y()) / self._scale

    def canvas_to_view(self, x: float, y: float) -> tuple[float, float]:
        """Canvas px -> widget px."""
        return x * self._scale + self._offset.x(), y * self._scale + self._offset.y()

    def _transform(self) -> QTransform:
        return QTransform(self._scale, 0, 0, self._scale, self._offset.x(), self._offset.y())

    def _view_rect(self, box: BBox | tuple[float, float, float, float], pad: float = 0.0) -> QRect:
        left, top, right, bottom = (
            (box.left, box.top, box.right, box.bottom) if isinstance(box, BBox) else box
        )
        x0, y0 = self.canvas_to_view(left - pad, top - pad)
        x1, y1 = self.canvas_to_view(right + pad, bottom + pad)
        return QRect(math.floor(x0) - 2, math.floor(y0) - 2, math.ceil(x1 - x0) + 5, math.ceil(y1 - y0) + 5)

    def zoom_by(self, factor: float, anchor: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the widget point ``anchor`` (default: the centre) over the same
        canvas point; the scale is clamped to 0.1..8."""
        ax, ay = anchor if anchor is not None else (self.width() / 2, self.height() / 2)
        cx, cy = self.view_to_canvas(ax, ay)
        self._scale = min(MAX_SCALE, max(MIN_SCALE, self._scale * factor))
        self._offset = QPointF(ax - cx * self._scale, ay - cy * self._scale)
        self._full_render()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) widget px (the ink follows the pointer).

        Whole-pixel moves scroll the cached board and render only the strips that come into view;
        fractional ones re-render everything."""
        self._offset += QPointF(dx, dy)
        w, h = self.width(), self.height()
        if (
            self._cache.isNull()
            or dx != int(dx)
            or dy != int(dy)
            or abs(dx) >= w
            or abs(dy) >= h
            or self._until_ms is not None
        ):
            self._full_render()
            return
        dx, dy = int(dx), int(dy)
        old = self._cache
        self._cache = QImage(old.size(), old.format())
        self._cache.setDevicePixelRatio(old.devicePixelRatio())
        painter = QPainter(self._cache)
        painter.drawImage(QPointF(dx, dy), old)
        painter.end()
        if dx:
            self._render_region(QRect(0, 0, dx, h) if dx > 0 else QRect(w + dx, 0, -dx, h))
        if dy:
            self._render_region(QRect(0, 0, w, dy) if dy > 0 else QRect(0, h + dy, w, -dy))
        self.update()

    def show_step(self, k: int) -> None:
        """Pan (whole pixels) so that step k's band top is in view, if it is not; IndexError for a bad k."""
        top, _ = self.model.page.band(k)
        y0 = self.canvas_to_view(0, top)[1]
        if y0 < 0 or y0 > self.height() - 40:
            self.pan_by(0, round(16 - y0))

    def zoom_to_fit(self) -> None:
        """Scale and pan so that all bands and ink fit the widget (scale at most 1.5)."""
        left, top, right, bottom = self._page_extent(self.model.page)
        w, h = max(1, self.width() - 40), max(1, self.height() - 24)
        self._scale = min(1.5, max(MIN_SCALE, min(w / max(1.0, right - left), h / max(1.0, bottom - top))))
        self._offset = QPointF(36.0 - left * self._scale, 12.0 - top * self._scale)
        self._full_render()

    @staticmethod
    def _page_extent(page: Page) -> tuple[float, float, float, float]:
        box = page.bbox
        left = min(0.0, box.left - 20) if box else 0.0
        right = max(600.0, box.right + 20) if box else 600.0
        return left, page.tops[0], right, page.bottom

    # ---------------------------------------------------------------------------------- settings
    @property
    def eraser_radius(self) -> float:
        """The stroke eraser's reach in canvas px: ``eraser_radius_px`` widget px at the current zoom."""
        return self.eraser_radius_px / self._scale

    def undo_stack(self) -> QUndoStack:
        """The QUndoStack holding this canvas's edits."""
        return self._undo

    def set_tool(self, name: str) -> None:
        """Choose "pen", "eraser" or "lasso"; raises ValueError for another name."""
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; choose one of {sorted(self._tools)}")
        if self._tools[name] is not self._tool:
            self._tool.deactivate()
            self._tool = self._tools[name]

    def tool(self) -> str:
        """The current tool's name."""
        return self._tool.name

    def selected_ids(self) -> tuple[int, ...]:
        """Ids of the strokes selected by the lasso."""
        lasso = self._tools["lasso"]
        return lasso.selection if isinstance(lasso, LassoTool) else ()

    def set_pressure_curve(self, gamma: float) -> None:
        """Pressure curve exponent (``stroke_width``); raises ValueError unless 0.1 <= gamma <= 10."""
        if not 0.1 <= gamma <= 10.0:
            raise ValueError(f"pressure curve gamma must lie in 0.1..10, got {gamma}")
        self._gamma = float(gamma)
        self._paths.clear()
        self._full_render()

    def pressure_curve(self) -> float:
        """The pressure curve exponent in use (see ``stroke_width``)."""
        return self._gamma

    def set_stylus_only(self, on: bool) -> None:
        """Palm rejection: once a stylus was seen, ignore mouse / touch drawing (pan still works)."""
        self.adapter.stylus_only = bool(on)

    def set_clock(self, clock: Callable[[], float]) -> None:
        """The clock (ms) that stamps new points, e.g. the session's clock."""
        self.adapter.clock = clock

    def set_read_only(self, on: bool) -> None:
        """Read-only (review / replay): no tool reacts; zoom and pan still work."""
        if on and self._stroke_tool is not None:
            self._stroke_tool.cancel()
            self._stroke_tool = None
        self._read_only = bool(on)

    def set_step_marks_shown(self, on: bool) -> None:
        """Show the step numbers at the left edge and the active step's bar (on by default); a canvas that
        holds one sample, not a derivation (the calibration boxes), turns them off."""
        self._step_marks_shown = bool(on)
        self.update()

    def step_marks_shown(self) -> bool:
        """Whether step numbers and the active step's bar are drawn."""
        return self._step_marks_shown

    def is_read_only(self) -> bool:
        """Whether the canvas ignores drawing (review / replay)."""
        return self._read_only

    def show_strokes_until(self, ms: float | None) -> None:
        """Replay: draw only ink written up to ``ms`` (points with t <= ms); None shows everything.
        Moving forward repaints only the strokes that grew; a seek backwards redraws the board."""
        old, self._until_ms = self._until_ms, None if ms is None else float(ms)
        if old is None or self._until_ms is None or self._until_ms < old:
            self._full_render()
            return
        # Playing forward: repaint only the strokes that gained points in (old, ms].
        pad = self._max_radius()
        for _, s in self.model.page.strokes():
            if s.end_ms > old and s.start_ms <= self._until_ms:
                self._render_region(self._view_rect(s.bbox, pad))

    # -------------------------------------------------------------------------------- steps
    def active_step(self) -> int:
        """The step new ink goes to by default (the one last written in, or the newest band)."""
        return self._active_step

    def set_active_step(self, k: int) -> None:
        """Make step k active (emits ``activeStepChanged``); raises IndexError for a bad k."""
        if not 0 <= k < len(self.model.page.steps):
            raise IndexError(f"step {k} out of range")
        if k != self._active_step:
            old = self._active_step
            self._active_step = k
            self._update_band_mark(old)
            self._update_band_mark(k)
            self.activeStepChanged.emit(k)

    def new_step(self) -> None:
        """Start a new step (Enter): an empty band below the last (one undoable command; no second empty
        band), made active; emits ``stepRequested``."""
        page = self.model.page
        if not page.steps[-1].is_empty:
            self._undo.push(NewStepCommand(self.model))
        self.set_active_step(len(self.model.page.steps) - 1)
        self.stepRequested.emit()

    def clear_step(self, k: int) -> None:
        """Remove step k's ink (undoable); raises IndexError for a bad k."""
        if not 0 <= k < len(self.model.page.steps):
            raise IndexError(f"step {k} out of range")
        if not self.model.page.steps[k].is_empty:
            self._undo.push(ClearStepCommand(self.model, k))

    def split_step(self, k: int, y: float) -> None:
        """Cut step k at canvas y into two steps (undoable); ValueError when y is outside its band."""
        self.model.page.split_step(k, y)  # validate before pushing
        self._undo.push(SplitStepCommand(self.model, k, y))

    def merge_with_next(self, k: int) -> None:
        """Join step k+1 into step k (undoable); IndexError when step k+1 does not exist."""
        if not 0 <= k < len(self.model.page.steps) - 1:
            raise IndexError(f"step {k} has no next step to merge with")
        self._undo.push(MergeStepsCommand(self.model, k))

    def step_menu(self, y: float) -> QMenu | None:
        """The context menu for canvas y (right click, or the stylus's barrel button): split the step
        there, merge it with the next one, clear it. None on a read-only board."""
        if self._read_only:
            return None
        page = self.model.page
        k = min(page.step_at(y), len(page.steps) - 1)
        top, bottom = page.band(k)
        menu = QMenu(self)
        split = menu.addAction(f"Split step {k + 1} here", lambda: self.split_step(k, y))
        below = [(st.bbox.top + st.bbox.bottom) / 2.0 >= y for st in page.steps[k].strokes]
        split.setEnabled(top < y < bottom and any(below) and not all(below))  # ink on both sides
        merge = menu.addAction(f"Merge step {k + 1} with step {k + 2}", lambda: self.merge_with_next(k))
        merge.setEnabled(k + 1 < len(page.steps))
        clear = menu.addAction(f"Clear step {k + 1}", lambda: self.clear_step(k))
        clear.setEnabled(not page.steps[k].is_empty)
        return menu

    def _stylus_menu(self, pe: PenEvent) -> None:
        menu = self.step_menu(pe.point.y)
        if menu is not None:
            menu.popup(self.mapToGlobal(QPointF(pe.view_x, pe.view_y).toPoint()))
            self.last_menu = menu

    def contextMenuEvent(self, event) -> None:
        _, y = self.view_to_canvas(event.pos().x(), event.pos().y())
        menu = self.step_menu(y)
        if menu is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()

    # --------------------------------------------------------------------------- tool host API
    def add_stroke(self, stroke: Stroke) -> int:
        """Commit a finished stroke to the step its position selects (writing below the last band
        starts a new step and emits ``stepRequested``); returns the step index."""
        page = self.model.page
        k = page.step_for_stroke(stroke)
        opened = k == len(page.steps)
        if opened and page.steps[-1].is_empty:
            k, opened = len(page.steps) - 1, False
        # The live ink is already in the cache, unless the board changed under the pen (undo mid-stroke).
        self._live_id = stroke.id if page is self._live_base else None
        try:
            self._undo.push(AddStrokeCommand(self.model, k, stroke))
        finally:
            self._live_id = None
            self._live_box = None
        self.set_active_step(k)
        if opened:
            self.stepRequested.emit()
        self.strokeFinished.emit(k, stroke)
        return k

    def paint_live(self, points: Sequence[Point]) -> None:
        """Paint the newest segment (or the first dot) of a stroke being written into the cache and
        repaint only that segment's rectangle."""
        if self._cache.isNull():
            return
        if len(points) == 1:
            self._live_base = self.model.page
        b = points[-1]
        rb = 0.5 * stroke_width(b.pressure, self._gamma)
        painter = QPainter(self._cache)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._transform())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.ink_colour)
        painter.drawEllipse(QPointF(b.x, b.y), rb, rb)
        if len(points) > 1:
            a = points[-2]
            ra = 0.5 * stroke_width(a.pressure, self._gamma)
            quad = _segment_quad(a, ra, b, rb)
            if quad is not None:
                painter.drawPolygon(quad)
            box = BBox(min(a.x, b.x), min(a.y, b.y), max(a.x, b.x), max(a.y, b.y))
            pad = max(ra, rb)
        else:
            box, pad = BBox(b.x, b.y, b.x, b.y), rb
        painter.end()
        self._live_box = box if self._live_box is None else self._live_box.union(box)
        self.update(self._view_rect(box, pad))

    def discard_live(self, stroke: Stroke) -> None:
        """Live ink that did not become a stroke (a gesture, a cancel): repaint its area from the model."""
        self._live_box = None
        self._render_region(self._view_rect(stroke.bbox, self._max_radius()))

    def set_hidden(self, ids: Iterable[int]) -> None:
        """Hide these strokes from the board (eraser preview, strokes being dragged)."""
        new = frozenset(ids)
        if new == self._hidden:
            return
        changed = new.symmetric_difference(self._hidden)
        self._hidden = new
        pad = self._max_radius()
        for sid in changed:
            e = self._boxes.get(sid)
            if e is not None and e[0].id == sid:
                box = BBox(e[1], e[2], e[3], e[4])
            else:
                try:
                    box = self.model.page.stroke(sid).bbox
                except KeyError:
                    continue
            self._render_region(self._view_rect(box, pad))

    def update_canvas_rect(self, box: BBox) -> None:
        """Repaint the widget over a canvas-px box (overlays)."""
        self.update(self._view_rect(box, 6.0))

    def strokes_in(self, box: BBox) -> list[Stroke]:
        """The page's strokes whose boxes meet ``box`` (canvas px), from a cache of stroke boxes, so
        that the eraser, lasso and scratch-out test a handful of strokes rather than the whole board."""
        cache = self._boxes
        out = []
        left, top, right, bottom = box.left, box.top, box.right, box.bottom
        for k, ink in enumerate(self.model.page.steps):
            step = self._step_boxes.get(k)
            if step is None or step[0] is not ink:
                entries = []
                for s in ink.strokes:
                    e = cache.get(s.id)
                    if e is None or e[0] is not s:
                        b = s.bbox
                        e = (s, b.left, b.top, b.right, b.bottom)
                        cache[s.id] = e
                    entries.append(e)
                union = (
                    (
                        min(e[1] for e in entries),
                        min(e[2] for e in entries),
                        max(e[3] for e in entries),
                        max(e[4] for e in entries),
                    )
                    if entries
                    else None
                )
                step = (ink, union, entries)
                self._step_boxes[k] = step
            union = step[1]
            if union is None or union[2] < left or union[0] > right or union[3] < top or union[1] > bottom:
                continue
            out.extend(
                e[0] for e in step[2] if e[3] >= left and e[1] <= right and e[4] >= top and e[2] <= bottom
            )
        return out

    def stroke_path(self, stroke: Stroke) -> QPainterPath:
        """The cached outline path of a stroke (canvas px)."""
        return self._entry(stroke)[1]

    def _max_radius(self) -> float:
        return 0.5 * stroke_width(1.0, self._gamma) + 1.0

    def _entry(self, stroke: Stroke) -> tuple[Stroke, QPainterPath, tuple[float, float, float, float]]:
        e = self._paths.get(stroke.id)
        if e is None or e[0] is not stroke:
            path = stroke_path(stroke.points, self._gamma)
            r = path.boundingRect()
            e = (stroke, path, (r.left(), r.top(), r.right(), r.bottom()))
            self._paths[stroke.id] = e
        return e

    # ------------------------------------------------------------------------------ painting
    def _on_page_changed(self) -> None:
        old, new = self._shown_page, self.model.page
        self._shown_page = new
        if self._active_step >= len(new.steps):
            self._active_step = len(new.steps) - 1
            self.activeStepChanged.emit(self._active_step)
        if old.tops != new.tops and old.tops != new.tops[: len(old.tops)]:
            self._full_render()
            return
        boxes: list[QRect] = []
        pad = self._max_radius()
        for k in range(len(old.tops), len(new.tops)):  # bands appended: their separator strip
            y = self.canvas_to_view(0, new.tops[k])[1]
            boxes.append(QRect(0, math.floor(y) - 4, self.width(), 24))
        for k in range(max(len(old.steps), len(new.steps))):
            a = old.steps[k] if k < len(old.steps) else None
            b = new.steps[k] if k < len(new.steps) else None
            if a is b:
                continue
            before = {s.id: s for s in a.strokes} if a is not None else {}
            after = {s.id: s for s in b.strokes} if b is not None else {}
            for sid, s in before.items():
                if after.get(sid) is not s:
                    boxes.append(self._view_rect(s.bbox, pad))
            for sid, s in after.items():
                if before.get(sid) is not s and sid != self._live_id:
                    boxes.append(self._view_rect(s.bbox, pad))
        for r in boxes:
            self._render_region(r)

    def _full_render(self) -> None:
        self._render_region(None)

    def _render_region(self, rect: QRect | None) -> None:
        """Redraw the cache inside ``rect`` (widget px; None = everything) from the model, then schedule
        a repaint of that rect."""
        dpr = self.devicePixelRatioF()
        size = self.size() * dpr
        if self._cache.isNull() or self._cache.size() != size:
            if size.isEmpty():
                return
            self._cache = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
            self._cache.setDevicePixelRatio(dpr)
            rect = None
        full = QRect(0, 0, self.width(), self.height())
        rect = full if rect is None else rect.intersected(full)
        if rect.isEmpty():
            return
        painter = QPainter(self._cache)
        painter.setClipRect(rect)
        painter.fillRect(rect, PAPER)
        self._paint_bands(painter, rect)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setTransform(self._transform())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.ink_colour)
        left, top = self.view_to_canvas(rect.left(), rect.top())
        right, bottom = self.view_to_canvas(rect.right() + 1, rect.bottom() + 1)
        until = self._until_ms
        if rect == full:
            strokes: Iterable[Stroke] = (s for _, s in self.model.page.strokes())
        else:
            pad = self._max_radius()
            strokes = self.strokes_in(BBox(left - pad, top - pad, right + pad, bottom + pad))
        for s in strokes:
            if s.id in self._hidden:
                continue
            if until is not None and s.start_ms > until:
                continue
            if until is not None and s.end_ms > until:
                pts = [p for p in s.points if p.t <= until]
                painter.drawPath(stroke_path(pts, self._gamma))
                continue
            _, path, (l0, t0, r0, b0) = self._entry(s)
            if r0 >= left and l0 <= right and b0 >= top and t0 <= bottom:
                painter.drawPath(path)
        painter.end()
        self.update(rect)

    def _paint_bands(self, painter: QPainter, rect: QRect) -> None:
        """Band separators (cached with the ink; they scroll with it)."""
        painter.setPen(QPen(BAND_LINE, 1.0))
        for top in self.model.page.tops[1:]:
            y = self.canvas_to_view(0, top)[1]
            if rect.top() - 2 <= y <= rect.bottom() + 2:
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right() + 1, y))

    def _paint_labels(self, painter: QPainter, rect: QRect) -> None:
        """Step numbers at the left edge of the widget (an overlay: they stay put when panning), each with
        its step mark (``set_step_mark``: the verdict's symbol in its colour)."""
        if rect.left() > 34:
            return
        font = QFont(self.font())
        font.setPixelSize(11)
        painter.setFont(font)
        for k, top in enumerate(self.model.page.tops):
            y = self.canvas_to_view(0, top)[1]
            if rect.top() - 20 <= y <= rect.bottom() + 20:
                painter.setPen(BAND_LABEL)
                painter.drawText(QPointF(6.0, y + 15.0), str(k + 1))
                symbol, colour = self._marks.get(k, ("", ""))
                if symbol:
                    painter.setPen(QColor(colour))
                    painter.drawText(QPointF(8.0 + 7.0 * len(str(k + 1)), y + 15.0), symbol)

    def set_step_mark(self, k: int, symbol: str = "", colour: str = "#666666") -> None:
        """Show ``symbol`` (e.g. the verdict's check mark) in ``colour`` beside step k's number; "" clears."""
        if self._marks.get(k, ("", "")) == (symbol, colour if symbol else ""):
            return
        if symbol:
            self._marks[k] = (symbol, colour)
        else:
            self._marks.pop(k, None)
        if 0 <= k < len(self.model.page.tops):
            y = self.canvas_to_view(0, self.model.page.tops[k])[1]
            self.update(QRect(0, math.floor(y), 36, 20))

    def step_mark(self, k: int) -> tuple[str, str]:
        """(symbol, colour) shown beside step k's number ("" when none)."""
        return self._marks.get(k, ("", ""))

    def _update_band_mark(self, k: int) -> None:
        page = self.model.page
        if 0 <= k < len(page.steps):
            top, bottom = page.band(k)
            y0, y1 = self.canvas_to_view(0, top)[1], self.canvas_to_view(0, bottom)[1]
            self.update(QRect(0, math.floor(y0) - 1, 6, math.ceil(y1 - y0) + 2))

    def paintEvent(self, event) -> None:
        rect = event.rect()
        self.last_paint_rect = QRect(rect)
        if self._cache.isNull() or self._cache.size() != self.size() * self.devicePixelRatioF():
            self._full_render()
        painter = QPainter(self)
        painter.drawImage(
            rect,
            self._cache,
            QRectF(
                rect.topLeft() * self.devicePixelRatioF(), rect.size() * self.devicePixelRatioF()
            ).toRect(),
        )
        page = self.model.page
        if 0 <= self._active_step < len(page.steps) and not self._read_only and self._step_marks_shown:
            top, bottom = page.band(self._active_step)
            y0, y1 = self.canvas_to_view(0, top)[1], self.canvas_to_view(0, bottom)[1]
            painter.fillRect(QRectF(0, y0 + 2, 3, max(0.0, y1 - y0 - 4)), ACTIVE_MARK)
        if self._step_marks_shown:
            self._paint_labels(painter, rect)
        painter.setTransform(self._transform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._tool.paint_overlay(painter)
        painter.end()

    def resizeEvent(self, event) -> None:
        self._cache = QImage()
        self._full_render()
        super().resizeEvent(event)

    def render_to(self, painter: QPainter, rect: QRectF | QRect) -> None:
        """Draw the whole page (bands and all ink, scaled to fit, aspect kept) into ``rect`` of
        ``painter`` (export to PNG / PDF / printer)."""
        rect = QRectF(rect)
        left, top, right, bottom = self._page_extent(self.model.page)
        s = min(rect.width() / max(1.0, right - left), rect.height() / max(1.0, bottom - top))
        painter.save()
        painter.fillRect(rect, PAPER)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(rect.left() - left * s, rect.top() - top * s)
        painter.scale(s, s)
        pen = QPen(BAND_LINE, 0)
        for top_k in self.model.page.tops[1:]:
            painter.setPen(pen)
            painter.drawLine(QPointF(left, top_k), QPointF(right, top_k))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.ink_colour)
        for _, st in self.model.page.strokes():
            painter.drawPath(self._entry(st)[1])
        painter.restore()

    # -------------------------------------------------------------------------------- input
    def tabletEvent(self, event) -> None:
        pe = self.adapter.tablet(event)
        event.accept()
        if pe is not None:
            self._dispatch(pe)

    def mousePressEvent(self, event) -> None:
        self._mouse(event)

    def mouseMoveEvent(self, event) -> None:
        self._mouse(event)

    def mouseReleaseEvent(self, event) -> None:
        self._mouse(event)

    def _mouse(self, event) -> None:
        pe = self.adapter.mouse(event)
        event.accept()
        if pe is not None:
            self._dispatch(pe)

    def _dispatch(self, pe: PenEvent) -> None:
        """Route one pen event: panning (middle button, Space+drag), else the tool (the eraser end of a
        stylus always erases)."""
        if pe.kind == "press" and (pe.button == "middle" or (self._space and pe.button == "left")):
            self._pan_from = (pe.view_x, pe.view_y)
            return
        if self._pan_from is not None:
            x0, y0 = self._pan_from
            dx, dy = round(pe.view_x - x0), round(pe.view_y - y0)  # whole pixels: the cache scrolls
            self._pan_from = None if pe.kind == "release" else (x0 + dx, y0 + dy)
            if dx or dy:
                self.pan_by(dx, dy)
            return
        if pe.kind == "press" and pe.button == "right" and pe.source == "stylus":
            self._stylus_menu(pe)  # the barrel button (a mouse's right click comes as contextMenuEvent)
            return
        if self._read_only or pe.button not in ("left",):
            return
        p = pe.point
        if pe.kind == "press":
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            if self._stroke_tool is not None:
                self._stroke_tool.cancel()
            self._stroke_tool = self._tools["eraser"] if pe.eraser else self._tool
            self._stroke_tool.start(p)
            self._activity(p, force=True)
        elif self._stroke_tool is not None:
            if pe.kind == "move":
                self._stroke_tool.move(p)
                self._activity(p)
            else:
                tool, self._stroke_tool = self._stroke_tool, None
                tool.end(p)
                self._activity(p, force=True)

    def _activity(self, p: Point, force: bool = False) -> None:
        if force or p.t - self._last_activity_ms >= 100.0:
            self._last_activity_ms = p.t
            self.inkActivity.emit()

    def wheelEvent(self, event) -> None:
        angle = event.angleDelta()
        pixels = event.pixelDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = angle.y() / 120.0 if angle.y() else pixels.y() / 60.0
            pos = event.position()
            self.zoom_by(2.0 ** (steps / 4.0), (pos.x(), pos.y()))
        else:
            dx, dy = (
                (pixels.x(), pixels.y())
                if not pixels.isNull()
                else (round(angle.x() / 120.0 * 48.0), round(angle.y() / 120.0 * 48.0))
            )
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                dx, dy = dy, dx
            self.pan_by(dx, dy)
        event.accept()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.Gesture and isinstance(event, QGestureEvent):
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if isinstance(pinch, QPinchGesture):
                c = pinch.centerPoint()
                local = self.mapFromGlobal(c.toPoint())
                self.zoom_by(pinch.scaleFactor(), (float(local.x()), float(local.y())))
                event.accept()
                return True
        if (
            event.type() == QEvent.Type.NativeGesture
            and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture
        ):
            pos = event.position()
            self.zoom_by(1.0 + event.value(), (pos.x(), pos.y()))
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self._read_only:
            self.new_step()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not self._read_only:
            lasso = self._tools["lasso"]
            if not (isinstance(lasso, LassoTool) and lasso.delete_selection()):
                super().keyPressEvent(event)
        elif key == Qt.Key.Key_Escape:
            if self._stroke_tool is not None:
                self._stroke_tool.cancel()
                self._stroke_tool = None
            self._tool.deactivate()
        elif event.matches(QKeySequence.StandardKey.Undo) and not self._read_only:
            self._undo.undo()
        elif event.matches(QKeySequence.StandardKey.Redo) and not self._read_only:
            self._undo.redo()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._pan_from = None
        else:
            super().keyReleaseEvent(event)
