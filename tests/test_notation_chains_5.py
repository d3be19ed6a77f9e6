"""Whole derivation chains in a fifth round of notations (issue 11, session 10), and numerator layout inside
products. tests/data/notation_chains_5.toml holds one chain per card as another source writes it (Goodfellow et al.,
Murphy PML, Bishop PRML, CS231n / Karpathy backprop notes, CS224n, Kingma & Ba, Vaswani et al., Su et al., Rafailov
et al., Kingma & Welling, Ioffe & Szegedy, He et al.; ``\\ln``, ``\\exp(.)``, ``\\mathbb{E}``, ``:=``, ``\\triangleq``,
``\\mathrm{d}`` differentials, ``\\partial w^\\top``), each with one variant with one slip, which must be caught.

Numerator layout (He et al. 2016 eq. 5: ``dL/dx = dL/dy (I + dF/dx)``; Magnus & Neudecker; MML 5.2): a written
derivative of a scalar by a column vector is read as a row when the step only typechecks that way (or an earlier
step of the run was read so), and the whole step is then judged in that one layout. A slip wrong in both layouts
stays wrong; a step that only equates a column with a row (the dropped transpose of the cards' layout) stays
wrong. The false verdicts found are recorded in docs/parsing.md ("Notations, fifth round")."""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    card_checker,
    chain_table_tests,
)

(
    CHAINS,
    VARIANTS,
    test_every_card_has_a_chain_and_every_chain_one_wrong_variant,
    test_notation_chain_step_by_step,
) = chain_table_tests("notation_chains_5", 36)


