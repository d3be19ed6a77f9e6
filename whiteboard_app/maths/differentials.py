"""Differentials read as derivatives (Magnus & Neudecker, *Matrix Differential Calculus*, ch. 5 and 9: the first
identification theorems; Minka, "Old and new matrix algebra useful for statistics"; Petersen & Pedersen, *The
Matrix Cookbook*, 2.8).

A step ``\\mathrm{d}f = A\\,\\mathrm{d}x`` (a term ending in the differential of the variable) says the gradient of
f is A^T (A is the derivative in numerator layout); ``\\mathrm{d}f = \\mathrm{d}x^\\top a`` says the gradient is a;
``\\mathrm{d}f = \\operatorname{tr}(A\\,\\mathrm{d}X)`` says the derivative with respect to the matrix X is A^T (the shape
of X). Such a step is rewritten as the gradient it identifies, ``\\frac{\\partial f}{\\partial x} = ...`` in the cards'
layout (the shape of x), term by term, and checked as that. A differential the rules do not cover (dx inside a
product on both sides, two variables) is left as written."""

from __future__ import annotations

import re

__all__ = ["differential_as_derivative"]

#: the differential operator: upright d (\mathrm, \operatorname, \text, \mathop{}\!\mathrm)
_D = r"(?:\\mathop\{\}\\!)?\\(?:mathrm|operatorname|text|rm)\s*\{\s*d\s*\}\s*"
#: a name: a letter or a Greek command, with an optional subscript, optional font wrapper
_NAME = r"(?:\\(?:mathbf|boldsymbol|bm|vec)\s*\{\s*(?:[A-Za-z]|\\[A-Za-z]+)\s*\}|[A-Za-z]|\\[A-Za-z]+)(?:_\{[^{}]+\}|_[A-Za-z0-9])?"
_LHS = re.compile(r"^\s*" + _D + r"(" + _NAME + r")\s*(?:\\left\s*)?=(?!=)\s*(.+)$")
_DIFF = re.compile(_D + r"(" + _NAME + r")")
_TRANSPOSE = r"(?:\^\s*(?:\{\s*)?(?:\\top|T|\\intercal|\\mathsf\{T\})(?:\s*\})?)"
_TRACE = re.compile(r"^\\(?:operatorname\s*\{\s*tr\s*\}|mathrm\s*\{\s*tr\s*\}|text\s*\{\s*tr\s*\}|tr)\s*")
_SPACE = re.compile(r"\\[,;:!]|\\quad|\\qquad|~")


def differential_as_derivative(latex: str) -> str | None:
    """``\\mathrm{d}f = A\\,\\mathrm{d}x`` as ``\\frac{\\partial f}{\\partial x} = (A)^\\top``; ``\\mathrm{d}f =
    \\mathrm{d}x^\\top a`` as ``\\frac{\\partial f}{\\partial x} = a``; ``\\mathrm{d}f = \\operatorname{tr}(A\\,\\mathrm{d}X)``
    as ``\\frac{\\partial f}{\\partial X} = (A)^\\top``, a sum of such terms term by term (Magnus & Neudecker,
    tables 9.1-9.2). None when the step is no such differential (nothing to rewrite)."""
    m = _LHS.match(latex)
    if m is None:
        return None
    f, rhs = m.group(1), _SPACE.sub(" ", m.group(2)).strip()
    wrts = {w.replace(" ", "") for w in _DIFF.findall(rhs)}
    if len(wrts) != 1:
        return None
    x = wrts.pop()
    terms = _terms(rhs)
    if not terms:
        return None
    out = []
    for sign, term in terms:
        g = _coefficient(term, x)
        if g is None:
            return None
        out.append((sign, g))
    body = "".join(f" {s} {g}" if k or s == "-" else g for k, (s, g) in enumerate(out)).strip()
    return rf"\frac{{\partial {f}}}{{\partial {x}}} = {body}"


def _coefficient(term: str, x: str) -> str | None:
    """The gradient part of one term: ``A dx`` -> ``(A)^T``, ``dx^T a`` -> ``a``, ``tr(A dX)`` -> ``(A)^T``,
    ``tr(dX^T A)`` -> ``(A)``; None for any other place of the differential."""
    t = term.strip()
    tr = _TRACE.match(t)
    if tr is not None:
        inner = _strip_group(t[tr.end() :])
        if inner is None:
            return None
        inner = inner.strip()
        if inner.startswith(r"\mathrm") or inner.startswith(r"\operatorname") or inner.startswith(r"\text"):
            # tr(dX^T A) = tr(A^T dX): the derivative is A
            mm = re.match(_D + re.escape(x) + r"\s*" + _TRANSPOSE + r"\s*(.+)$", inner)
            if mm is None or _DIFF.search(mm.group(1)):
                return None
            return f"\\left({mm.group(1).strip()}\\right)"
        mm = re.match(r"^(.+?)\s*" + _D + re.escape(x) + r"\s*$", inner)
        if mm is None or _DIFF.search(mm.group(1)):
            return None
        return f"\\left({mm.group(1).strip()}\\right)^\\top"
    # dx^T a: the gradient (a column)
    mm = re.match(r"^" + _D + re.escape(x) + r"\s*" + _TRANSPOSE + r"\s*(.+)$", t)
    if mm is not None:
        return None if _DIFF.search(mm.group(1)) else mm.group(1).strip()
    # A dx: A is the derivative in numerator layout, its transpose the gradient
    mm = re.match(r"^(.+?)\s*" + _D + re.escape(x) + r"\s*$", t)
    if mm is not None and not _DIFF.search(mm.group(1)):
        return f"\\left({mm.group(1).strip()}\\right)^\\top"
    return None


def _strip_group(s: str) -> str | None:
    """The inside of one bracketed group that makes up all of ``s`` (``(...)``, ``\\left(...\\right)``,
    ``{...}``, ``[...]``); None when ``s`` is not one such group."""
    s = s.strip()
    s = re.sub(r"\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])\s*", "", s)
    if not s or s[0] not in "({[":
        return None
    close = {"(": ")", "{": "}", "[": "]"}[s[0]]
    depth = 0
    for i, ch in enumerate(s):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth == 0:
                return s[1:i] if i == len(s) - 1 and ch == close else None
    return None


def _terms(s: str) -> list[tuple[str, str]]:
    """The top-level terms of a sum with their signs (``+``/``-``): ``A dx - B dx`` -> [("+", "A dx"),
    ("-", "B dx")]; a sign inside brackets or a superscript stays in its term."""
    out: list[tuple[str, str]] = []
    depth = 0
    cur: list[str] = []
    sign = "+"
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        if depth == 0 and ch in "+-" and "".join(cur).strip() and not "".join(cur).rstrip().endswith("^"):
            out.append((sign, "".join(cur).strip()))
            sign, cur = ch, []
        elif depth == 0 and ch in "+-" and not "".join(cur).strip():
            sign = "-" if (ch == "-") != (sign == "-") else "+"
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        out.append((sign, "".join(cur).strip()))
    return out
