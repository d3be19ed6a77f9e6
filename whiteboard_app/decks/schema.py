"""The card schema (schema_version 1) as frozen dataclasses; see docs/deck-authoring.md.

A card is pure data: nothing in it is executed. The maths layer reads ``Card.declarations`` to know
what every identifier in a step can be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA_VERSION = 1

TOPICS = (
    "calculus",
    "probability",
    "statistics",
    "linear-models",
    "classification",
    "deep-learning",
    "transformers",
    "information-theory",
    "latent-variables",
    "optimisation",
    "kernels",
    "generative-models",
    "alignment",
)

#: scalar domains a symbol can be declared with
#: ("sign" is a label of -1 or +1, so y^2 = 1 holds at every sample point)
DOMAINS = (
    "real",
    "positive",
    "nonnegative",
    "probability",
    "integer",
    "positive_integer",
    "binary",
    "discrete",
    "sign",
)

#: known functions a name can be declared as (the maths layer evaluates them)
FUNCTIONS = ("sigmoid", "softmax", "log", "exp", "relu", "tanh", "log_sigmoid", "softplus", "abs", "sqrt")

#: constraint samplers: "KIND:NAME"
CONSTRAINT_KINDS = ("simplex", "onehot", "symmetric", "spd", "orthogonal", "unit", "diagonal")

#: milestone kinds a reference step can be marked with (``milestone = "..."`` in its ``[[steps]]`` table):
#: the chain "model -> objective -> rule applied -> collapse -> result" a run must show
#: (see docs/deck-authoring.md and whiteboard_app/sessions/run.py)
MILESTONES = ("model", "objective", "rule", "collapse", "result")

#: generic diagnosis names (a mistake may also carry a short custom name)
GENERIC_DIAGNOSES = (
    "sign flip",
    "missing factor",
    "n vs n-1",
    "dropped transpose",
    "wrong exponent",
    "inverted ratio",
    "wrong index",
    "missing term",
)


class DeckError(ValueError):
    """A malformed or inconsistent card: names the file, the line (1-based, 0 when unknown) and the field.

    ``str()`` reads ``"decks/x.toml:12: steps[3].latex: message"``.
    """

    def __init__(self, path: Path | str, line: int, field: str, message: str):
        self.path = Path(path)
        self.line = int(line)
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class UnknownCardError(KeyError):
    """No card with that id in the deck."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a readable sentence
        return f"unknown card: {self.args[0]!r}" if self.args else "unknown card"


