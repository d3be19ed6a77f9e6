"""Fuzzing (hypothesis): every reader and the checker get random and mutated input and must answer with
a result or their layer's own error, within their time limit; never another exception, never a hang.

The quick profile ("ci", 40 examples a target) runs with the tests; ``python -m benchmarks.fuzz`` runs
the long profile (10,000 examples a target) and records the counts in docs/benchmarks.md. Mutations
start from valid documents the project makes itself (the bundled example card, a board and ink written
by the project), so they reach deep into each reader rather than failing at the first byte.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whiteboard_app.decks import DeckError, load_card, load_deck
from whiteboard_app.decks.loader import bundled_deck_dir
from whiteboard_app.ink import InkFormatError, StepInk, Stroke
from whiteboard_app.ink.io import InkRecord, read_inkml, read_jsonl, write_inkml, write_jsonl
from whiteboard_app.sessions.board import Board, BoardError

VERDICTS = {"correct", "wrong", "unparsed", "cannot_check"}
CHECK_LIMIT_S = (
    12.0  # parse 2 s + check 1 s in the worker, plus a worker restart after a kill, on a busy machine
)

EXAMPLE_CARD = bundled_deck_dir() / "sigmoid-derivative.toml"


@st.composite
def mutated(draw, seed_text: str, alphabet: str | None = None):
    """A copy of ``seed_text`` with a few random deletions, insertions, duplications and swaps."""
    text = seed_text
    chars = alphabet or "{}[]()=\"',.:;#\n\\^_-+0123456789abcxyz \t\x00é"
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            break
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "swap", "truncate"]))
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i, min(len(text), i + 40)))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.text(alphabet=chars, min_size=1, max_size=8)) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "swap":
            text = text[:i] + text[j:] + text[i:j] if j < len(text) else text
        else:
            text = text[:i]
    return text


# ---------------------------------------------------------------- LaTeX normaliser, parser, checker

LATEX_ATOMS = [
    r"\frac{1}{n}",
    r"\sum_{i=1}^{n}",
    r"\sigma(z)",
    "e^{-z}",
    "(",
    ")",
    "{",
    "}",
    "^",
    "_",
    "=",
    "-",
    "+",
    r"\cdot",
    r"\left(",
    r"\right)",
    r"\log",
    "x_i",
    r"\bar x",
    r"\hat y",
    "^T",
    "'",
    r"\|",
    "z",
    "1",
    "2",
    r"\le",
    r"\partial",
    r"\sqrt",
    r"\text{",
    "&",
    "\\",
    "p(y|x)",
    "E[",
]


@pytest.fixture(scope="module")
def card():
    return load_card(EXAMPLE_CARD)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    st.one_of(
        st.lists(st.sampled_from(LATEX_ATOMS), min_size=1, max_size=14).map("".join),
        st.text(max_size=40),
        st.sampled_from(
            [
                r"\sigma(z) = (1+e^{-z})^{-1}",
                r"= \sigma(z)(1-\sigma(z))",
                r"\frac{d\sigma}{dz} = -(1+e^{-z})^{-2} \cdot (-e^{-z})",
            ]
        ).flatmap(lambda s: mutated(s, "{}()^_=+-\\ze1-2")),
    )
)
def test_checker_answers_every_latex_with_a_verdict_in_time(card, latex):
    from whiteboard_app.maths import check_step

    t0 = time.monotonic()
    verdict = check_step(card, latex, [r"\sigma(z) = (1+e^{-z})^{-1}"])
    assert verdict.verdict in VERDICTS
    assert time.monotonic() - t0 < CHECK_LIMIT_S
    json.dumps(verdict.to_json())  # the CLI can always print it


# ---------------------------------------------------------------- deck loader


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated(EXAMPLE_CARD.read_text(encoding="utf-8")))
def test_deck_loader_gives_a_card_or_a_deck_error_naming_the_file(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("deck") / "sigmoid-derivative.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        card = load_card(path)
    except DeckError as exc:
        assert str(path) in str(exc) or path.name in str(exc)
        assert exc.line >= 0
    else:
        assert card.id and card.steps


def test_a_broken_card_does_not_hide_the_rest_of_the_deck(tmp_path):
    good = tmp_path / "sigmoid-derivative.toml"
    good.write_text(EXAMPLE_CARD.read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "broken.toml"
    bad.write_text('schema_version = 1\nid = "broken"\ntitle = [\n', encoding="utf-8")
    with pytest.raises(DeckError) as info:
        load_deck([good, bad])
    assert "broken.toml" in str(info.value)


# ---------------------------------------------------------------- ink readers (JSON lines, InkML)


def _seed_records() -> list[InkRecord]:
    strokes = (
        Stroke.from_xy([(0, 0, 0, 0.2), (5, 9, 16, 0.7), (9, 3, 33, 0.5)]),
        Stroke.from_xy([(12, 1), (14, 8)], t0=60),
    )
    return [InkRecord(id="a", ink=StepInk(strokes), latex=r"\sigma(z)", symbols=None)]


@pytest.fixture(scope="module")
def seed_ink_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("ink")
    write_jsonl(d / "seed.jsonl", _seed_records())
    write_inkml(d / "seed.inkml", _seed_records())
    return (d / "seed.jsonl").read_text(encoding="utf-8"), (d / "seed.inkml").read_text(encoding="utf-8")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_ink_readers_give_records_or_an_ink_format_error(tmp_path_factory, seed_ink_files, data):
    jsonl, inkml = seed_ink_files
    d = tmp_path_factory.mktemp("inkfuzz")
    for name, seed, reader in (("x.jsonl", jsonl, read_jsonl), ("x.inkml", inkml, read_inkml)):
        text = data.draw(mutated(seed), label=name)
        path = d / name
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            records = reader(path)
        except InkFormatError as exc:
            assert name in str(exc)
        else:
            assert all(isinstance(r.ink, StepInk) for r in records)


# ---------------------------------------------------------------- board reader


def _seed_board_text() -> str:
    from whiteboard_app.sessions.clock import FakeClock
    from whiteboard_app.sessions.session import Session

    session = Session("sigmoid-derivative", FakeClock(), target_s=300, card_title="Derivative of the sigmoid")
    session.add_stroke(Stroke.from_xy([(0, 0, 0, 0.3), (4, 4, 20, 0.6)]))
    session.record_correction(0, r"\sigma(z) = (1+e^{-z})^{-1}")
    return session.board().dumps()


@given(text=mutated(_seed_board_text()))
def test_board_reader_gives_a_board_or_a_board_error(text):
    try:
        board = Board.loads(text, path=Path("fuzzed.json"))
    except BoardError as exc:
        assert "fuzzed.json" in str(exc)
    else:
        assert board.card_id is not None
