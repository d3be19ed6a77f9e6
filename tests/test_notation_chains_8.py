"""Whole derivation chains in an eighth round of notations (session 13, helper chk), and the rules they exercise
(docs/parsing.md, "Session 13 (helper chk)"):

- a card name re-defined with the card's small positive stabiliser inside it (Goodfellow et al. 8.7.1:
  ``\\sigma = \\sqrt{\\delta + \\frac1m\\sum_i(x_i-\\mu)^2}``) is the user's own version of the name, and later steps
  use it; Goodfellow's ``\\delta`` is the card's ``\\epsilon`` on a card that declares one and no delta;
- a function the user defines with a dummy variable (CS229's ``g(z)``, Raschka's ``\\phi(z)``) is read into the
  later steps of the run (``maths/functions.py``);
- a derivative with respect to the user's name for the generic element of a card family (micrograd's ``\\hat y``
  for the card's ``p_i``) is taken with respect to that element;
- a shape mismatch in a step that writes a letter the card aliases to a scalar (Bishop's precision ``\\beta``
  where ISLR writes the coefficients) is "cannot check", never "wrong"."""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    assert_every_card_and_one_wrong_step_per_variant,
    card_checker,
    chain_table,
    chain_variants,
    checked_chain,
    deck,
    run_steps,
    variant_ids,
)
from whiteboard_app.maths import functions
from whiteboard_app.maths.notation import rewrite_step

CHAINS = chain_table("notation_chains_8")
VARIANTS = chain_variants(CHAINS, stop_at_wrong=True)


def test_every_chain_has_one_wrong_variant_on_a_bundled_card():
    assert len(CHAINS) >= 30
    assert sum(len(ch["steps"]) for ch in CHAINS) >= 120
    assert_every_card_and_one_wrong_step_per_variant(CHAINS, VARIANTS, every_card=False)


@pytest.mark.parametrize("ch,steps,verdicts,at,diagnosis", VARIANTS, ids=variant_ids(VARIANTS))
def test_notation_chain_step_by_step(ch, steps, verdicts, at, diagnosis):
    assert len(list(checked_chain(ch, steps, verdicts, at, diagnosis))) == len(steps)


MU = r"\mu = \frac{1}{m}\sum_{i=1}^{m} x_i"
VAR = r"\frac{1}{m}\sum_{i=1}^{m}(x_i - \mu)^2"


# ------------------------------------------------------------------ a stabiliser inside a card name
@pytest.mark.parametrize(
    "steps,verdicts",
    [
        # Goodfellow's sigma with delta (or epsilon) inside: the user's sigma, and x-hat = (x - mu)/sigma is right
        (
            [MU, rf"\sigma = \sqrt{{\delta + {VAR}}}", r"\hat{x}_i = \frac{x_i - \mu}{\sigma}"],
            ["correct"] * 3,
        ),
        (
            [MU, rf"\sigma = \sqrt{{\epsilon + {VAR}}}", r"\hat{x}_i = \frac{x_i - \mu}{\sigma}"],
            ["correct"] * 3,
        ),
        # ... and dividing by the variance after it is still the card's "wrong exponent"
        (
            [MU, rf"\sigma = \sqrt{{\delta + {VAR}}}", r"\hat{x}_i = \frac{x_i - \mu}{\sigma^2}"],
            ["correct", "correct", "wrong"],
        ),
        # delta for epsilon in the card's own normalisation; epsilon outside the root stays the declared mistake
        ([r"\hat{x}_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \delta}}"], ["correct"]),
        ([r"\hat{x}_i = \frac{x_i - \mu}{\sqrt{\sigma^2} + \delta}"], ["wrong"]),
        # another slip in the variance is no stabiliser: wrong
        ([MU, r"\sigma = \sqrt{\delta + \frac{1}{m}\sum_{i=1}^{m}(x_i + \mu)^2}"], ["correct", "wrong"]),
    ],
)
def test_stabiliser_inside_a_card_name(steps, verdicts):
    got = run_steps("batchnorm-forward", steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]


def test_the_stabiliser_definition_says_so():
    v = run_steps("batchnorm-forward", [MU, rf"\sigma = \sqrt{{\delta + {VAR}}}"])[1]
    assert v.defines and "epsilon" in v.message and "= 0" in v.message


def test_delta_is_epsilon_only_where_the_card_has_no_delta():
    assert r"\epsilon" in rewrite_step(deck().get("batchnorm-forward"), r"\sigma^2 + \delta")
    # the Newton card aliases delta to its step Delta; backprop cards declare delta_1, delta_2
    assert r"\epsilon" not in rewrite_step(deck().get("newton-step-from-taylor"), r"x + \delta")
    assert r"\epsilon" not in rewrite_step(deck().get("backprop-two-layer-mlp"), r"\delta_1 = 0")


