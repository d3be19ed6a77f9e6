"""Board tools as interaction objects with start / move / end / cancel (orange-canvas-core
``document/interactions.py``, Rnote ``PenBehaviour``), instead of branches in the canvas's mouse handlers.

A tool receives ``ink.Point`` values in canvas px (from ``ui/input.py``) and talks to its *host*, the
canvas, through a small set of methods:

- ``host.model`` (``PageModel``), ``host.undo_stack()`` (``QUndoStack``), ``host.active_step()``;
- ``host.paint_live(points)``: paint the newest segment of a stroke being written (incremental);
- ``host.discard_live(stroke)``: repaint the area of live ink that did not become ink (a gesture);
- ``host.add_stroke(stroke)``: commit a stroke to the step its position selects (may open a new step);
- ``host.set_hidden(ids)``: hide strokes from the cached board (erasing preview, strokes being moved);
- ``host.update_canvas_rect(bbox)``: repaint a canvas-px box (overlay changes);
- ``host.eraser_radius`` (canvas px, follows the zoom);
- ``host.strokes_in(bbox)``: the strokes whose boxes meet a canvas-px box (a cheap spatial filter).

The scratch-out gesture is not a separate tool: the pen checks each finished stroke with
``ink.gestures.scratch_out_targets`` and, when it is a zig-zag over ink, deletes that ink instead.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF

from whiteboard_app.ink import gestures
from whiteboard_app.ink.model import BBox, Point, Stroke
from whiteboard_app.ui.undo import EraseCommand, MoveCommand, ScratchOutCommand


def _grown(box: BBox, pad: float) -> BBox:
    return BBox(box.left - pad, box.top - pad, box.right + pad, box.bottom + pad)


class Tool:
    """Base interaction: subclasses override what they need. Points are canvas px."""

    name = "tool"

    def __init__(self, host) -> None:
        self.host = host
        self.active = False

    def start(self, p: Point) -> None:
        """Pen (or button) down at canvas point ``p``."""
        self.active = True

    def move(self, p: Point) -> None:
        """The pen moved to ``p`` while down."""

    def end(self, p: Point) -> None:
        """Pen up at ``p``: commit the interaction (push its undo command)."""
        self.active = False

    def cancel(self) -> None:
        """Abandon the interaction (Escape, a new press): nothing is committed."""
        self.active = False

    def deactivate(self) -> None:
        """Called when another tool is chosen: drop any state (selection, half-drawn ink)."""
        if self.active:
            self.cancel()

    def paint_overlay(self, painter: QPainter) -> None:
        """Draw transient decoration (painter already maps canvas px)."""


class PenTool(Tool):
    """Writes strokes; a finished stroke that zig-zags over ink is a scratch-out and deletes that ink.

    Points closer than ``min_step_px`` (canvas px) to the previous one are skipped.
    """

    name = "pen"
    min_step_px = 0.5

    def __init__(self, host) -> None:
        super().__init__(host)
        self.points: list[Point] = []

    def start(self, p: Point) -> None:
        super().start(p)
        self.points = [p]
        self.host.paint_live(self.points)

    def move(self, p: Point) -> None:
        if not self.active:
            return
        last = self.points[-1]
        if abs(p.x - last.x) + abs(p.y - last.y) < self.min_step_px:
            return
        self.points.append(p)
        self.host.paint_live(self.points)

    def end(self, p: Point) -> None:
        if not self.active:
            return
        self.move(p)
        super().end(p)
        stroke = Stroke(tuple(self.points))
        self.points = []
        targets: tuple[int, ...] = ()
        if gestures.is_zigzag(stroke):  # cheap shape test first; only then look for covered ink
            targets = gestures.scratch_out_targets(stroke, self.host.strokes_in(_grown(stroke.bbox, 4.0)))
        if targets:
            self.host.discard_live(stroke)
            self.host.undo_stack().push(ScratchOutCommand(self.host.model, targets, stroke))
        else:
            self.host.add_stroke(stroke)

    def cancel(self) -> None:
        if self.points:
            self.host.discard_live(Stroke(tuple(self.points)))
        self.points = []
        super().cancel()


class EraserTool(Tool):
    """Stroke eraser: every stroke the eraser passes within ``host.eraser_radius`` of disappears at once
    (hidden), and is removed by one ``EraseCommand`` when the eraser lifts."""

    name = "eraser"

    def __init__(self, host) -> None:
        super().__init__(host)
        self.hit: list[int] = []
        self._last: Point | None = None

    def start(self, p: Point) -> None:
        super().start(p)
        self.hit = []
        self._last = p
        self._erase(p, p)

    def move(self, p: Point) -> None:
        if self.active and self._last is not None:
            self._erase(self._last, p)
            self._last = p

    def _erase(self, a: Point, b: Point) -> None:
        hidden = set(self.hit)
        r = self.host.eraser_radius
        reach = BBox(min(a.x, b.x) - r, min(a.y, b.y) - r, max(a.x, b.x) + r, max(a.y, b.y) + r)
        fresh = gestures.eraser_hits(
            (a.x, a.y), (b.x, b.y), [s for s in self.host.strokes_in(reach) if s.id not in hidden], r
        )
        if fresh:
            self.hit.extend(fresh)
            self.host.set_hidden(self.hit)

    def end(self, p: Point) -> None:
        if not self.active:
            return
        self.move(p)
        super().end(p)
        hit, self.hit = self.hit, []
        if hit:
            self.host.undo_stack().push(EraseCommand(self.host.model, hit))
        self.host.set_hidden(())

    def cancel(self) -> None:
        self.hit = []
        self.host.set_hidden(())
        super().cancel()


class LassoTool(Tool):
    """Lasso select, then drag the selection to move it (one ``MoveCommand``); ``delete_selection`` erases
    it. A press inside the selection's box starts a move, elsewhere a new lasso."""

    name = "lasso"
    _pen = QPen(QColor(40, 110, 220), 1.2, Qt.PenStyle.DashLine)

    def __init__(self, host) -> None:
        super().__init__(host)
        self.polygon: list[tuple[float, float]] = []
        self.selection: tuple[int, ...] = ()
        self._drag_from: Point | None = None
        self.offset = (0.0, 0.0)

    def selection_bbox(self) -> BBox | None:
        """Box of the selected strokes (canvas px), or None without a selection."""
        page = self.host.model.page
        box = None
        ids = set(self.selection)
        for _, s in page.strokes():
            if s.id in ids:
                box = s.bbox if box is None else box.union(s.bbox)
        return box

    def _overlay_box(self) -> BBox | None:
        box = self.selection_bbox()
        if self.polygon:
            xs = [x for x, _ in self.polygon]
            ys = [y for _, y in self.polygon]
            pb = BBox(min(xs), min(ys), max(xs), max(ys))
            box = pb if box is None else box.union(pb)
        if box is not None:
            dx, dy = self.offset
            box = box.union(BBox(box.left + dx, box.top + dy, box.right + dx, box.bottom + dy))
        return box

    def _refresh(self, before: BBox | None) -> None:
        after = self._overlay_box()
        for b in (before, after):
            if b is not None:
                self.host.update_canvas_rect(b)

    def start(self, p: Point) -> None:
        super().start(p)
        box = self.selection_bbox()
        if box is not None and box.left - 6 <= p.x <= box.right + 6 and box.top - 6 <= p.y <= box.bottom + 6:
            self._drag_from = p
            self.offset = (0.0, 0.0)
            self.host.set_hidden(self.selection)
        else:
            before = self._overlay_box()
            self.selection = ()
            self._drag_from = None
            self.polygon = [(p.x, p.y)]
            self._refresh(before)

    def move(self, p: Point) -> None:
        if not self.active:
            return
        before = self._overlay_box()
        if self._drag_from is not None:
            self.offset = (p.x - self._drag_from.x, p.y - self._drag_from.y)
        else:
            self.polygon.append((p.x, p.y))
        self._refresh(before)

    def end(self, p: Point) -> None:
        if not self.active:
            return
        self.move(p)
        super().end(p)
        before = self._overlay_box()
        if self._drag_from is not None:
            dx, dy = self.offset
            self._drag_from, self.offset = None, (0.0, 0.0)
            self.host.set_hidden(())
            if (dx, dy) != (0.0, 0.0):
                self.host.undo_stack().push(MoveCommand(self.host.model, self.selection, dx, dy))
        else:
            xs = [x for x, _ in self.polygon]
            ys = [y for _, y in self.polygon]
            near = self.host.strokes_in(BBox(min(xs), min(ys), max(xs), max(ys)))
            self.selection = gestures.lasso_select(self.polygon, near)
            self.polygon = []
        self._refresh(before)

    def cancel(self) -> None:
        before = self._overlay_box()
        self.polygon, self._drag_from, self.offset = [], None, (0.0, 0.0)
        self.host.set_hidden(())
        self._refresh(before)
        super().cancel()

    def clear_selection(self) -> None:
        """Forget the selection."""
        before = self._overlay_box()
        self.selection = ()
        self._refresh(before)

    def deactivate(self) -> None:
        super().deactivate()
        self.clear_selection()

    def delete_selection(self) -> bool:
        """Erase the selected strokes (one undoable command); False when nothing is selected."""
        if not self.selection:
            return False
        before = self._overlay_box()
        self.host.undo_stack().push(EraseCommand(self.host.model, self.selection, "Delete selection"))
        self.selection = ()
        self._refresh(before)
        return True

    def paint_overlay(self, painter: QPainter) -> None:
        if self.polygon:
            painter.setPen(self._pen)
            painter.setBrush(QColor(40, 110, 220, 20))
            painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in self.polygon]))
        if self.selection:
            dx, dy = self.offset
            if self._drag_from is not None:
                ids = set(self.selection)
                painter.save()
                painter.translate(dx, dy)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(self.host.ink_colour)
                for _, s in self.host.model.page.strokes():
                    if s.id in ids:
                        painter.drawPath(self.host.stroke_path(s))
                painter.restore()
            box = self.selection_bbox()
            if box is not None:
                painter.setPen(self._pen)
                painter.setBrush(Qt.BrushStyle.NoBrush)
                path = QPainterPath()
                path.addRect(box.left - 4 + dx, box.top - 4 + dy, box.width + 8, box.height + 8)
                painter.drawPath(path)


TOOLS = {"pen": PenTool, "eraser": EraserTool, "lasso": LassoTool}
