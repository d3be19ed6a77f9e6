"""Screenshots of the run as a derivation (issue 12), with the real checker, typed steps (keyboard only)
and a FakeClock moved at a person's pace:

- ``run-unsupported.png``: softmax-cross-entropy-gradient, the objective then the answer ``p_i - y_i``:
  "correct, but unsupported" with what is missing named on the step and above the board;
- ``run-summary.png``: Done pressed after it: the interviewer opens with "Walk me through how you got
  there." under the run summary (complete or not, hints, reveals);
- ``run-complete.png``: sigmoid-derivative written out in full: "Derivation complete in 3:12" with the
  button to the interviewer.

Usage (under Xvfb, or QT_QPA_PLATFORM=offscreen):
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots_run.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from whiteboard_app.decks import load_deck
    from whiteboard_app.sessions.clock import FakeClock
    from whiteboard_app.ui.practice_view import PracticeServices, PracticeView

    app = QApplication.instance() or QApplication(sys.argv)
    deck = load_deck()
    out.mkdir(parents=True, exist_ok=True)

    def wait(until, timeout_s=60.0):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            app.processEvents()
            if until():
                return True
            time.sleep(0.02)
        return until()

    def open_view(card_id):
        clock = FakeClock()
        view = PracticeView(
            deck.get(card_id),
            PracticeServices(recognizer=lambda: None, clock=clock, recognizer_status=lambda: "keyboard only"),
        )
        view.resize(1280, 800)
        view.show()
        view.set_keyboard_mode(True)
        view.status.setVisible(False)
        return view, clock

    def type_steps(view, clock, steps, pace_ms):
        for latex in steps:
            k = len(view.panels) - 1
            clock.advance(pace_ms)
            view.panels[k].edit.setText(latex)
            view.panels[k].edit.returnPressed.emit()
            if not wait(lambda k=k: view.model.step(k).status == "done"):
                print(f"step {k + 1} was not checked in time", file=sys.stderr)
                return False
        wait(lambda: False, 0.3)
        return True

    def grab(view, name):
        path = out / name
        view.grab().save(str(path), "PNG")
        print(f"screenshot: {path}", flush=True)

    view, clock = open_view("softmax-cross-entropy-gradient")
    type_steps(
        view,
        clock,
        [r"L = -\sum_{k=1}^{K} y_k \log p_k", r"\frac{\partial L}{\partial z_i} = p_i - y_i"],
        22_000,
    )
    print("run:", view.run.headline())
    grab(view, "run-unsupported.png")
    clock.advance(9_000)
    view.finish_button.click()
    wait(lambda: False, 0.3)
    grab(view, "run-summary.png")
    view.shutdown()
    view.close()

    view, clock = open_view("sigmoid-derivative")
    card = view.card
    type_steps(
        view,
        clock,
        [card.steps[0].latex, card.steps[1].latex, card.steps[2].latex, card.steps[4].latex],
        48_000,
    )
    wait(lambda: view.session.finished, 10)
    print("run:", view.run.headline(), view.run_label.text())
    grab(view, "run-complete.png")
    view.shutdown()
    view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")))
