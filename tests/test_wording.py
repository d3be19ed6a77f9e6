"""Verdict words (sessions.wording): one source for the step panel, the review and the export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from whiteboard_app.sessions import wording


@dataclass
class V:
    latex: str
    verdict: str
    reference_step: int | None = None
    diagnosis: str | None = None
    shape: str | None = None
    message: str | None = None


@pytest.mark.parametrize("name", ["x", "theta", "\\lambda"])
def test_an_undeclared_name_is_not_could_not_read(name):
    w = wording.describe_verdict(
        V(f"{name} + 1", "unparsed", message=f"unknown name {name!r}: it is not declared on this card")
    )
    assert w.kind == "unknown_name"
    assert w.headline == f"unknown name \u2018{name}\u2019" and "could not read" not in w.line()


@pytest.mark.parametrize(
    "diag, message",
    [
        ("sign flip", "sign flip"),
        ("missing factor", "missing factor: the 1/n in front is gone"),
        ("dropped transpose", "Dropped transpose."),
    ],
)
def test_a_diagnosis_is_said_once(diag, message):
    w = wording.describe_verdict(V("a", "wrong", diagnosis=diag, message=message))
    assert w.headline == "wrong"
    assert w.detail.lower().count(diag) == 1, w.detail


def test_wrong_with_explanation_keeps_both_once():
    w = wording.describe_verdict(
        V("a", "wrong", diagnosis="n vs n-1", message="the unbiased estimate divides by n-1")
    )
    assert w.detail == "n vs n-1 \u2014 the unbiased estimate divides by n-1"


@pytest.mark.parametrize(
    "message",
    [
        "sympy cannot parse it: Invalid LaTeX: '\\frac{a'",
        "sympy cannot parse it: LaTeXParsingError",
    ],
)
def test_parser_jargon_becomes_words(message):
    w = wording.describe_verdict(V("\\frac{a", "unparsed", message=message), n_candidates=3)
    assert "sympy" not in w.line().lower() and "latex:" not in w.line().lower() and "Invalid" not in w.line()
    assert w.headline == "incomplete formula" and "pick another reading" in w.detail


def test_nothing_read_says_could_not_read_with_its_reason():
    w = wording.describe_verdict(
        V("", "unparsed", message="could not read: the recogniser took longer than 3 s")
    )
    assert (w.headline, w.detail) == (
        "could not read",
        "the recogniser took longer than 3 s; type the LaTeX, or read the ink again",
    )


def test_checker_failure_has_no_exception_names():
    w = wording.describe_verdict(V("a", "cannot_check", message="the checker failed: TimeoutError: 1.0 s"))
    assert w.headline == "cannot check" and "TimeoutError" not in w.detail and "ran out of time" in w.detail


def test_correct_keeps_the_extra_note_once():
    w = wording.describe_verdict(
        V("a", "correct", 2, message="matches reference step 2 (holds at the solution)")
    )
    assert w.detail == "matches reference step 2; holds at the solution"


def test_short_label_is_the_panel_headline_not_the_internal_name():
    assert wording.short_label(V("", "unparsed", message="could not read: no ink")) == "could not read"
    assert (
        wording.short_label(V("a", "wrong", diagnosis="sign flip", message="sign flip")) == "wrong: sign flip"
    )
    assert wording.short_label(None) == "not checked"


def test_grade_messages():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    again = wording.grade_message("again", now + timedelta(minutes=10), now)
    assert "Well done" not in again and "in 10 min" in again
    assert "Well done" not in wording.grade_message("hard", now + timedelta(days=1), now)
    good = wording.grade_message("good", now + timedelta(days=4), now)
    assert "Well done" in good and "in 4 d" in good
    assert wording.grade_message("easy") == "Graded \u201cEasy\u201d. Well done."


def test_the_real_checkers_reasons_in_words():
    from whiteboard_app import maths
    from whiteboard_app.decks import bundled_deck_dir, load_card

    card = load_card(bundled_deck_dir() / "logistic-regression-gradient.toml")
    symbol = "q" if "q" not in card.declarations.symbols else "Q"
    v = maths.check_step(card, f"{symbol} + 1", [])
    w = wording.describe_verdict(v)
    assert v.verdict == "unparsed" and w.headline == f"unknown name \u2018{symbol}\u2019"
    v = maths.check_step(card, "\\frac{a", [])
    w = wording.describe_verdict(v, n_candidates=2)
    assert w.headline == "incomplete formula" and "sympy" not in w.line()


@pytest.mark.parametrize(
    "message, detail",
    [
        (
            "matches reference step 1; proved (sympy simplifies the difference to 0)",
            "matches reference step 1; proved: the difference simplifies to 0",
        ),
        ("matches reference step 1", "matches reference step 1"),
        (
            "follows from the previous step (holds at the solution)",
            "follows from your previous step; holds at the solution",
        ),
    ],
)
def test_correct_notes_without_jargon(message, detail):
    ref = 1 if message.startswith("matches") else None
    w = wording.describe_verdict(V("a", "correct", ref, message=message))
    assert w.detail == detail and "sympy" not in w.detail


def test_the_summary_word_says_what_the_panel_says():
    unknown = V("x + 1", "unparsed", message="unknown name 'x': it is not declared on this card")
    assert wording.summary_word(unknown) == "unknown name \u2018x\u2019"
    assert wording.summary_word(V("", "unparsed", message="could not read: time limit")) == "could not read"
    assert wording.summary_word(V("a=b", "wrong", diagnosis="sign flip")) == "wrong: sign flip"
    assert wording.summary_word(V("a=b", "correct", message="matches reference step 2")) == "correct"
    assert wording.summary_word(None) is None


def test_a_correct_step_with_a_condition_reads_as_one_sentence():
    w = wording.describe_verdict(
        V(
            "L = ...",
            "correct",
            reference_step=7,
            message="matches reference step 7, using the condition of reference step 5 (write it to show it)",
        )
    )
    assert (
        w.detail == "matches reference step 7; using the condition of reference step 5 (write it to show it)"
    )


@dataclass
class D(V):
    defines: str | None = None


def test_a_definition_of_the_users_own_name_is_not_headlined_correct():
    """``y = 1`` read as a definition (no reference step states it) is valid but no progress."""
    w = wording.describe_verdict(D("y = 1", "correct", message="defines y", defines="y"))
    assert (w.kind, w.headline, w.detail) == ("correct", wording.DEFINITION, "defines y")
    w = wording.describe_verdict(
        D(
            "u = 1+e^{-z}",
            "correct",
            reference_step=2,
            message="defines u; its value is that of reference step 2",
            defines="u",
        )
    )
    assert w.headline == "correct"
    assert wording.short_label(D("y = 1", "correct", message="defines y", defines="y")) == "definition"
    assert wording.summary_word(D("y = 1", "correct", message="defines y", defines="y")) == "definition"
    assert (
        wording.summary_word(D("a", "correct", reference_step=1, message="matches reference step 1"))
        == "correct"
    )
