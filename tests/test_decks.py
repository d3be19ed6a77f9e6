"""The deck loader: the bundled deck loads, and malformed cards are DeckErrors naming file, line, field."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from whiteboard_app import cli
from whiteboard_app.decks import (
    DeckError,
    UnknownCardError,
    bundled_deck_dir,
    card_errors,
    load_card,
    load_deck,
)
from whiteboard_app.decks.schema import Targets

GOOD = """schema_version = 1
id = "toy-card"
title = "Toy"
topic = "calculus"
prompt = "Differentiate x squared."
setup = "x is real."
assumptions = ["x real"]
interpretation = "The slope doubles x."
hints = [
  "Power rule.",
  "Bring the 2 down.",
]

[declarations]
symbols = { x = "real", n = "positive_integer" }
indexed = { y = "i" }
indices = { i = ["1", "n"] }
functions = { sigma = "sigmoid" }

[[steps]]
latex = "\\\\frac{d}{dx} x^2 = 2x"
say = "power rule"
rule = "power rule"

[[steps]]
latex = "= 2 x"
say = "done"
rule = "simplify"
checkable = true

[[mistakes]]
latex = "= x"
after_step = 2
diagnosis = "missing factor"
explanation = "The 2 comes down."

[[mistakes]]
latex = "= 2x^2"
after_step = 2
diagnosis = "wrong exponent"
explanation = "The exponent drops by one."

[[followups]]
question = "Why?"
answer = "Because."
key_points = ["power rule", "linearity"]

[[followups]]
question = "And x cubed?"
answer = "3x^2."
key_points = ["power rule", "n x^{n-1}"]
"""


def write(tmp_path: Path, text: str, name: str = "toy-card.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_card_loads(tmp_path):
    card = load_card(write(tmp_path, GOOD))
    assert card.id == "toy-card"
    assert [s.latex for s in card.steps] == ["\\frac{d}{dx} x^2 = 2x", "= 2 x"]
    assert card.mistakes[1].after_step == 2 and card.mistakes[1].diagnosis == "wrong exponent"
    assert card.declarations.indices == {"i": ("1", "n")}
    assert card.targets == Targets(300, 180)
    assert card.followups[0].key_points == ("power rule", "linearity")


def test_bundled_deck_loads_and_get_raises_for_unknown_ids():
    deck = load_deck()
    assert "sigmoid-derivative" in deck.cards
    assert deck.get("sigmoid-derivative").topic == "calculus"
    with pytest.raises(UnknownCardError):
        deck.get("no-such-card")
    assert bundled_deck_dir().is_dir()


# (replace this, by that, expected line, expected field, words in the message)
BROKEN = [
    ('topic = "calculus"', 'topic = "calc"', 4, "topic", "unknown topic"),
    ('id = "toy-card"', 'id = "Toy_Card"', 2, "id", "kebab-case"),
    ('id = "toy-card"', 'id = "other-card"', 2, "id", "file name"),
    ("schema_version = 1", "schema_version = 7", 1, "schema_version", "unsupported"),
    ('title = "Toy"\n', "", 0, "title", "missing"),
    (
        'after_step = 2\ndiagnosis = "wrong exponent"',
        'after_step = 9\ndiagnosis = "wrong exponent"',
        39,
        "mistakes[2].after_step",
        "1..2",
    ),
    ("checkable = true", 'checkable = "yes"', 29, "steps[2].checkable", "boolean"),
    ('latex = "= 2 x"', 'latex = ""', 26, "steps[2].latex", "empty"),
    ('say = "done"', 'says = "done"', 27, "steps[2].says", "unknown field"),
    ('n = "positive_integer" }', 'n = "natural" }', 15, "declarations.symbols.n", "unknown domain"),
    (
        'indices = { i = ["1", "n"] }',
        'indices = { k = ["1", "n"] }',
        16,
        "declarations.indexed.y",
        "not declared",
    ),
    ('sigma = "sigmoid"', 'sigma = "logit"', 18, "declarations.functions.sigma", "unknown function"),
    ('  "Bring the 2 down.",\n', '  "Bring the 2 down.",\n  "",\n', 12, "hints[3]", "non-empty"),
    (
        'key_points = ["power rule", "linearity"]',
        'key_points = ["power rule"]',
        46,
        "followups[1].key_points",
        "2-5",
    ),
    ('latex = "\\\\frac{d}{dx} x^2 = 2x"', 'latex = "= 2x"', 21, "steps[1].latex", "first step"),
    ('title = "Toy"', 'title = "Toy', 3, "", "invalid TOML"),
]


@pytest.mark.parametrize("old,new,line,field,words", BROKEN, ids=[b[3] or b[4] for b in BROKEN])
def test_broken_card_names_file_line_field(tmp_path, old, new, line, field, words):
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    card, errors = card_errors(path)
    assert card is None and errors
    e = errors[0]
    assert isinstance(e, DeckError)
    assert (e.path, e.line, e.field) == (path, line, field), str(e)
    assert words in e.message
    assert str(e).startswith(f"{path}:{line}: " if line else f"{path}: ")
    with pytest.raises(DeckError):
        load_card(path)


def test_too_few_mistakes_and_duplicate_ids(tmp_path):
    start = GOOD.index("[[mistakes]]")
    end = GOOD.index("[[mistakes]]", start + 1)
    _, errors = card_errors(write(tmp_path, GOOD[:start] + GOOD[end:]))
    assert [e.field for e in errors] == ["mistakes"] and "2-5" in errors[0].message
    a = write(tmp_path, GOOD)
    sub = tmp_path / "other"
    sub.mkdir()
    b = write(sub, GOOD)
    with pytest.raises(DeckError, match="duplicate id"):
        load_deck([a, b])


def run_cli(*args: str) -> SimpleNamespace:
    """``whiteboard-app *args`` run in this process (returncode, stdout, stderr). In-process: an
    interpreter and a maths process started per call cost seconds of CI each, and the real entry point
    (``python -m whiteboard_app``) is tested by tests/test_cli_check.py and tests/test_core_without_qt.py."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return SimpleNamespace(returncode=code or 0, stdout=out.getvalue(), stderr=err.getvalue())


