"""The calibration flow's model (no Qt): which symbols the writer draws, how often, where the samples go.

CROHME, the real ink the bundled recogniser is trained on, has none of ML's alphabet (\\partial, \\nabla,
\\epsilon, \\eta, \\tau, hats, norm bars, capital K D Q W Z U J ...); the recogniser's added classes for them
were learnt from made ink (docs/recogniser.md), so a writer's own hand reads better after a short
calibration: ``SAMPLES_PER_SYMBOL`` (3) samples of each symbol the writer chooses (``DEFAULT_CHOICE``: the 15
most used in the bundled cards' steps), plus any symbol the recogniser keeps missing (found in the user's
corrections). The samples are kept in the user's data folder and handed to the engine's adaptation hook
(``set_adaptation(samples)``, or ``adapt`` for an engine without it); the bundled engine reads them as
few-shot prototypes (recognition/adaptation.py).

* :func:`plan` -> the list of :class:`CalibrationItem` still to draw.
* :class:`CalibrationStore` -> samples as JSON lines (the ink/io.py format: one record per sample, its
  ``latex`` the symbol's label) in ``<data dir>/calibration/samples.jsonl``; ``root`` is settable (tests).
* :func:`apply` -> gives the stored samples to a recogniser that has an adaptation hook.
* :func:`preview` -> what the recogniser reads a new sample as, adapted to the samples stored before it
  (the calibration screen's "now reads").
"""

from __future__ import annotations

import difflib
import json
import math
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from whiteboard_app.ink import InkFormatError, StepInk
from whiteboard_app.ink.io import InkRecord, record_from_obj, record_to_obj
from whiteboard_app.safeio import atomic_write_text, bounded_json_loads, read_regular

__all__ = [
    "CALIBRATION_SYMBOLS",
    "DEFAULT_CHOICE",
    "SAMPLES_PER_SYMBOL",
    "CalibrationItem",
    "CalibrationStore",
    "Preview",
    "apply",
    "missed_symbols",
    "plan",
    "preview",
    "usable",
]

#: Symbols the calibration screen offers: (label, what to draw, in words). Labels are the LaTeX the engine
#: outputs (class names of the classifier map to them: ``K`` -> ``K_cap``, ``\\partial`` -> ``partial``).
#: Not offered: \\bar and \\top, whose written shapes are a minus and a T (only their place tells them
#: apart, docs/recogniser.md): samples of them would make the writer's every minus or T read as the accent.
CALIBRATION_SYMBOLS: tuple[tuple[str, str], ...] = (
    (r"\hat", "a hat accent ^ (as over a letter; draw only the hat)"),
    ("K", "a capital K"),
    ("D", "a capital D"),
    (r"\partial", "the partial-derivative sign \u2202"),
    (r"\|", "a double bar \u2016 (as in a norm \u2016x\u2016)"),
    (r"\nabla", "the gradient sign \u2207"),
    ("J", "a capital J"),
    ("W", "a capital W"),
    (r"\epsilon", "the Greek letter epsilon \u03b5"),
    ("Z", "a capital Z"),
    ("Q", "a capital Q"),
    (r"\ell", "the script letter ell \u2113"),
    ("*", "an asterisk *"),
    (r"\tau", "the Greek letter tau \u03c4"),
    ("U", "a capital U"),
    (r"\delta", "the Greek letter delta \u03b4"),
    (r"\eta", "the Greek letter eta \u03b7"),
    (r"\rho", "the Greek letter rho \u03c1"),
    (r"\kappa", "the Greek letter kappa \u03ba"),
    (r"\omega", "the Greek letter omega \u03c9"),
    (r"\tilde", "a tilde accent ~ (as over a letter; draw only the tilde)"),
    (r"\mathbb{R}", "the blackboard-bold R \u211d"),
    ("E", "a capital E (as in expectation)"),
)
#: The symbols chosen when the screen opens: the 15 offered that the bundled cards' steps use most (issue 14,
#: docs/benchmarks.md "derivation_steps": \\hat 49 steps, K 46, D 27, \\partial 27, \\| 20, \\nabla 19, J 16,
#: W 13, \\epsilon 12, Z 9, Q 8, \\ell 8, * 6, \\tau 6, U 5); the list is in that order.
DEFAULT_CHOICE: tuple[str, ...] = tuple(label for label, _ in CALIBRATION_SYMBOLS[:15])
#: Samples to draw per symbol.
SAMPLES_PER_SYMBOL = 3


@dataclass(frozen=True)
class CalibrationItem:
    """One symbol to calibrate: its label, a description, samples stored, samples still needed, and why
    it is on the list ("not in the training data" or "missed N times")."""

    label: str
    description: str
    have: int
    needed: int
    reason: str


def _tokens(latex: str) -> tuple[str, ...]:
    from whiteboard_app.recognition.tokens import normalize_tokens

    return normalize_tokens(latex)


