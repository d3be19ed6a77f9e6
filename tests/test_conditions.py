"""Issue 11 (i11eq): "set the derivative to zero" and equations in the parameter, judged as equations.

Whole chains as people write them (the plain parameter θ, μ, σ, w, D instead of the card's estimate, the
stationarity condition rearranged over several lines), each checked step by step; every chain with one
wrong step keeps that step wrong: a sign-flipped derivative set to zero, a wrong rearrangement, a wrong
solution (n - 1 for n), an equation that only touches zero at the optimum.
"""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.checker import CardChecker

C, W = "correct", "wrong"

# (card, name, [(step, verdict)], words the message of the last correct step contains or None)
CHAINS = [
    (
        "bernoulli-mle",
        "derivative, set to zero, cross-multiplied, solved",
        [
            (r"\frac{d\ell}{d\theta} = \frac{\sum_i x_i}{\theta} - \frac{n-\sum_i x_i}{1-\theta}", C),
            (r"\frac{\sum_i x_i}{\theta} - \frac{n-\sum_i x_i}{1-\theta} = 0", C),
            (r"\frac{\sum_i x_i}{\theta} = \frac{n-\sum_i x_i}{1-\theta}", C),
            (r"(1-\theta)\sum_i x_i = \theta(n - \sum_i x_i)", C),
            (r"\theta = \frac{\sum_i x_i}{n}", C),
        ],
        "solved for θ",
    ),
    (
        "bernoulli-mle",
        "D = 0 first, terms multiplied out",
        [
            (r"\frac{d\ell}{d\theta} = 0", C),
            (r"\frac{\sum_{i=1}^{n} x_i}{\theta} = \frac{n-\sum_{i=1}^{n} x_i}{1-\theta}", C),
            (r"\sum_i x_i - \theta \sum_i x_i = n\theta - \theta\sum_i x_i", C),
            (r"\sum_i x_i = n\theta", C),
            (r"\hat\theta = \frac{1}{n}\sum_i x_i", C),
        ],
        None,
    ),
    (
        "bernoulli-mle",
        "with the user's count k",
        [
            (r"k = \sum_{i=1}^n x_i", C),
            (r"\frac{d\ell}{d\theta} = \frac{k}{\theta} - \frac{n-k}{1-\theta}", C),
            (r"\frac{k}{\theta} = \frac{n-k}{1-\theta}", C),
            (r"k(1-\theta) = (n-k)\theta", C),
            (r"\theta = \frac{k}{n}", C),
        ],
        "solved for θ",
    ),
    (
        "bernoulli-mle",
        "sign-flipped derivative set to zero",
        [
            (r"\frac{d\ell}{d\theta} = \frac{\sum_i x_i}{\theta} + \frac{n-\sum_i x_i}{1-\theta}", W),
            (r"\frac{\sum_i x_i}{\theta} + \frac{n-\sum_i x_i}{1-\theta} = 0", W),
        ],
        None,
    ),
    (
        "bernoulli-mle",
        "wrong rearrangement",
        [
            (r"\frac{\sum_i x_i}{\theta} = \frac{n-\sum_i x_i}{1-\theta}", C),
            (r"(1-\theta)\sum_i x_i = \theta(n + \sum_i x_i)", W),
        ],
        None,
    ),
    (
        "bernoulli-mle",
        "wrong solution n-1",
        [
            (r"\sum_i x_i = n\theta", C),
            (r"\theta = \frac{\sum_i x_i}{n-1}", W),
        ],
        None,
    ),
    (
        "gaussian-mle",
        "mu and sigma squared",
        [
            (r"\frac{\partial\ell}{\partial\mu} = \frac{1}{\sigma^2}\sum_{i=1}^{n}(x_i-\mu)", C),
            (r"\frac{1}{\sigma^2}\sum_{i=1}^{n}(x_i-\mu) = 0", C),
            (r"\sum_{i=1}^{n} x_i - n\mu = 0", C),
            (r"\mu = \frac{1}{n}\sum_{i=1}^{n} x_i", C),
            (
                r"\frac{\partial\ell}{\partial\sigma} = -\frac{n}{\sigma} + \frac{1}{\sigma^3}\sum_{i=1}^{n}(x_i-\mu)^2",
                C,
            ),
            (r"-\frac{n}{\sigma} + \frac{1}{\sigma^3}\sum_{i=1}^{n}(x_i-\mu)^2 = 0", C),
            (r"n\sigma^2 = \sum_{i=1}^{n}(x_i-\mu)^2", C),
            (r"\sigma^2 = \frac{1}{n}\sum_{i=1}^{n}(x_i-\mu)^2", C),
        ],
        "σ",
    ),
    (
        "gaussian-mle",
        "sigma squared with n-1",
        [
            (r"n\sigma^2 = \sum_{i=1}^{n}(x_i-\mu)^2", C),
            (r"\sigma^2 = \frac{1}{n-1}\sum_{i=1}^{n}(x_i-\mu)^2", W),
        ],
        None,
    ),
    (
        "gaussian-mle",
        "wrong exponent set to zero",
        [(r"-\frac{n}{\sigma} + \frac{1}{\sigma^2}\sum_{i=1}^{n}(x_i-\mu)^2 = 0", W)],
        None,
    ),
    (
        "gaussian-mle",
        "wrong power of sigma",
        [(r"n\sigma^3 = \sum_{i=1}^{n}(x_i-\mu)^2", W)],
        None,
    ),
    (
        "kmeans-centroid-update",
        "centroid",
        [
            (r"\frac{dJ}{d\mu} = -2\sum_{i=1}^{n}(x_i - \mu)", C),
            (r"-2\sum_{i=1}^{n}(x_i - \mu) = 0", C),
            (r"\sum_{i=1}^{n} x_i - n\mu = 0", C),
            (r"\mu = \frac{1}{n}\sum_{i=1}^{n} x_i", C),
        ],
        None,
    ),
    (
        "kmeans-centroid-update",
        "centroid with n-1",
        [
            (r"\sum_{i=1}^{n} x_i = n\mu", C),
            (r"\sum_{i=1}^{n} x_i = (n-1)\mu", W),
        ],
        None,
    ),
    (
        "ols-closed-form",
        "normal equations",
        [
            (r"\nabla_w L = -2X^Ty + 2X^TXw", C),
            (r"-2X^Ty + 2X^TXw = 0", C),
            (r"X^TXw = X^Ty", C),
            (r"w = (X^TX)^{-1}X^Ty", C),
        ],
        "solved for w",
    ),
    (
        "ols-closed-form",
        "gradient set to zero in one line",
        [(r"\nabla_w L = 0", C), (r"X^TXw - X^Ty = 0", C)],
        None,
    ),
    (
        "ols-closed-form",
        "missing factor in the gradient set to zero",
        [(r"-2X^Ty + X^TXw = 0", W)],
        None,
    ),
    (
        "ols-closed-form",
        "sign error in the normal equations",
        [(r"\nabla_w L = -2X^Ty + 2X^TXw", C), (r"X^TXw = -X^Ty", W)],
        None,
    ),
    (
        "map-gaussian-prior-l2",
        "ridge",
        [
            (r"\nabla_w J = -\frac{1}{\sigma^2}X^T(y - Xw) + \frac{1}{\tau^2}w", C),
            (r"-\frac{1}{\sigma^2}X^T(y - Xw) + \frac{1}{\tau^2}w = 0", C),
            (r"X^TXw + \lambda w = X^Ty", C),
            (r"w = (X^T X + \lambda I)^{-1} X^T y", C),
        ],
        None,
    ),
    (
        "map-gaussian-prior-l2",
        "ridge without the prior",
        [(r"X^TXw + \lambda w = X^Ty", C), (r"w = (X^T X)^{-1} X^T y", W)],
        None,
    ),
    (
        "gan-optimal-discriminator",
        "optimal discriminator",
        [
            (
                r"\frac{d}{dD}\left(p_{data}\log D + p_g\log(1 - D)\right) = \frac{p_{data}}{D} - \frac{p_g}{1 - D}",
                C,
            ),
            (r"\frac{p_{data}}{D} = \frac{p_g}{1 - D}", C),
            (r"p_{data} - p_{data} D = p_g D", C),
            (r"D = \frac{p_{data}}{p_{data} + p_g}", C),
        ],
        None,
    ),
    (
        "gan-optimal-discriminator",
        "swapped densities",
        [(r"p_{data}(1 - D) = p_g D", C), (r"D = \frac{p_g}{p_{data} + p_g}", W)],
        None,
    ),
    (
        "logistic-regression-gradient",
        "no closed form: the condition itself",
        [
            (r"\nabla_w L = \sum_{i=1}^{n}(p_i - y_i)x_i", C),
            (r"\sum_{i=1}^{n}(p_i - y_i)x_i = 0", C),
            (r"\sum_{i=1}^{n}p_ix_i = \sum_{i=1}^{n}y_ix_i", C),
        ],
        None,
    ),
    (
        "logistic-regression-gradient",
        "gradient set to zero",
        [(r"\nabla_w L = 0", C)],
        "sets the derivative to zero",
    ),
    (
        "logistic-regression-gradient",
        "a sign error in the condition",
        [(r"\sum_{i=1}^{n}(p_i + y_i)x_i = 0", W)],
        None,
    ),
    (
        "logistic-regression-gradient",
        "a sign flip continued is not an equation",
        [
            (r"\nabla_w L = -\sum_{i=1}^{n}\left(y_i(1-p_i) - (1-y_i)p_i\right)x_i", C),
            (r"= \sum_{i=1}^{n}(y_i - p_i)x_i", W),
        ],
        None,
    ),
    (
        "svm-dual",
        "stationarity in w and b",
        [
            (r"\nabla_w L = w - \sum_{i=1}^{n}\alpha_iy_ix_i", C),
            (r"w - \sum_{i=1}^{n}\alpha_iy_ix_i = 0", C),
            (r"w = \sum_{i=1}^{n}\alpha_iy_ix_i", C),
            (r"\frac{\partial L}{\partial b} = -\sum_{i=1}^{n}\alpha_iy_i", C),
            (r"-\sum_{i=1}^{n}\alpha_iy_i = 0", C),
        ],
        "sets the derivative to zero",
    ),
    (
        "svm-dual",
        "stationarity in b without the labels",
        [
            (r"\frac{\partial L}{\partial b} = -\sum_{i=1}^{n}\alpha_iy_i", C),
            (r"\sum_{i=1}^{n}\alpha_i = 0", W),
        ],
        None,
    ),
]

