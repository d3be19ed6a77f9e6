"""Loader tests for the ``[notation]`` table: a good table loads into ``Card.notation``; each malformed table is
a DeckError naming the file, the line and the field (docs/deck-authoring.md, ``[notation]``)."""

from __future__ import annotations

import pytest

from tests.test_decks import GOOD, write
from whiteboard_app.decks import DeckError, card_errors, load_card
from whiteboard_app.decks.schema import Notation

NOTATION = """[notation]
aliases = { 't' = 'x', '\\hat{u}_i' = 'y_i', 'b' = '0' }
per_example = "i"
summands = { S = '(y_i - x)^2' }
"""


def _with(block: str, extra_definitions: bool = True) -> str:
    text = GOOD
    if extra_definitions:
        text = text.replace(
            'functions = { sigma = "sigmoid" }',
            "functions = { sigma = \"sigmoid\" }\ndefinitions = { S = '\\sum_{i=1}^{n}(y_i - x)^2' }",
        )
    return text.replace("\n[[steps]]", "\n" + block + "\n[[steps]]", 1)


def _line(text: str, needle: str) -> int:
    return next(k for k, line in enumerate(text.splitlines(), 1) if needle in line)


def test_good_notation_loads(tmp_path):
    card = load_card(write(tmp_path, _with(NOTATION)))
    assert card.notation.per_example == "i"
    assert card.notation.aliases == {"t": "x", "\\hat{u}_i": "y_i", "b": "0"}
    assert card.notation.summands == {"S": "(y_i - x)^2"}


def test_a_card_without_notation_has_the_empty_one(tmp_path):
    assert load_card(write(tmp_path, GOOD)).notation == Notation()


# (replace this in NOTATION, by that, the text on the expected line, expected field, words in the message)
BROKEN = [
    ("'t' = 'x'", "'x' = 't'", "aliases", "notation.aliases.x", "declared on this card"),
    ("'t' = 'x'", "'e' = 'x'", "aliases", "notation.aliases.e", "reserved"),
    ("'t' = 'x'", "'t' = ''", "aliases", "notation.aliases.t", "non-empty"),
    ("'t' = 'x'", "'t' = '\\\\frac{x'", "aliases", "notation.aliases.t", "not well-formed"),
    ("'t' = 'x'", "'t = 1' = 'x'", "aliases", "notation.aliases.t = 1", "not a relation"),
    ("'t' = 'x'", "'t' = 't'", "aliases", "notation.aliases.t", "maps to itself"),
    ('per_example = "i"', 'per_example = "q"', "per_example", "notation.per_example", "not a declared index"),
    ('per_example = "i"', "per_example = 3", "per_example", "notation.per_example", "must be a string"),
    ("S = '(y_i - x)^2'", "T2 = '(y_i - x)^2'", "summands", "notation.summands.T2", "not a key of"),
    ('per_example = "i"\n', 'per_examples = "i"\n', "per_examples", "notation.per_examples", "unknown field"),
]


@pytest.mark.parametrize("old,new,where,field,words", BROKEN, ids=[b[3] + "-" + b[4] for b in BROKEN])
def test_broken_notation_names_file_line_field(tmp_path, old, new, where, field, words):
    assert old in NOTATION
    text = _with(NOTATION.replace(old, new, 1))
    path = write(tmp_path, text)
    card, errors = card_errors(path)
    assert card is None and errors
    e = next((x for x in errors if x.field == field), errors[0])
    assert isinstance(e, DeckError)
    assert (e.path, e.field) == (path, field), str(e)
    assert e.line == _line(text, where), str(e)
    assert words in e.message, str(e)
    with pytest.raises(DeckError):
        load_card(path)


def test_summands_need_per_example(tmp_path):
    text = _with(NOTATION.replace('per_example = "i"\n', ""))
    path = write(tmp_path, text)
    _, errors = card_errors(path)
    assert any(
        e.field == "notation.summands.S" and "per_example" in e.message and e.line == _line(text, "summands")
        for e in errors
    ), errors


def test_notation_must_be_a_table(tmp_path):
    text = GOOD.replace("hints = [", "notation = 3\nhints = [", 1)
    path = write(tmp_path, text)
    _, errors = card_errors(path)
    assert any(
        e.field == "notation" and "table" in e.message and e.line == _line(text, "notation = 3")
        for e in errors
    ), errors
