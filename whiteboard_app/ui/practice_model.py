"""The state of one practice run that the step panels display: per step its ink, reading, n-best list,
verdict and status. Widgets get this model in their constructor and subscribe to ``step_changed``;
tests change the model and assert on the widgets.

It holds no Qt widgets and does no slow work: readings and verdicts arrive from workers
(``apply_result``, ``apply_verdict``); a result for ink whose signature has changed is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from whiteboard_app.ink import StepInk

# Step status values, as shown by the step panel.
EMPTY, WAITING, READING, CHECKING, DONE = "empty", "waiting", "reading", "checking", "done"


@dataclass(frozen=True)
class _Typed:
    """The typed LaTeX as a candidate (first, score 1) among an ink reading's chips."""

    latex: str
    score: float = 1.0


def offered_candidates(candidates, best: str | None) -> tuple[tuple[str, float], ...]:
    """The (LaTeX, score) readings a step offers as one-tap chips: the recogniser's n-best in its order,
    without alternatives that are not well-formed LaTeX (an empty fraction part, an unpaired bracket:
    ``latex.check_balance`` / ``check_structure``), which could only ever be "could not read" and show
    as raw source. The reading in use (``best``) is always kept."""
    from whiteboard_app.latex import MalformedError, check_balance, check_structure

    out = []
    for c in candidates:
        if c.latex != best:
            try:
                check_balance(c.latex)
                check_structure(c.latex)
            except MalformedError:
                continue
        out.append((c.latex, c.score))
    return tuple(out)


@dataclass(frozen=True)
class StepState:
    """What the window knows about one step.

    ``source`` says where ``latex`` came from: "ink" (the recogniser's best), "pick" (chosen from the
    n-best list), "typed" (corrected or typed on the keyboard); ``candidates`` are (latex, score) pairs,
    best first; ``verdict`` is a maths StepVerdict or None while unknown; ``error`` a message in words.
    """

    ink: StepInk = field(default_factory=StepInk)
    latex: str | None = None
    source: str = "ink"
    candidates: tuple[tuple[str, float], ...] = ()
    verdict: Any = None
    status: str = EMPTY
    error: str | None = None
    read_ms: float = 0.0
    hints_shown: int = 0
    reference_shown: bool = False
    change: str | None = None  # the last correction's kind: "reading" (a reading fix) or "answer"
    change_words: str | None = None  # "wrong -> changed by typing" once the maths was changed


