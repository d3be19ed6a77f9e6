"""Undo commands: thin ``QUndoCommand`` wrappers over the pure, invertible edits of ``ink.page.Page``.

Each command applies its edit to a ``PageModel`` in ``redo`` and the inverse edit in ``undo`` (never a
saved copy of the whole page, so commands compose with edits made by other commands).
``ReadingCommand`` records accepting or correcting a step's reading: it keeps the ink the reading was
made from and the previous reading, and undo restores the previous one (Xournal++'s
``RecognizerUndoAction`` pattern).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from PySide6.QtGui import QUndoCommand

from whiteboard_app.ink.model import StepInk, Stroke
from whiteboard_app.ink.page import Removed
from whiteboard_app.ui.page_model import PageModel


class AddStrokeCommand(QUndoCommand):
    """Add ``stroke`` to step ``step``; ``step == len(steps)`` also opens a new band (undone too)."""

    def __init__(
        self, model: PageModel, step: int, stroke: Stroke, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__("Write", parent)
        self.model, self.step, self.stroke = model, step, stroke
        self._opened_step = False

    def redo(self) -> None:
        page = self.model.page
        self._opened_step = self.step == len(page.steps)
        self.model.set_page(page.with_stroke(self.step, self.stroke))

    def undo(self) -> None:
        page, _ = self.model.page.without_strokes([self.stroke.id])
        if self._opened_step:
            page = page.without_last_step()
        self.model.set_page(page)


class EraseCommand(QUndoCommand):
    """Remove strokes by id (stroke eraser, lasso delete); undo puts them back where they were."""

    def __init__(
        self,
        model: PageModel,
        stroke_ids: Iterable[int],
        text: str = "Erase",
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.model = model
        self.stroke_ids = tuple(stroke_ids)
        self.removed = Removed()

    def redo(self) -> None:
        page, self.removed = self.model.page.without_strokes(self.stroke_ids)
        self.model.set_page(page)

    def undo(self) -> None:
        self.model.set_page(self.model.page.with_restored(self.removed))


class ScratchOutCommand(EraseCommand):
    """A scratch-out gesture deleting the strokes it covered; ``gesture`` (the zig-zag) is kept for the
    record but never becomes ink."""

    def __init__(
        self, model: PageModel, stroke_ids: Iterable[int], gesture: Stroke, parent: QUndoCommand | None = None
    ) -> None:
        super().__init__(model, stroke_ids, "Scratch out", parent)
        self.gesture = gesture


class ClearStepCommand(EraseCommand):
    """Remove all ink of one step (its band stays)."""

    def __init__(self, model: PageModel, step: int, parent: QUndoCommand | None = None) -> None:
        ids = [s.id for s in model.page.steps[step].strokes]
        super().__init__(model, ids, f"Clear step {step + 1}", parent)
        self.step = step


class MoveCommand(QUndoCommand):
    """Translate strokes by (dx, dy) canvas px (lasso move). Strokes dropped into another step's band
    join that step (``Page.relocated``); undo puts the original strokes back in their steps and places."""

    def __init__(
        self,
        model: PageModel,
        stroke_ids: Iterable[int],
        dx: float,
        dy: float,
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__("Move", parent)
        self.model, self.dx, self.dy = model, dx, dy
        self.stroke_ids = tuple(stroke_ids)
        self._removed = Removed()

    def redo(self) -> None:
        page, self._removed = self.model.page.relocated(self.stroke_ids, self.dx, self.dy)
        self.model.set_page(page)

    def undo(self) -> None:
        page, _ = self.model.page.without_strokes(self.stroke_ids)
        self.model.set_page(page.with_restored(self._removed))


class NewStepCommand(QUndoCommand):
    """Append an empty step band (does nothing when the last step is already empty)."""

    def __init__(self, model: PageModel, parent: QUndoCommand | None = None) -> None:
        super().__init__("New step", parent)
        self.model = model
        self._added = False

    def redo(self) -> None:
        page = self.model.page
        new = page.with_new_step()
        self._added = new is not page
        self.model.set_page(new)

    def undo(self) -> None:
        if self._added:
            self.model.set_page(self.model.page.without_last_step())


class SplitStepCommand(QUndoCommand):
    """Cut step ``step`` at canvas y into two steps (see ``Page.split_step``); undo merges them back.
    The later steps' per-step state (readings) moves with their steps (``PageModel.shift_readings``, which
    announces the shift with ``stepsShifted`` before the page changes)."""

    def __init__(self, model: PageModel, step: int, y: float, parent: QUndoCommand | None = None) -> None:
        super().__init__("Split step", parent)
        self.model, self.step, self.y = model, step, y
        self._ink: StepInk | None = None

    def redo(self) -> None:
        self._ink = self.model.page.steps[self.step]
        page = self.model.page.split_step(self.step, self.y)
        self.model.shift_readings(self.step + 1, 1)  # later steps' state moves down with their steps
        self.model.set_page(page)

    def undo(self) -> None:
        page = self.model.page.merged_with_next(self.step)
        if self._ink is not None and {s.id for s in self._ink.strokes} == {
            s.id for s in page.steps[self.step].strokes
        }:
            page = page.with_step_ink(self.step, self._ink)  # the exact original order
        self.model.shift_readings(self.step + 2, -1)  # step+1 goes; the later ones move back up
        self.model.set_page(page)


class MergeStepsCommand(QUndoCommand):
    """Join step ``step + 1`` into step ``step`` (``Page.merged_with_next``); undo cuts them apart again at
    the old band top with each step's exact ink and the reading step ``step + 1`` had. The later steps'
    state moves up with them."""

    def __init__(self, model: PageModel, step: int, parent: QUndoCommand | None = None) -> None:
        super().__init__("Merge steps", parent)
        self.model, self.step = model, step
        self._inks: tuple[StepInk, StepInk] | None = None
        self._top = 0.0
        self._reading: object | None = None

    def redo(self) -> None:
        page = self.model.page
        self._inks = (page.steps[self.step], page.steps[self.step + 1])
        self._top = page.tops[self.step + 1]
        self._reading = self.model.reading(self.step + 1)
        merged = page.merged_with_next(self.step)
        self.model.shift_readings(self.step + 2, -1)
        self.model.set_page(merged)

    def undo(self) -> None:
        assert self._inks is not None
        page, k = self.model.page, self.step
        page = replace(
            page,
            steps=page.steps[:k] + self._inks + page.steps[k + 1 :],
            tops=page.tops[: k + 1] + (self._top,) + page.tops[k + 1 :],
        )
        self.model.shift_readings(self.step + 1, 1)
        self.model.set_page(page)
        if self._reading is not None:
            self.model.set_reading(self.step + 1, self._reading)


class ReadingCommand(QUndoCommand):
    """Accept or correct step ``step``'s reading (any object the window stores, e.g. LaTeX + verdict).

    Keeps ``ink`` (the step's ink the reading was made from, by default the current one) and the previous
    reading; undo restores the previous reading, redo sets ``reading`` again.
    """

    def __init__(
        self,
        model: PageModel,
        step: int,
        reading: object,
        text: str = "Accept reading",
        ink: StepInk | None = None,
        parent: QUndoCommand | None = None,
    ) -> None:
        super().__init__(text, parent)
        self.model, self.step, self.reading = model, step, reading
        self.previous = model.reading(step)
        self.ink = (
            ink
            if ink is not None
            else (model.page.steps[step] if step < len(model.page.steps) else StepInk())
        )

    def redo(self) -> None:
        self.model.set_reading(self.step, self.reading)

    def undo(self) -> None:
        self.model.set_reading(self.step, self.previous)


class _RestoredAdd(QUndoCommand):
    """A stroke written before the run was resumed (see :func:`push_board_history`): already on the page
    when pushed, so its first ``redo`` does nothing; ``undo`` takes it out of step ``step`` (only there:
    a stroke moved to another step keeps its id), ``redo`` appends it again."""

    def __init__(self, model: PageModel, step: int, stroke: Stroke) -> None:
        super().__init__("Write")
        self.model, self.step, self.stroke = model, step, stroke
        self._pushed = True

    def redo(self) -> None:
        if self._pushed:
            self._pushed = False
            return
        self.model.set_page(self.model.page.with_stroke(self.step, self.stroke))

    def undo(self) -> None:
        page = self.model.page
        if self.step < len(page.steps):
            self.model.set_page(
                page.with_step_ink(self.step, page.steps[self.step].without([self.stroke.id]))
            )


class _RestoredErase(EraseCommand):
    """An erasure made before the run was resumed: ``removed`` says where the strokes were; the first
    ``redo`` (on push) does nothing, the page already lacks them."""

    def __init__(self, model: PageModel, removed: Removed) -> None:
        super().__init__(model, removed.ids, "Erase")
        self.removed = removed
        self._pushed = True

    def redo(self) -> None:
        if self._pushed:
            self._pushed = False
            return
        super().redo()


#: An erasure and the stroke's new entry this close in time (ms) are one move to another step.
_MOVE_WINDOW_MS = 1000.0


def board_history(board) -> list[tuple[str, int, Stroke, float]]:
    """The ink edits recorded on a saved board (``sessions.board.Board``) in the order they were made:
    ("add", step, stroke, t_ms) for every stroke entry (at its pen-up) and ("erase", step, stroke, t_ms)
    for every entry erased since (at ``erased_ms``). An erasure and a new entry of the same stroke id
    within :data:`_MOVE_WINDOW_MS` (a stroke moved to another step) keep the erasure first. What the board
    does not record (moves within a step, erasures undone before it was saved) is not in it: a stroke's
    last points are the ones added."""
    events: list[tuple[float, int, str, int, Stroke]] = []
    for st in board.steps:
        for e in st.strokes:
            events.append((e.end_ms, 1, "add", st.index, e.stroke))
            if e.erased_ms is not None:
                events.append((e.erased_ms, 0, "erase", st.index, e.stroke))
    events.sort(key=lambda ev: (ev[0], ev[1]))
    ordered: list[tuple[float, int, str, int, Stroke]] = []
    pending = list(events)
    while pending:
        ev = pending.pop(0)
        if ev[2] == "add":  # a move's erasure recorded just after its new entry goes first
            for j, other in enumerate(pending):
                if other[0] > ev[0] + _MOVE_WINDOW_MS:
                    break
                if other[2] == "erase" and other[4].id == ev[4].id and other[3] != ev[3]:
                    ordered.append(pending.pop(j))
                    break
        ordered.append(ev)
    return [(kind, step, stroke, t) for t, _o, kind, step, stroke in ordered]


def push_board_history(stack, model: PageModel, board) -> int:
    """Give ``stack`` (a QUndoStack) the undo history of a resumed ``board`` whose ink ``model`` already
    shows: one command per stroke written and per erasure (:func:`board_history`), so that Undo after
    Resume takes back the last strokes and erasures as it would have before the program closed. The
    page is not changed now. Returns the number of commands pushed."""
    inks: dict[int, list[Stroke]] = {}
    n = 0
    for kind, step, stroke, _t in board_history(board):
        ink = inks.setdefault(step, [])
        if kind == "add":
            ink.append(stroke)
            stack.push(_RestoredAdd(model, step, stroke))
        else:
            index = next((i for i, s in enumerate(ink) if s.id == stroke.id), None)
            if index is None:
                continue
            ink.pop(index)
            stack.push(_RestoredErase(model, Removed(((step, index, stroke),))))
        n += 1
    return n
