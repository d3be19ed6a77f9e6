"""Builds the notation table (tests/data/notation_table.toml): every card's reference steps and declared
mistakes written in other notations, two variants per card, plus hand-written steps in forms no rendering
produces (per-example forms, components, inner products, expression aliases, structured aliases).

Run ``python -m tests.notation_cases`` to regenerate the file; the test (tests/test_notation_table.py) reads
the file, so the table is data and a change in the rules shows up as a failing case, not a new table.
The variants come from each card's ``[notation]`` (:func:`~whiteboard_app.maths.notation.written_forms`)
and the generic rules (transposes, ``\\ln``, index letters, ``x^{(i)}``), chosen by a seeded random.
"""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

from whiteboard_app.decks import load_deck
from whiteboard_app.maths.notation import render_variant, rules_for, written_forms

TABLE = Path(__file__).parent / "data" / "notation_table.toml"

# hand-written steps: (card, [previous...], step, expected, ref or None, diagnosis or None)
HAND = [
    # the onsite derivation (issue 11), per-example with the bias and feature j
    ("logistic-regression-gradient", [], r"\hat{y} = \sigma(w^T x + b)", "correct", 1, None),
    (
        "logistic-regression-gradient",
        [r"\hat{y} = \sigma(w^T x + b)"],
        r"L = -[y\log\hat{y} + (1-y)\log(1-\hat{y})]",
        "correct",
        2,
        None,
    ),
    (
        "logistic-regression-gradient",
        [r"L = -[y\log\hat{y} + (1-y)\log(1-\hat{y})]"],
        r"\frac{\partial L}{\partial w_j} = -(\frac{y}{\hat{y}} - \frac{1-y}{1-\hat{y}})\hat{y}(1-\hat{y})x_j",
        "correct",
        4,
        None,
    ),
    (
        "logistic-regression-gradient",
        [
            r"\frac{\partial L}{\partial w_j} = -(\frac{y}{\hat{y}} - \frac{1-y}{1-\hat{y}})\hat{y}(1-\hat{y})x_j"
        ],
        r"= (\hat{y}-y)x_j",
        "correct",
        6,
        None,
    ),
    (
        "logistic-regression-gradient",
        [
            r"\frac{\partial L}{\partial w_j} = -(\frac{y}{\hat{y}} - \frac{1-y}{1-\hat{y}})\hat{y}(1-\hat{y})x_j"
        ],
        r"= (y-\hat{y})x_j",
        "wrong",
        None,
        "sign flip",
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\frac{\partial \ell}{\partial \theta_k} = \sum_n (t_n - \mu_n)\phi_{n}",
        "correct",
        None,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\frac{\partial \ell}{\partial \theta_k} = \sum_n (\mu_n - t_n)\phi_{n}",
        "wrong",
        None,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_\theta \ell = \sum_{n=1}^{N} (t_n - \mu_n)\phi_n",
        "correct",
        None,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_\theta \ell = \sum_{n=1}^{N} (\mu_n - t_n)\phi_n",
        "wrong",
        None,
        "sign flip",
    ),
    ("logistic-regression-gradient", [], r"\hat{p}_k = \sigma(\beta \cdot x_k)", "correct", 1, None),
    (
        "logistic-regression-gradient",
        [],
        r"\hat{p}_k = \sigma(\langle \beta, x_k\rangle)",
        "correct",
        1,
        None,
    ),
    ("logistic-regression-gradient", [], r"\hat{y}_k = \sigma(z_k)", "correct", 1, None),
    ("logistic-regression-gradient", [], r"\hat{y}_k = \sigma(-z_k)", "wrong", None, None),
    ("logistic-regression-gradient", [], r"\nabla_w \hat{y} = \hat{y}(1-\hat{y})x", "correct", 3, None),
    ("logistic-regression-gradient", [], r"\nabla_w \hat{y} = \hat{y}x", "wrong", 3, "missing factor"),
    (
        "logistic-regression-gradient",
        [],
        r"\frac{\partial \hat{y}}{\partial w_m} = \hat{y}(1-\hat{y})x_m",
        "correct",
        3,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_w L = \Phi^\intercal(\hat{\mathbf{y}} - \mathbf{t})",
        "correct",
        7,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_w L = \Phi(\hat{\mathbf{y}} - \mathbf{t})",
        "wrong",
        7,
        "dropped transpose",
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_{\mathbf{w}} E = \sum_{k} (\hat{y}_k - t_k)\mathbf{x}_k",
        "correct",
        6,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\frac{\partial L}{\partial w} = (\hat{y}-y)x^\top",
        "wrong",
        None,
        None,
    ),
    ("logistic-regression-hessian", [], r"\nabla^2_w L = \hat{y}(1-\hat{y})xx^T", "correct", 5, None),
    ("logistic-regression-hessian", [], r"H = \Phi^T R \Phi", "correct", 6, None),
    ("logistic-regression-hessian", [], r"H = \Phi R \Phi^T", "wrong", None, None),
    (
        "logistic-regression-hessian",
        [],
        r"\nabla_w L = \sum_{n=1}^{N}(\mu_n - t_n)\phi_n",
        "correct",
        3,
        None,
    ),
    (
        "logistic-regression-hessian",
        [],
        r"\frac{\partial L}{\partial w_j} = (\hat{y}-y)x_j",
        "correct",
        None,
        None,
    ),
    (
        "logistic-regression-hessian",
        [],
        r"\frac{\partial L}{\partial w_j} = (y-\hat{y})x_j",
        "wrong",
        None,
        "sign flip",
    ),
    # probabilities, distributions, index letters inside sums
    ("kl-divergence-nonnegative", [], r"D(P\|Q) = \sum_x P(x)\log\frac{P(x)}{Q(x)}", "correct", 1, None),
    ("kl-divergence-nonnegative", [], r"D(P\|Q) = \sum_x Q(x)\log\frac{P(x)}{Q(x)}", "wrong", 1, None),
    ("kl-divergence-nonnegative", [], r"KL(P\|Q) = \sum_{j} P_j \ln\frac{P_j}{Q_j}", "correct", 1, None),
    ("kl-divergence-nonnegative", [], r"-D_{KL}(P\|Q) = \sum_x P(x)\ln\frac{Q(x)}{P(x)}", "correct", 2, None),
    (
        "kl-divergence-nonnegative",
        [],
        r"-D_{KL}(P\|Q) = \sum_x P(x)\ln\frac{P(x)}{Q(x)}",
        "wrong",
        2,
        "sign flip",
    ),
    ("kl-cross-entropy-relation", [], r"H(P,Q) = -\sum_x P(x)\log Q(x)", "correct", 1, None),
    ("kl-cross-entropy-relation", [], r"H(P,Q) = -\sum_x Q(x)\log P(x)", "wrong", 1, None),
    ("kl-cross-entropy-relation", [], r"CE(p,q) = H(p) + KL(p\|q)", "correct", 4, None),
    ("kl-cross-entropy-relation", [], r"H(P,Q) = H(P) - D(P\|Q)", "wrong", None, None),
    (
        "softmax-cross-entropy-gradient",
        [],
        r"\frac{\partial J}{\partial a_j} = \hat{y}_j - t_j",
        "correct",
        5,
        None,
    ),
    (
        "softmax-cross-entropy-gradient",
        [],
        r"\frac{\partial J}{\partial a_j} = t_j - \hat{y}_j",
        "wrong",
        None,
        "sign flip",
    ),
    ("softmax-cross-entropy-gradient", [], r"\ell = -\sum_{c=1}^{C} t_c \ln \hat{y}_c", "correct", 1, None),
    ("softmax-cross-entropy-gradient", [], r"\ln q_m = o_m - \ln\sum_{c} e^{o_c}", "correct", 2, None),
    ("softmax-cross-entropy-gradient", [], r"\ln q_m = o_m - \sum_{c} o_c", "wrong", None, None),
    (
        "bernoulli-mle",
        [],
        r"\frac{d\ell}{dp} = \frac{\sum_{j=1}^{N} y_j}{p} - \frac{N - \sum_{j=1}^{N} y_j}{1-p}",
        "correct",
        4,
        None,
    ),
    (
        "bernoulli-mle",
        [],
        r"\frac{d\ell}{dp} = \frac{\sum_{j=1}^{N} y_j}{p} + \frac{N - \sum_{j=1}^{N} y_j}{1-p}",
        "wrong",
        4,
        "sign flip",
    ),
    ("bernoulli-mle", [], r"\mu_{ML} = \frac{1}{N}\sum_{n=1}^{N} t_n", "correct", 6, None),
    ("bernoulli-mle", [], r"\hat{p} = \frac{1}{N-1}\sum_{k=1}^{N} y_k", "wrong", 6, "n vs n-1"),
    ("gaussian-mle", [], r"\mu_{ML} = \frac{1}{N}\sum_{n=1}^{N} y_n", "correct", 4, None),
    ("gaussian-mle", [], r"\sigma_{ML}^2 = \frac{1}{N}\sum_{n=1}^{N} (y_n - \mu_{ML})^2", "correct", 6, None),
    (
        "gaussian-mle",
        [],
        r"\sigma_{ML}^2 = \frac{1}{N-1}\sum_{n=1}^{N} (y_n - \mu_{ML})^2",
        "wrong",
        6,
        "n vs n-1",
    ),
    (
        "sample-variance-n-minus-1",
        [],
        r"s^2 = \frac{1}{n-1}\sum_{j=1}^{n}(x_j-\bar{x})^2",
        "correct",
        None,
        None,
    ),
    ("sample-variance-n-minus-1", [], r"s^2 = \frac{1}{n}\sum_{j=1}^{n}(x_j-\bar{x})^2", "wrong", None, None),
    (
        "sample-variance-n-minus-1",
        [],
        r"\sum_{k=1}^{N}(X_k-\bar{X})^2 = \sum_{k=1}^{N}(X_k-\mu)^2 - N(\bar{X}-\mu)^2",
        "correct",
        1,
        None,
    ),
    (
        "sample-variance-n-minus-1",
        [],
        r"\sum_{k=1}^{N}(X_k-\bar{X})^2 = \sum_{k=1}^{N}(X_k-\mu)^2 + N(\bar{X}-\mu)^2",
        "wrong",
        1,
        "sign flip",
    ),
    (
        "confidence-interval-mean",
        [],
        r"\bar{X} - z_{0.975}SE \le \mu \le \bar{X} + z_{0.975}SE",
        "correct",
        6,
        None,
    ),
    ("confidence-interval-mean", [], r"ME = z_{\alpha/2}\frac{\sigma}{\sqrt{N}}", "correct", 7, None),
    ("confidence-interval-mean", [], r"ME = z_{\alpha/2}\frac{\sigma}{N}", "wrong", 7, None),
    ("dpo-loss", [], r"L = -\log\sigma(\beta a - \beta b)", "correct", 6, None),
    ("dpo-loss", [], r"L = -\log\sigma(a - b)", "wrong", 6, None),
    ("dpo-loss", [], r"L = -\log\sigma(\beta b - \beta a)", "wrong", None, None),
    ("dpo-loss", [], r"r(x,y_w) - r(x,y_l) = \beta a - \beta b", "correct", 4, None),
    ("sigmoid-derivative", [], r"\frac{d}{dx}\sigma(x) = \sigma(x)(1-\sigma(x))", "correct", 5, None),
    ("sigmoid-derivative", [], r"\frac{ds}{dx} = s(1-s)", "unparsed", None, None),
    ("sigmoid-derivative", [], r"\frac{d\sigma}{dt} = \frac{e^{-t}}{(1+e^{-t})^2}", "correct", 3, None),
    ("sigmoid-derivative", [], r"\frac{d\sigma}{dt} = \frac{e^{-t}}{1+e^{-t}}", "wrong", None, None),
    ("sigmoid-derivative", [], r"\sigma'(u) = \sigma(u)(1-\sigma(u))", "correct", 5, None),
    ("sigmoid-derivative", [], r"\sigma'(u) = \sigma(u)(1+\sigma(u))", "wrong", None, None),
    (
        "backprop-two-layer-mlp",
        [],
        r"\frac{\partial L}{\partial W^{(2)}} = (o - t)h^\top",
        "correct",
        2,
        None,
    ),
    ("backprop-two-layer-mlp", [], r"\frac{\partial L}{\partial W^{(2)}} = h(o - t)^\top", "wrong", 2, None),
    (
        "backprop-two-layer-mlp",
        [],
        r"\frac{\partial L}{\partial W^{(1)}} = \delta^{(1)} x^T",
        "correct",
        5,
        None,
    ),
    ("backprop-two-layer-mlp", [], r"\frac{\partial L}{\partial b^{(1)}} = \delta^{(1)}", "correct", 6, None),
    ("attention-shapes", [], r"Q = HW^Q", "correct", 1, None),
    ("attention-shapes", [], r"Q = W^QH", "wrong", None, None),
    (
        "attention-shapes",
        [],
        r"Z = \mathrm{softmax}(\frac{HW^Q(W^K)^\top H^\top}{\sqrt{d_k}})HW^V",
        "correct",
        6,
        None,
    ),
    ("attention-shapes", [], r"Y = VP", "wrong", None, None),
    ("ols-closed-form", [], r"\hat{\beta} = (X^\top X)^{-1}X^\top y", "correct", 6, None),
    ("ols-closed-form", [], r"\hat{\beta} = X^\top y(X^\top X)^{-1}", "wrong", None, None),
    ("ols-closed-form", [], r"RSS = r^T r", "correct", 2, None),
    ("ols-closed-form", [], r"\nabla_\beta RSS = -2\Phi^T(t - \Phi\beta)", "correct", 4, None),
    ("ols-closed-form", [], r"\nabla_\beta RSS = 2\Phi^T(t - \Phi\beta)", "wrong", None, "sign flip"),
    ("map-gaussian-prior-l2", [], r"\nabla_w E = -\beta\Phi^T(t - \Phi w) + \alpha w", "correct", 4, None),
    (
        "map-gaussian-prior-l2",
        [],
        r"\nabla_w E = \beta\Phi^T(t - \Phi w) + \alpha w",
        "wrong",
        None,
        "sign flip",
    ),
    (
        "map-gaussian-prior-l2",
        [],
        r"w_{MAP} = (\Phi^T\Phi + \frac{\alpha}{\beta}I)^{-1}\Phi^T t",
        "correct",
        7,
        None,
    ),
    ("map-gaussian-prior-l2", [], r"w_{MAP} = (\Phi^T\Phi)^{-1}\Phi^T t", "wrong", None, None),
    ("newton-step-from-taylor", [], r"p = -(\nabla^2 f)^{-1}\nabla f", "correct", 3, None),
    ("newton-step-from-taylor", [], r"p = (\nabla^2 f)^{-1}\nabla f", "wrong", 3, "sign flip"),
    ("newton-step-from-taylor", [], r"x_{k+1} = x_k - H^{-1}g", "correct", 6, None),
    ("svm-dual", [], r"\nabla_w L = w - \sum_{n=1}^{N} a_n t_n x_n", "correct", 2, None),
    ("svm-dual", [], r"\nabla_w L = w + \sum_{n=1}^{N} a_n t_n x_n", "wrong", 2, "sign flip"),
    ("svm-dual", [], r"\frac{\partial L}{\partial w_0} = -\sum_{i=1}^{n}\lambda_i t_i", "correct", 3, None),
    (
        "svm-dual",
        [],
        r"\frac{1}{2}\|\sum_{i=1}^{n}\alpha_iy_ix_i\|^2 = \frac{1}{2}\sum_{i=1}^{n}\sum_{j=1}^{n}\alpha_i\alpha_jy_iy_jK_{ij}",
        "correct",
        6,
        None,
    ),
    (
        "kmeans-centroid-update",
        [],
        r"\frac{d}{dm_k}\sum_{n=1}^{N}(x_n - m_k)^2 = -2\sum_{n=1}^{N}(x_n - m_k)",
        "correct",
        2,
        None,
    ),
    (
        "kmeans-centroid-update",
        [],
        r"\frac{d}{dm_k}\sum_{n=1}^{N}(x_n - m_k)^2 = 2\sum_{n=1}^{N}(x_n - m_k)",
        "wrong",
        None,
        "sign flip",
    ),
    ("kmeans-centroid-update", [], r"\mu^* = \frac{1}{m}\sum_{j=1}^{m} x^{(j)}", "correct", 5, None),
    (
        "em-gmm",
        [],
        r"\hat{\mu}_k = \frac{\sum_{n=1}^{N} r_{nk}x_n}{\sum_{n=1}^{N} r_{nk}}",
        "correct",
        5,
        None,
    ),
    ("em-gmm", [], r"\hat{\mu}_k = \frac{1}{N}\sum_{n=1}^{N} r_{nk}x_n", "wrong", None, None),
    ("em-gmm", [], r"\hat{\pi}_k = \frac{N_k}{N}", "correct", 9, None),
    ("batchnorm-forward", [], r"\mu_{\mathcal{B}} = \frac{1}{m}\sum_{j=1}^{m} x_j", "correct", 1, None),
    (
        "batchnorm-forward",
        [],
        r"\sigma_{\mathcal{B}}^2 = \frac{1}{m}\sum_{j=1}^{m}(x_j - \mu_{\mathcal{B}})^2",
        "correct",
        2,
        None,
    ),
    (
        "batchnorm-forward",
        [],
        r"\sigma_{\mathcal{B}}^2 = \frac{1}{m-1}\sum_{j=1}^{m}(x_j - \mu_{\mathcal{B}})^2",
        "wrong",
        None,
        "n vs n-1",
    ),
    ("bayes-theorem", [], r"P(D|+) = \frac{P(+|D)P(D)}{P(+)}", "correct", 1, None),
    ("bayes-theorem", [], r"P(+) = P(+|D)P(D) + P(+|\neg D)P(\neg D)", "correct", 2, None),
    ("bayes-theorem", [], r"P(D|+) = P(+|D)", "wrong", None, None),
    ("conditional-probability-dice", [], r"P(\bar{A}) = \frac{25}{36}", "correct", 1, None),
    ("conditional-probability-dice", [], r"P(B|A) = \frac{P(A,B)}{P(A)}", "correct", 4, None),
    ("conditional-probability-dice", [], r"P(B|A) = \frac{P(A)}{P(A,B)}", "wrong", None, None),
    ("gan-optimal-discriminator", [], r"D_G^* = \frac{p_r}{p_r + p_{model}}", "correct", 5, None),
    ("gan-optimal-discriminator", [], r"D_G^* = \frac{p_{model}}{p_r + p_{model}}", "wrong", None, None),
    ("information-gain", [], r"Gain(S) = H_{parent} - H_{split}", "correct", 1, None),
    ("information-gain", [], r"Gain(S) = H_{split} - H_{parent}", "wrong", None, None),
    ("residual-gradient", [], r"\delta_x = (I + J_F)^\top\delta_y", "correct", 3, None),
    ("residual-gradient", [], r"\delta_x = (I + J_F)\delta_y", "wrong", None, None),
    ("scaled-dot-product-attention", [], r"\lambda^2 d = 1", "correct", 4, None),
    (
        "scaled-dot-product-attention",
        [],
        r"\frac{\partial p_j}{\partial z_l} = p_j(\delta_{jl} - p_l)",
        "correct",
        6,
        None,
    ),
    (
        "scaled-dot-product-attention",
        [],
        r"\frac{\partial p_j}{\partial z_l} = p_j(1 - p_l)",
        "wrong",
        None,
        None,
    ),
    ("adam-bias-correction", [], r"E[v_t] = (1-\beta)\sum_{k=1}^{t}\beta^{t-k} E[g]", "correct", 3, None),
    ("adam-bias-correction", [], r"u_t = \frac{v_t}{1-\beta^t}", "correct", 6, None),
    ("adam-bias-correction", [], r"u_t = \frac{v_t}{1-\beta}", "wrong", None, None),
    ("pca-via-svd", [], r"X = UDV^\top", "correct", 2, None),
    ("pca-via-svd", [], r"X^\top X = VD^2V^\top", "correct", 4, None),
    ("pca-via-svd", [], r"X^\top X = UD^2U^\top", "wrong", None, None),
    ("elbo", [], r"ELBO = \sum_{k=1}^{J} q_k\log\frac{l_k\pi_k}{q_k}", "correct", None, None),
    (
        "bias-variance-decomposition",
        [],
        r"y - \hat{y} = (f - \bar{h}) + (\bar{h} - \hat{y}) + \epsilon",
        "correct",
        1,
        None,
    ),
    (
        "bias-variance-decomposition",
        [],
        r"t - h = (f - \bar{h}) - (\bar{h} - h) + \epsilon",
        "wrong",
        None,
        None,
    ),
    (
        "rope-relative-position",
        [],
        r"s = (q_xk_x + q_yk_y)\cos((m-n)\Theta) + (q_xk_y - q_yk_x)\sin((m-n)\Theta)",
        "correct",
        5,
        None,
    ),
    (
        "rope-relative-position",
        [],
        r"s = (q_xk_x + q_yk_y)\cos((m+n)\Theta) + (q_xk_y - q_yk_x)\sin((m+n)\Theta)",
        "wrong",
        None,
        None,
    ),
    # one example on other cards (per_example + summands), expectations spelled either way
    (
        "bernoulli-mle",
        [],
        r"\frac{d\ell}{d\theta} = \frac{x}{\theta} - \frac{1-x}{1-\theta}",
        "correct",
        4,
        None,
    ),
    ("bernoulli-mle", [], r"\frac{d\ell}{dp} = \frac{y}{p} + \frac{1-y}{1-p}", "wrong", None, None),
    ("bernoulli-mle", [], r"\ln L = y\ln p + (1-y)\ln(1-p)", "correct", 2, None),
    ("bernoulli-mle", [], r"\ln L = y\ln p + (1-y)\ln p", "wrong", None, None),
    ("gaussian-mle", [], r"\frac{\partial \ell}{\partial \mu} = \frac{x-\mu}{\sigma^2}", "correct", 2, None),
    (
        "gaussian-mle",
        [],
        r"\frac{\partial \ell}{\partial \mu} = \frac{\mu-x}{\sigma^2}",
        "wrong",
        None,
        "sign flip",
    ),
    (
        "gaussian-mle",
        [],
        r"\frac{\partial \ell}{\partial \sigma} = -\frac{1}{\sigma} + \frac{(x-\mu)^2}{\sigma^3}",
        "correct",
        5,
        None,
    ),
    (
        "gaussian-mle",
        [],
        r"\frac{\partial \ell}{\partial \sigma} = -\frac{1}{\sigma} + \frac{(x-\mu)^2}{\sigma^2}",
        "wrong",
        None,
        None,
    ),
    ("kmeans-centroid-update", [], r"\frac{dJ}{d\mu} = -2(x-\mu)", "correct", 2, None),
    ("kmeans-centroid-update", [], r"\frac{dJ}{d\mu} = 2(x-\mu)", "wrong", None, "sign flip"),
    ("sample-variance-n-minus-1", [], r"\mathbb{E}[s^2] = \sigma^2", "correct", 6, None),
    (
        "sample-variance-n-minus-1",
        [],
        r"\mathbb{E}[(\bar{X}-\mu)^2] = \frac{\sigma^2}{N}",
        "correct",
        3,
        None,
    ),
    ("sample-variance-n-minus-1", [], r"\mathbb{E}[(\bar{X}-\mu)^2] = \sigma^2", "wrong", 3, None),
    (
        "logistic-regression-gradient",
        [],
        r"\hat{\mathbf{y}}_i = \sigma(\mathbf{w}^\intercal\boldsymbol{\phi}_i)",
        "correct",
        1,
        None,
    ),
    ("logistic-regression-gradient", [], r"\hat{y}_k = \sigma(x_k^\top w)", "correct", 1, None),
    ("logistic-regression-gradient", [], r"\hat{y}_k = \sigma(x_k w)", "wrong", None, None),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_w \ell = \sum_{m=1}^{N}(t_m - \hat{y}_m)x_m",
        "correct",
        None,
        None,
    ),
    (
        "logistic-regression-gradient",
        [],
        r"\nabla_w L = \sum_{m}(\hat{y}_m - t_m)x_m^\top",
        "wrong",
        6,
        "dropped transpose",
    ),
    ("logistic-regression-hessian", [], r"\nabla^2_\beta L = \Phi^\top R\Phi", "correct", 6, None),
    ("logistic-regression-hessian", [], r"\nabla^2_\beta L = \Phi^\top\Phi", "wrong", None, None),
    (
        "softmax-cross-entropy-gradient",
        [],
        r"\frac{\partial E}{\partial a_m} = q_m - t_m",
        "correct",
        5,
        None,
    ),
    ("softmax-cross-entropy-gradient", [], r"\frac{\partial E}{\partial a_m} = q_m", "wrong", None, None),
    ("svm-dual", [], r"\boldsymbol{\beta} = \sum_{n=1}^{N} a_n t_n \mathbf{x}_n", "correct", 4, None),
    ("svm-dual", [], r"\boldsymbol{\beta} = \sum_{n=1}^{N} a_n \mathbf{x}_n", "wrong", None, None),
    (
        "ols-closed-form",
        [],
        r"\frac{\partial RSS}{\partial\beta} = -2\mathbf{X}^\top(\mathbf{y} - \mathbf{X}\beta)",
        "correct",
        4,
        None,
    ),
    (
        "ols-closed-form",
        [],
        r"\frac{\partial RSS}{\partial\beta} = -2\mathbf{X}(\mathbf{y} - \mathbf{X}\beta)",
        "wrong",
        None,
        None,
    ),
    (
        "kl-divergence-nonnegative",
        [],
        r"\sum_{x} P(x)\log\frac{Q(x)}{P(x)} \le \log\sum_{x} P(x)\frac{Q(x)}{P(x)}",
        "correct",
        3,
        None,
    ),
    (
        "kl-divergence-nonnegative",
        [],
        r"\sum_{x} P(x)\log\frac{Q(x)}{P(x)} \ge \log\sum_{x} P(x)\frac{Q(x)}{P(x)}",
        "wrong",
        None,
        None,
    ),
    ("dpo-loss", [], r"L = -\log\sigma(\hat{r}_w - \hat{r}_l)", "correct", 6, None),
    ("dpo-loss", [], r"L = -\log\sigma(\hat{r}_l - \hat{r}_w)", "wrong", None, None),
    # expectations under a distribution written as sums (Goodfellow et al. eq. 3.50)
    (
        "kl-divergence-nonnegative",
        [],
        r"D_{KL}(P\|Q) = \mathbb{E}_{x \sim P}[\log\frac{P(x)}{Q(x)}]",
        "correct",
        1,
        None,
    ),
    (
        "kl-divergence-nonnegative",
        [],
        r"D_{KL}(P\|Q) = \mathbb{E}_{x \sim Q}[\log\frac{P(x)}{Q(x)}]",
        "wrong",
        None,
        None,
    ),
    ("kl-divergence-nonnegative", [], r"-D(P\|Q) = E_{P}[\ln\frac{Q(x)}{P(x)}]", "correct", 2, None),
    ("kl-divergence-nonnegative", [], r"-D(P\|Q) = E_{P}[\ln\frac{P(x)}{Q(x)}]", "wrong", 2, "sign flip"),
    ("kl-cross-entropy-relation", [], r"H(P,Q) = -\mathbb{E}_{x\sim P}[\log Q(x)]", "correct", 1, None),
    ("kl-cross-entropy-relation", [], r"H(P,Q) = -\mathbb{E}_{x\sim Q}[\log P(x)]", "wrong", None, None),
    ("kl-cross-entropy-relation", [], r"D(P\|Q) = \mathbb{E}_{P}[\log P - \log Q]", "correct", None, None),
    # Unicode accents and plain-text decorations (ŷ, μ̂, σ̂², x̄, wᵀ, y_hat, sigma_hat)
    ("logistic-regression-gradient", [], "ŷ = σ(wᵀx + b)", "correct", 1, None),
    ("logistic-regression-gradient", [], "ŷ = σ(−wᵀx)", "wrong", None, None),
    ("logistic-regression-gradient", [], r"y_hat = \sigma(w^T x)", "correct", 1, None),
    ("gaussian-mle", [], "σ̂² = \\frac{1}{n}\\sum_{i=1}^{n}(x_i − μ̂)^2", "correct", 6, None),
    ("gaussian-mle", [], r"sigma_hat^2 = \frac{1}{n-1}\sum_{i=1}^{n}(x_i-\mu_hat)^2", "wrong", 6, "n vs n-1"),
    ("gaussian-mle", [], "μ̂ = x̄", "correct", 4, None),
    ("bernoulli-mle", [], "θ̂ = \\frac{1}{n}\\sum_{i=1}^{n} x_i", "correct", 6, None),
    ("bernoulli-mle", [], "p̂ = \\frac{1}{n-1}\\sum_{i=1}^{n} x_i", "wrong", 6, "n vs n-1"),
]


