"""A run is a derivation (issue 12): sessions/run.py judges the checker's per-step verdicts against the
card's milestones. The first tests use the real checker on the bundled deck; the rest use verdicts as
plain dicts (the shape of ``check --json``), so the rules themselves are tested without it."""

from __future__ import annotations

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.decks.schema import RefStep
from whiteboard_app.maths import check_derivation
from whiteboard_app.sessions.run import goal, judge_run, milestones

# a final answer only, as a candidate who memorised the result writes it (own wording, not the card's
# continuation lines), per card
FINAL_ONLY = {
    "softmax-cross-entropy-gradient": [r"\frac{\partial L}{\partial z_i} = p_i - y_i"],
    "sigmoid-derivative": [r"\frac{d\sigma}{dz} = \sigma(z)(1-\sigma(z))"],
    "logistic-regression-gradient": [r"\nabla_w L = X^T(p - y)"],
    "ols-closed-form": [r"\hat{w} = (X^TX)^{-1}X^Ty"],
    "kmeans-centroid-update": [r"\hat{\mu} = \frac{1}{n}\sum_{i=1}^{n} x_i"],
    "bernoulli-mle": [r"\hat{\theta} = \frac{1}{n}\sum_{i=1}^{n} x_i"],
    "bayes-theorem": [r"P(D|T) = \frac{1}{6}"],
    "conditional-probability-dice": [r"P(B|A) = \frac{1}{11}"],
    "map-gaussian-prior-l2": [r"\hat{w} = (X^T X + \lambda I)^{-1} X^T y"],
    "newton-step-from-taylor": [r"\Delta = -H^{-1} g", r"g^T\Delta = -g^T H^{-1} g < 0"],
    "gaussian-mle": [r"\hat{\mu} = \bar{x}", r"\hat{\sigma}^2 = \frac{1}{n}\sum_{i=1}^{n}(x_i-\hat{\mu})^2"],
    "scaled-dot-product-attention": [r"c = \frac{1}{\sqrt{d_k}}"],
    "sample-variance-n-minus-1": [r"E[s^2] = \sigma^2"],
    "information-gain": [r"IG(S) = 1 - \frac{3}{5}\log_2(6) + \frac{1}{2}\log_2(5)"],
}


@pytest.mark.parametrize("card_id", sorted(FINAL_ONLY))
def test_final_answer_only_is_not_complete_and_names_what_is_missing(card_id):
    card = deck().get(card_id)
    verdicts = check_derivation(card, FINAL_ONLY[card_id])
    assert all(v.verdict == "correct" for v in verdicts), [(v.verdict, v.message) for v in verdicts]
    run = judge_run(card, verdicts)
    assert run.reached_goal and not run.complete and run.unsupported
    assert run.missing_milestones
    shown_steps = {v.reference_step for v in verdicts}
    for m in run.missing_milestones:  # every missing milestone is a marked step nobody wrote, named in words
        assert card.steps[m.steps[0] - 1].milestone == m.kind
        assert not shown_steps & set(m.steps)
        assert f"reference step {m.steps[0]}" in m.label
    assert run.jumps and run.jumps[0].step == 1 and run.jumps[0].note.startswith("correct, but unsupported: ")
    named = [m for j in run.jumps for m in j.missing]
    assert sorted(named, key=lambda m: m.steps) == sorted(run.missing_milestones, key=lambda m: m.steps)
    assert "Correct, but unsupported" in run.headline()


def test_softmax_final_answer_asks_for_the_chain_rule_step():
    card = deck().get("softmax-cross-entropy-gradient")
    run = judge_run(card, check_derivation(card, [r"\frac{\partial L}{\partial z_i} = p_i - y_i"]))
    labels = [m.label for m in run.missing_milestones]
    assert "show the chain rule step (reference step 4)" in labels
    assert "write the objective (reference step 1)" in labels


