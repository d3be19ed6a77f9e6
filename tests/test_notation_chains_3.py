"""Whole derivation chains in a third round of notations (issue 11, session 8): the conventions of other
textbooks and lecture notes: CS229's sample superscripts ``x^{(i)}`` and ``\\ell(\\theta)``, Ng's layer
brackets ``z^{[2]}``, Goodfellow et al.'s ``\\boldsymbol``, ``\\exp`` and ``\\mathrm{softmax}(\\boldsymbol z)_i``,
Murphy's lower-case ``p(D\\mid +)``, ``\\mathbb{H}``, ``\\mathbb{KL}``, counts ``N_1``, ``N_0`` and
``S = \\operatorname{diag}(\\mu_i(1-\\mu_i))``, ESL's ``\\operatorname{Bias}^2`` and ``\\mathrm{RSS}(\\beta)``, Bishop's
``\\alpha``, ``\\beta``, ``\\boldsymbol\\Phi``, Boyd's ``\\|Ax-b\\|_2^2``, Greek sum indices ``\\sum_{\\tau=1}^{t}``,
``p(x^{(i)};\\theta)``, a residual dotted with itself ``(y-Xw)\\cdot(y-Xw)``. tests/data/notation_chains_3.toml
holds at least one chain per card, each with one variant that has one wrong step (sign, factor,
transposition, dropped term), which must be caught. The cases the checker got wrong when this table was
written are recorded in docs/parsing.md ("Notations, third round").
"""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    card_checker,
    chain_table_tests,
)
from whiteboard_app.latex.tokens import clean

(
    CHAINS,
    VARIANTS,
    test_every_card_has_a_chain_and_every_chain_one_wrong_variant,
    test_notation_chain_step_by_step,
) = chain_table_tests("notation_chains_3")


