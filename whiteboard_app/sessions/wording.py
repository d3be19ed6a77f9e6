"""Verdicts in the user's words: the one place that turns a checker's verdict, its reason and its
diagnosis into a headline and a detail sentence. Qt-free; the step panel, the review window, the
run summary and the PNG/PDF export all use it, so they never disagree ("could not read" in the window
and "unparsed" in the export was issue 16, item 2).

Rules:

* a step whose reading is right but names a symbol the card does not declare says so
  ("unknown name ‘x’"), never "could not read" (the recogniser did read it);
* a diagnosis is said once: a message that repeats it ("sign flip", "sign flip: ...") is not appended;
* parser and library jargon ("sympy cannot parse it: Invalid LaTeX", "TypeError: ...") becomes a sentence
  about the step ("not a complete formula");
* "could not read" is kept for ink that gave no reading at all (time limit, nothing matched, no ink).

Functions: :func:`describe` (the parts), :func:`describe_verdict` (a StepVerdict-like object),
:func:`short_label` (one line, for an exported sheet or a list), :func:`grade_message` (after the
self-grade: when the card comes back, no "Well done" after "Again").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

#: Headline of each verdict kind when nothing more specific applies.
HEADLINES = {
    "correct": "correct",
    "wrong": "wrong",
    "unparsed": "could not read",
    "cannot_check": "cannot check",
}

#: Headline of a correct step that only defines a name of the user's own (``u = 1 + e^{-z}``) and states
#: no reference step: it cannot be wrong, and it is no progress on the card either (a misread step
#: ``y = 1`` read as a definition was shown as a green "correct" in the session-12 user trial).
DEFINITION = "definition"

_UNKNOWN_NAME = re.compile(
    r"unknown name\s+['\"\u2018\u201c]?([^'\"\u2019\u201d:]+?)['\"\u2019\u201d]?(?::|$)"
)
_INCOMPLETE = ("unbalanced", "an argument is missing", "a relation is missing", "empty", "nothing to check")
#: The checker's message for a bare expression that is only part of a reference expression ("n - 1"
#: for ``(n-1)\\sigma^2``): neither right nor wrong as a step (maths/checker.py, part_of_reference).
_FRAGMENT = "not a whole step"
_CLASS_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z]*(?:Error|Exception|Warning)|LaTeXParsingError)\s*:\s*")


@dataclass(frozen=True, slots=True)
class Words:
    """A verdict in words. ``kind`` is the verdict ("correct", "wrong", "unparsed", "cannot_check") or
    "unknown_name" (a reading with an undeclared symbol) or "" (no verdict yet); ``headline`` a few words
    for the chip; ``detail`` one sentence (may be "")."""

    kind: str
    headline: str
    detail: str

    def line(self) -> str:
        """ "headline: detail" (or the headline alone), for a list or an exported sheet."""
        return f"{self.headline}: {self.detail}" if self.detail else self.headline


def first_line(message: str | None, limit: int = 200) -> str:
    """The first non-empty line of ``message``, at most ``limit`` characters (cut with "…")."""
    text = (message or "").strip()
    line = text.splitlines()[0].strip() if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


class VerdictLike(Protocol):
    """What the words read of a verdict: :class:`whiteboard_app.maths.StepVerdict` and a saved board's
    :class:`~whiteboard_app.sessions.board.VerdictEntry` both have these (read-only here)."""

    @property
    def verdict(self) -> str: ...
    @property
    def latex(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def diagnosis(self) -> str | None: ...
    @property
    def shape(self) -> str | None: ...
    @property
    def reference_step(self) -> int | None: ...


def _same(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[\s\u2014:;.,-]+", " ", s).strip().lower()

    return norm(a) == norm(b)


def _dedupe(parts: list[str]) -> list[str]:
    """Parts in order, without empty ones, repeats, or a part that restates an earlier one with more
    words after a colon ("sign flip" then "sign flip: the second term..." keeps only the longer)."""
    out: list[str] = []
    for p in (p.strip() for p in parts):
        if not p:
            continue
        if any(_same(p, q) for q in out):
            continue
        prefix = [q for q in out if p.lower().startswith(q.lower().rstrip(".") + ":")]
        for q in prefix:  # "sign flip" then "sign flip: ..." -> keep the longer sentence once
            out.remove(q)
        if any(q.lower().startswith(p.lower().rstrip(".") + ":") for q in out):
            continue
        out.append(p)
    return out


def plain_reason(message: str | None) -> str:
    """A checker's or parser's reason without library jargon: the "sympy cannot parse it: Invalid
    LaTeX" family becomes "it is not a complete formula", an exception class name in front is dropped,
    "could not read:" in front is dropped. Returns "" for an empty message."""
    text = first_line(message)
    if text.lower().startswith("could not read:"):
        text = text[len("could not read:") :].strip()
    low = text.lower()
    if "sympy cannot parse" in low or "invalid latex" in low or "latexparsingerror" in low or "antlr" in low:
        return "it is not a complete formula (a missing term, bracket or brace?)"
    if low.startswith("the checker failed"):
        rest = text.split(":", 1)[1].strip() if ":" in text else ""
        if "timeout" in rest.lower() or "time" in rest.lower():
            return "the checker ran out of time on this step"
        return "the checker failed on this step"
    text = _CLASS_PREFIX.sub("", text)
    text = text.replace("sympy", "the checker")
    return text


def describe(
    kind: str | None,
    *,
    latex: str | None = None,
    message: str | None = None,
    diagnosis: str | None = None,
    shape: str | None = None,
    reference_step: int | None = None,
    n_candidates: int = 0,
) -> Words:
    """The words of a verdict ``kind`` ("correct", "wrong", "unparsed", "cannot_check"; None: no verdict)
    on a step read as ``latex`` (None or "": nothing was read) with the checker's ``message``,
    ``diagnosis`` and ``shape``; ``n_candidates`` is the length of the n-best list (the advice names
    "pick another reading" only when there is one). Never raises."""
    latex = (latex or "").strip()
    if kind is None:
        return Words("", "", "")
    if kind == "correct":
        base = (
            f"matches reference step {reference_step}"
            if reference_step
            else "follows from your previous step"
        )
        extra = re.sub(
            r"^(matches reference step \d+|follows from (?:your |the )?previous step)",
            "",
            first_line(message),
        ).strip(" ;,")
        extra = re.sub(r"^\((.*)\)$", r"\1", extra)
        extra = extra.replace(
            "proved (sympy simplifies the difference to 0)", "proved: the difference simplifies to 0"
        )
        extra = plain_reason(extra) if extra else ""
        return Words("correct", "correct", "; ".join(_dedupe([base, extra])))
    if kind == "wrong":
        reason = plain_reason(message)
        parts = [diagnosis or "", reason]
        if shape and shape not in reason:
            parts.append(f"shapes: {shape}")
        parts = _dedupe(parts)
        if not parts:
            parts = ["does not follow from the reference chain or your previous step"]
        return Words("wrong", "wrong", " \u2014 ".join(parts))
    if kind == "unparsed":
        pick = "pick another reading or type the LaTeX" if n_candidates > 1 else "type the LaTeX"
        raw = first_line(message)
        m = _UNKNOWN_NAME.search(raw)
        if latex and m:
            name = m.group(1).strip().replace("\\\\", "\\")  # a repr doubles backslashes
            return Words(
                "unknown_name",
                f"unknown name \u2018{name}\u2019",
                f"\u2018{name}\u2019 is not a symbol of this card; if the reading is wrong, {pick}",
            )
        reason = plain_reason(raw)
        if not latex or raw.lower().startswith("could not read"):  # the recogniser gave no reading
            reason = reason or "the recogniser found no reading"
            advice = (
                "pick another reading or type the LaTeX"
                if n_candidates > 1
                else "type the LaTeX, or read the ink again"
            )
            return Words("unparsed", "could not read", f"{reason}; {advice}")
        if reason.startswith("it is not a complete formula"):
            return Words("unparsed", "incomplete formula", f"the reading {reason[3:]}; {pick}")
        if reason.startswith(_INCOMPLETE):
            return Words("unparsed", "incomplete formula", f"{reason}; {pick}")
        return Words("unparsed", "cannot check this reading", f"{reason or 'it cannot be checked'}; {pick}")
    if kind == "cannot_check":
        reason = plain_reason(message)
        if reason.startswith(_FRAGMENT):  # a piece of a reference expression written as a step
            return Words("cannot_check", _FRAGMENT, reason[len(_FRAGMENT) :].lstrip(" :;"))
        detail = "the checker cannot decide this step; compare with the reference step"
        if reason and not _same(reason, detail):
            detail += f" ({reason})"
        return Words("cannot_check", "cannot check", detail)
    return Words(kind, kind.replace("_", " "), plain_reason(message))


def describe_verdict(verdict: VerdictLike | None, n_candidates: int = 0, latex: str | None = None) -> Words:
    """:func:`describe` of a StepVerdict-like object (``verdict``, ``latex``, ``message``, ``diagnosis``,
    ``shape``, ``reference_step`` attributes; None: no verdict). ``latex`` overrides the verdict's."""
    if verdict is None:
        return Words("", "", "")
    message = getattr(verdict, "message", None)
    if (
        getattr(verdict, "verdict", None) == "correct"
        and message
        and (
            getattr(verdict, "defines", None)
            or getattr(verdict, "note", None)
            or getattr(verdict, "skipped", None)
            or (not getattr(verdict, "reference_step", None) and not message.startswith("follows from"))
        )
    ):
        # the checker's own words say why: "defines ŷ", "follows: derivative of L", "write what this
        # equals: dσ/dz = …", "matches reference step 5; skipped 3-4"
        head = "correct"
        if getattr(verdict, "defines", None) and not getattr(verdict, "reference_step", None):
            # a name of the user's own that no reference step states (u = 1 + e^{-z}, or a misread
            # "y = 1"): valid, but no progress to applaud; the chip says what it is
            head = DEFINITION
        return Words("correct", head, plain_reason(first_line(message)))
    return describe(
        getattr(verdict, "verdict", None),
        latex=latex if latex is not None else getattr(verdict, "latex", None),
        message=getattr(verdict, "message", None),
        diagnosis=getattr(verdict, "diagnosis", None),
        shape=getattr(verdict, "shape", None),
        reference_step=getattr(verdict, "reference_step", None),
        n_candidates=n_candidates,
    )


