"""Whole derivation chains in a seventh round of notations (issue 11, session 12), and the rules they exercise
(docs/parsing.md, "Session 12 (helper chk)"):

- a card's ``[notation] opposite_signs`` (Platt 1999 writes ``1/(1+\\exp(Af+B))`` for the card's
  ``\\sigma(As+B)``): a run that states the model that way is judged with A and B negated in the card's
  definitions, and a step right only in the card's signs is then wrong (``maths/conventions.sign_reading``);
- a new name defined as a reference expression with a slip inside it is "cannot check", never "correct"
  (``CardChecker.slipped_definition``); a multiple of one (a count beside a mean) stays a definition;
- Prince's square brackets around a known function's argument (``\\mathrm{sig}[z]``, ``\\exp[-z]``);
- an alias of one letter does not reach inside a roman word (``\\mathrm{NLL}`` on a card with ``L``), and a negated
  alias keeps its argument list (``\\mathrm{NLL}(\\theta)`` is ``-\\ell(\\theta)``, not ``-\\ell`` times theta)."""

from __future__ import annotations

import pytest

from tests._maths_support import (  # noqa: F401 (autouse fixture)
    _generous_limits,
    assert_every_card_and_one_wrong_step_per_variant,
    card_checker,
    chain_table,
    chain_variants,
    checked_chain,
    deck,
    run_steps,
    variant_ids,
)
from tests.test_decks import write
from tests.test_notation_loader import NOTATION, _with
from whiteboard_app.decks import card_errors
from whiteboard_app.latex.tokens import clean
from whiteboard_app.maths.notation import rewrite_step

CHAINS = chain_table("notation_chains_7")
VARIANTS = chain_variants(CHAINS, stop_at_wrong=True)


def test_every_chain_has_one_wrong_variant_on_a_bundled_card():
    assert len(CHAINS) >= 20
    assert_every_card_and_one_wrong_step_per_variant(CHAINS, VARIANTS, every_card=False)


@pytest.mark.parametrize("ch,steps,verdicts,at,diagnosis", VARIANTS, ids=variant_ids(VARIANTS))
def test_notation_chain_step_by_step(ch, steps, verdicts, at, diagnosis):
    assert len(list(checked_chain(ch, steps, verdicts, at, diagnosis))) == len(steps)


# ------------------------------------------------------------------ Platt's signs
PLATT = r"p_i = \frac{1}{1+\exp(Af_i+B)}"


@pytest.mark.parametrize(
    "steps,verdicts",
    [
        # Platt's model, then his gradients (right in his signs), and the card's gradients after it (wrong there)
        ([PLATT, r"\frac{\partial L}{\partial A} = \sum_i (t_i - p_i)f_i"], ["correct", "correct"]),
        ([PLATT, r"\frac{\partial L}{\partial A} = \sum_i (p_i - t_i)f_i"], ["correct", "wrong"]),
        ([PLATT, r"\frac{\partial L}{\partial B} = \sum_i (p_i - t_i)"], ["correct", "wrong"]),
        ([PLATT, r"\frac{\partial L}{\partial B} = \sum_i (t_i - p_i)f_i"], ["correct", "wrong"]),
        # with sigma of the negated score, the same model
        (
            [r"q_i = \sigma(-(As_i + B))", r"\frac{\partial L}{\partial B} = \sum_i (y_i - q_i)"],
            ["correct", "correct"],
        ),
        # no model step in the run: the opposite sign is the card's declared sign flip
        ([r"\frac{\partial L}{\partial A} = \sum_i (y_i - q_i)s_i"], ["wrong"]),
        # the card's model, then Platt's gradient: wrong
        (
            [r"q_i = \sigma(As_i + B)", r"\frac{\partial L}{\partial A} = \sum_i (y_i - q_i)s_i"],
            ["correct", "wrong"],
        ),
        # one parameter flipped is no convention: a slip in the model
        ([r"q_i = \sigma(-As_i + B)"], ["wrong"]),
        ([r"p_i = \frac{1}{1+\exp(Af_i-B)}"], ["wrong"]),
    ],
)
def test_platt_opposite_signs(steps, verdicts):
    got = run_steps("platt-scaling", steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]


def test_the_opposite_sign_reading_says_so():
    v = run_steps("platt-scaling", [PLATT, r"\frac{\partial L}{\partial A} = \sum_i (p_i - t_i)f_i"])[1]
    assert v.diagnosis == "sign flip" and "opposite sign" in v.message


@pytest.mark.parametrize(
    "names,words",
    [('["A", "q"]', "not a declared real symbol"), ('["n"]', "not a declared real symbol")],
)
def test_opposite_signs_must_be_declared_real_symbols(tmp_path, names, words):
    text = _with(NOTATION + f"opposite_signs = {names}\n")
    _, errors = card_errors(write(tmp_path, text))
    assert any(e.field.startswith("notation.opposite_signs") and words in e.message for e in errors), errors


def test_opposite_signs_load(tmp_path):
    text = _with(NOTATION + 'opposite_signs = ["x"]\n')
    card, errors = card_errors(write(tmp_path, text))
    assert not errors and card.notation.opposite_signs == ("x",)
    assert deck().get("platt-scaling").notation.opposite_signs == ("A", "B")


