"""Every ambiguous symbol label decided by its neighbours on the line (session 13, issue 13).

The classifier reads each symbol drawn alone. :mod:`symbol_context` decides a few hand-picked confusable
pairs (x or \\times, 5 or s, 9 or g, ...) by the kinds of their line neighbours; this module does the
same for every symbol whose classifier reading is ambiguous, with one table counted on the training
ink's ground truth:

* **Counts** (``weights/label_context.json``, written by ``scripts/fit_label_context.py fit``): for every
  symbol of the training split's writers (../shared/handwriting/train.jsonl.gz, the writer-disjoint
  split of the training commands: ``training.data.writer_split``, fraction 0.1, seed 0), its class name
  and the kinds of its nearest neighbours left and right on its line
  (:func:`symbol_context.line_neighbours`, kinds of :func:`neighbour_class`).
* **Rule** (:func:`relabel`): for a symbol whose classifier probability of its top label is under
  ``max_top`` and whose alternatives hold another label with probability at least ``min_prob`` (at most
  ``top_k`` candidates), each candidate *c* scores ``log p(c | ink) + weight * log LR(c | left, right)``
  with the likelihood ratio ``LR = P(c | context) / P(c)`` of the counts, Dirichlet-smoothed towards the
  overall frequency (``P(c | ctx) = (n(c, ctx) + alpha P(c)) / (n(ctx) + alpha)``). Bayes' rule (the
  classifier's probabilities carry the training prior, the ratio is the neighbours' evidence); the
  weight < 1 tempers the overconfidence of a context read from noisy neighbours.
* **Unknown labels are left alone.** A class the training ink (CROHME) never or rarely writes (J, Z, K,
  \\partial, \\eta, \\tau, \\kappa... added for ML notation: fewer than ``min_count`` symbols) has no
  counts to judge it by: a symbol the classifier reads so keeps its label, and such a label is never
  given (LR = 1 would favour it wherever the context disfavours the other candidates: on the held-out
  writers ``3``, ``g``, ``y`` became J and ``T``, ``k`` became \\tau, \\kappa that way).

Works on any objects with ``name``, ``bbox`` (x, y, w, h) and ``alternatives`` ((name, probability)
pairs) attributes, such as mathnote-ocr's ``DetectedSymbol``; changed symbols are copied with
:func:`dataclasses.replace`. Pure Python.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from whiteboard_app.recognition.symbol_context import line_neighbours

#: File of the counts in the weights folder.
CONTEXT_FILE = "label_context.json"

_DIGITS = frozenset("0123456789")
_OPS = frozenset({"+", "-", "pm", "times", "div", "cdot", "mp", "ast"})
_RELS = frozenset({"=", "<", ">", "leq", "geq", "neq", "rightarrow", "approx", "sim", "equiv", "to"})
_OPEN = frozenset({"(", "[", "lbrace", "langle"})
_CLOSE = frozenset({")", "]", "rbrace", "!", "rangle"})
_BIG = frozenset({"sum", "int", "prod", "sqrt", "lim", "Sigma_up", "Pi_up"})
_FUNCS = frozenset({"sin", "cos", "tan", "log", "ln", "exp"})


def neighbour_class(name: str | None) -> str:
    """The class of a neighbour the counts are kept by: ``edge`` (no neighbour), ``digit``, ``letter``
    (Latin lower case), ``cap`` (Latin capital, ``X_cap``), ``greek`` (lower-case Greek spelt out),
    ``op`` (+ - \\pm \\times \\div \\cdot), ``rel`` (= < > \\leq ... arrows), ``open`` / ``close``
    (brackets; ``!`` closes), ``bar`` (a fraction bar), ``big`` (\\sum \\int \\prod \\sqrt \\lim), ``func``
    (\\sin \\cos ...), else ``other`` (dots, commas, bars, primes, the rest)."""
    if name is None:
        return "edge"
    if name in _DIGITS:
        return "digit"
    if len(name) == 1 and name.isalpha():
        return "letter" if name.islower() else "cap"
    if name.endswith("_cap") and len(name) == 5:
        return "cap"
    if name in _OPS:
        return "op"
    if name in _RELS:
        return "rel"
    if name in _OPEN:
        return "open"
    if name in _CLOSE:
        return "close"
    if name == "frac_bar":
        return "bar"
    if name in _BIG:
        return "big"
    if name in _FUNCS:
        return "func"
    if name.isalpha() and name.islower() and len(name) > 2:
        return "greek"
    return "other"


def symbol_contexts(names: Sequence[str], boxes: Sequence[Sequence[float]]) -> list[str]:
    """The context key ``"LEFT|RIGHT"`` (classes of :func:`neighbour_class`) of each symbol of one
    expression: *names* the symbols' class names, *boxes* their (x, y, w, h), y downwards."""
    out = []
    for k in range(len(names)):
        lk, rk = line_neighbours(list(boxes), k)
        left = neighbour_class(names[lk] if lk is not None else None)
        right = neighbour_class(names[rk] if rk is not None else None)
        out.append(f"{left}|{right}")
    return out


