"""The run logic of a practice, Qt-free: when a run is complete, what ending it records, what the
summary says, which grade it suggests, and whether leaving it records an ungraded attempt.

The practice window (ui/practice_view.py) keeps the layout and the per-step display state; it hands
this controller the steps' current verdicts and the help taken (hints per step, revealed steps) and
acts on its answers. Everything here is tested without widgets (tests/test_sessions_practice.py).

The rules themselves live in sessions/run.py (the derivation: milestones, jumps) and
sessions/scheduler.py (the rating); this module puts them together for one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from whiteboard_app.sessions.run import RunJudgement, judge_run
from whiteboard_app.sessions.scheduler import suggested_rating
from whiteboard_app.sessions.session import Session

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
    def judge(self, verdicts: Sequence[Any], hints: Sequence[int] = (), reveals: Sequence[int] = ()) -> RunJudgement:
        """The run as a derivation now (sessions/run.py), with the session's answer changes."""
        return judge_run(self.card, list(verdicts),
                         answer_changes=sum(1 for r in self.session.steps if r.answer_changed),
                         hints=sum(hints), reveals=len(list(reveals)))

    def after_verdict(self, verdicts: Sequence[Any], hints: Sequence[int] = (),
                      reveals: Sequence[int] = ()) -> tuple[str, RunJudgement]:
        """A step got a verdict: ("complete", run) when the run has just become complete (end it with
        :meth:`end`, ``complete=True``), ("unsupported", run) when the result is reached with
        milestones missing (the run goes on), ("", run) otherwise or once the run is over."""
        run = self.judge(verdicts, hints, reveals)
        if self.session.finished:
            return "", run
        if run.complete:
            return "complete", run
        return ("unsupported" if run.reached_goal else ""), run

    # --- ending --------------------------------------------------------------------------------------
    def end(self, verdicts: Sequence[Any], hints: Sequence[int] = (), reveals: Sequence[int] = (), *,
            complete: bool = False) -> tuple[RunJudgement, Opening | None]:
        """Stop the clock (if still running), keep the run's judgement on the board and return it with
        the interview's opening question: "walk me through how you got there" when a correct step
        jumped past milestones that were never shown, else None. ``complete``: the run ended by itself."""
        if not self.session.finished:
            self.session.finish()
        self.completed = self.completed or complete
        run = self.judge(verdicts, hints, reveals)
        self.session.set_run(run.to_json())
        opening = None
        if run.jumps:
            steps = self.card.steps
            said = [steps[m.steps[0] - 1].say or steps[m.steps[0] - 1].rule for m in run.milestones]
            opening = Opening(WALK_THROUGH_QUESTION, " ".join(f"({k}) {t}" for k, t in enumerate(said, 1)),
                              tuple(m.label for m in run.missing_milestones))
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

    def summary_lines(self, run: RunJudgement, hints: Sequence[int] = (), reveals: Sequence[int] = ()) -> list[str]:
        """The run's lines under the timing summary: complete or what is missing, answer changes, hints
        (per step), references revealed (which steps), the suggested grade."""
        lines = [run.headline()]
        if run.answer_changes:
            lines.append(f"Answers changed by typing: {run.answer_changes} (scored by the first verdict)")
        per_step = [f"step {i + 1}: {n}" for i, n in enumerate(hints) if n]
        lines.append(f"Hints used: {run.hints} ({', '.join(per_step)})" if run.hints else "No hints")
        steps = [str(i + 1) for i in reveals]
        lines.append(f"References revealed: {run.reveals} (step {', '.join(steps)})" if run.reveals
                     else "No references revealed")
        lines.append(f"Suggested grade: {self.suggested_grade(run).capitalize()} (first verdicts, help, the "
                     "derivation and the time allow no better)")
        return lines
