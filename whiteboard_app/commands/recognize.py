"""``whiteboard-app recognize``: read ink files with a recogniser, optionally with a card's context.

    whiteboard-app recognize --ink FILE.jsonl [--card CARD_ID] [--engine NAME] [--json]
    whiteboard-app recognize --list-engines

Input: JSON lines (plain or .gz) or InkML (by the ``.inkml`` suffix), see whiteboard_app/ink/io.py.
Output: one line per input record; with ``--json`` a JSON object
``{"id", "latex", "candidates": [{"latex", "score"}...], "ms"}`` (plus ``"message"`` when nothing was
read), else ``id<TAB>latex<TAB>ms``. ``latex`` is the best reading or null. With ``--card`` the card's
reference steps, declared mistakes and generated near misses are the context prior
(recognition/context.py), and each record's previous record's reading is its "previous" step (a file
is read as the steps of one derivation). Each step runs under the engine's time limit
(``--time-limit``, 3 s by default).

Exit status: 0 when every record was processed (even if some could not be read), 2 for a bad ink
file, an unknown card, an unknown or unavailable engine (one line on stderr). JSON lines are read one
record at a time: a bad line after good ones stops there (the lines before it are printed) with exit 2.
Ink is read within the limits of whiteboard_app/ink/io.py; ids and readings are printed with control
characters escaped (``safeio.escape_terminal``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from whiteboard_app.ink import InkFormatError
from whiteboard_app.safeio import escape_terminal


def register(subparsers) -> None:
    """Add the ``recognize`` subcommand to the top-level CLI."""
    p = subparsers.add_parser(
        "recognize",
        help="read handwriting from ink files (JSON lines or InkML)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--ink",
        metavar="FILE",
        help="ink file: .jsonl, .jsonl.gz or .inkml; a JSON line is "
        '{"id": ..., "strokes": [[[x, y, t_ms, pressure], ...], ...]} (docs/user-guide.md, "Ink files")',
    )
    p.add_argument("--card", metavar="CARD_ID", help="use this card of the bundled deck as context")
    p.add_argument(
        "--engine", default=None, help="recogniser name (default: the bundled one; see --list-engines)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per record")
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="S",
        help="seconds per step before 'could not read' (default 3)",
    )
    p.add_argument(
        "--list-engines", action="store_true", help="list the recognisers and whether they can run"
    )
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"whiteboard-app recognize: {escape_terminal(message)}", file=sys.stderr)
    return 2


def _read(path: str):
    """The records of an ink file: InkML read whole (bounded), JSON lines streamed one record at a time
    (memory stays bounded by one record however long the file)."""
    from whiteboard_app.ink.io import iter_jsonl, read_inkml

    return iter(read_inkml(path)) if Path(path).suffix.lower() == ".inkml" else iter_jsonl(path)


def run(args: argparse.Namespace) -> int:
    """Run the command (see the module docstring); returns the exit status."""
    from whiteboard_app.recognition import registry
    from whiteboard_app.recognition.base import RecognitionError, RecognitionResult, RecognizerUnavailable

    if args.list_engines:
        for name, ok, why in registry.available_engines():
            default = " (default)" if name == registry.DEFAULT_ENGINE else ""
            state = ("available" + (f" ({why})" if why else "")) if ok else f"not available: {why}"
            print(f"{name}{default}: {state}")
        return 0
    if not args.ink:
        return _fail("--ink FILE is required")
    if args.time_limit is not None and args.time_limit <= 0:
        return _fail("--time-limit must be positive")
    try:
        records = _read(args.ink)
        first = next(records, None)  # a file that is bad from its start fails before any engine loads
    except InkFormatError as exc:
        return _fail(f"bad ink file: {exc}")
    if first is not None:
        import itertools

        records = itertools.chain([first], records)
    card = None
    if args.card:
        from whiteboard_app.decks import UnknownCardError, deck_errors

        deck, _errors = deck_errors(None)
        try:
            card = deck.get(args.card)
        except UnknownCardError as exc:
            return _fail(str(exc))
    name = args.engine or registry.DEFAULT_ENGINE
    limit = registry.DEFAULT_TIME_LIMIT_S if args.time_limit is None else args.time_limit
    try:
        recognizer = registry.get_recognizer(name, time_limit_s=limit)
    except RecognizerUnavailable as exc:
        return _fail(str(exc))
    previous: list[str] = []
    try:
        for rec in records:  # InkFormatError from a later line: caught below, after the lines before it
            context = None
            if card is not None:
                from whiteboard_app.pipeline import build_context

                context = build_context(card, previous)
            try:
                result = recognizer.recognize(rec.ink, context)
            except RecognizerUnavailable as exc:
                return _fail(str(exc))
            except RecognitionError as exc:
                result = RecognitionResult(engine=name, message=f"could not read: {exc}")
            _print(rec.id, result, args.json)
            if result.best:
                previous.append(result.best)
    except InkFormatError as exc:
        return _fail(f"bad ink file: {exc}")
    finally:
        close = getattr(recognizer, "close", None)
        if callable(close):
            close()
    return 0


def _print(rid: str, result, as_json: bool) -> None:
    if as_json:
        obj = {
            "id": rid,
            "latex": result.best,
            "candidates": [{"latex": c.latex, "score": round(c.score, 4)} for c in result.candidates],
            "ms": round(result.ms, 1),
        }
        if result.best is None and result.message:
            obj["message"] = result.message
        text = json.dumps(obj, ensure_ascii=False)
        try:
            text.encode(sys.stdout.encoding or "utf-8")
        except (UnicodeEncodeError, LookupError):
            text = json.dumps(obj)  # \\u escapes for what this terminal cannot show
        print(text, flush=True)
    else:
        msg = result.message or "nothing"
        shown = (
            result.best
            if result.best is not None
            else (f"({msg})" if msg.startswith("could not read") else f"(could not read: {msg})")
        )
        print(f"{escape_terminal(rid)}\t{escape_terminal(shown)}\t{result.ms:.0f} ms", flush=True)
