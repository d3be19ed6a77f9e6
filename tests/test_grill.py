"""Grill mode core: the deck's questions (every maths answer verified by the checker: the answer and its
equivalent forms correct, its wrong forms wrong), the [[questions]] schema, answer checking, FSRS per
question and its effect on the card's due date, statistics, the session and the CLI."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsrs
import pytest

from tests._maths_support import CHECK_JSON_KEYS
from whiteboard_app.decks import card_errors, load_deck
from whiteboard_app.sessions.clock import FakeClock
from whiteboard_app.sessions.grill import (
    GrillSession,
    InProcessCompare,
    UnknownQuestionError,
    answer_side,
    check_answer,
    find_item,
    grill_items,
    pick_questions,
    question_problems,
    rating_for_answer,
    record_answer,
)
from whiteboard_app.sessions.history import History
from whiteboard_app.sessions.scheduler import Scheduler

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DECK = load_deck()
ITEMS = grill_items(DECK)
MATHS = [it for it in ITEMS if it.kind == "maths"]
COMPARE = InProcessCompare()


def test_the_deck_has_enough_questions():
    assert len(ITEMS) >= 60
    assert len(MATHS) >= 30
    assert len({it.id for it in ITEMS}) == len(ITEMS)
    # spread over the deck, not piled on a few cards
    assert len({it.card.id for it in ITEMS}) >= 25
    for it in MATHS:
        assert it.question.accept and it.question.reject, it.id
    for it in ITEMS:
        if it.kind == "words":
            assert 2 <= len(it.question.key_points) <= 5, it.id
        assert 15 <= it.question.time_s <= 120


@pytest.mark.parametrize("item", MATHS, ids=lambda it: it.id)
def test_every_maths_answer_is_verified_by_the_checker(item):
    assert question_problems(item, COMPARE) == []
    # and the verdicts are the checker's, not string matches: each accepted form is written differently
    forms = [item.question.answer, *item.question.accept]
    assert len({f.replace(" ", "") for f in forms}) == len(forms)


def _sigmoid():
    return find_item(DECK, "sigmoid-derivative/derivative-in-terms-of-sigma")


@pytest.mark.parametrize(
    "latex",
    [
        r"\sigma(1-\sigma)",
        r"\sigma-\sigma^2",
        r"\frac{e^{-z}}{(1+e^{-z})^2}",
        r"-\sigma^2+\sigma",
        r"\sigma(z)\left(1-\sigma(z)\right)",
        r"\frac{1}{1+e^{-z}}\cdot\frac{e^{-z}}{1+e^{-z}}",
        r"\sigma'(z) = \sigma - \sigma^2",
    ],
)
def test_the_issue_forms_of_the_sigmoid_answer_are_all_correct(latex):
    v = check_answer(_sigmoid(), latex.replace(r"\sigma'(z)", r"\frac{d\sigma}{dz}"), COMPARE)
    assert v.verdict == "correct", v


@pytest.mark.parametrize(
    "latex",
    [r"\sigma(1+\sigma)", r"\sigma^2-\sigma", r"\frac{e^{-z}}{1+e^{-z}}", r"\frac{d\sigma}{dz} = \sigma"],
)
def test_wrong_sigmoid_answers_are_wrong(latex):
    assert check_answer(_sigmoid(), latex, COMPARE).verdict == "wrong"


@pytest.mark.parametrize(
    "qid, latex, verdict",
    [
        ("conditional-probability-dice/both-six-given-one", "0.0909", "correct"),  # to the digits written
        ("conditional-probability-dice/both-six-given-one", r"P \approx 0.091", "correct"),
        ("conditional-probability-dice/both-six-given-one", "0.0910", "wrong"),
        ("conditional-probability-dice/both-six-given-one", "0.1", "wrong"),  # one digit: exact
        ("bayes-theorem/posterior-rare-disease", "0.167", "correct"),
        ("bayes-theorem/posterior-rare-disease", "0.16", "wrong"),
        ("sigmoid-derivative/largest-slope", "0.3", "wrong"),
        ("sigmoid-derivative/largest-slope", "0.25", "correct"),
        ("information-gain/fair-coin-entropy", r"1 \text{ bit}", "correct"),  # a unit is ignored
        ("information-gain/fair-coin-entropy", r"\log_2 e", "wrong"),
    ],
)
def test_decimals_and_units(qid, latex, verdict):
    v = check_answer(find_item(DECK, qid), latex, COMPARE)
    assert v.verdict == verdict, v
    assert v.latex == latex


def test_bad_input_is_a_verdict_not_a_crash():
    it = _sigmoid()
    assert check_answer(it, "", COMPARE).verdict == "unparsed"
    assert check_answer(it, r"\frac{1}{", COMPARE).verdict == "unparsed"
    assert check_answer(it, r"y = ", COMPARE).verdict == "unparsed"
    words = find_item(DECK, "sample-variance-n-minus-1/why-n-minus-1")
    with pytest.raises(ValueError):
        check_answer(words, "n-1", COMPARE)


def test_answer_side_takes_the_last_top_level_side():
    assert answer_side("x", r"\frac{dL}{dz} = p - y") == "p - y"
    assert answer_side("x", r"\sum_{i=1}^{n} x_i") == r"\sum_{i=1}^{n} x_i"
    assert answer_side("a = b", "c = d") == "c = d"  # a relation answer is compared whole


def test_a_question_declaration_replaces_the_cards_name():
    it = _sigmoid()
    # on the card, sigma is the sigmoid *function*; the question reads a bare sigma as sigma(z)
    assert it.card.declarations.functions == {"sigma": "sigmoid"}
    from whiteboard_app.sessions.grill import question_card

    qc = question_card(it)
    assert "sigma" not in qc.declarations.functions
    assert len(qc.steps) == 1 and qc.steps[0].latex == it.question.answer


def test_unknown_question():
    with pytest.raises(UnknownQuestionError):
        find_item(DECK, "sigmoid-derivative/nope")
    with pytest.raises(UnknownQuestionError):
        find_item(DECK, "no-slash")


# ------------------------------------------------------------------------------------------------ schema
CARD = (Path(__file__).parent.parent / "decks" / "sigmoid-derivative.toml").read_text("utf-8")
CARD = CARD[: CARD.index("[[questions]]")]


def _errors(tmp_path, extra: str):
    p = tmp_path / "sigmoid-derivative.toml"
    p.write_text(CARD + extra, "utf-8")
    return card_errors(p)


def test_a_card_with_questions_loads(tmp_path):
    card, errs = _errors(
        tmp_path,
        """
