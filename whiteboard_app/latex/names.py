"""Names in LaTeX: the internal key of a written name (:func:`name_key`: ``\\hat{\\theta}`` -> ``hat_theta``),
whether a declaration key is a plain name or a structured token matched literally
(:func:`is_plain_name_key`), and the Greek letter names the normaliser, the notation rules and the tree
printer share (:data:`GREEK`)."""

from __future__ import annotations

import re

from .tokens import DECORATIONS, FONTS_DROPPED, TEXT_CMDS, canon_tokens, canonical, clean, group, tokenize


def name_key(latex_or_name: str) -> str:
    """The internal name of a declared name written as a plain name or as LaTeX.

    ``"\\\\hat{\\\\theta}"`` and ``"hat_theta"`` -> ``hat_theta``; ``"p_{data}"`` -> ``p_data``;
    ``"\\\\pi_\\\\theta"`` -> ``pi_theta``; ``"w^*"`` -> ``w^*``; ``"\\\\mathbf{x}"`` -> ``x``.
    """
    s = latex_or_name.strip()
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*(\^\*)?", s):
        return s
    toks = canon_tokens(tokenize(clean(s)))
    return name_from_tokens(toks)


def name_from_tokens(toks: list[str]) -> str:
    out = ""
    i = 0
    while i < len(toks):
        t = toks[i]
        if t[1:] in DECORATIONS and t.startswith("\\"):
            a, i = group(toks, i + 1)
            out += DECORATIONS[t[1:]] + "_" + name_from_tokens(a)
            continue
        if t.startswith("\\") and (t[1:] in FONTS_DROPPED or t[1:] in TEXT_CMDS):
            a, i = group(toks, i + 1)
            out += name_from_tokens(a)
            continue
        if t == "_":
            a, i = group(toks, i + 1)
            out += "_" + name_from_tokens(a)
            continue
        if t == "^":
            a, i = group(toks, i + 1)
            out += "^" + name_from_tokens(a)
            continue
        if t in "{}":
            i += 1
            continue
        out += t[1:] if t.startswith("\\") and t[1:].isalpha() else t
        i += 1
    return out


def is_plain_name_key(key: str) -> bool:
    """True when a declaration key is a name (letters, decorations, subscript), False for a structured
    key (parentheses, ``|``, ``\\|``, commas) that is matched literally as an opaque token."""
    c = canonical(key)
    return not re.search(r"[()|,\[\]]|\\\||\\cap|\\cup|\\mid|\\frac|\\sum|\\log", c)


#: Greek letter command names (without the backslash)
GREEK = {
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Upsilon",
    "Phi",
    "Psi",
    "Omega",
    "ell",
}
