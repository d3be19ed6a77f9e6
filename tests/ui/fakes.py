"""Fakes shared by the practice-view tests."""

from __future__ import annotations

from whiteboard_app.maths.checker import StepVerdict as Verdict


def fake_check(card):
    """A checker that knows only ``card``'s reference steps: a reference step is correct (matching its
    number), ``\\frac{d}{dz}\\lim`` cannot be checked, anything else is wrong with "sign flip"."""
    refs = [s.latex for s in card.steps]

    def check(c, latex, previous):
        if latex in refs:
            return Verdict(latex, "correct", refs.index(latex) + 1)
        if latex == "\\frac{d}{dz}\\lim":
            return Verdict(latex, "cannot_check", message="a limit")
        return Verdict(latex, "wrong", diagnosis="sign flip")

    return check
