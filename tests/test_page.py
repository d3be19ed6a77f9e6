"""The board as step bands: geometry and pure, invertible edits (no Qt)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from whiteboard_app.ink.model import StepInk, Stroke
from whiteboard_app.ink.page import BAND_GAP, MIN_BAND_HEIGHT, Page, Removed


def line(x0, y0, x1, y1, t0=0.0):
    return Stroke.from_xy([(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1)], t0=t0)


def two_step_page():
    a, b = line(10, 20, 60, 30, t0=0), line(70, 20, 90, 60, t0=100)
    c = line(10, 200, 50, 210, t0=200)
    page = Page().with_stroke(0, a).with_stroke(0, b).with_new_step().with_stroke(1, c)
    return page, (a, b, c)


def test_default_page_has_one_empty_band():
    page = Page()
    assert len(page) == 1 and page.steps[0].is_empty
    assert page.band(0) == (0.0, MIN_BAND_HEIGHT)


@pytest.mark.parametrize(
    "steps,tops", [((), ()), ((StepInk(),), (0.0, 10.0)), ((StepInk(), StepInk()), (5.0, 5.0))]
)
def test_bad_layout_is_rejected(steps, tops):
    with pytest.raises(ValueError):
        Page(steps, tops)


def test_last_band_grows_with_its_ink():
    page = Page().with_stroke(0, line(0, 10, 50, 300))
    assert page.band(0) == (0.0, 300 + BAND_GAP)
    assert page.bottom == 300 + BAND_GAP


def test_new_step_opens_below_the_last_band_and_not_twice():
    page = Page().with_stroke(0, line(0, 10, 50, 60))
    bottom = page.bottom
    two = page.with_new_step()
    assert two.tops == (0.0, bottom)
    assert two.band(0) == (0.0, bottom)  # band 0 now ends where band 1 starts
    assert two.with_new_step() is two  # the last step is empty: no second empty band
    assert two.without_last_step() == page


@pytest.mark.parametrize(
    "y,expected", [(-50, 0), (0, 0), (100, 0), (139.9, 0), (140, 1), (279, 1), (280, 2), (900, 2)]
)
def test_step_at(y, expected):
    page = Page().with_stroke(0, line(0, 10, 50, 20)).with_new_step().with_stroke(1, line(0, 150, 50, 160))
    assert page.tops == (0.0, 140.0)
    assert page.band(1) == (140.0, 280.0)
    assert page.step_at(y) == expected


def test_step_for_stroke_uses_box_centre_and_below_last_band_is_a_new_step():
    page, _ = two_step_page()
    assert page.step_for_stroke(line(0, 120, 10, 150)) == 0  # centre 135 < 140
    assert page.step_for_stroke(line(0, 130, 10, 160)) == 1
    assert page.step_for_stroke(line(0, page.bottom + 5, 10, page.bottom + 30)) == 2


def test_with_stroke_to_new_index_appends_a_band():
    page, _ = two_step_page()
    s = line(0, 500, 10, 510)
    new = page.with_stroke(2, s)
    assert len(new) == 3 and new.steps[2].strokes == (s,) and new.tops[2] == page.bottom
    with pytest.raises(IndexError):
        page.with_stroke(5, s)


def test_without_strokes_and_restore_put_strokes_back_in_place():
    page, (a, b, c) = two_step_page()
    less, removed = page.without_strokes([a.id, c.id, 999999])
    assert isinstance(removed, Removed) and set(removed.ids) == {a.id, c.id}
    assert [s.id for s in less.steps[0].strokes] == [b.id] and less.steps[1].is_empty
    assert page.stroke_count == 3  # untouched
    assert less.with_restored(removed) == page
    assert [s.id for s in less.with_restored(removed).steps[0].strokes] == [a.id, b.id]


def test_clear_keeps_the_band():
    page, (a, b, c) = two_step_page()
    cleared, removed = page.cleared(0)
    assert cleared.steps[0].is_empty and len(cleared) == 2 and cleared.tops == page.tops
    assert len(removed) == 2
    assert cleared.with_restored(removed) == page
    with pytest.raises(IndexError):
        page.cleared(2)


def test_move_and_its_inverse():
    page, (a, b, c) = two_step_page()
    moved = page.moved([a.id], 5, -3)
    m = moved.stroke(a.id)
    assert (m.points[0].x, m.points[0].y) == (15, 17)
    assert moved.find(a.id) == (0, 0)  # stays in its step and place
    assert moved.with_replaced([a]) == page


def test_split_and_merge():
    a, b = line(10, 20, 60, 30, t0=0), line(10, 90, 60, 100, t0=50)
    d = line(70, 20, 90, 30, t0=100)
    page = Page().with_stroke(0, a).with_stroke(0, b).with_stroke(0, d)
    split = page.split_step(0, 70)
    assert [s.id for s in split.steps[0].strokes] == [a.id, d.id]
    assert [s.id for s in split.steps[1].strokes] == [b.id]
    assert split.tops == (0.0, 70.0)
    assert split.merged_with_next(0) == page
    with pytest.raises(ValueError):
        page.split_step(0, 5000)


def test_from_steps_lays_out_bands_in_order():
    inks = [StepInk((line(0, 10, 50, 40),)), StepInk((line(0, 200, 50, 240),))]
    page = Page.from_steps(inks)
    assert len(page) == 2 and page.steps[1] is inks[1]
    assert page.tops[1] == 140.0  # below the first band
    assert Page.from_steps([]) == Page()
    with_gap = Page.from_steps([inks[0], StepInk(), inks[1]])
    assert [len(s) for s in with_gap.steps] == [1, 0, 1]


def test_find_and_stroke_raise_keyerror():
    page, (a, _, c) = two_step_page()
    assert page.find(c.id) == (1, 0) and page.stroke(a.id) is a
    with pytest.raises(KeyError):
        page.find(-1)


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "erase", "move", "clear", "new"]),
        st.integers(0, 5),
        st.floats(-50, 400, allow_nan=False),
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_every_edit_has_an_exact_inverse(script):
    page, _ = two_step_page()
    for op, n, v in script:
        strokes = [s for _, s in page.strokes()]
        if op == "add":
            k = min(n, len(page))
            after = page.with_stroke(k, line(v, abs(v), v + 10, abs(v) + 5))
            sid = after.steps[k].strokes[-1].id
            back, _ = after.without_strokes([sid])
            if k == len(page):
                back = back.without_last_step()
        elif op == "erase" and strokes:
            after, removed = page.without_strokes([strokes[n % len(strokes)].id])
            back = after.with_restored(removed)
        elif op == "move" and strokes:
            s = strokes[n % len(strokes)]
            after = page.moved([s.id], v, -v)
            back = after.with_replaced([s])
        elif op == "clear":
            after, removed = page.cleared(n % len(page))
            back = after.with_restored(removed)
        elif op == "new":
            after = page.with_new_step()
            back = after.without_last_step() if after is not page else after
        else:
            continue
        assert back == page
        assert [s.id for _, s in back.strokes()] == [s.id for _, s in page.strokes()]
        page = after


def test_relocated_refiles_strokes_that_land_in_another_band():
    page, (a, b, c) = two_step_page()  # a, b in step 0 (band 0..140), c in step 1
    same, removed = page.relocated([a.id], 3, 4)  # stays in band 0: keeps its place
    assert ids_of(same) == [[a.id, b.id], [c.id]] and same.stroke(a.id).points[0].y == 24
    across, removed = page.relocated([a.id], 0, 170)  # dropped into step 2's band
    assert ids_of(across) == [[b.id], [c.id, a.id]]
    assert across.without_strokes([a.id])[0].with_restored(removed) == page
    far, _ = page.relocated([b.id], 0, 5000)  # below the last band: the last step
    assert ids_of(far) == [[a.id], [c.id, b.id]] and len(far) == 2


def ids_of(page):
    return [[s.id for s in ink.strokes] for ink in page.steps]
