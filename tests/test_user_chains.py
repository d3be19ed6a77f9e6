"""Issue 11, the checker's part: the user's own names, continuations read as meant, derivatives judged on
their merits, skipped steps, ``compare`` needing an identity, the sign domain, tautologies and a slow step
that costs only itself.

The table tests/data/user_chains_table.toml holds whole derivation chains in notations no card shows, each
defining names of its own; every chain is checked step by step, and each ``[[chain.wrong]]`` entry makes a
second chain with exactly one wrong step.
"""

from __future__ import annotations

import re
import time

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    card_checker,
    chain_table,
    chain_variants,
    checked_chain,
    deck,
    variant_ids,
)
from whiteboard_app.latex import clean, split_relations
from whiteboard_app.maths import check_derivation, check_step, compare, worker
from whiteboard_app.maths.checker import CardChecker
from whiteboard_app.maths.worker import compare_in_process

CHAINS = chain_table("user_chains_table")


VARIANTS = chain_variants(CHAINS, stop_at_wrong=False)


def test_the_table_is_big_enough_and_half_of_its_chains_have_one_wrong_step():
    steps = sum(len(v[1]) for v in VARIANTS)
    assert steps >= 130
    assert len({ch["card"] for ch in CHAINS}) >= 15
    one_wrong = [v for v in VARIANTS if v[3] is not None]
    assert len(one_wrong) >= len(VARIANTS) / 2
    assert all(v[2].count("wrong") == 1 for v in one_wrong)
    assert all(ch.get("defines") for ch in CHAINS)  # every chain defines names of its own


@pytest.mark.parametrize("ch,steps,verdicts,at,diagnosis", VARIANTS, ids=variant_ids(VARIANTS))
def test_chain_step_by_step(ch, steps, verdicts, at, diagnosis):
    for k, v in checked_chain(ch, steps, verdicts, at, diagnosis):
        if at is None and str(k + 1) in ch.get("defines", {}):
            assert v.defines == ch["defines"][str(k + 1)], v.message
            assert v.message.startswith("defines")
        if v.verdict != "correct":
            assert v.defines is None


# ------------------------------------------------------------------ the onsite derivation (issue 11, first item)
ONSITE = [
    r"\hat{y} = \sigma(w^T x + b)",
    r"L = -[y\log\hat{y} + (1-y)\log(1-\hat{y})]",
    r"\frac{\partial L}{\partial w_j} = -(\frac{y}{\hat{y}} - \frac{1-y}{1-\hat{y}})\hat{y}(1-\hat{y})x_j",
    r"= (\hat{y}-y)x_j",
]


def test_the_onsite_logistic_derivation_is_correct_step_by_step_through_check():
    card = deck().get("logistic-regression-gradient")
    vs = check_derivation(card, ONSITE)
    assert [v.verdict for v in vs] == ["correct"] * 4, [v.message for v in vs]
    assert vs[0].defines == r"\hat{y}" and "b is a new parameter" in vs[0].message
    assert vs[1].defines == "L" and "per example" in vs[1].message
    assert vs[2].message.startswith("follows: derivative of L")
    # the user's model (bias b, one example, component j) reduces to the card's chain: steps 4 and 6 (result)
    assert [v.reference_step for v in vs] == [1, 2, 4, 6]
    last = check_step(card, r"= (y-\hat{y})x_j", ONSITE[:3])
    assert (last.verdict, last.diagnosis) == ("wrong", "sign flip")
    js = vs[0].to_json()
    assert js["defines"] == r"\hat{y}" and js["skipped"] is None and js["note"] is None


def test_a_wrong_loss_is_not_accepted_as_the_users_own_definition():
    chk = card_checker("logistic-regression-gradient")
    prev = [ONSITE[0]]
    v = chk.check(r"L = [y\log\hat{y} + (1-y)\log(1-\hat{y})]", prev)  # the log-likelihood, not its negative
    assert v.verdict == "wrong" and v.defines is None
    v = chk.check(r"L = -[y\log\hat{y} + (1-y)\log(\hat{y})]", prev)
    assert v.verdict == "wrong"