class PracticeModel(QObject):
    """The steps of the run on one card. Emits ``step_changed(i)`` after every change of step ``i`` and
    ``steps_changed()`` when steps are added or removed. Step indices are 0-based."""

    step_changed = Signal(int)
    steps_changed = Signal()

    def __init__(self, card, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.steps: list[StepState] = [StepState()]

    # --- queries -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    def step(self, i: int) -> StepState:
        """The state of step ``i`` (0-based); IndexError for a bad index."""
        return self.steps[i]

    def signature(self, i: int) -> tuple:
        """The ink signature of step ``i`` (changes whenever its ink changes)."""
        return self.steps[i].ink.signature() if 0 <= i < len(self.steps) else ()

    def previous_latex(self, i: int) -> list[str]:
        """The readings of the steps before ``i`` that have one, in order (the checker's ``previous``)."""
        return [s.latex for s in self.steps[:i] if s.latex]

    def reference_for(self, i: int):
        """The reference step a cannot-check verdict of step ``i`` is compared with: the matched one,
        else the card's step at the same position (or its last), or None for a card without steps."""
        steps = getattr(self.card, "steps", [])
        if not steps:
            return None
        v = self.steps[i].verdict
        k = getattr(v, "reference_step", None)
        if k:
            return steps[min(max(k, 1), len(steps)) - 1]
        return steps[min(i, len(steps) - 1)]

    def latexes(self) -> list[str | None]:
        """The current reading of every step (None where there is none)."""
        return [s.latex for s in self.steps]

    # --- edits ---------------------------------------------------------------------------------------
    def _set(self, i: int, **changes: Any) -> None:
        self.steps[i] = replace(self.steps[i], **changes)
        self.step_changed.emit(i)

    def ensure_steps(self, n: int) -> None:
        """Make sure there are at least ``n`` steps."""
        if len(self.steps) < n:
            self.steps.extend(StepState() for _ in range(n - len(self.steps)))
            self.steps_changed.emit()

    def shift_steps(self, from_step: int, delta: int) -> None:
        """Steps >= ``from_step`` move by ``delta`` places with their whole state (reading, n-best,
        verdict, hints): delta=1 inserts an empty step at ``from_step`` (a split), delta=-1 drops step
        ``from_step - 1`` (a split undone). Emits ``steps_changed`` and ``step_changed`` for every index
        whose state changed. Raises ValueError for another delta or a bad index."""
        if delta not in (1, -1) or not 0 <= from_step + min(delta, 0) <= len(self.steps):
            raise ValueError(f"cannot shift steps from {from_step} by {delta}")
        if delta == 1:
            self.steps.insert(from_step, StepState())
        else:
            del self.steps[from_step - 1]
            if not self.steps:
                self.steps.append(StepState())
        self.steps_changed.emit()
        for i in range(max(0, from_step - 1), len(self.steps)):
            self.step_changed.emit(i)

    def restore(self, i: int, state: StepState) -> None:
        """Put back a state step ``i`` had before (e.g. its reading and verdict when undo returns its ink)."""
        self.ensure_steps(i + 1)
        self._set(
            i,
            latex=state.latex,
            source=state.source,
            candidates=state.candidates,
            verdict=state.verdict,
            status=DONE,
            error=state.error,
            read_ms=state.read_ms,
        )

    def remove_last_step(self) -> None:
        """Remove the last step if it is empty and not the only one."""
        if len(self.steps) > 1 and self.steps[-1].ink.is_empty and not self.steps[-1].latex:
            self.steps.pop()
            self.steps_changed.emit()

    def set_ink(self, i: int, ink: StepInk) -> None:
        """New ink for step ``i``: the reading is now out of date (status "waiting"). An ink-based
        reading stays displayed until the new one arrives; a typed reading is kept. Ink with the same
        signature as the step's (the same strokes) changes nothing else."""
        self.ensure_steps(i + 1)
        if ink.signature() == self.steps[i].ink.signature():  # the same strokes (e.g. moved with their step)
            self._set(i, ink=ink)
            return
        status = EMPTY if ink.is_empty and not self.steps[i].latex else WAITING
        if ink.is_empty and self.steps[i].source != "typed":
            self._set(i, ink=ink, status=EMPTY, latex=None, candidates=(), verdict=None, error=None)
            return
        self._set(i, ink=ink, status=status)

    def mark_reading(self, i: int) -> None:
        """Step ``i`` is being read (status "reading")."""
        self._set(i, status=READING, error=None)

    def apply_result(self, i: int, signature: tuple | None, result) -> bool:
        """Store a pipeline StepResult for step ``i``; refused (returns False) when ``signature`` is
        given and differs from the step's current ink signature (a stale result)."""
        if i >= len(self.steps) or (signature is not None and signature != self.signature(i)):
            return False
        cands = offered_candidates(result.recognition.candidates, result.latex)
        self._set(
            i,
            latex=result.latex,
            source="ink",
            candidates=cands,
            verdict=result.verdict,
            status=DONE,
            error=None,
            read_ms=result.recognition.ms,
        )
        return True

    def keeps_typed(self, i: int) -> bool:
        """Does step ``i`` hold LaTeX the user typed? Then a reading of ink written into it later does
        not replace it (the typed step was silently lost to the reading of two stray strokes in the
        session-12 user trial): the reading is offered as chips instead (:meth:`offer_reading`)."""
        return i < len(self.steps) and self.steps[i].source == "typed" and bool(self.steps[i].latex)

    def offer_reading(self, i: int, signature: tuple | None, result) -> bool:
        """Offer a pipeline StepResult's readings of step ``i``'s ink as one-tap chips beside the typed
        LaTeX, which stays with its verdict (status back to "done", or "checking" while its verdict is
        unknown). Refused (False) for a stale ``signature`` or a step without typed LaTeX."""
        if not self.keeps_typed(i) or (signature is not None and signature != self.signature(i)):
            return False
        st = self.steps[i]
        typed = st.latex or ""  # keeps_typed: never empty here
        ink = [c for c in result.recognition.candidates if c.latex != typed]
        cands = offered_candidates([_Typed(typed), *ink], typed)
        self._set(
            i,
            candidates=cands if len(cands) > 1 else (),
            status=DONE if st.verdict is not None else CHECKING,
            error=None,
            read_ms=result.recognition.ms,
        )
        return True

    def keep_typed_after_failure(self, i: int) -> bool:
        """Reading step ``i``'s ink failed but the step holds typed LaTeX: that stands with its verdict
        (status back to "done", or "checking" while unknown). False when the step has no typed LaTeX."""
        if not self.keeps_typed(i):
            return False
        self._set(i, status=DONE if self.steps[i].verdict is not None else CHECKING, error=None)
        return True

    def set_reading(self, i: int, latex: str | None, source: str = "typed") -> None:
        """A reading chosen or typed by the user: the verdict is unknown until ``apply_verdict``."""
        self.ensure_steps(i + 1)
        latex = latex.strip() if latex else None
        self._set(
            i,
            latex=latex or None,
            source=source,
            verdict=None,
            status=CHECKING if latex else (WAITING if not self.steps[i].ink.is_empty else EMPTY),
        )

    def apply_verdict(self, i: int, latex: str, verdict) -> bool:
        """Store the verdict of a recheck; refused when the step's reading has changed since."""
        if i >= len(self.steps) or self.steps[i].latex != latex:
            return False
        self._set(i, verdict=verdict, status=DONE, error=None)
        return True

    def mark_correction(self, i: int, kind: str, change_words: str | None = None) -> None:
        """Step ``i``'s reading was corrected: a reading fix ("reading") or an answer change ("answer");
        ``change_words`` says what the step is scored by ("wrong -> changed by typing")."""
        if i < len(self.steps):
            self._set(i, change=kind, change_words=change_words or self.steps[i].change_words)

    def set_error(self, i: int, message: str) -> None:
        """Reading or checking step ``i`` failed: ``message`` in words ("could not read: ...")."""
        self._set(i, error=message, status=DONE)

    def next_reference(self, i: int) -> int | None:
        """The 1-based reference step the user is on at step ``i``: the one step ``i`` was judged wrong
        against, else the one after the furthest reference step a step before ``i`` matched (correct, or
        cannot-check against a step the card does not check); None for a card without steps."""
        n = len(getattr(self.card, "steps", ()))
        if not n:
            return None
        v = self.steps[i].verdict if i < len(self.steps) else None
        if (
            v is not None
            and v.verdict == "wrong"
            and isinstance(v.reference_step, int)
            and 1 <= v.reference_step <= n
        ):
            return v.reference_step
        matched = [
            s.verdict.reference_step
            for s in self.steps[:i]
            if s.verdict is not None
            and s.verdict.verdict in ("correct", "cannot_check")
            and isinstance(s.verdict.reference_step, int)
        ]
        return min(n, max(matched, default=0) + 1)

    def hints_for(self, i: int) -> list[str]:
        """Step ``i``'s hints, in the order they are shown: they follow the user (issue 12): first the
        rule of the next reference step (:meth:`next_reference`), then what to say while writing it, then
        the card's own hints. The list moves on as steps are matched."""
        out = []
        k = self.next_reference(i)
        if k is not None:
            st = self.card.steps[k - 1]
            if getattr(st, "rule", ""):
                out.append(f"Next, reference step {k}: {st.rule}.")
            if getattr(st, "say", ""):
                out.append(st.say)
        return out + list(getattr(self.card, "hints", []))

    def show_hint(self, i: int) -> str | None:
        """Reveal the next hint of step ``i`` (one at a time, :meth:`hints_for`); returns it, or None when
        all are shown."""
        hints = self.hints_for(i)
        shown = self.steps[i].hints_shown
        if shown >= len(hints):
            return None
        self._set(i, hints_shown=shown + 1)
        return hints[shown]

    def reveal_reference(self, i: int) -> None:
        """Show the reference step beside step ``i`` (the reveal button)."""
        self._set(i, reference_shown=True)

    def verdict_counts(self) -> dict[str, int]:
        """How many steps have each verdict ("correct", "wrong", "unparsed", "cannot_check")."""
        counts: dict[str, int] = {}
        for s in self.steps:
            if s.verdict is not None:
                counts[s.verdict.verdict] = counts.get(s.verdict.verdict, 0) + 1
        return counts
