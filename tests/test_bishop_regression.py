"""Bishop's regression letters (PRML 3.1-3.3: N data points, t_n targets, phi(x_n) features, alpha and beta
precisions, w_ML) on the OLS and MAP cards, which had no N nor phi(x_n): the steps were unparsed ("unknown name
N", "unknown name w_ML"). Their slips stay wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

E_MAP = r"E(\mathbf{w}) = \frac{\beta}{2}\sum_{n=1}^{N}\{t_n - \mathbf{w}^T\boldsymbol{\phi}(\mathbf{x}_n)\}^2 + \frac{\alpha}{2}\mathbf{w}^T\mathbf{w}"


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        ("map-gaussian-prior-l2", E_MAP, "correct"),
        (
            "map-gaussian-prior-l2",
            E_MAP.replace(r"\boldsymbol{\phi}(\mathbf{x}_n)", r"\boldsymbol{\phi}_n"),
            "correct",
        ),
        ("map-gaussian-prior-l2", E_MAP.replace("+ \\frac{\\alpha}", "- \\frac{\\alpha}"), "wrong"),
        (
            "map-gaussian-prior-l2",
            r"\mathbf{w}_{MAP} = (\mathbf{\Phi}^T\mathbf{\Phi} + \frac{\alpha}{\beta}\mathbf{I})^{-1}\mathbf{\Phi}^T\mathbf{t}",
            "correct",
        ),
        (
            "ols-closed-form",
            r"\mathbf{w}_{ML} = (\mathbf{\Phi}^T\mathbf{\Phi})^{-1}\mathbf{\Phi}^T\mathbf{t}",
            "correct",
        ),
        (
            "ols-closed-form",
            r"\mathbf{w}_{ML} = (\mathbf{\Phi}\mathbf{\Phi}^T)^{-1}\mathbf{\Phi}^T\mathbf{t}",
            "wrong",
        ),
        (
            "ols-closed-form",
            r"E_D(\mathbf{w}) = \frac{1}{2}\sum_{n=1}^{N}\{t_n - \mathbf{w}^T\boldsymbol{\phi}_n\}^2",
            "correct",
        ),
    ],
)
def test_bishop_regression_letters(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, v.message
