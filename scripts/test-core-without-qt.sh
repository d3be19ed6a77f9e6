#!/usr/bin/env bash
# The full core suite (everything but tests/ui/) with PySide6 made unimportable. Not part of `make test`
# any more: tests/test_core_without_qt.py (every core module imported and every headless command run
# once with Qt blocked) plus import-linter give the same guarantee in seconds. Run this by hand (or
# `make test-core`) after a change to how the core loads its optional parts.
set -euo pipefail
cd "$(dirname "$0")/.."
WHITEBOARD_BLOCK_QT=1 .venv/bin/python -m pytest -q -p no:cacheprovider -p no:pytest-qt -W ignore::pytest.PytestConfigWarning -m "not qt" tests
