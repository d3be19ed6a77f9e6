"""A primed summation letter (Murphy PML 8.7: ``r_{ik} = \\pi_k N(x_i|..)/\\sum_{k'}\\pi_{k'}N(x_i|..)``) is an index
letter of its own; a prime outside subscripts is a derivative (session 11, the lead's probes)."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, card_checker  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.notation import _primed_indices


def test_primed_letters_in_subscripts_become_unused_letters():
    toks = ["\\sum", "_", "{", "k", "'", "=", "1", "}", "\\pi", "_", "{", "k", "'", "}", "j"]
    out, changed = _primed_indices(toks)
    assert changed
    assert "'" not in out
    # the new letter is neither k nor j (both used in the step), the same in the sum and the subscript
    f = out[3]
    assert f not in ("k", "j")
    assert out == ["\\sum", "_", "{", f, "=", "1", "}", "\\pi", "_", "{", f, "}", "j"]


def test_a_prime_outside_subscripts_is_a_derivative_and_stays():
    toks = ["f", "'", "(", "x", ")", "+", "\\sigma", "'", "(", "z", ")"]
    assert _primed_indices(toks) == (toks, False)


@pytest.mark.parametrize(
    "step,verdict",
    [
        (r"r_{ik} = \frac{\pi_k\phi_{ik}}{\sum_{k'=1}^{K}\pi_{k'}\phi_{ik'}}", "correct"),
        (r"r_{ik} = \frac{\pi_k\phi_{ik}}{\sum_{k^\prime=1}^{K}\pi_{k^\prime}\phi_{ik^\prime}}", "correct"),
        # the slip: the numerator's pi_k inside the sum over k'
        (r"r_{ik} = \frac{\pi_k\phi_{ik}}{\sum_{k'=1}^{K}\pi_{k}\phi_{ik'}}", "wrong"),
    ],
)
def test_em_responsibilities_with_a_primed_summation_letter(step, verdict):
    assert card_checker("em-gmm").check(step, []).verdict == verdict
