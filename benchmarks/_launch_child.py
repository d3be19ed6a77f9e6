"""The measured program of benchmarks/launch.py, run by path with ``PYTHONPATH`` set to the tree under
test (this one or a baseline commit's): the real window start-up (``whiteboard_app.app.build_window``
inside ``whiteboard_app.ui.application.run``) with a throw-away data folder, printing on stdout

* ``shown`` at the event loop's first turn after ``show()`` (the window is usable),
* ``ready`` when the recogniser service has loaded (``recognizers.loading`` is False: a written step is
  read from now on),
* ``warm`` when the recogniser has also finished its warm-up (a tree whose recogniser has no ``warm``
  flag warms up before it is ready: the same moment),

then quits. Usage: ``python benchmarks/_launch_child.py TMPDIR``.
"""

from __future__ import annotations

import sys


def main(tmp: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    import whiteboard_app.ui.application as application
    from whiteboard_app.app import T0, build_window, install_excepthook, parse_args

    args = parse_args(["--settings", f"{tmp}/s.ini", "--data-dir", f"{tmp}/data"])

    def build(a):
        window, services, settings = build_window(a)
        said: set[str] = set()

        def say(what: str) -> None:
            if what not in said:
                said.add(what)
                print(what, flush=True)

        def poll() -> None:
            say("shown")
            service = window.recognizers
            if service.loading:
                QTimer.singleShot(10, poll)
                return
            if service.recognizer is None:
                print(f"failed {service.error}", flush=True)
                QApplication.instance().quit()
                return
            say("ready")
            if not getattr(service.recognizer, "warm", True):
                QTimer.singleShot(10, poll)
                return
            say("warm")
            window.close()
            QApplication.instance().quit()

        QTimer.singleShot(0, poll)
        return window, services, settings

    application.run(args, build, install_excepthook, T0)


if __name__ == "__main__":
    main(sys.argv[1])
