"""Sums as people write them on a whiteboard (maths.latex.scope_sums): an index left out, a body that runs
on over the terms using the index, norms inside a sum, and the ambiguous case that must not be guessed."""

from __future__ import annotations

import pytest

from whiteboard_app.latex.tokens import ParseError, canonical, scope_sums

IDX = {"i": ("1", "n")}


@pytest.mark.parametrize(
    ("written", "read"),
    [
        # the body runs on while the following terms use the index (both readings agree)
        (
            r"\sum_i x_i\log\theta + (1-x_i)\log(1-\theta)",
            r"\sum_{i}(x_{i}\log\theta+(1-x_{i})\log(1-\theta))",
        ),
        (r"\sum_i a_i - b_i + c", r"\sum_{i}(a_{i}-b_{i})+c"),
        (
            r"\sum_i \frac{x_i}{\theta} - \frac{1-x_i}{1-\theta}",
            r"\sum_{i}(\frac{x_{i}}{\theta}-\frac{1-x_{i}}{1-\theta})",
        ),
        # a term without the index ends the sum, as before
        (r"\sum_i (x_i-\mu)^2 - n(\bar x-\mu)^2", r"\sum_{i}(x_{i}-\mu)^{2}-n(\bar{x}-\mu)^{2}"),
        # a term with a sum of its own is not swallowed
        (
            r"\sum_i \alpha_i - \frac12\sum_i\sum_j \alpha_i\alpha_j",
            r"\sum_{i}\alpha_{i}-\frac{1}{2}\sum_{i}\sum_{j}\alpha_{i}\alpha_{j}",
        ),
        # an index left out: the one declared index the body is subscripted by
        (r"\sum x_i", r"\sum_{i}x_{i}"),
        (r"\frac{\sum x_i}{n}", r"\frac{\sum_{i}x_{i}}{n}"),
        (r"\prod \theta^{x_i}", r"\prod_{i}\theta^{x_{i}}"),
        # a bracket or a plus before the sum: the readings agree
        (r"c + \sum_i a_i + b_i", r"c+\sum_{i}(a_{i}+b_{i})"),
        # a norm is one factor: its minus does not end the sum
        (r"\sum_i \|x_i - \mu\|^2", r"\sum_{i}\|x_{i}-\mu\|^{2}"),
    ],
)
def test_scope_sums_reads_the_writers_sum(written, read):
    assert scope_sums(canonical(written), IDX) == read


def test_sum_without_a_declared_index_is_left_for_the_reader_to_report():
    c = canonical(r"\sum x_k")
    assert scope_sums(c, IDX) == c
    c = canonical(r"\sum x_i y_j")
    assert scope_sums(c, {"i": ("1", "n"), "j": ("1", "m")}) == c  # two declared indices: no guess


@pytest.mark.parametrize(
    "written",
    [r"-\sum_i y_i\log p_i + (1-y_i)\log(1-p_i)", r"\frac{1}{n}\sum_i x_i + y_i", r"2\sum_i a_i - b_i"],
)
def test_a_sign_or_factor_before_a_running_sum_is_not_guessed(written):
    with pytest.raises(ParseError, match="put brackets around"):
        scope_sums(canonical(written), IDX)


def test_unchanged_when_there_is_nothing_to_do():
    c = canonical(r"\sum_{i=1}^{n}(x_i-\mu)^2")
    assert scope_sums(c, IDX) is c


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (r"\frac{e^{z_c}}{\sum_{c'} e^{z_{c'}}}", r"\frac{e^{z_{c}}}{\sum_{k}e^{z_{k}}}"),
        (r"\frac{e^{z_k}}{\sum_{k'} e^{z_k'}}", r"\frac{e^{z_{k}}}{\sum_{j}e^{z_{j}}}"),
        (r"\sum_{k''} e^{z_{k''}}", r"\sum_{j}e^{z_{j}}"),
        (r"\sum_{k^\prime} e^{z_{k^\prime}}", r"\sum_{j}e^{z_{j}}"),
    ],
)
def test_a_primed_sum_index_becomes_a_fresh_declared_index(written, read):
    assert scope_sums(canonical(written), {"k": ("1", "K"), "j": ("1", "K")}) == read


def test_any_letter_sums_over_the_cards_one_index():
    from whiteboard_app.decks.schema import Declarations
    from whiteboard_app.maths.normalise import names_from_declarations
    from whiteboard_app.maths.parse import parse_step

    names = names_from_declarations(
        Declarations(symbols={"n": "positive_integer"}, indexed={"x": "i"}, indices={"i": ("1", "n")})
    )
    tree = parse_step(r"\sum_k x_k", names).trees[0]
    assert tree[0] == "sum" and tree[2] == "k" and tree[3:] == (("num", 1.0), ("var", "n"))
