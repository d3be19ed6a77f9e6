"""Prose with maths in it (a card's hints, a mistake's explanation, a setup that is too long for one
rendered line) as Qt rich text that wraps: superscripts and subscripts as ``<sup>``/``<sub>``, Greek
letter names and common LaTeX macros as their Unicode symbols, ``y-hat``/``\\hat{y}`` as ŷ.

No Qt import: the result is an HTML fragment for a ``QLabel`` (rich text) or a ``QTextDocument``.
Cards write hints in a LaTeX-flavoured plain text ("Split e^{-z}/(1+e^{-z})^2 ...", "sigma(z)",
"X^T X/(n - 1)"); ``$...$`` delimiters, when present, are dropped (their content is converted the same
way). The conversion is a best effort: anything it does not know is shown as written.
"""

from __future__ import annotations

import html
import re

GREEK = {
    "alpha": "\u03b1",
    "beta": "\u03b2",
    "gamma": "\u03b3",
    "delta": "\u03b4",
    "epsilon": "\u03b5",
    "varepsilon": "\u03b5",
    "zeta": "\u03b6",
    "eta": "\u03b7",
    "theta": "\u03b8",
    "iota": "\u03b9",
    "kappa": "\u03ba",
    "lambda": "\u03bb",
    "mu": "\u03bc",
    "nu": "\u03bd",
    "xi": "\u03be",
    "pi": "\u03c0",
    "rho": "\u03c1",
    "sigma": "\u03c3",
    "tau": "\u03c4",
    "phi": "\u03c6",
    "varphi": "\u03c6",
    "chi": "\u03c7",
    "psi": "\u03c8",
    "omega": "\u03c9",
    "Gamma": "\u0393",
    "Delta": "\u0394",
    "Theta": "\u0398",
    "Lambda": "\u039b",
    "Xi": "\u039e",
    "Pi": "\u03a0",
    "Sigma": "\u03a3",
    "Phi": "\u03a6",
    "Psi": "\u03a8",
    "Omega": "\u03a9",
}
#: Greek names that are also English words or common identifiers: converted only when written as a
#: macro (``\\eta``) or followed by a bracket, a sub/superscript ("eta_t", "pi(x)").
_AMBIGUOUS = {"eta", "mu", "nu", "xi", "pi", "chi", "Pi", "iota"}
MACROS = {
    "nabla": "\u2207",
    "partial": "\u2202",
    "sum": "\u2211",
    "prod": "\u220f",
    "int": "\u222b",
    "top": "T",
    "cdot": "\u00b7",
    "times": "\u00d7",
    "le": "\u2264",
    "leq": "\u2264",
    "ge": "\u2265",
    "geq": "\u2265",
    "neq": "\u2260",
    "ne": "\u2260",
    "approx": "\u2248",
    "infty": "\u221e",
    "to": "\u2192",
    "propto": "\u221d",
    "in": "\u2208",
    "sim": "\u223c",
    "log": "log",
    "exp": "exp",
    "ln": "ln",
    "det": "det",
    "tr": "tr",
    "max": "max",
    "min": "min",
    "arg": "arg",
    "mid": "|",
    "quad": " ",
    "ldots": "\u2026",
    "dots": "\u2026",
    "ell": "\u2113",
    "succ": "\u227b",
    "prec": "\u227a",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "tanh": "tanh",
    "forall": "\u2200",
    "cdots": "\u22ef",
    "odot": "\u2299",
    "otimes": "\u2297",
    "Vert": "\u2016",
    "lVert": "\u2016",
    "rVert": "\u2016",
    "langle": "\u27e8",
    "rangle": "\u27e9",
    "left": "",
    "right": "",
}
_BLACKBOARD = {
    "E": "\U0001d53c",
    "R": "\u211d",
    "P": "\u2119",
    "N": "\u2115",
    "Z": "\u2124",
    "V": "\U0001d54d",
}
_ACCENT = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307"}

_GROUP = r"\{([^{}]*)\}"


def _paren(s: str) -> str:
    """``s`` in parentheses unless it is one token (a fraction's numerator or denominator)."""
    return s if re.fullmatch(r"[\w\u0370-\u03ff.]+|<su[bp]>.*</su[bp]>", s) or len(s) == 1 else f"({s})"


