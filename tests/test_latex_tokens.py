"""The project's one LaTeX tokenizer (whiteboard_app/latex/): what a token is, the columns it reports, and that
the package stays a leaf every layer may import (standard library only)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from whiteboard_app.latex import canonical, name_key, split_relations, token_spans, tokenize

PACKAGE = Path(__file__).resolve().parents[1] / "whiteboard_app" / "latex"


@pytest.mark.parametrize(
    "latex,tokens",
    [
        (r"\frac{a}{2b}", [r"\frac", "{", "a", "}", "{", "2", "b", "}"]),
        (r"x_{12}^2", ["x", "_", "{", "1", "2", "}", "^", "2"]),  # digits one by one
        (r"\hat y \, + \{a\}", [r"\hat", "y", r"\,", "+", r"\{", "a", r"\}"]),
        ("a\\ b", ["a", "\\ ", "b"]),  # an escaped space is a token; plain whitespace is none
        (
            "\u03c3(z)",
            ["\u03c3", "(", "z", ")"],
        ),  # a non-ASCII character is one token (clean() translates it)
        ("", []),
    ],
)
def test_tokens(latex, tokens):
    assert tokenize(latex) == tokens


_LATEX_ALPHABET = st.sampled_from(
    [r"\frac", r"\sum", r"\hat", r"\,", r"\{", "\\ ", "{", "}", "^", "_", "x", "2", "+", " ", "\t", "(", "'"]
)


@given(st.lists(_LATEX_ALPHABET, max_size=30).map("".join))
def test_tokens_cover_the_text_and_the_columns_point_at_them(latex):
    toks = tokenize(latex)
    spans = list(token_spans(latex))
    assert [t for t, _ in spans] == toks
    for t, col in spans:
        assert latex[col : col + len(t)] == t
    # the tokens tile the text; what lies between them is whitespace
    covered = set()
    for t, col in spans:
        covered.update(range(col, col + len(t)))
    assert all(ch.isspace() for k, ch in enumerate(latex) if k not in covered)


@given(st.text(alphabet=st.sampled_from(list("ab12+-=()_^{}\\ ")), max_size=25))
def test_the_same_tokens_as_the_regex_the_recogniser_and_synth_used(latex):
    # recognition/context.py and ink/synth.py split with r"\\[a-zA-Z]+|\\.|\S" before the one tokenizer;
    # a caller moving to tokenize() gets the same tokens (backslash-newline aside)
    assert tokenize(latex) == re.findall(r"\\[a-zA-Z]+|\\.|\S", latex)


def test_canonical_names_and_relations_use_the_same_tokens():
    assert canonical(r"\frac1n \hat y") == canonical(r"\frac{1}{n}\hat{y}")
    assert name_key(r"\hat{\theta}") == "hat_theta"
    assert split_relations(r"a = b \le c") == (["a", "b", "c"], ["=", "<="])


def test_the_package_is_a_leaf():
    """whiteboard_app.latex imports only the standard library and itself (import-linter's layers contract
    puts it under every other layer; this says why: nothing below it)."""
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or not (node.module or "").startswith("whiteboard_app"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("whiteboard_app") for a in node.names), path


def test_synth_and_the_card_loader_use_the_one_tokenizer():
    root = PACKAGE.parent
    synth = (root / "ink" / "synth.py").read_text(encoding="utf-8")
    loader = (root / "decks" / "loader.py").read_text(encoding="utf-8")
    assert (
        "from whiteboard_app.latex.tokens import tokenize" in synth
        and 're.compile(r"\\\\[a-zA-Z]' not in synth
    )
    assert "whiteboard_app.maths" not in loader  # it checks a card's LaTeX with whiteboard_app.latex
