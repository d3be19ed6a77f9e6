"""Moments in square brackets (Bishop's and Murphy's ``\\mathrm{Var}[X]``, ``\\mathrm{Bias}[\\hat f]``) read as
the card's ``\\mathrm{Var}(X)``; on a card whose expectations carry no subscript, ``\\mathbb{E}_{\\mathcal{D},
\\varepsilon}[..]`` (ESL 7.3: over training sets and noise) is the card's expectation. Both were "unparsed" or
"cannot check"; the slips written the same way stay wrong. A card that writes subscripted expectations
keeps the subscript (it says which distribution)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker, toy_card  # noqa: F401 (autouse fixture)
from whiteboard_app.decks.schema import Declarations
from whiteboard_app.maths.notation import rewrite_step

LHS = r"\mathbb{E}_{\mathcal{D},\varepsilon}[(y-\hat{f}(x))^2]"


@pytest.mark.parametrize(
    "latex,verdict",
    [
        (
            LHS
            + r" = (f(x)-\mathbb{E}[\hat{f}(x)])^2 + \mathbb{E}[(\hat{f}(x)-\mathbb{E}[\hat{f}(x)])^2] + \sigma^2",
            "correct",
        ),
        (
            r"\mathbb{E}[(y-\hat{f})^2] = \mathrm{Bias}[\hat{f}]^2 + \mathrm{Var}[\hat{f}] + \sigma^2",
            "correct",
        ),
        (
            r"E_{D}[(y-\hat{f})^2] = \operatorname{Bias}[\hat{f}]^2 + \operatorname{Var}[\hat{f}] + \sigma^2",
            "correct",
        ),
        (
            r"\mathbb{E}_{D}[(y-\hat{f})^2] = \mathrm{Bias}[\hat{f}]^2 + \mathrm{Var}[\hat{f}] - \sigma^2",
            "wrong",
        ),
        (
            r"\mathbb{E}_{D}[(y-\hat{f})^2] = \mathrm{Bias}[\hat{f}]^2 + 2\mathrm{Var}[\hat{f}] + \sigma^2",
            "wrong",
        ),
        (
            LHS
            + r" = (f(x)-\mathbb{E}[\hat{f}(x)])^2 - \mathbb{E}[(\hat{f}(x)-\mathbb{E}[\hat{f}(x)])^2] + \sigma^2",
            "wrong",
        ),
    ],
)
def test_bias_variance_in_textbook_spellings(latex, verdict):
    v = card_checker("bias-variance-decomposition").check(latex, [])
    assert v.verdict == verdict, v.message


def test_a_card_with_subscripted_expectations_keeps_them():
    decl = Declarations(
        symbols={"a": "real"},
        definitions={r"\mathbb{E}_{x\sim p}[f]": "a", r"\mathbb{E}_{x\sim q}[f]": "2a"},
    )
    card = toy_card([r"\mathbb{E}_{x\sim p}[f] = a"], decl, cid="toy-sub-e")
    assert r"\sim q" in rewrite_step(card, r"\mathbb{E}_{x\sim q}[f] = 2a")
    plain = toy_card(
        [r"\mathbb{E}[f] = a"], Declarations(symbols={"a": "real"}, definitions={r"\mathbb{E}[f]": "a"})
    )
    assert "sim" not in rewrite_step(plain, r"\mathbb{E}_{x\sim q}[f] = a")
