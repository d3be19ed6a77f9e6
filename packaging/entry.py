"""Entry point of the packaged application (PyInstaller): the same as ``whiteboard-app`` on the command line."""

import sys

from whiteboard_app.cli import main

if __name__ == "__main__":
    sys.exit(main())