# ------------------------------------------------------------------ numerator layout inside products
NUMERATOR = "numerator layout"


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # the ResNet paper's own step (He et al. 2016, eq. 5), and the card's (denominator) form
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\left(I + \frac{\partial F}{\partial x}\right)",
            "correct",
        ),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(I + J)",
            "correct",
        ),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} + \frac{\partial L}{\partial y}J",
            "correct",
        ),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = (I + J)^T\frac{\partial L}{\partial y}",
            "correct",
        ),
        ("residual-gradient", r"g_x = (I + J)^T g_y", "correct"),
        # slips: a sign, the skip path dropped, the transpose in numerator layout, the cards' dropped transpose
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(I - J)",
            "wrong",
        ),
        ("residual-gradient", r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}J", "wrong"),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(I + J^T)",
            "wrong",
        ),
        (
            "residual-gradient",
            r"\frac{\partial L}{\partial x} = (I + J)\frac{\partial L}{\partial y}",
            "wrong",
        ),
        ("residual-gradient", r"g_x = (I + J) g_y", "wrong"),
        # no product to show the layout: a row equated with the card's column stays the dropped transpose
        ("residual-gradient", r"\frac{\partial L}{\partial x} = g_y^T(I + J)", "wrong"),
        # a linear layer / two-layer MLP: upstream row times W or times the local Jacobian
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial a} = \frac{\partial L}{\partial \hat{y}}W_2",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial a} = \frac{\partial L}{\partial \hat{y}}\frac{\partial \hat{y}}{\partial a}",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\frac{\partial a}{\partial z}",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}W_1",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\mathrm{diag}(\sigma(z)\odot(1-\sigma(z)))",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial a} = W_2^T\frac{\partial L}{\partial \hat{y}}",
            "correct",
        ),
        ("backprop-two-layer-mlp", r"\frac{\partial L}{\partial a}^\top = (\hat{y} - y)^\top W_2", "correct"),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}W_1^T",
            "wrong",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial a} = -\frac{\partial L}{\partial \hat{y}}W_2",
            "wrong",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial a} = W_2\frac{\partial L}{\partial \hat{y}}",
            "wrong",
        ),
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\mathrm{diag}(\sigma(z)\odot(1+\sigma(z)))",
            "wrong",
        ),
        ("backprop-two-layer-mlp", r"\frac{\partial L}{\partial a} = (\hat{y} - y)^T W_2", "wrong"),
        ("backprop-two-layer-mlp", r"\frac{\partial L}{\partial W_2} = a(\hat{y} - y)^T", "wrong"),
        # softmax + cross-entropy output layer
        (
            "backprop-softmax-cross-entropy",
            r"\frac{\partial L}{\partial z_1} = \frac{\partial L}{\partial z_2}W_2\,\mathrm{diag}(a\odot(1-a))",
            "correct",
        ),
        (
            "backprop-softmax-cross-entropy",
            r"\frac{\partial L}{\partial z_1} = \frac{\partial L}{\partial z_2}W_2^T\,\mathrm{diag}(a\odot(1-a))",
            "wrong",
        ),
        # a Hessian with the transposed variable below (Magnus & Neudecker), a derivative by w^T
        (
            "logistic-regression-hessian",
            r"\frac{\partial^2 L}{\partial w\partial w^\top} = X^\top SX",
            "correct",
        ),
        ("logistic-regression-hessian", r"\frac{\partial^2 L}{\partial w\,\partial w^T} = XSX^T", "wrong"),
        ("logistic-regression-hessian", r"\frac{\partial L}{\partial w^T} = (p - y)^TX", "correct"),
        ("logistic-regression-hessian", r"\frac{\partial L}{\partial w^T} = (y - p)^TX", "wrong"),
    ],
)
def test_numerator_layout_inside_products(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, f"{latex}: {v.verdict} [{v.diagnosis}] {v.message}"


def test_a_numerator_layout_reading_is_named_and_a_slip_in_it_is_no_shape_error():
    chk = card_checker("residual-gradient")
    v = chk.check(r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(I + J)", [])
    assert v.verdict == "correct" and NUMERATOR in (v.note or "")
    w = chk.check(r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}(I - J)", [])
    assert w.verdict == "wrong" and w.diagnosis != "shape mismatch" and NUMERATOR in (w.note or "")
    assert v.latex.startswith(r"\frac{\partial L}{\partial x}")


def test_a_chain_shown_in_numerator_layout_reads_its_row_gradients_in_it():
    chk = card_checker("backprop-two-layer-mlp")
    row = r"\frac{\partial L}{\partial \hat{y}} = (\hat{y} - y)^\top"
    assert chk.check(row, []).verdict == "wrong"  # alone: the dropped transpose of the cards' layout
    first = r"\frac{\partial L}{\partial a} = \frac{\partial L}{\partial \hat{y}}W_2"
    assert chk.check(first, []).verdict == "correct"
    assert chk.check(row, [first]).verdict == "correct"
    assert chk.check(r"\frac{\partial L}{\partial \hat{y}} = (y - \hat{y})^\top", [first]).verdict == "wrong"


def test_a_derivative_with_a_numerator_is_one_factor():
    # \frac{\partial L}{\partial z}W_1 was read as the derivative of L W_1 (an operator on what follows)
    chk = card_checker("backprop-two-layer-mlp")
    ps = chk.parse(r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial z}W_1")
    assert ps.trees[1] == ("mul", (("deriv", ("var", "L"), ("var", "z")), ("var", "W_1")))
    ps = chk.parse(r"\frac{\partial}{\partial a}L = 0")  # an operator still takes what follows
    assert ps.trees[0] == ("deriv", ("var", "L"), ("var", "a"))


# ------------------------------------------------------------------ differentials (Magnus & Neudecker)
@pytest.mark.parametrize(
    "written,read",
    [
        (
            r"\mathrm{d}L = -2(y - Xw)^\top X\,\mathrm{d}w",
            r"\frac{\partial L}{\partial w} = - \left(2(y - Xw)^\top X\right)^\top",
        ),
        (
            r"\mathrm{d}L = \mathrm{d}w^\top(2X^\top Xw - 2X^\top y)",
            r"\frac{\partial L}{\partial w} = (2X^\top Xw - 2X^\top y)",
        ),
        (
            r"\mathrm{d}L = \operatorname{tr}(G^\top\mathrm{d}W)",
            r"\frac{\partial L}{\partial W} = \left(G^\top\right)^\top",
        ),
        (
            r"\mathrm{d}f = \mathrm{d}w^TAw + w^TA\,\mathrm{d}w",
            r"\frac{\partial f}{\partial w} = Aw + \left(w^TA\right)^\top",
        ),
        # not a differential the identification rules read: left alone
        (r"\mathrm{d}L = \mathrm{d}w^T A\,\mathrm{d}w", None),
        (r"\mathrm{d}L = A\,\mathrm{d}w + B\,\mathrm{d}v", None),
        (r"dL = x", None),
        (r"\mathrm{d}L = x", None),
    ],
)
def test_a_differential_is_read_as_the_gradient_it_identifies(written, read):
    from whiteboard_app.maths.differentials import differential_as_derivative

    assert differential_as_derivative(written) == read


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        ("least-squares-convex", r"\mathrm{d}L = -2(y - Xw)^\top X\,\mathrm{d}w", "correct"),
        ("least-squares-convex", r"\mathrm{d}L = 2(y - Xw)^\top X\,\mathrm{d}w", "wrong"),
        ("least-squares-convex", r"\mathrm{d}L = -2(y - Xw)^\top X^\top\mathrm{d}w", "wrong"),
        (
            "least-squares-convex",
            r"\mathrm{d}L = -\mathrm{d}w^\top X^\top(y - Xw) - (y - Xw)^\top X\,\mathrm{d}w",
            "correct",
        ),
        (
            "least-squares-convex",
            r"\mathrm{d}L = -\mathrm{d}w^\top X^\top(y - Xw) + (y - Xw)^\top X\,\mathrm{d}w",
            "wrong",
        ),
        ("backprop-two-layer-mlp", r"\mathrm{d}L = (\hat{y} - y)^\top W_2\,\mathrm{d}a", "correct"),
        ("backprop-two-layer-mlp", r"\mathrm{d}L = (\hat{y} - y)^\top W_2^\top\,\mathrm{d}a", "wrong"),
        (
            "backprop-two-layer-mlp",
            r"\mathrm{d}L = \operatorname{tr}\left(a(\hat{y} - y)^\top\mathrm{d}W_2\right)",
            "correct",
        ),
        (
            "backprop-two-layer-mlp",
            r"\mathrm{d}L = \operatorname{tr}\left((\hat{y} - y)a^\top\mathrm{d}W_2\right)",
            "wrong",
        ),
        ("logistic-regression-gradient", r"\mathrm{d}L = (p - y)^\top X\,\mathrm{d}w", "correct"),
        ("logistic-regression-gradient", r"\mathrm{d}L = (y - p)^\top X\,\mathrm{d}w", "wrong"),
    ],
)
def test_differential_steps(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, f"{latex}: {v.verdict} [{v.diagnosis}] {v.message}"
    assert v.latex == latex  # the verdict names the step as written


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # \triangleq defines like := (Kingma & Ba), \parallel separates a divergence's arguments like \|
        ("adam-bias-correction", r"\hat{m}_t \triangleq \frac{m_t}{1-\beta_1^t}", "correct"),
        ("adam-bias-correction", r"\hat{m}_t \triangleq \frac{m_t}{1-\beta_1}", "wrong"),
        ("kl-cross-entropy-relation", r"H(p,q) = H(p) + \operatorname{KL}(p\parallel q)", "correct"),
        ("kl-cross-entropy-relation", r"H(p,q) = H(p) - \operatorname{KL}(p\parallel q)", "wrong"),
    ],
)
def test_other_definition_and_divergence_spellings(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, f"{latex}: {v.verdict} [{v.diagnosis}] {v.message}"


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # linearity of expectation: a constant factor or denominator reaches the card's defined expectation
        (
            "sample-variance-n-minus-1",
            r"\mathbb{E}\left[\frac{1}{n-1}\sum_{i=1}^{n}(x_i-\bar{x})^2\right] = \sigma^2",
            "correct",
        ),
        (
            "sample-variance-n-minus-1",
            r"\mathbb{E}\left[\frac{1}{n}\sum_{i=1}^{n}(x_i-\bar{x})^2\right] = \sigma^2",
            "wrong",
        ),
        (
            "sample-variance-n-minus-1",
            r"E\left[\frac{\sum_{i=1}^{n}(x_i-\bar{x})^2}{n-1}\right] = \sigma^2",
            "correct",
        ),
        (
            "sample-variance-n-minus-1",
            r"E\left[\frac{\sum_{i=1}^{n}(x_i-\bar{x})^2}{n}\right] = \sigma^2",
            "wrong",
        ),
        ("sample-variance-n-minus-1", r"E[2(x_i-\mu)^2] = 2\sigma^2", "correct"),
        ("sample-variance-n-minus-1", r"E[2(x_i-\mu)^2] = \sigma^2", "wrong"),
        ("adam-bias-correction", r"E\left[\frac{m_t}{1-\beta_1^t}\right] = E[g]", "correct"),
        ("adam-bias-correction", r"E\left[\frac{m_t}{1-\beta_1}\right] = E[g]", "wrong"),
        # a shift is additivity (the evaluator's linearity, Evaluator._linear_expectation): judged, and a
        # factor on one term scales that term only; a random factor is not judged
        ("sample-variance-n-minus-1", r"E[(x_i-\mu)^2 + 1] = \sigma^2 + 1", "correct"),
        ("sample-variance-n-minus-1", r"E[(x_i-\mu)^2 + 1] = \sigma^2", "wrong"),
        ("sample-variance-n-minus-1", r"E[2(x_i-\mu)^2 + 1] = 2\sigma^2 + 2", "wrong"),
        # mu, the card's mean, is a declared constant: the expectation of the expanded polynomial judges it
        # (Evaluator._polynomial_expectation, session 11)
        ("sample-variance-n-minus-1", r"E[\mu(x_i-\mu)^2] = \mu\sigma^2", "correct"),
        ("sample-variance-n-minus-1", r"E[\mu(x_i-\mu)^2] = \sigma^2", "wrong"),
        # the Hadamard product written \circ
        ("backprop-two-layer-mlp", r"\delta_1 = W_2^T\delta_2\circ\sigma'(z)", "correct"),
        ("backprop-two-layer-mlp", r"\delta_1 = W_2\delta_2\circ\sigma'(z)", "wrong"),
    ],
)
def test_a_constant_scale_inside_an_expectation_and_circ_products(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, f"{latex}: {v.verdict} [{v.diagnosis}] {v.message}"


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        # a vector chain rule through a quantity the card has only component by component: read per component
        # it would drop the sum over k, so it is not judged (it was a false "wrong"); with the index and the
        # sum it is checked
        (
            "softmax-cross-entropy-gradient",
            r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial p}\frac{\partial p}{\partial z}",
            "cannot_check",
        ),
        (
            "softmax-cross-entropy-gradient",
            r"\frac{\partial L}{\partial z_i} = \sum_{k=1}^{K}\frac{\partial L}{\partial p_k}\frac{\partial p_k}{\partial z_i}",
            "correct",
        ),
        (
            "softmax-cross-entropy-gradient",
            r"\frac{\partial L}{\partial z_i} = \frac{\partial L}{\partial p_i}\frac{\partial p_i}{\partial z_i}",
            "wrong",
        ),
        ("softmax-cross-entropy-gradient", r"\frac{\partial L}{\partial z} = y - p", "wrong"),
        # ... where the card has the vectors, the chain rule is judged
        (
            "backprop-two-layer-mlp",
            r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\frac{\partial a}{\partial z}",
            "correct",
        ),
    ],
)
def test_a_vector_chain_rule_through_a_family_written_without_its_index(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, f"{latex}: {v.verdict} [{v.diagnosis}] {v.message}"
