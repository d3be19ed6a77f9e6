"""The Qt event loop of the window: the part of starting the program that needs Qt.

``whiteboard_app.app`` (the composition root) parses options and builds the services; this module owns
the QApplication, so that no PySide6 import stands outside ``whiteboard_app.ui``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from whiteboard_app.ui import pyside_guard


def run(args: argparse.Namespace, build_window: Callable, install_excepthook: Callable, t0: float) -> int:
    """Create the QApplication, build and show the window with ``build_window(args)``, run the event loop,
    then ``shutdown`` and end the process with the loop's exit status (``exit_now``). ``args.launch_probe`` prints the launch time (ms since ``t0``, a
    ``time.perf_counter()`` value) and quits; ``args.screenshot_script`` runs the scripted screenshot
    session into that folder."""
    pyside_guard.ensure()  # PySide6 6.12 on CPython 3.11: see ui/pyside_guard.py
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("whiteboard-app")
    app.setApplicationName("whiteboard-app")
    window, services, _settings = build_window(args)
    install_excepthook(window)
    window.show()
    if args.launch_probe:

        def probe() -> None:
            loading = window.recognizers.loading
            print(
                f"window-shown {1000.0 * (time.perf_counter() - t0):.1f} recognizer-loading={loading}",
                flush=True,
            )
            app.quit()

        QTimer.singleShot(0, probe)
    elif args.screenshot_script is not None:
        from whiteboard_app.sessions.clock import FakeClock
        from whiteboard_app.ui.screenshot_script import run_script

        window.context.clock = FakeClock()  # the script moves time at a writing pace

        QTimer.singleShot(0, lambda: run_script(window, args.screenshot_script, app))
    code = app.exec()
    shutdown(window, services)
    exit_now(int(code))
    return int(code)  # not reached


#: How long Quit waits for the recogniser's process to be ended, s (it ends by itself once its pipe closes).
RECOGNIZER_CLOSE_WAIT_S = 0.05


def shutdown(window, services) -> None:
    """What Quit must finish before the process ends: the autosave flushed and the history closed
    (``services.close()``). The recogniser is closed on a daemon thread, waited for at most
    RECOGNIZER_CLOSE_WAIT_S: it serialises calls, so closing it waits for a reading in flight (up to
    its time limit, seconds); its process ends by itself when this one is gone (its pipe closes)."""
    closer = threading.Thread(target=window.recognizers.close, name="close-recognizer", daemon=True)
    closer.start()
    services.close()
    closer.join(RECOGNIZER_CLOSE_WAIT_S)


def exit_now(code: int) -> None:
    """End the process at once with ``code``, after ``shutdown``: nothing the user wrote is left to save,
    and the interpreter's own teardown would wait for work whose result nobody reads any more (a step
    read or checked in flight, the checker's process still starting: 11 s measured on a loaded 2-core
    machine, issue 16). Worker processes end by themselves when their pipe to this one closes."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
