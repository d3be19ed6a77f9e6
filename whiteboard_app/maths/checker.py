"""Step verdicts: compare a written step with a card's reference chain by numeric evaluation.

A step is a chain of expressions joined by relations. Each relation is judged at random points drawn from
the card's declarations (:mod:`whiteboard_app.maths.evaluate`):

- it holds at every point: an identity (``correct``);
- an equation in a declared unknown holds where the unknown takes its declared solution (only when one side
  is literally 0 or no side has a derivative, and not when it is written like a reference identity in
  that unknown, which holds for every value of it);
- ``x \\approx 0.167`` (a decimal on one side) holds when x rounds to the digits written;
- an inequality that is not always true (a condition) agrees point by point with a reference relation, or
  is implied by the user's previous step;
- otherwise ``wrong``, with the diagnosis of a declared mistake it equals, or of a generic mistake found by
  comparing values (sign flip, missing factor, n vs n-1, inverted ratio, wrong exponent, dropped
  transpose) or by mutating the matching reference expression (wrong index too).

A step that cannot be read is ``unparsed`` (never ``wrong``); a step kind the checker cannot decide
(``\\approx`` without a decimal, ``\\arg\\max``, an undefined derivative, a step written like a reference
step marked ``checkable = false``...) is ``cannot_check`` with the nearest reference step.
This module does the work in-process; :mod:`whiteboard_app.maths.worker` runs it under time limits.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from whiteboard_app.decks.schema import Card

from .evaluate import EvalError, Evaluator, IndexRangeError, ShapeError, contains, is_array
from .latex import (
    _GREEK,
    MalformedError,
    Names,
    ParseError,
    canonical,
    clean,
    expand_bare_sums,
    name_key,
    names_from_declarations,
    split_relations,
)
from .notation import _accents, rewrite_step
from .parse import ParsedStep, free_names, parse_piece, parse_step, validate
from .trees import mutations, tidy, to_latex

INEQ = {"<", "<=", ">", ">="}


@dataclass
class StepVerdict:
    """The verdict on one step. ``reference_step`` is 1-based (None when no reference step applies);
    ``shape`` names the step's shape (``"(d x 1)"``) or a shape error; ``ms`` is the time taken."""

    latex: str
    verdict: str
    reference_step: int | None = None
    diagnosis: str | None = None
    shape: str | None = None
    ms: float = 0.0
    message: str | None = None
    defines: str | None = None
    skipped: list[int] | None = None
    note: str | None = None

    def to_json(self) -> dict:
        """The CLI's dict: latex, verdict, reference_step, diagnosis, shape, ms, message, and (issue 11)
        ``defines`` (the name a step ``NAME = EXPR`` introduces, as written, else null), ``skipped`` (the
        1-based reference steps passed over since the user's previous step, else null) and ``note`` (a hint
        on a correct step, e.g. a continuation missing its left side, else null)."""
        return {
            "latex": self.latex,
            "verdict": self.verdict,
            "reference_step": self.reference_step,
            "diagnosis": self.diagnosis,
            "shape": self.shape,
            "ms": round(float(self.ms), 2),
            "message": self.message,
            "defines": self.defines,
            "skipped": list(self.skipped) if self.skipped else None,
            "note": self.note,
        }


@dataclass
class Comparison:
    """Result of :func:`compare`: equivalent True/False, or None when it cannot be decided."""

    equivalent: bool | None
    diagnosis: str | None = None
    message: str | None = None

    def to_json(self) -> dict:
        """The CLI's dict: exactly ``{"equivalent", "diagnosis"}``."""
        return {"equivalent": self.equivalent, "diagnosis": self.diagnosis}


@dataclass
class _Claim:
    """A parsed step with the subject of a continuation resolved: exprs[k] rel[k] exprs[k+1]."""

    exprs: list
    rels: list[str]
    step: ParsedStep


@dataclass
class _UserName:
    """A name the user introduced with a step ``NAME = EXPR``: its internal key, the left side as written,
    its definition (a tree; a pattern ``z_i`` has index letters ``params``), the user's step (1-based) that
    defined it, and whether it is per example (its definition reads a family's generic element ``x``)."""

    key: str
    written: str
    tree: tuple
    params: tuple = ()
    step: int = 0
    per_example: bool = False
    alias: str | None = None


@dataclass
class _Run:
    """What the user's earlier steps of one run established: the name table with their own names,
    definitions and patterns, card names they re-defined for their own model (``rename``: card name ->
    internal name), new parameters introduced in definitions (``fresh``, real scalars), component index
    letters (``comp``: letter -> (lo, hi) LaTeX bounds, ``w_j``), and the claims of the steps in order
    (None for a step that cannot be read). ``sig`` is hashable and names the context in caches."""

    names: Names
    defs: dict = field(default_factory=dict)
    patterns: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    rename: dict = field(default_factory=dict)
    fresh: tuple = ()
    comp: dict = field(default_factory=dict)
    claims: tuple = ()
    names_sig: tuple = ()

    @property
    def sig(self) -> tuple:
        return (
            self.names_sig,
            tuple(sorted(self.defs.items())),
            tuple(sorted(self.patterns.items())),
            tuple(sorted(self.rename.items())),
        )

    @property
    def touch(self) -> frozenset:
        """Every name whose value depends on the run (user names, renamed card names, new parameters,
        component letters, pattern families)."""
        return frozenset(self.defs) | frozenset(self.patterns) | frozenset(self.fresh) | frozenset(self.comp)


#: a leading "let" (\text{let}, \mathrm{let}, let) before a definition NAME = EXPR
_LET = re.compile(
    r"(?i)^\s*(?:\\(?:text|textrm|mathrm|textnormal)\s*\{\s*(?:let|define|where)\s*\}|let(?![A-Za-z]))(?:\s|\\[ ,;:!]|\\q?quad(?![A-Za-z])|~)*"
)
#: the left side of a definition (canonical LaTeX): a letter or Greek name, optionally decorated, with an
#: optional subscript and an optional layer label ^{(1)} / ^{[1]}
_NAME_LHS = re.compile(
    r"(?:\\(?P<dec>hat|bar|tilde|widehat|overline|widetilde|dot|check|mathbf|boldsymbol|bm|vec|mathcal|mathrm)"
    r"\{(?P<inner>[A-Za-z]|\\[A-Za-z]+)\}|(?P<plain>[A-Za-z]|\\[A-Za-z]+))"
    r"(?:_\{(?P<sub>[A-Za-z0-9,]+)\}|_(?P<sub1>[A-Za-z0-9]))?"
    r"(?P<sup>\^\{[(\[][A-Za-z0-9]+[)\]]\})?(?P<star>\^\{\*\})?"
)


def _copy_names(n: Names) -> Names:
    return dataclasses.replace(
        n,
        kinds=dict(n.kinds),
        families=dict(n.families),
        functions=dict(n.functions),
        opaque=dict(n.opaque),
        indices=dict(n.indices),
        pattern_defs=dict(n.pattern_defs),
        stacks=dict(n.stacks),
    )


def _map_tree(t, f):
    """Apply f to every node top-down; where f returns a different node it replaces the subtree."""
    t2 = f(t)
    if t2 is not t:
        return t2
    k = t[0]
    if k in ("add", "mul"):
        return (k, tuple(_map_tree(a, f) for a in t[1]))
    if k in ("call", "idx"):
        return (k, t[1], tuple(_map_tree(a, f) for a in t[2]))
    if k in ("pow", "deriv"):
        return (k, _map_tree(t[1], f), _map_tree(t[2], f))
    if k in ("T", "expect"):
        return (k, _map_tree(t[1], f))
    if k in ("sum", "prod"):
        return (k, _map_tree(t[1], f), t[2], _map_tree(t[3], f), _map_tree(t[4], f))
    return t


def _mentions(t) -> set[str]:
    """Names a tree refers to: variables and indexed families (bound or not)."""
    from .trees import walk

    out = set()
    for _, node in walk(t):
        if node[0] in ("var", "idx"):
            out.add(node[1])
    return out


