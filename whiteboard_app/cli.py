"""Headless command-line interface: ``whiteboard-app SUBCOMMAND ...``.

Each layer registers its own subcommands (``register(subparsers)`` in the modules listed in
``_COMMAND_MODULES``) so that the CLI stays a thin shell over the core. Exit codes: 0 success,
1 a command ran and found errors (e.g. ``decks validate``), 2 bad arguments, an unknown card, or any
error from a file, LaTeX or ink (one line on stderr, never a traceback).
With no subcommand the window starts (``whiteboard_app.app``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

# module path -> it defines register(subparsers: argparse._SubParsersAction) -> None
_COMMAND_MODULES = (
    "whiteboard_app.commands.decks",
    "whiteboard_app.commands.check",
    "whiteboard_app.commands.recognize",
    "whiteboard_app.recognition.training.cli",
    "whiteboard_app.commands.boards",
    "whiteboard_app.commands.grill",
    "whiteboard_app.ui.cli",  # must import PySide6 only inside its command functions
)


_RST_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_RST_LITERAL = re.compile(r"``([^`]+?)``")


def plain_help(text: str) -> str:
    """Help text without reStructuredText markup (the module docstrings it comes from use it):
    ``literal`` and :role:`name` become literal and name."""
    return _RST_LITERAL.sub(r"\1", _RST_ROLE.sub(r"\1", text))


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and a one-line message on bad arguments, and prints help
    without the docstrings' reStructuredText markup."""

    def format_help(self) -> str:
        return plain_help(super().format_help())

    def format_usage(self) -> str:
        return plain_help(super().format_usage())

    def error(self, message: str):  # pragma: no cover - exercised through main()
        self.print_usage(sys.stderr)
        self.exit(2, f"whiteboard-app: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every available layer's subcommands registered."""
    parser = _Parser(prog="whiteboard-app", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that layer has no CLI yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the process exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from whiteboard_app.app import main as gui_main  # lazy: the CLI must work without Qt

        return gui_main()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except Exception as exc:  # noqa: BLE001 - any failure on a file, LaTeX or ink is the command's clean error
        from whiteboard_app.safeio import escape_terminal

        detail = str(exc) or type(exc).__name__
        print(f"whiteboard-app: error: {escape_terminal(detail)} ({type(exc).__name__})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
