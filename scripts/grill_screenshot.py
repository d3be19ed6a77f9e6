"""Grab docs/screenshots/grill.png: the real window in grill mode, a maths question answered in ink.

The ink is the project's own generated ink (``ink.synth``) of an equivalent form of the answer, read by
the default recogniser (in its worker process) and judged by the checker (worker process), exactly as
a person's ink would be. Run: ``QT_QPA_PLATFORM=offscreen python scripts/grill_screenshot.py [OUT.png]``.
Prints what the recogniser read and the verdict.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    import whiteboard_app.ui.pyside_guard  # noqa: F401
    from whiteboard_app.decks import load_deck
    from whiteboard_app.recognition.registry import get_recognizer
    from whiteboard_app.sessions.grill import find_item
    from whiteboard_app.sessions.history import History
    from whiteboard_app.ui.main_window import AppContext, MainWindow
    from whiteboard_app.ui.screenshot_script import write_step

    app = QApplication.instance() or QApplication(sys.argv[:1])
    deck = load_deck()
    ids = [
        "sigmoid-derivative/derivative-in-terms-of-sigma",
        "softmax-cross-entropy-gradient/gradient-wrt-logits",
        "sample-variance-n-minus-1/why-n-minus-1",
        "conditional-probability-dice/both-six-given-one",
        "ols-closed-form/hessian",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        history = History(Path(tmp) / "history.sqlite3")
        window = MainWindow(AppContext(deck=deck, history=history))
        window.resize(1100, 780)
        window.show()
        rec = get_recognizer()  # loaded before the question opens: its clock is the person's time
        if hasattr(rec, "warm_up"):
            rec.warm_up()
        view = window.open_grill(items=[find_item(deck, i) for i in ids])
        view.recognizer = lambda: rec
        write_step(view, r"\sigma-\sigma^{2}", seed=3)
        end = time.monotonic() + 4.0
        while time.monotonic() < end:  # a few seconds on the clock, as a person would take
            app.processEvents()
            time.sleep(0.02)
        view.read_ink()
        end = time.monotonic() + 180
        while time.monotonic() < end and view.last_result is None:
            app.processEvents()
            time.sleep(0.05)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        print(f"read: {view.reading_label.text()!r}; verdict: {view.verdict_label.text()!r}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out), "PNG")
        print(f"screenshot: {out}", flush=True)
        view.shutdown()
        view.pool.wait(10_000)
        history.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots/grill.png")))
