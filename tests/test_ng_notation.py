"""Ng's deeplearning.ai backprop (layers in brackets, gradients named dz^{[l]}, dW^{[l]}): ``a^{[1]T}`` and
``W^{[2]T}`` were unparsed ("unknown name T"), ``dz^{[2]} = a^{[2]} - y`` a false "wrong: missing factor" (d read
as the card's size d). Slips in the same letters stay wrong."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)

NG = [
    r"dz^{[2]} = a^{[2]} - y",
    r"dW^{[2]} = dz^{[2]}a^{[1]T}",
    r"dz^{[1]} = W^{[2]T}dz^{[2]} \odot \sigma'(z^{[1]})",
    r"dW^{[1]} = dz^{[1]}x^T",
]


def test_ng_backprop_chain():
    chk = card_checker("backprop-softmax-cross-entropy")
    for k, step in enumerate(NG):
        v = chk.check(step, NG[:k])
        assert v.verdict == "correct", (step, v.message)


@pytest.mark.parametrize(
    "latex",
    [
        r"dz^{[2]} = y - a^{[2]}",
        r"dW^{[2]} = dz^{[2]}a^{[1]}",
        r"dz^{[1]} = W^{[2]}dz^{[2]} \odot \sigma'(z^{[1]})",
        r"\frac{\partial L}{\partial a^{[1]}} = W^{[2]}(a^{[2]} - y)",
    ],
)
def test_ng_slips_stay_wrong(latex):
    assert card_checker("backprop-softmax-cross-entropy").check(latex, []).verdict == "wrong"


def test_a_transposed_layer_is_read():
    v = card_checker("backprop-softmax-cross-entropy").check(
        r"\frac{\partial L}{\partial W^{[2]}} = (a^{[2]} - y)a^{[1]T}", []
    )
    assert v.verdict == "correct", v.message
