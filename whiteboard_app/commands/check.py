"""``whiteboard-app check CARD_ID STEP_LATEX... [--json]`` and
``whiteboard-app compare CARD_ID EXPECTED CANDIDATE [--json]``.

``check`` prints one verdict per step (each step may follow from the ones before it); with ``--json`` a
list of ``{"latex", "verdict", "reference_step", "diagnosis", "shape", "ms", "message", "defines",
"skipped", "note"}`` (see docs/INTERFACES.md); with ``--summary`` also the run's judgement
(sessions/run.py), in JSON ``{"steps": [...], "run": {...}}``. ``compare``
prints ``{"equivalent": true|false|null, "diagnosis": str|null}``. An unknown card or a deck that does
not load: a one-line message on stderr and exit 2. ``--deck PATH`` checks against another deck.
"""

from __future__ import annotations

import json
import sys


def _card(args):
    from whiteboard_app.decks import DeckError, UnknownCardError, load_deck

    try:
        deck = load_deck(args.deck or None)
        return deck.get(args.card_id)
    except UnknownCardError:
        print(
            f"whiteboard-app: unknown card {args.card_id!r} (see `whiteboard-app decks list`)",
            file=sys.stderr,
        )
    except DeckError as exc:
        print(f"whiteboard-app: the deck does not load: {exc}", file=sys.stderr)
    return None


def _check(args) -> int:
    card = _card(args)
    if card is None:
        return 2
    from whiteboard_app.maths import check_derivation

    verdicts = check_derivation(card, args.steps)
    if getattr(args, "summary", False):
        print_run(card, verdicts, as_json=args.json)
    else:
        print_verdicts(verdicts, as_json=args.json)
    return 0


def print_run(card, verdicts, as_json: bool, **counts) -> None:
    """Print step verdicts with the run's judgement (``--summary``; sessions/run.py, the window's rule):
    JSON ``{"steps": [...as check --json...], "run": {"complete", "reached_goal", "missing_milestones",
    "jumps", "answer_changes", "hints", "reveals"}}``, or the verdict lines then the run in words.
    ``counts`` (answer_changes, hints, reveals) are passed to ``judge_run``."""
    from whiteboard_app.pipeline import chain_prefixes, intermediate_matches
    from whiteboard_app.sessions.run import judge_run

    latexes = [v.latex for v in verdicts]
    also = [
        intermediate_matches(card, v.latex, latexes[:i])
        if v.verdict == "correct" and chain_prefixes(v.latex)
        else []
        for i, v in enumerate(verdicts)
    ]  # a milestone written inside a chain a = b = c counts
    run = judge_run(card, verdicts, also=also, **counts)
    if as_json:
        print(json.dumps({"steps": [v.to_json() for v in verdicts], "run": run.to_json()}, indent=2))
        return
    print_verdicts(verdicts, as_json=False)
    print(f"run: {run.headline()}")
    for j in run.jumps:
        print(f"   step {j.step}: {j.note}")


def print_verdicts(verdicts, as_json: bool) -> None:
    """Print step verdicts as ``check`` does: a JSON list of ``StepVerdict.to_json()`` dicts, or one line
    per step (verdict, reference step, diagnosis, shape, ms, LaTeX) with the message under a non-correct
    one. ``grade`` prints re-checked boards the same way."""
    if as_json:
        print(json.dumps([v.to_json() for v in verdicts], indent=2))
        return
    for k, v in enumerate(verdicts, 1):
        ref = f" (reference step {v.reference_step})" if v.reference_step else ""
        diag = f" [{v.diagnosis}]" if v.diagnosis else ""
        shape = f" {{{v.shape}}}" if v.shape else ""
        print(f"{k}. {v.verdict}{ref}{diag}{shape} {v.ms:.0f} ms: {v.latex}")
        if v.message and (
            v.verdict != "correct" or v.defines or v.skipped or v.note or v.reference_step is None
        ):
            print(f"   {v.message}")


def _compare(args) -> int:
    card = _card(args)
    if card is None:
        return 2
    from whiteboard_app.maths import compare

    c = compare(card, args.expected, args.candidate)
    if args.json:
        print(json.dumps(c.to_json()))
    else:
        word = {True: "equivalent", False: "not equivalent", None: "cannot decide"}[c.equivalent]
        print(word + (f" [{c.diagnosis}]" if c.diagnosis else "") + (f": {c.message}" if c.message else ""))
    return 0


def register(subparsers) -> None:
    """Add ``check`` and ``compare`` to the top-level CLI."""
    dash = (
        "A step that starts with '-' and has no space (-2X^Ty) looks like an option: put the steps "
        "after '--', e.g. whiteboard-app %s CARD_ID -- '-2X^Ty' ..."
    )
    p = subparsers.add_parser(
        "check", help="check a derivation typed as LaTeX steps against a card", epilog=dash % "check"
    )
    p.add_argument("card_id", metavar="CARD_ID")
    p.add_argument("steps", nargs="+", metavar="STEP_LATEX")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--summary",
        action="store_true",
        help="also judge the run: result reached, milestones missing, unsupported jumps",
    )
    p.add_argument("--deck", action="append", metavar="PATH", help="deck files/folders (default: bundled)")
    p.set_defaults(func=_check)
    c = subparsers.add_parser(
        "compare", help="are two steps equivalent under a card's declarations?", epilog=dash % "compare"
    )
    c.add_argument("card_id", metavar="CARD_ID")
    c.add_argument("expected", metavar="EXPECTED_LATEX")
    c.add_argument("candidate", metavar="CANDIDATE_LATEX")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.add_argument("--deck", action="append", metavar="PATH", help="deck files/folders (default: bundled)")
    c.set_defaults(func=_compare)
