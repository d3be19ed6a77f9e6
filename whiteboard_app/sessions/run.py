"""Judge a run as a derivation: was the result reached, and was every milestone of the chain shown?

A card marks the reference steps that make its derivation (``milestone = "objective" | "model" |
"rule" | "collapse" | "result"`` in a ``[[steps]]`` table; docs/deck-authoring.md). This module takes
the per-step verdicts of a run, exactly as the checker returns them (each with the reference step it
matched and its verdict), and decides:

- ``reached_goal``: a step was judged equivalent to the card's goal (the last milestone marked
  "result"; the last reference step on a card that marks none);
- ``missing_milestones``: the milestones no step showed;
- ``complete``: the goal was reached and no milestone is missing;
- ``jumps``: correct steps that went past milestones never shown ("correct, but unsupported"), each
  naming what is missing ("show the chain rule step (reference step 4)").

Rules (the run is judged on what the checker accepted, so the user's own notation counts wherever the
checker matches it to a reference step):

1. A milestone is shown by a step whose final verdict is "correct" and whose ``reference_step`` is the
   milestone's step. A step the card marks ``checkable = false`` is shown by a "cannot_check" verdict
   matched to it (the checker cannot judge it; the user compares it with the reference).
   A correct chain ``a = b = c`` also shows what its shorter forms match (``also``, found by
   ``pipeline.intermediate_matches``: the checker judges ``a = b`` as a step of its own).
2. Consecutive reference steps with the same milestone kind where the later one continues the earlier
   one (its LaTeX starts with ``=``) are one milestone written two ways (``\\sum_i (p_i - y_i)x_i`` and
   ``= X^T(p - y)``): showing either shows it.
3. Routine steps (no milestone) may be skipped: they are never missing and never make a jump.
4. A jump is a correct step matched to reference step k while a milestone before k was not shown by
   any step of the run (before or after it: walking back to fill in a milestone later mends the
   jump). Each missing milestone is named once, at the first step that went past it.

Pure Python (no Qt): the window (ui/practice_view.py), ``whiteboard-app check --summary`` and
``grade`` all call :func:`judge_run`, so they agree on the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from whiteboard_app.decks import Card

#: what to ask for when a milestone of each kind is missing (``{rule}`` is the step's rule text)
_ASK = {
    "model": "write the model",
    "objective": "write the objective",
    "rule": "show the {rule} step",
    "collapse": "show the {rule} step",
    "result": "reach the result",
}

#: rule texts that start with one of these words are instructions already ("set the gradient to zero",
#: "differentiate"): they are asked for as they are, not as "show the ... step"
_IMPERATIVES = frozenset(
    "add apply clear collect complete compose conclude derive differentiate distribute divide drop expand "
    "factor integrate invert multiply normalise parametrise project rearrange recognise rescale set simplify "
    "solve split stack standardise substitute sum take transpose unroll use write".split()
)


def _ask(kind: str, rule: str) -> str:
    rule = rule.strip()
    if kind in ("rule", "collapse") and rule and rule.split()[0].lower() in _IMPERATIVES:
        return rule
    return _ASK.get(kind, "show the {rule} step").format(rule=rule or kind)


@dataclass(frozen=True)
class Milestone:
    """One milestone of a card: its kind, the 1-based reference step(s) that show it (several when the
    card writes it as a chain of ``=`` lines), the rule text of its first step and a request in words."""

    kind: str
    steps: tuple[int, ...]
    rule: str = ""

    @property
    def label(self) -> str:
        """What the user should write, e.g. "show the chain rule step (reference step 4)"."""
        ask = _ask(self.kind, self.rule)
        nums = " or ".join(str(k) for k in self.steps)
        return f"{ask} (reference step {nums})"

    def to_json(self) -> dict[str, Any]:
        """``{"kind", "reference_steps", "rule", "label"}``."""
        return {
            "kind": self.kind,
            "reference_steps": list(self.steps),
            "rule": self.rule,
            "label": self.label,
        }


@dataclass(frozen=True)
class Jump:
    """A correct step (1-based ``step`` of the run, matched to ``reference_step``) that went past
    milestones the run never showed."""

    step: int
    reference_step: int
    missing: tuple[Milestone, ...]

    @property
    def note(self) -> str:
        """The step panel's words: "correct, but unsupported: show the chain rule step (reference step 4)"."""
        return "correct, but unsupported: " + "; ".join(m.label for m in self.missing)

    def to_json(self) -> dict[str, Any]:
        """``{"step", "reference_step", "missing": [labels]}``."""
        return {
            "step": self.step,
            "reference_step": self.reference_step,
            "missing": [m.label for m in self.missing],
        }


@dataclass(frozen=True)
class RunJudgement:
    """The judgement of a run (see the module docstring). ``shown`` maps each shown milestone to the
    1-based run step that first showed it; the counters are what the caller passed."""

    complete: bool
    reached_goal: bool
    milestones: tuple[Milestone, ...]
    missing_milestones: tuple[Milestone, ...]
    jumps: tuple[Jump, ...]
    shown: dict[Milestone, int] = field(default_factory=dict)
    answer_changes: int = 0
    hints: int = 0
    reveals: int = 0

    @property
    def unsupported(self) -> bool:
        """True when the result was reached with milestones missing ("correct, but unsupported")."""
        return self.reached_goal and not self.complete

    def note_for(self, step: int) -> str | None:
        """The "correct, but unsupported" note of 0-based run step ``step``, or None."""
        for j in self.jumps:
            if j.step == step + 1:
                return j.note
        return None

    def headline(self) -> str:
        """One line in words: "Derivation complete", "correct, but unsupported: ..." or what is left."""
        if self.complete:
            return "Derivation complete"
        if self.reached_goal:
            return "Correct, but unsupported: " + "; ".join(m.label for m in self.missing_milestones)
        left = [m.label for m in self.missing_milestones]
        return "Not complete yet: " + ("; ".join(left) if left else "reach the result")

    def to_json(self) -> dict[str, Any]:
        """The ``"run"`` object of ``check --json --summary``: complete, reached_goal, missing_milestones
        (milestone dicts), jumps (jump dicts), answer_changes, hints, reveals."""
        return {
            "complete": self.complete,
            "reached_goal": self.reached_goal,
            "missing_milestones": [m.to_json() for m in self.missing_milestones],
            "jumps": [j.to_json() for j in self.jumps],
            "answer_changes": self.answer_changes,
            "hints": self.hints,
            "reveals": self.reveals,
        }