def _unbrace(s: str) -> str:
    """Innermost ``\\frac{a}{b}``, ``\\sqrt{a}``, accents, ``\\mathbb{E}``, ``\\text{..}`` and ``^{..}``
    / ``_{..}`` groups, repeatedly from the inside out."""
    for _ in range(12):
        before = s
        s = re.sub(
            r"\\[dt]?frac" + _GROUP + _GROUP, lambda m: f"{_paren(m.group(1))}/{_paren(m.group(2))}", s
        )
        s = re.sub(r"\\sqrt" + _GROUP, lambda m: f"\u221a({m.group(1)})", s)
        s = re.sub(
            r"\\(hat|bar|tilde|dot)" + _GROUP,
            lambda m: m.group(2) + _ACCENT[m.group(1)] if len(m.group(2)) == 1 else m.group(2),
            s,
        )
        s = re.sub(r"\\mathbb" + _GROUP, lambda m: _BLACKBOARD.get(m.group(1), m.group(1)), s)
        s = re.sub(r"\\(?:text|mathrm|operatorname|mathbf|boldsymbol|mathcal)" + _GROUP, r"\1", s)
        s = re.sub(r"\^" + _GROUP, lambda m: f"<sup>{m.group(1)}</sup>", s)
        s = re.sub(r"_" + _GROUP, lambda m: f"<sub>{m.group(1)}</sub>", s)
        if s == before:
            break
    return s


def _is_word(s: str) -> bool:
    """True for a function name ("log", "cos"), which a space separates from its argument."""
    return len(s) > 1 and s.isalpha()


def _matrix(m: re.Match) -> str:
    """``\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}`` as "(a, b; c, d)" (rows by semicolons)."""
    rows = [r.strip() for r in re.split(r"\\\\", m.group(1)) if r.strip()]
    return "(" + "; ".join(", ".join(c.strip() for c in r.split("&amp;")) for r in rows) + ")"


def prose_html(text: str) -> str:
    """``text`` (prose with LaTeX-flavoured maths) as an HTML fragment; see the module doc.

    >>> prose_html("e^{-z}/(1+e^{-z})^2 = 1 - sigma(z)")
    'e<sup>\u2212z</sup>/(1+e<sup>\u2212z</sup>)<sup>2</sup> = 1 \u2212 \u03c3(z)'
    """
    s = html.escape(text or "", quote=False).replace("$", "").replace("\\|", "\u2016")  # \| a norm bar
    s = re.sub(r"(\w)-(hat|bar|tilde)\b", lambda m: m.group(1) + _ACCENT[m.group(2)], s)  # "y-hat" -> ŷ
    s = re.sub(r"\\begin\{[pbv]?matrix\}(.*?)\\end\{[pbv]?matrix\}", _matrix, s, flags=re.S)
    s = re.sub(
        r"\\([A-Za-z]+)(?![A-Za-z])(\s?)",
        lambda m: (
            (GREEK[m.group(1)] + m.group(2) if m.group(1) in GREEK else None)  # "$\\epsilon$ with": its space
            or (
                MACROS[m.group(1)] + (" " if _is_word(MACROS[m.group(1)]) else m.group(2))
                if m.group(1) in MACROS
                else "\\" + m.group(1) + m.group(2)  # unknown: shown as written, its space kept
            )
        ),
        s,
    )
    s = _unbrace(s)

    def greek(m: re.Match) -> str:
        word, after = m.group(1), s[m.end() : m.end() + 1]
        if word in _AMBIGUOUS and after not in ("(", "_", "^", "<"):
            return word
        return GREEK[word]

    s = re.sub(
        r"(?<![A-Za-z\\])(" + "|".join(sorted(GREEK, key=len, reverse=True)) + r")(?![A-Za-z])", greek, s
    )
    s = re.sub(r"\^(\\?[A-Za-z0-9\u0370-\u03ff*'+-]|\u2212)", lambda m: f"<sup>{m.group(1)}</sup>", s)
    s = re.sub(r"_([A-Za-z0-9\u0370-\u03ff])", lambda m: f"<sub>{m.group(1)}</sub>", s)
    # a minus sign: inside sub/superscripts, between spaces, before a digit or a bracket after an operator
    s = re.sub(r"<(sup|sub)>-", lambda m: f"<{m.group(1)}>\u2212", s)
    s = re.sub(r"(?<=[\s(=])-(?=[\s\w(])", lambda m: "\u2212", s)
    return s.replace("\\{", "{").replace("\\}", "}")