#: the cards of the deck when the table was first generated (31); later cards get their own random stream
FIRST_CARDS = frozenset(
    {
        "adam-bias-correction",
        "attention-shapes",
        "backprop-two-layer-mlp",
        "batchnorm-forward",
        "bayes-theorem",
        "bernoulli-mle",
        "bias-variance-decomposition",
        "conditional-probability-dice",
        "confidence-interval-mean",
        "dpo-loss",
        "elbo",
        "em-gmm",
        "gan-optimal-discriminator",
        "gaussian-mle",
        "information-gain",
        "kl-cross-entropy-relation",
        "kl-divergence-nonnegative",
        "kmeans-centroid-update",
        "logistic-regression-gradient",
        "logistic-regression-hessian",
        "map-gaussian-prior-l2",
        "newton-step-from-taylor",
        "ols-closed-form",
        "pca-via-svd",
        "residual-gradient",
        "rope-relative-position",
        "sample-variance-n-minus-1",
        "scaled-dot-product-attention",
        "sigmoid-derivative",
        "softmax-cross-entropy-gradient",
        "svm-dual",
    }
)


def _choice(card, rng: random.Random) -> dict:
    forms = written_forms(card)
    used: set[str] = set()
    choice = {}
    for name in sorted(forms):
        if rng.random() < 0.85:
            w = rng.choice(forms[name])
            if w not in used and w not in rules_for(card).families and w not in rules_for(card).names.kinds:
                choice[name] = w
                used.add(w)
    r = rules_for(card)
    written = " ".join(st.latex for st in card.steps) + " ".join(m.latex for m in card.mistakes)
    letters = [
        c
        for c in string.ascii_lowercase
        if c not in r.names.kinds
        and c not in r.indices
        and not any(c in w for w in used)
        and c not in "deo"
        and not re.search(rf"(?<![a-zA-Z\\]){c}(?![a-zA-Z])", written)
    ]
    index = {}
    free = set(r.free_letters)
    for idx in sorted(card.declarations.indices):
        shared = [x for x, b in r.indices.items() if b == r.indices[idx] and x != idx]
        if idx in free and shared:
            continue  # a free index with a same-range sibling: which letter it stands for is ambiguous
        if rng.random() < 0.6 and letters:
            index[idx] = letters.pop(rng.randrange(len(letters)))
    transposes = ["T", "top", "intercal"] + (["'"] if r.names.has_shapes else [])
    return {
        "choice": choice,
        "transpose": rng.choice(transposes),
        "ln": rng.random() < 0.5,
        "index": index,
        "superscript_index": rng.random() < 0.3 and bool(r.families),
    }


