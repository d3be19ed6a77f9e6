"""Equations in a parameter judged as equations (issue 11): "set the derivative to zero" and rearranging it.

People write the stationarity condition with the plain parameter (θ, μ, w, σ), not the card's estimate
(``\\hat\\theta``), and rearrange it over several lines. A step ``a = b`` that is not an identity is
judged here (called from :meth:`CardChecker._pair_ok <whiteboard_app.maths.checker.CardChecker>` once
the identity and the card's ``solutions`` rules have failed):

- **sets the derivative to zero**: ``a - b`` is a constant non-zero multiple of a derivative of the
  card's objective (a reference step's ``\\frac{d\\ell}{d\\theta}``, ``\\nabla_w L``, a user's previous
  step ``D = EXPR`` that is an identity) at every sample point. A side with a derivative is allowed only
  when the other side is literally 0 (``\\nabla_w L = 0``): a derivative equal to something else that
  only holds at the optimum imitates the identity and stays wrong.
- **the same condition, rearranged**: for a scalar parameter P, the residual r(P) = a - b has the same
  roots in P as a reference condition r0 (a reference equation with the estimate ``\\hat{P}``, ``P^*``
  read as P, or a derivative of the objective in P): at each sample point the root P* of r0 (the card's
  ``solutions`` entry or the definition of ``\\hat{P}`` when it is a root, else found by bracketing on
  the domain) is a root of r, the ratio r/r0 is finite and non-zero on a grid over P's domain and keeps
  its sign (no extra root, no pole: multiplying by θ(1-θ) or σ³ is fine, by θ - 1/2 is not), and is
  not near 0 next to P* (a squared residual, which only touches 0 at the optimum, is not the same
  condition). For a vector parameter (w) the root is the card's solution; r must vanish there and both
  Jacobians (central differences) must be invertible. Wrong solutions (n - 1 for n), sign-flipped
  derivatives and wrong rearrangements do not vanish at P* and stay wrong.

What counts as the card's: a *parameter* is a declared symbol or vector the reference chain takes a
first derivative in (``\\frac{d\\ell}{d\\theta}``; a derivative of a written first derivative is a
second-order check, not stationarity) or solves for (``solutions``); its *estimate* is a definition
named ``\\hat{P}`` / ``P^*`` (``\\hat{y}`` on a backprop card is a prediction, not an estimate of the label
y); a *condition* is a reference equation, estimates read as parameters, that is not an identity and
has the same solutions as a derivative set to zero (the objective's value at the optimum is not one).

The functions take the checker (duck-typed: ``values``, ``truth``, ``proportional``, ``ev``, ``points``,
``ref_claims``, ``card``, ``solutions``) and cache per-card facts on it (``_conditions_info``).
"""

from __future__ import annotations

import math

import numpy as np

from .evaluate import EvalError, ShapeError, contains, is_array

#: how _pair_ok reports a relation judged here
STATIONARY = "stationary"
EQUATION = "equation"
HOWS = (STATIONARY, EQUATION)

_FLOAT_ERRORS = (EvalError, ShapeError, ZeroDivisionError, OverflowError, ValueError, np.linalg.LinAlgError)
_MAX_POINTS = 6


def _neg(t):
    from .trees import neg

    return neg(t)


def _residual(a, b):
    if b == ("num", 0.0):
        return a
    if a == ("num", 0.0):
        return b
    return ("add", (a, _neg(b)))


def _mentions(t) -> set[str]:
    from .trees import walk

    return {node[1] for _, node in walk(t) if node[0] in ("var", "idx")}


