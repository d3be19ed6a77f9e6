"""Replay of a saved board: its events in time order, the board as it looked at any instant, and a
player driven by a Clock (real time or faster; tests use FakeClock and never sleep).

``Replay(board)`` is pure data: ``events`` (every pen-down, pen-up, erase, reading, correction,
verdict, step opening and follow-up answer with its session time in ms) and ``frame(t_ms)`` (the ink
visible at ``t_ms`` per step, a stroke being written shown up to its last point with time <= t, and the
reading and verdict each step had then). ``ReplayPlayer(replay, clock, speed)`` maps clock time to board
time: ``position_ms() = start position + (clock.now_ms() - clock at play) * speed``, clamped to
the board's duration; ``poll()`` hands out the events passed since the previous poll, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from whiteboard_app.ink.model import StepInk, Stroke
from whiteboard_app.sessions.board import Board, Freeze
from whiteboard_app.sessions.clock import Clock

EVENT_KINDS = (
    "step",
    "pen_down",
    "pen_up",
    "erase",
    "reading",
    "correction",
    "verdict",
    "followup",
    "finish",
)
_ORDER = {k: i for i, k in enumerate(EVENT_KINDS)}


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """Something that happened at ``t_ms`` (session ms) on step ``step`` (None: the whole board).

    ``kind`` is one of EVENT_KINDS; ``index`` is the stroke's position in the step's stroke list for
    pen_down / pen_up / erase, the follow-up index for followup, else 0; ``text`` the LaTeX of a
    reading or correction, the verdict word of a verdict, the answer of a follow-up."""

    t_ms: float
    kind: str
    step: int | None
    index: int = 0
    text: str | None = None


@dataclass(frozen=True, slots=True)
class StepFrame:
    """One step at an instant: visible ink (a stroke in progress is cut at that instant), its reading
    and verdict then (None if none yet), whether the recogniser's reading was corrected by then (a
    reading fix) and whether the user had changed the maths by then (an answer change)."""

    index: int
    ink: StepInk
    latex: str | None
    verdict: str | None
    corrected: bool
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """The board at ``t_ms``: steps that had begun, and the freezes over by then."""

    t_ms: float
    steps: tuple[StepFrame, ...]
    freezes: tuple[Freeze, ...] = field(default_factory=tuple)

    def stroke_count(self) -> int:
        return sum(len(s.ink) for s in self.steps)


class Replay:
    """The time-ordered events of ``board`` and its state at any instant (pure)."""

    def __init__(self, board: Board) -> None:
        self.board = board
        ev: list[ReplayEvent] = []
        for s in board.steps:
            ev.append(ReplayEvent(self.step_start_ms(s.index), "step", s.index))
            for i, e in enumerate(s.strokes):
                ev.append(ReplayEvent(e.start_ms, "pen_down", s.index, i))
                ev.append(ReplayEvent(e.end_ms, "pen_up", s.index, i))
                if e.erased_ms is not None:
                    ev.append(ReplayEvent(e.erased_ms, "erase", s.index, i))
            ev += [ReplayEvent(r.t_ms, "reading", s.index, 0, r.latex) for r in s.readings]
            # an answer change (the maths changed) is told apart from a reading fix in the timeline
            ev += [
                ReplayEvent(
                    c.t_ms,
                    "correction",
                    s.index,
                    0,
                    ("answer changed: " if c.kind == "answer" and c.before is not None else "") + c.after,
                )
                for c in s.corrections
            ]
            ev += [ReplayEvent(v.t_ms, "verdict", s.index, 0, v.verdict) for v in s.verdicts]
        ev += [ReplayEvent(f.t_ms, "followup", None, f.index, f.answer) for f in board.followups]
        if board.finished_ms is not None:
            ev.append(ReplayEvent(board.finished_ms, "finish", None))
        self.events: tuple[ReplayEvent, ...] = tuple(
            sorted(ev, key=lambda e: (e.t_ms, _ORDER[e.kind], e.step if e.step is not None else -1, e.index))
        )
        self.duration_ms = max([board.duration_ms] + [e.t_ms for e in self.events])
        self._freezes = tuple(board.freezes())

    def step_start_ms(self, step: int) -> float:
        """When step ``step`` began: its opening or its first pen-down, whichever came first."""
        s = self.board.step(step)
        return min([s.opened_ms] + [e.start_ms for e in s.strokes])

    def step_indices(self) -> list[int]:
        return sorted(s.index for s in self.board.steps)

    def events_between(self, t0: float, t1: float) -> list[ReplayEvent]:
        """Events with t0 < t_ms <= t1, in order (t0 = -inf includes events at 0)."""
        return [e for e in self.events if t0 < e.t_ms <= t1]

    def frame(self, t_ms: float) -> Frame:
        """The board as it looked at ``t_ms`` (session ms)."""
        steps = []
        for s in sorted(self.board.steps, key=lambda s: s.index):
            if self.step_start_ms(s.index) > t_ms:
                continue
            visible: list[Stroke] = []
            for e in s.strokes:
                if e.start_ms > t_ms or (e.erased_ms is not None and e.erased_ms <= t_ms):
                    continue
                if e.end_ms <= t_ms:
                    visible.append(e.stroke)
                    continue
                times = e.point_times()
                n = sum(1 for t in times if t <= t_ms)
                if n:
                    visible.append(Stroke(e.stroke.points[:n], e.stroke.id))
            texts = [(r.t_ms, 0, r.latex) for r in s.readings if r.t_ms <= t_ms]
            texts += [(c.t_ms, 1, c.after) for c in s.corrections if c.t_ms <= t_ms]
            latex = max(texts, key=lambda x: (x[0], x[1]))[2] if texts else None
            verdicts = [v for v in s.verdicts if v.t_ms <= t_ms]
            corrected = any(
                c.t_ms <= t_ms and c.after != c.before and c.kind == "reading" for c in s.corrections
            )
            changed = any(
                c.t_ms <= t_ms and c.after != c.before and c.kind == "answer" and c.before is not None
                for c in s.corrections
            )
            steps.append(
                StepFrame(
                    s.index,
                    StepInk(tuple(visible)),
                    latex,
                    verdicts[-1].verdict if verdicts else None,
                    corrected,
                    changed,
                )
            )
        return Frame(t_ms, tuple(steps), tuple(f for f in self._freezes if f.end_ms <= t_ms))


class ReplayPlayer:
    """Plays a Replay against ``clock`` at ``speed`` (1.0 = real time, 4.0 = four times faster).

    Starts paused at 0. ``play()``, ``pause()``, ``seek(ms)``, ``jump_to_step(i)``, ``set_speed(x)``;
    ``position_ms()`` is the board time now; ``poll()`` returns the events passed since the last poll
    (after a backward seek it starts again from the new position); ``done`` once the end is reached.
    Raises ValueError for a speed <= 0.
    """

    def __init__(self, replay: Replay, clock: Clock, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.replay = replay
        self.clock = clock
        self.speed = float(speed)
        self._base_pos = 0.0
        self._base_clock = clock.now_ms()
        self._playing = False
        self._polled = float("-inf")

    @property
    def playing(self) -> bool:
        return self._playing and not self.done

    @property
    def done(self) -> bool:
        return self.position_ms() >= self.replay.duration_ms

    def position_ms(self) -> float:
        pos = self._base_pos
        if self._playing:
            pos += (self.clock.now_ms() - self._base_clock) * self.speed
        return min(max(pos, 0.0), self.replay.duration_ms)

    def _rebase(self, pos: float) -> None:
        self._base_pos = min(max(pos, 0.0), self.replay.duration_ms)
        self._base_clock = self.clock.now_ms()

    def play(self) -> None:
        """Start or resume (from the start again when at the end)."""
        if self.done:
            self.seek(0.0)
        self._rebase(self.position_ms())
        self._playing = True

    def pause(self) -> None:
        self._rebase(self.position_ms())
        self._playing = False

    def set_speed(self, speed: float) -> None:
        """Change the speed without a jump in position."""
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._rebase(self.position_ms())
        self.speed = float(speed)

    def seek(self, t_ms: float) -> None:
        """Go to board time ``t_ms`` (clamped to the board); the next poll starts there."""
        self._rebase(t_ms)
        self._polled = self._base_pos if self._base_pos > 0 else float("-inf")

    def jump_to_step(self, step: int) -> None:
        """Go to the moment step ``step`` began (KeyError if the board has no such step); events at
        that moment are handed out by the next poll."""
        t = self.replay.step_start_ms(step)
        self._rebase(t)
        self._polled = t - 1e-9 if t > 0 else float("-inf")

    def poll(self) -> list[ReplayEvent]:
        """Events passed since the previous poll (in time order)."""
        now = self.position_ms()
        out = self.replay.events_between(self._polled, now)
        self._polled = now
        return out

    def frame(self) -> Frame:
        """The board at the current position."""
        return self.replay.frame(self.position_ms())