# ------------------------------------------------------------------ definitions: messages
@pytest.mark.parametrize(
    "card_id,steps,diagnosis,words",
    [
        (
            "sigmoid-derivative",
            [r"s = \sigma(z)", r"s = 2z"],
            "redefinition",
            "already defined by your step 1",
        ),
        (
            "sigmoid-derivative",
            [r"s = \sigma(z)", r"s = -\sigma(z)"],
            "sign flip",
            "already defined by your step 1",
        ),
        ("sigmoid-derivative", [r"u = 1 + u^2"], "circular definition", "appears on its own right side"),
        ("ols-closed-form", [r"r = y - w"], "shape mismatch", "inconsistent shapes"),
        ("ols-closed-form", [r"r := X + w"], "shape mismatch", "inconsistent shapes"),
    ],
)
def test_redefinitions_circular_and_shape_inconsistent_definitions_say_so(card_id, steps, diagnosis, words):
    chk = card_checker(card_id)
    v = chk.check(steps[-1], steps[:-1])
    assert (v.verdict, v.diagnosis) == ("wrong", diagnosis), v.message
    assert words in v.message


def test_restating_a_definition_with_the_same_value_is_correct():
    chk = card_checker("sigmoid-derivative")
    v = chk.check(r"s = \frac{1}{1+e^{-z}}", [r"s = \sigma(z)"])
    assert v.verdict == "correct" and v.defines is None


def test_let_and_colon_equals_define_too():
    chk = card_checker("gaussian-mle")
    for latex in (r"\text{let } q = \sigma^2", r"q := \sigma^2", r"\mathrm{let}\ q = \sigma^2"):
        v = chk.check(latex)
        assert (v.verdict, v.defines) == ("correct", "q"), (latex, v.message)
        v2 = chk.check(r"\frac{\partial \ell}{\partial \mu} = \frac{1}{q}\sum_{i=1}^{n}(x_i - \mu)", [latex])
        assert v2.verdict == "correct" and v2.reference_step == 2, v2.message


def test_a_definition_may_introduce_one_new_parameter_not_several():
    chk = card_checker("sigmoid-derivative")
    assert chk.check(r"h = \sigma(z + c)").verdict == "correct"
    v = chk.check(r"h = \sigma(a z + c)")
    assert v.verdict == "unparsed" and "at most one new parameter" in v.message


# ------------------------------------------------------------------ continuations read as meant
def test_a_continuation_of_a_skipped_left_side_says_what_to_write():
    chk = card_checker("sigmoid-derivative")
    v = chk.check(r"= \frac{e^{-z}}{(1+e^{-z})^2}", [r"\sigma(z) = (1+e^{-z})^{-1}"])
    assert v.verdict == "correct" and v.diagnosis == "missing left side" and v.reference_step == 3
    assert v.note == r"write what this equals: \frac{d\sigma}{dz} = …"


def test_a_matrix_continuation_after_the_model_line_is_the_gradient_not_a_shape_error():
    chk = card_checker("logistic-regression-gradient")
    v = chk.check(r"= X^T(p-y)", [r"p_i = \sigma(w^T x_i)"])
    assert v.verdict == "correct" and v.reference_step == 7, v.message
    assert v.note == r"write what this equals: \nabla_w L = …"


def test_a_continuation_that_matches_nothing_stays_wrong():
    chk = card_checker("sigmoid-derivative")
    v = chk.check(r"= \frac{e^{-z}}{(1+e^{-z})^3}", [r"\sigma(z) = (1+e^{-z})^{-1}"])
    assert v.verdict == "wrong" and v.note is None