# ------------------------------------------------------------------ the spellings, one at a time
@pytest.mark.parametrize(
    "written,cleaned",
    [
        (r"\mathbb{H}(p,q)", "H(p,q)"),
        (r"\mathbb{KL}(p\|q)", r"D_{KL}(p\|q)"),
        (r"\frac{\partial L}{\partial W^{[2]}}", r"\frac{\partial L}{\partial W^{(2)}}"),
        (r"p(x^{(i)};\theta)", r"p(x^{(i)}|\theta)"),
        (r"\operatorname{Bias}^2(\hat f(x_0))", r"\mathrm{Bias}(\hat f(x_0))^{2}"),
        (r"\mathrm{Var}^{2}[x] + 1", r"\mathrm{Var}[x]^{2} + 1"),
        # braces as brackets (Bishop 7.8) are parentheses; a set or an indicator is left alone
        (r"\alpha_i\{y_i(w+b)-1\}", r"\alpha_i(y_i(w+b)-1)"),
        (r"\exp\left\{-\frac{1}{2}x\right\}", r"\exp(-\frac{1}{2}x)"),
        (r"y_i \in \{0, 1\}", r"y_i \in \{0, 1\}"),
        (r"1\{c = j\}", r"1\{c = j\}"),
    ],
)
def test_clean_reads_the_other_spellings(written, cleaned):
    assert clean(written) == cleaned


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # a written dot between two parenthesised columns is their inner product, not a product
        ("ols-closed-form", r"L = (y-Xw)\cdot(y-Xw)", "correct"),
        ("ols-closed-form", r"L = 2(y-Xw)\cdot(y-Xw)", "wrong"),
        ("ols-closed-form", r"L = (y-Xw)\cdot(y+Xw)", "wrong"),
        # ... juxtaposition stays a matrix product (a dropped transpose is no inner product)
        ("ols-closed-form", r"L = (y-Xw)(y-Xw)", "wrong"),
        # ... and a dot between numbers is a product
        ("bayes-theorem", r"P(T) = (0.99)\cdot(0.01) + (0.05)\cdot(0.99)", "correct"),
        ("bayes-theorem", r"P(T) = (0.99)\cdot(0.01) + (0.05)\cdot(0.01)", "wrong"),
        # diag over a free index: the diagonal matrix of the values over the index's range
        ("logistic-regression-hessian", r"S = \operatorname{diag}(p_i(1-p_i))", "correct"),
        ("logistic-regression-hessian", r"S = \operatorname{diag}(p_i(1+p_i))", "wrong"),
        ("logistic-regression-hessian", r"S = \mathrm{diag}(p_i)", "wrong"),
        ("logistic-regression-hessian", r"\nabla^2_w L = X^\top\operatorname{diag}(p_i(1-p_i))X", "correct"),
        # a Greek sum index
        ("adam-bias-correction", r"m_t = (1-\beta_1)\sum_{\tau=1}^{t}\beta_1^{t-\tau}g_\tau", "correct"),
        ("adam-bias-correction", r"m_t = (1-\beta_1)\sum_{\tau=1}^{t}\beta_1^{\tau}g_\tau", "wrong"),
        # Murphy's lower-case p for a card's probabilities P(..)
        ("bayes-theorem", r"p(D\mid +) = \frac{1}{6}", "correct"),
        ("bayes-theorem", r"p(D\mid +) = \frac{1}{5}", "wrong"),
        # E[q . k] matches the card's E[q^T k] (the alias's parentheses inside the brackets)
        ("scaled-dot-product-attention", r"\mathbb{E}[\mathbf{q}\cdot\mathbf{k}] = 0", "correct"),
        ("scaled-dot-product-attention", r"\mathbb{E}[\mathbf{q}\cdot\mathbf{k}] = 1", "wrong"),
        # the card's alias of its Hessian (H) is a claim about the Hessian, not a new name
        ("logistic-regression-hessian", r"H = \sum_{i=1}^{n}p_i(1-p_i)x_i^{\top}x_i", "wrong"),
        (
            "logistic-regression-hessian",
            r"\mathbf{H} = \sum_{i=1}^{n}p_i(1+p_i)\mathbf{x}_i\mathbf{x}_i^{\top}",
            "wrong",
        ),
        (
            "logistic-regression-hessian",
            r"\mathbf{H} = \sum_{i=1}^{n}p_i(1-p_i)\mathbf{x}_i\mathbf{x}_i^{\top}",
            "correct",
        ),
        # a defined quantity before a transposed group is a product, not the quantity with its argument
        ("backprop-two-layer-mlp", r"\frac{\partial L}{\partial W_2} = \delta_2(a)^{\top}", "correct"),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial W^{[2]}} = \boldsymbol{\delta}^{[2]}(\mathbf{a}^{[1]})^{\top}",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial W^{[2]}} = (\mathbf{a}^{[1]})^{\top}\boldsymbol{\delta}^{[2]}",
            "wrong",
        ),
        # a roman word that starts a key, the identity's size, the density in Bishop's and Murphy's spelling
        ("information-gain", r"\mathrm{IG}(S) = H(Y) - H(Y\mid S)", "correct"),
        ("information-gain", r"\mathrm{IG}(S) = H(Y) + H(Y\mid S)", "wrong"),
        ("map-gaussian-prior-l2", r"\hat{w} = (X^\top X + \lambda\mathbf{I}_d)^{-1}X^\top y", "correct"),
        ("map-gaussian-prior-l2", r"\hat{w} = (X^\top X + \lambda\mathbf{I}_d)^{-1}X y", "wrong"),
        (
            "gaussian-mle",
            r"\mathcal{N}(x_i\mid\mu,\sigma^2) = \frac{1}{\sqrt{2\pi\sigma^2}}\exp\left\{-\frac{(x_i-\mu)^2}{2\sigma^2}\right\}",
            "correct",
        ),
        (
            "gaussian-mle",
            r"p_{\mu,\sigma}(x_i) = \frac{1}{\sqrt{2\pi\sigma^2}}\exp\left(-\frac{(x_i-\mu)^2}{\sigma^2}\right)",
            "wrong",
        ),
        # a bold letter in the card's derivative key
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial \mathbf{x}} = \frac{\partial L}{\partial \mathbf{y}} + \mathbf{J}^\top\frac{\partial L}{\partial \mathbf{y}}",
            "correct",
        ),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial \mathbf{x}} = \frac{\partial L}{\partial \mathbf{y}} + \mathbf{J}\frac{\partial L}{\partial \mathbf{y}}",
            "wrong",
        ),
        # a not-checked reference step in calligraphic and bold type: cannot_check, not "unknown names"
        ("residual-gradient", r"\mathbf{y} = \mathbf{x} + \mathcal{F}(\mathbf{x})", "cannot_check"),
    ],
)
def test_one_step_in_another_spelling(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, v.message


@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        # a numbered name N_1 is the user's; the card's alias N -> n still applies to a bare N
        (
            "bernoulli-mle",
            [r"N_1 = \sum_{i=1}^{N}x_i", r"N_0 = N - N_1", r"\hat{\theta} = \frac{N_1}{N}"],
            ["correct", "correct", "correct"],
        ),
        (
            "bernoulli-mle",
            [r"N_1 = \sum_{i=1}^{N}x_i", r"N_0 = N - N_1", r"\hat{\theta} = \frac{N_0}{N}"],
            ["correct", "correct", "wrong"],
        ),
        # Murphy's r_k = sum_i r_ik: one index is the user's own quantity, two the card's gamma_ik
        (
            "em-gmm",
            [r"r_k = \sum_{i}r_{ik}", r"\hat{\pi}_k = \frac{r_k}{N}"],
            ["correct", "correct"],
        ),
        (
            "em-gmm",
            [r"r_k = \sum_{i}r_{ik}", r"\hat{\pi}_k = \frac{r_k}{K}"],
            ["correct", "wrong"],
        ),
    ],
)
def test_user_names_next_to_card_aliases(card_id, steps, verdicts):
    chk = card_checker(card_id)
    got = [chk.check(s, steps[:k]).verdict for k, s in enumerate(steps)]
    assert got == verdicts
