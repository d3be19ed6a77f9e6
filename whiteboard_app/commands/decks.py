"""``whiteboard-app decks list [--json]`` and ``whiteboard-app decks validate [PATH...]``.

``validate`` exits 1 when any card has a problem (each printed as ``file:line: field: message``), 0 when
all are fine; with no PATH it validates the bundled deck.
"""

from __future__ import annotations

import argparse
import json
import sys

from whiteboard_app.decks.loader import deck_errors
from whiteboard_app.decks.schema import DeckError
from whiteboard_app.safeio import escape_terminal


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
            print(escape_terminal(f"{r['id']:40s} {r['topic']:20s} {r['steps']:2d} steps  {r['title']}"))
    for e in errors:
        print(f"skipped: {escape_terminal(e)}", file=sys.stderr)
    return 0


STEP_TIME_LIMIT_S = 20.0
CARD_TIME_LIMIT_S = 120.0


def _checker_items(card):
    """Yield, for every checked reference step, declared mistake and grill question in order, a DeckError
    or None (checked, fine). The checker's own failure (a name it cannot read, a bug) is one DeckError."""
    from whiteboard_app.decks.loader import _Lines
    from whiteboard_app.maths.checker import CardChecker

    lines = _Lines(card.source_path.read_text(encoding="utf-8")) if card.source_path else _Lines("")
    try:
        chk = CardChecker(card, prove=False)
    except Exception as exc:  # noqa: BLE001 - e.g. ParseError on a declared name: the card is unusable
        yield DeckError(
            card.source_path,
            lines.line_of(("declarations",)),
            "declarations",
            f"the checker cannot use this card: {type(exc).__name__}: {exc}",
        )
        return
    for p in chk.problems:
        yield DeckError(card.source_path, lines.line_of(("declarations",)), "declarations", p)
    for k, st in enumerate(card.steps, 1):
        if not st.checkable:
            continue
        field = f"steps[{k}].latex"
        try:
            v = chk.check(st.latex, [s.latex for s in card.steps[: k - 1]])
        except Exception as exc:  # noqa: BLE001 - a checker crash is a card error
            yield DeckError(
                card.source_path,
                lines.line_of(("steps", k, "latex")),
                field,
                f"the checker failed: {type(exc).__name__}: {exc}",
            )
            continue
        yield (
            None
            if v.verdict == "correct"
            else DeckError(
                card.source_path,
                lines.line_of(("steps", k, "latex")),
                field,
                f"the checker says {v.verdict}: {v.message}",
            )
        )
    for k, m in enumerate(card.mistakes, 1):
        field = f"mistakes[{k}].latex"
        try:
            v = chk.check(m.latex, [s.latex for s in card.steps[: m.after_step - 1]])
        except Exception as exc:  # noqa: BLE001 - a checker crash is a card error
            yield DeckError(
                card.source_path,
                lines.line_of(("mistakes", k, "latex")),
                field,
                f"the checker failed: {type(exc).__name__}: {exc}",
            )
            continue
        ok = v.verdict == "wrong" and v.diagnosis == m.diagnosis
        yield (
            None
            if ok
            else DeckError(
                card.source_path,
                lines.line_of(("mistakes", k, "latex")),
                field,
                f"the checker says {v.verdict} ({v.diagnosis}), not wrong ({m.diagnosis})",
            )
        )
    questions = getattr(card, "questions", ())
    if not questions:
        return
    from whiteboard_app.sessions.grill import GrillItem, InProcessCompare, question_problems

    grill_compare = InProcessCompare()
    for k, q in enumerate(questions, 1):  # grill questions: answer and accept forms correct, reject wrong
        field = f"questions[{k}].answer"
        line = lines.line_of(("questions", k, "answer"))
        try:
            found = question_problems(GrillItem(card, q), grill_compare)
        except Exception as exc:  # noqa: BLE001 - a checker crash is a card error
            yield DeckError(card.source_path, line, field, f"the checker failed: {type(exc).__name__}: {exc}")
            continue
        if not found:
            yield None
        for p in found:
            yield DeckError(card.source_path, line, field, p)


