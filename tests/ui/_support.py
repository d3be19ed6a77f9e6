"""Set-up shared by the UI tests: a shown practice view with a fake checker, and the main window as the
program builds it (no recogniser, settings and data folder under the test's tmp_path).

Qt and the app are imported inside the functions: a test module imports this after its
``pytest.importorskip("pytestqt")``.
"""

from __future__ import annotations

from typing import Any

from tests.ui.fakes import fake_check


def show_practice_view(
    qtbot: Any,
    card: Any,
    *,
    size: tuple[int, int] | None = (1200, 800),
    activate: bool = False,
    resume: Any = None,
    **services: Any,
) -> Any:
    """A PracticeView of ``card`` handed to qtbot, resized to ``size`` (None: its own size), shown
    (``activate``: and activated) and exposed.

    ``services`` are PracticeServices fields; by default ``clock=FakeClock()``, ``check=fake_check(card)``
    (tests/ui/fakes.py) and ``near_misses=False``. ``resume`` goes to PracticeView (a board to resume).
    """
    from whiteboard_app.sessions.clock import FakeClock
    from whiteboard_app.ui.practice_view import PracticeServices, PracticeView

    services.setdefault("clock", FakeClock())
    services.setdefault("check", fake_check(card))
    services.setdefault("near_misses", False)
    view = PracticeView(card, PracticeServices(**services), resume=resume)
    qtbot.addWidget(view)
    if size is not None:
        view.resize(*size)
    view.show()
    if activate:
        view.activateWindow()
    qtbot.waitExposed(view)
    return view


def window_args(tmp_path: Any, data_dir: bool = True) -> Any:
    """The program's parsed arguments for a test: ``--no-recognizer``, settings in ``tmp_path/s.ini`` and
    (``data_dir``) the data folder ``tmp_path/data``; without it the environment/default data folder."""
    from whiteboard_app.app import parse_args

    argv = ["--no-recognizer", "--settings", str(tmp_path / "s.ini")]
    if data_dir:
        argv += ["--data-dir", str(tmp_path / "data")]
    return parse_args(argv)


def open_window(qtbot: Any, args: Any, show: bool = True) -> tuple[Any, Any, Any]:
    """build_window(args) handed to qtbot and (``show``) shown; returns (window, services, settings).
    The caller closes the window and the services (services.close() flushes the autosave)."""
    from whiteboard_app.app import build_window

    window, services, settings = build_window(args)
    qtbot.addWidget(window)
    if show:
        window.show()
    return window, services, settings
