"""Clocks: where a session, an autosaver or a replay reads the time.

Everything in ``sessions`` takes a :class:`Clock` instead of calling ``time`` itself, so tests drive
time with :class:`FakeClock` and never sleep.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A monotonic millisecond clock. Only differences between readings mean anything."""

    def now_ms(self) -> float:
        """Current time in ms (monotonic, arbitrary origin)."""
        ...


class SystemClock:
    """The process's monotonic clock (``time.monotonic``) in ms."""

    def now_ms(self) -> float:
        """Current monotonic time in ms."""
        return time.monotonic() * 1000.0


class FakeClock:
    """A clock that moves only when told to (tests).

    ``FakeClock(start_ms=0.0)``; ``advance(ms)`` moves it forward, ``set(ms)`` jumps to an absolute
    reading. Moving it backwards raises ValueError (a monotonic clock never does).
    """

    def __init__(self, start_ms: float = 0.0) -> None:
        self._now = float(start_ms)

    def now_ms(self) -> float:
        """The current fake time in ms."""
        return self._now

    def advance(self, ms: float) -> float:
        """Move forward by ``ms`` (>= 0) and return the new reading."""
        if ms < 0:
            raise ValueError(f"a clock cannot go back ({ms} ms)")
        self._now += float(ms)
        return self._now

    def set(self, ms: float) -> None:
        """Jump to the absolute reading ``ms`` (not earlier than now)."""
        if ms < self._now:
            raise ValueError(f"a clock cannot go back ({ms} < {self._now} ms)")
        self._now = float(ms)


def utc_now() -> datetime:
    """The wall-clock time, timezone-aware UTC (used only for the start date of an attempt)."""
    return datetime.now(UTC)