def build(variants: int = 2, seed: int = 11) -> list[dict]:
    """The cases: every card x ``variants`` notations x (checkable steps + mistakes), then the hand cases."""
    deck = load_deck()
    rng = random.Random(seed)
    cases: list[dict] = []
    # the cards of the first table draw from one stream (their cases stay as they were); a card added
    # later draws from its own stream, so adding a card never changes the other cards' cases
    first = [c for c in deck if c.id in FIRST_CARDS]
    later = [c for c in deck if c.id not in FIRST_CARDS]
    for card in first + later:
        own = rng if card.id in FIRST_CARDS else random.Random(f"{seed}:{card.id}")
        for v in range(variants):
            spec = _choice(card, own)

            def r(latex, spec=spec, card=card):
                return render_variant(
                    card,
                    latex,
                    spec["choice"],
                    transpose=spec["transpose"],
                    ln=spec["ln"],
                    index=spec["index"],
                    superscript_index=spec["superscript_index"],
                )

            note = f"variant {v + 1}: {spec}"
            for k, st in enumerate(card.steps, 1):
                if not st.checkable:
                    continue
                prev = [r(card.steps[k - 2].latex)] if k >= 2 else []
                cases.append(
                    {
                        "card": card.id,
                        "candidate": r(st.latex),
                        "previous": prev,
                        "expected": "correct",
                        "ref": k,
                        "notation": note,
                    }
                )
            for m in card.mistakes:
                prev = [r(s.latex) for s in card.steps[: m.after_step - 1]][-1:]
                cases.append(
                    {
                        "card": card.id,
                        "candidate": r(m.latex),
                        "previous": prev,
                        "expected": "wrong",
                        "diagnosis": m.diagnosis,
                        "ref": m.after_step,
                        "notation": note,
                    }
                )
    for cid, prev, latex, expected, ref, diag in HAND:
        c = {
            "card": cid,
            "candidate": latex,
            "previous": list(prev),
            "expected": expected,
            "notation": "hand-written",
        }
        if ref is not None:
            c["ref"] = ref
        if diag is not None:
            c["diagnosis"] = diag
        cases.append(c)
    return cases


def _toml_str(s: str) -> str:
    return (
        "'" + s + "'"
        if "'" not in s and "\n" not in s
        else '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    )


def write(path: Path = TABLE) -> int:
    cases = build()
    lines = [
        "# The notation table: steps written in other notations than their card's (generated by",
        "# tests/notation_cases.py from the cards' [notation] tables and the generic rules, plus hand-written",
        "# cases). expected: the verdict; ref: the reference step (a correct step matches it, a wrong one",
        "# imitates it); diagnosis: asserted when given; previous: the user's earlier steps.",
        "",
    ]
    for c in cases:
        lines.append("[[case]]")
        for key in ("card", "candidate", "expected", "ref", "diagnosis", "notation"):
            if key in c:
                lines.append(f"{key} = {c[key] if isinstance(c[key], int) else _toml_str(str(c[key]))}")
        lines.append("previous = [" + ", ".join(_toml_str(p) for p in c["previous"]) + "]")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return len(cases)


if __name__ == "__main__":
    print(write(), "cases written to", TABLE)
