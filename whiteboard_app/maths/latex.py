"""Where the LaTeX reading used to live (one 1500-line module); kept as a thin re-export so that
``from whiteboard_app.maths.latex import X`` in code written before the split (other branches, scripts)
still works. New code imports from the modules themselves:

- :mod:`whiteboard_app.latex.tokens`: the project's one tokenizer, errors, vocabulary, clean-up,
  canonical LaTeX, relation split;
- :mod:`whiteboard_app.latex.wellformed`: delimiter balance and recogniser misreadings;
- :mod:`whiteboard_app.latex.names`: name keys and Greek letter names;
- :mod:`whiteboard_app.maths.normalise`: a card's names and the normaliser to sympy-ready LaTeX.
"""

from __future__ import annotations

from whiteboard_app.latex.names import GREEK as _GREEK
from whiteboard_app.latex.names import is_plain_name_key, name_key
from whiteboard_app.latex.tokens import (
    DECORATIONS,
    FONTS_DROPPED,
    FUNCTION_WORDS,
    GRAMMAR_FUNCS,
    RELATIONS,
    TEXT_CMDS,
    UNDECIDABLE_CMDS,
    UNDECIDABLE_RELATIONS,
    UNICODE,
    MalformedError,
    ParseError,
    canonical,
    clean,
    expand_bare_sums,
    join,
    split_relations,
    tokenize,
)
from whiteboard_app.latex.wellformed import (
    MAX_DERIVATIVE_ORDER,
    MAX_NESTING,
    MAX_STEP_CHARS,
    check_balance,
    check_structure,
)

from .normalise import Names, Normalised, names_from_declarations, normalise_piece

__all__ = [
    "DECORATIONS",
    "FONTS_DROPPED",
    "FUNCTION_WORDS",
    "GRAMMAR_FUNCS",
    "MAX_DERIVATIVE_ORDER",
    "MAX_NESTING",
    "MAX_STEP_CHARS",
    "RELATIONS",
    "TEXT_CMDS",
    "UNDECIDABLE_CMDS",
    "UNDECIDABLE_RELATIONS",
    "UNICODE",
    "MalformedError",
    "Names",
    "Normalised",
    "ParseError",
    "_GREEK",
    "canonical",
    "check_balance",
    "check_structure",
    "clean",
    "expand_bare_sums",
    "is_plain_name_key",
    "join",
    "name_key",
    "names_from_declarations",
    "normalise_piece",
    "split_relations",
    "tokenize",
]
