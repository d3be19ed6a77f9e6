"""The run timer widget and the end-of-run summary, driven by a FakeClock through the Session."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.qt

from whiteboard_app.ink import Stroke  # noqa: E402
from whiteboard_app.sessions.clock import FakeClock  # noqa: E402
from whiteboard_app.sessions.session import Session  # noqa: E402
from whiteboard_app.ui.timer_widget import TimerWidget, format_ms, summary_text  # noqa: E402


def _stroke(duration_ms=200.0):
    return Stroke.from_xy([(0, 0, 0), (5, 5, duration_ms)])


@pytest.mark.parametrize(
    "ms, text", [(0, "0:00"), (999, "0:00"), (61_000, "1:01"), (300_000, "5:00"), (-5_000, "-0:05")]
)
def test_format_ms(ms, text):
    assert format_ms(ms) == text


@pytest.fixture
def run(qtbot):
    clock = FakeClock()
    session = Session("sigmoid-derivative", clock, target_s=300)
    widget = TimerWidget(session)
    qtbot.addWidget(widget)
    return clock, session, widget


def test_elapsed_against_target(run):
    clock, session, widget = run
    clock.advance(65_000)
    session.add_stroke(_stroke())
    widget.refresh()
    assert widget.clock_label.text() == "1:05 / 5:00"
    assert "#b3261e" not in widget.clock_label.styleSheet()
    clock.advance(240_000)
    session.add_stroke(_stroke())
    widget.refresh()
    assert widget.clock_label.text() == "5:05 / 5:00"
    assert "#b3261e" in widget.clock_label.styleSheet()  # over the target: red


def test_freeze_is_marked_live_and_in_the_splits(run):
    clock, session, widget = run
    clock.advance(1_000)
    session.add_stroke(_stroke())
    clock.advance(7_000)  # 7 s without ink: not yet a freeze
    widget.refresh()
    assert not widget.frozen_shown
    clock.advance(2_000)  # 9 s without ink
    widget.refresh()
    assert widget.frozen_shown and widget.freeze_label.text() == "frozen 0:09"
    session.add_stroke(_stroke())  # ink again ends the freeze
    widget.refresh()
    assert not widget.frozen_shown
    session.next_step()
    widget.refresh()
    assert widget.splits_label.text() == "1: 0:10*"
    assert widget.split_label.text() == "step 2: 0:00"


def test_splits_per_step(run):
    clock, session, widget = run
    for n in (5, 7):  # strokes every 4 s: no freeze
        for _ in range(n):
            clock.advance(4_000)
            session.add_stroke(_stroke())
        session.next_step()
    clock.advance(3_000)
    widget.refresh()
    assert widget.splits_label.text() == "1: 0:20  2: 0:28"
    assert widget.split_label.text() == "step 3: 0:03"


def test_summary_lists_time_splits_verdicts_and_freezes(run):
    clock, session, widget = run
    clock.advance(5_000)
    session.add_stroke(_stroke())
    session.next_step()
    clock.advance(12_000)  # a freeze inside step 2
    session.add_stroke(_stroke())
    session.finish()
    text = summary_text(
        session.elapsed_ms(), session.target_s, session.splits(), session.freezes(), ["correct", "wrong"]
    )
    lines = text.splitlines()
    assert lines[0] == "Time 0:17 against a target of 5:00 (4:43 under)"
    assert lines[1] == "Step 1: 0:05  correct"
    assert lines[2] == "Step 2: 0:12  wrong  froze 0:11"
    assert lines[3] == "1 freeze(s) longer than 8 s"
    # the time shown (whole seconds) and the difference add up to the target as read
    assert summary_text(78_600, 300, [], []).splitlines()[0] == (
        "Time 1:18 against a target of 5:00 (3:42 under)"
    )
    assert summary_text(300_400, 300, [], []).splitlines()[0] == (
        "Time 5:00 against a target of 5:00 (0:00 under)"
    )
    widget.refresh()
    assert widget.split_label.text() == "run over"
    clock.advance(60_000)  # the clock has stopped
    widget.refresh()
    assert widget.clock_label.text() == "0:17 / 5:00"


def test_summary_counts_the_freeze_before_done(run):
    """The live badge said "frozen" before Done: the summary must not say "No freezes"."""
    clock, session, widget = run
    session.add_stroke(_stroke())
    clock.advance(10_000)
    widget.refresh()
    assert widget.freeze_label.text().startswith("frozen")
    session.finish()
    text = summary_text(
        session.elapsed_ms(), session.target_s, session.splits(), session.freezes(), ["correct"]
    )
    lines = text.splitlines()
    assert "Before Done: froze 0:10" in lines
    assert "1 freeze(s) longer than 8 s" in lines and "No freezes" not in text


def test_summary_over_target_and_unchecked_steps():
    from whiteboard_app.sessions.board import Split

    text = summary_text(200_000, 180, [Split(0, 200_000, 200_000)], [], [None])
    assert "(0:20 over)" in text.splitlines()[0]
    assert "Step 1: 3:20  no verdict" in text
    assert text.endswith("No freezes")


@pytest.mark.parametrize(
    "verdict, words",
    [
        ("correct", "correct"),
        ("wrong", "wrong"),
        ("unparsed", "could not read"),
        ("cannot_check", "cannot check"),
        (None, "no verdict"),
    ],
)
def test_summary_says_verdicts_in_the_panels_words(verdict, words):
    from whiteboard_app.sessions.board import Split

    text = summary_text(60_000, 180, [Split(0, 60_000, 60_000)], [], [verdict])
    assert text.splitlines()[1] == f"Step 1: 1:00  {words}"


def test_a_stalled_run_gets_an_interviewer_prompt(run):
    from whiteboard_app.sessions.prompts import stall_prompt

    clock, session, widget = run
    widget.stall_prompt = lambda step, ms: stall_prompt(None, step, ms)
    session.add_stroke(_stroke())
    clock.advance(5_000)
    widget.refresh()
    assert widget.prompt_label.isHidden()
    clock.advance(5_000)  # 10 s without ink: a freeze
    widget.refresh()
    assert not widget.prompt_label.isHidden() and "intuition" in widget.prompt_label.text()
    clock.advance(15_000)
    widget.refresh()
    assert "Write down the objective" in widget.prompt_label.text()  # still on step 1
    session.add_stroke(_stroke())  # writing again ends the stall
    widget.refresh()
    assert widget.prompt_label.isHidden()


def test_the_stall_prompt_does_not_move_what_is_under_it(run, qtbot):
    """The prompt's line is kept while it is hidden: its appearing must not shift the board under a pen."""
    from whiteboard_app.sessions.prompts import stall_prompt

    clock, session, widget = run
    widget.stall_prompt = lambda step, ms: stall_prompt(None, step, ms)
    widget.show()
    session.add_stroke(_stroke())
    widget.refresh()
    qtbot.waitUntil(widget.isVisible)
    before = widget.sizeHint().height()
    assert widget.prompt_label.isHidden()
    clock.advance(10_000)
    widget.refresh()
    assert not widget.prompt_label.isHidden()
    assert widget.sizeHint().height() == before


def test_a_long_stall_prompt_is_cut_to_the_header_not_run_off_it(run, qtbot):
    """A prompt longer than the header ends in "…" within the label's width; the tooltip keeps all of it."""
    clock, session, widget = run
    long_question = "Why does the normaliser cancel here, " * 6 + "and what would change with a temperature?"
    widget.stall_prompt = lambda step, ms: long_question
    widget.resize(420, 60)
    widget.show()
    qtbot.waitUntil(widget.isVisible)
    session.add_stroke(_stroke())
    clock.advance(10_000)
    widget.refresh()
    label = widget.prompt_label
    assert not label.isHidden()
    assert label.text().endswith("\u2026")
    assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width()
    assert label.toolTip() == long_question
    widget.resize(4000, 60)  # room for all of it: the whole prompt again
    qtbot.waitUntil(lambda: label.width() > 3000)
    widget.refresh()
    assert label.text() == f"Interviewer: \u201c{long_question}\u201d"
