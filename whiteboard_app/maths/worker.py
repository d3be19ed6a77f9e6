"""A persistent, killable worker process that parses and checks steps under time limits.

sympy and numerical evaluation can hang or take long on odd input; the window and the CLI must not. The
parent sends a request and waits: ``PARSE_TIMEOUT_S`` for the parse phase, ``CHECK_TIMEOUT_S`` for the
check phase (a card's first use also parses its reference chain, under ``CARD_TIMEOUT_S``). When a limit
passes the worker is killed (and started again on the next request): a parse timeout gives ``unparsed``,
a check timeout ``cannot_check``. One lock serialises requests, so the functions are thread-safe.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
import zlib

from whiteboard_app.decks.schema import Card

from .checker import CardChecker, Comparison, StepVerdict

logger = logging.getLogger(__name__)

PARSE_TIMEOUT_S = float(os.environ.get("WHITEBOARD_PARSE_TIMEOUT_S", "2.0"))
CHECK_TIMEOUT_S = float(os.environ.get("WHITEBOARD_CHECK_TIMEOUT_S", "1.0"))
CARD_TIMEOUT_S = float(os.environ.get("WHITEBOARD_CARD_TIMEOUT_S", "30.0"))
START_TIMEOUT_S = 60.0


def _fingerprint(card: Card) -> str:
    return f"{card.id}:{zlib.crc32(pickle.dumps(card)):08x}"


# ---------------------------------------------------------------------------------------- child side
def _serve(conn) -> None:  # pragma: no cover - runs in the child process
    import warnings

    warnings.filterwarnings("ignore")
    from .parse import parse_latex_ordered

    try:
        parse_latex_ordered("x")  # warm up antlr
    except Exception:  # only the warm-up; the first parse pays instead
        logger.exception("warming up the LaTeX parser failed")
    conn.send(("ready",))
    checkers: dict[str, CardChecker] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent has gone: nothing to save; sympy's teardown would only cost CPU
        op = msg[0]
        try:
            if op == "card":
                _, fp, card = msg
                checkers[fp] = CardChecker(card)
                conn.send(("card_ok", checkers[fp].problems))
            elif op == "check":
                _, fp, latex, previous = msg
                chk = checkers[fp]
                t0 = time.perf_counter()
                for s in [*previous, latex]:
                    try:
                        chk.parse(s)
                    except Exception:  # a step that does not parse is checked (unparsed) below
                        logger.debug("pre-parse of %r failed", s, exc_info=True)
                conn.send(("parsed", (time.perf_counter() - t0) * 1000))
                conn.send(("result", chk.check(latex, previous)))
            elif op == "compare":
                _, fp, a, b = msg
                chk = checkers[fp]
                for s in (a, b):
                    try:
                        chk.parse(s)
                    except Exception:  # compared (and reported) below
                        logger.debug("pre-parse of %r failed", s, exc_info=True)
                conn.send(("parsed", 0.0))
                conn.send(("result", compare_in_process(chk, a, b)))
            elif op == "near":
                _, fp = msg
                from .checker import near_misses_for

                conn.send(("parsed", 0.0))
                conn.send(("result", near_misses_for(checkers[fp])))
            elif op == "sleep":  # a test aid: a request that takes parse_s, then check_s seconds
                _, fp, parse_s, check_s = msg
                time.sleep(parse_s)
                conn.send(("parsed", parse_s * 1000))
                time.sleep(check_s)
                conn.send(("result", None))
            elif op == "problems":
                _, fp = msg
                conn.send(("result", checkers[fp].problems))
            else:
                conn.send(("error", f"unknown request {op!r}"))
        except Exception as exc:  # a bug must not kill the worker; the parent reports it
            logger.exception("checker worker request %r failed", op)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


def compare_in_process(chk: CardChecker, expected: str, candidate: str) -> Comparison:
    """Compare two steps under one card's declarations (see :func:`whiteboard_app.maths.compare`).

    Two plain expressions are equivalent only when they are equal at every sample point (an identity under
    the declarations); a card's ``solutions`` never make them equal (two different gradients both vanish at
    the solution). Two relations are equivalent when their pieces are, when one is the other with its
    sides swapped, or when their residuals a - b are proportional. ``equivalent`` is None (cannot decide)
    wherever ``check`` would say cannot_check: an undecidable kind, a side that cannot be evaluated, or a
    tautology (both sides the same expression)."""
    from whiteboard_app.latex import ParseError

    from .evaluate import EvalError, ShapeError

    try:
        e = chk.parse(expected)
        c = chk.parse(candidate)
    except ParseError as exc:
        return Comparison(None, None, f"unparsed: {exc}")
    if e.undecidable or c.undecidable:
        return Comparison(None, None, "cannot be checked")
    from .checker import is_tautology

    for st in (e, c):
        if is_tautology(st.latex):
            return Comparison(None, None, f"{st.latex}: both sides are the same expression (a tautology)")
    try:
        ea, ca = list(e.trees), list(c.trees)
        for t in ea + ca:
            chk.values(t)  # EvalError: cannot decide (as check's cannot_check); ShapeError: not equivalent
        if len(ea) == 1 and len(ca) == 1:
            if chk.same_value(ea[0], ca[0]):
                return Comparison(True, None)
            return Comparison(False, chk.diagnose_pair(ea[0], ca[0], False))
        if e.relations == c.relations and len(ea) == len(ca):
            if all(chk.same_value(x, y) for x, y in zip(ea, ca, strict=True)):
                return Comparison(True, None)
        if len(ea) == 2 and len(ca) == 2 and e.relations == c.relations == ("=",):
            if chk.same_value(ea[0], ca[1]) and chk.same_value(ea[1], ca[0]):
                return Comparison(True, None)
            from .trees import neg

            if chk.proportional(("add", (ea[0], neg(ea[1]))), ("add", (ca[0], neg(ca[1])))):
                return Comparison(True, None)
        if (
            all(r in ("<", "<=", ">", ">=") for r in e.relations + c.relations)
            and e.relations
            and c.relations
        ):
            te = chk._claim_truth(chk._claim(e, None), dense=True)
            tc = chk._claim_truth(chk._claim(c, None), dense=True)
            if te == tc and len(set(te)) == 2:
                return Comparison(True, None)
            return Comparison(False, None)
        return Comparison(False, chk.diagnose_pair(ea[-1], ca[-1], False))
    except ShapeError as exc:
        return Comparison(False, "shape mismatch", str(exc))
    except EvalError as exc:
        return Comparison(None, None, f"cannot evaluate: {exc}")


# ---------------------------------------------------------------------------------------- parent side
class WorkerTimeout(RuntimeError):
    """The worker passed a time limit and was killed."""


class CheckerWorker:
    """Owns the worker process; restarts it after a kill. All methods are thread-safe."""

    def __init__(self):
        self._lock = threading.RLock()
        self._proc = None
        self._conn = None
        self._cards: set[str] = set()
        self.restarts = 0
        self.last_setup_ms = 0.0

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="whiteboard-checker")
        proc.start()
        child.close()
        if not parent.poll(START_TIMEOUT_S):
            proc.kill()
            raise WorkerTimeout("the checker process did not start")
        parent.recv()
        self._proc, self._conn = proc, parent
        self._cards = set()

    def kill(self) -> None:
        """Kill the worker process (it restarts on the next request)."""
        with self._lock:
            if self._proc is not None:
                self._proc.kill()
                self._proc.join(timeout=5)
            if self._conn is not None:
                self._conn.close()
            self._proc = self._conn = None
            self._cards = set()

    def _ensure(self, card: Card) -> str:
        if self._proc is None or not self._proc.is_alive():
            self.kill()
            self._start()
        fp = _fingerprint(card)
        if fp not in self._cards:
            self._conn.send(("card", fp, card))
            self._wait(CARD_TIMEOUT_S)
            self._cards.add(fp)
        return fp

    def _wait(self, timeout: float):
        if not self._conn.poll(timeout):
            self.restarts += 1  # the next request starts a fresh process
            self.kill()
            raise WorkerTimeout(f"no answer within {timeout:.1f} s")
        try:
            msg = self._conn.recv()
        except (EOFError, OSError) as exc:
            self.kill()
            raise WorkerTimeout(f"the checker process died: {exc}") from None
        if msg[0] == "error":
            raise RuntimeError(msg[1])
        return msg

    def request(self, card: Card, msg: tuple, parse_timeout: float, check_timeout: float):
        """Send a request (after the card); returns the result or raises WorkerTimeout(phase)."""
        with self._lock:
            t0 = time.perf_counter()
            try:
                fp = self._ensure(card)
            except WorkerTimeout as exc:
                raise WorkerTimeout("card: " + str(exc)) from None
            finally:
                self.last_setup_ms = (time.perf_counter() - t0) * 1000
            self._conn.send((msg[0], fp, *msg[1:]))
            try:
                self._wait(parse_timeout)
            except WorkerTimeout as exc:
                raise WorkerTimeout("parse: " + str(exc)) from None
            try:
                return self._wait(check_timeout)[1]
            except WorkerTimeout as exc:
                raise WorkerTimeout("check: " + str(exc)) from None


_worker: CheckerWorker | None = None
_worker_lock = threading.Lock()


def get_worker() -> CheckerWorker:
    """The process-wide worker (started on first use)."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = CheckerWorker()
            atexit.register(_worker.kill)
        return _worker


