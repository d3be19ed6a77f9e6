"""The board as a column of step bands: a pure, immutable model with invertible edits (no Qt).

A ``Page`` holds one ``StepInk`` per step of the derivation and the top edge of each step's band in
canvas px (y grows downwards). Band k spans ``[tops[k], tops[k + 1])``; the last band grows with its
ink: its bottom is ``max(top + min_band_height, ink bottom + band_gap)``. Writing below the last band
starts a new step (``step_for_stroke`` returns ``len(steps)``).

Every edit returns a new ``Page`` and leaves the old one untouched, and each has an inverse, which is
what the undo commands in ``whiteboard_app/ui/undo.py`` are built from:

==============================  =====================================
edit                            inverse
==============================  =====================================
``with_stroke(k, s)``           ``without_strokes([s.id])``
``without_strokes(ids)``        ``with_restored(removed)``
``cleared(k)``                  ``with_restored(removed)``
``moved(ids, dx, dy)``          ``with_replaced(old strokes)``
``relocated(ids, dx, dy)``      ``without_strokes(ids)`` + ``with_restored(removed)``
``with_new_step()``             ``without_last_step()``
``split_step(k, y)``            ``merged_with_next(k)``
==============================  =====================================

Bad step indices raise ``IndexError``; edits that make no sense (splitting outside a band, removing a
step that still holds ink) raise ``ValueError``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from whiteboard_app.ink.model import BBox, StepInk, Stroke

#: Smallest height of a step band in canvas px (about one line of handwriting plus room).
MIN_BAND_HEIGHT = 140.0
#: Space kept below the last band's ink before the band ends, in canvas px.
BAND_GAP = 40.0


@dataclass(frozen=True, slots=True)
class Removed:
    """Strokes taken out of a page, with where they were: ``(step, index, stroke)`` rows.

    ``index`` is the stroke's position in its step's ink before the removal, so ``Page.with_restored``
    puts every stroke back exactly where it was.
    """

    rows: tuple[tuple[int, int, Stroke], ...] = ()

    @property
    def ids(self) -> tuple[int, ...]:
        """Ids of the removed strokes."""
        return tuple(s.id for _, _, s in self.rows)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class Page:
    """A board: ``steps[k]`` is step k's ink, ``tops[k]`` the top of its band in canvas px.

    Raises ValueError when ``steps`` and ``tops`` differ in length, are empty, or ``tops`` do not
    increase strictly.
    """

    steps: tuple[StepInk, ...] = (StepInk(),)
    tops: tuple[float, ...] = (0.0,)
    min_band_height: float = MIN_BAND_HEIGHT
    band_gap: float = BAND_GAP

    def __post_init__(self) -> None:
        if not isinstance(self.steps, tuple):
            object.__setattr__(self, "steps", tuple(self.steps))
        if not isinstance(self.tops, tuple):
            object.__setattr__(self, "tops", tuple(float(t) for t in self.tops))
        if not self.steps or len(self.steps) != len(self.tops):
            raise ValueError(
                f"a page needs one band top per step (steps={len(self.steps)}, tops={len(self.tops)})"
            )
        if any(b <= a for a, b in zip(self.tops, self.tops[1:], strict=False)):
            raise ValueError(f"band tops must increase strictly: {self.tops}")

    @classmethod
    def from_steps(cls, steps: Iterable[StepInk], **kwargs: Any) -> Page:
        """Lay out existing step inks (e.g. a loaded board) as bands, each below the previous one's ink."""
        page: Page | None = None
        for ink in steps:
            if page is None:
                top = min(0.0, ink.bbox.top - 10.0) if ink.bbox else 0.0
                page = cls((ink,), (top,), **kwargs)
            else:
                page = page.with_new_step(force=True)  # keeps empty steps too
                page = page.with_step_ink(len(page.steps) - 1, ink)
        return page if page is not None else cls(**kwargs)

    # ----------------------------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self.steps)

    def _check(self, k: int) -> None:
        if not 0 <= k < len(self.steps):
            raise IndexError(f"step {k} out of range (the page has {len(self.steps)} steps)")

    def band(self, k: int) -> tuple[float, float]:
        """(top, bottom) of step k's band in canvas px. Raises IndexError for a bad k."""
        self._check(k)
        top = self.tops[k]
        if k + 1 < len(self.steps):
            return top, self.tops[k + 1]
        bottom = top + self.min_band_height
        box = self.steps[k].bbox
        if box is not None:
            bottom = max(bottom, box.bottom + self.band_gap)
        return top, bottom

    @property
    def bottom(self) -> float:
        """Bottom of the last band in canvas px: writing below it starts a new step."""
        return self.band(len(self.steps) - 1)[1]

    def step_at(self, y: float) -> int:
        """The step whose band holds canvas y; above the first band is step 0, below the last band
        is ``len(steps)`` (a new step)."""
        if y >= self.tops[-1]:  # only the last band's bottom needs its ink's box
            return len(self.steps) if y >= self.bottom else len(self.steps) - 1
        return max(0, bisect.bisect_right(self.tops, y) - 1)

    def step_for_stroke(self, stroke: Stroke) -> int:
        """The step a new stroke belongs to: the band holding the centre of its box (see ``step_at``)."""
        box = stroke.bbox
        return self.step_at((box.top + box.bottom) / 2.0)

    def strokes(self) -> Iterator[tuple[int, Stroke]]:
        """All (step, stroke) pairs, step by step in writing order."""
        for k, ink in enumerate(self.steps):
            for s in ink.strokes:
                yield k, s

    def find(self, stroke_id: int) -> tuple[int, int]:
        """(step, index) of a stroke; raises KeyError when no step holds it."""
        for k, ink in enumerate(self.steps):
            for i, s in enumerate(ink.strokes):
                if s.id == stroke_id:
                    return k, i
        raise KeyError(stroke_id)

    def stroke(self, stroke_id: int) -> Stroke:
        """The stroke with that id; raises KeyError when absent."""
        k, i = self.find(stroke_id)
        return self.steps[k].strokes[i]

    @property
    def bbox(self) -> BBox | None:
        """Union of all ink boxes, or None for an empty page."""
        box = None
        for ink in self.steps:
            b = ink.bbox
            if b is not None:
                box = b if box is None else box.union(b)
        return box

    @property
    def stroke_count(self) -> int:
        """Number of strokes over all steps."""
        return sum(len(ink) for ink in self.steps)

    # ------------------------------------------------------------------------------------- edits
    def with_step_ink(self, k: int, ink: StepInk) -> Page:
        """A copy whose step k holds ``ink``."""
        self._check(k)
        steps = list(self.steps)
        steps[k] = ink
        return replace(self, steps=tuple(steps))

    def with_stroke(self, k: int, stroke: Stroke, index: int | None = None) -> Page:
        """A copy with ``stroke`` added to step k (appended, or inserted at ``index``).

        ``k == len(steps)`` first appends a new band (as ``with_new_step``). Raises IndexError otherwise
        when k is out of range.
        """
        page = self.with_new_step(force=True) if k == len(self.steps) else self
        page._check(k)
        return page.with_step_ink(k, page.steps[k].with_stroke(stroke, index))

    def without_strokes(self, stroke_ids: Iterable[int]) -> tuple[Page, Removed]:
        """A copy without those strokes (ids not on the page are ignored), and what was removed."""
        drop = set(stroke_ids)
        rows: list[tuple[int, int, Stroke]] = []
        steps = list(self.steps)
        for k, ink in enumerate(self.steps):
            hit = [(i, s) for i, s in enumerate(ink.strokes) if s.id in drop]
            if hit:
                rows.extend((k, i, s) for i, s in hit)
                steps[k] = ink.without(s.id for _, s in hit)
        return replace(self, steps=tuple(steps)), Removed(tuple(rows))

    def with_restored(self, removed: Removed) -> Page:
        """The inverse of ``without_strokes`` / ``cleared``: puts each stroke back at its old index."""
        page = self
        for k, i, s in sorted(removed.rows, key=lambda r: (r[0], r[1])):
            page = page.with_stroke(k, s, index=i)
        return page

    def cleared(self, k: int) -> tuple[Page, Removed]:
        """A copy whose step k has no ink (the band stays), and what was removed."""
        self._check(k)
        return self.without_strokes(s.id for s in self.steps[k].strokes)

    def with_replaced(self, strokes: Iterable[Stroke]) -> Page:
        """A copy where the strokes with the ids of ``strokes`` are replaced by them, in place."""
        by_id = {s.id: s for s in strokes}
        steps = tuple(
            ink.replaced(by_id.values()) if any(s.id in by_id for s in ink.strokes) else ink
            for ink in self.steps
        )
        return replace(self, steps=steps)

    def moved(self, stroke_ids: Iterable[int], dx: float, dy: float) -> Page:
        """A copy with those strokes translated by (dx, dy) canvas px; they stay in their steps."""
        ids = set(stroke_ids)
        return self.with_replaced(s.translated(dx, dy) for _, s in self.strokes() if s.id in ids)

    def relocated(self, stroke_ids: Iterable[int], dx: float, dy: float) -> tuple[Page, Removed]:
        """Move strokes by (dx, dy) canvas px and re-file each by its new position: a stroke whose box
        centre stays in its band keeps its place; one that lands in another band joins that step (at its
        end; below the last band counts as the last step). Returns the new page and the originals, so
        ``page.without_strokes(ids)[0].with_restored(removed)`` is the exact inverse."""
        ids = set(stroke_ids)
        base, removed = self.without_strokes(ids)
        last = len(self.steps) - 1
        stay: list[tuple[int, int, Stroke, int]] = []
        leave: list[tuple[int, int, Stroke, int]] = []
        for k, i, s in removed.rows:
            t = s.translated(dx, dy)
            target = min(self.step_for_stroke(t), last)
            (stay if target == k else leave).append((k, i, t, target))
        page = base.with_restored(Removed(tuple((k, i, t) for k, i, t, _ in stay)))
        for _, _, t, target in leave:
            page = page.with_stroke(target, t)
        return page, removed

    def with_new_step(self, force: bool = False) -> Page:
        """A copy with an empty band appended below the last one.

        When the last step is still empty this returns ``self`` (no empty band twice), unless ``force``.
        """
        if self.steps[-1].is_empty and not force:
            return self
        return replace(self, steps=self.steps + (StepInk(),), tops=self.tops + (self.bottom,))

    def without_last_step(self) -> Page:
        """The inverse of ``with_new_step``. Raises ValueError when the last step holds ink or is the
        only step."""
        if len(self.steps) == 1:
            raise ValueError("cannot remove the only step")
        if not self.steps[-1].is_empty:
            raise ValueError("cannot remove a step that holds ink")
        return replace(self, steps=self.steps[:-1], tops=self.tops[:-1])

    def split_step(self, k: int, y: float) -> Page:
        """A copy where step k is cut at canvas y: its strokes whose box centre lies at or below y form
        a new step k+1 whose band starts at y. Raises ValueError unless ``top(k) < y < bottom(k)``."""
        top, bottom = self.band(k)
        if not top < y < bottom:
            raise ValueError(f"y={y} is not inside step {k}'s band ({top}..{bottom})")
        upper: list[Stroke] = []
        lower: list[Stroke] = []
        for s in self.steps[k].strokes:
            b = s.bbox
            (lower if (b.top + b.bottom) / 2.0 >= y else upper).append(s)
        steps = self.steps[:k] + (StepInk(tuple(upper)), StepInk(tuple(lower))) + self.steps[k + 1 :]
        tops = self.tops[: k + 1] + (float(y),) + self.tops[k + 1 :]
        return replace(self, steps=steps, tops=tops)

    def merged_with_next(self, k: int) -> Page:
        """The inverse of ``split_step(k, y)``: step k+1's ink joins step k (strokes ordered by start time,
        then id, i.e. writing order) and its band disappears. Raises IndexError when k+1 does not exist."""
        self._check(k)
        self._check(k + 1)
        merged = sorted(self.steps[k].strokes + self.steps[k + 1].strokes, key=lambda s: (s.start_ms, s.id))
        steps = self.steps[:k] + (StepInk(tuple(merged)),) + self.steps[k + 2 :]
        tops = self.tops[: k + 1] + self.tops[k + 2 :]
        return replace(self, steps=steps, tops=tops)
