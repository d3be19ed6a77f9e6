"""The recogniser interface: n-best candidates for one step's ink.

Every engine (the bundled trained one, mathnote-ocr, pix2tex) implements :class:`Recognizer`; callers
get engines by name from ``whiteboard_app.recognition.registry``. Heavy imports (torch, the engines)
happen inside the engines, never at import of this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from whiteboard_app.ink import StepInk

ContextKind = Literal["reference", "mistake", "near_miss", "previous"]


class RecognitionError(RuntimeError):
    """A recogniser failed on this ink (the window shows "could not read" and offers the keyboard)."""


class RecognizerUnavailable(RecognitionError):
    """An engine cannot run here: not installed, or no weights. The message says which, in words."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """One reading of a step: LaTeX and a score (log-probability-like; higher is better)."""

    latex: str
    score: float


@dataclass(frozen=True, slots=True)
class SymbolAlternatives:
    """Per-symbol n-best: the ids of the strokes making the symbol and (label, probability) pairs, best first."""

    stroke_ids: tuple[int, ...]
    labels: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class RecognitionResult:
    """The n-best readings of one step (best first), per-symbol alternatives where the engine has them,
    and the time taken in ms. No candidates means "could not read"."""

    candidates: tuple[Candidate, ...] = ()
    symbols: tuple[SymbolAlternatives, ...] = ()
    ms: float = 0.0
    engine: str = ""
    message: str | None = None  # why nothing was read (time limit, engine error), in words
    #: LaTeX of the card's form the engine already verified the ink against (recognition/form_match.py),
    #: when it did so itself (long steps: before its costly layout parse); None otherwise.
    verified: str | None = None

    @property
    def best(self) -> str | None:
        """LaTeX of the top candidate, or None when nothing was read."""
        return self.candidates[0].latex if self.candidates else None


@dataclass(frozen=True, slots=True)
class RecognitionContext:
    """What is likely on this line while practising a card: (latex, kind) pairs.

    kind is "reference" (a reference step), "mistake" (a declared wrong step), "near_miss" (a generated
    wrong variant) or "previous" (the user's previous step). Used as a soft prior that is symmetric
    between right and wrong variants (see recognition/context.py).
    """

    expected: tuple[tuple[str, ContextKind], ...] = field(default_factory=tuple)


@runtime_checkable
class Recognizer(Protocol):
    """A handwriting recogniser: step ink in, n-best LaTeX out.

    ``recognize`` may raise :class:`RecognitionError`; callers turn it into "could not read".
    """

    name: str

    def recognize(self, ink: StepInk, context: RecognitionContext | None = None) -> RecognitionResult: ...


class VerifiedForm(Protocol):
    """A card form the ink supports: its LaTeX (what the engine returns as ``result.verified``)."""

    latex: str


@runtime_checkable
class ContextVerifier(Protocol):
    """The card-context verifier an engine is given as its hook (recognition/form_match.py's
    :class:`~whiteboard_app.recognition.form_match.CardVerifier`), so that the engine need not import it.

    ``is_warm(context)``: the context's forms are typeset (cheap); ``warm_in_background(context)``: start
    typesetting them in a thread; ``warm_up(context)``: typeset them now (None: just load the
    typesetter); ``verify(ink, symbols, context, classify)``: the form the ink's symbols (an engine's
    per-symbol alternatives, stroke ids the ink's) support by the verifier's rule, or None; ``classify``
    is the engine's ``classify_groups`` (regrouping). ``verify`` may raise; the engine then reads as if
    no context were given."""

    def is_warm(self, context: RecognitionContext) -> bool: ...

    def warm_in_background(self, context: RecognitionContext) -> None: ...

    def warm_up(self, context: RecognitionContext | None) -> None: ...

    def verify(self, ink: StepInk, symbols, context: RecognitionContext, classify) -> VerifiedForm | None: ...
