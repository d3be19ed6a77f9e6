"""Parse normalised LaTeX with sympy's ``parse_latex`` (antlr backend, ``strict=True``) into a small,
ordered expression tree (nested tuples), validating that every identifier is accounted for.

sympy's own ``Mul`` sorts commutative factors, which loses the order of matrix products (``X^T y`` vs
``y X^T``). We therefore run a private copy of sympy's LaTeX converter module whose ``sympy.Mul`` builds an
ordered product node instead; sympy itself is not modified. Tree nodes:

``("num", float)``, ``("var", name)``, ``("idx", family, (sub, ...))``, ``("add", (terms))``,
``("mul", (factors in order))`` (``("had",)`` marks a Hadamard product), ``("pow", base, exp)``,
``("T", x)``, ``("call", function, (args))``, ``("sum"|"prod", body, index, lo, hi)``,
``("deriv", f, wrt)``, ``("expect", x)``.
"""

from __future__ import annotations

import importlib.util
import math
import re
import threading
from dataclasses import dataclass

from whiteboard_app.latex.tokens import (
    UNDECIDABLE_CMDS,
    UNDECIDABLE_RELATIONS,
    ParseError,
    clean,
    split_relations,
    tokenize,
)
from whiteboard_app.latex.wellformed import check_balance, check_structure

from .normalise import Names, Normalised, _Emitter, normalise_piece

_lock = threading.Lock()
_converter = None


def _ordered_mul(*args, evaluate=False):
    import sympy

    return sympy.Function("vvmul")(*args)


class _SympyProxy:
    """Stands in for the ``sympy`` module inside our copy of the converter: only ``Mul`` differs."""

    def __init__(self):
        import sympy

        self._sympy = sympy
        self.Mul = _ordered_mul

    def __getattr__(self, name):
        return getattr(self._sympy, name)


