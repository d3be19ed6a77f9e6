#!/usr/bin/env bash
# Runs the program under Xvfb through a scripted session (whiteboard_app/ui/screenshot_script.py) and
# saves PNGs of the deck browser, a run in progress with verdicts, and the interviewer's follow-up panel
# into docs/screenshots/. Needs xvfb-run (scripts/install-system-deps.sh installs it).
# Uses a throw-away data folder and settings file, so the user's history is untouched.
#
# Usage: scripts/screenshots.sh [OUT_DIR] [PROGRAM OPTIONS...]
#   OUT_DIR (default docs/screenshots; relative to the current folder) receives the PNGs; any further
#   arguments go to the program (whiteboard_app.app), e.g. --engine NAME or --deck PATH...
set -euo pipefail
OUT=""
if [[ $# -gt 0 && "$1" != -* ]]; then
  OUT="$(realpath -m -- "$1")"
  shift
fi
cd "$(dirname "$0")/.."
OUT="${OUT:-docs/screenshots}"
PY="${PYTHON:-.venv/bin/python}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
if ! command -v xvfb-run >/dev/null; then
  echo "xvfb-run is missing: run scripts/install-system-deps.sh (Debian package xvfb)" >&2
  exit 1
fi
WHITEBOARD_DATA_DIR="$TMP/data" QT_QPA_PLATFORM=xcb \
  xvfb-run -a -s "-screen 0 1600x1000x24" \
  "$PY" -m whiteboard_app.app --settings "$TMP/settings.ini" --screenshot-script "$OUT" "$@"
ls -l "$OUT"/*.png
