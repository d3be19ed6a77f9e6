"""Rendering commands of the CLI: ``export BOARD --format png|pdf|inkml -o OUT``.

The dispatcher (whiteboard_app/cli.py) imports this module for every command, so it must not import
PySide6 (or anything of ``whiteboard_app.ui`` that does) at module level: the imports are inside the
command function. A PNG or PDF export starts an offscreen QApplication when there is no display.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("png", "pdf", "inkml")


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from whiteboard_app.sessions.board import BoardError
    from whiteboard_app.sessions.store import BoardStore

    try:
        board = BoardStore.load(args.board)
    except BoardError as exc:
        print(f"whiteboard-app: error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output)
    if not out.parent.is_dir():
        print(f"whiteboard-app: error: {out.parent}: no such folder", file=sys.stderr)
        return 2
    from whiteboard_app.ui.export import ExportError, export_board  # PySide6 from here on

    try:
        path = export_board(board, out, args.format)
    except (ExportError, OSError) as exc:
        print(f"whiteboard-app: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def register(subparsers) -> None:
    """Add ``export`` to the CLI."""
    p = subparsers.add_parser("export", help="export a saved board as PNG, PDF or InkML")
    p.add_argument("board", help="a .board.json file")
    p.add_argument("--format", "-f", choices=FORMATS, required=True, help="output format")
    p.add_argument("-o", "--output", required=True, help="output file")
    p.set_defaults(func=_export)
