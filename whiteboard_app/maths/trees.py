"""Walking, rewriting and printing the expression trees of :mod:`whiteboard_app.maths.parse`, and the
generic wrong variants (mutations) used for diagnosis and for ``near_misses``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from whiteboard_app.latex.names import GREEK as _GREEK

from .normalise import Names


def is_node(x) -> bool:
    """True for a tree node (a tuple whose first item is its kind)."""
    return isinstance(x, tuple) and bool(x) and isinstance(x[0], str)


def children(t) -> Iterator[tuple[tuple, tuple]]:
    """Yield (path step, child) for every child node; a path step is (position, sub-position or -1)."""
    for i, a in enumerate(t[1:], 1):
        if is_node(a):
            yield (i, -1), a
        elif isinstance(a, tuple):
            for j, b in enumerate(a):
                if is_node(b):
                    yield (i, j), b


def walk(t, path: tuple = ()) -> Iterator[tuple[tuple, tuple]]:
    """Yield (path, node) for the node and all its descendants (pre-order)."""
    yield path, t
    for step, c in children(t):
        yield from walk(c, path + (step,))


def replace(t, path: tuple, new):
    """Return a copy of t with the node at path replaced by new."""
    if not path:
        return new
    (i, j), rest = path[0], path[1:]
    lst = list(t)
    if j == -1:
        lst[i] = replace(t[i], rest, new)
    else:
        sub = list(t[i])
        sub[j] = replace(t[i][j], rest, new)
        lst[i] = tuple(sub)
    return tuple(lst)


NEG = ("num", -1.0)


def neg(t):
    """-t, without stacking minus signs."""
    if t[0] == "num":
        return ("num", -t[1])
    if t[0] == "mul" and t[1] and t[1][0] == NEG:
        rest = t[1][1:]
        return rest[0] if len(rest) == 1 else ("mul", rest)
    return ("mul", (NEG, t))


def mutations(t, names: Names, limit: int = 80) -> list[tuple[tuple, str]]:
    """Generic wrong variants of an expression with their diagnosis names (sign flip, missing factor,
    n vs n-1, dropped transpose, wrong exponent, inverted ratio, wrong index)."""
    out: list[tuple[tuple, str]] = []
    sizes = {n for n, k in names.kinds.items() if k == "dim"}
    index_letters = list(names.indices)

    def add(new, diag):
        if new != t and len(out) < limit:
            out.append((new, diag))

    add(neg(t), "sign flip")
    for path, node in walk(t):
        k = node[0]
        if k == "add":
            for j, term in enumerate(node[1]):
                terms = list(node[1])
                terms[j] = neg(term)
                add(replace(t, path, ("add", tuple(terms))), "sign flip")
                if len(node[1]) > 1:
                    rest = tuple(x for q, x in enumerate(node[1]) if q != j)
                    add(replace(t, path, rest[0] if len(rest) == 1 else ("add", rest)), "missing term")
                    for f in (2.0, 0.5):
                        terms = list(node[1])
                        terms[j] = ("mul", (("num", f), term))
                        add(replace(t, path, ("add", tuple(terms))), "missing factor")
            # n - 1 -> n
            if len(node[1]) == 2 and node[1][1] == NEG and node[1][0][0] == "var":
                add(replace(t, path, node[1][0]), "n vs n-1")
            if len(node[1]) == 2 and node[1][1] == ("num", -1.0) and node[1][0][0] == "var":
                add(replace(t, path, node[1][0]), "n vs n-1")
        elif k == "mul":
            fs = node[1]
            if len(fs) >= 2:
                for j, f in enumerate(fs):
                    if f == NEG or f == ("had",) or f[0] in ("sum", "prod", "add", "deriv"):
                        continue
                    rest = tuple(x for q, x in enumerate(fs) if q != j)
                    if rest and rest[-1] == ("had",):
                        rest = rest[:-1]
                    if rest:
                        add(replace(t, path, rest[0] if len(rest) == 1 else ("mul", rest)), "missing factor")
        elif k == "var" and node[1] in sizes:
            add(replace(t, path, ("add", (node, NEG))), "n vs n-1")
            add(replace(t, path, ("add", (node, ("num", 1.0)))), "n vs n-1")
        elif k == "T":
            add(replace(t, path, node[1]), "dropped transpose")
        elif k == "pow":
            b, e = node[1], node[2]
            if e[0] == "num":
                if e[1] == -1:
                    add(replace(t, path, b), "inverted ratio")
                else:
                    for ne in (e[1] + 1, e[1] - 1, -e[1]):
                        if ne != 0:
                            add(replace(t, path, ("pow", b, ("num", float(ne)))), "wrong exponent")
                    add(replace(t, path, b), "wrong exponent")
            else:
                add(replace(t, path, b), "wrong exponent")
                add(replace(t, path, ("pow", b, neg(e))), "sign flip")
                for dlt in (1.0, -1.0):
                    add(replace(t, path, ("pow", b, ("add", (e, ("num", dlt))))), "wrong exponent")
        elif k == "idx":
            for q, s in enumerate(node[2]):
                if s[0] == "var" and s[1] in names.indices:
                    for other in index_letters:
                        if other != s[1]:
                            subs = list(node[2])
                            subs[q] = ("var", other)
                            add(replace(t, path, ("idx", node[1], tuple(subs))), "wrong index")
                    subs = list(node[2])
                    subs[q] = ("add", (s, ("num", 1.0)))
                    add(replace(t, path, ("idx", node[1], tuple(subs))), "wrong index")
        elif k in ("sum", "prod"):
            lo = node[3]
            if lo[0] == "num":
                add(replace(t, path, (k, node[1], node[2], ("num", lo[1] - 1), node[4])), "wrong index")
    add(("pow", t, NEG), "inverted ratio")
    add(("mul", (("num", 2.0), t)), "missing factor")
    add(("mul", (("num", 0.5), t)), "missing factor")
    return out


# ------------------------------------------------------------------------------------------- printing
_DECOR = {"hat", "bar", "tilde", "dot", "ddot", "check"}


def name_latex(name: str) -> str:
    """LaTeX of an internal name: ``hat_theta`` -> ``\\hat{\\theta}``, ``p_data`` -> ``p_{data}``."""
    if name.startswith("@"):
        return name[1:]
    star = ""
    if name.endswith("^*"):
        name, star = name[:-2], "^*"
    parts = name.split("_")
    if parts[0] in _DECOR and len(parts) >= 2:
        inner = name_latex(parts[1])
        rest = parts[2:]
        s = f"\\{parts[0]}{{{inner}}}"
    else:
        s = ("\\" + parts[0]) if parts[0] in _GREEK else parts[0]
        rest = parts[1:]
    if rest:
        sub = "_".join(rest)
        sub = "\\" + sub if sub in _GREEK else sub
        s += f"_{{{sub}}}"
    return s + star


def to_latex(t, names: Names, prec: int = 0) -> str:
    """Print a tree as LaTeX that the normaliser reads back (used for near misses and messages)."""
    k = t[0]
    fn_names = {v: k2 for k2, v in names.functions.items()}
    if k == "num":
        v = t[1]
        if abs(v - 3.141592653589793) < 1e-12:
            return "\\pi"
        if abs(v - 2.718281828459045) < 1e-12:
            return "e"
        s = str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else f"{v:.6g}"
        return f"({s})" if v < 0 and prec > 0 else s
    if k == "var":
        return name_latex(t[1])
    if k == "idx":
        subs = [to_latex(s, names) for s in t[2]]
        sep = "" if all(len(s) == 1 for s in subs) else ","
        return f"{name_latex(t[1])}_{{{sep.join(subs)}}}"
    if k == "add":
        s = ""
        for j, a in enumerate(t[1]):
            if j and a[0] == "mul" and a[1] and a[1][0] == NEG:
                s += " - " + to_latex(neg(a), names, 1)
            elif j and a[0] == "num" and a[1] < 0:
                s += " - " + to_latex(("num", -a[1]), names, 1)
            else:
                s += (" + " if j else "") + to_latex(a, names, 1)
        return f"({s})" if prec >= 1 else s
    if k == "mul":
        fs = list(t[1])
        sign = ""
        if fs and fs[0] == NEG:
            sign, fs = "-", fs[1:]
        num = [f for f in fs if not (f[0] == "pow" and f[2] == NEG)]
        den = [f[1] for f in fs if f[0] == "pow" and f[2] == NEG]

        def prod(xs):
            out = ""
            for x in xs:
                if x == ("had",):
                    out += " \\odot "
                    continue
                piece = to_latex(x, names, 2)
                if out and not out.endswith(" ") and (piece[:1].isdigit() or out[-1:].isdigit()):
                    out += " \\cdot "
                elif out and not out.endswith(" "):
                    out += " "
                out += piece
            return out or "1"

        if den:
            body = f"\\frac{{{prod(num) if num else '1'}}}{{{prod(den)}}}"
        else:
            body = prod(num)
        s = sign + body
        return f"({s})" if prec >= 2 and sign else s
    if k == "pow":
        b, e = t[1], t[2]
        if e == ("num", 0.5):
            return f"\\sqrt{{{to_latex(b, names)}}}"
        if e == NEG:
            return f"\\frac{{1}}{{{to_latex(b, names)}}}"
        bs = to_latex(b, names, 3)
        if (
            b[0] == "call"
            and b[1] != "norm"
            or b[0] in ("pow", "T", "mul", "add", "sum", "deriv")
            or (b[0] == "num" and b[1] < 0)
        ):
            bs = f"({to_latex(b, names)})"
        return f"{bs}^{{{to_latex(e, names)}}}"
    if k == "T":
        x = t[1]
        xs = to_latex(x, names, 3)
        if x[0] not in ("var", "idx"):
            xs = f"({to_latex(x, names)})"
        return f"{xs}^T"
    if k == "call":
        fn, args = t[1], t[2]
        a = ", ".join(to_latex(x, names) for x in args)
        if fn == "exp":
            return f"e^{{{a}}}"
        if fn == "norm":
            return f"\\|{a}\\|"
        if fn == "abs":
            return f"|{a}|"
        if fn in ("log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "max", "min"):
            return f"\\{fn}({a})"
        if fn == "sqrt":
            return f"\\sqrt{{{a}}}"
        if fn == "logb":
            return f"\\log_{{{to_latex(args[1], names)}}}({to_latex(args[0], names)})"
        if fn in fn_names:
            return f"{name_latex(fn_names[fn])}({a})"
        return f"\\mathrm{{{fn}}}({a})"
    if k in ("sum", "prod"):
        op = "\\sum" if k == "sum" else "\\prod"
        body = to_latex(t[1], names, 2 if t[1][0] == "add" else 1)
        s = f"{op}_{{{t[2]}={to_latex(t[3], names)}}}^{{{to_latex(t[4], names)}}} {body}"
        return f"({s})" if prec >= 2 else s
    if k == "deriv":
        f, w = t[1], t[2]
        ws = to_latex(w, names)
        if f[0] in ("var",):
            return f"\\frac{{\\partial {to_latex(f, names)}}}{{\\partial {ws}}}"
        return f"\\frac{{\\partial}}{{\\partial {ws}}}({to_latex(f, names)})"
    if k == "expect":
        return f"\\mathbb{{E}}[{to_latex(t[1], names)}]"
    if k == "had":
        return "\\odot"
    return "?"


def tidy(latex: str) -> str:
    """Collapse spaces in printed LaTeX."""
    return re.sub(r"\s+", " ", latex).strip()
