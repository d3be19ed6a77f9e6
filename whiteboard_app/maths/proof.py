"""Label a correct scalar step "proved": ``sympy.simplify(lhs - rhs) == 0`` under a time limit.

Verdicts never depend on this (numeric evaluation decides them); it only adds "proved" to the message of
a correct step. The limit is a SIGALRM timer, so it applies only in a process's main thread (the worker's);
elsewhere nothing is attempted. Steps with matrices, indexed families, sums or expectations are not tried.
"""

from __future__ import annotations

import math
import signal
import threading

from .normalise import Names

PROOF_TIMEOUT_S = 0.25


class _NotScalar(Exception):
    pass


class _Timeout(Exception):
    pass


def to_sympy(tree, names: Names, definitions: dict, domains: dict, depth: int = 0):
    """A sympy expression for a scalar tree (definitions substituted); raises _NotScalar otherwise."""
    import sympy

    if depth > 40:
        raise _NotScalar
    k = tree[0]

    def rec(t):
        return to_sympy(t, names, definitions, domains, depth + 1)

    if k == "num":
        v = tree[1]
        if abs(v - math.pi) < 1e-12:
            return sympy.pi
        if abs(v - math.e) < 1e-12:
            return sympy.E
        return sympy.nsimplify(v, rational=True) if abs(v) < 1e6 else sympy.Float(v)
    if k == "var":
        name = tree[1]
        if name in definitions:
            return rec(definitions[name])
        kind = names.kinds.get(name)
        if kind not in ("symbol", "dim", "index"):
            raise _NotScalar
        dom = domains.get(name, "real")
        assumptions = {"real": True}
        if dom in ("positive", "probability"):
            assumptions = {"positive": True}
        elif dom in ("positive_integer",) or kind == "dim":
            assumptions = {"positive": True, "integer": True}
        elif dom == "sign":
            assumptions = {"integer": True, "nonzero": True}
        elif dom in ("integer", "binary", "discrete"):
            assumptions = {"integer": True}
        elif dom == "nonnegative":
            assumptions = {"nonnegative": True}
        return sympy.Symbol(name, **assumptions)
    if k == "add":
        return sympy.Add(*[rec(a) for a in tree[1]])
    if k == "mul":
        if ("had",) in tree[1]:
            raise _NotScalar
        return sympy.Mul(*[rec(a) for a in tree[1]])
    if k == "pow":
        return sympy.Pow(rec(tree[1]), rec(tree[2]))
    if k == "call":
        fn, args = tree[1], [rec(a) for a in tree[2]]
        table = {
            "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
            "log": sympy.log,
            "exp": sympy.exp,
            "sqrt": sympy.sqrt,
            "tanh": sympy.tanh,
            "abs": sympy.Abs,
            "sin": sympy.sin,
            "cos": sympy.cos,
            "tan": sympy.tan,
            "softplus": lambda x: sympy.log(1 + sympy.exp(x)),
            "log_sigmoid": lambda x: -sympy.log(1 + sympy.exp(-x)),
        }
        if fn == "logb" and len(args) == 2:
            return sympy.log(args[0]) / sympy.log(args[1])
        if fn in table and len(args) == 1:
            return table[fn](args[0])
        raise _NotScalar
    if k == "deriv":
        f, w = tree[1], tree[2]
        if w[0] != "var":
            raise _NotScalar
        if f[0] == "var" and names.kinds.get(f[1]) == "function":
            f = ("call", names.functions[f[1]], (w,))
        return sympy.diff(rec(f), rec(w))
    raise _NotScalar


def proved(pairs, names: Names, definitions: dict, domains: dict) -> bool:
    """True when sympy simplifies every ``a - b`` of the pairs to 0 within PROOF_TIMEOUT_S (in total)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return False

    def on_alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, PROOF_TIMEOUT_S)
    try:
        try:
            import sympy

            for a, b in pairs:
                d = to_sympy(a, names, definitions, domains) - to_sympy(b, names, definitions, domains)
                if sympy.simplify(d) != 0:
                    return False
            return True
        except (
            _Timeout,
            _NotScalar,
            RecursionError,
            TypeError,
            ValueError,
            ZeroDivisionError,
            AttributeError,
        ):
            return False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        # the one-shot timer fired inside the handler above or before it was stopped: still no proof (it
        # used to escape from check() on a busy machine)
        return False
    finally:
        signal.signal(signal.SIGALRM, old)
