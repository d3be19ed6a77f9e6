"""Board: the saved form of one attempt, as a versioned JSON document.

A board holds the card id, the ink of every step (every stroke ever written, with the session times
of pen-down and pen-up, its points' own times and pressure, and when it was erased), the readings
(recogniser n-best), the user's corrections, the verdicts, the follow-up answers and the self-grade.
Splits and freezes are derived from those times (never stored twice).

Times named ``*_ms`` are milliseconds since the start of the attempt (the session clock); the wall
clock start is ``started_at`` (ISO 8601, UTC).

Format versions (``BOARD_FORMAT_VERSION``) and the upgrade path, in the manner of Rnote's
``fileformats/rnoteformat`` (every older version is upgraded step by step in memory on load; the file
on disk is never rewritten by a load):

- v0 (the prototype's format, no ``"format"`` / ``"version"`` keys)::

      {"card": str, "started": epoch seconds, "duration_s": float | null, "grade": str | null,
       "steps": [{"strokes": [[[x, y, t_ms, pressure], ...], ...], "latex": str | null,
                  "verdict": str | null, "t_s": [first ink s, last ink s]}]}

- v1 (current)::

      {"format": "whiteboard-board", "version": 1, "board_id", "card_id", "card_title",
       "started_at": ISO, "finished_ms": float | null, "target_s": float | null,
       "self_grade": "again"|"hard"|"good"|"easy"|null,
       "steps": [{"index", "opened_ms", "closed_ms",
                  "strokes": [{"start_ms", "end_ms", "erased_ms", "points": [[x, y, t, p], ...]}],
                  "readings": [{"t_ms", "latex", "candidates": [[latex, score]], "engine", "ms"}],
                  "corrections": [{"t_ms", "before", "after", "kind"?: "reading"|"answer"}],
                  "verdicts": [{"t_ms", "latex", "verdict", "reference_step", "diagnosis", "shape",
                                "ms", "message"}]}],
       "followups": [{"index", "question", "answer", "t_ms", "grade"}],
       "aids"?: [{"t_ms", "step", "kind": "hint"|"reveal", "index"}],
       "pauses"?: [{"start_ms", "end_ms", "why": "typing"|"dialog", "step"}],
       "run"?: {"complete", "reached_goal", "missing_milestones", "jumps", ...} | null}

  Added within v1 (optional keys, so older programs and boards still read each other): a correction's
  ``kind`` ("reading": the recogniser misread the ink; "answer": the user changed the maths; missing =
  "reading"), the board's ``aids`` (hints shown and reference steps revealed) and ``pauses`` (time spent
  typing or in a dialog: not a freeze) and ``run`` (the run judged as a derivation when it ended:
  sessions/run.py's ``RunJudgement.to_json()``).

A board that is not JSON, is truncated, has another format, a future version, or a field of the wrong
type raises :class:`BoardError` naming the file and the reason.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from whiteboard_app.ink.model import Point, StepInk, Stroke
from whiteboard_app.safeio import bounded_json_loads

BOARD_FORMAT = "whiteboard-board"
BOARD_FORMAT_VERSION = 1
FREEZE_MS = 8000.0
"""A gap longer than this without ink (ms) is a freeze."""
READ_MS = 4000.0
"""After a verdict or a hint arrives, this long (ms) is reading it, not a freeze."""

SELF_GRADES = ("again", "hard", "good", "easy")
"""The self-grades a user may give, worst first (the names of FSRS's four ratings)."""

VERDICTS = ("correct", "wrong", "unparsed", "cannot_check")


class BoardError(Exception):
    """A board (or the history next to it) that cannot be read or written.

    ``path`` is the file, ``reason`` says why in words; ``str()`` reads "path: reason".
    """

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{path if path is not None else '<board>'}: {reason}")


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class StrokeEntry:
    """A stroke as the session saw it: pen-down at ``start_ms``, pen-up at ``end_ms`` (session ms),
    erased at ``erased_ms`` (None while it is on the board). The stroke's points keep their own
    ``t`` (device ms) and pressure."""

    stroke: Stroke
    start_ms: float
    end_ms: float
    erased_ms: float | None = None

    def point_times(self) -> list[float]:
        """Session time (ms) of each point: the device times mapped onto [start_ms, end_ms]; points
        spread evenly when the device gave no time channel."""
        pts = self.stroke.points
        n = len(pts)
        if n == 1:
            return [self.end_ms]
        t0, t1 = pts[0].t, pts[-1].t
        span = self.end_ms - self.start_ms
        if t1 > t0:
            return [self.start_ms + (p.t - t0) / (t1 - t0) * span for p in pts]
        return [self.start_ms + k / (n - 1) * span for k in range(n)]


@dataclass(frozen=True, slots=True)
class Reading:
    """A recogniser's reading of a step at ``t_ms``: best LaTeX (None: could not read), the n-best
    ``candidates`` as (latex, score) pairs, the engine name and the time it took (ms)."""

    t_ms: float
    latex: str | None
    candidates: tuple[tuple[str, float], ...] = ()
    engine: str = ""
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Correction:
    """The user replaced the reading ``before`` by ``after`` (LaTeX) at ``t_ms``. ``kind`` says which:
    "reading" (a reading fix: the step's ink supports ``after``, the recogniser misread it) or "answer"
    (an answer change: the user changed the maths; see ``pipeline.correction_kind``)."""

    t_ms: float
    before: str | None
    after: str
    kind: str = "reading"


#: the kinds of a correction
CORRECTION_KINDS = ("reading", "answer")
#: the kinds of an aid (board ``aids``)
AID_KINDS = ("hint", "reveal")
#: why the user was busy without the pen (board ``pauses``): never a freeze
PAUSE_KINDS = ("typing", "dialog")


@dataclass(frozen=True, slots=True)
class Pause:
    """Time (session ms) the user spent typing a step or a correction, or with a dialog open, on
    ``step`` (0-based, None when unknown): busy without the pen, so never part of a freeze."""

    start_ms: float
    end_ms: float
    why: str
    step: int | None = None


@dataclass(frozen=True, slots=True)
class Aid:
    """Help the user took at ``t_ms`` on ``step`` (0-based): a hint (``index``: which of the step's
    hints, 1-based) or a revealed reference step (``index``: its 1-based number, 0 when unknown)."""

    t_ms: float
    step: int
    kind: str
    index: int = 0


@dataclass(frozen=True, slots=True)
class VerdictEntry:
    """A checker verdict at ``t_ms`` (the fields of maths.StepVerdict; ``ms`` is the check's time)."""

    t_ms: float
    latex: str | None
    verdict: str
    reference_step: int | None = None
    diagnosis: str | None = None
    shape: str | None = None
    ms: float = 0.0
    message: str | None = None

    def to_check_json(self) -> dict[str, Any]:
        """The dict the ``check`` CLI prints for one step (keys of StepVerdict.to_json())."""
        return {
            "latex": self.latex,
            "verdict": self.verdict,
            "reference_step": self.reference_step,
            "diagnosis": self.diagnosis,
            "shape": self.shape,
            "ms": self.ms,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step (line) of the attempt: every stroke written on it, readings, corrections, verdicts.

    ``opened_ms`` is when the step began (first ink or explicit opening); ``closed_ms`` when the user
    moved on (None while it is the current step).
    """

    index: int
    opened_ms: float
    closed_ms: float | None = None
    strokes: tuple[StrokeEntry, ...] = ()
    readings: tuple[Reading, ...] = ()
    corrections: tuple[Correction, ...] = ()
    verdicts: tuple[VerdictEntry, ...] = ()

    @property
    def ink(self) -> StepInk:
        """The ink on the board now (strokes not erased), in writing order."""
        return StepInk(tuple(e.stroke for e in self.strokes if e.erased_ms is None))

    @property
    def latex(self) -> str | None:
        """The current reading: the latest correction or recogniser reading, whichever came last."""
        events: list[tuple[float, int, str | None]] = [(r.t_ms, 0, r.latex) for r in self.readings]
        events += [(c.t_ms, 1, c.after) for c in self.corrections]
        if not events:
            return None
        return max(events, key=lambda e: (e[0], e[1]))[2]

    @property
    def verdict(self) -> VerdictEntry | None:
        """The latest verdict, or None when the step was never checked."""
        return self.verdicts[-1] if self.verdicts else None

    @property
    def misread(self) -> bool:
        """True when the user corrected a reading of this step (the recogniser misread it); an answer
        change is not a misreading."""
        return any(
            c.after != c.before and c.kind == "reading" and (c.before is not None or self.strokes)
            for c in self.corrections
        )

    @property
    def answer_changed(self) -> bool:
        """True when the user changed the maths of this step (a correction the ink does not support)."""
        return any(
            c.after != c.before and c.kind == "answer" and c.before is not None for c in self.corrections
        )

    @property
    def scored_verdict(self) -> VerdictEntry | None:
        """The verdict the step is scored by: the last verdict before its first answer change (the first
        attempt at the maths, reading fixes included), else the latest verdict. None when never checked."""
        change = next(
            (
                c
                for c in sorted(self.corrections, key=lambda c: c.t_ms)
                if c.kind == "answer" and c.after != c.before and c.before is not None
            ),
            None,
        )
        if change is None:
            return self.verdict
        # verdicts up to the change that are not of the changed-to LaTeX (a clock may give both one time)
        before = [v for v in self.verdicts if v.t_ms <= change.t_ms and v.latex != change.after]
        return before[-1] if before else self.verdict

    def change_words(self) -> str | None:
        """ "wrong \u2192 changed by typing" for a step whose answer was changed (the scored verdict, then
        how), None otherwise."""
        if not self.answer_changed:
            return None
        first = self.scored_verdict
        word = (
            {"unparsed": "could not read", "cannot_check": "cannot check"}.get(first.verdict, first.verdict)
            if first is not None
            else "unchecked"
        )
        return f"{word} \u2192 changed by typing"

    def misreadings(self) -> list[tuple[str, str]]:
        """(read, corrected) LaTeX for every recogniser reading of this step that the user corrected:
        the reading's best LaTeX and the last correction made before the next reading (a correction
        corrected again counts once). Corrections of nothing the recogniser read (a typed step, a step
        it could not read) and corrections that changed nothing are left out. In time order."""
        out: list[tuple[str, str]] = []
        readings = sorted(self.readings, key=lambda r: r.t_ms)
        for k, r in enumerate(readings):
            if not r.latex:
                continue
            until = readings[k + 1].t_ms if k + 1 < len(readings) else float("inf")
            after = [c for c in self.corrections if r.t_ms <= c.t_ms < until and c.kind == "reading"]
            if after and after[-1].after != r.latex:
                out.append((r.latex, after[-1].after))
        return out

    @property
    def last_ink_ms(self) -> float | None:
        """Pen-up time of the last stroke written on the step (erased or not), or None."""
        return max((e.end_ms for e in self.strokes), default=None)

    @property
    def end_ms(self) -> float | None:
        """When the step was done: ``closed_ms`` if the user moved on, else its last ink."""
        return self.closed_ms if self.closed_ms is not None else self.last_ink_ms


@dataclass(frozen=True, slots=True)
class FollowupAnswer:
    """The user's answer to follow-up ``index`` (its question copied for the record), at ``t_ms``,
    with the user's self-grade of that answer (one of SELF_GRADES) or None."""

    index: int
    question: str
    answer: str
    t_ms: float
    grade: str | None = None


@dataclass(frozen=True, slots=True)
class Split:
    """Split time of a step: ``at_ms`` the session time when the step was done, ``ms`` the time since
    the previous step was done (or since the start, for the first step)."""

    step: int
    at_ms: float
    ms: float


@dataclass(frozen=True, slots=True)
class Freeze:
    """A gap longer than FREEZE_MS with no ink: from ``start_ms`` to ``end_ms`` (session ms); ``step``
    is the step whose ink ended it (None for a freeze still going on)."""

    start_ms: float
    end_ms: float
    step: int | None

    @property
    def ms(self) -> float:
        return self.end_ms - self.start_ms


def compute_splits(steps: Sequence[StepRecord], now_ms: float | None = None) -> list[Split]:
    """Split times of ``steps`` (ordered by index). A step with no end yet (no ink, still open) ends
    at ``now_ms`` when given, else it gets no split."""
    out: list[Split] = []
    prev = 0.0
    for s in sorted(steps, key=lambda s: s.index):
        end = s.end_ms
        if s.closed_ms is None and now_ms is not None:
            end = max(now_ms, end if end is not None else now_ms)
        if end is None:
            continue
        out.append(Split(s.index, end, max(0.0, end - prev)))
        prev = max(prev, end)
    return out


def busy_spans(
    steps: Sequence[StepRecord],
    pauses: Sequence[Pause] = (),
    aids: Sequence[Aid] = (),
    read_ms: float = READ_MS,
) -> list[tuple[float, float, int | None]]:
    """(start, end, step) of every time the user was not idle at the board, in time order: strokes
    (erased ones too: the user was writing), corrections (the moment a typed step was entered), the
    first ``read_ms`` after each verdict and each hint or reveal (reading it), and ``pauses`` (typing,
    a dialog open)."""
    return sorted(
        [(e.start_ms, e.end_ms, s.index) for s in steps for e in s.strokes]
        + [(c.t_ms, c.t_ms, s.index) for s in steps for c in s.corrections]
        + [(v.t_ms, v.t_ms + read_ms, s.index) for s in steps for v in s.verdicts]
        + [(a.t_ms, a.t_ms + read_ms, a.step) for a in aids]
        + [(p.start_ms, p.end_ms, p.step) for p in pauses],
        key=lambda span: (span[0], span[1]),
    )


def compute_freezes(
    steps: Sequence[StepRecord],
    now_ms: float | None = None,
    threshold_ms: float = FREEZE_MS,
    *,
    pauses: Sequence[Pause] = (),
    aids: Sequence[Aid] = (),
) -> list[Freeze]:
    """Pen-idle gaps longer than ``threshold_ms`` between the busy spans of :func:`busy_spans` (ink,
    typing, a dialog, reading a verdict or a hint), from the start (0 ms) to the last of them; with
    ``now_ms`` also a freeze still going on (step None). So a keyboard-only run is not one long freeze,
    and reading a verdict, typing a correction or saving an export is never one. Returns freezes in
    time order."""
    spans = busy_spans(steps, pauses, aids)
    out: list[Freeze] = []
    last_end = 0.0
    for start, end, step in spans:
        if start - last_end > threshold_ms:
            out.append(Freeze(last_end, start, step))
        last_end = max(last_end, end)
    if now_ms is not None and now_ms - last_end > threshold_ms:
        out.append(Freeze(last_end, now_ms, None))
    return out


@dataclass(frozen=True, slots=True)
class Board:
    """One attempt at a card, as saved. Immutable: the Session builds a new one for every save.

    ``finished_ms`` is the session time when the user declared the derivation done (None: unfinished,
    offered back on the next launch); ``target_s`` the time target that applied (s).
    """

    card_id: str
    started_at: datetime
    board_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    card_title: str = ""
    steps: tuple[StepRecord, ...] = ()
    followups: tuple[FollowupAnswer, ...] = ()
    self_grade: str | None = None
    finished_ms: float | None = None
    target_s: float | None = None
    aids: tuple[Aid, ...] = ()
    pauses: tuple[Pause, ...] = ()
    run: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def finished(self) -> bool:
        return self.finished_ms is not None

    @property
    def duration_ms(self) -> float:
        """Time of the attempt: ``finished_ms`` if finished, else the latest recorded event."""
        if self.finished_ms is not None:
            return self.finished_ms
        return self.last_event_ms()

    def last_event_ms(self) -> float:
        """The latest time (session ms) anything was recorded on the board."""
        times = [0.0]
        for s in self.steps:
            times.append(s.opened_ms)
            if s.closed_ms is not None:
                times.append(s.closed_ms)
            for e in s.strokes:
                times.append(e.end_ms)
                if e.erased_ms is not None:
                    times.append(e.erased_ms)
            times += [r.t_ms for r in s.readings] + [c.t_ms for c in s.corrections]
            times += [v.t_ms for v in s.verdicts]
        times += [f.t_ms for f in self.followups]
        return max(times)

    def splits(self) -> list[Split]:
        return compute_splits(self.steps)

    def freezes(self) -> list[Freeze]:
        """Gaps > 8 s without ink (time order). A finished board also counts the gap between its last
        busy span and Done (step None, "at the end"): the live clock showed that freeze too."""
        return compute_freezes(self.steps, self.finished_ms, pauses=self.pauses, aids=self.aids)

    def step(self, index: int) -> StepRecord:
        """The step with that index; KeyError when there is none."""
        for s in self.steps:
            if s.index == index:
                return s
        raise KeyError(index)

    def misreadings(self) -> list[tuple[str, str]]:
        """(read, corrected) LaTeX pairs of every step (``StepRecord.misreadings``), in step order: what
        the calibration finds the symbols the recogniser keeps missing in."""
        return [m for s in sorted(self.steps, key=lambda s: s.index) for m in s.misreadings()]

    def latexes(self) -> list[str]:
        """The current reading of each step with one, in step order (what ``grade`` re-checks)."""
        return [s.latex for s in sorted(self.steps, key=lambda s: s.index) if s.latex]

    def stroke_count(self) -> int:
        """Strokes still on the board (not erased), all steps."""
        return sum(len(s.ink) for s in self.steps)

    # --------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The v1 JSON document (a dict of plain JSON types)."""
        doc = self.head_dict()
        doc["steps"] = [_step_to_dict(s) for s in self.steps]
        doc["followups"] = doc.pop("followups")  # key order as written since v1
        return doc

    def head_dict(self) -> dict[str, Any]:
        """The v1 document without ``steps`` (what the stroke journal writes with each change)."""
        return {
            "format": BOARD_FORMAT,
            "version": BOARD_FORMAT_VERSION,
            "board_id": self.board_id,
            "card_id": self.card_id,
            "card_title": self.card_title,
            "started_at": self.started_at.isoformat(),
            "finished_ms": self.finished_ms,
            "target_s": self.target_s,
            "self_grade": self.self_grade,
            "followups": [
                {
                    "index": f.index,
                    "question": f.question,
                    "answer": f.answer,
                    "t_ms": f.t_ms,
                    "grade": f.grade,
                }
                for f in self.followups
            ],
            "aids": [{"t_ms": a.t_ms, "step": a.step, "kind": a.kind, "index": a.index} for a in self.aids],
            "pauses": [
                {"start_ms": p.start_ms, "end_ms": p.end_ms, "why": p.why, "step": p.step}
                for p in self.pauses
            ],
            "run": self.run,
        }

    def dumps(self) -> str:
        """The board as compact JSON text (the v1 document of ``to_dict``, steps last).

        Autosave calls this at every stroke end, so each step's JSON is cached by the identity of its
        (immutable) StepRecord: only the steps that changed since the last save are encoded again."""
        head = self.head_dict()
        text = json.dumps(head, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text[:-1] + ',"steps":[' + ",".join(_step_json(s) for s in self.steps) + "]}"

    @classmethod
    def from_dict(cls, doc: Any, path: str | Path | None = None) -> Board:
        """Build a board from a parsed JSON document of any known version (upgrading older ones).

        Raises BoardError(path, reason) for another format, a future version or a malformed field.
        """
        doc = upgrade(doc, path)
        try:
            return _board_from_v1(doc)
        except BoardError:
            raise
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            OverflowError,
            RecursionError,
            OSError,
        ) as exc:
            raise BoardError(path, f"malformed board: {_describe(exc)}") from exc

    @classmethod
    def loads(cls, text: str | bytes, path: str | Path | None = None) -> Board:
        """Parse JSON text; truncated or invalid JSON raises BoardError(path, reason)."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BoardError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        if not text.strip():
            raise BoardError(path, "empty file")
        try:
            doc = bounded_json_loads(text)
        except json.JSONDecodeError as exc:
            body = text.strip()
            cut = exc.pos >= len(body) or (body[0] in "{[" and body[-1] not in "}]")
            what = "truncated JSON" if cut else "invalid JSON"
            raise BoardError(path, f"{what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        except ValueError as exc:  # a 5,000-digit integer, NaN, nesting too deep (safeio.bounded_json_loads)
            raise BoardError(path, f"refused JSON: {exc}") from exc
        return cls.from_dict(doc, path)


# ------------------------------------------------------------------------------------ upgrades


def detect_version(doc: Any, path: str | Path | None = None) -> int:
    """The format version of a parsed board document; BoardError when it is not a board at all."""
    if not isinstance(doc, dict):
        raise BoardError(path, f"not a board: the document is a JSON {type(doc).__name__}, not an object")
    if "format" not in doc and "version" not in doc:
        if "card" in doc and "steps" in doc:
            return 0
        raise BoardError(path, "not a board: no 'format' or 'version' field")
    if doc.get("format") != BOARD_FORMAT:
        raise BoardError(path, f"not a board: format is {doc.get('format')!r}, expected {BOARD_FORMAT!r}")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise BoardError(path, f"bad version field {version!r}")
    if version > BOARD_FORMAT_VERSION:
        raise BoardError(
            path,
            f"written by a newer program (board format v{version}; this program reads "
            f"up to v{BOARD_FORMAT_VERSION}); left untouched",
        )
    return version


def _upgrade_v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """v0 (prototype) -> v1: epoch-seconds start -> ISO UTC; per-step ``t_s`` -> opened/closed ms and
    per-stroke times (taken from the points' own t, which v0 already counted from the start in ms);
    the single ``latex`` -> one reading; ``verdict`` -> one verdict entry; ``grade`` -> self_grade."""
    started = datetime.fromtimestamp(float(doc["started"]), UTC)
    steps = []
    for i, s in enumerate(doc.get("steps") or []):
        t_s = s.get("t_s") or [0.0, 0.0]
        opened, closed = float(t_s[0]) * 1000.0, float(t_s[1]) * 1000.0
        strokes = []
        for pts in s.get("strokes") or []:
            times = [float(p[2]) if len(p) > 2 else opened for p in pts]
            strokes.append(
                {
                    "start_ms": min(times) if times else opened,
                    "end_ms": max(times) if times else opened,
                    "erased_ms": None,
                    "points": pts,
                }
            )
        latex = s.get("latex")
        readings = (
            [
                {
                    "t_ms": closed,
                    "latex": latex,
                    "candidates": [[latex, 0.0]] if latex else [],
                    "engine": "v0",
                    "ms": 0.0,
                }
            ]
            if latex is not None
            else []
        )
        verdict = s.get("verdict")
        verdicts = (
            [
                {
                    "t_ms": closed,
                    "latex": latex,
                    "verdict": verdict,
                    "reference_step": None,
                    "diagnosis": None,
                    "shape": None,
                    "ms": 0.0,
                    "message": None,
                }
            ]
            if verdict
            else []
        )
        steps.append(
            {
                "index": i,
                "opened_ms": opened,
                "closed_ms": closed,
                "strokes": strokes,
                "readings": readings,
                "corrections": [],
                "verdicts": verdicts,
            }
        )
    duration = doc.get("duration_s")
    grade = doc.get("grade")
    return {
        "format": BOARD_FORMAT,
        "version": 1,
        "board_id": str(
            doc.get("id") or uuid.uuid5(uuid.NAMESPACE_URL, f"v0:{doc['card']}:{doc['started']}").hex
        ),
        "card_id": str(doc["card"]),
        "card_title": "",
        "started_at": started.isoformat(),
        "finished_ms": float(duration) * 1000.0 if duration is not None else None,
        "target_s": None,
        "self_grade": grade if grade in SELF_GRADES else None,
        "steps": steps,
        "followups": [],
    }


_UPGRADES = {0: _upgrade_v0_to_v1}
"""version -> function upgrading a document of that version to the next one."""


def upgrade(doc: Any, path: str | Path | None = None) -> dict[str, Any]:
    """Upgrade a parsed board document of any known version to the current one (in memory only).

    Raises BoardError for a document that is not a board, a future version or a broken old one.
    """
    version = detect_version(doc, path)
    while version < BOARD_FORMAT_VERSION:
        try:
            doc = _UPGRADES[version](doc)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, OSError) as exc:
            raise BoardError(path, f"cannot upgrade board format v{version}: {_describe(exc)}") from exc
        version += 1
    return cast("dict[str, Any]", doc)  # detect_version checked it is a JSON object


# ------------------------------------------------------------------------------- (de)serialise


def _num(x: Any, what: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float):
        raise TypeError(f"{what} must be a number, got {x!r}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {x!r}")
    return value


def _opt_num(x: Any, what: str) -> float | None:
    return None if x is None else _num(x, what)


def _opt_str(x: Any, what: str) -> str | None:
    if x is not None and not isinstance(x, str):
        raise TypeError(f"{what} must be a string or null, got {x!r}")
    return x


def _step_to_dict(s: StepRecord) -> dict[str, Any]:
    return {
        "index": s.index,
        "opened_ms": s.opened_ms,
        "closed_ms": s.closed_ms,
        "strokes": [
            {
                "start_ms": e.start_ms,
                "end_ms": e.end_ms,
                "erased_ms": e.erased_ms,
                "points": [p.as_list() for p in e.stroke.points],
            }
            for e in s.strokes
        ],
        "readings": [
            {
                "t_ms": r.t_ms,
                "latex": r.latex,
                "candidates": [[c, sc] for c, sc in r.candidates],
                "engine": r.engine,
                "ms": r.ms,
            }
            for r in s.readings
        ],
        "corrections": [
            {"t_ms": c.t_ms, "before": c.before, "after": c.after, "kind": c.kind} for c in s.corrections
        ],
        "verdicts": [
            {
                "t_ms": v.t_ms,
                "latex": v.latex,
                "verdict": v.verdict,
                "reference_step": v.reference_step,
                "diagnosis": v.diagnosis,
                "shape": v.shape,
                "ms": v.ms,
                "message": v.message,
            }
            for v in s.verdicts
        ],
    }


_STEP_JSON: dict[int, tuple[StepRecord, str]] = {}
_STEP_JSON_MAX = 512


def _step_json(step: StepRecord) -> str:
    """JSON of one step, cached by the StepRecord's identity (kept alive by the cache entry itself)."""
    hit = _STEP_JSON.get(id(step))
    if hit is not None and hit[0] is step:
        return hit[1]
    text = json.dumps(_step_to_dict(step), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if len(_STEP_JSON) >= _STEP_JSON_MAX:
        for key in list(_STEP_JSON)[: _STEP_JSON_MAX // 2]:  # oldest half
            _STEP_JSON.pop(key, None)
    _STEP_JSON[id(step)] = (step, text)
    return text


def _points(rows: Any, where: str) -> tuple[Point, ...]:
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"{where}.points must be a non-empty list")
    pts = []
    for k, row in enumerate(rows):
        if not isinstance(row, list) or not 2 <= len(row) <= 4:
            raise ValueError(f"{where}.points[{k}] must be [x, y, t?, pressure?]")
        vals = [_num(v, f"{where}.points[{k}]") for v in row]
        pts.append(
            Point(vals[0], vals[1], vals[2] if len(vals) > 2 else 0.0, vals[3] if len(vals) > 3 else 0.5)
        )
    return tuple(pts)


def _step_from_dict(d: Mapping[str, Any], k: int) -> StepRecord:
    w = f"steps[{k}]"
    index = d["index"]
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"{w}.index must be an int >= 0, got {index!r}")
    strokes = tuple(
        StrokeEntry(
            Stroke(_points(e["points"], f"{w}.strokes[{j}]")),
            _num(e["start_ms"], f"{w}.start_ms"),
            _num(e["end_ms"], f"{w}.end_ms"),
            _opt_num(e.get("erased_ms"), f"{w}.erased_ms"),
        )
        for j, e in enumerate(d.get("strokes") or [])
    )
    readings = tuple(
        Reading(
            _num(r["t_ms"], f"{w}.readings.t_ms"),
            _opt_str(r.get("latex"), f"{w}.readings.latex"),
            tuple((str(c), _num(sc, f"{w}.readings.score")) for c, sc in r.get("candidates") or []),
            str(r.get("engine") or ""),
            _num(r.get("ms", 0.0), f"{w}.readings.ms"),
        )
        for r in d.get("readings") or []
    )
    corrections = tuple(
        Correction(
            _num(c["t_ms"], f"{w}.corrections.t_ms"),
            _opt_str(c.get("before"), f"{w}.before"),
            str(c["after"]),
            _kind(c.get("kind", "reading"), CORRECTION_KINDS, f"{w}.corrections.kind"),
        )
        for c in d.get("corrections") or []
    )
    verdicts = []
    for v in d.get("verdicts") or []:
        if v["verdict"] not in VERDICTS:
            raise ValueError(f"{w}.verdicts: unknown verdict {v['verdict']!r}")
        ref = v.get("reference_step")
        if ref is not None and (not isinstance(ref, int) or isinstance(ref, bool)):
            raise TypeError(f"{w}.verdicts.reference_step must be an int or null")
        verdicts.append(
            VerdictEntry(
                _num(v["t_ms"], f"{w}.verdicts.t_ms"),
                _opt_str(v.get("latex"), "latex"),
                v["verdict"],
                ref,
                _opt_str(v.get("diagnosis"), "diagnosis"),
                _opt_str(v.get("shape"), "shape"),
                _num(v.get("ms", 0.0), "ms"),
                _opt_str(v.get("message"), "message"),
            )
        )
    return StepRecord(
        index,
        _num(d["opened_ms"], f"{w}.opened_ms"),
        _opt_num(d.get("closed_ms"), f"{w}.closed_ms"),
        strokes,
        readings,
        corrections,
        tuple(verdicts),
    )


def _kind(x: Any, kinds: tuple[str, ...], what: str) -> str:
    if x not in kinds:
        raise ValueError(f"{what} must be one of {kinds}, got {x!r}")
    return str(x)


def _aids(rows: Any) -> tuple[Aid, ...]:
    out = []
    for a in rows or []:
        step, index = a["step"], a.get("index", 0)
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (step, index)):
            raise ValueError(f"aids: step and index must be ints >= 0, got {step!r}, {index!r}")
        out.append(Aid(_num(a["t_ms"], "aids.t_ms"), step, _kind(a["kind"], AID_KINDS, "aids.kind"), index))
    return tuple(out)


def _run(x: Any) -> dict[str, Any] | None:
    if x is not None and not isinstance(x, dict):
        raise TypeError(f"run must be an object or null, got {x!r}")
    return x


def _pauses(rows: Any) -> tuple[Pause, ...]:
    out = []
    for p in rows or []:
        step = p.get("step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool) or step < 0):
            raise ValueError(f"pauses: step must be an int >= 0 or null, got {step!r}")
        start, end = _num(p["start_ms"], "pauses.start_ms"), _num(p["end_ms"], "pauses.end_ms")
        if end < start:
            raise ValueError(f"pauses: end_ms {end} is before start_ms {start}")
        out.append(Pause(start, end, _kind(p["why"], PAUSE_KINDS, "pauses.why"), step))
    return tuple(out)


def _board_from_v1(doc: Mapping[str, Any]) -> Board:
    card_id = doc["card_id"]
    if not isinstance(card_id, str) or not card_id:
        raise ValueError("card_id must be a non-empty string")
    started = datetime.fromisoformat(doc["started_at"])
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    grade = doc.get("self_grade")
    if grade is not None and grade not in SELF_GRADES:
        raise ValueError(f"self_grade must be one of {SELF_GRADES}, got {grade!r}")
    steps = tuple(_step_from_dict(s, k) for k, s in enumerate(doc.get("steps") or []))
    followups = tuple(
        FollowupAnswer(
            int(f["index"]),
            str(f["question"]),
            str(f["answer"]),
            _num(f["t_ms"], "followups.t_ms"),
            f.get("grade"),
        )
        for f in doc.get("followups") or []
    )
    return Board(
        card_id=card_id,
        started_at=started,
        board_id=str(doc["board_id"]),
        card_title=str(doc.get("card_title") or ""),
        steps=steps,
        followups=followups,
        self_grade=grade,
        finished_ms=_opt_num(doc.get("finished_ms"), "finished_ms"),
        target_s=_opt_num(doc.get("target_s"), "target_s"),
        aids=_aids(doc.get("aids")),
        pauses=_pauses(doc.get("pauses")),
        run=_run(doc.get("run")),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
