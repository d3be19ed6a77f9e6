"""Whole derivation chains in a sixth round of notations (issue 11, session 11), and the probes left from the
fifth round. tests/data/notation_chains_6.toml holds one chain per card as another source writes it (ESL,
Shalev-Shwartz & Ben-David, Deisenroth et al. MML, d2l.ai, CS229, Prince UDL, Bishop & Bishop 2024, MIT 6.036,
Wasserman, Boyd & Vandenberghe, Nocedal & Wright), each with one variant with one slip, which must be caught.

The rules exercised here (docs/parsing.md, "Notations, sixth round"):

- the mean-loss convention (maths/conventions.py): a loss the card writes as a sum over the examples, written
  as their mean (1/N), is a convention when the run is consistent; a dropped 1/N inside such a run, a 1/N
  added to a run that wrote the sum, a factor 1/2 and a dropped factor inside the step stay wrong;
- an expectation of one quantity without brackets (``\\mathbb{E}\\hat f``, ESL 7.3);
- a Greek or primed index letter (``\\sum_{\\tau=1}^{t} g_\\tau``, ESL's ``\\sum_{i'}\\alpha_{i'}``);
- an equation with the card's solution substituted on one side only (``\\frac12\\|w\\|^2 = \\frac12\\sum_{ij}...``
  before the step that states w), which holds at the solution;
- a step written like a reference step the card does not check, in the card's aliases."""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    chain_table_tests,
    run_steps,
)

(
    CHAINS,
    VARIANTS,
    test_every_card_has_a_chain_and_every_chain_one_wrong_variant,
    test_notation_chain_step_by_step,
) = chain_table_tests("notation_chains_6", 36)


# ------------------------------------------------------------------ the mean-loss convention
MEAN_GRAD = r"\nabla_w\mathcal{L} = \frac1N\sum_n(\sigma(w^\top x_n) - y_n)x_n"
MEAN_LOSS = r"\mathcal{L} = -\frac1N\sum_{n=1}^N\left(y_n\log p_n + (1-y_n)\log(1-p_n)\right)"
SUM_LOSS = r"L = -\sum_{i=1}^n\left(y_i\log p_i + (1-y_i)\log(1-p_i)\right)"


@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        # the probe: the gradient of the mean loss on a card whose L is a sum, alone and continued
        ("logistic-regression-gradient", [MEAN_GRAD], ["correct"]),
        (
            "logistic-regression-gradient",
            [MEAN_GRAD, r"= \frac1N X^\top(\sigma(Xw) - y)"],
            ["correct", "correct"],
        ),
        # the mean loss first, then its gradient; the sum's gradient after it drops the 1/N
        (
            "logistic-regression-gradient",
            [MEAN_LOSS, r"\nabla_w\mathcal{L} = \frac1N\sum_n(p_n - y_n)x_n"],
            ["correct", "correct"],
        ),
        (
            "logistic-regression-gradient",
            [MEAN_LOSS, r"\nabla_w\mathcal{L} = \sum_n(p_n - y_n)x_n"],
            ["correct", "wrong"],
        ),
        # a run that wrote the sum: a 1/N added later is a slip
        (
            "logistic-regression-gradient",
            [SUM_LOSS, r"\nabla_w L = \frac1n\sum_i(p_i - y_i)x_i"],
            ["correct", "wrong"],
        ),
        (
            "logistic-regression-gradient",
            [SUM_LOSS, r"\nabla_w L = \sum_i(p_i - y_i)x_i"],
            ["correct", "correct"],
        ),
        # slips inside the step stay wrong: a dropped x_n, a 1/(2N), a sign
        (
            "logistic-regression-gradient",
            [r"\nabla_w\mathcal{L} = \frac1N\sum_n(\sigma(w^\top x_n) - y_n)"],
            ["wrong"],
        ),
        (
            "logistic-regression-gradient",
            [r"\nabla_w\mathcal{L} = \frac{1}{2N}\sum_n(\sigma(w^\top x_n) - y_n)x_n"],
            ["wrong"],
        ),
        (
            "logistic-regression-gradient",
            [r"\nabla_w\mathcal{L} = \frac1N\sum_n(y_n - \sigma(w^\top x_n))x_n"],
            ["wrong"],
        ),
        # the Hessian of the mean loss; a squared norm over the examples (the MSE)
        (
            "logistic-regression-hessian",
            [r"\nabla^2_w L = \frac{1}{N}\sum_{n=1}^{N}p_n(1-p_n)x_nx_n^T", r"= \frac{1}{N}X^TSX"],
            ["correct", "correct"],
        ),
        (
            "ols-closed-form",
            [
                r"L = \frac{1}{N}\|y - Xw\|_2^2",
                r"\nabla_w L = \frac{2}{N}X^\top(Xw - y)",
                r"\nabla_w L = 2X^\top(Xw - y)",
            ],
            ["correct", "correct", "wrong"],
        ),
        ("ols-closed-form", [r"L = \frac{1}{2}\|y - Xw\|^2"], ["wrong"]),  # 1/2 is no count of examples
        # a sum over classes is no mean over examples
        ("softmax-cross-entropy-gradient", [r"L = -\frac{1}{K}\sum_{k=1}^{K}y_k\log p_k"], ["wrong"]),
    ],
)
def test_the_mean_loss_convention(card_id, steps, verdicts):
    got = run_steps(card_id, steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]


