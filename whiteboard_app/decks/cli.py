"""``whiteboard-app decks list [--json]`` and ``whiteboard-app decks validate [PATH...]``.

``validate`` exits 1 when any card has a problem (each printed as ``file:line: field: message``), 0 when
all are fine; with no PATH it validates the bundled deck.
"""

from __future__ import annotations

import argparse
import json
import sys

from .loader import deck_errors
from .schema import DeckError


def _list(args: argparse.Namespace) -> int:
    deck, errors = deck_errors(args.paths or None)
    rows = [
        {"id": c.id, "title": c.title, "topic": c.topic, "steps": len(c.steps), "path": str(c.source_path)}
        for c in sorted(deck, key=lambda c: (c.topic, c.id))
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(f"{r['id']:40s} {r['topic']:20s} {r['steps']:2d} steps  {r['title']}")
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    return 0


def checker_problems(card) -> list[DeckError]:
    """Run the maths checker over a card (in-process): every checkable step must be judged correct after
    the steps before it, every mistake wrong with its declared diagnosis, every grill question's answer and
    ``accept`` forms correct and its ``reject`` forms wrong. Problems as DeckErrors."""
    from whiteboard_app.maths.checker import CardChecker

    from .loader import _Lines

    lines = _Lines(card.source_path.read_text(encoding="utf-8")) if card.source_path else _Lines("")
    chk = CardChecker(card, prove=False)
    out = [DeckError(card.source_path, lines.line_of(("declarations",)), "declarations", p) for p in chk.problems]
    for k, st in enumerate(card.steps, 1):
        if not st.checkable:
            continue
        v = chk.check(st.latex, [s.latex for s in card.steps[: k - 1]])
        if v.verdict != "correct":
            out.append(DeckError(card.source_path, lines.line_of(("steps", k, "latex")), f"steps[{k}].latex",
                                 f"the checker says {v.verdict}: {v.message}"))
    for k, m in enumerate(card.mistakes, 1):
        v = chk.check(m.latex, [s.latex for s in card.steps[: m.after_step - 1]])
        if v.verdict != "wrong" or v.diagnosis != m.diagnosis:
            out.append(DeckError(card.source_path, lines.line_of(("mistakes", k, "latex")), f"mistakes[{k}].latex",
                                 f"the checker says {v.verdict} ({v.diagnosis}), not wrong ({m.diagnosis})"))
    from whiteboard_app.sessions.grill import GrillItem, InProcessCompare, question_problems

    grill_compare = InProcessCompare()
    for k, q in enumerate(card.questions, 1):  # grill questions: answer and accept forms correct, reject wrong
        for p in question_problems(GrillItem(card, q), grill_compare):
            out.append(DeckError(card.source_path, lines.line_of(("questions", k, "answer")),
                                 f"questions[{k}].answer", p))
    return out


def _validate(args: argparse.Namespace) -> int:
    deck, errors = deck_errors(args.paths or None)
    if args.check:
        for card in deck:
            errors.extend(checker_problems(card))
    for e in errors:
        print(e)
    n_files = len(deck) + len({e.path for e in errors})
    print(f"{len(deck)} card(s) valid, {len(errors)} problem(s) in {n_files} file(s)", file=sys.stderr)
    return 1 if errors else 0


def register(subparsers) -> None:
    """Add ``decks list`` and ``decks validate`` to the top-level CLI."""
    p = subparsers.add_parser("decks", help="list or validate decks of cards")
    sub = p.add_subparsers(dest="decks_command", parser_class=type(p))
    lp = sub.add_parser("list", help="list the cards (bundled deck unless PATHs are given)")
    lp.add_argument("paths", nargs="*", metavar="PATH", help="card files or folders")
    lp.add_argument("--json", action="store_true", help="print JSON")
    lp.set_defaults(func=_list)
    vp = sub.add_parser("validate", help="validate card files; exit 1 on errors")
    vp.add_argument("paths", nargs="*", metavar="PATH", help="card files or folders (default: the bundled deck)")
    vp.add_argument("--check", action="store_true",
                    help="also run the checker: steps follow from each other, mistakes are wrong as declared")
    vp.set_defaults(func=_validate)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])
