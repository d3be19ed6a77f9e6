"""LaTeX as text, shared by the whole project: one tokenizer and what needs nothing else.

- :mod:`.tokens`: :func:`tokenize` / :func:`token_spans` (the project's one LaTeX tokenizer), the errors
  of a reading (:class:`ParseError`, :class:`MalformedError`), the shared vocabulary (decorations, fonts,
  function words, relations), :func:`clean`, :func:`canonical` and :func:`split_relations`;
- :mod:`.wellformed`: :func:`check_balance` and :func:`check_structure` (misreadings of a recogniser);
- :mod:`.names`: :func:`name_key`, :func:`is_plain_name_key` and the Greek letter names.

A leaf of the import layers (standard library only; pyproject.toml ``[tool.importlinter]``): ink, decks,
maths and recognition import it, it imports none of them. The maths normaliser that turns a step into
sympy-ready LaTeX for one card is :mod:`whiteboard_app.maths.normalise`.
"""

from .names import GREEK, is_plain_name_key, name_key
from .tokens import (
    MalformedError,
    ParseError,
    canonical,
    clean,
    group,
    join,
    split_relations,
    token_spans,
    tokenize,
)
from .wellformed import check_balance, check_structure

__all__ = [
    "GREEK",
    "MalformedError",
    "ParseError",
    "canonical",
    "check_balance",
    "check_structure",
    "clean",
    "group",
    "is_plain_name_key",
    "join",
    "name_key",
    "split_relations",
    "token_spans",
    "tokenize",
]
