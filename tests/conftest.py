"""Shared test setup.

With WHITEBOARD_BLOCK_QT=1 (scripts/test-core-without-qt.sh) PySide6 cannot be imported, which is how
CI proves that the core runs in an environment without Qt; tests that need Qt live in tests/ui/ and are
skipped there.
"""

from __future__ import annotations

import importlib.abc
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class _BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "PySide6" or fullname.startswith(("PySide6.", "shiboken6", "pytestqt")):
            raise ImportError(f"{fullname} is blocked: core-only test run (WHITEBOARD_BLOCK_QT=1)")
        return None


if os.environ.get("WHITEBOARD_BLOCK_QT") == "1":
    sys.meta_path.insert(0, _BlockQt())
    collect_ignore = ["ui"]
