"""The run logic of a practice, Qt-free: when a run is complete, what ending it records, what the
summary says, which grade it suggests, and whether leaving it records an ungraded attempt.

The practice window (ui/practice_view.py) keeps the layout and the per-step display state; it hands
this controller the steps' current verdicts and the help taken (hints per step, revealed steps) and
acts on its answers. Everything here is tested without widgets (tests/test_sessions_practice.py).

The rules themselves live in sessions/run.py (the derivation: milestones, jumps) and
sessions/scheduler.py (the rating); this module puts them together for one run.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from whiteboard_app.sessions.run import RunJudgement, judge_run
from whiteboard_app.sessions.scheduler import suggested_rating
from whiteboard_app.sessions.session import Session

#: What identifies a step's ink for the caches below (the caller's choice: stroke ids and sizes, say).
InkSignature = tuple[Hashable, ...]

#: the interviewer's first question after a run that reached its result past missing milestones
WALK_THROUGH_QUESTION = "Walk me through how you got there."


@dataclass(frozen=True)
class Opening:
    """A question the interview starts with: its text, a model answer and key points."""

    question: str
    answer: str
    key_points: tuple[str, ...] = ()


class PracticeRun:
    """One run on ``card`` recorded in ``session`` (see the module docstring).

    ``hints`` is the number of hints shown per step (index = step), ``reveals`` the steps whose
    reference was revealed; ``verdicts`` the steps' current verdicts (StepVerdict or None), as the
    window holds them.
    """

    def __init__(self, card: Any, session: Session) -> None:
        self.card = card
        self.session = session
        self.completed = False  # the run ended by itself, complete
        self._ungraded_sent = False

    # --- judging -------------------------------------------------------------------------------------
    def judge(
        self,
        verdicts: Sequence[Any],
        hints: Sequence[int] = (),
        reveals: Sequence[int] = (),
        also: Sequence[Sequence[int]] | None = None,
    ) -> RunJudgement:
        """The run as a derivation now (sessions/run.py), with the session's answer changes; ``also``:
        reference steps each step shows inside a chain (``pipeline.intermediate_matches``)."""
        return judge_run(
            self.card,
            list(verdicts),
            answer_changes=sum(1 for r in self.session.steps if r.answer_changed),
            hints=sum(hints),
            reveals=len(list(reveals)),
            also=also,
        )

    def after_verdict(
        self,
        verdicts: Sequence[Any],
        hints: Sequence[int] = (),
        reveals: Sequence[int] = (),
        also: Sequence[Sequence[int]] | None = None,
    ) -> tuple[str, RunJudgement]:
        """A step got a verdict: ("complete", run) when the run has just become complete (end it with
        :meth:`end`, ``complete=True``), ("unsupported", run) when the result is reached with
        milestones missing (the run goes on), ("", run) otherwise or once the run is over."""
        run = self.judge(verdicts, hints, reveals, also)
        if self.session.finished:
            return "", run
        if run.complete:
            return "complete", run
        return ("unsupported" if run.reached_goal else ""), run

    # --- ending --------------------------------------------------------------------------------------
    def end(
        self,
        verdicts: Sequence[Any],
        hints: Sequence[int] = (),
        reveals: Sequence[int] = (),
        also: Sequence[Sequence[int]] | None = None,
        *,
        complete: bool = False,
        at_ms: float | None = None,
    ) -> tuple[RunJudgement, Opening | None]:
        """Stop the clock (if still running; at ``at_ms``, session ms, when Done was pressed before a
        confirmation: ``Session.finish``), keep the run's judgement on the board and return it with
        the interview's opening question: "walk me through how you got there" when a correct step
        jumped past milestones that were never shown, else None. ``complete``: the run ended by itself."""
        if not self.session.finished:
            self.session.finish(at_ms)
        self.completed = self.completed or complete
        run = self.judge(verdicts, hints, reveals, also)
        self.session.set_run(run.to_json())
        opening = None
        if run.jumps:
            steps = self.card.steps
            said = [steps[m.steps[0] - 1].say or steps[m.steps[0] - 1].rule for m in run.milestones]
            opening = Opening(
                WALK_THROUGH_QUESTION,
                " ".join(f"({k}) {t}" for k, t in enumerate(said, 1)),
                tuple(m.label for m in run.missing_milestones),
            )
        return run, opening

    def suggested_grade(self, run: RunJudgement | None = None) -> str:
        """The self-grade the run allows ("again" ... "easy"; scheduler.suggested_rating), with ``run``
        as its judgement (default: the one kept on the board)."""
        board = self.session.board()
        if run is not None:
            board = replace(board, run=run.to_json())
        return suggested_rating(board).name.lower()

    def leave(self) -> bool:
        """The user leaves the run (back to the deck, the window closes): True once when it is finished
        and ungraded, so the caller records it as an ungraded attempt with its suggested rating."""
        if self.session.finished and self.session.board().self_grade is None and not self._ungraded_sent:
            self._ungraded_sent = True
            return True
        return False

    # --- words ---------------------------------------------------------------------------------------
    def step_words(self, words: Sequence[str | None], run: RunJudgement) -> list[str | None]:
        """Each step's verdict word for the summary: "correct, but unsupported" on a step that jumped,
        "wrong -> changed by typing, now correct" on a step whose answer was changed."""
        out = list(words)
        for i in range(len(out)):
            if run.note_for(i) and out[i] == "correct":
                out[i] = "correct, but unsupported"
        for rec in self.session.steps:
            if rec.index < len(out) and rec.answer_changed:
                out[rec.index] = f"{rec.change_words()}, now {out[rec.index] or 'not checked'}"
        return out

    def summary_lines(
        self, run: RunJudgement, hints: Sequence[int] = (), reveals: Sequence[int] = ()
    ) -> list[str]:
        """The run's lines under the timing summary: complete or what is missing, answer changes, hints
        (per step), references revealed (which steps), the suggested grade."""
        lines = [run.headline()]
        if run.answer_changes:
            lines.append(f"Answers changed by typing: {run.answer_changes} (scored by the first verdict)")
        per_step = [f"step {i + 1}: {n}" for i, n in enumerate(hints) if n]
        lines.append(f"Hints used: {run.hints} ({', '.join(per_step)})" if run.hints else "No hints")
        steps = [str(i + 1) for i in reveals]
        lines.append(
            f"References revealed: {run.reveals} (step {', '.join(steps)})"
            if run.reveals
            else "No references revealed"
        )
        lines.append(
            f"Suggested grade: {self.suggested_grade(run).capitalize()} (first verdicts, help, the "
            "derivation and the time allow no better)"
        )
        return lines


#: how many finished step states and recogniser results a run keeps for undo/redo (oldest dropped)
RESULTS_KEPT = 512
READINGS_KEPT = 256


class StepResults:
    """What a run remembers about ink it has read, Qt-free (issue 12, item 9):

    - the finished state of a step (reading, n-best, verdict) under its ink signature and the readings
      of the steps before it, so that undo/redo bringing the same ink back shows it again without
      reading it again (:meth:`remember`, :meth:`known`);
    - the recogniser's result for an ink signature (its per-symbol alternatives: the evidence
      ``pipeline.correction_kind`` fits a correction to) (:meth:`remember_reading`, :meth:`reading`).

    Both are bounded (RESULTS_KEPT, READINGS_KEPT; the oldest go first). States are opaque here.
    """

    def __init__(self) -> None:
        self._states: dict[Hashable, Any] = {}
        self._readings: dict[Hashable, Any] = {}

    def remember(self, signature: InkSignature, previous: Sequence[str], state: Any) -> None:
        """Keep ``state`` for ink ``signature`` after the readings ``previous``."""
        self._states[(signature, tuple(previous))] = state
        while len(self._states) > RESULTS_KEPT:
            self._states.pop(next(iter(self._states)))

    def known(self, signature: InkSignature, previous: Sequence[str]) -> Any | None:
        """The state kept for this ink after these previous readings, or None."""
        return self._states.get((signature, tuple(previous)))

    def remember_reading(self, signature: InkSignature, recognition: Any) -> None:
        """Keep the recogniser's result for ink ``signature``."""
        self._readings[signature] = recognition
        while len(self._readings) > READINGS_KEPT:
            self._readings.pop(next(iter(self._readings)))

    def reading(self, signature: InkSignature) -> Any | None:
        """The recogniser's result kept for ink ``signature``, or None."""
        return self._readings.get(signature)