def missed_symbols(corrections: Iterable[tuple[str, str]], min_misses: int = 3) -> list[tuple[str, int]]:
    """Symbols the recogniser keeps missing, from the user's corrections (read, corrected) LaTeX pairs.

    A symbol counts as missed once per correction in which it is a token of the corrected LaTeX that was
    replaced or left out in the reading (``difflib.SequenceMatcher`` over normalised tokens). Structural
    tokens (``^ _ { } ( )`` and ``\\frac``) are not symbols to draw. Returns (label, misses) with at least
    ``min_misses`` misses, most missed first.
    """
    structural = {"^", "_", "{", "}", "(", ")", r"\frac", r"\sqrt"}
    misses: Counter[str] = Counter()
    for read, corrected in corrections:
        a, b = _tokens(read or ""), _tokens(corrected or "")
        missed = set()
        for op, _i1, _i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if op in ("replace", "insert"):
                missed.update(t for t in b[j1:j2] if t not in structural)
        misses.update(missed)
    return sorted(((s, n) for s, n in misses.items() if n >= min_misses), key=lambda sn: (-sn[1], sn[0]))


def plan(
    store: CalibrationStore,
    corrections: Iterable[tuple[str, str]] = (),
    *,
    per_symbol: int = SAMPLES_PER_SYMBOL,
    min_misses: int = 3,
    symbols: Sequence[tuple[str, str]] = CALIBRATION_SYMBOLS,
) -> list[CalibrationItem]:
    """The calibration list: every symbol of ``symbols`` and every symbol missed at least ``min_misses``
    times in ``corrections``, each with how many samples are stored and how many are still needed."""
    counts = store.counts()
    items = [
        CalibrationItem(
            label,
            desc,
            counts.get(label, 0),
            max(0, per_symbol - counts.get(label, 0)),
            "not in the training data",
        )
        for label, desc in symbols
    ]
    known = {label for label, _ in symbols}
    for label, n in missed_symbols(corrections, min_misses):
        if label in known:
            continue
        have = counts.get(label, 0)
        items.append(
            CalibrationItem(
                label, f"the symbol {label}", have, max(0, per_symbol - have), f"missed {n} times"
            )
        )
    return items


MAX_SAMPLES_BYTES = 64 * 1024 * 1024


class CalibrationStore:
    """Calibration samples of one user, appended to ``<root>/samples.jsonl``.

    ``root`` defaults to ``<user data dir>/calibration`` (whiteboard_app.paths.user_data_dir: platformdirs'
    user_data_dir("whiteboard-app") unless moved). A malformed line (e.g. a write cut off by a crash)
    is skipped and listed in ``problems`` (InkFormatError naming file and line); the file itself is
    never rewritten except by :meth:`remove`.
    """

    FILE_NAME = "samples.jsonl"

    def __init__(self, root: str | os.PathLike | None = None):
        if root is None:
            from whiteboard_app.paths import user_data_dir

            root = user_data_dir() / "calibration"
        self.root = Path(root)
        self.path = self.root / self.FILE_NAME
        self.problems: list[InkFormatError] = []

    def add(self, label: str, ink: StepInk) -> InkRecord:
        """Store one sample of ``label`` (appended and fsynced). Raises ValueError for empty ink or label."""
        if not label or not label.strip():
            raise ValueError("a calibration sample needs a label")
        if ink.is_empty:
            raise ValueError(f"the sample of {label!r} has no ink")
        rec = InkRecord(
            f"cal-{uuid.uuid4().hex[:12]}",
            ink,
            label,
            [(label, tuple(range(len(ink.strokes))))],
            {"kind": "calibration", "saved_ms": int(time.time() * 1000)},
        )
        self.root.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record_to_obj(rec), separators=(",", ":"), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return rec

    def records(self) -> list[InkRecord]:
        """Every readable sample in saving order; unreadable lines go to ``problems``."""
        self.problems = []
        if not self.path.exists():
            return []
        out = []
        try:
            text = read_regular(self.path, MAX_SAMPLES_BYTES).decode("utf-8", errors="replace")
        except OSError as exc:
            err = InkFormatError(f"{self.path}: cannot read ({exc.strerror or exc})")
            err.path, err.where, err.reason = str(self.path), "open", str(exc.strerror or exc)
            self.problems.append(err)
            return []
        for lineno, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                rec = record_from_obj(bounded_json_loads(line), f"{self.FILE_NAME}:{lineno}")
                if not rec.latex:
                    raise ValueError('a calibration sample needs its label in "latex"')
            except (json.JSONDecodeError, ValueError) as exc:
                reason = f"not valid JSON ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else str(exc)
                err = InkFormatError(f"{self.path}: line {lineno}: {reason}")
                err.path, err.where, err.reason = str(self.path), f"line {lineno}", reason
                self.problems.append(err)
                continue
            out.append(rec)
        return out

    def samples(self, label: str | None = None) -> list[tuple[str, StepInk]]:
        """(label, ink) of every stored sample, or of one label's."""
        return [(r.latex, r.ink) for r in self.records() if label is None or r.latex == label]

    def counts(self) -> dict[str, int]:
        """Samples stored per label."""
        return dict(Counter(r.latex for r in self.records()))

    def remove_record(self, record_id: str) -> bool:
        """Delete the one sample with this id (the screen's redo); True when it was there."""
        return self._rewrite(lambda obj: obj.get("id") == record_id) > 0

    def remove(self, label: str) -> int:
        """Delete every sample of ``label`` (rewrites the file atomically; unreadable lines are kept).
        Returns how many were removed."""
        return self._rewrite(lambda obj: obj.get("latex") == label)

    def _rewrite(self, drop) -> int:
        if not self.path.exists():
            return 0
        kept, removed = [], 0
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                    if isinstance(obj, dict) and drop(obj):
                        removed += 1
                        continue
                except json.JSONDecodeError:
                    pass
                kept.append(line if line.endswith("\n") else line + "\n")
        atomic_write_text(self.path, "".join(kept))  # unique temp, fsync, rename, folder fsync
        return removed