def test_every_full_reference_chain_is_complete():
    for card in deck():
        verdicts = check_derivation(card, [s.latex for s in card.steps])
        run = judge_run(card, verdicts)
        assert run.complete, (
            card.id,
            [m.label for m in run.missing_milestones],
            [(v.verdict, v.reference_step) for v in verdicts],
        )
        assert not run.jumps


def _routine_skips():
    """(card id, routine step) for every unmarked step between two milestones whose next line does not
    continue it: dropping a line that the next ``= ...`` continues changes what that line means (the
    checker's reading of such continuations is issue 11's)."""
    out = []
    for card in deck():
        marked = sorted(k for m in milestones(card) for k in m.steps)
        for r in range(marked[0] + 1, marked[-1]):
            if r in marked or card.steps[r].latex.lstrip().startswith("="):
                continue
            out.append(pytest.param(card.id, r, id=f"{card.id}-skip{r}"))
    return out


@pytest.mark.parametrize("card_id,skipped", _routine_skips())
def test_skipping_one_routine_step_between_milestones_is_complete(card_id, skipped):
    card = deck().get(card_id)
    steps = [s.latex for k, s in enumerate(card.steps, 1) if k != skipped]
    run = judge_run(card, check_derivation(card, steps))
    assert run.complete, [m.label for m in run.missing_milestones]


def test_there_are_many_routine_skips():
    assert len(_routine_skips()) >= 30


# --- the rules, with verdicts as check --json dicts -------------------------------------------------
def v(verdict: str, k: int | None) -> dict:
    return {
        "latex": "x",
        "verdict": verdict,
        "reference_step": k,
        "diagnosis": None,
        "shape": None,
        "ms": 1.0,
    }


class _Card:
    def __init__(self, *steps: tuple[str, str | None, bool]):
        self.steps = tuple(
            RefStep(latex=latex, rule=f"rule {k}", milestone=m, checkable=chk)
            for k, (latex, m, chk) in enumerate(steps, 1)
        )


# 1 objective, 2 routine, 3 rule, 4 result, 5 "= ..." result written another way, 6 routine extra
CARD = _Card(
    ("L = a", "objective", True),
    ("L = b", None, True),
    ("L' = c", "rule", True),
    ("L' = d", "result", True),
    ("= e", "result", True),
    ("f = g", None, True),
)


def test_a_continued_result_is_one_milestone_shown_either_way():
    ms = milestones(CARD)
    assert [(m.kind, m.steps) for m in ms] == [("objective", (1,)), ("rule", (3,)), ("result", (4, 5))]
    assert goal(CARD).steps == (4, 5)
    for last in (4, 5):
        run = judge_run(CARD, [v("correct", 1), v("correct", 3), v("correct", last)])
        assert run.complete and run.reached_goal and not run.jumps


def test_wrong_and_unparsed_steps_show_nothing():
    run = judge_run(CARD, [v("correct", 1), v("wrong", 3), v("unparsed", None), v("correct", 5)])
    assert run.reached_goal and not run.complete
    assert [m.steps for m in run.missing_milestones] == [(3,)]
    assert [(j.step, j.reference_step) for j in run.jumps] == [(4, 5)]
    assert run.note_for(3) == "correct, but unsupported: show the rule 3 step (reference step 3)"
    assert run.note_for(0) is None


def test_walking_back_to_a_milestone_mends_the_jump():
    run = judge_run(CARD, [v("correct", 5)])
    assert run.unsupported and len(run.jumps) == 1 and len(run.jumps[0].missing) == 2
    run = judge_run(CARD, [v("correct", 5), v("correct", 1), v("correct", 3)])
    assert run.complete and not run.jumps


def test_routine_steps_may_be_skipped_and_extras_do_not_matter():
    assert judge_run(CARD, [v("correct", 1), v("correct", 3), v("correct", 4)]).complete  # no 2, no 6
    run = judge_run(CARD, [v("correct", 1), v("correct", 2), v("correct", 6)])
    assert not run.reached_goal and not run.complete
    assert run.headline().startswith("Not complete yet: ")


