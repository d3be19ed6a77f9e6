"""Guard against a reference-count defect of the PySide6 6.12.0 / shiboken6 wheels on CPython 3.11.

Measured here (2026-11, PySide6-Essentials 6.12.0, Python 3.11): every Qt method that returns ``void``
or a null pointer (``QPainterPath.addEllipse``, ``QPainter.drawPath``, ``QWidget.update``,
``QWidget.parent()`` of a top-level widget, ...) hands back ``None`` without taking a reference, so each
call lowers ``None``'s reference count by one. ``None`` starts with a few thousand references, so after a
few thousand such calls (one repaint of a busy board) CPython aborts with "Fatal Python error:
none_dealloc: deallocating None". CPython 3.12+ is unaffected because ``None``, ``True`` and ``False``
are immortal there (PEP 683), which is presumably why the defect went unnoticed upstream.

``ensure()`` detects the defect (a few calls of ``QPointF.setX`` must not change ``sys.getrefcount(None)``)
and, only when it is present, gives ``None``, ``True`` and ``False`` 2**40 extra references through
``ctypes``: the same effect as PEP 683's immortality, which no realistic session can use up (2**40 is
about 1.1e12 calls: twelve days at a million Qt calls a second). It is a
process-wide, idempotent, one-time fix; every module of ``whiteboard_app.ui`` that drives Qt heavily
imports this module, so the guard is in place before any painting. Remove it once the pinned PySide6
returns ``Py_RETURN_NONE`` correctly (``defect_present()`` then returns False and ``ensure`` does nothing).
"""

from __future__ import annotations

import ctypes
import sys

_EXTRA = 1 << 40
_applied = False


def defect_present() -> bool:
    """True when calling a void Qt method lowers ``None``'s reference count (see the module doc)."""
    from PySide6.QtCore import QPointF

    p = QPointF()
    before = sys.getrefcount(None)
    for _ in range(32):
        p.setX(1.0)
    return sys.getrefcount(None) <= before - 16


def ensure() -> bool:
    """Apply the guard once when the defect is present on a CPython < 3.12; returns whether it is
    applied (now or earlier)."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12) or not defect_present():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA  # ob_refcnt is the first field
    _applied = True
    return True


ensure()
