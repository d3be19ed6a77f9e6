"""A correct step in the user's own model names the reference step it reduces to (issue 11 follow-up).

The user may add parameters the card does not have (a bias ``b``, an extra constant ``c``), write one
example (the summand, index dropped) or one component (``x_j``). Each step is judged in the user's model;
a correct step then names the reference step its value reduces to with the new parameters at 0, per
example and per component, so the run's milestones and result count it (``check --summary``, the
window's run judgement). Setting the new parameter to 0 only NAMES a step: a step that is right only at
b = 0 is wrong in the user's model and stays wrong, and a sign flip stays a sign flip."""

from __future__ import annotations

import json

import pytest

from tests._maths_support import _generous_limits, deck  # noqa: F401 (autouse fixture)
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.sessions.run import judge_run

LRG = "logistic-regression-gradient"
ONSITE = [
    r"\hat{y}=\sigma(w^Tx+b)",
    r"L=-[y\log\hat{y}+(1-y)\log(1-\hat{y})]",
    r"\frac{\partial L}{\partial w_j}=-(\frac{y}{\hat{y}}-\frac{1-y}{1-\hat{y}})\hat{y}(1-\hat{y})x_j",
    r"=(\hat{y}-y)x_j",
]
PLATT_U = [
    r"u_i=As_i+B+c",
    r"\hat{q}_i=\sigma(u_i)",
    r"L=-\sum_{i=1}^{n}(y_i\log\hat{q}_i+(1-y_i)\log(1-\hat{q}_i))",
    r"\frac{\partial L}{\partial A}=-\sum_{i=1}^{n}(\frac{y_i}{\hat{q}_i}-\frac{1-y_i}{1-\hat{q}_i})\hat{q}_i(1-\hat{q}_i)s_i",
    r"=\sum_{i=1}^{n}(\hat{q}_i-y_i)s_i",
    r"\frac{\partial L}{\partial B}=\sum_{i=1}^{n}(\hat{q}_i-y_i)",
]
LRH_B = [
    r"\hat{y}_i=\sigma(w^Tx_i+b)",
    r"L=-\sum_{i=1}^{n}(y_i\log\hat{y}_i+(1-y_i)\log(1-\hat{y}_i))",
    r"\nabla_w L=\sum_{i=1}^{n}(\hat{y}_i-y_i)x_i",
    r"\nabla^2_w L=\sum_{i=1}^{n}\hat{y}_i(1-\hat{y}_i)x_ix_i^T",
]
LRB_C = [
    r"\hat{y}_i=\sigma(w^Tx_i+b+c)",
    r"L=-\sum_{i=1}^{n}(y_i\log\hat{y}_i+(1-y_i)\log(1-\hat{y}_i))",
]
PLATT_PE = [r"\hat{q}=\sigma(As+B+c)", r"\ell=-(y\log\hat{q}+(1-y)\log(1-\hat{q}))"]

# (card, steps, expected (verdict, reference step) of the LAST step, expected diagnosis or None)
TABLE = [
    # a bias b, one example, component j: the onsite derivation; the last step is the card's result
    (LRG, ONSITE, ("correct", 6), None),
    (LRG, ONSITE[:3], ("correct", 4), None),
    # the same without the bias (per example and component only)
    (LRG, [s.replace("+b", "") for s in ONSITE], ("correct", 6), None),
    # the bias with the whole sum written (no per-example form)
    (
        LRG,
        [
            r"\hat{y}_i=\sigma(w^Tx_i+b)",
            r"L=-\sum_{i=1}^{n}(y_i\log\hat{y}_i+(1-y_i)\log(1-\hat{y}_i))",
            r"\nabla_w L=\sum_{i=1}^{n}(\hat{y}_i-y_i)x_i",
        ],
        ("correct", 6),
        None,
    ),
    # a sign-flipped last step stays wrong
    (LRG, ONSITE[:3] + [r"=(y-\hat{y})x_j"], ("wrong", None), "sign flip"),
    # right only at b = 0 (the card's model), wrong in the user's own model: stays wrong
    (LRG, ONSITE[:2] + [r"\frac{\partial L}{\partial w_j}=(\sigma(w^Tx)-y)x_j"], ("wrong", None), None),
    # a correct step the card has no step for: follows, and names none
    (LRG, ONSITE[:2] + [r"\frac{\partial L}{\partial b}=\hat{y}-y"], ("correct", None), None),
    # logistic-regression-hessian with a bias: gradient and Hessian as sums
    ("logistic-regression-hessian", LRH_B[:3], ("correct", 3), None),
    ("logistic-regression-hessian", LRH_B, ("correct", 5), None),
    (
        "logistic-regression-hessian",
        LRH_B[:2] + [r"\nabla_w L=\sum_{i=1}^{n}(\sigma(w^Tx_i)-y_i)x_i"],
        ("wrong", None),
        None,
    ),
    (
        "logistic-regression-hessian",
        LRH_B[:2] + [r"\nabla_w L=\sum_{i=1}^{n}(y_i-\hat{y}_i)x_i"],
        ("wrong", None),
        "sign flip",
    ),
    # platt-scaling with an extra constant c in a name of the user's own (u_i)
    ("platt-scaling", PLATT_U[:4], ("correct", 4), None),
    ("platt-scaling", PLATT_U[:5], ("correct", 5), None),
    ("platt-scaling", PLATT_U, ("correct", 6), None),
    (
        "platt-scaling",
        PLATT_U[:3] + [r"\frac{\partial L}{\partial B}=\sum_{i=1}^{n}(\sigma(As_i+B)-y_i)"],
        ("wrong", None),
        None,
    ),
    # platt-scaling per example (no index at all) with the constant
    ("platt-scaling", PLATT_PE + [r"\frac{\partial \ell}{\partial A}=(\hat{q}-y)s"], ("correct", 5), None),
    ("platt-scaling", PLATT_PE + [r"\frac{\partial \ell}{\partial B}=\hat{q}-y"], ("correct", 6), None),
    ("platt-scaling", PLATT_PE + [r"\frac{\partial \ell}{\partial A}=(y-\hat{q})s"], ("wrong", None), None),
    # logistic-regression-bias-gradient (the card has b) with another constant c
    (
        "logistic-regression-bias-gradient",
        LRB_C + [r"\frac{\partial L}{\partial b}=\sum_{i=1}^{n}(\hat{y}_i-y_i)"],
        ("correct", 7),
        None,
    ),
    (
        "logistic-regression-bias-gradient",
        LRB_C + [r"\frac{\partial L}{\partial b}=\sum_{i=1}^{n}(\sigma(w^Tx_i+b)-y_i)"],
        ("wrong", None),
        None,
    ),
]

