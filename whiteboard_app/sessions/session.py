"""Session: the live state of one attempt at a card (pure; the clock is injected).

The window tells the session what happens (a stroke ended, strokes were erased or restored, a step was
read, corrected, checked, the user moved on to the next step, answered a follow-up, graded the run);
the session stamps every event with its clock (ms since the attempt started) and can at any moment
give the split times, the freezes (gaps > 8 s without ink) and an immutable :class:`Board` snapshot to
save. Listeners (``subscribe``) hear every change, which is how autosave is wired::

    session = Session(card.id, SystemClock(), target_s=card.targets.cold_s, card_title=card.title)
    autosaver = Autosaver(store)                       # sessions.store
    session.subscribe(lambda kind, step: autosaver.submit(session.board()))
    session.add_stroke(stroke)                         # at pen-up; step defaults to the current step
    session.record_reading(0, result)                  # recognition.RecognitionResult or LaTeX str
    session.record_verdict(0, step_verdict)            # maths.StepVerdict or a mapping of its fields
    session.next_step()                                # closes step 0 (its split), opens step 1
    session.splits(); session.freezes(); session.current_freeze_ms()
    session.finish(); session.set_self_grade("good")

Stroke point coordinates are stored rounded (x, y to 0.01 px, t to 0.1 ms, pressure to 0.001), so
the board in memory is exactly what a save and load gives back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from whiteboard_app.ink.model import Point, StepInk, Stroke
from whiteboard_app.sessions.board import (
    AID_KINDS,
    CORRECTION_KINDS,
    FREEZE_MS,
    PAUSE_KINDS,
    SELF_GRADES,
    VERDICTS,
    Aid,
    Board,
    Correction,
    FollowupAnswer,
    Freeze,
    Pause,
    Reading,
    Split,
    StepRecord,
    StrokeEntry,
    VerdictEntry,
    busy_spans,
    compute_freezes,
    compute_splits,
)
from whiteboard_app.sessions.clock import Clock, utc_now

#: keystrokes closer than this (ms) are one stretch of typing (longer gaps are thinking)
TYPING_GAP_MS = 3000.0

Listener = Callable[[str, "int | None"], None]
"""Called as listener(kind, step) after each change; kind is one of EVENT_KINDS."""

EVENT_KINDS = (
    "stroke",
    "erase",
    "restore",
    "ink",
    "reading",
    "correction",
    "verdict",
    "step",
    "followup",
    "grade",
    "finish",
    "aid",
    "run",
)


def _quantize(stroke: Stroke) -> Stroke:
    pts = tuple(
        Point(round(p.x, 2), round(p.y, 2), round(p.t, 1), round(p.pressure, 3)) for p in stroke.points
    )
    return replace(stroke, points=pts)  # same id


class Session:
    """One attempt at card ``card_id``: mutable, single-threaded, every time from ``clock``.

    Times are session ms (0 at construction, or continuing a resumed board). Steps are numbered from 0
    and created on first use; ``current_step`` is the step new ink goes to by default.
    """

    def __init__(
        self,
        card_id: str,
        clock: Clock,
        *,
        target_s: float | None = None,
        card_title: str = "",
        started_at: datetime | None = None,
        board_id: str | None = None,
    ) -> None:
        self._clock = clock
        self._origin = clock.now_ms()
        self._offset = 0.0
        kw: dict[str, Any] = {"board_id": board_id} if board_id else {}
        self._board = Board(
            card_id=card_id,
            started_at=started_at or utc_now(),
            card_title=card_title,
            target_s=float(target_s) if target_s is not None else None,
            **kw,
        )
        self._steps: dict[int, StepRecord] = {}
        self._current = 0
        # stroke id -> every (step, position) holding an entry of it, in the order they were made: a
        # stroke moved between steps has an entry in each (erased where it left)
        self._where: dict[int, list[tuple[int, int]]] = {}
        self._erased_at: dict[int, list[tuple[int, int]]] = {}  # stroke id -> places its last erase hit
        self._followups: list[FollowupAnswer] = []
        self._listeners: list[Listener] = []
        self._steps[0] = StepRecord(0, 0.0)  # the attempt starts on step 0
        self._open_pause: tuple[float, str, int | None] | None = None  # (start ms, why, step)
        self._pause_depth = 0

    # ------------------------------------------------------------------------------ construction
    @classmethod
    def resume(cls, board: Board, clock: Clock) -> Session:
        """Continue an unfinished board: its time goes on from its last recorded event (the time the
        program was closed does not count). The current step is the last one."""
        s = cls(
            board.card_id,
            clock,
            target_s=board.target_s,
            card_title=board.card_title,
            started_at=board.started_at,
            board_id=board.board_id,
        )
        s._offset = board.last_event_ms()
        s._board = replace(board, steps=(), followups=(), finished_ms=None)
        s._steps = {}
        for step in board.steps:
            s._steps[step.index] = step
        # each stroke's entries in the order they were made (an entry is made at its end_ms)
        made = sorted(
            (e.end_ms, step.index, pos, e.stroke.id)
            for step in board.steps
            for pos, e in enumerate(step.strokes)
        )
        for _end, index, pos, sid in made:
            s._where.setdefault(sid, []).append((index, pos))
        s._followups = list(board.followups)
        s._current = max(s._steps, default=0)
        return s

    # ------------------------------------------------------------------------------------ basics
    @property
    def card_id(self) -> str:
        return self._board.card_id

    @property
    def board_id(self) -> str:
        return self._board.board_id

    @property
    def target_s(self) -> float | None:
        return self._board.target_s

    @property
    def current_step(self) -> int:
        """Index of the step new ink goes to by default."""
        return self._current

    @property
    def finished(self) -> bool:
        return self._board.finished_ms is not None

    def elapsed_ms(self) -> float:
        """Session ms now (stops at ``finish``)."""
        if self._board.finished_ms is not None:
            return self._board.finished_ms
        return self._offset + self._clock.now_ms() - self._origin

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(kind, step)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, kind: str, step: int | None) -> None:
        for listener in list(self._listeners):
            listener(kind, step)

    def _step(self, index: int | None, at: float) -> StepRecord:
        i = self._current if index is None else index
        if i < 0:
            raise ValueError(f"step index must be >= 0, got {i}")
        if i not in self._steps:
            self._steps[i] = StepRecord(i, at)
        return self._steps[i]

    def step(self, index: int) -> StepRecord:
        """The record of step ``index`` (KeyError if nothing happened on it)."""
        return self._steps[index]

    @property
    def steps(self) -> list[StepRecord]:
        """All steps so far, by index."""
        return [self._steps[i] for i in sorted(self._steps)]

    def ink(self, step: int | None = None) -> StepInk:
        """The ink now on ``step`` (default: the current step)."""
        i = self._current if step is None else step
        return self._steps[i].ink if i in self._steps else StepInk()

    # --------------------------------------------------------------------------------------- ink
    def add_stroke(self, stroke: Stroke, step: int | None = None) -> StrokeEntry:
        """Record a finished stroke (call at pen-up). Pen-up is now; pen-down is now minus the stroke's
        own duration (its points' t span, ms). Returns the entry; the stroke keeps its id."""
        self._check_open()
        now = self.elapsed_ms()
        st = self._step(step, now)
        q = _quantize(stroke)
        entry = StrokeEntry(q, max(0.0, now - max(0.0, q.end_ms - q.start_ms)), now)
        self._where.setdefault(q.id, []).append((st.index, len(st.strokes)))
        self._steps[st.index] = replace(st, strokes=st.strokes + (entry,))
        self._emit("stroke", st.index)
        return entry

    def _mark_at(self, places: Iterable[tuple[int, int]], erased: bool, kind: str) -> None:
        """Set or clear the erase time (now) of the entries at ``places`` ((step, position) pairs) and
        tell the listeners once per step that changed."""
        now = self.elapsed_ms()
        changed: dict[int, list[StrokeEntry]] = {}
        for i, pos in places:
            entries = changed.setdefault(i, list(self._steps[i].strokes))
            e = entries[pos]
            if (e.erased_ms is None) == erased:
                entries[pos] = replace(e, erased_ms=now if erased else None)
        for i, entries in changed.items():
            self._steps[i] = replace(self._steps[i], strokes=tuple(entries))
        for i in changed:
            self._emit(kind, i)

    def _places(self, stroke_id: int) -> list[tuple[int, int]]:
        if stroke_id not in self._where:
            raise KeyError(f"no stroke with id {stroke_id} in this session")
        return self._where[stroke_id]

    def _entry(self, place: tuple[int, int]) -> StrokeEntry:
        return self._steps[place[0]].strokes[place[1]]

    def erase_strokes(self, stroke_ids: Iterable[int]) -> None:
        """Mark strokes (by id, any step) erased now wherever they are on the board; their ink stays in
        the board for replay. Raises KeyError for an id the session never saw (nothing is changed)."""
        self._check_open()
        hit = {
            sid: [p for p in self._places(sid) if self._entry(p).erased_ms is None]
            for sid in list(stroke_ids)
        }
        for sid, places in hit.items():
            if places:
                self._erased_at[sid] = places
        self._mark_at([p for places in hit.values() for p in places], True, "erase")

    def restore_strokes(self, stroke_ids: Iterable[int]) -> None:
        """Undo an erase: each stroke not on the board is back where ``erase_strokes`` last erased it
        (else where it was erased last); its erase time is dropped. A stroke already on the board is left
        as it is. Raises KeyError for an id the session never saw (nothing is changed)."""
        self._check_open()
        back: list[tuple[int, int]] = []
        for sid in list(stroke_ids):
            places = self._places(sid)
            if all(self._entry(p).erased_ms is not None for p in places):
                back += [p for p in self._erased_at.get(sid, ()) if p in places] or [
                    max(places, key=lambda p: (self._entry(p).erased_ms, places.index(p)))
                ]
        self._mark_at(back, False, "restore")

    def set_ink(self, ink: StepInk, step: int | None = None) -> None:
        """Bring ``step`` in line with ``ink`` after any edit (undo/redo, move, lasso): strokes missing
        from ``ink`` are erased, known ones with other points replaced (a move within the step keeps the
        stroke's times), unknown ones added as new strokes (times: now).

        Strokes are looked up within ``step`` only (other steps are synced by their own calls): a stroke
        erased here comes back in its old entry (undo of an erase) when nothing happened to it since;
        one that was on another step since (moved away and back, or split off and the split undone)
        arrives as a new entry, so that the board's replay shows it in one step at a time."""
        self._check_open()
        st = self._step(step, self.elapsed_ms())
        want = {s.id: s for s in ink.strokes}
        last = {e.stroke.id: pos for pos, e in enumerate(st.strokes)}  # this step's newest entry of an id
        keep = {
            sid: pos
            for sid, pos in last.items()
            if sid in want and (st.strokes[pos].erased_ms is None or self._where[sid][-1] == (st.index, pos))
        }
        gone = [
            (st.index, pos)
            for pos, e in enumerate(st.strokes)
            if e.erased_ms is None and keep.get(e.stroke.id) != pos
        ]
        back = [(st.index, pos) for pos in keep.values() if st.strokes[pos].erased_ms is not None]
        entries = list(st.strokes)
        for sid, pos in keep.items():
            q = _quantize(want[sid])
            if q.points != entries[pos].stroke.points:
                entries[pos] = replace(entries[pos], stroke=q)
        self._steps[st.index] = replace(st, strokes=tuple(entries))
        if gone:
            self._mark_at(gone, True, "erase")
        if back:
            self._mark_at(back, False, "restore")
        for s in ink.strokes:
            if s.id not in keep:
                self.add_stroke(s, st.index)
        self._emit("ink", st.index)

    # ------------------------------------------------------------------ readings, verdicts, steps
    def record_reading(
        self, step: int, reading: Any, *, engine: str = "", ms: float | None = None
    ) -> Reading:
        """Record what the recogniser read on ``step``: a ``RecognitionResult`` (its n-best, engine and
        ms are kept), or a LaTeX string / None ("could not read")."""
        now = self.elapsed_ms()
        st = self._step(step, now)
        if reading is None or isinstance(reading, str):
            r = Reading(now, reading, ((reading, 0.0),) if reading else (), engine, ms or 0.0)
        else:
            cands = tuple((str(c.latex), float(c.score)) for c in getattr(reading, "candidates", ()))
            r = Reading(
                now,
                cands[0][0] if cands else None,
                cands,
                engine or str(getattr(reading, "engine", "") or ""),
                float(ms if ms is not None else getattr(reading, "ms", 0.0)),
            )
        self._steps[st.index] = replace(st, readings=st.readings + (r,))
        self._emit("reading", st.index)
        return r

    def record_correction(self, step: int, latex: str, kind: str = "reading") -> Correction:
        """The user replaced the current reading of ``step`` by ``latex``: a reading fix (``kind``
        "reading", the recogniser misread the ink) or an answer change ("answer"; the step keeps its
        first verdict for scoring, ``StepRecord.scored_verdict``). Raises ValueError for another kind."""
        if kind not in CORRECTION_KINDS:
            raise ValueError(f"correction kind must be one of {CORRECTION_KINDS}, got {kind!r}")
        now = self.elapsed_ms()
        st = self._step(step, now)
        c = Correction(now, st.latex, latex, kind)
        self._steps[st.index] = replace(st, corrections=st.corrections + (c,))
        self._emit("correction", st.index)
        return c

    def record_verdict(self, step: int, verdict: Any) -> VerdictEntry | None:
        """Record the checker's verdict for ``step``: a ``maths.StepVerdict`` (anything with
        ``to_json()``) or a mapping with its keys (latex, verdict, reference_step, diagnosis, shape, ms,
        message); None (nothing was checked) records nothing and returns None. Raises ValueError for an
        unknown verdict word."""
        if verdict is None:
            return None
        d = verdict.to_json() if hasattr(verdict, "to_json") else dict(verdict)
        if d.get("message") is None and getattr(verdict, "message", None):
            d["message"] = verdict.message
        if d.get("verdict") not in VERDICTS:
            raise ValueError(f"unknown verdict {d.get('verdict')!r}; expected one of {VERDICTS}")
        now = self.elapsed_ms()
        st = self._step(step, now)
        v = VerdictEntry(
            now,
            d.get("latex"),
            d["verdict"],
            d.get("reference_step"),
            d.get("diagnosis"),
            d.get("shape"),
            float(d.get("ms") or 0.0),
            d.get("message"),
        )
        self._steps[st.index] = replace(st, verdicts=st.verdicts + (v,))
        self._emit("verdict", st.index)
        return v

    def next_step(self) -> int:
        """Close the current step now (its split ends here) and make the next index current; returns it."""
        self._check_open()
        now = self.elapsed_ms()
        st = self._step(None, now)
        self._steps[st.index] = replace(st, closed_ms=now)
        self._current = st.index + 1
        self._step(None, now)
        self._emit("step", self._current)
        return self._current

    # ------------------------------------------------------------------------------ the end
    def record_followup(
        self, index: int, question: str, answer: str, grade: str | None = None
    ) -> FollowupAnswer:
        """Record the answer to follow-up ``index`` (and its self-grade, one of SELF_GRADES or None);
        answering the same follow-up again replaces the earlier answer."""
        if grade is not None and grade not in SELF_GRADES:
            raise ValueError(f"grade must be one of {SELF_GRADES}, got {grade!r}")
        f = FollowupAnswer(index, question, answer, self.elapsed_ms(), grade)
        self._followups = [x for x in self._followups if x.index != index] + [f]
        self._emit("followup", None)
        return f

    def record_aid(self, step: int, kind: str, index: int = 0) -> Aid:
        """The user took help on ``step`` (0-based): a hint (``kind`` "hint", ``index`` which one,
        1-based) or a revealed reference step ("reveal", ``index`` its number). Recorded after the run
        too. Raises ValueError for another kind or a negative step or index."""
        if kind not in AID_KINDS:
            raise ValueError(f"aid kind must be one of {AID_KINDS}, got {kind!r}")
        if step < 0 or index < 0:
            raise ValueError(f"step and index must be >= 0, got {step}, {index}")
        a = Aid(self.elapsed_ms(), int(step), kind, int(index))
        self._board = replace(self._board, aids=self._board.aids + (a,))
        self._emit("aid", step)
        return a

    # ------------------------------------------------------------------------- busy without the pen
    def note_typing(self) -> None:
        """A key was typed into a step's LaTeX field now: typing is busy, not a freeze. Keystrokes
        closer than TYPING_GAP_MS are one stretch of typing (board ``pauses``, why "typing")."""
        if self.finished:
            return
        now = self.elapsed_ms()
        pauses = list(self._board.pauses)
        last = pauses[-1] if pauses else None
        if last is not None and last.why == "typing" and 0 <= now - last.end_ms <= TYPING_GAP_MS:
            pauses[-1] = replace(last, end_ms=now)
        else:
            pauses.append(Pause(now, now, "typing", self._current))
        self._board = replace(self._board, pauses=tuple(pauses))

    def begin_pause(self, why: str = "dialog") -> None:
        """A dialog opened over the practice (export, settings...): the time until :meth:`end_pause` is
        not a freeze. Nested calls count once. Raises ValueError for an unknown reason."""
        if why not in PAUSE_KINDS:
            raise ValueError(f"pause must be one of {PAUSE_KINDS}, got {why!r}")
        self._pause_depth += 1
        if self._open_pause is None and not self.finished:
            self._open_pause = (self.elapsed_ms(), why, self._current)

    def end_pause(self) -> None:
        """The dialog of :meth:`begin_pause` closed (nothing when none is open)."""
        self._pause_depth = max(0, self._pause_depth - 1)
        if self._pause_depth or self._open_pause is None:
            return
        start, why, step = self._open_pause
        self._open_pause = None
        self._board = replace(
            self._board, pauses=self._board.pauses + (Pause(start, self.elapsed_ms(), why, step),)
        )

    @property
    def paused(self) -> bool:
        """True while a dialog is open over the practice (:meth:`begin_pause`)."""
        return self._open_pause is not None

    def _pauses(self) -> tuple[Pause, ...]:
        if self._open_pause is None:
            return self._board.pauses
        start, why, step = self._open_pause
        return self._board.pauses + (Pause(start, self.elapsed_ms(), why, step),)

    def set_run(self, run: Mapping[str, Any] | None) -> None:
        """Keep the run's judgement as a derivation (``RunJudgement.to_json()``, sessions/run.py) on the
        board, for the grade (``scheduler.rating_for_board``); also after the run (a late correction)."""
        self._board = replace(self._board, run=dict(run) if run is not None else None)
        self._emit("run", None)

    def set_self_grade(self, grade: str) -> None:
        """The user's grade of the whole run: one of SELF_GRADES ("again", "hard", "good", "easy")."""
        if grade not in SELF_GRADES:
            raise ValueError(f"grade must be one of {SELF_GRADES}, got {grade!r}")
        self._board = replace(self._board, self_grade=grade)
        self._emit("grade", None)

    def finish(self, at_ms: float | None = None) -> None:
        """The user declared the derivation done: the clock stops, the open step is closed.

        ``at_ms`` (session ms, optional): when the user pressed Done, if a confirmation ("End the run?")
        was answered later; the clock stops there and a pause begun at or after it (that dialog) is
        dropped, so neither the run's time nor a freeze before Done runs on while the question is read.
        Values before the last recorded pause or after now are clamped to that range."""
        if self.finished:
            return
        while self._open_pause is not None:
            self.end_pause()
        now = self.elapsed_ms()
        if at_ms is not None and at_ms < now:
            kept = tuple(p for p in self._board.pauses if p.start_ms < at_ms)
            now = max(at_ms, max((p.end_ms for p in kept), default=0.0))
            self._board = replace(self._board, pauses=kept)
        if self._current in self._steps:
            st = self._steps[self._current]
            if st.strokes or st.readings or st.corrections or st.verdicts:
                if st.closed_ms is None:
                    self._steps[st.index] = replace(st, closed_ms=now)
            else:  # an empty step opened by next_step: drop it (a typed step is not empty)
                del self._steps[self._current]
        self._board = replace(self._board, finished_ms=now)
        self._emit("finish", None)

    def _check_open(self) -> None:
        if self.finished:
            raise RuntimeError("the session is finished; no more ink can be added")

    # ------------------------------------------------------------------------------ derived
    def splits(self) -> list[Split]:
        """Split time of each step so far; the open step's split runs to now (live display)."""
        now = None if self.finished else self.elapsed_ms()
        return compute_splits(self.steps, now)

    def freezes(self, *, include_current: bool = False) -> list[Freeze]:
        """Gaps > 8 s without ink so far (time order); with ``include_current`` also the gap going on
        now if it is already longer than 8 s (step None). Once finished, the gap between the last
        busy span and Done counts (step None) whatever ``include_current`` says, as ``Board.freezes``."""
        now = self.elapsed_ms() if include_current or self.finished else None
        freezes = compute_freezes(self.steps, now, pauses=self._pauses(), aids=self._board.aids)
        if not self.finished and self._open_pause is not None and freezes and freezes[-1].step is None:
            freezes.pop()  # a dialog is open now: nothing is going on at the board
        return freezes

    def current_freeze_ms(self) -> float | None:
        """How long (ms) the user has been without ink if that is already a freeze (> 8 s), else None."""
        if self.finished or self._open_pause is not None:
            return None
        last = max(
            (end for _start, end, _step in busy_spans(self.steps, self._pauses(), self._board.aids)),
            default=0.0,
        )
        gap = self.elapsed_ms() - last
        return gap if gap > FREEZE_MS else None

    def board(self) -> Board:
        """An immutable snapshot of the attempt, ready to save (cheap: shares the stroke objects)."""
        return replace(
            self._board,
            steps=tuple(self.steps),
            pauses=self._pauses(),
            followups=tuple(sorted(self._followups, key=lambda f: f.index)),
        )

    def verdicts_json(self) -> list[dict[str, Any]]:
        """The latest verdict of each step, as the ``check`` CLI prints them (steps without one skipped)."""
        return [s.verdict.to_check_json() for s in self.steps if s.verdict is not None]


def verdict_counts(board: Board) -> Mapping[str, int]:
    """How many steps of ``board`` have each latest verdict (``"none"`` for unchecked steps)."""
    out: dict[str, int] = {}
    for s in board.steps:
        key = s.verdict.verdict if s.verdict else "none"
        out[key] = out.get(key, 0) + 1
    return out