[[questions]]
id = "one"
prompt = "Slope at 0?"
kind = "maths"
answer = '\\frac{1}{4}'
accept = ['0.25']
reject = ['1']

[[questions]]
id = "two"
prompt = "Why?"
kind = "words"
answer = "Because."
key_points = ["a", "b"]
time_s = 60
""",
    )
    assert errs == []
    assert [q.id for q in card.questions] == ["one", "two"]
    assert card.questions[0].time_s == 45 and card.questions[1].time_s == 60


@pytest.mark.parametrize(
    "block,field,words",
    [
        ('id = "a"\nprompt = "p"\nkind = "essay"\nanswer = "x"', "questions[1].kind", "unknown kind"),
        (
            'id = "a"\nprompt = "p"\nkind = "words"\nanswer = "x"\nkey_points = ["only one"]',
            "questions[1].key_points",
            "2-5",
        ),
        (
            'id = "a"\nprompt = "p"\nkind = "maths"\nanswer = "x"\nreject = ["y"]',
            "questions[1].accept",
            "missing",
        ),
        (
            'id = "a"\nprompt = "p"\nkind = "words"\nanswer = "x"\nkey_points = ["a", "b"]\naccept = ["x"]',
            "questions[1].accept",
            "only a maths",
        ),
        (
            'id = "a"\nprompt = "p"\nkind = "maths"\nanswer = "z"\naccept = ["z"]\nreject = ["y"]\ntime_s = 5',
            "questions[1].time_s",
            "15-120",
        ),
        (
            'id = "Bad Id"\nprompt = "p"\nkind = "maths"\nanswer = "z"\naccept = ["z"]\nreject = ["y"]',
            "questions[1].id",
            "kebab",
        ),
        (
            'id = "a"\nprompt = "p"\nkind = "maths"\nanswer = "z"\naccept = ["z"]\nreject = ["y"]\n'
            'declarations = { symbols = { w = "complex" } }',
            "questions[1].declarations.symbols.w",
            "unknown domain",
        ),
        (
            'id = "a"\nprompt = ""\nkind = "maths"\nanswer = "z"\naccept = ["z"]\nreject = ["y"]',
            "questions[1].prompt",
            "empty",
        ),
        (
            'id = "a"\nprompt = "p"\nkind = "maths"\nanswer = "z"\naccept = ["z"]\nreject = ["y"]\ncolour = 1',
            "questions[1].colour",
            "unknown field",
        ),
    ],
)
def test_malformed_questions_name_file_line_and_field(tmp_path, block, field, words):
    card, errs = _errors(tmp_path, "\n[[questions]]\n" + block + "\n")
    assert card is None
    e = next(e for e in errs if e.field == field)
    assert words in e.message
    lines = (CARD + "\n[[questions]]\n" + block).splitlines()
    assert e.line > CARD.count("\n")  # the line is inside the question, not 0 or the card's top
    assert lines[e.line - 1].strip()


def test_duplicate_question_ids(tmp_path):
    q = '\n[[questions]]\nid = "a"\nprompt = "p"\nkind = "words"\nanswer = "x"\nkey_points = ["a", "b"]\n'
    card, errs = _errors(tmp_path, q + q)
    assert any("duplicate question id" in e.message and e.field == "questions[2].id" for e in errs)


def test_validate_check_reports_a_wrong_accept_form(tmp_path):
    card, errs = _errors(
        tmp_path,
        """