def milestones(card: Card) -> tuple[Milestone, ...]:
    """The card's milestones in chain order (rule 2 of the module docstring groups ``=`` continuations
    of the same kind). A card that marks none has one: its last reference step as the result."""
    steps = list(getattr(card, "steps", ()))
    out: list[Milestone] = []
    for k, st in enumerate(steps, 1):
        kind = getattr(st, "milestone", None)
        if not kind:
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == kind
            and prev.steps[-1] == k - 1
            and str(getattr(st, "latex", "")).lstrip().startswith("=")
        ):
            out[-1] = Milestone(kind, prev.steps + (k,), prev.rule)
        else:
            out.append(Milestone(kind, (k,), str(getattr(st, "rule", "") or "")))
    if not out and steps:
        out.append(Milestone("result", (len(steps),), str(getattr(steps[-1], "rule", "") or "")))
    return tuple(out)


def goal(card: Card) -> Milestone | None:
    """The card's goal: its last "result" milestone (None for a card without steps)."""
    ms = milestones(card)
    results = [m for m in ms if m.kind == "result"]
    return results[-1] if results else (ms[-1] if ms else None)


def _field(v: Any, name: str) -> Any:
    if v is None:
        return None
    if isinstance(v, Mapping):
        return v.get(name)
    return getattr(v, name, None)


def _shows(card: Card, v: Any) -> int | None:
    """The 1-based reference step a verdict shows (rule 1), or None."""
    kind, k = _field(v, "verdict"), _field(v, "reference_step")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= len(getattr(card, "steps", ())):
        return None
    if kind == "correct":
        return k
    if kind == "cannot_check" and not getattr(card.steps[k - 1], "checkable", True):
        return k
    return None


def judge_run(
    card: Card,
    verdicts: Sequence[Any],
    *,
    answer_changes: int = 0,
    hints: int = 0,
    reveals: int = 0,
    also: Sequence[Sequence[int]] | None = None,
) -> RunJudgement:
    """Judge a run on ``card`` from its steps' final verdicts.

    ``verdicts[i]`` is run step i's verdict as the checker returns it: a ``StepVerdict``, its
    ``to_json()`` dict (``check --json``), or None for a step without one; only ``verdict`` and
    ``reference_step`` are read (any other field is ignored). ``answer_changes``, ``hints`` and
    ``reveals`` are counted by the caller and passed through. Never raises for odd verdicts (a missing
    or out-of-range ``reference_step`` shows nothing). ``also[i]``: further reference steps run step i
    shows on its way when it is a correct chain ``a = b = c`` (``pipeline.intermediate_matches``).
    """
    ms = milestones(card)
    target = goal(card)
    by_step = {k: m for m in ms for k in m.steps}
    matched = [_shows(card, v) for v in verdicts]
    n = len(getattr(card, "steps", ()))
    extra = [
        [
            k
            for k in (also[i] if also is not None and i < len(also) else ()) or ()
            if isinstance(k, int)
            and not isinstance(k, bool)
            and 1 <= k <= n
            and _field(verdicts[i], "verdict") == "correct"
        ]
        for i in range(len(verdicts))
    ]
    shown: dict[Milestone, int] = {}
    for i, k in enumerate(matched):
        for kk in ([k] if k is not None else []) + extra[i]:
            m = by_step.get(kk)
            if m is not None and m not in shown:
                shown[m] = i + 1
    missing = tuple(m for m in ms if m not in shown)
    jumps: list[Jump] = []
    named: set[Milestone] = set()
    for i, k in enumerate(matched):
        if k is None or _field(verdicts[i], "verdict") != "correct":
            continue
        past = tuple(m for m in missing if m.steps[-1] < k and m not in named)
        if past:
            named.update(past)
            jumps.append(Jump(i + 1, k, past))
    reached = target is not None and target in shown
    return RunJudgement(
        complete=reached and not missing,
        reached_goal=reached,
        milestones=ms,
        missing_milestones=missing,
        jumps=tuple(jumps),
        shown=shown,
        answer_changes=int(answer_changes),
        hints=int(hints),
        reveals=int(reveals),
    )


def board_counts(board: object) -> dict[str, int]:
    """``{"answer_changes", "hints", "reveals"}`` of a saved board for :func:`judge_run`: corrections
    recorded as answer changes (``kind == "answer"``) and the board's hints and reveals (``aids``);
    0 for boards written before these were recorded."""
    changes = sum(
        1
        for st in getattr(board, "steps", ())
        for c in getattr(st, "corrections", ())
        if getattr(c, "kind", "reading") == "answer"
    )
    aids = list(getattr(board, "aids", ()) or ())
    return {
        "answer_changes": changes,
        "hints": sum(1 for a in aids if getattr(a, "kind", None) == "hint"),
        "reveals": sum(1 for a in aids if getattr(a, "kind", None) == "reveal"),
    }
