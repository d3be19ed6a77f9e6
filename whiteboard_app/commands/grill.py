"""``whiteboard-app grill list [--json]``, ``grill answer QUESTION_ID LATEX [--json]`` and ``grill stats``.

``grill list`` lists the deck's grill questions (id ``<card id>/<question id>``, kind, time limit,
prompt). ``grill answer`` judges a maths answer and prints the verdict exactly as ``check`` does (a JSON
list of one verdict object with ``--json``); for a word question it prints the model answer and its key
points (``--grade`` gives the self-grade). ``--record`` logs the answer in the history of the data
folder and schedules the question (FSRS; see sessions/grill.py), ``--ms`` being the time taken.
``grill stats`` prints grill accuracy and speed per card. An unknown question or a deck that does not
load: one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _deck(args):
    from whiteboard_app.decks import DeckError, load_deck

    try:
        return load_deck(args.deck or None)
    except DeckError as exc:
        print(f"whiteboard-app: the deck does not load: {exc}", file=sys.stderr)
        return None


def _history(args):
    from whiteboard_app.paths import history_path, user_data_dir
    from whiteboard_app.sessions.history import History

    root = Path(args.data_dir) if args.data_dir else user_data_dir()
    return History(history_path(root))


def _list(args: argparse.Namespace) -> int:
    from whiteboard_app.sessions.grill import grill_items

    deck = _deck(args)
    if deck is None:
        return 2
    rows = [
        {
            "id": it.id,
            "card_id": it.card.id,
            "kind": it.kind,
            "time_s": it.question.time_s,
            "prompt": it.question.prompt,
        }
        for it in grill_items(deck)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']:<52} {r['kind']:<5} {r['time_s']:>3} s  {r['prompt']}")
        n_maths = sum(r["kind"] == "maths" for r in rows)
        print(f"{len(rows)} question(s): {n_maths} maths, {len(rows) - n_maths} words", file=sys.stderr)
    return 0


def _answer(args: argparse.Namespace) -> int:
    from whiteboard_app.commands.check import print_verdicts
    from whiteboard_app.sessions.grill import UnknownQuestionError, check_answer, find_item, record_answer

    deck = _deck(args)
    if deck is None:
        return 2
    try:
        item = find_item(deck, args.question_id)
    except UnknownQuestionError as exc:
        print(f"whiteboard-app: {exc} (see `whiteboard-app grill list`)", file=sys.stderr)
        return 2
    verdict = None
    if item.kind == "maths":
        if args.latex is None:
            print(f"whiteboard-app: {item.id} needs a LaTeX answer", file=sys.stderr)
            return 2
        verdict = check_answer(item, args.latex)
        print_verdicts([verdict], as_json=args.json)
    else:
        out = {
            "id": item.id,
            "kind": "words",
            "answer": item.question.answer,
            "key_points": list(item.question.key_points),
            "self_grade": args.grade,
        }
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print(item.question.answer)
            for p in item.question.key_points:
                print(f"  - {p}")
    if args.record:
        if item.kind == "words" and args.grade is None:
            print(
                "whiteboard-app: a word answer is recorded with --grade again|hard|good|easy", file=sys.stderr
            )
            return 2
        from whiteboard_app.sessions.board import BoardError
        from whiteboard_app.sessions.scheduler import Scheduler

        try:
            history = _history(args)
        except (BoardError, OSError) as exc:
            print(f"whiteboard-app: error: {exc}", file=sys.stderr)
            return 2
        with history:
            res = record_answer(
                Scheduler(history),
                item,
                latex=args.latex,
                verdict=verdict,
                self_grade=args.grade,
                ms=args.ms if args.ms is not None else item.time_limit_ms / 2,
            )
        due = res.question_due.isoformat() if res.question_due else "not scheduled"
        print(f"recorded: rating {res.rating}, next due {due}", file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    from whiteboard_app.sessions.board import BoardError

    try:
        history = _history(args)
    except (BoardError, OSError) as exc:
        print(f"whiteboard-app: error: {exc}", file=sys.stderr)
        return 2
    with history:
        stats = [history.grill_stats(c) for c in history.grill_card_ids()] + [history.grill_stats(None)]
    rows = [
        {
            "card_id": s.card_id,
            "answered": s.answered,
            "correct": s.correct,
            "accuracy": s.accuracy,
            "median_ms": s.median_ms,
            "over_time": s.over_time,
        }
        for s in stats
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            acc = f"{100 * r['accuracy']:.0f} %" if r["accuracy"] is not None else "-"
            med = f"{r['median_ms'] / 1000:.1f} s" if r["median_ms"] is not None else "-"
            print(
                f"{r['card_id'] or 'all cards':<40} {r['correct']}/{r['answered']} correct ({acc}), "
                f"median {med}, {r['over_time']} over time"
            )
    return 0


def register(subparsers) -> None:
    """Add ``grill list``, ``grill answer`` and ``grill stats`` to the CLI."""
    p = subparsers.add_parser("grill", help="grill mode: rapid questions with checked maths answers")
    sub = p.add_subparsers(dest="grill_command", required=True, parser_class=type(p))
    ls = sub.add_parser("list", help="list the grill questions")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument("--deck", action="append", metavar="PATH", help="deck files/folders (default: bundled)")
    ls.set_defaults(func=_list)
    an = sub.add_parser(
        "answer",
        help="check an answer (verdict as `check` gives it)",
        epilog="An answer starting with '-' goes after '--': grill answer ID -- '-x'",
    )
    an.add_argument("question_id", metavar="QUESTION_ID", help="<card id>/<question id> (see grill list)")
    an.add_argument("latex", metavar="LATEX", nargs="?", help="the answer (maths questions)")
    an.add_argument("--json", action="store_true", help="print JSON")
    an.add_argument("--grade", choices=("again", "hard", "good", "easy"), help="self-grade of a word answer")
    an.add_argument("--record", action="store_true", help="log and schedule the answer in the history")
    an.add_argument(
        "--ms", type=float, default=None, help="time taken in ms (with --record; default half the time limit)"
    )
    an.add_argument("--deck", action="append", metavar="PATH", help="deck files/folders (default: bundled)")
    an.add_argument("--data-dir", help="data folder (default: $WHITEBOARD_DATA_DIR or the user data folder)")
    an.set_defaults(func=_answer)
    st = sub.add_parser("stats", help="grill accuracy and speed per card")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.add_argument("--data-dir", help="data folder (default: $WHITEBOARD_DATA_DIR or the user data folder)")
    st.set_defaults(func=_stats)