[[questions]]
id = "slope"
prompt = "Slope at 0?"
kind = "maths"
answer = '\\frac{1}{4}'
accept = ['\\frac{1}{2}']
reject = ['\\frac{1}{4}']
""",
    )
    assert errs == []
    from whiteboard_app.commands.decks import checker_problems

    probs = [p for p in checker_problems(card) if p.field.startswith("questions")]
    assert len(probs) == 2
    assert any("accepted form" in p.message for p in probs) and any(
        "rejected form" in p.message for p in probs
    )


# -------------------------------------------------------------------------------------------- scheduling
@pytest.fixture
def sched(tmp_path):
    h = History(tmp_path / "h.sqlite3")
    yield Scheduler(h, fsrs.Scheduler(enable_fuzzing=False))
    h.close()


def test_rating_rule():
    lim = 45_000.0
    assert rating_for_answer("maths", "correct", None, 10_000, lim) == 4  # within a third: easy
    assert rating_for_answer("maths", "correct", None, 30_000, lim) == 3  # within the limit: good
    assert rating_for_answer("maths", "correct", None, 50_000, lim) == 2  # over the limit: hard
    assert rating_for_answer("maths", "wrong", None, 5_000, lim) == 1
    assert rating_for_answer("maths", "unparsed", None, 5_000, lim) == 1
    assert rating_for_answer("maths", None, None, None, lim) == 1  # time ran out
    assert rating_for_answer("maths", "cannot_check", None, 5_000, lim) is None
    assert rating_for_answer("words", None, "easy", 5_000, lim) == 4
    assert rating_for_answer("words", None, "easy", 50_000, lim) == 2  # capped after the limit
    assert rating_for_answer("words", None, "again", 5_000, lim) == 1
    with pytest.raises(ValueError):
        rating_for_answer("words", None, "great", 5_000, lim)


def test_each_question_has_its_own_fsrs_state(sched):
    a, b = MATHS[0], MATHS[1]
    r = record_answer(
        sched,
        a,
        latex=a.question.answer,
        verdict=check_answer(a, a.question.answer, COMPARE),
        ms=1_000,
        when=T0,
    )
    assert r.rating == 4 and r.correct
    assert sched.due_date(a.id) == r.question_due > T0
    assert sched.due_date(b.id) is None
    # questions are not cards: the card drill plan never sees them
    assert sched.due(T0 + timedelta(days=400)) == []
    assert sched.due(T0 + timedelta(days=400), [a.id]) == [a.id]


def test_a_failed_answer_brings_the_card_forward_a_correct_one_does_not(sched):
    it = _sigmoid()
    far = sched.record(it.card.id, 4, T0)  # an easy run: due days later
    assert far - T0 > timedelta(days=2)
    ok = record_answer(
        sched,
        it,
        latex=r"\sigma-\sigma^2",
        verdict=check_answer(it, r"\sigma-\sigma^2", COMPARE),
        ms=20_000,
        when=T0 + timedelta(hours=1),
    )
    assert ok.card_due == far
    bad = record_answer(
        sched,
        it,
        latex=r"\sigma^2",
        verdict=check_answer(it, r"\sigma^2", COMPARE),
        ms=20_000,
        when=T0 + timedelta(hours=2),
    )
    assert bad.rating == 1 and not bad.correct
    assert bad.card_due == T0 + timedelta(hours=2) + timedelta(days=1)
    assert sched.due(T0 + timedelta(days=1, hours=3), [it.card.id]) == [it.card.id]
    # the card's FSRS state still loads and reviews after the change
    assert sched.record(it.card.id, 3, T0 + timedelta(days=1, hours=3)) > T0 + timedelta(days=1, hours=3)


def test_a_failed_answer_leaves_a_new_card_new(sched):
    it = _sigmoid()
    r = record_answer(sched, it, ms=None, when=T0)  # time ran out
    assert r.rating == 1 and r.card_due is None and sched.due_date(it.card.id) is None


def test_statistics_show_accuracy_and_speed(sched):
    it = _sigmoid()
    words = find_item(DECK, "sample-variance-n-minus-1/why-n-minus-1")
    record_answer(
        sched, it, latex="x", verdict=check_answer(it, r"\sigma-\sigma^2", COMPARE), ms=10_000, when=T0
    )
    record_answer(sched, it, latex="x", verdict=check_answer(it, r"\sigma^2", COMPARE), ms=40_000, when=T0)
    record_answer(sched, words, self_grade="good", ms=20_000, when=T0)
    h = sched.history
    s = h.grill_stats("sigmoid-derivative")
    assert (s.answered, s.correct, s.accuracy, s.median_ms, s.over_time) == (2, 1, 0.5, 25_000, 1)
    total = h.grill_stats()
    assert total.answered == 3 and total.correct == 2 and total.median_ms == 20_000
    assert h.grill_card_ids() == ["sample-variance-n-minus-1", "sigmoid-derivative"]
    rows = h.grill_answers(question_id=words.id)
    assert rows[0].self_grade == "good" and rows[0].kind == "words" and rows[0].rating == 3


def test_pick_questions_due_first_then_new_spread_over_cards(sched):
    items = ITEMS
    first = pick_questions(items, sched, T0, n=8)
    assert len({it.card.id for it in first}) == 8  # one per card in turn
    done = first[0]
    record_answer(sched, done, ms=None, when=T0)  # failed: due again within minutes
    again = pick_questions(items, sched, T0 + timedelta(hours=1), n=5)
    assert again[0] == done
    assert done not in again[1:]


def test_a_session_times_each_question(sched):
    clock = FakeClock()
    items = [_sigmoid(), find_item(DECK, "sample-variance-n-minus-1/why-n-minus-1"), MATHS[0]]
    s = GrillSession(items, sched, clock, compare=COMPARE, now=lambda: T0)
    assert s.start() is items[0]
    clock.advance(12_000)
    assert s.remaining_ms() == items[0].time_limit_ms - 12_000
    r = s.answer_latex(r"\sigma(1-\sigma)")
    assert r.correct and r.ms == 12_000 and r.rating == 3
    with pytest.raises(RuntimeError):
        s.answer_latex("x")  # answered already
    s.start()
    with pytest.raises(ValueError):
        s.answer_latex("n-1")  # a word question is self-graded
    clock.advance(20_000)
    assert s.answer_words("hard").rating == 2
    s.start()
    clock.advance(60_000)
    assert s.time_out().rating == 1
    assert s.start() is None and s.done
    assert s.summary() == {"answered": 3, "correct": 2, "accuracy": 2 / 3, "median_ms": 16_000}
    assert len(sched.history.grill_answers()) == 3


# --------------------------------------------------------------------------------------------------- CLI
def _cli(*args, env=None):
    """The CLI run in this process (``cli.main``) with ``env`` added to the environment: its exit status
    and output as a CompletedProcess. Six interpreter start-ups cost about 20 s of CI; the entry point
    itself (``python -m whiteboard_app ...``) is run by tests/test_cli_check.py and, with Qt blocked, by
    tests/test_core_without_qt.py, which also runs ``grill answer``."""
    import contextlib
    import io
    import os
    from unittest import mock

    from whiteboard_app import cli

    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env or {}),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's errors
            code = exc.code
    return subprocess.CompletedProcess(list(args), code or 0, out.getvalue(), err.getvalue())


def test_cli_list_and_answer(tmp_path):
    out = _cli("grill", "list", "--json")
    assert out.returncode == 0
    rows = json.loads(out.stdout)
    assert len(rows) == len(ITEMS) and {"id", "card_id", "kind", "time_s", "prompt"} <= set(rows[0])
    qid = "sigmoid-derivative/derivative-in-terms-of-sigma"
    env = {"WHITEBOARD_DATA_DIR": str(tmp_path)}
    out = _cli("grill", "answer", qid, r"\frac{e^{-z}}{(1+e^{-z})^2}", "--json", "--record", env=env)
    assert out.returncode == 0, out.stderr
    (v,) = json.loads(out.stdout)
    # exactly the keys `check --json` gives
    assert set(v) == CHECK_JSON_KEYS
    assert v["verdict"] == "correct"
    out = _cli("grill", "answer", qid, r"\sigma(1+\sigma)", "--json", env=env)
    assert json.loads(out.stdout)[0]["verdict"] == "wrong"
    assert _cli("grill", "answer", "sigmoid-derivative/nope", "x").returncode == 2
    out = _cli("grill", "answer", "conditional-probability-dice/both-six-given-one", "0.0909", "--json")
    assert json.loads(out.stdout)[0]["verdict"] == "correct"  # the worker's approx rule
    out = _cli("grill", "stats", "--json", env=env)
    stats = json.loads(out.stdout)
    assert stats[-1]["answered"] == 1 and stats[-1]["correct"] == 1