def _substitute(t, mapping: dict):
    """Replace ``("var", old)`` by ``("var", new)`` everywhere (mapping old -> new)."""
    if t[0] == "var":
        return ("var", mapping[t[1]]) if t[1] in mapping else t
    k = t[0]
    if k in ("add", "mul"):
        return (k, tuple(_substitute(a, mapping) for a in t[1]))
    if k in ("call", "idx"):
        return (k, t[1], tuple(_substitute(a, mapping) for a in t[2]))
    if k in ("pow", "deriv"):
        return (k, _substitute(t[1], mapping), _substitute(t[2], mapping))
    if k in ("T", "expect"):
        return (k, _substitute(t[1], mapping))
    if k in ("sum", "prod"):
        return (k, _substitute(t[1], mapping), t[2], _substitute(t[3], mapping), _substitute(t[4], mapping))
    return t


def estimate_of(key: str, kinds: dict) -> str | None:
    """The parameter a name of the card's estimate stands for: ``hat_theta`` -> ``theta``, ``D^*`` -> ``D``,
    ``hat_w`` -> ``w`` (when that parameter is a declared symbol or vector), else None."""
    for pre in ("hat_", "widehat_"):
        if key.startswith(pre) and kinds.get(key[len(pre) :]) in ("symbol", "matrix"):
            return key[len(pre) :]
    for suf in ("^*", "_star"):
        if key.endswith(suf) and kinds.get(key[: -len(suf)]) in ("symbol", "matrix"):
            return key[: -len(suf)]
    return None


class _Info:
    """Per-card facts: parameters (name -> solution tree or None), reference residuals
    (step, tree, kind "derivative" / "condition", parameters it mentions), estimate names -> parameter."""

    def __init__(self, chk):
        self.residuals: list[tuple[int, tuple, str, frozenset]] = []
        self.zero_steps: list[tuple[int, tuple]] = []  # reference steps "E = 0": (step, E)
        self.family: dict[int, str] = {}  # id of a condition's residual -> the derivative it is equivalent to
        derivs = _first_derivatives(chk)
        for k, t in derivs:
            self.residuals.append((k, t, "derivative", frozenset({t[2][1]})))
        wrt = {t[2][1] for _, t in derivs}
        # the card's estimates: \hat{P} / P^* defined on the card for a parameter P it differentiates in or
        # solves for (\hat{y}, a prediction, is no estimate of the label y)
        self.estimates: dict[str, str] = {}
        for key in list(chk.ev.definitions):
            p = estimate_of(key, chk.names.kinds)
            if p is not None and (p in wrt or p in chk.solutions):
                self.estimates[key] = p
        self.params: dict[str, object] = {}
        for key, p in self.estimates.items():
            self.params.setdefault(p, chk.ev.definitions[key])
        for p, tree in chk.solutions.items():
            self.params[p] = tree
        for p in wrt:
            self.params.setdefault(p, None)
        for k, x, y in _equations(chk):
            self._condition(chk, k, x, y)

    def _condition(self, chk, k: int, x, y) -> None:
        """Reference relation x = y of step k (no derivative): a zero step, and a condition in a parameter
        when, with the estimates read as parameters, it is not an identity and is a stationarity condition."""
        if x == ("num", 0.0) or y == ("num", 0.0):
            self.zero_steps.append((k, y if x == ("num", 0.0) else x))
        xs, ys = _substitute(x, self.estimates), _substitute(y, self.estimates)
        res = _residual(xs, ys)
        ps = frozenset(depends_on(res, chk)) & set(self.params)
        if not ps:
            return
        try:
            t = [v for v in chk.truth(xs, ys, "=") if v is not None]
        except _FLOAT_ERRORS:
            return
        if t and not all(t) and self._stationary(chk, res, ps):
            self.residuals.append((k, res, "condition", ps))

    def _stationary(self, chk, res, ps) -> bool:
        """Is a reference condition the card's stationarity condition (the same solutions as a derivative of
        the objective set to zero)? The value of the objective at the optimum (an equation whose residual
        only touches 0 there) is not one; a parameter the card does not differentiate in keeps it."""
        derivs = [(t, next(iter(q))) for _, t, kind, q in self.residuals if kind == "derivative" and q & ps]
        if not derivs:
            return True
        for d, p in derivs:
            if chk.proportional(res, d) or _same_roots(chk, res, d, p, self.params.get(p)):
                self.family[id(res)] = p  # equivalent to the derivative in p set to zero
                return True
        return False


