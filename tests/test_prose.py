"""ui/prose.py (Qt-free): the prose of every bundled card (setup, hints, explanations, follow-up answers,
the interpretation) shows its maths as symbols, never as raw LaTeX commands."""

from __future__ import annotations

import re

import pytest

from whiteboard_app.decks import bundled_deck_dir, deck_errors
from whiteboard_app.ui.prose import prose_html


def card_prose(card) -> list[str]:
    texts = [card.setup, card.interpretation, card.prompt, *card.assumptions, *card.hints]
    texts += [s.say for s in card.steps]
    texts += [m.explanation for m in card.mistakes]
    texts += [t for f in card.followups for t in (f.question, f.answer, *f.key_points)]
    return [t for t in texts if t]


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (r"Data $x_1, \dots, x_n \in \mathbb{R}$", "Data x<sub>1</sub>, \u2026, x<sub>n</sub> \u2208 \u211d"),
        (r"$\cos a - \sin a$", "cos a \u2212 sin a"),
        (r"$y_w \succ y_l$", "y<sub>w</sub> \u227b y<sub>l</sub>"),
        (r"$\ell(\theta)$", "\u2113(\u03b8)"),
        (
            r"$\begin{pmatrix} \cos a & -\sin a \\ \sin a & \cos a \end{pmatrix}$",
            "(cos a, \u2212sin a; sin a, cos a)",
        ),
        (r"\unknown x", r"\unknown x"),  # what it does not know is shown as written, its space kept
        (r"$\frac{1}{2}\|w\|^2$", "1/2\u2016w\u2016<sup>2</sup>"),  # a norm
    ],
)
def test_macros_become_symbols(text, html):
    assert prose_html(text) == html


def test_no_bundled_card_shows_a_raw_latex_command():
    deck, errors = deck_errors([bundled_deck_dir()])
    assert not errors
    raw = {
        (card.id, m)
        for card in deck.cards.values()
        for text in card_prose(card)
        for m in re.findall(r"\\(?:[A-Za-z]+|\|)", prose_html(text))
    }
    assert raw == set()


def test_the_space_after_a_greek_letter_in_a_setup_is_kept():
    # "$y = f(x) + \epsilon$ with ..." showed "εwith" (the user trial, session 11)
    assert (
        prose_html(r"Data $y = f(x) + \epsilon$ with $E[\epsilon] = 0$")
        == "Data y = f(x) + \u03b5 with E[\u03b5] = 0"
    )
    assert prose_html(r"\sigma(z)") == "\u03c3(z)"
