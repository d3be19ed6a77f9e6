"""Grill mode: rapid questions across the deck, one at a time, timed (Qt-free core).

A grill question lives in its card file (``[[questions]]``, docs/deck-authoring.md). Two kinds:

- **maths**: the answer is LaTeX, written with the pen or typed, and judged by the checker for
  *equivalence* with the question's answer under the card's declarations (extended by the question's
  own ``declarations``): ``\\sigma(1-\\sigma)``, ``\\sigma-\\sigma^2`` and ``e^{-z}/(1+e^{-z})^2`` are all
  the same answer. A written relation (``\\frac{d\\sigma}{dz} = \\sigma(1-\\sigma)``) is judged by its last
  side when the answer is an expression. The verdict is a :class:`~whiteboard_app.maths.StepVerdict`
  (``correct`` / ``wrong`` with a diagnosis / ``unparsed`` / ``cannot_check``), as ``check`` gives it.
- **words**: the user answers (out loud or typed), then sees the model answer's key points and grades
  themselves (again / hard / good / easy).

Scheduling (:func:`rating_for_answer`): each question has its own FSRS state (``Scheduler.record`` with
the deck-wide id ``"<card id>/<question id>"``); a maths answer that is wrong, unreadable or missing
(time ran out) is **Again**; a correct one is **Easy** within a third of the time limit, **Good** within
it, **Hard** after it; a word answer takes its self-grade, at most **Hard** after the time limit. A
failed answer brings the card's own due date forward to at most one day later
(``Scheduler.pull_due``). ``cannot_check`` answers are logged but not scheduled (the user is not to
blame). Every answer is logged in the history (``History.record_grill_answer``) for the statistics:
accuracy and speed (``History.grill_stats``).

Choosing questions (:func:`pick_questions`): due questions first (most overdue), then questions never
asked, spread across cards (one per card in turn, cards in deck order, so cards not practised yet are
included), then the ones asked longest ago.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from whiteboard_app.decks.schema import Card, Deck, Declarations, Question, RefStep
from whiteboard_app.sessions.board import SELF_GRADES
from whiteboard_app.sessions.clock import Clock, SystemClock
from whiteboard_app.sessions.history import GrillAnswerRow, History

if TYPE_CHECKING:
    from whiteboard_app.maths import Comparison, StepVerdict
    from whiteboard_app.maths.checker import CardChecker
    from whiteboard_app.sessions.scheduler import Scheduler

_V = TypeVar("_V")

SEP = "/"
#: a failed grill answer makes its card due at most this long after the answer
PULL_FORWARD = timedelta(days=1)

_RATING = {g: i + 1 for i, g in enumerate(SELF_GRADES)}  # again=1 .. easy=4


class UnknownQuestionError(KeyError):
    """No grill question with that id in the deck."""

    def __str__(self) -> str:
        return f"unknown grill question: {self.args[0]!r}" if self.args else "unknown grill question"


@dataclass(frozen=True)
class GrillItem:
    """A question with its card. ``id`` is deck-wide: ``"<card id>/<question id>"``."""

    card: Card
    question: Question

    @property
    def id(self) -> str:
        return question_id(self.card, self.question)

    @property
    def kind(self) -> str:
        return self.question.kind

    @property
    def time_limit_ms(self) -> float:
        return self.question.time_s * 1000.0


def question_id(card: Card, question: Question) -> str:
    """The deck-wide id of a question: ``"<card id>/<question id>"``."""
    return f"{card.id}{SEP}{question.id}"


def grill_items(deck: Deck | Iterable[Card]) -> list[GrillItem]:
    """Every question of the deck, cards in deck order (sorted by id), questions in file order."""
    cards = sorted(deck, key=lambda c: c.id)
    return [GrillItem(c, q) for c in cards for q in c.questions]


def find_item(deck: Deck, qid: str) -> GrillItem:
    """The question ``"<card id>/<question id>"``; raises :class:`UnknownQuestionError`."""
    card_id, sep, short = qid.partition(SEP)
    card = deck.cards.get(card_id) if sep else None
    if card is not None:
        for q in card.questions:
            if q.id == short:
                return GrillItem(card, q)
    raise UnknownQuestionError(qid)


# ------------------------------------------------------------------------------------------- checking
def merged_declarations(card: Declarations, extra: Declarations | None) -> Declarations:
    """The card's declarations with a question's added; a name the question declares (symbol, family,
    shape, function or definition) replaces the card's declaration of that name, so a question may read
    ``\\sigma`` as a quantity where the card has it as a function."""
    if extra is None:
        return card

    def plain(name: str) -> str:  # '\\sigma' and 'sigma' name the same thing
        return name[1:] if re.fullmatch(r"\\[A-Za-z]+", name) else name

    names = {
        plain(k)
        for t in (extra.symbols, extra.indexed, extra.shapes, extra.functions, extra.definitions)
        for k in t
    }

    def keep(table: dict[str, _V]) -> dict[str, _V]:
        return {k: v for k, v in table.items() if plain(k) not in names}

    return Declarations(
        symbols={**keep(card.symbols), **extra.symbols},
        indexed={**keep(card.indexed), **extra.indexed},
        indices={**card.indices, **extra.indices},
        shapes={**keep(card.shapes), **extra.shapes},
        sizes={**card.sizes, **extra.sizes},
        functions={**keep(card.functions), **extra.functions},
        definitions={**keep(card.definitions), **extra.definitions},
        constraints=tuple(c for c in card.constraints if plain(c.partition(":")[2]) not in names)
        + extra.constraints,
        unknowns=tuple(u for u in card.unknowns if plain(u) not in names) + extra.unknowns,
        solutions=keep(card.solutions) | extra.solutions,
        stacks=keep(card.stacks) | extra.stacks,
    )


def question_card(item: GrillItem) -> Card:
    """A card the checker can judge an answer with: the question's card with merged declarations and the
    answer as its only reference step (no mistakes, follow-ups or questions, so it loads fast)."""
    q = item.question
    return dataclasses.replace(
        item.card,
        id=f"{item.card.id}--{q.id}",
        declarations=merged_declarations(item.card.declarations, q.declarations),
        steps=(RefStep(latex=q.answer, say="", rule="grill answer"),),
        mistakes=(),
        followups=(),
        questions=(),
    )


_RELATIONS = ("\\leq", "\\geq", "\\le", "\\ge", "\\neq", "\\ne", "\\approx", "<", ">", "=")


def _top_level_splits(latex: str) -> list[int]:
    """Positions of every top-level ``=`` (outside braces, brackets and parentheses)."""
    depth, out, i = 0, [], 0
    while i < len(latex):
        ch = latex[i]
        if ch == "\\":
            i += 2
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth = max(0, depth - 1)
        elif ch == "=" and depth == 0:
            out.append(i)
        i += 1
    return out


def _has_relation(latex: str) -> bool:
    s = latex.replace("\\left", "").replace("\\right", "")
    return bool(_top_level_splits(s)) or any(r in s for r in _RELATIONS[:-1])


def answer_side(answer: str, written: str) -> str:
    """What of ``written`` is compared with ``answer``: its last side after a top-level ``=`` when the
    answer is an expression and the user wrote an equation (``\\sigma'(z) = ...``), else all of it."""
    written = written.strip()
    if _has_relation(answer):
        return written
    cuts = _top_level_splits(written)
    return written[cuts[-1] + 1 :].strip() if cuts else written


CompareFn = Callable[[Card, str, str], "Comparison"]
"""``compare(card, expected, candidate) -> Comparison`` (``maths.compare`` or an in-process one)."""

_TEXT = re.compile(r"\\text\s*\{[^{}]*\}")
_DECIMAL = re.compile(r"^-?\d*\.\d+$")
#: a decimal answer with fewer significant digits is compared exactly (0.3 is not 1/4)
MIN_DECIMAL_DIGITS = 2


def _significant_digits(decimal: str) -> int:
    digits = decimal.lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


def _approx_side(side: str) -> str | None:
    """The decimal of an approximate answer (``0.0909``, ``\\approx 0.0909``) with at least
    ``MIN_DECIMAL_DIGITS`` significant digits, else None."""
    s = side.strip()
    if "\\approx" in s:
        s = s.rsplit("\\approx", 1)[1].strip()
    if _DECIMAL.match(s) and _significant_digits(s) >= MIN_DECIMAL_DIGITS:
        return s
    return None


def check_answer(item: GrillItem, latex: str, compare: CompareFn | None = None) -> StepVerdict:
    """Judge a maths answer: a :class:`~whiteboard_app.maths.StepVerdict` (``correct`` when equivalent to
    the question's answer, ``wrong`` with the checker's diagnosis, ``unparsed``, ``cannot_check``; never
    raises for bad input). ``compare`` defaults to ``maths.compare`` (the time-limited worker). Raises
    ValueError for a word question.

    ``\\text{...}`` (a unit: "1 \\text{bit}") is ignored. A decimal answer (``0.0909``, ``\\approx 0.167``)
    with at least two significant digits is checked to the digits written, as the checker reads
    ``a \\approx 0.167`` (``check(card, latex)``: ``compare.check`` when it has one, else
    ``maths.check_step``); with fewer it must be exact."""
    from whiteboard_app.maths import StepVerdict
    from whiteboard_app.maths import compare as worker_compare

    if item.kind != "maths":
        raise ValueError(f"{item.id} is a word question: it is self-graded, not checked")
    compare = compare or worker_compare
    latex = (latex or "").strip()
    if not latex:
        return StepVerdict(latex, "unparsed", message="nothing written")
    side = _TEXT.sub("", answer_side(item.question.answer, _TEXT.sub("", latex))).strip()
    if not side:
        return StepVerdict(latex, "unparsed", message="nothing after '='")
    approx = None if _has_relation(item.question.answer) else _approx_side(side)
    t0 = time.perf_counter()
    if approx is not None:
        check = getattr(compare, "check", None)
        if check is None:
            from whiteboard_app.maths import check_step

            def check(card: Card, text: str) -> StepVerdict:
                return check_step(card, text, [])

        v: StepVerdict = check(question_card(item), f"{item.question.answer} \\approx {approx}")
        ms = (time.perf_counter() - t0) * 1000.0
        return dataclasses.replace(
            v, latex=latex, ms=ms, reference_step=1 if v.verdict == "correct" else None
        )
    c = compare(question_card(item), item.question.answer, side)
    ms = (time.perf_counter() - t0) * 1000.0
    if c.equivalent is True:
        return StepVerdict(latex, "correct", reference_step=1, ms=ms)
    if c.equivalent is False:
        return StepVerdict(
            latex,
            "wrong",
            diagnosis=c.diagnosis,
            ms=ms,
            message=c.message or "not equivalent to the expected answer",
        )
    msg = c.message or "cannot be checked"
    verdict = "unparsed" if msg.startswith("unparsed") else "cannot_check"
    return StepVerdict(latex, verdict, ms=ms, message=msg)


class InProcessCompare:
    """A ``compare`` without the worker process (tests, ``decks validate --check``): one CardChecker per
    question card, kept. No time limits: use it on trusted deck content only."""

    def __init__(self) -> None:
        self._checkers: dict[str, CardChecker] = {}

    def __call__(self, card: Card, expected: str, candidate: str) -> Comparison:
        from whiteboard_app.maths.worker import compare_in_process

        return compare_in_process(self._checker(card), expected, candidate)

    def check(self, card: Card, latex: str) -> StepVerdict:
        """``check_step`` in-process (a decimal answer: ``answer \\approx 0.167``)."""
        return self._checker(card).check(latex, [])

    def _checker(self, card: Card) -> CardChecker:
        from whiteboard_app.maths.checker import CardChecker

        chk = self._checkers.get(card.id)
        if chk is None:
            chk = self._checkers[card.id] = CardChecker(card, prove=False)
        return chk


def question_problems(item: GrillItem, compare: CompareFn | None = None) -> list[str]:
    """Check a maths question's own forms: the answer and every ``accept`` form must be judged correct,
    every ``reject`` form wrong. Returns the problems in words (empty when all is well)."""
    if item.kind != "maths":
        return []
    compare = compare or InProcessCompare()
    out = []
    for form in (item.question.answer, *item.question.accept):
        v = check_answer(item, form, compare)
        if v.verdict != "correct":
            out.append(f"accepted form {form!r}: the checker says {v.verdict} ({v.message})")
    for form in item.question.reject:
        v = check_answer(item, form, compare)
        if v.verdict != "wrong":
            out.append(f"rejected form {form!r}: the checker says {v.verdict} ({v.message}), not wrong")
    return out


# ------------------------------------------------------------------------------------------ scheduling
def rating_for_answer(
    kind: str, verdict: str | None, self_grade: str | None, ms: float | None, time_limit_ms: float
) -> int | None:
    """The FSRS rating (1 again .. 4 easy) of one grill answer by the rule in the module docstring;
    None for a maths answer that ``cannot_check`` (not scheduled). ``ms`` None: time ran out with no
    answer (Again). Raises ValueError for an unknown kind or self-grade."""
    if kind == "maths":
        if ms is None or verdict in (None, "wrong", "unparsed"):
            return 1
        if verdict == "cannot_check":
            return None
        if verdict != "correct":
            raise ValueError(f"unknown verdict {verdict!r}")
        if ms <= time_limit_ms / 3.0:
            return 4
        return 3 if ms <= time_limit_ms else 2
    if kind == "words":
        if ms is None or self_grade is None:
            return 1
        if self_grade not in _RATING:
            raise ValueError(f"self-grade must be one of {SELF_GRADES}, got {self_grade!r}")
        rating = _RATING[self_grade]
        return min(rating, 2) if ms > time_limit_ms else rating
    raise ValueError(f"unknown question kind {kind!r}")


@dataclass(frozen=True)
class GrillResult:
    """The outcome of one question: the verdict (maths) or self-grade (words), the time to answer (ms;
    None when time ran out), the FSRS rating given (None: not scheduled), the question's and the card's
    due dates after it (UTC; the card's None when the card was never reviewed)."""

    item: GrillItem
    latex: str | None
    verdict: StepVerdict | None
    self_grade: str | None
    ms: float | None
    rating: int | None
    question_due: datetime | None
    card_due: datetime | None

    @property
    def correct(self) -> bool:
        if self.item.kind == "maths":
            return self.verdict is not None and self.verdict.verdict == "correct"
        return self.self_grade is not None and self.self_grade != "again" and self.ms is not None


def record_answer(
    scheduler: Scheduler,
    item: GrillItem,
    *,
    latex: str | None = None,
    verdict: StepVerdict | None = None,
    self_grade: str | None = None,
    ms: float | None,
    when: datetime | None = None,
) -> GrillResult:
    """Log one answer in the scheduler's history and schedule the question (and maybe pull its card
    forward) by :func:`rating_for_answer`. ``scheduler`` is a ``sessions.scheduler.Scheduler``;
    ``when`` an aware datetime (default now)."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    v = verdict.verdict if verdict is not None else None
    rating = rating_for_answer(item.kind, v, self_grade, ms, item.time_limit_ms)
    history: History = scheduler.history
    qdue = cdue = None
    if rating is not None:
        qdue = scheduler.record(item.id, rating, when)
        if rating == 1:
            scheduler.pull_due(item.card.id, when + PULL_FORWARD)
    cdue = scheduler.due_date(item.card.id)
    result = GrillResult(item, latex, verdict, self_grade, ms, rating, qdue, cdue)
    history.record_grill_answer(
        GrillAnswerRow(
            question_id=item.id,
            card_id=item.card.id,
            kind=item.kind,
            answered_at=when,
            latex=latex,
            verdict=v,
            self_grade=self_grade,
            correct=result.correct,
            ms=float(ms) if ms is not None else item.time_limit_ms,
            time_limit_ms=item.time_limit_ms,
            rating=rating,
        )
    )
    return result


def pick_questions(
    items: Sequence[GrillItem], scheduler: Scheduler, today: datetime | None = None, n: int = 10
) -> list[GrillItem]:
    """Up to ``n`` questions for a grill session: due ones (most overdue first), then never-asked ones
    taken one card at a time in turn (so every card, practised or not, gets its turn), then the ones
    asked longest ago. ``today`` an aware datetime (default now)."""
    today = today or datetime.now(UTC)
    by_id = {it.id: it for it in items}
    due = [by_id[q] for q in scheduler.due(today, list(by_id))]
    new = [it for it in items if scheduler.first_review(it.id) is None]
    spread: list[GrillItem] = []
    per_card: dict[str, list[GrillItem]] = {}
    for it in new:
        per_card.setdefault(it.card.id, []).append(it)
    while any(per_card.values()):
        for cid in list(per_card):
            if per_card[cid]:
                spread.append(per_card[cid].pop(0))
    taken = {it.id for it in due} | {it.id for it in new}
    seen = sorted(
        (it for it in items if it.id not in taken), key=lambda it: (scheduler.last_review(it.id), it.id)
    )
    return (due + spread + seen)[: max(0, n)]


class GrillSession:
    """One grill session: a queue of questions answered one at a time against a clock.

    ``start()`` opens the next question (its timer starts); ``answer_latex(latex)`` judges a maths
    answer, ``answer_words(self_grade)`` grades a word answer, ``time_out()`` records a question whose
    time ran out; each returns the :class:`GrillResult` (scheduled and logged when ``scheduler`` is
    given). ``check`` is the ``compare`` function for maths answers (default: the worker's).
    """

    def __init__(
        self,
        items: Sequence[GrillItem],
        scheduler: Scheduler | None = None,
        clock: Clock | None = None,
        compare: CompareFn | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.items = list(items)
        self.scheduler = scheduler
        self.clock = clock or SystemClock()
        self.compare = compare
        self.now = now or (lambda: datetime.now(UTC))
        self.results: list[GrillResult] = []
        self.index = -1
        self._started_ms: float | None = None

    @property
    def current(self) -> GrillItem | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    @property
    def done(self) -> bool:
        return self.index >= len(self.items)

    def start(self) -> GrillItem | None:
        """Move to the next question and start its timer; None when the session is over."""
        self.index += 1
        self._started_ms = self.clock.now_ms()
        return self.current

    def elapsed_ms(self) -> float:
        """Time spent on the current question (ms)."""
        return 0.0 if self._started_ms is None else self.clock.now_ms() - self._started_ms

    def remaining_ms(self) -> float:
        """Time left on the current question (ms; negative after the limit)."""
        item = self.current
        return 0.0 if item is None else item.time_limit_ms - self.elapsed_ms()

    def check(self, latex: str) -> StepVerdict:
        """Judge a maths answer to the current question without recording it (a StepVerdict)."""
        item = self._need("maths")
        return check_answer(item, latex, self.compare)

    def answer_latex(
        self, latex: str, verdict: StepVerdict | None = None, ms: float | None = None
    ) -> GrillResult:
        """Record a maths answer (judged now unless ``verdict`` is given, e.g. from a worker thread);
        ``ms`` the time to answer (default: the time on the question now)."""
        item = self._need("maths")
        ms = self.elapsed_ms() if ms is None else ms
        verdict = verdict if verdict is not None else check_answer(item, latex, self.compare)
        return self._finish(item, latex=latex, verdict=verdict, ms=ms)

    def answer_words(self, self_grade: str, ms: float | None = None) -> GrillResult:
        """Record the self-grade of a word answer (one of again / hard / good / easy); ``ms`` the time to
        answer (e.g. when the key points were shown; default: the time on the question now)."""
        item = self._need("words")
        if self_grade not in SELF_GRADES:
            raise ValueError(f"self-grade must be one of {SELF_GRADES}, got {self_grade!r}")
        return self._finish(item, self_grade=self_grade, ms=self.elapsed_ms() if ms is None else ms)

    def time_out(self) -> GrillResult:
        """Record that time ran out on the current question with no answer (Again)."""
        item = self._need(None)
        return self._finish(item, ms=None)

    def summary(self) -> dict[str, Any]:
        """``{"answered", "correct", "accuracy", "median_ms"}`` of this session's results."""
        times = sorted(r.ms for r in self.results if r.ms is not None)
        n = len(self.results)
        ok = sum(r.correct for r in self.results)
        med = None
        if times:
            m = len(times) // 2
            med = times[m] if len(times) % 2 else (times[m - 1] + times[m]) / 2
        return {"answered": n, "correct": ok, "accuracy": ok / n if n else None, "median_ms": med}

    def _need(self, kind: str | None) -> GrillItem:
        item = self.current
        if item is None:
            raise RuntimeError("no current question: call start()")
        if kind is not None and item.kind != kind:
            raise ValueError(f"{item.id} is a {item.kind} question")
        if len(self.results) > self.index:
            raise RuntimeError(f"{item.id} is already answered")
        return item

    def _finish(self, item: GrillItem, **kw: Any) -> GrillResult:
        if self.scheduler is not None:
            result = record_answer(self.scheduler, item, when=self.now(), **kw)
        else:
            v = kw.get("verdict")
            rating = rating_for_answer(
                item.kind,
                v.verdict if v is not None else None,
                kw.get("self_grade"),
                kw.get("ms"),
                item.time_limit_ms,
            )
            result = GrillResult(
                item, kw.get("latex"), v, kw.get("self_grade"), kw.get("ms"), rating, None, None
            )
        self.results.append(result)
        return result