# ------------------------------------------------------------------ the user's own functions
@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        (
            "logistic-regression-gradient",
            [r"g(z) = \frac{1}{1+e^{-z}}", r"p_i = g(\theta^T x^{(i)})"],
            ["correct", "correct"],
        ),
        (
            "logistic-regression-gradient",
            [r"g(z) = \frac{1}{1+e^{-z}}", r"p_i = g(-\theta^T x^{(i)})"],
            ["correct", "wrong"],
        ),
        # the letter the card aliases (phi for the features) names the user's function once defined
        (
            "logistic-regression-gradient",
            [
                r"\phi(z) = \frac{1}{1+e^{-z}}",
                r"\frac{\partial L}{\partial w_j} = \sum_{i=1}^{n}(\phi(z^{(i)}) - y^{(i)})x_j^{(i)}",
            ],
            ["correct", "correct"],
        ),
        # a prime at one letter is the derivative of the body there
        ("kmeans-centroid-update", [r"h(t) = (t - 1)^2", r"h'(t) = 2(t - 1)"], ["correct", "cannot_check"]),
    ],
)
def test_user_functions(card_id, steps, verdicts):
    got = run_steps(card_id, steps)
    assert [v.verdict for v in got][: len(verdicts) - 1] == verdicts[:-1], [
        (v.verdict, v.message) for v in got
    ]
    if verdicts[-1] == "cannot_check":
        assert got[-1].verdict != "wrong", got[
            -1
        ].message  # a claim about a letter the card lacks: never wrong
    else:
        assert got[-1].verdict == verdicts[-1], (got[-1].verdict, got[-1].message)


def test_a_card_function_or_objective_is_no_user_function():
    d = deck()
    assert functions.definition(d.get("sigmoid-derivative"), r"\sigma(z) = \frac{1}{1+e^{-z}}") is None
    assert functions.definition(d.get("bernoulli-mle"), r"\ell(p) = \sum_i x_i\log p") is None  # p is theta
    assert functions.definition(d.get("dpo-loss"), r"Z(x) = \sum_y \pi(y|x)") is None  # a declared alias
    f = functions.definition(d.get("logistic-regression-gradient"), r"g(z) = \frac{1}{1+e^{-z}}")
    assert f is not None and (f.name, f.var) == ("g", "z")
    assert functions.apply(r"g(z^{(i)}) + g'(u)", [f]) == (
        r"\left(\frac{1}{1+e^{-z^{(i)}}}\right) + \frac{d}{du}\left(\frac{1}{1+e^{-u}}\right)"
    )
    assert functions.apply(r"g(a+b)", [f]) == r"\left(\frac{1}{1+e^{-(a+b)}}\right)"
    assert functions.apply(r"1 - g(z + 1", [f]) == r"1 - g(z + 1"  # unbalanced: as written


# ------------------------------------------------------------------ derivatives in the user's name for p_i
@pytest.mark.parametrize(
    "last,verdict",
    [
        (r"\frac{\partial\ell}{\partial\hat{y}} = -\frac{y}{\hat{y}} + \frac{1-y}{1-\hat{y}}", "correct"),
        (r"\frac{\partial\ell}{\partial\hat{y}} = \frac{y}{\hat{y}} + \frac{1-y}{1-\hat{y}}", "wrong"),
    ],
)
def test_derivative_in_the_users_name_for_a_family_element(last, verdict):
    steps = [
        r"\hat{y} = \sigma(\mathbf{w}^\intercal\mathbf{x} + b)",
        r"\ell = -y\ln\hat{y} - (1-y)\ln(1-\hat{y})",
        last,
    ]
    got = run_steps("logistic-regression-bias-gradient", steps)
    assert [v.verdict for v in got] == ["correct", "correct", verdict], [(v.verdict, v.message) for v in got]


# ------------------------------------------------------------------ a scalar alias in a matrix product
def test_shape_mismatch_through_a_scalar_alias_is_cannot_check():
    v = card_checker("map-gaussian-prior-l2").check(r"(X^\top X + \lambda I)\beta = X^\top y", [])
    assert v.verdict == "cannot_check" and r"\beta" in v.message
    # without such a letter a dropped transpose is still wrong
    v = card_checker("map-gaussian-prior-l2").check(r"(X^T X + \lambda I)w^T = X^T y", [])
    assert v.verdict == "wrong"


# ------------------------------------------------------------------ sums over the mini-batch set
@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        # batch norm's examples are the batch B (the card writes mu_B): sum over i in B is its sum, |B| its count
        (
            "batchnorm-forward",
            [
                r"\mu_{\mathcal{B}} = \frac{1}{|\mathcal{B}|}\sum_{i\in\mathcal{B}}x_i",
                r"\sigma_{\mathcal{B}}^2 = \frac{1}{|\mathcal{B}|}\sum_{i\in\mathcal{B}}(x_i-\mu_{\mathcal{B}})^2",
            ],
            ["correct", "correct"],
        ),
        (
            "batchnorm-forward",
            [r"\sigma_{B}^2 = \frac{1}{|B|-1}\sum_{i\in B}(x_i-\mu_{B})^2"],
            ["wrong"],
        ),
        # on a card whose examples are the whole sample a mini-batch sum is no full sum: not read
        ("logistic-regression-gradient", [r"\nabla_w L = \sum_{i\in\mathcal{B}}(p_i-y_i)x_i"], ["unparsed"]),
    ],
)
def test_set_indexed_sums(card_id, steps, verdicts):
    got = run_steps(card_id, steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]
