"""``python -m whiteboard_app``: the command-line interface (``whiteboard-app``); with no arguments the window."""

import sys

from whiteboard_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
