"""Whole derivation chains in a second round of notations (issue 11, session 7): Strang/Boyd matrix style,
physics-style partial derivatives, \\Pr and \\mathbb{P}, \\operatorname*{argmax}, roman subscripts
(\\pi_{\\mathrm{ref}}, D_{\\mathrm{KL}}), \\operatorname{Var} and \\mathbb{E} of the cards' quantities, other
index letters, primes and \\mathrm{d}. tests/data/notation_chains_2.toml holds at least one chain per card;
each chain is checked step by step, and each has one variant with one wrong step (a sign flip, a dropped
factor, a wrong transpose, n vs n-1), which must be caught. The cases a person wrote and the checker got
wrong when this table was written are recorded in docs/parsing.md ("Notations, second round").
"""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    card_checker,
    chain_table_tests,
    deck,
)
from whiteboard_app.latex.tokens import clean

(
    CHAINS,
    VARIANTS,
    test_every_card_has_a_chain_and_every_chain_one_wrong_variant,
    test_notation_chain_step_by_step,
) = chain_table_tests("notation_chains_2")


# ------------------------------------------------------------------ the spellings, one at a time
@pytest.mark.parametrize(
    "written,cleaned",
    [
        (r"\operatorname*{argmax}_w p(w)", r"\arg\max_w p(w)"),
        (r"\mathrm{arg\,min}_q", r"\arg\min_q"),
        (r"a\,b", "a b"),
        (r"X^\mathsf{T}v", r"X^{\mathsf{T}}v"),
        (r"\pi_{\mathrm{ref}}(y|x)", r"\pi_{ref}(y|x)"),
        (r"p_\text{data}", r"p_{data}"),
        (r"\Pr(A\mid B)", "P(A| B)"),
        (r"\mathbb{P}(A)", "P(A)"),
        (r"\operatorname{Var}(x)", r"\mathrm{Var}(x)"),
        (r"Var[x]", r"\mathrm{Var}[x]"),
        (r"\mathbb{V}(x)", r"\mathrm{Var}(x)"),
        (r"\sum_{i,j} a_{ij}", r"\sum_{i}\sum_{j} a_{ij}"),
        (r"\sum_{i,j=1}^{n} a_{ij}", r"\sum_{i=1}^{n}\sum_{j=1}^{n} a_{ij}"),
    ],
)
def test_clean_reads_the_other_spellings(written, cleaned):
    assert clean(written) == cleaned


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # physics-style partial derivatives, any order
        ("platt-scaling", r"\partial_B^2 L = \sum_{i}q_i(1-q_i)", "correct"),
        ("platt-scaling", r"\partial_B^2 L = \sum_{i}q_i(1+q_i)", "wrong"),
        ("logistic-regression-gradient", r"\partial_{\mathbf{w}} L = X^T(p-y)", "correct"),
        ("logistic-regression-gradient", r"\partial_{\mathbf{w}} L = X^T(y-p)", "wrong"),
        # a bold argument of a defined quantity: L(\mathbf{w}) is L
        (
            "logistic-regression-gradient",
            r"L(\boldsymbol{w}) = -\sum_i (y_i\log p_i + (1-y_i)\log(1-p_i))",
            "correct",
        ),
        # an inequality continued the wrong way is no "missing left side"
        (
            "kl-divergence-nonnegative",
            [r"D_{KL}(p\|q) = -\sum_{j}p_j\log\frac{q_j}{p_j}", r"\le -\log\sum_{j}p_j\frac{q_j}{p_j}"],
            "wrong",
        ),
        # opaque tokens in another spelling: \top, \cdot for the dot product, \mathbb{E} for E
        ("scaled-dot-product-attention", r"\mathrm{Var}(q^\top k) = d_k", "correct"),
        ("scaled-dot-product-attention", r"\mathrm{Var}(q\cdot k) = d_k^2", "wrong"),
        (
            "sample-variance-n-minus-1",
            r"\mathbb{E}[(\bar{X}-\mu)^2] = \operatorname{Var}(\bar{X})",
            "correct",
        ),
        ("confidence-interval-mean", r"\operatorname{Var}(\bar{X}) = \frac{\sigma^2}{n-1}", "wrong"),
        (
            "bias-variance-decomposition",
            r"E[(y-\hat f)^2] = \operatorname{Bias}(\hat f) + \operatorname{Var}(\hat f) + \sigma^2",
            "wrong",
        ),
        # a declared opaque quantity written with another index letter (the card says E[q_i^2], p(x_i|theta))
        ("scaled-dot-product-attention", r"\mathbb{E}[q_j^2] = 1", "correct"),
        ("scaled-dot-product-attention", r"\mathbb{E}[q_j^2] = 2", "wrong"),
        ("scaled-dot-product-attention", r"\sum_{j=1}^{d_k} E[q_j^2]E[k_j^2] = d_k", "correct"),
        ("scaled-dot-product-attention", r"\sum_{j=1}^{d_k} E[q_j^2]E[k_j^2] = 2d_k", "wrong"),
        ("bernoulli-mle", r"p_\theta(x_j) = \theta^{x_j}(1-\theta)^{1-x_j}", "correct"),
        ("bernoulli-mle", r"p(x_k|\theta) = \theta^{x_k}(1-\theta)^{1-x_k}", "correct"),
        ("bernoulli-mle", r"p_\theta(x_j) = \theta^{1-x_j}(1-\theta)^{x_j}", "wrong"),
        # a component of a known function's value: softmax(z)_i is e^{z_i} / sum_j e^{z_j}
        (
            "softmax-cross-entropy-gradient",
            r"\frac{\partial L}{\partial z_i} = \mathrm{softmax}(z)_i - y_i",
            "correct",
        ),
        (
            "softmax-cross-entropy-gradient",
            r"\frac{\partial L}{\partial z_i} = y_i - \operatorname{softmax}(z)_i",
            "wrong",
        ),
        (
            "softmax-cross-entropy-gradient",
            r"\text{softmax}(\mathbf{z})_k = \frac{e^{z_k}}{\sum_j e^{z_j}}",
            "correct",
        ),
        (
            "softmax-cross-entropy-gradient",
            r"\mathrm{softmax}(z)_k = \frac{e^{z_k}}{\sum_j e^{2z_j}}",
            "wrong",
        ),
        ("softmax-cross-entropy-gradient", r"L = -\sum_k y_k\log\mathrm{softmax}(z)_k", "correct"),
        # the Hessian of a function times a vector: \nabla^2 f(w)v is (\nabla^2 f(w))v
        ("least-squares-convex", r"v^\top\nabla^2 L(w)v = 2\|Xv\|^2", "correct"),
        ("least-squares-convex", r"v^\top\nabla^2 L(w)v = \|Xv\|^2", "wrong"),
        ("least-squares-convex", r"v^\top\nabla^2_w L\, v = 2v^\top X^\top Xv", "correct"),
        (
            "least-squares-convex",
            [r"f(w) = \|y-Xw\|^2", r"v^\top\nabla^2 f(w)v = 2v^\top X^\top Xv"],
            "correct",
        ),
        (
            "least-squares-convex",
            [r"f(w) = \|y-Xw\|^2", r"v^\top\nabla^2 f(w)v = -2v^\top X^\top Xv"],
            "wrong",
        ),
        # the operator still takes a whole product when its operand is no function: \nabla_w of w^Tx
        ("least-squares-convex", r"\nabla_w L = \nabla_w (y-Xw)^\top(y-Xw)", "correct"),
        # one link of a reference chain the card does not check: cannot_check, not "unknown name"
        ("rope-relative-position", r"s = \mathbf{q}^{\top}R((n-m)\theta)\mathbf{k}", "cannot_check"),
    ],
)
def test_one_step_in_another_spelling(card_id, latex, verdict):
    *previous, latex = [latex] if isinstance(latex, str) else latex
    v = card_checker(card_id).check(latex, previous)
    assert v.verdict == verdict, v.message