# ------------------------------------------------------------------ derivatives on their merits, skipped steps
@pytest.mark.parametrize(
    "card_id,latex,previous,words",
    [
        (
            "sigmoid-derivative",
            r"\frac{d^2\sigma}{dz^2} = \sigma(z)(1-\sigma(z))(1-2\sigma(z))",
            [],
            "follows: derivative of",
        ),
        ("sigmoid-derivative", r"\frac{d}{dz}\log\sigma(z) = 1 - \sigma(z)", [], "follows: derivative of"),
        (
            "bernoulli-mle",
            r"\ell'(\theta) = \frac{\sum_{i=1}^{n}x_i}{\theta} - \frac{n - \sum_{i=1}^{n}x_i}{1-\theta}",
            [],
            "matches reference step 4",
        ),
        ("ols-closed-form", r"\frac{\partial L}{\partial w_j} = 2(X^TXw - X^Ty)_j", [], None),
        (
            "gaussian-mle",
            r"\frac{\partial^2\ell}{\partial\mu^2} = -\frac{n}{\sigma^2}",
            [],
            "follows: derivative of",
        ),
        (
            "sigmoid-derivative",
            r"\frac{dg}{dz} = 2\sigma(z)(1-\sigma(z))",
            [r"g = 2\sigma(z)"],
            "follows: derivative of g",
        ),
    ],
)
def test_derivatives_not_in_the_reference_chain_are_judged_on_their_merits(card_id, latex, previous, words):
    chk = card_checker(card_id)
    v = chk.check(latex, previous)
    if words is None:  # a component of a parenthesised vector is not read: never "wrong"
        assert v.verdict in ("correct", "unparsed"), v.message
        return
    assert v.verdict == "correct", v.message
    assert words in v.message


@pytest.mark.parametrize(
    "card_id,latex",
    [
        ("sigmoid-derivative", r"\frac{d^2\sigma}{dz^2} = \sigma(z)(1-\sigma(z))(1+2\sigma(z))"),
        ("gaussian-mle", r"\frac{\partial^2\ell}{\partial\mu^2} = \frac{n}{\sigma^2}"),
        ("sigmoid-derivative", r"\frac{d}{dz}\log\sigma(z) = \sigma(z)"),
    ],
)
def test_wrong_derivatives_not_in_the_chain_are_wrong(card_id, latex):
    assert card_checker(card_id).check(latex).verdict == "wrong"


def test_skipping_routine_steps_stays_correct_and_names_them():
    chk = card_checker("sigmoid-derivative")
    steps = [r"\sigma(z) = (1+e^{-z})^{-1}", r"\frac{d\sigma}{dz} = \sigma(z)(1-\sigma(z))"]
    chk.check(steps[0])
    v = chk.check(steps[1], steps[:1])
    assert v.verdict == "correct" and v.reference_step == 5 and v.skipped == [2, 3, 4]
    assert "skipped 2-4" in v.message
    v = chk.check(r"\frac{d\sigma}{dz} = \frac{e^{-z}}{(1+e^{-z})^2}", steps[:1])
    assert v.skipped == [2] and "skipped 2" in v.message


def test_a_step_solved_from_the_previous_one_is_correct_with_labels_of_plus_or_minus_one():
    card = deck().get("svm-dual")
    assert card.declarations.symbols["y"] == "sign"
    vs = check_derivation(card, [r"y_s(w^Tx_s + b) = 1", r"b = y_s - w^Tx_s"])
    assert vs[0].verdict == "cannot_check" and vs[0].diagnosis == "condition"
    assert vs[1].verdict == "correct" and "solved for b" in vs[1].message
    assert check_step(card, r"b = -y_s - w^Tx_s", [r"y_s(w^Tx_s + b) = 1"]).verdict == "wrong"
    assert check_step(card, r"y_i^2 = 1").verdict == "correct"
    assert check_step(card, r"y_iy_i\alpha_i = \alpha_i").verdict == "correct"


# ------------------------------------------------------------------ compare
def _solution_cards():
    return [c for c in deck() if c.declarations.solutions]


