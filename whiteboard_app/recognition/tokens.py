"""LaTeX as comparable tokens, and the edit distance between token sequences (a leaf module).

The recogniser's tokenizer: :func:`normalize_tokens` (spacing, sizing and font commands and braces dropped,
synonyms unified) and :func:`token_distance` (Levenshtein over tokens). Used by the card context
(context.py), the verifier (form_match.py, typeset.py), calibration and the pipeline; moved here unchanged
from context.py so that none of them imports another for it (issue 13: the import cycle). The tokens
themselves come from the project's one LaTeX tokenizer, :func:`whiteboard_app.latex.tokens.tokenize`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

from whiteboard_app.latex.tokens import tokenize

__all__ = ["normalize_tokens", "token_distance"]

_DROP = frozenset(
    {
        r"\left",
        r"\right",
        r"\displaystyle",
        r"\limits",
        r"\nolimits",
        r"\,",
        r"\;",
        r"\:",
        r"\!",
        r"\quad",
        r"\qquad",
        "\\ ",
        "~",
        r"\big",
        r"\Big",
        r"\bigg",
        r"\Bigg",
        r"\bigl",
        r"\bigr",
        r"\Bigl",
        r"\Bigr",
        r"\mathrm",
        r"\mathbf",
        r"\mathit",
        r"\text",
        r"\operatorname",
        r"\boldsymbol",
        "{",
        "}",
        "$",
    }
)
_SYNONYMS = {
    r"\le": r"\leq",
    r"\ge": r"\geq",
    r"\ne": r"\neq",
    r"\lt": "<",
    r"\gt": ">",
    r"\cdot": r"\times",
    r"\ast": "*",
    r"\to": r"\rightarrow",
    r"\vert": "|",
    r"\mid": "|",
    r"\lVert": r"\|",
    r"\rVert": r"\|",
    r"\Vert": r"\|",
    r"\varepsilon": r"\epsilon",
    r"\varphi": r"\phi",
    r"\dfrac": r"\frac",
    r"\tfrac": r"\frac",
    r"\top": "T",
    "'": r"\prime",
    r"\dots": r"\ldots",
    r"\cdots": r"\ldots",
}


@lru_cache(maxsize=4096)
def normalize_tokens(latex: str) -> tuple[str, ...]:
    """LaTeX as a tuple of comparable tokens: spacing, sizing, font commands and braces dropped,
    synonyms unified (\\le -> \\leq, \\cdot -> \\times, \\top -> T, ...). ``x^{2}`` and ``x^2`` agree."""
    out = []
    for t in tokenize(latex):  # the project's one LaTeX tokenizer (whiteboard_app/latex)
        if t in _DROP:
            continue
        out.append(_SYNONYMS.get(t, t))
    return tuple(out)


def token_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance between two token sequences (insert, delete, substitute: cost 1 each);
    computed by rapidfuzz (C++, ~1 us for 30 tokens)."""
    return Levenshtein.distance(tuple(a), tuple(b))
