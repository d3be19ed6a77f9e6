"""The timing of one cold run, pure (no Qt): elapsed time against the card's target, per-step splits,
and freezes (no ink for more than 8 s).

Times are ms from a clock with ``now_ms()`` (``sessions`` Clock protocol: SystemClock, or FakeClock in
tests). The window's timer widget only displays what this computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: No ink for longer than this is a freeze, ms (issue 4: "freezes (no ink for more than 8 s)").
FREEZE_MS = 8000.0


class _Clock(Protocol):
    def now_ms(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Freeze:
    """A stretch without ink longer than the freeze limit: start (ms since the run began), length (ms),
    and the 0-based step during which it happened."""

    start_ms: float
    duration_ms: float
    step: int


@dataclass(frozen=True, slots=True)
class RunSummary:
    """End of a run: total time, target, per-step splits (ms per step), freezes."""

    total_ms: float
    target_ms: float
    splits: tuple[float, ...]
    freezes: tuple[Freeze, ...]

    @property
    def over_target(self) -> bool:
        return self.total_ms > self.target_ms


@dataclass
class RunTimer:
    """Cold-run timer. ``start()``, then ``ink()`` on every stroke (or typed step), ``split()`` when a
    step ends, ``stop()`` at the end. Raises RuntimeError on ``ink``/``split``/``stop`` before start.

    ``target_s`` is the card's target (300 s cold, 180 s once practised; docs/deck-authoring.md).
    """

    clock: _Clock
    target_s: float = 300.0
    freeze_ms: float = FREEZE_MS
    started_at: float | None = None
    stopped_at: float | None = None
    splits: list[float] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)
    _last_activity: float | None = None
    _split_start: float | None = None

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.stopped_at is None

    @property
    def step(self) -> int:
        """0-based index of the step being written."""
        return len(self.splits)

    def start(self) -> None:
        """Start (or restart) the run at the clock's now."""
        now = self.clock.now_ms()
        self.started_at, self.stopped_at = now, None
        self.splits, self.freezes = [], []
        self._last_activity = self._split_start = now

    def _require(self) -> float:
        if self.started_at is None:
            raise RuntimeError("the run has not started")
        return self.clock.now_ms() if self.stopped_at is None else self.stopped_at

    def _close_gap(self, now: float) -> None:
        gap = now - self._last_activity
        if gap > self.freeze_ms:
            self.freezes.append(Freeze(self._last_activity - self.started_at, gap, self.step))
        self._last_activity = now

    def ink(self) -> None:
        """Ink (or a typed step) arrived now: closes any freeze in progress."""
        now = self._require()
        if self.running:
            self._close_gap(now)

    def split(self) -> float:
        """End the current step; return its split time in ms."""
        now = self._require()
        if not self.running:
            return self.splits[-1] if self.splits else 0.0
        value = now - self._split_start
        self.splits.append(value)
        self._split_start = now
        return value

    def stop(self) -> RunSummary:
        """Stop the run (a freeze in progress at the end counts) and return the summary."""
        now = self._require()
        if self.running:
            self._close_gap(now)
            if now > self._split_start or not self.splits:
                self.splits.append(now - self._split_start)
            self.stopped_at = now
        return self.summary()

    def elapsed_ms(self) -> float:
        """Time since the start (frozen at the stop), 0 before the start."""
        if self.started_at is None:
            return 0.0
        return self._require() - self.started_at

    def current_split_ms(self) -> float:
        """Time spent on the step being written."""
        if not self.running:
            return 0.0
        return self.clock.now_ms() - self._split_start

    def idle_ms(self) -> float:
        """Time since the last ink (a live freeze once above ``freeze_ms``)."""
        if not self.running:
            return 0.0
        return self.clock.now_ms() - self._last_activity

    def frozen(self) -> bool:
        """True while no ink has come for more than the freeze limit."""
        return self.idle_ms() > self.freeze_ms

    def remaining_ms(self) -> float:
        """Target minus elapsed (negative once over the target)."""
        return self.target_s * 1000.0 - self.elapsed_ms()

    def summary(self) -> RunSummary:
        return RunSummary(self.elapsed_ms(), self.target_s * 1000.0, tuple(self.splits), tuple(self.freezes))


def format_ms(ms: float) -> str:
    """``m:ss`` for a duration in ms (negative durations get a leading minus)."""
    sign = "-" if ms < 0 else ""
    s = int(abs(ms) // 1000)
    return f"{sign}{s // 60}:{s % 60:02d}"
