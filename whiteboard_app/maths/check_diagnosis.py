"""Diagnosis of a wrong step: what the written value is relative to the right one (sign flip, missing
factor, n vs n-1, inverted ratio, wrong exponent, dropped transpose, wrong index...), found by comparing
values at the sample points or by mutating the matching reference expression; and the generated near
misses of a card (:func:`near_misses_for`).

:class:`DiagnosisMixin` is one part of :class:`~whiteboard_app.maths.checker.CardChecker`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

from .check_claims import (
    _Claim,
    _mentions,
)
from .evaluate import EvalError, ShapeError, is_array
from .trees import mutations, tidy, to_latex

if TYPE_CHECKING:
    from .checker import CardChecker

#: the slips inside an expression that make a new name's definition suspect (:meth:`slipped_definition`)
#: (a dropped factor or term is not one: it leaves a subexpression, which is what people name: r = y - Xw, t = e^{-z})
_SLIPS = frozenset({"sign flip", "n vs n-1", "wrong index", "dropped transpose"})


class DiagnosisMixin:
    """Diagnoses of wrong steps (part of :class:`~whiteboard_app.maths.checker.CardChecker`)."""

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

    def slipped_definition(self, rhs) -> tuple[int, str] | None:
        """For the right side of a step that defines a new name (``W(\\alpha) = ...``, ``v = ...``) whose value is
        no reference expression: (reference step, diagnosis) when it is a reference step's right side with one
        slip inside it (one term's sign flipped, n vs n-1, an index, a transpose), made of the same names;
        None otherwise, and None when it is a multiple, power or inverse of one (diagnose_pair names it). Such a "definition" is the card's quantity under another name with a slip, not a new name to
        trust (CS229's dual ``W(\\alpha)`` with the quadratic term's sign flipped). At most 0.25 s."""
        own = {nm for nm in _mentions(rhs) if self.names.kinds.get(nm) not in ("index", None)}
        if not own:
            return None
        deadline = min(time.perf_counter() + 0.25, self._budget_end)
        cands = []
        for k, c in enumerate(self.ref_claims, 1):
            if c is None or not c.exprs:
                continue
            for e in c.exprs[1:]:
                names = {nm for nm in _mentions(e) if self.names.kinds.get(nm) not in ("index", None)}
                if names == own:
                    cands.append((k, e))
        for _k, e in cands:
            try:
                if self.same_value(rhs, e):
                    return None
            except (EvalError, ShapeError):
                continue
        # a slip keeps the size of the expression: the candidates nearest in size first
        from .trees import walk

        size = sum(1 for _ in walk(rhs))
        cands.sort(key=lambda c: abs(sum(1 for _ in walk(c[1])) - size))
        for k, e in cands:
            if self.diagnose_pair(e, rhs, False) is not None:
                # a multiple, a power or the inverse of a reference quantity is a quantity of its own (the count
                # N_1 = sum_i x_i beside theta-hat = N_1/n, the precision 1/sigma^2): no slip to report
                continue
            for mt, diag in mutations(e, self.names):
                if time.perf_counter() > deadline:
                    return None
                if diag not in _SLIPS:
                    continue
                try:
                    if self.same_value(rhs, mt):
                        return k, diag
                except (EvalError, ShapeError):
                    break
        return None

    def _approx_message(self, a, b, tol: float) -> str | None:
        """For a wrong ``x \\approx 0.5``: the value of x (at the first sample point) and the digits the
        decimal was written to, e.g. "the value is 0.1667, not 0.5 to 1 decimal place (within 0.05)"; for two
        expressions compared to the rounding of their decimals, both values."""
        num, other = (a, b) if a[0] == "num" else (b, a)
        if num[0] != "num":
            # numbers worked out from rounded decimals (parse._rounding_spread): both sides' values
            try:
                va, vb = ([v for v in self.values(t) if v is not None and not is_array(v)] for t in (a, b))
            except (EvalError, ShapeError):
                return None
            if not va or not vb:
                return None
            x, y = (float(np.asarray(v[0], float).reshape(-1)[0]) for v in (va, vb))
            return (
                f"the two sides are {x:.4g} and {y:.4g}: further apart than the rounding of the decimals "
                f"written allows (within {tol:.2g})"
            )
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

    def _sizes(self) -> list[str]:
        return [n for n, k in self.names.kinds.items() if k == "dim"] + [
            n
            for n, dom in self.card.declarations.symbols.items()
            if dom == "positive_integer" and self.names.kinds.get(n) != "dim"
        ]


def _decimals(x: float) -> int:
    """Digits after the decimal point in the shortest repr of x (0.18 -> 2, 3.0 -> 0)."""
    r = repr(float(x))
    if "e" in r or "." not in r:
        return 0
    frac = r.split(".")[1].rstrip("0")
    return len(frac)


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
