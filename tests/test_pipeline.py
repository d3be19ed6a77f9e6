"""pipeline: ink -> recogniser -> LaTeX -> check, with fake recognisers and the real checker.

Every recogniser failure (error, engine missing, no candidates, hang) must become "could not read"
(verdict unparsed) and every checker failure "cannot check", never an exception.
"""

from __future__ import annotations

import time

import pytest

from whiteboard_app import pipeline
from whiteboard_app.decks import bundled_deck_dir, load_card
from whiteboard_app.ink import StepInk, Stroke
from whiteboard_app.recognition.base import (
    Candidate,
    RecognitionContext,
    RecognitionError,
    RecognitionResult,
    RecognizerUnavailable,
)

CARD_ID = "sigmoid-derivative"


@pytest.fixture(scope="module")
def card():
    return load_card(bundled_deck_dir() / f"{CARD_ID}.toml")


def _ink() -> StepInk:
    return StepInk((Stroke.from_xy([(0, 0), (10, 5), (20, 0)]), Stroke.from_xy([(30, 0), (30, 20)])))


class FakeRecognizer:
    """Returns fixed candidates and records the context it was given."""

    name = "fake"

    def __init__(self, *latexes: str, message: str | None = None):
        self.latexes = latexes
        self.message = message
        self.calls: list[tuple[StepInk, RecognitionContext | None]] = []

    def recognize(self, ink, context=None):
        self.calls.append((ink, context))
        cands = tuple(Candidate(latex, -float(i)) for i, latex in enumerate(self.latexes))
        return RecognitionResult(candidates=cands, ms=1.0, engine=self.name, message=self.message)


class RaisingRecognizer:
    name = "raising"

    def __init__(self, exc: BaseException):
        self.exc = exc

    def recognize(self, ink, context=None):
        raise self.exc


class SleepingRecognizer:
    name = "sleepy"

    def recognize(self, ink, context=None):
        time.sleep(2.0)
        return RecognitionResult(candidates=(Candidate("x", 0.0),))


def test_context_holds_references_mistakes_and_previous_step(card):
    ctx = pipeline.build_context(card, ["a", "\\sigma(z) = (1+e^{-z})^{-1}", "b + c"], near_misses=False)
    kinds = dict(ctx.expected)
    for step in card.steps:
        assert kinds[step.latex] == "reference"
    for m in card.mistakes:
        assert kinds.get(m.latex) in {"mistake", "reference"}
    assert kinds["b + c"] == "previous"
    assert "a" not in kinds  # only the last previous step
    latexes = [latex for latex, _ in ctx.expected]
    assert len(latexes) == len(set(latexes))


def test_context_previous_step_equal_to_a_reference_is_kept_once(card):
    first = card.steps[0].latex
    ctx = pipeline.build_context(card, [first], near_misses=False)
    assert [k for latex, k in ctx.expected if latex == first] == ["reference"]


def test_context_from_card_is_passed_to_the_recogniser(card):
    rec = FakeRecognizer(card.steps[2].latex)
    pipeline.process_step(_ink(), rec, card, [card.steps[1].latex], check=lambda c, latex, prev: "ok")
    ((_, ctx),) = rec.calls
    assert (card.steps[0].latex, "reference") in ctx.expected
    assert ("\\frac{d\\sigma}{dz} = -\\frac{e^{-z}}{(1+e^{-z})^2}", "mistake") in ctx.expected


def test_best_candidate_is_checked_with_the_previous_steps(card):
    seen = []

    def check(c, latex, previous):
        seen.append((c.id, latex, previous))
        return "verdict-object"

    rec = FakeRecognizer("x^2", "x^3")
    result = pipeline.process_step(_ink(), rec, card, ["p1", "p2"], check=check)
    assert result.latex == "x^2"
    assert result.verdict == "verdict-object"
    assert seen == [(CARD_ID, "x^2", ["p1", "p2"])]
    assert [c.latex for c in result.recognition.candidates] == ["x^2", "x^3"]


@pytest.mark.parametrize(
    "exc, words",
    [
        (RecognitionError("stroke grouping failed"), "stroke grouping failed"),
        (RecognizerUnavailable("mathnote-ocr is not installed"), "not installed"),
        (RuntimeError("index out of range"), "RuntimeError"),
        (MemoryError(), "MemoryError"),
    ],
)
def test_recogniser_errors_become_could_not_read(card, exc, words):
    result = pipeline.process_step(_ink(), RaisingRecognizer(exc), card, [])
    assert result.latex is None
    assert result.verdict.verdict == "unparsed"
    assert result.verdict.message.startswith("could not read")
    assert words in result.verdict.message


