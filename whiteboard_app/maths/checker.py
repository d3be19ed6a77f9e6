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

The checker is split by idea: this module holds the verdict logic (:class:`CardChecker`); its parts are
:mod:`.check_run` (the user's run: their names and definitions), :mod:`.check_matching` (matching against
the reference chain), :mod:`.check_numeric` (values and agreement at the sample points) and
:mod:`.check_diagnosis` (what is wrong with a wrong step); :mod:`.check_claims` holds the types they share.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import zlib

import numpy as np

from whiteboard_app.decks.schema import Card
from whiteboard_app.latex.names import name_key
from whiteboard_app.latex.tokens import (
    MalformedError,
    ParseError,
    canonical,
    clean,
    split_relations,
)

from . import conditions as _conditions
from . import conventions as _conventions
from . import functions as _functions
from . import renaming as _renaming
from .check_claims import (
    INEQ,
    Comparison,
    StepVerdict,
    _Claim,
    _is_zero,
    _map_tree,
    _mentions,
)
from .check_diagnosis import DiagnosisMixin, near_misses_for
from .check_matching import MatchingMixin
from .check_numeric import NumericMixin, _agree
from .check_run import RunMixin, _Run, _with_step_names
from .evaluate import EvalError, Evaluator, IndexRangeError, ShapeError, contains
from .normalise import names_from_declarations
from .notation import prediction_reading, rewrite_step, rules_for
from .parse import ParsedStep, parse_piece, parse_step, validate

__all__ = ["CardChecker", "Comparison", "StepVerdict", "is_tautology", "near_misses_for"]


_TOTAL_DERIVATIVE = re.compile(
    r"\\frac\s*\{\s*(?:\\mathrm\s*\{\s*d\s*\}|d)[^{}]*\}\s*\{\s*(?:\\mathrm\s*\{\s*d\s*\}|d)"
)


# E \in \mathbb{R}^{a \times b}: a claim about E's shape (the last top-level relation of the step)
_SHAPE_CLAIM = re.compile(
    r"^(?P<left>.*)\\in\s*(?:\\mathbb\s*\{\s*R\s*\}|\\mathbf\s*\{\s*R\s*\}|\\R(?![A-Za-z]))\s*"
    r"(?:\^\s*(?:\{(?P<dims>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}|(?P<dim1>[A-Za-z0-9])))?\s*$",
    re.S,
)


def _total_derivative(latex: str, previous: list[str]) -> bool:
    """Does the step (or, for a continuation ``= ...``, the step it continues) write a total derivative
    ``\\frac{dL}{d\\mathbf{w}}``, ``\\frac{\\mathrm{d}L}{\\mathrm{d}\\boldsymbol\\theta}``? Deisenroth et al. (MML 5.2) and
    Magnus & Neudecker write it in numerator layout: with respect to a column vector, a row. The gradient
    ``\\nabla_w L`` and the partial ``\\frac{\\partial L}{\\partial w}`` stay columns (the cards' layout)."""
    if _TOTAL_DERIVATIVE.search(latex):
        return True
    if not latex.lstrip().startswith("="):
        return False
    for s in reversed(previous):
        if not s.lstrip().startswith("="):
            return bool(_TOTAL_DERIVATIVE.search(s))
        if _TOTAL_DERIVATIVE.search(s):
            return True
    return False


_DERIVATIVE = re.compile(r"\\partial|\\frac\s*\{\s*(?:\\mathrm\s*\{\s*d\s*\}|d)")


def _writes_derivative(latex: str, previous: list[str]) -> bool:
    """Does the step, or the chain it continues (a leading ``=``), write a derivative (``\\partial``,
    ``\\frac{d..}{d..}``)? Only such a step may be read in numerator layout."""
    if _DERIVATIVE.search(latex):
        return True
    if not latex.lstrip().startswith("="):
        return False
    for s in reversed(previous):
        if _DERIVATIVE.search(s):
            return True
        if not s.lstrip().startswith("="):
            return False
    return False


#: a logarithm written without a base: ``\\log x``, ``\\log(x)``, ``\\lg x`` (not ``\\log_2``, ``\\ln``, ``\\logistic``)
_BARE_LOG = re.compile(r"\\(?:log|lg)(?![A-Za-z_])")

_NUMERATOR_NOTE = "read in numerator layout (the derivative of a scalar by a column vector as a row)"


def _as_derivatives(latex: str, previous: list[str]) -> tuple[str, list[str]]:
    """The step and the user's earlier steps with every differential ``\\mathrm{d}f = A\\,\\mathrm{d}x`` read as the
    gradient it identifies (:mod:`whiteboard_app.maths.differentials`)."""
    if r"{d}" not in latex and not any(r"{d}" in p for p in previous):
        return latex, previous
    return _differential(latex), [_differential(p) for p in previous]