_checkers: dict[str, CardChecker] = {}


def _run(card_id, steps):
    chk = _checkers.get(card_id)
    if chk is None:
        chk = _checkers[card_id] = CardChecker(deck().get(card_id))
    return chk, [chk.check(s, steps[:k]) for k, s in enumerate(steps)]


@pytest.mark.parametrize("card_id,steps,want,diagnosis", TABLE)
def test_the_last_step_names_the_reference_step_of_the_users_model(card_id, steps, want, diagnosis):
    _, vs = _run(card_id, steps)
    last = vs[-1]
    verdict, k = want
    assert last.verdict == verdict, last.message
    if verdict == "correct":
        assert last.reference_step == k, last.message
        assert all(v.verdict == "correct" for v in vs), [v.message for v in vs]
    if diagnosis is not None:
        assert last.diagnosis == diagnosis, last.message


@pytest.mark.parametrize(
    "card_id,steps,complete",
    [
        (LRG, ONSITE, True),
        (LRG, ONSITE[:3] + [r"=(y-\hat{y})x_j"], False),
        ("platt-scaling", PLATT_U, True),
        (
            "platt-scaling",
            PLATT_U[:3] + [r"\frac{\partial L}{\partial A}=\sum_{i=1}^{n}(\sigma(As_i+B)-y_i)s_i"],
            False,
        ),
    ],
)
def test_the_run_is_complete_only_when_the_users_model_reaches_the_result(card_id, steps, complete):
    chk, vs = _run(card_id, steps)
    run = judge_run(chk.card, vs)
    assert run.complete is complete, (run.headline(), [v.message for v in vs])
    assert run.reached_goal is complete


def test_the_message_says_how_the_step_reduces_to_the_reference_step():
    _, vs = _run(LRG, ONSITE)
    assert "with b = 0, per example, component j" in vs[-1].message
    assert vs[-1].message.endswith("it is reference step 6; skipped 5")


def test_check_summary_on_the_onsite_derivation(capsys):
    from whiteboard_app.cli import main

    assert main(["check", LRG, *ONSITE, "--json", "--summary"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["verdict"] for s in out["steps"]] == ["correct"] * 4
    assert out["steps"][-1]["reference_step"] == 6
    assert out["run"]["complete"] is True and out["run"]["missing_milestones"] == []
    assert main(["check", LRG, *ONSITE, "--summary"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "run: Derivation complete"


def test_only_a_sum_over_the_examples_has_a_per_example_form():
    # em-gmm: N_k = sum_i r_ik is not "per example" the summand of sum_k N_k = n (a sum over the mixture's
    # components): a correct step the chain has no step for names none
    steps = [
        r"r_{ik} = \frac{\pi_k\phi_{ik}}{\sum_{j=1}^{K}\pi_j\phi_{ij}}",
        r"N_k = \sum_{i=1}^{n} r_{ik}",
    ]
    _, vs = _run("em-gmm", steps)
    assert [v.verdict for v in vs] == ["correct", "correct"]
    assert vs[1].reference_step is None, vs[1].message
