"""The scripted session behind ``scripts/screenshots.sh`` (``whiteboard-app-gui --screenshot-script DIR``).

It drives the real window like a person would, with ink the project generates itself
(``whiteboard_app.ink.synth``): a run on ``sigmoid-derivative`` in which three steps are written as ink
(two right, one with the card's declared sign flip) and read by the loaded recogniser and checked, then
the interviewer's first follow-up with an answer and the model answer, then (after grading the run) the
deck browser with that attempt in it.
It saves ``deck-browser.png``, ``run.png`` and ``followup.png`` into DIR and quits. The run's clock is a
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
    loaded = _wait(app, lambda: window.recognizers.recognizer is not None or not window.recognizers.loading,
                   recognizer_timeout_s)
    print(f"recogniser: {window.recognizers.status} (loaded={loaded and window.recognizers.recognizer is not None})",
          flush=True)

    clock = window.context.clock if hasattr(window.context.clock, "advance") else None
    mistake = next((m for m in card.mistakes if m.after_step == 3), card.mistakes[0])
    plan = [card.steps[0].latex, card.steps[1].latex, mistake.latex]
    thinking_ms = [6_000, 4_000, 11_000]  # before each step; the last one is a freeze (> 8 s)
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
        print(f"step {k + 1}: read {st.latex!r} -> {st.verdict.verdict if st.verdict else st.error}", flush=True)
        for _ in range(2):  # out of time on a busy machine: "Read again", as the user would
            msg = (st.verdict.message or "") if st.verdict is not None else (st.error or "")
            if st.latex or not ("time limit" in msg or "longer than" in msg):
                break
            view.read_again(k)
            _wait(app, lambda k=k: view.model.step(k).status == "done", 30.0)
            st = view.model.step(k)
            print(f"step {k + 1}: read again {st.latex!r} -> {st.verdict.verdict if st.verdict else st.error}",
                  flush=True)
        misread = st.verdict is None or st.verdict.verdict != ("wrong" if k == 2 else "correct")
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

    if clock is not None:
        clock.advance(2_000)
    view.finish_run()
    panel = view.interviewer
    panel.answer_box.setPlainText("At z = 0: sigma = 1/2 so the slope is 1/4; for large |z| it vanishes, "
                                  "so saturated units learn slowly.")
    panel.reveal()
    _pause(app, 0.3)
    _grab(window, out / "followup.png")

    while not panel.finished:  # answer the rest, grade the run: the deck browser then shows it
        panel.next()
    panel.give_grade("good")
    window.show_deck()
    window.browser.select(CARD_ID)
    _pause(app, 0.3)
    _grab(window, out / "deck-browser.png")
