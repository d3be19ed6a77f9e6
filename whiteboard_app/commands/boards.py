"""Headless board commands: ``boards list [--json]`` and ``grade BOARD [--json]``.

``boards list`` lists the saved boards of the data folder (newest first) and reports every file that
cannot be read with its reason on stderr (exit 1 when there was any). ``grade BOARD`` re-reads a saved
board and re-checks its readings with ``maths.check_derivation`` against the card of the bundled deck
(or ``--deck``), printing the same JSON as ``check`` (a list of verdict objects). Bad arguments, an unreadable board or an unknown
card: one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from whiteboard_app.paths import boards_dir, user_data_dir
from whiteboard_app.safeio import escape_terminal
from whiteboard_app.sessions.board import BoardError
from whiteboard_app.sessions.store import BoardStore


def _store(args: argparse.Namespace) -> BoardStore:
    root = Path(args.data_dir) if args.data_dir else user_data_dir()
    return BoardStore(boards_dir(root))


def _fmt_ms(ms: float) -> str:
    s = int(round(ms / 1000.0))
    return f"{s // 60}:{s % 60:02d}"


def _list(args: argparse.Namespace) -> int:
    listing = _store(args).list()
    rows = []
    for e in listing.boards:
        b = e.board
        finals = [s.verdict.verdict if s.verdict else None for s in b.steps]
        rows.append(
            {
                "path": str(e.path),
                "board_id": b.board_id,
                "card_id": b.card_id,
                "started_at": b.started_at.isoformat(),
                "finished": b.finished,
                "duration_ms": b.duration_ms,
                "target_s": b.target_s,
                "steps": len(b.steps),
                "correct": finals.count("correct"),
                "wrong": finals.count("wrong"),
                "freezes": len(b.freezes()),
                "self_grade": b.self_grade,
            }
        )
    errors = [{"path": str(e.path), "reason": e.reason} for e in listing.errors]
    if args.json:
        print(json.dumps({"boards": rows, "errors": errors}, indent=2, ensure_ascii=True))
    else:
        for r in rows:
            state = "done" if r["finished"] else "UNFINISHED"
            print(
                f"{r['started_at'][:16].replace('T', ' ')}  {escape_terminal(r['card_id']):<32} "
                f"{_fmt_ms(r['duration_ms']):>6}  {r['correct']}/{r['steps']} correct  {state:<10} "
                f"{escape_terminal(r['path'])}"
            )
        if not rows:
            print("no boards yet")
    for e in errors:
        print(
            f"whiteboard-app: cannot read {escape_terminal(e['path'])}: {escape_terminal(e['reason'])}",
            file=sys.stderr,
        )
    return 1 if errors else 0


def grade_board(path: str | Path, deck_paths: list[str] | None = None) -> tuple[object, list]:
    """Load the board at ``path`` and re-check its readings; returns (card, list[StepVerdict]).

    Raises BoardError (unreadable board), decks.UnknownCardError / DeckError (no such card)."""
    board = BoardStore.load(path)  # first: a bad board is reported before anything heavy is imported
    from whiteboard_app.decks import load_deck
    from whiteboard_app.maths import check_derivation

    deck = load_deck(deck_paths or None)
    card = deck.get(board.card_id)
    return card, check_derivation(card, board.latexes())


def _grade(args: argparse.Namespace) -> int:
    from whiteboard_app.decks import DeckError, UnknownCardError

    try:
        card, verdicts = grade_board(args.board, args.deck)
    except BoardError as exc:
        print(f"whiteboard-app: error: {escape_terminal(exc)}", file=sys.stderr)
        return 2
    except (UnknownCardError, DeckError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"whiteboard-app: error: {msg}", file=sys.stderr)
        return 2
    from whiteboard_app.commands.check import print_run, print_verdicts

    if not args.json:
        import dataclasses

        print(f"{card.id}: {len(verdicts)} step{'s' if len(verdicts) != 1 else ''} re-checked")
        # the readings come from a file: control characters must not reach the terminal
        verdicts = [
            dataclasses.replace(
                v,
                latex=escape_terminal(v.latex),
                message=escape_terminal(v.message) if v.message else v.message,
            )
            if dataclasses.is_dataclass(v)
            else v
            for v in verdicts
        ]
    if getattr(args, "summary", False):  # the run judged as the window and `check --summary` judge it
        print_run(card, verdicts, as_json=args.json, **_run_counts(args.board))
    else:
        print_verdicts(verdicts, as_json=args.json)
    return 0


def _run_counts(path) -> dict:
    """The board's answer changes, hints and reveals for the run judgement (0 on boards without them)."""
    try:
        from whiteboard_app.sessions.run import board_counts

        return board_counts(BoardStore.load(path))
    except (BoardError, ImportError):
        return {}


def register(subparsers) -> None:
    """Add ``boards`` and ``grade`` to the CLI."""
    boards = subparsers.add_parser("boards", help="saved boards (attempts)")
    bsub = boards.add_subparsers(dest="boards_command", required=True, parser_class=type(boards))
    ls = bsub.add_parser("list", help="list saved boards; unreadable files are reported on stderr")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument("--data-dir", help="data folder (default: $WHITEBOARD_DATA_DIR or the user data folder)")
    ls.set_defaults(func=_list)

    grade = subparsers.add_parser("grade", help="re-check the readings of a saved board (same JSON as check)")
    grade.add_argument("board", help="a .board.json file")
    grade.add_argument("--deck", action="append", help="card file or folder (default: the bundled deck)")
    grade.add_argument("--json", action="store_true", help="machine-readable output")
    grade.add_argument("--summary", action="store_true", help="also judge the run (as check --summary does)")
    grade.set_defaults(func=_grade)