# equations that only touch zero at the optimum, or add a root, stay wrong (bernoulli-mle)
NOT_THE_SAME_CONDITION = [
    r"(\sum_i x_i - n\theta)^2 = 0",
    r"(\theta - 0.5)(\sum_i x_i - n\theta) = 0",
    r"\frac{d\ell}{d\theta} = \frac{\sum_i x_i}{\theta} - \frac{n-\sum_i x_i}{1-\theta} + \theta - \frac{1}{n}\sum_i x_i",
    r"\theta\sum_i x_i = n",
]

_checkers: dict[str, CardChecker] = {}


def _checker(card_id: str) -> CardChecker:
    if card_id not in _checkers:
        _checkers[card_id] = CardChecker(deck().get(card_id), prove=False)
    return _checkers[card_id]


def test_the_table_covers_the_cards_and_has_wrong_steps():
    cards = {c[0] for c in CHAINS}
    assert len(cards) >= 8
    assert sum(v == W for c in CHAINS for _, v in c[2]) >= 12
    assert sum(v == C for c in CHAINS for _, v in c[2]) >= 40


@pytest.mark.parametrize("card_id,name,chain,words", CHAINS, ids=[f"{c[0]}-{c[1]}" for c in CHAINS])
def test_chain_step_by_step(card_id, name, chain, words):
    chk = _checker(card_id)
    steps = [s for s, _ in chain]
    last_ok = None
    for k, (latex, verdict) in enumerate(chain):
        v = chk.check(latex, steps[:k])
        assert v.verdict == verdict, f"step {k + 1} {latex}: {v.verdict} [{v.diagnosis}] {v.message}"
        if verdict == C:
            last_ok = v
    if words is not None:
        assert last_ok is not None and words in last_ok.message, last_ok.message