class CardChecker:
    """Everything needed to check steps of one card: names, definitions, sample points, parsed reference
    steps and mistakes, and caches. Not thread-safe; the worker process owns one per card."""

    K = 10
    BUDGET_S = float(os.environ.get("WHITEBOARD_CHECK_BUDGET_S", "0.6"))
    _budget_end = float("inf")

    def __init__(self, card: Card, prove: bool = True):
        self.prove = prove
        self.card = card
        d = card.declarations
        self.names = names_from_declarations(d)
        self.problems: list[str] = []
        definitions, patterns = {}, {}
        for key, rhs in d.definitions.items():
            try:
                tree = parse_piece(rhs, self.names)
                validate(tree, self.names)
            except ParseError as exc:
                self.problems.append(f"definitions[{key!r}]: {exc}")
                continue
            if key in ("", None):
                continue
            nk = name_key(key) if self._plain(key) else "@" + canonical(key)
            base, _, sub = nk.rpartition("_")
            if base in self.names.pattern_defs and not nk.startswith("@"):
                patterns[base] = (self.names.pattern_defs[base], tree)
            else:
                definitions[nk] = tree
        self.solutions = {}
        for key, rhs in d.solutions.items():
            try:
                tree = parse_piece(rhs, self.names)
                validate(tree, self.names)
                self.solutions[name_key(key)] = tree
            except ParseError as exc:
                self.problems.append(f"solutions[{key!r}]: {exc}")
        self.ev = Evaluator(self.names, d, definitions, patterns)
        discrete = any(v in ("binary", "discrete", "integer", "sign") for v in d.symbols.values())
        k = 14 if discrete else self.K
        seed = zlib.crc32(card.id.encode())
        self.points = self.ev.sample_points(k, seed)
        self._cache: dict = {}
        self._base_state = (self.names, self.ev.names, self.ev.definitions, self.ev.patterns)
        self._base_run = _Run(self.names)
        self._runs: dict[tuple, _Run] = {}
        self._verdicts: dict[tuple, StepVerdict] = {}
        self._ctx: tuple = ()
        self._touch: frozenset = frozenset()
        self._run: _Run = self._base_run
        self._run_parsed: dict = {}
        self._mention_memo: dict = {}
        self._ctx_ids: dict = {}
        self._sol_refs = None
        self._dense = None
        self._parsed: dict[str, ParsedStep | ParseError] = {}
        self.ref_claims: list[_Claim | None] = []
        prev = None
        for st in card.steps:
            c = None
            try:
                ps = self.parse(st.latex)
                c = None if ps.undecidable else self._claim(ps, prev)
            except ParseError:
                c = None
            self.ref_claims.append(c)
            prev = c if c is not None else prev
        self.mistake_claims: list[_Claim | None] = []
        for m in card.mistakes:
            try:
                ps = self.parse(m.latex)
                before = self.ref_claims[m.after_step - 2] if m.after_step >= 2 else None
                self.mistake_claims.append(None if ps.undecidable else self._claim(ps, before))
            except (ParseError, IndexError):
                self.mistake_claims.append(None)

    @staticmethod
    def _plain(key: str) -> bool:
        from .latex import is_plain_name_key

        return is_plain_name_key(key)

    # ------------------------------------------------------------------ parsing
    def parse(self, latex: str) -> ParsedStep:
        """Parse (cached); raises ParseError."""
        r = self._parsed.get(latex)
        if r is None and len(self._parsed) > 5000:
            keep = {st.latex for st in self.card.steps} | {m.latex for m in self.card.mistakes}
            self._parsed = {k: v for k, v in self._parsed.items() if k in keep}
        if r is None:
            try:
                r = parse_step(rewrite_step(self.card, latex), self.names)
            except ParseError as exc:
                r = exc
            except RecursionError:
                r = ParseError("the expression is nested too deeply")
            self._parsed[latex] = r
        if isinstance(r, ParseError):
            raise r
        return r

    def _claim(self, ps: ParsedStep, prev: _Claim | None) -> _Claim:
        exprs = list(ps.trees)
        rels = list(ps.relations)
        if ps.continues:
            if prev is not None and prev.exprs:
                exprs = [prev.exprs[-1]] + exprs
            else:
                rels = rels[1:]
        return _Claim(exprs, rels, ps)

    # ------------------------------------------------------------------ the user's run
    def _set_run_values(self, run: _Run, points) -> None:
        """Give the run's new parameters (real, in [-2, 2]) and component letters (in their range) a value at
        every point, the same at a point whatever the run (deterministic per card, name and point)."""
        for q, p in enumerate(points):
            for nm in run.fresh:
                p.values[nm] = float(
                    np.random.default_rng(zlib.crc32(f"{self.card.id}:{nm}".encode()) + q).uniform(-2.0, 2.0)
                )
            for letter, (lo, hi, _role) in run.comp.items():
                try:
                    a, b = self.ev._int_of(lo, p), self.ev._int_of(hi, p)
                except EvalError:
                    continue
                p.values[letter] = float(a + (zlib.crc32(f"{letter}:{q}".encode()) % max(1, b - a + 1)))

    def _use(self, run: _Run) -> None:
        """Make the run the context of evaluation (names, definitions, patterns, parameter values)."""
        self._run = run
        if run is self._base_run:
            self.names, self.ev.names, self.ev.definitions, self.ev.patterns = self._base_state
            self._ctx, self._touch = (), frozenset()
            return
        base_names, _, base_defs, base_pats = self._base_state
        self.names = self.ev.names = run.names
        self.ev.definitions = {**base_defs, **run.defs}
        self.ev.patterns = {**base_pats, **run.patterns}
        sig = run.sig
        if sig not in self._ctx_ids:
            if len(self._ctx_ids) > 5000:
                self._ctx_ids.clear()
                self._cache.clear()
            self._ctx_ids[sig] = len(self._ctx_ids) + 1
        # a small id stands for the run's context in the value cache (hashing the trees at every lookup
        # would cost more than the lookup saves)
        self._ctx, self._touch = (self._ctx_ids[sig],), run.touch
        self._set_run_values(run, self.points)
        if self._dense is not None:
            self._set_run_values(run, self._dense)

    def _run_for(self, previous) -> _Run:
        """The run established by the user's previous steps (cached by the steps, extended one at a time)."""
        key = tuple(previous)
        k = len(key)
        while k > 0 and key[:k] not in self._runs:
            k -= 1
        run = self._runs.get(key[:k], self._base_run) if k else self._base_run
        if len(self._runs) > 2000:
            self._runs.clear()
        for j in range(k, len(key)):
            run = self._extend(run, key[j], j + 1)
            self._runs[key[: j + 1]] = run
        return run

    def _extend(self, run: _Run, latex: str, pos: int) -> _Run:
        """The run after one more step of the user's: its claim, and the name it defines if it does."""
        self._use(run)
        try:
            ps, dinfo = self._parse_run(run, latex)
        except (ParseError, RecursionError):
            return dataclasses.replace(run, claims=run.claims + (None,))
        ps, dinfo = self._reading(run, ps, dinfo)
        if ps.undecidable:
            return dataclasses.replace(run, claims=run.claims + (None,))
        claim = self._claim(ps, run.claims[-1] if run.claims else None)
        new = run
        if dinfo is not None:
            try:
                new, _, _ = self._define(run, ps, dinfo, pos)
            except (EvalError, ShapeError, RecursionError):
                new = None
            new = new or run
        elif dinfo is None and ps.names is not run.names:
            new = dataclasses.replace(run, names=ps.names, comp=ps.comp, names_sig=ps.names_sig)
        return dataclasses.replace(new, claims=run.claims + (claim,))

    def _component_letters(self, text: str, names: Names) -> dict:
        """Subscript letters that no declaration knows, read as component indices (``w_j``, ``x_j``) with
        the range of the vector they index: (lo, hi) LaTeX bounds."""
        out = {}
        try:
            c = canonical(text)
        except ParseError:
            return out
        d = self.card.declarations
        for m in re.finditer(r"(\\[A-Za-z]+|[A-Za-z])(?:\{[^{}]*\})?_\{([A-Za-z](?:,?[A-Za-z])?)\}", c):
            base = m.group(1).lstrip("\\")
            for letter in m.group(2).replace(",", ""):
                if letter in names.kinds or letter in out or letter in ("e",):
                    continue
                bounds = None
                shp = d.shapes.get(base)
                if (
                    base in names.families
                    and len(names.families[base]) == 1
                    and (shp is None or self._example_letter(letter, c, names))
                ):
                    b = names.indices.get(names.families[base])
                    bounds = (b[0], b[1], "example") if b else None
                elif shp is not None and base not in d.indexed:
                    bounds = (
                        ("1", shp[0] if shp[1] == "1" else shp[1], "component")
                        if "1" in shp
                        else ("1", shp[0], "component")
                    )
                elif shp is not None:
                    bounds = ("1", shp[0], "component")
                if bounds is None:
                    sizes = [nm for nm, kd in names.kinds.items() if kd == "dim"]
                    bounds = ("1", sizes[0], "component") if sizes else None
                if bounds is not None:
                    out[letter] = bounds
        return out

    def _example_letter(self, letter: str, c: str, names: Names) -> bool:
        """Is an undeclared subscript letter used as an example index in the step (on a family of scalars,
        ``y_s``), so that ``x_s`` is example s too, not component s?"""
        d = self.card.declarations
        for m in re.finditer(r"(\\[A-Za-z]+|[A-Za-z])_\{" + letter + r"\}", c):
            base = m.group(1).lstrip("\\")
            if base in names.families and base not in d.shapes and len(names.families[base]) == 1:
                return True
        return False

    def _definition_lhs(self, text: str, names: Names, run: _Run) -> dict | None:
        """Is the step ``NAME = EXPR`` (``:=``, ``\\text{let}``) with a left side the card does not declare?
        Returns what it defines: kind ``new`` (a new name), ``pattern`` (``z_i`` over a declared index),
        ``user`` (a name the run already defined), ``card`` (a name the card defines), or None."""
        try:
            pieces, rels = split_relations(clean(text))
        except ParseError:
            return None
        if not rels or rels[0] != "=" or not pieces[0].strip() or len(pieces) < 2:
            return None
        lhs = pieces[0].strip()
        try:
            whole = expand_bare_sums(canonical(lhs), names.indices)
        except ParseError:
            return None
        if any(key in whole for key in names.opaque):
            return None  # a structured name the card declares (D_{KL}(p\|q), P(D|T))
        call = re.fullmatch(
            r"(.+?)\(\s*((?:\\?[A-Za-z]+)(?:\s*,\s*\\?[A-Za-z]+)*)\s*\)", lhs
        )  # \ell(w), L(\theta)
        base_lhs = call.group(1).strip() if call else lhs
        try:
            c = canonical(base_lhs)
        except ParseError:
            return None
        # bold and vector fonts name the same letter (\hat{\mathbf{y}} is hat_y)
        c = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|pmb|mathbfit)\{([^{}]*)\}", r"\1", c)
        m = _NAME_LHS.fullmatch(c)
        if m is None:
            return None
        word = m.group("inner") or m.group("plain")
        if word.startswith("\\") and word[1:] not in _GREEK:
            return None
        sub = m.group("sub") or m.group("sub1")
        info = {"written": lhs, "rhs": pieces[1], "opaque": None}
        if m.group("sup"):
            info.update(kind="new", key="@" + c, opaque=c)
            return (
                None
                if ("@" + c) in names.kinds and ("@" + c) not in run.users
                else info | ({"kind": "user"} if ("@" + c) in run.users else {})
            )
        key = name_key(base_lhs)
        if call:
            info["opaque"] = canonical(lhs)
        letter = name_key(word)
        if (m.group("dec") or m.group("star")) and letter in self.solutions and key not in names.kinds:
            # \hat{w}, w^* for an unknown the card solves for: a claim about its solution, not a new name
            return info | {"kind": "solution", "key": key, "base": letter}
        declared = self.card.declarations
        if names.kinds.get(key) == "kron" and key not in declared.indexed and key not in declared.symbols:
            return info | {"kind": "new", "key": key}  # delta is the Kronecker delta only until defined
        if key in ("e", "pi", "I") or names.kinds.get(key) in ("function", "index", "dim", "identity"):
            return None
        if key in run.users:
            return info | {"kind": "user", "key": key}
        if key in run.rename:
            return info | {"kind": "user", "key": run.rename[key]}
        kind = names.kinds.get(key)
        if kind == "defined" and key in self._base_state[2]:
            return None if call and len(pieces) < 2 else info | {"kind": "card", "key": key}
        if kind is not None:
            return None  # a claim about a declared symbol, matrix or family
        if sub is not None and "," not in sub:
            base = key[: len(key) - len(sub) - 1]
            if (
                names.kinds.get(base) in ("defined", "symbol")
                and base not in run.users
                and sub.isalpha()
                and all(ch in names.indices for ch in sub)
                and base not in self.card.declarations.shapes
            ):
                # \ell_i on a card that defines \ell: the user's per-example term, a name of its own whose
                # index is the free (or summed) i
                return info | {"kind": "new", "key": key}
            if base in names.kinds:
                return None  # an element or component of a declared name
            if base in run.users:
                return None
            if sub.isalpha() and all(ch in names.indices for ch in sub):
                return info | {"kind": "pattern", "key": base, "params": tuple(sub)}
        return info | {"kind": "new", "key": key}

    def _parse_run(self, run: _Run, latex: str):
        """Parse a step in the run's context: its own names, component letters and, for a definition, the
        name it defines and new parameters on its right side. Returns (ParsedStep with trees rewritten
        into internal names, definition info or None); the ParsedStep carries ``names``, ``names_sig`` and
        ``comp`` for the run after it. Cached by (step, context). Raises ParseError."""
        ckey = (latex, run.names_sig, tuple(sorted(run.users)), tuple(sorted(run.rename.items())))
        hit = self._run_parsed.get(ckey)
        if hit is not None:
            if isinstance(hit, ParseError):
                raise hit
            return hit
        if len(self._run_parsed) > 5000:
            self._run_parsed.clear()
        try:
            out = self._parse_run_uncached(run, latex)
        except ParseError as exc:
            self._run_parsed[ckey] = exc
            raise
        except RecursionError:
            exc = ParseError("the expression is nested too deeply")
            self._run_parsed[ckey] = exc
            raise exc from None
        self._run_parsed[ckey] = out
        return out

    def notation(self, latex: str, keep: frozenset = frozenset(), params: bool = False) -> str:
        """The hook for the card's declared notations (issue 11 item 2, :mod:`whiteboard_app.maths.notation`):
        rewrite a user's step into the card's names before it is parsed. ``keep`` are the internal names the
        user defined in this run (and the one this step defines): the user's own definition of a name wins
        over an alias. ``params``: the step defines a new name (an alias to a constant such as the bias
        ``b`` = ``0`` is left to be the user's new parameter)."""
        return rewrite_step(self.card, latex, keep, params)

    def _parse_written(self, text: str) -> ParsedStep:
        """Parse a step already in the card's names with the card's name table (cached); raises ParseError."""
        key = (text, ())
        r = self._parsed.get(key)
        if r is None:
            try:
                r = parse_step(text, self.names)
            except ParseError as exc:
                r = exc
            except RecursionError:
                r = ParseError("the expression is nested too deeply")
            self._parsed[key] = r
        if isinstance(r, ParseError):
            raise r
        return r

    def _raw_examples(self, text: str, names: Names) -> tuple:
        """Undeclared letters the step as written uses as the index of one example (``y_s``, ``x_s``), not
        bound by a sum: a notation rewrite may rename them to the card's index, but a relation that does
        not hold for every example is still a condition on that example."""
        try:
            c = canonical(text)
        except ParseError:
            return ()
        bound = set(re.findall(r"\\(?:sum|prod)_\{?([A-Za-z])", c))
        return tuple(
            x for x, b in self._component_letters(text, names).items() if b[2] == "example" and x not in bound
        )

    @staticmethod
    def _one_name(latex: str) -> bool:
        """Is ``latex`` (a rewritten left side) one name, possibly subscripted (``p_{i}``), not an
        expression (``(-L)``, ``(w^{T}x_{i})``)?"""
        t = latex.strip()
        try:
            c = canonical(t)
        except ParseError:
            return False
        c = re.sub(r"\\(?:mathbf|boldsymbol|bm|vec|pmb|mathbfit)\{([^{}]*)\}", r"\1", c)
        call = re.fullmatch(r"(.+?)\(\s*((?:\\?[A-Za-z]+)(?:\s*,\s*\\?[A-Za-z]+)*)\s*\)", c)  # \sigma(z)
        return _NAME_LHS.fullmatch(call.group(1) if call else c) is not None

    def _parse_run_uncached(self, run: _Run, latex: str, rewritten: bool = False):
        text = _LET.sub("", latex, count=1) if _LET.match(latex) else latex
        explicit = text is not latex or bool(
            re.search(r":=|\\coloneqq", text)
        )  # let, :=: always a definition
        if not rewritten:
            text = _accents(text)  # ŷ is \hat{y} for the user's definitions too
        names = run.names
        adds: list[tuple] = []
        dinfo = self._definition_lhs(text, names, run)
        raw_examples = () if rewritten else self._raw_examples(text, names)
        if not rewritten:
            # the card's notations: a name the user defined in the run is theirs (no alias rewrites it)
            keep = (
                frozenset(run.users)
                | frozenset(run.rename)
                | frozenset(run.rename.values())
                | frozenset(run.fresh)
                | frozenset(k for u in run.users.values() for k in _written_keys(u.written))
            )
            if dinfo is not None and dinfo["kind"] in ("new", "pattern"):
                lhs_r = self.notation(dinfo["written"], keep)
                alias_text = (
                    self.notation(text, keep)
                    if (not explicit and lhs_r != dinfo["written"] and self._one_name(lhs_r))
                    else None
                )
                mine = {dinfo["key"], *_written_keys(dinfo["written"])}
                own = self.notation(text, keep | mine, params=True)
                if alias_text is not None:
                    # NAME is another notation for a card name (\hat{y} for p): both readings are parsed;
                    # _reading picks one (the user's definition only when it reduces to the card's)
                    try:
                        alt = self._parse_run_uncached(run, alias_text, rewritten=True)
                    except (ParseError, RecursionError):
                        alt = None
                    try:
                        ps, dinfo = self._parse_run_uncached(run, own, rewritten=True)
                    except (ParseError, RecursionError):
                        if alt is None:
                            raise
                        object.__setattr__(alt[0], "raw_examples", _renamed_away(raw_examples, alias_text))
                        return alt
                    if alt is not None:
                        object.__setattr__(ps, "alias", alt)
                        object.__setattr__(alt[0], "raw_examples", _renamed_away(raw_examples, alias_text))
                    object.__setattr__(ps, "raw_examples", _renamed_away(raw_examples, own))
                    return ps, dinfo
                text = own
            else:
                text = self.notation(
                    text, keep | (frozenset([dinfo["key"]]) if dinfo is not None else frozenset())
                )
                dinfo = self._definition_lhs(text, names, run) if dinfo is None else dinfo
        comp = self._component_letters(text, names)
        if comp or (dinfo is not None and dinfo["kind"] in ("new", "pattern")):
            names = _copy_names(names)
        for letter, bounds in comp.items():
            names.kinds[letter] = "index"
            names.indices[letter] = bounds[:2]
            adds.append(("comp", letter, bounds))
        fresh: list[str] = []
        pre_parsed = None
        if dinfo is not None and dinfo["kind"] in ("new", "pattern"):
            key = dinfo["key"]
            if dinfo["kind"] == "pattern":
                names.kinds[key] = "family"
                names.families[key] = "".join(dinfo["params"])
                names.pattern_defs[key] = dinfo["params"]
                adds.append(("pattern", key, dinfo["params"]))
            else:
                names.kinds[key] = "defined"
                names.families.pop(key, None)  # delta defined by the user is no longer the Kronecker delta
                adds.append(("name", key))
            if dinfo["opaque"]:
                names.opaque[expand_bare_sums(dinfo["opaque"], names.indices)] = key
                adds.append(("opaque", dinfo["opaque"], key))
            # new parameters on the right side (a bias b): real scalars from here on (looked for only when
            # the step does not read without them: a second parse costs ~20 ms)
            try:
                pieces, _ = split_relations(clean(text))
                pre_parsed = parse_step(text, names)
                pieces = []
            except ParseError as exc:
                if not str(exc).startswith("unknown name"):
                    pieces = []
            for piece in pieces[1:]:
                try:
                    tree = parse_piece(piece, names)
                except ParseError:
                    continue
                for nm in sorted(free_names(tree)):
                    if (
                        nm not in names.kinds
                        and re.fullmatch(r"[A-Za-z]+", nm)
                        and nm not in fresh
                        and nm != key
                    ):
                        fresh.append(nm)
            if len(fresh) > 1:  # one new parameter (a bias) is a model; several are undeclared names
                raise ParseError(
                    f"unknown names {', '.join(repr(x) for x in fresh)}: they are not declared on "
                    "this card (a definition may introduce at most one new parameter)"
                )
            for nm in fresh:
                names.kinds[nm] = "symbol"
                adds.append(("fresh", nm))
        elif dinfo is not None and dinfo["kind"] == "solution":
            names = _copy_names(names)
            names.kinds[dinfo["key"]] = "defined"
            adds.append(("name", dinfo["key"]))
        elif dinfo is not None and dinfo["opaque"] and dinfo["kind"] == "card":
            names = _copy_names(names)
            names.opaque[expand_bare_sums(dinfo["opaque"], names.indices)] = dinfo["key"]
            adds.append(("opaque", dinfo["opaque"], dinfo["key"]))
        names_sig = run.names_sig + tuple(adds)
        pkey = (text, names_sig)
        r = self._parsed.get(pkey) if names_sig else None
        if r is None and pre_parsed is not None and not fresh:
            r = self._parsed[pkey] = pre_parsed
        if r is None:
            r = parse_step(text, names) if names_sig else self._parse_written(text)
            if names_sig:
                self._parsed[pkey] = r
        # rewrite: the user's own version of a card name, a family written without its index (the generic
        # example x_i), a component of a family's vector element (x_j)
        per_example = self._per_example(r.trees, names, run)
        comp_all = {**run.comp, **comp}
        trees = tuple(self._rewrite(t, names, run, comp_all, per_example) for t in r.trees)
        ps = dataclasses.replace(r, trees=trees)
        object.__setattr__(ps, "names", names)
        object.__setattr__(ps, "names_sig", names_sig)
        object.__setattr__(ps, "comp", comp_all)
        object.__setattr__(ps, "fresh", tuple(fresh))
        object.__setattr__(ps, "per_example", per_example)
        # example letters of the step as written that the notation renamed away (y_s -> y_i)
        object.__setattr__(ps, "raw_examples", _renamed_away(raw_examples, text))
        return ps, dinfo

    def _defined_lhs(self, claim) -> bool:
        """Is the claim's first expression a quantity the card or the run defines (p_k, L)?"""
        if not claim.exprs:
            return False
        e = claim.exprs[0]
        if e[0] == "deriv":
            return True  # a derivative (of anything): a claim for every example, judged as such
        nm = e[1] if e[0] in ("var", "idx") and isinstance(e[1], str) else None
        return nm is not None and (nm in self.ev.definitions or nm in self.ev.patterns)

    def _reading(self, run: _Run, ps: ParsedStep, dinfo):
        """Of the two readings of ``ALIAS = EXPR`` (the alias a card notation for a card name, e.g. \\hat{y}
        for p): the user's definition of their own name when its right side is the card's quantity with
        the new parameters at 0 (their own model, e.g. with a bias), else a claim about the card's name,
        judged as such (so a declared mistake written in the card's notation stays wrong)."""
        alt = getattr(ps, "alias", None)
        if alt is None or dinfo is None or len(ps.trees) < 2 or not alt[0].trees:
            return ps, dinfo
        aps, adinfo = alt
        self._use(run)
        scope0 = {nm: 0.0 for nm in tuple(run.fresh) + tuple(getattr(ps, "fresh", ()))}
        try:
            trial = dataclasses.replace(
                run,
                names=ps.names,
                names_sig=ps.names_sig,
                comp=ps.comp,
                fresh=run.fresh + tuple(x for x in ps.fresh if x not in run.fresh),
            )
            self._use(trial)
            target = {nm for nm in _mentions(aps.trees[0]) if self._base_state[0].kinds.get(nm) != "index"}
            lhs = aps.trees[0]
            if (
                len(aps.trees) > 1
                and lhs[0] == "var"
                and self._base_state[0].kinds.get(lhs[1]) == "symbol"
                and lhs[1] in set(_mentions(aps.trees[1]))
            ):
                agree = True  # u = 1 + e^{-z} with u another name for the variable z: not an equation in z
            else:
                agree = self._agree_scoped(ps.trees[1], aps.trees[0], scope0)
            if not agree and self.solutions and target & set(self.solutions):
                # a name for the solution (\alpha = 1/\sqrt{d_k} with \alpha the card's c): at the solution
                agree = self._agree_solved(ps.trees[1], aps.trees[0], scope0)
        except (EvalError, ShapeError, RecursionError):
            agree = False
        finally:
            self._use(run)
        return (ps, dinfo) if agree else (aps, adinfo)

    def _per_example(self, trees, names: Names, run: _Run) -> bool:
        """Does a step speak of one generic example: a family written without its index (``x`` for x_i,
        not a stacked vector) or a name the user defined per example?"""
        for t in trees:
            for nm in _mentions(t):
                fam = names.families.get(nm)
                if (
                    fam
                    and len(fam) == 1
                    and nm not in names.stacks
                    and names.kinds.get(nm) == "family"
                    and (("var", nm) in _vars(t))
                ):
                    return True
                u = run.users.get(nm)
                if u is not None and u.per_example:
                    return True
        return False

    def _rewrite(self, t, names: Names, run: _Run, comp: dict, per_example: bool):
        d = self.card.declarations

        def f(node):
            if node[0] == "deriv" and node[2][0] == "var" and node[2][1] in run.users:
                u = run.users[node[2][1]]
                if u.alias is not None:
                    return ("deriv", _map_tree(node[1], f), ("var", u.alias))
                fn = node[1]
                defs = {**self._base_state[2], **run.defs}
                if fn[0] == "var" and fn[1] in defs and u.tree != ("var", fn[1]):
                    # d/du of a defined quantity whose definition contains u's expression (Delta = r_w - r_l
                    # in L = -log sigma(r_w - r_l)): u stands for that subexpression
                    body = defs[fn[1]]
                    if body != u.tree and u.tree in {n for _, n in _walk(body)}:

                        def put(n, t=u.tree, k=u.key):
                            return ("var", k) if n == t else n

                        return ("deriv", _map_tree(body, put), node[2])
            if node[0] == "var":
                nm = node[1]
                if nm in run.rename:
                    return ("var", run.rename[nm])
                fam = names.families.get(nm)
                if (
                    fam
                    and len(fam) == 1
                    and names.kinds.get(nm) == "family"
                    and (nm not in names.stacks or per_example)
                ):
                    return ("idx", nm, (("var", fam),))
            elif (
                node[0] == "idx"
                and len(node[2]) == 1
                and node[2][0][0] == "var"
                and node[2][0][1] in comp
                and comp[node[2][0][1]][2] == "component"
            ):
                fam = names.families.get(node[1])
                shp = d.shapes.get(node[1])
                if fam and len(fam) == 1 and shp is not None and "1" in shp:
                    return ("idx", node[1], (("var", fam), node[2][0]))
            return node

        return _map_tree(t, f)

    def _define(self, run: _Run, ps: ParsedStep, dinfo: dict, pos: int):
        """Accept the definition of a step ``NAME = EXPR``: (run after it or None, problem or None,
        diagnosis or None). A new name must not appear on its own right side and its right side must
        evaluate (shapes consistent); a card name may be re-defined for the user's own model only when it
        reduces to the card's definition (or its summand, per example) with the new parameters at 0."""
        key, kind = dinfo["key"], dinfo["kind"]
        if kind == "user":
            return None, None, None
        if kind == "solution":  # the user's name for the card's solution: judged as a claim about it
            users = dict(run.users)
            users[key] = _UserName(key, dinfo["written"], self.solutions[dinfo["base"]], (), pos, False)
            new = dataclasses.replace(
                run,
                names=ps.names,
                names_sig=ps.names_sig,
                comp=ps.comp,
                users=users,
                defs={**run.defs, key: self.solutions[dinfo["base"]]},
            )
            return new, None, None
        rhs = ps.trees[1]
        written = dinfo["written"]
        if kind in ("new", "pattern"):
            if key in _mentions(rhs):
                return (
                    None,
                    f"circular definition: {written} appears on its own right side",
                    "circular definition",
                )
            users = dict(run.users)
            users[key] = _UserName(key, written, rhs, dinfo.get("params", ()), pos, ps.per_example)
            new = dataclasses.replace(
                run,
                names=ps.names,
                names_sig=ps.names_sig,
                comp=ps.comp,
                users=users,
                fresh=run.fresh + tuple(x for x in ps.fresh if x not in run.fresh),
            )
            if kind == "pattern":
                new.patterns = {**run.patterns, key: (dinfo["params"], rhs)}
            else:
                new.defs = {**run.defs, key: rhs}
            self._use(new)
            self.values(rhs)  # ShapeError / EvalError: the definition is not accepted
            if kind == "new":
                # another name for a card quantity (u = W_1x + b_1 is the card's z): derivatives with respect
                # to u are taken with respect to that quantity, which the card's definitions depend on
                base_names = self._base_state[0]
                for nm, kd in base_names.kinds.items():
                    if (
                        kd in ("defined", "symbol", "matrix")
                        and nm != key
                        and self.same_value(("var", nm), rhs)
                    ):
                        users[key].alias = nm
                        break
            return new, None, None
        # kind == "card": the user's own version of a card name
        target = self._base_state[2].get(key)
        if target is None:
            return None, None, None
        lhs_tree = ("var", key)
        if ps.trees and self.same_value(lhs_tree, rhs):
            return None, None, None  # the card's own value: an ordinary step
        fresh = run.fresh + tuple(x for x in ps.fresh if x not in run.fresh)
        scope0 = {nm: 0.0 for nm in fresh}
        how = None
        for cand, word in ((target, ""), (_summand(target, self.names.indices), " per example")):
            if cand is None:
                continue
            if self._agree_scoped(rhs, cand, scope0):
                how = word
                break
        if how is None:
            return None, None, None
        internal = "@" + canonical(written if not dinfo["opaque"] else written.split("(")[0])
        users = dict(run.users)
        users[internal] = _UserName(internal, written, rhs, (), pos, ps.per_example)
        new = dataclasses.replace(
            run,
            names=ps.names,
            names_sig=ps.names_sig,
            comp=ps.comp,
            users=users,
            fresh=fresh,
            defs={**run.defs, internal: rhs},
            rename={**run.rename, key: internal},
        )
        new._how = how  # shown in the message
        return new, None, None

    def _agree_solved(self, a, b, scope: dict) -> bool:
        """a = b at every sample point with the card's unknowns at their solutions (and ``scope``)."""
        return self._agree_at(a, b, lambda p: {**self._solution_scope(p), **scope})

    def _safe_agree(self, a, b, scope: dict) -> bool:
        try:
            return self._agree_scoped(a, b, scope)
        except (EvalError, ShapeError, RecursionError):
            return False

    def _agree_scoped(self, a, b, scope: dict) -> bool:
        """a = b at every sample point (at least 3 defined) with names overridden by ``scope``."""
        return self._agree_at(a, b, lambda p: scope)

    def _agree_at(self, a, b, scope_at) -> bool:
        """a = b at every sample point p (at least 3 defined) with names overridden by ``scope_at(p)``;
        a point where either side is undefined is skipped."""
        ok = 0
        for p in self.points:
            sc = scope_at(p)
            try:
                va, vb = self.ev.value(a, p, sc), self.ev.value(b, p, sc)
            except (EvalError, ZeroDivisionError, OverflowError, ValueError, np.linalg.LinAlgError):
                continue
            c = self.close(va, vb, 1e-7, 1e-9)
            if c is None:
                continue
            if not c:
                return False
            ok += 1
        return ok >= 3

    # ------------------------------------------------------------------ evaluation
    @property
    def dense_points(self):
        """60 extra points for conditions (inequalities that are not always true)."""
        if self._dense is None:
            self._dense = self.ev.sample_points(60, zlib.crc32(self.card.id.encode()) + 1)
            self._set_run_values(self._run, self._dense)
        return self._dense

    def values(self, tree, solved: bool = False, dense: bool = False):
        """Values of a tree at every sample point (None where undefined); raises ShapeError / EvalError
        when it fails at every point."""
        ctx = ()
        if self._ctx:
            m = self._mention_memo.get(tree)
            if m is None:
                if len(self._mention_memo) > 20000:
                    self._mention_memo.clear()
                m = self._mention_memo[tree] = frozenset(_mentions(tree))
            ctx = self._ctx if not self._touch.isdisjoint(m) else ()
        key = (tree, solved, dense, ctx)
        if len(self._cache) > 20000:  # a long session: keep memory bounded
            self._cache.clear()
        if key in self._cache:
            r = self._cache[key]
            if isinstance(r, Exception):
                raise r
            return r
        out = []
        first_err = None
        for p in self.dense_points if dense else self.points:
            scope = self._solution_scope(p) if solved else {}
            try:
                v = self.ev.value(tree, p, scope)
                if isinstance(v, np.ndarray):
                    if not np.all(np.isfinite(v)):
                        v = None
                elif not np.isfinite(v):
                    v = None
            except ShapeError as exc:
                first_err = first_err or exc
                v = None
            except (EvalError, ZeroDivisionError, OverflowError, ValueError, np.linalg.LinAlgError) as exc:
                first_err = first_err or (exc if isinstance(exc, EvalError) else EvalError(str(exc)))
                v = None
            out.append(v)
        if all(v is None for v in out):
            err = first_err or EvalError("undefined (or too large) at every sample point")
            self._cache[key] = err
            raise err
        self._cache[key] = out
        return out

    def _solution_scope(self, p) -> dict:
        scope = {}
        for name, tree in self.solutions.items():
            try:
                scope[name] = self.ev.value(tree, p, scope)
            except (EvalError, ZeroDivisionError, OverflowError, ValueError, np.linalg.LinAlgError):
                pass
        return scope

    @staticmethod
    def _tol(*trees) -> tuple[float, float]:
        nested = any(contains(t, "deriv") and _nested_deriv(t) for t in trees)
        if nested:
            return 2e-3, 1e-4
        if any(contains(t, "deriv") for t in trees):
            return 1e-5, 1e-7
        return 1e-8, 1e-10

    @staticmethod
    def close(a, b, rtol: float, atol: float) -> bool | None:
        """a == b within |a - b| <= atol + rtol max(|a|, |b|) elementwise; None when either is undefined;
        a matrix equals a scalar only when the scalar is 0."""
        if a is None or b is None:
            return None
        aa, bb = isinstance(a, np.ndarray), isinstance(b, np.ndarray)
        if aa and bb and a.shape != b.shape:
            return False
        if aa != bb:
            arr, sc = (a, b) if aa else (b, a)
            if arr.size != 1 and float(sc) != 0.0:
                return False  # a matrix equals a scalar only when that scalar is 0 (the zero vector)
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        return bool(np.all(np.abs(a - b) <= atol + rtol * np.maximum(np.abs(a), np.abs(b))))

    def truth(self, a, b, rel: str, solved: bool = False, dense: bool = False) -> list[bool | None]:
        """Truth of ``a rel b`` at every point."""
        va, vb = self.values(a, solved, dense), self.values(b, solved, dense)
        rtol, atol = self._tol(a, b)
        out = []
        for x, y in zip(va, vb, strict=True):
            if x is None or y is None:
                out.append(None)
                continue
            if rel == "=":
                out.append(self.close(x, y, rtol, atol))
                continue
            if rel.startswith("~"):  # \approx a decimal written with k digits: |x - y| <= 0.5 10^-k
                tol = float(rel[1:])
                out.append(
                    bool(np.all(np.abs(np.asarray(x, float) - np.asarray(y, float)) <= tol * (1 + 1e-9)))
                )
                continue
            if is_array(x) or is_array(y):
                raise EvalError("an inequality between matrices")
            x, y = float(np.asarray(x).reshape(-1)[0]), float(np.asarray(y).reshape(-1)[0])
            eps = atol + rtol * max(abs(x), abs(y))
            out.append({"<": x < y + eps, "<=": x <= y + eps, ">": x > y - eps, ">=": x >= y - eps}[rel])
        return out

    def same_value(self, a, b, solved: bool = False) -> bool:
        """Two trees equal at (at least a third of, and all defined) sample points."""
        try:
            t = self.truth(a, b, "=", solved)
        except (EvalError, ShapeError):
            return False
        valid = [x for x in t if x is not None]
        return len(valid) >= max(3, len(t) // 3) and all(valid)

    # ------------------------------------------------------------------ judging
    def _pair_ok(self, a, b, rel: str, prev: _Claim | None) -> tuple[bool, str | None]:
        """(holds, how): how is "identity", "solution", "condition" or "previous"."""
        t = self.truth(a, b, rel)
        valid = [x for x in t if x is not None]
        if len(valid) < max(3, len(t) // 3):
            raise EvalError("undefined at most sample points")
        if all(valid):
            return True, "identity"
        if (
            rel == "="
            and self.solutions
            and self._holds_at_solution(a, b, len(t))
            and (
                _is_zero(a)
                or _is_zero(b)
                or (
                    not (contains(a, "deriv") or contains(b, "deriv"))
                    and (self._is_unknown(a) or self._is_unknown(b) or self._like_reference_equation(a, b))
                )
            )
        ):
            return True, "solution"
        if rel == "=" and prev is not None and self._solves_previous(a, b, prev):
            return True, "previous"
        if rel in INEQ and any(valid):
            # a condition: agrees with a reference relation point by point (on 60 points)
            t = self.truth(a, b, rel, dense=True)
            for c in self.ref_claims:
                if c is None:
                    continue
                for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                    if r not in INEQ:
                        continue
                    try:
                        tr = self.truth(x, y, r, dense=True)
                    except (EvalError, ShapeError):
                        continue
                    if _agree(t, tr) and len(set(v for v in tr if v is not None)) == 2:
                        return True, "condition"
            if prev is not None:
                try:
                    tp = self._claim_truth(prev, dense=True)
                    if any(tp) and all(
                        (not p) or q for p, q in zip(tp, t, strict=True) if p is not None and q is not None
                    ):
                        return True, "previous"
                except (EvalError, ShapeError):
                    pass
        return False, None

    def _solves_previous(self, a, b, prev: _Claim) -> bool:
        """``v = E`` for a declared scalar v: the user's previous step is an equation in v that is not an
        identity, and it holds at every point once v is replaced by E (it is solved for v; e.g.
        y_s(w^T x_s + b) = 1 with labels y = +-1 gives b = y_s - w^T x_s)."""
        pairs = [(x, y) for x, r, y in zip(prev.exprs, prev.rels, prev.exprs[1:], strict=False) if r == "="]
        if not pairs or len(pairs) != len(prev.rels):
            return False
        for side, expr in ((a, b), (b, a)):
            if side[0] != "var" or self.names.kinds.get(side[1]) != "symbol" or side[1] in _mentions(expr):
                continue
            v = side[1]
            if not any(v in _mentions(x) | _mentions(y) for x, y in pairs):
                continue
            try:
                if all(all(t for t in self.truth(x, y, "=") if t is not None) for x, y in pairs):
                    continue  # an identity in v holds whatever v is: it implies nothing about v

                def sub(node, v=v, expr=expr):
                    return expr if node == ("var", v) else node

                ok = True
                for x, y in pairs:
                    t = [q for q in self.truth(_map_tree(x, sub), _map_tree(y, sub), "=") if q is not None]
                    if len(t) < 3 or not all(t):
                        ok = False
                        break
                if ok:
                    return True
            except (EvalError, ShapeError):
                continue
        return False

    def _holds_at_solution(self, a, b, k: int) -> bool:
        try:
            ts = [x for x in self.truth(a, b, "=", solved=True) if x is not None]
        except (EvalError, ShapeError):
            return False
        return len(ts) >= max(3, k // 3) and all(ts)

    def _is_unknown(self, t) -> bool:
        return t[0] == "var" and t[1] in self.solutions

    def _solution_only_refs(self):
        """Reference relations a = b that hold only where the unknowns take their solutions."""
        if getattr(self, "_sol_refs", None) is None:
            out = []
            for c in self.ref_claims:
                if c is None:
                    continue
                for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                    if r != "=":
                        continue
                    try:
                        t = [v for v in self.truth(x, y, "=") if v is not None]
                    except (EvalError, ShapeError):
                        continue
                    if t and not all(t) and self._holds_at_solution(x, y, len(self.points)):
                        out.append((x, y))
            self._sol_refs = out
        return self._sol_refs

    def _unknowns_in(self, k: int) -> set[str]:
        """The declared unknowns (keys of ``solutions``) written in reference step k (1-based)."""
        from .parse import free_names

        c = self.ref_claims[k - 1]
        if c is None:
            return set()
        names: set[str] = set()
        for t in c.exprs:
            names |= free_names(t)
        return names & set(self.solutions)

    def _ref_is_identity(self, k: int) -> bool:
        """Does every relation of reference step k (1-based) hold at every sample point?"""
        c = self.ref_claims[k - 1]
        if c is None or not c.rels:
            return False
        try:
            for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                t = [v for v in self.truth(x, y, r) if v is not None]
                if len(t) < 3 or not all(t):
                    return False
        except (EvalError, ShapeError):
            return False
        return True

    def _imitates_identity(self, k: int, a, b) -> bool:
        """A relation ``a = b`` that holds only at the solution, written like reference step k: is step k
        an identity in a declared unknown (true for every value of it), so the written relation should be
        too? Setting an expression of step k (or a constant multiple of one) to zero is not an imitation:
        that is the "set the derivative to zero" step."""
        if not self._unknowns_in(k) or not self._ref_is_identity(k):
            return False
        if _is_zero(a) or _is_zero(b):
            other = b if _is_zero(a) else a
            if any(
                self.same_value(other, x) or self.proportional(other, x) for x in self.ref_claims[k - 1].exprs
            ):
                return False
        return True

    def _like_reference_equation(self, a, b) -> bool:
        """Is a - b a constant multiple of the residual of a solution-only reference relation? (The same
        equation rearranged; a wrong identity that merely vanishes at the solution is not.)"""
        from .trees import neg

        mine = ("add", (a, neg(b)))
        for x, y in self._solution_only_refs():
            if self.proportional(mine, ("add", (x, neg(y)))):
                return True
        return False

    def proportional(self, r1, r2) -> bool:
        """r1 = c r2 for one constant c != 0 at every sample point (scalars or arrays)."""
        try:
            v1, v2 = self.values(r1), self.values(r2)
        except (EvalError, ShapeError):
            return False
        ratios = []
        for x, y in zip(v1, v2, strict=True):
            if x is None or y is None:
                continue
            x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
            if x.shape != y.shape:
                return False
            nz = np.abs(y) > 1e-9
            if not nz.any():
                if np.all(np.abs(x) < 1e-9):
                    continue
                return False
            r = x[nz][0] / y[nz][0]
            if not np.allclose(x, r * y, rtol=1e-6, atol=1e-9):
                return False
            ratios.append(r)
        return len(ratios) >= 3 and abs(ratios[0]) > 1e-9 and bool(np.allclose(ratios, ratios[0], rtol=1e-6))

    def _claim_truth(self, c: _Claim, dense: bool = False) -> list[bool]:
        acc = [True] * len(self.dense_points if dense else self.points)
        for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
            t = self.truth(x, y, r, dense=dense)
            acc = [bool(a and b) for a, b in zip(acc, t, strict=True)]
        return acc

    def check(self, latex: str, previous: list[str] = ()) -> StepVerdict:
        """Judge one step; ``previous`` are the user's earlier steps of the run (for a leading ``=``,
        implication, the names they defined and the reference steps they reached). Verdicts of a run are
        cached, so checking a derivation step by step parses and evaluates each step once."""
        previous = list(previous)
        vkey = (tuple(previous), latex)
        hit = self._verdicts.get(vkey)
        if hit is not None:
            return dataclasses.replace(hit)
        t0 = time.perf_counter()
        try:
            # extras (diagnosis searches, the "proved" label) stop 0.6 s after the start, so a check
            # stays inside the worker's ~1 s limit on a busy machine
            self._budget_end = t0 + self.BUDGET_S
            try:
                run = self._run_for(previous)
            except RecursionError:
                run = self._base_run
            self._use(run)
            v = self._check(latex, previous, run)
            self._skipped(v, previous)
            if (
                v.verdict == "correct"
                and v.reference_step is None
                and run is not self._base_run
                and v.defines is None
                and not v.message.startswith("follows from your previous step")
            ):
                # a step of the user's run that reads, on its own in the card's notations, as a reference
                # step (per example, another index letter): name that step too
                self._use(self._base_run)
                try:
                    v0 = self._check(latex, [], self._base_run)
                except ParseError:
                    v0 = None
                if v0 is not None and v0.verdict == "correct" and v0.reference_step is not None:
                    v.reference_step = v0.reference_step
        except ParseError as exc:  # a reading problem found late is still "unparsed", never "wrong"
            v = StepVerdict(latex, "unparsed", message=str(exc))
        finally:
            self._use(self._base_run)
        v.ms = (time.perf_counter() - t0) * 1000.0
        if len(self._verdicts) > 5000:
            self._verdicts.clear()
        self._verdicts[vkey] = dataclasses.replace(v)
        return v

    def _skipped(self, v: StepVerdict, previous: list[str]) -> None:
        """A correct step that reaches reference step k right after the user's previous step reached an
        earlier step k0 < k - 1: the routine steps k0+1..k-1 were skipped (still correct)."""
        if v.verdict != "correct" or v.reference_step is None or not previous:
            return
        pv = self._verdicts.get((tuple(previous[:-1]), previous[-1]))
        if pv is None or pv.verdict != "correct" or pv.reference_step is None:
            return
        k0, k = pv.reference_step, v.reference_step
        if k > k0 + 1:
            v.skipped = list(range(k0 + 1, k))
            span = f"{k0 + 1}" if k == k0 + 2 else f"{k0 + 1}-{k - 1}"
            v.message = (v.message or "") + f"; skipped {span}"

    def _prev_claim(self, previous: list[str]) -> _Claim | None:
        run = self._run_for(previous)
        return run.claims[-1] if run.claims else None

    def _check(self, latex: str, previous: list[str], run: _Run | None = None) -> StepVerdict:
        v = self._check_inner(latex, previous, run or self._base_run)
        if v.verdict == "unparsed":
            try:
                self.parse(latex)
            except MalformedError:
                return v  # a misreading (unbalanced braces...) stays "unparsed"
            except ParseError:
                pass
        if v.verdict in ("wrong", "unparsed"):
            # written like a reference step the card does not check (a limit, an argmax, a KL in words)
            k = self._noncheckable_match(latex)
            if k is not None:
                return StepVerdict(
                    latex,
                    "cannot_check",
                    reference_step=k,
                    message=f"reference step {k} is not checked; compare it yourself",
                )
        return v

    def _noncheckable_match(self, latex: str) -> int | None:
        """A step written like a reference step the card marks checkable = false (1-based), else None."""
        best = None
        for k, st in enumerate(self.card.steps, 1):
            s = self._sim(latex, st.latex)
            if best is None or s > best[0]:
                best = (s, k)
        if best is None or best[0] < 0.85 or self.card.steps[best[1] - 1].checkable:
            return None
        return best[1]

    def _check_inner(self, latex: str, previous: list[str], run: _Run) -> StepVerdict:
        try:
            ps, dinfo = self._parse_run(run, latex)
        except ParseError as exc:
            return StepVerdict(latex, "unparsed", message=str(exc))
        ps, dinfo = self._reading(run, ps, dinfo)
        if ps.undecidable:
            k = self.nearest_step(latex)
            return StepVerdict(
                latex,
                "cannot_check",
                reference_step=k,
                message="this kind of step is not checked; compare with the reference step",
            )
        prev = run.claims[-1] if run.claims else None
        earlier_comp = run.comp
        if dinfo is None and ps.names_sig != run.names_sig:  # component letters of this step (w_j)
            run = dataclasses.replace(run, names=ps.names, comp=ps.comp, names_sig=ps.names_sig)
            self._use(run)
        claim = self._claim(ps, prev)
        taut = self._tautology(latex, claim)
        if taut is not None:
            return taut
        defined = None
        problem = None
        if dinfo is not None:
            try:
                defined, problem, pdiag = self._define(run, ps, dinfo, len(previous) + 1)
            except ShapeError as exc:
                defined, problem, pdiag = (
                    None,
                    f"the definition of {dinfo['written']} has inconsistent shapes: {exc}",
                    "shape mismatch",
                )
            except (EvalError, RecursionError) as exc:
                self._use(run)
                k = self.nearest_step(latex)
                return StepVerdict(
                    latex,
                    "cannot_check",
                    reference_step=k,
                    message=f"cannot evaluate the definition of {dinfo['written']}: {exc}",
                )
            if problem is not None:
                self._use(run)
                return StepVerdict(latex, "wrong", reference_step=None, diagnosis=pdiag, message=problem)
            if defined is not None:
                self._use(defined)
                if dinfo["kind"] == "card":
                    # judged in the user's model: the rest of a chain after the re-defined name
                    claim = self._claim(
                        dataclasses.replace(
                            ps, trees=(("var", defined.rename[dinfo["key"]]),) + ps.trees[1:]
                        ),
                        prev,
                    )
            else:
                self._use(run)
        bound = set(re.findall(r"\\(?:sum|prod)_\{?([A-Za-z])", latex))
        new_examples = [
            x for x, b in ps.comp.items() if b[2] == "example" and x not in earlier_comp and x not in bound
        ]
        if self._defined_lhs(claim):
            new_examples = []  # p_k = ...: a claim about a defined quantity of example k, judged as such
        else:
            # an example letter the notation renamed to the card's index (y_s -> y_i) is still one example
            # when the relation does not hold for every example
            seen = {x for c in run.claims if c is not None for x in getattr(c.step, "raw_examples", ())}
            new_examples += [
                x
                for x in getattr(ps, "raw_examples", ())
                if x not in earlier_comp and x not in new_examples and x not in seen and x not in bound
            ]
        if new_examples and not claim.step.continues and dinfo is None and claim.rels:
            try:
                holds = all(
                    self._pair_ok(a, b, r, prev)[0]
                    for a, r, b in zip(claim.exprs, claim.rels, claim.exprs[1:], strict=False)
                )
            except (EvalError, ShapeError):
                holds = True  # judged below (shape errors and undefined values are reported there)
            if not holds:
                # y_s(w^T x_s + b) = 1: a condition that picks out example s, not a consequence of the card
                return StepVerdict(
                    latex,
                    "cannot_check",
                    reference_step=self.nearest_step(latex),
                    diagnosis="condition",
                    message=f"a condition on the example {', '.join(new_examples)} (not declared "
                    "on the card): taken as given, later steps may follow from it",
                )
        v = self._judge_claim(latex, claim, prev)
        if defined is not None and v.verdict == "correct" and dinfo["kind"] != "solution":
            self._as_definition(v, dinfo, defined, claim)
        elif dinfo is not None and dinfo["kind"] == "solution" and v.verdict == "wrong":
            v.message = f"{dinfo['written']} names the card's solution, and this is not its value" + (
                f": {v.diagnosis}" if v.diagnosis else ""
            )
        elif dinfo is not None and dinfo["kind"] == "user" and v.verdict == "wrong":
            u = run.users.get(dinfo["key"])
            if u is not None and u.tree in self.solutions.values():
                v.message = f"{u.written} is the card's solution, and this is not its value" + (
                    f": {v.diagnosis}" if v.diagnosis else ""
                )
            elif u is not None:
                what = f": {v.diagnosis}" if v.diagnosis else ""
                v.diagnosis = v.diagnosis or "redefinition"
                v.message = (
                    f"{u.written} is already defined by your step {u.step}; this gives it another value{what}"
                )
        elif dinfo is not None and dinfo["kind"] == "card" and v.verdict == "wrong" and v.diagnosis is None:
            v.message = (
                f"{dinfo['written']} is defined on the card, and this is not its value (nor, per "
                f"example, its summand): {v.message}"
            )
        if v.verdict == "wrong" and claim.step.continues and prev is not None:
            w = self._missing_left_side(latex, claim)
            if w is not None:
                return w
        if v.verdict == "correct" and defined is None:
            self._follows(v, claim, run)
        return v

    def _judge_claim(self, latex: str, claim: _Claim, prev: _Claim | None) -> StepVerdict:
        try:
            return self._judge(latex, claim, prev)
        except ShapeError as exc:
            for m, mc in zip(self.card.mistakes, self.mistake_claims, strict=True):
                if mc is not None and mc.exprs == claim.exprs:
                    return StepVerdict(
                        latex,
                        "wrong",
                        reference_step=m.after_step,
                        diagnosis=m.diagnosis,
                        shape=str(exc),
                        message=m.explanation or m.diagnosis,
                    )
            k = self.match_reference(latex, claim, wrong=True)
            diag = self._repair_diagnosis(claim, prev) or "shape mismatch"
            return StepVerdict(
                latex, "wrong", reference_step=k, diagnosis=diag, shape=str(exc), message=f"{diag}: {exc}"
            )
        except IndexRangeError as exc:
            k = self.match_reference(latex, claim, wrong=True)
            return StepVerdict(latex, "wrong", reference_step=k, diagnosis="wrong index", message=str(exc))
        except (EvalError, RecursionError) as exc:
            k = self.nearest_step(latex)
            return StepVerdict(latex, "cannot_check", reference_step=k, message=f"cannot evaluate: {exc}")

    def _tautology(self, latex: str, claim: _Claim) -> StepVerdict | None:
        """A relation between two written copies of the same expression (``a = a``, ``z < z``, a chain
        ``z = z = z``) is not a step of the derivation: "cannot_check" for = <= >= (true but says nothing),
        "wrong" for < > (false)."""
        if not claim.rels or len(claim.step.trees) < 2 or not is_tautology(latex):
            return None  # "= x" repeating the line before is a restatement, not a tautology
        what = "both sides are the same expression"
        if any(r in ("<", ">") for r in claim.rels):
            return StepVerdict(
                latex,
                "wrong",
                reference_step=None,
                diagnosis="false relation",
                message=f"{what}, so a strict inequality between them is false",
            )
        return StepVerdict(
            latex,
            "cannot_check",
            reference_step=self.nearest_step(latex),
            diagnosis="tautology",
            message=f"{what}: a tautology is not a step of the derivation",
        )

    def _as_definition(self, v: StepVerdict, dinfo: dict, run: _Run, claim: _Claim) -> None:
        """Turn a correct verdict on ``NAME = EXPR`` into "defines NAME" (the reference step only when the
        right side is the value of an expression of that step)."""
        written = dinfo["written"]
        v.defines = written
        rhs = claim.exprs[1] if len(claim.exprs) > 1 else claim.exprs[-1]
        k = None
        same = [
            kk
            for kk, c in enumerate(self.ref_claims, 1)
            if c is not None and any(self.same_value(rhs, x) for x in c.exprs)
        ]
        if same:  # several reference steps have that value: the one written most like the step
            k = max(same, key=lambda kk: (self._sim(v.latex, self.card.steps[kk - 1].latex), -kk))
        states = False
        if k is None and dinfo["kind"] == "card":
            # the user's own version of a card name: the reference step that states that name
            for kk, c in enumerate(self.ref_claims, 1):
                if c is not None and c.exprs and c.exprs[0] == ("var", dinfo["key"]) and not c.step.continues:
                    k, states = kk, True
                    break
        if k is None and run.fresh:
            # the user's model with a new parameter (a bias): the reference step it reduces to at 0
            scope0 = {nm: 0.0 for nm in run.fresh}
            for kk, c in enumerate(self.ref_claims, 1):
                if c is not None and any(self._safe_agree(rhs, x, scope0) for x in c.exprs):
                    k = kk
                    break
        v.reference_step = k
        words = f"defines {written}"
        how = getattr(run, "_how", None)
        if dinfo["kind"] == "card":
            words = f"defines {written} for your model{how or ''} (it reduces to the card's {written}" + (
                " with " + ", ".join(run.fresh) + " = 0)" if run.fresh else ")"
            )
            words += "; later steps use yours"
        fresh = getattr(claim.step, "fresh", ())
        if fresh:
            words += (
                "; "
                + ", ".join(fresh)
                + (
                    " is a new parameter (a real number)"
                    if len(fresh) == 1
                    else " are new parameters (real numbers)"
                )
            )
        if k is not None:
            words += (
                f"; the card's {written} is reference step {k}"
                if states
                else f"; its value is that of reference step {k}"
            )
        v.message = words

    def _missing_left_side(self, latex: str, claim: _Claim) -> StepVerdict | None:
        """A continuation ``= EXPR`` that does not follow from the line before, but whose value is that of a
        reference step with another left side (``\\frac{d\\sigma}{dz}``): read as the person meant it,
        correct with a note to write that left side."""
        e = claim.exprs[-1]
        found = []
        for k, c in enumerate(self.ref_claims, 1):
            if c is None or not any(self.same_value(e, x) for x in c.exprs[1:]):
                continue
            if not self.same_value(self._subject(k), e):
                continue
            found.append((max(self._fsim(e, x) for x in c.exprs[1:]), k))
        for _, k in sorted(found, key=lambda t: (-t[0], t[1])):
            first = k
            while (
                first > 1
                and self.ref_claims[first - 1] is not None
                and self.ref_claims[first - 1].step.continues
            ):
                first -= 1
            raw = self.card.steps[first - 1].latex
            left = raw.split("=", 1)[0].strip() if "=" in raw else ""
            if not left or left.endswith(("<", ">", ":", "!")):
                continue
            note = f"write what this equals: {left} = …"
            return StepVerdict(
                latex,
                "correct",
                reference_step=k,
                diagnosis="missing left side",
                shape=self._shape_of(e),
                note=note,
                message=f"matches reference step {k}, missing its left side: {note}",
            )
        return None

    def _follows(self, v: StepVerdict, claim: _Claim, run: _Run) -> None:
        """A correct step whose value is not that of the reference step it was matched with: it follows
        from the card's definitions (a derivative evaluated on its merits) or the user's own steps; say
        so, and name a reference step only when one has its value."""
        if v.reference_step is None or "holds at the solution" in (v.message or ""):
            return
        last = claim.exprs[-1]
        c = self.ref_claims[v.reference_step - 1]
        if c is not None and any(self.same_value(last, x) for x in c.exprs):
            return
        for k, c in enumerate(self.ref_claims, 1):
            if c is not None and any(self.same_value(last, x) for x in c.exprs):
                v.reference_step = k
                v.message = f"matches reference step {k}"
                return
        if not (set(run.defs) | set(run.patterns)) and not any(contains(x, "deriv") for x in claim.exprs):
            return  # an ordinary rewrite on the card's names: keep the nearest reference step
        base_kinds = self._base_state[0].kinds
        if (
            not run.defs
            and not run.patterns
            and any(
                base_kinds.get(nm) == "index" and nm not in run.comp
                for x in claim.exprs
                for nm in _mentions(x)
            )
        ):
            # one example or one component in the card's index letters (the per-example form of a sum, the
            # card's i written j): its value is not that of the whole step, keep the nearest reference step
            return
        v.reference_step = None
        d = next((x for x in claim.exprs if x[0] == "deriv"), None)
        if d is not None:
            from .trees import to_latex as _tl

            try:
                f = _tl(d[1], self.names)
            except Exception:  # noqa: BLE001 - a name the printer does not know: say it in words
                f = "the expression"
            v.message = f"follows: derivative of {f}"
        else:
            v.message = "follows from your previous steps and the card's definitions"

    def _shape_of(self, tree) -> str | None:
        try:
            vals = self.values(tree)
        except (EvalError, ShapeError):
            return None
        for v, p in zip(vals, self.points, strict=True):
            if v is not None:
                if isinstance(v, np.ndarray) and v.shape != (1, 1):
                    self.ev._current_dims = p.dims
                    return self.ev.shape_name(v)
                return None
        return None

    def _judge(self, latex: str, claim: _Claim, prev: _Claim | None) -> StepVerdict:
        exprs, rels = claim.exprs, claim.rels
        # shape errors anywhere: wrong, naming the shapes
        for e in exprs:
            self.values(e)
        shape = self._shape_of(exprs[-1])
        if not rels:
            return self._judge_expression(latex, exprs[0], shape, claim)
        hows = []
        for a, r, b in zip(exprs, rels, exprs[1:], strict=False):
            ok, how = self._pair_ok(a, b, r, prev)
            if not ok:
                return self._wrong(latex, claim, a, b, r, shape)
            hows.append(how)
        k = self.match_reference(latex, claim, solved="solution" in hows)
        if "solution" in hows and k is not None:
            # a relation that holds only at the solution must not imitate a reference identity in the
            # unknown (true for every value of it); "E = 0" is matched on E alone
            for (a, b), how in zip(zip(exprs, exprs[1:], strict=False), hows, strict=True):
                if how != "solution":
                    continue
                kk = k
                if _is_zero(a) or _is_zero(b):
                    kk = self.match_reference(latex, _Claim([b if _is_zero(a) else a], [], claim.step))
                if kk is not None and self._imitates_identity(kk, a, b):
                    for m, mc in zip(self.card.mistakes, self.mistake_claims, strict=True):
                        if mc is not None and mc.exprs and self._same_claim(claim, mc):
                            return StepVerdict(
                                latex,
                                "wrong",
                                reference_step=m.after_step,
                                diagnosis=m.diagnosis,
                                shape=shape,
                                message=m.explanation or m.diagnosis,
                            )
                    unknowns = ", ".join(sorted(self._unknowns_in(kk)))
                    return StepVerdict(
                        latex,
                        "wrong",
                        reference_step=kk,
                        shape=shape,
                        message=(
                            f"holds only where {unknowns} takes its solution, but reference step {kk} holds for "
                            f"every {unknowns}"
                        ),
                    )
        msg = f"matches reference step {k}" if k else "follows from the previous step"
        if "previous" in hows and rels == ["="] * len(rels):
            k = None
            msg = (
                "follows from your previous step (solved for "
                + ", ".join(x[1] for x in exprs if x[0] == "var")
                + ")"
            )
        if "solution" in hows:
            msg += " (holds at the solution)"
        elif (
            self.prove
            and shape is None
            and all(h == "identity" for h in hows)
            and all(r == "=" for r in rels)
            and self._budget_end - time.perf_counter() > 0.3
        ):
            from .proof import proved

            pairs = list(zip(exprs, exprs[1:], strict=False))
            if proved(pairs, self.names, self.ev.definitions, dict(self.card.declarations.symbols)):
                msg += "; proved (sympy simplifies the difference to 0)"
        return StepVerdict(latex, "correct", reference_step=k, shape=shape, message=msg)

    def _judge_expression(self, latex: str, e, shape, claim: _Claim) -> StepVerdict:
        if any(self.same_value(e, x) for c in self.ref_claims if c is not None for x in c.exprs):
            k = self.match_reference(latex, claim)
            return StepVerdict(
                latex, "correct", reference_step=k, shape=shape, message=f"matches reference step {k}"
            )
        part = self.part_of_reference(e)
        if part is not None:  # "n - 1" alone: a piece of a reference expression, not a step (issue 16)
            return StepVerdict(
                latex,
                "cannot_check",
                reference_step=part,
                shape=shape,
                message=f"not a whole step: only part of reference step {part}; write the whole line",
            )
        diag, k, expl = self.diagnose_expression(latex, e)
        return StepVerdict(
            latex,
            "wrong",
            reference_step=k,
            diagnosis=diag,
            shape=shape,
            message=expl or "does not equal any expression of the reference chain",
        )

    def _wrong(self, latex, claim: _Claim, a, b, rel, shape) -> StepVerdict:
        # declared mistakes first
        for m, mc in zip(self.card.mistakes, self.mistake_claims, strict=True):
            if mc is None or not mc.exprs:
                continue
            if self._same_claim(claim, mc):
                return StepVerdict(
                    latex,
                    "wrong",
                    reference_step=m.after_step,
                    diagnosis=m.diagnosis,
                    shape=shape,
                    message=m.explanation or m.diagnosis,
                )
        if rel.startswith("~"):  # a number rounded wrongly: the generic diagnoses do not apply
            msg = self._approx_message(a, b, float(rel[1:])) or "the value is not the number written"
            return StepVerdict(
                latex,
                "wrong",
                reference_step=self.match_reference(latex, claim, wrong=True),
                shape=shape,
                message=msg,
            )
        solved = self.may_solve(a, b)
        diag = self.diagnose_pair(a, b, solved) if rel == "=" else None
        if diag is None and rel == "=" and solved:
            diag = self.diagnose_pair(a, b, False)
        k = self.match_reference(latex, claim, solved=False, wrong=True)
        if diag is None and rel in INEQ:
            diag = self._inequality_diagnosis(a, b, rel)
        if diag is None and k is not None:
            diag = self._mutation_diagnosis(b, k, (a,))
        msg = f"{diag}" if diag else "does not follow from the reference chain or the previous step"
        return StepVerdict(latex, "wrong", reference_step=k, diagnosis=diag, shape=shape, message=msg)

    def _approx_message(self, a, b, tol: float) -> str | None:
        """For a wrong ``x \\approx 0.5``: the value of x (at the first sample point) and the digits the
        decimal was written to, e.g. "the value is 0.1667, not 0.5 to 1 decimal place (within 0.05)"."""
        num, other = (a, b) if a[0] == "num" else (b, a)
        if num[0] != "num":
            return None
        if other[0] == "num" and _decimals(other[1]) < _decimals(num[1]):
            num, other = other, num  # 0.1667 \approx 0.18: 0.18 is the rounded value
        try:
            vals = [v for v in self.values(other) if v is not None and not is_array(v)]
        except (EvalError, ShapeError):
            return None
        if not vals:
            return None
        digits = max(0, round(-np.log10(2 * tol)))
        x = float(np.asarray(vals[0], float).reshape(-1)[0])
        place = "decimal place" if digits == 1 else "decimal places"
        return (
            f"the value is {x:.{digits + 3}f}, not {num[1]:.{digits}f} to {digits} {place} (within {tol:g})"
        )

    def may_solve(self, *trees) -> bool:
        """May these trees be compared where the unknowns take their solutions? Only on a card with
        ``solutions`` and when no tree has a derivative: two different derivative expressions (a sign flip
        and a missing factor of the same gradient) both vanish at the solution. Verdicts, declared-mistake
        matching, reference matching and ``compare`` all use this one rule."""
        return bool(self.solutions) and not any(contains(t, "deriv") for t in trees)

    def _same_claim(self, u: _Claim, m: _Claim) -> bool:
        """Is the claim u the declared mistake m? (Last expressions equal, at the solution when allowed by
        :meth:`may_solve`, and the first or second-to-last expressions equal too.)"""
        solved = self.may_solve(*u.exprs, *m.exprs)
        if not self.same_value(u.exprs[-1], m.exprs[-1]) and not (
            solved and self.same_value(u.exprs[-1], m.exprs[-1], solved=True)
        ):
            return False
        if len(u.exprs) >= 2 and len(m.exprs) >= 2:
            return self.same_value(u.exprs[0], m.exprs[0]) or self.same_value(u.exprs[-2], m.exprs[-2])
        return True

    # ------------------------------------------------------------------ diagnosis
    def diagnose_pair(self, a, b, solved: bool) -> str | None:
        """Generic diagnosis of ``a = b`` failing, from values: what is b relative to a?"""
        try:
            va, vb = self.values(a, solved), self.values(b, solved)
        except (EvalError, ShapeError):
            return None
        pairs = [
            (x, y, p) for x, y, p in zip(va, vb, self.points, strict=True) if x is not None and y is not None
        ]
        if len(pairs) < 3:
            return None
        xs = [x for x, _, _ in pairs]
        ys = [y for _, y, _ in pairs]

        def all_close(f):
            try:
                return all(self.close(f(x, p), y, 1e-5, 1e-8) for x, y, p in pairs)
            except (ValueError, TypeError, ZeroDivisionError, FloatingPointError):
                return False

        arr = any(isinstance(x, np.ndarray) and x.shape != (1, 1) for x in xs + ys)
        if arr:
            if all(
                isinstance(x, np.ndarray)
                and isinstance(y, np.ndarray)
                and x.shape == y.T.shape
                and np.allclose(x, y.T, rtol=1e-5, atol=1e-8)
                for x, y in zip(xs, ys, strict=True)
            ):
                return "dropped transpose"
            if any(
                isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape != y.shape
                for x, y in zip(xs, ys, strict=True)
            ):
                return "shape mismatch"
        with np.errstate(all="ignore"):
            if all_close(lambda x, p: -x):
                return "sign flip"
            scalarised = None
            if arr and all(
                isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                for x, y in zip(xs, ys, strict=True)
            ):
                # y = r x entrywise with one r per point: diagnose r like a scalar ratio
                scalarised = ([], [])
                for x, y in zip(xs, ys, strict=True):
                    j = int(np.argmax(np.abs(x)))
                    xv, yv = float(x.flat[j]), float(y.flat[j])
                    if abs(xv) < 1e-9 or not np.allclose(y, (yv / xv) * x, rtol=1e-6, atol=1e-9):
                        scalarised = None
                        break
                    scalarised[0].append(1.0)
                    scalarised[1].append(yv / xv)
            if not arr or scalarised is not None:
                fx = (
                    [float(np.asarray(x).reshape(-1)[0]) for x in xs] if scalarised is None else scalarised[0]
                )
                fy = (
                    [float(np.asarray(y).reshape(-1)[0]) for y in ys] if scalarised is None else scalarised[1]
                )
                if all(abs(x) > 1e-9 for x in fx):
                    ratios = [y / x for x, y in zip(fx, fy, strict=True)]
                    # n vs n-1: ratio n/(n-1) or (n-1)/n for some size
                    for nm in self._sizes():
                        ns = [p.values.get(nm) for _, _, p in pairs]
                        if None in ns or any(n <= 1 for n in ns):
                            continue
                        for f in (
                            lambda n: n / (n - 1),
                            lambda n: (n - 1) / n,
                            lambda n: n / (n + 1),
                            lambda n: (n + 1) / n,
                        ):
                            if all(
                                abs(r - f(n)) <= 1e-6 * max(1, abs(r))
                                for r, n in zip(ratios, ns, strict=True)
                            ):
                                return "n vs n-1"
                    if (
                        max(ratios) - min(ratios) <= 1e-6 * max(1.0, max(abs(r) for r in ratios))
                        and abs(ratios[0] - 1) > 1e-6
                    ):
                        return "sign flip" if abs(ratios[0] + 1) < 1e-6 else "missing factor"
                    ns = [r for r in ratios]
                    # b proportional to a with a size factor (1/n missing)
                    for nm in self._sizes():
                        vals = [p.values.get(nm) for _, _, p in pairs]
                        if None in vals:
                            continue
                        for f in (
                            lambda n: n,
                            lambda n: 1 / n,
                            lambda n: 2 * n,
                            lambda n: n / 2,
                            lambda n: 1 / (2 * n),
                        ):
                            if all(
                                abs(r - f(n)) <= 1e-6 * max(1, abs(r)) for r, n in zip(ns, vals, strict=True)
                            ):
                                return "missing factor"
                    if all(abs(x * y - 1) <= 1e-6 * max(1, abs(x * y)) for x, y in zip(fx, fy, strict=True)):
                        return "inverted ratio"
                    for kexp in (2, 0.5, -2, 3, -0.5):
                        if all(x > 0 for x in fx) and all(
                            abs(x**kexp - y) <= 1e-6 * max(1, abs(y)) for x, y in zip(fx, fy, strict=True)
                        ):
                            return "wrong exponent"
        return None

    def _repair_diagnosis(self, claim: _Claim, prev) -> str | None:
        """A step with a shape error: which small repair makes it hold? Toggling one transpose gives
        "dropped transpose", swapping two factors of a product "wrong multiplication order"."""
        from .trees import replace, walk

        deadline = min(time.perf_counter() + 0.3, self._budget_end)
        for j, e in enumerate(claim.exprs):
            for path, node in walk(e):
                if time.perf_counter() > deadline:
                    return None
                repairs = []
                if node[0] == "T":
                    repairs.append((node[1], "dropped transpose"))
                elif node[0] in ("var", "idx") and (
                    self.names.kinds.get(node[1]) == "matrix"
                    or (node[0] == "idx" and node[1] in self.card.declarations.shapes)
                ):
                    repairs.append((("T", node), "dropped transpose"))
                elif node[0] == "mul" and len(node[1]) >= 2:
                    fs = node[1]
                    for q in range(len(fs) - 1):
                        sw = list(fs)
                        sw[q], sw[q + 1] = sw[q + 1], sw[q]
                        repairs.append((("mul", tuple(sw)), "wrong multiplication order"))
                for new, diag in repairs:
                    exprs = list(claim.exprs)
                    exprs[j] = replace(e, path, new)
                    try:
                        ok = all(
                            self._pair_ok(a, b, r, prev)[0]
                            for a, r, b in zip(exprs, claim.rels, exprs[1:], strict=False)
                        )
                    except (EvalError, ShapeError):
                        continue
                    if ok and claim.rels:
                        return diag
        return None

    def _sizes(self) -> list[str]:
        return [n for n, k in self.names.kinds.items() if k == "dim"] + [
            n
            for n, dom in self.card.declarations.symbols.items()
            if dom == "positive_integer" and self.names.kinds.get(n) != "dim"
        ]

    def _inequality_diagnosis(self, a, b, rel: str) -> str | None:
        """A wrong bound: a reference relation with the same sign and one side equal; diagnose the other."""
        for c in self.ref_claims:
            if c is None:
                continue
            for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
                if r != rel:
                    continue
                if self.same_value(b, y) and not self.same_value(a, x):
                    pair = (x, a)
                elif self.same_value(a, x) and not self.same_value(b, y):
                    pair = (y, b)
                else:
                    continue
                diag = self.diagnose_pair(*pair, False)
                if diag is None:
                    for mt, d in mutations(pair[0], self.names):
                        if self.same_value(pair[1], mt):
                            return d
                return diag
        return None

    def _mutation_diagnosis(self, b, k: int, others=()) -> str | None:
        """Does b (or one of ``others``) equal a generic mutation of an expression of reference step k or
        its neighbours? Right-hand sides first; at most 0.25 s."""
        cands = []
        for kk in (k, k - 1, k + 1):
            if 1 <= kk <= len(self.ref_claims) and self.ref_claims[kk - 1] is not None:
                ex = self.ref_claims[kk - 1].exprs
                cands += list(ex[1:]) + list(ex[:1])
        deadline = min(time.perf_counter() + 0.25, self._budget_end)
        for target in (b, *others):
            for e in cands:
                if self.same_value(target, e):
                    continue  # this side is right; the mistake is elsewhere
                for mt, diag in mutations(e, self.names):
                    if time.perf_counter() > deadline:
                        return None
                    if self.same_value(target, mt):
                        return diag
        return None

    def part_of_reference(self, e) -> int | None:
        """The first reference step (1-based) one of whose expressions has a proper sub-expression with the
        value of ``e`` (a bare expression written as a step, e.g. the factor ``n - 1`` of
        ``(n-1)\\sigma^2``), or None. Only sub-expressions over the same names as ``e`` are evaluated."""
        from .trees import walk

        def names(tree) -> frozenset:
            return frozenset(n[1] for _, n in walk(tree) if n[0] == "var")

        want = names(e)
        if not want:
            return None
        for k, c in enumerate(self.ref_claims, 1):
            if c is None:
                continue
            for x in c.exprs:
                for path, node in walk(x):
                    if path and node[0] not in ("num",) and names(node) == want and self.same_value(e, node):
                        return k
        return None

    def diagnose_expression(self, latex: str, e) -> tuple[str | None, int | None, str | None]:
        """(diagnosis, reference step, explanation) for a wrong bare expression."""
        for m, mc in zip(self.card.mistakes, self.mistake_claims, strict=True):
            if mc is not None and mc.exprs and self.same_value(e, mc.exprs[-1]):
                return m.diagnosis, m.after_step, m.explanation
        k = self.nearest_step(latex)
        if k is None:
            return None, None, None
        c = self.ref_claims[k - 1]
        diag = None
        if c is not None:
            diag = self.diagnose_pair(c.exprs[-1], e, False) or self._mutation_diagnosis(e, k)
        return diag, k, diag

    # ------------------------------------------------------------------ matching
    @staticmethod
    def _sim(a: str, b: str) -> float:
        try:
            ca, cb = canonical(clean(a)).lstrip("="), canonical(clean(b)).lstrip("=")
        except ParseError:  # unbalanced braces: compare as written
            ca, cb = clean(a).lstrip("="), clean(b).lstrip("=")
        return difflib.SequenceMatcher(None, ca, cb).ratio()

    def nearest_step(self, latex: str) -> int | None:
        """The reference step most similar in writing (1-based), None for an empty chain."""
        best = None
        for k, st in enumerate(self.card.steps, 1):
            s = self._sim(latex, st.latex)
            if best is None or s > best[0]:
                best = (s, k)
        return best[1] if best else None

    @staticmethod
    def _features(tree):
        """Multiset of the tree's ingredients (names, functions, transposes, sums, numbers, powers):
        a form signature that ignores layout (\\frac vs ^{-1}, order of terms)."""
        from collections import Counter

        from .trees import walk

        c = Counter()
        for _, node in walk(tree):
            k = node[0]
            if k in ("var", "call"):
                c[(k, node[1])] += 1
            elif k == "idx":
                c[("idx", node[1])] += 1
            elif k == "num" and abs(node[1]) != 1.0:
                c[("num", round(abs(node[1]), 6))] += 1
            elif k == "pow" and node[2][0] == "num":
                c[("pow", node[2][1])] += 1
            elif k in ("T", "sum", "prod", "deriv", "expect", "add"):
                c[(k,)] += 1
        return c

    @classmethod
    def _fsim(cls, a, b) -> float:
        fa, fb = cls._features(a), cls._features(b)
        inter = sum((fa & fb).values())
        return 2 * inter / max(1, sum(fa.values()) + sum(fb.values()))

    def _subject(self, k: int):
        """The first expression of the chain that reference step k belongs to (1-based)."""
        while k > 1 and self.ref_claims[k - 1] is not None and self.ref_claims[k - 1].step.continues:
            k -= 1
        c = self.ref_claims[k - 1]
        return c.exprs[0] if c is not None else ("num", 0.0)

    def match_reference(
        self, latex: str, claim: _Claim, solved: bool = False, wrong: bool = False
    ) -> int | None:
        """The reference step a step is equivalent to (or, when wrong, should have been): value agreement
        of the last expressions, then the form (ingredients) of the last and first expressions."""
        best = None
        last, first = claim.exprs[-1], claim.exprs[0]
        own_first = not claim.step.continues and len(claim.exprs) > 1
        for k, c in enumerate(self.ref_claims, 1):
            if c is None:
                continue
            pieces = list(c.step.trees) or list(c.exprs)
            score = 1.5 * max(self._fsim(last, r) for r in pieces)
            if claim.step.continues and c.step.continues:
                score += 0.3  # "= ..." written like a continuing reference line
            if own_first:
                score += 1.0 * self._fsim(first, self._subject(k))
            if not wrong:
                if self.same_value(last, c.exprs[-1]) or (
                    solved
                    and self.may_solve(last, c.exprs[-1])
                    and self.same_value(last, c.exprs[-1], solved=True)
                ):
                    score += 1
                elif any(self.same_value(last, x) for x in c.exprs):
                    score += 0.5
            elif len(claim.exprs) >= 2 and any(self.same_value(first, x) for x in c.exprs):
                score += 1
            if best is None or score > best[0] + 1e-9:
                best = (score, k)
        return None if best is None else best[1]


def _nested_deriv(t) -> bool:
    from .trees import walk

    for _, node in walk(t):
        if node[0] == "deriv" and contains(node[1], "deriv"):
            return True
    return False


def _decimals(x: float) -> int:
    """Digits after the decimal point in the shortest repr of x (0.18 -> 2, 3.0 -> 0)."""
    r = repr(float(x))
    if "e" in r or "." not in r:
        return 0
    frac = r.split(".")[1].rstrip("0")
    return len(frac)


def _is_zero(t) -> bool:
    return t == ("num", 0.0)


def _agree(a: list, b: list) -> bool:
    both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return len(both) >= 3 and all(x == y for x, y in both)


def near_misses_for(chk: CardChecker, per_step: int = 6) -> list[tuple[str, str]]:
    """Generated wrong variants of the checkable reference steps: (LaTeX, diagnosis), at most two of each
    diagnosis per step, each numerically different from its step and of the same shape."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def shape_of(vals):
        for v in vals:
            if v is not None:
                return v.shape if isinstance(v, np.ndarray) and v.shape != (1, 1) else ()
        return None

    for st, c in zip(chk.card.steps, chk.ref_claims, strict=True):
        if c is None or not st.checkable or not c.exprs:
            continue
        e = c.exprs[-1]
        try:
            want = shape_of(chk.values(e))
        except (EvalError, ShapeError):
            continue
        n = 0
        per_diag: dict[str, int] = {}
        for mt, diag in mutations(e, chk.names, limit=60):
            if n >= per_step or per_diag.get(diag, 0) >= 2:
                continue
            try:
                if shape_of(chk.values(mt)) != want or chk.same_value(mt, e):
                    continue
            except (EvalError, ShapeError):
                continue
            body = tidy(to_latex(mt, chk.names))
            if c.step.continues or len(c.exprs) == 1:
                latex = "= " + body if c.step.continues else body
            else:
                latex = tidy(to_latex(c.exprs[0], chk.names)) + " = " + body
            if latex in seen:
                continue
            seen.add(latex)
            out.append((latex, diag))
            per_diag[diag] = per_diag.get(diag, 0) + 1
            n += 1
    return out


def is_tautology(latex: str) -> bool:
    """Does a step relate two or more copies of the same expression as written (``a = a``, ``z < z``,
    ``z = z = z``; spacing and bracing aside)? ``x^{-1} = \\frac{1}{x}`` is a rewrite, not a tautology."""
    try:
        pieces, rels = split_relations(clean(latex))
        own = [canonical(p).replace(" ", "") for p in pieces if p.strip()]
    except ParseError:
        return False
    return bool(rels) and len(own) >= 2 and all(a == b for a, b in zip(own, own[1:], strict=False))


def _walk(t):
    from .trees import walk

    return walk(t)


def _vars(t) -> set:
    """The ("var", name) nodes of a tree."""
    from .trees import walk

    return {node for _, node in walk(t) if node[0] == "var"}


def _written_keys(written: str) -> tuple:
    """The names a user's written left side goes by in the notation rules: as written (``a^{(1)}``) and
    without its subscript (``\\hat{y}_k``: ``hat_y``)."""
    out = []
    for w in (written.strip(), re.sub(r"_(?:\{[^{}]*\}|[A-Za-z0-9])\s*$", "", written.strip())):
        try:
            out.append(name_key(w))
        except (ParseError, IndexError, ValueError):
            continue
    return tuple(out)


def _renamed_away(letters, text: str) -> tuple:
    """The letters (example indices of a step as written) that no longer occur in its rewritten text."""
    present = set(re.findall(r"[A-Za-z]+", text))
    return tuple(x for x in letters if x not in present)


def _summand(t, indices: dict):
    """The tree with every sum over a declared index replaced by its body (the index left free): the
    per-example form of a sum over examples. None when the tree has no such sum."""
    found = []

    def f(node):
        if node[0] == "sum" and node[2] in indices:
            found.append(node[2])
            return _map_tree(node[1], f)
        return node

    out = _map_tree(t, f)
    return out if found else None
