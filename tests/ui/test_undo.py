"""Undo commands over the pure Page edits, on a PageModel with a QUndoStack (no widget)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QUndoStack

from whiteboard_app.ink.model import Stroke
from whiteboard_app.ink.page import Page
from whiteboard_app.ui.page_model import PageModel
from whiteboard_app.ui.undo import (
    AddStrokeCommand,
    ClearStepCommand,
    EraseCommand,
    MergeStepsCommand,
    MoveCommand,
    NewStepCommand,
    ReadingCommand,
    ScratchOutCommand,
    SplitStepCommand,
)

pytestmark = pytest.mark.qt


def line(x0, y0, x1, y1, t0=0):
    return Stroke.from_xy([(x0, y0), (x1, y1)], t0=t0)


@pytest.fixture
def setup(qapp):
    model = PageModel()
    stack = QUndoStack()
    a, b, c = line(0, 10, 50, 20, 0), line(60, 10, 90, 30, 10), line(0, 200, 40, 210, 20)
    stack.push(AddStrokeCommand(model, 0, a))
    stack.push(AddStrokeCommand(model, 0, b))
    stack.push(AddStrokeCommand(model, 1, c))  # opens step 2
    return model, stack, (a, b, c)


def ids(model):
    return [[s.id for s in ink.strokes] for ink in model.page.steps]


def test_add_stroke_undo_redo_including_the_opened_band(setup):
    model, stack, (a, b, c) = setup
    assert ids(model) == [[a.id, b.id], [c.id]]
    stack.undo()
    assert ids(model) == [[a.id, b.id]]
    stack.undo()
    assert ids(model) == [[a.id]]
    stack.redo()
    stack.redo()
    assert ids(model) == [[a.id, b.id], [c.id]]


def test_erase_restores_order(setup):
    model, stack, (a, b, c) = setup
    stack.push(EraseCommand(model, [a.id, c.id]))
    assert ids(model) == [[b.id], []]
    stack.undo()
    assert ids(model) == [[a.id, b.id], [c.id]]


def test_scratch_out_keeps_the_gesture_and_undoes(setup):
    model, stack, (a, b, c) = setup
    gesture = line(0, 0, 50, 30)
    cmd = ScratchOutCommand(model, [b.id], gesture)
    stack.push(cmd)
    assert ids(model) == [[a.id], [c.id]] and cmd.gesture is gesture and cmd.text() == "Scratch out"
    stack.undo()
    assert ids(model) == [[a.id, b.id], [c.id]]


def test_move_undo_gives_back_the_same_strokes(setup):
    model, stack, (a, b, c) = setup
    stack.push(MoveCommand(model, [a.id, c.id], 7, -2))
    assert model.page.stroke(a.id).points[0].x == 7 and model.page.stroke(c.id).points[0].y == 198
    stack.undo()
    assert model.page.stroke(a.id) is a and model.page.stroke(c.id) is c


def test_clear_step_and_new_step(setup):
    model, stack, (a, b, c) = setup
    stack.push(ClearStepCommand(model, 0))
    assert ids(model) == [[], [c.id]]
    stack.push(NewStepCommand(model))
    assert len(model.page) == 3
    stack.push(NewStepCommand(model))  # last step empty: nothing to do, and its undo does nothing
    assert len(model.page) == 3
    stack.undo()
    assert len(model.page) == 3
    stack.undo()
    stack.undo()
    assert ids(model) == [[a.id, b.id], [c.id]]


def test_split_step_and_undo(qapp):
    model = PageModel()
    stack = QUndoStack()
    top, low, late = line(0, 10, 50, 20, 0), line(0, 90, 50, 100, 5), line(60, 10, 90, 20, 10)
    for s in (top, low, late):
        stack.push(AddStrokeCommand(model, 0, s))
    stack.push(SplitStepCommand(model, 0, 60))
    assert ids(model) == [[top.id, late.id], [low.id]]
    stack.undo()
    assert ids(model) == [[top.id, low.id, late.id]] and model.page.tops == (0.0,)


def test_reading_command_keeps_ink_and_previous_reading(setup):
    model, stack, (a, b, c) = setup
    seen = []
    model.readingChanged.connect(seen.append)
    stack.push(ReadingCommand(model, 0, {"latex": "x^2"}))
    cmd = ReadingCommand(model, 0, {"latex": "x^{2}+1"}, text="Correct reading")
    stack.push(cmd)
    assert model.reading(0) == {"latex": "x^{2}+1"}
    assert cmd.previous == {"latex": "x^2"} and cmd.ink is model.page.steps[0]
    stack.undo()
    assert model.reading(0) == {"latex": "x^2"}
    stack.undo()
    assert model.reading(0) is None
    assert seen == [0, 0, 0, 0]


def test_model_signals_only_the_changed_step(qapp):
    model = PageModel(Page().with_stroke(0, line(0, 0, 10, 10)).with_new_step())
    changed, pages, bands = [], [], []
    model.stepInkChanged.connect(changed.append)
    model.pageChanged.connect(lambda: pages.append(1))
    model.bandsChanged.connect(lambda: bands.append(1))
    model.set_page(model.page.with_stroke(1, line(0, 150, 10, 160)))
    assert changed == [1] and pages == [1] and bands == []
    model.set_page(model.page.with_new_step())
    assert changed == [1, 2] and bands == [1]
    model.set_page(model.page)  # same object: no signal
    assert pages == [1, 1]


def test_split_moves_later_readings_with_their_steps(qapp):
    model = PageModel()
    stack = QUndoStack()
    top, low, nxt = line(0, 10, 50, 20, 0), line(0, 90, 50, 100, 5), line(0, 200, 50, 210, 10)
    stack.push(AddStrokeCommand(model, 0, top))
    stack.push(AddStrokeCommand(model, 0, low))
    stack.push(AddStrokeCommand(model, 1, nxt))
    stack.push(ReadingCommand(model, 1, "second step"))
    stack.push(SplitStepCommand(model, 0, 60))
    assert model.reading(2) == "second step" and model.reading(1) is None
    assert ids(model) == [[top.id], [low.id], [nxt.id]]
    stack.undo()
    assert model.reading(1) == "second step" and model.reading(2) is None


def test_merge_joins_steps_and_undo_cuts_them_apart_exactly(setup):
    model, stack, (a, b, c) = setup
    d = line(0, 400, 40, 410, 30)
    stack.push(AddStrokeCommand(model, 2, d))  # a third step
    stack.push(ReadingCommand(model, 1, "second"))
    stack.push(ReadingCommand(model, 2, "third"))
    before = model.page
    shifted = []
    model.stepsShifted.connect(lambda k, delta: shifted.append((k, delta)))
    stack.push(MergeStepsCommand(model, 0))
    assert ids(model) == [[a.id, b.id, c.id], [d.id]]
    assert model.reading(1) == "third" and model.reading(2) is None and shifted == [(2, -1)]
    stack.undo()
    assert model.page == before and model.reading(1) == "second" and model.reading(2) == "third"
    assert shifted == [(2, -1), (1, 1)]


def test_move_into_another_band_changes_step_and_undo_restores(setup):
    model, stack, (a, b, c) = setup
    changed = []
    model.stepInkChanged.connect(changed.append)
    stack.push(MoveCommand(model, [b.id], 0, 180))
    assert ids(model) == [[a.id], [c.id, b.id]] and sorted(changed) == [0, 1]
    stack.undo()
    assert ids(model) == [[a.id, b.id], [c.id]] and model.page.stroke(b.id) is b


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add", "erase", "move", "clear", "new", "split", "merge", "reading"]),
            st.integers(0, 7),
            st.floats(-200, 400, allow_nan=False),
        ),
        max_size=14,
    )
)
def test_undoing_everything_restores_the_page_and_redoing_replays_it(qapp, script):
    model = PageModel(Page().with_stroke(0, line(0, 10, 50, 20)))
    start = model.page
    stack = QUndoStack()
    for op, n, v in script:
        page = model.page
        strokes = [s for _, s in page.strokes()]
        if op == "add":
            stack.push(AddStrokeCommand(model, min(n, len(page)), line(v, abs(v), v + 10, abs(v) + 5)))
        elif op == "erase" and strokes:
            stack.push(EraseCommand(model, [strokes[n % len(strokes)].id]))
        elif op == "move" and strokes:
            stack.push(MoveCommand(model, [strokes[n % len(strokes)].id], v / 3, v))
        elif op == "clear":
            stack.push(ClearStepCommand(model, n % len(page)))
        elif op == "new":
            stack.push(NewStepCommand(model))
        elif op == "split":
            k = n % len(page)
            top, bottom = page.band(k)
            stack.push(SplitStepCommand(model, k, (top + bottom) / 2))
        elif op == "merge" and len(page) > 1:
            stack.push(MergeStepsCommand(model, n % (len(page) - 1)))
        elif op == "reading":
            stack.push(ReadingCommand(model, n % len(page), f"r{v}"))
    end, readings = model.page, {k: model.reading(k) for k in range(len(model.page))}
    while stack.canUndo():
        stack.undo()
    assert model.page == start
    assert all(model.reading(k) is None for k in range(8))
    while stack.canRedo():
        stack.redo()
    assert model.page == end
    assert {k: model.reading(k) for k in range(len(model.page))} == readings
