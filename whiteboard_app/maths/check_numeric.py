"""Numeric evaluation for the checker: a tree's values at the card's sample points (cached per run context),
agreement of two trees point by point (within tolerances that widen for numeric derivatives), at the card's
solutions or with names overridden (the user's new parameters at 0), proportionality and shapes.

:class:`NumericMixin` is one part of :class:`~whiteboard_app.maths.checker.CardChecker`; it uses the
checker's evaluator (``self.ev``), sample points (``self.points``) and caches."""

from __future__ import annotations

import zlib

import numpy as np

from .check_claims import (
    _Claim,
    _mentions,
)
from .evaluate import EvalError, ShapeError, contains, is_array


class NumericMixin:
    #: the step being judged writes a total derivative ``\\frac{dL}{dw}`` (set by ``CardChecker.check``): its
    #: value with respect to a column vector may be written as a row (numerator layout)
    _layout_rows: bool = False
    """Values and agreement at the sample points (part of :class:`~whiteboard_app.maths.checker.CardChecker`)."""

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
        key = (tree, solved, dense, ctx, self.ev.rows, self.ev.mean is not None, self.ev.flip)
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
        layout = rel == "=" and self._layout_rows and (_first_gradient(a) or _first_gradient(b))
        out = []
        for x, y in zip(va, vb, strict=True):
            if x is None or y is None:
                out.append(None)
                continue
            if layout and _row_of_column(x, y):
                # the derivative of a scalar with respect to a column vector written as a row: numerator
                # layout (Magnus & Neudecker; Deisenroth et al., MML 5.2: df/dx is 1 x d), equally right
                out.append(self.close(np.asarray(x).T, y, rtol, atol))
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

    def _agree_component(self, a, b, scope: dict, comp: str | None) -> bool:
        """a = b at every sample point (at least 3 defined) with names overridden by ``scope``; with
        ``comp`` (a component letter of the run), a scalar a against component ``comp`` of the vector b."""
        rtol, atol = self._tol(a, b)
        ok = 0
        for p in self.points:
            try:
                va, vb = self.ev.value(a, p, scope), self.ev.value(b, p, scope)
            except (
                EvalError,
                ShapeError,
                ZeroDivisionError,
                OverflowError,
                ValueError,
                np.linalg.LinAlgError,
            ):
                continue
            if comp is not None:
                if not is_array(vb) or 1 not in vb.shape or (is_array(va) and np.asarray(va).size != 1):
                    return False
                j = p.values.get(comp)
                flat = np.asarray(vb, dtype=float).reshape(-1)
                if j is None or not 1 <= int(j) <= flat.size:
                    continue
                va, vb = float(np.asarray(va, dtype=float).reshape(-1)[0]), float(flat[int(j) - 1])
            try:
                c = self.close(va, vb, rtol, atol)
            except (TypeError, ValueError):
                return False
            if c is None:
                continue
            if not c:
                return False
            ok += 1
        return ok >= 3

    def _holds_at_solution(self, a, b, k: int) -> bool:
        try:
            ts = [x for x in self.truth(a, b, "=", solved=True) if x is not None]
        except (EvalError, ShapeError):
            return False
        return len(ts) >= max(3, k // 3) and all(ts)

    def _is_unknown(self, t) -> bool:
        return t[0] == "var" and t[1] in self.solutions

    def _substitutes_solution(self, a, b) -> bool:
        """Does exactly one side of ``a = b`` write a declared unknown (``\\frac12\\|w\\|^2 = \\frac12\\sum_{ij}
        \\alpha_i\\alpha_j y_iy_jx_i^Tx_j``: a function of w, and its value with the solution substituted)? Such
        an equation that holds at the solution is the solution put in, whichever step states it, on a card with
        no name of its own for the solution."""
        from .check_claims import _mentions

        # a card that names the solution (D^* = ..., \\hat{w} = ...) wants that name where the solution is put in:
        # the plain unknown there is the parameter confused with its estimate (kept wrong, as on the GAN card)
        named = set(self._base_state[2].values())
        unknowns = {u for u, sol in self.solutions.items() if sol not in named}
        return bool(_mentions(a) & unknowns) != bool(_mentions(b) & unknowns)

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

    def may_solve(self, *trees) -> bool:
        """May these trees be compared where the unknowns take their solutions? Only on a card with
        ``solutions`` and when no tree has a derivative: two different derivative expressions (a sign flip
        and a missing factor of the same gradient) both vanish at the solution. Verdicts, declared-mistake
        matching, reference matching and ``compare`` all use this one rule."""
        return bool(self.solutions) and not any(contains(t, "deriv") for t in trees)


def _nested_deriv(t) -> bool:
    from .trees import walk

    for _, node in walk(t):
        if node[0] == "deriv" and contains(node[1], "deriv"):
            return True
    return False


def _first_gradient(t) -> bool:
    """Is ``t`` a first derivative written alone (``\\frac{dL}{dw}``, ``\\nabla_w L``), not one of a derivative?"""
    return isinstance(t, tuple) and len(t) == 3 and t[0] == "deriv" and not _nested_deriv(t)


def _row_of_column(x, y) -> bool:
    """Are ``x`` and ``y`` a column (d x 1, d > 1) and a row (1 x d) of one size, in either order?"""
    if not (is_array(x) and is_array(y)):
        return False
    sx, sy = np.shape(x), np.shape(y)
    return len(sx) == 2 and len(sy) == 2 and sx == sy[::-1] and 1 in sx and max(sx) > 1


def _agree(a: list, b: list) -> bool:
    both = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return len(both) >= 3 and all(x == y for x, y in both)