def _expressions_in_unknowns(card):
    """Every side of a reference equation that mentions a declared unknown (gradients, residuals...)."""
    out = []
    for st in card.steps:
        if not st.checkable:
            continue
        try:
            pieces, rels = split_relations(clean(st.latex))
        except Exception:  # noqa: BLE001 - a reference step the splitter refuses is simply skipped
            continue
        if not rels or any(r != "=" for r in rels):
            continue
        for p in pieces:
            p = p.strip()
            if (
                p
                and p not in ("0", "1")
                and any(
                    re.search(rf"(?<![a-zA-Z\\]){re.escape(u)}(?![a-zA-Z])|\\{u}\b", p)
                    for u in card.declarations.solutions
                )
            ):
                out.append(p)
    return out


@pytest.mark.parametrize("card", _solution_cards(), ids=lambda c: c.id)
def test_compare_never_equates_an_expression_with_its_sign_flipped_half(card):
    chk = CardChecker(card, prove=False)
    exprs = _expressions_in_unknowns(card)
    assert exprs, card.id
    decided = 0
    for e in exprs:
        same = compare_in_process(chk, e, e)
        if same.equivalent is None:
            continue
        if compare_in_process(chk, e, "0").equivalent:
            continue  # identically 0 (a sum of deviations from the mean): its multiples are 0 too
        decided += 1
        assert same.equivalent is True, e
        c = compare_in_process(chk, e, rf"-\frac{{1}}{{2}}\left({e}\right)")
        assert c.equivalent is False, f"{card.id}: {e}"
        c = compare_in_process(chk, e, rf"-\left({e}\right)")
        assert (c.equivalent, c.diagnosis) == (False, "sign flip"), f"{card.id}: {e}"
    assert decided >= 1


@pytest.mark.parametrize(
    "card_id,a,b",
    [
        ("kmeans-centroid-update", r"-2\sum_i(x_i-\mu)", r"2\sum_i(x_i-\mu)"),
        ("scaled-dot-product-attention", r"c^2d_k-1", r"c\sqrt{d_k}-1"),
        (
            "gan-optimal-discriminator",
            r"\frac{p_{data}}{D} - \frac{p_g}{1 - D}",
            r"\frac{p_{data}}{D} + \frac{p_g}{1 - D}",
        ),
    ],
)
def test_compare_two_plain_expressions_needs_an_identity(card_id, a, b):
    c = compare(deck().get(card_id), a, b)
    assert c.equivalent is False


def test_compare_still_accepts_relations_in_the_unknown():
    card = deck().get("kmeans-centroid-update")
    assert compare(card, r"-2\sum_{i=1}^{n}(x_i - \mu) = 0", r"\sum_{i=1}^{n} x_i = n\mu").equivalent is True


def test_compare_does_not_decide_where_check_cannot():
    card = deck().get("logistic-regression-gradient")
    v = check_step(card, r"\frac{dn}{dw} = 0")
    assert v.verdict == "cannot_check"
    assert compare(card, r"\frac{dn}{dw}", r"0").equivalent is None
    sig = deck().get("sigmoid-derivative")
    assert compare(sig, "z < z", "z < z").equivalent is None


# ------------------------------------------------------------------ tautologies (issue 15 item 7)
@pytest.mark.parametrize(
    "latex,verdict,diagnosis",
    [
        ("z<z", "wrong", "false relation"),
        ("z > z", "wrong", "false relation"),
        ("z = z", "cannot_check", "tautology"),
        (r"\sigma(z) = \sigma(z)", "cannot_check", "tautology"),
        ("z = z = z", "cannot_check", "tautology"),
        (r"z \le z", "cannot_check", "tautology"),
    ],
)
def test_a_tautology_is_not_a_step(latex, verdict, diagnosis):
    v = check_step(deck().get("sigmoid-derivative"), latex)
    assert (v.verdict, v.diagnosis) == (verdict, diagnosis), v.message


def test_an_identity_rewrite_is_still_a_step():
    v = check_step(deck().get("sigmoid-derivative"), r"(1+e^{-z})^{-1} = \frac{1}{1+e^{-z}}")
    assert v.verdict == "correct"


