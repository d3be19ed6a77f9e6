"""Shape claims (``Q = XW_Q \\in \\mathbb{R}^{n\\times d_k}``, ``QK^\\top \\in \\mathbb{R}^{n\\times n}``), the way
shapes are written on a whiteboard, are checked against the evaluated shape; they were "cannot check" (an
undecidable relation), so a wrong shape passed unremarked. The relations before the claim are checked too."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize(
    "card_id,latex,verdict",
    [
        ("attention-shapes", r"Q = XW_Q \in \mathbb{R}^{n\times d_k}", "correct"),
        ("attention-shapes", r"QK^\top \in \mathbb{R}^{n\times n}", "correct"),
        ("attention-shapes", r"QK^\top \in \mathbb{R}^{d_k\times d_k}", "wrong"),
        ("attention-shapes", r"O = AV \in \mathbb{R}^{n \times d_v}", "correct"),
        ("attention-shapes", r"O \in \mathbb{R}^{n \times d}", "wrong"),
        ("attention-shapes", r"Q = XW_K \in \mathbb{R}^{n\times d_k}", "wrong"),  # the relation is wrong
        ("ols-closed-form", r"X^Ty \in \mathbb{R}^{d}", "correct"),
        ("ols-closed-form", r"y^Ty \in \mathbb{R}", "correct"),
        ("ols-closed-form", r"X^Ty \in \mathbb{R}^{n}", "wrong"),
    ],
)
def test_shape_claims(card_id, latex, verdict):
    v = card_checker(card_id).check(latex, [])
    assert v.verdict == verdict, v.message
    if verdict == "wrong" and "XW_K" not in latex:
        assert v.diagnosis == "wrong shape" and " not " in v.message


def test_an_unreadable_set_stays_cannot_check():
    v = card_checker("attention-shapes").check(r"Q \in \mathcal{S}", [])
    assert v.verdict in ("cannot_check", "unparsed")