@dataclass(frozen=True)
class Declarations:
    """What every identifier in a step can be (see docs/deck-authoring.md, ``[declarations]``).

    - ``symbols``: scalar name -> domain (one of :data:`DOMAINS`).
    - ``indexed``: family name -> index name(s), e.g. ``{"x": "i"}`` (``x_i``), ``{"A": "ij"}``.
    - ``indices``: index name -> (lower, upper) bounds as LaTeX, e.g. ``("1", "n")``.
    - ``shapes``: matrix/vector name -> (rows, cols) as dimension names or integers.
    - ``sizes``: dimension name -> fixed positive integer.
    - ``functions``: name -> known function (one of :data:`FUNCTIONS`).
    - ``definitions``: LaTeX of a named quantity -> LaTeX of what it stands for.
    - ``constraints``: samplers ``"KIND:NAME"``, KIND in :data:`CONSTRAINT_KINDS`.
    - ``unknowns``: names solved for in result steps (``w``, ``hat_mu``...), optional, informative.
    - ``stacks``: matrix/vector name -> indexed family it stacks (``X = "x"``: row i of X is x_i^T;
      ``p = "p"``: the n x 1 vector of the p_i), so matrix forms like ``X^T(p - y)`` can be checked.
    - ``solutions``: unknown name -> LaTeX of its solution; a relation that is not an identity is checked
      with the unknown set to its solution (see docs/deck-authoring.md).
    """

    symbols: dict[str, str] = field(default_factory=dict)
    indexed: dict[str, str] = field(default_factory=dict)
    indices: dict[str, tuple[str, str]] = field(default_factory=dict)
    shapes: dict[str, tuple[str, str]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    unknowns: tuple[str, ...] = ()
    solutions: dict[str, str] = field(default_factory=dict)
    stacks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notation:
    """The notations people write this card's derivation in (see docs/deck-authoring.md, ``[notation]``);
    :mod:`whiteboard_app.maths.notation` rewrites a step written in them into the card's names.

    - ``aliases``: LaTeX as written (a name such as ``\\hat{y}``, ``\\theta``, ``W^{(1)}``, or any unit
      such as ``D(P\\|Q)``) -> LaTeX in the card's names it stands for (``p``, ``-L``, ``w^T x_i``). A key
      whose subscript is a declared index (``z_i``) is a pattern: ``z_j`` stands for the value with j.
    - ``per_example``: the declared index a one-example step drops (``(\\hat{y}-y)x_j`` for
      ``\\sum_i (p_i-y_i)x_i``), or None when the card has no per-example form.
    - ``summands``: a quantity defined as a sum over that index -> its summand for one example, in the
      card's names with the index (``L`` -> ``-(y_i\\log p_i + (1-y_i)\\log(1-p_i))``).
    - ``opposite_signs``: declared real parameters that a known source writes with the opposite sign (Platt
      (1999) writes ``1/(1+e^{As+B})`` for the card's ``\\sigma(As+B)``); a run that states the model that way
      is judged with all of them negated in the card's definitions (:mod:`whiteboard_app.maths.conventions`).
    """

    aliases: dict[str, str] = field(default_factory=dict)
    per_example: str | None = None
    summands: dict[str, str] = field(default_factory=dict)
    opposite_signs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefStep:
    """One step of the reference chain: LaTeX, what to say out loud, the rule applied, checkable or not,
    and its milestone kind (one of :data:`MILESTONES`, or None for a routine step a run may skip)."""

    latex: str
    say: str = ""
    rule: str = ""
    checkable: bool = True
    milestone: str | None = None


@dataclass(frozen=True)
class Mistake:
    """A common wrong step: its LaTeX, a named diagnosis, the 1-based reference step it imitates."""

    latex: str
    diagnosis: str
    after_step: int
    explanation: str = ""


@dataclass(frozen=True)
class Followup:
    """An interviewer follow-up with a model answer and its key points."""

    question: str
    answer: str
    key_points: tuple[str, ...] = ()


#: kinds of grill questions: a LaTeX answer checked by the checker, or words self-graded on key points
QUESTION_KINDS = ("maths", "words")


@dataclass(frozen=True)
class Question:
    """A grill question (rapid recall, docs/deck-authoring.md ``[[questions]]``).

    ``id`` is kebab-case and unique within its card; the deck-wide id is ``"<card id>/<id>"``
    (:attr:`Card` ``questions`` keep the short one, see ``sessions.grill.question_id``). ``kind`` is
    ``"maths"`` (``answer`` is LaTeX checked for equivalence under the card's declarations, extended by
    the question's own ``declarations``; ``accept`` / ``reject`` are equivalent and wrong forms the tests
    verify) or ``"words"`` (``answer`` is a model answer, self-graded against ``key_points``). ``time_s``
    is the time limit in seconds.
    """

    id: str
    prompt: str
    kind: str
    answer: str
    key_points: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()
    reject: tuple[str, ...] = ()
    time_s: int = 45
    declarations: Declarations | None = None


@dataclass(frozen=True)
class Targets:
    """Time targets in seconds."""

    cold_s: int = 300
    practised_s: int = 180


@dataclass(frozen=True)
class Card:
    """One derivation card (see docs/deck-authoring.md). ``steps`` are numbered from 1 in the UI and CLI."""

    id: str
    title: str
    topic: str
    prompt: str
    setup: str
    assumptions: tuple[str, ...]
    declarations: Declarations
    steps: tuple[RefStep, ...]
    interpretation: str
    followups: tuple[Followup, ...]
    mistakes: tuple[Mistake, ...]
    hints: tuple[str, ...]
    targets: Targets = Targets()
    notation: Notation = Notation()
    source_path: Path | None = None
    schema_version: int = SCHEMA_VERSION
    questions: tuple[Question, ...] = ()


@dataclass
class Deck:
    """A set of cards by id. ``get(id)`` raises :class:`UnknownCardError`."""

    cards: dict[str, Card] = field(default_factory=dict)

    def get(self, card_id: str) -> Card:
        """Return the card with that id; raise :class:`UnknownCardError` if there is none."""
        try:
            return self.cards[card_id]
        except KeyError:
            raise UnknownCardError(card_id) from None

    def __iter__(self) -> Iterator[Card]:
        return iter(self.cards.values())

    def __len__(self) -> int:
        return len(self.cards)