def _equations(chk):
    """(step, x, y) for every relation x = y of the reference chain with no derivative on either side."""
    for k, c in enumerate(chk.ref_claims, 1):
        if c is None:
            continue
        for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
            if r == "=" and not (contains(x, "deriv") or contains(y, "deriv")):
                yield k, x, y


def _first_derivatives(chk) -> list:
    """(step, derivative side) of the reference chain: first derivatives of an objective in a parameter (the
    derivative of a written first derivative, a second-order check, is no stationarity condition)."""
    derivs = []
    for k, c in enumerate(chk.ref_claims, 1):
        if c is None:
            continue
        for x, r, y in zip(c.exprs, c.rels, c.exprs[1:], strict=False):
            if r == "=":
                derivs += [(k, side) for side in (x, y) if objective_derivative(side, chk)]
    return [(k, t) for k, t in derivs if not any(chk.same_value(t[1], d) for _, d in derivs if d is not t)]


def objective_derivative(t, chk) -> bool:
    """A derivative of an objective in a parameter: ``("deriv", f, ("var", P))`` with f a defined name (not
    a per-example pattern) or a written expression."""
    if t[0] != "deriv" or t[2][0] != "var":
        return False
    f = t[1]
    if f[0] == "idx" or contains(f, "deriv"):
        return False  # a per-example term, or a second derivative
    kinds = chk.names.kinds
    return kinds.get(t[2][1]) in ("symbol", "matrix") and (f[0] != "var" or f[1] in chk.ev.definitions)


def depends_on(t, chk, _seen=None) -> set[str]:
    """Names a tree mentions, through the definitions it uses (a user's ``k = \\sum_i x_i``)."""
    seen = set() if _seen is None else _seen
    out = set()
    for nm in _mentions(t):
        if nm in seen:
            continue
        seen.add(nm)
        out.add(nm)
        d = chk.ev.definitions.get(nm)
        if d is not None:
            out |= depends_on(d, chk, seen)
    return out


def warm(chk) -> None:
    """Compute the card's facts when the card is loaded (the worker's card time limit, not a step's)."""
    try:
        info(chk)
    except (EvalError, ShapeError, RecursionError, ValueError, ZeroDivisionError, OverflowError):
        chk.__dict__["_conditions_info"] = _Empty()


class _Empty:
    """No facts (the card's conditions could not be evaluated): nothing is judged as an equation."""

    def __init__(self):
        self.estimates: dict = {}
        self.params: dict = {}
        self.residuals: list = []
        self.zero_steps: list = []


def info(chk) -> _Info:
    """The per-card facts (computed once, in the card's own context)."""
    got = chk.__dict__.get("_conditions_info")
    if got is None:
        run = chk._run
        chk._use(chk._base_run)  # the card's own names and definitions, not a run's
        try:
            got = _Info(chk)
        finally:
            chk._use(run)
        chk.__dict__["_conditions_info"] = got
    return got


def equation_how(chk, a, b, prev) -> str | None:
    """For ``a = b`` that is not an identity: :data:`STATIONARY` when it sets a derivative of the objective
    to zero, :data:`EQUATION` when it has the same solutions in a parameter as a reference condition,
    else None. ``prev`` is the user's previous claim (a ``D = EXPR`` identity makes ``EXPR = 0`` a
    stationarity condition). The matched reference step is kept on the checker for :func:`describe`."""
    zero = a == ("num", 0.0) or b == ("num", 0.0)
    if (contains(a, "deriv") or contains(b, "deriv")) and not zero:
        return None
    if not zero and _meant_as_identity(chk, a, b):
        return None
    chk.__dict__["_conditions_last"] = None
    cands = list(info(chk).residuals) + _previous_residuals(chk, prev)
    return _judge_residual(chk, _residual(a, b), cands) if cands else None


