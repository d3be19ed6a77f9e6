"""Yes/no confirmations (Done or Quit on a run in progress, deleting a board).

One function, :func:`confirm`, built on ``QMessageBox.question`` so that tests answer it the usual
pytest-qt way (``monkeypatch.setattr(QMessageBox, "question", ...)``). On Qt's ``offscreen`` platform
nobody can see or answer a dialog, so an unanswered confirmation there says yes instead of blocking
(scripted runs, tests that do not ask about it).
"""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

_QUESTION = QMessageBox.question


def confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Ask ``text`` with Yes / Cancel (Cancel the default); True for Yes. See the module doc for the
    offscreen platform."""
    ask = QMessageBox.question
    if ask is _QUESTION and QGuiApplication.platformName() == "offscreen":
        return True
    answer = ask(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes
