"""One step through the data flow, pure: ink -> recogniser -> LaTeX -> sympy -> verdict.

See docs/INTERFACES.md; the window calls these from QThreadPool workers, the CLI calls them directly.

* :func:`build_context` turns a card (its reference steps, declared mistakes, generated near misses) and
  the user's previous step into the recogniser's :class:`RecognitionContext`.
* :func:`process_step` reads one step's ink and checks the best reading. A recogniser error, an engine
  that is not available, or a recogniser that runs past its time limit becomes "could not read"
  (verdict ``unparsed`` with the reason in ``message``); a checker failure becomes ``cannot_check``.
  It never raises for a failure of the recogniser or of sympy.
* :func:`recheck` re-runs only parse + check on a corrected reading (nothing is recognised again).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import (
    ContextKind,
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    Recognizer,
)

if TYPE_CHECKING:  # imported lazily at run time: importing sympy takes ~1 s
    from whiteboard_app.decks import Card
    from whiteboard_app.maths import StepVerdict
    from whiteboard_app.recognition.form_match import Classify

logger = logging.getLogger(__name__)

#: Wall-clock limit for one recognition call, s (docs/INTERFACES.md: "3 s a step"), for recognisers that
#: do not enforce a limit themselves. A recogniser with its own ``time_limit_s`` (the registry's
#: TimeLimitedRecognizer, which serialises calls) gets twice its limit plus 1 s, so that its own message
#: wins and a call queued behind another step's is not cut off.
RECOGNITION_TIME_LIMIT_S = 3.5

#: ``check(card, latex, previous) -> StepVerdict`` (default ``whiteboard_app.maths.check_step``)
Checker = Callable[..., "StepVerdict"]


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of one step: what the recogniser returned, the LaTeX that was checked (the best
    candidate, or None when nothing was read) and the checker's :class:`~whiteboard_app.maths.StepVerdict`."""

    recognition: RecognitionResult
    latex: str | None
    verdict: Any  # whiteboard_app.maths.StepVerdict (imported lazily: sympy is slow to import)


def _maths() -> Any:
    import whiteboard_app.maths as maths  # lazy: importing sympy takes ~1 s

    return maths


def make_verdict(latex: str, verdict: str, message: str | None = None, ms: float = 0.0) -> StepVerdict:
    """A :class:`StepVerdict` built here rather than by the checker (``unparsed`` or ``cannot_check``),
    with no reference step, diagnosis or shape; ``message`` says why, in words."""
    from whiteboard_app.maths import StepVerdict  # lazy: importing sympy takes ~1 s

    return StepVerdict(
        latex=latex, verdict=verdict, reference_step=None, diagnosis=None, shape=None, ms=ms, message=message
    )


def build_context(
    card: Card, previous_latex: Sequence[str] = (), near_misses: bool = True
) -> RecognitionContext:
    """The recogniser's context prior for a step of ``card``.

    Pairs (latex, kind), in this order: every reference step ("reference"), every declared mistake
    ("mistake"), the checker's generated wrong variants from ``maths.near_misses(card)`` ("near_miss";
    skipped when ``near_misses`` is False or the generator fails) and the user's last previous step
    ("previous"). Duplicated LaTeX is kept once, with its first kind. Right and wrong variants are both
    present so the prior stays symmetric (issue 3, "context from the card").
    """
    pairs: list[tuple[str, ContextKind]] = []
    seen: set[str] = set()

    def add(latex: str | None, kind: ContextKind) -> None:
        if latex and latex.strip() and latex not in seen:
            seen.add(latex)
            pairs.append((latex, kind))

    for step in getattr(card, "steps", ()):
        add(step.latex, "reference")
    for mistake in getattr(card, "mistakes", ()):
        add(mistake.latex, "mistake")
    if near_misses:
        try:
            generated = cached_near_misses(card)
        except Exception:  # logged: the prior is optional; a generator bug must not cost the step
            logger.exception(
                "near misses of card %s failed; the context goes without them", getattr(card, "id", "?")
            )
            generated = []
        for item in generated:
            add(item[0] if isinstance(item, tuple | list) else str(item), "near_miss")
    if previous_latex:
        add(previous_latex[-1], "previous")
    return RecognitionContext(expected=tuple(pairs))


def cached_near_misses(card: Any) -> list[tuple[str, str]]:
    """``maths.near_misses(card)`` (the checker's generated wrong variants, (LaTeX, diagnosis) pairs),
    kept on disk by the card's content (``whiteboard_app.cache``; the stamp hashes the maths package and
    sympy's version): a launch that finds them there starts neither the checker's process nor sympy
    for the recogniser's context (issue 16: ``recognize --card`` 13-17 s, mostly this). An empty list
    (the generator timed out) is not kept."""
    import hashlib

    key = f"{getattr(card, 'id', '?')}:{hashlib.sha256(repr(card).encode()).hexdigest()[:24]}"
    table = _near_miss_table()
    hit = table.get(key)
    if isinstance(hit, list) and all(isinstance(x, list) and len(x) == 2 for x in hit):
        return [(str(a), str(b)) for a, b in hit]
    generated: list[tuple[str, str]] = [(str(a), str(b)) for a, b in _maths().near_misses(card)]
    if generated:
        table.put(key, [list(x) for x in generated])
    return generated


_NEAR_MISS_TABLE: Any = None


def _near_miss_table() -> Any:
    global _NEAR_MISS_TABLE
    if _NEAR_MISS_TABLE is None:
        from whiteboard_app.cache import DiskTable, source_stamp

        _NEAR_MISS_TABLE = DiskTable("near-misses", source_stamp(["whiteboard_app.maths"], ["sympy"]))
    return _NEAR_MISS_TABLE


def _shutting_down() -> bool:
    """Whether the interpreter is shutting down (threads still running then fail on imports)."""
    import sys

    return sys.is_finalizing() or bool(getattr(threading, "_SHUTTING_DOWN", False))


def prepare(card: Card, recognizer: Recognizer | None = None) -> RecognitionContext:
    """Warm up what the first step of ``card`` would otherwise wait for (the checker's worker process,
    sympy, the card's generated near misses, ~2.5 s on a cold start, and the typeset layouts of the
    card's forms that the recogniser's verifier fits the ink to); returns the card's context.
    Given the ``recognizer``, its ``prepare(context)`` too, when it has one (the recogniser's worker
    process typesets the forms for its own verifier: otherwise on the card's first step, beside its
    reading; issue 16). The window calls it in a worker when a card opens."""
    context = build_context(card, ())
    ready = getattr(recognizer, "prepare", None)
    if callable(ready):
        try:
            ready(context)
        except Exception:  # a recogniser that cannot get ready reads the first step as before
            logger.exception("preparing the recogniser for card %s failed", getattr(card, "id", "?"))
    try:
        from whiteboard_app.recognition.form_match import warm_up

        warm_up(context)
    except Exception:  # a warm-up failure only costs time on the first step
        if _shutting_down():  # the program is quitting under the warm-up thread: nothing to report
            logger.debug(
                "warm-up of card %s cut short by the interpreter's shutdown", getattr(card, "id", "?")
            )
        else:
            logger.exception("warming up the form layouts of card %s failed", getattr(card, "id", "?"))
    return context


#: recogniser threads left running past their time limit (their answer is discarded)
_LEFT_RUNNING: set[threading.Thread] = set()


@atexit.register
def _join_left_running(timeout_s: float = 60.0) -> None:
    """At interpreter exit, wait (at most ``timeout_s`` seconds in all) for recogniser threads left past
    their time limit: a daemon thread still inside torch when the interpreter finalises aborts the process
    ("terminate called without an active exception", exit -6), which a headless command on a busy machine
    met (tests/test_core_without_qt.py under load)."""
    end = time.monotonic() + timeout_s
    for t in list(_LEFT_RUNNING):
        t.join(max(0.0, end - time.monotonic()))


def _recognize_with_limit(
    recognizer: Recognizer, ink: StepInk, context: RecognitionContext | None, time_limit_s: float
) -> RecognitionResult:
    """Call the recogniser in a daemon thread; past ``time_limit_s`` return an empty result saying so.

    A hung engine thread cannot be killed from Python; it is left to finish in the background and its
    late answer is discarded. A recogniser whose worker is still warming up (``warm`` False; the
    registry's worker reports ready before its warm-up, issue 16) is waited for first
    (``wait_until_warm``, bounded by its own load timeout), outside ``time_limit_s``.
    """
    box: dict[str, Any] = {}
    if getattr(recognizer, "warm", True) is False:
        settle = getattr(recognizer, "wait_until_warm", None)
        if callable(settle):
            try:
                settle()
            except RecognitionError as err:
                return RecognitionResult(engine=getattr(recognizer, "name", ""), message=str(err))

    def run() -> None:
        try:
            box["result"] = recognizer.recognize(ink, context)
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller below
            box["error"] = exc
        finally:
            _LEFT_RUNNING.discard(threading.current_thread())

    name = getattr(recognizer, "name", "recogniser")
    worker = threading.Thread(target=run, name=f"recognize-{name}", daemon=True)
    t0 = time.perf_counter()
    worker.start()
    worker.join(time_limit_s)
    ms = (time.perf_counter() - t0) * 1000.0
    if worker.is_alive():
        _LEFT_RUNNING.add(worker)
        return RecognitionResult(
            ms=ms, engine=name, message=f"the recogniser took longer than {time_limit_s:g} s"
        )
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, RecognitionError):
            reason = str(exc) or "the recogniser failed"
        else:
            reason = f"the recogniser failed: {type(exc).__name__}: {exc}"
        return RecognitionResult(ms=ms, engine=name, message=reason)
    result = box.get("result")
    if not isinstance(result, RecognitionResult):
        return RecognitionResult(ms=ms, engine=name, message="the recogniser returned no result")
    return result


def recheck(
    card: Card, latex: str, previous_latex: Sequence[str] = (), *, check: Checker | None = None
) -> StepVerdict:
    """Parse and check ``latex`` as the next step of ``card`` after the user's ``previous_latex``.

    Returns a StepVerdict. Empty LaTeX is ``unparsed``; any exception from the checker (sympy, a bug)
    becomes ``cannot_check`` with the reason in ``message``. ``check`` defaults to
    ``whiteboard_app.maths.check_step(card, latex, previous)``.
    """
    latex = (latex or "").strip()
    if not latex:
        return make_verdict("", "unparsed", "nothing to check")
    t0 = time.perf_counter()
    try:
        if check is None:
            from whiteboard_app.maths import check_step

            check = check_step
        return check(card, latex, list(previous_latex))
    except Exception as exc:  # a checker failure is a verdict, never a crash
        logger.exception("the checker failed on %r", latex)
        return make_verdict(
            latex,
            "cannot_check",
            f"the checker failed: {type(exc).__name__}: {exc}",
            ms=(time.perf_counter() - t0) * 1000.0,
        )


def process_step(
    ink: StepInk,
    recognizer: Recognizer,
    card: Card,
    previous_latex: Sequence[str] = (),
    context: RecognitionContext | None = None,
    *,
    check: Checker | None = None,
    time_limit_s: float | None = None,
) -> StepResult:
    """Read one step's ``ink`` with ``recognizer`` (context from the card unless ``context`` is given)
    and check the best reading as the next step after ``previous_latex``.

    Never raises for recogniser or checker failures: nothing read (no candidates, an error, past
    ``time_limit_s`` seconds; default see ``RECOGNITION_TIME_LIMIT_S``) gives ``latex=None`` and verdict
    ``unparsed`` whose message reads "could not read: <reason>".
    """
    if time_limit_s is None:
        own = getattr(recognizer, "time_limit_s", None)
        time_limit_s = (
            2.0 * float(own) + 1.0 if isinstance(own, int | float) and own > 0 else RECOGNITION_TIME_LIMIT_S
        )
    if ink.is_empty:
        return StepResult(
            RecognitionResult(message="no ink"), None, make_verdict("", "unparsed", "could not read: no ink")
        )
    if context is None:
        context = build_context(card, previous_latex)
    recognition = _recognize_with_limit(recognizer, ink, context, time_limit_s)
    latex = recognition.best
    if not latex:
        reason = recognition.message or "the recogniser found no reading"
        if reason.startswith("could not read:"):
            reason = reason[len("could not read:") :].strip()
        return StepResult(recognition, None, make_verdict("", "unparsed", f"could not read: {reason}"))
    return StepResult(recognition, latex, recheck(card, latex, previous_latex, check=check))


#: an answer change when the reading replaced fits the ink this many nats better than the new LaTeX ...
CORRECTION_MARGIN = 2.0
#: ... and differs from it in at most this many tokens (see correction_kind)
CORRECTION_TOKENS = 2


def correction_kind(
    ink: StepInk,
    recognition: RecognitionResult | None,
    new_latex: str,
    *,
    read_latex: str | None = None,
    first_verdict: str | None = None,
    classify: Classify | None = None,
) -> str:
    """Is a typed correction or an n-best pick of a step a *reading fix* or an *answer change*?

    A reading fix ("reading") when the step's ink supports ``new_latex``: the ink's symbols (the
    recogniser's per-symbol alternatives in ``recognition.symbols``) are fitted to the new form with the
    recogniser's form verifier (``recognition.form_match.match_forms`` + ``verified_form``: the same
    evidence the card context uses to pull a reading to one of the card's forms), and the fit must be
    accepted on its own (no unexplained left-over ink or glyph, no symbol the classifier is sure is
    another of its kind: a "+" where "-" is typed). Otherwise an answer change ("answer"): the user
    changed the maths. It is an answer change too when the reading replaced (``read_latex``) is also
    accepted, fits the ink clearly better (CORRECTION_MARGIN nats) and differs from the new LaTeX in at
    most CORRECTION_TOKENS tokens: the recogniser read the ink as written and the user changed a sign
    or an exponent. Measured on generated ink (benchmarks/correction_kind.py, 10 cards, 37 cases each
    way): answer changes 91.9 % right, reading fixes 64.9 % right (the misses are inks the verifier
    cannot fit: regrouping failures on long numeric steps); with the reading replaced as a rival always:
    94.6 / 51.4 %. A change of the case of letters only (``Z`` typed ``z``) is a reading fix.

    Without ink (a typed step) it is an answer change. When the maths never judged a reading of the ink
    (``first_verdict`` None or "unparsed": nothing read, or a reading that did not parse) it is a reading
    fix whatever the ink: there was no answer to change. Without evidence otherwise (no symbols; a form
    that cannot be typeset) it is an answer change. ``classify`` is the engine's ``classify_groups`` (lets the verifier regroup strokes).
    Never raises: a verifier failure counts as no evidence.
    """
    if ink is None or ink.is_empty:
        return "answer"
    if first_verdict in (None, "unparsed"):
        # the maths never judged a reading of this ink, so there is no answer to change: typing what
        # the recogniser could not read supplies the reading (scoring it "could not read" would mark a
        # step the user may well have written right; the verifier misses 35 % of true reading fixes)
        return "reading"
    if read_latex and new_latex:
        from whiteboard_app.recognition.context import normalize_tokens

        if _case_only_change(normalize_tokens(read_latex), normalize_tokens(new_latex)):
            # only the case of letters changed (Z -> z): the recogniser's most frequent misreading on real
            # ink (11 of its 12 wrong forms on dev, docs/benchmarks.md), and one the ink's shape barely
            # tells; the user who types it fixes the reading
            return "reading"
    no_evidence = "answer"
    symbols = tuple(getattr(recognition, "symbols", ()) or ())
    if not symbols or not new_latex:
        return no_evidence
    try:
        from whiteboard_app.recognition.context import normalize_tokens
        from whiteboard_app.recognition.form_match import match_forms, verified_form

        expected: list[tuple[str, ContextKind]] = [(new_latex, "reference")]
        if read_latex and read_latex != new_latex:
            expected.append((read_latex, "previous"))
        matches = match_forms(ink, symbols, RecognitionContext(tuple(expected)), classify)
        toks = normalize_tokens(new_latex)
        new = next((m for m in matches if normalize_tokens(m.latex) == toks), None)
        if new is None:
            return no_evidence
        if verified_form([new]) is None:
            return "answer"
        # the reading replaced is no fair rival in general (the engine built it from the very labels its
        # symbols carry, so it fits them best, misread or not: requiring the new form to beat it called
        # 48.6 % of reading fixes answer changes). It is when it differs from the new LaTeX in a token
        # or two and fits clearly better (by MARGIN nats): the engine read the ink as written and the
        # user changed a sign, an exponent, an index
        old = next(
            (
                m
                for m in matches
                if read_latex
                and normalize_tokens(m.latex) == normalize_tokens(read_latex)
                and normalize_tokens(m.latex) != toks
            ),
            None,
        )
        if old is not None and verified_form([old]) is not None and new.cost - old.cost > CORRECTION_MARGIN:
            import difflib

            a, b = normalize_tokens(old.latex), toks
            ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
            changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")
            if changed <= CORRECTION_TOKENS:
                return "answer"
        return "reading"
    except Exception:  # noqa: BLE001 - the verifier failed: no evidence either way
        return no_evidence