def _judge_residual(chk, r, cands) -> str | None:
    """:func:`equation_how` for the residual r = a - b against the candidate conditions."""
    fi = info(chk)
    for k, rr, kind, _ in cands:
        if kind == "derivative" and chk.proportional(r, rr):
            chk.__dict__["_conditions_last"] = (k, kind, None)
            return STATIONARY
    deps = depends_on(r, chk)
    params = sorted(set(fi.params) & deps)
    for k, rr, kind, ps in cands:
        if ps & deps and chk.proportional(r, rr):
            chk.__dict__["_conditions_last"] = (k, kind, _reported(chk, k, ps, params))
            return EQUATION
    # the root test evaluates each side on a grid over the parameter: written conditions first (a
    # derivative costs two evaluations of the objective per value), derivatives only when no condition
    # in that parameter is written on the card
    for p in params:
        mine = [c for c in cands if p in c[3]]
        conds = [c for c in mine if c[2] == "condition"] or mine
        seen = set()
        for k, rr, kind, _ in conds:
            fam = getattr(fi, "family", {}).get(id(rr))
            if fam is not None and fam in seen:
                continue  # an equivalent condition was tested already
            seen.add(fam)
            if _same_roots(chk, r, rr, p, fi.params.get(p)):
                chk.__dict__["_conditions_last"] = (k, kind, p)
                return EQUATION
    return None


def _reported(chk, k, ps, params):
    r"""The parameter to name for a step equivalent to reference step k: the one whose estimate that step
    writes (``\hat\sigma^2 = ...`` names sigma), else the first one the step mentions."""
    fi = info(chk)
    if k is not None and chk.ref_claims[k - 1] is not None:
        exprs = chk.ref_claims[k - 1].exprs
        for part in (exprs[:1], exprs):  # the estimate on the left side first (\hat\sigma^2 = ...)
            written = set()
            for x in part:
                written |= _mentions(x)
            named = sorted({fi.estimates[e] for e in written if e in fi.estimates} & set(ps))
            if named:
                return named[0]
    mine = [p for p in params if p in ps]
    return mine[0] if mine else (sorted(ps)[0] if ps else None)


def sets_to_zero(chk, a, b, prev) -> bool:
    """``E = 0`` that holds only at the card's solution but is written like a reference identity: is it
    the stationarity condition rearranged (then it is no imitation of the identity)? Only for a literal 0
    side; the equation must pass :func:`equation_how`."""
    if not (a == ("num", 0.0) or b == ("num", 0.0)):
        return False
    try:
        return equation_how(chk, a, b, prev) is not None
    except _FLOAT_ERRORS:
        return False


def begin(chk, claim) -> None:
    """Remember the claim whose relations :func:`equation_how` is about to judge."""
    chk.__dict__["_conditions_claim"] = claim


def _meant_as_identity(chk, a, b) -> bool:
    """Is ``a = b`` a link of a chain the user means as a rewrite: a continuation ``= EXPR`` of the line
    before, or one relation of several (``D = E_1 = E_2``)? Such a link is never read as an equation in
    the parameter (a sign flip between two gradient forms is not "setting" anything)."""
    claim = chk.__dict__.get("_conditions_claim")
    if claim is None:
        return False
    pos = [j for j in range(len(claim.exprs) - 1) if claim.exprs[j] is a and claim.exprs[j + 1] is b]
    if not pos:
        return False
    if claim.step.continues and pos[0] == 0:
        return True
    return len(claim.rels) > 1