# ------------------------------------------------------------------ a slow step costs only itself
def test_a_step_that_passes_the_time_limit_costs_only_itself(monkeypatch):
    card = deck().get("sigmoid-derivative")
    slow = r"\frac{d}{dz}\left(\sigma(z)^{3} + \sigma(z)^{2}\right) = 3\sigma(z)^2 + 2\sigma(z)"
    worker.get_worker().kill()  # a cold worker: the first request must load the card
    check_step(card, r"\sigma(z) = (1+e^{-z})^{-1}")  # load the card under the generous limits
    monkeypatch.setattr(worker, "PARSE_TIMEOUT_S", 0.0005)
    v = check_step(card, slow, [r"\sigma(z) = (1+e^{-z})^{-1}"])
    assert v.verdict in ("unparsed", "cannot_check") and "time limit" in v.message
    monkeypatch.setattr(worker, "PARSE_TIMEOUT_S", 30.0)
    later = [r"\sigma(z) = (1+e^{-z})^{-1}", slow]
    steps = [r"\frac{d\sigma}{dz} = \frac{e^{-z}}{(1+e^{-z})^2}", r"= \sigma(z)(1-\sigma(z))"]
    t0 = time.perf_counter()
    vs = [check_step(card, s, later + steps[:k]) for k, s in enumerate(steps)]
    assert [v.verdict for v in vs] == ["correct", "correct"]
    assert time.perf_counter() - t0 < 20
    sent = worker._slow_steps[worker._fingerprint(card)]
    assert slow in sent


def test_a_derivative_of_very_high_order_is_refused_at_once():
    card = deck().get("sigmoid-derivative")
    t0 = time.perf_counter()
    vs = check_derivation(
        card,
        [
            r"\frac{d^{1000}\sigma}{dz^{1000}}",
            r"\sigma(z) = (1+e^{-z})^{-1}",
            r"\frac{d\sigma}{dz} = \sigma(z)(1-\sigma(z))",
        ],
    )
    assert vs[0].verdict == "unparsed" and "order 1000" in vs[0].message
    assert [v.verdict for v in vs[1:]] == ["correct", "correct"]
    assert time.perf_counter() - t0 < 20