def _hook(recognizer):
    """The recogniser's adaptation hook: ``set_adaptation`` (replaces) if it has one, else ``adapt``."""
    for name in ("set_adaptation", "adapt"):
        try:
            hook = getattr(recognizer, name, None)
        except Exception:  # noqa: BLE001 - a worker wrapper that cannot start has no hooks to offer
            hook = None
        if callable(hook):
            return hook
    return None


def usable(samples: Iterable[tuple[str, StepInk]]) -> list[tuple[str, tuple]]:
    """(label, strokes) of the samples an engine can take: a label and at least one point, every
    coordinate finite (a damaged or hand-edited samples file must not stop the recogniser)."""
    out = []
    for label, ink in samples:
        strokes = tuple(s for s in getattr(ink, "strokes", ()) if s.points)
        if not isinstance(label, str) or not label.strip() or not strokes:
            continue
        if all(math.isfinite(p.x) and math.isfinite(p.y) for s in strokes for p in s.points):
            out.append((label, strokes))
    return out


def apply(recognizer, store: CalibrationStore) -> int:
    """Give every stored sample to the recogniser's adaptation hook: ``set_adaptation(samples)`` when it
    has one (the adaptation becomes exactly these samples; calling it again changes nothing), else
    ``adapt(samples)``; samples is a list of (label, strokes: tuple[Stroke, ...]). Returns the number of
    samples given; 0 when the engine has no hook or nothing usable is stored (the engine is unchanged).
    With a registry recogniser (a worker process) this waits until its model is loaded: call it from a
    worker thread, not the UI thread. Raises RecognitionError (RecognizerUnavailable) when the engine
    cannot run."""
    hook = _hook(recognizer)
    if hook is None:
        return 0
    samples = usable(store.samples())
    if not samples:
        return 0
    hook(samples)
    return len(samples)


@dataclass(frozen=True)
class Preview:
    """What the recogniser reads a calibration sample as: ``reading`` (its best LaTeX, "" when nothing
    was read), whether that is the sample's ``label``, ``adapted`` (samples the recogniser was adapted
    with first), ``ms`` (wall time, adaptation included) and ``error`` (a message, or None)."""

    label: str
    reading: str
    correct: bool
    adapted: int
    ms: float
    error: str | None = None


def _same_symbol(reading: str, label: str) -> bool:
    from whiteboard_app.recognition.accents import LONE_MARKS

    a, b = _tokens(reading), _tokens(label)
    if len(b) == 1 and a == (LONE_MARKS.get(b[0]),):  # a caret alone reads as its shape, \wedge
        return True
    return bool(a) and a == b


def preview(recognizer, label: str, ink: StepInk, before: Iterable[tuple[str, StepInk]]) -> Preview:
    """Read *ink* (a new sample of *label*) with the recogniser adapted to the samples *before* it (the
    screen's "now reads ..."): with ``set_adaptation`` the engine's adaptation becomes exactly *before*
    (call :func:`apply` when done so that it holds every sample); an engine with only ``adapt`` or none is
    read as it is. Never raises: a failing engine gives a Preview with ``error`` set. Blocks (a worker
    thread's job)."""
    from whiteboard_app.recognition.base import RecognitionError

    t0 = time.perf_counter()
    adapted = 0
    try:
        hook = getattr(recognizer, "set_adaptation", None)
        samples = usable(before)
        if callable(hook):
            hook(samples)
            adapted = len(samples)
        result = recognizer.recognize(ink)
    except RecognitionError as exc:
        return Preview(label, "", False, adapted, (time.perf_counter() - t0) * 1000.0, str(exc))
    except Exception as exc:  # noqa: BLE001 - the preview only advises: an engine's own bug is shown, not raised
        detail = f"{type(exc).__name__}: {exc}"
        return Preview(label, "", False, adapted, (time.perf_counter() - t0) * 1000.0, detail)
    reading = (result.best or "").strip() if result is not None else ""
    return Preview(
        label, reading, _same_symbol(reading, label), adapted, (time.perf_counter() - t0) * 1000.0, None
    )
