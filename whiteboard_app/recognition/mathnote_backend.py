"""The ``mathnote`` engine: mathnote-ocr 0.2.1 (PyPI, stroke based) behind the Recognizer protocol.

Ink preprocessing: mathnote-ocr has absolute-pixel thresholds (its grouper merges strokes closer than
14 px) and a size feature relative to the canvas, so ink from another device or zoom level is first
normalised the way the project's evaluation tool (../shared/tools/ocr_eval.py) does it: translate the
ink so its top-left point is at (``margin``, ``margin``) px and scale it so that the median stroke size
(the larger side of a stroke's bounding box, over strokes bigger than zero) is ``stroke_size`` px.

Output: an n-best list from mathnote-ocr's ``top_k`` partitions (``Expression.alternatives``), scored
with the natural log of each reading's confidence; per-symbol alternatives (label, probability) from
its classifier, with our stroke ids. ``\\left`` / ``\\right`` are dropped from its LaTeX.

Heavy imports (torch, mathnote_ocr) happen on first use, never at import of this module. The model
(~5 s to load on 2 CPU cores) is loaded once per :class:`MathnoteRecognizer`.
"""

from __future__ import annotations

import importlib.util
import math
import re
import statistics
import threading
import time
from collections.abc import Sequence

from whiteboard_app.ink import StepInk
from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    RecognizerUnavailable,
    SymbolAlternatives,
)

__all__ = ["MathnoteRecognizer", "available", "normalise_strokes"]

_LEFT_RIGHT = re.compile(r"\\(?:left|right)(?![a-zA-Z])\s*")


def available() -> tuple[bool, str]:
    """(True, "") when mathnote-ocr is installed; else (False, the reason in words). Cheap: no import."""
    if importlib.util.find_spec("mathnote_ocr") is None:
        return False, "mathnote-ocr is not installed (pip install mathnote-ocr==0.2.1)"
    return True, ""


def normalise_strokes(
    ink: StepInk, stroke_size: float = 24.0, margin: float = 40.0
) -> list[list[tuple[float, float, float]]]:
    """The ink as [[(x, y, t_ms), ...], ...] moved to (margin, margin) px and scaled so the median
    stroke size is ``stroke_size`` px (``stroke_size`` <= 0: no scaling). Empty ink gives []."""
    if ink.is_empty:
        return []
    box = ink.bbox
    sizes = [max(b.width, b.height) for b in (s.bbox for s in ink.strokes)]
    sizes = [v for v in sizes if v > 0]
    scale = stroke_size / statistics.median(sizes) if stroke_size > 0 and sizes else 1.0
    return [
        [((p.x - box.left) * scale + margin, (p.y - box.top) * scale + margin, p.t) for p in s.points]
        for s in ink.strokes
    ]


class MathnoteRecognizer:
    """mathnote-ocr as a :class:`~whiteboard_app.recognition.base.Recognizer`.

    Options: ``top_k`` partitions to read (the n-best size; default 2: each extra costs latency, about
    3.5x at 3 against 1 on 2 CPU cores),
    ``stroke_size`` and ``margin`` (px, see the module docstring), ``seed`` (mathnote-ocr samples; the
    same ink and seed read the same). Raises :class:`RecognizerUnavailable` when mathnote-ocr is not
    installed, :class:`RecognitionError` when it fails on an ink.
    """

    name = "mathnote"

    def __init__(
        self,
        top_k: int = 2,
        stroke_size: float = 24.0,
        margin: float = 40.0,
        seed: int = 0,
        symbol_alternatives: int = 5,
    ):
        ok, why = available()
        if not ok:
            raise RecognizerUnavailable(why)
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.top_k = top_k
        self.stroke_size = stroke_size
        self.margin = margin
        self.seed = seed
        self.symbol_alternatives = symbol_alternatives
        self._ocr = None
        self._to_latex = None
        self._lock = threading.Lock()
        self.load_ms: float | None = None

    def load(self) -> None:
        """Load mathnote-ocr's models now (otherwise on the first ``recognize``)."""
        with self._lock:
            if self._ocr is not None:
                return
            t0 = time.perf_counter()
            from whiteboard_app.recognition import mathnote_compat as mc

            try:
                self._ocr = mc.new_ocr()
            except ImportError as exc:  # pragma: no cover - checked by available(); MathnoteIncompatible
                raise RecognizerUnavailable(f"mathnote-ocr cannot be imported: {exc}") from exc
            except (OSError, RuntimeError) as exc:
                raise RecognizerUnavailable(f"mathnote-ocr's weights cannot be loaded: {exc}") from exc
            try:
                mc.sym_to_latex("x")
                self._to_latex = mc.sym_to_latex
            except mc.MathnoteIncompatible:
                self._to_latex = lambda n: n
            self.load_ms = (time.perf_counter() - t0) * 1000.0

    def warm_up(self) -> None:
        """Load the model and read a small synthetic expression: mathnote-ocr's first reading of an
        expression is ~10x slower than the next ones (1.5 s vs 0.1 s for "x+1", measured here)."""
        from whiteboard_app.ink.synth import synthesize

        self.recognize(synthesize("x+1", seed=0).ink)

    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult:
        """Read ``ink``; the context is not used here (see recognition/context.py for the prior)."""
        t0 = time.perf_counter()
        if ink.is_empty:
            return RecognitionResult(engine=self.name, message="no ink")
        self.load()
        strokes = normalise_strokes(ink, self.stroke_size, self.margin)
        try:
            expr = self._ocr.detect(strokes, top_k=self.top_k, seed=self.seed)
        except Exception as exc:  # any engine failure is "could not read"
            raise RecognitionError(f"mathnote-ocr failed: {type(exc).__name__}: {exc}") from exc
        ms = (time.perf_counter() - t0) * 1000.0
        if not len(expr):
            return RecognitionResult(engine=self.name, ms=ms, message="nothing recognised")
        candidates = _candidates([expr, *expr.alternatives])
        ids = [s.id for s in ink.strokes]
        symbols = tuple(self._symbol_alternatives(expr, ids))
        message = None
        if expr.unexplained_stroke_ids:
            message = f"{len(expr.unexplained_stroke_ids)} stroke(s) not explained by the reading"
        return RecognitionResult(tuple(candidates), symbols, ms, self.name, message)

    def _symbol_alternatives(self, expr, ids: Sequence[int]):
        for sym in expr.symbols.values():
            stroke_ids = tuple(sorted(ids[s.id] for s in sym.strokes if 0 <= s.id < len(ids)))
            labels = [(self._to_latex(n), float(c)) for n, c in (sym.alternatives or [])]
            if not labels:
                labels = [(self._to_latex(sym.name), float(sym.confidence))]
            yield SymbolAlternatives(stroke_ids, tuple(labels[: self.symbol_alternatives]))


def _clean(latex: str) -> str:
    return " ".join(_LEFT_RIGHT.sub("", latex).split())


def _candidates(expressions) -> list[Candidate]:
    """Distinct readings, best first, scored ln(confidence) (confidence 0 gives a very low score)."""
    best: dict[str, float] = {}
    for e in expressions:
        latex = _clean(e.latex)
        if not latex:
            continue
        score = math.log(e.confidence) if e.confidence > 0 else -1e9
        best[latex] = max(score, best.get(latex, -math.inf))
    return [Candidate(k, v) for k, v in sorted(best.items(), key=lambda kv: -kv[1])]