def _case_only_change(a: Sequence[str], b: Sequence[str]) -> bool:
    """Do two token lists differ, and only in the case of single Latin letters (``\\sigma(Z)`` vs
    ``\\sigma(z)``)?"""
    return (
        a != b
        and len(a) == len(b)
        and all(
            x == y or (len(x) == 1 and x.isalpha() and x.lower() == y.lower())
            for x, y in zip(a, b, strict=True)
        )
    )


def chain_prefixes(latex: str) -> list[str]:
    """The shorter steps a chain ``a = b = c`` writes on its way: ``["a = b"]`` (``["= b"]`` for the
    continuation ``= b = c``); [] for a step with one relation or none. Splits only at ``=`` outside
    braces, brackets and parentheses (``:=`` and ``\\ne`` are not split)."""
    parts: list[str] = []
    cur: list[str] = []
    depth, prev = 0, ""
    for ch in latex:
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(0, depth - 1)
        if ch == "=" and depth == 0 and prev not in (":", "<", ">", "!", "\\"):
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        prev = ch
    parts.append("".join(cur))
    if any(not p.strip() for p in parts[1:]):
        return []
    return ["=".join(parts[:j]).strip() for j in range(2, len(parts))]


def intermediate_matches(
    card: Card, latex: str, previous_latex: Sequence[str] = (), *, check: Checker | None = None
) -> list[int]:
    """Reference steps a chain step shows on its way (issue 12: a milestone written inside a longer
    line counts): each prefix of ``latex`` (:func:`chain_prefixes`) is checked as the step after
    ``previous_latex``; the reference steps of the prefixes judged correct, in order, without repeats.
    [] for a step that is not a chain. Never raises (a failing prefix shows nothing)."""
    out: list[int] = []
    for prefix in chain_prefixes(latex or ""):
        v = recheck(card, prefix, previous_latex, check=check)
        k = getattr(v, "reference_step", None)
        if getattr(v, "verdict", None) == "correct" and isinstance(k, int) and k not in out:
            out.append(k)
    return out