def _previous_residuals(chk, prev) -> list:
    """``D = EXPR`` (an identity, D a derivative of an objective) just before: EXPR = 0 sets it to zero."""
    if prev is None:
        return []
    out = []
    for x, r, y in zip(prev.exprs, prev.rels, prev.exprs[1:], strict=False):
        if r != "=":
            continue
        for d in (x, y):
            if (
                d[0] == "deriv"
                and d[2][0] == "var"
                and chk.names.kinds.get(d[2][1]) in ("symbol", "matrix")
                and not contains(d[1], "deriv")
                and not any(
                    chk.same_value(d[1], t) for _, t, kind, _ in info(chk).residuals if kind == "derivative"
                )
            ):
                try:
                    t = [v for v in chk.truth(x, y, "=") if v is not None]
                except _FLOAT_ERRORS:
                    continue
                if len(t) >= 3 and all(t):
                    out.append((None, d, "derivative", frozenset({d[2][1]})))
    return out


def _grid(domain: str) -> list[float]:
    if domain == "probability":
        return [0.03, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.97]
    if domain in ("positive", "nonnegative", "positive_integer"):
        return [0.05, 0.15, 0.3, 0.5, 0.8, 1.2, 1.8, 2.7, 4.0, 6.0, 10.0]
    return [-8.0, -4.0, -2.0, -1.0, -0.4, 0.0, 0.4, 1.0, 2.0, 4.0, 8.0]


def _val(chk, tree, p, name, x):
    try:
        v = chk.ev.value(tree, p, {name: x})
    except _FLOAT_ERRORS:
        return None
    if is_array(v):
        return np.asarray(v, dtype=float) if np.all(np.isfinite(v)) else None
    v = float(v)
    return v if math.isfinite(v) else None


def _same_roots(chk, r, r0, p: str, sol) -> bool:
    """Do r = 0 and r0 = 0 have the same solutions in the parameter p? (See the module docstring.)"""
    if chk.names.kinds.get(p) == "matrix":
        return _same_roots_vector(chk, r, r0, p, sol)
    grid = _grid(chk.card.declarations.symbols.get(p, "real"))
    ok = 0
    for q, pt in enumerate(chk.points[:_MAX_POINTS]):
        got = _same_roots_at(chk, r, r0, p, _reference_at(chk, r0, q, pt, p, sol, grid), pt, grid)
        if got is False:
            return False
        ok += bool(got)
    return ok >= 3