@pytest.mark.parametrize("latex", NOT_THE_SAME_CONDITION)
def test_an_equation_with_other_roots_or_a_double_root_is_wrong(latex):
    assert _checker("bernoulli-mle").check(latex).verdict == W


def test_setting_the_derivative_to_zero_names_the_reference_step():
    v = _checker("bernoulli-mle").check(
        r"\frac{\sum_i x_i}{\theta} - \frac{n-\sum_i x_i}{1-\theta} = 0",
        [r"\frac{d\ell}{d\theta} = \frac{\sum_i x_i}{\theta} - \frac{n-\sum_i x_i}{1-\theta}"],
    )
    assert (v.verdict, v.reference_step) == (C, 5)
    assert v.message.startswith("sets the derivative to zero")


def test_a_solved_equation_in_the_plain_parameter_reaches_the_result_step():
    v = _checker("ols-closed-form").check(r"w = (X^TX)^{-1}X^Ty", [r"X^TXw = X^Ty"])
    assert (v.verdict, v.reference_step) == (C, 6)


def _derivative_mistakes():
    """(card, mistake LaTeX, its derivative side, its right side): every declared mistake ``D = E`` whose
    left side is a derivative, on every card."""
    from whiteboard_app.latex.tokens import ParseError, clean, split_relations

    out = []
    for card in deck():
        for m in card.mistakes:
            try:
                pieces, rels = split_relations(clean(m.latex))
            except ParseError:
                continue
            if rels != ["="] or not any(t in pieces[0] for t in (r"\frac{d", r"\frac{\partial", r"\nabla")):
                continue
            out.append((card.id, m.latex, pieces[0].strip(), pieces[1].strip()))
    return out


