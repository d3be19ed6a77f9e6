"""Issue 11 (i11eq): a card's parameter renamed consistently (q for θ, t for μ, v for w) is bound for the
rest of the run, reported in the verdict's note, and never turns a wrong step into a right one."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.latex.tokens import ParseError
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.maths.renaming import parameters, substitute

C, W, U = "correct", "wrong", "unparsed"

# (card, [(step, verdict, note on that step or None)])
CHAINS = [
    (
        "bernoulli-mle",
        [
            (r"k = \sum_{i=1}^n x_i", C, None),
            (r"L(q) = q^k(1-q)^{n-k}", C, "reading q as θ"),
            (r"\ell(q) = k\log q + (n-k)\log(1-q)", C, None),
            (r"\frac{d\ell}{dq} = \frac{k}{q} - \frac{n-k}{1-q}", C, None),
            (r"\frac{k}{q} = \frac{n-k}{1-q}", C, None),
            (r"q = \frac{k}{n}", C, None),
        ],
    ),
    (
        "bernoulli-mle",
        [
            (r"\ell(q) = \sum_i x_i\log q + (n-\sum_i x_i)\log(1-q)", C, "reading q as θ"),
            (r"\frac{d\ell}{dq} = \frac{\sum_i x_i}{q} + \frac{n-\sum_i x_i}{1-q}", W, None),
            (r"\frac{\sum_i x_i}{q} - \frac{n-\sum_i x_i}{1-q} = 0", C, None),
            (r"q = \frac{\sum_i x_i}{n-1}", W, None),
        ],
    ),
    # a sign error written with the renamed letter in the binding step itself: bound, and wrong
    (
        "bernoulli-mle",
        [(r"\ell(q) = \sum_i x_i\log q - (n-\sum_i x_i)\log(1-q)", W, "reading q as θ")],
    ),
    # no function argument, and the step is wrong with every parameter: no binding, never correct
    (
        "bernoulli-mle",
        [
            (
                r"\frac{d}{dq}\left(\sum_i x_i\log q + (n-\sum_i x_i)\log(1-q)\right) = "
                r"\frac{\sum_i x_i}{q} + \frac{n-\sum_i x_i}{1-q}",
                U,
                None,
            )
        ],
    ),
    (
        "gaussian-mle",
        [
            (
                r"\frac{\partial\ell}{\partial t} = \frac{1}{\sigma^2}\sum_{i=1}^{n}(x_i-t)",
                C,
                "reading t as μ",
            ),
            (r"\sum_{i=1}^{n}(x_i-t) = 0", C, None),
            (r"t = \frac{1}{n}\sum_{i=1}^n x_i", C, None),
        ],
    ),
    (
        "gaussian-mle",
        [(r"\frac{\partial\ell}{\partial t} = -\frac{1}{\sigma^2}\sum_{i=1}^{n}(x_i-t)", U, None)],
    ),
    (
        "ols-closed-form",
        [
            (r"L(v) = \|y - Xv\|^2", C, "reading v as w"),
            (r"\nabla_v L = -2X^Ty + 2X^TXv", C, None),
            (r"X^TXv = X^Ty", C, None),
            (r"v = (X^TX)^{-1}X^Ty", C, None),
        ],
    ),
    ("ols-closed-form", [(r"L(v) = \|y - Xv\|^2", C, "reading v as w"), (r"X^TXv = -X^Ty", W, None)]),
]


def _checker(card_id: str, memo: dict = {}) -> CardChecker:  # noqa: B006 - a per-module cache
    if card_id not in memo:
        memo[card_id] = CardChecker(deck().get(card_id), prove=False)
    return memo[card_id]


@pytest.mark.parametrize("card_id,chain", CHAINS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CHAINS)])
def test_renamed_chain_step_by_step(card_id, chain):
    chk = _checker(card_id)
    steps = [s for s, _, _ in chain]
    for k, (latex, verdict, note) in enumerate(chain):
        v = chk.check(latex, steps[:k])
        assert v.verdict == verdict, f"step {k + 1} {latex}: {v.verdict} [{v.diagnosis}] {v.message}"
        if note is not None:
            assert v.note is not None and note in v.note, v.note
        elif k > 0:
            assert v.note is None or "reading" not in v.note  # the binding is reported once


def test_the_binding_is_in_the_json_note():
    v = _checker("bernoulli-mle").check(r"L(q) = \prod_{i=1}^n q^{x_i}(1-q)^{1-x_i}")
    assert v.verdict == C and v.to_json()["note"] == "reading q as θ"


def test_no_binding_when_another_parameter_gives_a_wrong_step():
    # platt-scaling: u for A is the declared missing factor, u for B is right: ambiguous, no binding
    v = _checker("platt-scaling").check(r"\frac{\partial q_i}{\partial u} = q_i(1-q_i)")
    assert v.verdict == U and "unknown name" in v.message


def test_no_binding_when_two_parameters_fit():
    # gaussian-mle: l(u) names neither mu nor sigma alone (the log-likelihood depends on both)
    v = _checker("gaussian-mle").check(r"\ell(u) = -\frac{n}{2}\log(2\pi u^2)")
    assert v.verdict == U and "unknown name" in v.message


def _fresh_letter(chk: CardChecker) -> str | None:
    for letter in ("q", "u", "v", "r", "g", "h"):
        try:
            chk.parse(letter)
        except ParseError as exc:
            if "unknown name" in str(exc):
                return letter
    return None


def _renamed_mistakes():
    """(card, parameter LaTeX, binding step renamed, mistake renamed): a checkable reference step before the
    mistake that mentions the parameter, and the declared mistake, both with the parameter renamed."""
    out = []
    for card in deck():
        chk = _checker(card.id)
        letter = _fresh_letter(chk)
        if letter is None:
            continue
        known = frozenset(k for k in chk.names.kinds if len(k) == 1)
        for p, lx in parameters(chk).items():
            pat = lx if lx.startswith("\\") else None
            for m in card.mistakes:
                if (pat or lx) not in m.latex or "hat" in m.latex:
                    continue
                before = [
                    s.latex
                    for s in card.steps[: m.after_step - 1]
                    if s.checkable and (pat or lx) in s.latex and "hat" not in s.latex
                ]
                if not before:
                    continue
                ren = {lx: letter}
                out.append(
                    (
                        card.id,
                        p,
                        substitute(before[-1], ren, known),
                        substitute(m.latex, ren, known),
                        m.diagnosis,
                    )
                )
    return out


RENAMED = _renamed_mistakes()


def test_the_property_covers_several_cards():
    assert len({r[0] for r in RENAMED}) >= 5


@pytest.mark.parametrize(
    "card_id,param,binding,mistake,diagnosis", RENAMED, ids=[f"{r[0]}-{r[1]}" for r in RENAMED]
)
def test_a_declared_mistake_stays_wrong_under_renaming(card_id, param, binding, mistake, diagnosis):
    chk = _checker(card_id)
    alone = chk.check(mistake)
    # u^* = ... alone is the user's definition of a new name (correct as a definition), not a renaming
    assert alone.verdict != C or alone.defines is not None, (mistake, alone.message)
    after = chk.check(mistake, [binding])
    assert after.verdict != C, (binding, mistake, after.message)