def _nearest(card: Card, latex: str) -> int | None:
    """The reference step most similar in writing (1-based), computed here without sympy, for a
    cannot_check verdict the worker could not give (the window shows it for self-comparison)."""
    import difflib

    from whiteboard_app.latex import ParseError, canonical

    try:
        mine = canonical(latex).lstrip("=")
        scores = [
            difflib.SequenceMatcher(None, mine, canonical(s.latex).lstrip("=")).ratio() for s in card.steps
        ]
    except ParseError:
        return None
    return 1 + max(range(len(scores)), key=scores.__getitem__) if scores else None


#: stands in for an earlier step of the run that passed a time limit: it reads at once as "unparsed", so
#: one slow step costs only itself (the steps after it are not parsed or evaluated against it again)
SLOW_STEP = r"\text{a step that passed the time limit}"
_slow_steps: dict[str, set[str]] = {}


def check_step_timed(card: Card, latex: str, previous: list[str]) -> StepVerdict:
    """check_step through the worker under the time limits. A step that passes a limit is remembered
    (per card) and replaced by :data:`SLOW_STEP` when it comes again as an earlier step of a run."""
    t0 = time.perf_counter()
    w = get_worker()
    fp = _fingerprint(card)
    slow = _slow_steps.setdefault(fp, set())
    previous = [SLOW_STEP if s in slow else s for s in previous]
    try:
        v = w.request(card, ("check", latex, list(previous)), PARSE_TIMEOUT_S, CHECK_TIMEOUT_S)
    except WorkerTimeout as exc:
        if not str(exc).startswith("card"):
            if len(slow) > 1000:
                slow.clear()
            slow.add(latex)
        phase = str(exc).split(":", 1)[0]
        verdict = "unparsed" if phase == "parse" else "cannot_check"
        return StepVerdict(
            latex,
            verdict,
            reference_step=_nearest(card, latex) if verdict == "cannot_check" else None,
            ms=(time.perf_counter() - t0) * 1000,
            message=f"time limit passed ({exc})",
        )
    except RuntimeError as exc:
        return StepVerdict(
            latex,
            "cannot_check",
            reference_step=_nearest(card, latex),
            ms=(time.perf_counter() - t0) * 1000,
            message=f"checker error: {exc}",
        )
    # the time of this step: parse + check + messaging, without starting the worker or loading the card
    v.ms = (time.perf_counter() - t0) * 1000 - w.last_setup_ms
    return v
