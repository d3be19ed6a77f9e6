"""Where the user's data lives: boards, the history database.

``user_data_dir()`` is platformdirs' per-user data folder for the app (e.g.
``~/.local/share/whiteboard-app`` on Linux), unless moved: the environment variable
``WHITEBOARD_DATA_DIR`` wins (tests, portable installs), then a folder chosen in the settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "whiteboard-app"
ENV_VAR = "WHITEBOARD_DATA_DIR"


def user_data_dir(setting: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
    """The data folder: $WHITEBOARD_DATA_DIR if set and non-empty, else ``setting`` (a folder chosen in
    the settings) if given, else platformdirs.user_data_dir("whiteboard-app"). Created when ``create``.

    Raises OSError when the folder cannot be created.
    """
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        path = Path(env).expanduser()
    elif setting:
        path = Path(setting).expanduser()
    else:
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def boards_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of saved boards (``<data dir>/boards``), created if missing."""
    path = Path(root) / "boards" if root is not None else user_data_dir() / "boards"
    path.mkdir(parents=True, exist_ok=True)
    return path


def history_path(root: str | os.PathLike[str] | None = None) -> Path:
    """The history database file (``<data dir>/history.sqlite3``)."""
    return (Path(root) if root is not None else user_data_dir()) / "history.sqlite3"
