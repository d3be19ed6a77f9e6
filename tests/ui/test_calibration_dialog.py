"""The calibration dialog opened from the window offers the symbols the user keeps correcting: the
application gathers the (read, corrected) pairs from the saved boards (the run in progress included)
and the dialog's list adds every symbol missed at least 3 times, most missed first."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from tests.ui._support import open_window, window_args  # noqa: E402
from whiteboard_app.sessions import FakeClock, Session  # noqa: E402
from whiteboard_app.ui import calibration_dialog  # noqa: E402


def corrected_board(pairs: list[tuple[str, str]], card_id: str = "sigmoid-derivative") -> Session:
    """A session in which step k was read as pairs[k][0] and corrected to pairs[k][1]."""
    clock = FakeClock()
    s = Session(card_id, clock)
    for k, (read, corrected) in enumerate(pairs):
        clock.advance(1000)
        s.record_reading(k, read)
        clock.advance(1000)
        s.record_correction(k, corrected)
    return s


@pytest.fixture
def opened(qtbot, tmp_path, monkeypatch):
    """build_window over a fresh data folder; ``open()`` runs File -> Calibrate and returns the dialog
    (its exec is replaced so that it does not block)."""

    window, services, _settings = open_window(qtbot, window_args(tmp_path), show=False)
    shown = []
    monkeypatch.setattr(calibration_dialog.CalibrationDialog, "exec", lambda self: shown.append(self) or 0)

    def open_dialog():
        window.open_calibration()  # File -> Calibrate the recogniser...
        assert len(shown) == 1
        return shown.pop()

    yield window, services, open_dialog
    window.close()
    services.close()


def missed(dialog) -> list[tuple[str, str]]:
    return [(item.label, item.reason) for item in dialog.plan if item.reason.startswith("missed")]


def test_symbols_corrected_in_saved_boards_and_the_run_in_progress_are_offered(opened):
    window, services, open_dialog = opened
    alpha = ("a x = 1", r"\alpha x = 1")
    theta = ("0 = 1", r"\theta = 1")
    for pairs in ([alpha, theta], [alpha, theta], [alpha, ("y", "y + 1")]):
        services.store.save(corrected_board(pairs).board())
    dialog = open_dialog()
    assert missed(dialog) == [(r"\alpha", "missed 3 times")]  # \theta only twice: not yet
    assert any(item.label == r"\partial" for item in dialog.plan)  # the default symbols stay

    # the run in progress counts too (its autosave is flushed before the boards are read)
    live = corrected_board([theta])
    services.on_session(live)
    live.record_correction(0, theta[1])  # any change triggers an autosave
    dialog = open_dialog()
    assert missed(dialog) == [(r"\alpha", "missed 3 times"), (r"\theta", "missed 3 times")]
    assert [item.label for item in dialog.plan][-2:] == [r"\alpha", r"\theta"]


def test_typed_steps_and_unreadable_steps_are_not_misses(opened):
    window, services, open_dialog = opened
    for _ in range(3):
        clock = FakeClock()
        s = Session("sigmoid-derivative", clock)
        s.record_correction(0, r"\alpha = 1")  # keyboard only: typed, nothing was read
        clock.advance(10)
        s.record_reading(1, None)  # could not read
        clock.advance(10)
        s.record_correction(1, r"\beta = 1")
        services.store.save(s.board())
    assert missed(open_dialog()) == []
