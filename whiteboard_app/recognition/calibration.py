"""The calibration flow's model (no Qt): which symbols the writer draws, how often, where the samples go.

CROHME, the real ink the bundled recogniser is trained on, has no ``\\partial``, ``\\hat``, ``\\bar``,
``\\eta``, ``\\rho``, ``\\tau``, ``*``, ``\\top``, ``\\|`` and no ``\\mathbb{R}``, and its ``E`` is rare
(../shared/handwriting/README.md); ML derivations use all of them. The writer draws each of those
symbols, plus any symbol the recogniser keeps missing (found in the user's corrections),
``SAMPLES_PER_SYMBOL`` times; the samples are kept in the user's data folder and handed to the
engine's adaptation hook (``adapt(samples)``, few-shot prototypes in the bundled engine).

* :func:`plan` -> the list of :class:`CalibrationItem` still to draw.
* :class:`CalibrationStore` -> samples as JSON lines (the ink/io.py format: one record per sample, its
  ``latex`` the symbol's label) in ``<data dir>/calibration/samples.jsonl``; ``root`` is settable (tests).
* :func:`apply` -> gives the stored samples to a recogniser that has an ``adapt`` hook.
"""

from __future__ import annotations

import difflib
import json
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
    "SAMPLES_PER_SYMBOL",
    "CalibrationItem",
    "CalibrationStore",
    "apply",
    "missed_symbols",
    "plan",
]

#: Symbols to calibrate by default: (label, what to draw, in words). Labels are the LaTeX the engine outputs.
CALIBRATION_SYMBOLS: tuple[tuple[str, str], ...] = (
    (r"\partial", "the partial-derivative sign ∂"),
    (r"\hat", "a hat accent ^ (as over a letter; draw only the hat)"),
    (r"\bar", "a bar accent (as over a letter; draw only the bar)"),
    (r"\eta", "the Greek letter eta η"),
    (r"\rho", "the Greek letter rho ρ"),
    (r"\tau", "the Greek letter tau τ"),
    ("*", "an asterisk *"),
    (r"\top", "the transpose sign ⊤ (as in X^⊤)"),
    (r"\|", "a double bar ‖ (as in a norm ‖x‖)"),
    (r"\mathbb{R}", "the blackboard-bold R ℝ"),
    ("E", "a capital E (as in expectation)"),
)
#: Samples to draw per symbol.
SAMPLES_PER_SYMBOL = 5


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

    def remove(self, label: str) -> int:
        """Delete every sample of ``label`` (rewrites the file atomically; unreadable lines are kept).
        Returns how many were removed."""
        if not self.path.exists():
            return 0
        kept, removed = [], 0
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    obj = json.loads(line)
                    if isinstance(obj, dict) and obj.get("latex") == label:
                        removed += 1
                        continue
                except json.JSONDecodeError:
                    pass
                kept.append(line if line.endswith("\n") else line + "\n")
        atomic_write_text(self.path, "".join(kept))  # unique temp, fsync, rename, folder fsync
        return removed


def apply(recognizer, store: CalibrationStore) -> int:
    """Give every stored sample to the recogniser's adaptation hook ``adapt(samples)``, where samples is
    a list of (label, strokes: tuple[Stroke, ...]). Returns the number of samples given; 0 when the
    engine has no hook or nothing is stored (the engine is unchanged). With a registry recogniser (a
    worker process) this waits until its model is loaded: call it from a worker thread, not the UI
    thread. Raises RecognitionError (RecognizerUnavailable) when the engine cannot run."""
    hook = getattr(recognizer, "adapt", None)
    if not callable(hook):
        return 0
    samples = [(label, ink.strokes) for label, ink in store.samples()]
    if not samples:
        return 0
    hook(samples)
    return len(samples)