def short_label(verdict: VerdictLike | None) -> str:
    """One short line for a list or an exported sheet: the headline and, for a wrong step, its
    diagnosis ("wrong: sign flip"); "not checked" without a verdict."""
    if verdict is None:
        return "not checked"
    w = describe_verdict(verdict)
    if w.kind == "wrong" and getattr(verdict, "diagnosis", None):
        return f"wrong: {verdict.diagnosis}"
    return w.headline


def summary_word(verdict: VerdictLike | None) -> str | None:
    """A step's word for the run's summary: "correct" for a correct step (the summary adds "but
    unsupported" itself), "definition" for one that only names something of the user's own, else
    :func:`short_label` ("wrong: sign flip", "unknown name ‘hat_y’", "incomplete formula", "could not
    read" only for ink that gave no reading); None without a verdict."""
    if verdict is None:
        return None
    if getattr(verdict, "verdict", None) == "correct":
        return describe_verdict(verdict).headline  # "correct", or "definition" (DEFINITION)
    return short_label(verdict)


def headline(kind: str | None) -> str:
    """The plain headline of a verdict kind ("unparsed" -> "could not read"; None -> "no verdict")."""
    if kind is None:
        return "no verdict"
    return HEADLINES.get(kind, kind.replace("_", " "))


def due_in_words(due: datetime | None, now: datetime) -> str:
    """When a due instant falls, from ``now``: "now", "in 10 min", "in 3 h", "tomorrow", "in 4 d (Dec 10)".
    Both aware datetimes (a naive one is taken as local time)."""
    if due is None:
        return ""
    if due.tzinfo is None:
        due = due.astimezone()
    if now.tzinfo is None:
        now = now.astimezone()
    delta = due - now
    if delta <= timedelta(0):
        return "now"
    minutes = -(-delta // timedelta(minutes=1))
    if minutes < 60:
        return f"in {minutes} min"
    local_due, local_now = due.astimezone(now.tzinfo), now
    days = (local_due.date() - local_now.date()).days
    if days == 0:
        return f"in {-(-minutes // 60)} h"
    if days == 1:
        return f"tomorrow ({local_due:%H:%M})"
    return f"in {days} d ({local_due:%b} {local_due.day})"


def grade_message(grade: str, due: datetime | None = None, now: datetime | None = None) -> str:
    """The line after the self-grade: what was recorded and when the card comes back. "Again" and
    "Hard" are not congratulated. ``due`` is the scheduler's next due instant (None: unknown)."""
    g = (grade or "").strip().lower()
    name = g.capitalize()
    when = due_in_words(due, now or datetime.now().astimezone()) if due is not None else ""
    back = f" Next due: {when}." if when else ""
    if g == "again":
        return f"Graded \u201c{name}\u201d: this card comes back soon.{back}"
    if g == "hard":
        return f"Graded \u201c{name}\u201d: it comes back sooner than after a good run.{back}"
    return f"Graded \u201c{name}\u201d. Well done.{back}"
