"""maths layer: LaTeX -> sympy -> verdicts (see docs/INTERFACES.md and docs/parsing.md).

``check_step`` / ``check_derivation`` / ``compare`` / ``near_misses`` run in a persistent worker process
under time limits (parse ~2 s, check ~1 s, see :mod:`whiteboard_app.maths.worker`): a hang becomes
``cannot_check``, a parse failure or parse timeout ``unparsed``. They are safe to call from several
threads (requests are serialised).
"""

from __future__ import annotations

from collections.abc import Sequence

from whiteboard_app.decks.schema import Card
from whiteboard_app.latex import ParseError

from . import worker as _worker
from .checker import Comparison, StepVerdict
from .worker import WorkerTimeout, check_step_timed, get_worker

__all__ = [
    "Comparison",
    "ParseError",
    "StepVerdict",
    "check_derivation",
    "check_step",
    "compare",
    "near_misses",
    "parse_step",
    "warm_up",
]


def check_step(card: Card, latex: str, previous: Sequence[str] = ()) -> StepVerdict:
    """Judge one written step against the card's reference chain.

    ``previous`` are the user's own earlier steps (a leading ``=`` continues the last one; an inequality
    may follow from it). Returns a :class:`StepVerdict` (``correct`` with the 1-based reference step,
    ``wrong`` with a diagnosis, ``unparsed``, or ``cannot_check``); never raises for bad input.
    """
    return check_step_timed(card, latex, list(previous))


def check_derivation(card: Card, latexes: Sequence[str]) -> list[StepVerdict]:
    """Judge every step of a derivation in order; step k may follow from the user's steps before it."""
    out = []
    for k, latex in enumerate(latexes):
        out.append(check_step(card, latex, list(latexes[:k])))
    return out


def compare(card: Card, expected_latex: str, candidate_latex: str) -> Comparison:
    """Are two steps equivalent under the card's declarations? ``equivalent`` is None when either
    cannot be read or the kind cannot be decided; ``diagnosis`` names the difference when known
    (``"sign flip"``, ``"n vs n-1"``...)."""
    try:
        return get_worker().request(
            card,
            ("compare", expected_latex, candidate_latex),
            _worker.PARSE_TIMEOUT_S,
            _worker.CHECK_TIMEOUT_S,
        )
    except WorkerTimeout as exc:
        return Comparison(None, None, f"time limit passed ({exc})")
    except RuntimeError as exc:
        return Comparison(None, None, f"checker error: {exc}")


def near_misses(card: Card) -> list[tuple[str, str]]:
    """Generated wrong variants of the card's checkable reference steps, as (LaTeX, diagnosis) pairs
    (sign flip, n vs n-1, dropped transpose, missing factor, wrong exponent, inverted ratio, wrong index),
    each numerically different from its reference step; for the recogniser's context prior."""
    try:
        return get_worker().request(card, ("near",), _worker.PARSE_TIMEOUT_S, 10.0)
    except (WorkerTimeout, RuntimeError):
        return []


def warm_up(card: Card | None = None) -> bool:
    """Start the worker process and, given a card, load it (parse its reference chain), so that the
    first step is checked at full speed. Call it from a background thread when a card is opened; it may
    take a few seconds the first time. Returns False when the worker could not start or load the card."""
    try:
        w = get_worker()
        if card is None:
            with w._lock:
                if w._proc is None or not w._proc.is_alive():
                    w.kill()
                    w._start()
            return True
        w.request(card, ("sleep", 0.0, 0.0), _worker.PARSE_TIMEOUT_S, _worker.CHECK_TIMEOUT_S)
        return True
    except (WorkerTimeout, RuntimeError):
        return False


def parse_step(card: Card, latex: str):
    """Parse a step in-process (no time limit) for direct callers; raises :class:`ParseError`. A step in one
    of the card's notations (``[notation]``, :mod:`whiteboard_app.maths.notation`) is read in its names."""
    from .normalise import names_from_declarations
    from .notation import rewrite_step
    from .parse import parse_step as _parse

    return _parse(rewrite_step(card, latex), names_from_declarations(card.declarations))
