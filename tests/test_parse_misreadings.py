"""Recogniser misreadings (unbalanced delimiters, empty arguments, stray or repeated operators, Unicode):
every one is "unparsed" with a message saying what is wrong and where (a 1-based column in the step as
written), never an exception, a hang, "wrong" or "cannot_check". Table-driven; the same kinds of steps on
real cards are rows of tests/data/verdict_table.toml."""

from __future__ import annotations

import json
import time

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.cli import main
from whiteboard_app.decks.schema import Declarations
from whiteboard_app.latex import MalformedError, ParseError, check_balance, check_structure
from whiteboard_app.maths import check_step
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.maths.normalise import names_from_declarations
from whiteboard_app.maths.parse import parse_step

NAMES = names_from_declarations(
    Declarations(
        symbols={"z": "real", "a": "real", "b": "positive", "x": "real"}, functions={"sigma": "sigmoid"}
    )
)

# (step as misread, words the message must contain)
MISREADINGS = [
    # unbalanced or mismatched delimiters: which one, and the column
    (r"= \frac{1}{1+e^{-z}", "the '{' at column 11 is never closed"),
    (r"(1-\sigma(z)", "unbalanced parentheses: the '(' at column 1 is never closed"),
    (r"x^{2", "unbalanced braces: the '{' at column 3 is never closed"),
    (r"x^{2}}", "the '}' at column 6 has no matching '{'"),
    (r"\sigma(z))", "the ')' at column 10 has no matching '('"),
    (r"\left(a + b", "the '(' at column 6 is never closed"),
    (r"a + b\right)", "the ')' at column 12 has no matching '('"),
    (r"\sigma(z](1-\sigma(z))", "mismatched brackets: the '(' at column 7 is closed by ']' at column 9"),
    (r"\frac{a}{(b}+1)", "the '(' at column 10 is not closed before the '}' at column 12"),
    (r"\{a", r"the '\{' at column 1 is never closed"),
    (r"\frac{1}{1+e^{-z}} \approx 0.5}", "the '}' at column 31 has no matching '{'"),  # not cannot_check
    (r"P(Z \le 1.96", "the '(' at column 2 is never closed"),
    # superscripts and subscripts
    (r"x^", "the superscript '^' at column 2 (in \"x^\") has nothing after it"),
    (r"\sigma(z)^ = a", "the superscript '^' at column 10"),
    (r"x_", "the subscript '_' at column 2"),
    (r"x^^2", "the superscript '^' at column 2"),
    (r"x^{}", "the superscript '^{}' at column 2"),
    (r"a_{} + b", "the subscript '_{}' at column 2"),
    (r"^2", "has nothing before it"),
    (r"z^-1", "holds only the sign"),
    # empty or missing arguments
    (r"\frac{}{2}", r'\frac at column 1 (in "\frac{}{2}") has an empty numerator'),
    (r"\frac{1}{}", "has an empty denominator"),
    (r"\frac{}{}", "has an empty numerator"),
    (r"a + \frac{1}", r"\frac at column 5"),
    (r"\sqrt{}", "has an empty argument"),
    (r"\sqrt[3]{}", "has an empty argument"),
    (r"a + {}", "an empty group '{}' at column 5"),
    (r"! a", "a stray '!' at column 1"),
    (r"\hat{} = a", "has an empty argument"),
    (r"\sqrt", "is missing its argument"),
    (r"\log", r"\log at column 1"),
    (r"\log + a", "has no argument"),
    (r"\sigma() = a", "empty parentheses '()' at column 7"),
    (r"\|\|", "empty norm"),
    (r"\frac{d}{dz}", "has nothing to differentiate"),
    (r"\partial", r"a \partial outside a derivative"),
    (r"\sum_{i=}^{n} a", "no lower bound"),
    # operators
    (r"a +- b", "two operators in a row, '+' and '-', at column 3"),
    (r"a -- b", "two operators in a row"),
    (r"a ++ b", "two operators in a row"),
    (r"a \cdot\cdot b", "two operators in a row"),
    (r"a \cdot / b", "two operators in a row"),
    (r"a +", "the '+' at column 3 (in \"a +\") has nothing after it"),
    (r"a - = b", "has nothing after it"),
    (r"1/", "has nothing after it"),
    (r"\cdot a", "has nothing before it"),
    (r"= / a", "has nothing before it"),
    (r"*a", "a stray '*' at column 1"),
    (r"a .= b", "a stray '.' at column 3"),
    (r"0..5 + a", "two decimal points"),
    (r"|a + b", "the absolute-value bar '|' at column 1"),
    (r"\|a\|^2 + \|b", r"the norm bar '\|' at column 11"),
    # characters
    ("a \u2603 b", "cannot read the character '\u2603' (U+2603) at column 3"),
    ("(1-\u2212z)", "two operators in a row"),
    (r"\% a", r"cannot read \% at column 1"),
    # input no written step looks like: refused at once instead of taking antlr seconds
    ("(" * 30 + "a" + ")" * 30, "the '(' at column 21 is nested more than 20 levels deep"),
    ("a+" * 600 + "a", "the step is 1201 characters long"),
]