def _differential(latex: str) -> str:
    from .differentials import differential_as_derivative

    return differential_as_derivative(latex) or latex


def _shape_error(v: StepVerdict) -> bool:
    """Is the verdict's reason a shape error (``cannot multiply (d x 1) by (d x d)``), not a wrong value?"""
    return v.diagnosis == "shape mismatch" or bool(v.shape and not v.shape.startswith("("))


#: "unknown name 'r_nk'": an undeclared name with two or more index letters as its subscript
_UNMODELLED = re.compile(r"unknown names? '\\?([A-Za-z]+)_([a-z]{2,3})'")


#: the names texts give the likelihood (Casella & Berger L(theta|x), CS229 L(theta), Bishop p(D|theta),
#: \mathcal{L}), with optional arguments; never l or log L, the log-likelihood's own names
_LIKELIHOOD_NAME = re.compile(r"(?:L|\\mathcal\{L\}|p|P)\s*(?:\(.*\))?")


class CardChecker(RunMixin, MatchingMixin, DiagnosisMixin, NumericMixin):
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
        _conditions.warm(self)  # hook (issue 11, i11eq): the card's conditions, at load (maths/conditions.py)

    @staticmethod
    def _plain(key: str) -> bool:
        from whiteboard_app.latex.names import is_plain_name_key

        return is_plain_name_key(key)

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
        if rel == "=":  # hook (issue 11, i11eq): an equation in a parameter, see maths/conditions.py
            how = _conditions.equation_how(self, a, b, prev)
            if how is not None:
                return True, how
        if (
            rel == "="
            and self.solutions
            and not (contains(a, "deriv") or contains(b, "deriv"))
            and self._substitutes_solution(a, b)
            and self._holds_at_solution(a, b, len(t))
        ):
            return True, "solution"  # the solution put into a function of the unknown (after the conditions)
        if rel == "=" and prev is not None and self._solves_previous(a, b, prev):
            return True, "previous"
        if rel in ("=", *INEQ) and prev is not None and self._substitutes_previous(a, b, rel, prev):
            return True, "previous"
        if rel in ("=", *INEQ) and prev is not None and self._substitutes_earlier(a, b, rel, prev):
            return True, "earlier"
        if rel == "=" and prev is not None and self._under_earlier_constraint(a, b, prev):
            return True, "earlier"
        if rel == "=" and self._under_reference_constraint(a, b) is not None:
            return True, "reference condition"
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

    def _substitutes_previous(self, a, b, rel: str, prev: _Claim) -> bool:
        """The user's previous step is ``v = E`` for a declared symbol or vector v (not an identity: it holds
        at the solution, ``w = \\sum_i \\alpha_i y_i x_i``), and ``a rel b`` holds at every point once v is
        replaced by E on both sides: it follows by substituting the previous step
        (``\\frac{1}{2}\\|w\\|^2 = \\frac{1}{2}\\sum_i\\sum_j \\alpha_i\\alpha_j y_iy_j x_i^Tx_j``)."""
        if prev.rels != ["="] or len(prev.exprs) != 2:
            return False
        for side, expr in ((prev.exprs[0], prev.exprs[1]), (prev.exprs[1], prev.exprs[0])):
            if side[0] != "var" or self.names.kinds.get(side[1]) not in ("symbol", "matrix"):
                continue
            v = side[1]
            if v in _mentions(expr) or v not in (_mentions(a) | _mentions(b)):
                continue

            def sub(node, v=v, expr=expr):
                return expr if node == ("var", v) else node

            try:
                t = [q for q in self.truth(_map_tree(a, sub), _map_tree(b, sub), rel) if q is not None]
            except (EvalError, ShapeError):
                continue
            if len(t) >= 3 and all(t):
                return True
        return False

    def _substitutes_earlier(self, a, b, rel: str, prev: _Claim) -> bool:
        """As :meth:`_substitutes_previous`, with one of the user's three steps before the previous one:
        ``w = \\sum_i \\alpha_i y_i x_i``, then ``\\sum_i \\alpha_i y_i = 0``, then ``\\frac{1}{2}\\|w\\|^2 = ...``
        (a derivation split in another order than the card's)."""
        claims = getattr(getattr(self, "_run", None), "claims", None) or []
        if not claims or claims[-1] is not prev:
            return False
        return any(
            c is not None and self._substitutes_previous(a, b, rel, c) for c in reversed(claims[-4:-1])
        )

    def _under_earlier_constraint(self, a, b, prev: _Claim) -> bool:
        """``a = b`` holds once the user's earlier steps are used: ``v = E`` steps substituted (as in
        :meth:`_substitutes_earlier`) and a constraint ``C = D`` among the previous six steps that is no
        identity (``\\sum_i \\alpha_i y_i = 0``, the SVM's KKT condition) imposed. The constraint is imposed
        at each sample point by solving it for one of its scalars (an element of a one-index family it
        sums over, or a declared symbol) with the secant method; the step must then hold at every point
        (at least 3). So the dual ``L = \\sum_i\\alpha_i - \\frac12\\sum_{i,j}...`` follows from
        ``w = \\sum_i\\alpha_iy_ix_i`` and ``\\sum_i\\alpha_iy_i = 0`` (Bishop 7.10)."""
        claims = getattr(getattr(self, "_run", None), "claims", None) or []
        if not claims or claims[-1] is not prev:
            return False
        recent = [c for c in claims[-6:] if c is not None and c.rels == ["="] and len(c.exprs) == 2]
        subs: dict = {}
        constraints = []
        for c in recent:
            x, y = c.exprs
            for side, expr in ((x, y), (y, x)):
                if side[0] == "var" and self.names.kinds.get(side[1]) in ("symbol", "matrix"):
                    if side[1] not in _mentions(expr):
                        subs.setdefault(side[1], expr)
                    break
            else:
                # a derivative set to something is a condition, not this; a defined name alone on a side
                # (the card's l = ..., the user's L = \prod_i p(x_i) under the alias L -> l) is a claim
                # about its definition, judged against it, never an assumption to impose
                if not (
                    contains(x, "deriv")
                    or contains(y, "deriv")
                    or self._is_defined_name(x)
                    or self._is_defined_name(y)
                ):
                    constraints.append((x, y))
        if not constraints:
            return False
        return any(self._holds_under(a, b, x, y, subs) for x, y in constraints)

    def _is_defined_name(self, e) -> bool:
        """Whether the expression tree ``e`` is a name alone whose value is a definition (kind "defined")."""
        return e[0] == "var" and self.names.kinds.get(e[1]) == "defined"

    def _holds_under(self, a, b, x, y, subs: dict) -> bool:
        """``a = b`` on the constraint ``x = y`` (no identity) solved for one of its knobs; see
        :meth:`_holds_on_constraint`."""
        try:
            if all(t for t in self.truth(x, y, "=") if t is not None):
                return False  # an identity constrains nothing
        except (EvalError, ShapeError):
            return False
        return any(self._holds_on_constraint(a, b, x, y, knob, subs) for knob in self._knobs(x, y))

    def _reference_constraints(self) -> list[tuple[int, tuple]]:
        """The reference chain's constraints: (1-based step, (x, y)) for each checkable reference step
        ``x = y`` with no derivative, no unknown and no definition target alone on a side, that is not an
        identity but holds where the card's unknowns take their solutions (the SVM's KKT condition
        ``\\sum_i \\alpha_i y_i = 0``, the stationarity in b). Cached per checker."""
        cached = getattr(self, "_ref_constraints", None)
        if cached is not None:
            return cached
        out: list[tuple[int, tuple]] = []
        if self.solutions:
            for k, c in enumerate(self.ref_claims, start=1):
                if c is None or c.rels != ["="] or len(c.exprs) != 2:
                    continue
                x, y = c.exprs
                if contains(x, "deriv") or contains(y, "deriv") or x[0] == "var" or y[0] == "var":
                    continue
                if (_mentions(x) | _mentions(y)) & set(self.solutions):
                    continue
                try:
                    if all(t for t in self.truth(x, y, "=") if t is not None):
                        continue
                except (EvalError, ShapeError):
                    continue
                if self._holds_at_solution(x, y, len(self.points)) or _is_zero(x) or _is_zero(y):
                    out.append((k, (x, y)))
        self._ref_constraints = out
        return out

    def _under_reference_constraint(self, a, b) -> int | None:
        """The reference step (1-based) whose constraint makes ``a = b`` hold, with the card's unknowns at
        their solutions, when ``a = b`` is a solution-only reference relation (``L = ...``, one side as the
        card writes it) with the condition applied: the SVM dual ``L = \\sum_i\\alpha_i -
        \\frac12\\sum_{i,j}\\alpha_i\\alpha_jy_iy_jx_i^Tx_j`` written straight after the card's Lagrangian
        (Bishop 7.10) holds once ``\\sum_i\\alpha_iy_i = 0`` (reference step 5). None when no reference
        constraint does it, or when a side has a derivative (a sign-flipped gradient also vanishes at the
        solution)."""
        if not self.may_solve(a, b):
            return None
        cons = self._reference_constraints()
        if not cons:
            return None
        # the step must be a solution-only reference relation (L = ...) with the condition applied: one
        # side written as that relation's side, the other equal to its other side on the condition
        pairs = []
        for xr, yr in self._solution_only_refs():
            for mine, theirs, ref_other in ((a, b, yr), (b, a, yr)):
                if mine == xr:
                    pairs.append((theirs, ref_other))
            for mine, theirs, ref_other in ((a, b, xr), (b, a, xr)):
                if mine == yr:
                    pairs.append((theirs, ref_other))
        for k, (x, y) in cons:
            if any(self._holds_under(u, r, x, y, {}) for u, r in pairs) and self._holds_under(a, b, x, y, {}):
                return k
        return None

    def _knobs(self, x, y) -> list:
        """Scalars a constraint can be solved for: the first element of each one-index family it mentions
        (scope key ``("@idx", fam, (lo,))``) and its declared scalar symbols."""
        out = []
        for nm in sorted(_mentions(x) | _mentions(y)):
            kind = self.names.kinds.get(nm)
            fam = self.names.families.get(nm, "")
            if kind == "family" and len(fam) == 1 and fam in self.card.declarations.indices:
                lo = self.card.declarations.indices[fam][0]
                if lo.strip().lstrip("-").isdigit():
                    out.append(("@idx", nm, (int(lo),)))
            elif kind == "symbol":
                out.append(nm)
        return out

    def _holds_on_constraint(self, a, b, x, y, knob, subs: dict) -> bool:
        """``a = b`` at every sample point (at least 3) moved onto the constraint ``x = y`` by solving for
        ``knob`` (secant method, at most 8 steps; a point where it does not converge is skipped), with each
        name of ``subs`` taking the value of its expression there (also inside the card's definitions)."""
        rtol, atol = self._tol(a, b)
        ok = 0
        for p in self.points:
            try:
                base = self.ev.value(
                    ("idx", knob[1], (("num", float(knob[2][0])),))
                    if isinstance(knob, tuple)
                    else ("var", knob),
                    p,
                    {},
                )
                if isinstance(base, np.ndarray):
                    return False

                def f(v, p=p):
                    d = self.ev.value(("add", (x, ("mul", (("num", -1.0), y)))), p, {knob: v})
                    if isinstance(d, np.ndarray):
                        raise EvalError("a constraint between matrices")
                    return float(d)

                v0, v1 = float(base), float(base) + 0.5
                f0, f1 = f(v0), f(v1)
                for _ in range(8):
                    if abs(f1) < 1e-10 or f1 == f0:
                        break
                    v0, v1, f0 = v1, v1 - f1 * (v1 - v0) / (f1 - f0), f1
                    f1 = f(v1)
                if abs(f1) > 1e-8:
                    continue
                scope: dict = {knob: v1}
                for nm, expr in subs.items():
                    scope[nm] = self.ev.value(expr, p, scope)
                if self.may_solve(a, b):
                    # the card's unknowns the user has not substituted take their solutions on the
                    # constraint (w = sum_i alpha_i y_i x_i inside the card's Lagrangian)
                    for nm, expr in self.solutions.items():
                        if nm not in scope:
                            scope[nm] = self.ev.value(expr, p, scope)
                va = self.ev.value(a, p, scope)
                vb = self.ev.value(b, p, scope)
            except (EvalError, ShapeError, ZeroDivisionError, OverflowError, ValueError):
                continue
            if np.all(np.abs(np.asarray(va, dtype=float)) < 1e-9) and np.all(
                np.abs(np.asarray(vb, dtype=float)) < 1e-9
            ):
                continue  # the constraint solved for a common factor (mu = 0) makes any step 0 = 0: no evidence
            if not self.close(va, vb, rtol, atol):
                return False
            ok += 1
        return ok >= 3

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
        step, kept, own, funcs = _functions.read_run(self.card, latex, previous)
        if own is not None or funcs:
            if own is not None:
                # g(z) = 1/(1+e^{-z}): a function of the user's own, read into the later steps of the run
                v = StepVerdict(
                    latex,
                    "correct",
                    defines=f"{own.name}({own.var})",
                    message=f"defines the function {own.name}({own.var}); later steps read {own.name}(...) "
                    "as its value",
                )
            else:
                v = dataclasses.replace(self.check(step, kept), latex=latex)
            v.ms = (time.perf_counter() - t0) * 1000.0
            self._verdicts[vkey] = dataclasses.replace(v)
            return v
        try:
            # extras (diagnosis searches, the "proved" label) stop 0.6 s after the start, so a check
            # stays inside the worker's ~1 s limit on a busy machine
            self._budget_end = t0 + self.BUDGET_S
            written, as_written = latex, previous
            latex, previous = _as_derivatives(latex, previous)  # differentials df = A dx as gradients
            try:
                run = self._run_for(previous)
            except RecursionError:
                run = self._base_run
            self._use(run)
            self._layout_rows = _total_derivative(latex, previous)
            shape_claim = _SHAPE_CLAIM.match(latex)
            v = self._shape_claim(shape_claim, previous) if shape_claim else None
            if v is None:
                v = self._check(latex, previous, run)
                if (
                    v.verdict == "wrong"
                    and _writes_derivative(latex, previous)
                    and self._numerator_evidence(v, as_written)
                ):
                    v = self._in_numerator_layout(latex, previous, run, v)
                v = _conventions.mean_reading(self, latex, previous, as_written, v)
                v = _conventions.sign_reading(self, latex, previous, as_written, v)
            v.latex = written
            _renaming.annotate(self, run, latex, v)  # hook (issue 11, i11eq): "reading q as θ"
            self._skipped(v, as_written)
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
            v = StepVerdict(vkey[1], "unparsed", message=str(exc))
        finally:
            self._layout_rows = False
            self._use(self._base_run)
        if v.verdict == "wrong" and v.diagnosis == "shape mismatch":
            v = self._scalar_alias_shapes(v)
        if v.verdict != "correct":
            alt = self._prediction_letters(vkey[1], list(vkey[0]), v)
            if alt is None:
                alt = self._likelihood_reading(vkey[1], list(vkey[0]), v)
            if alt is None:
                alt = self._bits_reading(vkey[1], list(vkey[0]), v)
            if alt is not None:
                v = alt
        v.ms = (time.perf_counter() - t0) * 1000.0
        if len(self._verdicts) > 5000:
            self._verdicts.clear()
        self._verdicts[vkey] = dataclasses.replace(v)
        return v

    def _scalar_alias_shapes(self, v: StepVerdict) -> StepVerdict:
        """A shape mismatch in a step that writes a letter the card aliases to a scalar (Bishop's precision
        beta on a card whose coefficient vector ESL and ISLR write beta): the reading is in doubt, not the step,
        so it is "cannot check" with the reading named, never "wrong"."""
        hits = rules_for(self.card).scalar_letter_aliases(v.latex)
        if not hits:
            return v
        said = ", ".join(f"{k} as {t}" for k, t in hits)
        return StepVerdict(
            v.latex,
            "cannot_check",
            reference_step=v.reference_step,
            message=f"reading {said} (the card's notation) gives mismatched shapes; if {hits[0][0]} is another "
            "quantity here (a coefficient vector), write the card's name for it",
        )

    def _numerator_evidence(self, v: StepVerdict, previous: list[str]) -> bool:
        """Has the user written in numerator layout? A shape error in the cards' layout that the other layout
        may resolve (``dL/dy (I + J)``: a column times a matrix), or an earlier step of the run read in numerator
        layout. A step that only equates a column with a row (``dL/dw = (y-hat - y) x^T``) is no evidence: it is
        the dropped transpose of the cards' layout."""
        if _shape_error(v):
            return True
        for j in range(len(previous)):
            pv = self._verdicts.get((tuple(previous[:j]), previous[j]))
            if pv is not None and pv.note and _NUMERATOR_NOTE in pv.note:
                return True
        return False

    def _in_numerator_layout(self, latex: str, previous: list[str], run: _Run, v: StepVerdict) -> StepVerdict:
        """A step judged wrong in the cards' layout (gradients of a scalar as columns), judged again with every
        written derivative of a scalar with respect to a column vector read as a row (numerator layout: He et
        al. 2016 eq. 5 ``dL/dx = dL/dy (I + dF/dx)``, Magnus & Neudecker, MML 5.2). The whole step (and the
        earlier steps it is compared with) is read in the one layout: correct there, it is correct; a slip
        wrong in both layouts stays wrong, named by the reading without a shape mismatch when only one has it
        (a sign flip in ``dL/dy (I - J)``, not "cannot multiply")."""
        self.ev.rows = True
        self.ev._memo.clear()
        try:
            self._use(run)
            w = self._check(latex, previous, run)
        except (ParseError, RecursionError):
            return v
        finally:
            self.ev.rows = False
            self.ev._memo.clear()
        if w.verdict == "correct" or (w.verdict == "wrong" and _shape_error(v) and not _shape_error(w)):
            # wrong in both: when only the cards' layout has a shape error, the step is written in numerator
            # layout and its error is the other one (dL/dy (I - J): not "cannot multiply (d x 1) by (d x d)")
            w.note = f"{w.note}; {_NUMERATOR_NOTE}" if w.note else _NUMERATOR_NOTE
            return w
        return v

    def _shape_claim(self, m: re.Match, previous: list[str]) -> StepVerdict | None:
        """``E \\in \\mathbb{R}^{a\\times b}`` (``\\mathbb{R}^{a}`` a column, ``\\mathbb{R}`` a scalar), after
        any relations of E (``Q = XW_Q \\in \\mathbb{R}^{n\\times d_k}``): the relations are checked as a step,
        then E's shape at every sample point against the dimensions claimed (evaluated there). Correct when
        both hold, wrong ("wrong shape") when E has another shape; None when the claim cannot be read (the
        step is then checked as before: an undecidable relation)."""
        latex = m.string
        left = m.group("left").strip()
        dims_s = m.group("dims") if m.group("dims") is not None else (m.group("dim1") or "")
        dims = [d.strip() for d in re.split(r"\\times|\\cdot|,|\*", dims_s) if d.strip()] if dims_s else []
        if not left or len(dims) > 2:
            return None
        try:
            trees = [parse_piece(d, self.names) for d in dims]
            ps = self.parse(left)
        except ParseError:
            return None
        if not ps.trees or ps.undecidable:
            return None
        base = None
        if ps.relations:
            base = self.check(left, previous)
            if base.verdict != "correct":
                return dataclasses.replace(base, latex=latex)
        tree = ps.trees[-1]
        try:
            values = self.values(tree)
        except (EvalError, ShapeError):
            return None
        seen = 0
        for v, p in zip(values, self.points, strict=True):
            if v is None:
                continue
            try:
                want = [int(round(float(np.asarray(self.ev.value(t, p)).reshape(-1)[0]))) for t in trees]
            except (EvalError, ShapeError, ValueError, TypeError):
                return None
            want = want + [1] * (2 - len(want))
            have = list(np.asarray(v).shape) if isinstance(v, np.ndarray) else [1, 1]
            self.ev._current_dims = p.dims
            if have != want:
                claimed = "scalar" if want == [1, 1] else f"({' x '.join(dims + ['1'] * (2 - len(dims)))})"
                return StepVerdict(
                    latex,
                    "wrong",
                    reference_step=base.reference_step if base else self.nearest_step(left),
                    diagnosis="wrong shape",
                    shape=self.ev.shape_name(v),
                    message=f"{left.split('=')[-1].strip()} is {self.ev.shape_name(v)}, not {claimed}",
                )
            seen += 1
        if seen < 3:
            return None
        k = base.reference_step if base else self.nearest_step(left)
        shape = self.ev.shape_name(next(v for v in values if v is not None))
        msg = f"shape {shape} as claimed" + (f"; {base.message}" if base and base.message else "")
        return StepVerdict(latex, "correct", reference_step=k, shape=shape, message=msg)

    def _prediction_letters(self, latex: str, previous: list[str], first: StepVerdict) -> StepVerdict | None:
        """The step read in Bishop's letters (PRML 4.3.2: t the target, y the prediction), when it is not
        correct as written: on a card whose target y has the alias t and whose prediction has the alias
        ``\\hat{y}``, a step that writes y, in a run that writes t (or a step that defines y: ``y_n =
        \\sigma(w^T\\phi_n)``), is checked again with each y read as the prediction (previous steps too). The
        verdict is that reading's when it is correct (with a note), or when both readings are wrong (its
        diagnosis is then the one in the user's letters: a sign flip, not a missing factor); else None."""
        if getattr(self, "_in_prediction_reading", False):
            return None
        got = prediction_reading(self.card, latex)
        if got is None:
            return None
        alt, key, target = got
        letter = re.compile(r"(?<![A-Za-z\\])" + re.escape(key) + r"(?![A-Za-z])")
        defines = re.match(
            r"\s*(?:\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*)?"
            + re.escape(target)
            + r"\s*\}?\s*(?:_\s*(?:\{[^{}=]*\}|[A-Za-z0-9]))?\s*(?:=|:=|\\leftarrow)",
            latex,
        )
        writes_key = any(letter.search(x) for x in [latex, *previous])
        if not (defines or writes_key):
            return None
        prev_alt = []
        for x in previous:
            g = prediction_reading(self.card, x)
            prev_alt.append(g[0] if g is not None else x)
        self._in_prediction_reading = True
        try:
            v = self.check(alt, prev_alt)
        finally:
            self._in_prediction_reading = False
        if v.verdict != "correct" and not (v.verdict == "wrong" and first.verdict == "wrong" and writes_key):
            return None
        note = f"reading {target} as the prediction and {key} as the target (Bishop's letters)"
        return dataclasses.replace(v, latex=latex, message=f"{v.message}; {note}" if v.message else note)

    def _likelihood_reading(self, latex: str, previous: list[str], first: StepVerdict) -> StepVerdict | None:
        """The step read as the likelihood, when it is not correct as written: ``L(\\mu,\\sigma^2) =
        \\prod_{i=1}^n p(x_i|\\mu,\\sigma^2)`` on a card that names the log-likelihood and reads ``L`` as it
        (``'L' = '\\ell'``). Many texts write L (or p(x|theta)) for the product of densities and log L for
        its log (Bishop PRML 1.53-1.54; Casella & Berger 7.2.2); a step ``X = P_1 = P_2`` whose sides are
        products (``\\prod``) is checked again as ``\\log X = \\log(P_1) = \\log(P_2)``. The verdict is
        that reading's when it is correct (with a note), else None: a slip inside the product stays wrong,
        and a name the card does not take a log of (``\\ell = \\prod ...``) is not read so."""
        if getattr(self, "_in_likelihood_reading", False) or "\\prod" not in latex:
            return None
        try:
            parts, rels = split_relations(clean(latex))
        except ParseError:
            return None
        if not rels or any(r != "=" for r in rels) or len(parts) != len(rels) + 1:
            return None
        if "\\prod" in parts[0] or not all("\\prod" in x for x in parts[1:]):
            return None
        name = parts[0].strip()
        logs = [f"\\log\\left({x.strip()}\\right)" for x in parts[1:]]
        alts = [" = ".join([f"\\log {name}", *logs])]
        if _LIKELIHOOD_NAME.fullmatch(name):  # L(w) = prod ... where the card's L is the loss: its log is l
            ell = self.card.notation.aliases.get("\\ell", "\\ell")  # the card's log-likelihood (-L)
            alts.append(" = ".join([f"{ell}", *logs]))
        self._in_likelihood_reading = True
        try:
            for alt in alts:
                v = self.check(alt, previous)
                if v.verdict == "correct" and v.defines is None:
                    break
            else:
                return None
        finally:
            self._in_likelihood_reading = False
        note = f"reading {parts[0].strip()} {_conventions.LIKELIHOOD_NOTE}"
        return dataclasses.replace(v, latex=latex, message=f"{v.message}; {note}" if v.message else note)

    def _bits_reading(self, latex: str, previous: list[str], first: StepVerdict) -> StepVerdict | None:
        """The step with every bare ``\\log`` read as ``\\log_2``, on a card whose reference chain takes logarithms
        to base 2 only (entropies in bits): Cover & Thomas (2.1: "log is to the base 2, and entropy is expressed
        in bits"), MacKay and Mitchell write ``\\log`` for ``\\log_2``. Only for a step that is wrong as written
        and writes a bare ``\\log`` (``\\ln`` is natural whatever the card); the verdict is that reading's when it
        is correct or wrong (with a note; a slip stays wrong, diagnosed in bits), else None."""
        if first.verdict != "wrong" or getattr(self, "_in_bits_reading", False):
            return None
        if not _BARE_LOG.search(latex) or not self._bits_card():
            return None
        alt = _BARE_LOG.sub(r"\\log_{2}", latex)
        prev = [_BARE_LOG.sub(r"\\log_{2}", s) for s in previous]
        self._in_bits_reading = True
        try:
            v = self.check(alt, prev)
        finally:
            self._in_bits_reading = False
        if v.verdict not in ("correct", "wrong"):
            return None
        # wrong in both readings: the diagnosis in the card's base (a sign flipped in one term, not a factor)
        note = "reading \\log as \\log_2 (bits), the base of the card's entropies"
        return dataclasses.replace(v, latex=latex, note=f"{v.note}; {note}" if v.note else note)

    def _bits_card(self) -> bool:
        """Does the card's reference chain write logarithms, all of them to base 2 (``\\log_2``)?"""
        texts = [st.latex for st in self.card.steps]
        return any("\\log_2" in t or "\\log_{2}" in t for t in texts) and not any(
            _BARE_LOG.search(t) or "\\ln" in t for t in texts
        )

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
        if (
            v.verdict == "unparsed"
            and (m := _UNMODELLED.match(v.message or ""))
            and len(set(m.group(2))) == len(m.group(2))
            and all(
                ch in self.card.declarations.indices
                or re.search(r"_(?:\{\s*)?" + ch + r"(?![A-Za-z])", latex)
                for ch in m.group(2)
            )
        ):
            # a well-formed step about a quantity over several indices the card does not model (Bishop's
            # r_{nk} on a one-cluster card): not a reading error, and nothing to judge it by
            k = self.nearest_step(latex)
            base, sub = m.group(1), m.group(2)
            return StepVerdict(
                latex,
                "cannot_check",
                reference_step=k,
                message=(
                    f"{base}_{{{sub}}} is not a quantity of this card (it has no {base} indexed by "
                    f"{', '.join(sub)}); compare with the reference step yourself"
                ),
            )
        return v

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
            run = _with_step_names(run, ps)
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
                if getattr(defined, "_ps", None) is not None:  # the definition read per example
                    ps = defined._ps
                    claim = self._claim(ps, prev)
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
            if dinfo["kind"] in ("new", "pattern") and v.reference_step is None and len(claim.exprs) == 2:
                slip = self.slipped_definition(claim.exprs[1])
                if slip is not None:
                    # a new name for a reference quantity written with a slip: not a definition to trust
                    v.verdict, v.reference_step, v.diagnosis = "cannot_check", slip[0], slip[1]
                    v.message = (
                        f"{v.message}; but its right side is reference step {slip[0]}'s with a {slip[1]}: if "
                        f"{dinfo['written']} is meant to be that quantity, check it (write the card's name "
                        "to have it judged)"
                    )
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
        if v.verdict == "wrong" and claim.step.continues and prev is not None and set(claim.rels) <= {"="}:
            # only an equation continues as "this equals ...": a wrong "\le X" is an inequality the wrong way
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

    def _judge(self, latex: str, claim: _Claim, prev: _Claim | None) -> StepVerdict:
        exprs, rels = claim.exprs, claim.rels
        # shape errors anywhere: wrong, naming the shapes
        for e in exprs:
            self.values(e)
        shape = self._shape_of(exprs[-1])
        if not rels:
            return self._judge_expression(latex, exprs[0], shape, claim)
        hows = []
        _conditions.begin(self, claim)  # hook (issue 11, i11eq): which relations may be equations
        for a, r, b in zip(exprs, rels, exprs[1:], strict=False):
            ok, how = self._pair_ok(a, b, r, prev)
            if not ok:
                return self._wrong(latex, claim, a, b, r, shape)
            hows.append(how)
        k = self.match_reference(latex, claim, solved="solution" in hows)
        at_solution = "solution" in hows
        if "solution" in hows and k is not None:
            # a relation that holds only at the solution must not imitate a reference identity in the
            # unknown (true for every value of it); "E = 0" is matched on E alone
            for j, ((a, b), how) in enumerate(zip(zip(exprs, exprs[1:], strict=False), hows, strict=True)):
                if how != "solution":
                    continue
                # an equation with the solutions of a reference condition is that condition (rearranged):
                # named by the condition's own step (sigma's, not mu's), and no imitation of an identity
                # (sigma = sqrt(...) where the card writes sigma^2 = ...)
                eq = _conditions.rearranged(self, a, b, prev) if r_eq(claim, j) else None
                kk = k
                if _is_zero(a) or _is_zero(b):
                    kk = self.match_reference(latex, _Claim([b if _is_zero(a) else a], [], claim.step))
                imitates = (
                    kk is not None
                    and self._imitates_identity(kk, a, b)
                    and not _conditions.sets_to_zero(self, a, b, prev)  # hook (issue 11, i11eq)
                )
                if eq is not None and (imitates or not _conditions.about(self, k)):
                    hows[j] = eq
                    continue
                if imitates:
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
        if any(h in _conditions.HOWS for h in hows):  # hook (issue 11, i11eq): maths/conditions.py
            k, msg = _conditions.describe(self, latex, claim, hows, k)
        if "earlier" in hows and "previous" not in hows:
            k, msg = None, "follows from your earlier steps (substituted into them)"
        elif "reference condition" in hows and "previous" not in hows:
            used = next(
                (
                    j
                    for (x, r, y), h in zip(zip(exprs, rels, exprs[1:], strict=False), hows, strict=True)
                    if h == "reference condition"
                    for j in [self._under_reference_constraint(x, y)]
                    if j is not None
                ),
                None,
            )
            msg = (f"matches reference step {k}, " if k else "holds ") + (
                f"using the condition of reference step {used} (write it to show it)"
            )
        if "previous" in hows and rels == ["="] * len(rels):
            k = None
            solved = [x[1] for x in exprs if x[0] == "var"]
            msg = (
                f"follows from your previous step (solved for {', '.join(solved)})"
                if solved
                else "follows from your previous step (substituted into it)"
            )
        if at_solution:
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


def r_eq(claim: _Claim, j: int) -> bool:
    """Is relation j of the claim an equals sign?"""
    return j < len(claim.rels) and claim.rels[j] == "="


def is_tautology(latex: str) -> bool:
    """Does a step relate two or more copies of the same expression as written (``a = a``, ``z < z``,
    ``z = z = z``; spacing and bracing aside)? ``x^{-1} = \\frac{1}{x}`` is a rewrite, not a tautology."""
    try:
        pieces, rels = split_relations(clean(latex))
        own = [canonical(p).replace(" ", "") for p in pieces if p.strip()]
    except ParseError:
        return False
    return bool(rels) and len(own) >= 2 and all(a == b for a, b in zip(own, own[1:], strict=False))