def test_a_mean_reading_is_named_and_an_inconsistent_step_says_why():
    from whiteboard_app.maths.conventions import MEAN_NOTE

    first, second = run_steps(
        "logistic-regression-gradient", [MEAN_LOSS, r"\nabla_w\mathcal{L} = \sum_n(p_n - y_n)x_n"]
    )
    assert MEAN_NOTE in (first.note or "")
    assert second.diagnosis == "missing factor" and "step 1" in second.message


# ------------------------------------------------------------------ the other probes
@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        # ESL's expectation without brackets
        ("bias-variance-decomposition", [r"\mathbb{E}\hat f = \bar f"], ["correct"]),
        (
            "bias-variance-decomposition",
            [
                r"\mathbb{E}[(y - \hat{f})^2] = \sigma^2 + (f - \mathbb{E}\hat f)^2 + \mathbb{E}[(\hat f - \mathbb{E}\hat f)^2]"
            ],
            ["correct"],
        ),
        (
            "bias-variance-decomposition",
            [
                r"\mathbb{E}[(y - \hat{f})^2] = \sigma^2 + (f - \mathbb{E}\hat f)^2 - \mathbb{E}[(\hat f - \mathbb{E}\hat f)^2]"
            ],
            ["wrong"],
        ),
        ("bias-variance-decomposition", [r"\mathbb{E}\hat f(x_0) = \bar f"], ["correct"]),
        # a Greek summation index, also where an alias is written with the card's index (E[g_i])
        (
            "adam-bias-correction",
            [
                r"m_t = (1-\beta_1)\sum_{\tau=1}^{t}\beta_1^{t-\tau}g_\tau",
                r"\mathbb{E}[m_t] = (1-\beta_1)\sum_{\tau=1}^{t}\beta_1^{t-\tau}\mathbb{E}[g_\tau]",
                r"= \mathbb{E}[g_\tau](1-\beta_1^t)",
            ],
            ["correct", "correct", "correct"],
        ),
        ("adam-bias-correction", [r"\mathbb{E}[m_t] = \mathbb{E}[g_\tau](1+\beta_1^t)"], ["wrong"]),
        ("adam-bias-correction", [r"\mathbb{E}[m_t] = \mathbb{E}[g_\tau](1-\beta_1^t)"], ["correct"]),
        # a Greek subscript that is a name stays one
        (
            "dpo-loss",
            [r"r_w = \beta\log\frac{\pi_\theta(y_w\mid x)}{\pi_{\mathrm{ref}}(y_w\mid x)} + \beta\log Z(x)"],
            ["correct"],
        ),
        # ESL's primed second index
        (
            "svm-dual",
            [
                r"L = \sum_{i=1}^{N}\alpha_i - \frac{1}{2}\sum_{i=1}^{N}\sum_{i'=1}^{N}\alpha_i\alpha_{i'}y_iy_{i'}x_i^Tx_{i'}"
            ],
            ["correct"],
        ),
        (
            "svm-dual",
            [
                r"L = \sum_{i=1}^{N}\alpha_i - \sum_{i=1}^{N}\sum_{i'=1}^{N}\alpha_i\alpha_{i'}y_iy_{i'}x_i^Tx_{i'}"
            ],
            ["wrong"],
        ),
        # the objective with the solution put in, before the step that states the solution
        ("svm-dual", [r"\frac12\|w\|^2 = \frac12\sum_i\sum_j\alpha_i\alpha_jy_iy_jx_i^Tx_j"], ["correct"]),
        ("svm-dual", [r"\frac12\|w\|^2 = \sum_i\sum_j\alpha_i\alpha_jy_iy_jx_i^Tx_j"], ["wrong"]),
        ("svm-dual", [r"\frac12\|w\|^2 = \frac12\sum_i\sum_j\alpha_i\alpha_jy_iy_jx_i^Tx_i"], ["wrong"]),
        # a step like a reference step the card does not check, with the card's alias for the Jacobian
        (
            "residual-gradient",
            [
                r"\frac{\partial\mathbf{y}}{\partial\mathbf{x}} = \mathbf{I} + \frac{\partial F}{\partial\mathbf{x}}"
            ],
            ["cannot_check"],
        ),
    ],
)
def test_probes_left_from_the_fifth_round(card_id, steps, verdicts):
    got = run_steps(card_id, steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]