def test_no_candidates_is_could_not_read_with_the_engines_reason(card):
    result = pipeline.process_step(_ink(), FakeRecognizer(message="time limit of 3 s"), card, [])
    assert result.latex is None and result.verdict.verdict == "unparsed"
    assert "time limit of 3 s" in result.verdict.message


def test_a_hanging_recogniser_is_cut_off(card):
    t0 = time.perf_counter()
    result = pipeline.process_step(_ink(), SleepingRecognizer(), card, [], time_limit_s=0.2)
    assert time.perf_counter() - t0 < 1.5
    assert result.verdict.verdict == "unparsed"
    assert "longer than 0.2 s" in result.verdict.message


def test_empty_ink_is_not_sent_to_the_recogniser(card):
    rec = FakeRecognizer("x")
    result = pipeline.process_step(StepInk(), rec, card, [])
    assert rec.calls == [] and result.verdict.verdict == "unparsed"


def test_a_checker_failure_is_cannot_check(card):
    def broken(c, latex, previous):
        raise RecursionError("maximum recursion depth exceeded in sympy")

    result = pipeline.process_step(_ink(), FakeRecognizer("x"), card, [], check=broken)
    assert result.latex == "x"
    assert result.verdict.verdict == "cannot_check"
    assert "RecursionError" in result.verdict.message


@pytest.mark.parametrize("latex", ["", "   ", None])
def test_recheck_of_nothing_is_unparsed(card, latex):
    assert pipeline.recheck(card, latex, []).verdict == "unparsed"


# --- with the real checker (whiteboard_app.maths) -------------------------------------------------------
REAL_TABLE = [
    # (reading, previous steps, expected verdict)
    ("\\frac{e^{-z}}{(1+e^{-z})^2}", ["\\frac{d\\sigma}{dz} = -(1+e^{-z})^{-2} \\cdot (-e^{-z})"], "correct"),
    ("= \\sigma(z)(1-\\sigma(z))", ["= \\frac{1}{1+e^{-z}} \\cdot \\frac{e^{-z}}{1+e^{-z}}"], "correct"),
    ("= \\sigma(z)(1+\\sigma(z))", ["= \\frac{1}{1+e^{-z}} \\cdot \\frac{e^{-z}}{1+e^{-z}}"], "wrong"),
    ("\\frac{d\\sigma}{dz} = -\\frac{e^{-z}}{(1+e^{-z})^2}", ["\\sigma(z) = (1+e^{-z})^{-1}"], "wrong"),
    ("= x +", [], "unparsed"),
]


@pytest.mark.parametrize("reading, previous, expected", REAL_TABLE)
def test_process_step_with_the_real_checker(card, reading, previous, expected):
    result = pipeline.process_step(_ink(), FakeRecognizer(reading, "x"), card, previous)
    assert result.latex == reading
    assert result.verdict.verdict == expected


@pytest.mark.parametrize("reading, previous, expected", REAL_TABLE)
def test_recheck_matches_process_step(card, reading, previous, expected):
    assert pipeline.recheck(card, reading, previous).verdict == expected


def test_prepare_gives_the_cards_context(card):
    ctx = pipeline.prepare(card)
    kinds = {k for _, k in ctx.expected}
    assert {"reference", "mistake"} <= kinds and "previous" not in kinds


class WarmingRecognizer(FakeRecognizer):
    """Ready but still warming up (as the registry's worker right after loading): ``wait_until_warm``
    takes longer than the step's time limit."""

    def __init__(self, *latexes: str, fail: bool = False):
        super().__init__(*latexes)
        self.warm, self.fail = False, fail

    def wait_until_warm(self):
        time.sleep(0.5)
        if self.fail:
            raise RecognitionError("whiteboard: the recogniser did not warm up within 1 s")
        self.warm = True


def test_the_warm_up_is_waited_for_outside_the_steps_time_limit(card):
    rec = WarmingRecognizer(card.steps[0].latex)
    verdict = pipeline.make_verdict(card.steps[0].latex, "correct")
    result = pipeline.process_step(_ink(), rec, card, [], time_limit_s=0.2, check=lambda c, x, p: verdict)
    assert rec.warm and result.latex == card.steps[0].latex  # not "took longer than 0.2 s"
    failing = WarmingRecognizer(card.steps[0].latex, fail=True)
    result = pipeline.process_step(_ink(), failing, card, [], time_limit_s=0.2)
    assert result.latex is None and "did not warm up" in result.verdict.message and not failing.calls