def checker_problems(card) -> list[DeckError]:
    """Run the maths checker over a card (in-process, no time limit): every checkable step must be judged
    correct after the steps before it, every mistake wrong with its declared diagnosis, every grill
    question's answer and ``accept`` forms correct and its ``reject`` forms wrong. Problems as DeckErrors
    (the checker failing on the card is one of them, never an exception)."""
    return [e for e in _checker_items(card) if e is not None]


def _check_serve(conn) -> None:  # pragma: no cover - runs in the child process
    import warnings

    warnings.filterwarnings("ignore")
    while True:
        try:
            card = conn.recv()
        except (EOFError, OSError):
            return
        try:
            for item in _checker_items(card):
                conn.send(None if item is None else (str(item.path), item.line, item.field, item.message))
        except Exception as exc:  # noqa: BLE001 - reported by the parent as the card's problem
            conn.send((str(card.source_path), 0, "", f"the checker failed: {type(exc).__name__}: {exc}"))
        conn.send("done")


class TimedChecker:
    """``decks validate --check`` under time limits: the checker runs in a worker process; each step
    (or mistake) gets ``step_s`` seconds and the whole card ``card_s``; past either the worker is killed
    (and started again for the next card) and the card gets a DeckError saying where time ran out."""

    def __init__(self, step_s: float = STEP_TIME_LIMIT_S, card_s: float = CARD_TIME_LIMIT_S) -> None:
        self.step_s, self.card_s = step_s, card_s
        self._proc = self._conn = None

    def _start(self) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_check_serve, args=(child,), daemon=True, name="deck-check")
        self._proc.start()
        child.close()

    def close(self) -> None:
        """End the worker."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        if self._conn is not None:
            self._conn.close()
        self._proc = self._conn = None

    def problems(self, card) -> list[DeckError]:
        """The checker's problems with ``card`` (see checker_problems), within the time limits."""
        import time

        if self._proc is None or not self._proc.is_alive():
            self.close()
            self._start()
        self._conn.send(card)
        out: list[DeckError] = []
        deadline = time.monotonic() + self.card_s
        first = True
        n = 0
        while True:
            # the first answer also waits for the worker to start and sympy to load
            wait = min(
                self.step_s + (30.0 if first else 0.0), deadline - time.monotonic() + (30.0 if first else 0.0)
            )
            try:
                ready = wait > 0 and self._conn.poll(wait)
                msg = self._conn.recv() if ready else None
            except (EOFError, OSError):
                ready, msg = False, None
            first = False
            if not ready:
                which = "card" if time.monotonic() >= deadline else "step"
                limit = self.card_s if which == "card" else self.step_s
                self.close()
                out.append(
                    DeckError(
                        card.source_path,
                        0,
                        "",
                        f"the checker took longer than {limit:g} s "
                        f"(time limit per {which}) after {n} checked step(s); the card cannot be "
                        "checked in time",
                    )
                )
                return out
            if msg == "done":
                return out
            n += 1
            if msg is not None:
                out.append(DeckError(*msg))


def _validate(args: argparse.Namespace) -> int:
    deck, errors = deck_errors(args.paths or None)
    if args.check:
        checker = TimedChecker(args.step_time_limit, args.card_time_limit)
        try:
            for card in deck:
                errors.extend(checker.problems(card))
        finally:
            checker.close()
    for e in errors:
        print(escape_terminal(e))
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
    vp.add_argument(
        "paths", nargs="*", metavar="PATH", help="card files or folders (default: the bundled deck)"
    )
    vp.add_argument(
        "--check",
        action="store_true",
        help="also run the checker: steps follow from each other, mistakes are wrong as declared",
    )
    vp.add_argument(
        "--step-time-limit",
        type=float,
        default=STEP_TIME_LIMIT_S,
        metavar="S",
        help=f"seconds the checker may spend on one step with --check (default {STEP_TIME_LIMIT_S:g})",
    )
    vp.add_argument(
        "--card-time-limit",
        type=float,
        default=CARD_TIME_LIMIT_S,
        metavar="S",
        help=f"seconds the checker may spend on one card with --check (default {CARD_TIME_LIMIT_S:g})",
    )
    vp.set_defaults(func=_validate)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])
