"""Pseudocode assignments (Ioffe & Szegedy 2015, Algorithm 1: ``\\mu_\\mathcal{B} \\leftarrow \\frac1m\\sum_i x_i``)
are read like ``:=``; they were unparsed ("cannot read \\leftarrow"). Slips written the same way stay wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

ALG1 = [
    r"\mu_\mathcal{B} \leftarrow \frac{1}{m}\sum_{i=1}^{m}x_i",
    r"\sigma^2_\mathcal{B} \leftarrow \frac{1}{m}\sum_{i=1}^{m}(x_i - \mu_\mathcal{B})^2",
    r"\hat{x}_i \leftarrow \frac{x_i - \mu_\mathcal{B}}{\sqrt{\sigma^2_\mathcal{B} + \epsilon}}",
    r"y_i \leftarrow \gamma\hat{x}_i + \beta \equiv \mathrm{BN}_{\gamma,\beta}(x_i)",
]


def test_batch_norm_algorithm_1_as_written():
    chk = card_checker("batchnorm-forward")
    for k, step in enumerate(ALG1):
        v = chk.check(step, ALG1[:k])
        assert (v.verdict, v.reference_step) == ("correct", k + 1), (step, v.message)


@pytest.mark.parametrize(
    "latex",
    [
        r"\hat{x}_i \gets \frac{x_i - \mu_\mathcal{B}}{\sqrt{\sigma^2_\mathcal{B} - \epsilon}}",
        r"\sigma^2_\mathcal{B} \leftarrow \frac{1}{m-1}\sum_{i=1}^{m}(x_i - \mu_\mathcal{B})^2",
        r"y_i \leftarrow \gamma\hat{x}_i - \beta",
    ],
)
def test_slips_in_assignments_stay_wrong(latex):
    assert card_checker("batchnorm-forward").check(latex, []).verdict == "wrong"