# ------------------------------------------------------------------ a new name for a slipped reference quantity
@pytest.mark.parametrize(
    "card_id,steps,verdicts",
    [
        # the gradient under a name of one's own with one term's sign flipped: never "correct"
        ("logistic-regression-gradient", [r"g = \sum_i (p_i + y_i)x_i"], ["cannot_check"]),
        ("logistic-regression-gradient", [r"g = \sum_i (p_i - y_i)x_i"], ["correct"]),
        # a multiple of a reference quantity is a quantity of its own (Murphy's count N_1 beside theta-hat)
        ("logistic-regression-gradient", [r"u = 2\sum_i (p_i - y_i)x_i"], ["correct"]),
        ("bernoulli-mle", [r"N_1 = \sum_{i=1}^{N}x_i", r"N_0 = N - N_1"], ["correct", "correct"]),
        ("newton-step-from-taylor", [r"u = H^{-1}g"], ["correct"]),
    ],
)
def test_slipped_definitions(card_id, steps, verdicts):
    got = run_steps(card_id, steps)
    assert [v.verdict for v in got] == verdicts, [(v.verdict, v.diagnosis, v.message) for v in got]
    for v in got:
        if v.verdict == "cannot_check":
            assert v.diagnosis == "sign flip" and v.reference_step is not None


# ------------------------------------------------------------------ spellings
@pytest.mark.parametrize(
    "written,read",
    [
        (r"\mathrm{sig}[z] = \frac{1}{1+\exp[-z]}", r"\mathrm{sig}(z) = \frac{1}{1+\exp(-z)}"),
        (r"\log[1+\exp[z]]", r"\log(1+\exp(z))"),
        (r"\mathrm{softmax}[\mathbf{z}]_i", r"\mathrm{softmax}(\mathbf{z})_i"),
        # an expectation and a plain bracket stay as written
        (r"E[x] + [a+b]", r"E[x] + [a+b]"),
        (r"\exp[", r"\exp["),
    ],
)
def test_function_brackets(written, read):
    assert clean(written) == read


def test_a_letter_alias_does_not_reach_inside_a_roman_word():
    card = deck().get("bernoulli-mle")  # aliases L -> \ell and NLL -> -\ell
    assert rewrite_step(card, r"\mathrm{NLL}(\theta) = 1") == r"(-\ell(\theta))=1"
    assert r"\ell" not in rewrite_step(deck().get("gaussian-mle"), r"\mathrm{ELBO} = 1").replace("(-", "")
    # a negated alias followed by an expression in parentheses still multiplies it
    assert rewrite_step(card, r"\mathrm{NLL}(\theta) = 1") != rewrite_step(
        card, r"\mathrm{NLL}\,(\theta + 1) = 1"
    )


# ------------------------------------------------------------------ logarithms in bits
@pytest.mark.parametrize(
    "card_id,step,verdict",
    [
        # Cover & Thomas's log (base 2) on the card whose entropies are in bits
        ("information-gain", r"H(Y|R) = \log 6 - \frac{5}{6}\log 5", "correct"),
        ("information-gain", r"H(Y) = -\frac{1}{2}\lg\frac{1}{2} - \frac{1}{2}\lg\frac{1}{2} = 1", "correct"),
        ("information-gain", r"H(Y|R) = \log 6 + \frac{5}{6}\log 5", "wrong"),
        # ln is natural whatever the card
        ("information-gain", r"H(Y|R) = \ln 6 - \frac{5}{6}\ln 5", "wrong"),
        # a card with natural logarithms keeps them
        ("kl-divergence-nonnegative", r"D_{KL}(p\|q) = \sum_{k=1}^{K} p_k\log_2\frac{p_k}{q_k}", "wrong"),
    ],
)
def test_bare_log_in_bits(card_id, step, verdict):
    v = card_checker(card_id).check(step, [])
    assert v.verdict == verdict, (v.verdict, v.diagnosis, v.message)
    if card_id == "information-gain" and "\\ln" not in step:
        assert v.note and "bits" in v.note


# ------------------------------------------------------------------ a count's alias beside the count itself
@pytest.mark.parametrize(
    "card_id,step,verdicts",
    [
        # ESL's centroid m beside the count N (the card aliases both m and N to n): never the count, never wrong
        ("kmeans-centroid-update", r"J = \sum_{i=1}^{N}(x_i - m)^2", {"unparsed", "cannot_check"}),
        (
            "kmeans-centroid-update",
            r"\frac{\partial J}{\partial m} = 2\sum_{i=1}^{N}(x_i - m)",
            {"unparsed", "cannot_check"},
        ),
        # m alone is still the count (CS229)
        ("kmeans-centroid-update", r"\hat\mu = \frac{1}{m}\sum_{i=1}^{m}x_i", {"correct"}),
        (
            "ols-closed-form",
            r"J(\theta) = \frac{1}{2m}\sum_{i=1}^{m}(\theta^Tx^{(i)} - y^{(i)})^2",
            {"correct"},
        ),
    ],
)
def test_a_count_alias_beside_another_name_of_the_count(card_id, step, verdicts):
    v = card_checker(card_id).check(step, [])
    assert v.verdict in verdicts, (v.verdict, v.diagnosis, v.message)
