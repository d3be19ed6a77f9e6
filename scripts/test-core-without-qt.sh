#!/usr/bin/env bash
# Runs the core tests (everything but tests/ui/) with PySide6 made unimportable, so that a Qt import
# sneaking into the core fails CI. Called by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
WHITEBOARD_BLOCK_QT=1 .venv/bin/python -m pytest -q -p no:cacheprovider -p no:pytest-qt -W ignore::pytest.PytestConfigWarning -m "not qt" tests
