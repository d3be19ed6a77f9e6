"""Entry point of the packaged application (PyInstaller).

``whiteboard-app`` with a subcommand (``check``, ``decks``, ``recognize``...) runs the CLI; with no
argument or only window options (``--engine``, ``--launch-probe``...) it opens the window.
"""

import sys

from whiteboard_app.cli import main as cli_main


def main(argv: list[str]) -> int:
    """Dispatch to the CLI or the window; returns the exit status."""
    if argv and not argv[0].startswith("-") or argv[:1] in (["-h"], ["--help"]):
        return cli_main(argv)
    from whiteboard_app.app import main as gui_main

    return gui_main(argv)


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # the maths and recogniser workers are spawned processes
    sys.exit(main(sys.argv[1:]))