def _same_roots_at(chk, r, r0, p: str, ref, pt, grid) -> bool | None:
    """At one sample point (ref: the root of r0 and its values on the grid): True, False, or None when the
    point says nothing (no root of r0, r undefined)."""
    x0, g0 = ref
    if x0 is None:
        return None
    scale = max(1.0, abs(x0))
    u0 = _val(chk, r, pt, p, x0)
    if u0 is None or is_array(u0):
        return None
    # a quick look first: r clearly not 0 at the root of r0 (most wrong steps)
    few = [abs(u) for u in (_val(chk, r, pt, p, grid[j]) for j in (0, len(grid) // 2, -1)) if u is not None]
    if few and not is_array(few[0]) and abs(u0) > 1e-3 * float(np.median(few)):
        return False
    us = [(x, _val(chk, r, pt, p, x), v) for x, v in zip(grid, g0, strict=True)]
    us = [(x, u, v) for x, u, v in us if u is not None and v is not None and not is_array(u)]
    if u0 is None or is_array(u0) or len(us) < 4:
        return None
    su = float(np.median([abs(u) for _, u, _ in us])) + 1e-300
    if abs(u0) > 1e-6 * su:
        return False  # x0 solves the reference condition but not this one
    ratios = [u / v for x, u, v in us if abs(v) > 1e-9 and abs(x - x0) > 1e-3 * scale]
    if len(ratios) < 3 or any(not math.isfinite(q) or abs(q) < 1e-12 for q in ratios):
        return False
    if not (all(q > 0 for q in ratios) or all(q < 0 for q in ratios)):
        return False  # another root (or a pole) of one of them in the domain
    near = []
    for h in (1e-4, -1e-4):
        xh = x0 + h * scale
        u, v = _val(chk, r, pt, p, xh), _val(chk, r0, pt, p, xh)
        if u is not None and v is not None and abs(v) > 1e-300:
            near.append(u / v)
    lo, hi = min(map(abs, ratios)), max(map(abs, ratios))
    # r/r0 near 0 next to the root: r touches 0 there (a square); very large: a pole of r0
    return bool(near) and all(1e-2 * lo <= abs(q) <= 1e2 * hi for q in near)


def _reference_at(chk, r0, q: int, pt, p: str, sol, grid) -> tuple:
    """(root, values on the grid) of a reference residual at sample point q, cached per card context."""
    memo = chk.__dict__.setdefault("_conditions_memo", {})
    if len(memo) > 4000:
        memo.clear()
    key = (r0, p, q, chk._ctx if not chk._touch.isdisjoint(depends_on(r0, chk)) else ())
    got = memo.get(key)
    if got is None:
        g0 = [_val(chk, r0, pt, p, x) for x in grid]
        got = memo[key] = (p_root(chk, r0, pt, p, sol, grid, g0), g0)
    return got


def p_root(chk, r0, pt, p: str, sol, grid, g0) -> float | None:
    """A root of r0 in the parameter p at the sample point (g0: r0 on the grid): the solution tree's
    value when it is one, else a sign change on the grid refined by bisection."""
    x0 = _solution_root(chk, r0, pt, p, sol, g0)
    if x0 is not None:
        return x0
    prev = None
    for x, v in zip(grid, g0, strict=True):
        if v is None or is_array(v):
            prev = None
            continue
        if v == 0.0:
            return x
        if prev is not None and (prev[1] < 0) != (v < 0):
            return _bisect(chk, r0, pt, p, prev[0], prev[1], x)
        prev = (x, v)
    return None


def _solution_root(chk, r0, pt, p: str, sol, g0) -> float | None:
    """The value of the card's solution (or estimate) at the point, when it is a root of r0 there."""
    if sol is None:
        return None
    try:
        x0 = chk.ev.value(sol, pt, {})
    except _FLOAT_ERRORS:
        return None
    if is_array(x0):
        return None
    x0 = float(x0)
    v0 = _val(chk, r0, pt, p, x0)
    vs = [abs(v) for v in g0 if v is not None and not is_array(v)]
    if v0 is not None and not is_array(v0) and vs and abs(v0) <= 1e-7 * (float(np.median(vs)) + 1e-300):
        return x0
    return None


def _bisect(chk, r0, pt, p: str, lo: float, flo: float, hi: float) -> float | None:
    """A root of r0 between lo and hi (r0(lo) = flo, r0(hi) of the other sign)."""
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        fm = _val(chk, r0, pt, p, mid)
        if fm is None or is_array(fm):
            return None
        if (fm < 0) == (flo < 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def _same_roots_vector(chk, r, r0, p: str, sol) -> bool:
    """Vector parameter: r vanishes at the card's solution, where r0 does, and both Jacobians are
    invertible there (each condition has an isolated root at the solution)."""
    if sol is None:
        return False
    ok = 0
    for pt in chk.points[:4]:
        try:
            w0 = np.asarray(chk.ev.value(sol, pt, {}), dtype=float)
        except _FLOAT_ERRORS:
            continue
        if w0.ndim != 2 or w0.shape[1] != 1:
            return False
        got = _same_roots_vector_at(chk, r, r0, p, pt, w0)
        if got is False:
            return False
        ok += bool(got)
    return ok >= 2


def _jacobian(chk, r, pt, p: str, w0):
    """The Jacobian of r in the vector p at w0 by central differences (None where r is undefined)."""
    cols = []
    for j in range(w0.shape[0]):
        h = 1e-5 * max(1.0, abs(float(w0[j, 0])))
        wp, wm = w0.copy(), w0.copy()
        wp[j, 0] += h
        wm[j, 0] -= h
        up, um = _val(chk, r, pt, p, wp), _val(chk, r, pt, p, wm)
        if up is None or um is None:
            return None
        cols.append((np.ravel(up) - np.ravel(um)) / (2 * h))
    return np.array(cols).T


def _same_roots_vector_at(chk, r, r0, p: str, pt, w0) -> bool | None:
    """One sample point of :func:`_same_roots_vector`: True, False, or None (the point says nothing)."""
    u0, v0 = _val(chk, r, pt, p, w0), _val(chk, r0, pt, p, w0)
    if u0 is None or v0 is None:
        return None
    ju, jv = _jacobian(chk, r, pt, p, w0), _jacobian(chk, r0, pt, p, w0)
    if ju is None or jv is None:
        return False
    su = float(np.abs(ju).max()) + 1e-300
    sv = float(np.abs(jv).max()) + 1e-300
    size = max(1.0, float(np.abs(w0).max()))
    if np.abs(np.ravel(v0)).max() > 1e-6 * sv * size:
        return None  # the solution is not a root of the reference condition here
    if np.abs(np.ravel(u0)).max() > 1e-6 * su * size:
        return False
    d = w0.shape[0]
    if ju.shape != (d, d) or jv.shape != (d, d):
        return False
    return np.linalg.matrix_rank(ju, tol=1e-8 * su) == d and np.linalg.matrix_rank(jv, tol=1e-8 * sv) == d


def describe(chk, latex: str, claim, hows: list, k: int | None) -> tuple[int | None, str]:
    """The reference step and the message of a correct step judged by :func:`equation_how`."""
    from .trees import name_latex

    last = chk.__dict__.get("_conditions_last")
    fi = info(chk)
    conds = [kk for kk, _, kind, _ in fi.residuals if kind == "condition"]
    if last is not None and last[1] == "derivative" and STATIONARY in hows:
        k0 = last[0]
        rr = next((t for kk, t, kind, _ in fi.residuals if kk == k0 and kind == "derivative"), None)
        pool = [(kk, t) for kk, t, kind, _ in fi.residuals if kind == "condition"] + fi.zero_steps
        after = sorted(
            {kk for kk, t in pool if (k0 is None or kk > k0) and rr is not None and chk.proportional(t, rr)}
        )
        k = after[0] if after else k0
        words = "sets the derivative to zero"
    else:
        p = last[2] if last is not None else None
        solved = [
            x
            for x in claim.exprs
            if x[0] == "var"
            and x[1] == p
            and all(p not in depends_on(y, chk) for y in claim.exprs if y is not x)
        ]
        pool = sorted(set(conds))
        if solved:
            pool = [kk for kk in pool if _solved_step(chk, kk, fi)] or pool
        if pool:
            k = max(pool, key=lambda kk: (chk._sim(latex, chk.card.steps[kk - 1].latex), kk))
        pname = shown(name_latex(p)) if p else "the parameter"
        words = f"solved for {pname}" if solved else f"an equation in {pname} with the same solution"
    msg = f"{words}; matches reference step {k}" if k else words
    return k, msg


def _solved_step(chk, k: int, fi: _Info) -> bool:
    c = chk.ref_claims[k - 1]
    return c is not None and any(
        x[0] == "var" and (x[1] in fi.estimates or x[1] in fi.params) for x in c.exprs
    )


def judged_here(v) -> bool:
    """Was this correct verdict's message written by :func:`describe`?"""
    m = v.message or ""
    return m.startswith(("sets the derivative to zero", "solved for ", "an equation in "))


def shown(latex: str) -> str:
    """A name for a message: a Greek letter as its character (``\\theta`` -> θ), else as written."""
    import unicodedata

    if latex.startswith("\\") and latex[1:].isalpha():
        word = latex[1:]
        case = "CAPITAL" if word[0].isupper() else "SMALL"
        try:
            return unicodedata.lookup(f"GREEK {case} LETTER {word.upper()}")
        except KeyError:
            return latex
    return latex