def record_state(session: Session, k: int, state: Any) -> None:
    """Bring step ``k``'s record in ``session`` in line with the window's ``state`` of it (a step state:
    ``latex``, ``status``, ``source``, ``candidates``, ``read_ms``, ``verdict``, ``change``): its reading
    (an ink reading, or a correction of the kind it was) and its verdict, recorded only when the record
    says otherwise. Nothing once the run is over."""
    from whiteboard_app.recognition.base import Candidate, RecognitionResult

    if session.finished:
        return
    rec = next((r for r in session.steps if r.index == k), None)
    rec_latex = rec.latex if rec is not None else None
    if state.latex is None or state.status != "done":
        if state.latex is None and rec_latex is not None:
            session.record_reading(k, None)
        return
    if state.latex != rec_latex:
        if state.source == "ink":
            session.record_reading(
                k,
                RecognitionResult(
                    tuple(Candidate(c, sc) for c, sc in state.candidates) or (Candidate(state.latex, 0.0),),
                    ms=state.read_ms,
                ),
            )
        else:
            session.record_correction(k, state.latex, getattr(state, "change", None) or "reading")
    v, rv = state.verdict, (rec.verdict if rec is not None else None)
    if v is not None and (
        rv is None
        or (rv.latex, rv.verdict, rv.reference_step, rv.diagnosis)
        != (v.latex, v.verdict, v.reference_step, v.diagnosis)
    ):
        session.record_verdict(k, v)


def sync_after_shift(session: Session, inks: Sequence[Any], states: Sequence[Any]) -> None:
    """After steps moved (a split or a merge, or their undo), bring the session's step records in line
    with the page's step ``inks`` and the window's step ``states``: each step's record is synced with its
    ink (``Session.set_ink``: strokes that left are erased there, strokes that arrived are added or come
    back, so the board and its replay show where each stroke is now), records past the page are
    emptied, and every step's record ends with its current reading and verdict (:func:`record_state`)."""
    from whiteboard_app.ink import StepInk

    if session.finished:
        return
    for k, ink in enumerate(inks):
        session.set_ink(ink, k)
    for rec in session.steps:
        if rec.index >= len(inks) and not rec.ink.is_empty:
            session.set_ink(StepInk(), rec.index)
    for k, state in enumerate(states):
        record_state(session, k, state)
    for rec in session.steps:
        if rec.index >= len(states) and rec.latex is not None:
            session.record_reading(rec.index, None)  # a step that is gone reads as nothing
