"""The scripted session behind ``scripts/screenshots.sh`` (``whiteboard-app-gui --screenshot-script DIR``).

It drives the real window like a person would, with ink the project generates itself
(``whiteboard_app.ink.synth``): a run on ``sigmoid-derivative`` in which four steps are written as ink
(two right, one with the card's declared sign flip, then that step written right) and read by the loaded recogniser and checked, then
the interviewer's first follow-up with an answer and the model answer, then (after grading the run) the
deck browser with that attempt in it.
It saves ``deck-browser.png``, ``run.png`` and ``followup.png`` into DIR, and at each of SIZES (1600x1000
and 1024x768) ``run-WxH.png`` (the run with a step's n-best chips), ``summary-WxH.png`` (the end-of-run
summary) and ``boards-WxH.png`` (the board browser), then quits. The run's clock is a
FakeClock moved at a person's writing pace, so the timer shows realistic splits and one freeze. Steps the recogniser
misread are corrected by typing, as a person would, except step 2, which is left as read; a step the
recogniser ran out of time on (a busy machine) is read again once or twice, as with the panel's "Read
again"; the script prints what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication

CARD_ID = "sigmoid-derivative"
#: Window sizes of the issue-16 screenshots: the Xvfb screen, and a 1024x768 laptop.
SIZES = ((1600, 1000), (1024, 768))


def _wait(app: QApplication, until: Callable[[], bool], timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.02)
    app.processEvents()
    return until()


def _pause(app: QApplication, s: float) -> None:
    _wait(app, lambda: False, s)


def _grab(window, path: Path) -> None:
    window.grab().save(str(path), "PNG")
    print(f"screenshot: {path}", flush=True)


def _grab_sizes(
    app: QApplication, window, out: Path, stem: str, before: Callable[[], None] | None = None
) -> None:
    """``stem-WxH.png`` of ``window`` at each of SIZES (``before()`` runs after each resize)."""
    for w, h in SIZES:
        window.resize(w, h)
        _pause(app, 0.3)
        if before is not None:
            before()
            _pause(app, 0.2)
        _grab(window, out / f"{stem}-{w}x{h}.png")


def _show_chips(view) -> None:
    """Bring the first step panel with n-best chips into view (the run screenshots show them)."""
    for k, panel in enumerate(view.panels):
        if panel.candidates.count() > 1:
            view.steps_scroll.ensureWidgetVisible(panel.candidates)
            print(f"chips: step {k + 1} has {panel.candidates.count()} readings", flush=True)
            return
    print("chips: no step has more than one reading", flush=True)


def write_step(view, latex: str, seed: int, clock=None, ms_per_stroke: float = 900.0) -> None:
    """Write ``latex`` as generated ink into the active (last) band of ``view``'s canvas; with a
    FakeClock ``clock``, time moves on by ``ms_per_stroke`` per stroke (a person's writing pace)."""
    from whiteboard_app.ink.synth import synthesize

    page = view.page_model.page
    top = page.tops[-1]
    ink = synthesize(latex, seed=seed, origin=(40.0, top + 80.0), height_px=32.0).ink
    for stroke in ink.strokes:
        if clock is not None:
            clock.advance(ms_per_stroke)
        view.canvas.add_stroke(stroke)


def run_script(window, out_dir: Path, app: QApplication, recognizer_timeout_s: float = 240.0) -> None:
    """Run the scripted session on ``window`` and save the PNGs into ``out_dir``; quits ``app``."""
    try:
        _run(window, Path(out_dir), app, recognizer_timeout_s)
    except Exception as exc:  # noqa: BLE001 - the script reports and quits rather than hanging
        print(f"screenshot script failed: {type(exc).__name__}: {exc}", flush=True)
        app.exit(1)
        return
    app.quit()


def _run(window, out: Path, app: QApplication, recognizer_timeout_s: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    window.resize(1400, 880)
    _pause(app, 0.3)
    view = window.open_card(CARD_ID)
    card = view.card
    loaded = _wait(
        app,
        lambda: window.recognizers.recognizer is not None or not window.recognizers.loading,
        recognizer_timeout_s,
    )
    print(
        f"recogniser: {window.recognizers.status} (loaded={loaded and window.recognizers.recognizer is not None})",
        flush=True,
    )

    clock = window.context.clock if hasattr(window.context.clock, "advance") else None
    mistake = next((m for m in card.mistakes if m.after_step == 3), card.mistakes[0])
    # the third step is the card's declared sign flip; the fourth the right form of that step, whose
    # reading comes with other candidates (the n-best chips of the run screenshots)
    plan = [card.steps[0].latex, card.steps[1].latex, mistake.latex, card.steps[2].latex]
    thinking_ms = [6_000, 4_000, 11_000, 5_000]  # before each step; the third one is a freeze (> 8 s)
    for k, latex in enumerate(plan):
        if k:
            view.new_step()
        if clock is not None:
            clock.advance(thinking_ms[k])
        write_step(view, latex, seed=k + 1, clock=clock)
        _pause(app, 0.05)
        view.reader.step_ended(k)  # read now rather than after the pause
        _wait(app, lambda k=k: view.model.step(k).status == "done", 30.0)
        st = view.model.step(k)
        print(
            f"step {k + 1}: read {st.latex!r} ({len(st.candidates)} candidates) -> "
            f"{st.verdict.verdict if st.verdict else st.error}",
            flush=True,
        )
        for _ in range(2):  # out of time on a busy machine: "Read again", as the user would
            msg = (st.verdict.message or "") if st.verdict is not None else (st.error or "")
            if st.latex or not ("time limit" in msg or "longer than" in msg):
                break
            view.read_again(k)
            _wait(app, lambda k=k: view.model.step(k).status == "done", 30.0)
            st = view.model.step(k)
            print(
                f"step {k + 1}: read again {st.latex!r} -> {st.verdict.verdict if st.verdict else st.error}",
                flush=True,
            )
        misread = st.verdict is None or st.verdict.verdict != ("wrong" if k == 2 else "correct")
        if k == 3 and st.latex and len(st.candidates) > 1:
            misread = False  # keep the recogniser's reading and its n-best chips
        if misread and k != 1:  # correct a misreading by typing, as the user would (step 2 is left as
            # the recogniser read it, so the picture may show a reading the user has not fixed yet)
            view.correct(k, latex, "typed")
            _wait(app, lambda k=k: view.model.step(k).status == "done", 30.0)
            st = view.model.step(k)
            print(f"step {k + 1}: corrected -> {st.verdict.verdict if st.verdict else st.error}", flush=True)
    view.canvas.zoom_to_fit()
    if clock is not None:
        clock.advance(3_000)
    view.timer.refresh()
    _pause(app, 0.3)
    _grab(window, out / "run.png")
    _grab_sizes(app, window, out, "run", lambda: (view.canvas.zoom_to_fit(), _show_chips(view)))
    window.resize(1400, 880)

    if clock is not None:
        clock.advance(2_000)
    view.finish_run()
    panel = view.interviewer
    panel.answer_box.setPlainText(
        "At z = 0: sigma = 1/2 so the slope is 1/4; for large |z| it vanishes, "
        "so saturated units learn slowly."
    )
    panel.reveal()
    _pause(app, 0.3)
    _grab(window, out / "followup.png")
    _grab_sizes(app, window, out, "summary")
    window.resize(1400, 880)

    while not panel.finished:  # answer the rest, grade the run: the deck browser then shows it
        panel.next()
    panel.give_grade("good")
    window.show_deck()
    window.browser.select(CARD_ID)
    _pause(app, 0.3)
    _grab(window, out / "deck-browser.png")

    # a second, shorter attempt on another card, so the board browser lists two cards
    other = next((c for c in sorted(window.context.deck.cards) if c != CARD_ID), None)
    if other is not None:
        view2 = window.open_card(other)
        if clock is not None:
            clock.advance(5_000)
        write_step(view2, view2.card.steps[0].latex, seed=11, clock=clock)
        view2.reader.step_ended(0)
        _wait(app, lambda: view2.model.step(0).status == "done", 30.0)
        view2.finish_run()
        window.show_deck()
    boards = window.open_board_browser()
    if boards is not None:
        boards.finish_thumbnails()
        _grab_sizes(app, boards, out, "boards")
        boards.close()
