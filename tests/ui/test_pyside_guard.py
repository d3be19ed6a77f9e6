"""The PySide6 6.12 / CPython 3.11 None-refcount guard (whiteboard_app/ui/pyside_guard.py)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath

from whiteboard_app.ui import pyside_guard

pytestmark = pytest.mark.qt


def test_guard_is_applied_exactly_when_the_defect_is_present():
    assert pyside_guard.ensure() == (pyside_guard._applied)
    if sys.version_info < (3, 12) and pyside_guard.defect_present():
        assert pyside_guard.ensure() is True


def test_many_void_qt_calls_do_not_deallocate_none():
    # Without the guard this aborts the interpreter ("deallocating None") after a few thousand calls.
    before = sys.getrefcount(None)
    path = QPainterPath()
    p = QPointF()
    for i in range(20_000):
        p.setX(float(i))
        path.moveTo(p)
    assert sys.getrefcount(None) > 1000
    assert before - sys.getrefcount(None) <= 20_000 * 2
