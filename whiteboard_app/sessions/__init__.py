"""sessions layer (see docs/INTERFACES.md): clock, live session, boards and their store, history,
scheduler, replay. Pure Python: no Qt."""

from whiteboard_app.sessions.board import (
    BOARD_FORMAT_VERSION,
    FREEZE_MS,
    SELF_GRADES,
    Board,
    BoardError,
    Freeze,
    Split,
    StepRecord,
)
from whiteboard_app.sessions.clock import Clock, FakeClock, SystemClock
from whiteboard_app.sessions.session import Session

__all__ = [
    "BOARD_FORMAT_VERSION",
    "FREEZE_MS",
    "SELF_GRADES",
    "Board",
    "BoardError",
    "Clock",
    "FakeClock",
    "Freeze",
    "Session",
    "Split",
    "StepRecord",
    "SystemClock",
]
