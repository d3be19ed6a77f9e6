"""Numeric evaluation of parsed steps at random points drawn from a card's declarations.

Scalars are floats; matrices and vectors are 2-D numpy arrays (a vector is a column, d x 1); a 1 x 1
result is a scalar. Products follow the written order (``X^T y`` is a matrix product; a scalar or 1 x 1
factor scales). Derivatives are central differences (step 1e-6 relative, 1e-3 when nested). A shape
mismatch raises :class:`ShapeError` naming both shapes in the card's dimension names.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from whiteboard_app.decks.schema import Declarations

from .normalise import Names

#: most terms a nest of sums/products may have at one point (the product of their ranges)
MAX_NESTED_TERMS = 5000
_TERMS = "\x00terms"  # the scope key carrying the enclosing sums' term count (never a name)


class EvalError(ValueError):
    """A step cannot be evaluated at a point (undefined name, domain error, bad index)."""


class ShapeError(EvalError):
    """Inconsistent shapes; the message names them (``"(d x n) times (n x 1)"``)."""


class IndexRangeError(EvalError):
    """An index outside the declared range of its family (``x_{i+1}`` at i = n)."""


class SingularError(ShapeError):
    """The inverse of a matrix that is singular at every point (``(X X^T)^{-1}`` when n > d)."""


@dataclass
class Point:
    """One random assignment: dims (name -> int), values (name -> float | ndarray), families
    (name -> (lower bound, array indexed from that bound))."""

    dims: dict[str, int] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)
    families: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)


class Ident:
    """The identity matrix of a size not yet known, times a scalar: ``c I``."""

    __slots__ = ("c",)

    def __init__(self, c: float = 1.0):
        self.c = float(c)

    def __repr__(self) -> str:
        return f"{self.c}*I"


def _scalar(v):
    if isinstance(v, np.ndarray):
        if v.shape == (1, 1):
            return float(v[0, 0])
        return v
    return float(v)


def _expand_monomials(tree, limit: int) -> list[list] | None:
    """``tree`` expanded into a sum of monomials, each a list of factor trees: sums distributed over products,
    integer powers 2..4 of a sum multiplied out (``(a + b)^2`` -> ``[[a, a], [a, b], [b, a], [b, b]]``); any
    other tree is one factor. None past ``limit`` monomials."""
    k = tree[0] if isinstance(tree, tuple) and tree else None
    if k == "add":
        out: list[list] = []
        for x in tree[1]:
            sub = _expand_monomials(x, limit)
            if sub is None or len(out) + len(sub) > limit:
                return None
            out.extend(sub)
        return out
    if k == "mul":
        acc: list[list] = [[]]
        for x in tree[1]:
            sub = _expand_monomials(x, limit)
            if sub is None or len(acc) * len(sub) > limit:
                return None
            acc = [a + b for a in acc for b in sub]
        return acc
    if k == "pow" and tree[2][0] == "num" and float(tree[2][1]).is_integer() and 2 <= tree[2][1] <= 4:
        if isinstance(tree[1], tuple) and tree[1][0] in ("add", "mul"):
            return _expand_monomials(("mul", (tree[1],) * int(tree[2][1])), limit)
    return [[tree]]


def _monomial_key(tree) -> tuple | None:
    """A product of powers of atoms as a sorted tuple of (atom tree, power): ``\\epsilon^2\\hat f`` ->
    ``((epsilon, 2), (hat_f, 1))`` (order by repr); numbers and sums make it None (not a monomial)."""
    counts: dict = {}
    for f in tree[1] if tree[0] == "mul" else (tree,):
        base, n = f, 1.0
        if f[0] == "pow" and f[2][0] == "num" and float(f[2][1]).is_integer() and f[2][1] > 0:
            base, n = f[1], f[2][1]
        if base[0] not in ("var", "idx"):
            return None
        counts[base] = counts.get(base, 0.0) + n
    return tuple(sorted(counts.items(), key=repr))


def _names_in(t, bound: frozenset = frozenset(), bounds: bool = True) -> set[str]:
    """Every name a tree mentions: variables and the families of indexed elements, not the indices its
    sums bind (nor, with ``bounds`` False, the names in a sum's bounds: the n of sum_{i=1}^{n})."""
    if not isinstance(t, tuple) or not t or not isinstance(t[0], str):
        return set()
    k = t[0]
    if k == "var":
        return set() if t[1] in bound else {t[1]}
    if k == "num":
        return set()
    if k == "idx":
        out = {t[1]}
        for x in t[2]:
            out |= _names_in(x, bound, bounds)
        return out
    if k in ("sum", "prod"):
        body = _names_in(t[1], bound | {t[2]}, bounds)
        return body | _names_in(t[3], bound, bounds) | _names_in(t[4], bound, bounds) if bounds else body
    out = set()
    for x in t[1:]:
        if isinstance(x, tuple) and x and isinstance(x[0], str):
            out |= _names_in(x, bound, bounds)
        elif isinstance(x, (tuple, list)):
            for y in x:
                out |= _names_in(y, bound, bounds)
    return out


def is_array(v) -> bool:
    """True for a matrix or vector value (a 2-D array other than 1 x 1)."""
    return isinstance(v, np.ndarray) and v.shape != (1, 1)


_DOMAIN_SAMPLERS = {
    "real": lambda r, size=None: r.uniform(-2.0, 2.0, size),
    "positive": lambda r, size=None: r.uniform(0.3, 3.0, size),
    "nonnegative": lambda r, size=None: r.uniform(0.0, 3.0, size),
    "probability": lambda r, size=None: r.uniform(0.05, 0.95, size),
    "integer": lambda r, size=None: r.integers(-5, 6, size).astype(float),
    "positive_integer": lambda r, size=None: r.integers(2, 8, size).astype(float),
    "binary": lambda r, size=None: r.integers(0, 2, size).astype(float),
    "discrete": lambda r, size=None: r.integers(0, 6, size).astype(float),
    "sign": lambda r, size=None: 2.0 * r.integers(0, 2, size).astype(float) - 1.0,
}


class Evaluator:
    """Evaluates trees from :mod:`whiteboard_app.maths.parse` at :class:`Point`s of one card.

    ``definitions``: name -> tree; ``patterns``: family -> (index names, tree); the evaluator substitutes
    them lazily, so a derivative perturbing ``z`` changes ``p_k`` defined from ``z``.
    """

    #: numerator layout (Magnus & Neudecker; Deisenroth et al., MML 5.2; He et al. 2016, eq. 5): the derivative
    #: of a scalar with respect to a column vector is a row (1 x d), a Jacobian stays p x d, so a chain rule
    #: reads left to right (``dL/dx = dL/dy (I + dF/dx)``). Off: the cards' denominator layout (a column).
    rows: bool = False
    #: the mean-loss reading (:mod:`.conventions`): a defined sum over the examples (name -> the count's tree)
    #: is read divided by the count, as a writer who takes the mean loss ``(1/N) sum_n`` means it. None: off.
    mean: dict | None = None
    #: the opposite-sign reading (:func:`.conventions.sign_reading`): the card's definitions are read with its
    #: ``opposite_signs`` parameters negated (the checker swaps them in); a key of the value cache. False: off.
    flip: bool = False

    def __init__(self, names: Names, decl: Declarations, definitions: dict, patterns: dict):
        self._memo: dict = {}
        self.names = names
        self.decl = decl
        self.definitions = definitions
        self.patterns = patterns
        self._depth = 0

    # the elements of pattern definitions (gamma_ik of a mixture, inside sums over i and k) are memoised per
    # point and scope; assigning the names, definitions or patterns (a run's context) forgets them
    @property
    def names(self) -> Names:
        return self._names

    @names.setter
    def names(self, v: Names) -> None:
        self._names = v
        self._memo.clear()

    @property
    def definitions(self) -> dict:
        return self._definitions

    @definitions.setter
    def definitions(self, v: dict) -> None:
        self._definitions = v
        self._memo.clear()

    @property
    def patterns(self) -> dict:
        return self._patterns

    @patterns.setter
    def patterns(self, v: dict) -> None:
        self._patterns = v
        self._memo.clear()

    # ---------------------------------------------------------------- sampling
    def sample_points(self, k: int, seed: int) -> list[Point]:
        """k random points (deterministic for a seed). Dimensions are distinct integers (2..7 unless
        fixed in ``sizes``) so that a shape mismatch can be named."""
        rng = np.random.default_rng(seed)
        d = self.decl
        dim_names = [n for n, kind in self.names.kinds.items() if kind == "dim"]
        dim_names += [n for n, dom in d.symbols.items() if dom == "positive_integer" and n not in dim_names]
        points = []
        for _ in range(k):
            p = Point()
            taken = {v for v in d.sizes.values()}
            pool = [v for v in range(2, 10) if v not in taken]
            rng.shuffle(pool)
            for nm in sorted(dim_names):
                if nm in d.sizes:
                    p.dims[nm] = int(d.sizes[nm])
                else:
                    p.dims[nm] = int(pool.pop()) if pool else int(rng.integers(2, 8))
                p.values[nm] = float(p.dims[nm])
            for nm, dom in d.symbols.items():
                key = self._key(nm)
                if key in p.values or key in self.names.families and self.names.kinds.get(key) == "family":
                    continue
                if self.names.kinds.get(key) == "matrix":
                    continue
                p.values[key] = float(_DOMAIN_SAMPLERS[dom](rng))
            for nm, shape in d.shapes.items():
                key = self._key(nm)
                if key in d.indexed or key in self.names.families:
                    continue
                r, c = (self._dim(s, p) for s in shape)
                p.values[key] = rng.normal(0.0, 1.0, (r, c))
            for nm, idx in d.indexed.items():
                key = self._key(nm)
                if key in self.patterns:
                    continue
                sizes = []
                offsets = []
                for letter in idx:
                    lo, hi = self._bounds(letter, p)
                    sizes.append(hi - lo + 1)
                    offsets.append(lo)
                dom = d.symbols.get(nm, "real")
                if nm in d.shapes:
                    r, c = (self._dim(s, p) for s in d.shapes[nm])
                    arr = rng.normal(0.0, 1.0, (*sizes, r, c))
                else:
                    arr = np.asarray(_DOMAIN_SAMPLERS[dom](rng, tuple(sizes)), dtype=float)
                p.families[key] = (offsets[0], arr)
            for c in d.constraints:
                kind, _, nm = c.partition(":")
                self._constrain(kind, self._key(nm), p, rng)
            # free indices get a random value in range
            for letter in d.indices:
                if letter in p.values:
                    continue
                lo, hi = self._bounds(letter, p)
                p.values[letter] = float(rng.integers(lo, hi + 1))
            points.append(p)
        return points

    def _key(self, nm: str) -> str:
        from whiteboard_app.latex import canonical, is_plain_name_key, name_key

        return name_key(nm) if is_plain_name_key(nm) else "@" + canonical(nm)

    def _dim(self, s: str, p: Point) -> int:
        if s.isdigit():
            return int(s)
        if s in p.dims:
            return p.dims[s]
        raise EvalError(f"dimension {s} has no size")

    def _bounds(self, letter: str, p: Point) -> tuple[int, int]:
        lo_s, hi_s = self.decl.indices[letter]
        return self._int_of(lo_s, p), self._int_of(hi_s, p)

    def _int_of(self, s: str, p: Point) -> int:
        s = s.strip()
        if s.lstrip("-").isdigit():
            return int(s)
        if s in p.dims:
            return p.dims[s]
        # simple forms like "n-1", "K+1"
        for op in ("-", "+"):
            if op in s:
                a, b = s.split(op, 1)
                va, vb = self._int_of(a, p), self._int_of(b, p)
                return va - vb if op == "-" else va + vb
        v = p.values.get(s)
        if v is None:
            raise EvalError(f"index bound {s} has no value")
        return int(v)

    def _constrain(self, kind: str, nm: str, p: Point, rng) -> None:
        if nm in p.families:
            lo, arr = p.families[nm]
            if kind == "simplex":
                a = rng.uniform(0.2, 1.0, arr.shape)
                p.families[nm] = (lo, a / a.sum())
            elif kind == "onehot":
                a = np.zeros(arr.shape)
                a.flat[int(rng.integers(0, a.size))] = 1.0
                p.families[nm] = (lo, a)
            return
        v = p.values.get(nm)
        if not isinstance(v, np.ndarray):
            return
        r, c = v.shape
        if kind == "simplex":
            a = rng.uniform(0.2, 1.0, v.shape)
            p.values[nm] = a / a.sum(axis=0, keepdims=True)
        elif kind == "onehot":
            a = np.zeros(v.shape)
            for j in range(c):
                a[int(rng.integers(0, r)), j] = 1.0
            p.values[nm] = a
        elif kind == "symmetric":
            p.values[nm] = (v + v.T) / 2
        elif kind == "spd":
            p.values[nm] = v @ v.T + r * np.eye(r)
        elif kind == "orthogonal":
            q, _ = np.linalg.qr(rng.normal(0.0, 1.0, (r, max(r, c))) if r >= c else rng.normal(0, 1, (r, c)))
            p.values[nm] = q[:, :c] if r >= c else q
        elif kind == "unit":
            p.values[nm] = v / np.linalg.norm(v)
        elif kind == "diagonal":
            p.values[nm] = np.diag(rng.uniform(0.3, 3.0, r))

    # ---------------------------------------------------------------- evaluation
    def value(self, tree, p: Point, scope: dict | None = None):
        """Evaluate a tree at a point; scope maps bound index names / overrides to values."""
        self._current_dims = p.dims
        with np.errstate(all="ignore"):
            v = self.ev(tree, p, dict(scope or {}))
        if isinstance(v, Ident):
            raise EvalError("I alone has no size")
        return _scalar(v) if not isinstance(v, np.ndarray) or v.shape == (1, 1) else v

    def ev(self, t, p: Point, scope: dict):
        """Evaluate a tree (no error-state handling; see :meth:`value`). Raises EvalError / ShapeError."""
        k = t[0]
        if k == "num":
            return t[1]
        if k == "var":
            return self.lookup(t[1], p, scope)
        if k == "idx":
            return self.element(t[1], tuple(self.index_value(s, p, scope) for s in t[2]), p, scope)
        if k == "add":
            acc = None
            for a in t[1]:
                v = self.ev(a, p, scope)
                acc = v if acc is None else self.add(acc, v, a)
            return acc
        if k == "mul":
            return self.mul_seq(t[1], p, scope)
        if k == "pow":
            return self.power(self.ev(t[1], p, scope), t[2], p, scope)
        if k == "T":
            v = self.ev(t[1], p, scope)
            return v.T if isinstance(v, np.ndarray) else v  # I^T = I
        if k == "call":
            if t[1] == "diag" and len(t[2]) == 1:
                col = self._over_free_index(t[2][0], p, scope)
                if col is not None:
                    return np.diag(col[:, 0])
            return self.call(t[1], [self.ev(a, p, scope) for a in t[2]])
        if k in ("sum", "prod"):
            lo, hi = (self.ev(b, p, scope) for b in (t[3], t[4]))
            if isinstance(lo, Ident) or isinstance(hi, Ident) or is_array(lo) or is_array(hi):
                raise EvalError("a bound of a sum is a matrix or vector, not a number")
            lo, hi = _scalar(lo), _scalar(hi)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise EvalError("a bound of a sum is not a finite number")
            lo, hi = int(round(lo)), int(round(hi))
            if hi - lo > 200:
                raise EvalError("a sum with more than 200 terms")
            # nested sums multiply: six nested \sum_i over n = 9 would be 531,441 terms per point
            terms = scope.get(_TERMS, 1) * max(1, hi - lo + 1)
            if terms > MAX_NESTED_TERMS:
                raise EvalError(f"nested sums with more than {MAX_NESTED_TERMS:,} terms")
            acc = 0.0 if k == "sum" else 1.0
            first = True
            for i in range(lo, hi + 1):
                sc = dict(scope)
                sc[t[2]] = float(i)
                sc[_TERMS] = terms
                v = self.ev(t[1], p, sc)
                if first:
                    acc = v
                    first = False
                elif k == "sum":
                    acc = self.add(acc, v, t)
                else:
                    acc = self.mul2(acc, v)
            return acc
        if k == "deriv":
            return self.derivative(t[1], t[2], p, scope)
        if k == "expect":
            v = self._linear_expectation(t[1], p, scope, 0)
            if v is None:
                v = self._polynomial_expectation(t[1], p, scope)
            if v is None:
                raise EvalError("an expectation needs a definition on the card")
            return v
        if k == "had":
            raise EvalError("a Hadamard product needs two sides")
        if k == "fn":
            raise EvalError(f"{t[1]} needs an argument")
        raise EvalError(f"cannot evaluate {k}")

    def index_value(self, t, p: Point, scope: dict) -> int:
        """An index expression's integer value; EvalError when it is not an integer."""
        v = _scalar(self.ev(t, p, scope))
        if isinstance(v, np.ndarray) or abs(v - round(v)) > 1e-9:
            raise EvalError("an index is not an integer")
        return int(round(v))

    # ---------------------------------------------------------------- linearity of expectation
    def _expectations(self) -> tuple[list[tuple], frozenset]:
        """The card's defined expectations as (argument tree, definition name), and the names they mention
        (with the names defined from them): the random quantities. Built once per definitions table."""
        cached = getattr(self, "_expect_cache", None)
        if cached is not None and cached[0] is self._definitions:
            return cached[1], cached[2]
        from .parse import ParseError, parse_piece

        table: list[tuple] = []
        for name in self._definitions:
            if not isinstance(name, str) or not name.startswith("@"):
                continue
            key = name[1:]
            for head in ("E[", r"\mathbb{E}["):
                if key.startswith(head) and key.endswith("]"):
                    try:
                        table.append((parse_piece(key[len(head) : -1], self.names), name))
                    except (ParseError, AttributeError, RecursionError, ValueError):
                        pass
        random: set[str] = set()
        for tree, _ in table:
            random |= {nm for nm in _names_in(tree, bounds=False) if self.names.kinds.get(nm) != "index"}
        grew = True
        while grew:  # a name defined from a random one is random (bar_x from x)
            grew = False
            for name, tree in self._definitions.items():
                if name.startswith("@"):
                    continue  # E[...] = value: a number, not a random quantity
                if name not in random and isinstance(tree, tuple) and _names_in(tree) & random:
                    random.add(name)
                    grew = True
        out = (table, frozenset(random))
        self._expect_cache = (self._definitions, *out)
        return out

    def _constant(self, tree, random: frozenset) -> bool:
        """Is ``tree`` free of random quantities: numbers, declared scalar symbols and indices that no
        defined expectation mentions (n, a constant c), never a family, matrix or unknown name?"""
        for nm in _names_in(tree):
            if nm in random or self.names.kinds.get(nm) not in ("symbol", "index", "dim"):
                return False
        return True

    def _linear_expectation(self, arg, p: Point, scope: dict, depth: int):
        """E[arg] by linearity from the card's defined expectations (E[a + b] = E[a] + E[b], E[c X] =
        c E[X] for a constant c, E[c] = c, E[sum_i X_i] = sum_i E[X_i]; Wasserman, All of Statistics,
        Thm 3.11), or None when some part has no definition. E[(sqrt X)^2] is E[X]."""
        if depth > 12:
            return None
        table, random = self._expectations()
        for tree, name in table:
            if tree == arg:
                return self.ev(("var", name), p, scope)
        if not table:
            return None
        k = arg[0]
        if k == "pow" and arg[1][0] == "pow" and arg[2][0] == "num" and arg[1][2][0] == "num":
            if abs(arg[2][1] * arg[1][2][1] - 1.0) < 1e-12:
                return self._linear_expectation(arg[1][1], p, scope, depth + 1)
        if self._constant(arg, random):
            return self.ev(arg, p, scope)
        if k == "add":
            acc = None
            for a in arg[1]:
                v = self._linear_expectation(a, p, scope, depth + 1)
                if v is None:
                    return None
                acc = v if acc is None else self.add(acc, v, a)
            return acc
        if k == "mul":
            const = [f for f in arg[1] if self._constant(f, random)]
            rest = [f for f in arg[1] if not self._constant(f, random)]
            if not const or not rest:
                return None
            inner = rest[0] if len(rest) == 1 else ("mul", tuple(rest))
            v = self._linear_expectation(inner, p, scope, depth + 1)
            if v is None:
                return None
            return self.mul2(self.mul_seq(const, p, scope), v)
        if k == "sum" and self._constant(arg[3], random) and self._constant(arg[4], random):
            lo, hi = (_scalar(self.ev(b, p, scope)) for b in (arg[3], arg[4]))
            if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo > 200:
                return None
            acc = 0.0
            for i in range(int(round(lo)), int(round(hi)) + 1):
                v = self._linear_expectation(arg[1], p, {**scope, arg[2]: float(i)}, depth + 1)
                if v is None:
                    return None
                acc = self.add(acc, v, arg)
            return acc
        return None

    def _polynomial_expectation(self, arg, p: Point, scope: dict):
        """E[arg] for a polynomial in the card's random quantities, by expanding it into monomials and taking
        each monomial's expectation from the card's definitions (linearity, Wasserman Thm 3.11): the route
        ``E[(f + \\epsilon - \\hat f)^2] = f^2 + E[\\epsilon^2] + E[\\hat f^2] + 2fE[\\epsilon] - 2fE[\\hat f]
        - 2E[\\epsilon\\hat f]`` (Hastie et al. ESL 7.3, Geman et al. 1992). The random atoms are the names
        and elements that the card's expectations of monomials (``E[\\hat f]``, ``E[\\epsilon^2]``,
        ``E[\\epsilon\\hat f]``) are taken of; a name defined from them (``y = f + \\epsilon``) is replaced by
        its definition; an expectation inside the argument is a number. None when a monomial's expectation
        is not on the card (no independence is assumed that the card does not state), or when the
        expansion grows past 64 monomials."""
        table, _ = self._expectations()
        moments: dict[tuple, str] = {}
        for tree, name in table:
            key = _monomial_key(tree)
            if key is not None and key:
                moments[key] = name
        atoms = {a for key in moments for a, _ in key}
        if not atoms:
            return None
        atom_names: set[str] = set()
        for a in atoms:
            atom_names |= _names_in(a)
        tree = self._inline_random(arg, atom_names, 0)
        monomials = _expand_monomials(tree, 64)
        if monomials is None:
            return None
        acc = None
        for factors in monomials:
            const = [f for f in factors if not (_names_in(f) & atom_names)]
            rand = [f for f in factors if _names_in(f) & atom_names]
            if not all(self._scalar_constant(f) for f in const):
                return None  # a family or a name of unknown kind beside the atoms: not known constant
            key = _monomial_key(("mul", tuple(rand))) if rand else ()
            if key is None or (rand and key not in moments):
                return None
            v = self.mul_seq(const, p, scope) if const else 1.0
            if rand:
                v = self.mul2(v, self.ev(("var", moments[key]), p, scope))
            acc = v if acc is None else self.add(acc, v, arg)
        return acc

    def _scalar_constant(self, tree) -> bool:
        """Is ``tree`` made of numbers, declared scalar symbols, indices and sizes, and expectations' values
        (``E[\\hat f]`` inside the argument)? Used for the factors beside a monomial's random atoms."""
        return all(
            (nm.startswith("@") and nm in self._definitions)
            or self.names.kinds.get(nm) in ("symbol", "index", "dim")
            for nm in _names_in(tree)
        )

    def _inline_random(self, tree, atom_names: set[str], depth: int):
        """``tree`` with each name defined from a random atom (``y`` = ``f + \\epsilon``) replaced by its
        definition (at most 6 levels)."""
        if not isinstance(tree, tuple) or not tree or depth > 6:
            return tree
        if tree[0] == "var":
            d = self._definitions.get(tree[1])
            if tree[1] not in atom_names and isinstance(d, tuple) and _names_in(d) & atom_names:
                return self._inline_random(d, atom_names, depth + 1)
            return tree
        if tree[0] in ("add", "mul"):
            return (tree[0], tuple(self._inline_random(x, atom_names, depth) for x in tree[1]))
        if tree[0] == "pow":
            return ("pow", self._inline_random(tree[1], atom_names, depth), tree[2])
        return tree

    def lookup(self, name: str, p: Point, scope: dict):
        """A name's value: scope (bound indices, overrides), the point, a stack, a definition, I, e, pi."""
        if name in scope:
            return scope[name]
        if name in p.values:
            return p.values[name]
        if name in self.names.stacks:
            return self.stack(self.names.stacks[name], p, scope)
        if name in self.definitions:
            self._depth += 1
            try:
                if self._depth > 30:
                    raise EvalError(f"the definition of {name} refers to itself")
                v = self.ev(self.definitions[name], p, scope)
            finally:
                self._depth -= 1
            if self.mean and name in self.mean:
                v = v / _scalar(self.ev(self.mean[name], p, scope))
            if self.rows and _column(v) and self._scalar_gradient_name(name):
                return v.T  # a defined \frac{\partial L}{\partial y} (a column on the card) as a row
            return v
        kind = self.names.kinds.get(name)
        if kind == "identity":
            return Ident(1.0)
        if name == "e":
            return math.e
        if name == "pi":
            return math.pi
        if kind == "family":
            raise EvalError(f"{name} needs its index (e.g. {name}_i)")
        if kind == "function":
            raise EvalError(f"the function {name} needs an argument")
        raise EvalError(f"{name} has no value here")

    def _scalar_gradient_name(self, name: str) -> bool:
        """Is ``name`` the card's opaque name of a derivative ``\\frac{\\partial L}{\\partial y}`` /
        ``\\frac{dL}{dy}`` of a name that is not declared as a matrix or vector (a scalar such as a loss)?"""
        m = _GRADIENT_KEY.match(name)
        return m is not None and self.names.kinds.get(m.group(1)) != "matrix"

    def _over_free_index(self, tree, p: Point, scope: dict):
        """``\\mathrm{diag}(p_i(1-p_i))`` (Murphy 8.3.1: ``S = diag(mu_i(1-mu_i))``): when the argument of diag
        is a number that depends on one free declared index letter (not bound by a sum around it), the column
        of its values over the index's declared range (n x 1); None otherwise (diag of the value as written)."""
        from whiteboard_app.maths.parse import free_names

        free = [x for x in free_names(tree) if x in self.names.indices and x not in scope]
        if len(free) != 1:
            return None
        letter = free[0]
        try:
            lo, hi = self._bounds(letter, p)
        except EvalError:
            return None
        vals = []
        for i in range(lo, hi + 1):
            sc = dict(scope)
            sc[letter] = float(i)
            v = self.ev(tree, p, sc)
            if isinstance(v, Ident) or isinstance(v, np.ndarray) and v.shape != (1, 1):
                return None
            vals.append(_scalar(v))
        return np.array(vals, dtype=float).reshape(-1, 1)

    def stack(self, fam: str, p: Point, scope: dict):
        """The family's elements stacked: scalars into an n x 1 vector, d x 1 vectors into the rows of an
        n x d matrix (row i is x_i^T)."""
        idx = self.names.families.get(fam, "")
        if len(idx) != 1:
            raise EvalError(f"{fam} has {len(idx)} indices; only one-index families stack")
        lo, hi = self._bounds(idx, p)
        items = [self.element(fam, (i,), p, scope) for i in range(lo, hi + 1)]
        if all(not isinstance(x, np.ndarray) or x.shape == (1, 1) for x in items):
            return np.array([[_scalar(x)] for x in items], dtype=float)
        if all(isinstance(x, np.ndarray) and x.ndim == 2 and x.shape[1] == 1 for x in items):
            return np.vstack([x.T for x in items])
        raise EvalError(f"cannot stack the elements of {fam}")

    def element(self, fam: str, idx: tuple[int, ...], p: Point, scope: dict):
        """Element idx (1-based per the declared range) of a family, pattern definition or Kronecker delta;
        IndexRangeError outside the range."""
        key = ("@idx", fam, idx)
        if key in scope:
            return scope[key]
        if fam in self.patterns:
            params, tree = self.patterns[fam]
            if len(params) != len(idx):
                raise EvalError(f"{fam} takes {len(params)} indices")
            mkey = _memo_key(fam, idx, p, scope, params, self._pattern_deps(fam))
            got = self._memo.get(mkey) if mkey is not None else None
            if got is not None and got[0] is p:
                return got[1]
            sc = dict(scope)
            for prm, v in zip(params, idx, strict=True):
                sc[prm] = float(v)
            self._depth += 1
            try:
                if self._depth > 30:
                    raise EvalError(f"the definition of {fam} refers to itself")
                v = self.ev(tree, p, sc)
            finally:
                self._depth -= 1
            if mkey is not None and not isinstance(v, np.ndarray):
                if len(self._memo) > 100_000:
                    self._memo.clear()
                self._memo[mkey] = (p, v)
            return v
        if self.names.kinds.get(fam) == "kron":
            if len(idx) != 2:
                raise EvalError("the Kronecker delta takes two indices")
            return 1.0 if idx[0] == idx[1] else 0.0
        if fam not in p.families and fam not in self.patterns and self.names.kinds.get(fam) != "family":
            # a component of a vector or an entry of a matrix: w_j, A_{jk} (1-based)
            v = self.lookup(fam, p, scope)
            if is_array(v):
                return self.component(fam, v, idx)
        if fam not in p.families:
            raise EvalError(f"{fam} has no values")
        lo, arr = p.families[fam]
        pos = tuple(i - lo for i in idx)
        if any(q < 0 or q >= arr.shape[j] for j, q in enumerate(pos)) or len(pos) > arr.ndim:
            raise IndexRangeError(f"index {idx[0] if len(idx) == 1 else idx} of {fam} is outside its range")
        v = arr[pos]
        if isinstance(v, np.ndarray) and v.ndim != 2:
            if v.size != 1:
                raise EvalError(f"{fam} takes {arr.ndim - (2 if fam in self.decl.shapes else 0)} indices")
            return float(v.reshape(-1)[0])
        return v if isinstance(v, np.ndarray) else float(v)

    def _pattern_deps(self, fam: str) -> frozenset:
        """The names a pattern definition's value can depend on: those it mentions, through the definitions
        and patterns it uses (memoised with the elements)."""
        key = ("@deps", fam)
        got = self._memo.get(key)
        if got is not None:
            return got[1]
        seen: set[str] = set()
        todo = [self.patterns[fam][1]]
        while todo:
            t = todo.pop()
            stack = [t]
            while stack:
                node = stack.pop()
                if not isinstance(node, tuple) or not node:
                    continue
                if not isinstance(node[0], str):  # a list of terms or arguments
                    stack.extend(node)
                    continue
                if node[0] in ("var", "idx") and isinstance(node[1], str) and node[1] not in seen:
                    seen.add(node[1])
                    if node[1] in self.definitions:
                        todo.append(self.definitions[node[1]])
                    if node[1] in self.patterns:
                        todo.append(self.patterns[node[1]][1])
                    if node[1] in self.names.stacks:  # X stacks the elements of the family x
                        seen.add(self.names.stacks[node[1]])
                if node[0] in ("sum", "prod") and isinstance(node[2], str):
                    seen.add(node[2])
                stack.extend(x for x in node[1:] if isinstance(x, tuple))
        deps = frozenset(seen)
        self._memo[key] = (None, deps)
        return deps

    def component(self, fam: str, v, idx: tuple[int, ...]) -> float:
        """Component ``idx`` (1-based) of the vector or matrix value v of ``fam``: one index for a d x 1
        or 1 x d vector, two for a matrix; IndexRangeError outside its size."""
        if len(idx) == 1 and 1 in v.shape:
            flat = v.reshape(-1)
            if not 1 <= idx[0] <= flat.size:
                raise IndexRangeError(f"component {idx[0]} of {fam} is outside 1..{flat.size}")
            return float(flat[idx[0] - 1])
        if len(idx) == 2:
            r, c = idx
            if not (1 <= r <= v.shape[0] and 1 <= c <= v.shape[1]):
                raise IndexRangeError(f"entry {idx} of {fam} is outside its {v.shape[0]} x {v.shape[1]} size")
            return float(v[r - 1, c - 1])
        raise EvalError(f"{fam} takes {1 if 1 in v.shape else 2} component indices")

    # ---------------------------------------------------------------- algebra
    def shape_name(self, v) -> str:
        """``"(n x d)"`` in the card's dimension names (dims are sampled distinct), or ``"scalar"``."""
        if not isinstance(v, np.ndarray):
            return "scalar"
        return f"({self._dname(v.shape[0])} x {self._dname(v.shape[1])})"

    def _dname(self, n: int) -> str:
        names = [k for k, v in getattr(self, "_current_dims", {}).items() if v == n]
        return "|".join(sorted(names)) if names and n != 1 else str(n)

    def add(self, a, b, where=None):
        """a + b: equal shapes, a scalar broadcast, or c I plus a square matrix; ShapeError otherwise."""
        if isinstance(a, Ident) or isinstance(b, Ident):
            if isinstance(a, Ident) and isinstance(b, Ident):
                return Ident(a.c + b.c)
            i, m = (a, b) if isinstance(a, Ident) else (b, a)
            if not isinstance(m, np.ndarray) or m.shape[0] != m.shape[1]:
                if not isinstance(m, np.ndarray) or m.shape == (1, 1):
                    return _scalar(m) + i.c
                raise ShapeError(f"cannot add I to {self.shape_name(m)}")
            return m + i.c * np.eye(m.shape[0])
        aa, bb = is_array(a), is_array(b)
        if aa and bb and a.shape != b.shape:
            raise ShapeError(f"cannot add {self.shape_name(a)} and {self.shape_name(b)}")
        # a scalar (or 1 x 1) plus a matrix broadcasts: 1 - sigma(z) for a vector z
        return a + b

    def mul2(self, a, b, hadamard: bool = False):
        """a b in the written order: matrix product, scaling by a scalar or 1 x 1, or elementwise (odot)."""
        if isinstance(a, Ident) or isinstance(b, Ident):
            if isinstance(a, Ident) and isinstance(b, Ident):
                return Ident(a.c * b.c)
            i, m = (a, b) if isinstance(a, Ident) else (b, a)
            if is_array(m):
                return i.c * m
            return Ident(i.c * _scalar(m))
        if hadamard:
            if is_array(a) and is_array(b) and a.shape != b.shape:
                a, b = _diagonal_as_vector(a, b), _diagonal_as_vector(b, a)
            if is_array(a) and is_array(b) and a.shape != b.shape:
                raise ShapeError(f"elementwise product of {self.shape_name(a)} and {self.shape_name(b)}")
            return a * b
        if is_array(a) and is_array(b):
            if a.shape[1] != b.shape[0]:
                raise ShapeError(f"cannot multiply {self.shape_name(a)} by {self.shape_name(b)}")
            return a @ b
        if isinstance(a, np.ndarray) and a.shape == (1, 1):
            a = float(a[0, 0])
        if isinstance(b, np.ndarray) and b.shape == (1, 1):
            b = float(b[0, 0])
        return a * b

    def _inner(self, a, b):
        """``(a)\\cdot(b)`` written between two parenthesised factors: the inner product a^T b when both are
        columns (or both rows) of one size (a matrix product of two columns is undefined, so the written dot
        can only mean this); otherwise the ordinary product."""
        if is_array(a) and is_array(b) and a.shape == b.shape and min(a.shape) == 1 and max(a.shape) > 1:
            return float((a.reshape(-1) * b.reshape(-1)).sum())
        return self.mul2(a, b)

    def _component_of(self, v, k):
        """Component k (1-based) of a column or row value, ``(a)_k``; ShapeError for a matrix, EvalError
        for an index out of range."""
        if not is_array(v):
            raise EvalError("a component of a number")
        if 1 not in v.shape:
            raise ShapeError(f"a component of a matrix {self.shape_name(v)}")
        q = int(round(_scalar(k)))
        flat = np.asarray(v).reshape(-1)
        if not 1 <= q <= flat.size:
            raise EvalError(f"component {q} of a vector of {flat.size}")
        return float(flat[q - 1])

    def mul_seq(self, factors, p: Point, scope: dict):
        """Product of ordered factors, left to right; a ("had",) marker makes an elementwise product, which
        binds more loosely than the matrix product written by juxtaposition: ``a \\odot B c`` is
        ``a \\odot (B c)`` (Goodfellow et al. 6.5, ``\\sigma'(z) \\odot W^T\\delta``). When that reading
        has mismatched shapes, the strict left-to-right one (``(a \\odot B) c``) is tried."""
        if ("had",) in factors:
            segs: list[list] = [[]]
            for f in factors:
                if f == ("had",):
                    segs.append([])
                else:
                    segs[-1].append(f)
            if all(segs):
                try:
                    acc = None
                    for seg in segs:
                        v = self.mul_seq(seg, p, scope)
                        acc = v if acc is None else self.mul2(acc, v, hadamard=True)
                    return acc
                except ShapeError:
                    pass
        acc = None
        had = False
        for f in factors:
            if f == ("had",):
                had = True
                continue
            v = self.ev(f, p, scope)
            acc = v if acc is None else self.mul2(acc, v, hadamard=had)
            had = False
        if acc is None:
            raise EvalError("empty product")
        return acc

    def power(self, base, exp_tree, p: Point, scope: dict):
        """base^e: scalars; square matrices to integer powers, -1 (inverse; SingularError), +-1/2."""
        e = _scalar(self.ev(exp_tree, p, scope))
        if isinstance(e, np.ndarray):
            raise ShapeError(f"an exponent cannot be {self.shape_name(e)}")
        if isinstance(base, Ident):
            return Ident(base.c**e)
        if is_array(base):
            if base.shape[0] != base.shape[1]:
                raise ShapeError(f"cannot raise {self.shape_name(base)} to a power")
            if e == -1:
                if np.linalg.cond(base) > 1e10:
                    raise SingularError(f"the {self.shape_name(base)} matrix is singular, it has no inverse")
                return np.linalg.inv(base)
            if float(e).is_integer() and e >= 0:
                return np.linalg.matrix_power(base, int(e))
            if e == 0.5:
                w, v = np.linalg.eigh((base + base.T) / 2)
                return v @ np.diag(np.sqrt(w)) @ v.T
            if e == -0.5:
                w, v = np.linalg.eigh((base + base.T) / 2)
                return v @ np.diag(1 / np.sqrt(w)) @ v.T
            raise EvalError("matrix power")
        base = _scalar(base)
        if base < 0 and not float(e).is_integer():
            return float("nan")
        try:
            return float(base) ** e
        except (OverflowError, ZeroDivisionError):
            return float("nan")

    def call(self, fn: str, args: list):
        """A known function (elementwise on arrays; softmax over a column or row-wise; tr, det, diag, norm)."""
        a = args[0] if args else None
        if fn in ("max", "min") and len(args) == 2:
            x, y = (_scalar(v) for v in args)
            return np.maximum(x, y) if fn == "max" else np.minimum(x, y)
        if fn == "inner" and len(args) == 2:
            return self._inner(args[0], args[1])
        if fn == "component" and len(args) == 2:
            return self._component_of(args[0], args[1])
        if len(args) != 1 and fn not in ("logb", "binom", "cov", "prob", "kl"):
            raise EvalError(f"{fn} takes one argument")
        if isinstance(a, Ident):
            raise EvalError(f"{fn}(I) needs the size of I")
        if fn == "sigmoid":
            return 1.0 / (1.0 + np.exp(-a))
        if fn == "log_sigmoid":
            return -np.logaddexp(0.0, -a)
        if fn == "softplus":
            return np.logaddexp(0.0, a)
        if fn == "log":
            return np.log(a)
        if fn == "logb":
            return np.log(a) / np.log(_scalar(args[1]))
        if fn == "exp":
            return np.exp(a)
        if fn == "relu":
            return np.maximum(a, 0.0)
        if fn in ("tanh", "sin", "cos", "tan", "sinh", "cosh", "sqrt", "abs", "sign"):
            return getattr(np, {"abs": "abs"}.get(fn, fn))(a)
        if fn == "softmax":
            if not isinstance(a, np.ndarray):
                return 1.0
            if a.shape[1] == 1:
                e = np.exp(a - a.max())
                return e / e.sum()
            e = np.exp(a - a.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if fn == "norm":
            return float(np.linalg.norm(a)) if isinstance(a, np.ndarray) else abs(float(a))
        if fn == "tr":
            if not is_array(a):
                return _scalar(a)
            if a.shape[0] != a.shape[1]:
                raise ShapeError(f"trace of {self.shape_name(a)}")
            return float(np.trace(a))
        if fn == "det":
            if not is_array(a):
                return _scalar(a)
            if a.shape[0] != a.shape[1]:
                raise ShapeError(f"determinant of {self.shape_name(a)}")
            return float(np.linalg.det(a))
        if fn == "diag":
            if not is_array(a):
                return _scalar(a)
            if a.shape[1] == 1:
                return np.diag(a[:, 0])
            return np.diag(a).reshape(-1, 1).copy()
        if fn in ("var", "cov", "prob", "kl"):
            word = {
                "var": "a variance",
                "cov": "a covariance",
                "prob": "a probability",
                "kl": "a KL divergence",
            }[fn]
            raise EvalError(f"{word} needs a definition on the card")
        if fn == "factorial":
            return math.gamma(_scalar(a) + 1)
        if fn == "binom":
            n, k = (_scalar(v) for v in args)
            return math.gamma(n + 1) / (math.gamma(k + 1) * math.gamma(n - k + 1))
        raise EvalError(f"unknown function {fn}")

    # ---------------------------------------------------------------- derivatives
    def derivative(self, f, wrt, p: Point, scope: dict):
        """df/dwrt by central differences (step 1e-6 relative, 1e-3 when nested): the shape of wrt for a
        scalar f (with :attr:`rows`, a row 1 x d for a column wrt), a p x d Jacobian for a p x 1 f and d x 1
        wrt. A derivative inside f is always taken in the cards' layout. EvalError for an undefined f."""
        rows, self.rows = self.rows, False
        try:
            return self._derivative(f, wrt, p, scope, rows and not _contains(f, "deriv"))
        finally:
            self.rows = rows

    def _derivative(self, f, wrt, p: Point, scope: dict, rows: bool):
        if f[0] == "var" and self.names.kinds.get(f[1]) == "function":
            f = ("call", self.names.functions[f[1]], (wrt,))
        if (
            f[0] == "var"
            and f[1] not in self.definitions
            and self.names.kinds.get(f[1]) not in ("matrix",)
            and f[1] not in scope
            and f[1] != (wrt[1] if wrt[0] == "var" else None)
        ):
            kind = self.names.kinds.get(f[1])
            if kind in ("symbol", None, "dim"):
                raise EvalError(f"{f[1]} is not defined on the card, so its derivative cannot be checked")
        nested = _contains(f, "deriv")
        if wrt[0] == "var":
            key = wrt[1]
            x0 = self.lookup(key, p, scope)
        elif (
            wrt[0] == "idx"
            and wrt[1] not in p.families
            and wrt[1] not in self.patterns
            and self.names.kinds.get(wrt[1]) == "matrix"
        ):
            # d/dw_j: perturb component j of the whole vector w (every use of w sees it)
            idx = tuple(self.index_value(s, p, scope) for s in wrt[2])
            full = self.lookup(wrt[1], p, scope)
            if not is_array(full):
                raise EvalError(f"{wrt[1]} has no components")
            self.component(wrt[1], full, idx)  # range check
            pos = (
                (idx[0] - 1, 0)
                if len(idx) == 1 and full.shape[1] == 1
                else ((0, idx[0] - 1) if len(idx) == 1 else (idx[0] - 1, idx[1] - 1))
            )
            base = np.array(full, dtype=float)

            def at_c(x):
                m = base.copy()
                m[pos] = x
                sc = dict(scope)
                sc[wrt[1]] = m
                return _scalar(self.ev(f, p, sc))

            x0 = float(base[pos])
            h = (1e-3 if nested else 1e-6) * max(1.0, abs(x0))
            return (_as(at_c(x0 + h)) - _as(at_c(x0 - h))) / (2 * h)
        elif wrt[0] == "idx":
            idx = tuple(self.index_value(s, p, scope) for s in wrt[2])
            key = ("@idx", wrt[1], idx)
            x0 = self.element(wrt[1], idx, p, scope)
        else:
            raise EvalError("can only differentiate with respect to a name")
        if isinstance(x0, Ident):
            raise EvalError("cannot differentiate with respect to I")
        rel = 1e-3 if nested else 1e-6

        def at(x):
            sc = dict(scope)
            sc[key] = x
            return _scalar(self.ev(f, p, sc))

        if not isinstance(x0, np.ndarray):
            x0 = float(x0)
            h = rel * max(1.0, abs(x0))
            return (_as(at(x0 + h)) - _as(at(x0 - h))) / (2 * h)
        grads = []
        flat = x0.reshape(-1)
        for j in range(flat.size):
            h = rel * max(1.0, abs(flat[j]))
            xp = flat.copy()
            xm = flat.copy()
            xp[j] += h
            xm[j] -= h
            grads.append((_as(at(xp.reshape(x0.shape))) - _as(at(xm.reshape(x0.shape)))) / (2 * h))
        g0 = grads[0]
        if not isinstance(g0, np.ndarray):
            g = np.array(grads, dtype=float).reshape(x0.shape)
            return g.T if rows and _column(g) else g  # a scalar f by a column: a row in numerator layout
        if x0.shape[1] == 1 and g0.ndim == 2 and g0.shape[1] == 1:
            return np.hstack([np.asarray(g).reshape(-1, 1) for g in grads])  # Jacobian (p x d)
        raise EvalError("derivative of a matrix with respect to a matrix")


#: the opaque name of a first derivative of a plain name (``@\frac{\partial L}{\partial y}``, ``@\frac{dL}{dw}``)
_GRADIENT_KEY = re.compile(
    r"@\\frac\{(?:\\partial|d|\\mathrm\{d\})\s*([A-Za-z]|\\[A-Za-z]+)\}\{(?:\\partial|d|\\mathrm\{d\})\s*"
    r"(?:[A-Za-z]|\\[A-Za-z]+)(?:_\{?[A-Za-z0-9]+\}?)?\}$"
)


def _column(v) -> bool:
    """Is ``v`` a column vector of more than one entry (d x 1, d > 1)?"""
    return isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[1] == 1 and v.shape[0] > 1


def _memo_key(fam: str, idx: tuple, p: Point, scope: dict, params: tuple, deps: frozenset):
    """The memo key of a pattern element at a point in a scope: the scope's entries for names the pattern
    depends on (``deps``), other than its own index letters; None when such a value is not hashable (a
    matrix override)."""
    items = [
        (k, v)
        for k, v in scope.items()
        if k != _TERMS
        and ((len(k) == 3 and k[1] in deps) if isinstance(k, tuple) else (k in deps and k not in params))
    ]
    if not items:
        return (fam, idx, id(p))
    try:
        return (fam, idx, id(p), frozenset(items))
    except TypeError:
        return None


def _as(v):
    return v if isinstance(v, np.ndarray) else float(v)


def _contains(tree, kind: str) -> bool:
    if not isinstance(tree, tuple) or not tree:
        return False
    if tree[0] == kind:
        return True
    for a in tree[1:]:
        if isinstance(a, tuple):
            if a and isinstance(a[0], str):
                if _contains(a, kind):
                    return True
            else:
                for b in a:
                    if _contains(b, kind):
                        return True
    return False


def contains(tree, kind: str) -> bool:
    """True when a node of that kind occurs in the tree."""
    return _contains(tree, kind)


def _diagonal_as_vector(m, v):
    """``m`` as its diagonal (a column) when it is a square diagonal matrix and ``v`` a column of its size,
    else ``m``: in an elementwise product the derivative of an elementwise function of a vector,
    ``\\sigma'(z)``, is its diagonal Jacobian, and ``\\sigma'(z) \\odot v = J v`` (Goodfellow et al. 6.5.3)."""
    import numpy as np

    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 2 or v.shape != (m.shape[0], 1):
        return m
    off = m - np.diag(np.diag(m))
    if np.any(np.abs(off) > 1e-12 * (1.0 + float(np.max(np.abs(m))))):
        return m
    return np.diag(m).reshape(-1, 1).copy()