@pytest.mark.parametrize("latex,words", MISREADINGS, ids=[m[0][:40] for m in MISREADINGS])
def test_misreadings_are_parse_errors_that_say_what_and_where(latex, words):
    with pytest.raises(ParseError) as exc:
        parse_step(latex, NAMES)
    assert words in str(exc.value)


# steps that look unbalanced or odd but are fine (they parse, or are cannot_check, never unparsed)
FINE = [
    r"\left.\sigma(z)\right|_{z=0} = \frac12",  # invisible \left. and an evaluation bar
    r"z \in [0, 1)",  # a half-open interval next to \in
    r"\left(a + b\right) \cdot -1",  # a sign after \cdot
    r"a^{-1} + b^{2}",
    r"2 \times -3",
    r"|a| + |b| \ge |a + b|",
    "\u03c3(z)(1\u2212\u03c3(z))",  # sigma and the Unicode minus
    "a \u00d7 b \u2264 a\u00b2 + b\u00b2",
    r"\frac{d}{dz}\sigma(z) = \sigma(z)(1-\sigma(z))",
    r"a = b.",  # a trailing full stop
    r"a = b \text{ } \quad",  # spacing
    r"\|a\|^2 + |b|",
]


@pytest.mark.parametrize("latex", FINE)
def test_well_formed_steps_are_not_rejected(latex):
    check_balance(latex)
    parse_step(latex, NAMES)  # no ParseError


@pytest.mark.parametrize(
    "latex",
    [
        r"\left.\frac{d\sigma}{dz}\right|_{z=0}",  # \left. closed by \right|
        r"f = \left\{ a \right.",  # a brace closed by the invisible \right.
        r"\left| a \right| + \left\| b \right\|",
        r"\sigma(z)\right|_{z=0}",  # a lone \right| (an evaluation bar) is not a closer
        r"\bigl( a \bigr)",
    ],
)
def test_left_and_right_delimiters_pair_up(latex):
    check_balance(latex)


def test_an_abbreviation_is_not_a_stray_full_stop():
    check_structure(r"\max_a b \quad s.t. \quad a \ge 0")  # no MalformedError (the step is not checked)
    with pytest.raises(MalformedError):
        check_structure(r"a .= b")


def test_the_python_api_and_the_cli_give_unparsed_with_the_message(capsys):
    card = deck().get("sigmoid-derivative")
    for latex in (r"= \frac{1}{1+e^{-z}", r"(1-\sigma(z)", r"\frac{1}{1+e^{-z}} \approx 0.5}"):
        v = check_step(card, latex, [r"\sigma(z) = (1+e^{-z})^{-1}"])
        assert v.verdict == "unparsed" and "column" in v.message, (latex, v)
        assert v.reference_step is None and v.diagnosis is None
    assert (
        main(
            ["check", "sigmoid-derivative", r"\sigma(z) = (1+e^{-z})^{-1}", r"= \frac{1}{1+e^{-z}", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert [v["verdict"] for v in out] == ["correct", "unparsed"]
    assert "unbalanced braces: the '{' at column 11 is never closed" in out[1]["message"]


def _mangled(step: str) -> list[str]:
    """Deterministic misreadings of a reference step: each closing delimiter dropped, each opening one
    doubled, a stray operator or script mark at the end, \\left( for (, the Unicode minus."""
    out = []
    for k, ch in enumerate(step):
        if ch in "})]":
            out.append(step[:k] + step[k + 1 :])
        if ch in "{(":
            out.append(step[:k] + ch + step[k:])
    out += [step + tail for tail in ("^", "_", "+", r"\cdot", "}", "{", "=", "'", "_{}", "^{}")]
    out += [
        step.replace("(", r"\left(", 1),
        step.replace("-", "\u2212"),
        step.replace("-", "+-", 1),
        step.replace(r"\frac", r"\frac{}{}", 1),
        step[: len(step) // 2],
    ]
    return out


@pytest.mark.parametrize("card_id", ["sigmoid-derivative", "logistic-regression-gradient", "bayes-theorem"])
def test_mangled_reference_steps_never_raise_or_hang(card_id):
    card = deck().get(card_id)
    chk = CardChecker(card, prove=False)
    for st in card.steps:
        for latex in _mangled(st.latex):
            t0 = time.perf_counter()
            v = chk.check(latex, [card.steps[0].latex])
            assert v.verdict in ("correct", "wrong", "unparsed", "cannot_check")
            if v.verdict in ("unparsed", "cannot_check"):
                assert v.message, latex
            assert time.perf_counter() - t0 < 5.0, latex