def test_cannot_check_shows_only_a_step_the_card_does_not_check():
    card = _Card(("L = a", "objective", False), ("L' = c", "rule", True), ("x = d", "result", True))
    run = judge_run(card, [v("cannot_check", 1), v("cannot_check", 2), v("correct", 3)])
    assert [m.steps for m in run.missing_milestones] == [
        (2,)
    ]  # a time-out on a checkable step is not evidence


def test_odd_verdicts_show_nothing_and_never_raise():
    run = judge_run(
        CARD,
        [
            None,
            v("correct", 99),
            v("correct", 0),
            {"verdict": "correct", "reference_step": "3"},
            v("correct", True),
        ],
    )
    assert not run.reached_goal and len(run.missing_milestones) == 3


def test_card_without_milestones_has_its_last_step_as_goal():
    card = _Card(("a = b", None, True), ("= c", None, True))
    assert [(m.kind, m.steps) for m in milestones(card)] == [("result", (2,))]
    assert judge_run(card, [v("correct", 2)]).complete
    assert not judge_run(card, [v("correct", 1)]).complete


def test_json_shape():
    run = judge_run(CARD, [v("correct", 4)], answer_changes=2, hints=1, reveals=3)
    out = run.to_json()
    assert set(out) == {
        "complete",
        "reached_goal",
        "missing_milestones",
        "jumps",
        "answer_changes",
        "hints",
        "reveals",
    }
    assert (out["complete"], out["reached_goal"], out["answer_changes"], out["hints"], out["reveals"]) == (
        False,
        True,
        2,
        1,
        3,
    )
    assert [m["reference_steps"] for m in out["missing_milestones"]] == [[1], [3]]
    assert out["jumps"] == [
        {
            "step": 1,
            "reference_step": 4,
            "missing": ["write the objective (reference step 1)", "show the rule 3 step (reference step 3)"],
        }
    ]


def test_a_milestone_inside_a_chain_counts():
    """The chain-rule step and the answer in one line: the chain's prefixes are checked too."""
    from whiteboard_app import pipeline

    card = deck().get("softmax-cross-entropy-gradient")
    steps = [
        r"L = -\sum_{k=1}^{K} y_k \log p_k",
        r"\log p_k = z_k - \log\sum_{j=1}^{K} e^{z_j}",
        r"L = -\sum_{k=1}^{K} y_k z_k + \log\sum_{j=1}^{K} e^{z_j}",
        r"\frac{\partial L}{\partial z_i} = -y_i + \frac{e^{z_i}}{\sum_{j=1}^{K} e^{z_j}} = p_i - y_i",
    ]
    verdicts = check_derivation(card, steps)
    assert [v.reference_step for v in verdicts][-1] == 5
    assert not judge_run(card, verdicts).complete  # the last expression alone matches step 5
    also = [pipeline.intermediate_matches(card, s, steps[:i]) for i, s in enumerate(steps)]
    assert also[-1] == [4] and also[:3] == [[], [], []]
    run = judge_run(card, verdicts, also=also)
    assert run.complete and not run.jumps
    # a wrong step's chain shows nothing
    assert judge_run(
        card, [dict(v.to_json(), verdict="wrong") if i == 3 else v for i, v in enumerate(verdicts)], also=also
    ).missing_milestones


def test_chain_prefixes():
    from whiteboard_app.pipeline import chain_prefixes

    assert chain_prefixes(r"a = \frac{b}{c = d} = e") == [r"a = \frac{b}{c = d}"]
    assert chain_prefixes("= a = b = c") == ["= a", "= a = b"]
    assert (
        chain_prefixes("a = b") == []
        and chain_prefixes("a := b = c") == []
        and chain_prefixes("a = = b") == []
    )