def test_cli_validate_and_list(tmp_path):
    good = write(tmp_path, GOOD)
    r = run_cli("decks", "validate", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = write(bad_dir, GOOD.replace('topic = "calculus"', 'topic = "calc"'))
    r = run_cli("decks", "validate", str(good), str(bad))
    assert r.returncode == 1
    assert f"{bad}:4: topic: unknown topic" in r.stdout
    r = run_cli("decks", "list", "--json", str(good))
    assert r.returncode == 0
    assert json.loads(r.stdout)[0]["id"] == "toy-card"


def test_cli_validate_check_runs_the_checker(tmp_path):
    good = write(tmp_path, GOOD)
    r = run_cli("decks", "validate", "--check", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = write(
        bad_dir,
        GOOD.replace('latex = "= 2 x"', 'latex = "= 3 x"').replace('latex = "= x"', 'latex = "= x + x"'),
    )
    r = run_cli("decks", "validate", "--check", str(bad))
    assert r.returncode == 1
    assert f"{bad}:26: steps[2].latex: the checker says wrong" in r.stdout
    assert f"{bad}:32: mistakes[1].latex: the checker says correct" in r.stdout


# --- milestones (issue 12): a per-step field, validated with file, line and field
def _with_milestones(first: str | None, second: str | None) -> str:
    text = GOOD
    if first is not None:
        text = text.replace('rule = "power rule"\n', f'rule = "power rule"\nmilestone = {first}\n', 1)
    if second is not None:
        text = text.replace('rule = "simplify"\n', f'rule = "simplify"\nmilestone = {second}\n', 1)
    return text


def test_milestones_load(tmp_path):
    card = load_card(write(tmp_path, _with_milestones('"rule"', '"result"')))
    assert [s.milestone for s in card.steps] == ["rule", "result"]
    assert load_card(write(tmp_path, GOOD)).steps[0].milestone is None  # optional: routine steps carry none


@pytest.mark.parametrize(
    "first,second,field,words",
    [
        ('"insight"', '"result"', "steps[1].milestone", "unknown milestone 'insight'"),
        ("3", '"result"', "steps[1].milestone", "must be a string"),
        ('"rule"', None, "steps[1].milestone", "must mark its result"),
    ],
)
def test_bad_milestones_name_file_line_field(tmp_path, first, second, field, words):
    text = _with_milestones(first, second)
    path = write(tmp_path, text)
    card, errors = card_errors(path)
    assert card is None
    err = next(e for e in errors if e.field == field)
    assert words in err.message
    assert text.splitlines()[err.line - 1].startswith("milestone =")  # the line of the field itself
    assert str(err).startswith(f"{path}:{err.line}: {field}: ")
