"""Functions the user defines with a dummy variable: CS229's ``g(z) = \\frac{1}{1+e^{-z}}``, Raschka's
``\\phi(z) = \\frac{1}{1+e^{-z}}``.

A step ``F(v) = EXPR`` (or ``:=``) whose argument ``v`` is one letter the card does not declare (no symbol, family,
matrix or index of the card, nor an alias of one) and occurs in ``EXPR`` defines a function F of the user's own,
when F is no name of the card (a declared symbol, function or definition) and the card declares no alias written
``F(...)``. The step itself is a definition (correct, "defines the function F"); in later steps of the run each call
``F(arg)`` (also ``F\\left(arg\\right)``) is read as ``EXPR`` with ``v`` replaced by ``(arg)``, and a prime at one
letter, ``F'(u)``, as ``\\frac{d}{du}`` of ``EXPR`` at ``u``. Calls are replaced before the notation layer reads
the step, so an alias of the letter F to a card quantity (``\\phi`` for the features on a logistic card) does not
apply to the function the user named. A prime at an expression (``g'(\\theta^T x)``) is left as written.

Sources: Ng, CS229 notes part II (``g(z)``, ``h_\\theta(x) = g(\\theta^T x)``, ``g'(z) = g(z)(1-g(z))``); Raschka,
Python Machine Learning ch. 3 (``\\phi(z)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whiteboard_app.decks.schema import Card
from whiteboard_app.latex.names import name_key
from whiteboard_app.latex.tokens import FUNCTION_WORDS, ParseError

from .normalise import names_from_declarations

# one name with its scripts (x_i, z^{(i)}, \\theta_j): substituted without parentheses
_ATOM = re.compile(r"\\?[A-Za-z]+(?:\s*[_^]\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z0-9]))*")
_DEF = re.compile(
    r"^\s*(?P<name>\\[A-Za-z]+|[A-Za-z])\s*(?:\\left)?\(\s*(?P<var>\\[A-Za-z]+|[A-Za-z])\s*(?:\\right)?\)\s*"
    r"(?::=|=)(?P<rhs>[^=<>]+)$"
)


@dataclass(frozen=True)
class UserFunction:
    """One function the user defined: its written name (``g``, ``\\phi``), dummy variable and body (LaTeX)."""

    name: str
    var: str
    body: str


def _letter_re(tok: str) -> str:
    """A regex for the letter or command ``tok`` as a whole name (not inside a longer command or word)."""
    if tok.startswith("\\"):
        return re.escape(tok) + r"(?![A-Za-z])"
    return r"(?<![\\A-Za-z])" + re.escape(tok) + r"(?![A-Za-z])"


def _card_names(card: Card) -> set[str]:
    d = card.declarations
    names = names_from_declarations(d)
    out = {k for k in names.kinds}
    out |= {name_key(k) for k in list(d.symbols) + list(d.indexed) + list(d.shapes) + list(d.indices)}
    for key in card.notation.aliases:
        try:
            out.add(name_key(key))
        except ParseError:
            continue
    return out


def definition(card: Card, latex: str) -> UserFunction | None:
    """The function ``latex`` defines (``F(v) = EXPR``, see the module docstring), or None."""
    m = _DEF.match(latex)
    if m is None:
        return None
    name, var, body = m.group("name"), m.group("var"), m.group("rhs").strip()
    if not body or name.lstrip("\\") in FUNCTION_WORDS or name == var:
        return None
    if name.lstrip("\\") in (
        "frac",
        "sqrt",
        "left",
        "right",
        "sum",
        "prod",
        "mathbb",
        "mathrm",
        "operatorname",
    ):
        return None
    try:
        nk, vk = name_key(name), name_key(var)
    except ParseError:
        return None
    d = card.declarations
    names = names_from_declarations(d)
    if names.kinds.get(nk) is not None or nk in d.definitions or nk in names.functions:
        return None  # sigma(z) = ..., a card quantity written with its argument: the card's claim
    if vk in _card_names(card):
        return None  # J(w), ell(p): the card's objective written as a function of its parameter
    for key in card.notation.aliases:
        if re.match(re.escape(name) + r"\s*(?:_\S+)?\s*\(", key):
            return None  # the card declares F(...) as a name of its own (Z(x), f(x))
    if not re.search(_letter_re(var), body) or re.search(_letter_re(name) + r"\s*(?:\\left)?\(", body):
        return None
    return UserFunction(name, var, body)


def _close(text: str, i: int) -> int | None:
    """The index just past the parenthesis closing the one opened at ``text[i]`` (``(`` after an optional
    ``\\left``), counting nested parentheses; None when unbalanced."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return None


def _put(f: UserFunction, arg: str) -> str:
    """The body of ``f`` with its variable replaced by ``arg`` (LaTeX, taken literally)."""
    return re.sub(_letter_re(f.var), lambda _m: arg, f.body)


def apply(latex: str, funcs: list[UserFunction]) -> str:
    """``latex`` with every call of the user's functions replaced by the function's body at its argument, and a
    prime at one letter by the derivative of the body there (see the module docstring). Unchanged when no call
    is found or a call's parentheses do not balance."""
    for f in funcs:
        call = re.compile(
            _letter_re(f.name) + r"(?P<prime>\s*(?:'|\^\{?\\prime\}?))?\s*(?P<left>\\left\s*)?\("
        )
        out, pos = [], 0
        while True:
            m = call.search(latex, pos)
            if m is None:
                break
            open_at = m.end() - 1
            end = _close(latex, open_at)
            if end is None:
                return latex
            arg = latex[open_at + 1 : end - 1]
            arg = re.sub(r"\\right\s*$", "", arg).strip()
            if m.group("prime"):
                if not re.fullmatch(r"\\[A-Za-z]+|[A-Za-z]", arg):
                    return latex  # a prime at an expression: left as written
                body = _put(f, arg)
                rep = r"\frac{d}{d" + arg + r"}\left(" + body + r"\right)"
            else:
                wrapped = arg if _ATOM.fullmatch(arg) else "(" + arg + ")"  # z^{(i)} stays an atom
                body = _put(f, wrapped)
                rep = r"\left(" + body + r"\right)"
            out.append(latex[pos : m.start()] + rep)
            pos = end
        if out:
            latex = "".join(out) + latex[pos:]
    return latex


def read_run(card: Card, latex: str, previous: list[str]) -> tuple[str, list[str], UserFunction | None, list]:
    """The step and the run's earlier steps with the user's functions applied: (step, earlier steps without
    the function definitions, the function the step itself defines or None, the functions in force)."""
    funcs: list[UserFunction] = []
    kept: list[str] = []
    for p in previous:
        f = definition(card, apply(p, funcs))
        if f is not None:
            funcs = [g for g in funcs if g.name != f.name] + [f]
            continue
        kept.append(apply(p, funcs))
    step = apply(latex, funcs)
    return step, kept, definition(card, step), funcs