def _load_converter(sll: bool):
    """A private copy of ``sympy.parsing.latex._parse_latex_antlr`` with the ordered ``Mul``; with
    ``sll`` its parser uses antlr's SLL prediction (20-60x faster here; on input SLL rejects we retry
    with full LL, the two-stage strategy antlr recommends: an SLL parse that succeeds is the LL parse)."""
    spec = importlib.util.find_spec("sympy.parsing.latex._parse_latex_antlr")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.sympy = _SympyProxy()
    if sll and mod.LaTeXParser is not None:
        from antlr4.atn.PredictionMode import PredictionMode

        base = mod.LaTeXParser

        class _SLLParser(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._interp.predictionMode = PredictionMode.SLL

        mod.LaTeXParser = _SLLParser
    return mod


def _get_converter(sll: bool = False):
    global _converter
    with _lock:
        if _converter is None:
            _converter = (_load_converter(True), _load_converter(False))
    return _converter[0 if sll else 1]


def parse_latex_ordered(latex: str):
    """sympy ``parse_latex(latex, strict=True)`` (antlr) with ordered products. Raises ParseError."""
    try:
        return _get_converter(sll=True).parse_latex(latex, strict=True)
    except Exception:  # noqa: BLE001 - SLL prediction failed any way: retry with full LL
        pass
    try:
        return _get_converter(sll=False).parse_latex(latex, strict=True)
    except Exception as exc:  # noqa: BLE001 - LaTeXParsingError, antlr errors, sympy errors on odd input
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError(f"sympy cannot parse it: {msg}") from None


_KNOWN_CALLS = {"exp", "log", "tanh", "sin", "cos", "tan", "sinh", "cosh", "max", "min"}


def to_tree(expr, table: dict[str, tuple], names: Names, parse_sub):
    """Convert a sympy expression from :func:`parse_latex_ordered` into a tree; ParseError when a symbol
    is not accounted for (a leftover ``hat``, ``text``, an undeclared name...)."""
    import sympy

    def flat_mul(args):
        """A product's factors in written order, nested products flattened into one ("mul", ...)."""
        out = []
        for a in args:
            c = conv(a)
            out.extend(c[1] if c[0] == "mul" else [c])
        return ("mul", tuple(out))

    def conv(e):
        if isinstance(e, sympy.Function) and type(e).__name__ == "vvmul":
            return flat_mul(e.args)
        if isinstance(e, sympy.Number):
            if e.is_infinite:
                raise ParseError("infinity cannot be checked")
            return ("num", float(e))
        if e is sympy.E:
            return ("num", math.e)
        if e is sympy.pi:
            return ("num", math.pi)
        if isinstance(e, sympy.Symbol):
            return sym(e.name)
        if isinstance(e, sympy.Add):
            return ("add", tuple(conv(a) for a in e.args))
        if isinstance(e, sympy.Mul):
            return flat_mul(e.args)
        if isinstance(e, sympy.Pow):
            b, x = e.args
            if isinstance(x, sympy.Symbol) and table.get(x.name) == ("marker", "transpose"):
                return ("T", conv(b))
            if isinstance(b, sympy.Symbol) and b.name == "e" and "e" not in names.kinds:
                return ("call", "exp", (conv(x),))
            cb = conv(b)
            if cb == ("var", "e"):
                return ("call", "exp", (conv(x),))
            return ("pow", cb, conv(x))
        if isinstance(e, sympy.exp):
            return ("call", "exp", (conv(e.args[0]),))
        if isinstance(e, sympy.log):
            if len(e.args) == 2 and e.args[1] != sympy.E:
                return ("call", "logb", (conv(e.args[0]), conv(e.args[1])))
            return ("call", "log", (conv(e.args[0]),))
        if isinstance(e, sympy.Abs):
            return ("call", "abs", (conv(e.args[0]),))
        if isinstance(e, (sympy.Sum, sympy.Product)):
            # sympy merges nested sums: Sum(body, inner limits, ..., outer limits)
            kind = "sum" if isinstance(e, sympy.Sum) else "prod"
            tree = conv(e.args[0])
            for v, lo, hi in e.args[1:]:
                tree = (kind, tree, v.name, conv(lo), conv(hi))
            return tree
        if isinstance(e, sympy.Derivative):
            f = conv(e.args[0])
            for v, count in e.args[1:]:
                w = sym(v.name)
                for _ in range(int(count)):
                    f = ("deriv", f, w)
            return f
        if isinstance(e, sympy.factorial):
            return ("call", "factorial", (conv(e.args[0]),))
        if isinstance(e, sympy.binomial):
            return ("call", "binom", (conv(e.args[0]), conv(e.args[1])))
        if isinstance(e, sympy.Function):
            fname = type(e).__name__
            args = tuple(conv(a) for a in e.args)
            entry = table.get(fname)
            if entry is not None:
                if entry == ("marker", "norm"):
                    return ("call", "norm", args)
                if entry == ("marker", "expect"):
                    return ("expect", args[0])
                if entry[0] == "func":
                    return ("call", entry[1], args)
                if entry[0] == "name":
                    name = entry[1]
                    kind = names.kinds.get(name)
                    if kind == "function":
                        return ("call", names.functions[name], args)
                    if len(args) == 1:  # x(1-x): a product, not a call
                        return ("mul", (sym(fname), args[0]))
                    raise ParseError(f"{name} is not a function")
                if entry[0] == "idx" and len(args) == 1:
                    return ("mul", (sym(fname), args[0]))
            if fname.lower() in _KNOWN_CALLS:
                return ("call", fname.lower(), args)
            raise ParseError(f"unknown function {fname}")
        raise ParseError(f"cannot read {type(e).__name__}")

    def sym(name: str):
        entry = table.get(name)
        if entry is None:
            if name == "partial":
                raise ParseError(
                    r"a \partial outside a derivative: write it as \frac{\partial f}{\partial x}"
                )
            raise ParseError(f"cannot read {name!r} (a leftover of the LaTeX)")
        if entry[0] == "name":
            nm = entry[1]
            if nm in names.kinds or nm.startswith("@"):
                if nm.startswith("@") and nm not in names.kinds:
                    raise ParseError(f"unknown token {nm[1:]}")
                return ("var", nm)
            if nm in ("e",):
                return ("num", math.e)
            if nm == "pi":
                return ("num", math.pi)
            if len(nm) == 1 and nm.isalpha() or nm.isalpha():
                # a bound sum index is checked by the caller (free index letters are allowed)
                return ("var", nm)
            raise ParseError(f"unknown name {nm!r}: it is not declared on this card")
        if entry[0] == "idx":
            fam, subs = entry[1], entry[2]
            return ("idx", fam, tuple(parse_sub(s) for s in subs))
        if entry[0] == "func":
            return ("fn", entry[1])
        if entry == ("marker", "hadamard"):
            return ("had",)
        raise ParseError(f"cannot read {name!r}")

    return conv(expr)


def free_names(tree, bound: frozenset = frozenset()) -> set[str]:
    """Names used in a tree that are not bound by a sum/product index."""
    out: set[str] = set()
    k = tree[0]
    if k == "var":
        if tree[1] not in bound:
            out.add(tree[1])
    elif k == "idx":
        for s in tree[2]:
            out |= free_names(s, bound)
    elif k in ("sum", "prod"):
        out |= free_names(tree[1], bound | {tree[2]})
        out |= free_names(tree[3], bound) | free_names(tree[4], bound)
    elif k in ("add", "mul"):
        for a in tree[1]:
            out |= free_names(a, bound)
    elif k == "call":
        for a in tree[2]:
            out |= free_names(a, bound)
    elif k == "pow":
        out |= free_names(tree[1], bound) | free_names(tree[2], bound)
    elif k in ("T", "expect"):
        out |= free_names(tree[1], bound)
    elif k == "deriv":
        out |= free_names(tree[1], bound) | free_names(tree[2], bound)
    return out


def validate(tree, names: Names) -> None:
    """Every name is declared, a bound index, a declared index, or a constant; else ParseError."""
    for nm in free_names(tree):
        kind = names.kinds.get(nm)
        if kind is None:
            raise ParseError(f"unknown name {nm!r}: it is not declared on this card")
    _check_nodes(tree)


def _check_nodes(tree) -> None:
    k = tree[0]
    if k == "fn":
        raise ParseError(f"the function {tree[1]} needs an argument in parentheses")
    for a in tree[1:]:
        if isinstance(a, tuple) and a and isinstance(a[0], str):
            _check_nodes(a)
        elif isinstance(a, tuple):
            for b in a:
                if isinstance(b, tuple) and b and isinstance(b[0], str):
                    _check_nodes(b)


@dataclass(frozen=True)
class ParsedStep:
    """A step as pieces and relations: ``pieces[0]`` is None for a leading relation (continuation).

    ``trees[k]`` is the tree of ``pieces[k]``; ``relations[k]`` joins piece k and k+1
    (``"=" "<" "<=" ">" ">="`` or an undecidable kind such as ``"~"``).
    """

    latex: str
    trees: tuple
    relations: tuple[str, ...]
    continues: bool
    undecidable_reason: str | None = None

    @property
    def undecidable(self) -> bool:
        return self.undecidable_reason is not None or any(r in UNDECIDABLE_RELATIONS for r in self.relations)


#: a decimal number written alone on one side of \\approx: -0.167, 0.5, .25 (cleaned to 0.25)
_DECIMAL_RE = re.compile(r"\s*[-+]?\s*\d*\.(\d+)\s*")
_SUB_RE = re.compile(r"^([a-zA-Z]|[0-9]+)(?:([+-])([0-9]+))?$")


def _simple_sub(s: str):
    """Tree of a plain subscript (``i``, ``3``, ``i+1``, ``k-1``) without calling the parser."""
    m = _SUB_RE.match(s)
    if not m:
        return None
    a = ("num", float(m.group(1))) if m.group(1).isdigit() else ("var", m.group(1))
    if not m.group(2):
        return a
    c = float(m.group(3))
    return ("add", (a, ("num", c if m.group(2) == "+" else -c)))


def parse_piece(piece: str, names: Names):
    """Normalise and parse one relation-free piece into a validated tree (ParseError on failure)."""
    em = _Emitter(names)
    norm: Normalised = normalise_piece(piece, names, em)

    def parse_sub(sub_latex: str):
        simple = _simple_sub(sub_latex.replace(" ", ""))
        if simple is not None:
            return simple
        n2 = normalise_piece(sub_latex, names, em)
        e2 = parse_latex_ordered(n2.latex)
        return to_tree(e2, em.table, names, parse_sub)

    e = parse_latex_ordered(norm.latex)
    tree = to_tree(e, em.table, names, parse_sub)
    return tree


def _relation_in_brackets(piece: str) -> bool:
    """``P(Z \\le 1.96)``: a relation inside parentheses (not the ``=`` of a sum's subscript)."""
    depth = braces = 0
    for t in tokenize(piece):
        if t in ("(", "["):
            depth += 1
        elif t in (")", "]"):
            depth -= 1
        elif t == "{":
            braces += 1
        elif t == "}":
            braces -= 1
        elif depth > 0 and braces == 0 and t in ("<", ">", "=", r"\le", r"\ge", r"\ne"):
            return True
    return False


def parse_step(latex: str, names: Names) -> ParsedStep:
    """Parse a whole step (relations, chains, a leading relation); ParseError when any piece fails.

    Unbalanced braces or brackets are a ParseError naming the delimiter and its column
    (:func:`~whiteboard_app.latex.wellformed.check_balance`), checked before anything else, so a misread
    step is "unparsed" even when it also holds a construct the checker does not decide (``\\approx``)."""
    check_balance(latex)
    check_structure(latex)
    s = clean(latex)
    if not s:
        raise ParseError("empty step")
    pieces, rels = split_relations(s)
    continues = bool(rels) and not pieces[0].strip()
    if continues:
        pieces = pieces[1:]
    if any(not p.strip() for p in pieces):
        raise ParseError("a relation is missing a side")
    # \approx next to a decimal number is checked to the digits written: a side written with k digits
    # after the point is the other side rounded, |a - b| <= 0.5 10^-k (0.167: within 0.0005); with
    # decimals on both sides (0.1667 \approx 0.17) the coarser one sets the tolerance. "=" with a decimal
    # number alone on one side is read the same way
    rels = list(rels)
    off = 1 if continues else 0
    for k, r in enumerate(rels):
        if r in ("~", "="):
            sides = [pieces[j] for j in (k - off, k + 1 - off) if 0 <= j < len(pieces)]
            digits = [len(m.group(1)) for m in (_DECIMAL_RE.fullmatch(side) for side in sides) if m]
            if digits and (r == "~" or len(digits) < len(sides)):
                # "= 0.167" after an expression is its value rounded to the digits written, as on a
                # whiteboard (P(D|T) = 0.0099/0.0594 = 0.167): checked like \approx 0.167
                rels[k] = f"~{0.5 * 10 ** -min(digits):.12g}"
    undecidable = sorted({t for p in pieces for t in tokenize(p) if t in UNDECIDABLE_CMDS})
    if any(_relation_in_brackets(p) for p in pieces):
        undecidable.append("a relation inside brackets (an event)")
    if any(re.search(r"(?<!\\)\|\s*_", p) for p in pieces):
        undecidable.append("an evaluation bar |_{...}")
    if undecidable or any(r in UNDECIDABLE_RELATIONS for r in rels):
        reason = f"{undecidable[0]} cannot be checked" if undecidable else "this relation cannot be checked"
        return ParsedStep(
            latex=latex, trees=(), relations=tuple(rels), continues=continues, undecidable_reason=reason
        )
    trees = []
    for p in pieces:
        t = parse_piece(p, names)
        validate(t, names)
        trees.append(t)
    # "= 0.4 \\cdot 0 + 0.6 \\cdot 0.65" after a name: a number worked out from rounded decimals (a rounded
    # intermediate carried on, as on a whiteboard) is checked to the rounding the decimals carry
    for k, r in enumerate(rels):
        if (r == "=" or re.fullmatch(r"~[0-9.e-]+", r)) and 0 <= k - off and k + 1 - off < len(trees):
            tol = max(_rounding_spread(trees[j]) for j in (k - off, k + 1 - off))
            if tol > 0:  # added to the rounding of a decimal alone on the other side (0.6 \cdot 0.65 = 0.39)
                rels[k] = f"~{tol + (float(r[1:]) if r != '=' else 0.0):.12g}"
    return ParsedStep(latex=latex, trees=tuple(trees), relations=tuple(rels), continues=continues)


_NUMERIC_CALLS = {
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
}


def _numeric(tree, path: tuple = (), bump: tuple | None = None) -> float:
    """The value of a tree of numbers only (sums, products, powers, log/logb/exp/sin/cos/abs), with the
    number at ``bump[0]`` (a path of child positions) moved by ``bump[1]``; ValueError (or an arithmetic
    error) for any other tree."""
    k = tree[0]
    if k == "num":
        return tree[1] + (bump[1] if bump is not None and bump[0] == path else 0.0)
    if k in ("add", "mul"):
        vals = [_numeric(x, (*path, j), bump) for j, x in enumerate(tree[1])]
        return math.fsum(vals) if k == "add" else math.prod(vals)
    if k == "pow":
        return float(_numeric(tree[1], (*path, 1), bump) ** _numeric(tree[2], (*path, 2), bump))
    if k == "call" and tree[1] == "logb" and len(tree[2]) == 2:
        return math.log(_numeric(tree[2][0], (*path, 0), bump)) / math.log(
            _numeric(tree[2][1], (*path, 1), bump)
        )
    if k == "call" and tree[1] in _NUMERIC_CALLS and len(tree[2]) == 1:
        return float(_NUMERIC_CALLS[tree[1]](_numeric(tree[2][0], (*path, 0), bump)))
    raise ValueError(k)


def _decimal_paths(tree, path: tuple = ()) -> list[tuple[tuple, float]]:
    """(path, half a unit of its last digit) of each written decimal number in a tree with two significant
    digits or more (0.65 -> 0.005), not an exponent (the 0.5 of a square root), a whole number, nor a number
    of one significant digit (0.01, 0.6: the given values of a problem)."""
    k = tree[0]
    if k == "num":
        text = repr(abs(tree[1]))
        if float(tree[1]).is_integer() or "e" in text or "." not in text:
            return []
        if len(text.replace(".", "").lstrip("0")) < 2:
            return []  # one significant digit (0.01, 0.05, 0.6): a given value, exact
        return [(path, 0.5 * 10.0 ** -len(text.split(".")[1]))]
    if k in ("add", "mul"):
        return [d for j, x in enumerate(tree[1]) for d in _decimal_paths(x, (*path, j))]
    if k == "pow":
        return _decimal_paths(tree[1], (*path, 1))
    if k == "call":
        return [d for j, x in enumerate(tree[2]) for d in _decimal_paths(x, (*path, j))]
    return []


def _rounding_spread(tree) -> float:
    """How far the value of a side made of numbers only can move when each written decimal in it (not
    alone: a decimal alone on a side is read as a rounding already) moves by half a unit of its last digit:
    the sum over the decimals of the change each one makes (first-order propagation of rounding error,
    Taylor, An Introduction to Error Analysis, 3.11, bounded). 0 for a side with names, with no decimal,
    one that cannot be evaluated, or a spread over 2 % of the value."""
    if tree[0] == "num":
        return 0.0
    paths = _decimal_paths(tree)
    if not paths:
        return 0.0
    try:
        v0 = _numeric(tree)
        spread = math.fsum(
            max(abs(_numeric(tree, bump=(q, h)) - v0), abs(_numeric(tree, bump=(q, -h)) - v0))
            for q, h in paths
        )
    except (ValueError, ArithmeticError, TypeError):
        return 0.0
    if not math.isfinite(spread) or spread > 0.02 * abs(v0):
        return 0.0  # more than 2 % of the value: the decimals are too coarse to say anything; exact
    return spread