DERIVATIVE_MISTAKES = _derivative_mistakes()


def test_the_property_covers_derivative_mistakes_on_several_cards():
    assert len({c[0] for c in DERIVATIVE_MISTAKES}) >= 6


@pytest.mark.parametrize(
    "card_id,mistake,lhs,rhs",
    DERIVATIVE_MISTAKES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(DERIVATIVE_MISTAKES)],
)
def test_a_wrong_derivative_set_to_zero_is_correct_only_when_it_is_the_same_condition(
    card_id, mistake, lhs, rhs
):
    # E = 0 for a declared wrong derivative E: correct only when E is a constant multiple of a true
    # derivative of the objective (an overall sign flip sets the same thing to zero; platt-scaling's
    # "wrong feature" dL/dB = dL/dA sets dL/dA to zero), whatever the wrong step before it
    from whiteboard_app.maths import conditions

    chk = _checker(card_id)
    v = chk.check(f"{rhs} = 0")
    if v.verdict == C:
        e = chk.parse(rhs).trees[0]
        derivs = [chk.parse(lhs).trees[0]]
        derivs += [t for _, t, kind, _ in conditions.info(chk).residuals if kind == "derivative"]
        assert any(chk.proportional(e, d) for d in derivs), (mistake, v.message)
    assert chk.check(mistake).verdict == W
    after = chk.check(f"{rhs} = 0", [mistake])
    assert after.verdict == v.verdict, (mistake, after.message)


def _estimate_mistakes():
    """Declared mistakes ``\\hat{P} = E`` written with the plain parameter P: ``P = E``."""
    out = []
    for card in deck():
        for m in card.mistakes:
            for hat, plain in ((r"\hat{\theta}", r"\theta"), (r"\hat{\mu}", r"\mu"), (r"\hat{w}", "w")):
                if m.latex.startswith(hat) and hat not in m.latex[len(hat) :]:
                    out.append((card.id, m.latex, plain + m.latex[len(hat) :]))
    return out


ESTIMATE_MISTAKES = _estimate_mistakes()


@pytest.mark.parametrize(
    "card_id,mistake,plain", ESTIMATE_MISTAKES, ids=[f"{c[0]}-{i}" for i, c in enumerate(ESTIMATE_MISTAKES)]
)
def test_a_wrong_solution_in_the_plain_parameter_stays_wrong(card_id, mistake, plain):
    assert len(ESTIMATE_MISTAKES) >= 4
    v = _checker(card_id).check(plain)
    assert v.verdict != C, (plain, v.message)


# second derivatives set to zero, a prediction equal to its label, the objective's value at the optimum
# with the plain parameter: none is a stationarity condition
NOT_STATIONARITY = [
    ("kmeans-centroid-update", r"\frac{d}{d\mu}\left(-2\sum_{i=1}^{n}(x_i - \mu)\right) = 0"),
    ("bernoulli-mle", r"-\frac{\sum_i x_i}{\theta^2} - \frac{n-\sum_i x_i}{(1-\theta)^2} = 0"),
    ("bernoulli-mle", r"\frac{d^2\ell}{d\theta^2} = 0"),
    ("backprop-two-layer-mlp", r"\hat{y} - y = 0"),
    ("backprop-two-layer-mlp", r"y = \hat{y}"),
    (
        "gan-optimal-discriminator",
        r"p_{data}\log D + p_g\log(1 - D) = p_{data}\log\frac{p_{data}}{p_{data} + p_g}"
        r" + p_g\log\frac{p_g}{p_{data} + p_g}",
    ),
]


@pytest.mark.parametrize("card_id,latex", NOT_STATIONARITY)
def test_what_is_not_a_stationarity_condition_stays_wrong(card_id, latex):
    v = _checker(card_id).check(latex)
    assert v.verdict == W, v.message