def count_contexts(expressions: Iterable[tuple[Sequence[str], Sequence[Sequence[float]]]]) -> dict:
    """The counts document of :data:`CONTEXT_FILE`: ``{"contexts": {"LEFT|RIGHT": {name: n}}, "totals":
    {name: n}}`` over *expressions*, each (class names, boxes (x, y, w, h)) of its symbols."""
    contexts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for names, boxes in expressions:
        for name, ctx in zip(names, symbol_contexts(names, boxes), strict=True):
            row = contexts.setdefault(ctx, {})
            row[name] = row.get(name, 0) + 1
            totals[name] = totals.get(name, 0) + 1
    return {
        "contexts": {c: dict(sorted(r.items())) for c, r in sorted(contexts.items())},
        "totals": dict(sorted(totals.items())),
    }


@dataclass(frozen=True)
class ContextModel:
    """Counts of labels by context and the rule's settings (module docstring)."""

    contexts: dict[str, dict[str, int]]
    totals: dict[str, int]
    weight: float = 0.5
    alpha: float = 20.0
    top_k: int = 3
    min_prob: float = 0.02
    max_top: float = 0.95
    min_count: int = 20
    passes: int = 1

    @functools.cached_property
    def _n(self) -> int:
        return sum(self.totals.values())

    @functools.cached_property
    def _ctx_n(self) -> dict[str, int]:
        return {c: sum(r.values()) for c, r in self.contexts.items()}

    def known(self, name: str) -> bool:
        """Whether the training ink has at least ``min_count`` symbols labelled *name*."""
        return self.totals.get(name, 0) >= self.min_count

    def log_ratio(self, name: str, context: str) -> float:
        """ln LR(name | context) (module docstring); 0 for a label with fewer than ``min_count``
        training symbols or an unseen context."""
        total = self.totals.get(name, 0)
        n_ctx = self._ctx_n.get(context, 0)
        if total < self.min_count or n_ctx == 0:
            return 0.0
        prior = total / self._n
        p = (self.contexts[context].get(name, 0) + self.alpha * prior) / (n_ctx + self.alpha)
        return math.log(p / prior)


def load_model(path: str | Path | None = None, **settings) -> ContextModel | None:
    """The :class:`ContextModel` of the counts at *path* (default: the bundled
    ``weights/label_context.json``), with its stored settings overridden by *settings*; None when the
    file is missing or unreadable."""
    path = Path(path) if path is not None else Path(__file__).resolve().parent / "weights" / CONTEXT_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return ContextModel(doc["contexts"], doc["totals"], **{**doc.get("settings", {}), **settings})


@functools.lru_cache(maxsize=1)
def bundled_model() -> ContextModel | None:
    """The bundled model (cached); None when its file is missing."""
    return load_model()


#: Labels the rule never gives or takes: their reading rests on the symbol's place (a fraction bar) or
#: on rules of their own (commas and points: recognition/decimals.py).
FIXED = frozenset({"frac_bar", ",", "."})


def relabel(symbols: list, model: ContextModel | None = None) -> list:
    """The symbols with each ambiguous label decided by its line neighbours (module docstring), using
    *model* (default: :func:`bundled_model`; unchanged when there is none). A relabelled symbol keeps its box and strokes; its confidence becomes the new
    label's probability. Each pass decides every symbol from its classifier probabilities and its
    neighbours' labels of the pass before (the first: as the classifier read them), up to ``passes``
    passes or until no label changes (one by default: on the held-out writers a second pass gained 3
    labels of 7,777, a second pass that keeps the first's changes 1). Returns a new list in the given order; the input is not changed."""
    model = model if model is not None else bundled_model()
    if model is None or len(symbols) < 2:
        return list(symbols)
    boxes = [(s.bbox.x, s.bbox.y, s.bbox.w, s.bbox.h) for s in symbols]
    names = [s.name for s in symbols]
    for _ in range(model.passes):
        contexts = symbol_contexts(names, boxes)
        new = [_decide(s, ctx, model) for s, ctx in zip(symbols, contexts, strict=True)]
        if new == names:
            break
        names = new
    return [
        s if n == s.name else replace(s, name=n, confidence=_probs(s)[n])
        for s, n in zip(symbols, names, strict=True)
    ]


def _probs(s) -> dict[str, float]:
    probs = dict(s.alternatives or [])
    probs.setdefault(s.name, float(getattr(s, "confidence", 0.0)))
    return probs


def _decide(s, context: str, model: ContextModel) -> str:
    """The label of symbol *s* in *context* (:func:`relabel`): its own when it is fixed, unknown or
    sure, else the candidate of the highest score."""
    if s.name in FIXED or not model.known(s.name):
        return s.name
    probs = _probs(s)
    if probs[s.name] >= model.max_top or probs[s.name] <= 0:
        return s.name
    ranked = sorted(probs.items(), key=lambda kv: -kv[1])[: model.top_k]
    cands = [(n, p) for n, p in ranked if p >= model.min_prob and n not in FIXED and model.known(n)]
    if s.name not in dict(cands):
        cands.append((s.name, probs[s.name]))
    return max(cands, key=lambda c: math.log(c[1]) + model.weight * model.log_ratio(c[0], context))[0]