# ------------------------------------------------------------------ more forms of the user's own names
# (card, chain, expected verdicts): names with arguments, per-example terms of a card's quantity, bold
# and hatted names, delta as a name, derivatives with respect to another name for a card quantity or for a
# subexpression, a starred or hatted name for a declared unknown (a claim about its solution)
FORMS = [
    (
        "ols-closed-form",
        [r"L(w) = (y - Xw)^T(y - Xw)", r"\nabla_w L(w) = -2X^T(y - Xw)"],
        ["correct", "correct"],
    ),
    (
        "ols-closed-form",
        [r"L(w) = (y - Xw)^T(y - Xw)", r"\nabla_w L(w) = 2X^T(y - Xw)"],
        ["correct", "wrong"],
    ),
    (
        "gaussian-mle",
        [
            r"\ell_i = -\frac{1}{2}\log(2\pi\sigma^2) - \frac{(x_i-\mu)^2}{2\sigma^2}",
            r"\ell(\mu,\sigma) = \sum_{i=1}^{n}\ell_i",
            r"\frac{\partial \ell_i}{\partial \mu} = \frac{x_i - \mu}{\sigma^2}",
        ],
        ["correct", "correct", "correct"],
    ),
    (
        "gaussian-mle",
        [
            r"\ell_i = -\frac{1}{2}\log(2\pi\sigma^2) - \frac{(x_i-\mu)^2}{2\sigma^2}",
            r"\frac{\partial \ell_i}{\partial \mu} = \frac{\mu - x_i}{\sigma^2}",
        ],
        ["correct", "wrong"],
    ),
    (
        "logistic-regression-gradient",
        [
            r"\mathbf{z} = Xw",
            r"\hat{\mathbf{y}} = \sigma(\mathbf{z})",
            r"\nabla_w L = X^T(\hat{\mathbf{y}} - y)",
        ],
        ["correct", "correct", "correct"],
    ),
    (
        "logistic-regression-gradient",
        [
            r"\mathbf{z} = Xw",
            r"\hat{\mathbf{y}} = \sigma(\mathbf{z})",
            r"\nabla_w L = X^T(y - \hat{\mathbf{y}})",
        ],
        ["correct", "correct", "wrong"],
    ),
    ("newton-step-from-taylor", [r"\delta = -H^{-1}g", r"g + H\delta = 0"], ["correct", "correct"]),
    ("newton-step-from-taylor", [r"\delta = -H^{-1}g", r"g - H\delta = 0"], ["correct", "wrong"]),
    (
        "backprop-two-layer-mlp",
        [
            r"z^{(1)} = W_1x + b_1",
            r"a^{(1)} = \sigma(z^{(1)})",
            r"\frac{\partial L}{\partial z^{(1)}} = W_2^T(\hat{y} - y) \odot a^{(1)} \odot (1 - a^{(1)})",
        ],
        ["correct", "correct", "correct"],
    ),
    (
        "backprop-two-layer-mlp",
        [
            r"z^{(1)} = W_1x + b_1",
            r"a^{(1)} = \sigma(z^{(1)})",
            r"\frac{\partial L}{\partial z^{(1)}} = W_2^T(\hat{y} - y) \odot a^{(1)}",
        ],
        ["correct", "correct", "wrong"],
    ),
    (
        "dpo-loss",
        [r"\Delta = r_w - r_l", r"\frac{\partial L}{\partial \Delta} = \sigma(\Delta) - 1"],
        ["correct", "correct"],
    ),
    (
        "dpo-loss",
        [r"\Delta = r_w - r_l", r"\frac{\partial L}{\partial \Delta} = 1 - \sigma(\Delta)"],
        ["correct", "wrong"],
    ),
    ("kmeans-centroid-update", [r"\mu^* = \frac{1}{n}\sum_i x_i"], ["correct"]),
    ("kmeans-centroid-update", [r"\mu^* = \frac{1}{n-1}\sum_i x_i"], ["wrong"]),
    ("map-gaussian-prior-l2", [r"w^* = (X^TX + \lambda I)^{-1}X^Ty"], ["correct"]),
    ("map-gaussian-prior-l2", [r"w^* = (X^TX + I)^{-1}X^Ty"], ["wrong"]),
    (
        "softmax-cross-entropy-gradient",
        [
            r"Z = \sum_{j=1}^{K}\exp(z_j)",
            r"\frac{\partial Z}{\partial z_i} = e^{z_i}",
            r"\frac{\partial p_k}{\partial z_i} = p_k(\delta_{ik} - p_i)",
        ],
        ["correct", "correct", "correct"],
    ),
    (
        "softmax-cross-entropy-gradient",
        [r"Z = \sum_{j=1}^{K}\exp(z_j)", r"\frac{\partial p_k}{\partial z_i} = p_k(\delta_{ik} + p_i)"],
        ["correct", "wrong"],
    ),
]


@pytest.mark.parametrize("card_id,steps,verdicts", FORMS, ids=[f"{c[0]}-{k}" for k, c in enumerate(FORMS)])
def test_more_forms_of_the_users_own_names(card_id, steps, verdicts):
    chk = card_checker(card_id)
    got = [chk.check(s, steps[:k]) for k, s in enumerate(steps)]
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.message) for v in got]
    for v in got:
        if v.verdict == "wrong":
            assert v.defines is None


def test_a_hatted_name_for_an_unknown_is_a_claim_about_its_solution_not_a_definition():
    chk = card_checker("kmeans-centroid-update")
    v = chk.check(r"\mu^* = \frac{1}{n-1}\sum_i x_i")
    assert v.defines is None and "solution" in v.message
